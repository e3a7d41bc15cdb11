// `mlc sync`, `mlc audit` and `mlc replay` as an operator runs them: the real binary, a temporary
// configuration with two template connections, and the store inspected afterwards.
#include <gtest/gtest.h>

#include <set>

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
using testing::ProcessResult;
using testing::TempDir;

constexpr int kExitUsageForTests = 2;  // cli/commands.hpp kExitUsage

class CliTest : public ::testing::Test {
 protected:
  void Configure(const std::string& dst_extra = "", const std::string& options = "{ retry_base_ms = 0 }") {
    config_ = testing::WriteTemplateConfig(
        dir_, "{ seed = 7, records = 12, store = \"src\", connection = \"src\" }",
        "{ seed = 1, records = 0, store = \"dst\"" + dst_extra + " }", options);
  }
  ProcessResult Mlc(std::vector<std::string> args) {
    std::vector<std::string> argv = {MLC_BINARY, "--config", config_};
    argv.insert(argv.end(), args.begin(), args.end());
    return testing::RunProcess(argv);
  }
  // Reads the target's `written` stream straight from the store file.
  std::vector<json> Written() {
    auto st = store::Store::Open({.path = dir_.File("mlc.db")});
    EXPECT_TRUE(st.ok());
    loader::PluginRegistry registry;
    auto plugin = testing::LoadTemplate(registry, dir_);
    StoreInstanceFactory factory(**st);
    EXPECT_TRUE(factory.AddConnection("dst", plugin, {{"seed", 1}, {"records", 0}, {"store", "dst"}}).ok());
    return testing::ReadAll(factory, "dst", "written");
  }
  int64_t JobCount() {
    auto st = store::Store::Open({.path = dir_.File("mlc.db")});
    EXPECT_TRUE(st.ok());
    auto row = (*st)->QueryOne("SELECT COUNT(*) FROM jobs");
    return row.ok() && *row ? (*row)->Int(0) : -1;
  }

  TempDir dir_;
  std::string config_;
};

TEST_F(CliTest, SyncOnceReportsCountsAsJson) {
  Configure();
  auto r = Mlc({"sync", "p", "--once", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto doc = json::parse(r.out);
  EXPECT_EQ(doc["pipeline"], "p");
  EXPECT_EQ(doc["arrived"], 12);
  EXPECT_EQ(doc["succeeded"], 12);
  EXPECT_EQ(doc["review"], 0);
  EXPECT_EQ(doc["dead"], 0);
  EXPECT_EQ(doc["uncertain"], 0);
  EXPECT_EQ(doc["jobs"]["succeeded"], 12);
  EXPECT_EQ(Written().size(), 12u);
  // Again: nothing new, nothing written twice.
  auto again = Mlc({"sync", "p", "--once"});
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_NE(again.out.find("arrived 0, succeeded 0"), std::string::npos) << again.out;
  for (const auto& w : Written()) EXPECT_EQ(w["x-template"]["writes"], 1);
}

TEST_F(CliTest, DryRunPrintsThePreviewAndChangesNothing) {
  Configure();
  auto r = Mlc({"sync", "p", "--dry-run"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("nothing was stored, written or acknowledged"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("would write expense to dst with key mlc-"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("would acknowledge at src (expenses)"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("12 write(s) would be made"), std::string::npos) << r.out;
  auto j = Mlc({"sync", "p", "--dry-run", "--json"});
  ASSERT_EQ(j.exit_code, 0) << j.err;
  auto doc = json::parse(j.out);
  EXPECT_EQ(doc["dry_run"], true);
  ASSERT_EQ(doc["items"].size(), 12u);
  EXPECT_EQ(doc["items"][0]["write"]["connection"], "dst");
  EXPECT_TRUE(Written().empty());
  EXPECT_EQ(JobCount(), 0);
}

TEST_F(CliTest, AuditShowsTimelinesAndExports) {
  Configure();
  ASSERT_EQ(Mlc({"sync", "p", "--once"}).exit_code, 0);
  auto t = Mlc({"audit", "exp_7_3"});
  ASSERT_EQ(t.exit_code, 0) << t.err;
  for (const char* step : {"arrived", "mapped", "written", "acked"}) {
    EXPECT_NE(t.out.find(step), std::string::npos) << step << "\n" << t.out;
  }
  EXPECT_NE(t.out.find("succeeded, target id tpl_"), std::string::npos) << t.out;
  // By job id prefix, as JSON.
  auto tj = Mlc({"audit", "exp_7_3", "--json"});
  ASSERT_EQ(tj.exit_code, 0);
  auto doc = json::parse(tj.out);
  const std::string job_id = doc["jobs"][0]["id"];
  auto by_id = Mlc({"audit", job_id.substr(0, 10), "--json"});
  ASSERT_EQ(by_id.exit_code, 0) << by_id.err;
  EXPECT_EQ(json::parse(by_id.out)["rows"], doc["rows"]);

  auto csv = Mlc({"audit", "export", "--pipeline", "p", "--from", "2000-01-01", "--to", "2100-01-01"});
  ASSERT_EQ(csv.exit_code, 0) << csv.err;
  EXPECT_EQ(csv.out.rfind("id,at,pipeline,job_id,source_id,step,actor,outcome,detail,", 0), 0u) << csv.out;
  size_t lines = 0;
  for (char c : csv.out) lines += c == '\n';
  EXPECT_EQ(lines, 1u + 12 * 4);  // header + arrived, mapped, written, acked per record
  auto js = Mlc({"audit", "export", "--pipeline", "p", "--from", "2000-01-01", "--to", "2100-01-01",
                 "--format", "json"});
  ASSERT_EQ(js.exit_code, 0);
  EXPECT_EQ(json::parse(js.out).size(), 48u);
  // A range with nothing in it, and bad input.
  auto empty = Mlc({"audit", "export", "--pipeline", "p", "--from", "2000-01-01", "--to", "2000-01-02"});
  ASSERT_EQ(empty.exit_code, 0);
  EXPECT_EQ(empty.out.find('\n'), empty.out.size() - 1);  // the header only
  EXPECT_EQ(Mlc({"audit", "export", "--pipeline", "p", "--from", "soon", "--to", "2000-01-02"}).exit_code,
            kExitUsageForTests);
  EXPECT_EQ(
      Mlc({"audit", "export", "--pipeline", "p", "--from", "2001-01-01", "--to", "2000-01-02"}).exit_code,
      kExitUsageForTests);
  EXPECT_EQ(
      Mlc({"audit", "export", "--pipeline", "zz", "--from", "2000-01-01", "--to", "2000-01-02"}).exit_code,
      3);
  auto missing = Mlc({"audit", "exp_nope"});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_NE(missing.err.find("no audit rows"), std::string::npos) << missing.err;
  EXPECT_EQ(Mlc({"audit"}).exit_code, kExitUsageForTests);
}

TEST_F(CliTest, ReplayRunsDeadJobsAgainAndLeavesSucceededOnesAlone) {
  Configure(", fail_every = 1", "{ retry_base_ms = 0, max_attempts = 2 }");
  auto first = Mlc({"sync", "p", "--once", "--json"});
  EXPECT_EQ(first.exit_code, 1) << first.out;  // jobs went dead
  EXPECT_EQ(json::parse(first.out)["dead"], 12);
  EXPECT_TRUE(Written().empty());
  // The target recovers; replay every dead job.
  Configure("", "{ retry_base_ms = 0, max_attempts = 2 }");
  auto replay = Mlc({"replay", "--pipeline", "p", "--state", "dead", "--json"});
  ASSERT_EQ(replay.exit_code, 0) << replay.err << replay.out;
  auto doc = json::parse(replay.out);
  ASSERT_EQ(doc["jobs"].size(), 12u);
  std::string one;
  for (const auto& j : doc["jobs"]) {
    EXPECT_EQ(j["before"], "dead");
    EXPECT_EQ(j["after"], "succeeded");
    one = j["job_id"];
  }
  ASSERT_EQ(Written().size(), 12u);
  // Replaying a succeeded job writes nothing.
  auto again = Mlc({"replay", one});
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_NE(again.out.find("already succeeded; nothing written"), std::string::npos) << again.out;
  for (const auto& w : Written()) EXPECT_EQ(w["x-template"]["writes"], 1);
  auto nothing = Mlc({"replay", "--pipeline", "p", "--state", "dead"});
  EXPECT_EQ(nothing.exit_code, 0);
  EXPECT_NE(nothing.out.find("nothing to replay"), std::string::npos);
  // Bad input.
  EXPECT_EQ(Mlc({"replay"}).exit_code, kExitUsageForTests);
  EXPECT_EQ(Mlc({"replay", "not-hex"}).exit_code, kExitUsageForTests);
  EXPECT_EQ(Mlc({"replay", "0123456789abcdef"}).exit_code, 1);
  EXPECT_EQ(Mlc({"replay", one, "--pipeline", "p", "--state", "dead"}).exit_code, kExitUsageForTests);
  EXPECT_EQ(Mlc({"replay", "--pipeline", "p", "--state", "running"}).exit_code, kExitUsageForTests);
}

TEST_F(CliTest, SyncRefusesBadInputClearly) {
  Configure();
  auto unknown = Mlc({"sync", "q", "--once"});
  EXPECT_EQ(unknown.exit_code, 3);
  EXPECT_NE(unknown.err.find("no pipeline named 'q'"), std::string::npos) << unknown.err;
  auto since = Mlc({"sync", "p", "--once", "--since", "last tuesday"});
  EXPECT_EQ(since.exit_code, kExitUsageForTests);
  EXPECT_NE(since.err.find("--since"), std::string::npos);
  auto no_config = testing::RunProcess({MLC_BINARY, "sync", "p", "--once"}, {{"MLC_CONFIG", ""}});
  EXPECT_EQ(no_config.exit_code, kExitUsageForTests);
  EXPECT_EQ(JobCount(), 0);  // nothing ran
}

}  // namespace
}  // namespace mlc::engine
