// A plugin for the runtime and CLI tests (built as runtime-fixtures/authtest.so): FreshBooks-like OAuth with
// rotating refresh tokens. Its auth_resolve looks the account up through the host (absolute URL on the
// vendor's origin) and, when the token response names an api_domain (Zoho), returns the base URL built
// from it. It refuses a token response that still carries a secret. check() calls "me" relative to the
// base URL through the host.
#include <cstring>
#include <new>
#include <string>

#include <nlohmann/json.hpp>

#include "mlc/plugin.h"

MLC_PLUGIN_MANIFEST(R"json({
  "name": "authtest",
  "version": "1.0.0",
  "abi": "1.0",
  "vendor": "Auth Test",
  "roles": ["source"],
  "auth": {
    "kind": "oauth2_authorization_code",
    "authorize_url": "{vendor}/oauth/authorize",
    "token_url": "{vendor}/oauth/token",
    "scopes": ["user:profile:read"],
    "pkce": true,
    "refresh_rotates": true,
    "secret_fields": ["client_id", "client_secret", "refresh_token"]
  },
  "base_url": "{vendor}/accounting/account/{account_id}",
  "streams": [{"name": "expenses", "object": "expense", "cursor": "opaque"}],
  "settings_schema": {"type": "object", "required": ["vendor"], "properties": {"vendor": {"type": "string"}}},
  "secrets": [
    {"name": "client_id", "required": true},
    {"name": "client_secret", "required": true},
    {"name": "refresh_token", "required": false}
  ]
})json");

namespace {

using nlohmann::json;

struct Instance {
  const mlc_host_api* host;
  mlc_host_ctx* ctx;
  std::string vendor;
};

void Append(void* ctx, const char* data, size_t len) { static_cast<std::string*>(ctx)->append(data, len); }

mlc_status Fail(const mlc_sink* err, mlc_status status, const std::string& message) {
  err->write(err->ctx, message.data(), message.size());
  return status;
}

mlc_status Reply(const mlc_sink* out, const json& doc) {
  const std::string text = doc.dump();
  out->write(out->ctx, text.data(), text.size());
  return MLC_OK;
}

// One GET through the host; returns the host status and fills *status_code / *body.
mlc_status Get(Instance* inst, const std::string& url, int* status_code, json* body, std::string* error) {
  const std::string request = json{{"method", "GET"}, {"url", url}}.dump();
  std::string meta, out;
  mlc_sink meta_sink{&meta, Append}, out_sink{&out, Append}, err_sink{error, Append};
  mlc_status s = inst->host->http(inst->ctx, {request.data(), request.size()}, {nullptr, 0}, &meta_sink,
                                  &out_sink, &err_sink);
  if (s != MLC_OK) return s;
  *status_code = json::parse(meta, nullptr, false).value("status", 0);
  *body = json::parse(out, nullptr, false);
  return MLC_OK;
}

mlc_status Open(const mlc_host_api* host, mlc_host_ctx* ctx, mlc_str settings, mlc_instance** out,
                const mlc_sink* err) {
  json s = json::parse(std::string(settings.ptr ? settings.ptr : "", settings.len), nullptr, false);
  if (!s.is_object() || !s.contains("vendor")) return Fail(err, MLC_INVALID, "settings need vendor");
  auto* inst = new (std::nothrow) Instance{host, ctx, s["vendor"].get<std::string>()};
  if (!inst) return Fail(err, MLC_ERROR, "out of memory");
  *out = reinterpret_cast<mlc_instance*>(inst);
  return MLC_OK;
}

void Close(mlc_instance* instance) { delete reinterpret_cast<Instance*>(instance); }

mlc_status Check(mlc_instance* instance, mlc_str, const mlc_sink* out, const mlc_sink* err) {
  auto* inst = reinterpret_cast<Instance*>(instance);
  int code = 0;
  json body;
  std::string error;
  mlc_status s = Get(inst, "me", &code, &body, &error);
  if (s != MLC_OK) return Fail(err, s, error);
  if (code != 200) return Fail(err, MLC_AUTH, "check: HTTP " + std::to_string(code));
  std::string account, key = "account_id";
  mlc_sink acc{&account, Append}, e{&error, Append};
  inst->host->state_get(inst->ctx, {key.data(), key.size()}, &acc, &e);
  const std::string path = body.is_object() ? body.value("path", "") : "";
  return Reply(out, {{"ok", true}, {"account", {{"account_id", account}, {"path", path}}}});
}

mlc_status AuthResolve(mlc_instance* instance, mlc_str request, const mlc_sink* out, const mlc_sink* err) {
  auto* inst = reinterpret_cast<Instance*>(instance);
  json response = json::parse(std::string(request.ptr ? request.ptr : "", request.len), nullptr, false);
  if (!response.is_object()) return Fail(err, MLC_INVALID, "auth_resolve: request is not an object");
  for (const char* secret : {"access_token", "refresh_token", "id_token"}) {
    if (response.contains(secret))
      return Fail(err, MLC_ERROR, std::string("auth_resolve received ") + secret);
  }
  json reply = {{"state", json::object()}};
  if (response.contains("api_domain") && response["api_domain"].is_string()) {
    // Zoho: the API lives under the data centre's api_domain.
    reply["base_url"] = response["api_domain"].get<std::string>() + "/books/v3";
    reply["state"]["api_domain"] = response["api_domain"];
    return Reply(out, reply);
  }
  int code = 0;
  json body;
  std::string error;
  mlc_status s = Get(inst, inst->vendor + "/auth/api/v1/users/me", &code, &body, &error);
  if (s != MLC_OK) return Fail(err, s, error);
  if (code != 200) return Fail(err, MLC_AUTH, "users/me: HTTP " + std::to_string(code));
  if (!body.is_object()) return Fail(err, MLC_ERROR, "users/me: not a JSON object");
  const json account =
      body.value(json::json_pointer("/response/business_memberships/0/business/account_id"), json());
  if (!account.is_string()) return Fail(err, MLC_ERROR, "users/me: no business membership");
  reply["state"]["account_id"] = account;
  return Reply(out, reply);
}

const mlc_plugin_api kApi = {
    sizeof(mlc_plugin_api),
    MLC_ABI_VERSION,
    Open,
    Close,
    Check,
    nullptr,
    nullptr,
    nullptr,
    nullptr,
    nullptr,
    AuthResolve,
};

}  // namespace

extern "C" MLC_EXPORT const mlc_plugin_api* mlc_plugin_entry(uint32_t host_abi_version) {
  return MLC_ABI_MAJOR(host_abi_version) == MLC_ABI_VERSION_MAJOR ? &kApi : nullptr;
}
