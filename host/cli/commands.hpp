// The `mlc` command line: shared options and the registration function of each command group.
//
// Each group lives in its own cmd_<group>.cpp and adds its subcommands to the root app. A subcommand's
// callback stores its process exit code in GlobalOptions::exit_code (see ExitCode).
#ifndef MLC_HOST_CLI_COMMANDS_HPP_
#define MLC_HOST_CLI_COMMANDS_HPP_

#include <string>

#include <CLI/CLI.hpp>

namespace mlc::cli {

// Process exit codes, documented in `mlc --help` and docs/operator-guide.md.
enum ExitCode : int {
  kExitOk = 0,      // success
  kExitFailed = 1,  // the operation ran and failed (or found problems)
  kExitUsage = 2,   // wrong command-line arguments
  kExitConfig = 3,  // configuration missing or invalid
  kExitStore = 4,   // the store cannot be opened or has a newer schema
  kExitVault = 5,   // master key missing or wrong, vault unreadable
};

struct GlobalOptions {
  std::string config_path;  // --config, or $MLC_CONFIG; empty when neither is given
  std::string log_level = "warn";
  int exit_code = kExitOk;
};

// Registration functions, one per command group.
void RegisterPluginsCommands(CLI::App& app, GlobalOptions& opts);
void RegisterConfigCommands(CLI::App& app, GlobalOptions& opts);
void RegisterServeCommand(CLI::App& app, GlobalOptions& opts);
void RegisterVaultCommands(CLI::App& app, GlobalOptions& opts);
void RegisterConnectCommand(CLI::App& app, GlobalOptions& opts);
void RegisterStatusCommand(CLI::App& app, GlobalOptions& opts);
void RegisterMatchCommands(CLI::App& app, GlobalOptions& opts);
void RegisterSyncCommand(CLI::App& app, GlobalOptions& opts);      // cmd_sync.cpp (engine)
void RegisterAuditCommands(CLI::App& app, GlobalOptions& opts);    // cmd_audit.cpp (engine)
void RegisterReplayCommand(CLI::App& app, GlobalOptions& opts);    // cmd_replay.cpp (engine)
void RegisterMappingCommands(CLI::App& app, GlobalOptions& opts);  // cmd_mapping.cpp (engine)
void RegisterReviewCommands(CLI::App& app, GlobalOptions& opts);   // cmd_review.cpp (engine)

}  // namespace mlc::cli

#endif  // MLC_HOST_CLI_COMMANDS_HPP_
