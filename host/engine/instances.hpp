// Where the engine's plugin instances come from: InstanceFactory, the narrow interface the engine codes
// against, and StoreInstanceFactory, an implementation whose host services are backed by the store alone
// (StoreHostContext: durable state in kv_state, blobs, given secrets, no HTTP). The real one, backed by
// runtime::ConnectionRuntime, is in runtime_factory.hpp.
//
//   StoreInstanceFactory factory(*store);
//   MLC_RETURN_IF_ERROR(factory.AddConnection("src", registry.Find("template"), {{"seed", 7}, {"records",
//   50}})); MLC_ASSIGN_OR_RETURN(auto inst, factory.Open("src"));
//
// StoreHostContext keeps plugin state where the runtime's ConnectionContext does (kv_state scope
// "conn:<connection>"), so state written through one is read through the other.
//
// Ownership: a factory borrows the Store (and the LoadedPlugins by shared_ptr); instances it opens borrow
// the factory's contexts, so they must be destroyed before the factory.
// Thread safety: every InstanceFactory method may be called from any thread once set up (AddConnection
// happens before use). Each PluginInstance is then used by one thread at a time (the engine's rule).
#ifndef MLC_HOST_ENGINE_INSTANCES_HPP_
#define MLC_HOST_ENGINE_INSTANCES_HPP_

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "loader/instance.hpp"
#include "loader/loader.hpp"
#include "mlc/status.hpp"
#include "store/store.hpp"
#include "vault/vault.hpp"

namespace mlc::engine {

class InstanceFactory {
 public:
  virtual ~InstanceFactory() = default;
  // A new instance of the connection's plugin, for the caller's exclusive use. NotFound for an unknown
  // connection; AUTH/RETRY when credentials cannot be prepared.
  virtual Result<std::unique_ptr<loader::PluginInstance>> Open(std::string_view connection) = 0;
  // The connection's plugin manifest. NotFound for an unknown connection.
  virtual Result<nlohmann::json> Manifest(std::string_view connection) = 0;
  // A plugin answered AUTH for this connection: mark it needs_reauth so its pipelines pause.
  virtual Status ReportAuthFailure(std::string_view connection, std::string_view message) = 0;
  // The most plugin calls the engine may have in flight on this connection (nullopt: the engine default).
  virtual std::optional<int> Concurrency(std::string_view connection) = 0;
};

// Host services from the store only: state in kv_state ("conn:<connection>"), blobs in the store, secrets
// from a fixed map, HTTP refused (ERROR), the system clock, logs to the host log.
// SecretPut (ABI 1.1) needs a vault: without one it is INVALID; with one, names in `writable_secrets`
// (the manifest's `secrets`) are sealed under (connection, name) and SecretGet reads them back when the
// fixed map has no such name.
class StoreHostContext final : public loader::HostContext {
 public:
  StoreHostContext(store::Store& store, std::string connection, std::map<std::string, std::string> secrets);
  // `vault` may be null and, when set, must outlive the context.
  StoreHostContext(store::Store& store, std::string connection, std::map<std::string, std::string> secrets,
                   vault::Vault* vault, std::vector<std::string> writable_secrets);

  Code Http(std::string_view request_json, std::string_view body, std::string* meta, std::string* body_out,
            std::string* err) override;
  Code SecretGet(std::string_view name, std::string* out, std::string* err) override;
  Code StateGet(std::string_view key, std::string* out, std::string* err) override;
  Code StatePut(std::string_view key, std::string_view value, std::string* err) override;
  Code BlobPut(std::string_view content_type, std::string_view bytes, std::string* id_out,
               std::string* err) override;
  Code BlobGet(std::string_view id, std::string* out, std::string* content_type_out,
               std::string* err) override;
  void Log(int32_t level, std::string_view message) override;
  int64_t NowMs() override;
  Code SecretPut(std::string_view name, std::string_view value, std::string* err) override;

 private:
  store::Store& store_;
  const std::string connection_;
  const std::string scope_;
  const std::map<std::string, std::string, std::less<>> secrets_;
  vault::Vault* const vault_ = nullptr;
  const std::vector<std::string> writable_secrets_;
};

class StoreInstanceFactory final : public InstanceFactory {
 public:
  explicit StoreInstanceFactory(store::Store& store) : store_(store) {}
  // With a vault (may be null; must outlive the factory), plugins may store secrets they declare.
  StoreInstanceFactory(store::Store& store, vault::Vault* vault) : store_(store), vault_(vault) {}

  // Registers a connection (setup only; not concurrently with other calls). Invalid without a plugin.
  Status AddConnection(const std::string& name, std::shared_ptr<const loader::LoadedPlugin> plugin,
                       nlohmann::json settings, std::map<std::string, std::string> secrets = {},
                       std::optional<int> concurrency = std::nullopt);

  Result<std::unique_ptr<loader::PluginInstance>> Open(std::string_view connection) override;
  Result<nlohmann::json> Manifest(std::string_view connection) override;
  // Records needs_reauth in connections_state.
  Status ReportAuthFailure(std::string_view connection, std::string_view message) override;
  std::optional<int> Concurrency(std::string_view connection) override;

 private:
  struct Entry {
    std::shared_ptr<const loader::LoadedPlugin> plugin;
    nlohmann::json settings;
    std::optional<int> concurrency;
    std::unique_ptr<StoreHostContext> context;
  };
  Result<const Entry*> Find(std::string_view connection) const;

  store::Store& store_;
  vault::Vault* const vault_ = nullptr;
  mutable std::mutex mu_;
  std::map<std::string, Entry, std::less<>> entries_;
};

// Upserts connections_state for `connection` (status 'ok', 'needs_reauth' or 'error').
Status SetConnectionStatus(store::Executor& db, std::string_view connection, std::string_view status,
                           std::string_view message, int64_t now_ms);

}  // namespace mlc::engine

#endif  // MLC_HOST_ENGINE_INSTANCES_HPP_
