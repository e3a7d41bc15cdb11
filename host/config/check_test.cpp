// Tests for CheckAgainstPlugins with hand-written manifests.
#include "config/check.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace mlc::config {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// A source (card spend) and a target (ledger), shaped like real manifests.
std::map<std::string, nlohmann::json> Manifests() {
  return {
      {"cards", nlohmann::json::parse(R"json({
        "name": "cards", "version": "1.0.0", "abi": "1.0",
        "streams": [{"name": "card_expenses", "object": "expense", "cursor": "updated_at"},
                    {"name": "vendors", "object": "vendor", "cursor": "none"}],
        "secrets": [{"name": "token", "required": true}, {"name": "webhook_secret", "required": false}],
        "settings_schema": {
          "type": "object",
          "properties": {
            "environment": {"enum": ["production", "staging"]},
            "page_size": {"type": "integer", "minimum": 1, "maximum": 1000},
            "api_password": {"type": "string", "x-secret": true, "pattern": "^zz"}
          },
          "required": ["environment"],
          "additionalProperties": false
        }
      })json")},
      {"ledger", nlohmann::json::parse(R"json({
        "name": "ledger", "version": "2.1.0", "abi": "1.0",
        "writes": [{"object": "expense", "idempotency": "marker"}, {"object": "bill"}],
        "secrets": [{"name": "client_id", "required": true}, {"name": "client_secret", "required": true}],
        "settings_schema": {
          "type": "object",
          "properties": {"region": {"type": "string"},
                         "oauth": {"type": "object", "properties": {"pin": {"type": "string", "x-secret": true, "pattern": "^[0-9]+$"}}}}
        }
      })json")},
      // Both roles, declared explicitly.
      {"both", nlohmann::json::parse(R"json({
        "name": "both", "roles": ["source", "target"],
        "streams": [{"name": "bills", "object": "bill", "cursor": "opaque"},
                    {"name": "payments", "object": "payment", "cursor": "none"}],
        "writes": [{"object": "vendor", "idempotency": "none"}]
      })json")},
  };
}

constexpr const char* kGood = R"toml(
[connections.card]
plugin = "cards"
settings = { environment = "production", page_size = 100 }
secrets = { token = "vault" }

[connections.books]
plugin = "ledger"
settings = { region = "us" }
secrets = { client_id = "env:LEDGER_CLIENT_ID", client_secret = "vault" }

[connections.mixed]
plugin = "both"

[pipelines.card_to_books]
source = "card"
target = "books"
objects = ["expense"]

[pipelines.mixed_to_card]
source = "mixed"
target = "books"
objects = ["bill"]
)toml";

LoadResult Parse(const std::string& toml) {
  LoadResult r = ParseConfig(toml, "c.toml");
  for (const auto& e : r.errors) ADD_FAILURE() << "unexpected load error: " << e.ToString();
  return r;
}

std::vector<std::string> Check(const std::string& toml) {
  LoadResult r = Parse(toml);
  std::vector<std::string> out;
  for (const ConfigError& e : CheckAgainstPlugins(r.config, Manifests())) out.push_back(e.ToString());
  return out;
}

TEST(CheckTest, GoodConfigPasses) { EXPECT_THAT(Check(kGood), ::testing::IsEmpty()); }

TEST(CheckTest, ManifestInterpretation) {
  auto m = Manifests();
  EXPECT_EQ(ManifestReadableObjects(m["cards"]), (std::vector<std::string>{"expense", "vendor"}));
  EXPECT_EQ(ManifestWritableObjects(m["ledger"]), (std::vector<std::string>{"expense", "bill"}));
  EXPECT_EQ(ManifestReadableObjects(m["both"]), (std::vector<std::string>{"bill", "payment"}));
  EXPECT_EQ(ManifestWritableObjects(m["both"]), (std::vector<std::string>{"vendor"}));
  EXPECT_TRUE(ManifestHasRole(m["cards"], "source"));
  EXPECT_FALSE(ManifestHasRole(m["cards"], "target"));
  EXPECT_FALSE(ManifestHasRole(m["ledger"], "source"));
  EXPECT_TRUE(ManifestHasRole(m["ledger"], "target"));
  EXPECT_TRUE(ManifestHasRole(m["both"], "target"));
  // Declared roles win over what the streams and writes suggest.
  nlohmann::json target_only = {{"roles", {"target"}},
                                {"streams", {{{"name", "x"}, {"object", "bill"}, {"cursor", "none"}}}}};
  EXPECT_FALSE(ManifestHasRole(target_only, "source"));
  EXPECT_TRUE(ManifestHasRole(target_only, "target"));
}

struct CheckCase {
  const char* name;
  const char* toml;
  const char* expected;  // the whole error, "FILE:LINE:COL: message" (substring match)
};

const CheckCase kCases[] = {
    {"UnknownPluginWithHint", "[connections.x]\nplugin = \"card\"\n",
     "c.toml:2:10: connections.x.plugin: unknown plugin \"card\"; did you mean \"cards\"? (available: both, "
     "cards, "
     "ledger)"},
    {"UnknownPluginNoHint", "[connections.x]\nplugin = \"zohobooks\"\n",
     "c.toml:2:10: connections.x.plugin: unknown plugin \"zohobooks\" (available: both, cards, ledger)"},
    {"SettingsEnum",
     "[connections.x]\nplugin = \"cards\"\nsettings = { environment = \"prod\" }\nsecrets = { token = "
     "\"vault\" }\n",
     "c.toml:3:28: connections.x.settings.environment: "},
    {"SettingsRange",
     "[connections.x]\nplugin = \"cards\"\nsecrets = { token = \"vault\" }\n[connections.x.settings]\n"
     "environment = \"staging\"\npage_size = 0\n",
     "c.toml:6:13: connections.x.settings.page_size: "},
    {"SettingsRequired",
     "[connections.x]\nplugin = \"cards\"\nsettings = {}\nsecrets = { token = \"vault\" }\n",
     "c.toml:3:12: connections.x.settings: "},
    {"SettingsUnknownProperty",
     "[connections.x]\nplugin = \"cards\"\nsettings = { environment = \"staging\", colour = \"red\" }\n"
     "secrets = { token = \"vault\" }\n",
     "c.toml:3:12: connections.x.settings: "},
    {"XSecretInline",
     "[connections.x]\nplugin = \"cards\"\nsettings = { environment = \"staging\", api_password = 12345 }\n"
     "secrets = { token = \"vault\" }\n",
     "c.toml:3:54: connections.x.settings.api_password: plugin \"cards\" marks this field secret; secrets "
     "must not be "
     "written inline; use secrets = { api_password = \"vault\" } and `mlc vault put`"},
    {"XSecretNested",
     "[connections.x]\nplugin = \"ledger\"\nsecrets = { client_id = \"vault\", client_secret = "
     "\"vault\" }\n[connections.x.settings.oauth]\npin = \"1234\"\n",
     "c.toml:5:7: connections.x.settings.oauth.pin: plugin \"ledger\" marks this field secret"},
    {"RequiredSecretMissing",
     "[connections.x]\nplugin = \"cards\"\nsettings = { environment = \"staging\" }\n",
     "c.toml:1:1: connections.x: plugin \"cards\" requires the secret \"token\"; add secrets = { token = "
     "\"vault\" }"},
    {"RequiredSecretMissingSecond",
     "[connections.x]\nplugin = \"ledger\"\nsecrets = { client_id = \"vault\" }\n",
     "c.toml:1:1: connections.x: plugin \"ledger\" requires the secret \"client_secret\""},
    {"UndeclaredSecret",
     "[connections.x]\nplugin = \"cards\"\nsettings = { environment = \"staging\" }\nsecrets = { token = "
     "\"vault\", "
     "webhook_secrt = \"vault\" }\n",
     "c.toml:4:46: connections.x.secrets.webhook_secrt: plugin \"cards\" has no secret named "
     "\"webhook_secrt\"; did "
     "you mean \"webhook_secret\"? (it declares: token, webhook_secret)"},
    {"SourceLacksRole",
     "[connections.a]\nplugin = \"ledger\"\nsecrets = { client_id = \"vault\", client_secret = \"vault\" }\n"
     "[connections.b]\nplugin = \"both\"\n[pipelines.p]\nsource = \"a\"\ntarget = \"b\"\nobjects = "
     "[\"vendor\"]\n",
     "c.toml:7:10: pipelines.p.source: connection \"a\" uses plugin \"ledger\", which cannot be a source"},
    {"TargetLacksRole",
     "[connections.a]\nplugin = \"both\"\n[connections.b]\nplugin = \"cards\"\nsettings = { environment = "
     "\"staging\" }\nsecrets = { token = \"vault\" }\n[pipelines.p]\nsource = \"a\"\ntarget = \"b\"\nobjects "
     "= "
     "[\"bill\"]\n",
     "c.toml:9:10: pipelines.p.target: connection \"b\" uses plugin \"cards\", which cannot be a target"},
    {"ObjectNotReadable",
     "[connections.a]\nplugin = \"both\"\n[connections.b]\nplugin = \"ledger\"\nsecrets = { client_id = "
     "\"vault\", "
     "client_secret = \"vault\" }\n[pipelines.p]\nsource = \"a\"\ntarget = \"b\"\nobjects = [\"bill\", "
     "\"expense\"]\n",
     "c.toml:9:20: pipelines.p.objects: \"expense\" cannot be read by connection \"a\" (plugin \"both\") (it "
     "supports: bill, payment)"},
    {"ObjectNotWritable",
     "[connections.a]\nplugin = \"both\"\n[connections.b]\nplugin = \"ledger\"\nsecrets = { client_id = "
     "\"vault\", "
     "client_secret = \"vault\" }\n[pipelines.p]\nsource = \"a\"\ntarget = \"b\"\nobjects = [\"payment\"]\n",
     "c.toml:9:12: pipelines.p.objects: \"payment\" cannot be written by connection \"b\" (plugin "
     "\"ledger\") (it "
     "supports: expense, bill)"},
    {"ObjectHint",
     "[connections.a]\nplugin = \"both\"\n[connections.b]\nplugin = \"ledger\"\nsecrets = { client_id = "
     "\"vault\", "
     "client_secret = \"vault\" }\n[pipelines.p]\nsource = \"a\"\ntarget = \"b\"\nobjects = [\"bills\"]\n",
     "did you mean \"bill\"?"},
};

class CheckErrorTest : public ::testing::TestWithParam<CheckCase> {};

TEST_P(CheckErrorTest, ReportsTheProblemAtItsLocation) {
  std::vector<std::string> got = Check(GetParam().toml);
  EXPECT_THAT(got, ::testing::Contains(HasSubstr(GetParam().expected)));
}

INSTANTIATE_TEST_SUITE_P(Cases, CheckErrorTest, ::testing::ValuesIn(kCases),
                         [](const ::testing::TestParamInfo<CheckCase>& info) { return info.param.name; });

TEST(CheckTest, SecretSettingValueNeverAppearsInMessages) {
  // pin violates its pattern too, but only the x-secret error is reported: no message may echo the value.
  std::vector<std::string> got2 = Check(
      "[connections.x]\nplugin = \"ledger\"\nsecrets = { client_id = \"vault\", client_secret = \"vault\" }\n"
      "settings = { oauth = { pin = \"zz-but-secret-9876\" } }\n");
  ASSERT_EQ(got2.size(), 1u);
  EXPECT_THAT(got2[0], HasSubstr("marks this field secret"));
  EXPECT_THAT(got2[0], Not(HasSubstr("9876")));
}

TEST(CheckTest, ErrorsAreSortedAndNothingIsMissed) {
  std::vector<std::string> got = Check(R"toml(
[connections.a]
plugin = "cards"
settings = { environment = "dev" }

[connections.b]
plugin = "nope"

[pipelines.p]
source = "a"
target = "b"
objects = ["expense"]
)toml");
  EXPECT_THAT(
      got, ::testing::ElementsAre(HasSubstr("c.toml:2:1: connections.a: plugin \"cards\" requires the "
                                            "secret \"token\""),
                                  HasSubstr("c.toml:4:28: connections.a.settings.environment"),
                                  HasSubstr("c.toml:7:10: connections.b.plugin: unknown plugin \"nope\"")));
}

TEST(CheckTest, BrokenSettingsSchemaIsReported) {
  std::map<std::string, nlohmann::json> m = {
      {"odd", {{"name", "odd"}, {"settings_schema", {{"$ref", "#/$defs/missing"}}}}}};
  LoadResult r = Parse("[connections.x]\nplugin = \"odd\"\n");
  std::vector<ConfigError> errors = CheckAgainstPlugins(r.config, m);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_THAT(errors[0].ToString(),
              HasSubstr("c.toml:2:10: connections.x: plugin \"odd\" has a settings_schema "
                        "that cannot be used"));
}

TEST(CheckTest, NoPluginsAtAll) {
  LoadResult r = Parse("[connections.x]\nplugin = \"brex\"\n");
  std::vector<ConfigError> errors = CheckAgainstPlugins(r.config, {});
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_THAT(errors[0].message, HasSubstr("(available: none; check [host] plugin_dirs)"));
}

TEST(CheckTest, SkipsWhatLoadConfigAlreadyReported) {
  LoadResult r = ParseConfig(
      "[connections.x]\nsettings = {}\n[pipelines.p]\nsource = \"x\"\ntarget = \"y\"\n"
      "objects = [\"bill\"]\n",
      "c.toml");
  EXPECT_FALSE(r.ok());
  EXPECT_THAT(CheckAgainstPlugins(r.config, Manifests()), ::testing::IsEmpty());
}

}  // namespace
}  // namespace mlc::config
