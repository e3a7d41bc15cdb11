// The review queue: one item per time a job stopped in state `review` (jobs.state/review_kind/review_detail
// stay the engine's record of it), with the detail an operator needs to decide — vendor candidates from the
// resolver's audit note — and, once decided, the resolution. `mlc review list` / `mlc review resolve` sit
// on top of this.
//
//   ReviewQueue queue(store);
//   MLC_ASSIGN_OR_RETURN(auto items, queue.List("p"));            // open items, oldest first
//   MLC_ASSIGN_OR_RETURN(auto done, ResolveReviewItem(engine, resolver, queue, items[0].id,
//                                                     {ReviewAction::Kind::kVendor, "88213"}));
//   // then Drain the pipeline (only done.replayed) to run the jobs again
//
// Items are materialised from the jobs table on every read (Sync, in one transaction): a job in review
// without an open item gets one (id "<first 8 of job id>-<n>"); an open item whose job left review
// (replayed, skipped) is closed with resolution {"action": "left_review"}; a job that came back to review
// after its item was created gets a new item. So the queue is exact whatever changed the jobs.
//
// Resolutions are stored so the same case resolves itself next time: --vendor pins the merchant to the
// vendor in the match cache (operator row); --create-vendor sets the `vendor` mapping of the merchant to
// "@create"; --account sets the item's table (gl_account or category) for its source value (origin
// review). Every other open item of the pipeline with the same cause is resolved with it, and all their
// jobs are replayed. --skip finishes the job without writing (audited "resolved: skipped").
//
// Ownership: borrows the Store. Thread safety: every function may be called from any thread.
#ifndef MLC_HOST_ENGINE_REVIEW_HPP_
#define MLC_HOST_ENGINE_REVIEW_HPP_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/engine.hpp"
#include "engine/standard_resolver.hpp"
#include "mlc/status.hpp"
#include "store/store.hpp"

namespace mlc::engine {

struct ReviewItem {
  std::string id;
  std::string pipeline;
  std::string job_id;
  std::string source_id;  // the job's source record
  std::string kind;       // unmapped_account, unknown_dimension, vendor_match, or the engine's kinds
  std::string message;    // jobs.review_detail at the time
  nlohmann::json detail = nlohmann::json::object();  // e.g. {merchant, merchant_key, candidates: [...]}
  int64_t created_at = 0;
  std::optional<int64_t> resolved_at;
  nlohmann::json resolution;  // null while open
  nlohmann::json ToJson() const;
};

class ReviewQueue {
 public:
  explicit ReviewQueue(store::Store& store, std::function<int64_t()> now_ms = {});

  // Brings the items in line with the jobs table (see the file comment).
  Status Sync();
  // Items of `pipeline` (empty: all), open ones only unless include_resolved; oldest first. Syncs first.
  Result<std::vector<ReviewItem>> List(std::string_view pipeline = {}, bool include_resolved = false);
  // One item by id. NotFound when there is none.
  Result<ReviewItem> Get(std::string_view id);

  store::Store& store() { return store_; }
  int64_t Now() const;

 private:
  store::Store& store_;
  std::function<int64_t()> now_ms_;
};

struct ReviewAction {
  enum class Kind { kVendor, kAccount, kCreateVendor, kSkip };
  Kind kind = Kind::kSkip;
  std::string value;  // vendor id or name (kVendor), target account/category id, code or name (kAccount)
};

struct ReviewResolveResult {
  ReviewItem item;                    // as resolved
  std::vector<std::string> also;      // other items resolved with it (same cause)
  std::vector<std::string> replayed;  // jobs queued again (run them with Engine::Drain)
  nlohmann::json stored;              // what was stored: {"mapping": ...} or {"match_cache": ...}
};

// Resolves an open item (see the file comment). Invalid for an action that does not fit the item's kind
// or an item already resolved; NotFound for an unknown item, or a vendor/account the target does not have.
Result<ReviewResolveResult> ResolveReviewItem(Engine& engine, StandardResolver& resolver, ReviewQueue& queue,
                                              std::string_view id, const ReviewAction& action);

}  // namespace mlc::engine

#endif  // MLC_HOST_ENGINE_REVIEW_HPP_
