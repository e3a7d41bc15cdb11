// mlc-bench: the product's performance figures, measured on this machine with the real host, plugins and
// emulators on loopback (the flow kit), side by side with the ceiling the emulators allow. Prints a readable
// report, or with --json one JSON object (keys in docs/performance.md). Goals are reported, never asserted.
//
//   mlc-bench [--json] [--records 10000] [--rss-records 100000] [--webhook-events 20000]
//             [--webhook-senders 16] [--workers 8] [--seed 7] [--only e2e,ceiling,webhooks,match,startup,rss]
//             [--workdir DIR]
// Exit codes: 0 every part ran, 1 a part failed (its keys are null), 2 bad arguments.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <set>
#include <sstream>
#include <thread>

#include <fmt/format.h>
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "ceiling.hpp"
#include "flowkit/brex_freshbooks.hpp"
#include "store/store.hpp"
#include "support/subprocess.hpp"
#include "webhook_load.hpp"

namespace fs = std::filesystem;
using nlohmann::json;
using namespace mlc;
using mlc::flowkit::BrexFreshbooksFlow;
using mlc::flowkit::FlowOptions;

namespace {

struct Args {
  bool json = false;
  int records = 10000;
  int rss_records = 100000;
  int webhook_events = 20000;
  int webhook_senders = 16;
  int workers = 8;
  uint64_t seed = 7;
  std::string only;
  std::string workdir;
};

constexpr int kUnlimitedPerMinute = 10'000'000;  // lifts both vendors' limits: the bench measures the host

// Emulator switches of the backfill: every seeded record is coded and ready for export, GL codes the
// ledger knows (so nothing waits for review), receipts on most records as in the default seed.
json BackfillBrexOptions() {
  return {{"ready_ratio", 1.0}, {"exported_ratio", 0.0}, {"unknown_gl_ratio", 0.0}};
}

FlowOptions BackfillFlow(const Args& a, const std::string& dir, int records) {
  FlowOptions o;
  o.workdir = dir;
  o.seed = a.seed;
  o.brex_records = records;
  o.brex_options = BackfillBrexOptions();
  o.webhooks = false;
  o.schedule = "every 5m";  // the first poll runs at start; one pass reads the backfill
  o.workers = a.workers;
  o.rate_per_minute = kUnlimitedPerMinute;
  o.connection_concurrency = a.workers;
  // Merchants are matched only when certain, else the cleaned name is the vendor: every record can land.
  // Export results to Brex in batches of 50 (one request per 50 records instead of one each).
  o.pipeline_options = {{"auto_accept", 0.99}, {"review_floor", 0.99}, {"ack_batch", 50}};
  o.log_level = "warn";
  return o;
}

// /proc figures of a running process: CPU seconds (user + system) and peak resident set in MiB.
struct ProcUsage {
  double cpu_s = 0;
  double peak_rss_mb = 0;
};
ProcUsage ReadProc(int pid) {
  ProcUsage u;
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (std::getline(stat, line)) {
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    std::istringstream in(line.substr(line.rfind(')') + 2));
    std::string field;
    double utime = 0, stime = 0;
    for (int i = 3; in >> field; ++i) {
      if (i == 14) utime = std::stod(field);
      if (i == 15) {
        stime = std::stod(field);
        break;
      }
    }
    u.cpu_s = (utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
  }
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  while (std::getline(status, line)) {
    if (line.rfind("VmHWM:", 0) == 0) u.peak_rss_mb = std::stod(line.substr(6)) / 1024.0;
  }
  return u;
}

// Requests each emulator served, by route, and their total.
json CallsByKind(const json& brex_stats, const json& fb_stats, int64_t* total) {
  json out = json::object();
  *total = 0;
  for (const auto& [vendor, stats] : {std::pair{"brex", &brex_stats}, std::pair{"freshbooks", &fb_stats}}) {
    const json requests = stats->value("requests", json::object());
    for (const auto& [route, outcomes] : requests.items()) {
      if (route.find("/_sandbox") != std::string::npos) continue;  // the bench's own control calls
      int64_t n = 0;
      for (const auto& [outcome, count] : outcomes.items()) n += count.get<int64_t>();
      out[std::string(vendor) + " " + route] = n;
      *total += n;
    }
  }
  return out;
}

struct Backfill {
  int64_t records = 0;  // expense records landed
  double wall_s = 0;
  double host_cpu_s = 0;
  double host_peak_rss_mb = 0;
  int64_t calls = 0;
  json calls_by_kind;
};

// A backfill through `mlc serve`: the scheduled poll reads every ready record and the workers land them.
// Timed from the host's start until every expense job has settled.
Result<Backfill> RunBackfill(const Args& a, const std::string& dir, int records) {
  fs::create_directories(dir);
  MLC_ASSIGN_OR_RETURN(
      auto flow, BrexFreshbooksFlow::Create(flowkit::Paths::OfThisBuild(), BackfillFlow(a, dir, records)));
  // The emulator seeds card and reimbursement posts only, so every ready record becomes an expense job. Its
  // counters say how many are ready (dumping 100,000 records through the control API takes minutes).
  MLC_ASSIGN_OR_RETURN(json seeded_stats, flow->brex().Stats());
  const json ready = seeded_stats.value("/vendor/accounting_records/READY_FOR_EXPORT"_json_pointer, json());
  if (!ready.is_number_integer()) return Status::Error("the Brex emulator's stats name no ready records");
  const int64_t expected = ready.get<int64_t>();
  // Calls made while setting up (none to the vendor APIs today) are not the backfill's.
  int64_t setup_calls = 0;
  json setup_by_kind;
  {
    MLC_ASSIGN_OR_RETURN(json bstats, flow->brex().Stats());
    MLC_ASSIGN_OR_RETURN(json fstats, flow->freshbooks().Stats());
    setup_by_kind = CallsByKind(bstats, fstats, &setup_calls);
  }
  const auto t0 = std::chrono::steady_clock::now();
  MLC_RETURN_IF_ERROR(flow->StartHost());
  const Status settled = flow->WaitSettled(std::chrono::minutes(90), expected);
  const auto t1 = std::chrono::steady_clock::now();
  const ProcUsage usage = ReadProc(flow->host().pid());
  MLC_RETURN_IF_ERROR(settled);
  MLC_RETURN_IF_ERROR(flow->host().Stop().status());
  MLC_ASSIGN_OR_RETURN(flowkit::JobCounts jobs, flow->Jobs());
  MLC_ASSIGN_OR_RETURN(json bstats, flow->brex().Stats());
  MLC_ASSIGN_OR_RETURN(json fstats, flow->freshbooks().Stats());
  Backfill b;
  b.wall_s = std::chrono::duration<double>(t1 - t0).count();
  b.host_cpu_s = usage.cpu_s;
  b.host_peak_rss_mb = usage.peak_rss_mb;
  b.calls_by_kind = CallsByKind(bstats, fstats, &b.calls);
  b.calls -= setup_calls;
  for (const auto& [kind, n] : setup_by_kind.items()) {
    b.calls_by_kind[kind] = b.calls_by_kind.value(kind, int64_t{0}) - n.get<int64_t>();
    if (b.calls_by_kind[kind] == 0) b.calls_by_kind.erase(kind);
  }
  b.records = jobs.expenses;
  if (jobs.Get("succeeded") != jobs.total) {
    return Status::Error(fmt::format("{} of {} jobs did not succeed (review {}, dead {}); see {}/host.log",
                                     jobs.total - jobs.Get("succeeded"), jobs.total, jobs.Get("review"),
                                     jobs.Get("dead"), dir));
  }
  return b;
}

struct Ceiling {
  bench::CeilingResult result;
  int64_t calls = 0;
  json calls_by_kind;
};

// The same seeded vendors, fresh, driven by the minimal loop.
Result<Ceiling> RunCeilingPart(const Args& a, const std::string& dir, int records) {
  fs::create_directories(dir);
  const auto paths = flowkit::Paths::OfThisBuild();
  const json limit = {{"limit", kUnlimitedPerMinute / 60}, {"window_s", 1}};  // as the flow kit sets it
  json brex_options = BackfillBrexOptions();
  brex_options["rate_limit"] = limit;
  MLC_ASSIGN_OR_RETURN(auto brex,
                       flowkit::EmulatorProcess::Start(paths.sandbox, {.vendor = "brex",
                                                                       .seed = a.seed,
                                                                       .records = records,
                                                                       .options = brex_options,
                                                                       .log_path = dir + "/brex.log"}));
  MLC_ASSIGN_OR_RETURN(auto fb,
                       flowkit::EmulatorProcess::Start(paths.sandbox, {.vendor = "freshbooks",
                                                                       .seed = a.seed,
                                                                       .options = {{"rate_limit", limit}},
                                                                       .log_path = dir + "/freshbooks.log"}));
  const json& bc = brex->credentials();
  const json& fc = fb->credentials();
  bench::CeilingOptions o;
  o.brex_base_url = brex->base_url();
  o.brex_token = bc.value("user_token", std::string());
  o.freshbooks_base_url = fc.value("api_base_url", fb->base_url());
  o.freshbooks_auth_url = fb->base_url();
  o.client_id = fc.value("client_id", std::string());
  o.client_secret = fc.value("client_secret", std::string());
  o.refresh_token = fc.value("refresh_token", std::string());
  o.workers = a.workers;
  MLC_ASSIGN_OR_RETURN(bench::CeilingResult r, bench::RunCeiling(o));
  MLC_ASSIGN_OR_RETURN(json bstats, brex->Stats());
  MLC_ASSIGN_OR_RETURN(json fstats, fb->Stats());
  Ceiling c;
  c.result = r;
  c.calls_by_kind = CallsByKind(bstats, fstats, &c.calls);
  return c;
}

struct Webhooks {
  bench::WebhookLoadResult load;
  int64_t recorded = 0;  // deliveries the store holds afterwards
  double startup_ms = 0;
};

// Signed Brex deliveries to a running `mlc serve`, then start-up timing of the same configuration.
Result<Webhooks> RunWebhooksAndStartup(const Args& a, const std::string& dir, bool webhooks, bool startup) {
  fs::create_directories(dir);
  FlowOptions o;
  o.workdir = dir;
  o.seed = a.seed;
  o.brex_records = 200;
  o.brex_options = {{"ready_ratio", 0.0}, {"exported_ratio", 0.0}};  // events name records not yet ready
  o.webhooks = true;
  o.log_level = "warn";
  MLC_ASSIGN_OR_RETURN(auto flow, BrexFreshbooksFlow::Create(flowkit::Paths::OfThisBuild(), o));
  Webhooks w;
  if (webhooks) {
    const std::string token = flow->brex().credentials().value("user_token", std::string());
    MLC_ASSIGN_OR_RETURN(json secrets, flow->brex().Call("GET", "/v1/webhooks/secrets", nullptr,
                                                         {{"Authorization", "Bearer " + token}}));
    if (!secrets.is_array() || secrets.empty())
      return Status::Error("the Brex emulator has no webhook secret");
    MLC_ASSIGN_OR_RETURN(json records, flow->BrexRecords());
    bench::WebhookLoadOptions lo;
    lo.url = flow->webhook_url();
    lo.secret = secrets[0].value("secret", std::string());
    lo.senders = a.webhook_senders;
    lo.events = a.webhook_events;
    for (const auto& r : records) lo.record_ids.push_back(r.value("id", std::string()));
    MLC_RETURN_IF_ERROR(flow->StartHost());
    MLC_ASSIGN_OR_RETURN(w.load, bench::RunWebhookLoad(lo));
    MLC_RETURN_IF_ERROR(flow->host().Stop().status());
    MLC_ASSIGN_OR_RETURN(auto store, store::Store::Open({.path = dir + "/mlc.db", .read_only = true}));
    MLC_ASSIGN_OR_RETURN(auto row, store->QueryOne("SELECT COUNT(DISTINCT webhook_id) FROM webhook_events "
                                                   "WHERE webhook_id LIKE 'msg_bench_%'"));
    w.recorded = row ? row->Int(0) : 0;
  }
  if (startup) {
    // `mlc serve` with every plugin of the build loaded (the loader opens all of plugin_dirs), from exec to
    // "mlc: ready"; the median of 7 starts (the first warms the page cache).
    std::vector<double> ms;
    testing::ProcessOptions po;
    for (const auto& [k, v] : flow->env()) po.env[k] = v;
    for (int i = 0; i < 7; ++i) {
      const auto t0 = std::chrono::steady_clock::now();
      testing::ChildProcess host(
          {flowkit::Paths::OfThisBuild().mlc, "--config", flow->config_path(), "serve"}, po);
      if (!host.WaitForOutput("mlc: ready", std::chrono::seconds(30)))
        return Status::Error("mlc serve did not get ready: " + host.err().substr(0, 300));
      ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
      host.Signal(SIGTERM);
      if (host.Wait(std::chrono::seconds(30)) != 0) return Status::Error("mlc serve did not stop cleanly");
    }
    std::sort(ms.begin() + 1, ms.end());
    w.startup_ms = ms[1 + (ms.size() - 1) / 2];
  }
  return w;
}

// mlc-bench-match (beside this binary) on 10,000 descriptors x 10,000 vendors.
Result<double> RunMatch() {
  const fs::path self = fs::read_symlink("/proc/self/exe");
  const fs::path match = self.parent_path() / "mlc-bench-match";
  testing::ProcessOptions po;
  po.timeout = std::chrono::minutes(5);
  auto r = testing::RunProcess({match.string(), "--json"}, po);
  if (r.exit_code != 0) return Status::Error("mlc-bench-match failed: " + r.err.substr(0, 300));
  json doc = json::parse(r.out, nullptr, false);
  if (!doc.is_object() || !doc.contains("match_10k_s"))
    return Status::Error("mlc-bench-match: no match_10k_s");
  return doc["match_10k_s"].get<double>();
}

json Round(double v, int digits) {
  const double scale = std::pow(10.0, digits);
  return std::round(v * scale) / scale;
}

std::string MachineLine() {
  std::ifstream cpuinfo("/proc/cpuinfo");
  std::string line, model;
  while (std::getline(cpuinfo, line)) {
    if (line.rfind("model name", 0) == 0) {
      model = line.substr(line.find(':') + 2);
      break;
    }
  }
  return fmt::format("{} x {}", std::thread::hardware_concurrency(), model.empty() ? "unknown CPU" : model);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"mlc-bench: ml-connector's performance figures on this machine"};
  Args a;
  app.add_flag("--json", a.json, "Print one JSON object");
  app.add_option("--records", a.records, "Brex records in the backfill (e2e and ceiling)")
      ->check(CLI::Range(10, 1000000));
  app.add_option("--rss-records", a.rss_records, "Records of the backfill whose peak RSS is reported")
      ->check(CLI::Range(10, 1000000));
  app.add_option("--webhook-events", a.webhook_events, "Signed deliveries to send")
      ->check(CLI::Range(1, 10000000));
  app.add_option("--webhook-senders", a.webhook_senders, "Concurrent webhook senders")
      ->check(CLI::Range(1, 256));
  app.add_option("--workers", a.workers, "Pipeline workers (and ceiling writers)")->check(CLI::Range(1, 256));
  app.add_option("--seed", a.seed, "Seed of the generated spend");
  app.add_option("--only", a.only,
                 "Comma-separated parts: e2e,ceiling,webhooks,match,startup,rss (default all)");
  app.add_option("--workdir", a.workdir, "Folder for the runs' files (default: a new folder under /tmp)");
  CLI11_PARSE(app, argc, argv);

  std::set<std::string> parts = {"e2e", "ceiling", "webhooks", "match", "startup", "rss"};
  if (!a.only.empty()) {
    std::set<std::string> chosen;
    std::stringstream in(a.only);
    for (std::string p; std::getline(in, p, ',');) {
      if (!parts.count(p)) {
        std::cerr << "mlc-bench: unknown part '" << p << "' (e2e, ceiling, webhooks, match, startup, rss)\n";
        return 2;
      }
      chosen.insert(p);
    }
    parts = chosen;
  }
  if (a.workdir.empty()) {
    std::string tmpl = (fs::temp_directory_path() / "mlc-bench-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) {
      std::cerr << "mlc-bench: cannot create a folder under /tmp\n";
      return 1;
    }
    a.workdir = tmpl;
  }
  std::error_code ec;
  fs::create_directories(a.workdir, ec);
  if (ec) {
    std::cerr << "mlc-bench: cannot create " << a.workdir << ": " << ec.message() << "\n";
    return 1;
  }
  auto say = [&](const std::string& text) {
    if (!a.json) std::cout << text << std::flush;
  };
  bool failed = false;
  auto fail = [&](const std::string& part, const Status& s) {
    failed = true;
    std::cerr << "mlc-bench: " << part << ": " << s.message() << "\n";
  };

  json out = {
      {"e2e_records_per_s", nullptr},    {"ceiling_records_per_s", nullptr}, {"ratio", nullptr},
      {"calls_per_record", nullptr},     {"min_calls_per_record", nullptr},  {"calls_by_kind", nullptr},
      {"cpu_s_per_1k_records", nullptr}, {"webhook_events_per_s", nullptr},  {"webhook_p50_ms", nullptr},
      {"webhook_p99_ms", nullptr},       {"match_10k_s", nullptr},           {"startup_ms", nullptr},
      {"rss_100k_mb", nullptr}};
  out["machine"] = MachineLine();
  out["records"] = a.records;
  out["workers"] = a.workers;

  std::optional<Backfill> e2e;
  if (parts.count("e2e")) {
    say(fmt::format("e2e backfill of {} Brex records into FreshBooks through mlc serve ... ", a.records));
    auto r = RunBackfill(a, a.workdir + "/e2e", a.records);
    if (r.ok()) {
      e2e = *r;
      out["e2e_records_per_s"] = Round(e2e->records / e2e->wall_s, 1);
      out["e2e_wall_s"] = Round(e2e->wall_s, 2);
      out["calls_per_record"] =
          Round(static_cast<double>(e2e->calls) / std::max<int64_t>(1, e2e->records), 3);
      out["calls_by_kind"] = e2e->calls_by_kind;
      out["cpu_s_per_1k_records"] = Round(e2e->host_cpu_s * 1000.0 / std::max<int64_t>(1, e2e->records), 3);
      out["e2e_host_peak_rss_mb"] = Round(e2e->host_peak_rss_mb, 1);
      say(fmt::format("{:.1f} records/s ({} in {:.2f} s; host CPU {:.2f} s; {} vendor calls)\n",
                      e2e->records / e2e->wall_s, e2e->records, e2e->wall_s, e2e->host_cpu_s, e2e->calls));
    } else {
      say("failed\n");
      fail("e2e", r.status());
    }
  }
  if (parts.count("ceiling")) {
    say(fmt::format("ceiling: the same work by a minimal loop with {} writers ... ", a.workers));
    auto r = RunCeilingPart(a, a.workdir + "/ceiling", a.records);
    if (r.ok()) {
      const double per_s = r->result.created / r->result.wall_s;
      out["ceiling_records_per_s"] = Round(per_s, 1);
      out["ceiling_wall_s"] = Round(r->result.wall_s, 2);
      out["min_calls_per_record"] =
          Round(static_cast<double>(r->calls) / std::max<int64_t>(1, r->result.created), 3);
      out["ceiling_calls_by_kind"] = r->calls_by_kind;
      say(fmt::format("{:.1f} records/s ({} in {:.2f} s; {} vendor calls)\n", per_s, r->result.created,
                      r->result.wall_s, r->calls));
      if (e2e) out["ratio"] = Round(out["e2e_records_per_s"].get<double>() / per_s, 3);
    } else {
      say("failed\n");
      fail("ceiling", r.status());
    }
  }
  if (parts.count("webhooks") || parts.count("startup")) {
    say(parts.count("webhooks") ? fmt::format("webhooks: {} signed Brex deliveries from {} senders ... ",
                                              a.webhook_events, a.webhook_senders)
                                : "start-up ... ");
    auto r = RunWebhooksAndStartup(a, a.workdir + "/webhooks", parts.count("webhooks") > 0,
                                   parts.count("startup") > 0);
    if (r.ok()) {
      if (parts.count("webhooks")) {
        const auto& l = r->load;
        out["webhook_events_per_s"] = Round(l.accepted / l.wall_s, 0);
        out["webhook_p50_ms"] = Round(l.p50_ms, 2);
        out["webhook_p99_ms"] = Round(l.p99_ms, 2);
        out["webhook_max_ms"] = Round(l.max_ms, 2);
        out["webhook_refused"] = l.refused;
        out["webhook_recorded"] = r->recorded;
        say(fmt::format(
            "{:.0f} events/s, p50 {:.2f} ms, p99 {:.2f} ms ({} accepted, {} refused, {} recorded)\n",
            l.accepted / l.wall_s, l.p50_ms, l.p99_ms, l.accepted, l.refused, r->recorded));
        if (l.refused > 0 || r->recorded != l.accepted) {
          fail("webhooks", Status::Error(fmt::format("{} refused (first: {}); {} accepted but {} recorded",
                                                     l.refused, l.first_refusal, l.accepted, r->recorded)));
        }
      }
      if (parts.count("startup")) {
        out["startup_ms"] = Round(r->startup_ms, 1);
        say(fmt::format("start-up: mlc serve with every plugin loaded, ready in {:.1f} ms (median of 6)\n",
                        r->startup_ms));
      }
    } else {
      say("failed\n");
      fail("webhooks/startup", r.status());
    }
  }
  if (parts.count("match")) {
    say("matching 10,000 descriptors against 10,000 vendors ... ");
    auto r = RunMatch();
    if (r.ok()) {
      out["match_10k_s"] = Round(*r, 4);
      say(fmt::format("{:.3f} s\n", *r));
    } else {
      say("failed\n");
      fail("match", r.status());
    }
  }
  if (parts.count("rss")) {
    say(fmt::format("rss: backfill of {} records, peak resident memory of the host ... ", a.rss_records));
    auto r = RunBackfill(a, a.workdir + "/rss", a.rss_records);
    if (r.ok()) {
      out["rss_100k_mb"] = Round(r->host_peak_rss_mb, 1);
      out["rss_records"] = r->records;
      out["rss_records_per_s"] = Round(r->records / r->wall_s, 1);
      say(fmt::format("{:.1f} MiB ({} records in {:.1f} s)\n", r->host_peak_rss_mb, r->records, r->wall_s));
    } else {
      say("failed\n");
      fail("rss", r.status());
    }
  }

  // Goals (issue 7), reported beside the figures.
  auto num = [&](const char* key) { return out[key].is_number() ? out[key].get<double>() : -1.0; };
  json goals = json::object();
  if (num("ratio") >= 0) goals["ratio >= 0.5"] = num("ratio") >= 0.5;
  if (num("calls_per_record") >= 0 && num("min_calls_per_record") > 0)
    goals["calls_per_record <= 1.05 x min"] = num("calls_per_record") <= 1.05 * num("min_calls_per_record");
  if (num("webhook_events_per_s") >= 0)
    goals["webhooks >= 5000/s, p99 < 20 ms"] =
        num("webhook_events_per_s") >= 5000 && num("webhook_p99_ms") < 20;
  if (num("match_10k_s") >= 0) goals["match_10k_s < 1"] = num("match_10k_s") < 1;
  if (num("startup_ms") >= 0) goals["startup_ms < 200"] = num("startup_ms") < 200;
  if (num("rss_100k_mb") >= 0) goals["rss_100k_mb < 128"] = num("rss_100k_mb") < 128;
  out["goals_met"] = goals;
  out["workdir"] = a.workdir;

  if (a.json) {
    std::cout << out.dump() << std::endl;
  } else {
    std::cout << "\nGoals:\n";
    for (const auto& [goal, met] : goals.items())
      std::cout << "  " << (met.get<bool>() ? "met " : "MISS") << "  " << goal << "\n";
    std::cout << "Files of the runs: " << a.workdir << "\n";
  }
  return failed ? 1 : 0;
}
