// RuntimeInstanceFactory and EngineHost: the engine on top of the real connection runtime.
#include "engine/runtime_factory.hpp"

#include <chrono>
#include <set>

#include "auth/auth_spec.hpp"
#include "engine/audit.hpp"

namespace mlc::engine {

runtime::AuditHook RequestAuditHook() {
  return [](const runtime::RequestSummary& s) {
    NoteRequest(RequestNote{s.method, UrlPath(s.url), s.status, s.latency_ms});
  };
}

Result<std::unique_ptr<loader::PluginInstance>> RuntimeInstanceFactory::Open(std::string_view connection) {
  return runtime_.OpenInstance(connection, /*prepare_auth=*/true);
}

Result<nlohmann::json> RuntimeInstanceFactory::Manifest(std::string_view connection) {
  auto it = config_.connections.find(std::string(connection));
  if (it == config_.connections.end()) {
    return Status::NotFound("connection " + std::string(connection) + " is not configured");
  }
  auto plugin = registry_.Find(it->second.plugin);
  if (!plugin) {
    return Status::Invalid("connection " + std::string(connection) + ": plugin '" + it->second.plugin +
                           "' is not loaded");
  }
  return plugin->manifest;
}

Status RuntimeInstanceFactory::ReportAuthFailure(std::string_view connection, std::string_view message) {
  return runtime_.tokens().MarkNeedsReauth(connection, message);
}

std::optional<int> RuntimeInstanceFactory::Concurrency(std::string_view connection) {
  auto it = config_.connections.find(std::string(connection));
  if (it == config_.connections.end()) return std::nullopt;
  return it->second.concurrency;
}

EngineHost::~EngineHost() {
  // Workers and their instances go before the runtime that serves them.
  engine_.reset();
  resolver_.reset();
  factory_.reset();
  runtime_.reset();
  vault_.reset();
}

Result<std::unique_ptr<EngineHost>> EngineHost::Create(const config::Config& config,
                                                       const loader::PluginRegistry& registry,
                                                       store::Store& store, EngineOptions options,
                                                       std::vector<std::string> pipelines,
                                                       bool* vault_failed) {
  if (vault_failed != nullptr) *vault_failed = false;
  if (pipelines.empty()) {
    for (const auto& [name, p] : config.pipelines) pipelines.push_back(name);
  }
  std::set<std::string> used;
  for (const auto& name : pipelines) {
    auto it = config.pipelines.find(name);
    if (it == config.pipelines.end())
      return Status::NotFound("no pipeline named '" + name + "' in " + config.path);
    used.insert(it->second.source);
    used.insert(it->second.target);
  }

  std::unique_ptr<EngineHost> host(new EngineHost());
  bool needs_vault = false;
  for (const auto& c : used) {
    auto conn = config.connections.find(c);
    if (conn == config.connections.end()) return Status::Invalid("connection " + c + " is not configured");
    auto plugin = registry.Find(conn->second.plugin);
    if (!plugin) {
      return Status::Invalid("connection " + c + ": plugin '" + conn->second.plugin + "' is not loaded");
    }
    auto spec = auth::AuthSpec::FromManifest(plugin->manifest);
    if (!spec.ok()) return spec.status().Wrap("connection " + c);
    needs_vault = needs_vault || auth::UsesTokenEndpoint(spec->kind);
    for (const auto& [field, ref] : conn->second.secrets) {
      needs_vault = needs_vault || ref.kind == config::SecretRef::Kind::kVault;
    }
  }
  if (auto key = vault::LoadMasterKey(config.vault_key_file); key.ok()) {
    auto v = vault::Vault::Open(store, std::move(key).value());
    if (!v.ok()) {
      if (vault_failed != nullptr) *vault_failed = true;
      return v.status();
    }
    host->vault_ = std::make_unique<vault::Vault>(std::move(v).value());
  } else if (needs_vault) {
    if (vault_failed != nullptr) *vault_failed = true;
    return key.status();
  }

  runtime::ConnectionRuntime::Options rt_options;
  rt_options.audit = RequestAuditHook();
  host->runtime_ =
      std::make_unique<runtime::ConnectionRuntime>(store, host->vault_.get(), std::move(rt_options));
  for (const auto& c : used) {
    const auto& conn = config.connections.at(c);
    MLC_RETURN_IF_ERROR(host->runtime_->AddConnection(conn, registry.Find(conn.plugin)));
    host->connections_.push_back(c);
  }
  host->factory_ = std::make_unique<RuntimeInstanceFactory>(*host->runtime_, config, registry);
  host->resolver_ = std::make_unique<StandardResolver>(store, *host->factory_, options.now_ms);
  for (const auto& name : pipelines) {
    const config::Pipeline& p = config.pipelines.at(name);
    auto resolver_options = ResolverOptions::FromJson(p.options);
    if (!resolver_options.ok()) return resolver_options.status().Wrap("pipeline " + name);
    MLC_RETURN_IF_ERROR(host->resolver_->mappings().LoadConfig(
        name, p.mappings,
        options.now_ms ? options.now_ms()
                       : std::chrono::duration_cast<std::chrono::milliseconds>(
                             std::chrono::system_clock::now().time_since_epoch())
                             .count()));
  }
  host->engine_ = std::make_unique<Engine>(store, *host->factory_, *host->resolver_, std::move(options));
  for (const auto& name : pipelines) {
    MLC_RETURN_IF_ERROR(host->engine_->AddPipeline(PipelineSpec::FromConfig(config.pipelines.at(name))));
  }
  return host;
}

}  // namespace mlc::engine
