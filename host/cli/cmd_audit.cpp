// `mlc audit`: the audit trail of a job or a source record (`mlc audit ID`), and a pipeline's trail over a
// time range as CSV or JSON (`mlc audit export`).
#include <fstream>
#include <iomanip>
#include <iostream>
#include <map>
#include <memory>
#include <sstream>
#include <string>

#include <nlohmann/json.hpp>

#include "cli/commands.hpp"
#include "cli/engine_exit.hpp"
#include "core/redact.hpp"
#include "engine/audit.hpp"
#include "engine/host_setup.hpp"
#include "engine/ids.hpp"
#include "engine/jobs.hpp"

namespace mlc::cli {

namespace {

struct AuditOptions {
  std::string id;
  bool json = false;
};

struct ExportOptions {
  std::string pipeline;
  std::string from;
  std::string to;
  std::string format = "csv";
  std::string output;
};

void PrintError(std::string_view message) {
  std::cerr << "mlc audit: " << redact::RedactText(message) << "\n";
}

std::string Pad(const std::string& s, size_t width) {
  return s.size() >= width ? s + " " : s + std::string(width - s.size(), ' ');
}

int RunTimeline(const GlobalOptions& opts, const AuditOptions& ao) {
  engine::HostSetup setup = engine::LoadHostBase(opts.config_path, /*with_plugins=*/false);
  if (setup.failure != engine::SetupFailure::kNone) {
    for (const auto& m : setup.messages) PrintError(m);
    return ExitFor(setup.failure);
  }
  auto rows = engine::AuditTimeline(*setup.store, ao.id);
  if (!rows.ok()) {
    PrintError(rows.status().message());
    return rows.status().code() == Code::kNotFound  ? kExitFailed
           : rows.status().code() == Code::kInvalid ? kExitUsage
                                                    : kExitFailed;
  }
  // The jobs the rows belong to, for their current state.
  std::map<std::string, engine::Job> jobs;
  for (const auto& r : *rows) {
    if (r.job_id.empty() || jobs.count(r.job_id)) continue;
    if (auto j = engine::LoadJob(*setup.store, r.job_id); j.ok() && *j) jobs.emplace(r.job_id, **j);
  }
  if (ao.json) {
    nlohmann::json jobs_doc = nlohmann::json::array();
    for (const auto& [id, j] : jobs) jobs_doc.push_back(j.ToJson());
    std::cout << nlohmann::json{{"jobs", jobs_doc}, {"rows", engine::AuditJson(*rows)}}.dump() << std::endl;
    return kExitOk;
  }
  for (const auto& [id, j] : jobs) {
    std::cout << "job " << id << "\n  pipeline " << j.pipeline << ", " << j.object_type << " " << j.source_id
              << " version " << j.source_version << ": " << engine::JobStateName(j.state);
    if (!j.target_id.empty()) std::cout << ", target id " << j.target_id;
    if (j.attempts > 0) std::cout << ", " << j.attempts << " failed attempt(s)";
    std::cout << "\n";
    if (!j.review_kind.empty()) std::cout << "  review: " << j.review_kind << ": " << j.review_detail << "\n";
    if (!j.last_error.empty() && j.review_kind.empty()) std::cout << "  last error: " << j.last_error << "\n";
  }
  std::cout << "\n";
  for (const auto& r : *rows) {
    std::cout << engine::FormatInstantMs(r.at_ms) << "  " << Pad(r.step, 11) << Pad(r.actor, 10)
              << (r.job_id.empty() ? std::string("-") : r.job_id.substr(0, 12)) << "  " << r.outcome;
    if (!r.request_method.empty()) {
      std::cout << "  [" << r.request_method << " " << r.request_path;
      if (r.request_status > 0) std::cout << " " << r.request_status;
      if (r.request_latency_ms >= 0) std::cout << " " << r.request_latency_ms << "ms";
      std::cout << "]";
    }
    if (r.detail != "{}") std::cout << "  " << r.detail;
    std::cout << "\n";
  }
  return kExitOk;
}

int RunExport(const GlobalOptions& opts, const ExportOptions& eo) {
  auto from = engine::ParseInstant(eo.from);
  if (!from.ok()) {
    PrintError("--from: " + from.status().message());
    return kExitUsage;
  }
  auto to = engine::ParseInstant(eo.to);
  if (!to.ok()) {
    PrintError("--to: " + to.status().message());
    return kExitUsage;
  }
  // A bare --to date means through the end of that day.
  const int64_t to_ms = engine::IsBareDate(eo.to) ? *to + 86400000 : *to;
  if (to_ms <= *from) {
    PrintError("--to must be after --from");
    return kExitUsage;
  }
  engine::HostSetup setup = engine::LoadHostBase(opts.config_path, /*with_plugins=*/false);
  if (setup.failure != engine::SetupFailure::kNone) {
    for (const auto& m : setup.messages) PrintError(m);
    return ExitFor(setup.failure);
  }
  auto rows = engine::AuditRange(*setup.store, eo.pipeline, *from, to_ms);
  if (!rows.ok()) {
    PrintError(rows.status().message());
    return kExitFailed;
  }
  // A pipeline removed from the configuration keeps its history; only a name never seen is an error.
  if (rows->empty() && !setup.config.pipelines.count(eo.pipeline)) {
    auto any = setup.store->QueryOne("SELECT COUNT(*) FROM audit WHERE pipeline = $1", {eo.pipeline});
    if (any.ok() && *any && (*any)->Int(0) == 0) {
      PrintError("no pipeline named '" + eo.pipeline + "' in " + setup.config.path +
                 " or in the audit trail");
      return kExitConfig;
    }
  }
  const std::string text =
      eo.format == "csv" ? engine::AuditCsv(*rows) : engine::AuditJson(*rows).dump(2) + "\n";
  if (eo.output.empty() || eo.output == "-") {
    std::cout << text << std::flush;
  } else {
    std::ofstream out(eo.output, std::ios::binary | std::ios::trunc);
    out << text;
    out.close();
    if (!out) {
      PrintError("cannot write " + eo.output);
      return kExitFailed;
    }
    std::cerr << "wrote " << rows->size() << " audit row(s) to " << eo.output << "\n";
  }
  return kExitOk;
}

}  // namespace

void RegisterAuditCommands(CLI::App& app, GlobalOptions& opts) {
  auto ao = std::make_shared<AuditOptions>();
  auto eo = std::make_shared<ExportOptions>();
  CLI::App* cmd =
      app.add_subcommand("audit", "Show the audit trail of a job or a source record, or export it");
  cmd->add_option("id", ao->id, "Job id (or a prefix of at least 8 digits) or source record id");
  cmd->add_flag("--json", ao->json, "Machine-readable output");

  CLI::App* ex = cmd->add_subcommand("export", "Export a pipeline's audit rows in a time range");
  ex->add_option("--pipeline", eo->pipeline, "Pipeline name")->required();
  ex->add_option("--from", eo->from, "Start (YYYY-MM-DD or RFC 3339), inclusive")->required();
  ex->add_option("--to", eo->to, "End (RFC 3339, exclusive; a bare date includes that whole day)")
      ->required();
  ex->add_option("--format", eo->format, "csv or json")->check(CLI::IsMember({"csv", "json"}));
  ex->add_option("-o,--output", eo->output, "Write to FILE instead of stdout");
  ex->callback([&opts, eo] { opts.exit_code = RunExport(opts, *eo); });

  cmd->callback([&opts, ao, cmd, ex] {
    if (ex->parsed()) return;  // `audit export` ran its own callback
    if (ao->id.empty()) {
      std::cerr << "mlc audit: give a job id or a source record id, or use `mlc audit export`\n"
                << cmd->help();
      opts.exit_code = kExitUsage;
      return;
    }
    opts.exit_code = RunTimeline(opts, *ao);
  });
}

}  // namespace mlc::cli
