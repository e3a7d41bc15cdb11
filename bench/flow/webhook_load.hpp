// Webhook load for mlc-bench: signed Brex deliveries (Standard Webhooks, as the Brex emulator signs them)
// sent by concurrent senders over kept-alive connections to `mlc serve`, each timed from request to the
// 2xx that says the event is durably recorded.
//
// Thread safety: RunWebhookLoad starts and joins its own sender threads.
#ifndef MLC_BENCH_FLOW_WEBHOOK_LOAD_HPP_
#define MLC_BENCH_FLOW_WEBHOOK_LOAD_HPP_

#include <cstdint>
#include <string>
#include <vector>

#include "mlc/status.hpp"

namespace mlc::bench {

struct WebhookLoadOptions {
  std::string url{};     // the host's Brex webhook endpoint
  std::string secret{};  // whsec_... signing secret the host verifies with
  int senders = 16;
  int events = 20000;
  std::vector<std::string> record_ids{};  // accounting record ids the events name (cycled)
};

struct WebhookLoadResult {
  int64_t accepted = 0;  // 2xx
  int64_t refused = 0;   // anything else, or a transport error
  double wall_s = 0;
  double p50_ms = 0;
  double p99_ms = 0;
  double max_ms = 0;
  std::string first_refusal;  // what the first refused delivery got
};

Result<WebhookLoadResult> RunWebhookLoad(const WebhookLoadOptions& options);

}  // namespace mlc::bench

#endif  // MLC_BENCH_FLOW_WEBHOOK_LOAD_HPP_
