// The process exit code for a failure to set up the engine host (config, store, vault, plugins), shared
// by the commands that need the engine: sync, audit and replay.
#ifndef MLC_HOST_CLI_ENGINE_EXIT_HPP_
#define MLC_HOST_CLI_ENGINE_EXIT_HPP_

#include "cli/commands.hpp"
#include "engine/host_setup.hpp"

namespace mlc::cli {

inline int ExitFor(engine::SetupFailure failure) {
  switch (failure) {
    case engine::SetupFailure::kNone:
      return kExitOk;
    case engine::SetupFailure::kUsage:
      return kExitUsage;
    case engine::SetupFailure::kConfig:
      return kExitConfig;
    case engine::SetupFailure::kStore:
      return kExitStore;
    case engine::SetupFailure::kVault:
      return kExitVault;
    case engine::SetupFailure::kFailed:
      return kExitFailed;
  }
  return kExitFailed;
}

}  // namespace mlc::cli

#endif  // MLC_HOST_CLI_ENGINE_EXIT_HPP_
