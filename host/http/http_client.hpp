// The host's HTTP client (libcurl): connection reuse, retries with full-jitter backoff inside a budget,
// Retry-After and vendor reset hints, per-connection rate limits, and the UNCERTAIN rule for writes.
//
//   mlc::http::HttpClient client;
//   mlc::http::HttpRequest req{.method = "POST", .url = base + "/bills", .body = json};
//   req.headers = {{"Content-Type", "application/json"}, {"Authorization", "Bearer " + token}};
//   req.idempotency_key = job_key;                      // makes the POST safe to retry
//   mlc::http::RetryPolicy policy;                      // 5 attempts, 2 minutes, 0.5 s base, 30 s cap
//   policy.extra_retry_headers = {"x-ratelimit-reset"};
//   mlc::Result<mlc::http::HttpResponse> res = client.Send(req, policy, limiter.get());
//
// Outcomes of Send:
//   OK         an HTTP response arrived (any status the policy does not retry; the caller interprets it).
//   RETRY      transient failures (429/502/503/504, connection errors, timeouts) outlasted the attempts or
//              the time budget, or a server's retry hint is longer than the budget left.
//   UNCERTAIN  a non-idempotent request may have reached the server but no response came back (timeout
//              while waiting, connection reset or closed after sending). It was not repeated; reconcile.
//   INVALID    malformed request (method, URL, header with CR/LF, unsupported scheme).
//   ERROR      anything else permanent (e.g. TLS certificate verification failed).
// Which failures are retried:
//   - 429 and 503 (refused_statuses): the server declined the request, so any method is retried.
//   - 502 and 504 (retry_statuses): a gateway answered and the origin may have acted, so only idempotent
//     requests are retried; a non-idempotent request gets the 502/504 response back (OK) to reconcile.
//   - failures before anything was sent (cannot resolve, connection refused, TLS handshake, connect
//     timeout): retried for every method.
//   - failures after sending: retried only for idempotent requests; otherwise UNCERTAIN.
//   A request is idempotent when HttpRequest::idempotent says so, else when its method is GET, HEAD, PUT,
//   DELETE, OPTIONS or TRACE, or when it carries an idempotency key.
//
// Transport facts (libcurl 7.88):
//   - One easy handle per thread, reused for every request the thread sends, so keep-alive connections,
//     the DNS cache and TLS sessions survive between requests (curl_easy_reset keeps them).
//   - libcurl silently re-sends a request once when a *reused* connection dies before any response byte.
//     That would duplicate a non-idempotent write, so such requests always open a fresh connection.
//   - TLS peer and host verification are always on. Redirects are not followed (the caller sees 3xx; an
//     Authorization header must not wander to another host). Only http and https are allowed.
//   - Proxies come from the environment as libcurl reads them when no proxy is set: http_proxy (lower
//     case only, by libcurl's design), https_proxy/HTTPS_PROXY, all_proxy/ALL_PROXY, no_proxy/NO_PROXY.
//   - No size limit on request or response bodies. "Expect: 100-continue" is suppressed (servers that
//     ignore it would stall every large upload by a second).
// Secrets: error messages name the method, the URL without user info, query or fragment, and curl's error
// text (redacted); never a header value or a body.
//
// Thread safety: HttpClient::Send may be called from any number of threads at once. A RetryPolicy's clock,
// sleeper and random source, and the RateLimiter, must outlive the call.
#ifndef MLC_HOST_HTTP_HTTP_CLIENT_HPP_
#define MLC_HOST_HTTP_HTTP_CLIENT_HPP_

#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "http/clock.hpp"
#include "http/rate_limiter.hpp"
#include "mlc/status.hpp"

namespace mlc::http {

struct MultipartPart {
  std::string name{};
  std::string filename{};      // empty: a plain form field; otherwise sent as a file part
  std::string content_type{};  // empty: libcurl's default (text/plain or application/octet-stream)
  std::string data{};          // raw bytes
};

struct HttpRequest {
  std::string method = "GET";
  std::string url{};  // absolute http:// or https:// URL
  std::vector<std::pair<std::string, std::string>> headers{};
  std::string body{};                      // raw bytes; ignored when `multipart` is not empty
  std::vector<MultipartPart> multipart{};  // non-empty: sent as multipart/form-data
  std::optional<bool> idempotent{};        // unset: decided by method and idempotency key (see above)
  std::string idempotency_key{};           // when set, sent in `idempotency_header` (unless already present)
  std::string idempotency_header = "Idempotency-Key";
  std::chrono::milliseconds connect_timeout{10'000};
  std::chrono::milliseconds total_timeout{120'000};  // per attempt; 0 = no limit

  bool IsIdempotent() const;
};

struct HttpResponse {
  int status = 0;
  std::map<std::string, std::string> headers{};  // lower-case names; repeated headers joined by ", "
  std::string body{};

  // The header's value, or nullptr. `name` is matched case-insensitively.
  const std::string* Header(std::string_view name) const;
};

// How a retry-hint header writes when to retry: the manifest's limit_headers.reset_kind, Retry-After's own
// grammar, or the older guess of extra_retry_headers.
enum class HintFormat {
  kRetryAfter,  // delta-seconds or an HTTP-date (Retry-After under another name)
  kSeconds,     // reset_kind "seconds": seconds from now (fractions allowed)
  kEpoch,       // reset_kind "epoch": a Unix time in seconds (fractions allowed)
  kHttpDate,    // reset_kind "http_date": an HTTP-date (IMF-fixdate, RFC 850 or asctime)
  kAuto,        // seconds, or a Unix time when above ten years' worth of seconds
};

// A response header that says when to retry, and how its value is written.
struct HintHeader {
  std::string name{};  // case-insensitive
  HintFormat format = HintFormat::kAuto;
};

// The format named by a manifest reset_kind ("seconds", "epoch", "http_date"); nullopt for anything else.
std::optional<HintFormat> HintFormatForResetKind(std::string_view reset_kind);

struct RetryPolicy {
  int max_attempts = 5;                          // including the first attempt
  Duration max_total = std::chrono::minutes(2);  // no retry starts later than this after the first attempt
  Duration base_delay = std::chrono::milliseconds(500);
  Duration max_delay = std::chrono::seconds(30);  // cap of the jittered backoff (not of server hints)
  Duration max_pause = std::chrono::hours(24);    // longest a hint may pause a whole rate limiter
  std::vector<int> refused_statuses{429, 503};    // retried for every method
  std::vector<int> retry_statuses{502, 504};      // retried for idempotent requests only
  // Besides Retry-After (always honoured, delta-seconds or HTTP-date): more response headers that say when
  // to retry, holding seconds to wait or a Unix epoch time (values above ten years' worth of seconds are
  // read as epoch), e.g. "x-ratelimit-reset". Case-insensitive.
  std::vector<std::string> extra_retry_headers{};
  // Hint headers with a declared format (from the manifest's limit_headers). A value that does not parse
  // in its format is ignored with a debug log line, and the jittered backoff applies.
  std::vector<HintHeader> hint_headers{};
  Clock* clock = nullptr;            // nullptr: DefaultClock()
  Sleeper* sleeper = nullptr;        // nullptr: DefaultClock()
  std::function<double()> random{};  // uniform in [0, 1); empty: a per-thread generator seeded at random
};

// Full jitter: uniform(0, min(max_delay, base_delay * 2^retry_index)); retry_index 0 is the first retry.
Duration BackoffDelay(const RetryPolicy& policy, int retry_index);

// Retry-After: delta-seconds ("120") or an HTTP-date (IMF-fixdate, RFC 850 or asctime). Dates in the past
// give zero. nullopt when the value is neither.
std::optional<Duration> ParseRetryAfter(std::string_view value, WallTime now);

// Reset-style hints: seconds to wait (fractions allowed) or Unix epoch seconds. nullopt when not a number.
std::optional<Duration> ParseResetHint(std::string_view value, WallTime now);

// A hint written in `format`: the wait from `now` (zero for times in the past, at most ~100 years), or
// nullopt when the value is not of that format.
std::optional<Duration> ParseHint(std::string_view value, HintFormat format, WallTime now);

// An HTTP-date (RFC 9110 5.6.7: IMF-fixdate "Sun, 06 Nov 1994 08:49:37 GMT", RFC 850
// "Sunday, 06-Nov-94 08:49:37 GMT" or asctime "Sun Nov  6 08:49:37 1994") as Unix seconds; nullopt for
// anything else, including impossible dates and times.
std::optional<int64_t> ParseHttpDate(std::string_view value);

// The URL as it may appear in messages: scheme, host, port and path; no user info, query or fragment.
std::string UrlForMessages(std::string_view url);

class HttpClient {
 public:
  struct Options {
    std::string user_agent = "ml-connector";
    std::string ca_file{};  // empty: the system's CA store
  };

  HttpClient();
  explicit HttpClient(Options options);

  // Sends `request`, retrying per `policy`. With a limiter, every attempt first takes a permit from it, and
  // a 429 (or any retried status carrying a retry hint) pauses the whole limiter for the wait chosen (at
  // most max_pause). While the limiter is paused beyond this request's remaining budget, Send returns RETRY
  // at once without contacting the server.
  Result<HttpResponse> Send(const HttpRequest& request, const RetryPolicy& policy = {},
                            RateLimiter* limiter = nullptr) const;

 private:
  Options options_;
};

}  // namespace mlc::http

#endif  // MLC_HOST_HTTP_HTTP_CLIENT_HPP_
