// Tests for LoadConfig/ParseConfig: the full format, every structural error with its position, paths.
#include "config/config.hpp"

#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace mlc::config {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::Not;

// The example from config.hpp, plus the freshbooks connection its pipeline names.
constexpr const char* kFullConfig = R"toml(
[host]
plugin_dirs = ["plugins", "/opt/mlc/plugins"]
listen = "127.0.0.1:8080"
public_url = "https://mlc.example.com"
log_level = "info"

[store]
path = "mlc.db"
synchronous = "FULL"

[vault]
key_file = "/etc/mlc/master.key"

[connections.brex]
plugin = "brex"
settings = { environment = "production" }
secrets = { token = "vault" }
rate_limits = [{ requests = 1000, per_seconds = 60 }]
concurrency = 4

[connections.freshbooks]
plugin = "freshbooks"
settings = { account = { id = 42, region = "us" }, threshold = 0.5, tags = ["a", "b"], since = 2024-01-31 }
secrets = { client_secret = "vault:shared/fb_client_secret", refresh_token = "env:FB_REFRESH" }

[connections.shared]
plugin = "vaultonly"

[pipelines.brex_to_freshbooks]
source = "brex"
target = "freshbooks"
objects = ["expense"]
schedule = "every 15m"
enabled = true
[pipelines.brex_to_freshbooks.mappings.gl_account]
"6100" = "Software"
"6200" = 7
[pipelines.brex_to_freshbooks.options]
auto_accept = 0.92
create_vendors = true
)toml";

TEST(ConfigTest, FullConfigParsesEveryField) {
  LoadResult r = ParseConfig(kFullConfig, "/etc/mlc/mlc.toml");
  for (const auto& e : r.errors) ADD_FAILURE() << e.ToString();
  ASSERT_TRUE(r.ok());
  const Config& c = r.config;
  EXPECT_EQ(c.path, "/etc/mlc/mlc.toml");
  EXPECT_EQ(c.dir, "/etc/mlc");
  EXPECT_EQ(c.plugin_dirs, (std::vector<std::string>{"/etc/mlc/plugins", "/opt/mlc/plugins"}));
  EXPECT_EQ(c.listen, "127.0.0.1:8080");
  EXPECT_EQ(c.public_url, "https://mlc.example.com");
  EXPECT_EQ(c.log_level, "info");
  EXPECT_EQ(c.store_path, "/etc/mlc/mlc.db");
  EXPECT_EQ(c.store_synchronous, "FULL");
  EXPECT_EQ(c.vault_key_file, "/etc/mlc/master.key");

  ASSERT_EQ(c.connections.size(), 3u);
  const Connection& brex = c.connections.at("brex");
  EXPECT_EQ(brex.name, "brex");
  EXPECT_EQ(brex.plugin, "brex");
  EXPECT_EQ(brex.settings, nlohmann::json({{"environment", "production"}}));
  ASSERT_EQ(brex.secrets.count("token"), 1u);
  EXPECT_EQ(brex.secrets.at("token").kind, SecretRef::Kind::kVault);
  EXPECT_EQ(brex.secrets.at("token").connection, "brex");
  EXPECT_EQ(brex.secrets.at("token").field, "token");
  EXPECT_EQ(brex.secrets.at("token").where.line, 18);
  ASSERT_EQ(brex.rate_limits.size(), 1u);
  EXPECT_EQ(brex.rate_limits[0].requests, 1000);
  EXPECT_EQ(brex.rate_limits[0].per_seconds, 60);
  EXPECT_EQ(brex.concurrency, 4);
  EXPECT_EQ(brex.where.ToString(), "/etc/mlc/mlc.toml:15:1");
  EXPECT_EQ(brex.LocationOf("/settings/environment").ToString(), "/etc/mlc/mlc.toml:17:28");
  EXPECT_EQ(brex.LocationOf("/settings/missing").ToString(), "/etc/mlc/mlc.toml:17:12");
  EXPECT_EQ(brex.LocationOf("/nothing/here").ToString(), "/etc/mlc/mlc.toml:15:1");

  const Connection& fb = c.connections.at("freshbooks");
  EXPECT_FALSE(fb.concurrency.has_value());
  EXPECT_TRUE(fb.rate_limits.empty());
  // Integers stay integers, floats floats, dates become ISO text.
  EXPECT_TRUE(fb.settings["account"]["id"].is_number_integer());
  EXPECT_EQ(fb.settings["account"]["id"], 42);
  EXPECT_EQ(fb.settings["account"]["region"], "us");
  EXPECT_TRUE(fb.settings["threshold"].is_number_float());
  EXPECT_DOUBLE_EQ(fb.settings["threshold"].get<double>(), 0.5);
  EXPECT_EQ(fb.settings["tags"], nlohmann::json({"a", "b"}));
  EXPECT_EQ(fb.settings["since"], "2024-01-31");
  const SecretRef& cs = fb.secrets.at("client_secret");
  EXPECT_EQ(cs.kind, SecretRef::Kind::kVault);
  EXPECT_EQ(cs.connection, "shared");
  EXPECT_EQ(cs.field, "fb_client_secret");
  const SecretRef& rt = fb.secrets.at("refresh_token");
  EXPECT_EQ(rt.kind, SecretRef::Kind::kEnv);
  EXPECT_EQ(rt.env_var, "FB_REFRESH");

  ASSERT_EQ(c.pipelines.size(), 1u);
  const Pipeline& p = c.pipelines.at("brex_to_freshbooks");
  EXPECT_EQ(p.name, "brex_to_freshbooks");
  EXPECT_EQ(p.source, "brex");
  EXPECT_EQ(p.target, "freshbooks");
  EXPECT_EQ(p.objects, std::vector<std::string>{"expense"});
  EXPECT_EQ(p.schedule, "every 15m");
  EXPECT_TRUE(p.enabled);
  EXPECT_EQ(p.mappings.at("gl_account").at("6100"), "Software");
  EXPECT_EQ(p.mappings.at("gl_account").at("6200"), "7");
  EXPECT_DOUBLE_EQ(p.options["auto_accept"].get<double>(), 0.92);
  EXPECT_EQ(p.options["create_vendors"], true);
  EXPECT_EQ(p.where.line, 30);
  EXPECT_EQ(p.LocationOf("/objects/0").ToString(), "/etc/mlc/mlc.toml:33:12");
}

TEST(ConfigTest, ExampleInTheDocsIsValid) {
  LoadResult r = LoadConfig(MLC_SOURCE_DIR "/docs/examples/mlc.example.toml");
  for (const auto& e : r.errors) ADD_FAILURE() << e.ToString();
  EXPECT_EQ(r.config.connections.size(), 4u);
  EXPECT_EQ(r.config.pipelines.size(), 2u);
  EXPECT_EQ(r.config.vault_key_file, MLC_SOURCE_DIR "/docs/examples/master.key");
  const SecretRef& shared = r.config.connections.at("freshbooks_eu").secrets.at("client_secret");
  EXPECT_EQ(shared.connection, "freshbooks");
  EXPECT_EQ(shared.field, "client_secret");
  EXPECT_FALSE(r.config.pipelines.at("expensify_to_freshbooks").enabled);
}

TEST(ConfigTest, EmptyFileGivesDefaults) {
  LoadResult r = ParseConfig("", "/srv/mlc/mlc.toml");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.config.listen, "127.0.0.1:8080");
  EXPECT_EQ(r.config.log_level, "info");
  EXPECT_EQ(r.config.store_path, "/srv/mlc/mlc.db");  // the default is relative to the file too
  EXPECT_EQ(r.config.store_synchronous, "FULL");
  EXPECT_EQ(r.config.vault_key_file, "");
  EXPECT_TRUE(r.config.plugin_dirs.empty());
  EXPECT_TRUE(r.config.connections.empty());
}

struct ErrorCase {
  const char* name;
  const char* toml;
  int line;
  int column;
  const char* message_part;
  size_t count = 1;  // errors the case produces in all
};

// A valid prefix the cases build on: two connections a and b.
#define CONNS "[connections.a]\nplugin = \"pa\"\n[connections.b]\nplugin = \"pb\"\n"

const ErrorCase kErrorCases[] = {
    {"UnknownSection", "[hots]\nlisten = \"x:1\"\n", 1, 2, "unknown section [hots]; did you mean [host]?"},
    {"UnknownSectionNoHint", "[logging]\nlevel = 1\n", 1, 2, "unknown section [logging] (sections:"},
    {"UnknownTopLevelKey", "listen = \"127.0.0.1:1\"\n", 1, 1, "unknown top-level key \"listen\""},
    {"UnknownHostKey", "[host]\nlisten = \"127.0.0.1:1\"\nplugin_dir = [\"p\"]\n", 3, 1,
     "unknown key \"plugin_dir\" in [host]; did you mean \"plugin_dirs\"?"},
    {"UnknownStoreKeyFarOff", "[store]\nfilename = \"x.db\"\n", 2, 1, "unknown key \"filename\" in [store]"},
    {"UnknownConnectionKey", "[connections.a]\nplugin = \"p\"\nsetings = { x = 1 }\n", 3, 1,
     "unknown key \"setings\" in [connections.a]; did you mean \"settings\"?"},
    {"UnknownPipelineKey",
     CONNS "[pipelines.p]\nsource = \"a\"\ntarget = \"b\"\nobjects = [\"bill\"]\nshedule = \"x\"\n", 9, 1,
     "unknown key \"shedule\" in [pipelines.p]; did you mean \"schedule\"?"},
    {"HostNotATable", "host = 5\n", 1, 8, "host must be a table, not an integer"},
    {"ListenWrongType", "[host]\nlisten = 8080\n", 2, 10, "host.listen must be a string, not an integer"},
    {"ListenNoPort", "[host]\nlisten = \"localhost\"\n", 2, 10, "host.listen must be HOST:PORT"},
    {"PublicUrlScheme", "[host]\npublic_url = \"mlc.example.com\"\n", 2, 14, "must start with https://"},
    {"LogLevel", "[host]\nlog_level = \"verbose\"\n", 2, 13, "host.log_level must be one of"},
    {"LogLevelHint", "[host]\nlog_level = \"eror\"\n", 2, 13, "did you mean \"error\"?"},
    {"PluginDirsNotArray", "[host]\nplugin_dirs = \"plugins\"\n", 2, 15, "host.plugin_dirs must be an array"},
    {"PluginDirsEntry", "[host]\nplugin_dirs = [\"a\", 3]\n", 2, 21,
     "entries must be strings, not an integer"},
    {"PluginDirsTwice", "[host]\nplugin_dirs = [\"plugins\", \"./plugins/\"]\n", 2, 27,
     "/conf/plugins\" more than once"},
    {"Synchronous", "[store]\nsynchronous = \"SOMETIMES\"\n", 2, 15, "store.synchronous must be one of"},
    {"KeyFileType", "[vault]\nkey_file = true\n", 2, 12, "vault.key_file must be a string, not a boolean"},
    {"ConnectionNotTable", "[connections]\na = \"brex\"\n", 2, 5, "connections.a must be a table"},
    {"ConnectionBadName", "[connections.\"my conn\"]\nplugin = \"p\"\n", 1, 14, "may contain only letters"},
    {"PluginMissing", "\n[connections.a]\nsettings = {}\n", 2, 1, "connections.a.plugin is required"},
    {"PluginWrongType", "[connections.a]\nplugin = 3\n", 2, 10, "connections.a.plugin must be a string"},
    {"SettingsNotTable", "[connections.a]\nplugin = \"p\"\nsettings = \"prod\"\n", 3, 12,
     "connections.a.settings must be a table, not a string"},
    {"SettingsNonFinite", "[connections.a]\nplugin = \"p\"\nsettings = { x = nan }\n", 3, 18,
     "connections.a.settings.x must be a finite number"},
    {"RateLimitZero", "[connections.a]\nplugin = \"p\"\nrate_limits = [{ requests = 0, per_seconds = 60 }]\n",
     3, 29, "rate_limits[0].requests must be a positive integer, not 0"},
    {"RateLimitNegative",
     "[connections.a]\nplugin = \"p\"\nrate_limits = [{ requests = 5, per_seconds = -1 }]\n", 3, 46,
     "rate_limits[0].per_seconds must be a positive integer, not -1"},
    {"RateLimitFloat",
     "[connections.a]\nplugin = \"p\"\nrate_limits = [{ requests = 1.5, per_seconds = 1 }]\n", 3, 29,
     "rate_limits[0].requests must be an integer, not a float"},
    {"RateLimitMissingField", "[connections.a]\nplugin = \"p\"\nrate_limits = [{ requests = 5 }]\n", 3, 16,
     "rate_limits[0].per_seconds is required"},
    {"RateLimitUnknownField",
     "[connections.a]\nplugin = \"p\"\nrate_limits = [{ requests = 5, per_second = 1 }]\n", 3, 32,
     "did you mean \"per_seconds\"?", 2},  // and per_seconds is missing
    {"RateLimitsNotArray", "[connections.a]\nplugin = \"p\"\nrate_limits = 5\n", 3, 15,
     "rate_limits must be an array"},
    {"ConcurrencyZero", "[connections.a]\nplugin = \"p\"\nconcurrency = 0\n", 3, 15,
     "concurrency must be between 1 and 1024, not 0"},
    {"ConcurrencyString", "[connections.a]\nplugin = \"p\"\nconcurrency = \"4\"\n", 3, 15,
     "concurrency must be an integer, not a string"},
    {"SecretRefBad", "[connections.a]\nplugin = \"p\"\nsecrets = { token = \"keychain\" }\n", 3, 21,
     "connections.a.secrets.token must be \"vault\", \"vault:CONNECTION/FIELD\" or \"env:VARIABLE\""},
    {"SecretRefVaultNoField", "[connections.a]\nplugin = \"p\"\nsecrets = { token = \"vault:a\" }\n", 3, 21,
     "needs CONNECTION/FIELD"},
    {"SecretRefVaultEmptyField", "[connections.a]\nplugin = \"p\"\nsecrets = { token = \"vault:a/\" }\n", 3,
     21, "needs CONNECTION/FIELD"},
    {"SecretRefEnvBad", "[connections.a]\nplugin = \"p\"\nsecrets = { token = \"env:1X\" }\n", 3, 21,
     "an env: reference needs a variable name"},
    {"SecretRefNotString", "[connections.a]\nplugin = \"p\"\nsecrets = { token = 5 }\n", 3, 21,
     "not an integer"},
    {"SecretRefUnknownConnection",
     CONNS "[connections.c]\nplugin = \"p\"\nsecrets = { t = \"vault:bb/t\" }\n", 7, 17,
     "refers to the vault of connection \"bb\", which is not configured; did you mean \"b\"?"},
    {"InlineToken",
     "[connections.a]\nplugin = \"p\"\nsettings = { environment = \"prod\", token = \"abc\" }\n", 3, 44,
     "connections.a.settings.token: secrets must not be written inline; use secrets = { token = \"vault\" } "
     "and `mlc vault put`"},
    {"InlineNestedSecret",
     "[connections.a]\nplugin = \"p\"\n[connections.a.settings.oauth]\nclient_secret = \"x\"\n", 4, 17,
     "connections.a.settings.oauth.client_secret: secrets must not be written inline"},
    {"InlineCamelCase", "[connections.a]\nplugin = \"p\"\nsettings = { partnerUserSecret = \"x\" }\n", 3, 34,
     "secrets = { partnerUserSecret = \"vault\" }"},
    {"InlineSuffix", "[connections.a]\nplugin = \"p\"\nsettings = { webhook_secret = \"x\" }\n", 3, 31,
     "secrets must not be written inline"},
    {"InlineInOptions",
     CONNS
     "[pipelines.p]\nsource = \"a\"\ntarget = \"b\"\nobjects = [\"bill\"]\noptions = { api_key = \"k\" }\n",
     9, 23, "pipeline options must not hold secrets"},
    {"PipelineNoSource", CONNS "[pipelines.p]\ntarget = \"b\"\nobjects = [\"bill\"]\n", 5, 1,
     "pipelines.p.source is required"},
    {"PipelineNoTarget", CONNS "[pipelines.p]\nsource = \"a\"\nobjects = [\"bill\"]\n", 5, 1,
     "pipelines.p.target is required"},
    {"PipelineNoObjects", CONNS "[pipelines.p]\nsource = \"a\"\ntarget = \"b\"\n", 5, 1,
     "pipelines.p.objects is required"},
    {"PipelineEmptyObjects", CONNS "[pipelines.p]\nsource = \"a\"\ntarget = \"b\"\nobjects = []\n", 8, 11,
     "must name at least one object"},
    {"PipelineDuplicateObject",
     CONNS "[pipelines.p]\nsource = \"a\"\ntarget = \"b\"\nobjects = [\"bill\", \"bill\"]\n", 8, 20,
     "pipelines.p.objects lists \"bill\" more than once"},
    {"PipelineObjectNotString", CONNS "[pipelines.p]\nsource = \"a\"\ntarget = \"b\"\nobjects = [1]\n", 8, 12,
     "entries must be strings, not an integer"},
    {"PipelineUnknownSource", CONNS "[pipelines.p]\nsource = \"aa\"\ntarget = \"b\"\nobjects = [\"bill\"]\n",
     6, 10, "pipelines.p.source: no connection named \"aa\"; did you mean \"a\"? (connections: a, b)"},
    {"PipelineUnknownTarget",
     CONNS "[pipelines.p]\nsource = \"a\"\ntarget = \"zoho\"\nobjects = [\"bill\"]\n", 7, 10,
     "pipelines.p.target: no connection named \"zoho\" (connections: a, b)"},
    {"PipelineNoConnectionsAtAll", "[pipelines.p]\nsource = \"a\"\ntarget = \"b\"\nobjects = [\"bill\"]\n", 2,
     10, "no connection named \"a\" (no connections are configured)", 2},  // and none named "b"
    {"PipelineSameSourceTarget",
     CONNS "[pipelines.p]\nsource = \"a\"\ntarget = \"a\"\nobjects = [\"bill\"]\n", 7, 10,
     "pipelines.p: source and target are the same connection \"a\""},
    {"PipelineEnabledType",
     CONNS "[pipelines.p]\nsource = \"a\"\ntarget = \"b\"\nobjects = [\"bill\"]\nenabled = \"yes\"\n", 9, 11,
     "pipelines.p.enabled must be true or false, not a string"},
    {"ScheduleBadInterval",
     CONNS
     "[pipelines.p]\nsource = \"a\"\ntarget = \"b\"\nobjects = [\"bill\"]\nschedule = \"every 15 minutes\"\n",
     9, 12, "pipelines.p.schedule: expected \"every <N>(s|m|h|d)\""},
    {"ScheduleBadCron",
     CONNS "[pipelines.p]\nsource = \"a\"\ntarget = \"b\"\nobjects = [\"bill\"]\nschedule = \"61 * * * *\"\n",
     9, 12, "minute: 61 is out of range 0-59"},
    {"ScheduleWrongType",
     CONNS "[pipelines.p]\nsource = \"a\"\ntarget = \"b\"\nobjects = [\"bill\"]\nschedule = 15\n", 9, 12,
     "pipelines.p.schedule must be a string, not an integer"},
    {"MappingNotTable",
     CONNS "[pipelines.p]\nsource = \"a\"\ntarget = \"b\"\nobjects = [\"bill\"]\nmappings = { gl = 5 }\n", 9,
     19, "pipelines.p.mappings.gl must be a table"},
    {"MappingValueType",
     CONNS "[pipelines.p]\nsource = \"a\"\ntarget = \"b\"\nobjects = "
           "[\"bill\"]\n[pipelines.p.mappings.gl]\n\"6100\" = 1.5\n",
     10, 10, "pipelines.p.mappings.gl.6100 must be a string (or an integer id), not a float"},
    {"PipelineNotTable", "[pipelines]\np = 1\n", 2, 5, "pipelines.p must be a table"},
    {"SyntaxError", "[host]\nlisten = \"127.0.0.1:1\"\nplugin_dirs = [\"a\",\n", 3, 21, "TOML syntax error"},
    {"SyntaxDuplicateKey", "[host]\nlisten = \"a:1\"\nlisten = \"b:2\"\n", 3, 10, "TOML syntax error"},
    {"SyntaxDuplicateTable", "[connections.a]\nplugin = \"p\"\n[connections.a]\n", 3, 1, "cannot redefine"},
};

class ConfigErrorTest : public ::testing::TestWithParam<ErrorCase> {};

TEST_P(ConfigErrorTest, ReportsErrorAtItsPosition) {
  const ErrorCase& c = GetParam();
  LoadResult r = ParseConfig(c.toml, "conf/mlc.toml");
  ASSERT_FALSE(r.ok());
  bool found = false;
  for (const ConfigError& e : r.errors) {
    if (e.message.find(c.message_part) != std::string::npos) {
      found = true;
      EXPECT_EQ(e.where.file, "conf/mlc.toml");
      EXPECT_EQ(e.where.line, c.line) << e.ToString();
      EXPECT_EQ(e.where.column, c.column) << e.ToString();
      EXPECT_EQ(e.ToString(), "conf/mlc.toml:" + std::to_string(c.line) + ":" + std::to_string(c.column) +
                                  ": " + e.message);
    }
  }
  std::string all;
  for (const ConfigError& e : r.errors) all += e.ToString() + "\n";
  EXPECT_TRUE(found) << "no error containing [" << c.message_part << "] in:\n" << all;
  // No cascades: a case reports exactly the problems it has.
  EXPECT_EQ(r.errors.size(), c.count) << all;
}

INSTANTIATE_TEST_SUITE_P(Cases, ConfigErrorTest, ::testing::ValuesIn(kErrorCases),
                         [](const ::testing::TestParamInfo<ErrorCase>& info) { return info.param.name; });

TEST(ConfigTest, SeveralErrorsInOneFileAreAllReportedInOrder) {
  constexpr const char* kToml = R"toml([hots]
x = 1

[connections.a]
plugin = "p"
settings = { password = "hunter2-do-not-print" }
concurrency = 0

[connections.b]
secrets = { token = "bxt_0123456789abcdef" }

[pipelines.p]
source = "a"
target = "a"
objects = ["bill", "bill"]
schedule = "*/90 * * * *"
)toml";
  LoadResult r = ParseConfig(kToml, "m.toml");
  std::vector<std::string> got;
  for (const ConfigError& e : r.errors) got.push_back(e.ToString());
  EXPECT_THAT(got,
              ::testing::ElementsAre(HasSubstr("m.toml:1:2: unknown section [hots]"),
                                     HasSubstr("m.toml:6:25: connections.a.settings.password: secrets must"),
                                     HasSubstr("m.toml:7:15: connections.a.concurrency must be"),
                                     HasSubstr("m.toml:9:1: connections.b.plugin is required"),
                                     HasSubstr("m.toml:10:21: connections.b.secrets.token must be"),
                                     HasSubstr("m.toml:14:10: pipelines.p: source and target are the same"),
                                     HasSubstr("m.toml:15:20: pipelines.p.objects lists \"bill\" more"),
                                     HasSubstr("m.toml:16:12: pipelines.p.schedule:")));
  // The secrets never appear in any message, and the inline one is not kept in the settings.
  for (const std::string& s : got) {
    EXPECT_THAT(s, Not(HasSubstr("hunter2")));
    EXPECT_THAT(s, Not(HasSubstr("bxt_")));
  }
  EXPECT_FALSE(r.config.connections.at("a").settings.contains("password"));
  // What could be parsed is still there.
  EXPECT_EQ(r.config.connections.at("a").plugin, "p");
  EXPECT_EQ(r.config.pipelines.at("p").objects, std::vector<std::string>{"bill"});
}

TEST(ConfigTest, SyntaxErrorStopsWithOneLocatedError) {
  LoadResult r = ParseConfig("[host]\nlisten = 127.0.0.1:8080\n", "s.toml");
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].where.line, 2);
  EXPECT_GT(r.errors[0].where.column, 0);
  EXPECT_THAT(r.errors[0].ToString(), ::testing::StartsWith("s.toml:2:"));
  EXPECT_THAT(r.errors[0].message, HasSubstr("TOML syntax error"));
}

TEST(ConfigTest, NonSecretNamesWithStringsAreFine) {
  LoadResult r = ParseConfig(
      "[connections.a]\nplugin = \"p\"\nsettings = { token_url = \"https://x\", environment = \"prod\", "
      "secret_rotation_days = \"30\", password = 5 }\n",
      "a.toml");
  for (const auto& e : r.errors) ADD_FAILURE() << e.ToString();
  EXPECT_EQ(r.config.connections.at("a").settings["token_url"], "https://x");
  EXPECT_EQ(r.config.connections.at("a").settings["password"], 5);  // not a string: not an inline secret
}

TEST(ConfigTest, LooksLikeSecretName) {
  for (const char* yes : {"token", "secret", "password", "api_key", "client_secret", "refresh_token",
                          "access_token", "partner_user_secret", "partnerUserSecret", "webhook_secret",
                          "bearer_token", "clientSecret", "API_KEY", "api-key", "admin_password"}) {
    EXPECT_TRUE(LooksLikeSecretName(yes)) << yes;
  }
  for (const char* no : {"token_url", "environment", "partner_user_id", "secret_rotation_days", "tokens",
                         "account_id", "_token_", "key", "region"}) {
    EXPECT_FALSE(LooksLikeSecretName(no)) << no;
  }
}

TEST(ConfigTest, ClosestMatch) {
  std::vector<std::string> names = {"plugin", "settings", "secrets"};
  EXPECT_EQ(ClosestMatch("plugn", names), "plugin");
  EXPECT_EQ(ClosestMatch("SETTINGS", names), "settings");
  EXPECT_EQ(ClosestMatch("secret", names), "secrets");
  EXPECT_EQ(ClosestMatch("concurrency", names), std::nullopt);
  EXPECT_EQ(ClosestMatch("x", {}), std::nullopt);
}

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "mlc-config-test-XXXXXX").string();
    path_ = ::mkdtemp(tmpl.data());
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }
  void Write(const std::string& name, const std::string& text) const {
    fs::create_directories((path_ / name).parent_path());
    std::ofstream(path_ / name) << text;
  }

 private:
  fs::path path_;
};

TEST(ConfigTest, LoadResolvesRelativePathsAgainstTheFilesFolder) {
  TempDir dir;
  dir.Write("etc/mlc.toml", R"toml(
[host]
plugin_dirs = ["plugins", "../lib/mlc", "/opt/mlc/plugins"]
[store]
path = "data/mlc.db"
[vault]
key_file = "keys/master.key"
)toml");
  std::string file = (dir.path() / "etc" / "mlc.toml").string();
  LoadResult r = LoadConfig(file);
  for (const auto& e : r.errors) ADD_FAILURE() << e.ToString();
  fs::path etc = dir.path() / "etc";
  EXPECT_EQ(r.config.path, file);
  EXPECT_EQ(r.config.dir, etc.string());
  EXPECT_EQ(r.config.plugin_dirs,
            (std::vector<std::string>{(etc / "plugins").string(), (dir.path() / "lib" / "mlc").string(),
                                      "/opt/mlc/plugins"}));
  EXPECT_EQ(r.config.store_path, (etc / "data" / "mlc.db").string());
  EXPECT_EQ(r.config.vault_key_file, (etc / "keys" / "master.key").string());
}

TEST(ConfigTest, LoadWithRelativeFileNameUsesTheWorkingDirectory) {
  TempDir dir;
  dir.Write("mlc.toml", "[store]\npath = \":memory:\"\n");
  fs::path old = fs::current_path();
  fs::current_path(dir.path());
  LoadResult r = LoadConfig("mlc.toml");
  fs::current_path(old);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.config.path, (dir.path() / "mlc.toml").string());
  EXPECT_EQ(r.config.store_path, ":memory:");  // SQLite's in-memory database is not resolved
}

TEST(ConfigTest, LoadErrorsPointAtTheFileAsGiven) {
  TempDir dir;
  dir.Write("bad.toml", "\n\n[connections.a]\nplugin = 1\n");
  std::string file = (dir.path() / "bad.toml").string();
  LoadResult r = LoadConfig(file);
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].ToString(), file + ":4:10: connections.a.plugin must be a string, not an integer");
}

TEST(ConfigTest, MissingFileIsOneErrorAtLineZero) {
  TempDir dir;
  std::string file = (dir.path() / "nope.toml").string();
  LoadResult r = LoadConfig(file);
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].where.file, file);
  EXPECT_EQ(r.errors[0].where.line, 0);
  EXPECT_EQ(r.errors[0].ToString(), file + ": cannot read configuration file: no such file");
}

TEST(ConfigTest, DirectoryIsNotAConfigFile) {
  TempDir dir;
  LoadResult r = LoadConfig(dir.path().string());
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].where.line, 0);
  EXPECT_THAT(r.errors[0].message, HasSubstr("it is a directory"));
}

TEST(ConfigTest, UnreadableFileIsOneErrorAtLineZero) {
  if (::geteuid() == 0) GTEST_SKIP() << "root reads every file";
  TempDir dir;
  dir.Write("locked.toml", "[host]\n");
  fs::permissions(dir.path() / "locked.toml", fs::perms::none);
  LoadResult r = LoadConfig((dir.path() / "locked.toml").string());
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].where.line, 0);
  EXPECT_THAT(r.errors[0].message, HasSubstr("cannot read configuration file"));
}

}  // namespace
}  // namespace mlc::config
