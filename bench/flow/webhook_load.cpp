// Signed webhook deliveries under concurrency (see webhook_load.hpp).
#include "webhook_load.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>

#include <nlohmann/json.hpp>

#include "curl_client.hpp"
#include "mlc/crypto.hpp"

namespace mlc::bench {

Result<WebhookLoadResult> RunWebhookLoad(const WebhookLoadOptions& o) {
  std::string_view encoded = o.secret;
  if (encoded.rfind("whsec_", 0) == 0) encoded.remove_prefix(6);
  auto key = crypto::Base64Decode(encoded);
  if (!key.ok() || key->empty()) return Status::Invalid("the webhook secret is not a whsec_ base64 secret");
  if (o.record_ids.empty()) return Status::Invalid("the events need at least one record id to name");

  const int senders = std::max(1, o.senders);
  std::atomic<int> next{0};
  std::mutex mu;
  std::vector<double> latencies;
  latencies.reserve(static_cast<size_t>(o.events));
  WebhookLoadResult result;
  const std::string run = std::to_string(std::chrono::duration_cast<std::chrono::microseconds>(
                                             std::chrono::system_clock::now().time_since_epoch())
                                             .count());
  const auto started = std::chrono::steady_clock::now();
  std::vector<std::thread> threads;
  for (int s = 0; s < senders; ++s) {
    threads.emplace_back([&] {
      CurlClient client;
      std::vector<double> mine;
      int64_t accepted = 0, refused = 0;
      std::string refusal;
      for (int i = next++; i < o.events; i = next++) {
        const std::string id = "msg_bench_" + run + "_" + std::to_string(i);
        const std::string ts = std::to_string(std::chrono::duration_cast<std::chrono::seconds>(
                                                  std::chrono::system_clock::now().time_since_epoch())
                                                  .count());
        const std::string body =
            nlohmann::json{
                {"event_type", "ACCOUNTING_RECORD_READY_FOR_EXPORT"},
                {"accountingRecordIds", {o.record_ids[static_cast<size_t>(i) % o.record_ids.size()]}}}
                .dump();
        const std::string signature =
            "v1," + crypto::Base64Encode(crypto::HmacSha256(*key, id + "." + ts + "." + body));
        const auto t0 = std::chrono::steady_clock::now();
        auto r = client.Send("POST", o.url,
                             {{"Content-Type", "application/json"},
                              {"webhook-id", id},
                              {"webhook-timestamp", ts},
                              {"webhook-signature", signature}},
                             body);
        const double ms =
            std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
        if (r.ok() && r->status >= 200 && r->status < 300) {
          ++accepted;
          mine.push_back(ms);
        } else {
          ++refused;
          if (refusal.empty())
            refusal = r.ok() ? "HTTP " + std::to_string(r->status) + ": " + r->body.substr(0, 160)
                             : r.status().message();
        }
      }
      std::lock_guard lock(mu);
      latencies.insert(latencies.end(), mine.begin(), mine.end());
      result.accepted += accepted;
      result.refused += refused;
      if (result.first_refusal.empty()) result.first_refusal = refusal;
    });
  }
  for (auto& t : threads) t.join();
  result.wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  if (!latencies.empty()) {
    std::sort(latencies.begin(), latencies.end());
    auto at = [&](double q) {
      const size_t i =
          std::min(latencies.size() - 1, static_cast<size_t>(q * static_cast<double>(latencies.size())));
      return latencies[i];
    };
    result.p50_ms = at(0.50);
    result.p99_ms = at(0.99);
    result.max_ms = latencies.back();
  }
  return result;
}

}  // namespace mlc::bench
