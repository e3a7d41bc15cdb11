// The match cache: per pipeline, a merchant's normalized descriptor -> the target vendor it resolved to, with
// the decision and score, persisted in the store (table match_cache, migration "match_cache").
//
//   mlc::match::MatchCache cache(*store);
//   MLC_ASSIGN_OR_RETURN(auto res, mlc::match::ResolveMerchant(cache, matcher, "brex-to-qbo",
//                                                               "SQ *BLUE BOTTLE COFFEE", thresholds,
//                                                               now_ms));
//   if (res.entry.decision == mlc::match::Decision::kAuto) { /* use *res.entry.vendor_id */ }
//
// Rules: an operator's resolution (source `operator`) always wins: machine writes never replace it. Scores
// are stored as integers in thousandths. When a vendor is deleted, InvalidateVendor drops every row that
// names it; when it is renamed, RenameVendor drops the machine rows (scored against the old name) and
// keeps operator rows under the new name (InvalidateVendor is the stricter choice for a rename too).
// When vendors are added, InvalidateMachineRows lets every machine decision of the pipeline be re-made.
//
// Thread safety: the cache holds a reference to a Store, which must outlive it; every method may be called
// from any thread (the Store serialises statements).
#ifndef MLC_HOST_MATCH_CACHE_HPP_
#define MLC_HOST_MATCH_CACHE_HPP_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "match/matcher.hpp"
#include "mlc/status.hpp"
#include "store/store.hpp"

namespace mlc::match {

enum class CacheSource : uint8_t { kAuto, kOperator };
std::string_view CacheSourceName(CacheSource s);  // "auto", "operator"

struct CacheEntry {
  std::string pipeline;
  std::string merchant_key;
  std::optional<std::string> vendor_id;  // the match (auto), the suggestion (review), or none
  std::optional<std::string> vendor_name;
  int64_t score_milli = 0;  // 0..1000
  Decision decision = Decision::kNone;
  CacheSource source = CacheSource::kAuto;
  int64_t updated_at = 0;  // ms since the epoch
};

// A score in [0, 1] as thousandths, rounded half away from zero and clamped to 0..1000.
int64_t ScoreToMilli(double score);

class MatchCache {
 public:
  explicit MatchCache(store::Store& store) : store_(store) {}

  Result<std::optional<CacheEntry>> Get(std::string_view pipeline, std::string_view merchant_key);
  // Every row of a pipeline, by merchant key (the review queue reads the `review` ones).
  Result<std::vector<CacheEntry>> List(std::string_view pipeline);

  // Records the matcher's result under result.merchant_key (the best candidate is kept as the suggestion of
  // a `review`). Returns false, writing nothing, when an operator resolution exists or the key is empty.
  Result<bool> PutMatch(std::string_view pipeline, const MatchResult& result, int64_t now_ms);
  // An operator's resolution: the merchant is this vendor. Replaces any row.
  Status PutOperatorVendor(std::string_view pipeline, std::string_view merchant_key,
                           std::string_view vendor_id, std::string_view vendor_name, int64_t now_ms);
  // An operator's resolution: the merchant is no vendor of the target (decision `none`). Replaces any row.
  Status PutOperatorNone(std::string_view pipeline, std::string_view merchant_key, int64_t now_ms);

  // The vendor is gone: removes every row (machine or operator) naming it. Returns the rows removed.
  Result<int64_t> InvalidateVendor(std::string_view vendor_id);
  // The vendor was renamed: removes its machine rows and gives its operator rows the new name.
  Result<int64_t> RenameVendor(std::string_view vendor_id, std::string_view new_name, int64_t now_ms);
  // Vendors were added: removes the pipeline's machine rows so they are matched again. Operator rows stay.
  Result<int64_t> InvalidateMachineRows(std::string_view pipeline);

 private:
  store::Store& store_;
};

struct Resolution {
  CacheEntry entry;
  bool from_cache = false;
  std::string reason;  // the matcher's reason for a fresh match; "cached" or "operator" otherwise
};

// The engine's entry point: the cached answer for the descriptor's merchant key, or a fresh match that is
// then cached. A cached machine `auto` whose vendor the matcher no longer knows is matched again. An empty
// key (nothing left after normalization) gives `none` and caches nothing.
Result<Resolution> ResolveMerchant(MatchCache& cache, const Matcher& matcher, std::string_view pipeline,
                                   std::string_view descriptor, const Thresholds& thresholds, int64_t now_ms);

}  // namespace mlc::match

#endif  // MLC_HOST_MATCH_CACHE_HPP_
