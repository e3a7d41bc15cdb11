// The `auth` block of a plugin manifest as the host reads it, and the {placeholder} templates used by
// token URLs and base URLs.
//
//   MLC_ASSIGN_OR_RETURN(mlc::auth::AuthSpec spec, mlc::auth::AuthSpec::FromManifest(plugin.manifest));
//   MLC_ASSIGN_OR_RETURN(std::string url, mlc::auth::FillTemplate(spec.token_url, vars, "token_url"));
//
// Manifest keys read (sdk/schemas/manifest.schema.json; defaults in brackets): kind; authorize_url,
// token_url (templates); scopes; pkce [false]; refresh_rotates [false]; refresh_margin_s [300];
// access_ttl_s (when the token response has no expires_in); token_request_format form|json [form];
// audience (a template); client_auth body|basic [body]; idle_expiry_days [90 for static_bearer];
// keepalive {method, path}; secret_fields; inline_fields; header ["Authorization"]; scheme ["Bearer"; ""
// sends the bare token]. Extensions the schema does not name yet (x- keys): x-warn_days [14],
// x-scope_separator
// [" "], x-token_secret (static_bearer: the secret holding the token [the only secret_fields entry, else
// "token"]).
// inline_fields (api_key_inline) maps an injection point to a secret name. The point is written
//   "FORMFIELD#/json/pointer"  the JSON document carried by form field FORMFIELD (urlencoded or multipart),
//                              at that JSON Pointer. Expensify:
//                              "requestJobDescription#/credentials/partnerUserID"
//   "/json/pointer"            the JSON request body, at that pointer
//   "a.b.c"                    the JSON request body at /a/b/c (the schema's dotted form); a single segment
//                              also names a plain field of an urlencoded form body
//
// Thread safety: plain values and pure functions.
#ifndef MLC_HOST_AUTH_AUTH_SPEC_HPP_
#define MLC_HOST_AUTH_AUTH_SPEC_HPP_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "mlc/status.hpp"

namespace mlc::auth {

enum class AuthKind {
  kNone,
  kStaticBearer,             // a long-lived token typed in by the operator (Brex bxt_)
  kOAuth2AuthorizationCode,  // browser consent, then refresh tokens (FreshBooks: rotating)
  kOAuth2Refresh,            // a permanent refresh token (Zoho, regional)
  kClientCredentials,        // client id + secret exchanged for short-lived tokens (Procurify, Entra ID)
  kApiKeyInline,             // credentials travel inside the request body (Expensify)
};

std::string_view AuthKindName(AuthKind kind);
Result<AuthKind> ParseAuthKind(std::string_view name);

// True for the kinds whose access tokens come from a token endpoint.
inline bool UsesTokenEndpoint(AuthKind k) {
  return k == AuthKind::kOAuth2AuthorizationCode || k == AuthKind::kOAuth2Refresh ||
         k == AuthKind::kClientCredentials;
}
// True for the kinds that hold a refresh token.
inline bool UsesRefreshToken(AuthKind k) {
  return k == AuthKind::kOAuth2AuthorizationCode || k == AuthKind::kOAuth2Refresh;
}

struct InlineField {
  std::string secret;      // connection secret whose value is inserted
  std::string form_field;  // form field holding a JSON document; empty: the body is the JSON document
  std::string pointer;     // JSON Pointer inside that document, e.g. "/credentials/partnerUserSecret"
};

// Parses an inline_fields key (see above) into form_field + pointer (secret left empty).
Result<InlineField> ParseInlineFieldPath(std::string_view path);

struct KeepAlive {
  std::string method = "GET";
  std::string path;  // relative to the connection's base URL; empty: no keep-alive call
};

struct AuthSpec {
  AuthKind kind = AuthKind::kNone;
  std::string authorize_url;  // template
  std::string token_url;      // template
  std::vector<std::string> scopes;
  std::string scope_separator = " ";
  bool pkce = false;
  bool refresh_rotates = false;
  int64_t refresh_margin_s = 300;
  std::optional<int64_t> access_ttl_s;
  bool token_request_json = false;  // token_request_format == "json"
  std::string audience;
  bool client_auth_basic = false;  // client_auth == "basic"
  int64_t idle_expiry_days = 0;    // static_bearer: 90 unless the manifest says otherwise; 0 = none
  int64_t warn_days = 14;
  KeepAlive keepalive;
  std::vector<std::string> secret_fields;
  std::vector<InlineField> inline_fields;
  std::string header = "Authorization";
  std::string scheme = "Bearer";
  std::string token_secret;  // static_bearer: "token" unless the manifest names another secret

  // Reads manifest["auth"]; a manifest without one is kind none. Invalid (naming the key) when a value
  // has the wrong type or the kind lacks what it needs (token_url, inline_fields, ...).
  static Result<AuthSpec> FromManifest(const nlohmann::json& manifest);

  // The header value carrying `token` ("Bearer abc", or "abc" when scheme is empty).
  std::string HeaderValue(std::string_view token) const;
};

// Replaces each {name} in `tmpl` with vars[name]. Invalid, naming `what` and the placeholder, when a
// placeholder has no value, a value is empty or holds whitespace/control characters, or a brace is
// unbalanced. "{{" and "}}" stand for literal braces.
Result<std::string> FillTemplate(std::string_view tmpl, const std::map<std::string, std::string>& vars,
                                 std::string_view what);

// Like FillTemplate, but placeholders without a (usable) value stay as they are. Used to learn the
// origin of a base URL whose path still waits for resolved state.
std::string FillTemplatePartial(std::string_view tmpl, const std::map<std::string, std::string>& vars);

// The placeholder names a template uses ("{base_url}/x/{account_id}" -> base_url, account_id); "{{" and "}}"
// are literal braces. Malformed braces are left for FillTemplate to report.
std::vector<std::string> TemplateNames(std::string_view tmpl);

// The placeholder variables of a connection: resolved `state` (e.g. an account id found by auth_resolve)
// and every top-level string, integer or boolean of `settings`; settings win, so an operator can pin a
// value the plugin would otherwise resolve.
std::map<std::string, std::string> TemplateVars(const nlohmann::json& settings,
                                                const std::map<std::string, std::string>& state = {});

}  // namespace mlc::auth

#endif  // MLC_HOST_AUTH_AUTH_SPEC_HPP_
