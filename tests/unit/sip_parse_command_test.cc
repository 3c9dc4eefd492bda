// `tandem parse`: one line per message, JSON summary or error with offset, exit status.
#include "control/parse_command.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <sstream>
#include <string>

namespace fs = std::filesystem;
using tandem::control::run_parse_command;

namespace {
const fs::path k_corpus = fs::path(TANDEM_SOURCE_DIR) / "tests" / "corpus";

nlohmann::json ok_json(const std::string& line) {
    EXPECT_EQ(line.rfind("ok ", 0), 0u) << line;
    return nlohmann::json::parse(line.substr(3));
}
} // namespace

TEST(SipParseCommand, SummarizesAValidRequestFromStdin) {
    std::istringstream in("INVITE sip:bob@example.com SIP/2.0\r\n"
                          "Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKabc\r\n"
                          "From: <sip:alice@example.com>;tag=f1\r\n"
                          "To: <sip:bob@example.com>\r\n"
                          "Call-ID: c1@host\r\n"
                          "CSeq: 7 INVITE\r\n"
                          "Max-Forwards: 70\r\n"
                          "Content-Length: 0\r\n\r\n");
    std::ostringstream out;
    EXPECT_EQ(run_parse_command({}, in, out), 0);
    auto j = ok_json(out.str().substr(0, out.str().size() - 1));
    EXPECT_EQ(j["method"], "INVITE");
    EXPECT_EQ(j["request_uri"], "sip:bob@example.com");
    EXPECT_EQ(j["call_id"], "c1@host");
    EXPECT_EQ(j["cseq"]["number"], 7);
    EXPECT_EQ(j["cseq"]["method"], "INVITE");
    EXPECT_EQ(j["via_branch"], "z9hG4bKabc");
    EXPECT_EQ(j["from_tag"], "f1");
    EXPECT_TRUE(j["to_tag"].is_null());
    EXPECT_EQ(j["header_count"], 7);
    EXPECT_EQ(j["body_length"], 0);
    EXPECT_FALSE(j.contains("would_reject"));
}

TEST(SipParseCommand, ReportsSemanticRefusal) {
    std::istringstream in;
    std::ostringstream out;
    EXPECT_EQ(run_parse_command({(k_corpus / "rfc4475" / "insuf.dat").string()}, in, out), 0);
    auto j = ok_json(out.str().substr(0, out.str().size() - 1));
    EXPECT_EQ(j["would_reject"], "400 Missing Call-ID");
    EXPECT_TRUE(j["call_id"].is_null());
}

TEST(SipParseCommand, ReportsErrorWithOffsetAndFails) {
    std::istringstream in("INVITE sip:a@b SIP/2.0\r\nCSeq: 1 INVITE\r\nContent-Length: -5\r\n\r\n");
    std::ostringstream out;
    EXPECT_EQ(run_parse_command({}, in, out), 1);
    EXPECT_EQ(out.str(), "error: bad Content-Length at byte 56\n");
}

TEST(SipParseCommand, SeveralFilesOneLineEachAndMissingFileFails) {
    std::istringstream in;
    std::ostringstream out;
    int rc = run_parse_command({(k_corpus / "rfc4475" / "wsinv.dat").string(),
                                (k_corpus / "rfc4475" / "bigcode.dat").string(),
                                (k_corpus / "rfc4475" / "no-such-file.dat").string()},
                               in, out);
    EXPECT_EQ(rc, 1);
    std::istringstream lines(out.str());
    std::string l1, l2, l3, l4;
    std::getline(lines, l1);
    std::getline(lines, l2);
    std::getline(lines, l3);
    EXPECT_FALSE(std::getline(lines, l4));
    EXPECT_EQ(ok_json(l1)["cseq"]["number"], 9);
    EXPECT_EQ(l2, "error: bad status code at byte 8");
    EXPECT_EQ(l3.rfind("error: cannot read ", 0), 0u);
}
