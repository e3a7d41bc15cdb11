// `mlc sync PIPELINE`: polls the pipeline's source and runs its jobs now (once, or on its schedule until
// SIGINT/SIGTERM); `--dry-run` shows what would be written and acknowledged without changing anything.
#include <atomic>
#include <chrono>
#include <csignal>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

#include "cli/commands.hpp"
#include "cli/engine_exit.hpp"
#include "config/schedule.hpp"
#include "core/redact.hpp"
#include "engine/host_setup.hpp"
#include "engine/ids.hpp"

namespace mlc::cli {

namespace {

std::atomic<bool> g_sync_stop{false};

void OnStopSignal(int) { g_sync_stop = true; }

struct SyncOptions {
  std::string pipeline;
  std::string since;
  bool once = false;
  bool dry_run = false;
  bool json = false;
  int retry_wait_s = 60;
};

void PrintError(std::string_view message) {
  std::cerr << "mlc sync: " << redact::RedactText(message) << "\n";
}

std::string Short(const std::string& id) { return id.substr(0, 12); }

void PrintPreview(const engine::DryRunReport& r, const std::string& pipeline) {
  std::cout << "dry run of " << pipeline << ": read " << r.polled.records << " record(s) in "
            << r.polled.pages << " page(s), " << r.polled.arrived
            << " new; nothing was stored, written or acknowledged\n";
  int writes = 0;
  for (const auto& item : r.items) {
    std::cout << "  " << Short(item.job_id) << "  " << item.source_id << " (v" << item.source_version << ", "
              << item.state << "): " << item.action;
    if (!item.reason.empty()) std::cout << " - " << redact::RedactText(item.reason);
    std::cout << "\n";
    if (item.action == "write") {
      ++writes;
      const auto& reply = item.write["reply"];
      std::cout << "      would write " << item.write["object_type"].get<std::string>() << " to "
                << item.write["connection"].get<std::string>() << " with key "
                << item.write["idempotency_key"].get<std::string>();
      if (reply.is_object() && reply.contains("target_id") && reply["target_id"].is_string()) {
        std::cout << " (target id " << reply["target_id"].get<std::string>() << ")";
      }
      std::cout << "\n";
      if (reply.is_object() && reply.contains("request")) {
        std::cout << "      request: " << redact::RedactText(reply["request"].dump()) << "\n";
      }
    }
    if (!item.ack.is_null()) {
      std::cout << "      would acknowledge at " << item.ack["connection"].get<std::string>() << " ("
                << item.ack["stream"].get<std::string>() << "): " << item.ack["items"].dump() << "\n";
    }
  }
  std::cout << writes << " write(s) would be made\n";
}

struct CycleResult {
  nlohmann::json doc;
  bool failed = false;
};

CycleResult RunCycle(engine::Engine& eng, const SyncOptions& so, const std::optional<std::string>& since) {
  CycleResult out;
  engine::PollOptions po;
  po.since = since;
  po.actor = engine::Actor::kOperator;
  auto polled = eng.Poll(so.pipeline, po);
  nlohmann::json doc = {{"pipeline", so.pipeline}};
  if (polled.ok()) {
    doc["read"] = polled->records;
    doc["pages"] = polled->pages;
    doc["arrived"] = polled->arrived;
    doc["duplicates"] = polled->duplicates;
    doc["invalid"] = polled->invalid;
  } else {
    out.failed = true;
    doc["arrived"] = 0;
    doc["poll_error"] = redact::RedactText(polled.status().ToString());
  }
  engine::DrainOptions d;
  d.wait_for_retries = std::chrono::seconds(so.retry_wait_s);
  auto drained = eng.Drain(so.pipeline, d);
  if (drained.ok()) {
    doc["succeeded"] = drained->succeeded;
    doc["review"] = drained->review;
    doc["dead"] = drained->dead;
    doc["uncertain"] = drained->uncertain;
    doc["retrying"] = drained->retrying;
    doc["waiting_auth"] = drained->waiting_auth;
    if (!drained->paused.empty()) doc["paused"] = drained->paused;
    // A dead job or a paused pipeline needs an operator.
    if (drained->dead > 0 || !drained->paused.empty()) out.failed = true;
  } else {
    out.failed = true;
    doc["drain_error"] = redact::RedactText(drained.status().ToString());
  }
  if (auto counts = engine::CountJobsByState(eng.store(), so.pipeline); counts.ok()) {
    nlohmann::json jobs = nlohmann::json::object();
    for (const auto& [state, n] : *counts) jobs[state] = n;
    doc["jobs"] = jobs;
  }
  out.doc = std::move(doc);
  return out;
}

void PrintCycle(const nlohmann::json& doc, bool as_json) {
  if (as_json) {
    std::cout << doc.dump() << std::endl;
    return;
  }
  if (doc.contains("poll_error"))
    std::cerr << "mlc sync: poll failed: " << doc["poll_error"].get<std::string>() << "\n";
  if (doc.contains("drain_error")) std::cerr << "mlc sync: " << doc["drain_error"].get<std::string>() << "\n";
  if (doc.contains("paused")) std::cerr << "mlc sync: paused: " << doc["paused"].get<std::string>() << "\n";
  std::cout << "sync " << doc["pipeline"].get<std::string>() << ": read " << doc.value("read", 0)
            << ", arrived " << doc.value("arrived", 0) << ", succeeded " << doc.value("succeeded", 0)
            << ", review " << doc.value("review", 0) << ", dead " << doc.value("dead", 0) << ", uncertain "
            << doc.value("uncertain", 0);
  if (doc.value("retrying", 0) > 0) std::cout << ", retrying later " << doc.value("retrying", 0);
  if (doc.value("waiting_auth", 0) > 0)
    std::cout << ", waiting for re-authorisation " << doc.value("waiting_auth", 0);
  std::cout << std::endl;
}

int RunSync(const GlobalOptions& opts, const SyncOptions& so) {
  std::optional<std::string> since;
  if (!so.since.empty()) {
    auto at = engine::ParseInstant(so.since);
    if (!at.ok()) {
      PrintError("--since: " + at.status().message());
      return kExitUsage;
    }
    since = engine::FormatInstantSeconds(*at);
  }
  engine::HostSetup setup = engine::LoadHostBase(opts.config_path, /*with_plugins=*/true);
  engine::AttachEngine(setup, {so.pipeline}, {});
  if (setup.failure != engine::SetupFailure::kNone) {
    for (const auto& m : setup.messages) PrintError(m);
    return ExitFor(setup.failure);
  }
  engine::Engine& eng = setup.engine_host->engine();

  if (so.dry_run) {
    engine::PollOptions po;
    po.since = since;
    po.actor = engine::Actor::kOperator;
    auto report = eng.DryRun(so.pipeline, po);
    if (!report.ok()) {
      PrintError(report.status().ToString());
      return kExitFailed;
    }
    if (so.json) {
      nlohmann::json doc = report->ToJson();
      doc["pipeline"] = so.pipeline;
      doc["dry_run"] = true;
      std::cout << redact::RedactText(doc.dump()) << std::endl;
    } else {
      PrintPreview(*report, so.pipeline);
    }
    return kExitOk;
  }

  if (so.once) {
    CycleResult r = RunCycle(eng, so, since);
    PrintCycle(r.doc, so.json);
    return r.failed ? kExitFailed : kExitOk;
  }

  // Until stopped: one cycle now, then one per schedule tick (every minute when it has none).
  g_sync_stop = false;
  auto previous_int = std::signal(SIGINT, OnStopSignal);
  auto previous_term = std::signal(SIGTERM, OnStopSignal);
  auto spec = eng.Pipeline(so.pipeline);
  std::optional<config::Schedule> schedule;
  if (spec.ok() && !spec->schedule.empty()) {
    if (auto parsed = config::Schedule::Parse(spec->schedule); parsed.ok()) schedule = *parsed;
  }
  bool any_failed = false;
  while (!g_sync_stop) {
    CycleResult r = RunCycle(eng, so, since);
    since.reset();  // a backfill happens once
    any_failed = any_failed || r.failed;
    PrintCycle(r.doc, so.json);
    const auto now = std::chrono::system_clock::now();
    const auto next = schedule ? schedule->NextAfter(now) : now + std::chrono::minutes(1);
    while (!g_sync_stop && std::chrono::system_clock::now() < next) {
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
  }
  std::signal(SIGINT, previous_int);
  std::signal(SIGTERM, previous_term);
  return any_failed ? kExitFailed : kExitOk;
}

}  // namespace

void RegisterSyncCommand(CLI::App& app, GlobalOptions& opts) {
  auto so = std::make_shared<SyncOptions>();
  CLI::App* cmd = app.add_subcommand("sync", "Poll a pipeline's source and run its jobs now");
  cmd->add_option("pipeline", so->pipeline, "Pipeline name from the configuration")->required();
  cmd->add_option(
      "--since", so->since,
      "Backfill: read records updated at or after DATE (YYYY-MM-DD or RFC 3339) instead of resuming "
      "from the saved cursor");
  cmd->add_flag("--once", so->once,
                "One poll and one pass over the jobs, then exit (default: repeat on the "
                "pipeline's schedule until SIGINT/SIGTERM)");
  cmd->add_flag("--dry-run", so->dry_run,
                "Run the real path but write nothing to the target, acknowledge nothing and store nothing; "
                "print what would be posted where");
  cmd->add_flag("--json", so->json, "Machine-readable output (one JSON document per cycle)");
  cmd->add_option("--retry-wait", so->retry_wait_s,
                  "Keep running while a failed job's retry falls due within this many seconds")
      ->check(CLI::Range(0, 86400));
  cmd->callback([&opts, so] { opts.exit_code = RunSync(opts, *so); });
}

}  // namespace mlc::cli
