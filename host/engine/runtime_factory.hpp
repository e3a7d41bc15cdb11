// The engine wired to the real host services: RuntimeInstanceFactory opens plugin instances through
// runtime::ConnectionRuntime (auth, HTTP, rate limits, vault), and EngineHost builds the whole stack —
// vault, runtime, factory, resolver (StandardResolver, with the config's mapping tables loaded into the
// store), engine — from a loaded configuration, for `mlc sync`, `mlc replay` and
// `mlc serve`.
//
//   bool vault_failed = false;
//   auto host = EngineHost::Create(cfg, registry, *store, {}, {"brex_to_fb"}, &vault_failed);
//   MLC_ASSIGN_OR_RETURN(auto polled, (*host)->engine().Poll("brex_to_fb", {}));
//
// Request summaries: the runtime reports every plugin HTTP request to RequestAuditHook(), which hands it to
// the engine's per-thread RequestCapture, so audit rows carry method, path, status and latency.
//
// Ownership: EngineHost borrows the Config, PluginRegistry and Store (all must outlive it) and owns the
// vault, runtime, factory, resolver and engine (destroyed engine first).
// Thread safety: as Engine; Create runs on one thread.
#ifndef MLC_HOST_ENGINE_RUNTIME_FACTORY_HPP_
#define MLC_HOST_ENGINE_RUNTIME_FACTORY_HPP_

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.hpp"
#include "engine/engine.hpp"
#include "engine/instances.hpp"
#include "engine/resolver.hpp"
#include "engine/standard_resolver.hpp"
#include "loader/loader.hpp"
#include "runtime/connection_context.hpp"
#include "store/store.hpp"
#include "vault/vault.hpp"

namespace mlc::engine {

// Forwards the runtime's request summaries to NoteRequest (the engine's audit capture).
runtime::AuditHook RequestAuditHook();

class RuntimeInstanceFactory final : public InstanceFactory {
 public:
  RuntimeInstanceFactory(runtime::ConnectionRuntime& runtime, const config::Config& config,
                         const loader::PluginRegistry& registry)
      : runtime_(runtime), config_(config), registry_(registry) {}

  // Authenticates (token, auth_resolve) and opens an instance.
  Result<std::unique_ptr<loader::PluginInstance>> Open(std::string_view connection) override;
  Result<nlohmann::json> Manifest(std::string_view connection) override;
  // TokenManager::MarkNeedsReauth: connections_state, the critical alert, and fail-fast token requests.
  Status ReportAuthFailure(std::string_view connection, std::string_view message) override;
  // The connection's configured `concurrency`.
  std::optional<int> Concurrency(std::string_view connection) override;

 private:
  runtime::ConnectionRuntime& runtime_;
  const config::Config& config_;
  const loader::PluginRegistry& registry_;
};

class EngineHost {
 public:
  // Opens the vault (required when a used connection's auth kind keeps tokens or a secret lives in the
  // vault; otherwise opened only if a master key is available), registers the connections the chosen
  // pipelines use with a runtime, and the pipelines with an engine. `pipelines` empty: every configured
  // pipeline. On a vault problem *vault_failed is set (callers map it to their exit code).
  static Result<std::unique_ptr<EngineHost>> Create(const config::Config& config,
                                                    const loader::PluginRegistry& registry,
                                                    store::Store& store, EngineOptions options,
                                                    std::vector<std::string> pipelines, bool* vault_failed);
  ~EngineHost();

  Engine& engine() { return *engine_; }
  runtime::ConnectionRuntime& runtime() { return *runtime_; }
  // The StandardResolver every pipeline uses (mapping tables, reference data, vendor matching).
  StandardResolver& resolver() { return *resolver_; }
  // Connection names the engine serves.
  const std::vector<std::string>& connections() const { return connections_; }

 private:
  EngineHost() = default;
  std::unique_ptr<vault::Vault> vault_;
  std::unique_ptr<runtime::ConnectionRuntime> runtime_;
  std::unique_ptr<RuntimeInstanceFactory> factory_;
  std::unique_ptr<StandardResolver> resolver_;
  std::unique_ptr<Engine> engine_;
  std::vector<std::string> connections_;
};

}  // namespace mlc::engine

#endif  // MLC_HOST_ENGINE_RUNTIME_FACTORY_HPP_
