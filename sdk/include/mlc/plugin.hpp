// The C++ way to write an ml-connector plugin: a class instead of raw ABI tables and pointers.
//
// Header-only; depends on the standard library and nlohmann-json only. The plugin derives from
// mlc::sdk::Plugin, overrides the operations it supports, and names its class once with
// MLC_DEFINE_PLUGIN, which exports `mlc_plugin_entry` and builds the C table of plugin.h:
//
//   class Acme : public mlc::sdk::Plugin {
//    public:
//     Acme(mlc::sdk::Host host, const nlohmann::json& settings) : Plugin(host) { ... }
//     mlc::Result<nlohmann::json> Check(const nlohmann::json&) override {
//       mlc::sdk::HttpRequest req{.method = "GET", .url = "/me"};
//       MLC_ASSIGN_OR_RETURN(mlc::sdk::HttpResponse resp, host().Http(req));
//       if (resp.status == 401) return mlc::Status::Auth("token rejected");
//       return nlohmann::json{{"ok", true}};
//     }
//   };
//   MLC_DEFINE_PLUGIN(Acme);         // at global namespace scope, in exactly one .cpp of the plugin
//
// What the generated trampolines guarantee (so plugin code need not):
//   - Request and settings JSON are parsed with mlc::json::ParseExact (decimals stay exact text); an empty
//     request view counts as `{}`; a request that is not a JSON object is MLC_INVALID before any method runs.
//   - A method's Result value is written to the `out` sink only when the whole call succeeded; a failure's
//     message goes to the `err` sink and its Code becomes the returned mlc_status.
//   - Every exception thrown by plugin code (constructor, Open(), any method, destructor excepted: it must
//     not throw) is caught and returned as MLC_ERROR carrying the exception's what(). Nothing is thrown
//     across the C boundary.
//   - `auth_resolve` is NULL in the table unless the class overrides AuthResolve (the host then skips it).
//   - The entry returns NULL for a host of another ABI major version; `open` also refuses a host table of
//     another major or one shorter than the ABI 1.0 table.
//
// Ownership: the host owns the tables it passes (`mlc_host_api`) and the instance context; Host is a
// non-owning copyable handle valid from construction of the plugin object until it is destroyed (ABI
// `close`). The generated table is a static constant; instances are heap objects owned by the host's
// handle between `open` and `close`.
//
// Threads: the host never calls one instance from two threads at once, so a Plugin subclass needs no locks
// for its own members. Host services may only be called from inside a call the host made into the
// instance (constructor, Open() and the operation methods), never from a thread the plugin started that
// outlives that call. Different instances run concurrently: keep no unsynchronised global mutable state.
#ifndef MLC_PLUGIN_HPP_
#define MLC_PLUGIN_HPP_

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "mlc/json.hpp"
#include "mlc/plugin.h"
#include "mlc/status.hpp"
#include "mlc/text.hpp"

namespace mlc::sdk {

namespace detail {

// Collects what the other side writes into a sink. The sink points at this object: do not move or copy it
// while the sink is in use.
class StringSink {
 public:
  StringSink() : sink_{this, &StringSink::Append} {}
  StringSink(const StringSink&) = delete;
  StringSink& operator=(const StringSink&) = delete;

  const mlc_sink* sink() const { return &sink_; }
  std::string& data() { return data_; }

 private:
  static void Append(void* ctx, const char* data, size_t len) {
    // The writer is C code: an allocation failure must not unwind into it.
    try {
      if (len > 0) static_cast<StringSink*>(ctx)->data_.append(data, len);
    } catch (...) {
    }
  }

  mlc_sink sink_;
  std::string data_;
};

inline std::string_view View(mlc_str s) {
  return s.len == 0 ? std::string_view() : std::string_view(s.ptr, s.len);
}
inline mlc_str Str(std::string_view s) { return mlc_str{s.data(), s.size()}; }

// Writes to a sink the caller may have passed as NULL.
inline void Emit(const mlc_sink* sink, std::string_view data) {
  if (sink != nullptr && sink->write != nullptr && !data.empty())
    sink->write(sink->ctx, data.data(), data.size());
}

// A Status from a host service's return code and what it wrote to `err`.
inline Status FromAbi(mlc_status code, std::string message, std::string_view service) {
  if (code == MLC_OK) return Status::Ok();
  if (message.empty()) message = std::string(service) + " failed";
  return Status(CodeFromAbi(code), std::move(message));
}

}  // namespace detail

// One part of a multipart/form-data request. Give either `data` (text, sent as is) or `blob` (the id of a
// blob stored with Host::PutBlob, for binary content such as a receipt).
struct MultipartPart {
  std::string name{};
  std::string filename{};      // optional
  std::string content_type{};  // optional; a blob part defaults to the blob's content type
  std::string data{};
  std::string blob{};
};

// A request for Host::Http. `url` may be relative to the connection's base URL.
struct HttpRequest {
  std::string method = "GET";
  std::string url{};
  std::map<std::string, std::string> headers{};
  // Query parameters in order; a name may repeat (`include[]=a&include[]=b`), which is sent as an array.
  std::multimap<std::string, std::string> query{};
  std::string body{};
  // Sent in the vendor's idempotency header when the manifest names one; also tells the host the request
  // may be retried after a lost response.
  std::optional<std::string> idempotency_key{};
  // Overrides the host's default (GET/HEAD/PUT/DELETE idempotent, POST/PATCH not) for retry decisions.
  std::optional<bool> idempotent{};
  // Stores a 2xx response body as a blob instead of returning it (receipts, large downloads); other
  // statuses return the body as usual so the error can be read.
  bool response_blob = false;
  // When non-empty the request is sent as multipart/form-data and `body` is ignored.
  std::vector<MultipartPart> multipart{};
  // False for requests that must go out without the connection's credentials (e.g. a pre-signed URL). The
  // host sends credentials only to the base URL's origin and refuses an absolute URL elsewhere unless false.
  bool auth = true;
  std::optional<int64_t> timeout_ms{};

  // The request document of mlc_host_api.http (see docs/abi.md).
  nlohmann::json ToJson() const {
    nlohmann::json doc = {{"method", method}, {"url", url}};
    doc["headers"] = nlohmann::json::object();
    for (const auto& [name, value] : headers) doc["headers"][name] = value;
    doc["query"] = nlohmann::json::object();
    for (const auto& [name, value] : query) {
      nlohmann::json& slot = doc["query"][name];
      if (slot.is_null()) {
        slot = value;
      } else {
        if (!slot.is_array()) slot = nlohmann::json::array({slot});
        slot.push_back(value);
      }
    }
    if (idempotency_key) doc["idempotency_key"] = *idempotency_key;
    if (idempotent) doc["idempotent"] = *idempotent;
    if (response_blob) doc["response_blob"] = true;
    if (!auth) doc["auth"] = false;
    if (timeout_ms) doc["timeout_ms"] = *timeout_ms;
    if (!multipart.empty()) {
      nlohmann::json parts = nlohmann::json::array();
      for (const MultipartPart& p : multipart) {
        nlohmann::json part = {{"name", p.name}};
        if (!p.filename.empty()) part["filename"] = p.filename;
        if (!p.content_type.empty()) part["content_type"] = p.content_type;
        if (!p.blob.empty()) {
          part["blob"] = p.blob;
        } else {
          part["data"] = p.data;
        }
        parts.push_back(std::move(part));
      }
      doc["multipart"] = std::move(parts);
    }
    return doc;
  }
};

// What Host::Http got back. Any HTTP status is a response; the plugin decides what it means.
struct HttpResponse {
  int status = 0;
  std::map<std::string, std::string> headers;  // names in lower case
  std::string body;                            // empty when response_blob stored it
  std::optional<std::string> blob;             // blob id when response_blob was set

  bool success() const { return status >= 200 && status < 300; }

  // The header's value, or an empty view. `name` is matched case-insensitively.
  std::string_view Header(std::string_view name) const {
    auto it = headers.find(text::AsciiLower(name));
    return it == headers.end() ? std::string_view() : std::string_view(it->second);
  }

  // The body parsed with ParseExact (decimals kept as text).
  Result<nlohmann::json> Json() const { return mlc::json::ParseExact(body); }
};

// A blob read back from the host.
struct Blob {
  std::string bytes;
  std::string content_type;
};

// The host's services for one plugin instance. A cheap copyable handle; see the file comment for lifetime and
// threading. A default-constructed Host has no services: every call fails with Invalid (useful in tests).
class Host {
 public:
  Host() = default;
  Host(const mlc_host_api* api, mlc_host_ctx* ctx) : api_(api), ctx_(ctx) {}

  const mlc_host_api* api() const { return api_; }
  mlc_host_ctx* ctx() const { return ctx_; }
  // The host's ABI version ((major << 16) | minor), 0 without a host.
  uint32_t abi_version() const { return api_ == nullptr ? 0 : api_->abi_version; }

  // Executes one HTTP request through the host (auth, rate limits, retries, audit happen there). OK means a
  // response arrived, whatever its status code. RETRY, UNCERTAIN, AUTH and INVALID are the host's verdicts
  // (see docs/abi.md) and are usually returned from the operation unchanged.
  Result<HttpResponse> Http(const HttpRequest& request) const {
    if (!Has(offsetof(mlc_host_api, http), sizeof(api_->http)) || api_->http == nullptr) {
      return Missing("http");
    }
    std::string request_text;
    try {
      request_text = request.ToJson().dump(-1, ' ', false, nlohmann::json::error_handler_t::strict);
    } catch (const nlohmann::json::exception& e) {
      return Status::Invalid(std::string("HTTP request is not valid UTF-8 JSON: ") + e.what());
    }
    const std::string_view body =
        request.multipart.empty() ? std::string_view(request.body) : std::string_view();
    detail::StringSink meta, body_out, err;
    const mlc_status rc = api_->http(ctx_, detail::Str(request_text), detail::Str(body), meta.sink(),
                                     body_out.sink(), err.sink());
    if (rc != MLC_OK) return detail::FromAbi(rc, std::move(err.data()), "http");
    auto doc = mlc::json::Parse(meta.data());
    if (!doc.ok() || !doc->is_object())
      return Status::Error("host returned malformed HTTP response metadata");
    HttpResponse response;
    auto status_it = doc->find("status");
    if (status_it == doc->end() || !status_it->is_number_integer()) {
      return Status::Error("host returned HTTP response metadata without a status");
    }
    response.status = status_it->get<int>();
    if (auto h = doc->find("headers"); h != doc->end() && h->is_object()) {
      for (const auto& [name, value] : h->items()) {
        if (value.is_string()) {
          response.headers[name] = value.get<std::string>();
        } else if (value.is_array()) {
          // A repeated header: join as HTTP allows for list-valued headers.
          std::string joined;
          for (const auto& v : value) {
            if (!v.is_string()) continue;
            if (!joined.empty()) joined.append(", ");
            joined.append(v.get<std::string>());
          }
          response.headers[name] = std::move(joined);
        }
      }
    }
    if (auto b = doc->find("blob"); b != doc->end() && b->is_string()) response.blob = b->get<std::string>();
    response.body = std::move(body_out.data());
    return response;
  }

  // A secret of this connection (NotFound when it has none). Never log or echo the value.
  Result<std::string> Secret(std::string_view name) const {
    if (!Has(offsetof(mlc_host_api, secret_get), sizeof(api_->secret_get)) || api_->secret_get == nullptr) {
      return Missing("secret_get");
    }
    detail::StringSink out, err;
    const mlc_status rc = api_->secret_get(ctx_, detail::Str(name), out.sink(), err.sink());
    if (rc != MLC_OK) return detail::FromAbi(rc, std::move(err.data()), "secret_get");
    return std::move(out.data());
  }

  // ABI 1.1: stores a secret learned at run time encrypted in the host's vault (readable back with
  // Secret). `name` must be declared under the manifest's `secrets`. A 1.0 host has no secret_put: that
  // is an Invalid "host too old" status, so a plugin can fall back or report it; never store the value
  // in plain state instead.
  Status SecretPut(std::string_view name, std::string_view value) const {
    if (api_ == nullptr) return Missing("secret_put");
    if (!Has(offsetof(mlc_host_api, secret_put), sizeof(api_->secret_put))) {
      return Status::Invalid("host too old (ABI " + std::to_string(MLC_ABI_MAJOR(abi_version())) + "." +
                             std::to_string(MLC_ABI_MINOR(abi_version())) + "): secret_put unavailable");
    }
    if (api_->secret_put == nullptr) return Missing("secret_put");
    detail::StringSink err;
    const mlc_status rc = api_->secret_put(ctx_, detail::Str(name), detail::Str(value), err.sink());
    return detail::FromAbi(rc, std::move(err.data()), "secret_put");
  }

  // Durable connection-scoped state: the value, std::nullopt when the key was never written.
  Result<std::optional<std::string>> GetState(std::string_view key) const {
    if (!Has(offsetof(mlc_host_api, state_get), sizeof(api_->state_get)) || api_->state_get == nullptr) {
      return Missing("state_get");
    }
    detail::StringSink out, err;
    const mlc_status rc = api_->state_get(ctx_, detail::Str(key), out.sink(), err.sink());
    if (rc == MLC_NOT_FOUND) return std::optional<std::string>();
    if (rc != MLC_OK) return detail::FromAbi(rc, std::move(err.data()), "state_get");
    return std::optional<std::string>(std::move(out.data()));
  }

  Status PutState(std::string_view key, std::string_view value) const {
    if (!Has(offsetof(mlc_host_api, state_put), sizeof(api_->state_put)) || api_->state_put == nullptr) {
      return Missing("state_put");
    }
    detail::StringSink err;
    const mlc_status rc = api_->state_put(ctx_, detail::Str(key), detail::Str(value), err.sink());
    return detail::FromAbi(rc, std::move(err.data()), "state_put");
  }

  // Stores bytes (content-addressed); returns the blob id.
  Result<std::string> PutBlob(std::string_view content_type, std::string_view bytes) const {
    if (!Has(offsetof(mlc_host_api, blob_put), sizeof(api_->blob_put)) || api_->blob_put == nullptr) {
      return Missing("blob_put");
    }
    detail::StringSink id, err;
    const mlc_status rc =
        api_->blob_put(ctx_, detail::Str(content_type), detail::Str(bytes), id.sink(), err.sink());
    if (rc != MLC_OK) return detail::FromAbi(rc, std::move(err.data()), "blob_put");
    return std::move(id.data());
  }

  // Reads a blob back (NotFound for an unknown id).
  Result<Blob> GetBlob(std::string_view id) const {
    if (!Has(offsetof(mlc_host_api, blob_get), sizeof(api_->blob_get)) || api_->blob_get == nullptr) {
      return Missing("blob_get");
    }
    detail::StringSink out, content_type, err;
    const mlc_status rc = api_->blob_get(ctx_, detail::Str(id), out.sink(), content_type.sink(), err.sink());
    if (rc != MLC_OK) return detail::FromAbi(rc, std::move(err.data()), "blob_get");
    return Blob{std::move(out.data()), std::move(content_type.data())};
  }

  // A log line at MLC_LOG_DEBUG..MLC_LOG_ERROR. Dropped silently when the host has no log service.
  void Log(int32_t level, std::string_view message) const {
    if (!Has(offsetof(mlc_host_api, log), sizeof(api_->log)) || api_->log == nullptr) return;
    api_->log(ctx_, level, detail::Str(message));
  }

  // The host's clock (tests may drive it); the system clock when the host offers none.
  int64_t NowMs() const {
    if (Has(offsetof(mlc_host_api, now_ms), sizeof(api_->now_ms)) && api_->now_ms != nullptr) {
      return api_->now_ms(ctx_);
    }
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  }

 private:
  // MLC_TABLE_HAS spelled with offsets so it also guards against a NULL table.
  bool Has(size_t offset, size_t field_size) const {
    return api_ != nullptr && api_->size >= offset + field_size;
  }
  static Status Missing(std::string_view service) {
    return Status::Invalid("the host does not provide the '" + std::string(service) + "' service");
  }

  const mlc_host_api* api_ = nullptr;
  mlc_host_ctx* ctx_ = nullptr;
};

// Base class of a C++ plugin. Override what the plugin supports; the rest answer INVALID "... is not
// implemented by this plugin". Request and response documents are those of docs/abi.md.
//
// A subclass must be constructible as `Subclass(mlc::sdk::Host host, const nlohmann::json& settings)`.
class Plugin {
 public:
  explicit Plugin(Host host) : host_(host) {}
  virtual ~Plugin() = default;
  Plugin(const Plugin&) = delete;
  Plugin& operator=(const Plugin&) = delete;

  // Runs right after construction inside ABI `open`: validate settings, read secrets or state. A non-OK
  // status fails `open` with that status (settings problems are Invalid).
  virtual Status Open() { return Status::Ok(); }

  virtual Result<nlohmann::json> Check(const nlohmann::json& /*request*/) { return NotImplemented("check"); }
  virtual Result<nlohmann::json> Read(const nlohmann::json& /*request*/) { return NotImplemented("read"); }
  virtual Result<nlohmann::json> Write(const nlohmann::json& /*request*/) { return NotImplemented("write"); }
  virtual Result<nlohmann::json> Lookup(const nlohmann::json& /*request*/) {
    return NotImplemented("lookup");
  }
  virtual Result<nlohmann::json> Ack(const nlohmann::json& /*request*/) { return NotImplemented("ack"); }
  // `body` holds the raw bytes exactly as received: verify signatures over it, not over re-serialised JSON.
  virtual Result<nlohmann::json> Webhook(const nlohmann::json& /*request*/, std::string_view /*body*/) {
    return NotImplemented("webhook");
  }
  // Only a class that overrides this gets a non-NULL `auth_resolve` entry.
  virtual Result<nlohmann::json> AuthResolve(const nlohmann::json& /*request*/) {
    return NotImplemented("auth_resolve");
  }

 protected:
  const Host& host() const { return host_; }

 private:
  static Status NotImplemented(std::string_view op) {
    return Status::Invalid(std::string(op) + " is not implemented by this plugin");
  }

  Host host_;
};

namespace detail {

inline mlc_status Fail(const mlc_sink* err, const Status& status) {
  Emit(err, status.message());
  // A Result that holds an OK status carries no value: never report that as success.
  return status.ok() ? MLC_ERROR : status.abi();
}

// Runs `fn` and turns any exception into MLC_ERROR with its message.
template <typename Fn>
mlc_status Guard(const mlc_sink* err, Fn&& fn) noexcept {
  try {
    return fn();
  } catch (const std::exception& e) {
    try {
      Emit(err, e.what());
    } catch (...) {
    }
  } catch (...) {
    try {
      Emit(err, "plugin threw an exception that is not a std::exception");
    } catch (...) {
    }
  }
  return MLC_ERROR;
}

// A request or settings document: empty means `{}`, anything else must be a JSON object.
inline Result<nlohmann::json> ParseObject(mlc_str text, std::string_view what) {
  const std::string_view view = View(text);
  if (view.empty()) return nlohmann::json::object();
  auto doc = mlc::json::ParseExact(view);
  if (!doc.ok()) return doc.status().Wrap(what);
  if (!doc->is_object()) return Status::Invalid(std::string(what) + " must be a JSON object");
  return doc;
}

inline mlc_status Deliver(const Result<nlohmann::json>& result, const mlc_sink* out, const mlc_sink* err) {
  if (!result.ok()) return Fail(err, result.status());
  // Serialise fully before writing anything so the caller never sees half a document.
  const std::string text = result->dump(-1, ' ', false, nlohmann::json::error_handler_t::strict);
  Emit(out, text);
  return MLC_OK;
}

// Size of the v1.0 host table: everything up to and including now_ms.
inline constexpr size_t kHostTableV1Size = offsetof(mlc_host_api, now_ms) + sizeof(mlc_host_api::now_ms);

inline Plugin* AsPlugin(mlc_instance* instance) { return reinterpret_cast<Plugin*>(instance); }

template <typename P>
mlc_status OpenInstance(const mlc_host_api* host, mlc_host_ctx* ctx, mlc_str settings, mlc_instance** out,
                        const mlc_sink* err) noexcept {
  return Guard(err, [&]() -> mlc_status {
    if (out == nullptr) return Fail(err, Status::Invalid("open: no place to store the instance"));
    *out = nullptr;
    if (host == nullptr) return Fail(err, Status::Invalid("open: no host services table"));
    if (host->size < offsetof(mlc_host_api, http) ||
        MLC_ABI_MAJOR(host->abi_version) != MLC_ABI_VERSION_MAJOR) {
      return Fail(err, Status::Invalid("open: host ABI major version " +
                                       std::to_string(MLC_ABI_MAJOR(host->abi_version)) +
                                       ", plugin built for " + std::to_string(MLC_ABI_VERSION_MAJOR)));
    }
    // Every 1.x host provides the whole 1.0 table; a shorter one is not a host of this ABI.
    if (host->size < kHostTableV1Size) {
      return Fail(err, Status::Invalid("open: host services table is " + std::to_string(host->size) +
                                       " bytes, smaller than the ABI 1.0 table"));
    }
    auto parsed = ParseObject(settings, "settings");
    if (!parsed.ok()) return Fail(err, parsed.status());
    auto instance = std::make_unique<P>(Host(host, ctx), *parsed);
    const Status opened = instance->Open();
    if (!opened.ok()) return Fail(err, opened);
    *out = reinterpret_cast<mlc_instance*>(static_cast<Plugin*>(instance.release()));
    return MLC_OK;
  });
}

inline void CloseInstance(mlc_instance* instance) noexcept {
  // Destructors must not throw; should one anyway, the instance is gone either way.
  try {
    delete AsPlugin(instance);
  } catch (...) {
  }
}

template <Result<nlohmann::json> (Plugin::*Method)(const nlohmann::json&)>
mlc_status Operation(mlc_instance* instance, mlc_str request, const mlc_sink* out,
                     const mlc_sink* err) noexcept {
  return Guard(err, [&]() -> mlc_status {
    if (instance == nullptr) return Fail(err, Status::Invalid("no instance (open failed or was not called)"));
    auto parsed = ParseObject(request, "request");
    if (!parsed.ok()) return Fail(err, parsed.status());
    return Deliver((AsPlugin(instance)->*Method)(*parsed), out, err);
  });
}

inline mlc_status WebhookOperation(mlc_instance* instance, mlc_str request, mlc_str body, const mlc_sink* out,
                                   const mlc_sink* err) noexcept {
  return Guard(err, [&]() -> mlc_status {
    if (instance == nullptr) return Fail(err, Status::Invalid("no instance (open failed or was not called)"));
    auto parsed = ParseObject(request, "webhook request");
    if (!parsed.ok()) return Fail(err, parsed.status());
    return Deliver(AsPlugin(instance)->Webhook(*parsed, View(body)), out, err);
  });
}

// True when P (or a base between P and Plugin) overrides AuthResolve: `&P::AuthResolve` then names a member
// of that class rather than Plugin's.
template <typename P>
inline constexpr bool kOverridesAuthResolve =
    !std::is_same_v<decltype(&P::AuthResolve), decltype(&Plugin::AuthResolve)>;

}  // namespace detail

// The ABI table for plugin class P. MLC_DEFINE_PLUGIN returns it from the entry point; tests may drive it
// directly (several plugin classes can live in one test binary this way).
template <typename P>
inline constexpr mlc_plugin_api kPluginApi = {
    .size = sizeof(mlc_plugin_api),
    .abi_version = MLC_ABI_VERSION,
    .open = &detail::OpenInstance<P>,
    .close = &detail::CloseInstance,
    .check = &detail::Operation<&Plugin::Check>,
    .read = &detail::Operation<&Plugin::Read>,
    .write = &detail::Operation<&Plugin::Write>,
    .lookup = &detail::Operation<&Plugin::Lookup>,
    .ack = &detail::Operation<&Plugin::Ack>,
    .webhook = &detail::WebhookOperation,
    .auth_resolve = detail::kOverridesAuthResolve<P> ? &detail::Operation<&Plugin::AuthResolve> : nullptr,
};

// What `mlc_plugin_entry` does: the table for a host of the same ABI major version, NULL otherwise.
template <typename P>
const mlc_plugin_api* PluginEntry(uint32_t host_abi_version) noexcept {
  static_assert(std::is_base_of_v<Plugin, P>,
                "MLC_DEFINE_PLUGIN needs a class derived from mlc::sdk::Plugin");
  static_assert(std::is_constructible_v<P, Host, const nlohmann::json&>,
                "a plugin class needs a constructor (mlc::sdk::Host, const nlohmann::json& settings)");
  if (MLC_ABI_MAJOR(host_abi_version) != MLC_ABI_VERSION_MAJOR) return nullptr;
  return &kPluginApi<P>;
}

}  // namespace mlc::sdk

// Defines the exported entry point for plugin class ClassName. Use once per plugin, at global namespace
// scope.
#define MLC_DEFINE_PLUGIN(ClassName)                                                        \
  extern "C" MLC_EXPORT const mlc_plugin_api* mlc_plugin_entry(uint32_t host_abi_version) { \
    return ::mlc::sdk::PluginEntry<ClassName>(host_abi_version);                            \
  }                                                                                         \
  static_assert(std::is_same_v<decltype(&mlc_plugin_entry), ::mlc_plugin_entry_fn>,         \
                "mlc_plugin_entry must match mlc_plugin_entry_fn")

#endif  // MLC_PLUGIN_HPP_
