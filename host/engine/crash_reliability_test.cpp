// Crash test: `mlc sync --once` in a child process, killed with SIGKILL at random moments and restarted until
// it finishes. Afterwards every source record must be in the target exactly once (one landed write per
// idempotency key), acknowledged, and the audit trail must be consistent.
//
// Seeded (MLC_CRASH_SEED overrides the default); the seed is printed so a failure can be replayed.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <map>
#include <random>
#include <set>
#include <thread>

#include "engine/instances.hpp"
#include "engine/jobs.hpp"
#include "engine/test_util.hpp"
#include "store/store.hpp"

#ifndef MLC_BINARY
#error "MLC_BINARY must name the built mlc executable"
#endif

namespace mlc::engine {
namespace {

using nlohmann::json;
using testing::TempDir;

constexpr int kRecords = 2000;
constexpr int kMinKills = 20;
constexpr int kMaxIterations = 200;

// Starts `mlc sync p --once` with output appended to `log`.
pid_t StartSync(const std::string& config, const std::string& log) {
  const pid_t pid = fork();
  if (pid == 0) {
    const int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
    if (fd >= 0) {
      dup2(fd, 1);
      dup2(fd, 2);
      close(fd);
    }
    execl(MLC_BINARY, MLC_BINARY, "--config", config.c_str(), "--log-level", "info", "sync", "p", "--once",
          "--retry-wait", "30", static_cast<char*>(nullptr));
    _exit(127);
  }
  return pid;
}

// Waits for the child; true and its exit code when it exited by itself.
bool Reap(pid_t pid, int* exit_code) {
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(status)) {
    *exit_code = WEXITSTATUS(status);
    return true;
  }
  return false;
}

TEST(CrashReliabilityTest, SyncKilledAtRandomPointsDeliversEveryRecordExactlyOnce) {
  unsigned seed = 20240301;
  if (const char* env = std::getenv("MLC_CRASH_SEED"))
    seed = static_cast<unsigned>(std::strtoul(env, nullptr, 10));
  SCOPED_TRACE("MLC_CRASH_SEED=" + std::to_string(seed));
  std::mt19937 rng(seed);

  TempDir dir;
  // NORMAL synchronous mode: WAL commits survive a killed process (what this test checks) without paying an
  // fsync per commit. Writes fail now and then (RETRY), so retries are interrupted too.
  const std::string config = testing::WriteTemplateConfig(
      dir, "{ seed = 7, records = " + std::to_string(kRecords) + ", store = \"src\", connection = \"src\" }",
      "{ seed = 1, records = 0, store = \"dst\", fail_every = 9 }",
      "{ retry_base_ms = 1, retry_cap_ms = 20, page_size = 25, workers = 2 }");
  {
    std::string text = store::testing::ReadFile(config);
    text.replace(text.find("path = \"mlc.db\""), 15, "path = \"mlc.db\"\nsynchronous = \"NORMAL\"");
    store::testing::WriteFile(config, text);
  }
  const std::string log = dir.File("sync.log");

  std::uniform_int_distribution<int> delay_ms(10, 120);
  int kills = 0;
  int iterations = 0;
  bool finished = false;
  const auto started = std::chrono::steady_clock::now();
  while (!finished && iterations < kMaxIterations) {
    ++iterations;
    const pid_t pid = StartSync(config, log);
    ASSERT_GT(pid, 0);
    const int wait = delay_ms(rng);
    std::this_thread::sleep_for(std::chrono::milliseconds(wait));
    int code = -1;
    // Kill unless it already exited (WNOHANG peek).
    int status = 0;
    const pid_t done = waitpid(pid, &status, WNOHANG);
    if (done == pid) {
      ASSERT_TRUE(WIFEXITED(status)) << "child died by signal " << WTERMSIG(status) << "; see " << log;
      code = WEXITSTATUS(status);
      ASSERT_EQ(code, 0) << store::testing::ReadFile(log);
      finished = kills >= kMinKills;
      continue;
    }
    ASSERT_EQ(kill(pid, SIGKILL), 0);
    if (Reap(pid, &code)) {
      ASSERT_EQ(code, 0) << store::testing::ReadFile(log);  // it finished just before the kill
      finished = kills >= kMinKills;
    } else {
      ++kills;
    }
  }
  ASSERT_GE(kills, kMinKills);
  // One last run, uninterrupted, must find nothing left to do and succeed.
  {
    auto last = testing::RunProcess({MLC_BINARY, "--config", config, "sync", "p", "--once", "--json"});
    ASSERT_EQ(last.exit_code, 0) << last.err;
    auto doc = json::parse(last.out);
    EXPECT_EQ(doc["jobs"]["succeeded"], kRecords) << last.out;
    EXPECT_EQ(doc["jobs"].size(), 1u) << last.out;  // no other state
  }
  const auto elapsed = std::chrono::steady_clock::now() - started;
  auto opened = store::Store::Open({.path = dir.File("mlc.db")});
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  store::Store& st = **opened;
  // How often a kill interrupted a write (reconciled afterwards) and how many leases were taken over.
  auto reconciled = st.QueryOne("SELECT COUNT(*) FROM audit WHERE step = 'reconciled'");
  const std::string sync_log = store::testing::ReadFile(log);
  size_t takeovers = 0;
  for (size_t pos = 0; (pos = sync_log.find("took over", pos)) != std::string::npos; ++pos) ++takeovers;
  std::cout << "crash test: " << kills << " kills in " << iterations << " runs, "
            << std::chrono::duration_cast<std::chrono::milliseconds>(elapsed).count() << " ms, seed " << seed
            << "; " << (reconciled.ok() && *reconciled ? (*reconciled)->Int(0) : -1)
            << " interrupted write(s) reconciled, " << takeovers << " lease takeover(s)\n";

  // What the target holds: every record once, from exactly one landed write.
  loader::PluginRegistry registry;
  auto plugin = testing::LoadTemplate(registry, dir);
  StoreInstanceFactory factory(st);
  ASSERT_TRUE(factory.AddConnection("dst", plugin, {{"seed", 1}, {"records", 0}, {"store", "dst"}}).ok());
  ASSERT_TRUE(
      factory.AddConnection("src", plugin, {{"seed", 7}, {"records", kRecords}, {"store", "src"}}).ok());
  auto written = testing::ReadAll(factory, "dst", "written");
  ASSERT_EQ(static_cast<int>(written.size()), kRecords);
  std::set<std::string> keys;
  std::set<std::string> sources;
  for (const auto& w : written) {
    keys.insert(w["x-template"]["idempotency_key"].get<std::string>());
    sources.insert(w["source"]["id"].get<std::string>());
    EXPECT_EQ(w["x-template"]["writes"], 1) << w["source"]["id"];
  }
  EXPECT_EQ(static_cast<int>(keys.size()), kRecords);
  EXPECT_EQ(static_cast<int>(sources.size()), kRecords);
  for (int i = 0; i < kRecords; ++i) EXPECT_TRUE(sources.count("exp_7_" + std::to_string(i))) << i;
  // Every source record acknowledged, with the id the target gave it.
  auto acked = testing::ReadAll(factory, "src", "acked");
  ASSERT_EQ(static_cast<int>(acked.size()), kRecords);
  std::map<std::string, std::string> target_of;
  for (const auto& w : written) target_of[w["source"]["id"]] = w["x-template"]["target_id"];
  for (const auto& a : acked) EXPECT_EQ(a["target_id"], target_of[a["source_id"]]) << a["source_id"];

  // The engine's own books agree: one job and one link per record, all succeeded, and each succeeded job has
  // exactly one written row followed by exactly one acked row.
  auto jobs = ListJobs(st, "p", JobState::kSucceeded);
  ASSERT_TRUE(jobs.ok());
  ASSERT_EQ(static_cast<int>(jobs->size()), kRecords);
  auto links = st.QueryOne("SELECT COUNT(*) FROM links WHERE pipeline = 'p'");
  ASSERT_TRUE(links.ok() && *links);
  EXPECT_EQ((*links)->Int(0), kRecords);
  for (const auto& j : *jobs) {
    EXPECT_EQ(j.target_id, target_of[j.source_id]) << j.source_id;
    EXPECT_TRUE(j.written_at.has_value() && j.acked_at.has_value()) << j.source_id;
    auto rows = st.Query("SELECT step FROM audit WHERE job_id = $1 ORDER BY at_ms, id", {j.id});
    ASSERT_TRUE(rows.ok());
    int arrived = 0, written_rows = 0, acked_rows = 0;
    bool acked_before_written = false;
    for (const auto& r : *rows) {
      const std::string step = r.Text(0);
      if (step == "arrived") ++arrived;
      if (step == "written") ++written_rows;
      if (step == "acked") {
        ++acked_rows;
        if (written_rows == 0) acked_before_written = true;
      }
    }
    EXPECT_EQ(arrived, 1) << j.source_id;
    EXPECT_EQ(written_rows, 1) << j.source_id;
    EXPECT_EQ(acked_rows, 1) << j.source_id;
    EXPECT_FALSE(acked_before_written) << j.source_id;
  }
}

}  // namespace
}  // namespace mlc::engine
