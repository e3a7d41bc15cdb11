// Emulator counters for GET /_sandbox/stats.
#include "mlc/sandbox/stats.hpp"

namespace mlc::sandbox {

void Stats::CountRequest(std::string_view route_key, std::string_view outcome) {
  std::lock_guard lock(mu_);
  auto it = requests_.find(route_key);
  if (it == requests_.end())
    it = requests_.emplace(std::string(route_key), std::map<std::string, int64_t>()).first;
  ++it->second[std::string(outcome)];
  ++total_;
  if (outcome == "429") ++status_429_;
}

int64_t Stats::Requests(std::string_view route_key, std::string_view outcome) const {
  std::lock_guard lock(mu_);
  auto it = requests_.find(route_key);
  if (it == requests_.end()) return 0;
  auto jt = it->second.find(std::string(outcome));
  return jt == it->second.end() ? 0 : jt->second;
}

int64_t Stats::TotalRequests() const {
  std::lock_guard lock(mu_);
  return total_;
}

int64_t Stats::responses_429() const {
  std::lock_guard lock(mu_);
  return status_429_;
}

void Stats::CountFault(std::string_view kind) {
  std::lock_guard lock(mu_);
  auto it = faults_.find(kind);
  if (it == faults_.end()) it = faults_.emplace(std::string(kind), 0).first;
  ++it->second;
}

int64_t Stats::Faults(std::string_view kind) const {
  std::lock_guard lock(mu_);
  auto it = faults_.find(kind);
  return it == faults_.end() ? 0 : it->second;
}

nlohmann::json Stats::ToJson() const {
  std::lock_guard lock(mu_);
  nlohmann::json requests = nlohmann::json::object();
  for (const auto& [route, outcomes] : requests_) {
    for (const auto& [outcome, n] : outcomes) requests[route][outcome] = n;
  }
  nlohmann::json faults = nlohmann::json::object();
  for (const auto& [kind, n] : faults_) faults[kind] = n;
  return {
      {"requests", requests},
      {"requests_total", total_},
      {"responses_429", status_429_},
      {"tokens",
       {{"issued", tokens_issued_.load()},
        {"refreshed", tokens_refreshed_.load()},
        {"rejected", tokens_rejected_.load()}}},
      {"webhooks",
       {{"attempts", webhook_attempts_.load()},
        {"sent", webhooks_sent_.load()},
        {"failed", webhooks_failed_.load()}}},
      {"faults", faults},
      {"idempotent_replays", idempotent_replays_.load()},
  };
}

void Stats::Reset() {
  std::lock_guard lock(mu_);
  requests_.clear();
  faults_.clear();
  total_ = 0;
  status_429_ = 0;
  tokens_issued_ = 0;
  tokens_refreshed_ = 0;
  tokens_rejected_ = 0;
  webhook_attempts_ = 0;
  webhooks_sent_ = 0;
  webhooks_failed_ = 0;
  idempotent_replays_ = 0;
}

}  // namespace mlc::sandbox
