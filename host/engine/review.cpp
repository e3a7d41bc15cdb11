// ReviewQueue over the review_items table (migration "review_mapping") and ResolveReviewItem.
#include "engine/review.hpp"

#include <chrono>
#include <utility>

#include "engine/audit.hpp"
#include "engine/jobs.hpp"
#include "engine/mapping.hpp"

namespace mlc::engine {
namespace {

using nlohmann::json;

constexpr const char* kItemColumns =
    "r.id, r.pipeline, r.job_id, r.kind, r.message, r.detail, r.created_at, r.resolved_at, r.resolution, "
    "COALESCE(j.source_id, '')";

ReviewItem ItemFromRow(const store::Row& r) {
  ReviewItem i;
  i.id = r.Text(0);
  i.pipeline = r.Text(1);
  i.job_id = r.Text(2);
  i.kind = r.Text(3);
  i.message = r.Text(4);
  i.detail = json::parse(r.Text(5, "{}"), nullptr, false);
  if (i.detail.is_discarded()) i.detail = json::object();
  i.created_at = r.Int(6);
  if (!r.IsNull(7)) i.resolved_at = r.Int(7);
  if (auto res = r.OptText(8)) {
    i.resolution = json::parse(*res, nullptr, false);
    if (i.resolution.is_discarded()) i.resolution = json();
  }
  i.source_id = r.Text(9);
  return i;
}

// The cause two items share when one resolution settles both.
std::string CauseKey(const ReviewItem& i) {
  if (i.kind == kReviewVendorMatch) return i.kind + "\n" + i.detail.value("merchant_key", std::string());
  if (i.kind == kReviewUnmappedAccount) {
    return i.kind + "\n" + i.detail.value("table", std::string()) + "\n" +
           MappingKey(i.detail.value("source_value", std::string()));
  }
  return {};
}

// The detail of the resolver's note that sent the job to review: its latest mapped/matched audit row whose
// detail names this review kind.
Result<json> ReviewDetail(store::Executor& db, const std::string& job_id, const std::string& kind) {
  MLC_ASSIGN_OR_RETURN(auto rows,
                       db.Query("SELECT detail FROM audit WHERE job_id = $1 AND step IN ('mapped', "
                                "'matched') ORDER BY at_ms DESC, id DESC LIMIT 50",
                                {job_id}));
  for (const auto& r : rows) {
    json d = json::parse(r.Text(0), nullptr, false);
    if (d.is_object() && d.value("review_kind", std::string()) == kind) {
      d.erase("review_kind");
      d.erase("message");
      return d;
    }
  }
  return json::object();
}

}  // namespace

json ReviewItem::ToJson() const {
  json j = {{"id", id},
            {"pipeline", pipeline},
            {"job_id", job_id},
            {"source_id", source_id},
            {"kind", kind},
            {"message", message},
            {"detail", detail},
            {"created_at_ms", created_at},
            {"resolution", resolution}};
  j["resolved_at_ms"] = resolved_at ? json(*resolved_at) : json();
  return j;
}

ReviewQueue::ReviewQueue(store::Store& store, std::function<int64_t()> now_ms)
    : store_(store), now_ms_(std::move(now_ms)) {}

int64_t ReviewQueue::Now() const {
  if (now_ms_) return now_ms_();
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

Status ReviewQueue::Sync() {
  const int64_t now = Now();
  return store_.Transaction([&](store::Tx& tx) -> Status {
    // Close open items whose job left review, or came back to it after the item was made.
    MLC_ASSIGN_OR_RETURN(
        auto stale, tx.Query("SELECT r.id, COALESCE(j.state, 'gone') FROM review_items r LEFT JOIN jobs j ON "
                             "j.id = r.job_id WHERE r.resolved_at IS NULL AND (j.id IS NULL OR j.state <> "
                             "'review' OR j.updated_at > r.created_at)"));
    for (const auto& r : stale) {
      const json resolution = {{"action", r.Text(1) == "review" ? "superseded" : "left_review"},
                               {"state", r.Text(1)}};
      MLC_RETURN_IF_ERROR(tx.Exec("UPDATE review_items SET resolved_at = $2, resolution = $3 WHERE id = $1",
                                  {r.Text(0), now, resolution.dump()}));
    }
    // Open an item for every job in review that has none.
    MLC_ASSIGN_OR_RETURN(
        auto missing,
        tx.Query(
            "SELECT j.id, j.pipeline, COALESCE(j.review_kind, 'unresolved'), COALESCE(j.review_detail, ''), "
            "j.updated_at FROM jobs j WHERE j.state = 'review' AND NOT EXISTS (SELECT 1 FROM review_items r "
            "WHERE r.job_id = j.id AND r.resolved_at IS NULL) ORDER BY j.updated_at, j.id"));
    for (const auto& r : missing) {
      const std::string job_id = r.Text(0), kind = r.Text(2);
      MLC_ASSIGN_OR_RETURN(json detail, ReviewDetail(tx, job_id, kind));
      MLC_ASSIGN_OR_RETURN(auto count,
                           tx.QueryOne("SELECT COUNT(*) FROM review_items WHERE job_id = $1", {job_id}));
      const std::string id = job_id.substr(0, 8) + "-" + std::to_string((count ? (*count).Int(0) : 0) + 1);
      MLC_RETURN_IF_ERROR(
          tx.Exec("INSERT INTO review_items (id, pipeline, job_id, kind, message, detail, created_at) VALUES "
                  "($1, $2, $3, "
                  "$4, $5, $6, $7)",
                  {id, r.Text(1), job_id, kind, r.Text(3), detail.dump(), r.Int(4)}));
    }
    return Status::Ok();
  });
}

Result<std::vector<ReviewItem>> ReviewQueue::List(std::string_view pipeline, bool include_resolved) {
  MLC_RETURN_IF_ERROR(Sync());
  std::string sql =
      std::string("SELECT ") + kItemColumns +
      " FROM review_items r LEFT JOIN jobs j ON j.id = r.job_id WHERE ($1 = '' OR r.pipeline = $1)";
  const store::Params params = {std::string(pipeline)};  // '' : every pipeline
  if (!include_resolved) sql += " AND r.resolved_at IS NULL";
  sql += " ORDER BY r.created_at, r.id";
  MLC_ASSIGN_OR_RETURN(auto rows, store_.Query(sql, params));
  std::vector<ReviewItem> out;
  for (const auto& r : rows) out.push_back(ItemFromRow(r));
  return out;
}

Result<ReviewItem> ReviewQueue::Get(std::string_view id) {
  MLC_ASSIGN_OR_RETURN(auto row,
                       store_.QueryOne(std::string("SELECT ") + kItemColumns +
                                           " FROM review_items r LEFT JOIN jobs j ON j.id = r.job_id "
                                           "WHERE r.id = $1",
                                       {std::string(id)}));
  if (!row) return Status::NotFound("no review item '" + std::string(id) + "' (see mlc review list)");
  return ItemFromRow(*row);
}

Result<ReviewResolveResult> ResolveReviewItem(Engine& engine, StandardResolver& resolver, ReviewQueue& queue,
                                              std::string_view id, const ReviewAction& action) {
  MLC_RETURN_IF_ERROR(queue.Sync());
  MLC_ASSIGN_OR_RETURN(ReviewItem item, queue.Get(id));
  if (item.resolved_at) {
    return Status::Invalid("review item " + item.id + " is already resolved (" + item.resolution.dump() +
                           ")");
  }
  MLC_ASSIGN_OR_RETURN(PipelineSpec spec, engine.Pipeline(item.pipeline));
  const int64_t now = queue.Now();
  store::Store& store = queue.store();
  ReviewResolveResult result;
  json resolution;
  std::string outcome;

  const bool vendor_action =
      action.kind == ReviewAction::Kind::kVendor || action.kind == ReviewAction::Kind::kCreateVendor;
  if (vendor_action && item.kind != kReviewVendorMatch) {
    return Status::Invalid("review item " + item.id + " is " + item.kind + ": resolve it with " +
                           (item.kind == kReviewUnmappedAccount ? "--account or --skip" : "--skip") +
                           " (--vendor and --create-vendor resolve vendor_match items)");
  }
  if (action.kind == ReviewAction::Kind::kAccount && item.kind != kReviewUnmappedAccount) {
    return Status::Invalid(
        "review item " + item.id + " is " + item.kind + ": resolve it with " +
        (item.kind == kReviewVendorMatch ? "--vendor, --create-vendor or --skip" : "--skip") +
        " (--account resolves unmapped_account items)");
  }
  const std::string merchant_key = item.detail.value("merchant_key", std::string());
  if (vendor_action && merchant_key.empty()) {
    return Status::Invalid("review item " + item.id + " names no merchant; use --skip or mlc replay");
  }

  switch (action.kind) {
    case ReviewAction::Kind::kVendor: {
      std::optional<std::pair<std::string, std::string>> vendor;  // id, name
      MLC_ASSIGN_OR_RETURN(auto refs, resolver.References(spec.target));
      if (const RefItem* v = refs->Find("vendor", action.value)) vendor = {v->id, v->name};
      if (!vendor) {
        return Status::NotFound("no vendor '" + action.value + "' in " + spec.target +
                                " (give a vendor id or exact name; candidates are in mlc review list)");
      }
      MLC_RETURN_IF_ERROR(resolver.match_cache().PutOperatorVendor(item.pipeline, merchant_key, vendor->first,
                                                                   vendor->second, now));
      // An earlier vendor mapping (@create, @none) of the merchant would be consulted first: drop it.
      if (Status s = resolver.mappings().Delete(item.pipeline, "vendor", merchant_key);
          !s.ok() && s.code() != Code::kNotFound) {
        return s;
      }
      resolution = {{"action", "vendor"}, {"vendor_id", vendor->first}, {"vendor_name", vendor->second}};
      result.stored = {
          {"match_cache",
           {{"merchant_key", merchant_key}, {"vendor_id", vendor->first}, {"source", "operator"}}}};
      outcome = "resolved: vendor " + vendor->second;
      break;
    }
    case ReviewAction::Kind::kCreateVendor: {
      MLC_RETURN_IF_ERROR(resolver.mappings().Set(item.pipeline, "vendor", merchant_key,
                                                  std::string(kVendorCreate), MappingOrigin::kReview, now));
      resolution = {{"action", "create_vendor"},
                    {"name", resolver.CleanMerchant(item.detail.value("merchant", merchant_key))}};
      result.stored = {
          {"mapping",
           {{"table", "vendor"}, {"source", merchant_key}, {"target", std::string(kVendorCreate)}}}};
      outcome = "resolved: create vendor";
      break;
    }
    case ReviewAction::Kind::kAccount: {
      const std::string table = item.detail.value("table", std::string("gl_account"));
      const std::string kind = item.detail.value("target_kind", std::string("account"));
      const std::string source = item.detail.value("source_value", std::string());
      if (source.empty()) return Status::Invalid("review item " + item.id + " names no source account");
      MLC_ASSIGN_OR_RETURN(auto refs, resolver.References(spec.target));
      std::string target = action.value;
      if (refs->Has(kind)) {
        const RefItem* a = refs->Find(kind, action.value);
        if (a == nullptr) {
          return Status::NotFound("no " + kind + " '" + action.value + "' in " + spec.target +
                                  " (give its id, code or name)");
        }
        target = a->id;
      }
      MLC_RETURN_IF_ERROR(
          resolver.mappings().Set(item.pipeline, table, source, target, MappingOrigin::kReview, now));
      resolution = {{"action", "account"}, {"table", table}, {"source", source}, {"target", target}};
      result.stored = {{"mapping", {{"table", table}, {"source", source}, {"target", target}}}};
      outcome = "resolved: " + table + " " + source + " -> " + target;
      break;
    }
    case ReviewAction::Kind::kSkip: {
      resolution = {{"action", "skip"}};
      outcome = "resolved: skipped";
      break;
    }
  }
  resolution["by"] = "operator";

  // The item, and every open item of the pipeline with the same cause.
  std::vector<ReviewItem> settled = {item};
  if (action.kind != ReviewAction::Kind::kSkip && !CauseKey(item).empty()) {
    MLC_ASSIGN_OR_RETURN(auto open, queue.List(item.pipeline));
    for (auto& other : open) {
      if (other.id != item.id && CauseKey(other) == CauseKey(item)) {
        result.also.push_back(other.id);
        settled.push_back(std::move(other));
      }
    }
  }
  MLC_RETURN_IF_ERROR(store.Transaction([&](store::Tx& tx) -> Status {
    for (const auto& s : settled) {
      json r = resolution;
      if (s.id != item.id) r["same_cause_as"] = item.id;
      int64_t changed = 0;
      MLC_RETURN_IF_ERROR(tx.Exec(
          "UPDATE review_items SET resolved_at = $2, resolution = $3 WHERE id = $1 AND resolved_at IS NULL",
          {s.id, now, r.dump()}, &changed));
      if (changed != 1) return Status::Invalid("review item " + s.id + " was resolved meanwhile");
      if (action.kind == ReviewAction::Kind::kSkip) {
        MLC_RETURN_IF_ERROR(
            tx.Exec("UPDATE jobs SET state = 'succeeded', review_kind = NULL, review_detail = NULL, "
                    "last_error = NULL, updated_at = $2 WHERE id = $1 AND state = 'review'",
                    {s.job_id, now}, &changed));
        if (changed != 1) return Status::Invalid("job " + s.job_id.substr(0, 12) + " is no longer in review");
      }
      json detail = {{"review_id", s.id}, {"kind", s.kind}, {"resolution", r}};
      MLC_RETURN_IF_ERROR(AppendAudit(tx,
                                      {s.pipeline, s.job_id, s.source_id, Step::kResolved, Actor::kOperator,
                                       outcome, detail, std::nullopt},
                                      now));
    }
    return Status::Ok();
  }));
  if (action.kind != ReviewAction::Kind::kSkip) {
    std::vector<std::string> jobs;
    for (const auto& s : settled) jobs.push_back(s.job_id);
    MLC_ASSIGN_OR_RETURN(ReplayResult replayed, engine.Replay(jobs));
    result.replayed = replayed.queued;
  }
  MLC_ASSIGN_OR_RETURN(result.item, queue.Get(item.id));
  return result;
}

}  // namespace mlc::engine
