// `mlc mapping list|set|delete`: a pipeline's mapping tables (GL account, category, dimension values,
// vendor). Operator rows (set here or by `mlc review resolve`) win over the configuration file's rows for
// the same source value and survive restarts; config rows change only in the file.
#include <chrono>
#include <iostream>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "cli/commands.hpp"
#include "cli/engine_exit.hpp"
#include "core/redact.hpp"
#include "engine/host_setup.hpp"
#include "engine/mapping.hpp"

namespace mlc::cli {
namespace {

struct MappingOptions {
  std::string pipeline;
  std::string table;
  std::string source;
  std::string target;
  bool json = false;
};

void PrintError(std::string_view message) {
  std::cerr << "mlc mapping: " << redact::RedactText(message) << "\n";
}

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

int ExitForStatus(const Status& s) { return s.code() == Code::kInvalid ? kExitUsage : kExitFailed; }

// Loads config and store and refreshes the pipeline's config rows; nullopt-like failure via exit code.
int Prepare(const GlobalOptions& opts, const MappingOptions& mo, engine::HostSetup* setup) {
  *setup = engine::LoadHostBase(opts.config_path, /*with_plugins=*/false);
  if (setup->failure != engine::SetupFailure::kNone) {
    for (const auto& m : setup->messages) PrintError(m);
    return ExitFor(setup->failure);
  }
  auto it = setup->config.pipelines.find(mo.pipeline);
  if (it == setup->config.pipelines.end()) {
    PrintError("no pipeline named '" + mo.pipeline + "' in " + setup->config.path);
    return kExitUsage;
  }
  if (!mo.table.empty()) {
    if (Status s = engine::ValidateMappingTable(mo.table); !s.ok()) {
      PrintError(s.message());
      return kExitUsage;
    }
  }
  engine::MappingStore maps(*setup->store);
  if (Status s = maps.LoadConfig(mo.pipeline, it->second.mappings, NowMs()); !s.ok()) {
    PrintError(s.message());
    return s.code() == Code::kInvalid ? kExitConfig : kExitFailed;
  }
  return kExitOk;
}

int RunList(const GlobalOptions& opts, const MappingOptions& mo) {
  engine::HostSetup setup;
  if (int rc = Prepare(opts, mo, &setup); rc != kExitOk) return rc;
  engine::MappingStore maps(*setup.store);
  auto rows = maps.List(mo.pipeline, mo.table);
  if (!rows.ok()) {
    PrintError(rows.status().message());
    return kExitFailed;
  }
  if (mo.json) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& m : *rows) out.push_back(m.ToJson());
    std::cout << out.dump() << std::endl;
    return kExitOk;
  }
  if (rows->empty()) {
    std::cout << "no mappings for pipeline " << mo.pipeline << (mo.table.empty() ? "" : " table " + mo.table)
              << "\n";
    return kExitOk;
  }
  for (const auto& m : *rows) {
    std::cout << m.table << "  " << m.source_value << " -> " << m.target_value << "  ("
              << engine::MappingOriginName(m.origin) << (m.overridden ? ", overridden" : "") << ")\n";
  }
  return kExitOk;
}

int RunSet(const GlobalOptions& opts, const MappingOptions& mo) {
  engine::HostSetup setup;
  if (int rc = Prepare(opts, mo, &setup); rc != kExitOk) return rc;
  engine::MappingStore maps(*setup.store);
  Status s = maps.Set(mo.pipeline, mo.table, mo.source, mo.target, engine::MappingOrigin::kCli, NowMs());
  if (!s.ok()) {
    PrintError(s.message());
    return ExitForStatus(s);
  }
  std::cout << "mapping " << mo.table << " " << mo.source << " -> " << mo.target << " set for pipeline "
            << mo.pipeline << " (replay review jobs to apply it: mlc replay --pipeline " << mo.pipeline
            << " --state review)\n";
  return kExitOk;
}

int RunDelete(const GlobalOptions& opts, const MappingOptions& mo) {
  engine::HostSetup setup;
  if (int rc = Prepare(opts, mo, &setup); rc != kExitOk) return rc;
  engine::MappingStore maps(*setup.store);
  Status s = maps.Delete(mo.pipeline, mo.table, mo.source);
  if (!s.ok()) {
    PrintError(s.message());
    return s.code() == Code::kNotFound || s.code() == Code::kInvalid ? kExitUsage : kExitFailed;
  }
  std::cout << "mapping " << mo.table << " " << mo.source << " deleted from pipeline " << mo.pipeline << "\n";
  return kExitOk;
}

}  // namespace

void RegisterMappingCommands(CLI::App& app, GlobalOptions& opts) {
  CLI::App* group = app.add_subcommand("mapping", "Show and edit a pipeline's mapping tables");
  group->require_subcommand(1);

  auto lo = std::make_shared<MappingOptions>();
  CLI::App* list = group->add_subcommand("list", "List a pipeline's mappings (config and operator rows)");
  list->add_option("pipeline", lo->pipeline, "Pipeline")->required();
  list->add_option("--table", lo->table, "Only this table (gl_account, category, vendor, dimension:<key>)");
  list->add_flag("--json", lo->json, "Machine-readable output");
  list->callback([&opts, lo] { opts.exit_code = RunList(opts, *lo); });

  auto so = std::make_shared<MappingOptions>();
  CLI::App* set = group->add_subcommand("set", "Set a mapping (wins over the configuration file's)");
  set->add_option("pipeline", so->pipeline, "Pipeline")->required();
  set->add_option("table", so->table, "gl_account, category, vendor or dimension:<key>")->required();
  set->add_option("source", so->source, "Source value (GL code, name, dimension value, merchant)")
      ->required();
  set->add_option("target", so->target, "Target id, code or name")->required();
  set->callback([&opts, so] { opts.exit_code = RunSet(opts, *so); });

  auto dlo = std::make_shared<MappingOptions>();
  CLI::App* del =
      group->add_subcommand("delete", "Delete an operator mapping (the config row, if any, applies again)");
  del->add_option("pipeline", dlo->pipeline, "Pipeline")->required();
  del->add_option("table", dlo->table, "Table")->required();
  del->add_option("source", dlo->source, "Source value")->required();
  del->callback([&opts, dlo] { opts.exit_code = RunDelete(opts, *dlo); });
}

}  // namespace mlc::cli
