// Host services trampolines (C ABI -> HostContext), PluginInstance calls, and InMemoryHostContext.
#include "loader/instance.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>

#include "core/log.hpp"

namespace mlc::loader {

namespace {

// ---- Sinks the host hands to plugins -------------------------------------------------------------

// A caller-owned buffer behind an mlc_sink. Writes past `limit` either set `overflow` (replies, which
// must arrive whole) or are dropped after truncation (error messages).
struct SinkBuffer {
  explicit SinkBuffer(size_t limit, bool truncate) : limit(limit), truncate(truncate) {
    sink.ctx = this;
    sink.write = &SinkBuffer::Write;
  }
  SinkBuffer(const SinkBuffer&) = delete;
  SinkBuffer& operator=(const SinkBuffer&) = delete;

  // Called by plugin code: must never throw.
  static void Write(void* ctx, const char* data, size_t len) noexcept {
    auto* self = static_cast<SinkBuffer*>(ctx);
    if (self == nullptr || data == nullptr || len == 0 || self->overflow) return;
    size_t room = self->limit - self->data.size();
    if (len > room) {
      self->overflow = true;
      if (!self->truncate) return;
      len = room;
    }
    try {
      self->data.append(data, len);
    } catch (...) {
      self->overflow = true;
    }
  }

  std::string data;
  size_t limit;
  bool truncate;
  bool overflow = false;
  mlc_sink sink{};
};

// ---- Trampolines: mlc_host_api functions forwarding to HostContext -------------------------------

HostContext* Ctx(mlc_host_ctx* ctx) { return reinterpret_cast<HostContext*>(ctx); }

bool ValidView(mlc_str s) { return s.ptr != nullptr || s.len == 0; }
std::string_view View(mlc_str s) { return s.len == 0 ? std::string_view() : std::string_view(s.ptr, s.len); }

// Hands `data` to a sink the plugin owns; a NULL sink means the plugin does not want that output.
void Emit(const mlc_sink* sink, const std::string& data) {
  if (sink != nullptr && sink->write != nullptr && !data.empty())
    sink->write(sink->ctx, data.data(), data.size());
}

// Runs `body` (which returns a Code) and converts any exception into MLC_ERROR, so nothing unwinds
// into plugin frames. The exception text is logged on the host side only: it could quote data the
// plugin should not see.
template <typename Body>
mlc_status Guard(const char* service, mlc_host_ctx* ctx, const mlc_sink* err, Body&& body) noexcept {
  try {
    if (ctx == nullptr) {
      Emit(err, std::string("host service ") + service + " called without a host context");
      return MLC_INVALID;
    }
    return static_cast<mlc_status>(CodeFromAbi(static_cast<mlc_status>(body(Ctx(ctx)))));
  } catch (const std::exception& e) {
    Log().error("host service {} threw: {}", service, e.what());
  } catch (...) {
    Log().error("host service {} threw a non-standard exception", service);
  }
  try {
    Emit(err, std::string("host service ") + service + " failed with an internal error");
  } catch (...) {
  }
  return MLC_ERROR;
}

mlc_status InvalidView(const mlc_sink* err, const char* service) {
  Emit(err, std::string(service) + ": a view has a NULL pointer and a non-zero length");
  return MLC_INVALID;
}

mlc_status HttpTrampoline(mlc_host_ctx* ctx, mlc_str request, mlc_str body, const mlc_sink* meta,
                          const mlc_sink* body_out, const mlc_sink* err) {
  return Guard("http", ctx, err, [&](HostContext* host) {
    if (!ValidView(request) || !ValidView(body)) return CodeFromAbi(InvalidView(err, "http"));
    std::string meta_buf, body_buf, err_buf;
    Code code = host->Http(View(request), View(body), &meta_buf, &body_buf, &err_buf);
    Emit(meta, meta_buf);
    Emit(body_out, body_buf);
    Emit(err, err_buf);
    return code;
  });
}

mlc_status SecretGetTrampoline(mlc_host_ctx* ctx, mlc_str name, const mlc_sink* out, const mlc_sink* err) {
  return Guard("secret_get", ctx, err, [&](HostContext* host) {
    if (!ValidView(name)) return CodeFromAbi(InvalidView(err, "secret_get"));
    std::string out_buf, err_buf;
    Code code = host->SecretGet(View(name), &out_buf, &err_buf);
    Emit(out, out_buf);
    Emit(err, err_buf);
    return code;
  });
}

mlc_status StateGetTrampoline(mlc_host_ctx* ctx, mlc_str key, const mlc_sink* out, const mlc_sink* err) {
  return Guard("state_get", ctx, err, [&](HostContext* host) {
    if (!ValidView(key)) return CodeFromAbi(InvalidView(err, "state_get"));
    std::string out_buf, err_buf;
    Code code = host->StateGet(View(key), &out_buf, &err_buf);
    Emit(out, out_buf);
    Emit(err, err_buf);
    return code;
  });
}

mlc_status StatePutTrampoline(mlc_host_ctx* ctx, mlc_str key, mlc_str value, const mlc_sink* err) {
  return Guard("state_put", ctx, err, [&](HostContext* host) {
    if (!ValidView(key) || !ValidView(value)) return CodeFromAbi(InvalidView(err, "state_put"));
    std::string err_buf;
    Code code = host->StatePut(View(key), View(value), &err_buf);
    Emit(err, err_buf);
    return code;
  });
}

mlc_status BlobPutTrampoline(mlc_host_ctx* ctx, mlc_str content_type, mlc_str bytes, const mlc_sink* id_out,
                             const mlc_sink* err) {
  return Guard("blob_put", ctx, err, [&](HostContext* host) {
    if (!ValidView(content_type) || !ValidView(bytes)) return CodeFromAbi(InvalidView(err, "blob_put"));
    std::string id_buf, err_buf;
    Code code = host->BlobPut(View(content_type), View(bytes), &id_buf, &err_buf);
    Emit(id_out, id_buf);
    Emit(err, err_buf);
    return code;
  });
}

mlc_status BlobGetTrampoline(mlc_host_ctx* ctx, mlc_str id, const mlc_sink* out,
                             const mlc_sink* content_type_out, const mlc_sink* err) {
  return Guard("blob_get", ctx, err, [&](HostContext* host) {
    if (!ValidView(id)) return CodeFromAbi(InvalidView(err, "blob_get"));
    std::string out_buf, type_buf, err_buf;
    Code code = host->BlobGet(View(id), &out_buf, &type_buf, &err_buf);
    Emit(out, out_buf);
    Emit(content_type_out, type_buf);
    Emit(err, err_buf);
    return code;
  });
}

mlc_status SecretPutTrampoline(mlc_host_ctx* ctx, mlc_str name, mlc_str value, const mlc_sink* err) {
  return Guard("secret_put", ctx, err, [&](HostContext* host) {
    if (!ValidView(name) || !ValidView(value)) return CodeFromAbi(InvalidView(err, "secret_put"));
    std::string err_buf;
    Code code = host->SecretPut(View(name), View(value), &err_buf);
    Emit(err, err_buf);
    return code;
  });
}

void LogTrampoline(mlc_host_ctx* ctx, int32_t level, mlc_str message) {
  try {
    if (ctx == nullptr || !ValidView(message)) return;
    Ctx(ctx)->Log(level, View(message));
  } catch (const std::exception& e) {
    Log().error("host service log threw: {}", e.what());
  } catch (...) {
    Log().error("host service log threw a non-standard exception");
  }
}

int64_t SystemNowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

int64_t NowMsTrampoline(mlc_host_ctx* ctx) {
  try {
    if (ctx != nullptr) return Ctx(ctx)->NowMs();
  } catch (const std::exception& e) {
    Log().error("host service now_ms threw: {}", e.what());
  } catch (...) {
    Log().error("host service now_ms threw a non-standard exception");
  }
  return SystemNowMs();  // a clock reading is always available; never leave the plugin without one
}

const mlc_host_api kHostApi = {
    .size = sizeof(mlc_host_api),
    .abi_version = MLC_ABI_VERSION,
    .http = &HttpTrampoline,
    .secret_get = &SecretGetTrampoline,
    .state_get = &StateGetTrampoline,
    .state_put = &StatePutTrampoline,
    .blob_put = &BlobPutTrampoline,
    .blob_get = &BlobGetTrampoline,
    .log = &LogTrampoline,
    .now_ms = &NowMsTrampoline,
    // v1.1
    .secret_put = &SecretPutTrampoline,
};

// ---- Plugin replies -------------------------------------------------------------------------------

// Serialises a request; invalid UTF-8 in a string is the caller's bad input, not something to guess at.
Result<std::string> Serialize(const nlohmann::json& doc, const char* what) {
  try {
    return doc.dump();
  } catch (const std::exception&) {
    return Status::Invalid(std::string(what) + " is not valid UTF-8 JSON");
  }
}

mlc_str StrOf(const std::string& s) { return mlc_str{s.data(), s.size()}; }

// Turns a plugin's (status, out, err) into a Result.
Result<nlohmann::json> Reply(const LoadedPlugin& plugin, const char* op, mlc_status status,
                             const SinkBuffer& out, const SinkBuffer& err) {
  Code code = CodeFromAbi(status);
  if (code != Code::kOk) {
    std::string message = err.data;
    if (err.overflow) message.append("...");
    if (message.empty()) message = std::string(op) + " failed without a message";
    if (status < MLC_OK || status > MLC_NOT_FOUND) {
      message = "plugin returned unknown status " + std::to_string(status) + ": " + message;
    }
    return Status(code, std::move(message));
  }
  if (out.overflow) {
    return Status::Error("plugin " + plugin.name + " " + op + " reply exceeds " +
                         std::to_string(kMaxPluginReplyBytes) + " bytes");
  }
  try {
    return nlohmann::json::parse(out.data);
  } catch (const nlohmann::json::parse_error& e) {
    return Status::Error("plugin returned malformed JSON from " + std::string(op) + " (" + plugin.name +
                         ", byte " + std::to_string(e.byte) + " of " + std::to_string(out.data.size()) + ")");
  } catch (const std::exception&) {
    return Status::Error("plugin returned malformed JSON from " + std::string(op) + " (" + plugin.name + ")");
  }
}

Status NotImplemented(const char* op) {
  return Status::Invalid(std::string("plugin does not implement ") + op);
}

}  // namespace

const mlc_host_api* HostApiTable() { return &kHostApi; }

Code HostContext::SecretPut(std::string_view, std::string_view, std::string* err) {
  *err = "this host context does not support storing secrets (secret_put)";
  return Code::kInvalid;
}

// ---- PluginInstance --------------------------------------------------------------------------------

Result<std::unique_ptr<PluginInstance>> PluginInstance::Open(std::shared_ptr<const LoadedPlugin> plugin,
                                                             HostContext* host,
                                                             const nlohmann::json& settings) {
  if (plugin == nullptr || plugin->api == nullptr) return Status::Invalid("no such plugin");
  if (host == nullptr) return Status::Invalid("no host context");
  MLC_ASSIGN_OR_RETURN(std::string settings_text, Serialize(settings, "settings"));
  SinkBuffer err(kMaxPluginErrorBytes, /*truncate=*/true);
  mlc_instance* handle = nullptr;
  mlc_status status = plugin->api->open(HostApiTable(), reinterpret_cast<mlc_host_ctx*>(host),
                                        StrOf(settings_text), &handle, &err.sink);
  if (CodeFromAbi(status) != Code::kOk) {
    SinkBuffer no_out(0, false);
    return Reply(*plugin, "open", status, no_out, err).status();
  }
  if (handle == nullptr)
    return Status::Error("plugin " + plugin->name + " open succeeded but returned no instance");
  return std::unique_ptr<PluginInstance>(new PluginInstance(std::move(plugin), host, handle));
}

PluginInstance::~PluginInstance() {
  std::lock_guard<std::mutex> lock(call_mu_);
  plugin_->api->close(handle_);
}

Result<nlohmann::json> PluginInstance::CallOp(const char* op, mlc_op_fn fn, const nlohmann::json& request) {
  if (fn == nullptr) return NotImplemented(op);
  MLC_ASSIGN_OR_RETURN(std::string request_text, Serialize(request, "request"));
  SinkBuffer out(kMaxPluginReplyBytes, /*truncate=*/false);
  SinkBuffer err(kMaxPluginErrorBytes, /*truncate=*/true);
  mlc_status status;
  {
    std::lock_guard<std::mutex> lock(call_mu_);
    status = fn(handle_, StrOf(request_text), &out.sink, &err.sink);
  }
  return Reply(*plugin_, op, status, out, err);
}

// The op's function pointer when the plugin's table is large enough to hold it, else nullptr.
#define MLC_PLUGIN_OP(field) \
  (MLC_TABLE_HAS(plugin_->api, mlc_plugin_api, field) ? plugin_->api->field : nullptr)

Result<nlohmann::json> PluginInstance::Check() {
  return CallOp("check", MLC_PLUGIN_OP(check), nlohmann::json::object());
}
Result<nlohmann::json> PluginInstance::Read(const nlohmann::json& request) {
  return CallOp("read", MLC_PLUGIN_OP(read), request);
}
Result<nlohmann::json> PluginInstance::Write(const nlohmann::json& request) {
  return CallOp("write", MLC_PLUGIN_OP(write), request);
}
Result<nlohmann::json> PluginInstance::Lookup(const nlohmann::json& request) {
  return CallOp("lookup", MLC_PLUGIN_OP(lookup), request);
}
Result<nlohmann::json> PluginInstance::Ack(const nlohmann::json& request) {
  return CallOp("ack", MLC_PLUGIN_OP(ack), request);
}
Result<nlohmann::json> PluginInstance::AuthResolve(const nlohmann::json& request) {
  return CallOp("auth_resolve", MLC_PLUGIN_OP(auth_resolve), request);
}

Result<nlohmann::json> PluginInstance::Webhook(const nlohmann::json& request, std::string_view body) {
  auto fn = MLC_PLUGIN_OP(webhook);
  if (fn == nullptr) return NotImplemented("webhook");
  MLC_ASSIGN_OR_RETURN(std::string request_text, Serialize(request, "request"));
  SinkBuffer out(kMaxPluginReplyBytes, /*truncate=*/false);
  SinkBuffer err(kMaxPluginErrorBytes, /*truncate=*/true);
  mlc_status status;
  {
    std::lock_guard<std::mutex> lock(call_mu_);
    status = fn(handle_, StrOf(request_text), mlc_str{body.data(), body.size()}, &out.sink, &err.sink);
  }
  return Reply(*plugin_, "webhook", status, out, err);
}

#undef MLC_PLUGIN_OP

// ---- InMemoryHostContext ---------------------------------------------------------------------------

void InMemoryHostContext::SetHttpHandler(HttpHandler handler) {
  std::lock_guard<std::mutex> lock(mu_);
  http_ = std::move(handler);
}
void InMemoryHostContext::SetSecret(const std::string& name, const std::string& value) {
  std::lock_guard<std::mutex> lock(mu_);
  secrets_[name] = value;
}
void InMemoryHostContext::SetState(const std::string& key, const std::string& value) {
  std::lock_guard<std::mutex> lock(mu_);
  state_[key] = value;
}
void InMemoryHostContext::SetWritableSecrets(std::vector<std::string> names) {
  std::lock_guard<std::mutex> lock(mu_);
  writable_secrets_ = std::move(names);
}
std::optional<std::string> InMemoryHostContext::Secret(const std::string& name) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = secrets_.find(name);
  if (it == secrets_.end()) return std::nullopt;
  return it->second;
}
std::optional<std::string> InMemoryHostContext::State(const std::string& key) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = state_.find(key);
  if (it == state_.end()) return std::nullopt;
  return it->second;
}
std::optional<std::pair<std::string, std::string>> InMemoryHostContext::Blob(const std::string& id) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = blobs_.find(id);
  if (it == blobs_.end()) return std::nullopt;
  return it->second;
}
std::vector<std::pair<int32_t, std::string>> InMemoryHostContext::Logs() const {
  std::lock_guard<std::mutex> lock(mu_);
  return logs_;
}
void InMemoryHostContext::SetNowMs(int64_t now_ms) {
  std::lock_guard<std::mutex> lock(mu_);
  now_ms_ = now_ms;
}

Code InMemoryHostContext::Http(std::string_view request_json, std::string_view body, std::string* meta,
                               std::string* body_out, std::string* err) {
  HttpHandler handler;
  {
    std::lock_guard<std::mutex> lock(mu_);
    handler = http_;
  }
  // Called outside the lock: a handler may use the other services.
  if (!handler) {
    *err = "no HTTP handler installed in this in-memory host";
    return Code::kError;
  }
  return handler(request_json, body, meta, body_out, err);
}

Code InMemoryHostContext::SecretGet(std::string_view name, std::string* out, std::string* err) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = secrets_.find(name);
  if (it == secrets_.end()) {
    *err = "no secret named '" + std::string(name) + "'";
    return Code::kNotFound;
  }
  *out = it->second;
  return Code::kOk;
}

Code InMemoryHostContext::SecretPut(std::string_view name, std::string_view value, std::string* err) {
  std::lock_guard<std::mutex> lock(mu_);
  if (name.empty()) {
    *err = "cannot store a secret with an empty name";
    return Code::kInvalid;
  }
  if (writable_secrets_ &&
      std::find(writable_secrets_->begin(), writable_secrets_->end(), name) == writable_secrets_->end()) {
    *err = "cannot store secret '" + std::string(name) + "': it is not declared in the plugin's manifest";
    return Code::kInvalid;
  }
  if (value.empty()) {
    *err = "cannot store secret '" + std::string(name) + "': the value is empty";
    return Code::kInvalid;
  }
  secrets_[std::string(name)] = std::string(value);
  return Code::kOk;
}

Code InMemoryHostContext::StateGet(std::string_view key, std::string* out, std::string* err) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = state_.find(key);
  if (it == state_.end()) {
    *err = "no state for key '" + std::string(key) + "'";
    return Code::kNotFound;
  }
  *out = it->second;
  return Code::kOk;
}

Code InMemoryHostContext::StatePut(std::string_view key, std::string_view value, std::string* err) {
  std::lock_guard<std::mutex> lock(mu_);
  state_[std::string(key)] = std::string(value);
  return Code::kOk;
}

Code InMemoryHostContext::BlobPut(std::string_view content_type, std::string_view bytes, std::string* id_out,
                                  std::string* err) {
  // Content-addressed by a 64-bit FNV-1a of type and bytes: good enough to dedupe within one process.
  uint64_t h = 1469598103934665603ull;
  auto mix = [&h](std::string_view s) {
    for (unsigned char c : s) {
      h ^= c;
      h *= 1099511628211ull;
    }
  };
  mix(content_type);
  mix(std::string_view("\0", 1));
  mix(bytes);
  char id[24];
  std::snprintf(id, sizeof id, "mem-%016llx", static_cast<unsigned long long>(h));
  std::lock_guard<std::mutex> lock(mu_);
  blobs_[id] = {std::string(bytes), std::string(content_type)};
  *id_out = id;
  return Code::kOk;
}

Code InMemoryHostContext::BlobGet(std::string_view id, std::string* out, std::string* content_type_out,
                                  std::string* err) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = blobs_.find(id);
  if (it == blobs_.end()) {
    *err = "no blob '" + std::string(id) + "'";
    return Code::kNotFound;
  }
  *out = it->second.first;
  *content_type_out = it->second.second;
  return Code::kOk;
}

void InMemoryHostContext::Log(int32_t level, std::string_view message) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    logs_.emplace_back(level, std::string(message));
  }
  mlc::Log().debug("plugin log [{}]: {}", level, message);
}

int64_t InMemoryHostContext::NowMs() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (now_ms_) return *now_ms_;
  }
  return SystemNowMs();
}

}  // namespace mlc::loader
