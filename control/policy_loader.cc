#include "control/policy_loader.h"

#include <filesystem>
#include <fstream>
#include <sstream>

#include <fmt/format.h>
#include <toml++/toml.h>

namespace tandem::control {

namespace {

using sip::b2b::direction;
using sip::b2b::policy_action;

[[noreturn]] void fail(const std::string& source, const toml::source_region& where,
                       std::string_view msg) {
    throw policy_error(
        fmt::format("{}:{}:{}: {}", source, where.begin.line, where.begin.column, msg));
}

void check_keys(const std::string& source, const toml::table& t, std::string_view section,
                std::initializer_list<std::string_view> known) {
    for (const auto& [key, node] : t) {
        bool ok = false;
        for (auto k : known)
            ok = ok || key.str() == k;
        if (!ok) {
            fail(source, key.source(),
                 section.empty() ? fmt::format("unknown section '{}'", key.str())
                                 : fmt::format("unknown key '{}.{}'", section, key.str()));
        }
    }
}

void add_rule(sip::b2b::header_policy_builder& b, const std::string& source, const toml::node& at,
              direction dir, std::string_view header, policy_action action,
              std::string_view argument = {}) {
    std::string err = b.add(dir, header, action, argument);
    if (!err.empty()) fail(source, at.source(), err);
}

void read_side(sip::b2b::header_policy_builder& b, const std::string& source,
               const toml::table& root, std::string_view name, direction dir) {
    const toml::node* n = root.get(name);
    if (n == nullptr) return;
    if (!n->is_table()) fail(source, n->source(), fmt::format("'{}' must be a table", name));
    const toml::table& t = *n->as_table();
    check_keys(source, t, name, {"default", "pass", "rename", "rewrite"});
    if (const toml::node* d = t.get("default")) {
        std::string v = d->value_or(std::string());
        if (v == "deny") {
            b.set_default(dir, policy_action::drop);
        } else if (v == "pass") {
            b.set_default(dir, policy_action::pass);
        } else {
            fail(source, d->source(),
                 fmt::format("'{}.default' must be \"deny\" or \"pass\"", name));
        }
    }
    if (const toml::node* p = t.get("pass")) {
        if (!p->is_array())
            fail(source, p->source(),
                 fmt::format("'{}.pass' must be an array of header names", name));
        for (const auto& e : *p->as_array()) {
            if (!e.is_string())
                fail(source, e.source(),
                     fmt::format("'{}.pass' must be an array of header names", name));
            add_rule(b, source, e, dir, e.as_string()->get(), policy_action::pass);
        }
    }
    for (auto [key, action] : {std::pair{"rename", policy_action::rename},
                               std::pair{"rewrite", policy_action::rewrite}}) {
        const toml::node* m = t.get(key);
        if (m == nullptr) continue;
        if (!m->is_table()) {
            fail(source, m->source(),
                 fmt::format("'{}.{}' must be a table of \"Header\" = \"value\"", name, key));
        }
        for (const auto& [hdr, val] : *m->as_table()) {
            if (!val.is_string()) {
                fail(source, val.source(),
                     fmt::format("'{}.{}.{}' must be a string", name, key, hdr.str()));
            }
            add_rule(b, source, val, dir, hdr.str(), action, val.as_string()->get());
        }
    }
}

bool read_bool(const std::string& source, const toml::table& root, std::string_view section,
               std::string_view key) {
    const toml::node* n = root.get(section);
    if (n == nullptr) return false;
    if (!n->is_table()) fail(source, n->source(), fmt::format("'{}' must be a table", section));
    check_keys(source, *n->as_table(), section, {key});
    const toml::node* v = n->as_table()->get(key);
    if (v == nullptr) return false;
    if (!v->is_boolean())
        fail(source, v->source(), fmt::format("'{}.{}' must be true or false", section, key));
    return v->as_boolean()->get();
}

} // namespace

std::shared_ptr<const sip::b2b::header_policy>
compile_policy(std::string_view text, const std::string& name, const std::string& source) {
    toml::table root;
    try {
        root = toml::parse(text, source);
    } catch (const toml::parse_error& e) {
        throw policy_error(fmt::format("{}:{}:{}: {}", source, e.source().begin.line,
                                       e.source().begin.column, e.description()));
    }
    check_keys(source, root, "", {"requests", "responses", "identity", "auth"});
    sip::b2b::header_policy_builder b(name);
    b.set_trust_identity(read_bool(source, root, "identity", "trust"));
    b.set_transparent_auth(read_bool(source, root, "auth", "transparent"));
    read_side(b, source, root, "requests", direction::request);
    read_side(b, source, root, "responses", direction::response);
    return b.build();
}

std::map<std::string, std::shared_ptr<const sip::b2b::header_policy>>
load_policies(const std::string& dir) {
    std::map<std::string, std::shared_ptr<const sip::b2b::header_policy>> out;
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
        if (!entry.is_regular_file() || entry.path().extension() != ".toml") continue;
        std::ifstream in(entry.path(), std::ios::binary);
        if (!in) throw policy_error(fmt::format("{}: cannot read", entry.path().string()));
        std::stringstream text;
        text << in.rdbuf();
        std::string name = entry.path().stem().string();
        out[name] = compile_policy(text.str(), name, entry.path().string());
    }
    if (ec)
        throw policy_error(fmt::format("{}: cannot read the policy folder: {}", dir, ec.message()));
    return out;
}

} // namespace tandem::control
