#include <gtest/gtest.h>

#include "control/policy_loader.h"

using namespace tandem::sip;
using namespace tandem::sip::b2b;
using tandem::control::compile_policy;
using tandem::control::policy_error;

namespace {

std::string error_of(const std::string& text) {
    try {
        (void)compile_policy(text, "t", "t.toml");
    } catch (const policy_error& e) {
        return e.what();
    }
    return "<no error>";
}

} // namespace

TEST(ControlPolicyLoader, ShippedPoliciesCompile) {
    auto all = tandem::control::load_policies(std::string(TANDEM_SOURCE_DIR) + "/config/policies");
    ASSERT_EQ(all.count("default"), 1u);
    const auto& p = *all.at("default");
    EXPECT_EQ(p.rule(direction::request, header_id::unknown, "X-Tandem-Pass").action,
              policy_action::pass);
    EXPECT_EQ(p.rule(direction::request, header_id::unknown, "X-Secret-Internal").action,
              policy_action::drop);
    EXPECT_EQ(p.rule(direction::request, header_id::subject, "Subject").action,
              policy_action::pass);
    EXPECT_FALSE(p.trust_identity());
    EXPECT_FALSE(p.transparent_auth());
}

TEST(ControlPolicyLoader, RulesFromToml) {
    auto p =
        compile_policy("[requests]\ndefault = \"pass\"\npass = [\"Subject\"]\n"
                       "rename = { \"X-A\" = \"X-B\" }\nrewrite = { \"Organization\" = \"Acme\" }\n"
                       "[identity]\ntrust = true\n",
                       "p", "p.toml");
    EXPECT_EQ(p->name(), "p");
    EXPECT_EQ(p->rule(direction::request, header_id::unknown, "X-Other").action,
              policy_action::pass);
    EXPECT_EQ(p->rule(direction::request, header_id::unknown, "x-a").new_name, "X-B");
    EXPECT_EQ(p->rule(direction::request, header_id::organization, "").new_value, "Acme");
    EXPECT_EQ(p->rule(direction::response, header_id::unknown, "X-Other").action,
              policy_action::drop);
    EXPECT_TRUE(p->trust_identity());
}

TEST(ControlPolicyLoader, ErrorsNamePositionAndProblem) {
    EXPECT_EQ(error_of("[requests]\npass = [\"Subject\", \"Via\"]\n"),
              "t.toml:2:20: 'Via' never passes raw: Tandem writes its own on each leg");
    EXPECT_EQ(error_of("[request]\n"), "t.toml:1:2: unknown section 'request'");
    EXPECT_EQ(error_of("[requests]\npas = []\n"), "t.toml:2:1: unknown key 'requests.pas'");
    EXPECT_EQ(error_of("[requests]\ndefault = \"maybe\"\n"),
              "t.toml:2:11: 'requests.default' must be \"deny\" or \"pass\"");
    EXPECT_EQ(error_of("[identity]\ntrust = 1\n"),
              "t.toml:2:9: 'identity.trust' must be true or false");
    EXPECT_EQ(error_of("[requests]\npass = \"Subject\"\n"),
              "t.toml:2:8: 'requests.pass' must be an array of header names");
    EXPECT_EQ(error_of("[requests\n").rfind("t.toml:1:", 0), 0u);
}
