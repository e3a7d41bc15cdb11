// Staged loading for the engine's commands (see host_setup.hpp).
#include "engine/host_setup.hpp"

#include "auth/auth_spec.hpp"
#include "config/check.hpp"
#include "core/log.hpp"

namespace mlc::engine {

HostSetup::~HostSetup() {
  engine_host.reset();  // before the store and plugins it uses
  store.reset();
  registry.reset();
}

HostSetup LoadHostBase(const std::string& config_path, bool with_plugins) {
  HostSetup s;
  if (config_path.empty()) {
    s.failure = SetupFailure::kUsage;
    s.messages.push_back("no configuration: pass --config FILE or set MLC_CONFIG");
    return s;
  }
  config::LoadResult loaded = config::LoadConfig(config_path);
  if (!loaded.ok()) {
    s.failure = SetupFailure::kConfig;
    for (const auto& e : loaded.errors) s.messages.push_back(e.ToString());
    return s;
  }
  s.config = std::move(loaded.config);
  if (with_plugins) {
    s.registry = std::make_unique<loader::PluginRegistry>();
    loader::LoadReport report = s.registry->LoadDirectories(s.config.plugin_dirs);
    if (!report.status.ok()) {
      s.failure = SetupFailure::kFailed;
      s.messages.push_back("cannot load plugins: " + report.status.message());
      return s;
    }
    for (const auto& r : report.refused) Log().warn("plugin refused: {}: {}", r.path, r.reason);
    std::map<std::string, nlohmann::json> manifests;
    for (const auto& p : s.registry->plugins()) manifests[p->name] = p->manifest;
    auto errors = config::CheckAgainstPlugins(s.config, manifests);
    if (!errors.empty()) {
      s.failure = SetupFailure::kConfig;
      for (const auto& e : errors) s.messages.push_back(e.ToString());
      return s;
    }
  }
  auto store = store::Store::Open({.path = s.config.store_path, .synchronous = s.config.store_synchronous});
  if (!store.ok()) {
    s.failure = SetupFailure::kStore;
    s.messages.push_back("store " + s.config.store_path + ": " + store.status().message());
    return s;
  }
  s.store = std::move(store).value();
  return s;
}

void AttachEngine(HostSetup& setup, const std::vector<std::string>& pipelines, EngineOptions options) {
  if (setup.failure != SetupFailure::kNone) return;
  if (!setup.registry || !setup.store) {
    setup.failure = SetupFailure::kFailed;
    setup.messages.push_back("internal: the engine needs plugins and a store");
    return;
  }
  for (const auto& name : pipelines) {
    if (!setup.config.pipelines.count(name)) {
      setup.failure = SetupFailure::kConfig;
      std::vector<std::string> names;
      for (const auto& [n, p] : setup.config.pipelines) names.push_back(n);
      auto hint = config::ClosestMatch(name, names);
      setup.messages.push_back("no pipeline named '" + name + "' in " + setup.config.path +
                               (hint ? "; did you mean '" + *hint + "'?" : ""));
      return;
    }
  }
  bool vault_failed = false;
  auto host = EngineHost::Create(setup.config, *setup.registry, *setup.store, std::move(options), pipelines,
                                 &vault_failed);
  if (!host.ok()) {
    setup.failure = vault_failed ? SetupFailure::kVault
                    : host.status().code() == Code::kInvalid || host.status().code() == Code::kNotFound
                        ? SetupFailure::kConfig
                        : SetupFailure::kFailed;
    setup.messages.push_back(host.status().message());
    return;
  }
  setup.engine_host = std::move(host).value();
}

void RegisterTokenHooks(SyncService& service, EngineHost& host, std::chrono::milliseconds interval) {
  for (const auto& connection : host.connections()) {
    auto spec = host.runtime().tokens().Spec(connection);
    if (!spec.ok() || spec->idle_expiry_days <= 0) continue;
    const bool has_keepalive = !spec->keepalive.path.empty();
    runtime::ConnectionRuntime* rt = &host.runtime();
    service.AddPeriodic(
        "tokens:" + connection, interval,
        [rt, connection, has_keepalive] {
          auto idle = rt->tokens().CheckIdleExpiry(connection);
          if (!idle.ok()) {
            Log().warn("connection {}: idle-expiry check: {}", connection, idle.status().ToString());
            return;
          }
          if (has_keepalive && idle->keepalive_due) {
            if (Status s = rt->tokens().KeepAlive(connection); !s.ok()) {
              Log().warn("connection {}: keep-alive: {}", connection, s.ToString());
            }
          }
        },
        /*run_now=*/true);
  }
}

}  // namespace mlc::engine
