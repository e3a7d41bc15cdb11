// Idempotency-key replay store for emulators.
#include "mlc/sandbox/idempotency.hpp"

namespace mlc::sandbox {

std::optional<Response> IdempotencyStore::Find(std::string_view scope, std::string_view key) const {
  std::lock_guard lock(mu_);
  auto it = entries_.find({std::string(scope), std::string(key)});
  if (it == entries_.end()) return std::nullopt;
  return it->second;
}

void IdempotencyStore::Remember(std::string_view scope, std::string_view key, const Response& response) {
  std::lock_guard lock(mu_);
  entries_.insert_or_assign({std::string(scope), std::string(key)}, response);
}

size_t IdempotencyStore::size() const {
  std::lock_guard lock(mu_);
  return entries_.size();
}

void IdempotencyStore::Clear() {
  std::lock_guard lock(mu_);
  entries_.clear();
}

}  // namespace mlc::sandbox
