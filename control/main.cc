// tandem: the daemon, its configuration check, and the offline SIP message inspector.
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "config/loader.h"
#include "control/daemon.h"
#include "control/logging.h"
#include "control/parse_command.h"
#include "control/policy_loader.h"
#include "sip/version.h"

namespace {

constexpr int exit_bad_config = 2;

} // namespace

int main(int argc, char** argv) {
    CLI::App app{"Tandem: a SIP back-to-back user agent and session border controller"};
    app.set_version_flag("--version", std::string("tandem ") + std::string(tandem::version()));
    std::string config_path;
    bool check_only = false;
    app.add_option("-c,--config", config_path,
                   "Configuration file (TOML); without it the embedded default is used");
    app.add_flag("--check", check_only,
                 "Validate the configuration and the files it names, then exit (0: valid, 2: not)");
    std::vector<std::string> parse_files;
    CLI::App* parse_cmd = app.add_subcommand(
        "parse", "Parse SIP messages (one per file, stdin without files) and print a summary of "
                 "each, or the error and its byte offset; exit 1 if any failed");
    parse_cmd->add_option("files", parse_files, "Files holding one SIP message each");

    CLI11_PARSE(app, argc, argv);

    if (parse_cmd->parsed())
        return tandem::control::run_parse_command(parse_files, std::cin, std::cout);

    tandem::config::config cfg;
    try {
        cfg = config_path.empty() ? tandem::config::load_string(tandem::config::default_config(),
                                                                "<embedded default>")
                                  : tandem::config::load_file(config_path);
    } catch (const tandem::config::config_error& e) {
        std::fprintf(stderr, "tandem: %s\n", e.what());
        return exit_bad_config;
    }
    try {
        auto policies = tandem::control::load_policies(cfg.policy.dir);
        if (policies.count(cfg.policy.default_policy) == 0) {
            std::fprintf(stderr, "tandem: %s: 'policy.default' = '%s': no such policy in %s\n",
                         cfg.source.c_str(), cfg.policy.default_policy.c_str(),
                         cfg.policy.dir.c_str());
            return exit_bad_config;
        }
    } catch (const tandem::control::policy_error& e) {
        std::fprintf(stderr, "tandem: %s\n", e.what());
        return exit_bad_config;
    }
    if (check_only) {
        std::printf("%s: configuration is valid\n", cfg.source.c_str());
        return 0;
    }
    tandem::control::setup_logging(cfg.log.level);
    return tandem::control::run_daemon(cfg);
}
