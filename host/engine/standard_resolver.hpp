// StandardResolver: the production Resolver. Turns a source object's references into the target's ids
// using the pipeline's mapping tables (engine/mapping.hpp), the target's reference data
// (engine/refdata.hpp) and the vendor matcher with its cache (match/), and produces the `refs` document of
// docs/abi.md ("The `refs` document"). What each decision means is in docs/operator-guide.md ("Mapping
// tables", "Vendor matching thresholds", "Review queue").
//
//   account    source `account` (code, then name) -> table gl_account, else a target item whose code or name
//              equals the source's -> must exist in the target's account/category reference data, else
//              review `unmapped_account`. option account_ref = category | account | auto picks the type.
//   category   object `category` via table `category` the same way (review `unmapped_account`, table
//   category). dimensions table dimension:<key>; with dimension reference data an unknown value is review
//              `unknown_dimension`, without it the mapped (or source) value passes as {"name"}.
//   vendor     `merchant` (else vendor.name): operator pin / vendor table, match cache, then the matcher
//              against the target's vendors: auto -> refs.vendor; review band -> review `vendor_match` with
//              the candidates; below -> option unmatched_vendor (create | skip | review | none).
//
// Side effects: machine match decisions are cached and the match cache is corrected for vendors deleted
// or renamed at the target — but only while the job is really being run (the engine leases it: state
// `running`); a dry run's resolve changes nothing in the store.
//
// Ownership: borrows the Store and the InstanceFactory (both must outlive it); owns its mapping store,
// match cache and reference cache. Thread safety: Resolve may run on several worker threads at once
// (ResolveInput::target is the caller's own instance); the other methods may be called from any thread.
#ifndef MLC_HOST_ENGINE_STANDARD_RESOLVER_HPP_
#define MLC_HOST_ENGINE_STANDARD_RESOLVER_HPP_

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "engine/instances.hpp"
#include "engine/mapping.hpp"
#include "engine/refdata.hpp"
#include "engine/resolver.hpp"
#include "match/cache.hpp"
#include "match/matcher.hpp"
#include "mlc/status.hpp"
#include "store/store.hpp"

namespace mlc::engine {

// The resolver's keys of [pipelines.X.options].
struct ResolverOptions {
  enum class AccountRef { kAuto, kCategory, kAccount };
  enum class Unmatched { kNone, kCreate, kSkip, kReview };
  AccountRef account_ref = AccountRef::kAuto;
  Unmatched unmatched_vendor = Unmatched::kNone;
  match::Thresholds thresholds;  // auto_accept, review_floor (-> review_min), match_margin (-> min_margin)
  std::chrono::milliseconds reference_ttl{15 * 60 * 1000};  // reference_ttl_s

  // Invalid (naming the option) for a wrong type or value; unknown keys are the engine's.
  static Result<ResolverOptions> FromJson(const nlohmann::json& options);
};

// The review kinds the resolver produces.
inline constexpr std::string_view kReviewUnmappedAccount = "unmapped_account";
inline constexpr std::string_view kReviewUnknownDimension = "unknown_dimension";
inline constexpr std::string_view kReviewVendorMatch = "vendor_match";
inline constexpr std::string_view kReviewUnmatchedVendor = "unmatched_vendor";
// Special targets of the `vendor` mapping table (set by `mlc review resolve --create-vendor`).
inline constexpr std::string_view kVendorCreate = "@create";
inline constexpr std::string_view kVendorNone = "@none";

class StandardResolver final : public Resolver {
 public:
  StandardResolver(store::Store& store, InstanceFactory& factory, std::function<int64_t()> now_ms = {});

  Result<ResolveOutcome> Resolve(const ResolveInput& input) override;

  // Reference data of `connection` (opening an instance through the factory when nothing is cached), and
  // one item of `kind` by id, code or name.
  Result<std::shared_ptr<const ReferenceSet>> References(std::string_view connection);
  // The cleaned display name a created vendor gets for a descriptor ("SQ *BLUE BOTTLE #12" -> "Blue Bottle").
  std::string CleanMerchant(std::string_view descriptor) const;
  // The match-cache key of a descriptor.
  std::string MerchantKey(std::string_view descriptor) const;

  MappingStore& mappings() { return mappings_; }
  match::MatchCache& match_cache() { return cache_; }
  ReferenceCache& references() { return refs_; }

 private:
  int64_t Now() const;
  Result<bool> JobIsLive(std::string_view job_id);
  Status ApplyVendorChanges(std::string_view pipeline, std::string_view connection);

  store::Store& store_;
  InstanceFactory& factory_;
  std::function<int64_t()> now_ms_;
  MappingStore mappings_;
  match::MatchCache cache_;
  ReferenceCache refs_;
};

}  // namespace mlc::engine

#endif  // MLC_HOST_ENGINE_STANDARD_RESOLVER_HPP_
