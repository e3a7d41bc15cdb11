// MappingStore over the `mappings` table (migration "review_mapping").
#include "engine/mapping.hpp"

#include <utility>

namespace mlc::engine {
namespace {

std::optional<MappingOrigin> OriginFromName(std::string_view name) {
  if (name == "config") return MappingOrigin::kConfig;
  if (name == "cli") return MappingOrigin::kCli;
  if (name == "review") return MappingOrigin::kReview;
  return std::nullopt;
}

Mapping FromRow(const store::Row& r) {
  Mapping m;
  m.pipeline = r.Text(0);
  m.table = r.Text(1);
  m.source_value = r.Text(2);
  m.target_value = r.Text(3);
  m.origin = OriginFromName(r.Text(4)).value_or(MappingOrigin::kConfig);
  m.created_at = r.Int(5);
  m.updated_at = r.Int(6);
  return m;
}

constexpr const char* kColumns =
    "pipeline, map_table, source_value, target_value, origin, created_at, updated_at";

}  // namespace

std::string_view MappingOriginName(MappingOrigin o) {
  switch (o) {
    case MappingOrigin::kConfig:
      return "config";
    case MappingOrigin::kCli:
      return "cli";
    case MappingOrigin::kReview:
      return "review";
  }
  return "config";
}

nlohmann::json Mapping::ToJson() const {
  return {{"pipeline", pipeline},
          {"table", table},
          {"source", source_value},
          {"target", target_value},
          {"origin", MappingOriginName(origin)},
          {"overridden", overridden},
          {"created_at_ms", created_at},
          {"updated_at_ms", updated_at}};
}

Status ValidateMappingTable(std::string_view table) {
  if (table == "gl_account" || table == "category" || table == "vendor") return Status::Ok();
  constexpr std::string_view kDim = "dimension:";
  bool ok = table.substr(0, kDim.size()) == kDim && table.size() > kDim.size() && table.size() <= 100;
  for (size_t i = kDim.size(); ok && i < table.size(); ++i) {
    const char c = table[i];
    ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
  }
  if (ok) return Status::Ok();
  return Status::Invalid("unknown mapping table '" + std::string(table) +
                         "' (use gl_account, category, vendor or dimension:<key>)");
}

std::string MappingKey(std::string_view v) {
  while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
  while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
  std::string out(v);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

Status MappingStore::LoadConfig(std::string_view pipeline,
                                const std::map<std::string, std::map<std::string, std::string>>& tables,
                                int64_t now_ms) {
  for (const auto& [table, rows] : tables) {
    MLC_RETURN_IF_ERROR(ValidateMappingTable(table).Wrap("pipeline " + std::string(pipeline) + " mappings"));
  }
  return store_.Transaction([&](store::Tx& tx) -> Status {
    MLC_RETURN_IF_ERROR(
        tx.Exec("DELETE FROM mappings WHERE pipeline = $1 AND layer = 'config'", {std::string(pipeline)}));
    for (const auto& [table, rows] : tables) {
      for (const auto& [source, target] : rows) {
        const std::string key = MappingKey(source);
        if (key.empty() || target.empty()) continue;
        // Two config spellings of one key ("Meals", "meals"): the later wins, as a map would.
        MLC_RETURN_IF_ERROR(
            tx.Exec("INSERT INTO mappings (pipeline, map_table, source_key, source_value, target_value, "
                    "layer, origin, "
                    "created_at, updated_at) VALUES ($1, $2, $3, $4, $5, 'config', 'config', $6, $6) "
                    "ON CONFLICT (pipeline, map_table, source_key, layer) DO UPDATE SET source_value = "
                    "excluded.source_value, target_value = excluded.target_value",
                    {std::string(pipeline), table, key, source, target, now_ms}));
      }
    }
    return Status::Ok();
  });
}

Result<std::optional<Mapping>> MappingStore::Lookup(std::string_view pipeline, std::string_view table,
                                                    std::string_view source_value) {
  const std::string key = MappingKey(source_value);
  if (key.empty()) return std::optional<Mapping>();
  // 'operator' sorts after 'config': DESC puts the operator row first.
  MLC_ASSIGN_OR_RETURN(auto row, store_.QueryOne(std::string("SELECT ") + kColumns +
                                                     " FROM mappings WHERE pipeline = $1 AND map_table = $2 "
                                                     "AND source_key = $3 ORDER BY layer DESC LIMIT 1",
                                                 {std::string(pipeline), std::string(table), key}));
  if (!row) return std::optional<Mapping>();
  return std::optional<Mapping>(FromRow(*row));
}

Result<std::vector<Mapping>> MappingStore::List(std::string_view pipeline, std::string_view table) {
  std::string sql =
      std::string("SELECT ") + kColumns + ", source_key, layer FROM mappings WHERE pipeline = $1";
  store::Params params = {std::string(pipeline)};
  if (!table.empty()) {
    sql += " AND map_table = $2";
    params.push_back(std::string(table));
  }
  sql += " ORDER BY map_table, source_key, layer DESC";
  MLC_ASSIGN_OR_RETURN(auto rows, store_.Query(sql, params));
  std::vector<Mapping> out;
  std::string last_table, last_key;
  for (const auto& r : rows) {
    Mapping m = FromRow(r);
    const std::string key = r.Text(7);
    m.overridden = !out.empty() && last_table == m.table && last_key == key && r.Text(8) == "config";
    last_table = m.table;
    last_key = key;
    out.push_back(std::move(m));
  }
  return out;
}

Status MappingStore::Set(std::string_view pipeline, std::string_view table, std::string_view source_value,
                         std::string_view target_value, MappingOrigin origin, int64_t now_ms) {
  MLC_RETURN_IF_ERROR(ValidateMappingTable(table));
  if (origin == MappingOrigin::kConfig)
    return Status::Invalid("config mappings come from the configuration file");
  const std::string key = MappingKey(source_value);
  if (key.empty()) return Status::Invalid("the source value is empty");
  if (MappingKey(target_value).empty()) return Status::Invalid("the target value is empty");
  return store_.Exec(
      "INSERT INTO mappings (pipeline, map_table, source_key, source_value, target_value, layer, origin, "
      "created_at, updated_at) VALUES ($1, $2, $3, $4, $5, 'operator', $6, $7, $7) "
      "ON CONFLICT (pipeline, map_table, source_key, layer) DO UPDATE SET source_value = "
      "excluded.source_value, "
      "target_value = excluded.target_value, origin = excluded.origin, updated_at = excluded.updated_at",
      {std::string(pipeline), std::string(table), key, std::string(source_value), std::string(target_value),
       std::string(MappingOriginName(origin)), now_ms});
}

Status MappingStore::Delete(std::string_view pipeline, std::string_view table,
                            std::string_view source_value) {
  MLC_RETURN_IF_ERROR(ValidateMappingTable(table));
  const std::string key = MappingKey(source_value);
  int64_t changed = 0;
  MLC_RETURN_IF_ERROR(
      store_.Exec("DELETE FROM mappings WHERE pipeline = $1 AND map_table = $2 AND source_key = $3 AND layer "
                  "= 'operator'",
                  {std::string(pipeline), std::string(table), key}, &changed));
  if (changed > 0) return Status::Ok();
  MLC_ASSIGN_OR_RETURN(auto cfg, Lookup(pipeline, table, source_value));
  if (cfg) {
    return Status::NotFound("mapping " + std::string(table) + " '" + std::string(source_value) +
                            "' of pipeline " + std::string(pipeline) +
                            " comes from the configuration file; edit it there");
  }
  return Status::NotFound("no mapping " + std::string(table) + " '" + std::string(source_value) +
                          "' in pipeline " + std::string(pipeline));
}

}  // namespace mlc::engine
