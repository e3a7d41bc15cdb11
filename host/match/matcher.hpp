// The vendor matcher: which vendor of a target system a card descriptor names, with a score and a decision
// (auto-accept, review, none) under a pipeline's thresholds.
//
//   auto norm = std::make_shared<const mlc::match::Normalizer>(std::move(table));
//   mlc::match::Matcher matcher(norm);
//   MLC_RETURN_IF_ERROR(matcher.Build({{"v1", "Uber"}, {"v2", "Uber Eats"}}));
//   mlc::match::MatchResult r = matcher.Match("UBER *EATS", {});   // auto, v2 (the more specific vendor)
//
// Scoring (all measures on normalized tokens, weighted by inverse document frequency over the vendor list
// and down-weighted for generic words and for the descriptor's detail/hint/location/noise tokens):
//   Cv  vendor containment: how much of the vendor's name the descriptor holds (fuzzy per token: typos,
//       truncation, `BLUEBOTTLE` = blue bottle);
//   Cm  merchant containment: how much of the descriptor the vendor explains;
//   J   weighted token-set Jaccard;  E  Jaro-Winkler of the canonical strings.
// score = max(Cv * (0.60 + 0.20 Cm + 0.10 J + 0.10 E),   -- the vendor's name is in the descriptor
//             Cm * (0.55 + 0.25 Cv + 0.10 J + 0.10 E))   -- the descriptor is (a truncation of) the name
// Generic words of a vendor's name (services, airlines; NormalizerTable::weak_words) are optional once a
// distinctive word matched, unless the descriptor has another generic word in their place; the vendor's
// words found out of order multiply the score by 0.85.
// Decision: `auto` when score >= auto_accept and the best beats every competing candidate by min_margin;
// a candidate whose words are a strict subset of a fully matched best one (Amazon vs Amazon Web Services)
// does not compete: the most specific vendor wins; but when the descriptor's name reaches the card field's
// width (it may have been cut), a vendor explaining the same words is a tie. `review` when score >=
// review_min, else `none`.
// A wrong auto-match costs more than a review item, so every tie or near tie goes to review.
//
// Index: an inverted index on tokens (and on run-together pairs of descriptor words) gives candidates, and
// character trigrams of the vendors' compact names find them for descriptor words no vendor has (typos,
// truncation, run-together names); only the top `candidate_limit` are scored in full. Token weights are
// computed from live document frequencies at match time, so incremental updates score exactly as a rebuild.
//
// Thread safety: Match/MatchAll/VendorName/size may run on any number of threads at once; Build, Upsert and
// Remove may be called at any time from any thread and exclude readers while they update the index (briefly:
// a Build prepares the new index before taking the lock). MatchAll locks per descriptor, so an update made
// during a batch applies to the descriptors matched after it.
// The Normalizer is shared and immutable.
#ifndef MLC_HOST_MATCH_MATCHER_HPP_
#define MLC_HOST_MATCH_MATCHER_HPP_

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "match/normalize.hpp"
#include "mlc/status.hpp"

namespace mlc::match {

struct Vendor {
  std::string id;    // the target system's vendor id; unique within a matcher
  std::string name;  // display name as the target system has it
};

// Per-pipeline thresholds.
struct Thresholds {
  double auto_accept = 0.90;
  double review_min = 0.65;
  double min_margin = 0.08;  // best minus the best competing candidate, needed for `auto`
  // Invalid unless 0 <= review_min <= auto_accept <= 1 and 0 <= min_margin <= 1.
  Status Validate() const;
};

enum class Decision : uint8_t { kAuto, kReview, kNone };
std::string_view DecisionName(Decision d);  // "auto", "review", "none"
std::optional<Decision> DecisionFromName(std::string_view name);

struct Candidate {
  std::string vendor_id;
  std::string vendor_name;
  double score = 0;  // in [0, 1]
};

struct MatchResult {
  std::string merchant_key;  // the descriptor's canonical form (the cache key); empty if nothing was left
  Decision decision = Decision::kNone;
  std::vector<Candidate> candidates;  // best first; at most MatcherOptions::report_limit
  double margin = 0;                  // best minus the best competing candidate (1 when there is none)
  std::string reason;                 // why the decision, for review queues and logs
  const Candidate* best() const { return candidates.empty() ? nullptr : &candidates.front(); }
};

struct MatcherOptions {
  size_t candidate_limit = 16;  // candidates scored in full per descriptor
  size_t report_limit = 3;      // candidates kept in MatchResult
  // A descriptor whose name reaches this many characters may have been cut (card networks print 22-25);
  // then any vendor explaining the same words as the best one is a tie, not a runner-up.
  size_t truncation_width = 20;
};

class Matcher {
 public:
  explicit Matcher(std::shared_ptr<const Normalizer> normalizer, MatcherOptions options = {});
  ~Matcher();
  Matcher(const Matcher&) = delete;
  Matcher& operator=(const Matcher&) = delete;

  // Replaces every vendor. Invalid (nothing changed) on an empty id, a duplicate id, or a name with no
  // letters or digits after normalization; the message names the offending vendor's position.
  Status Build(const std::vector<Vendor>& vendors);
  // Adds a vendor, or renames it when the id exists. Invalid as for Build.
  Status Upsert(const Vendor& vendor);
  // Removes a vendor; false when the id is unknown.
  bool Remove(std::string_view vendor_id);

  size_t size() const;
  std::optional<std::string> VendorName(std::string_view vendor_id) const;

  MatchResult Match(std::string_view descriptor, const Thresholds& thresholds) const;
  // Matches many descriptors on `threads` threads (1 = the calling thread); results in input order.
  std::vector<MatchResult> MatchAll(const std::vector<std::string>& descriptors, const Thresholds& thresholds,
                                    int threads = 1) const;

  const Normalizer& normalizer() const { return *normalizer_; }

 private:
  struct Index;
  struct Scratch;
  Status Prepare(const Vendor& vendor, size_t position, std::vector<uint32_t>* token_ids_out) const;
  MatchResult MatchLocked(std::string_view descriptor, const Thresholds& thresholds, Scratch& scratch) const;

  // Readers pass the turnstile before taking mu_ shared; a writer holds the turnstile while it waits for mu_,
  // so a steady stream of matches cannot starve vendor updates (glibc's rwlock prefers readers).
  std::shared_lock<std::shared_mutex> ReadLock() const;
  std::unique_lock<std::shared_mutex> WriteLock(std::unique_lock<std::mutex>& turnstile) const;

  std::shared_ptr<const Normalizer> normalizer_;
  MatcherOptions options_;
  mutable std::mutex turnstile_;
  mutable std::shared_mutex mu_;
  std::unique_ptr<Index> index_;  // guarded by mu_
};

// Jaro-Winkler similarity of two byte strings, in [0, 1].
double JaroWinkler(std::string_view a, std::string_view b);

}  // namespace mlc::match

#endif  // MLC_HOST_MATCH_MATCHER_HPP_
