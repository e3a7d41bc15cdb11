// ReferenceCache: reading a target's reference_data streams, the per-connection snapshot and TTL, and the
// vendor diff between loads.
#include "engine/refdata.hpp"

#include <utility>

#include "match/normalize.hpp"

namespace mlc::engine {
namespace {

using nlohmann::json;

constexpr int kMaxReferencePages = 10000;

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

std::string Text(const json& doc, const char* key) {
  auto it = doc.find(key);
  return it != doc.end() && it->is_string() ? it->get<std::string>() : std::string();
}

}  // namespace

json RefItem::ToRef() const {
  json ref = {{"id", id}};
  if (!code.empty()) ref["code"] = code;
  if (!name.empty()) ref["name"] = name;
  return ref;
}

const RefItem* ReferenceSet::FindById(std::string_view kind, std::string_view id) const {
  auto it = items.find(kind);
  if (it == items.end() || id.empty()) return nullptr;
  for (const auto& item : it->second) {
    if (item.id == id) return &item;
  }
  return nullptr;
}

const RefItem* ReferenceSet::Find(std::string_view kind, std::string_view value) const {
  if (const RefItem* hit = FindById(kind, value)) return hit;
  auto it = items.find(kind);
  if (it == items.end() || value.empty()) return nullptr;
  const std::string v = Lower(value);
  for (const auto& item : it->second) {
    if (!item.code.empty() && Lower(item.code) == v) return &item;
  }
  for (const auto& item : it->second) {
    if (!item.name.empty() && Lower(item.name) == v) return &item;
  }
  return nullptr;
}

struct ReferenceCache::Entry {
  std::mutex load_mu;  // serialises loads; guards everything below
  std::shared_ptr<const ReferenceSet> snapshot;
  bool invalidated = false;
  std::map<std::string, std::string> vendors;  // id -> name at the last load
  bool vendors_loaded = false;
  VendorChanges changes;
};

ReferenceCache::ReferenceCache(InstanceFactory& factory, std::function<int64_t()> now_ms)
    : factory_(factory), now_ms_(std::move(now_ms)) {
  if (auto table = match::NormalizerTable::Defaults(); table.ok()) {
    normalizer_ = std::make_shared<const match::Normalizer>(std::move(table).value());
  }
}

ReferenceCache::~ReferenceCache() = default;

int64_t ReferenceCache::Now() const {
  if (now_ms_) return now_ms_();
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

ReferenceCache::Entry& ReferenceCache::EntryFor(std::string_view connection) {
  std::lock_guard lock(mu_);
  auto it = entries_.find(connection);
  if (it == entries_.end()) it = entries_.emplace(std::string(connection), std::make_unique<Entry>()).first;
  return *it->second;
}

Result<std::map<std::string, std::string>> ReferenceCache::Streams(std::string_view connection) {
  MLC_ASSIGN_OR_RETURN(json manifest, factory_.Manifest(connection));
  std::map<std::string, std::string> out;
  const json refs = manifest.value("reference_data", json::array());
  const json streams = manifest.value("streams", json::array());
  if (!refs.is_array() || !streams.is_array()) return out;
  for (const auto& r : refs) {
    if (!r.is_string()) continue;
    for (const auto& s : streams) {
      if (s.is_object() && s.value("name", std::string()) == r.get<std::string>()) {
        out[r.get<std::string>()] = s.value("object", std::string());
      }
    }
  }
  return out;
}

Result<std::shared_ptr<const ReferenceSet>> ReferenceCache::Get(std::string_view connection,
                                                                loader::PluginInstance* instance,
                                                                std::chrono::milliseconds ttl) {
  Entry& e = EntryFor(connection);
  std::lock_guard lock(e.load_mu);
  const bool fresh = e.snapshot && !e.invalidated && Now() - e.snapshot->loaded_at_ms < ttl.count();
  if (fresh || (instance == nullptr && e.snapshot)) return e.snapshot;
  if (instance == nullptr) {
    return Status::Invalid("connection " + std::string(connection) +
                           ": no target instance to read reference data with");
  }
  auto loaded = Load(connection, *instance);
  if (!loaded.ok()) return loaded.status();
  // The vendor diff against the previous load: the match cache must forget deleted and renamed vendors.
  std::map<std::string, std::string> vendors;
  if (auto it = (*loaded)->items.find("vendor"); it != (*loaded)->items.end()) {
    for (const auto& v : it->second) vendors[v.id] = v.name;
  }
  if (e.vendors_loaded) {
    for (const auto& [id, name] : e.vendors) {
      auto now = vendors.find(id);
      if (now == vendors.end()) {
        e.changes.deleted.push_back(id);
      } else if (now->second != name) {
        e.changes.renamed.emplace_back(id, now->second);
      }
    }
    for (const auto& [id, name] : vendors) {
      if (!e.vendors.count(id)) e.changes.added = true;
    }
  }
  e.vendors = std::move(vendors);
  e.vendors_loaded = true;
  e.snapshot = std::move(loaded).value();
  e.invalidated = false;
  return e.snapshot;
}

void ReferenceCache::Invalidate(std::string_view connection) {
  std::vector<Entry*> targets;
  {
    std::lock_guard lock(mu_);
    for (auto& [name, entry] : entries_) {
      if (connection.empty() || name == connection) targets.push_back(entry.get());
    }
  }
  for (Entry* e : targets) {
    std::lock_guard lock(e->load_mu);
    e->invalidated = true;
  }
}

VendorChanges ReferenceCache::TakeVendorChanges(std::string_view connection) {
  Entry& e = EntryFor(connection);
  std::lock_guard lock(e.load_mu);
  VendorChanges out = std::move(e.changes);
  e.changes = VendorChanges{};
  return out;
}

Result<std::shared_ptr<const ReferenceSet>> ReferenceCache::Load(std::string_view connection,
                                                                 loader::PluginInstance& instance) {
  MLC_ASSIGN_OR_RETURN(auto streams, Streams(connection));
  auto set = std::make_shared<ReferenceSet>();
  set->loaded_at_ms = Now();
  std::vector<match::Vendor> vendors;
  bool has_vendor_stream = false;
  for (const auto& [stream, object] : streams) {
    if (object == "dimension") set->has_dimensions = true;
    if (object == "account" || object == "category" || object == "vendor") set->items[object];
    if (object == "vendor") has_vendor_stream = true;
    json cursor;
    bool done = false;
    for (int page = 0; page < kMaxReferencePages && !done; ++page) {
      json request = {{"stream", stream}, {"limit", 1000}};
      if (cursor.is_string()) request["cursor"] = cursor;
      auto reply = instance.Read(request);
      if (!reply.ok())
        return reply.status().Wrap("reading reference stream " + stream + " of " + std::string(connection));
      const json records = reply->value("records", json::array());
      for (const auto& r : records) {
        if (!r.is_object()) continue;
        const std::string id = r.contains("source") && r["source"].is_object() ? Text(r["source"], "id") : "";
        if (object == "dimension") {
          const std::string key = Text(r, "key");
          if (key.empty()) continue;
          auto& list = set->items["dimension:" + key];
          for (const auto& v : r.value("values", json::array())) {
            if (!v.is_object() || v.value("active", true) == false) continue;
            RefItem item{Text(v, "id"), Text(v, "code"), Text(v, "name")};
            if (item.id.empty()) item.id = !item.code.empty() ? item.code : item.name;
            if (!item.id.empty()) list.push_back(std::move(item));
          }
          continue;
        }
        if (id.empty()) continue;
        if (r.value("active", true) == false || Text(r, "status") == "inactive") continue;
        RefItem item{id, Text(r, "code"), Text(r, "name")};
        if (object == "vendor" && !item.name.empty()) vendors.push_back({item.id, item.name});
        if (object == "account" || object == "category" || object == "vendor") {
          set->items[object].push_back(std::move(item));
        }
      }
      done = !reply->value("has_more", false) || !(*reply)["next_cursor"].is_string();
      cursor = reply->value("next_cursor", json());
    }
  }
  // An empty chart of accounts, category or dimension list means the target could not list them (a ledger
  // always has some): treat it as not offered, so the target's own fallback applies instead of every record
  // going to review. An empty vendor list is real (a new ledger) and stays.
  for (const char* kind : {"account", "category"}) {
    if (auto it = set->items.find(kind); it != set->items.end() && it->second.empty()) set->items.erase(it);
  }
  bool any_dimension = false;
  for (const auto& [kind, list] : set->items)
    any_dimension = any_dimension || kind.rfind("dimension:", 0) == 0;
  set->has_dimensions = set->has_dimensions && any_dimension;
  if (has_vendor_stream) {
    if (!normalizer_) return Status::Error("the vendor matcher's normalization table did not load");
    auto matcher = std::make_shared<match::Matcher>(normalizer_);
    if (!matcher->Build(vendors).ok()) {
      // A vendor name the matcher refuses (no letters or digits) is left out rather than failing the load.
      for (const auto& v : vendors) (void)matcher->Upsert(v);
    }
    set->matcher = std::move(matcher);
  }
  return std::shared_ptr<const ReferenceSet>(std::move(set));
}

}  // namespace mlc::engine
