// `mlc review list|resolve`: the review queue. Resolving stores the decision (vendor pin, vendor mapping,
// GL mapping) so the same case resolves itself next time, resolves the pipeline's other items with the
// same cause, and replays their jobs; --skip finishes the job without writing.
#include <chrono>
#include <iostream>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "cli/commands.hpp"
#include "cli/engine_exit.hpp"
#include "core/redact.hpp"
#include "engine/host_setup.hpp"
#include "engine/jobs.hpp"
#include "engine/review.hpp"

namespace mlc::cli {
namespace {

struct ReviewOptions {
  std::string pipeline;
  bool all = false;
  bool json = false;
  std::string id;
  std::string vendor;
  std::string account;
  bool create_vendor = false;
  bool skip = false;
  bool no_run = false;
  int retry_wait_s = 60;
};

void PrintError(std::string_view message) {
  std::cerr << "mlc review: " << redact::RedactText(message) << "\n";
}

int RunList(const GlobalOptions& opts, const ReviewOptions& ro) {
  engine::HostSetup setup = engine::LoadHostBase(opts.config_path, /*with_plugins=*/false);
  if (setup.failure != engine::SetupFailure::kNone) {
    for (const auto& m : setup.messages) PrintError(m);
    return ExitFor(setup.failure);
  }
  if (!ro.pipeline.empty() && !setup.config.pipelines.count(ro.pipeline)) {
    PrintError("no pipeline named '" + ro.pipeline + "' in " + setup.config.path);
    return kExitUsage;
  }
  engine::ReviewQueue queue(*setup.store);
  auto items = queue.List(ro.pipeline, ro.all);
  if (!items.ok()) {
    PrintError(items.status().message());
    return kExitFailed;
  }
  if (ro.json) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& i : *items) out.push_back(i.ToJson());
    std::cout << out.dump() << std::endl;
    return kExitOk;
  }
  if (items->empty()) {
    std::cout << "the review queue is empty\n";
    return kExitOk;
  }
  for (const auto& i : *items) {
    std::cout << i.id << "  " << i.pipeline << "  " << i.source_id << "  " << i.kind << ": "
              << redact::RedactText(i.message) << "\n";
    if (i.detail.contains("candidates")) {
      for (const auto& c : i.detail["candidates"]) {
        std::cout << "    candidate " << c.value("vendor_id", "") << "  " << c.value("vendor_name", "")
                  << "  score " << c.value("score", "") << "\n";
      }
    }
    if (i.resolved_at) std::cout << "    resolved: " << i.resolution.dump() << "\n";
  }
  return kExitOk;
}

int RunResolve(const GlobalOptions& opts, const ReviewOptions& ro) {
  const int chosen = (ro.vendor.empty() ? 0 : 1) + (ro.account.empty() ? 0 : 1) + (ro.create_vendor ? 1 : 0) +
                     (ro.skip ? 1 : 0);
  if (chosen != 1) {
    PrintError("give exactly one of --vendor VENDOR, --account TARGET, --create-vendor, --skip");
    return kExitUsage;
  }
  engine::ReviewAction action;
  if (!ro.vendor.empty()) action = {engine::ReviewAction::Kind::kVendor, ro.vendor};
  if (!ro.account.empty()) action = {engine::ReviewAction::Kind::kAccount, ro.account};
  if (ro.create_vendor) action = {engine::ReviewAction::Kind::kCreateVendor, ""};
  if (ro.skip) action = {engine::ReviewAction::Kind::kSkip, ""};

  engine::HostSetup setup = engine::LoadHostBase(opts.config_path, /*with_plugins=*/true);
  if (setup.failure != engine::SetupFailure::kNone) {
    for (const auto& m : setup.messages) PrintError(m);
    return ExitFor(setup.failure);
  }
  engine::ReviewQueue queue(*setup.store);
  if (Status s = queue.Sync(); !s.ok()) {
    PrintError(s.message());
    return kExitFailed;
  }
  auto item = queue.Get(ro.id);
  if (!item.ok()) {
    PrintError(item.status().message());
    return kExitUsage;
  }
  if (!setup.config.pipelines.count(item->pipeline)) {
    PrintError("review item " + item->id + " belongs to pipeline '" + item->pipeline +
               "', which is no longer configured");
    return kExitConfig;
  }
  engine::AttachEngine(setup, {item->pipeline}, {});
  if (setup.failure != engine::SetupFailure::kNone) {
    for (const auto& m : setup.messages) PrintError(m);
    return ExitFor(setup.failure);
  }
  engine::Engine& eng = setup.engine_host->engine();
  auto done = engine::ResolveReviewItem(eng, setup.engine_host->resolver(), queue, ro.id, action);
  if (!done.ok()) {
    PrintError(done.status().message());
    const Code c = done.status().code();
    return c == Code::kInvalid || c == Code::kNotFound ? kExitUsage : kExitFailed;
  }
  bool failed = false;
  if (!ro.no_run && !done->replayed.empty()) {
    engine::DrainOptions d;
    d.wait_for_retries = std::chrono::seconds(ro.retry_wait_s);
    d.only_jobs = done->replayed;
    auto drained = eng.Drain(item->pipeline, d);
    if (!drained.ok()) {
      PrintError(drained.status().message());
      failed = true;
    } else if (!drained->paused.empty()) {
      PrintError("pipeline " + item->pipeline + " is paused: " + drained->paused);
    }
  }
  std::vector<std::string> job_ids = {done->item.job_id};
  for (const auto& j : done->replayed) {
    if (j != done->item.job_id) job_ids.push_back(j);
  }
  nlohmann::json jobs = nlohmann::json::array();
  for (const auto& id : job_ids) {
    auto job = engine::LoadJob(*setup.store, id);
    if (!job.ok() || !*job) continue;
    const std::string state(engine::JobStateName((*job)->state));
    if (state == "dead") failed = true;
    nlohmann::json j = {{"job_id", id}, {"source_id", (*job)->source_id}, {"state", state}};
    if (!(*job)->target_id.empty()) j["target_id"] = (*job)->target_id;
    if (!(*job)->review_kind.empty()) j["review_kind"] = (*job)->review_kind;
    jobs.push_back(std::move(j));
  }
  if (ro.json) {
    std::cout << nlohmann::json{{"item", done->item.ToJson()},
                                {"also_resolved", done->also},
                                {"stored", done->stored},
                                {"jobs", jobs}}
                     .dump()
              << std::endl;
  } else {
    std::cout << "resolved " << done->item.id << " (" << done->item.resolution.value("action", "") << ")";
    if (!done->also.empty())
      std::cout << " and " << done->also.size() << " other item(s) with the same cause";
    std::cout << "\n";
    for (const auto& j : jobs) {
      std::cout << "  " << j["job_id"].get<std::string>().substr(0, 12) << "  "
                << j["source_id"].get<std::string>() << ": " << j["state"].get<std::string>();
      if (j.contains("target_id")) std::cout << ", target id " << j["target_id"].get<std::string>();
      if (j.contains("review_kind")) std::cout << " (" << j["review_kind"].get<std::string>() << ")";
      std::cout << "\n";
    }
  }
  return failed ? kExitFailed : kExitOk;
}

}  // namespace

void RegisterReviewCommands(CLI::App& app, GlobalOptions& opts) {
  CLI::App* group = app.add_subcommand("review", "The review queue: records that need a person");
  group->require_subcommand(1);

  auto lo = std::make_shared<ReviewOptions>();
  CLI::App* list = group->add_subcommand("list", "List open review items (vendor candidates included)");
  list->add_option("--pipeline", lo->pipeline, "Only this pipeline");
  list->add_flag("--all", lo->all, "Include resolved items");
  list->add_flag("--json", lo->json, "Machine-readable output");
  list->callback([&opts, lo] { opts.exit_code = RunList(opts, *lo); });

  auto ro = std::make_shared<ReviewOptions>();
  CLI::App* resolve = group->add_subcommand(
      "resolve",
      "Resolve an item: the decision is stored so the same case resolves itself; its jobs run again");
  resolve->add_option("id", ro->id, "Review item id (from mlc review list)")->required();
  resolve->add_option("--vendor", ro->vendor, "The merchant is this target vendor (id or exact name)");
  resolve->add_option("--account", ro->account, "Map the source account to this target account/category");
  resolve->add_flag("--create-vendor", ro->create_vendor, "Create a vendor for this merchant at the target");
  resolve->add_flag("--skip", ro->skip, "Finish the job without writing it");
  resolve->add_flag("--no-run", ro->no_run,
                    "Only queue the replayed jobs (a running `mlc serve` picks them up)");
  resolve->add_flag("--json", ro->json, "Machine-readable output");
  resolve
      ->add_option("--retry-wait", ro->retry_wait_s,
                   "Keep running while a retry falls due within this many seconds")
      ->check(CLI::Range(0, 86400));
  resolve->callback([&opts, ro] { opts.exit_code = RunResolve(opts, *ro); });
}

}  // namespace mlc::cli
