// Runs `mlc config check` as a real process on good and bad files and checks exit codes and output.
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::Not;

struct ProcessResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

class ConfigCheckProcessTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "mlc-config-check-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  std::string WriteConfig(const std::string& name, const std::string& text) {
    std::ofstream(dir_ / name) << text;
    return (dir_ / name).string();
  }

  static std::string Slurp(const fs::path& p) {
    std::ifstream in(p);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
  }

  // Runs mlc in the test folder with `args` (already shell-quoted where needed). MLC_CONFIG and
  // MLC_SCHEMA_DIR are unset unless `env` sets them, so the SDK's real manifest schema vets the plugin.
  ProcessResult Mlc(const std::string& args, const std::string& env = "") {
    std::string cmd = "cd '" + dir_.string() + "' && env -u MLC_CONFIG -u MLC_SCHEMA_DIR " + env +
                      " '" MLC_BINARY "' " + args + " >'" + (dir_ / "out.txt").string() + "' 2>'" +
                      (dir_ / "err.txt").string() + "'";
    int status = std::system(cmd.c_str());
    ProcessResult r;
    r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    r.out = Slurp(dir_ / "out.txt");
    r.err = Slurp(dir_ / "err.txt");
    return r;
  }

  fs::path dir_;
};

constexpr const char* kGood = R"toml(# a good configuration
[host]
plugin_dirs = [")toml" MLC_CONFIG_TEST_PLUGIN_DIR R"toml("]

[store]
path = "mlc.db"

[connections.cards]
plugin = "cfgtest"
settings = { environment = "sandbox" }
secrets = { token = "vault" }

[connections.books]
plugin = "cfgtest"
secrets = { token = "env:BOOKS_TOKEN" }

[pipelines.cards_to_books]
source = "cards"
target = "books"
objects = ["expense"]
schedule = "*/15 * * * *"
)toml";

constexpr const char* kBad = R"toml([host]
plugin_dirs = [")toml" MLC_CONFIG_TEST_PLUGIN_DIR R"toml("]
lissen = "127.0.0.1:8080"

[connections.cards]
plugin = "cfgtest"
settings = { environment = "production", token = "bxt_should_never_print" }

[connections.books]
plugin = "cfgtst"

[pipelines.p]
source = "cards"
target = "books"
objects = ["bill"]
schedule = "61 * * * *"
)toml";

TEST_F(ConfigCheckProcessTest, GoodFileExitsZero) {
  std::string file = WriteConfig("good.toml", kGood);
  ProcessResult r = Mlc("--config '" + file + "' config check");
  // The plugin folder also holds cfgabort, which aborts when loaded: exit 0 means no plugin code ran.
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(r.out, "ok: 2 connections, 1 pipelines\n");
  EXPECT_EQ(r.err, "");
}

TEST_F(ConfigCheckProcessTest, PluginsAreInspectedNotLoaded) {
  // cfgabort's manifest is usable (it can be a target), yet its code never runs.
  std::string text =
      std::string(kGood) +
      "\n[connections.sink]\nplugin = \"cfgabort\"\n\n"
      "[pipelines.cards_to_sink]\nsource = \"cards\"\ntarget = \"sink\"\nobjects = [\"vendor\"]\n";
  WriteConfig("abort.toml", text);
  ProcessResult r = Mlc("--config abort.toml config check");
  EXPECT_EQ(r.exit_code, 3) << r.out << r.err;
  // cards (cfgtest) reads only expenses; the error proves both manifests were read.
  EXPECT_THAT(r.err, HasSubstr("pipelines.cards_to_sink.objects: \"vendor\" cannot be read by connection "
                               "\"cards\""));
  EXPECT_THAT(r.err, Not(HasSubstr("cannot be written")));
}

TEST_F(ConfigCheckProcessTest, ConfigFromEnvironment) {
  WriteConfig("good.toml", kGood);
  ProcessResult r = Mlc("config check", "MLC_CONFIG=good.toml");
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(r.out, "ok: 2 connections, 1 pipelines\n");
}

TEST_F(ConfigCheckProcessTest, BadFileListsEveryErrorAndExitsThree) {
  WriteConfig("bad.toml", kBad);
  ProcessResult r = Mlc("--config bad.toml config check");
  EXPECT_EQ(r.exit_code, 3) << r.out << r.err;
  EXPECT_EQ(r.out, "");
  EXPECT_THAT(r.err, HasSubstr("bad.toml:3:1: unknown key \"lissen\" in [host]; did you mean \"listen\"?"));
  EXPECT_THAT(r.err,
              HasSubstr("bad.toml:5:1: connections.cards: plugin \"cfgtest\" requires the secret \"token\""));
  EXPECT_THAT(
      r.err,
      HasSubstr("bad.toml:7:50: connections.cards.settings.token: secrets must not be written inline"));
  EXPECT_THAT(r.err, HasSubstr("bad.toml:10:10: connections.books.plugin: unknown plugin \"cfgtst\"; did you "
                               "mean \"cfgtest\"?"));
  EXPECT_THAT(r.err, HasSubstr("bad.toml:15:12: pipelines.p.objects: \"bill\" cannot be read by connection "
                               "\"cards\""));
  EXPECT_THAT(r.err, HasSubstr("bad.toml:16:12: pipelines.p.schedule: "));
  EXPECT_THAT(r.err, HasSubstr("6 errors in bad.toml"));
  EXPECT_THAT(r.err, Not(HasSubstr("bxt_should_never_print")));
}

TEST_F(ConfigCheckProcessTest, JsonOutput) {
  WriteConfig("bad.toml", kBad);
  ProcessResult r = Mlc("--config bad.toml config check --json");
  EXPECT_EQ(r.exit_code, 3) << r.err;
  nlohmann::json j = nlohmann::json::parse(r.out, nullptr, /*allow_exceptions=*/false);
  ASSERT_TRUE(j.is_object()) << r.out;
  EXPECT_EQ(j["ok"], false);
  EXPECT_EQ(j["connections"], 2);
  ASSERT_EQ(j["errors"].size(), 6u);
  EXPECT_EQ(j["errors"][0]["file"], "bad.toml");
  EXPECT_EQ(j["errors"][0]["line"], 3);
  EXPECT_EQ(j["errors"][0]["column"], 1);

  WriteConfig("good.toml", kGood);
  ProcessResult ok = Mlc("--config good.toml config check --json");
  EXPECT_EQ(ok.exit_code, 0) << ok.err;
  nlohmann::json g = nlohmann::json::parse(ok.out, nullptr, false);
  EXPECT_EQ(g["ok"], true);
  EXPECT_EQ(g["pipelines"], 1);
  EXPECT_TRUE(g["errors"].empty());
}

TEST_F(ConfigCheckProcessTest, SyntaxErrorIsLocated) {
  WriteConfig("syntax.toml", "[host]\nlisten = \"127.0.0.1:8080\n");
  ProcessResult r = Mlc("--config syntax.toml config check");
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_THAT(r.err, HasSubstr("syntax.toml:2:"));
  EXPECT_THAT(r.err, HasSubstr("TOML syntax error"));
}

TEST_F(ConfigCheckProcessTest, MissingFileExitsThree) {
  ProcessResult r = Mlc("--config missing.toml config check");
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_THAT(r.err, HasSubstr("missing.toml: cannot read configuration file: no such file"));
}

TEST_F(ConfigCheckProcessTest, NoConfigIsAUsageError) {
  ProcessResult r = Mlc("config check");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("no configuration file given"));
}

TEST_F(ConfigCheckProcessTest, RefusedPluginsAreWarnings) {
  fs::create_directories(dir_ / "plugins");
  std::ofstream(dir_ / "plugins" / "broken.so") << "not an ELF file";
  WriteConfig("warn.toml", "[host]\nplugin_dirs = [\"plugins\"]\n");
  ProcessResult r = Mlc("--config warn.toml config check");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "ok: 0 connections, 0 pipelines\n");
  EXPECT_THAT(r.err, HasSubstr("broken.so: warning: plugin refused: "));
}

}  // namespace
