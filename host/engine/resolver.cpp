// ResolveOutcome constructors and the pass-through resolver.
#include "engine/resolver.hpp"

#include <utility>

namespace mlc::engine {

ResolveOutcome ResolveOutcome::Resolved(nlohmann::json refs, std::vector<ResolveNote> notes) {
  ResolveOutcome o;
  o.kind = ResolveKind::kResolved;
  o.refs = refs.is_object() ? std::move(refs) : nlohmann::json::object();
  o.notes = std::move(notes);
  return o;
}

ResolveOutcome ResolveOutcome::Review(std::string kind, std::string detail, std::vector<ResolveNote> notes) {
  ResolveOutcome o;
  o.kind = ResolveKind::kReview;
  o.review_kind = std::move(kind);
  o.review_detail = std::move(detail);
  o.notes = std::move(notes);
  return o;
}

ResolveOutcome ResolveOutcome::Skip(std::string reason, std::vector<ResolveNote> notes) {
  ResolveOutcome o;
  o.kind = ResolveKind::kSkip;
  o.skip_reason = std::move(reason);
  o.notes = std::move(notes);
  return o;
}

Result<ResolveOutcome> PassThroughResolver::Resolve(const ResolveInput& /*input*/) {
  return ResolveOutcome::Resolved(nlohmann::json::object(),
                                  {ResolveNote{"mapped", "pass-through", {{"resolver", "pass-through"}}}});
}

}  // namespace mlc::engine
