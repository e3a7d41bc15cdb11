// A blocking libcurl HTTP client for sandbox tests, the harness and the webhook sender.
//
// Test infrastructure only: plugins never link libcurl (the host executes their requests).
//
//   HttpClient client;
//   auto r = client.Send("POST", base + "/v1/vendors", {{"Idempotency-Key", "k1"}},
//   R"({"company_name":"A"})"); if (!r.ok()) ...                         // transport failure:
//   Status::Retry("...Empty reply...") EXPECT_EQ(r->status, 200); auto doc = r->Json();
//
// Thread safety: one HttpClient per thread (it owns a curl easy handle and its connection cache).
#ifndef MLC_SANDBOX_HTTP_CLIENT_HPP_
#define MLC_SANDBOX_HTTP_CLIENT_HPP_

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "mlc/sandbox/http.hpp"
#include "mlc/status.hpp"

namespace mlc::sandbox {

struct HttpResponse {
  long status = 0;
  HeaderList headers;
  std::string body;

  std::optional<std::string> Header(std::string_view name) const;
  Result<nlohmann::json> Json() const;
};

class HttpClient {
 public:
  HttpClient();
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // Sends one request. A JSON Content-Type is added when `body` is non-empty and `headers` has none.
  // Transport failures (refused, reset, empty reply, timeout) return Status::Retry with curl's reason.
  Result<HttpResponse> Send(std::string_view method, const std::string& url, const HeaderList& headers = {},
                            std::string_view body = {});
  Result<HttpResponse> Get(const std::string& url, const HeaderList& headers = {}) {
    return Send("GET", url, headers);
  }
  Result<HttpResponse> PostJson(const std::string& url, const nlohmann::json& body,
                                const HeaderList& headers = {}) {
    return Send("POST", url, headers, body.dump());
  }

  // false: every request opens a fresh connection. Needed where a test expects a connection-level fault
  // to surface, because libcurl silently re-sends a request once when a reused connection dies.
  void set_reuse_connections(bool reuse) { reuse_ = reuse; }
  void set_timeout(std::chrono::milliseconds timeout) { timeout_ = timeout; }

 private:
  void* curl_ = nullptr;  // CURL*
  bool reuse_ = true;
  std::chrono::milliseconds timeout_{10000};
};

// Initialises libcurl once per process (thread-safe); HttpClient calls it itself.
void EnsureCurlInitialized();

}  // namespace mlc::sandbox

#endif  // MLC_SANDBOX_HTTP_CLIENT_HPP_
