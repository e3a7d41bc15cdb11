// Test-only host services table backed by in-memory maps, plus helpers that call a plugin table the way the
// host does (sinks collected into strings), for unit tests of one plugin class without a host (the SDK's own
// plugin and template-plugin tests use it; so may any plugin author: it needs only plugin.h and gtest).
//
// Ownership: a FakeHost owns its table and maps; it must outlive every instance opened against it.
// Threads: single-threaded tests only.
#ifndef MLC_TESTING_FAKE_HOST_HPP_
#define MLC_TESTING_FAKE_HOST_HPP_

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "mlc/crypto.hpp"
#include "mlc/plugin.h"

namespace mlc::testing {

// A caller-owned sink that appends to a string.
class Collect {
 public:
  Collect() : sink_{this, &Collect::Append} {}
  Collect(const Collect&) = delete;
  Collect& operator=(const Collect&) = delete;
  const mlc_sink* sink() const { return &sink_; }
  std::string text;

 private:
  static void Append(void* ctx, const char* data, size_t len) {
    static_cast<Collect*>(ctx)->text.append(data, len);
  }
  mlc_sink sink_;
};

inline mlc_str Str(std::string_view s) { return mlc_str{s.data(), s.size()}; }
inline std::string_view View(mlc_str s) {
  return s.len == 0 ? std::string_view() : std::string_view(s.ptr, s.len);
}
inline void Put(const mlc_sink* sink, std::string_view s) {
  if (sink != nullptr && !s.empty()) sink->write(sink->ctx, s.data(), s.size());
}

class FakeHost {
 public:
  // What a test's HTTP handler returns.
  struct HttpReply {
    mlc_status status = MLC_OK;
    std::string meta;  // JSON {"status", "headers", "blob"?}
    std::string body;
    std::string err;
  };
  struct StoredBlob {
    std::string bytes;
    std::string content_type;
  };

  FakeHost() {
    api_.size = sizeof(mlc_host_api);
    api_.abi_version = MLC_ABI_VERSION;
    api_.http = &FakeHost::HttpFn;
    api_.secret_get = &FakeHost::SecretGet;
    api_.state_get = &FakeHost::StateGet;
    api_.state_put = &FakeHost::StatePut;
    api_.blob_put = &FakeHost::BlobPut;
    api_.blob_get = &FakeHost::BlobGet;
    api_.log = &FakeHost::LogFn;
    api_.now_ms = &FakeHost::NowMs;
    api_.secret_put = &FakeHost::SecretPut;  // ABI 1.1
  }
  FakeHost(const FakeHost&) = delete;
  FakeHost& operator=(const FakeHost&) = delete;

  const mlc_host_api* api() const { return &api_; }
  mlc_host_api* mutable_api() { return &api_; }
  mlc_host_ctx* ctx() { return reinterpret_cast<mlc_host_ctx*>(this); }

  std::map<std::string, std::string> secrets;
  std::map<std::string, std::string> state;
  std::map<std::string, StoredBlob> blobs;
  std::vector<std::pair<int32_t, std::string>> logs;
  int64_t now_ms = 1700000000000;

  // HTTP: every request document and body is recorded; `http_handler` answers (default: 200 "{}").
  std::vector<std::pair<nlohmann::json, std::string>> http_requests;
  std::function<HttpReply(const nlohmann::json&, std::string_view)> http_handler;

  // Makes state_put fail with `fail_put_status` for keys containing `fail_put_substring` (when non-empty).
  std::string fail_put_substring;
  mlc_status fail_put_status = MLC_RETRY;
  int state_puts = 0;

 private:
  static FakeHost* Self(mlc_host_ctx* ctx) { return reinterpret_cast<FakeHost*>(ctx); }

  static mlc_status HttpFn(mlc_host_ctx* ctx, mlc_str request, mlc_str body, const mlc_sink* meta,
                           const mlc_sink* body_out, const mlc_sink* err) {
    FakeHost* self = Self(ctx);
    nlohmann::json doc = nlohmann::json::parse(View(request), nullptr, false);
    if (doc.is_discarded()) {
      Put(err, "fake host: request is not JSON");
      return MLC_INVALID;
    }
    self->http_requests.emplace_back(doc, std::string(View(body)));
    HttpReply reply = self->http_handler ? self->http_handler(doc, View(body))
                                         : HttpReply{MLC_OK, R"({"status":200,"headers":{}})", "{}", ""};
    if (reply.status != MLC_OK) {
      Put(err, reply.err);
      return reply.status;
    }
    Put(meta, reply.meta);
    Put(body_out, reply.body);
    return MLC_OK;
  }

  static mlc_status SecretGet(mlc_host_ctx* ctx, mlc_str name, const mlc_sink* out, const mlc_sink* err) {
    auto& secrets = Self(ctx)->secrets;
    auto it = secrets.find(std::string(View(name)));
    if (it == secrets.end()) {
      Put(err, "no secret '" + std::string(View(name)) + "'");
      return MLC_NOT_FOUND;
    }
    Put(out, it->second);
    return MLC_OK;
  }

  // Stores into `secrets` (a real host seals it in the vault); an empty value is refused.
  static mlc_status SecretPut(mlc_host_ctx* ctx, mlc_str name, mlc_str value, const mlc_sink* err) {
    if (value.len == 0) {
      Put(err, "fake host: empty secret value");
      return MLC_INVALID;
    }
    Self(ctx)->secrets[std::string(View(name))] = std::string(View(value));
    return MLC_OK;
  }

  static mlc_status StateGet(mlc_host_ctx* ctx, mlc_str key, const mlc_sink* out, const mlc_sink* err) {
    auto& state = Self(ctx)->state;
    auto it = state.find(std::string(View(key)));
    if (it == state.end()) {
      Put(err, "no state key");
      return MLC_NOT_FOUND;
    }
    Put(out, it->second);
    return MLC_OK;
  }

  static mlc_status StatePut(mlc_host_ctx* ctx, mlc_str key, mlc_str value, const mlc_sink* err) {
    FakeHost* self = Self(ctx);
    const std::string k(View(key));
    if (!self->fail_put_substring.empty() && k.find(self->fail_put_substring) != std::string::npos) {
      Put(err, "fake host: injected state_put failure");
      return self->fail_put_status;
    }
    ++self->state_puts;
    self->state[k] = std::string(View(value));
    return MLC_OK;
  }

  static mlc_status BlobPut(mlc_host_ctx* ctx, mlc_str content_type, mlc_str bytes, const mlc_sink* id_out,
                            const mlc_sink* /*err*/) {
    const std::string id = "sha256:" + crypto::HexEncode(crypto::Sha256Digest(View(bytes)));
    Self(ctx)->blobs[id] = StoredBlob{std::string(View(bytes)), std::string(View(content_type))};
    Put(id_out, id);
    return MLC_OK;
  }

  static mlc_status BlobGet(mlc_host_ctx* ctx, mlc_str id, const mlc_sink* out,
                            const mlc_sink* content_type_out, const mlc_sink* err) {
    auto& blobs = Self(ctx)->blobs;
    auto it = blobs.find(std::string(View(id)));
    if (it == blobs.end()) {
      Put(err, "no such blob");
      return MLC_NOT_FOUND;
    }
    Put(out, it->second.bytes);
    Put(content_type_out, it->second.content_type);
    return MLC_OK;
  }

  static void LogFn(mlc_host_ctx* ctx, int32_t level, mlc_str message) {
    Self(ctx)->logs.emplace_back(level, std::string(View(message)));
  }

  static int64_t NowMs(mlc_host_ctx* ctx) { return Self(ctx)->now_ms; }

  mlc_host_api api_{};
};

// The outcome of one call into a plugin table.
struct CallResult {
  mlc_status status = -1;
  std::string out;
  std::string err;
  nlohmann::json Json() const { return nlohmann::json::parse(out); }
};

// An opened plugin instance that is closed when the object goes away.
class Instance {
 public:
  Instance(const mlc_plugin_api* api, FakeHost* host, std::string_view settings) : api_(api) {
    Collect err;
    open_status_ = api_->open(host->api(), host->ctx(), Str(settings), &instance_, err.sink());
    open_error_ = err.text;
  }
  ~Instance() {
    if (instance_ != nullptr) api_->close(instance_);
  }
  Instance(const Instance&) = delete;
  Instance& operator=(const Instance&) = delete;

  mlc_status open_status() const { return open_status_; }
  const std::string& open_error() const { return open_error_; }
  mlc_instance* get() const { return instance_; }

  CallResult Call(mlc_op_fn op, const nlohmann::json& request) const { return CallRaw(op, request.dump()); }
  CallResult CallRaw(mlc_op_fn op, std::string_view request) const {
    Collect out, err;
    CallResult r;
    r.status = op(instance_, Str(request), out.sink(), err.sink());
    r.out = out.text;
    r.err = err.text;
    return r;
  }
  CallResult Webhook(const nlohmann::json& request, std::string_view body) const {
    Collect out, err;
    const std::string text = request.dump();
    CallResult r;
    r.status = api_->webhook(instance_, Str(text), Str(body), out.sink(), err.sink());
    r.out = out.text;
    r.err = err.text;
    return r;
  }

  CallResult Check(const nlohmann::json& request = nlohmann::json::object()) const {
    return Call(api_->check, request);
  }
  CallResult Read(const nlohmann::json& request) const { return Call(api_->read, request); }
  CallResult Write(const nlohmann::json& request) const { return Call(api_->write, request); }
  CallResult Lookup(const nlohmann::json& request) const { return Call(api_->lookup, request); }
  CallResult Ack(const nlohmann::json& request) const { return Call(api_->ack, request); }

 private:
  const mlc_plugin_api* api_;
  mlc_instance* instance_ = nullptr;
  mlc_status open_status_ = -1;
  std::string open_error_;
};

}  // namespace mlc::testing

#endif  // MLC_TESTING_FAKE_HOST_HPP_
