#include <gtest/gtest.h>

#include "sip/b2b/header_policy.h"

using namespace tandem::sip;
using namespace tandem::sip::b2b;

namespace {

std::shared_ptr<const header_policy> sample() {
    header_policy_builder b("sample");
    EXPECT_EQ(b.add(direction::request, "Subject", policy_action::pass), "");
    EXPECT_EQ(b.add(direction::request, "X-Tandem-Pass", policy_action::pass), "");
    EXPECT_EQ(b.add(direction::request, "X-Old", policy_action::rename, "X-New"), "");
    EXPECT_EQ(b.add(direction::request, "Organization", policy_action::rewrite, "Carrier"), "");
    EXPECT_EQ(b.add(direction::response, "Warning", policy_action::pass), "");
    return b.build();
}

} // namespace

TEST(SipHeaderPolicy, DefaultDenyPassesOnlyListedHeaders) {
    auto p = sample();
    EXPECT_EQ(p->rule(direction::request, header_id::subject, "Subject").action,
              policy_action::pass);
    EXPECT_EQ(p->rule(direction::request, header_id::unknown, "x-tandem-PASS").action,
              policy_action::pass);
    EXPECT_EQ(p->rule(direction::request, header_id::unknown, "X-Secret-Internal").action,
              policy_action::drop);
    EXPECT_EQ(p->rule(direction::request, header_id::priority, "Priority").action,
              policy_action::drop);
    // Directions are separate.
    EXPECT_EQ(p->rule(direction::response, header_id::subject, "Subject").action,
              policy_action::drop);
    EXPECT_EQ(p->rule(direction::response, header_id::warning, "Warning").action,
              policy_action::pass);
}

TEST(SipHeaderPolicy, RenameAndRewriteCarryTheirArgument) {
    auto p = sample();
    const auto& r = p->rule(direction::request, header_id::unknown, "X-OLD");
    EXPECT_EQ(r.action, policy_action::rename);
    EXPECT_EQ(r.new_name, "X-New");
    const auto& w = p->rule(direction::request, header_id::organization, "Organization");
    EXPECT_EQ(w.action, policy_action::rewrite);
    EXPECT_EQ(w.new_value, "Carrier");
}

TEST(SipHeaderPolicy, RestrictedHeadersAreOwnedWhateverTheDefault) {
    header_policy_builder b("transparent");
    b.set_default(direction::request, policy_action::pass);
    auto p = b.build();
    for (header_id id :
         {header_id::via, header_id::call_id, header_id::from, header_id::to, header_id::cseq,
          header_id::contact, header_id::record_route, header_id::route, header_id::max_forwards,
          header_id::rseq, header_id::rack, header_id::content_length, header_id::content_type,
          header_id::refer_to, header_id::referred_by, header_id::replaces}) {
        EXPECT_EQ(p->rule(direction::request, id, header_name(id)).action, policy_action::owned)
            << header_name(id);
    }
    EXPECT_EQ(p->rule(direction::request, header_id::allow, "Allow").action, policy_action::merged);
    EXPECT_EQ(p->rule(direction::request, header_id::supported, "k").action, policy_action::merged);
    // Default pass reaches unknown and unlisted known headers, but not identity or auth.
    EXPECT_EQ(p->rule(direction::request, header_id::unknown, "X-Any").action, policy_action::pass);
    EXPECT_EQ(p->rule(direction::request, header_id::subject, "Subject").action,
              policy_action::pass);
    EXPECT_EQ(p->rule(direction::request, header_id::p_asserted_identity, "").action,
              policy_action::drop);
    EXPECT_EQ(p->rule(direction::request, header_id::proxy_authenticate, "").action,
              policy_action::drop);
}

TEST(SipHeaderPolicy, RestrictedHeadersCannotBeListed) {
    header_policy_builder b("bad");
    EXPECT_NE(b.add(direction::request, "Via", policy_action::pass).find("never passes raw"),
              std::string::npos);
    EXPECT_NE(b.add(direction::request, "i", policy_action::pass).find("never passes raw"),
              std::string::npos);
    EXPECT_NE(b.add(direction::request, "Supported", policy_action::pass).find("merged"),
              std::string::npos);
    EXPECT_NE(
        b.add(direction::request, "X-A", policy_action::rename, "Contact").find("Tandem owns"),
        std::string::npos);
    EXPECT_NE(b.add(direction::request, "P-Asserted-Identity", policy_action::pass).find("trust"),
              std::string::npos);
    EXPECT_NE(
        b.add(direction::request, "X-A", policy_action::rewrite, "a\r\nVia: x").find("line break"),
        std::string::npos);
    EXPECT_NE(b.add(direction::request, "Bad Name", policy_action::pass).find("not a header name"),
              std::string::npos);
    EXPECT_EQ(b.add(direction::request, "X-Dup", policy_action::pass), "");
    EXPECT_NE(b.add(direction::request, "x-dup", policy_action::pass).find("already"),
              std::string::npos);
}

TEST(SipHeaderPolicy, TrustedPeerPassesIdentity) {
    header_policy_builder b("trusted");
    b.set_trust_identity(true);
    b.set_transparent_auth(true);
    auto p = b.build();
    EXPECT_EQ(p->rule(direction::request, header_id::p_asserted_identity, "").action,
              policy_action::pass);
    EXPECT_EQ(p->rule(direction::request, header_id::history_info, "").action, policy_action::pass);
    EXPECT_EQ(p->rule(direction::response, header_id::www_authenticate, "").action,
              policy_action::pass);
    EXPECT_TRUE(p->trust_identity());
    EXPECT_TRUE(p->transparent_auth());
}

TEST(SipHeaderPolicy, ManyExtensionHeadersHashPerfectly) {
    header_policy_builder b("many");
    for (int i = 0; i < 500; ++i) {
        ASSERT_EQ(b.add(direction::request, "X-H" + std::to_string(i), policy_action::pass), "");
    }
    auto p = b.build();
    for (int i = 0; i < 500; ++i) {
        std::string n = "x-h" + std::to_string(i);
        EXPECT_EQ(p->rule(direction::request, header_id::unknown, n).action, policy_action::pass)
            << n;
    }
    EXPECT_EQ(p->rule(direction::request, header_id::unknown, "X-H500").action,
              policy_action::drop);
}
