// `mlc replay`: runs jobs again — by id, or every job of a pipeline in state dead or review. Idempotent: a
// job that already succeeded writes nothing again, and a written one only finishes its acknowledgement.
#include <chrono>
#include <iostream>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli/commands.hpp"
#include "cli/engine_exit.hpp"
#include "core/redact.hpp"
#include "engine/host_setup.hpp"
#include "engine/ids.hpp"
#include "engine/jobs.hpp"

namespace mlc::cli {

namespace {

struct ReplayOptions {
  std::vector<std::string> jobs;
  std::string pipeline;
  std::string state;
  std::string since;
  bool no_run = false;
  bool json = false;
  int retry_wait_s = 60;
};

void PrintError(std::string_view message) {
  std::cerr << "mlc replay: " << redact::RedactText(message) << "\n";
}

int RunReplay(const GlobalOptions& opts, const ReplayOptions& ro) {
  const bool by_state = !ro.pipeline.empty() || !ro.state.empty();
  if (by_state == !ro.jobs.empty()) {
    PrintError("give job ids, or --pipeline P --state dead|review (not both)");
    return kExitUsage;
  }
  if (by_state && (ro.pipeline.empty() || ro.state.empty())) {
    PrintError("--pipeline and --state go together");
    return kExitUsage;
  }
  int64_t since_ms = 0;
  if (!ro.since.empty()) {
    if (!by_state) {
      PrintError("--since applies to --pipeline/--state");
      return kExitUsage;
    }
    auto at = engine::ParseInstant(ro.since);
    if (!at.ok()) {
      PrintError("--since: " + at.status().message());
      return kExitUsage;
    }
    since_ms = *at;
  }

  engine::HostSetup setup = engine::LoadHostBase(opts.config_path, /*with_plugins=*/true);
  if (setup.failure != engine::SetupFailure::kNone) {
    for (const auto& m : setup.messages) PrintError(m);
    return ExitFor(setup.failure);
  }
  // Which jobs, and the pipelines they belong to.
  std::vector<engine::Job> jobs;
  if (by_state) {
    if (!setup.config.pipelines.count(ro.pipeline)) {
      PrintError("no pipeline named '" + ro.pipeline + "' in " + setup.config.path);
      return kExitConfig;
    }
    auto listed = engine::ListJobs(*setup.store, ro.pipeline, *engine::JobStateFromName(ro.state), since_ms);
    if (!listed.ok()) {
      PrintError(listed.status().message());
      return kExitFailed;
    }
    jobs = std::move(*listed);
  } else {
    for (const auto& id : ro.jobs) {
      auto j = engine::FindJob(*setup.store, id);
      if (!j.ok()) {
        PrintError(j.status().message());
        return j.status().code() == Code::kInvalid ? kExitUsage : kExitFailed;
      }
      jobs.push_back(std::move(*j));
    }
  }
  if (jobs.empty()) {
    if (ro.json) {
      std::cout
          << nlohmann::json{{"queued", nlohmann::json::array()}, {"jobs", nlohmann::json::array()}}.dump()
          << std::endl;
    } else {
      std::cout << "nothing to replay\n";
    }
    return kExitOk;
  }
  std::set<std::string> pipelines;
  for (const auto& j : jobs) {
    if (!setup.config.pipelines.count(j.pipeline)) {
      PrintError("job " + j.id.substr(0, 12) + " belongs to pipeline '" + j.pipeline +
                 "', which is no longer configured");
      return kExitConfig;
    }
    pipelines.insert(j.pipeline);
  }
  engine::AttachEngine(setup, std::vector<std::string>(pipelines.begin(), pipelines.end()), {});
  if (setup.failure != engine::SetupFailure::kNone) {
    for (const auto& m : setup.messages) PrintError(m);
    return ExitFor(setup.failure);
  }
  engine::Engine& eng = setup.engine_host->engine();

  std::map<std::string, std::string> before;  // id -> state before
  std::vector<std::string> ids;
  for (const auto& j : jobs) {
    before[j.id] = std::string(engine::JobStateName(j.state));
    ids.push_back(j.id);
  }
  auto replayed = eng.Replay(ids);
  if (!replayed.ok()) {
    PrintError(replayed.status().message());
    return kExitFailed;
  }
  bool failed = false;
  if (!ro.no_run) {
    for (const auto& p : pipelines) {
      engine::DrainOptions d;
      d.wait_for_retries = std::chrono::seconds(ro.retry_wait_s);
      for (const auto& id : replayed->queued) {
        for (const auto& j : jobs) {
          if (j.id == id && j.pipeline == p) d.only_jobs.push_back(id);
        }
      }
      if (d.only_jobs.empty()) continue;
      auto drained = eng.Drain(p, d);
      if (!drained.ok()) {
        PrintError(drained.status().message());
        failed = true;
      } else if (!drained->paused.empty()) {
        PrintError("pipeline " + p + " is paused: " + drained->paused);
      }
    }
  }
  nlohmann::json out = nlohmann::json::array();
  std::set<std::string> already(replayed->already.begin(), replayed->already.end());
  std::set<std::string> running(replayed->running.begin(), replayed->running.end());
  for (const auto& id : ids) {
    auto now = engine::LoadJob(*setup.store, id);
    const std::string after = now.ok() && *now ? std::string(engine::JobStateName((*now)->state)) : "unknown";
    if (after == "dead") failed = true;
    const std::string note = already.count(id)   ? "already succeeded; nothing written"
                             : running.count(id) ? "running in another worker; left alone"
                             : ro.no_run         ? "queued"
                                                 : "replayed";
    if (ro.json) {
      nlohmann::json j = {{"job_id", id}, {"before", before[id]}, {"after", after}, {"note", note}};
      if (now.ok() && *now) {
        j["source_id"] = (*now)->source_id;
        if (!(*now)->target_id.empty()) j["target_id"] = (*now)->target_id;
        if (!(*now)->last_error.empty()) j["last_error"] = (*now)->last_error;
      }
      out.push_back(std::move(j));
    } else {
      std::cout << id.substr(0, 12) << "  " << (now.ok() && *now ? (*now)->source_id : std::string()) << ": "
                << before[id] << " -> " << after << " (" << note << ")";
      if (now.ok() && *now && after != "succeeded" && !(*now)->last_error.empty()) {
        std::cout << ": " << redact::RedactText((*now)->last_error);
      }
      std::cout << "\n";
    }
  }
  if (ro.json) std::cout << nlohmann::json{{"jobs", out}}.dump() << std::endl;
  return failed ? kExitFailed : kExitOk;
}

}  // namespace

void RegisterReplayCommand(CLI::App& app, GlobalOptions& opts) {
  auto ro = std::make_shared<ReplayOptions>();
  CLI::App* cmd =
      app.add_subcommand("replay", "Run jobs again (by id, or a pipeline's dead or review jobs); idempotent");
  cmd->add_option("jobs", ro->jobs, "Job ids (or prefixes of at least 8 digits)");
  cmd->add_option("--pipeline", ro->pipeline, "Replay this pipeline's jobs in --state");
  cmd->add_option("--state", ro->state, "dead or review")->check(CLI::IsMember({"dead", "review"}));
  cmd->add_option("--since", ro->since, "Only jobs that changed at or after DATE (YYYY-MM-DD or RFC 3339)");
  cmd->add_flag("--no-run", ro->no_run, "Only queue the jobs (a running `mlc serve` picks them up)");
  cmd->add_flag("--json", ro->json, "Machine-readable output");
  cmd->add_option("--retry-wait", ro->retry_wait_s,
                  "Keep running while a failed job's retry falls due within this many seconds")
      ->check(CLI::Range(0, 86400));
  cmd->callback([&opts, ro] { opts.exit_code = RunReplay(opts, *ro); });
}

}  // namespace mlc::cli
