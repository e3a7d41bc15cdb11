// Standard Webhooks signing/verification and the retrying webhook sender of the sandbox kit.
#include "mlc/sandbox/webhooks.hpp"

#include <algorithm>
#include <cmath>

#include "mlc/sandbox/http_client.hpp"
#include "mlc/webhook_signature.hpp"

namespace mlc::sandbox {

namespace standard_webhooks {

Result<std::string> DecodeSecret(std::string_view secret) { return webhook::standard::DecodeSecret(secret); }

std::string GenerateSecret(SeededRng& rng, size_t bytes) {
  return webhook::standard::EncodeSecret(rng.Bytes(std::clamp<size_t>(bytes, 24, 64)));
}

Result<std::string> Sign(std::string_view secret, std::string_view msg_id, int64_t timestamp,
                         std::string_view body) {
  return webhook::standard::Sign(secret, msg_id, timestamp, body);
}

Result<std::string> SignatureHeader(const std::vector<std::string>& secrets, std::string_view msg_id,
                                    int64_t timestamp, std::string_view body) {
  return webhook::standard::SignatureHeader(secrets, msg_id, timestamp, body);
}

Result<HeaderList> Headers(const std::vector<std::string>& secrets, std::string_view msg_id,
                           int64_t timestamp, std::string_view body) {
  MLC_ASSIGN_OR_RETURN(std::string sig, SignatureHeader(secrets, msg_id, timestamp, body));
  return HeaderList{{"Webhook-Id", std::string(msg_id)},
                    {"Webhook-Timestamp", std::to_string(timestamp)},
                    {"Webhook-Signature", std::move(sig)}};
}

Status Verify(const std::vector<std::string>& secrets, std::string_view msg_id, std::string_view timestamp,
              std::string_view signature_header, std::string_view body, int64_t now_unix,
              int64_t tolerance_s) {
  if (msg_id.empty() || timestamp.empty() || signature_header.empty()) {
    return Status::Invalid("missing required webhook headers");
  }
  int64_t ts = 0;
  for (char c : timestamp) {
    if (c < '0' || c > '9' || ts > (INT64_MAX - 9) / 10) return Status::Invalid("invalid webhook timestamp");
    ts = ts * 10 + (c - '0');
  }
  if (now_unix - ts > tolerance_s) return Status::Auth("webhook timestamp too old");
  if (ts > now_unix + tolerance_s) return Status::Auth("webhook timestamp too new");
  if (secrets.empty()) return Status::Invalid("no webhook secret to verify with");
  MLC_ASSIGN_OR_RETURN(const bool matched,
                       webhook::standard::Matches(secrets, msg_id, ts, signature_header, body));
  return matched ? Status::Ok() : Status::Auth("no matching webhook signature");
}

Status VerifyHeaders(const std::vector<std::string>& secrets, const HeaderList& headers,
                     std::string_view body, int64_t now_unix, int64_t tolerance_s) {
  auto find = [&](std::string_view a, std::string_view b) -> std::string {
    for (const auto& [k, v] : headers) {
      if (EqualsIgnoreCase(k, a)) return v;
    }
    for (const auto& [k, v] : headers) {
      if (EqualsIgnoreCase(k, b)) return v;
    }
    return {};
  };
  return Verify(secrets, find("svix-id", "webhook-id"), find("svix-timestamp", "webhook-timestamp"),
                find("svix-signature", "webhook-signature"), body, now_unix, tolerance_s);
}

}  // namespace standard_webhooks

WebhookSender::WebhookSender(const Clock& clock, Stats* stats, WebhookSenderOptions options)
    : clock_(clock), stats_(stats), options_(options) {
  worker_ = std::thread([this] { Run(); });
}

WebhookSender::~WebhookSender() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (worker_.joinable()) worker_.join();
}

void WebhookSender::SetSigner(WebhookSigner signer) {
  std::lock_guard lock(mu_);
  signer_ = std::move(signer);
}

void WebhookSender::SetOptions(WebhookSenderOptions options) {
  std::lock_guard lock(mu_);
  options_ = options;
}

std::string WebhookSender::Enqueue(std::string url, std::string body, std::string event_type,
                                   std::string id) {
  WebhookMessage message;
  message.id = std::move(id);
  message.url = std::move(url);
  message.body = std::move(body);
  message.event_type = std::move(event_type);
  return Enqueue(std::move(message));
}

std::string WebhookSender::Enqueue(WebhookMessage message) {
  std::lock_guard lock(mu_);
  if (message.id.empty()) message.id = "msg_" + rng_.Base62(27);
  const std::string id = message.id;
  WebhookDelivery d;
  d.message = std::move(message);
  d.state = "pending";
  log_.push_back(std::move(d));
  pending_.push_back(Pending{log_.size() - 1, std::chrono::steady_clock::now()});
  cv_.notify_all();
  return id;
}

bool WebhookSender::WaitIdle(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mu_);
  return cv_.wait_for(lock, timeout, [this] { return pending_.empty() && in_flight_ == 0; });
}

std::vector<WebhookDelivery> WebhookSender::Deliveries() const {
  std::lock_guard lock(mu_);
  return log_;
}

nlohmann::json WebhookSender::ToJson() const {
  std::lock_guard lock(mu_);
  nlohmann::json out = nlohmann::json::array();
  for (const auto& d : log_) {
    out.push_back({{"id", d.message.id},
                   {"url", d.message.url},
                   {"event_type", d.message.event_type},
                   {"attempts", d.attempts},
                   {"last_status", d.last_status},
                   {"last_error", d.last_error},
                   {"state", d.state},
                   {"body", d.message.body}});
  }
  return out;
}

void WebhookSender::Reset() {
  std::lock_guard lock(mu_);
  ++generation_;
  pending_.clear();
  log_.clear();
  cv_.notify_all();
}

void WebhookSender::Run() {
  HttpClient client;
  // A fresh connection per attempt: libcurl would otherwise re-send silently on a dead pooled connection,
  // and the attempt counts must be exact.
  client.set_reuse_connections(false);
  std::unique_lock lock(mu_);
  while (!stop_) {
    if (pending_.empty()) {
      cv_.wait(lock);
      continue;
    }
    auto next = std::min_element(pending_.begin(), pending_.end(),
                                 [](const Pending& a, const Pending& b) { return a.due < b.due; });
    if (next->due > std::chrono::steady_clock::now()) {
      cv_.wait_until(lock, next->due);
      continue;
    }
    const size_t index = next->index;
    pending_.erase(next);
    const uint64_t generation = generation_;
    const WebhookMessage message = log_[index].message;
    const WebhookSigner signer = signer_;
    const WebhookSenderOptions options = options_;
    ++in_flight_;
    lock.unlock();

    HeaderList headers = message.headers;
    if (signer) {
      HeaderList signed_headers = signer(message, clock_.NowUnix());
      headers.insert(headers.end(), signed_headers.begin(), signed_headers.end());
    }
    headers.emplace_back("Content-Type",
                         message.content_type.empty() ? "application/json" : message.content_type);
    headers.emplace_back("User-Agent", "mlc-sandbox-webhooks/1");
    client.set_timeout(options.request_timeout);
    auto result = client.Send("POST", message.url, headers, message.body);
    if (stats_) stats_->CountWebhookAttempt();

    lock.lock();
    --in_flight_;
    if (generation == generation_) {
      WebhookDelivery& d = log_[index];
      ++d.attempts;
      const bool ok = result.ok() && result->status >= 200 && result->status < 300;
      d.last_status = result.ok() ? result->status : 0;
      d.last_error =
          result.ok() ? (ok ? "" : "HTTP " + std::to_string(result->status)) : result.status().message();
      if (ok) {
        d.state = "delivered";
        if (stats_) stats_->CountWebhookSent();
      } else if (d.attempts >= options.max_attempts) {
        d.state = "failed";
        if (stats_) stats_->CountWebhookFailed();
      } else {
        double backoff = static_cast<double>(options.initial_backoff.count()) *
                         std::pow(options.backoff_multiplier, static_cast<double>(d.attempts - 1));
        backoff = std::min(backoff, static_cast<double>(options.max_backoff.count()));
        pending_.push_back(Pending{index, std::chrono::steady_clock::now() +
                                              std::chrono::milliseconds(static_cast<int64_t>(backoff))});
      }
    }
    cv_.notify_all();
  }
}

}  // namespace mlc::sandbox
