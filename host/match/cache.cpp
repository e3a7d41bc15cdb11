// The match cache over the store's match_cache table, and ResolveMerchant (cache first, then the matcher).
#include "match/cache.hpp"

#include <algorithm>
#include <cmath>

namespace mlc::match {

namespace {

constexpr const char* kSelectColumns =
    "SELECT pipeline, merchant_key, vendor_id, vendor_name, score_milli, decision, source, updated_at "
    "FROM match_cache ";

Result<CacheEntry> EntryFromRow(const store::Row& row) {
  CacheEntry e;
  e.pipeline = row.Text(0);
  e.merchant_key = row.Text(1);
  e.vendor_id = row.OptText(2);
  e.vendor_name = row.OptText(3);
  e.score_milli = row.Int(4);
  const std::string decision = row.Text(5);
  auto d = DecisionFromName(decision);
  if (!d) return Status::Error("match_cache: unknown decision '" + decision + "'");
  e.decision = *d;
  const std::string source = row.Text(6);
  if (source == "operator") {
    e.source = CacheSource::kOperator;
  } else if (source == "auto") {
    e.source = CacheSource::kAuto;
  } else {
    return Status::Error("match_cache: unknown source '" + source + "'");
  }
  e.updated_at = row.Int(7);
  return e;
}

}  // namespace

std::string_view CacheSourceName(CacheSource s) { return s == CacheSource::kOperator ? "operator" : "auto"; }

int64_t ScoreToMilli(double score) {
  if (!(score > 0)) return 0;  // also NaN
  return std::clamp<int64_t>(std::llround(score * 1000.0), 0, 1000);
}

Result<std::optional<CacheEntry>> MatchCache::Get(std::string_view pipeline, std::string_view merchant_key) {
  MLC_ASSIGN_OR_RETURN(
      auto row, store_.QueryOne(std::string(kSelectColumns) + "WHERE pipeline = $1 AND merchant_key = $2",
                                {std::string(pipeline), std::string(merchant_key)}));
  if (!row) return std::optional<CacheEntry>();
  MLC_ASSIGN_OR_RETURN(auto entry, EntryFromRow(*row));
  return std::optional<CacheEntry>(std::move(entry));
}

Result<std::vector<CacheEntry>> MatchCache::List(std::string_view pipeline) {
  MLC_ASSIGN_OR_RETURN(auto rows,
                       store_.Query(std::string(kSelectColumns) + "WHERE pipeline = $1 ORDER BY merchant_key",
                                    {std::string(pipeline)}));
  std::vector<CacheEntry> out;
  out.reserve(rows.size());
  for (const auto& row : rows) {
    MLC_ASSIGN_OR_RETURN(auto entry, EntryFromRow(row));
    out.push_back(std::move(entry));
  }
  return out;
}

Result<bool> MatchCache::PutMatch(std::string_view pipeline, const MatchResult& result, int64_t now_ms) {
  if (result.merchant_key.empty()) return false;
  const Candidate* best = result.best();
  store::Value vendor_id = nullptr, vendor_name = nullptr;
  if (best != nullptr && result.decision != Decision::kNone) {
    vendor_id = best->vendor_id;
    vendor_name = best->vendor_name;
  }
  int64_t changes = 0;
  // The WHERE of the upsert keeps an operator's row: machine decisions never replace it.
  MLC_RETURN_IF_ERROR(store_.Exec(
      "INSERT INTO match_cache (pipeline, merchant_key, vendor_id, vendor_name, score_milli, decision, "
      "source, "
      "updated_at) VALUES ($1, $2, $3, $4, $5, $6, 'auto', $7) "
      "ON CONFLICT (pipeline, merchant_key) DO UPDATE SET vendor_id = excluded.vendor_id, "
      "vendor_name = excluded.vendor_name, score_milli = excluded.score_milli, decision = excluded.decision, "
      "source = excluded.source, updated_at = excluded.updated_at WHERE match_cache.source <> 'operator'",
      {std::string(pipeline), result.merchant_key, vendor_id, vendor_name,
       ScoreToMilli(best != nullptr ? best->score : 0.0), std::string(DecisionName(result.decision)), now_ms},
      &changes));
  return changes > 0;
}

Status MatchCache::PutOperatorVendor(std::string_view pipeline, std::string_view merchant_key,
                                     std::string_view vendor_id, std::string_view vendor_name,
                                     int64_t now_ms) {
  if (merchant_key.empty()) return Status::Invalid("match cache: empty merchant key");
  if (vendor_id.empty()) return Status::Invalid("match cache: empty vendor id");
  return store_.Exec(
      "INSERT INTO match_cache (pipeline, merchant_key, vendor_id, vendor_name, score_milli, decision, "
      "source, "
      "updated_at) VALUES ($1, $2, $3, $4, 1000, 'auto', 'operator', $5) "
      "ON CONFLICT (pipeline, merchant_key) DO UPDATE SET vendor_id = excluded.vendor_id, "
      "vendor_name = excluded.vendor_name, score_milli = excluded.score_milli, decision = excluded.decision, "
      "source = excluded.source, updated_at = excluded.updated_at",
      {std::string(pipeline), std::string(merchant_key), std::string(vendor_id), std::string(vendor_name),
       now_ms});
}

Status MatchCache::PutOperatorNone(std::string_view pipeline, std::string_view merchant_key, int64_t now_ms) {
  if (merchant_key.empty()) return Status::Invalid("match cache: empty merchant key");
  return store_.Exec(
      "INSERT INTO match_cache (pipeline, merchant_key, vendor_id, vendor_name, score_milli, decision, "
      "source, "
      "updated_at) VALUES ($1, $2, NULL, NULL, 0, 'none', 'operator', $3) "
      "ON CONFLICT (pipeline, merchant_key) DO UPDATE SET vendor_id = excluded.vendor_id, "
      "vendor_name = excluded.vendor_name, score_milli = excluded.score_milli, decision = excluded.decision, "
      "source = excluded.source, updated_at = excluded.updated_at",
      {std::string(pipeline), std::string(merchant_key), now_ms});
}

Result<int64_t> MatchCache::InvalidateVendor(std::string_view vendor_id) {
  int64_t changes = 0;
  MLC_RETURN_IF_ERROR(
      store_.Exec("DELETE FROM match_cache WHERE vendor_id = $1", {std::string(vendor_id)}, &changes));
  return changes;
}

Result<int64_t> MatchCache::RenameVendor(std::string_view vendor_id, std::string_view new_name,
                                         int64_t now_ms) {
  int64_t removed = 0;
  Status s = store_.Transaction([&](store::Tx& tx) -> Status {
    MLC_RETURN_IF_ERROR(tx.Exec("DELETE FROM match_cache WHERE vendor_id = $1 AND source = 'auto'",
                                {std::string(vendor_id)}, &removed));
    return tx.Exec(
        "UPDATE match_cache SET vendor_name = $2, updated_at = $3 WHERE vendor_id = $1 AND source = "
        "'operator'",
        {std::string(vendor_id), std::string(new_name), now_ms});
  });
  if (!s.ok()) return s;
  return removed;
}

Result<int64_t> MatchCache::InvalidateMachineRows(std::string_view pipeline) {
  int64_t changes = 0;
  MLC_RETURN_IF_ERROR(store_.Exec("DELETE FROM match_cache WHERE pipeline = $1 AND source = 'auto'",
                                  {std::string(pipeline)}, &changes));
  return changes;
}

Result<Resolution> ResolveMerchant(MatchCache& cache, const Matcher& matcher, std::string_view pipeline,
                                   std::string_view descriptor, const Thresholds& thresholds,
                                   int64_t now_ms) {
  MLC_RETURN_IF_ERROR(thresholds.Validate());
  const std::string key = matcher.normalizer().Normalize(descriptor, TextKind::kDescriptor).canonical;
  Resolution res;
  res.entry.pipeline = std::string(pipeline);
  res.entry.merchant_key = key;
  if (key.empty()) {
    res.reason = "nothing left of the descriptor after normalization";
    return res;
  }
  MLC_ASSIGN_OR_RETURN(auto cached, cache.Get(pipeline, key));
  if (cached) {
    const bool operator_row = cached->source == CacheSource::kOperator;
    // A machine auto-match must still point at a vendor the matcher knows; anything else stands as cached.
    const bool stale = !operator_row && cached->decision == Decision::kAuto &&
                       (!cached->vendor_id || !matcher.VendorName(*cached->vendor_id));
    if (!stale) {
      res.entry = std::move(*cached);
      res.from_cache = true;
      res.reason = operator_row ? "operator" : "cached";
      return res;
    }
  }
  MatchResult r = matcher.Match(descriptor, thresholds);
  MLC_ASSIGN_OR_RETURN(bool written, cache.PutMatch(pipeline, r, now_ms));
  if (!written) {
    // An operator resolved this merchant while we matched: theirs wins.
    MLC_ASSIGN_OR_RETURN(auto now_cached, cache.Get(pipeline, key));
    if (now_cached && now_cached->source == CacheSource::kOperator) {
      res.entry = std::move(*now_cached);
      res.from_cache = true;
      res.reason = "operator";
      return res;
    }
  }
  res.entry.decision = r.decision;
  if (r.best() != nullptr && r.decision != Decision::kNone) {
    res.entry.vendor_id = r.best()->vendor_id;
    res.entry.vendor_name = r.best()->vendor_name;
  }
  res.entry.score_milli = ScoreToMilli(r.best() != nullptr ? r.best()->score : 0.0);
  res.entry.source = CacheSource::kAuto;
  res.entry.updated_at = now_ms;
  res.reason = r.reason;
  return res;
}

}  // namespace mlc::match
