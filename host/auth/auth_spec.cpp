// Reading the manifest's auth block and filling {placeholder} templates.
#include "auth/auth_spec.hpp"

#include <algorithm>
#include <utility>

namespace mlc::auth {
namespace {

using nlohmann::json;

Status TypeError(std::string_view key, std::string_view expected) {
  return Status::Invalid("manifest auth." + std::string(key) + ": expected " + std::string(expected));
}

Status ReadString(const json& auth, std::string_view key, std::string* out) {
  auto it = auth.find(std::string(key));
  if (it == auth.end() || it->is_null()) return Status::Ok();
  if (!it->is_string()) return TypeError(key, "a string");
  *out = it->get<std::string>();
  return Status::Ok();
}

Status ReadBool(const json& auth, std::string_view key, bool* out) {
  auto it = auth.find(std::string(key));
  if (it == auth.end() || it->is_null()) return Status::Ok();
  if (!it->is_boolean()) return TypeError(key, "true or false");
  *out = it->get<bool>();
  return Status::Ok();
}

Status ReadInt(const json& auth, std::string_view key, int64_t min, std::optional<int64_t>* out) {
  auto it = auth.find(std::string(key));
  if (it == auth.end() || it->is_null()) return Status::Ok();
  if (!it->is_number_integer() && !it->is_number_unsigned()) return TypeError(key, "an integer");
  const int64_t v = it->get<int64_t>();
  if (v < min) return TypeError(key, "an integer >= " + std::to_string(min));
  *out = v;
  return Status::Ok();
}

Status ReadStringList(const json& auth, std::string_view key, std::vector<std::string>* out) {
  auto it = auth.find(std::string(key));
  if (it == auth.end() || it->is_null()) return Status::Ok();
  if (it->is_string()) {  // tolerated: one scope given as a string
    out->push_back(it->get<std::string>());
    return Status::Ok();
  }
  if (!it->is_array()) return TypeError(key, "an array of strings");
  for (const auto& v : *it) {
    if (!v.is_string()) return TypeError(key, "an array of strings");
    out->push_back(v.get<std::string>());
  }
  return Status::Ok();
}

bool IsBadTemplateChar(char c) { return static_cast<unsigned char>(c) <= 0x20 || c == 0x7f; }

}  // namespace

std::string_view AuthKindName(AuthKind kind) {
  switch (kind) {
    case AuthKind::kNone:
      return "none";
    case AuthKind::kStaticBearer:
      return "static_bearer";
    case AuthKind::kOAuth2AuthorizationCode:
      return "oauth2_authorization_code";
    case AuthKind::kOAuth2Refresh:
      return "oauth2_refresh";
    case AuthKind::kClientCredentials:
      return "client_credentials";
    case AuthKind::kApiKeyInline:
      return "api_key_inline";
  }
  return "none";
}

Result<AuthKind> ParseAuthKind(std::string_view name) {
  for (AuthKind k : {AuthKind::kNone, AuthKind::kStaticBearer, AuthKind::kOAuth2AuthorizationCode,
                     AuthKind::kOAuth2Refresh, AuthKind::kClientCredentials, AuthKind::kApiKeyInline}) {
    if (AuthKindName(k) == name) return k;
  }
  return Status::Invalid("manifest auth.kind: unknown kind '" + std::string(name) + "'");
}

Result<AuthSpec> AuthSpec::FromManifest(const json& manifest) {
  AuthSpec spec;
  if (!manifest.is_object()) return Status::Invalid("manifest is not a JSON object");
  auto it = manifest.find("auth");
  if (it == manifest.end() || it->is_null()) return spec;
  const json& auth = *it;
  if (!auth.is_object()) return Status::Invalid("manifest auth: expected an object");

  std::string kind_name = "none";
  MLC_RETURN_IF_ERROR(ReadString(auth, "kind", &kind_name));
  MLC_ASSIGN_OR_RETURN(spec.kind, ParseAuthKind(kind_name));
  MLC_RETURN_IF_ERROR(ReadString(auth, "authorize_url", &spec.authorize_url));
  MLC_RETURN_IF_ERROR(ReadString(auth, "token_url", &spec.token_url));
  MLC_RETURN_IF_ERROR(ReadStringList(auth, "scopes", &spec.scopes));
  MLC_RETURN_IF_ERROR(ReadString(auth, "x-scope_separator", &spec.scope_separator));
  MLC_RETURN_IF_ERROR(ReadBool(auth, "pkce", &spec.pkce));
  MLC_RETURN_IF_ERROR(ReadBool(auth, "refresh_rotates", &spec.refresh_rotates));
  std::optional<int64_t> v;
  MLC_RETURN_IF_ERROR(ReadInt(auth, "refresh_margin_s", 0, &v));
  if (v) spec.refresh_margin_s = *v;
  MLC_RETURN_IF_ERROR(ReadInt(auth, "access_ttl_s", 1, &spec.access_ttl_s));

  std::string format = "form";
  MLC_RETURN_IF_ERROR(ReadString(auth, "token_request_format", &format));
  if (format != "form" && format != "json") return TypeError("token_request_format", "\"form\" or \"json\"");
  spec.token_request_json = format == "json";
  MLC_RETURN_IF_ERROR(ReadString(auth, "audience", &spec.audience));  // a template
  std::string client_auth = "body";
  MLC_RETURN_IF_ERROR(ReadString(auth, "client_auth", &client_auth));
  if (client_auth != "body" && client_auth != "basic")
    return TypeError("client_auth", "\"body\" or \"basic\"");
  spec.client_auth_basic = client_auth == "basic";

  v.reset();
  MLC_RETURN_IF_ERROR(ReadInt(auth, "idle_expiry_days", 0, &v));
  // Brex user tokens expire after 90 days without an API call: the default for static bearer tokens.
  spec.idle_expiry_days = v ? *v : (spec.kind == AuthKind::kStaticBearer ? 90 : 0);
  v.reset();
  MLC_RETURN_IF_ERROR(ReadInt(auth, "x-warn_days", 0, &v));
  if (v) spec.warn_days = *v;

  if (auto ka = auth.find("keepalive"); ka != auth.end() && !ka->is_null()) {
    if (!ka->is_object()) return TypeError("keepalive", "an object {method, path}");
    MLC_RETURN_IF_ERROR(ReadString(*ka, "method", &spec.keepalive.method));
    MLC_RETURN_IF_ERROR(ReadString(*ka, "path", &spec.keepalive.path));
    if (spec.keepalive.path.empty()) return TypeError("keepalive.path", "a non-empty path");
  }
  MLC_RETURN_IF_ERROR(ReadStringList(auth, "secret_fields", &spec.secret_fields));
  if (auto inl = auth.find("inline_fields"); inl != auth.end() && !inl->is_null()) {
    if (!inl->is_object()) return TypeError("inline_fields", "an object mapping body fields to secret names");
    for (const auto& [path, secret] : inl->items()) {
      if (!secret.is_string() || secret.get<std::string>().empty()) {
        return TypeError("inline_fields." + path, "a secret name");
      }
      MLC_ASSIGN_OR_RETURN(InlineField field, ParseInlineFieldPath(path));
      field.secret = secret.get<std::string>();
      spec.inline_fields.push_back(std::move(field));
    }
  }
  MLC_RETURN_IF_ERROR(ReadString(auth, "header", &spec.header));
  MLC_RETURN_IF_ERROR(ReadString(auth, "scheme", &spec.scheme));
  MLC_RETURN_IF_ERROR(ReadString(auth, "x-token_secret", &spec.token_secret));
  if (spec.header.empty()) return TypeError("header", "a header name");

  switch (spec.kind) {
    case AuthKind::kOAuth2AuthorizationCode:
      if (spec.authorize_url.empty())
        return Status::Invalid("manifest auth: oauth2_authorization_code needs authorize_url");
      [[fallthrough]];
    case AuthKind::kOAuth2Refresh:
    case AuthKind::kClientCredentials:
      if (spec.token_url.empty()) {
        return Status::Invalid("manifest auth: " + std::string(AuthKindName(spec.kind)) + " needs token_url");
      }
      break;
    case AuthKind::kApiKeyInline:
      if (spec.inline_fields.empty())
        return Status::Invalid("manifest auth: api_key_inline needs inline_fields");
      break;
    case AuthKind::kStaticBearer:
      if (spec.token_secret.empty()) {
        // The secret holding the token: "token", or the only declared secret.
        spec.token_secret = spec.secret_fields.size() == 1 ? spec.secret_fields.front() : "token";
      }
      break;
    case AuthKind::kNone:
      break;
  }
  return spec;
}

Result<InlineField> ParseInlineFieldPath(std::string_view path) {
  InlineField field;
  const auto bad = [&](std::string_view why) {
    return Status::Invalid("manifest auth.inline_fields: '" + std::string(path) + "' " + std::string(why));
  };
  if (path.empty()) return bad("is empty");
  const size_t hash = path.find('#');
  if (hash != std::string_view::npos) {
    // "FORMFIELD#/json/pointer": a JSON document inside a form field (Expensify's requestJobDescription).
    field.form_field = std::string(path.substr(0, hash));
    field.pointer = std::string(path.substr(hash + 1));
    if (field.pointer.empty() || field.pointer.front() != '/') return bad("needs a JSON Pointer after '#'");
  } else if (path.front() == '/') {
    field.pointer = std::string(path);
  } else {
    // Dotted path into a JSON body: "credentials.partnerUserID" -> /credentials/partnerUserID.
    size_t start = 0;
    while (start <= path.size()) {
      size_t dot = path.find('.', start);
      if (dot == std::string_view::npos) dot = path.size();
      std::string_view seg = path.substr(start, dot - start);
      if (seg.empty()) return bad("has an empty segment");
      field.pointer += '/';
      for (char c : seg) {
        if (c == '~') {
          field.pointer += "~0";
        } else if (c == '/') {
          field.pointer += "~1";
        } else {
          field.pointer += c;
        }
      }
      start = dot + 1;
    }
  }
  try {
    (void)json::json_pointer(field.pointer);
  } catch (const std::exception&) {
    return bad("is not a valid JSON Pointer");
  }
  return field;
}

std::string AuthSpec::HeaderValue(std::string_view token) const {
  if (scheme.empty()) return std::string(token);
  return scheme + " " + std::string(token);
}

Result<std::string> FillTemplate(std::string_view tmpl, const std::map<std::string, std::string>& vars,
                                 std::string_view what) {
  std::string out;
  out.reserve(tmpl.size() + 32);
  for (size_t i = 0; i < tmpl.size(); ++i) {
    const char c = tmpl[i];
    if (c == '{' && i + 1 < tmpl.size() && tmpl[i + 1] == '{') {
      out += '{';
      ++i;
      continue;
    }
    if (c == '}' && i + 1 < tmpl.size() && tmpl[i + 1] == '}') {
      out += '}';
      ++i;
      continue;
    }
    if (c == '}') return Status::Invalid(std::string(what) + ": unbalanced '}' in template");
    if (c != '{') {
      out += c;
      continue;
    }
    const size_t close = tmpl.find('}', i + 1);
    if (close == std::string_view::npos)
      return Status::Invalid(std::string(what) + ": unbalanced '{' in template");
    const std::string name(tmpl.substr(i + 1, close - i - 1));
    auto it = vars.find(name);
    if (it == vars.end()) {
      return Status::Invalid(std::string(what) + " needs {" + name + "}: set '" + name +
                             "' in the connection's settings");
    }
    if (it->second.empty()) return Status::Invalid(std::string(what) + ": {" + name + "} is empty");
    for (char v : it->second) {
      if (IsBadTemplateChar(v)) {
        return Status::Invalid(std::string(what) + ": {" + name +
                               "} contains whitespace or control characters");
      }
    }
    out += it->second;
    i = close;
  }
  return out;
}

std::vector<std::string> TemplateNames(std::string_view tmpl) {
  std::vector<std::string> names;
  for (size_t i = 0; i < tmpl.size(); ++i) {
    if ((tmpl[i] == '{' || tmpl[i] == '}') && i + 1 < tmpl.size() && tmpl[i + 1] == tmpl[i]) {
      ++i;  // an escaped brace
      continue;
    }
    if (tmpl[i] != '{') continue;
    const size_t close = tmpl.find('}', i + 1);
    if (close == std::string_view::npos) break;
    std::string name(tmpl.substr(i + 1, close - i - 1));
    if (std::find(names.begin(), names.end(), name) == names.end()) names.push_back(std::move(name));
    i = close;
  }
  return names;
}

std::string FillTemplatePartial(std::string_view tmpl, const std::map<std::string, std::string>& vars) {
  std::string out;
  size_t i = 0;
  while (i < tmpl.size()) {
    const size_t open = tmpl.find('{', i);
    if (open == std::string_view::npos) break;
    const size_t close = tmpl.find('}', open + 1);
    if (close == std::string_view::npos) break;
    out.append(tmpl.substr(i, open - i));
    auto it = vars.find(std::string(tmpl.substr(open + 1, close - open - 1)));
    const bool usable = it != vars.end() && !it->second.empty() &&
                        std::none_of(it->second.begin(), it->second.end(), IsBadTemplateChar);
    out.append(usable ? std::string_view(it->second) : tmpl.substr(open, close - open + 1));
    i = close + 1;
  }
  out.append(tmpl.substr(std::min(i, tmpl.size())));
  return out;
}

std::map<std::string, std::string> TemplateVars(const json& settings,
                                                const std::map<std::string, std::string>& state) {
  std::map<std::string, std::string> vars = state;
  if (!settings.is_object()) return vars;
  for (const auto& [key, value] : settings.items()) {
    if (value.is_string()) {
      vars[key] = value.get<std::string>();
    } else if (value.is_number_integer() || value.is_number_unsigned()) {
      vars[key] = value.dump();
    } else if (value.is_boolean()) {
      vars[key] = value.get<bool>() ? "true" : "false";
    }
  }
  return vars;
}

}  // namespace mlc::auth
