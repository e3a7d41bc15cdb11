// Runs the real `mlc plugins list|inspect` executable against fixture plugins and checks exit codes and
// output.
#include <sys/wait.h>

#include <cstdio>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "loader/loader_test_util.hpp"
#include "mlc/plugin.h"

namespace mlc::loader {
namespace {

using nlohmann::json;
using testing::FixturePath;
using testing::ReadBytes;
using testing::TempDir;

struct ProcessResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

std::string Quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) {
    if (c == '\'') {
      q += "'\\''";
    } else {
      q += c;
    }
  }
  return q + "'";
}

// Runs `mlc` with `args` (no config from the environment), capturing stdout and stderr.
ProcessResult RunMlc(const std::vector<std::string>& args, const TempDir& scratch) {
  std::string cmd = "env -u MLC_CONFIG " + Quote(MLC_BINARY_PATH);
  for (const auto& a : args) cmd += " " + Quote(a);
  cmd += " 2>" + Quote(scratch.File("stderr.txt"));
  ProcessResult run;
  FILE* pipe = ::popen(cmd.c_str(), "r");
  if (pipe == nullptr) return run;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, pipe)) > 0) run.out.append(buf, n);
  int status = ::pclose(pipe);
  run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  run.err = ReadBytes(scratch.File("stderr.txt"));
  return run;
}

TEST(PluginsCliTest, ListJsonShowsPluginsAndRefusals) {
  TempDir plugins, scratch;
  plugins.Add({"good.so", "garbage.so"});
  ProcessResult run = RunMlc({"plugins", "list", "--json", "--plugin-dir", plugins.path()}, scratch);
  EXPECT_EQ(run.exit_code, 1) << run.err;  // a refused file is a problem worth a non-zero exit
  json doc = json::parse(run.out, nullptr, false);
  ASSERT_FALSE(doc.is_discarded()) << run.out;
  ASSERT_EQ(doc["plugins"].size(), 1u);
  const json& p = doc["plugins"][0];
  EXPECT_EQ(p["name"], "fixture_good");
  EXPECT_EQ(p["version"], "1.2.3");
  EXPECT_EQ(p["vendor"], "Fixture Systems");
  // The table's ABI: good.so is built against this tree's plugin.h.
  EXPECT_EQ(p["abi"], std::to_string(MLC_ABI_VERSION_MAJOR) + "." + std::to_string(MLC_ABI_VERSION_MINOR));
  EXPECT_EQ(p["path"], plugins.File("good.so"));
  EXPECT_EQ(p["manifest"]["name"], "fixture_good");
  EXPECT_TRUE(p["roles"].is_array());
  ASSERT_EQ(doc["refused"].size(), 1u);
  EXPECT_EQ(doc["refused"][0]["path"], plugins.File("garbage.so"));
  EXPECT_EQ(doc["refused"][0]["reason"], "not a shared library");
}

TEST(PluginsCliTest, ListOfGoodPluginsExitsZero) {
  TempDir plugins, more, scratch;
  plugins.Add("good.so");
  more.Add("newer_minor.so");
  ProcessResult run = RunMlc(
      {"plugins", "list", "--json", "--plugin-dir", plugins.path(), "--plugin-dir", more.path()}, scratch);
  EXPECT_EQ(run.exit_code, 0) << run.err;
  json doc = json::parse(run.out, nullptr, false);
  ASSERT_FALSE(doc.is_discarded()) << run.out;
  ASSERT_EQ(doc["plugins"].size(), 2u);
  EXPECT_EQ(doc["plugins"][1]["name"], "fixture_newer_minor");
  EXPECT_EQ(doc["plugins"][1]["abi"],
            std::to_string(MLC_ABI_VERSION_MAJOR) + "." + std::to_string(MLC_ABI_VERSION_MINOR + 1));
  EXPECT_TRUE(doc["refused"].empty());
}

TEST(PluginsCliTest, ListTextNamesReasons) {
  TempDir plugins, scratch;
  plugins.Add({"good.so", "missing_entry.so"});
  ProcessResult run = RunMlc({"plugins", "list", "--plugin-dir", plugins.path()}, scratch);
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_NE(run.out.find("fixture_good 1.2.3"), std::string::npos) << run.out;
  EXPECT_NE(run.out.find(plugins.File("missing_entry.so") + ": missing entry symbol mlc_plugin_entry"),
            std::string::npos)
      << run.out;
}

TEST(PluginsCliTest, ListTakesDirectoriesFromTheConfig) {
  TempDir root, scratch;
  std::filesystem::create_directory(root.File("plugs"));
  std::filesystem::copy_file(FixturePath("good.so"), root.File("plugs/good.so"));
  testing::WriteBytes(root.File("mlc.toml"), "[host]\nplugin_dirs = [\"plugs\"]\n");  // relative to the file
  ProcessResult run = RunMlc({"--config", root.File("mlc.toml"), "plugins", "list", "--json"}, scratch);
  EXPECT_EQ(run.exit_code, 0) << run.err;
  json doc = json::parse(run.out, nullptr, false);
  ASSERT_FALSE(doc.is_discarded()) << run.out;
  ASSERT_EQ(doc["plugins"].size(), 1u);
  EXPECT_EQ(doc["plugins"][0]["path"], root.File("plugs/good.so"));

  testing::WriteBytes(root.File("bad.toml"), "[host]\nplugin_dirs = 5\n");
  ProcessResult bad = RunMlc({"--config", root.File("bad.toml"), "plugins", "list"}, scratch);
  EXPECT_EQ(bad.exit_code, 3);
  EXPECT_NE(bad.err.find("plugin_dirs"), std::string::npos) << bad.err;
  EXPECT_TRUE(bad.out.empty()) << bad.out;
}

TEST(PluginsCliTest, InspectGoodPlugin) {
  TempDir scratch;
  ProcessResult run = RunMlc({"plugins", "inspect", FixturePath("good.so"), "--json"}, scratch);
  EXPECT_EQ(run.exit_code, 0) << run.err;
  json doc = json::parse(run.out, nullptr, false);
  ASSERT_FALSE(doc.is_discarded()) << run.out;
  EXPECT_EQ(doc["path"], FixturePath("good.so"));
  EXPECT_EQ(doc["manifest"]["name"], "fixture_good");
  EXPECT_EQ(doc["schema_valid"], true);

  ProcessResult text = RunMlc({"plugins", "inspect", FixturePath("good.so")}, scratch);
  EXPECT_EQ(text.exit_code, 0);
  EXPECT_NE(text.out.find("name:     fixture_good"), std::string::npos) << text.out;
}

TEST(PluginsCliTest, InspectDoesNotNeedAnEntryPoint) {
  // inspect reads the file only; a plugin whose code would be refused still shows its manifest.
  TempDir scratch;
  ProcessResult run = RunMlc({"plugins", "inspect", "--json", FixturePath("missing_entry.so")}, scratch);
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_NE(run.out.find("fixture_missing_entry"), std::string::npos);
}

TEST(PluginsCliTest, InspectGarbageFails) {
  TempDir scratch;
  ProcessResult run = RunMlc({"plugins", "inspect", FixturePath("garbage.so")}, scratch);
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_TRUE(run.out.empty()) << run.out;
  EXPECT_EQ(run.err, "mlc: " + FixturePath("garbage.so") + ": not a shared library\n");
}

TEST(PluginsCliTest, InspectManifestFailingTheSchema) {
  TempDir scratch;
  ProcessResult run = RunMlc({"plugins", "inspect", FixturePath("bad_manifest.so")}, scratch);
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_NE(run.err.find("manifest fails the schema"), std::string::npos) << run.err;
  EXPECT_NE(run.out.find("\"name\": 42"), std::string::npos) << run.out;  // still shown
}

TEST(PluginsCliTest, UsageErrors) {
  TempDir scratch;
  EXPECT_EQ(RunMlc({"plugins", "inspect"}, scratch).exit_code, 2);
  EXPECT_EQ(RunMlc({"plugins", "list", "--bogus"}, scratch).exit_code, 2);
}

}  // namespace
}  // namespace mlc::loader
