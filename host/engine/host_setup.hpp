// Loading what the engine's commands (`mlc sync`, `mlc replay`, `mlc audit`, `mlc serve`) need, in stages,
// with failures sorted by the exit code the CLI gives them:
//
//   HostSetup setup = LoadHostBase(config_path, /*with_plugins=*/true);
//   if (setup.failure != SetupFailure::kNone) { print setup.messages; return exit code }
//   AttachEngine(setup, {"brex_to_fb"}, {});
//   setup.engine_host->engine().Poll("brex_to_fb");
//
// Also the periodic token work `mlc serve` schedules (RegisterTokenHooks).
//
// Ownership: HostSetup owns everything it loaded; members are destroyed engine first, store last.
// Thread safety: load on one thread; then as the members' own rules say.
#ifndef MLC_HOST_ENGINE_HOST_SETUP_HPP_
#define MLC_HOST_ENGINE_HOST_SETUP_HPP_

#include <memory>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "engine/runtime_factory.hpp"
#include "engine/scheduler.hpp"
#include "loader/loader.hpp"
#include "store/store.hpp"

namespace mlc::engine {

enum class SetupFailure { kNone, kUsage, kConfig, kStore, kVault, kFailed };

struct HostSetup {
  SetupFailure failure = SetupFailure::kNone;
  std::vector<std::string> messages;  // errors (on failure) and warnings (refused plugins)
  config::Config config;
  std::unique_ptr<loader::PluginRegistry> registry;  // null when loaded without plugins
  std::unique_ptr<store::Store> store;
  std::unique_ptr<EngineHost> engine_host;  // set by AttachEngine

  HostSetup() = default;
  HostSetup(HostSetup&&) = default;
  HostSetup& operator=(HostSetup&&) = default;
  ~HostSetup();
};

// Reads the configuration (kUsage without a path, kConfig when invalid), loads the plugins of plugin_dirs
// (with_plugins; kConfig when a configured plugin is missing or its settings do not fit) and opens the
// store (kStore).
HostSetup LoadHostBase(const std::string& config_path, bool with_plugins);

// Builds the engine for `pipelines` (empty: all) on a loaded base: kVault for master key problems,
// kConfig for pipelines the plugins cannot serve, kFailed otherwise. No-op when the base failed.
void AttachEngine(HostSetup& setup, const std::vector<std::string>& pipelines, EngineOptions options);

// Schedules the token upkeep of every connection the engine host serves: every `interval`, idle-expiry
// checks (which raise and clear expiry alerts) and, when the manifest names a keep-alive call and half
// the idle period has passed, the keep-alive request.
void RegisterTokenHooks(SyncService& service, EngineHost& host, std::chrono::milliseconds interval);

}  // namespace mlc::engine

#endif  // MLC_HOST_ENGINE_HOST_SETUP_HPP_
