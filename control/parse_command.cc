#include "control/parse_command.h"

#include "sip/message.h"
#include "sip/validate.h"

#include <nlohmann/json.hpp>

#include <fstream>
#include <iostream>
#include <iterator>
#include <memory>
#include <sstream>

namespace tandem::control {

namespace {

// Strings in SIP may hold any byte; JSON needs valid UTF-8, so bytes outside printable ASCII
// are written as \xHH escapes in the text (the summary is for people and scripts, not a copy).
std::string printable(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    static constexpr char hex[] = "0123456789abcdef";
    for (char c : s) {
        auto u = static_cast<unsigned char>(c);
        if (u >= 0x20 && u < 0x7f) {
            out.push_back(c);
        } else {
            out += "\\x";
            out.push_back(hex[u >> 4]);
            out.push_back(hex[u & 15]);
        }
    }
    return out;
}

bool summarize(const std::string& bytes, std::ostream& out) {
    auto m = std::make_unique<sip::message>();
    sip::parse_result r = sip::parse(bytes.data(), bytes.size(), *m, sip::parse_mode::datagram);
    if (!r.ok()) {
        out << "error: " << r.reason << " at byte " << r.offset << "\n";
        return false;
    }
    nlohmann::ordered_json j;
    if (m->is_request()) {
        j["method"] = printable(m->method_name());
        j["request_uri"] = printable(m->request_uri());
    } else {
        j["status"] = m->status_code();
        j["reason"] = printable(m->reason_phrase());
    }
    const auto& cid = m->call_id();
    j["call_id"] = cid.ok() ? nlohmann::ordered_json(printable(*cid)) : nlohmann::ordered_json();
    const auto& cs = m->cseq();
    if (cs.ok()) {
        j["cseq"] = {{"number", cs->number}, {"method", printable(cs->method_name)}};
    } else {
        j["cseq"] = nullptr;
    }
    const auto& via = m->top_via();
    j["via_branch"] = via.ok() && via->has_branch ? nlohmann::ordered_json(printable(via->branch))
                                                  : nlohmann::ordered_json();
    const auto& from = m->from();
    j["from_tag"] = from.ok() && from->has_tag ? nlohmann::ordered_json(printable(from->tag))
                                               : nlohmann::ordered_json();
    const auto& to = m->to();
    j["to_tag"] = to.ok() && to->has_tag ? nlohmann::ordered_json(printable(to->tag))
                                         : nlohmann::ordered_json();
    j["header_count"] = m->header_count();
    j["body_length"] = m->body().size();
    sip::semantic_verdict v = sip::semantic_check(*m);
    if (!v.ok()) j["would_reject"] = std::to_string(v.code) + " " + v.reason;
    out << "ok " << j.dump() << "\n";
    return true;
}

} // namespace

int run_parse_command(const std::vector<std::string>& files, std::istream& in, std::ostream& out) {
    bool failed = false;
    if (files.empty()) {
        std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        failed = !summarize(bytes, out);
    }
    for (const auto& f : files) {
        std::ifstream file(f, std::ios::binary);
        if (!file) {
            out << "error: cannot read " << f << "\n";
            failed = true;
            continue;
        }
        std::ostringstream ss;
        ss << file.rdbuf();
        if (!summarize(ss.str(), out)) failed = true;
    }
    return failed ? 1 : 0;
}

} // namespace tandem::control
