// mlc-demo: the README's first command. Runs the Brex -> FreshBooks flow end to end on this machine: starts
// the Brex and FreshBooks emulators with a month of agency card spend, configures the host as an operator
// would (config file, vault, webhook secret), runs `mlc serve`, lets a scheduled poll backfill and webhooks
// deliver new records, then prints what landed, what waits for review, what failed and how many API calls
// each vendor saw, and where to look next.
//
//   mlc-demo [--workdir DIR] [--records N] [--seed S] [--webhook-records N] [--keep-running]
// Exit codes: 0 the flow ran (whatever landed in review), 1 something did not work, 2 bad arguments.
#include <signal.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <iostream>
#include <thread>

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include "flowkit/brex_freshbooks.hpp"

namespace fs = std::filesystem;
using mlc::flowkit::BrexFreshbooksFlow;
using mlc::flowkit::FlowOptions;
using mlc::flowkit::FlowSummary;

namespace {

volatile sig_atomic_t g_stop = 0;
void OnSignal(int) { g_stop = 1; }

int Fail(const std::string& what, const mlc::Status& status) {
  std::cerr << "mlc-demo: " << what << ": " << status.message() << "\n";
  return 1;
}

void PrintSummary(const FlowSummary& s, const std::string& workdir, const std::string& mlc) {
  std::cout << "\n== Result ============================================================\n";
  std::cout << fmt::format(
      "  landed in FreshBooks : {:>5}  (expenses created: {}, Brex records marked exported: {})\n",
      s.jobs.Get("succeeded"), s.freshbooks_expenses_created, s.brex_records_exported);
  std::cout << fmt::format("  waiting for review   : {:>5}\n", s.jobs.Get("review"));
  std::cout << fmt::format("  failed (dead)        : {:>5}\n", s.jobs.Get("dead"));
  const int64_t open = s.jobs.Get("pending") + s.jobs.Get("running") + s.jobs.Get("uncertain");
  if (open > 0) std::cout << fmt::format("  still in progress    : {:>5}\n", open);
  std::cout << fmt::format("  API calls            : Brex {}, FreshBooks {}\n", s.brex_requests,
                           s.freshbooks_requests);
  if (!s.review_reasons.empty()) {
    std::cout << "\n  In review (first " << std::min<size_t>(s.review_reasons.size(), 8) << "):\n";
    for (size_t i = 0; i < s.review_reasons.size() && i < 8; ++i)
      std::cout << "    - " << s.review_reasons[i] << "\n";
  }
  const std::string cfg = workdir + "/mlc.toml";
  std::cout
      << "\n== Where to look next ================================================\n"
      << "  " << mlc << " --config " << cfg << " review list\n"
      << "  " << mlc << " --config " << cfg << " audit <JOB_OR_SOURCE_ID>\n"
      << "  " << mlc << " --config " << cfg << " audit export --pipeline brex_to_freshbooks --format csv\n"
      << "  " << mlc << " --config " << cfg << " status\n"
      << "  logs: " << workdir << "/host.log, brex-emulator.log, freshbooks-emulator.log\n"
      << "  (the emulators stop with the demo; rerun with --keep-running to resolve reviews and replay.)\n";
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"mlc-demo: Brex -> FreshBooks, end to end, against local emulators"};
  std::string workdir = (fs::current_path() / "mlc-demo").string();
  int records = 120;
  int webhook_records = 30;
  uint64_t seed = 7;
  bool keep_running = false;
  app.add_option("--workdir", workdir, "Folder for the demo's config, store and logs (recreated)");
  app.add_option("--records", records, "Brex accounting records to seed (a month of spend)")
      ->check(CLI::Range(1, 100000));
  app.add_option("--webhook-records", webhook_records, "Records coded while the host runs (sent by webhook)")
      ->check(CLI::Range(0, 100000));
  app.add_option("--seed", seed, "Seed of the generated spend");
  app.add_flag("--keep-running", keep_running, "Keep emulators and host running until Ctrl-C");
  CLI11_PARSE(app, argc, argv);

  // The folder is the demo's own: recreate it, but never delete a folder the demo did not make.
  std::error_code ec;
  if (fs::exists(workdir)) {
    if (!fs::exists(fs::path(workdir) / ".mlc-demo")) {
      std::cerr << "mlc-demo: " << workdir
                << " exists and was not made by mlc-demo; choose another --workdir\n";
      return 2;
    }
    fs::remove_all(workdir, ec);
  }
  fs::create_directories(workdir, ec);
  if (ec) {
    std::cerr << "mlc-demo: cannot create " << workdir << ": " << ec.message() << "\n";
    return 1;
  }
  {
    std::FILE* marker = std::fopen((fs::path(workdir) / ".mlc-demo").c_str(), "w");
    if (marker) std::fclose(marker);
  }
  workdir = fs::canonical(workdir).string();

  ::signal(SIGINT, OnSignal);
  ::signal(SIGTERM, OnSignal);
  const auto paths = mlc::flowkit::Paths::OfThisBuild();
  std::cout << "ml-connector demo: Brex card spend -> FreshBooks expenses\n"
            << "  1. starting the Brex and FreshBooks emulators (" << records
            << " records of agency spend)\n";
  FlowOptions options;
  options.workdir = workdir;
  options.seed = seed;
  options.brex_records = records;
  options.schedule = "every 20s";
  auto flow = BrexFreshbooksFlow::Create(paths, options);
  if (!flow.ok()) return Fail("setup", flow.status());
  BrexFreshbooksFlow& f = **flow;
  std::cout << "     Brex       " << f.brex().base_url() << "\n"
            << "     FreshBooks " << f.freshbooks().base_url() << "\n"
            << "  2. configured " << f.config_path() << "; secrets stored in the vault (mlc vault put)\n";

  const auto started = std::chrono::steady_clock::now();
  if (auto s = f.StartHost(); !s.ok()) return Fail("mlc serve", s);
  std::cout << "  3. mlc serve is running (webhooks on " << f.webhook_url() << "); its first poll backfills\n"
            << "     the records already coded in Brex\n";
  if (auto s = f.WaitSettled(std::chrono::minutes(3)); !s.ok()) return Fail("backfill", s);

  std::vector<std::string> marked;
  if (webhook_records > 0) {
    auto ids = f.MarkReady(webhook_records);
    if (!ids.ok()) return Fail("coding records in Brex", ids.status());
    marked = *ids;
    std::cout << "  4. a bookkeeper codes " << marked.size()
              << " more records in Brex; Brex sends webhooks and the host pulls them at once\n";
    (void)f.brex().FlushWebhooks(std::chrono::seconds(30));
    auto before = f.Jobs();
    const int64_t expected = (before.ok() ? before->expenses : 0) + static_cast<int64_t>(marked.size());
    if (auto s = f.WaitSettled(std::chrono::minutes(3), expected); !s.ok()) return Fail("webhook records", s);
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();

  auto summary = f.Summarize();
  if (!summary.ok()) return Fail("summary", summary.status());
  PrintSummary(*summary, workdir, paths.mlc);
  std::cout << fmt::format("\n  done in {:.1f} s\n", seconds);

  if (keep_running) {
    std::cout << "\nRunning until Ctrl-C (host on port " << f.host().port() << ").\n";
    while (!g_stop) std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  auto code = f.host().Stop();
  if (!code.ok()) return Fail("stopping mlc serve", code.status());
  if (*code != 0) {
    std::cerr << "mlc-demo: mlc serve exited with " << *code << " (see " << workdir << "/host.log)\n";
    return 1;
  }
  return summary->jobs.Get("succeeded") > 0 ? 0 : 1;
}
