// Steering scan: minted and foreign branches and Call-IDs, compact forms, folding, truncated
// input, and no read past the datagram (every input sits right before a PROT_NONE page).

#include <cstring>
#include <string>
#include <string_view>

#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include "dataplane/steering.h"

namespace {

using tandem::dataplane::call_id_hash;
using tandem::dataplane::minted_branch_shard;
using tandem::dataplane::minted_call_id_shard;
using tandem::dataplane::owner_shard;
using tandem::dataplane::scan_steering;
using tandem::dataplane::steer_info;

// Identifiers in sip::util::id_generator's format (20 base32 chars after the shard).
const std::string rnd = "abcdefghij0123456789";
std::string branch(int shard) {
    return "z9hG4bK-tnd" + std::to_string(shard) + "-" + rnd;
}
std::string call_id(int shard) {
    return std::to_string(shard) + "-" + rnd + "@tandem";
}

// Copies text so that its last byte is the last readable byte before a PROT_NONE page.
class guarded {
public:
    explicit guarded(std::string_view text) {
        const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
        _pages = (text.size() + page - 1) / page + 1;
        _base = static_cast<uint8_t*>(mmap(nullptr, _pages * page, PROT_READ | PROT_WRITE,
                                           MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
        EXPECT_NE(_base, MAP_FAILED);
        uint8_t* guard = _base + (_pages - 1) * page;
        EXPECT_EQ(mprotect(guard, page, PROT_NONE), 0);
        _data = guard - text.size();
        std::memcpy(_data, text.data(), text.size());
        _len = text.size();
        _page = page;
    }
    ~guarded() { munmap(_base, _pages * _page); }
    guarded(const guarded&) = delete;
    guarded& operator=(const guarded&) = delete;
    [[nodiscard]] steer_info scan() const { return scan_steering(_data, _len); }

private:
    uint8_t* _base = nullptr;
    uint8_t* _data = nullptr;
    size_t _len = 0;
    size_t _pages = 0;
    size_t _page = 0;
};

const std::string response_minted = "SIP/2.0 200 OK\r\n"
                                    "Via: SIP/2.0/UDP 10.0.0.1:5060;branch=" +
                                    branch(3) +
                                    ";rport\r\n"
                                    "Via: SIP/2.0/UDP 10.0.0.9:5060;branch=" +
                                    branch(1) + "\r\nCall-ID: " + call_id(5) +
                                    "\r\n"
                                    "CSeq: 1 INVITE\r\n"
                                    "Content-Length: 0\r\n"
                                    "\r\n";

TEST(DataplaneSteering, MintedIdentifiersCarryTheShard) {
    EXPECT_EQ(minted_branch_shard(branch(3)), 3);
    EXPECT_EQ(minted_branch_shard(branch(65535)), 65535);
    EXPECT_EQ(minted_branch_shard("z9hG4bK-tnd65536-" + rnd), -1);
    EXPECT_EQ(minted_branch_shard("z9hG4bK-tnd3-" + rnd.substr(1)), -1); // too short
    EXPECT_EQ(minted_branch_shard("z9hG4bK3-" + rnd), -1);
    EXPECT_EQ(minted_branch_shard("z9hG4bKabc"), -1);
    EXPECT_EQ(minted_branch_shard("z9hg4bk-tnd3-" + rnd), -1); // the cookie is case-sensitive
    EXPECT_EQ(minted_branch_shard(""), -1);
    EXPECT_EQ(minted_call_id_shard(call_id(7)), 7);
    EXPECT_EQ(minted_call_id_shard("7-" + rnd + "@example.com"), -1);
    EXPECT_EQ(minted_call_id_shard(rnd + "@tandem"), -1);
    EXPECT_EQ(minted_call_id_shard("@tandem"), -1);
}

TEST(DataplaneSteering, ResponseGoesByTopViaBranch) {
    guarded g(response_minted);
    const steer_info info = g.scan();
    EXPECT_TRUE(info.is_response);
    EXPECT_EQ(info.branch, branch(3));
    EXPECT_EQ(info.branch_shard, 3);
    EXPECT_EQ(info.call_id, call_id(5));
    EXPECT_EQ(info.call_id_shard, 5);
    EXPECT_EQ(owner_shard(info, 8, 0), 3u);
    EXPECT_EQ(owner_shard(info, 6, 0), 3u);
    // Both numbers beyond the shard count (a restart with fewer shards): the Call-ID hash.
    EXPECT_EQ(owner_shard(info, 3, 0), call_id_hash(call_id(5)) % 3);
    EXPECT_EQ(owner_shard(info, 1, 0), 0u);
}

TEST(DataplaneSteering, BranchBeyondTheShardCountFallsBackToTheCallId) {
    const std::string msg = "SIP/2.0 486 Busy Here\r\n"
                            "Via: SIP/2.0/UDP 10.0.0.1;branch=" +
                            branch(7) + "\r\nCall-ID: " + call_id(1) + "\r\n\r\n";
    guarded g(msg);
    EXPECT_EQ(owner_shard(g.scan(), 4, 0), 1u);
    EXPECT_EQ(owner_shard(g.scan(), 8, 0), 7u);
}

TEST(DataplaneSteering, RequestIgnoresTheForeignTopVia) {
    const std::string invite = "INVITE sip:bob@example.com SIP/2.0\r\n"
                               "Via: SIP/2.0/UDP 192.0.2.1;branch=" +
                               branch(2) +
                               "\r\n"
                               "Call-ID: a84b4c76e66710@pc33.example.com\r\n"
                               "\r\n";
    guarded g(invite);
    const steer_info info = g.scan();
    EXPECT_FALSE(info.is_response);
    EXPECT_EQ(info.branch_shard, 2);
    EXPECT_EQ(info.call_id_shard, -1);
    const uint32_t expect = call_id_hash("a84b4c76e66710@pc33.example.com") % 4;
    EXPECT_EQ(owner_shard(info, 4, 9), expect);
}

TEST(DataplaneSteering, InDialogRequestGoesByMintedCallId) {
    const std::string bye = "BYE sip:alice@10.0.0.1 SIP/2.0\r\n"
                            "v: SIP/2.0/UDP 192.0.2.9;branch=z9hG4bKforeign\r\n"
                            "i: " +
                            call_id(2) +
                            "\r\n"
                            "\r\n";
    guarded g(bye);
    const steer_info info = g.scan();
    EXPECT_EQ(info.branch, "z9hG4bKforeign");
    EXPECT_EQ(info.call_id, call_id(2));
    EXPECT_EQ(owner_shard(info, 4, 0), 2u);
}

TEST(DataplaneSteering, HeaderNamesAreCaseInsensitiveAndSpacesAllowed) {
    const std::string msg = "SIP/2.0 180 Ringing\n"
                            "VIA  :   SIP/2.0/UDP h;received=1.2.3.4 ; BRANCH = " +
                            branch(1) +
                            " ;rport\n"
                            "cAlL-iD:\tabc@host\n"
                            "\n";
    guarded g(msg);
    const steer_info info = g.scan();
    EXPECT_TRUE(info.is_response);
    EXPECT_EQ(info.branch, branch(1));
    EXPECT_EQ(info.branch_shard, 1);
    EXPECT_EQ(info.call_id, "abc@host");
}

TEST(DataplaneSteering, OnlyTheFirstViaParmCounts) {
    const std::string msg = "SIP/2.0 200 OK\r\n"
                            "Via: SIP/2.0/UDP a.example.com, SIP/2.0/UDP b;branch=" +
                            branch(4) +
                            "\r\n"
                            "Call-ID: c@h\r\n\r\n";
    guarded g(msg);
    const steer_info info = g.scan();
    EXPECT_TRUE(info.branch.empty());
    EXPECT_EQ(info.branch_shard, -1);
}

TEST(DataplaneSteering, FoldedViaIsFollowed) {
    const std::string msg = "SIP/2.0 200 OK\r\n"
                            "Via: SIP/2.0/UDP a.example.com\r\n"
                            "  ;branch=" +
                            branch(6) +
                            "\r\n"
                            "Call-ID: c@h\r\n\r\n";
    guarded g(msg);
    EXPECT_EQ(g.scan().branch, branch(6));
    EXPECT_EQ(g.scan().call_id, "c@h");
}

TEST(DataplaneSteering, StopsAtTheEndOfTheHeaders) {
    const std::string msg = "INVITE sip:x SIP/2.0\r\n"
                            "Via: SIP/2.0/UDP h;branch=z9hG4bKx\r\n"
                            "\r\n"
                            "Call-ID: " +
                            call_id(3) + "\r\n";
    guarded g(msg);
    const steer_info info = g.scan();
    EXPECT_TRUE(info.call_id.empty());
    EXPECT_EQ(owner_shard(info, 4, 3), 3u); // no Call-ID: the fallback
}

TEST(DataplaneSteering, OtherHeadersWithSimilarNamesDoNotMatch) {
    const std::string msg = "OPTIONS sip:x SIP/2.0\r\n"
                            "Vias: nope;branch=" +
                            branch(1) +
                            "\r\n"
                            "Call-Info: <http://x>\r\n"
                            "ii: " +
                            call_id(1) +
                            "\r\n"
                            "I: real@id\r\n\r\n";
    guarded g(msg);
    const steer_info info = g.scan();
    EXPECT_TRUE(info.branch.empty());
    EXPECT_EQ(info.call_id, "real@id");
}

TEST(DataplaneSteering, EveryTruncationIsSafe) {
    // Every prefix of a message ends right before the guard page: no crash, and whatever is
    // found lies inside the prefix.
    for (size_t n = 0; n <= response_minted.size(); ++n) {
        guarded g(std::string_view(response_minted).substr(0, n));
        const steer_info info = g.scan();
        EXPECT_LE(info.branch.size() + info.call_id.size(), n);
        if (n < 30) {
            EXPECT_EQ(info.branch_shard, -1) << n;
        }
    }
    guarded empty("");
    EXPECT_FALSE(empty.scan().is_response);
}

TEST(DataplaneSteering, GarbageHasNoOwnerButTheFallback) {
    const std::string junk("\x00\xff\r\r\n:::\n\t:x\n", 13);
    guarded g(junk);
    EXPECT_EQ(owner_shard(g.scan(), 4, 1), 1u);
}

TEST(DataplaneSteering, HashIsStable) {
    // FNV-1a of "a": a fixed value, so that every shard and every run agree.
    EXPECT_EQ(call_id_hash("a"), 0xe40c292cu);
    EXPECT_EQ(call_id_hash(""), 2166136261u);
}

} // namespace
