// The host side of the plugin ABI: host services offered to plugins (HostContext + the C table that
// forwards to it) and PluginInstance, a C++ handle on one open plugin instance.
//
//   InMemoryHostContext host;                       // or the engine's real context
//   MLC_ASSIGN_OR_RETURN(auto inst, PluginInstance::Open(registry.Find("brex"), &host, settings));
//   MLC_ASSIGN_OR_RETURN(nlohmann::json page, inst->Read({{"stream", "expenses"}}));
//
// Errors: every call returns Result; a plugin's status becomes the Status code (unknown values become
// ERROR) and the text it wrote to its err sink becomes the message. Nothing throws across the ABI in
// either direction: the trampolines catch every exception a HostContext throws and turn it into
// MLC_ERROR.
//
// Ownership: a PluginInstance shares ownership of its LoadedPlugin (the library stays mapped while the
// instance lives) and borrows its HostContext, which must outlive it. The destructor closes the instance.
// Thread safety: the ABI forbids calling one instance from two threads at once, so every PluginInstance
// method takes the instance's mutex: concurrent callers are serialised, never interleaved. Different
// instances may be used from different threads. A HostContext may be called from whichever thread is
// currently inside a call into the plugin; InMemoryHostContext is internally synchronised.
#ifndef MLC_HOST_LOADER_INSTANCE_HPP_
#define MLC_HOST_LOADER_INSTANCE_HPP_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "loader/loader.hpp"
#include "mlc/plugin.h"
#include "mlc/status.hpp"

namespace mlc::loader {

// The services behind mlc_host_api for one plugin instance; `mlc_host_ctx*` points at one of these.
// Each method mirrors the C function of the same name in plugin.h (see there for the documents);
// outputs go to the std::string pointers, which are never null, and an error message (never containing
// a secret) to `err`. Implementations may throw; the trampolines convert that to MLC_ERROR.
class HostContext {
 public:
  virtual ~HostContext() = default;

  virtual Code Http(std::string_view request_json, std::string_view body, std::string* meta,
                    std::string* body_out, std::string* err) = 0;
  virtual Code SecretGet(std::string_view name, std::string* out, std::string* err) = 0;
  virtual Code StateGet(std::string_view key, std::string* out, std::string* err) = 0;
  virtual Code StatePut(std::string_view key, std::string_view value, std::string* err) = 0;
  virtual Code BlobPut(std::string_view content_type, std::string_view bytes, std::string* id_out,
                       std::string* err) = 0;
  virtual Code BlobGet(std::string_view id, std::string* out, std::string* content_type_out,
                       std::string* err) = 0;
  virtual void Log(int32_t level, std::string_view message) = 0;
  virtual int64_t NowMs() = 0;
  // ABI 1.1. Not pure, so host contexts written for 1.0 keep compiling; they refuse with kInvalid. An
  // implementation must never put `value` in `err` or a log line.
  virtual Code SecretPut(std::string_view name, std::string_view value, std::string* err);
};

// The host services table handed to every plugin's open(); static, valid for the process lifetime.
const mlc_host_api* HostApiTable();

// Largest reply accepted from one plugin call; a bigger one is an error rather than unbounded memory.
inline constexpr size_t kMaxPluginReplyBytes = size_t{256} << 20;
// Error messages from plugins are truncated to this many bytes.
inline constexpr size_t kMaxPluginErrorBytes = 16 << 10;

class PluginInstance {
 public:
  // Opens an instance of `plugin` for one connection. `settings` is the connection's (already
  // validated) settings document; `host` must outlive the returned instance.
  static Result<std::unique_ptr<PluginInstance>> Open(std::shared_ptr<const LoadedPlugin> plugin,
                                                      HostContext* host, const nlohmann::json& settings);

  ~PluginInstance();  // calls the plugin's close()
  PluginInstance(const PluginInstance&) = delete;
  PluginInstance& operator=(const PluginInstance&) = delete;

  // The operations of plugin.h; each returns the plugin's reply document. Optional operations the
  // plugin does not provide (NULL, or its table predates them) return Status::Invalid("plugin does not
  // implement X"); so do read and write, which a target-only or source-only plugin may leave NULL.
  Result<nlohmann::json> Check();
  Result<nlohmann::json> Read(const nlohmann::json& request);
  Result<nlohmann::json> Write(const nlohmann::json& request);
  Result<nlohmann::json> Lookup(const nlohmann::json& request);
  Result<nlohmann::json> Ack(const nlohmann::json& request);
  Result<nlohmann::json> Webhook(const nlohmann::json& request, std::string_view body);
  Result<nlohmann::json> AuthResolve(const nlohmann::json& request);

  const LoadedPlugin& plugin() const { return *plugin_; }

 private:
  PluginInstance(std::shared_ptr<const LoadedPlugin> plugin, HostContext* host, mlc_instance* handle)
      : plugin_(std::move(plugin)), host_(host), handle_(handle) {}

  Result<nlohmann::json> CallOp(const char* op, mlc_op_fn fn, const nlohmann::json& request);

  std::shared_ptr<const LoadedPlugin> plugin_;
  HostContext* host_;
  mlc_instance* handle_;
  std::mutex call_mu_;  // one call into the instance at a time (ABI rule)
};

// A self-contained HostContext for tests and offline tools: state, secrets and blobs live in maps (so
// SecretPut keeps secrets in memory, unencrypted: never use it where a vault is expected),
// http fails with MLC_ERROR unless a handler is installed, the clock is the system clock unless set.
// Internally synchronised.
class InMemoryHostContext : public HostContext {
 public:
  using HttpHandler = std::function<Code(std::string_view request_json, std::string_view body,
                                         std::string* meta, std::string* body_out, std::string* err)>;

  void SetHttpHandler(HttpHandler handler);
  void SetSecret(const std::string& name, const std::string& value);
  // Names SecretPut accepts (the manifest's `secrets`); until called, every name is accepted.
  void SetWritableSecrets(std::vector<std::string> names);
  // The secret's value, whether set by SetSecret or written by the plugin through SecretPut.
  std::optional<std::string> Secret(const std::string& name) const;
  void SetState(const std::string& key, const std::string& value);
  std::optional<std::string> State(const std::string& key) const;
  // Blob content and content type by id.
  std::optional<std::pair<std::string, std::string>> Blob(const std::string& id) const;
  // Every log line received, in order, as (level, message).
  std::vector<std::pair<int32_t, std::string>> Logs() const;
  // Fixes the clock at `now_ms` (tests); without it NowMs reads the system clock.
  void SetNowMs(int64_t now_ms);

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
  mutable std::mutex mu_;
  HttpHandler http_;
  std::map<std::string, std::string, std::less<>> secrets_;
  std::optional<std::vector<std::string>> writable_secrets_;
  std::map<std::string, std::string, std::less<>> state_;
  std::map<std::string, std::pair<std::string, std::string>, std::less<>> blobs_;  // id -> (bytes, type)
  std::vector<std::pair<int32_t, std::string>> logs_;
  std::optional<int64_t> now_ms_;
};

}  // namespace mlc::loader

#endif  // MLC_HOST_LOADER_INSTANCE_HPP_
