// Every RFC 4475 and RFC 5118 torture message gets the verdict its MANIFEST.tsv gives; the
// manifest drives the test, and every message file must be listed, so none is skipped silently.
// Also: the guard-page test (each message ends right before a PROT_NONE page, every accessor
// is called) and field checks on the valid messages.
#include "sip/message.h"
#include "sip/scan.h"
#include "sip/uri.h"
#include "sip/validate.h"

#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace fs = std::filesystem;
using namespace tandem::sip;

namespace {

const fs::path k_corpus = fs::path(TANDEM_SOURCE_DIR) / "tests" / "corpus";

std::string read_file(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    EXPECT_TRUE(in.good()) << p;
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

struct corpus_case {
    std::string set;  // rfc4475 / rfc5118
    std::string name; // manifest name
    fs::path file;
    std::string expected;
};

std::vector<std::string> split_tabs(const std::string& line) {
    std::vector<std::string> out;
    size_t b = 0;
    for (;;) {
        size_t e = line.find('\t', b);
        out.push_back(line.substr(b, e == std::string::npos ? std::string::npos : e - b));
        if (e == std::string::npos) break;
        b = e + 1;
    }
    return out;
}

std::vector<corpus_case> load_manifest(const std::string& set) {
    std::vector<corpus_case> cases;
    std::ifstream in(k_corpus / set / "MANIFEST.tsv");
    EXPECT_TRUE(in.good()) << set;
    std::string line;
    std::getline(in, line);
    auto head = split_tabs(line);
    size_t file_col = 0, exp_col = 0;
    for (size_t i = 0; i < head.size(); ++i) {
        if (head[i] == "file" || head[i] == "wire_file") file_col = i;
        if (head[i] == "expected") exp_col = i;
    }
    EXPECT_NE(file_col, 0u);
    EXPECT_NE(exp_col, 0u);
    while (std::getline(in, line)) {
        if (line.empty()) continue;
        auto cols = split_tabs(line);
        if (cols.size() <= std::max(file_col, exp_col)) {
            ADD_FAILURE() << "short manifest line: " << line;
            continue;
        }
        // rfc5118's manifest names wire/<file>; the copy keeps only the wire files, flat.
        fs::path f = k_corpus / set / fs::path(cols[file_col]).filename();
        cases.push_back({set, cols[0], f, cols[exp_col]});
    }
    return cases;
}

std::vector<corpus_case> all_cases() {
    auto a = load_manifest("rfc4475");
    auto b = load_manifest("rfc5118");
    a.insert(a.end(), b.begin(), b.end());
    return a;
}

// The code each valid-but-should-reject-semantically message must get (the RFC's own answer).
// A message missing from this table fails the test, so a new one cannot pass unnoticed.
const std::map<std::string, int> k_semantic_codes = {
    {"badbranch", 400}, {"insuf", 400},  {"unkscm", 416}, {"novelsc", 416},
    {"unksm2", 400},    {"bext01", 420}, {"invut", 415},  {"regaut01", 401},
    {"multi01", 400},   {"bcast", 400},  {"zeromf", 483}, {"sdp01", 406},
};

// Why each invalid message is refused: the parse error, or the semantic refusal. Pins the
// reason so a message cannot pass the verdict test by failing for an unrelated cause.
const std::map<std::string, std::string> k_invalid_reasons = {
    {"badinv01", "empty list element"},
    {"clerr", "Content-Length larger than message"},
    {"ncl", "bad Content-Length"},
    {"scalar02", "400 bad CSeq"},
    {"scalarlg", "400 bad CSeq"},
    {"quotbal", "400 bad To"},
    {"ltgtruri", "bad Request-URI"},
    {"lwsruri", "bad SIP version"},
    {"lwsstart", "bad Request-URI"},
    {"trws", "bad SIP version"},
    {"escruri", "400 Request-URI with headers"},
    {"baddate", "400 bad Date"},
    {"regbadct", "400 bad Contact"},
    {"badaspec", "400 bad To"},
    // The corpus copy has no blank line after its headers (see the manifest's note on ersip).
    {"baddn", "headers not terminated"},
    {"badvers", "505 Version Not Supported"},
    {"mismatch01", "400 CSeq method mismatch"},
    {"mismatch02", "501 Not Implemented"},
    {"bigcode", "bad status code"},
    {"mcl01", "conflicting Content-Length"},
    {"ipv6-bad", "400 Bad Request-URI"},
};

std::string describe(const parse_result& r) {
    char buf[128];
    (void)r.format(buf, sizeof buf);
    return buf;
}

// Calls every accessor; used by the guard-page test (any over-read faults).
size_t touch_everything(const message& m) {
    size_t sum = m.method_name().size() + m.request_uri().size() + m.reason_phrase().size() +
                 m.body().size();
    for (size_t i = 0; i < m.header_count(); ++i)
        sum += m.value(i).size() + m.name(m.header(i)).size();
    sum += m.top_via().ok() + m.from().ok() + m.to().ok() + m.call_id().ok() + m.cseq().ok();
    for (size_t i = 0; i < m.count(header_id::via); ++i)
        sum += m.via(i).ok();
    sum += m.max_forwards().ok() + m.content_type().ok() + m.expires().ok() + m.rseq().ok();
    for (size_t i = 0; i < m.contact_count(); ++i)
        sum += m.contact(i).ok();
    for (size_t i = 0; i < m.route_count(); ++i)
        sum += m.route(i).ok();
    for (size_t i = 0; i < m.record_route_count(); ++i)
        sum += m.record_route(i).ok();
    sum += m.rack().ok() + m.reason().ok() + m.refer_to().ok() + m.referred_by().ok();
    sum += m.replaces().ok() + m.session_expires().ok() + m.min_se().ok();
    sum += m.p_asserted_identity().ok() + m.option_tag(header_id::supported, 0).ok();
    sum += m.has_option_tag(header_id::require, "100rel");
    sum += m.find("NewFangledHeader") != message::npos;
    uri u;
    if (m.is_request() && parse_uri(m.request_uri(), u)) {
        uri u2;
        sum += parse_uri(m.request_uri(), u2) && uri_equal(u, u2);
    }
    if (m.to().ok() && parse_uri(m.to()->uri, u)) sum += u.host.size();
    sum += static_cast<size_t>(semantic_check(m).code);
    return sum;
}

} // namespace

TEST(SipCorpus, ManifestsListEveryMessageFile) {
    for (const char* set : {"rfc4475", "rfc5118"}) {
        std::set<std::string> listed;
        for (const auto& c : load_manifest(set)) {
            listed.insert(c.file.filename().string());
            EXPECT_TRUE(fs::exists(c.file)) << c.file;
        }
        size_t files = 0;
        for (const auto& e : fs::directory_iterator(k_corpus / set)) {
            auto ext = e.path().extension();
            if (ext != ".dat" && ext != ".sip") continue;
            ++files;
            EXPECT_TRUE(listed.count(e.path().filename().string()))
                << e.path() << " is not in " << set << "/MANIFEST.tsv";
        }
        EXPECT_EQ(files, listed.size()) << set;
    }
    EXPECT_EQ(load_manifest("rfc4475").size(), 49u);
    EXPECT_EQ(load_manifest("rfc5118").size(), 12u);
}

TEST(SipCorpus, EveryMessageGetsItsManifestVerdict) {
    auto cases = all_cases();
    ASSERT_EQ(cases.size(), 61u);
    for (const auto& c : cases) {
        SCOPED_TRACE(c.set + "/" + c.name);
        std::string bytes = read_file(c.file);
        message m;
        parse_result r = parse(bytes.data(), bytes.size(), m);
        if (c.expected == "valid") {
            ASSERT_TRUE(r.ok()) << describe(r);
            semantic_verdict v = semantic_check(m);
            EXPECT_TRUE(v.ok()) << v.code << " " << v.reason;
        } else if (c.expected == "invalid") {
            auto it = k_invalid_reasons.find(c.name);
            ASSERT_NE(it, k_invalid_reasons.end()) << "no expected reason for " << c.name;
            if (r.ok()) {
                semantic_verdict v = semantic_check(m);
                EXPECT_FALSE(v.ok()) << "parsed and passed the semantic check";
                EXPECT_GE(v.code, 400);
                EXPECT_EQ(std::to_string(v.code) + " " + v.reason, it->second);
            } else {
                EXPECT_EQ(r.status, parse_status::invalid);
                EXPECT_EQ(std::string(r.reason), it->second);
            }
        } else if (c.expected == "valid-but-should-reject-semantically") {
            ASSERT_TRUE(r.ok()) << describe(r);
            auto it = k_semantic_codes.find(c.name);
            ASSERT_NE(it, k_semantic_codes.end()) << "no expected code for " << c.name;
            semantic_verdict v = semantic_check(m);
            EXPECT_EQ(v.code, it->second) << v.reason;
        } else {
            ADD_FAILURE() << "unknown verdict " << c.expected;
        }
    }
}

TEST(SipCorpus, StreamModeMatchesDatagramForCompleteMessages) {
    for (const auto& c : all_cases()) {
        SCOPED_TRACE(c.name);
        std::string bytes = read_file(c.file);
        message a, b;
        parse_result ra = parse(bytes.data(), bytes.size(), a, parse_mode::datagram);
        parse_result rb = parse(bytes.data(), bytes.size(), b, parse_mode::stream);
        if (ra.ok() && a.content_length() >= 0) {
            ASSERT_TRUE(rb.ok());
            EXPECT_EQ(a.size(), b.size());
            EXPECT_EQ(a.header_count(), b.header_count());
            // Every prefix of a stream is incomplete, never invalid.
            for (size_t n = 0; n < a.size(); ++n) {
                message p;
                parse_result rp = parse(bytes.data(), n, p, parse_mode::stream);
                ASSERT_EQ(rp.status, parse_status::incomplete) << "prefix " << n;
            }
        }
    }
}

TEST(SipCorpus, ClerrIsIncompleteOnStreamInvalidOnDatagram) {
    std::string bytes = read_file(k_corpus / "rfc4475" / "clerr.dat");
    message m;
    parse_result d = parse(bytes.data(), bytes.size(), m, parse_mode::datagram);
    EXPECT_EQ(d.status, parse_status::invalid);
    EXPECT_STREQ(d.reason, "Content-Length larger than message");
    parse_result s = parse(bytes.data(), bytes.size(), m, parse_mode::stream);
    EXPECT_EQ(s.status, parse_status::incomplete);
}

TEST(SipCorpus, GuardPageEveryMessageEndsAtUnmappedPage) {
    const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
    for (const auto& c : all_cases()) {
        SCOPED_TRACE(c.name);
        std::string bytes = read_file(c.file);
        size_t pages = (bytes.size() + page - 1) / page;
        size_t map_len = (pages + 1) * page;
        void* mem =
            mmap(nullptr, map_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        ASSERT_NE(mem, MAP_FAILED);
        char* base = static_cast<char*>(mem);
        ASSERT_EQ(mprotect(base + pages * page, page, PROT_NONE), 0);
        char* start = base + pages * page - bytes.size();
        std::memcpy(start, bytes.data(), bytes.size());
        // Every length from the full message down, so each cut point sits at the guard.
        for (size_t cut = 0; cut <= bytes.size(); cut += (cut < 64 ? 1 : 7)) {
            size_t n = bytes.size() - cut;
            char* s = base + pages * page - n;
            std::memmove(s, bytes.data(), n);
            for (parse_mode mode : {parse_mode::datagram, parse_mode::stream}) {
                message m;
                if (parse(s, n, m, mode).ok()) (void)touch_everything(m);
            }
            EXPECT_EQ(tandem::sip::scan::find_eol(s, n), tandem::sip::scan::find_eol_scalar(s, n));
            EXPECT_EQ(tandem::sip::scan::find_list_delim(s, n),
                      tandem::sip::scan::find_list_delim_scalar(s, n));
        }
        (void)start;
        munmap(mem, map_len);
    }
}

// ---------------------------------------------------------------------------------------------
// Field checks on the valid messages

namespace {
struct parsed {
    std::string bytes;
    message m;
    parse_result r;
};
std::unique_ptr<parsed> load(const std::string& set, const std::string& file) {
    auto p = std::make_unique<parsed>();
    p->bytes = read_file(k_corpus / set / file);
    p->r = parse(p->bytes.data(), p->bytes.size(), p->m);
    return p;
}
} // namespace

TEST(SipCorpus, WsinvFoldedLeadingZerosAndCompactForms) {
    auto p = load("rfc4475", "wsinv.dat");
    ASSERT_TRUE(p->r.ok());
    const message& m = p->m;
    EXPECT_EQ(m.method(), method::invite);
    EXPECT_EQ(m.request_uri(), "sip:vivekg@chair-dnrc.example.com;unknownparam");
    ASSERT_TRUE(m.max_forwards().ok());
    EXPECT_EQ(*m.max_forwards(), 68u);
    ASSERT_TRUE(m.cseq().ok());
    EXPECT_EQ(m.cseq()->number, 9u);
    EXPECT_EQ(m.cseq()->method, method::invite);
    // "s :" is the compact Subject, empty.
    size_t s = m.find(header_id::subject);
    ASSERT_NE(s, message::npos);
    EXPECT_EQ(m.value(s), "");
    EXPECT_EQ(m.name(m.header(s)), "s");
    // The folded unknown header keeps both lines in one value.
    size_t nf = m.find("newfangledheader");
    ASSERT_NE(nf, message::npos);
    EXPECT_EQ(m.value(nf), "newfangled value\r\n continued newfangled value");
    EXPECT_EQ(m.to()->tag, "1918181833n");
    EXPECT_EQ(m.to()->uri, "sip:vivekg@chair-dnrc.example.com");
    EXPECT_EQ(m.from()->tag, "98asjd8");
    EXPECT_EQ(m.from()->display_name, "\"J Rosenberg \\\\\\\"\"");
    // Three Via values: one folded line, then a "v:" line with two elements.
    EXPECT_EQ(m.count(header_id::via), 3u);
    EXPECT_EQ(m.line_count(header_id::via), 2u);
    EXPECT_EQ(m.top_via()->transport, "UDP");
    EXPECT_EQ(m.top_via()->host, "192.0.2.2");
    EXPECT_EQ(m.top_via()->branch, "390skdjuw");
    EXPECT_EQ(m.via(1)->transport, "TCP");
    EXPECT_EQ(m.via(1)->host, "spindle.example.com");
    EXPECT_EQ(m.via(1)->branch, "z9hG4bK9ikj8");
    EXPECT_EQ(m.via(2)->branch, "z9hG4bK30239");
    auto ct = m.contact(0);
    ASSERT_TRUE(ct.ok());
    EXPECT_EQ(ct->q, 330);
    EXPECT_EQ(ct->addr.uri, "sip:jdrosen@example.com");
    EXPECT_EQ(m.route(0)->uri, "sip:services.example.com;lr;unknownwith=value;unknown-no-value");
    EXPECT_EQ(m.body().size(), 150u);
    EXPECT_EQ(m.size(), p->bytes.size());
}

TEST(SipCorpus, IntmethOddMethodKeptByteExact) {
    auto p = load("rfc4475", "intmeth.dat");
    ASSERT_TRUE(p->r.ok());
    EXPECT_EQ(p->m.method(), method::other);
    EXPECT_EQ(p->m.method_name(), "!interesting-Method0123456789_*+`.%indeed'~");
    EXPECT_EQ(p->m.cseq()->method_name, p->m.method_name());
    EXPECT_EQ(p->m.cseq()->number, 139122385u);
    EXPECT_EQ(*p->m.max_forwards(), 255u);
    EXPECT_EQ(*p->m.call_id(), "intmeth.word%ZK-!.*_+'@word`~)(><:\\/\"][?}{");
    uri u;
    ASSERT_TRUE(parse_uri(p->m.request_uri(), u));
    EXPECT_EQ(u.user, "1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*");
    EXPECT_EQ(u.password, "&it+has=1,weird!*pas$wo~d_too.(doesn't-it)");
    EXPECT_EQ(u.host, "example.com");
}

TEST(SipCorpus, Esc01EscapedUrisCompareEqualToUnescaped) {
    auto p = load("rfc4475", "esc01.dat");
    ASSERT_TRUE(p->r.ok());
    uri a, b;
    ASSERT_TRUE(parse_uri(p->m.to()->uri, a));
    ASSERT_TRUE(parse_uri("sip:user@example.com", b));
    EXPECT_TRUE(uri_equal(a, b));
    auto c = p->m.contact(0);
    ASSERT_TRUE(c.ok());
    ASSERT_TRUE(parse_uri(c->addr.uri, a));
    // %25%34%31 decodes to the three bytes "%41": escaped again that is %2541.
    ASSERT_TRUE(parse_uri("sip:caller@host5.example.net;lr;name=value%2541", b));
    EXPECT_TRUE(uri_equal(a, b));
    ASSERT_TRUE(parse_uri("sip:caller@host5.example.net;lr;name=value%41", b));
    EXPECT_FALSE(uri_equal(a, b));
    ASSERT_TRUE(parse_uri("sip:caller@host5.example.net;lr;name=valueB", b));
    EXPECT_FALSE(uri_equal(a, b));
    ASSERT_TRUE(parse_uri(p->m.request_uri(), a));
    EXPECT_EQ(a.user, "sips%3Auser%40example.com");
    EXPECT_EQ(a.host, "example.net");
    EXPECT_EQ(p->m.find("C"), p->m.find(header_id::content_type));
    EXPECT_EQ(p->m.call_id()->size(),
              std::string_view("esc01.239409asdfakjkn23onasd0-3234").size());
}

TEST(SipCorpus, DblreqIgnoresTrailingBytes) {
    auto p = load("rfc4475", "dblreq.dat");
    ASSERT_TRUE(p->r.ok());
    EXPECT_EQ(p->m.method(), method::register_);
    EXPECT_EQ(p->m.content_length(), 0);
    EXPECT_TRUE(p->m.body().empty());
    EXPECT_LT(p->m.size(), p->bytes.size());
    EXPECT_EQ(p->r.offset, p->m.size());
    EXPECT_NE(p->bytes.find("INVITE", p->m.size()), std::string::npos);
}

TEST(SipCorpus, LongreqLongValues) {
    auto p = load("rfc4475", "longreq.dat");
    ASSERT_TRUE(p->r.ok());
    const message& m = p->m;
    EXPECT_GT(m.call_id()->size(), 100u);
    EXPECT_FALSE(m.to()->has_tag);
    EXPECT_GT(m.to()->uri.size(), 300u);
    EXPECT_GT(m.from()->tag.size(), 100u);
    EXPECT_EQ(m.count(header_id::via), 34u);
    EXPECT_EQ(m.top_via()->host, "sip33.example.com");
    EXPECT_EQ(m.via(33)->host, "host.example.com");
    EXPECT_EQ(m.via(33)->received, "192.0.2.5");
    EXPECT_GT(m.via(33)->branch.size(), 100u);
    EXPECT_GT(m.to()->display_name.size(), 90u);
}

TEST(SipCorpus, Rfc5118Ipv6Hosts) {
    {
        auto p = load("rfc5118", "ipv6-good.sip");
        ASSERT_TRUE(p->r.ok());
        uri u;
        ASSERT_TRUE(parse_uri(p->m.request_uri(), u));
        EXPECT_EQ(u.host, "[2001:db8::10]");
        EXPECT_EQ(u.host_type, host_kind::ipv6);
        EXPECT_EQ(p->m.top_via()->host, "[2001:db8::9:1]");
    }
    {
        auto p = load("rfc5118", "port-ambiguous.sip");
        ASSERT_TRUE(p->r.ok());
        uri u;
        ASSERT_TRUE(parse_uri(p->m.request_uri(), u));
        EXPECT_EQ(u.host, "[2001:db8::10:5070]");
        EXPECT_FALSE(u.has_port);
    }
    {
        auto p = load("rfc5118", "port-unambiguous.sip");
        uri u;
        ASSERT_TRUE(parse_uri(p->m.request_uri(), u));
        EXPECT_EQ(u.host, "[2001:db8::10]");
        EXPECT_EQ(u.port, 5070);
    }
    {
        auto p = load("rfc5118", "via-received-param-with-delim.sip");
        EXPECT_EQ(p->m.top_via()->received, "[2001:db8::9:255]");
        auto q = load("rfc5118", "via-received-param-no-delim.sip");
        EXPECT_EQ(q->m.top_via()->received, "2001:db8::9:255");
    }
    {
        auto p = load("rfc5118", "mult-ip-in-header.sip");
        EXPECT_EQ(p->m.top_via()->port, 6050);
        EXPECT_EQ(p->m.via(2)->host, "[2001:db8::9:255]");
        EXPECT_EQ(p->m.via(2)->received, "192.0.2.200");
    }
    {
        auto p = load("rfc5118", "ipv6-bug-abnf-3-colons.sip");
        uri u;
        ASSERT_TRUE(parse_uri(p->m.request_uri(), u));
        EXPECT_EQ(u.host, "[2001:db8:::192.0.2.1]");
    }
    {
        auto p = load("rfc5118", "ipv4-mapped-ipv6.sip");
        EXPECT_EQ(p->m.top_via()->host, "[::ffff:192.0.2.10]");
        EXPECT_EQ(p->m.top_via()->port, 19823);
    }
    {
        auto p = load("rfc5118", "ipv6-bad.sip");
        uri u;
        EXPECT_FALSE(p->r.ok() && parse_uri(p->m.request_uri(), u));
    }
}

TEST(SipCorpus, ResponsesAndReasonPhrases) {
    auto p = load("rfc4475", "noreason.dat");
    ASSERT_TRUE(p->r.ok());
    EXPECT_TRUE(p->m.is_response());
    EXPECT_EQ(p->m.status_code(), 100);
    EXPECT_EQ(p->m.reason_phrase(), "");
    auto q = load("rfc4475", "unreason.dat");
    ASSERT_TRUE(q->r.ok());
    EXPECT_EQ(q->m.status_code(), 200);
    EXPECT_FALSE(q->m.reason_phrase().empty());
    auto b = load("rfc4475", "bigcode.dat");
    EXPECT_EQ(b->r.status, parse_status::invalid);
    EXPECT_STREQ(b->r.reason, "bad status code");
}

TEST(SipCorpus, ContactParamVersusUriParam) {
    auto a = load("rfc4475", "cparam01.dat");
    ASSERT_TRUE(a->r.ok());
    auto ca = a->m.contact(0);
    ASSERT_TRUE(ca.ok());
    EXPECT_FALSE(ca->addr.angle_brackets);
    EXPECT_EQ(ca->addr.params.find("unknownparam"), 1u);
    auto b = load("rfc4475", "cparam02.dat");
    ASSERT_TRUE(b->r.ok());
    auto cb = b->m.contact(0);
    ASSERT_TRUE(cb.ok());
    EXPECT_TRUE(cb->addr.angle_brackets);
    EXPECT_NE(cb->addr.uri.find("unknownparam"), std::string_view::npos);
}
