// Seeded fault injection (429, 5xx, reset, latency, commit-then-drop) for emulators.
#include "mlc/sandbox/faults.hpp"

#include <algorithm>

namespace mlc::sandbox {

namespace {
Result<double> Probability(const nlohmann::json& spec, const char* name) {
  auto it = spec.find(name);
  if (it == spec.end() || it->is_null()) return 0.0;
  if (!it->is_number()) return Status::Invalid(std::string(name) + " must be a number between 0 and 1");
  const double p = it->get<double>();
  if (!(p >= 0.0 && p <= 1.0)) return Status::Invalid(std::string(name) + " must be between 0 and 1");
  return p;
}
}  // namespace

Result<FaultRule> FaultRule::FromJson(const nlohmann::json& spec) {
  if (!spec.is_object()) return Status::Invalid("a fault rule must be a JSON object");
  static const char* kKnown[] = {"rate_429",   "rate_5xx", "reset",      "commit_then_drop",
                                 "status_5xx", "status",   "latency_ms", "count"};
  for (const auto& [key, value] : spec.items()) {
    bool known = false;
    for (const char* k : kKnown) known = known || key == k;
    if (!known) return Status::Invalid("unknown fault field '" + key + "'");
  }
  FaultRule r;
  MLC_ASSIGN_OR_RETURN(r.rate_429, Probability(spec, "rate_429"));
  MLC_ASSIGN_OR_RETURN(r.rate_5xx, Probability(spec, "rate_5xx"));
  MLC_ASSIGN_OR_RETURN(r.reset, Probability(spec, "reset"));
  MLC_ASSIGN_OR_RETURN(r.commit_then_drop, Probability(spec, "commit_then_drop"));
  if (r.rate_429 + r.rate_5xx + r.reset + r.commit_then_drop > 1.0 + 1e-9) {
    return Status::Invalid("fault probabilities add up to more than 1");
  }
  for (const char* name : {"status_5xx", "status"}) {
    auto it = spec.find(name);
    if (it == spec.end()) continue;
    if (!it->is_number_integer() || it->get<int>() < 500 || it->get<int>() > 599) {
      return Status::Invalid(std::string(name) + " must be an integer from 500 to 599");
    }
    r.status_5xx = it->get<int>();
  }
  if (auto it = spec.find("latency_ms"); it != spec.end()) {
    if (!it->is_number_integer() || it->get<int64_t>() < 0 || it->get<int64_t>() > 600000) {
      return Status::Invalid("latency_ms must be an integer from 0 to 600000");
    }
    r.latency_ms = it->get<int64_t>();
  }
  if (auto it = spec.find("count"); it != spec.end() && !it->is_null()) {
    if (!it->is_number_integer() || it->get<int64_t>() < 0) {
      return Status::Invalid("count must be a non-negative integer");
    }
    r.count = it->get<int64_t>();
  }
  return r;
}

nlohmann::json FaultRule::ToJson() const {
  nlohmann::json j = {{"rate_429", rate_429},     {"rate_5xx", rate_5xx},
                      {"reset", reset},           {"commit_then_drop", commit_then_drop},
                      {"status_5xx", status_5xx}, {"latency_ms", latency_ms}};
  if (count) j["count"] = *count;
  return j;
}

FaultInjector::FaultInjector(uint64_t seed) : rng_(seed ^ 0xfa017ULL) {}

Status FaultInjector::Configure(const nlohmann::json& spec) {
  if (spec.is_null()) {
    Clear();
    return Status::Ok();
  }
  if (!spec.is_object()) return Status::Invalid("fault spec must be a JSON object");
  for (const auto& [key, value] : spec.items()) {
    if (key != "global" && key != "routes") {
      return Status::Invalid("unknown fault spec field '" + key + "' (expected global, routes)");
    }
  }
  std::optional<FaultRule> global;
  if (auto it = spec.find("global"); it != spec.end() && !it->is_null()) {
    auto r = FaultRule::FromJson(*it);
    if (!r.ok()) return r.status().Wrap("global");
    global = *r;
  }
  std::vector<RouteRule> routes;
  if (auto it = spec.find("routes"); it != spec.end() && !it->is_null()) {
    if (!it->is_object()) return Status::Invalid("routes must be an object keyed by \"METHOD /path\"");
    for (const auto& [key, value] : it->items()) {
      const size_t space = key.find(' ');
      if (space == std::string::npos || space == 0 || space + 1 >= key.size() || key[space + 1] != '/') {
        return Status::Invalid("route key '" + key + "' must look like \"POST /v1/vendors\"");
      }
      auto r = FaultRule::FromJson(value);
      if (!r.ok()) return r.status().Wrap(key);
      routes.push_back(RouteRule{key, key.substr(0, space), PathPattern(key.substr(space + 1)), *r});
    }
  }
  std::lock_guard lock(mu_);
  global_ = std::move(global);
  routes_ = std::move(routes);
  return Status::Ok();
}

void FaultInjector::SetKnownRoutes(std::vector<std::string> route_keys) {
  std::lock_guard lock(mu_);
  known_routes_ = std::move(route_keys);
}

void FaultInjector::Clear() {
  std::lock_guard lock(mu_);
  global_.reset();
  routes_.clear();
}

nlohmann::json FaultInjector::ToJson() const {
  std::lock_guard lock(mu_);
  nlohmann::json j = nlohmann::json::object();
  if (global_) j["global"] = global_->ToJson();
  nlohmann::json routes = nlohmann::json::object();
  for (const auto& r : routes_) routes[r.key] = r.rule.ToJson();
  j["routes"] = routes;
  return j;
}

bool FaultInjector::Fire(FaultRule& rule, double u, FaultDecision* out) {
  if (rule.count && *rule.count <= 0) return false;
  out->latency_ms = rule.latency_ms;
  double edge = rule.reset;
  if (u < edge) {
    out->kind = FaultDecision::Kind::kReset;
  } else if (u < (edge += rule.commit_then_drop)) {
    out->kind = FaultDecision::Kind::kCommitThenDrop;
  } else if (u < (edge += rule.rate_429)) {
    out->kind = FaultDecision::Kind::k429;
  } else if (u < (edge += rule.rate_5xx)) {
    out->kind = FaultDecision::Kind::k5xx;
    out->status = rule.status_5xx;
  }
  const bool fired = out->kind != FaultDecision::Kind::kNone || out->latency_ms > 0;
  if (fired && rule.count) --*rule.count;
  return fired;
}

FaultDecision FaultInjector::Decide(std::string_view route_key, std::string_view method,
                                    std::string_view path) {
  FaultDecision d;
  std::lock_guard lock(mu_);
  if (!global_ && routes_.empty()) return d;
  const double u = rng_.Unit();
  for (auto& r : routes_) {
    const bool is_route = std::find(known_routes_.begin(), known_routes_.end(), r.key) != known_routes_.end();
    const bool method_ok = r.method == "*" || r.method == method;
    if (is_route ? r.key == route_key : (method_ok && r.pattern.Matches(path))) {
      // An exhausted route rule stops covering the route, so the global rule applies again.
      if (r.rule.count && *r.rule.count <= 0) continue;
      Fire(r.rule, u, &d);
      return d;
    }
  }
  if (global_) Fire(*global_, u, &d);
  return d;
}

}  // namespace mlc::sandbox
