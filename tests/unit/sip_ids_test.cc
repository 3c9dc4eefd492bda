#include "sip/util/ids.h"
#include "sip/util/siphash.h"

#include <gtest/gtest.h>

#include <string>
#include <unordered_set>

using tandem::sip::util::hash_key;
using tandem::sip::util::id_generator;
using tandem::sip::util::siphash13;
using tandem::sip::util::siphash24;
using tandem::sip::util::siphash24_64;

namespace {
const hash_key test_key{0x0706050403020100ull, 0x0f0e0d0c0b0a0908ull}; // bytes 00..0f
bool base32_only(std::string_view s) {
    for (char c : s)
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'v'))) return false;
    return true;
}
} // namespace

TEST(SipHash, ReferenceVectors24) {
    // From the SipHash paper's test vectors (key 00..0f, message 00..len-1).
    uint8_t msg[64];
    for (int i = 0; i < 64; ++i)
        msg[i] = static_cast<uint8_t>(i);
    EXPECT_EQ(siphash24_64(test_key, msg, 0), 0x726fdb47dd0e0e31ull);
    EXPECT_EQ(siphash24_64(test_key, msg, 8), 0x93f5f5799a932462ull);
    EXPECT_EQ(siphash24_64(test_key, msg, 15), 0xa129ca6149be45e5ull);
}

TEST(SipHash, StreamingEqualsOneShotAtEverySplit) {
    uint8_t msg[40];
    for (int i = 0; i < 40; ++i)
        msg[i] = static_cast<uint8_t>(i * 7 + 1);
    for (size_t len = 0; len <= 40; ++len) {
        siphash13 whole(test_key, true);
        whole.add(msg, len);
        const auto ref = whole.finish128();
        for (size_t cut = 0; cut <= len; ++cut) {
            siphash13 parts(test_key, true);
            parts.add(msg, cut);
            parts.add(msg + cut, len - cut);
            EXPECT_EQ(parts.finish128(), ref) << len << " " << cut;
        }
    }
}

TEST(SipHash, KeyChangesOutputAndFieldsAreFramed) {
    siphash13 a(test_key), b(hash_key{1, 2});
    a.add("abc");
    b.add("abc");
    EXPECT_NE(a.finish64(), b.finish64());
    siphash13 c(test_key), d(test_key);
    c.add_field("ab");
    c.add_field("c");
    d.add_field("a");
    d.add_field("bc");
    EXPECT_NE(c.finish64(), d.finish64());
}

TEST(SipIds, BranchFormatAndShardRecovery) {
    id_generator g(17, test_key);
    char buf[id_generator::max_branch];
    const size_t n = g.make_branch(buf, sizeof buf);
    ASSERT_GT(n, 0u);
    const std::string_view b(buf, n);
    EXPECT_EQ(b.substr(0, 7), "z9hG4bK"); // RFC 3261 magic cookie
    EXPECT_EQ(b.substr(0, 14), "z9hG4bK-tnd17-");
    EXPECT_EQ(b.size(), 14u + id_generator::random_chars);
    EXPECT_TRUE(base32_only(b.substr(14)));
    EXPECT_EQ(id_generator::shard_of_branch(b), 17);
    EXPECT_EQ(g.make_branch(buf, 10), 0u); // too small: nothing written, 0
}

TEST(SipIds, BranchBitsAreTheBranchesPrfOutput) {
    using tandem::sip::util::digest128;
    for (uint16_t shard : {0, 7, 17, 999, 65535}) {
        id_generator g(shard, test_key);
        for (uint64_t at = 0; at < 200; ++at) {
            char buf[id_generator::max_branch];
            const size_t n = g.make_branch_at(buf, sizeof buf, at);
            ASSERT_GT(n, 0u);
            uint16_t got_shard = 0;
            digest128 bits;
            ASSERT_TRUE(id_generator::branch_bits({buf, n}, got_shard, bits));
            EXPECT_EQ(got_shard, shard);
            // The same SipHash-2-4-128 output base32_at encodes: all of lo, 36 bits of hi.
            siphash24 h(test_key, true);
            h.add_u64(at + 1);
            const digest128 d = h.finish128();
            EXPECT_EQ(bits.lo, d.lo);
            EXPECT_EQ(bits.hi, d.hi & ((uint64_t{1} << 36) - 1));
        }
    }
}

TEST(SipIds, BranchBitsRefuseEveryOtherText) {
    using tandem::sip::util::digest128;
    uint16_t shard = 0;
    digest128 bits;
    EXPECT_TRUE(id_generator::branch_bits("z9hG4bK-tnd7-0123456789abcdefghij", shard, bits));
    EXPECT_EQ(shard, 7);
    EXPECT_TRUE(id_generator::branch_bits("z9hG4bK-tnd65535-vvvvvvvvvvvvvvvvvvvv", shard, bits));
    EXPECT_EQ(bits.lo, ~uint64_t{0});
    EXPECT_EQ(bits.hi, (uint64_t{1} << 36) - 1);
    for (std::string_view b : {
             "",
             "z9hG4bK776asdhds",
             "z9hG4bK-tnd-0123456789abcdefghij",       // no shard
             "z9hG4bK-tnd07-0123456789abcdefghij",     // leading zero
             "z9hG4bK-tnd65536-0123456789abcdefghij",  // range
             "z9hG4bK-tnd123456-0123456789abcdefghij", // six digits
             "z9hG4bK-tnd7-0123456789abcdefghi",       // short
             "z9hG4bK-tnd7-0123456789abcdefghijk",     // long
             "z9hG4bK-tnd7-0123456789abcdefghiw",      // outside the alphabet
             "z9hG4bK-tnd7-0123456789Abcdefghij",      // case matters
             "z9hG4bK-tnd7x0123456789abcdefghij",      // separator
             "z9hG4bK-tnd7-0123456789abcdefghi\xff",
             "z9hG4bk-tnd7-0123456789abcdefghij", // prefix case
             "z9hG4bK-tndx-0123456789abcdefghij",
         }) {
        EXPECT_FALSE(id_generator::branch_bits(b, shard, bits)) << b;
    }
}

TEST(SipIds, TagBitsAreTheTagsPrfOutput) {
    using tandem::sip::util::digest128;
    id_generator g(3, test_key);
    for (int k = 0; k < 100; ++k) {
        const uint64_t at = g.counter();
        char buf[id_generator::max_tag];
        const size_t n = g.make_tag(buf, sizeof buf);
        ASSERT_EQ(n, id_generator::tag_chars);
        digest128 bits;
        ASSERT_TRUE(id_generator::tag_bits({buf, n}, bits));
        siphash24 h(test_key, true);
        h.add_u64(at + 1);
        const digest128 d = h.finish128();
        EXPECT_EQ(bits.lo, d.lo);
        EXPECT_EQ(bits.hi, d.hi & 0xffff);
    }
    digest128 bits;
    EXPECT_FALSE(id_generator::tag_bits("", bits));
    EXPECT_FALSE(id_generator::tag_bits("0123456789abcde", bits));   // short
    EXPECT_FALSE(id_generator::tag_bits("0123456789abcdef0", bits)); // long
    EXPECT_FALSE(id_generator::tag_bits("0123456789abcdeF", bits));  // case
    EXPECT_FALSE(id_generator::tag_bits("0123456789abcdew", bits));  // alphabet
    EXPECT_TRUE(id_generator::tag_bits("0123456789abcdef", bits));
}

TEST(SipIds, SpareBitsAreTheDrawsUnusedOutput) {
    using tandem::sip::util::digest128;
    id_generator g(5, test_key);
    EXPECT_EQ(g.spare(), 0u);
    auto digest_at = [](uint64_t at) {
        siphash24 h(test_key, true);
        h.add_u64(at + 1);
        return h.finish128();
    };
    char buf[id_generator::max_call_id];
    uint64_t at = g.counter();
    ASSERT_GT(g.make_tag(buf, sizeof buf), 0u);
    EXPECT_EQ(g.spare(), digest_at(at).hi >> 16); // 80 bits used
    at = g.counter();
    ASSERT_GT(g.make_call_id(buf, sizeof buf), 0u);
    EXPECT_EQ(g.spare(), digest_at(at).hi >> 36); // 100 bits used
    at = g.counter();
    ASSERT_GT(g.make_branch(buf, sizeof buf), 0u);
    EXPECT_EQ(g.spare(), digest_at(at).hi >> 36);
    const uint64_t kept = g.spare();
    (void)g.make_branch_at(buf, sizeof buf, 0); // a rebuild draws nothing
    EXPECT_EQ(g.spare(), kept);
}

TEST(SipIds, LastBitsAreWhatTheDecodersGive) {
    // The engine hands last_bits() to the tables its ids key instead of decoding the text.
    using tandem::sip::util::digest128;
    id_generator g(9, test_key);
    for (int k = 0; k < 100; ++k) {
        char buf[id_generator::max_branch];
        size_t n = g.make_branch(buf, sizeof buf);
        uint16_t shard = 0;
        digest128 bits;
        ASSERT_TRUE(id_generator::branch_bits({buf, n}, shard, bits));
        EXPECT_EQ(shard, 9);
        EXPECT_EQ(bits, g.last_bits());
        n = g.make_tag(buf, sizeof buf);
        ASSERT_TRUE(id_generator::tag_bits({buf, n}, bits));
        EXPECT_EQ(bits, g.last_bits());
    }
}

TEST(SipIds, TagBitsMemoRemembersMintedTags) {
    using tandem::sip::util::digest128;
    using tandem::sip::util::tag_bits_memo;
    id_generator g(4, test_key);
    tag_bits_memo memo;
    char buf[id_generator::max_tag];
    const size_t n = g.make_tag(buf, sizeof buf);
    memo.remember({buf, n}, g.last_bits());
    digest128 from_memo, decoded;
    ASSERT_TRUE(memo.bits({buf, n}, from_memo));
    ASSERT_TRUE(id_generator::tag_bits({buf, n}, decoded));
    EXPECT_EQ(from_memo, decoded);
}

TEST(SipIds, TagBitsMemoAnswersAsTagBits) {
    using tandem::sip::util::digest128;
    using tandem::sip::util::tag_bits_memo;
    const std::string_view tags[] = {
        "0123456789abcdef", "0123456789abcdeg", "vvvvvvvvvvvvvvvv", "0123456789abcdeF", "short",
        "0123456789abcdef", "0123456789abcdeh", "0123456789abcdeg", "0123456789abcdef"};
    tag_bits_memo memo;
    for (int round = 0; round < 3; ++round) {
        for (std::string_view t : tags) {
            digest128 want{1, 2}, got{1, 2};
            const bool ok = id_generator::tag_bits(t, want);
            ASSERT_EQ(memo.bits(t, got), ok) << t;
            if (ok) {
                EXPECT_EQ(got, want) << t;
            }
        }
    }
}

TEST(SipIds, CallIdFormatAndShardRecovery) {
    id_generator g(65535, test_key);
    char buf[id_generator::max_call_id];
    const size_t n = g.make_call_id(buf, sizeof buf);
    ASSERT_GT(n, 0u);
    const std::string_view c(buf, n);
    EXPECT_EQ(c.substr(0, 6), "65535-");
    EXPECT_EQ(c.substr(c.size() - 7), "@tandem");
    EXPECT_EQ(id_generator::shard_of_call_id(c), 65535);
    id_generator g0(0, test_key);
    const size_t n0 = g0.make_call_id(buf, sizeof buf);
    EXPECT_EQ(id_generator::shard_of_call_id(std::string_view(buf, n0)), 0);
}

TEST(SipIds, NotOursIsRecognised) {
    EXPECT_FALSE(id_generator::shard_of_branch("z9hG4bK776asdhds"));
    EXPECT_FALSE(id_generator::shard_of_branch("z9hG4bK-tnd-0123456789abcdefghij"));
    EXPECT_FALSE(id_generator::shard_of_branch("z9hG4bK-tnd7-0123456789abcdefghi"));  // short
    EXPECT_FALSE(id_generator::shard_of_branch("z9hG4bK-tnd7-0123456789abcdefghiZ")); // bad char
    EXPECT_FALSE(id_generator::shard_of_branch("z9hG4bK-tnd70000-0123456789abcdefghij")); // range
    EXPECT_FALSE(id_generator::shard_of_branch("z9hG4bK-tnd07-0123456789abcdefghij"));    // lead 0
    EXPECT_FALSE(id_generator::shard_of_branch(""));
    EXPECT_TRUE(id_generator::shard_of_branch("z9hG4bK-tnd7-0123456789abcdefghij"));
    EXPECT_FALSE(id_generator::shard_of_call_id("a84b4c76e66710@pc33.atlanta.com"));
    EXPECT_FALSE(id_generator::shard_of_call_id("@tandem"));
    EXPECT_FALSE(id_generator::shard_of_call_id("3-0123456789abcdefghij@tandem.example"));
    EXPECT_FALSE(id_generator::shard_of_call_id("x3-0123456789abcdefghij@tandem"));
    EXPECT_EQ(id_generator::shard_of_call_id("3-0123456789abcdefghij@tandem"), 3);
}

TEST(SipIds, TagsAreBase32OfFixedLength) {
    id_generator g(1, test_key);
    char buf[id_generator::max_tag];
    ASSERT_EQ(g.make_tag(buf, sizeof buf), id_generator::tag_chars);
    EXPECT_TRUE(base32_only(std::string_view(buf, id_generator::tag_chars)));
    EXPECT_EQ(g.make_tag(buf, 3), 0u);
}

TEST(SipIds, NoRepeatsOverOneMillionDraws) {
    id_generator g(3, test_key);
    std::unordered_set<std::string> seen;
    seen.reserve(1'100'000);
    char buf[id_generator::max_branch];
    for (int i = 0; i < 1'000'000; ++i) {
        const size_t n = g.make_branch(buf, sizeof buf);
        ASSERT_TRUE(seen.emplace(buf, n).second) << "repeat at draw " << i;
    }
    // Tags are shorter (80 bits): check them too.
    std::unordered_set<std::string> tags;
    tags.reserve(1'100'000);
    for (int i = 0; i < 1'000'000; ++i) {
        const size_t n = g.make_tag(buf, sizeof buf);
        ASSERT_TRUE(tags.emplace(buf, n).second) << "tag repeat at draw " << i;
    }
}

TEST(SipIds, DifferentKeysGiveDifferentStreams) {
    id_generator a(1, test_key), b(1, hash_key{test_key.k0 ^ 1, test_key.k1});
    EXPECT_NE(a.next64(), b.next64());
    // Output bits look balanced (a cheap sanity check, not a randomness test).
    int ones = 0;
    for (int i = 0; i < 1000; ++i)
        ones += std::popcount(a.next64());
    EXPECT_GT(ones, 31000);
    EXPECT_LT(ones, 33000);
}

TEST(SipIds, SeedsFromOsEntropy) {
    auto a = id_generator::from_os_entropy(5);
    auto b = id_generator::from_os_entropy(5);
    ASSERT_TRUE(a.has_value());
    ASSERT_TRUE(b.has_value());
    EXPECT_EQ(a->shard(), 5);
    EXPECT_NE(a->next64(), b->next64()); // 2^-64 chance of a false failure
}
