// Resolver: the step between a record's arrival and its target write that turns the source object's
// references (GL account, category, dimensions, merchant) into the target's ids — or decides the record
// needs a person (review) or should not be written at all (skip).
//
// The engine calls Resolve once per job attempt, before any write, and acts on the outcome:
//   resolved -> `refs` goes into the target write; `notes` become audit rows (mapped, matched).
//   review   -> the job stops in state `review` with the reason (kind + detail) in its row and an audit
//               row; nothing is written. `mlc replay` runs it again once the cause is fixed.
//   skip     -> nothing is written or acknowledged; the job succeeds with the reason audited.
// A non-OK Status is handled like a plugin status: RETRY backs off, AUTH waits for re-authorisation,
// INVALID goes to review, anything else is dead.
//
// The mapping tables, the vendor matcher and the review queue plug in here (a later module); until then
// PassThroughResolver resolves every record with no refs, so the target uses the object's own codes.
//
// Thread safety: Resolve is called from several worker threads at once and must be safe for that.
// `input.target` is the calling worker's own target instance: use it only during the call, on the
// calling thread.
#ifndef MLC_HOST_ENGINE_RESOLVER_HPP_
#define MLC_HOST_ENGINE_RESOLVER_HPP_

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "loader/instance.hpp"
#include "mlc/status.hpp"

namespace mlc::engine {

struct ResolveInput {
  std::string pipeline;
  std::string job_id;
  std::string object_type;
  std::string source_connection;
  std::string target_connection;
  const nlohmann::json* object = nullptr;            // the canonical object as the source produced it
  const nlohmann::json* pipeline_options = nullptr;  // [pipelines.X.options]
  loader::PluginInstance* target = nullptr;          // for reference-data reads; may be null in previews
};

enum class ResolveKind { kResolved, kReview, kSkip };

// One audit row the resolver wants recorded with the job (step "mapped" or "matched").
struct ResolveNote {
  std::string step = "mapped";  // "mapped" or "matched"
  std::string outcome;          // e.g. "ok", "auto 0.97", "cache hit"
  nlohmann::json detail = nlohmann::json::object();
};

struct ResolveOutcome {
  ResolveKind kind = ResolveKind::kResolved;
  nlohmann::json refs = nlohmann::json::object();  // kResolved: the write request's "refs"
  std::string review_kind;    // kReview: machine-readable reason, e.g. "unmapped_account"
  std::string review_detail;  // kReview: for the operator
  std::string skip_reason;    // kSkip
  std::vector<ResolveNote> notes;

  static ResolveOutcome Resolved(nlohmann::json refs, std::vector<ResolveNote> notes = {});
  static ResolveOutcome Review(std::string kind, std::string detail, std::vector<ResolveNote> notes = {});
  static ResolveOutcome Skip(std::string reason, std::vector<ResolveNote> notes = {});
};

class Resolver {
 public:
  virtual ~Resolver() = default;
  virtual Result<ResolveOutcome> Resolve(const ResolveInput& input) = 0;
};

// Resolves every record with empty refs and one "mapped" note saying so.
class PassThroughResolver final : public Resolver {
 public:
  Result<ResolveOutcome> Resolve(const ResolveInput& input) override;
};

}  // namespace mlc::engine

#endif  // MLC_HOST_ENGINE_RESOLVER_HPP_
