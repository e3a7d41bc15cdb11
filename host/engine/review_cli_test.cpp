// `mlc mapping` and `mlc review` as an operator runs them: the real binary against a temporary configuration
// (template connections; the target's accounts reference data from its settings) and a real store.
#include <gtest/gtest.h>

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

class ReviewCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    config_ = testing::WriteTemplateConfig(
        dir_, "{ seed = 7, records = 6, store = \"src\", connection = \"src\" }",
        "{ seed = 1, records = 0, store = \"dst\", accounts = [{ id = \"acc_x\", code = \"9000\", name = "
        "\"Catch-all\" }] }",
        "{ retry_base_ms = 0, unmatched_vendor = \"none\" }");
    // A config mapping for one of the generated GL codes.
    std::string text = store::testing::ReadFile(config_);
    text += "\n[pipelines.p.mappings.gl_account]\n\"6100\" = \"acc_x\"\n";
    store::testing::WriteFile(config_, text);
  }
  ProcessResult Mlc(std::vector<std::string> args) {
    std::vector<std::string> argv = {MLC_BINARY, "--config", config_};
    argv.insert(argv.end(), args.begin(), args.end());
    return testing::RunProcess(argv);
  }

  TempDir dir_;
  std::string config_;
};

TEST_F(ReviewCliTest, MappingListSetDelete) {
  auto list = Mlc({"mapping", "list", "p", "--json"});
  ASSERT_EQ(list.exit_code, 0) << list.err;
  auto doc = json::parse(list.out);
  ASSERT_EQ(doc.size(), 1u);
  EXPECT_EQ(doc[0]["source"], "6100");
  EXPECT_EQ(doc[0]["origin"], "config");

  auto set = Mlc({"mapping", "set", "p", "gl_account", "6100", "acc_other"});
  ASSERT_EQ(set.exit_code, 0) << set.err;
  doc = json::parse(Mlc({"mapping", "list", "p", "--table", "gl_account", "--json"}).out);
  ASSERT_EQ(doc.size(), 2u);
  EXPECT_EQ(doc[0]["origin"], "cli");
  EXPECT_EQ(doc[0]["target"], "acc_other");
  EXPECT_EQ(doc[1]["overridden"], true);
  auto text = Mlc({"mapping", "list", "p"});
  EXPECT_NE(text.out.find("gl_account  6100 -> acc_other  (cli)"), std::string::npos) << text.out;

  ASSERT_EQ(Mlc({"mapping", "delete", "p", "gl_account", "6100"}).exit_code, 0);
  doc = json::parse(Mlc({"mapping", "list", "p", "--json"}).out);
  ASSERT_EQ(doc.size(), 1u);
  EXPECT_EQ(doc[0]["origin"], "config");
}

TEST_F(ReviewCliTest, MappingBadArgumentsExitTwo) {
  auto bad_table = Mlc({"mapping", "set", "p", "gl_acct", "6100", "x"});
  EXPECT_EQ(bad_table.exit_code, kExitUsageForTests);
  EXPECT_NE(bad_table.err.find("unknown mapping table 'gl_acct'"), std::string::npos) << bad_table.err;
  auto bad_pipeline = Mlc({"mapping", "list", "nope"});
  EXPECT_EQ(bad_pipeline.exit_code, kExitUsageForTests);
  EXPECT_NE(bad_pipeline.err.find("no pipeline named 'nope'"), std::string::npos) << bad_pipeline.err;
  EXPECT_EQ(Mlc({"mapping", "set", "p", "gl_account", "6100"}).exit_code, kExitUsageForTests);
  auto config_row = Mlc({"mapping", "delete", "p", "gl_account", "6100"});
  EXPECT_EQ(config_row.exit_code, kExitUsageForTests);
  EXPECT_NE(config_row.err.find("configuration file"), std::string::npos) << config_row.err;
}

TEST_F(ReviewCliTest, ReviewListResolveReplay) {
  auto sync = Mlc({"sync", "p", "--once", "--json"});
  ASSERT_TRUE(sync.exit_code == 0 || sync.exit_code == 1) << sync.err;
  auto list = Mlc({"review", "list", "--pipeline", "p", "--json"});
  ASSERT_EQ(list.exit_code, 0) << list.err;
  auto items = json::parse(list.out);
  ASSERT_FALSE(items.empty()) << sync.out;  // GL codes other than 6100 have no mapping and no target account
  const json item = items[0];
  const std::string id = item["id"].get<std::string>();
  EXPECT_EQ(item["kind"], "unmapped_account");
  EXPECT_NE(item["detail"]["source_value"], "6100");
  auto text = Mlc({"review", "list"});
  EXPECT_NE(text.out.find(id), std::string::npos) << text.out;

  // Bad arguments: exit 2 with a message, nothing changed.
  auto none = Mlc({"review", "resolve", id});
  EXPECT_EQ(none.exit_code, kExitUsageForTests);
  EXPECT_NE(none.err.find("exactly one of"), std::string::npos) << none.err;
  EXPECT_EQ(Mlc({"review", "resolve", id, "--skip", "--create-vendor"}).exit_code, kExitUsageForTests);
  auto unknown = Mlc({"review", "resolve", "zzzzzzzz-1", "--skip"});
  EXPECT_EQ(unknown.exit_code, kExitUsageForTests);
  EXPECT_NE(unknown.err.find("no review item"), std::string::npos) << unknown.err;
  auto wrong_kind = Mlc({"review", "resolve", id, "--vendor", "v1"});
  EXPECT_EQ(wrong_kind.exit_code, kExitUsageForTests);
  EXPECT_NE(wrong_kind.err.find("--account"), std::string::npos) << wrong_kind.err;
  auto missing = Mlc({"review", "resolve", id, "--account", "acc_missing"});
  EXPECT_EQ(missing.exit_code, kExitUsageForTests);
  EXPECT_NE(missing.err.find("no account 'acc_missing'"), std::string::npos) << missing.err;

  auto resolved = Mlc({"review", "resolve", id, "--account", "9000", "--json"});
  ASSERT_EQ(resolved.exit_code, 0) << resolved.err;
  auto doc = json::parse(resolved.out);
  EXPECT_EQ(doc["item"]["resolution"]["action"], "account");
  ASSERT_FALSE(doc["jobs"].empty());
  for (const auto& j : doc["jobs"]) {
    EXPECT_EQ(j["state"], "succeeded") << j.dump();
    EXPECT_TRUE(j.contains("target_id"));
  }
  // The mapping it left behind.
  auto maps = json::parse(Mlc({"mapping", "list", "p", "--json"}).out);
  bool review_row = false;
  for (const auto& m : maps) review_row = review_row || (m["origin"] == "review" && m["target"] == "acc_x");
  EXPECT_TRUE(review_row) << maps.dump();
  // The rest: skip them all.
  for (const auto& i : json::parse(Mlc({"review", "list", "--json"}).out)) {
    EXPECT_EQ(Mlc({"review", "resolve", i["id"].get<std::string>(), "--skip"}).exit_code, 0);
  }
  EXPECT_TRUE(json::parse(Mlc({"review", "list", "--json"}).out).empty());
}

}  // namespace
}  // namespace mlc::engine
