// What happens to webhook events after StoreWebhookSink committed them: WebhookEventProcessor hands the
// unprocessed rows of webhook_events to the engine (through a handler) and stamps processed_at, and prunes
// the replay-protection and audit rows once they are past their retention.
//
//   WebhookEventProcessor processor(store, [&](const std::string& conn, const nlohmann::json& events) {
//     return sync.OnWebhookEvents(conn, events).status();
//   });
//   processor.Start();                          // the hand-over thread
//   sink = StoreWebhookSink(store, verify, [&](const std::string& conn, const auto&) {
//     processor.Kick();                         // after the commit; the 2xx does not wait for the engine
//   });
//   processor.ProcessPending();                 // at start-up: events a crash left unprocessed
//   processor.Prune({.seen = 7 days, .processed_events = 30 days});
//
// A row is stamped only after its handler call succeeded, so a crash or a failing handler leaves it for
// the next ProcessPending: an event is handed over at least once (the engine's inbox makes that once).
//
// Ownership: borrows the Store (must outlive the processor). Thread safety: every method may be called
// from any thread; processing is serialised, so one event is not handed over twice at the same time.
#ifndef MLC_HOST_WEBHOOKS_EVENTS_HPP_
#define MLC_HOST_WEBHOOKS_EVENTS_HPP_

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

#include "mlc/status.hpp"

namespace mlc::store {
class Store;
}

namespace mlc::webhooks {

// Receives one connection's events as a JSON array of {"id", "type", "stream"?, "source_id"?, "payload"?}
// (SyncService::OnWebhookEvents's input). An error leaves the events unprocessed, to be offered again.
using WebhookEventHandler =
    std::function<Status(const std::string& connection, const nlohmann::json& events)>;

struct WebhookRetention {
  // webhook_seen rows (replay protection) older than this are deleted. Keep it longer than any vendor's
  // redelivery window: a redelivery after it would be recorded again (the engine's inbox still makes it
  // one job).
  std::chrono::milliseconds seen{std::chrono::hours(24 * 7)};
  // Processed webhook_events rows (the audit of what arrived) older than this are deleted. Unprocessed
  // rows are never pruned.
  std::chrono::milliseconds processed_events{std::chrono::hours(24 * 30)};
};

struct PruneResult {
  int64_t seen_deleted = 0;
  int64_t events_deleted = 0;
};

class WebhookEventProcessor {
 public:
  // `now_ms`: the clock for processed_at and retention (empty: the system clock).
  WebhookEventProcessor(store::Store* store, WebhookEventHandler handler,
                        std::function<int64_t()> now_ms = {});

  // Hands every unprocessed event of `connection` (all connections when nullopt), oldest first, to the
  // handler, one call per connection and batch, and stamps processed_at on those it accepted. Returns how
  // many events were processed; the first handler or store error (after trying every connection).
  Result<int64_t> ProcessPending(const std::optional<std::string>& connection = std::nullopt);

  // Unprocessed events (for /readyz details and tests).
  Result<int64_t> PendingCount();

  // Deletes webhook_seen rows received before now - retention.seen and processed webhook_events rows
  // received before now - retention.processed_events.
  Result<PruneResult> Prune(const WebhookRetention& retention);

  // Hand-over off the request path: Start() runs a thread that calls ProcessPending whenever Kick() was
  // called since its last pass, so the vendor's 2xx waits only for the commit, and a burst of deliveries
  // is handed over in a few batches instead of one pass each. Stop() makes a last pass and joins; the
  // destructor stops too. Failures are logged and left for the next kick or the periodic pass.
  void Start();
  void Kick();
  void Stop();
  ~WebhookEventProcessor();

 private:
  int64_t Now() const;
  Result<int64_t> ProcessConnection(const std::string& connection);

  store::Store* store_;
  WebhookEventHandler handler_;
  std::function<int64_t()> now_ms_;
  std::mutex mu_;  // one ProcessPending at a time

  std::mutex kick_mu_;
  std::condition_variable kicked_;
  bool pending_kick_ = false;  // guarded by kick_mu_
  bool stopping_ = false;      // guarded by kick_mu_
  std::thread pump_;
};

}  // namespace mlc::webhooks

#endif  // MLC_HOST_WEBHOOKS_EVENTS_HPP_
