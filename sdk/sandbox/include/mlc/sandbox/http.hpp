// The sandbox kit's HTTP request and response values, with query/form/URL helpers.
//
// These are plain values (no Boost.Beast types) so emulators compile without Beast; only server.cpp
// converts them to and from the wire.
//
//   Response Get(Request& req) {
//     auto limit = req.Query("limit");                        // first ?limit=, decoded
//     std::vector<std::string> types = req.QueryAll("status[]");
//     return Response::Json(200, {{"items", nlohmann::json::array()}});
//   }
//
// Thread safety: values; a Request is handled by one thread at a time.
#ifndef MLC_SANDBOX_HTTP_HPP_
#define MLC_SANDBOX_HTTP_HPP_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "mlc/status.hpp"

namespace mlc::sandbox {

using HeaderList = std::vector<std::pair<std::string, std::string>>;
using ParamList = std::vector<std::pair<std::string, std::string>>;

// Case-insensitive ASCII comparison, as HTTP header names need.
bool EqualsIgnoreCase(std::string_view a, std::string_view b);

// Percent-decoding; `plus_is_space` for application/x-www-form-urlencoded and query strings.
// Malformed escapes are kept verbatim.
std::string UrlDecode(std::string_view text, bool plus_is_space = true);
// Percent-encodes everything except RFC 3986 unreserved characters.
std::string UrlEncode(std::string_view text);
// "a=1&b=x%20y" -> {{"a","1"},{"b","x y"}} (order and repeats kept; keys like "expand[]" verbatim).
ParamList ParseQueryString(std::string_view text);
// {{"a","1"},{"b","x y"}} -> "a=1&b=x%20y".
std::string EncodeQueryString(const ParamList& params);

struct Request {
  std::string method;  // upper case: "GET"
  std::string target;  // as received: "/v1/vendors?limit=2"
  std::string path;    // target before '?', not decoded: "/v1/vendors"
  ParamList query;     // decoded
  HeaderList headers;
  std::string body;
  std::string remote;  // "127.0.0.1:54022"

  // Filled by the router: captures of `{name}` segments (decoded) and the matched route key
  // ("GET /v1/vendors/{id}"; empty when no route matched).
  std::map<std::string, std::string> params;
  std::string route;

  std::optional<std::string> Header(std::string_view name) const;
  std::optional<std::string> Query(std::string_view name) const;
  std::vector<std::string> QueryAll(std::string_view name) const;
  bool HasQuery(std::string_view name) const;
  // Path parameter by name; empty when absent.
  std::string Param(const std::string& name) const;
  // The body as JSON (ordinary parse); Invalid with a reason when malformed.
  Result<nlohmann::json> JsonBody() const;
  // The body as application/x-www-form-urlencoded pairs.
  ParamList FormBody() const;
  // Bearer token from "Authorization: Bearer x", or nullopt.
  std::optional<std::string> BearerToken() const;
};

struct Response {
  // What the server does with the connection after the handler returns.
  enum class Disposition {
    kRespond,  // write this response
    kReset,    // close the socket abortively (TCP RST) without a response
    kDrop,     // close the socket (FIN) without a response
  };

  int status = 200;
  HeaderList headers;  // Content-Type is added from content_type when body is non-empty
  std::string content_type;
  std::string body;
  Disposition disposition = Disposition::kRespond;
  int64_t delay_ms = 0;  // wait this long before acting (fault-injected latency)

  static Response Json(int status, const nlohmann::json& body);
  static Response Text(int status, std::string body);
  static Response Raw(int status, std::string content_type, std::string body);
  static Response Empty(int status);
  static Response Redirect(std::string location, int status = 302);
  static Response Reset();

  Response& SetHeader(std::string name, std::string value);
  std::optional<std::string> Header(std::string_view name) const;
};

}  // namespace mlc::sandbox

#endif  // MLC_SANDBOX_HTTP_HPP_
