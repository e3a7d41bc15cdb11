// Mapping tables per pipeline: (table, source value) -> target value, e.g. gl_account "6100" -> "4120",
// category "Meals" -> "3100245", dimension:department "ENG" -> "Engineering".
//
// Two layers per key: `config` rows mirror [pipelines.X.mappings.<table>] and are rewritten by
// LoadConfig at every engine setup; `operator` rows come from `mlc mapping set` (origin cli) or a review
// resolution (origin review), survive restarts and config reloads, and WIN over the config row for the
// same key. Deleting an operator row makes the config row (if any) apply again; config rows change only
// through the configuration file. Source values match trimmed and case-insensitively.
//
//   MappingStore maps(store);
//   MLC_RETURN_IF_ERROR(maps.LoadConfig("p", cfg.pipelines.at("p").mappings, now_ms));
//   MLC_ASSIGN_OR_RETURN(auto target, maps.Lookup("p", "gl_account", "6100"));  // optional<Mapping>
//
// Ownership: borrows the Store (must outlive it). Thread safety: every method may be called from any
// thread (the Store serialises statements).
#ifndef MLC_HOST_ENGINE_MAPPING_HPP_
#define MLC_HOST_ENGINE_MAPPING_HPP_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "mlc/status.hpp"
#include "store/store.hpp"

namespace mlc::engine {

enum class MappingOrigin { kConfig, kCli, kReview };
std::string_view MappingOriginName(MappingOrigin o);  // "config", "cli", "review"

struct Mapping {
  std::string pipeline;
  std::string table;
  std::string source_value;
  std::string target_value;
  MappingOrigin origin = MappingOrigin::kConfig;
  bool overridden = false;  // a config row hidden by an operator row for the same key (List only)
  int64_t created_at = 0;
  int64_t updated_at = 0;
  nlohmann::json ToJson() const;
};

// Table names: gl_account, category, vendor, or dimension:<key> (key: letters, digits, '_', '-').
Status ValidateMappingTable(std::string_view table);
// The lookup key of a source value: trimmed, ASCII lower-cased.
std::string MappingKey(std::string_view source_value);

class MappingStore {
 public:
  explicit MappingStore(store::Store& store) : store_(store) {}

  // Replaces the pipeline's config rows with `tables` (table -> source -> target), in one transaction.
  Status LoadConfig(std::string_view pipeline,
                    const std::map<std::string, std::map<std::string, std::string>>& tables, int64_t now_ms);
  // The effective target for a source value: the operator row, else the config row, else nullopt.
  Result<std::optional<Mapping>> Lookup(std::string_view pipeline, std::string_view table,
                                        std::string_view source_value);
  // Every row of the pipeline (optionally one table), operator rows first per key; config rows hidden by
  // an operator row carry overridden = true.
  Result<std::vector<Mapping>> List(std::string_view pipeline, std::string_view table = {});
  // Sets an operator row (origin cli or review). Invalid for an empty value or a bad table name.
  Status Set(std::string_view pipeline, std::string_view table, std::string_view source_value,
             std::string_view target_value, MappingOrigin origin, int64_t now_ms);
  // Removes the operator row. NotFound when there is none (a config row is then named in the message).
  Status Delete(std::string_view pipeline, std::string_view table, std::string_view source_value);

 private:
  store::Store& store_;
};

}  // namespace mlc::engine

#endif  // MLC_HOST_ENGINE_MAPPING_HPP_
