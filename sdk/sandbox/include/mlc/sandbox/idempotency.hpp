// Stored first responses for idempotency keys: a repeated key replays what the first request got.
//
//   if (auto prior = store.Find("POST /v1/vendors", key)) return *prior;
//   Response r = CreateVendor(req);
//   store.Remember("POST /v1/vendors", key, r);
//
// Only responses worth replaying should be remembered (vendors usually keep successes only).
// Thread safety: every member may be called from any thread; callers that need find-then-create to be
// atomic hold their own lock around both.
#ifndef MLC_SANDBOX_IDEMPOTENCY_HPP_
#define MLC_SANDBOX_IDEMPOTENCY_HPP_

#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "mlc/sandbox/http.hpp"

namespace mlc::sandbox {

class IdempotencyStore {
 public:
  std::optional<Response> Find(std::string_view scope, std::string_view key) const;
  void Remember(std::string_view scope, std::string_view key, const Response& response);
  size_t size() const;
  void Clear();

 private:
  mutable std::mutex mu_;
  std::map<std::pair<std::string, std::string>, Response> entries_;
};

}  // namespace mlc::sandbox

#endif  // MLC_SANDBOX_IDEMPOTENCY_HPP_
