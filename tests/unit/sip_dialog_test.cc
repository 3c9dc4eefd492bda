// RFC 3261 s12 dialogs: forking, CSeq ordering, route set and target refresh, lookup.
#include "sip/dialog/dialog_layer.h"
#include "sip/util/text_slab.h"

#include <gtest/gtest.h>

#include <cstring>

#include <string>
#include <vector>

namespace util = tandem::sip::util;
namespace txn = tandem::sip::txn;
using namespace tandem::sip::dialog;
using dialog_t = tandem::sip::dialog::dialog;

namespace {

const util::hash_key key{0xabc, 0xdef};

dialog_config cfg(uint32_t max = 16, uint32_t text = 512) {
    dialog_config c;
    c.max_dialogs = max;
    c.text_bytes = text;
    return c;
}

struct terminated_log {
    std::vector<std::pair<dialog_id, uint64_t>> ids;
    auto fn() {
        return [this](dialog_id id, uint64_t user) { ids.emplace_back(id, user); };
    }
};

// The UAC's view of a response to its INVITE: local = From, remote = To.
dialog_params uac_params(std::string_view to_tag, std::string_view contact,
                         const std::vector<std::string_view>& rr) {
    dialog_params p;
    p.id = {"call-1", "from-tag", to_tag};
    p.local_uri = "sip:alice@a.example.com";
    p.remote_uri = "sip:bob@b.example.com";
    p.remote_target = contact;
    p.record_route = rr;
    p.cseq = 1;
    return p;
}

} // namespace

TEST(SipDialog, ForkingTwoEarlyDialogsOneConfirmedOtherTerminated) {
    dialog_layer l(cfg(), key);
    terminated_log gone;
    const std::vector<std::string_view> rr = {"<sip:p1.example.com;lr>", "<sip:p2.example.com;lr>"};
    // One INVITE, two 183s with different To tags: two early dialogs.
    auto a = l.on_uac_response(uac_params("tag-a", "sip:bob@10.0.0.1", rr), 183, 1, gone.fn());
    auto b = l.on_uac_response(uac_params("tag-b", "sip:bob@10.0.0.2", rr), 183, 2, gone.fn());
    ASSERT_EQ(a.outcome, uac_outcome::created_early);
    ASSERT_EQ(b.outcome, uac_outcome::created_early);
    EXPECT_NE(a.id, b.id);
    EXPECT_EQ(l.size(), 2u);
    EXPECT_EQ(l.find({"call-1", "from-tag", "tag-a"}), a.id);
    EXPECT_EQ(l.find({"call-1", "from-tag", "tag-b"}), b.id);
    EXPECT_EQ(l.get(a.id)->state(), dialog_state::early);
    // A repeated 183 on fork a updates it, no new dialog.
    auto a2 = l.on_uac_response(uac_params("tag-a", "sip:bob@10.0.0.11", rr), 183, 1, gone.fn());
    EXPECT_EQ(a2.outcome, uac_outcome::updated_early);
    EXPECT_EQ(a2.id, a.id);
    EXPECT_EQ(l.get(a.id)->remote_target(), "sip:bob@10.0.0.11");

    // 200 from fork a: a confirmed, b terminated (and reported).
    const std::vector<std::string_view> rr2 = {"<sip:p1.example.com;lr>",
                                               "<sip:p3.example.com;lr>"};
    auto ok = l.on_uac_response(uac_params("tag-a", "sip:bob@10.0.0.1", rr2), 200, 1, gone.fn());
    EXPECT_EQ(ok.outcome, uac_outcome::confirmed);
    EXPECT_EQ(ok.id, a.id);
    ASSERT_EQ(gone.ids.size(), 1u);
    EXPECT_EQ(gone.ids[0].first, b.id);
    EXPECT_EQ(gone.ids[0].second, 2u);
    EXPECT_EQ(l.size(), 1u);
    EXPECT_EQ(l.get(a.id)->state(), dialog_state::confirmed);
    EXPECT_EQ(l.get(b.id), nullptr);
    EXPECT_FALSE(l.find({"call-1", "from-tag", "tag-b"}).valid()); // -> 481
    // Route set recomputed from the 2xx, reversed for the UAC (s12.1.2, s13.2.2.4).
    const dialog_t* d = l.get(a.id);
    EXPECT_EQ(d->route_set(), "<sip:p3.example.com;lr>, <sip:p1.example.com;lr>");
    EXPECT_EQ(d->first_route(), "<sip:p3.example.com;lr>");
    EXPECT_EQ(d->route_count(), 2u);
    EXPECT_EQ(d->remote_target(), "sip:bob@10.0.0.1");
    EXPECT_EQ(d->call_id(), "call-1");
    EXPECT_EQ(d->local_tag(), "from-tag");
    EXPECT_EQ(d->remote_tag(), "tag-a");
    EXPECT_EQ(d->local_uri(), "sip:alice@a.example.com");
    EXPECT_EQ(d->remote_uri(), "sip:bob@b.example.com");
    EXPECT_EQ(d->role(), dialog_role::uac);
    EXPECT_EQ(d->local_cseq(), 1u);
}

TEST(SipDialog, RetransmittedAndExtra2xx) {
    dialog_layer l(cfg(), key);
    terminated_log gone;
    auto a = l.on_uac_response(uac_params("tag-a", "sip:a@h", {}), 200, 1, gone.fn());
    ASSERT_EQ(a.outcome, uac_outcome::confirmed);
    // The UAC keeps its ACK and re-sends it for each retransmitted 2xx.
    EXPECT_EQ(l.set_ack(a.id, 1, 77), txn::no_msg);
    auto again = l.on_uac_response(uac_params("tag-a", "sip:a@h", {}), 200, 1, gone.fn());
    EXPECT_EQ(again.outcome, uac_outcome::retransmitted_2xx);
    EXPECT_EQ(l.ack_for_2xx(a.id, 1), 77u);
    EXPECT_EQ(l.ack_for_2xx(a.id, 2), txn::no_msg);
    // A 2xx from another fork after one was confirmed: its own dialog, flagged for BYE.
    auto b = l.on_uac_response(uac_params("tag-b", "sip:b@h", {}), 200, 2, gone.fn());
    EXPECT_EQ(b.outcome, uac_outcome::extra_confirmed);
    EXPECT_TRUE(gone.ids.empty()); // confirmed dialogs are never terminated by a sibling
    EXPECT_EQ(l.size(), 2u);
    EXPECT_EQ(l.terminate(a.id), 77u); // hands the ACK back for release
    EXPECT_EQ(l.terminate(a.id), txn::no_msg);
    EXPECT_EQ(l.size(), 1u);
}

TEST(SipDialog, FailureTerminatesAllEarlyDialogs) {
    dialog_layer l(cfg(), key);
    terminated_log gone;
    for (const char* tag : {"t1", "t2", "t3"})
        ASSERT_EQ(l.on_uac_response(uac_params(tag, "sip:x@h", {}), 180, 0, gone.fn()).outcome,
                  uac_outcome::created_early);
    // Unrelated INVITE (other local tag) must survive.
    dialog_params other = uac_params("t9", "sip:x@h", {});
    other.id.local_tag = "another";
    auto o = l.on_uac_response(other, 180, 0, gone.fn());
    ASSERT_EQ(o.outcome, uac_outcome::created_early);
    EXPECT_EQ(l.on_uac_failure("call-1", "from-tag", gone.fn()), 3u);
    EXPECT_EQ(gone.ids.size(), 3u);
    EXPECT_EQ(l.size(), 1u);
    EXPECT_TRUE(l.find({"call-1", "another", "t9"}).valid());
    EXPECT_EQ(l.on_uac_failure("call-1", "from-tag", gone.fn()), 0u);
}

TEST(SipDialog, NonCreatingResponsesAreIgnored) {
    dialog_layer l(cfg(), key);
    terminated_log gone;
    EXPECT_EQ(l.on_uac_response(uac_params("", "sip:x@h", {}), 180, 0, gone.fn()).outcome,
              uac_outcome::ignored); // no To tag
    EXPECT_EQ(l.on_uac_response(uac_params("t", "sip:x@h", {}), 100, 0, gone.fn()).outcome,
              uac_outcome::ignored);
    EXPECT_EQ(l.on_uac_response(uac_params("t", "sip:x@h", {}), 486, 0, gone.fn()).outcome,
              uac_outcome::ignored);
    EXPECT_EQ(l.size(), 0u);
}

TEST(SipDialog, UasCSeqOrderingTargetRefreshAndRouteOrder) {
    dialog_layer l(cfg(), key);
    dialog_params p;
    p.id = {"call-9", "my-tag", "their-tag"};
    p.local_uri = "sip:bob@b";
    p.remote_uri = "sip:alice@a";
    p.remote_target = "sip:alice@192.0.2.1";
    const std::vector<std::string_view> rr = {"<sip:p1;lr>", "<sip:p2;lr>"};
    p.record_route = rr;
    p.cseq = 10;
    auto c = l.create_uas(p, dialog_state::early, 500, 3);
    ASSERT_EQ(c.status, dialog_status::ok);
    const dialog_t* d = l.get(c.id);
    EXPECT_EQ(d->route_set(), "<sip:p1;lr>, <sip:p2;lr>"); // UAS keeps the order
    EXPECT_EQ(d->remote_cseq(), 10u);
    EXPECT_EQ(d->user(), 3u);
    EXPECT_EQ(l.create_uas(p, dialog_state::early, 0, 0).status, dialog_status::exists);
    ASSERT_EQ(l.confirm(c.id), dialog_status::ok);
    EXPECT_EQ(d->state(), dialog_state::confirmed);

    const dialog_id id = l.find({"call-9", "my-tag", "their-tag"});
    ASSERT_EQ(id, c.id);
    // s12.2.2: lower CSeq -> 500; equal and higher accepted.
    EXPECT_EQ(l.on_remote_request(id, 9, method_id::bye, {}), dialog_status::out_of_order);
    EXPECT_EQ(l.on_remote_request(id, 10, method_id::info, {}), dialog_status::ok);
    EXPECT_EQ(l.on_remote_request(id, 11, method_id::info, "sip:ignored@h"), dialog_status::ok);
    EXPECT_EQ(d->remote_target(), "sip:alice@192.0.2.1"); // INFO is no target refresh
    EXPECT_EQ(l.on_remote_request(id, 12, method_id::invite, "sip:alice@198.51.100.7:5070"),
              dialog_status::ok); // re-INVITE refreshes the target
    EXPECT_EQ(d->remote_target(), "sip:alice@198.51.100.7:5070");
    EXPECT_EQ(l.on_remote_request(id, 13, method_id::update, "sip:a@u"), dialog_status::ok);
    EXPECT_EQ(d->remote_target(), "sip:a@u");
    EXPECT_EQ(d->route_set(), "<sip:p1;lr>, <sip:p2;lr>"); // route set unchanged
    EXPECT_EQ(l.on_remote_request(id, 5, method_id::ack, {}), dialog_status::ok); // not checked
    EXPECT_EQ(d->remote_cseq(), 13u);
    EXPECT_EQ(l.next_local_cseq(id), 501u);
    EXPECT_EQ(l.next_local_cseq(id), 502u);
    // UAC-side refresh (2xx to our re-INVITE).
    EXPECT_EQ(l.refresh_target(id, "sip:alice@203.0.113.5"), dialog_status::ok);
    EXPECT_EQ(d->remote_target(), "sip:alice@203.0.113.5");
    EXPECT_EQ(d->call_id(), "call-9"); // fixed fields untouched by rewrites
    EXPECT_EQ(d->remote_uri(), "sip:alice@a");
}

TEST(SipDialog, UnknownDialogIsNotFoundFor481) {
    dialog_layer l(cfg(), key);
    EXPECT_FALSE(l.find({"nope", "a", "b"}).valid());
    dialog_params p;
    p.id = {"c", "l", "r"};
    auto c = l.create_uas(p, dialog_state::confirmed, 0, 0);
    ASSERT_EQ(c.status, dialog_status::ok);
    EXPECT_FALSE(l.find({"c", "l", "x"}).valid()); // remote tag differs
    EXPECT_FALSE(l.find({"c", "r", "l"}).valid()); // tags swapped
    (void)l.terminate(c.id);
    EXPECT_FALSE(l.find({"c", "l", "r"}).valid());
    EXPECT_EQ(l.on_remote_request(c.id, 1, method_id::bye, {}), dialog_status::stale);
}

TEST(SipDialog, TandemLocalTagsMatchTheWholeDialogIdByText) {
    // Local tags in id_generator's format key the dialog by their PRF bits; the Call-ID and the
    // remote tag are still part of the match, and forks sharing the local tag stay apart.
    dialog_layer l(cfg(), key);
    terminated_log gone;
    const std::string_view mine = "0123456789abcdef"; // 16 base32 chars: a minted tag
    auto params = [&](std::string_view call_id, std::string_view to_tag) {
        dialog_params p = uac_params(to_tag, "sip:bob@10.0.0.1", {});
        p.id = {call_id, mine, to_tag};
        return p;
    };
    auto a = l.on_uac_response(params("call-1", "tag-a"), 183, 1, gone.fn());
    auto b = l.on_uac_response(params("call-1", "tag-b"), 183, 2, gone.fn());
    ASSERT_EQ(a.outcome, uac_outcome::created_early);
    ASSERT_EQ(b.outcome, uac_outcome::created_early);
    EXPECT_NE(a.id, b.id);
    EXPECT_EQ(l.find({"call-1", mine, "tag-a"}), a.id);
    EXPECT_EQ(l.find({"call-1", mine, "tag-b"}), b.id);
    EXPECT_FALSE(l.find({"call-2", mine, "tag-a"}).valid());               // Call-ID differs
    EXPECT_FALSE(l.find({"call-1", mine, "tag-c"}).valid());               // remote tag differs
    EXPECT_FALSE(l.find({"call-1", "0123456789abcdeg", "tag-a"}).valid()); // local tag differs
    EXPECT_FALSE(l.find({"call-1", "0123456789ABCDEF", "tag-a"}).valid()); // case matters
    // The same local tag under another Call-ID is another INVITE's dialog, in its own group.
    auto c = l.on_uac_response(params("call-2", "tag-a"), 183, 3, gone.fn());
    ASSERT_EQ(c.outcome, uac_outcome::created_early);
    EXPECT_EQ(l.find({"call-2", mine, "tag-a"}), c.id);
    EXPECT_EQ(l.find({"call-1", mine, "tag-a"}), a.id);
    // 200 on fork b of call-1: a ends, call-2's early dialog does not.
    auto ok = l.on_uac_response(params("call-1", "tag-b"), 200, 2, gone.fn());
    EXPECT_EQ(ok.outcome, uac_outcome::confirmed);
    EXPECT_EQ(ok.id, b.id);
    ASSERT_EQ(gone.ids.size(), 1u);
    EXPECT_EQ(gone.ids[0].first, a.id);
    EXPECT_EQ(l.get(c.id)->state(), dialog_state::early);
    // A failure of call-2's INVITE ends only its early dialog.
    EXPECT_EQ(l.on_uac_failure("call-2", mine, gone.fn()), 1u);
    EXPECT_EQ(l.get(c.id), nullptr);
    EXPECT_EQ(l.find({"call-1", mine, "tag-b"}), b.id);
    // UAS side: a minted local tag, the caller's Call-ID and tag.
    dialog_params u;
    u.id = {"caller-call", "vvvvvvvvvvvvvvvv", "caller-tag"};
    auto s = l.create_uas(u, dialog_state::confirmed, 0, 0);
    ASSERT_EQ(s.status, dialog_status::ok);
    EXPECT_EQ(l.create_uas(u, dialog_state::confirmed, 0, 0).status, dialog_status::exists);
    EXPECT_EQ(l.find({"caller-call", "vvvvvvvvvvvvvvvv", "caller-tag"}), s.id);
    EXPECT_FALSE(l.find({"caller-call", "vvvvvvvvvvvvvvvv", "other-tag"}).valid());
    (void)l.terminate(s.id);
    EXPECT_FALSE(l.find({"caller-call", "vvvvvvvvvvvvvvvv", "caller-tag"}).valid());
}

TEST(SipDialog, TableFullAndTooLarge) {
    dialog_layer l(cfg(2, 64), key);
    dialog_params p;
    p.id = {"c1", "l", "r"};
    EXPECT_EQ(l.create_uas(p, dialog_state::confirmed, 0, 0).status, dialog_status::ok);
    p.id.call_id = "c2";
    EXPECT_EQ(l.create_uas(p, dialog_state::confirmed, 0, 0).status, dialog_status::ok);
    p.id.call_id = "c3";
    EXPECT_EQ(l.create_uas(p, dialog_state::confirmed, 0, 0).status, dialog_status::full);
    EXPECT_EQ(l.full_count(), 1u);

    dialog_layer small(cfg(4, 64), key);
    const std::string big(100, 'x');
    p.id.call_id = big;
    EXPECT_EQ(small.create_uas(p, dialog_state::confirmed, 0, 0).status, dialog_status::too_large);
    p.id.call_id = "c";
    p.remote_target = std::string_view(big).substr(0, 62); // 3 + 62 > 64
    EXPECT_EQ(small.create_uas(p, dialog_state::confirmed, 0, 0).status, dialog_status::too_large);
    EXPECT_EQ(small.size(), 0u); // nothing leaked
    p.remote_target = "sip:t@h";
    auto ok = small.create_uas(p, dialog_state::confirmed, 0, 0);
    ASSERT_EQ(ok.status, dialog_status::ok);
    EXPECT_EQ(small.refresh_target(ok.id, big), dialog_status::too_large);
    EXPECT_EQ(small.get(ok.id)->remote_target(), "sip:t@h");
}

TEST(SipDialog, ForkGroupsSurviveHeadRemovalAndSlotReuse) {
    // With a hashed local tag and with a minted one (keyed by its bits: the group's entry and
    // its dialogs' entries then share a table tag).
    for (std::string_view local : {"from-tag", "0123456789abcdef"}) {
        dialog_layer l(cfg(8), key);
        terminated_log gone;
        auto fork = [&](std::string_view to_tag) {
            dialog_params p = uac_params(to_tag, "sip:x@h", {});
            p.id.local_tag = local;
            return p;
        };
        auto a = l.on_uac_response(fork("a"), 180, 0, gone.fn());
        auto b = l.on_uac_response(fork("b"), 180, 0, gone.fn());
        auto c = l.on_uac_response(fork("c"), 180, 0, gone.fn());
        // The group's first member goes away on its own (e.g. the TU ended it).
        (void)l.terminate(a.id);
        EXPECT_FALSE(l.find({"call-1", local, "a"}).valid()) << local;
        EXPECT_EQ(l.find({"call-1", local, "b"}), b.id) << local;
        // A new fork still joins the same group, and a 2xx on c ends b and d.
        auto d = l.on_uac_response(fork("d"), 180, 0, gone.fn());
        ASSERT_EQ(d.outcome, uac_outcome::created_early) << local;
        auto ok = l.on_uac_response(fork("c"), 200, 0, gone.fn());
        EXPECT_EQ(ok.outcome, uac_outcome::confirmed) << local;
        ASSERT_EQ(gone.ids.size(), 2u) << local;
        EXPECT_TRUE((gone.ids[0].first == b.id && gone.ids[1].first == d.id) ||
                    (gone.ids[0].first == d.id && gone.ids[1].first == b.id))
            << local;
        EXPECT_EQ(l.size(), 1u) << local;
        EXPECT_EQ(l.get(c.id)->state(), dialog_state::confirmed) << local;
        EXPECT_EQ(l.find({"call-1", local, "c"}), c.id) << local;
        // The last one ends: nothing is left to find, and a new INVITE's forks start afresh.
        (void)l.terminate(c.id);
        EXPECT_EQ(l.size(), 0u) << local;
        auto e = l.on_uac_response(fork("e"), 180, 0, gone.fn());
        ASSERT_EQ(e.outcome, uac_outcome::created_early) << local;
        EXPECT_EQ(l.on_uac_failure("call-1", local, gone.fn()), 1u) << local;
        EXPECT_EQ(l.size(), 0u) << local;
    }
}

TEST(SipDialog, TextBlockGrowsOnTargetRefreshAndRouteUpdateKeepingEveryField) {
    dialog_layer l(cfg(4, 512), key);
    terminated_log gone;
    // An early dialog with a short target and no route set takes a small block.
    auto e = l.on_uac_response(uac_params("tag-a", "sip:b@1", {}), 183, 1, gone.fn());
    ASSERT_EQ(e.outcome, uac_outcome::created_early);
    const size_t small = l.text_bytes_in_use();
    EXPECT_LT(small, 128u);
    // A longer target (1xx refresh), then a 2xx with a route set: the text moves to larger
    // blocks and every field survives, the old target included when the 2xx has none.
    const std::string long_target = "sip:bob@" + std::string(150, 'x') + ".example.com";
    auto u = l.on_uac_response(uac_params("tag-a", long_target, {}), 183, 1, gone.fn());
    ASSERT_EQ(u.outcome, uac_outcome::updated_early);
    EXPECT_GT(l.text_bytes_in_use(), small);
    const std::vector<std::string_view> rr = {"<sip:p1.example.com;lr>", "<sip:p2.example.com;lr>"};
    auto ok = l.on_uac_response(uac_params("tag-a", "", rr), 200, 1, gone.fn());
    ASSERT_EQ(ok.outcome, uac_outcome::confirmed);
    const dialog_t* d = l.get(ok.id);
    ASSERT_NE(d, nullptr);
    EXPECT_EQ(d->call_id(), "call-1");
    EXPECT_EQ(d->local_tag(), "from-tag");
    EXPECT_EQ(d->remote_tag(), "tag-a");
    EXPECT_EQ(d->local_uri(), "sip:alice@a.example.com");
    EXPECT_EQ(d->remote_uri(), "sip:bob@b.example.com");
    EXPECT_EQ(d->remote_target(), long_target);
    EXPECT_EQ(d->route_set(), "<sip:p2.example.com;lr>, <sip:p1.example.com;lr>");
    EXPECT_EQ(d->first_route(), "<sip:p2.example.com;lr>");
    // Text beyond text_bytes is refused, and nothing leaks: the last dialog gone, no text held.
    EXPECT_EQ(l.refresh_target(ok.id, std::string(600, 'y')), dialog_status::too_large);
    EXPECT_EQ(d->remote_target(), long_target);
    (void)l.terminate(ok.id);
    EXPECT_EQ(l.text_bytes_in_use(), 0u);
}

TEST(SipDialog, TextBlocksAreReusedAcrossDialogs) {
    dialog_layer l(cfg(4, 512), key);
    terminated_log gone;
    for (int round = 0; round < 1000; ++round) {
        auto r = l.on_uac_response(uac_params("tag-a", "sip:bob@10.0.0.1", {}), 200, 1, gone.fn());
        ASSERT_EQ(r.outcome, uac_outcome::confirmed) << round;
        (void)l.terminate(r.id);
    }
    EXPECT_EQ(l.size(), 0u);
    EXPECT_EQ(l.text_bytes_in_use(), 0u);
    // One block carved, reused 1000 times.
    EXPECT_LE(l.memory_bytes(), sizeof(l) + 4096 + 4 * 256 + 64 * 8);
}

TEST(TextSlab, ClassesFreeListsAndFallbackToALargerBlock) {
    // Room for exactly four 64-byte blocks.
    util::text_slab slab(256, 512);
    uint32_t size = 0;
    EXPECT_EQ(util::text_slab::block_for(1), 32u);
    EXPECT_EQ(util::text_slab::block_for(33), 64u);
    EXPECT_EQ(slab.alloc(513, size), util::text_slab::npos); // beyond max_block
    uint32_t a = slab.alloc(40, size);
    ASSERT_NE(a, util::text_slab::npos);
    EXPECT_EQ(size, 64u);
    uint32_t b = slab.alloc(64, size);
    uint32_t c = slab.alloc(100, size); // 128 bytes: the reservation is now full
    ASSERT_NE(b, util::text_slab::npos);
    ASSERT_NE(c, util::text_slab::npos);
    EXPECT_EQ(size, 128u);
    EXPECT_EQ(slab.carved_bytes(), 256u);
    EXPECT_EQ(slab.alloc(10, size), util::text_slab::npos); // nothing free, nothing fresh
    std::memset(slab.at(a), 'a', 64);
    slab.free(a, 64);
    // The freed block comes back for its class (LIFO)...
    uint32_t a2 = slab.alloc(50, size);
    EXPECT_EQ(a2, a);
    EXPECT_EQ(size, 64u);
    // ...and a small request takes a larger free block when there is nothing else.
    slab.free(c, 128);
    uint32_t d = slab.alloc(20, size);
    EXPECT_EQ(d, c);
    EXPECT_EQ(size, 128u);
    slab.free(d, size);
    slab.free(a2, 64);
    slab.free(b, 64);
    EXPECT_EQ(slab.used_bytes(), 0u);
    EXPECT_EQ(slab.carved_bytes(), 256u);
}
