// StandardResolver: mapping tables, reference data and vendor matching -> the `refs` document.
#include "engine/standard_resolver.hpp"

#include <initializer_list>
#include <utility>
#include <vector>

#include "match/normalize.hpp"

namespace mlc::engine {
namespace {

using nlohmann::json;

std::string Text(const json& doc, const char* key) {
  if (!doc.is_object()) return {};
  auto it = doc.find(key);
  return it != doc.end() && it->is_string() ? it->get<std::string>() : std::string();
}

std::string Fixed3(double v) {
  const int64_t milli = match::ScoreToMilli(v);
  std::string frac = std::to_string(milli % 1000);
  while (frac.size() < 3) frac.insert(frac.begin(), '0');
  return std::to_string(milli / 1000) + "." + frac;
}

json CandidatesJson(const std::vector<match::Candidate>& candidates) {
  json out = json::array();
  for (const auto& c : candidates) {
    out.push_back({{"vendor_id", c.vendor_id}, {"vendor_name", c.vendor_name}, {"score", Fixed3(c.score)}});
  }
  return out;
}

// What resolving one reference gave.
struct RefDecision {
  std::optional<json> ref;  // the refs entry
  std::optional<std::string> review_message;
  json review_detail = json::object();
};

}  // namespace

Result<ResolverOptions> ResolverOptions::FromJson(const json& options) {
  ResolverOptions o;
  if (!options.is_object()) return o;
  auto choice = [&](const char* key, std::initializer_list<const char*> allowed, std::string* out) -> Status {
    auto it = options.find(key);
    if (it == options.end()) return Status::Ok();
    if (it->is_string()) {
      for (const char* a : allowed) {
        if (*it == a) {
          *out = a;
          return Status::Ok();
        }
      }
    }
    std::string list;
    for (const char* a : allowed) list += (list.empty() ? "" : ", ") + std::string(a);
    return Status::Invalid(std::string("option ") + key + " must be one of " + list);
  };
  auto number = [&](const char* key, double* out) -> Status {
    auto it = options.find(key);
    if (it == options.end()) return Status::Ok();
    if (!it->is_number())
      return Status::Invalid(std::string("option ") + key + " must be a number in [0, 1]");
    *out = it->get<double>();
    if (*out < 0 || *out > 1)
      return Status::Invalid(std::string("option ") + key + " must be a number in [0, 1]");
    return Status::Ok();
  };
  std::string account_ref = "auto", unmatched = "none";
  MLC_RETURN_IF_ERROR(choice("account_ref", {"auto", "category", "account"}, &account_ref));
  MLC_RETURN_IF_ERROR(choice("unmatched_vendor", {"none", "create", "skip", "review"}, &unmatched));
  o.account_ref = account_ref == "category"  ? AccountRef::kCategory
                  : account_ref == "account" ? AccountRef::kAccount
                                             : AccountRef::kAuto;
  o.unmatched_vendor = unmatched == "create"   ? Unmatched::kCreate
                       : unmatched == "skip"   ? Unmatched::kSkip
                       : unmatched == "review" ? Unmatched::kReview
                                               : Unmatched::kNone;
  MLC_RETURN_IF_ERROR(number("auto_accept", &o.thresholds.auto_accept));
  MLC_RETURN_IF_ERROR(number("review_floor", &o.thresholds.review_min));
  MLC_RETURN_IF_ERROR(number("match_margin", &o.thresholds.min_margin));
  if (o.thresholds.review_min > o.thresholds.auto_accept) {
    return Status::Invalid("option review_floor must not be above auto_accept");
  }
  if (auto it = options.find("reference_ttl_s"); it != options.end()) {
    if (!it->is_number_integer() || it->get<int64_t>() < 0 || it->get<int64_t>() > 7 * 24 * 3600) {
      return Status::Invalid("option reference_ttl_s must be an integer number of seconds (0 to 604800)");
    }
    o.reference_ttl = std::chrono::seconds(it->get<int64_t>());
  }
  return o;
}

StandardResolver::StandardResolver(store::Store& store, InstanceFactory& factory,
                                   std::function<int64_t()> now_ms)
    : store_(store),
      factory_(factory),
      now_ms_(now_ms),
      mappings_(store),
      cache_(store),
      refs_(factory, now_ms) {}

int64_t StandardResolver::Now() const {
  if (now_ms_) return now_ms_();
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

Result<bool> StandardResolver::JobIsLive(std::string_view job_id) {
  // The engine leases a job (state running) before it resolves it; a dry run never does.
  MLC_ASSIGN_OR_RETURN(auto row,
                       store_.QueryOne("SELECT state FROM jobs WHERE id = $1", {std::string(job_id)}));
  return row.has_value() && row->Text(0) == "running";
}

Status StandardResolver::ApplyVendorChanges(std::string_view pipeline, std::string_view connection) {
  VendorChanges changes = refs_.TakeVendorChanges(connection);
  for (const auto& id : changes.deleted) MLC_RETURN_IF_ERROR(cache_.InvalidateVendor(id).status());
  for (const auto& [id, name] : changes.renamed)
    MLC_RETURN_IF_ERROR(cache_.RenameVendor(id, name, Now()).status());
  if (changes.added) MLC_RETURN_IF_ERROR(cache_.InvalidateMachineRows(pipeline).status());
  return Status::Ok();
}

std::string StandardResolver::MerchantKey(std::string_view descriptor) const {
  const match::Normalizer* n = refs_.normalizer();
  return n == nullptr ? MappingKey(descriptor)
                      : n->Normalize(descriptor, match::TextKind::kDescriptor).canonical;
}

std::string StandardResolver::CleanMerchant(std::string_view descriptor) const {
  std::string name = MerchantKey(descriptor);
  if (name.empty()) return std::string(descriptor);
  bool start = true;
  for (char& c : name) {
    if (start && c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
    start = c == ' ';
  }
  return name;
}

Result<std::shared_ptr<const ReferenceSet>> StandardResolver::References(std::string_view connection) {
  auto cached = refs_.Get(connection, nullptr, std::chrono::milliseconds::max());
  if (cached.ok()) return cached;
  MLC_ASSIGN_OR_RETURN(auto instance, factory_.Open(connection));
  return refs_.Get(connection, instance.get(), std::chrono::milliseconds::max());
}

Result<ResolveOutcome> StandardResolver::Resolve(const ResolveInput& in) {
  if (in.object == nullptr) return Status::Invalid("resolver: no object");
  const json& obj = *in.object;
  MLC_ASSIGN_OR_RETURN(
      ResolverOptions opts,
      ResolverOptions::FromJson(in.pipeline_options ? *in.pipeline_options : json::object()));
  MLC_ASSIGN_OR_RETURN(bool live, JobIsLive(in.job_id));
  MLC_ASSIGN_OR_RETURN(auto streams, refs_.Streams(in.target_connection));
  auto set = std::make_shared<const ReferenceSet>();
  if (!streams.empty()) {
    MLC_ASSIGN_OR_RETURN(set, refs_.Get(in.target_connection, in.target, opts.reference_ttl));
    if (live) MLC_RETURN_IF_ERROR(ApplyVendorChanges(in.pipeline, in.target_connection));
  }

  json refs = json::object();
  std::vector<ResolveNote> notes;
  std::optional<std::pair<std::string, std::string>> review;  // first review cause: kind, message
  // Mapping decisions (accounts, categories, dimensions, and "no vendor data") go into ONE "mapped" note,
  // so a record's timeline has one mapped row; vendor decisions get their own "matched" row.
  std::vector<json> mapped;
  std::optional<json> mapped_review;
  auto note_mapped = [&](const std::string& outcome, json detail) {
    detail["outcome"] = outcome;
    mapped.push_back(std::move(detail));
  };

  auto raise = [&](std::string_view kind, std::string message, json detail, const char* step) {
    detail["review_kind"] = kind;
    detail["message"] = message;
    if (std::string_view(step) == "mapped") {
      if (!mapped_review) mapped_review = detail;
      note_mapped("review: " + std::string(kind), detail);
    } else {
      notes.push_back({step, "review: " + std::string(kind), detail});
    }
    if (!review) review = {std::string(kind), std::move(message)};
  };

  // A source ref (code, then name) through `table`, checked against the target's `kind` items.
  auto resolve_ref = [&](const json& src, const std::string& table, const std::string& kind,
                         const char* what) -> Status {
    const std::string code = Text(src, "code"), name = Text(src, "name");
    const std::string source_value = !code.empty() ? code : name;
    if (source_value.empty()) return Status::Ok();
    std::optional<Mapping> mapping;
    for (const std::string& v : {code, name}) {
      if (mapping || v.empty()) continue;
      MLC_ASSIGN_OR_RETURN(mapping, mappings_.Lookup(in.pipeline, table, v));
    }
    json detail = {{"table", table}, {"target_kind", kind}, {"source_value", source_value}};
    if (!code.empty()) detail["source_code"] = code;
    if (!name.empty()) detail["source_name"] = name;
    const std::string label = std::string(what) + " " + source_value +
                              (name.empty() || name == source_value ? "" : " (" + name + ")");
    if (mapping) {
      detail["mapping"] = mapping->ToJson();
      if (!set->Has(kind)) {
        refs[kind] = {{"id", mapping->target_value}};
        note_mapped("mapped " + table + " (target has no " + kind + " reference data to check)", detail);
        return Status::Ok();
      }
      if (const RefItem* item = set->Find(kind, mapping->target_value)) {
        refs[kind] = item->ToRef();
        detail["ref"] = refs[kind];
        note_mapped("mapped via " + table + " (" + std::string(MappingOriginName(mapping->origin)) + ")",
                    detail);
      } else {
        raise(kReviewUnmappedAccount,
              label + " maps to '" + mapping->target_value + "' in " + table + ", which is not a " + kind +
                  " of " + in.target_connection,
              detail, "mapped");
      }
      return Status::Ok();
    }
    if (!set->Has(kind)) {
      note_mapped("no " + table + " mapping and no " + kind + " reference data: left to the target", detail);
      return Status::Ok();
    }
    const RefItem* item = code.empty() ? nullptr : set->Find(kind, code);
    if (item == nullptr && !name.empty()) item = set->Find(kind, name);
    if (item != nullptr) {
      refs[kind] = item->ToRef();
      detail["ref"] = refs[kind];
      note_mapped("same code or name in " + in.target_connection, detail);
      return Status::Ok();
    }
    raise(kReviewUnmappedAccount,
          label + " has no " + table + " mapping and no " + kind + " of " + in.target_connection +
              " has that code or name",
          detail, "mapped");
    return Status::Ok();
  };

  // ---- account / category
  if (auto it = obj.find("account"); it != obj.end() && it->is_object()) {
    std::string kind = "account";
    if (opts.account_ref == ResolverOptions::AccountRef::kCategory ||
        (opts.account_ref == ResolverOptions::AccountRef::kAuto && set->Has("category"))) {
      kind = "category";
    }
    MLC_RETURN_IF_ERROR(resolve_ref(*it, "gl_account", kind, "GL account"));
  }
  if (auto it = obj.find("category"); it != obj.end() && it->is_object()) {
    MLC_RETURN_IF_ERROR(resolve_ref(*it, "category", "category", "category"));
  }

  // ---- dimensions
  if (auto dims = obj.find("dimensions"); dims != obj.end() && dims->is_object()) {
    json out = json::object();
    for (const auto& [key, src] : dims->items()) {
      const std::string code = Text(src, "code"), name = Text(src, "name");
      const std::string table = "dimension:" + key;
      std::optional<Mapping> mapping;
      for (const std::string& v : {code, name}) {
        if (mapping || v.empty()) continue;
        MLC_ASSIGN_OR_RETURN(mapping, mappings_.Lookup(in.pipeline, table, v));
      }
      json detail = {{"table", table}, {"dimension", key}, {"source_value", !code.empty() ? code : name}};
      if (mapping) detail["mapping"] = mapping->ToJson();
      if (set->has_dimensions) {
        const std::string kind = "dimension:" + key;
        const RefItem* item = nullptr;
        if (mapping) {
          item = set->Find(kind, mapping->target_value);
        } else {
          if (!code.empty()) item = set->Find(kind, code);
          if (item == nullptr && !name.empty()) item = set->Find(kind, name);
        }
        if (item == nullptr) {
          raise(kReviewUnknownDimension,
                "dimension " + key + " value '" +
                    (mapping ? mapping->target_value : detail["source_value"].get<std::string>()) +
                    "' is not a " + key + " value of " + in.target_connection,
                detail, "mapped");
          continue;
        }
        json ref = {{"id", item->id}, {"name", item->name.empty() ? item->id : item->name}};
        out[key] = ref;
        detail["ref"] = ref;
        note_mapped(mapping ? "mapped via " + table : "same value in " + in.target_connection, detail);
      } else {
        const std::string value = mapping ? mapping->target_value : (!name.empty() ? name : code);
        if (value.empty()) continue;
        out[key] = {{"name", value}};
        detail["ref"] = out[key];
        note_mapped(mapping ? "mapped via " + table : "passed through (target has no dimension data)",
                    detail);
      }
    }
    if (!out.empty()) refs["dimensions"] = std::move(out);
  }

  // ---- vendor
  std::string descriptor =
      obj.contains("merchant") && obj["merchant"].is_string() ? obj["merchant"].get<std::string>() : "";
  if (descriptor.empty() && obj.contains("vendor")) descriptor = Text(obj["vendor"], "name");
  std::optional<std::string> skip;
  if (!descriptor.empty() && !set->Has("vendor")) {
    note_mapped("vendor: target has no vendor reference data", {{"merchant", descriptor}});
  } else if (!descriptor.empty() && set->matcher) {
    const std::string key = MerchantKey(descriptor);
    json detail = {{"merchant", descriptor}, {"merchant_key", key}};
    bool done = false;
    auto use_vendor = [&](const RefItem& v, const std::string& outcome, json extra) {
      refs["vendor"] = {{"id", v.id}, {"name", v.name}};
      extra.update(detail);
      extra["vendor"] = refs["vendor"];
      notes.push_back({"matched", outcome, std::move(extra)});
      done = true;
    };
    auto create_vendor = [&](const std::string& why) {
      const std::string clean = CleanMerchant(descriptor);
      if (const RefItem* existing = set->Find("vendor", clean)) {
        use_vendor(*existing, why + ": existing vendor of that name", json::object());
        return;
      }
      refs["vendor"] = {{"create", true}, {"name", clean}};
      json d = detail;
      d["vendor"] = refs["vendor"];
      notes.push_back({"matched", why + ": create vendor", d});
      done = true;
    };
    // 1. The operator's vendor table (a --create-vendor resolution, or an explicit mapping).
    if (!key.empty()) {
      MLC_ASSIGN_OR_RETURN(auto m, mappings_.Lookup(in.pipeline, "vendor", key));
      if (m && m->target_value == kVendorNone) {
        notes.push_back({"matched", "no vendor (vendor mapping)", detail});
        done = true;
      } else if (m && m->target_value == kVendorCreate) {
        create_vendor("vendor mapping");
      } else if (m) {
        if (const RefItem* v = set->Find("vendor", m->target_value))
          use_vendor(*v, "vendor mapping", json::object());
      }
    }
    // 2. The match cache: an operator pin, or a machine auto-match whose vendor still exists.
    if (!done && !key.empty()) {
      MLC_ASSIGN_OR_RETURN(auto cached, cache_.Get(in.pipeline, key));
      if (cached && cached->source == match::CacheSource::kOperator) {
        if (cached->decision == match::Decision::kNone) {
          notes.push_back({"matched", "no vendor (operator)", detail});
          done = true;
        } else if (cached->vendor_id) {
          if (const RefItem* v = set->FindById("vendor", *cached->vendor_id)) {
            use_vendor(*v, "operator", json::object());
          } else if (live) {
            MLC_RETURN_IF_ERROR(cache_.InvalidateVendor(*cached->vendor_id).status());
          }
        }
      } else if (cached && cached->decision == match::Decision::kAuto && cached->vendor_id) {
        if (const RefItem* v = set->FindById("vendor", *cached->vendor_id)) {
          use_vendor(*v, "cache hit", {{"score", Fixed3(static_cast<double>(cached->score_milli) / 1000.0)}});
        }
      }
    }
    // 3. The matcher.
    if (!done) {
      const match::MatchResult r = set->matcher->Match(descriptor, opts.thresholds);
      if (live && !r.merchant_key.empty())
        MLC_RETURN_IF_ERROR(cache_.PutMatch(in.pipeline, r, Now()).status());
      detail["candidates"] = CandidatesJson(r.candidates);
      detail["reason"] = r.reason;
      detail["thresholds"] = {{"auto_accept", opts.thresholds.auto_accept},
                              {"review_floor", opts.thresholds.review_min}};
      const RefItem* best = r.best() ? set->FindById("vendor", r.best()->vendor_id) : nullptr;
      if (r.decision == match::Decision::kAuto && best != nullptr) {
        use_vendor(*best, "matched: auto " + Fixed3(r.best()->score), json::object());
      } else if (r.decision == match::Decision::kReview && r.best() != nullptr) {
        raise(kReviewVendorMatch,
              "merchant '" + descriptor + "' may be vendor '" + r.best()->vendor_name + "' (score " +
                  Fixed3(r.best()->score) + ", below auto_accept " + Fixed3(opts.thresholds.auto_accept) +
                  ")",
              detail, "matched");
      } else {
        switch (opts.unmatched_vendor) {
          case ResolverOptions::Unmatched::kCreate:
            create_vendor("unmatched");
            break;
          case ResolverOptions::Unmatched::kSkip:
            skip = "no vendor of " + in.target_connection + " matches merchant '" + descriptor + "'";
            notes.push_back({"matched", "unmatched: skip", detail});
            break;
          case ResolverOptions::Unmatched::kReview:
            raise(kReviewVendorMatch,
                  "no vendor of " + in.target_connection + " matches merchant '" + descriptor + "'", detail,
                  "matched");
            break;
          case ResolverOptions::Unmatched::kNone:
            if (set->items.at("vendor").empty()) {
              note_mapped("vendor: target has no vendors", detail);
            } else {
              notes.push_back({"matched", "unmatched: no vendor", detail});
            }
            break;
        }
      }
    }
  }

  json mapped_detail = {{"decisions", std::move(mapped)}};
  std::string mapped_outcome = mapped_detail["decisions"].empty() ? "nothing to map" : "ok";
  if (mapped_review) {
    mapped_outcome = "review: " + mapped_review->value("review_kind", std::string());
    mapped_detail.update(*mapped_review);
  }
  notes.insert(notes.begin(), ResolveNote{"mapped", mapped_outcome, std::move(mapped_detail)});

  if (review) return ResolveOutcome::Review(review->first, review->second, std::move(notes));
  if (skip) return ResolveOutcome::Skip(*skip, std::move(notes));
  return ResolveOutcome::Resolved(std::move(refs), std::move(notes));
}

}  // namespace mlc::engine
