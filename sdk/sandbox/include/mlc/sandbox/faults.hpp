// Fault injection for emulators: 429s, 5xx, connection resets, latency and "commit then drop", globally or
// per route, drawn from a seeded RNG.
//
// Spec (JSON, as POST /_sandbox/faults and --faults take it; every field optional):
//   {"global": {"rate_429": 0.2, "rate_5xx": 0.05, "status_5xx": 503},
//    "routes": {"POST /v1/vendors": {"commit_then_drop": 1.0, "count": 1},
//               "GET /v1/vendors/{id}": {"latency_ms": 250}}}
// Rule fields: rate_429, rate_5xx, reset, commit_then_drop (probabilities 0..1, summing to <= 1),
// status_5xx (500..599, default 503), latency_ms (added to every request the rule covers), count (the rule
// fires at most this many times, then retires; latency-only rules count each delayed request).
// A route key is "METHOD PATTERN". When it is the key of a registered route (SetKnownRoutes) it covers
// exactly the requests that route serves ("GET /items/{id}" does not cover a separate "GET /items/special"
// route); otherwise it covers requests whose concrete path matches PATTERN ("{x}" captures one segment,
// METHOD "*" = any). A matching route rule replaces the global rule for that request.
//
// Thread safety: every member may be called from any thread.
#ifndef MLC_SANDBOX_FAULTS_HPP_
#define MLC_SANDBOX_FAULTS_HPP_

#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "mlc/sandbox/router.hpp"
#include "mlc/sandbox/seed.hpp"
#include "mlc/status.hpp"

namespace mlc::sandbox {

struct FaultRule {
  double rate_429 = 0;
  double rate_5xx = 0;
  double reset = 0;
  double commit_then_drop = 0;
  int status_5xx = 503;
  int64_t latency_ms = 0;
  std::optional<int64_t> count;  // remaining fires; nullopt = unlimited

  static Result<FaultRule> FromJson(const nlohmann::json& spec);
  nlohmann::json ToJson() const;
};

struct FaultDecision {
  enum class Kind { kNone, k429, k5xx, kReset, kCommitThenDrop };
  Kind kind = Kind::kNone;
  int status = 0;  // for k5xx
  int64_t latency_ms = 0;
};

class FaultInjector {
 public:
  explicit FaultInjector(uint64_t seed);

  // Replaces the whole configuration; an empty object clears it. Invalid leaves the old one in place.
  Status Configure(const nlohmann::json& spec);
  // The emulator's route keys ("GET /v1/vendors/{id}"), so rules naming one match by route, not by path.
  void SetKnownRoutes(std::vector<std::string> route_keys);
  void Clear();
  nlohmann::json ToJson() const;

  // Draws the fault for one request: `route_key` is the matched route ("GET /v1/vendors/{id}", may be
  // empty), `method`/`path` the concrete request.
  FaultDecision Decide(std::string_view route_key, std::string_view method, std::string_view path);

 private:
  struct RouteRule {
    std::string key;
    std::string method;
    PathPattern pattern;
    FaultRule rule;
  };
  static bool Fire(FaultRule& rule, double u, FaultDecision* out);

  mutable std::mutex mu_;
  SeededRng rng_;
  std::optional<FaultRule> global_;
  std::vector<RouteRule> routes_;
  std::vector<std::string> known_routes_;
};

}  // namespace mlc::sandbox

#endif  // MLC_SANDBOX_FAULTS_HPP_
