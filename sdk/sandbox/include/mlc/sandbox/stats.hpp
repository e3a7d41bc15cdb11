// Counters an emulator exposes at GET /_sandbox/stats: requests by route and status, tokens, 429s,
// injected faults and webhook deliveries.
//
// Thread safety: every member may be called from any thread.
#ifndef MLC_SANDBOX_STATS_HPP_
#define MLC_SANDBOX_STATS_HPP_

#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace mlc::sandbox {

class Stats {
 public:
  // `outcome` is the HTTP status as text ("200") or "reset" / "dropped" for connection faults.
  void CountRequest(std::string_view route_key, std::string_view outcome);
  int64_t Requests(std::string_view route_key, std::string_view outcome) const;
  int64_t TotalRequests() const;

  void CountTokenIssued() { ++tokens_issued_; }
  void CountTokenRefreshed() { ++tokens_refreshed_; }
  void CountTokenRejected() { ++tokens_rejected_; }
  void CountFault(std::string_view kind);  // "429", "5xx", "reset", "commit_then_drop", "latency"
  void CountWebhookAttempt() { ++webhook_attempts_; }
  void CountWebhookSent() { ++webhooks_sent_; }
  void CountWebhookFailed() { ++webhooks_failed_; }
  void CountIdempotentReplay() { ++idempotent_replays_; }

  int64_t tokens_issued() const { return tokens_issued_; }
  int64_t tokens_refreshed() const { return tokens_refreshed_; }
  int64_t tokens_rejected() const { return tokens_rejected_; }
  int64_t responses_429() const;  // every 429 sent, rate-limited or injected
  int64_t webhooks_sent() const { return webhooks_sent_; }
  int64_t webhooks_failed() const { return webhooks_failed_; }
  int64_t webhook_attempts() const { return webhook_attempts_; }
  int64_t Faults(std::string_view kind) const;

  // {"requests": {"GET /v1/vendors": {"200": 3}}, "requests_total": 3,
  //  "tokens": {"issued", "refreshed", "rejected"}, "responses_429": 0,
  //  "webhooks": {"attempts", "sent", "failed"}, "faults": {...}, "idempotent_replays": 0}
  nlohmann::json ToJson() const;
  void Reset();

 private:
  mutable std::mutex mu_;
  std::map<std::string, std::map<std::string, int64_t>, std::less<>> requests_;
  std::map<std::string, int64_t, std::less<>> faults_;
  int64_t total_ = 0;
  int64_t status_429_ = 0;
  std::atomic<int64_t> tokens_issued_{0};
  std::atomic<int64_t> tokens_refreshed_{0};
  std::atomic<int64_t> tokens_rejected_{0};
  std::atomic<int64_t> webhook_attempts_{0};
  std::atomic<int64_t> webhooks_sent_{0};
  std::atomic<int64_t> webhooks_failed_{0};
  std::atomic<int64_t> idempotent_replays_{0};
};

}  // namespace mlc::sandbox

#endif  // MLC_SANDBOX_STATS_HPP_
