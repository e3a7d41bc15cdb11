// `mlc`: the ml-connector host command line.
#include <cstdlib>
#include <iostream>

#include <CLI/CLI.hpp>

#include "cli/commands.hpp"
#include "core/log.hpp"
#include "core/version.hpp"

namespace {

constexpr const char* kExitCodesHelp =
    "Exit codes: 0 success; 1 operation failed; 2 wrong arguments; 3 configuration invalid;\n"
    "            4 store cannot be opened or is newer than this host; 5 vault key missing or wrong.";

}  // namespace

int main(int argc, char** argv) {
  using namespace mlc::cli;
  GlobalOptions opts;
  if (const char* env = std::getenv("MLC_CONFIG")) opts.config_path = env;

  CLI::App app{"mlc - the ml-connector integration host", "mlc"};
  app.footer(kExitCodesHelp);
  app.set_version_flag("--version", std::string("mlc ") + mlc::kHostVersion + " (plugin ABI " +
                                        std::to_string(mlc::kHostAbiMajor) + "." +
                                        std::to_string(mlc::kHostAbiMinor) + ")");
  app.option_defaults()->always_capture_default();
  app.add_option("-c,--config", opts.config_path, "Configuration file (TOML); default $MLC_CONFIG")
      ->envname("MLC_CONFIG");
  app.add_option("--log-level", opts.log_level, "trace, debug, info, warn, error or off")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "off"}));
  app.require_subcommand(1);

  RegisterPluginsCommands(app, opts);
  RegisterConfigCommands(app, opts);
  RegisterServeCommand(app, opts);
  RegisterVaultCommands(app, opts);
  RegisterConnectCommand(app, opts);
  RegisterStatusCommand(app, opts);
  RegisterMatchCommands(app, opts);
  RegisterSyncCommand(app, opts);
  RegisterAuditCommands(app, opts);
  RegisterReplayCommand(app, opts);
  RegisterMappingCommands(app, opts);
  RegisterReviewCommands(app, opts);

  app.parse_complete_callback([&] { mlc::InitLogging(opts.log_level); });
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return kExitUsage;
  } catch (const std::exception& e) {
    // Commands report their own errors; this is the last line of defence, never a crash.
    std::cerr << "mlc: error: " << e.what() << "\n";
    return kExitFailed;
  }
  return opts.exit_code;
}
