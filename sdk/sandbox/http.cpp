// Request/Response helpers for the sandbox kit; URL/query encoding forwards to mlc/text.hpp.
#include "mlc/sandbox/http.hpp"

#include "mlc/json.hpp"
#include "mlc/text.hpp"

namespace mlc::sandbox {

bool EqualsIgnoreCase(std::string_view a, std::string_view b) { return text::EqualsIgnoreCase(a, b); }

std::string UrlDecode(std::string_view encoded, bool plus_is_space) {
  return text::PercentDecode(encoded, plus_is_space);
}

std::string UrlEncode(std::string_view raw) { return text::PercentEncode(raw); }

ParamList ParseQueryString(std::string_view query) { return text::ParseForm(query); }

std::string EncodeQueryString(const ParamList& params) { return text::EncodeForm(params); }

std::optional<std::string> Request::Header(std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (EqualsIgnoreCase(k, name)) return v;
  }
  return std::nullopt;
}

std::optional<std::string> Request::Query(std::string_view name) const {
  for (const auto& [k, v] : query) {
    if (k == name) return v;
  }
  return std::nullopt;
}

std::vector<std::string> Request::QueryAll(std::string_view name) const {
  std::vector<std::string> out;
  for (const auto& [k, v] : query) {
    if (k == name) out.push_back(v);
  }
  return out;
}

bool Request::HasQuery(std::string_view name) const { return Query(name).has_value(); }

std::string Request::Param(const std::string& name) const {
  auto it = params.find(name);
  return it == params.end() ? std::string() : it->second;
}

Result<nlohmann::json> Request::JsonBody() const {
  if (body.empty()) return Status::Invalid("request body is empty");
  return json::Parse(body);
}

ParamList Request::FormBody() const { return ParseQueryString(body); }

std::optional<std::string> Request::BearerToken() const {
  auto h = Header("Authorization");
  if (!h) return std::nullopt;
  std::string_view v = *h;
  while (!v.empty() && v.front() == ' ') v.remove_prefix(1);
  if (v.size() < 7 || !EqualsIgnoreCase(v.substr(0, 7), "bearer ")) return std::nullopt;
  v.remove_prefix(7);
  while (!v.empty() && v.front() == ' ') v.remove_prefix(1);
  while (!v.empty() && v.back() == ' ') v.remove_suffix(1);
  if (v.empty()) return std::nullopt;
  return std::string(v);
}

Response Response::Json(int status, const nlohmann::json& body) {
  Response r;
  r.status = status;
  r.content_type = "application/json";
  r.body = body.dump();
  return r;
}

Response Response::Text(int status, std::string body) {
  return Raw(status, "text/plain; charset=utf-8", std::move(body));
}

Response Response::Raw(int status, std::string content_type, std::string body) {
  Response r;
  r.status = status;
  r.content_type = std::move(content_type);
  r.body = std::move(body);
  return r;
}

Response Response::Empty(int status) {
  Response r;
  r.status = status;
  return r;
}

Response Response::Redirect(std::string location, int status) {
  Response r;
  r.status = status;
  r.headers.emplace_back("Location", std::move(location));
  return r;
}

Response Response::Reset() {
  Response r;
  r.disposition = Disposition::kReset;
  return r;
}

Response& Response::SetHeader(std::string name, std::string value) {
  for (auto& [k, v] : headers) {
    if (EqualsIgnoreCase(k, name)) {
      v = std::move(value);
      return *this;
    }
  }
  headers.emplace_back(std::move(name), std::move(value));
  return *this;
}

std::optional<std::string> Response::Header(std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (EqualsIgnoreCase(k, name)) return v;
  }
  if (EqualsIgnoreCase(name, "Content-Type") && !content_type.empty()) return content_type;
  return std::nullopt;
}

}  // namespace mlc::sandbox
