// Outgoing webhooks for emulators: a retrying sender and the Standard Webhooks (Svix) signer.
//
// Standard Webhooks: headers webhook-id, webhook-timestamp (Unix seconds), webhook-signature
// ("v1,<base64 HMAC-SHA256(key, "<id>.<timestamp>.<body>")>", space-separated, one per secret while a
// rotation is in progress); secrets are "whsec_" + base64 of the key bytes (the prefix is optional).
//
//   WebhookSender sender(ctx.clock, &ctx.stats);
//   sender.SetSigner([&](const WebhookMessage& m, int64_t ts) {
//     return standard_webhooks::Headers(CurrentSecrets(), m.id, ts, m.body).value_or({});
//   });
//   sender.Enqueue(url, R"({"event_type":"TRANSFER_PROCESSED"})", "TRANSFER_PROCESSED");
//
// Delivery: POST with Content-Type application/json; any 2xx is success; anything else (or a transport
// error) is retried with exponential backoff up to max_attempts. Retries keep the message id and get a
// fresh timestamp and signature.
//
// Thread safety: every member may be called from any thread. The signer runs on the sender's thread.
#ifndef MLC_SANDBOX_WEBHOOKS_HPP_
#define MLC_SANDBOX_WEBHOOKS_HPP_

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "mlc/sandbox/clock.hpp"
#include "mlc/sandbox/http.hpp"
#include "mlc/sandbox/seed.hpp"
#include "mlc/sandbox/stats.hpp"
#include "mlc/status.hpp"

namespace mlc::sandbox {

namespace standard_webhooks {

inline constexpr int64_t kDefaultToleranceSeconds = 300;

// Key bytes of a secret, with or without the "whsec_" prefix. Invalid when not base64 or empty.
Result<std::string> DecodeSecret(std::string_view secret);
// "whsec_" + base64 of `bytes` random bytes (24..64).
std::string GenerateSecret(SeededRng& rng, size_t bytes = 32);
// "v1,<base64 signature>".
Result<std::string> Sign(std::string_view secret, std::string_view msg_id, int64_t timestamp,
                         std::string_view body);
// One "v1,..." per secret, space-separated.
Result<std::string> SignatureHeader(const std::vector<std::string>& secrets, std::string_view msg_id,
                                    int64_t timestamp, std::string_view body);
// {{"Webhook-Id", id}, {"Webhook-Timestamp", ts}, {"Webhook-Signature", header}}.
Result<HeaderList> Headers(const std::vector<std::string>& secrets, std::string_view msg_id,
                           int64_t timestamp, std::string_view body);
// Verifies one delivery against any of `secrets`: timestamp within tolerance of `now_unix`, and some
// "v1," entry of `signature_header` equal (constant time) to the expected signature. Other versions
// ("v2,", "v1a,") are skipped. Auth status on mismatch/staleness, Invalid on malformed input.
Status Verify(const std::vector<std::string>& secrets, std::string_view msg_id, std::string_view timestamp,
              std::string_view signature_header, std::string_view body, int64_t now_unix,
              int64_t tolerance_s = kDefaultToleranceSeconds);
// As Verify, reading webhook-* (or svix-*) headers from `headers`.
Status VerifyHeaders(const std::vector<std::string>& secrets, const HeaderList& headers,
                     std::string_view body, int64_t now_unix, int64_t tolerance_s = kDefaultToleranceSeconds);

}  // namespace standard_webhooks

struct WebhookMessage {
  std::string id;  // unchanged across retries
  std::string url;
  std::string body;
  std::string event_type;
  std::string content_type = "application/json";  // vendors that post forms set their own
  HeaderList headers;  // sent on every attempt before the signer's (e.g. a signature fixed at enqueue time)
};

// Produces the vendor's signature headers for one attempt at `timestamp` (Unix seconds, sandbox clock).
using WebhookSigner = std::function<HeaderList(const WebhookMessage& message, int64_t timestamp)>;

struct WebhookSenderOptions {
  int max_attempts = 5;
  std::chrono::milliseconds initial_backoff{250};
  double backoff_multiplier = 2.0;
  std::chrono::milliseconds max_backoff{5000};
  std::chrono::milliseconds request_timeout{10000};
};

struct WebhookDelivery {
  WebhookMessage message;
  int attempts = 0;
  long last_status = 0;  // 0: no HTTP response
  std::string last_error;
  std::string state;  // "pending", "delivered", "failed"
};

class WebhookSender {
 public:
  // `stats` (optional) must outlive the sender.
  WebhookSender(const Clock& clock, Stats* stats, WebhookSenderOptions options = {});
  ~WebhookSender();  // stops the thread; deliveries still pending are abandoned
  WebhookSender(const WebhookSender&) = delete;
  WebhookSender& operator=(const WebhookSender&) = delete;

  void SetSigner(WebhookSigner signer);
  void SetOptions(WebhookSenderOptions options);

  // Queues a delivery and returns its message id ("msg_<base62>" when `id` is empty).
  std::string Enqueue(std::string url, std::string body, std::string event_type = {}, std::string id = {});
  // Queues a prepared message (its content type and fixed headers); same id rule as above.
  std::string Enqueue(WebhookMessage message);
  // Waits until nothing is queued or waiting for a retry; false on timeout.
  bool WaitIdle(std::chrono::milliseconds timeout);

  std::vector<WebhookDelivery> Deliveries() const;
  // [{"id","url","event_type","attempts","last_status","last_error","state","body"}...]
  nlohmann::json ToJson() const;
  // Forgets the log and abandons pending deliveries.
  void Reset();

 private:
  struct Pending {
    size_t index;  // into log_
    std::chrono::steady_clock::time_point due;
  };
  void Run();

  const Clock& clock_;
  Stats* stats_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  WebhookSenderOptions options_;
  WebhookSigner signer_;
  SeededRng rng_{0x5eed'b00c};
  std::vector<WebhookDelivery> log_;
  std::deque<Pending> pending_;
  size_t in_flight_ = 0;
  uint64_t generation_ = 0;  // bumped by Reset so in-flight results are discarded
  bool stop_ = false;
  std::thread worker_;
};

}  // namespace mlc::sandbox

#endif  // MLC_SANDBOX_WEBHOOKS_HPP_
