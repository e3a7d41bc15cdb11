// `mlc` as an operator runs it: --version, --help, wrong arguments, and `serve` from start to SIGTERM.
#include <signal.h>

#include <chrono>
#include <string>

#include <gtest/gtest.h>

#include "store/store.hpp"
#include "support/subprocess.hpp"
#include "support/temp_dir.hpp"

namespace {

using mlc::testing::ChildProcess;
using mlc::testing::RunProcess;
using mlc::testing::TempDir;
using namespace std::chrono_literals;

std::string MinimalConfig(const TempDir& dir) {
  // Port 0: `serve` binds the HTTP listener, and tests run in parallel.
  return "[host]\nplugin_dirs = [\"" MLC_PLUGIN_DIR "\"]\nlisten = \"127.0.0.1:0\"\n[store]\npath = \"" +
         dir.File("mlc.db") + "\"\n";
}

TEST(CliTest, VersionNamesHostAndAbi) {
  auto r = RunProcess({MLC_BINARY, "--version"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.out.find("mlc "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("plugin ABI 1."), std::string::npos) << r.out;
}

TEST(CliTest, HelpListsCommandsAndExitCodes) {
  auto r = RunProcess({MLC_BINARY, "--help"});
  EXPECT_EQ(r.exit_code, 0);
  for (const char* word : {"plugins", "config", "serve", "vault", "Exit codes"}) {
    EXPECT_NE(r.out.find(word), std::string::npos) << word << " missing from:\n" << r.out;
  }
}

TEST(CliTest, EveryCommandHasHelp) {
  for (const char* cmd : {"plugins", "config", "serve", "vault"}) {
    auto r = RunProcess({MLC_BINARY, cmd, "--help"});
    EXPECT_EQ(r.exit_code, 0) << cmd << ": " << r.err;
    EXPECT_NE(r.out.find("Usage"), std::string::npos) << cmd;
  }
}

TEST(CliTest, UnknownCommandIsAUsageError) {
  auto r = RunProcess({MLC_BINARY, "frobnicate"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_FALSE(r.err.empty());
}

TEST(CliTest, NoCommandIsAUsageError) {
  auto r = RunProcess({MLC_BINARY});
  EXPECT_EQ(r.exit_code, 2);
}

TEST(CliTest, UnknownFlagIsAUsageError) {
  auto r = RunProcess({MLC_BINARY, "serve", "--no-such-flag"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("no-such-flag"), std::string::npos) << r.err;
}

TEST(ServeTest, WithoutConfigIsAUsageError) {
  mlc::testing::ProcessOptions options;
  options.env = {{"MLC_CONFIG", ""}};
  auto r = RunProcess({MLC_BINARY, "serve"}, options);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("--config"), std::string::npos) << r.err;
}

TEST(ServeTest, BrokenConfigExitsWithConfigErrorAndLocation) {
  TempDir dir;
  const std::string path = dir.Write("mlc.toml", "[store]\npath = 12\n");
  auto r = RunProcess({MLC_BINARY, "--config", path, "serve"});
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_NE(r.err.find("mlc.toml:2"), std::string::npos) << r.err;
}

TEST(ServeTest, NewerStoreSchemaIsRefused) {
  TempDir dir;
  const std::string path = dir.Write("mlc.toml", MinimalConfig(dir));
  {
    auto store = mlc::store::Store::Open({.path = dir.File("mlc.db")});
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    ASSERT_TRUE((*store)->Exec("UPDATE schema_meta SET value = '999' WHERE key = 'schema_version'").ok());
  }
  auto r = RunProcess({MLC_BINARY, "--config", path, "serve"});
  EXPECT_EQ(r.exit_code, 4);
  EXPECT_NE(r.err.find("newer"), std::string::npos) << r.err;
}

TEST(ServeTest, RunsUntilSigtermAndStopsCleanly) {
  TempDir dir;
  const std::string path = dir.Write("mlc.toml", MinimalConfig(dir));
  for (int signo : {SIGTERM, SIGINT}) {
    ChildProcess host({MLC_BINARY, "--config", path, "serve"});
    ASSERT_TRUE(host.started());
    ASSERT_TRUE(host.WaitForOutput("ready", 20s)) << host.out() << host.err();
    host.Signal(signo);
    auto code = host.Wait(20s);
    ASSERT_TRUE(code.has_value()) << "serve did not stop after signal " << signo;
    EXPECT_EQ(*code, 0) << host.err();
    EXPECT_NE(host.out().find("stopped"), std::string::npos) << host.out();
  }
}

TEST(ServeTest, CheckLoadsEverythingAndExits) {
  TempDir dir;
  const std::string path = dir.Write("mlc.toml", MinimalConfig(dir));
  auto r = RunProcess({MLC_BINARY, "--config", path, "serve", "--check"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("ok"), std::string::npos);
}

}  // namespace
