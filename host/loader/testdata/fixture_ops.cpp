// Operations shared by every build of the loader's fixture plugin (see fixture_plugin.cpp), compiled
// once into an object library so each variant only adds its manifest, table and entry point.
//
//   open   settings {"fail_open": true} -> MLC_INVALID "open refused by settings"
//   check  {"ok": true, "account": {"plugin": <FixtureName()>, "settings": <settings>}}
//   read   host-service probe: {"probe": "http|secret|secret_put|state_get|state_put|blob|log|now|null_view",
//          ...}; secret_put writes {"name", "value"} and reads it back (reply says whether it matched)
//          -> {"status": <code the host service returned>, "err": "...", ...what it returned};
//          {"probe": "exclusive"} fails if another call is inside the same instance at the same time
//   write  {"return_status": N, "message": "m"} -> status N with err "m"; {"raw_reply": "text"} -> that
//          text as the reply (malformed JSON on purpose); otherwise {"echo": request}
//   lookup MLC_NOT_FOUND "no write carries that key"
//   ack    {"acked": <number of items>}
//   webhook {"events": [], "body": <body as text>, "method": request.method}
//   auth_resolve {"state": {"resolved_by": "newer-minor"}} (only the newer-minor table lists it)
#include "fixture_ops.hpp"

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

namespace {

struct Instance {
  const mlc_host_api* host;
  mlc_host_ctx* ctx;
  nlohmann::json settings;
  std::atomic<int> active{0};  // calls currently inside this instance (must never exceed 1)
};

void Put(const mlc_sink* sink, const std::string& s) {
  if (sink != nullptr && sink->write != nullptr) sink->write(sink->ctx, s.data(), s.size());
}

void CollectInto(void* ctx, const char* data, size_t len) {
  static_cast<std::string*>(ctx)->append(data, len);
}

mlc_str Str(const std::string& s) { return mlc_str{s.data(), s.size()}; }

nlohmann::json ParseRequest(mlc_str request) {
  return nlohmann::json::parse(request.ptr, request.ptr + request.len, nullptr, /*allow_exceptions=*/false);
}

// No exception may leave a plugin: every operation body runs inside this.
template <typename Body>
mlc_status Guarded(const mlc_sink* err, Body&& body) noexcept {
  try {
    return body();
  } catch (const std::exception& e) {
    try {
      Put(err, std::string("fixture threw: ") + e.what());
    } catch (...) {
    }
  } catch (...) {
  }
  return MLC_ERROR;
}

Instance* Self(mlc_instance* instance) { return reinterpret_cast<Instance*>(instance); }

}  // namespace

namespace fixture {

mlc_status Open(const mlc_host_api* host, mlc_host_ctx* ctx, mlc_str settings, mlc_instance** out,
                const mlc_sink* err) {
  return Guarded(err, [&]() -> mlc_status {
    nlohmann::json parsed = ParseRequest(settings);
    if (parsed.is_discarded()) {
      Put(err, "settings are not JSON");
      return MLC_INVALID;
    }
    if (parsed.is_object() && parsed.value("fail_open", false)) {
      Put(err, "open refused by settings");
      return MLC_INVALID;
    }
    *out = reinterpret_cast<mlc_instance*>(new Instance{host, ctx, std::move(parsed)});
    return MLC_OK;
  });
}

void Close(mlc_instance* instance) { delete reinterpret_cast<Instance*>(instance); }

mlc_status Check(mlc_instance* instance, mlc_str, const mlc_sink* out, const mlc_sink* err) {
  return Guarded(err, [&]() -> mlc_status {
    nlohmann::json reply = {{"ok", true},
                            {"account", {{"plugin", FixtureName()}, {"settings", Self(instance)->settings}}}};
    Put(out, reply.dump());
    return MLC_OK;
  });
}

// Calls one host service as the request says and reports exactly what came back.
mlc_status Read(mlc_instance* instance, mlc_str request, const mlc_sink* out, const mlc_sink* err) {
  return Guarded(err, [&]() -> mlc_status {
    Instance* self = Self(instance);
    const mlc_host_api* host = self->host;
    nlohmann::json req = ParseRequest(request);
    if (!req.is_object()) {
      Put(err, "read request is not a JSON object");
      return MLC_INVALID;
    }
    std::string probe = req.value("probe", "");
    std::string a, b, e;
    mlc_sink sa{&a, &CollectInto}, sb{&b, &CollectInto}, se{&e, &CollectInto};
    nlohmann::json reply;
    mlc_status st = MLC_OK;
    if (probe == "http") {
      std::string rq = req.value("request", nlohmann::json::object()).dump();
      std::string body = req.value("body", "");
      st = host->http(self->ctx, Str(rq), Str(body), &sa, &sb, &se);
      reply["meta"] = a;
      reply["body"] = b;
    } else if (probe == "secret") {
      std::string name = req.value("name", "");
      st = host->secret_get(self->ctx, Str(name), &sa, &se);
      reply["length"] = a.size();  // a fixture never echoes a secret, only proves it arrived
    } else if (probe == "secret_put") {
      // ABI 1.1: only called when the host's table is long enough to hold it.
      reply["available"] = MLC_TABLE_HAS(host, mlc_host_api, secret_put) && host->secret_put != nullptr;
      if (!reply["available"].get<bool>()) {
        Put(err, "host too old for secret_put");
        return MLC_INVALID;
      }
      std::string name = req.value("name", ""), value = req.value("value", "");
      st = host->secret_put(self->ctx, Str(name), Str(value), &se);
      if (st == MLC_OK) {
        // Read it back through secret_get; report only the length, never the value.
        st = host->secret_get(self->ctx, Str(name), &sa, &se);
        reply["read_back_matches"] = (a == value);
      }
    } else if (probe == "state_get") {
      std::string key = req.value("key", "");
      st = host->state_get(self->ctx, Str(key), &sa, &se);
      reply["out"] = a;
    } else if (probe == "state_put") {
      std::string key = req.value("key", ""), value = req.value("value", "");
      st = host->state_put(self->ctx, Str(key), Str(value), &se);
    } else if (probe == "blob") {
      std::string type = req.value("content_type", ""), bytes = req.value("bytes", "");
      st = host->blob_put(self->ctx, Str(type), Str(bytes), &sa, &se);
      reply["id"] = a;
      if (st == MLC_OK) {
        std::string got, got_type;
        mlc_sink sg{&got, &CollectInto}, st_sink{&got_type, &CollectInto};
        st = host->blob_get(self->ctx, Str(a), &sg, &st_sink, &se);
        reply["bytes"] = got;
        reply["content_type"] = got_type;
      }
    } else if (probe == "log") {
      std::string message = req.value("message", "");
      host->log(self->ctx, MLC_LOG_INFO, Str(message));
    } else if (probe == "now") {
      reply["now_ms"] = host->now_ms(self->ctx);
    } else if (probe == "exclusive") {
      // Detects a second call entering this instance while this one is still inside.
      if (self->active.fetch_add(1) != 0) {
        self->active.fetch_sub(1);
        Put(err, "two calls inside one instance at once");
        return MLC_ERROR;
      }
      std::this_thread::sleep_for(std::chrono::microseconds(200));
      self->active.fetch_sub(1);
    } else if (probe == "null_view") {
      // A view with a NULL pointer and a non-zero length: the host must refuse it, not read it.
      st = host->state_get(self->ctx, mlc_str{nullptr, 5}, &sa, &se);
    } else {
      Put(err, "unknown probe '" + probe + "'");
      return MLC_INVALID;
    }
    reply["status"] = st;
    reply["err"] = e;
    Put(out, reply.dump());
    return MLC_OK;
  });
}

mlc_status Write(mlc_instance*, mlc_str request, const mlc_sink* out, const mlc_sink* err) {
  return Guarded(err, [&]() -> mlc_status {
    nlohmann::json req = ParseRequest(request);
    if (req.is_object() && req.contains("return_status")) {
      Put(err, req.value("message", ""));
      return req["return_status"].get<int32_t>();
    }
    if (req.is_object() && req.contains("raw_reply")) {
      Put(out, req["raw_reply"].get<std::string>());
      return MLC_OK;
    }
    Put(out, nlohmann::json{{"echo", req}}.dump());
    return MLC_OK;
  });
}

mlc_status Lookup(mlc_instance*, mlc_str, const mlc_sink*, const mlc_sink* err) {
  Put(err, "no write carries that key");
  return MLC_NOT_FOUND;
}

mlc_status Ack(mlc_instance*, mlc_str request, const mlc_sink* out, const mlc_sink* err) {
  return Guarded(err, [&]() -> mlc_status {
    nlohmann::json req = ParseRequest(request);
    size_t n = req.is_object() && req.contains("items") ? req["items"].size() : 0;
    Put(out, nlohmann::json{{"acked", n}}.dump());
    return MLC_OK;
  });
}

mlc_status Webhook(mlc_instance*, mlc_str request, mlc_str body, const mlc_sink* out, const mlc_sink* err) {
  return Guarded(err, [&]() -> mlc_status {
    nlohmann::json req = ParseRequest(request);
    nlohmann::json reply = {{"events", nlohmann::json::array()},
                            {"body", std::string(body.ptr == nullptr ? "" : body.ptr, body.len)},
                            {"method", req.is_object() ? req.value("method", "") : ""}};
    Put(out, reply.dump());
    return MLC_OK;
  });
}

mlc_status AuthResolve(mlc_instance*, mlc_str, const mlc_sink* out, const mlc_sink*) {
  Put(out, R"({"state": {"resolved_by": "newer-minor"}})");
  return MLC_OK;
}

mlc_status FutureOp(mlc_instance*, mlc_str, const mlc_sink*, const mlc_sink*) { return MLC_OK; }

}  // namespace fixture
