#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <filesystem>
#include <fstream>
#include <string>

#include "config/loader.h"

namespace tc = tandem::config;

namespace {

// Loads TOML text with the file checks on, run from the source root so that the default
// scenario and policy paths resolve.
tc::config load(const std::string& text, bool check_files = false) {
    return tc::load_string(text, "test.toml", tc::load_options{check_files});
}

std::string error_of(const std::string& text, bool check_files = false) {
    try {
        (void)load(text, check_files);
    } catch (const tc::config_error& e) {
        return e.what();
    }
    return "<no error>";
}

class ConfigLoader : public ::testing::Test {
protected:
    void SetUp() override {
        _old = std::filesystem::current_path();
        std::filesystem::current_path(TANDEM_SOURCE_DIR);
    }
    void TearDown() override { std::filesystem::current_path(_old); }

private:
    std::filesystem::path _old;
};

} // namespace

TEST_F(ConfigLoader, EmbeddedDefaultIsTheShippedFileAndValid) {
    std::ifstream in(std::string(TANDEM_SOURCE_DIR) + "/config/tandem.toml", std::ios::binary);
    std::string file((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    EXPECT_EQ(tc::default_config(), file);

    auto c = tc::load_string(tc::default_config(), "<embedded default>");
    ASSERT_EQ(c.sip.listen.size(), 1u);
    EXPECT_EQ(c.sip.listen[0].to_string(), "udp:127.0.0.1:5060");
    EXPECT_TRUE(c.sip.listen[0].is_loopback());
    EXPECT_EQ(c.api.host, "127.0.0.1");
    EXPECT_EQ(c.api.port, 8080);
    EXPECT_EQ(c.dataplane.backend, tc::backend_kind::socket);
    EXPECT_EQ(c.dataplane.workers, 1u);
    EXPECT_EQ(c.routing.default_target, "sip:127.0.0.1:5070");
    EXPECT_EQ(c.limits.max_calls, 100000u);
    EXPECT_EQ(c.limits.max_cps, 0u);
    EXPECT_EQ(c.dpdk.prefix_len, 24);
    EXPECT_EQ(c.dpdk.eal_args.size(), 5u);
}

TEST_F(ConfigLoader, UnknownKeyIsNamedWithPosition) {
    std::string e = error_of("[sip]\nlisten = [\"udp:127.0.0.1:5060\"]\nlistne = 3\n");
    EXPECT_EQ(e, "test.toml:3:1: unknown key 'sip.listne'");
}

TEST_F(ConfigLoader, UnknownSectionIsNamed) {
    EXPECT_EQ(error_of("[sipp]\nlisten = 1\n"), "test.toml:1:2: unknown section or key 'sipp'");
}

TEST_F(ConfigLoader, BadPortIsRejected) {
    EXPECT_NE(error_of("[sip]\nlisten = [\"udp:127.0.0.1:70000\"]\n")
                  .find("test.toml:2:11: 'sip.listen': bad port '70000'"),
              std::string::npos);
    EXPECT_NE(error_of("[sip]\nlisten = [\"udp:127.0.0.1:0\"]\n").find("bad port '0'"),
              std::string::npos);
    EXPECT_NE(error_of("[api]\nlisten = \"127.0.0.1:http\"\n").find("bad port 'http'"),
              std::string::npos);
}

TEST_F(ConfigLoader, BadAddressesAreRejected) {
    EXPECT_NE(
        error_of("[sip]\nlisten = [\"udp:localhost:5060\"]\n").find("bad IP address 'localhost'"),
        std::string::npos);
    EXPECT_NE(
        error_of("[sip]\nlisten = [\"sctp:127.0.0.1:5060\"]\n").find("unknown transport 'sctp'"),
        std::string::npos);
    EXPECT_NE(error_of("[sip]\nlisten = [\"udp:::1:5060\"]\n").find("need brackets"),
              std::string::npos);
    EXPECT_NE(error_of("[dpdk]\naddress = \"198.18.0.2/40\"\n").find("bad prefix length"),
              std::string::npos);
    EXPECT_NE(error_of("[routing]\ndefault_target = \"http://x\"\n").find("is not a sip: URI"),
              std::string::npos);
}

TEST_F(ConfigLoader, IPv6ListenAddress) {
    auto c = load("[sip]\nlisten = [\"udp:[::1]:5062\", \"udp:127.0.0.2:5063\"]\n");
    ASSERT_EQ(c.sip.listen.size(), 2u);
    EXPECT_EQ(c.sip.listen[0].family(), AF_INET6);
    EXPECT_EQ(c.sip.listen[0].port, 5062);
    EXPECT_TRUE(c.sip.listen[0].is_loopback());
    EXPECT_EQ(c.sip.listen[0].to_string(), "udp:[::1]:5062");
    EXPECT_EQ(c.sip.listen[1].family(), AF_INET);
}

TEST_F(ConfigLoader, WrongTypesAreRejected) {
    EXPECT_EQ(error_of("[dataplane]\nworkers = \"two\"\n"),
              "test.toml:2:11: 'dataplane.workers' must be an integer");
    EXPECT_EQ(error_of("[dataplane]\nworkers = 0\n"),
              "test.toml:2:11: 'dataplane.workers' = 0 is out of range [1, 128]");
    EXPECT_EQ(error_of("[sip]\ntimer_c_ms = 500\n"),
              "test.toml:2:14: 'sip.timer_c_ms' = 500 is out of range [1000, 3600000]");
    EXPECT_EQ(load("[sip]\ntimer_c_ms = 240000\n").sip.timer_c_ms, 240000u);
    EXPECT_EQ(load("").sip.timer_c_ms, 181000u);
    EXPECT_EQ(error_of("[sip]\nlisten = \"udp:127.0.0.1:5060\"\n"),
              "test.toml:2:10: 'sip.listen' must be an array of strings");
    EXPECT_EQ(error_of("[dataplane]\nbackend = \"netmap\"\n"),
              "test.toml:2:11: 'dataplane.backend' = 'netmap' (expected \"socket\" or \"dpdk\")");
    EXPECT_NE(error_of("[dataplane]\nring_size = 1000\n").find("power of two"), std::string::npos);
    EXPECT_NE(error_of("[log]\nlevel = \"loud\"\n").find("'log.level' = 'loud'"),
              std::string::npos);
}

TEST_F(ConfigLoader, TomlSyntaxErrorHasPosition) {
    std::string e = error_of("[sip]\nlisten = [\"udp:127.0.0.1:5060\"\n");
    EXPECT_EQ(e.rfind("test.toml:", 0), 0u) << e;
}

TEST_F(ConfigLoader, ApiOffLoopbackNeedsToken) {
    EXPECT_NE(error_of("[api]\nlisten = \"0.0.0.0:8080\"\n").find("set a token"),
              std::string::npos);
    auto c = load("[api]\nlisten = \"0.0.0.0:8080\"\ntoken = \"s3cret\"\n");
    EXPECT_EQ(c.api.token, "s3cret");
}

TEST_F(ConfigLoader, DpdkBackendNeedsAnAddress) {
    EXPECT_NE(error_of("[dataplane]\nbackend = \"dpdk\"\n").find("'dpdk.address' is required"),
              std::string::npos);
}

TEST_F(ConfigLoader, MissingScenarioFileIsNamed) {
    std::string e = error_of("[scenario]\nfile = \"config/scenarios/nope.tdm\"\n", true);
    EXPECT_EQ(e, "test.toml:2:8: 'scenario.file': cannot read file 'config/scenarios/nope.tdm' "
                 "(no such file)");
    // The default paths resolve from the source root.
    EXPECT_NO_THROW((void)load("", true));
    EXPECT_NE(error_of("[policy]\ndir = \"config/nope\"\n", true).find("cannot read folder"),
              std::string::npos);
}

TEST_F(ConfigLoader, MissingFileIsAnError) {
    try {
        (void)tc::load_file("/nonexistent/tandem.toml");
        FAIL() << "no error";
    } catch (const tc::config_error& e) {
        EXPECT_STREQ(e.what(), "/nonexistent/tandem.toml: cannot read the configuration file");
    }
}
