// Tests of `mlc match` run as a real process: table and JSON output on good input; exit codes and messages
// for malformed JSON, missing files, vendors without id or name, bad thresholds and a bad aliases file.
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

extern char** environ;

namespace {

using ::testing::HasSubstr;
using ::testing::Not;

struct RunResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

class MatchCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (std::filesystem::temp_directory_path() / "mlc-match-cli-XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    Write("vendors.json", R"([
      {"id": "v-uber", "name": "Uber"},
      {"id": "v-eats", "name": "Uber Eats"},
      {"id": "v-air", "name": "Delta Air Lines"},
      {"id": "v-dental", "name": "Delta Dental"},
      {"id": 42, "name": "Blue Bottle Coffee", "email": "ap@bluebottle.example"}
    ])");
    Write("merchants.txt", "UBER *EATS\r\n\n   \nDELTA\nSHELL OIL 57442\nSQ *BLUE BOTTLE COFFEE\n");
  }
  void TearDown() override {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  std::string File(const std::string& name) const { return (dir_ / name).string(); }
  void Write(const std::string& name, const std::string& text) {
    std::ofstream(File(name), std::ios::binary | std::ios::trunc) << text;
  }

  RunResult Mlc(const std::vector<std::string>& args) {
    const std::string out_path = File("stdout"), err_path = File("stderr");
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&actions, 1, out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    posix_spawn_file_actions_addopen(&actions, 2, err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    std::vector<std::string> argv_s = {MLC_BINARY};
    argv_s.insert(argv_s.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& a : argv_s) argv.push_back(a.data());
    argv.push_back(nullptr);
    // No configuration from the environment: `mlc match` needs none.
    std::vector<std::string> env_s;
    for (char** e = environ; *e != nullptr; ++e) {
      if (std::string(*e).rfind("MLC_", 0) != 0) env_s.emplace_back(*e);
    }
    std::vector<char*> envp;
    for (auto& e : env_s) envp.push_back(e.data());
    envp.push_back(nullptr);
    RunResult run;
    pid_t pid = 0;
    const int rc = posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), envp.data());
    posix_spawn_file_actions_destroy(&actions);
    if (rc != 0) {
      ADD_FAILURE() << "posix_spawn failed: " << rc;
      return run;
    }
    int status = 0;
    waitpid(pid, &status, 0);
    run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    run.out = ReadAll(out_path);
    run.err = ReadAll(err_path);
    return run;
  }

  RunResult Match(const std::vector<std::string>& extra = {}) {
    std::vector<std::string> args = {"match", "--vendors", File("vendors.json"), "--merchants",
                                     File("merchants.txt")};
    args.insert(args.end(), extra.begin(), extra.end());
    return Mlc(args);
  }

  std::filesystem::path dir_;
};

TEST_F(MatchCliTest, JsonOutput) {
  const RunResult r = Match({"--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto doc = nlohmann::json::parse(r.out, nullptr, false);
  ASSERT_TRUE(doc.is_array()) << r.out;
  ASSERT_EQ(doc.size(), 4u);  // blank lines skipped

  EXPECT_EQ(doc[0]["merchant"], "UBER *EATS");  // CR of the CRLF line removed
  EXPECT_EQ(doc[0]["vendor_id"], "v-eats");
  EXPECT_EQ(doc[0]["vendor_name"], "Uber Eats");
  EXPECT_EQ(doc[0]["decision"], "auto");
  ASSERT_TRUE(doc[0]["score"].is_number());
  const double score = doc[0]["score"].get<double>();
  EXPECT_GT(score, 0.9);
  EXPECT_LE(score, 1.0);
  EXPECT_DOUBLE_EQ(score, std::round(score * 1000) / 1000);  // 3 decimals

  EXPECT_EQ(doc[1]["merchant"], "DELTA");
  EXPECT_EQ(doc[1]["decision"], "review");
  EXPECT_TRUE(doc[1]["vendor_id"].is_string());  // the suggestion

  EXPECT_EQ(doc[2]["decision"], "none");
  EXPECT_TRUE(doc[2]["vendor_id"].is_null());
  EXPECT_TRUE(doc[2]["vendor_name"].is_null());
  EXPECT_TRUE(doc[2]["score"].is_number());

  EXPECT_EQ(doc[3]["vendor_id"], "42");  // integer ids become strings
  EXPECT_EQ(doc[3]["decision"], "auto");

  // Keys in the documented order.
  EXPECT_EQ(r.out.find("\"merchant\"") < r.out.find("\"vendor_id\""), true);
}

TEST_F(MatchCliTest, TableOutput) {
  const RunResult r = Match();
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("MERCHANT"));
  EXPECT_THAT(r.out, HasSubstr("DECISION"));
  EXPECT_THAT(r.out, HasSubstr("v-eats"));
  EXPECT_THAT(r.out, HasSubstr("Uber Eats"));
  EXPECT_THAT(r.out, HasSubstr("4 merchants: 2 auto, 1 review, 1 none"));
  EXPECT_TRUE(r.err.empty()) << r.err;
}

TEST_F(MatchCliTest, ThresholdsFromTheCommandLine) {
  const RunResult strict = Match({"--json", "--auto-accept", "1", "--review-min", "0.99"});
  ASSERT_EQ(strict.exit_code, 0) << strict.err;
  const auto doc = nlohmann::json::parse(strict.out, nullptr, false);
  ASSERT_TRUE(doc.is_array());
  EXPECT_EQ(doc[0]["decision"], "none");  // UBER *EATS scores below 0.99

  const RunResult bad = Match({"--auto-accept", "0.5", "--review-min", "0.7"});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_THAT(bad.err, HasSubstr("review_min must not exceed auto_accept"));
  EXPECT_EQ(Match({"--auto-accept", "1.5"}).exit_code, 2);
  EXPECT_EQ(Match({"--auto-accept", "high"}).exit_code, 2);
}

TEST_F(MatchCliTest, AliasesFileExtendsTheTable) {
  Write("merchants.txt", "SQ *BBC SF\n");
  Write("aliases.json", R"({"aliases": {"bbc": "blue bottle coffee"}})");
  const RunResult with = Match({"--json", "--aliases", File("aliases.json")});
  ASSERT_EQ(with.exit_code, 0) << with.err;
  EXPECT_EQ(nlohmann::json::parse(with.out)[0]["vendor_id"], "42");
  const RunResult without = Match({"--json"});
  ASSERT_EQ(without.exit_code, 0);
  EXPECT_EQ(nlohmann::json::parse(without.out)[0]["decision"], "none");

  Write("aliases.json", R"({"aliases": {"bbc": 7}})");
  const RunResult bad = Match({"--aliases", File("aliases.json")});
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_THAT(bad.err, HasSubstr("aliases file"));
  EXPECT_THAT(bad.err, HasSubstr("aliases['bbc']: expected a string or null"));
}

TEST_F(MatchCliTest, MissingOptionIsAUsageError) {
  const RunResult r = Mlc({"match", "--vendors", File("vendors.json")});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("--merchants"));
}

TEST_F(MatchCliTest, MissingFiles) {
  RunResult r = Mlc({"match", "--vendors", File("nope.json"), "--merchants", File("merchants.txt")});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("cannot read vendors file '" + File("nope.json") + "'"));
  EXPECT_THAT(r.err, HasSubstr("No such file or directory"));
  EXPECT_TRUE(r.out.empty());

  r = Mlc({"match", "--vendors", File("vendors.json"), "--merchants", File("nope.txt")});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("cannot read merchants file"));
}

TEST_F(MatchCliTest, MalformedVendorsJson) {
  Write("vendors.json", R"([{"id": "a", "name": "Acme"},)");
  RunResult r = Match();
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("vendors file '" + File("vendors.json") + "'"));
  EXPECT_THAT(r.err, HasSubstr("malformed JSON"));
  EXPECT_TRUE(r.out.empty());

  Write("vendors.json", R"({"id": "a", "name": "Acme"})");
  r = Match();
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("expected a JSON array"));
}

TEST_F(MatchCliTest, VendorWithoutIdOrName) {
  Write("vendors.json", R"([{"id": "a", "name": "Acme"}, {"id": "b", "name": "Bolt"}, {"name": "No Id"}])");
  RunResult r = Match();
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("vendor at index 2: missing \"id\""));
  EXPECT_THAT(r.out, Not(HasSubstr("MERCHANT")));

  Write("vendors.json", R"([{"id": "a"}])");
  r = Match();
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("vendor at index 0: missing \"name\""));

  Write("vendors.json", R"([{"id": "a", "name": "Acme"}, "b"])");
  r = Match();
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("vendor at index 1: expected an object"));

  Write("vendors.json", R"([{"id": "a", "name": "Acme"}, {"id": "a", "name": "Acme Again"}])");
  r = Match();
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("vendors[1] (id 'a'): duplicate id"));

  Write("vendors.json", R"([{"id": true, "name": "Acme"}])");
  r = Match();
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("\"id\" must be a string or an integer"));

  Write("vendors.json", R"([{"id": "x", "name": "Acme"}, {"id": "y", "name": "#@!"}])");
  r = Match();
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("vendors[1] (id 'y'): name '#@!' has no letters or digits"));
}

}  // namespace
