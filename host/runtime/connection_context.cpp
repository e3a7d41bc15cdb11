// Host services for one connection (HTTP with auth/limits/retries/audit, secrets, state, blobs, log,
// clock) and the runtime that owns the shared services.
#include "runtime/connection_context.hpp"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <utility>

#include "auth/auth_state.hpp"
#include "core/log.hpp"
#include "core/redact.hpp"
#include "mlc/json.hpp"
#include "store/kv.hpp"
#include "vault/resolve.hpp"

namespace mlc::runtime {

using nlohmann::json;

namespace {

bool IEquals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

bool IsAbsoluteUrl(std::string_view url) {
  auto starts = [&](std::string_view p) {
    return url.size() >= p.size() && IEquals(url.substr(0, p.size()), p);
  };
  return starts("http://") || starts("https://");
}

// "scheme://host[:port]" in lower case, or "" when `url` is not an absolute http(s) URL.
std::string Origin(std::string_view url) {
  if (!IsAbsoluteUrl(url)) return {};
  const size_t scheme_end = url.find("://") + 3;
  size_t end = url.find_first_of("/?#", scheme_end);
  if (end == std::string_view::npos) end = url.size();
  std::string_view authority = url.substr(scheme_end, end - scheme_end);
  if (const size_t at = authority.rfind('@'); at != std::string_view::npos) authority.remove_prefix(at + 1);
  std::string out(url.substr(0, scheme_end));
  out += authority;
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  // Default ports name the same origin.
  auto strip = [&](std::string_view scheme, std::string_view port) {
    if (out.rfind(scheme, 0) == 0 && out.size() > port.size() &&
        out.compare(out.size() - port.size(), port.size(), port) == 0) {
      out.resize(out.size() - port.size());
    }
  };
  strip("http://", ":80");
  strip("https://", ":443");
  return out;
}

std::string JoinUrl(std::string_view base, std::string_view path) {
  std::string out(base);
  if (path.empty()) return out;
  const bool base_slash = !out.empty() && out.back() == '/';
  const bool path_slash = path.front() == '/';
  if (base_slash && path_slash) {
    out.pop_back();
  } else if (!base_slash && !path_slash && path.front() != '?') {
    out += '/';
  }
  out += path;
  return out;
}

std::string UrlEncode(std::string_view v) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(v.size() * 3);
  for (unsigned char c : v) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// application/x-www-form-urlencoded decoding ('+' is a space).
std::string FormDecode(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  for (size_t i = 0; i < v.size(); ++i) {
    if (v[i] == '+') {
      out += ' ';
    } else if (v[i] == '%' && i + 2 < v.size() && HexValue(v[i + 1]) >= 0 && HexValue(v[i + 2]) >= 0) {
      out += static_cast<char>(HexValue(v[i + 1]) * 16 + HexValue(v[i + 2]));
      i += 2;
    } else {
      out += v[i];
    }
  }
  return out;
}

// A form body as raw "name=value" segments, so untouched fields are re-sent byte for byte.
struct FormSegment {
  std::string name;  // decoded
  std::string raw;
};
std::vector<FormSegment> SplitForm(std::string_view body) {
  std::vector<FormSegment> out;
  size_t start = 0;
  while (start <= body.size()) {
    size_t amp = body.find('&', start);
    if (amp == std::string_view::npos) amp = body.size();
    std::string_view seg = body.substr(start, amp - start);
    if (!seg.empty()) {
      const size_t eq = seg.find('=');
      out.push_back({FormDecode(seg.substr(0, eq)), std::string(seg)});
    }
    start = amp + 1;
  }
  return out;
}
std::string JoinForm(const std::vector<FormSegment>& segs) {
  std::string out;
  for (const auto& s : segs) {
    if (!out.empty()) out += '&';
    out += s.raw;
  }
  return out;
}
std::string FormValue(const FormSegment& seg) {
  const size_t eq = seg.raw.find('=');
  return eq == std::string::npos ? std::string() : FormDecode(std::string_view(seg.raw).substr(eq + 1));
}

Status SetPointer(json& doc, const std::string& pointer, const std::string& value, std::string_view where) {
  try {
    doc[json::json_pointer(pointer)] = value;
  } catch (const std::exception&) {
    return Status::Invalid("cannot place credentials at " + pointer + " in " + std::string(where));
  }
  return Status::Ok();
}

// Writes the connection's inline credentials into the request body (api_key_inline).
Status InjectInline(const std::vector<auth::InlineCredential>& creds, http::HttpRequest& req) {
  std::string content_type;
  for (const auto& [k, v] : req.headers) {
    if (IEquals(k, "content-type")) content_type = v;
  }
  std::string ct_lower = content_type;
  for (char& c : ct_lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  const bool is_form = ct_lower.find("application/x-www-form-urlencoded") != std::string::npos;
  for (const auto& cred : creds) {
    const auth::InlineField& f = cred.field;
    if (!f.form_field.empty()) {
      const std::string where = "form field '" + f.form_field + "'";
      if (!req.multipart.empty()) {
        auto it = std::find_if(req.multipart.begin(), req.multipart.end(),
                               [&](const http::MultipartPart& p) { return p.name == f.form_field; });
        if (it == req.multipart.end()) {
          return Status::Invalid("the request has no " + where + " to carry the connection's credentials");
        }
        json doc = json::parse(it->data, nullptr, false);
        if (!doc.is_object()) return Status::Invalid(where + " does not hold a JSON object");
        MLC_RETURN_IF_ERROR(SetPointer(doc, f.pointer, cred.value, where));
        it->data = doc.dump();
        continue;
      }
      auto segs = SplitForm(req.body);
      auto it = std::find_if(segs.begin(), segs.end(),
                             [&](const FormSegment& s) { return s.name == f.form_field; });
      if (it == segs.end()) {
        return Status::Invalid("the request has no " + where + " to carry the connection's credentials");
      }
      json doc = json::parse(FormValue(*it), nullptr, false);
      if (!doc.is_object()) return Status::Invalid(where + " does not hold a JSON object");
      MLC_RETURN_IF_ERROR(SetPointer(doc, f.pointer, cred.value, where));
      it->raw = UrlEncode(f.form_field) + "=" + UrlEncode(doc.dump());
      req.body = JoinForm(segs);
      continue;
    }
    // No form field: the JSON body itself, or a plain field of an urlencoded form.
    const size_t slash = f.pointer.find('/', 1);
    if (is_form && slash == std::string::npos) {
      std::string name = json::json_pointer(f.pointer).back();
      auto segs = SplitForm(req.body);
      const std::string raw = UrlEncode(name) + "=" + UrlEncode(cred.value);
      auto it = std::find_if(segs.begin(), segs.end(), [&](const FormSegment& s) { return s.name == name; });
      if (it == segs.end()) {
        segs.push_back({name, raw});
      } else {
        it->raw = raw;
      }
      req.body = JoinForm(segs);
      continue;
    }
    json doc = req.body.empty() ? json::object() : json::parse(req.body, nullptr, false);
    if (!doc.is_object())
      return Status::Invalid("the request body is not a JSON object to carry credentials");
    MLC_RETURN_IF_ERROR(SetPointer(doc, f.pointer, cred.value, "the JSON body"));
    req.body = doc.dump();
  }
  return Status::Ok();
}

Code Fail(const Status& s, std::string* err) {
  *err = redact::RedactText(s.message());
  return s.code();
}

spdlog::level::level_enum LevelFor(int32_t level) {
  switch (level) {
    case MLC_LOG_DEBUG:
      return spdlog::level::debug;
    case MLC_LOG_INFO:
      return spdlog::level::info;
    case MLC_LOG_WARN:
      return spdlog::level::warn;
    default:
      return spdlog::level::err;
  }
}

}  // namespace

// ---- manifest-derived settings ------------------------------------------------------------------

http::RateLimitConfig RateLimitsFor(const config::Connection& connection, const json& manifest) {
  http::RateLimitConfig cfg;
  if (!connection.rate_limits.empty()) {
    for (const auto& r : connection.rate_limits) {
      if (r.requests > 0 && r.per_seconds > 0)
        cfg.windows.push_back({r.requests, std::chrono::seconds(r.per_seconds)});
    }
  } else if (auto it = manifest.find("rate_limits"); it != manifest.end() && it->is_array()) {
    for (const auto& w : *it) {
      if (!w.is_object()) continue;
      const int64_t n = w.value("requests", int64_t{0});
      const int64_t s = w.value("per_seconds", int64_t{0});
      if (n > 0 && s > 0) cfg.windows.push_back({n, std::chrono::seconds(s)});
    }
  }
  if (connection.concurrency && *connection.concurrency > 0) {
    cfg.max_concurrent = *connection.concurrency;
  } else if (auto it = manifest.find("concurrency"); it != manifest.end() && it->is_number_integer()) {
    cfg.max_concurrent = std::max(0, it->get<int>());
  }
  return cfg;
}

std::vector<http::HintHeader> RetryHeadersFor(const json& manifest) {
  std::vector<http::HintHeader> out;
  auto it = manifest.find("limit_headers");
  if (it == manifest.end() || !it->is_object()) return out;
  // Retry-After itself is always honoured; a differently named one, and a reset header, are extras.
  if (auto ra = it->find("retry_after");
      ra != it->end() && ra->is_string() && !IEquals(ra->get<std::string>(), "retry-after")) {
    out.push_back({ra->get<std::string>(), http::HintFormat::kRetryAfter});
  }
  if (auto reset = it->find("reset"); reset != it->end() && reset->is_string()) {
    // The schema requires reset_kind with reset; a manifest without one (or with a kind this host does not
    // know) gets the seconds-or-epoch guess.
    const auto kind = it->find("reset_kind");
    std::optional<http::HintFormat> format;
    if (kind != it->end() && kind->is_string())
      format = http::HintFormatForResetKind(kind->get<std::string>());
    out.push_back({reset->get<std::string>(), format.value_or(http::HintFormat::kAuto)});
  }
  return out;
}

// ---- ConnectionContext --------------------------------------------------------------------------

// The names the manifest declares under `secrets`.
std::vector<std::string> DeclaredSecrets(const json& manifest) {
  std::vector<std::string> declared;
  if (auto it = manifest.find("secrets"); it != manifest.end() && it->is_array()) {
    for (const auto& s : *it) {
      if (s.is_object() && s.contains("name") && s["name"].is_string())
        declared.push_back(s["name"].get<std::string>());
    }
  }
  return declared;
}

auth::SecretSource ConnectionContext::MakeSecretSource(const config::Connection& connection,
                                                       const json& manifest, vault::Vault* vault) {
  std::vector<std::string> declared = DeclaredSecrets(manifest);
  return [conn = connection, declared = std::move(declared),
          vault](std::string_view name) -> Result<std::string> {
    auto it = conn.secrets.find(std::string(name));
    if (it != conn.secrets.end()) return vault::ResolveSecret(it->second, vault);
    if (std::find(declared.begin(), declared.end(), name) != declared.end() && vault != nullptr) {
      auto v = vault->Get(conn.name, name);
      if (v.ok() || v.status().code() != Code::kNotFound) return v;
    }
    return Status::NotFound("connection " + conn.name + " configures no secret '" + std::string(name) + "'");
  };
}

ConnectionContext::ConnectionContext(const config::Connection& connection, const json& manifest,
                                     auth::AuthSpec spec, Services services)
    : connection_(connection),
      plugin_name_(manifest.value("name", connection.plugin)),
      spec_(std::move(spec)),
      limits_(RateLimitsFor(connection, manifest)),
      retry_headers_(RetryHeadersFor(manifest)),
      base_url_template_(manifest.value("base_url", std::string())),
      services_(std::move(services)),
      secrets_(MakeSecretSource(connection, manifest, services_.vault)),
      declared_secrets_(DeclaredSecrets(manifest)) {}

Result<std::unique_ptr<ConnectionContext>> ConnectionContext::Create(const config::Connection& connection,
                                                                     const json& manifest,
                                                                     Services services) {
  if (!services.store || !services.http || !services.limiters || !services.tokens) {
    return Status::Invalid(
        "connection context needs a store, an HTTP client, rate limiters and a token manager");
  }
  MLC_ASSIGN_OR_RETURN(auth::AuthSpec spec, auth::AuthSpec::FromManifest(manifest));
  if (!services.tokens->IsRegistered(connection.name)) {
    return Status::Invalid("connection " + connection.name + " is not registered with the token manager");
  }
  MLC_RETURN_IF_ERROR(http::RateLimiter::Validate(RateLimitsFor(connection, manifest)));
  return std::unique_ptr<ConnectionContext>(
      new ConnectionContext(connection, manifest, std::move(spec), std::move(services)));
}

int64_t ConnectionContext::NowMs() {
  const http::Clock* clock = services_.clock ? services_.clock : &http::DefaultClock();
  return std::chrono::duration_cast<std::chrono::milliseconds>(clock->WallNow().time_since_epoch()).count();
}

void ConnectionContext::Log(int32_t level, std::string_view message) {
  // Redacted here as well as in the sink, so no sink added later can see a secret a plugin logged.
  mlc::Log().log(LevelFor(level), "[{}/{}] {}", plugin_name_, connection_.name, redact::RedactText(message));
}

Code ConnectionContext::SecretGet(std::string_view name, std::string* out, std::string* err) {
  if (HostOnlySecret(name)) {
    return Fail(Status::NotFound("secret '" + std::string(name) +
                                 "' is used by the host for authentication and is not readable by plugins"),
                err);
  }
  auto v = secrets_(name);
  if (!v.ok()) return Fail(v.status(), err);
  *out = std::move(*v);
  return Code::kOk;
}

bool ConnectionContext::HostOnlySecret(std::string_view name) const {
  return name == "access_token" || name == "refresh_token" ||
         std::find(spec_.secret_fields.begin(), spec_.secret_fields.end(), name) != spec_.secret_fields.end();
}

Code ConnectionContext::SecretPut(std::string_view name, std::string_view value, std::string* err) {
  const std::string n(name);
  // No "secret_put:" prefix: the redactor masks whatever follows a secret-like word and a colon.
  const std::string what = "cannot store secret '" + n + "' for connection " + connection_.name;
  if (n.empty()) return Fail(Status::Invalid("cannot store a secret with an empty name"), err);
  if (std::find(declared_secrets_.begin(), declared_secrets_.end(), n) == declared_secrets_.end()) {
    return Fail(Status::Invalid(what + ": it is not declared under 'secrets' in plugin " + plugin_name_ +
                                "'s manifest"),
                err);
  }
  // Credentials the host authenticates with are the operator's to set, not the plugin's.
  if (HostOnlySecret(n)) {
    return Fail(
        Status::Invalid(what + ": it is used by the host for authentication; cannot be written by plugins"),
        err);
  }
  // Write where SecretGet reads: the connection's own vault entry, or the field its config maps it to.
  std::string field = n;
  if (auto it = connection_.secrets.find(n); it != connection_.secrets.end()) {
    const config::SecretRef& ref = it->second;
    const std::string at = ref.where.file.empty() ? "" : " (at " + ref.where.ToString() + ")";
    if (ref.kind == config::SecretRef::Kind::kEnv) {
      return Fail(
          Status::Invalid(what + ": it is configured from the environment" + at + "; cannot be written"),
          err);
    }
    if (ref.connection != connection_.name) {
      return Fail(Status::Invalid(what + ": it is configured from connection " + ref.connection + " (vault:" +
                                  ref.connection + "/" + ref.field + ")" + at + "; cannot be written"),
                  err);
    }
    field = ref.field;
  }
  if (services_.vault == nullptr) {
    return Fail(
        Status::Invalid(what + ": it needs the vault, but no master key is configured (set MLC_MASTER_KEY "
                               "or [vault] key_file)"),
        err);
  }
  // Vault::Put seals and writes in one transaction of its own and registers the value with the redactor.
  if (Status s = services_.vault->Put(connection_.name, field, value); !s.ok())
    return Fail(s.Wrap(what), err);
  mlc::Log().info("[{}/{}] plugin stored secret '{}' in the vault", plugin_name_, connection_.name, n);
  return Code::kOk;
}

Code ConnectionContext::StateGet(std::string_view key, std::string* out, std::string* err) {
  if (key.empty()) return Fail(Status::Invalid("state key is empty"), err);
  auto v = store::KvGet(*services_.store, auth::PluginScope(connection_.name), key);
  if (!v.ok()) return Fail(v.status(), err);
  if (!*v) return Fail(Status::NotFound("no state '" + std::string(key) + "'"), err);
  *out = std::move(**v);
  return Code::kOk;
}

Code ConnectionContext::StatePut(std::string_view key, std::string_view value, std::string* err) {
  if (key.empty()) return Fail(Status::Invalid("state key is empty"), err);
  Status s = store::KvPut(*services_.store, auth::PluginScope(connection_.name), key, value, NowMs());
  if (!s.ok()) return Fail(s, err);
  return Code::kOk;
}

Code ConnectionContext::BlobPut(std::string_view content_type, std::string_view bytes, std::string* id_out,
                                std::string* err) {
  auto id = store::BlobPut(*services_.store, content_type.empty() ? "application/octet-stream" : content_type,
                           bytes, NowMs());
  if (!id.ok()) return Fail(id.status(), err);
  *id_out = std::move(*id);
  return Code::kOk;
}

Code ConnectionContext::BlobGet(std::string_view id, std::string* out, std::string* content_type_out,
                                std::string* err) {
  auto blob = store::BlobGet(*services_.store, id);
  if (!blob.ok()) return Fail(blob.status(), err);
  if (!*blob) return Fail(Status::NotFound("no blob " + std::string(id)), err);
  *out = std::move((*blob)->data);
  *content_type_out = std::move((*blob)->content_type);
  return Code::kOk;
}

Code ConnectionContext::Http(std::string_view request_json, std::string_view body, std::string* meta,
                             std::string* body_out, std::string* err) {
  RequestSummary summary;
  summary.connection = connection_.name;
  summary.plugin = plugin_name_;
  const auto start = std::chrono::steady_clock::now();
  Status s = HttpImpl(request_json, body, meta, body_out, &summary);
  summary.latency_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start).count();
  summary.outcome = s.code();
  if (services_.audit && !summary.method.empty()) services_.audit(summary);
  if (!s.ok()) return Fail(s, err);
  return Code::kOk;
}

Status ConnectionContext::HttpImpl(std::string_view request_json, std::string_view body, std::string* meta,
                                   std::string* body_out, RequestSummary* summary) {
  MLC_ASSIGN_OR_RETURN(json request, mlc::json::Parse(request_json));
  if (!request.is_object()) return Status::Invalid("http request: expected a JSON object");
  auto str = [&](const char* key) -> std::optional<std::string> {
    auto it = request.find(key);
    if (it == request.end() || !it->is_string()) return std::nullopt;
    return it->get<std::string>();
  };
  auto method = str("method");
  auto url_in = str("url");
  if (!method || method->empty()) return Status::Invalid("http request: 'method' (string) is required");
  // An empty url is the base URL itself (Expensify has a single endpoint).
  if (!url_in) return Status::Invalid("http request: 'url' (string) is required");
  std::string m = *method;
  for (char& c : m) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));

  http::HttpRequest req;
  req.method = m;
  if (auto it = request.find("headers"); it != request.end() && !it->is_null()) {
    if (!it->is_object()) return Status::Invalid("http request: 'headers' must be an object of strings");
    for (const auto& [k, v] : it->items()) {
      if (!v.is_string()) return Status::Invalid("http request: header '" + k + "' must be a string");
      req.headers.emplace_back(k, v.get<std::string>());
    }
  }
  std::string query;
  if (auto it = request.find("query"); it != request.end() && !it->is_null()) {
    if (!it->is_object()) return Status::Invalid("http request: 'query' must be an object");
    // A scalar's text, or nullopt for anything that is not a string, number or boolean.
    auto scalar = [](const json& v) -> std::optional<std::string> {
      if (v.is_string()) return v.get<std::string>();
      if (v.is_number() || v.is_boolean()) return v.dump();
      return std::nullopt;
    };
    for (const auto& [k, v] : it->items()) {
      // An array is a repeated parameter (name=a&name=b), its elements in order.
      std::vector<std::string> values;
      if (v.is_array()) {
        // Nothing to send is said by leaving the parameter out; an empty array is more likely a mistake.
        if (v.empty()) {
          return Status::Invalid("http request: query parameter '" + k +
                                 "' is an empty array (leave the parameter out to send no value)");
        }
        for (size_t i = 0; i < v.size(); ++i) {
          auto text = scalar(v[i]);
          if (!text) {
            return Status::Invalid("http request: query parameter '" + k + "' element " + std::to_string(i) +
                                   " must be a string or number");
          }
          values.push_back(std::move(*text));
        }
      } else if (auto text = scalar(v)) {
        values.push_back(std::move(*text));
      } else {
        return Status::Invalid("http request: query parameter '" + k +
                               "' must be a string, a number or an array of strings and numbers");
      }
      for (const std::string& value : values) {
        if (!query.empty()) query += '&';
        query += UrlEncode(k) + "=" + UrlEncode(value);
      }
    }
  }
  bool use_auth = true;
  if (auto it = request.find("auth"); it != request.end() && !it->is_null()) {
    if (!it->is_boolean()) return Status::Invalid("http request: 'auth' must be true or false");
    use_auth = it->get<bool>();
  }
  if (auto it = request.find("idempotent"); it != request.end() && !it->is_null()) {
    if (!it->is_boolean()) return Status::Invalid("http request: 'idempotent' must be true or false");
    req.idempotent = it->get<bool>();
  }
  if (auto key = str("idempotency_key")) req.idempotency_key = *key;
  if (auto it = request.find("timeout_ms"); it != request.end() && !it->is_null()) {
    if (!it->is_number_integer() || it->get<int64_t>() < 0) {
      return Status::Invalid("http request: 'timeout_ms' must be a non-negative integer");
    }
    req.total_timeout = std::chrono::milliseconds(it->get<int64_t>());
  }
  bool response_blob = false;
  if (auto it = request.find("response_blob"); it != request.end() && !it->is_null()) {
    if (!it->is_boolean()) return Status::Invalid("http request: 'response_blob' must be true or false");
    response_blob = it->get<bool>();
  }
  if (auto it = request.find("multipart"); it != request.end() && !it->is_null()) {
    if (!it->is_array()) return Status::Invalid("http request: 'multipart' must be an array of parts");
    for (const auto& p : *it) {
      if (!p.is_object() || !p.contains("name") || !p["name"].is_string()) {
        return Status::Invalid("http request: every multipart part needs a 'name'");
      }
      http::MultipartPart part;
      part.name = p["name"].get<std::string>();
      part.filename = p.value("filename", std::string());
      part.content_type = p.value("content_type", std::string());
      const bool has_data = p.contains("data") && p["data"].is_string();
      const bool has_blob = p.contains("blob") && p["blob"].is_string();
      if (has_data == has_blob) {
        return Status::Invalid("http request: multipart part '" + part.name +
                               "' needs exactly one of data or blob");
      }
      if (has_data) {
        part.data = p["data"].get<std::string>();
      } else {
        const std::string id = p["blob"].get<std::string>();
        MLC_ASSIGN_OR_RETURN(auto blob, store::BlobGet(*services_.store, id));
        if (!blob)
          return Status::Invalid("http request: multipart part '" + part.name + "' names unknown blob " + id);
        part.data = std::move(blob->data);
        if (part.content_type.empty()) part.content_type = blob->content_type;
      }
      req.multipart.push_back(std::move(part));
    }
  } else {
    req.body = std::string(body);
  }

  // URL: relative to the base URL, or absolute (credentials only to the base URL's origin).
  const bool applies_auth = use_auth && spec_.kind != auth::AuthKind::kNone;
  std::string url;
  if (IsAbsoluteUrl(*url_in)) {
    url = *url_in;
    if (applies_auth) {
      std::string allowed;
      if (auto base = services_.tokens->BaseUrl(connection_.name); base.ok()) {
        allowed = Origin(*base);
      } else if (auto vars = services_.tokens->TemplateVariables(connection_.name); vars.ok()) {
        // Base URL not complete yet (auth_resolve fills its path): its origin, when that much is known.
        const std::string partial = auth::FillTemplatePartial(base_url_template_, *vars);
        allowed = Origin(partial);
        if (allowed.find('{') != std::string::npos) allowed.clear();
      }
      if (allowed.empty() || Origin(url) != allowed) {
        return Status::Invalid("http request: refusing to send the connection's credentials to " +
                               http::UrlForMessages(url) +
                               " (not the base URL's host); set \"auth\": false to call "
                               "it without credentials");
      }
    }
  } else {
    MLC_ASSIGN_OR_RETURN(std::string base, services_.tokens->BaseUrl(connection_.name));
    url = JoinUrl(base, *url_in);
  }
  if (!query.empty()) url += (url.find('?') == std::string::npos ? "?" : "&") + query;
  req.url = url;
  summary->method = m;
  summary->url = http::UrlForMessages(url);

  if (applies_auth && spec_.kind == auth::AuthKind::kApiKeyInline) {
    MLC_ASSIGN_OR_RETURN(auto creds, services_.tokens->InlineCredentials(connection_.name));
    MLC_RETURN_IF_ERROR(InjectInline(creds, req));
  }

  http::RetryPolicy policy;
  policy.hint_headers = retry_headers_;
  policy.clock = services_.clock;
  policy.sleeper = services_.sleeper;
  MLC_ASSIGN_OR_RETURN(std::shared_ptr<http::RateLimiter> limiter,
                       services_.limiters->Get(connection_.name, limits_));

  const bool bearer =
      applies_auth && (auth::UsesTokenEndpoint(spec_.kind) || spec_.kind == auth::AuthKind::kStaticBearer);
  std::optional<auth::Token> token;
  if (bearer) {
    MLC_ASSIGN_OR_RETURN(token, services_.tokens->GetAccessToken(connection_.name));
  }
  const size_t base_headers = req.headers.size();
  http::HttpResponse res;
  for (int attempt = 0;; ++attempt) {
    req.headers.resize(base_headers);
    if (token) {
      // The host's credential replaces any header of the same name the plugin set.
      req.headers.erase(std::remove_if(req.headers.begin(), req.headers.end(),
                                       [&](const auto& h) { return IEquals(h.first, spec_.header); }),
                        req.headers.end());
      req.headers.emplace_back(spec_.header, spec_.HeaderValue(token->value));
    }
    MLC_ASSIGN_OR_RETURN(res, services_.http->Send(req, policy, limiter.get()));
    summary->status = res.status;
    if (res.status != 401 || !token) break;
    if (attempt == 1) {
      return Status::Auth("connection " + connection_.name +
                          ": credentials were rejected again after a token "
                          "refresh (HTTP 401 from " +
                          summary->url + ")");
    }
    MLC_ASSIGN_OR_RETURN(token, services_.tokens->OnUnauthorized(connection_.name, *token));
    summary->refreshed = true;
  }
  if (token && spec_.kind == auth::AuthKind::kStaticBearer && res.status >= 200 && res.status < 300) {
    MLC_RETURN_IF_ERROR(services_.tokens->RecordSuccessfulUse(connection_.name));
  }

  json meta_doc = {{"status", res.status}, {"headers", res.headers}};
  if (response_blob && res.status >= 200 && res.status < 300) {
    std::string type = "application/octet-stream";
    if (const std::string* ct = res.Header("content-type"); ct && !ct->empty()) type = *ct;
    MLC_ASSIGN_OR_RETURN(std::string id, store::BlobPut(*services_.store, type, res.body, NowMs()));
    meta_doc["blob"] = id;
  } else {
    *body_out = std::move(res.body);
  }
  *meta = meta_doc.dump();
  return Status::Ok();
}

// ---- ConnectionRuntime --------------------------------------------------------------------------

ConnectionRuntime::ConnectionRuntime(store::Store& store, vault::Vault* vault, Options options)
    : store_(store), vault_(vault), options_(std::move(options)) {
  http_ = std::make_unique<http::HttpClient>(options_.http);
  http::Clock* clock = options_.clock ? options_.clock : &http::DefaultClock();
  http::Sleeper* sleeper = options_.sleeper ? options_.sleeper : &http::DefaultClock();
  limiters_ = std::make_unique<http::RateLimiterRegistry>(clock, sleeper);
  auth::TokenManager::Options token_options = options_.tokens;
  if (options_.clock) token_options.clock = options_.clock;
  if (options_.sleeper && !token_options.token_policy.sleeper)
    token_options.token_policy.sleeper = options_.sleeper;
  if (options_.clock && !token_options.token_policy.clock) token_options.token_policy.clock = options_.clock;
  tokens_ = std::make_unique<auth::TokenManager>(store_, vault_, *http_, std::move(token_options));
}

ConnectionRuntime::~ConnectionRuntime() = default;

Status ConnectionRuntime::AddConnection(const config::Connection& connection,
                                        std::shared_ptr<const loader::LoadedPlugin> plugin) {
  if (!plugin)
    return Status::Invalid("connection " + connection.name + ": plugin '" + connection.plugin +
                           "' is not loaded");
  MLC_RETURN_IF_ERROR(AddConnection(connection, plugin->manifest));
  std::lock_guard lock(mu_);
  entries_.at(connection.name)->plugin = std::move(plugin);
  return Status::Ok();
}

Status ConnectionRuntime::AddConnection(const config::Connection& connection, const json& manifest) {
  if (connection.name.empty()) return Status::Invalid("connection name is empty");
  auto spec = auth::AuthSpec::FromManifest(manifest);
  if (!spec.ok()) return spec.status().Wrap("connection " + connection.name);
  auth::ConnectionAuth ca;
  ca.name = connection.name;
  ca.spec = *spec;
  ca.base_url_template = manifest.value("base_url", std::string());
  ca.settings = connection.settings;
  ca.secrets = ConnectionContext::MakeSecretSource(connection, manifest, vault_);
  MLC_RETURN_IF_ERROR(tokens_->Register(std::move(ca)));

  ConnectionContext::Services services;
  services.store = &store_;
  services.vault = vault_;
  services.http = http_.get();
  services.limiters = limiters_.get();
  services.tokens = tokens_.get();
  services.clock = options_.clock;
  services.sleeper = options_.sleeper;
  services.audit = options_.audit;
  MLC_ASSIGN_OR_RETURN(auto context, ConnectionContext::Create(connection, manifest, std::move(services)));
  auto entry = std::make_unique<Entry>();
  entry->config = connection;
  entry->manifest = manifest;
  entry->context = std::move(context);
  std::lock_guard lock(mu_);
  limiters_->Remove(connection.name);  // a re-added connection gets its (possibly changed) limits
  entries_[connection.name] = std::move(entry);
  return Status::Ok();
}

std::vector<std::pair<std::string, Status>> ConnectionRuntime::AddConfiguredConnections(
    const config::Config& config, const loader::PluginRegistry& plugins) {
  std::vector<std::pair<std::string, Status>> failed;
  for (const auto& [name, conn] : config.connections) {
    Status s = AddConnection(conn, plugins.Find(conn.plugin));
    if (!s.ok()) failed.emplace_back(name, std::move(s));
  }
  return failed;
}

Result<ConnectionRuntime::Entry*> ConnectionRuntime::Find(std::string_view connection) {
  std::lock_guard lock(mu_);
  auto it = entries_.find(connection);
  if (it == entries_.end())
    return Status::NotFound("connection " + std::string(connection) + " is not configured");
  return it->second.get();
}

Result<ConnectionContext*> ConnectionRuntime::Context(std::string_view connection) {
  MLC_ASSIGN_OR_RETURN(Entry * e, Find(connection));
  return e->context.get();
}

Result<std::unique_ptr<loader::PluginInstance>> ConnectionRuntime::OpenInstance(std::string_view connection,
                                                                                bool prepare_auth) {
  MLC_ASSIGN_OR_RETURN(Entry * e, Find(connection));
  if (!e->plugin) return Status::Invalid("connection " + e->config.name + ": its plugin is not loaded");
  if (prepare_auth && auth::UsesTokenEndpoint(e->context->auth_spec().kind)) {
    MLC_ASSIGN_OR_RETURN(auth::Token token, tokens_->GetAccessToken(e->config.name));
    (void)token;
  }
  MLC_ASSIGN_OR_RETURN(auto instance,
                       loader::PluginInstance::Open(e->plugin, e->context.get(), e->config.settings));
  if (prepare_auth) {
    auto resolved = ResolveAuth(e->config.name, *instance);
    if (!resolved.ok()) return resolved.status();
  }
  return instance;
}

Result<json> ConnectionRuntime::ResolveAuth(std::string_view connection, loader::PluginInstance& instance) {
  MLC_ASSIGN_OR_RETURN(Entry * e, Find(connection));
  MLC_ASSIGN_OR_RETURN(std::optional<json> pending, tokens_->PendingAuthResolve(e->config.name));
  if (!pending) return json::object();
  const mlc_plugin_api* api = instance.plugin().api;
  const bool has_hook =
      api != nullptr && MLC_TABLE_HAS(api, mlc_plugin_api, auth_resolve) && api->auth_resolve;
  if (!has_hook) {
    MLC_RETURN_IF_ERROR(tokens_->MarkAuthResolved(e->config.name));
    return json::object();
  }
  auto reply = instance.AuthResolve(*pending);
  if (!reply.ok()) return reply.status().Wrap("connection " + e->config.name + ": auth_resolve");
  const json& doc = *reply;
  if (!doc.is_object())
    return Status::Invalid("connection " + e->config.name + ": auth_resolve did not answer an object");
  std::optional<std::string> base_url;
  if (auto it = doc.find("base_url"); it != doc.end() && !it->is_null()) {
    if (!it->is_string() || !IsAbsoluteUrl(it->get<std::string>())) {
      return Status::Invalid("connection " + e->config.name +
                             ": auth_resolve returned a base_url that is not an "
                             "http(s) URL");
    }
    base_url = it->get<std::string>();
  }
  const json state = doc.value("state", json::object());
  if (!state.is_object())
    return Status::Invalid("connection " + e->config.name + ": auth_resolve 'state' must be an object");
  const int64_t now = tokens_->NowMs();
  MLC_RETURN_IF_ERROR(store_.Transaction([&](store::Tx& tx) -> Status {
    for (const auto& [k, v] : state.items()) {
      if (k.empty()) continue;
      MLC_RETURN_IF_ERROR(store::KvPut(tx, auth::PluginScope(e->config.name), k,
                                       v.is_string() ? v.get<std::string>() : v.dump(), now));
    }
    if (base_url)
      MLC_RETURN_IF_ERROR(
          store::KvPut(tx, auth::AuthScope(e->config.name), auth::keys::kBaseUrl, *base_url, now));
    return Status::Ok();
  }));
  MLC_RETURN_IF_ERROR(tokens_->MarkAuthResolved(e->config.name));
  return doc;
}

}  // namespace mlc::runtime
