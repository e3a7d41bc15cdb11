// Reference data of target connections: every record of each stream the target's manifest lists in
// `reference_data` (accounts, categories, vendors, dimensions), read through the target's own plugin
// instance (all pages), kept for a TTL and shared by every pipeline writing to that connection. Each load
// also builds the vendor matcher for the connection's vendors and notes vendors deleted or renamed since
// the previous load (the resolver then invalidates their match-cache rows).
//
//   ReferenceCache refs(factory);
//   MLC_ASSIGN_OR_RETURN(auto set, refs.Get("fb", target_instance, std::chrono::minutes(15)));
//   if (const RefItem* a = set->Find("account", "6100")) { ... }   // by id, then code, then name
//
// Inactive records (account/category `active: false`, vendor `status: inactive`) are left out: nothing is
// resolved to them. An account, category or dimension stream that returns no records counts as not offered
// (a ledger always has a chart of accounts); an empty vendor stream is a target without vendors.
//
// Ownership: borrows the InstanceFactory (for manifests; must outlive it). Snapshots are immutable and
// shared (shared_ptr), so a caller keeps using its snapshot while another thread reloads.
// Thread safety: every method may be called from any thread. Loads of one connection are serialised (a
// second caller waits for the first load instead of reading the vendor twice); the instance passed to Get
// is used only during the call, on the calling thread.
#ifndef MLC_HOST_ENGINE_REFDATA_HPP_
#define MLC_HOST_ENGINE_REFDATA_HPP_

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/instances.hpp"
#include "loader/instance.hpp"
#include "match/matcher.hpp"
#include "mlc/status.hpp"

namespace mlc::engine {

// One referenceable target record (a dimension's values are items of "dimension:<key>").
struct RefItem {
  std::string id;  // the target's id (source.id of the reference record, or the dimension value's id/code)
  std::string code;
  std::string name;
  // The refs document entry: {"id", "code"?, "name"?}.
  nlohmann::json ToRef() const;
};

// One load of one connection's reference data.
struct ReferenceSet {
  int64_t loaded_at_ms = 0;
  // object type ("account", "category", "vendor") or "dimension:<key>" -> items. "vendor" is present when
  // the target declares a vendor stream (even an empty one); the others when their stream had records.
  std::map<std::string, std::vector<RefItem>, std::less<>> items;
  bool has_dimensions = false;                    // the target declares a `dimension` reference stream
  std::shared_ptr<const match::Matcher> matcher;  // over the active vendors; null without a vendor stream

  bool Has(std::string_view kind) const { return items.count(kind) > 0; }
  // By id, then code, then name (codes and names case-insensitively). Null when absent.
  const RefItem* Find(std::string_view kind, std::string_view value) const;
  const RefItem* FindById(std::string_view kind, std::string_view id) const;
};

// Vendors that changed between two loads of a connection.
struct VendorChanges {
  std::vector<std::string> deleted;                          // ids
  std::vector<std::pair<std::string, std::string>> renamed;  // id, new name
  bool added = false;
  bool empty() const { return deleted.empty() && renamed.empty() && !added; }
};

class ReferenceCache {
 public:
  explicit ReferenceCache(InstanceFactory& factory, std::function<int64_t()> now_ms = {});
  ~ReferenceCache();
  ReferenceCache(const ReferenceCache&) = delete;
  ReferenceCache& operator=(const ReferenceCache&) = delete;

  // The reference streams the connection's manifest declares: stream name -> object type.
  Result<std::map<std::string, std::string>> Streams(std::string_view connection);

  // The connection's reference data, loaded with `instance` when there is none yet, it is older than
  // `ttl`, or it was invalidated. Without an instance (previews) a stale snapshot is returned as is;
  // with none at all, Invalid. A failed load keeps the previous snapshot for the next call.
  Result<std::shared_ptr<const ReferenceSet>> Get(std::string_view connection,
                                                  loader::PluginInstance* instance,
                                                  std::chrono::milliseconds ttl);
  // Forces the next Get of the connection (empty: of every connection) to load again.
  void Invalidate(std::string_view connection = {});
  // Vendor changes noted by loads of the connection since the last call, and forgets them.
  VendorChanges TakeVendorChanges(std::string_view connection);
  // The normalizer the vendor matchers use (null if its built-in table failed to load).
  const match::Normalizer* normalizer() const { return normalizer_.get(); }

 private:
  struct Entry;
  Entry& EntryFor(std::string_view connection);
  Result<std::shared_ptr<const ReferenceSet>> Load(std::string_view connection,
                                                   loader::PluginInstance& instance);
  int64_t Now() const;

  InstanceFactory& factory_;
  std::function<int64_t()> now_ms_;
  std::shared_ptr<const match::Normalizer> normalizer_;
  std::mutex mu_;  // guards entries_ (the map, not the entries)
  std::map<std::string, std::unique_ptr<Entry>, std::less<>> entries_;
};

}  // namespace mlc::engine

#endif  // MLC_HOST_ENGINE_REFDATA_HPP_
