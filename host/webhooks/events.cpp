// Handing recorded webhook events to the engine, and retention of the webhook tables (see events.hpp).
#include "webhooks/events.hpp"

#include <exception>
#include <utility>
#include <vector>

#include "core/log.hpp"
#include "core/redact.hpp"
#include "store/store.hpp"

namespace mlc::webhooks {
namespace {

constexpr int64_t kBatch = 500;

}  // namespace

WebhookEventProcessor::WebhookEventProcessor(store::Store* store, WebhookEventHandler handler,
                                             std::function<int64_t()> now_ms)
    : store_(store), handler_(std::move(handler)), now_ms_(std::move(now_ms)) {}

int64_t WebhookEventProcessor::Now() const {
  if (now_ms_) return now_ms_();
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

Result<int64_t> WebhookEventProcessor::ProcessPending(const std::optional<std::string>& connection) {
  std::lock_guard lock(mu_);
  std::vector<std::string> connections;
  if (connection) {
    connections.push_back(*connection);
  } else {
    MLC_ASSIGN_OR_RETURN(auto rows, store_->Query("SELECT DISTINCT connection FROM webhook_events WHERE "
                                                  "processed_at IS NULL ORDER BY connection"));
    for (const auto& r : rows) connections.push_back(r.Text(0));
  }
  int64_t processed = 0;
  Status first_error;
  for (const auto& c : connections) {
    auto n = ProcessConnection(c);
    if (n.ok()) {
      processed += *n;
    } else if (first_error.ok()) {
      first_error = n.status().Wrap("webhook events of " + c);
    }
  }
  if (!first_error.ok()) return first_error;
  return processed;
}

Result<int64_t> WebhookEventProcessor::ProcessConnection(const std::string& connection) {
  int64_t processed = 0;
  for (;;) {
    MLC_ASSIGN_OR_RETURN(
        auto rows,
        store_->Query("SELECT webhook_id, event_index, type, stream, source_id, payload FROM webhook_events "
                      "WHERE connection = $1 AND processed_at IS NULL "
                      "ORDER BY received_at, webhook_id, event_index LIMIT $2",
                      {connection, kBatch}));
    if (rows.empty()) return processed;
    nlohmann::json events = nlohmann::json::array();
    for (const auto& r : rows) {
      nlohmann::json e = {{"id", r.Text(0)}, {"type", r.Text(2)}};
      if (auto s = r.OptText(3)) e["stream"] = *s;
      if (auto s = r.OptText(4)) e["source_id"] = *s;
      if (auto p = r.OptText(5)) {
        // Written by the sink from parsed JSON, so it parses; a damaged row is passed on as text.
        nlohmann::json payload = nlohmann::json::parse(*p, nullptr, /*allow_exceptions=*/false);
        e["payload"] = payload.is_discarded() ? nlohmann::json(*p) : std::move(payload);
      }
      events.push_back(std::move(e));
    }
    Status handled;
    try {
      handled = handler_ ? handler_(connection, events) : Status::Ok();
    } catch (const std::exception& e) {
      handled = Status::Error(std::string("webhook event handler threw: ") + e.what());
    } catch (...) {
      handled = Status::Error("webhook event handler threw");
    }
    if (!handled.ok()) {
      Log().warn("webhook {}: {} event(s) left for a later attempt: {}", connection, rows.size(),
                 redact::RedactText(handled.message()));
      return handled;
    }
    const int64_t now = Now();
    MLC_RETURN_IF_ERROR(store_->Transaction([&](store::Tx& tx) -> Status {
      for (const auto& r : rows) {
        MLC_RETURN_IF_ERROR(tx.Exec(
            "UPDATE webhook_events SET processed_at = $1 WHERE connection = $2 AND webhook_id = $3 AND "
            "event_index = $4 AND processed_at IS NULL",
            {now, connection, r.Text(0), r.Int(1)}));
      }
      return Status::Ok();
    }));
    processed += static_cast<int64_t>(rows.size());
    if (static_cast<int64_t>(rows.size()) < kBatch) return processed;
  }
}

void WebhookEventProcessor::Start() {
  std::lock_guard lock(kick_mu_);
  if (pump_.joinable()) return;
  stopping_ = false;
  pump_ = std::thread([this] {
    std::unique_lock lock(kick_mu_);
    for (;;) {
      kicked_.wait(lock, [this] { return pending_kick_ || stopping_; });
      const bool last = stopping_;
      pending_kick_ = false;
      lock.unlock();
      if (auto n = ProcessPending(); !n.ok()) {
        Log().warn("webhooks: hand-over to the engine failed, events stay pending: {}",
                   redact::RedactText(n.status().message()));
      }
      lock.lock();
      if (last) return;
    }
  });
}

void WebhookEventProcessor::Kick() {
  {
    std::lock_guard lock(kick_mu_);
    pending_kick_ = true;
  }
  kicked_.notify_one();
}

void WebhookEventProcessor::Stop() {
  std::thread pump;
  {
    std::lock_guard lock(kick_mu_);
    if (!pump_.joinable()) return;
    stopping_ = true;
    pump = std::move(pump_);
  }
  kicked_.notify_one();
  pump.join();
}

WebhookEventProcessor::~WebhookEventProcessor() { Stop(); }

Result<int64_t> WebhookEventProcessor::PendingCount() {
  MLC_ASSIGN_OR_RETURN(auto row,
                       store_->QueryOne("SELECT COUNT(*) FROM webhook_events WHERE processed_at IS NULL"));
  return row ? row->Int(0) : 0;
}

Result<PruneResult> WebhookEventProcessor::Prune(const WebhookRetention& retention) {
  const int64_t now = Now();
  PruneResult result;
  MLC_RETURN_IF_ERROR(store_->Exec("DELETE FROM webhook_seen WHERE received_at < $1",
                                   {now - static_cast<int64_t>(retention.seen.count())},
                                   &result.seen_deleted));
  MLC_RETURN_IF_ERROR(
      store_->Exec("DELETE FROM webhook_events WHERE processed_at IS NOT NULL AND received_at < $1",
                   {now - static_cast<int64_t>(retention.processed_events.count())}, &result.events_deleted));
  if (result.seen_deleted > 0 || result.events_deleted > 0) {
    Log().info("webhooks: pruned {} replay-protection row(s) and {} processed event(s)", result.seen_deleted,
               result.events_deleted);
  }
  return result;
}

}  // namespace mlc::webhooks
