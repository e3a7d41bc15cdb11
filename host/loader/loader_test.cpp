// Tests for PluginRegistry: every refusal reason, duplicates, newer minors, directory handling.
#include "loader/loader.hpp"

#include <stdlib.h>

#include <algorithm>
#include <functional>
#include <ostream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "loader/loader_test_util.hpp"
#include "loader/manifest_reader.hpp"

namespace mlc::loader {
namespace {

using testing::FixturePath;
using testing::TempDir;
using testing::WriteBytes;

std::vector<std::string> Names(const LoadReport& report) {
  std::vector<std::string> names;
  for (const auto& p : report.loaded) names.push_back(p->name);
  return names;
}

TEST(LoaderTest, LoadsAGoodPlugin) {
  TempDir dir;
  dir.Add("good.so");
  PluginRegistry registry;
  LoadReport report = registry.LoadDirectories({dir.path()});
  ASSERT_TRUE(report.status.ok()) << report.status.ToString();
  ASSERT_TRUE(report.refused.empty()) << report.refused[0].path << ": " << report.refused[0].reason;
  ASSERT_EQ(report.loaded.size(), 1u);

  auto plugin = registry.Find("fixture_good");
  ASSERT_NE(plugin, nullptr);
  EXPECT_EQ(plugin, report.loaded[0]);
  EXPECT_EQ(plugin->path, dir.File("good.so"));
  EXPECT_EQ(plugin->name, "fixture_good");
  EXPECT_EQ(plugin->version, "1.2.3");
  EXPECT_EQ(plugin->vendor, "Fixture Systems");
  EXPECT_EQ(plugin->abi_version, MLC_ABI_VERSION);
  ASSERT_NE(plugin->api, nullptr);
  EXPECT_EQ(plugin->api->size, sizeof(mlc_plugin_api));
  EXPECT_TRUE(plugin->library.is_loaded());
  EXPECT_EQ(plugin->manifest, *ReadManifest(dir.File("good.so")));
  EXPECT_EQ(registry.plugins().size(), 1u);
  EXPECT_EQ(registry.Find("no-such-plugin"), nullptr);
}

// Each broken fixture is refused with its one-line reason, and loading goes on with the next file.
struct RefusalCase {
  const char* file;
  std::string reason;  // exact, or a prefix when `prefix` is set
  bool prefix = false;
};

// This host's ABI as the loader writes it in reasons ("1.2").
const std::string kHostAbi =
    std::to_string(MLC_ABI_VERSION_MAJOR) + "." + std::to_string(MLC_ABI_VERSION_MINOR);

// Named output for failure messages (and no raw-byte dump of the struct's padding).
void PrintTo(const RefusalCase& c, std::ostream* os) { *os << c.file; }

class RefusalTest : public ::testing::TestWithParam<RefusalCase> {};

TEST_P(RefusalTest, RefusesWithReasonAndKeepsGoing) {
  const RefusalCase& c = GetParam();
  TempDir dir;
  dir.Add(c.file);
  dir.Add("good.so", "zz_good.so");  // sorts after every fixture name
  PluginRegistry registry;
  LoadReport report = registry.LoadDirectories({dir.path()});
  ASSERT_TRUE(report.status.ok()) << report.status.ToString();
  ASSERT_EQ(report.refused.size(), 1u);
  EXPECT_EQ(report.refused[0].path, dir.File(c.file));
  if (c.prefix) {
    EXPECT_EQ(report.refused[0].reason.rfind(c.reason, 0), 0u) << report.refused[0].reason;
  } else {
    EXPECT_EQ(report.refused[0].reason, c.reason);
  }
  EXPECT_EQ(report.refused[0].reason.find('\n'), std::string::npos);
  EXPECT_EQ(Names(report), std::vector<std::string>{"fixture_good"});
}

INSTANTIATE_TEST_SUITE_P(
    Fixtures, RefusalTest,
    ::testing::Values(
        RefusalCase{"garbage.so", "not a shared library"},
        RefusalCase{"no_manifest.so", "no mlc_manifest section (not an ml-connector plugin)"},
        RefusalCase{"invalid_json.so", "manifest is not valid JSON at byte ", true},
        RefusalCase{"bad_manifest.so", "manifest fails the schema: ", true},
        RefusalCase{"manifest_abi_mismatch.so", "manifest declares ABI 2.0 but this host serves ABI " +
                                                    kHostAbi + " (major versions differ)"},
        RefusalCase{"unresolved.so", "cannot load library: ", true},
        RefusalCase{"missing_entry.so", "missing entry symbol mlc_plugin_entry"},
        RefusalCase{"entry_null.so",
                    "mlc_plugin_entry returned NULL (plugin cannot serve host ABI " + kHostAbi + ")"},
        RefusalCase{"wrong_abi_major.so",
                    "plugin ABI 2.0 is incompatible with host ABI " + kHostAbi + " (major versions differ)"},
        RefusalCase{"table_too_small.so",
                    "plugin table is 64 bytes, smaller than the ABI 1.0 table (80 bytes)"},
        RefusalCase{"null_check.so", "required function 'check' is NULL in the plugin table"}),
    [](const ::testing::TestParamInfo<RefusalCase>& info) {
      std::string name = info.param.file;
      name = name.substr(0, name.find('.'));
      return name;
    });

TEST(LoaderTest, MinimumTableSizeIsTheV10Table) {
  EXPECT_EQ(kMinPluginTableSize, offsetof(mlc_plugin_api, auth_resolve) + sizeof(void*));
  EXPECT_EQ(kMinPluginTableSize, 80u);  // the table_too_small reason above quotes it
}

TEST(LoaderTest, LoadFailureQuotesTheDynamicLinker) {
  TempDir dir;
  dir.Add("unresolved.so");
  PluginRegistry registry;
  LoadReport report = registry.LoadDirectories({dir.path()});
  ASSERT_EQ(report.refused.size(), 1u);
  EXPECT_NE(report.refused[0].reason.find("mlc_fixture_symbol_nobody_defines"), std::string::npos)
      << report.refused[0].reason;
}

TEST(LoaderTest, EmptyFileIsRefused) {
  TempDir dir;
  WriteBytes(dir.File("empty.so"), "");
  PluginRegistry registry;
  LoadReport report = registry.LoadDirectories({dir.path()});
  ASSERT_EQ(report.refused.size(), 1u);
  EXPECT_EQ(report.refused[0].reason, "empty file, not a shared library");
  EXPECT_TRUE(report.loaded.empty());
}

TEST(LoaderTest, DuplicateNameIsRefusedAndTheFirstKept) {
  TempDir dir;
  // Copied in reverse order: the load order is by file name, not by directory order.
  dir.Add("dup_b.so");
  dir.Add("dup_a.so");
  PluginRegistry registry;
  LoadReport report = registry.LoadDirectories({dir.path()});
  ASSERT_EQ(report.loaded.size(), 1u);
  EXPECT_EQ(report.loaded[0]->path, dir.File("dup_a.so"));
  ASSERT_EQ(report.refused.size(), 1u);
  EXPECT_EQ(report.refused[0].path, dir.File("dup_b.so"));
  EXPECT_EQ(report.refused[0].reason,
            "duplicate plugin name 'fixture_dup' (already loaded from " + dir.File("dup_a.so") + ")");
}

TEST(LoaderTest, DuplicateAcrossDirectoriesAndCalls) {
  TempDir first, second, third;
  first.Add("good.so");
  second.Add("good.so", "again.so");
  third.Add("good.so", "third.so");
  PluginRegistry registry;
  LoadReport report = registry.LoadDirectories({first.path(), second.path()});
  ASSERT_EQ(report.loaded.size(), 1u);
  ASSERT_EQ(report.refused.size(), 1u);
  EXPECT_EQ(report.refused[0].reason,
            "duplicate plugin name 'fixture_good' (already loaded from " + first.File("good.so") + ")");
  LoadReport later = registry.LoadDirectories({third.path()});
  ASSERT_EQ(later.refused.size(), 1u);
  EXPECT_EQ(later.refused[0].path, third.File("third.so"));
  EXPECT_EQ(registry.plugins().size(), 1u);
}

TEST(LoaderTest, NewerMinorLoads) {
  TempDir dir;
  dir.Add("newer_minor.so");
  PluginRegistry registry;
  LoadReport report = registry.LoadDirectories({dir.path()});
  ASSERT_TRUE(report.refused.empty()) << report.refused[0].reason;
  auto plugin = registry.Find("fixture_newer_minor");
  ASSERT_NE(plugin, nullptr);
  EXPECT_EQ(MLC_ABI_MAJOR(plugin->abi_version), MLC_ABI_VERSION_MAJOR);
  EXPECT_EQ(MLC_ABI_MINOR(plugin->abi_version), MLC_ABI_VERSION_MINOR + 1);
  EXPECT_EQ(plugin->api->size, sizeof(mlc_plugin_api) + sizeof(void*));
  auto abi = ManifestAbi(plugin->manifest);
  ASSERT_TRUE(abi.ok());
  EXPECT_EQ(abi->second, MLC_ABI_VERSION_MINOR + 1);
  // Members of the later minor are dropped from what the host uses and named, not a refusal.
  EXPECT_EQ(plugin->ignored_members,
            (std::vector<std::string>{"/streams/0/prefetch", "/telemetry", "/x_later"}));
  EXPECT_FALSE(plugin->manifest["streams"][0].contains("prefetch"));
  EXPECT_FALSE(plugin->manifest.contains("x_later"));
  EXPECT_EQ(plugin->manifest["streams"][0]["name"], "expenses");
}

// The same unknown member in a manifest of this host's own minor is a mistake, not a later addition.
TEST(LoaderTest, UnknownMemberOfThisMinorIsRefused) {
  TempDir dir;
  dir.Add("unknown_member.so");
  PluginRegistry registry;
  LoadReport report = registry.LoadDirectories({dir.path()});
  ASSERT_EQ(report.refused.size(), 1u);
  const std::string& reason = report.refused[0].reason;
  EXPECT_NE(reason.find("/streams/0: unknown property 'overlapp'"), std::string::npos) << reason;
  EXPECT_NE(reason.find("a member from a later minor needs a later \"abi\""), std::string::npos) << reason;
  EXPECT_TRUE(report.loaded.empty());
}

// Other schema errors are refused even in a newer minor: only unknown members are forgiven.
TEST(LoaderTest, NewerMinorWithAnotherSchemaErrorIsRefused) {
  nlohmann::json manifest = *ReadManifest(FixturePath("newer_minor.so"));
  manifest["streams"][0]["cursor"] = "sideways";
  auto vetted = VetManifest(manifest, std::string(MLC_SDK_SCHEMA_DIR_FOR_TESTS) + "/manifest.schema.json");
  ASSERT_FALSE(vetted.ok());
  EXPECT_NE(vetted.status().message().find("/streams/0/cursor"), std::string::npos)
      << vetted.status().ToString();
  manifest["streams"][0]["cursor"] = "opaque";
  vetted = VetManifest(manifest, std::string(MLC_SDK_SCHEMA_DIR_FOR_TESTS) + "/manifest.schema.json");
  ASSERT_TRUE(vetted.ok()) << vetted.status().ToString();
  EXPECT_EQ(vetted->ignored_members.size(), 3u);
  // The strict check, as the harness applies it, still refuses the later members.
  EXPECT_FALSE(
      ValidateManifest(manifest, std::string(MLC_SDK_SCHEMA_DIR_FOR_TESTS) + "/manifest.schema.json").ok());
}

// A plugin compiled as C against the 1.1 header as released loads into this host.
TEST(LoaderTest, PluginBuiltAgainstTheFrozen11HeaderLoads) {
  TempDir dir;
  dir.Add("frozen_1_1.so");
  PluginRegistry registry;
  LoadReport report = registry.LoadDirectories({dir.path()});
  ASSERT_TRUE(report.refused.empty()) << report.refused[0].reason;
  auto plugin = registry.Find("fixture_frozen_1_1");
  ASSERT_NE(plugin, nullptr);
  EXPECT_EQ(plugin->abi_version, 0x10001u);
  EXPECT_EQ(plugin->api->size, sizeof(mlc_plugin_api));  // the plugin table has not grown since 1.0
  EXPECT_TRUE(plugin->ignored_members.empty());
}

// A plugin built for an older minor (1.0: before secret_put) loads into this host unchanged.
TEST(LoaderTest, OlderMinorLoads) {
  static_assert(MLC_ABI_VERSION_MINOR >= 1, "the abi_1_0 fixture is an older minor only from 1.1 on");
  TempDir dir;
  dir.Add("abi_1_0.so");
  PluginRegistry registry;
  LoadReport report = registry.LoadDirectories({dir.path()});
  ASSERT_TRUE(report.refused.empty()) << report.refused[0].reason;
  auto plugin = registry.Find("fixture_abi_1_0");
  ASSERT_NE(plugin, nullptr);
  EXPECT_EQ(plugin->abi_version, 0x10000u);
  auto abi = ManifestAbi(plugin->manifest);
  ASSERT_TRUE(abi.ok());
  EXPECT_EQ(*abi, (std::pair<uint32_t, uint32_t>{1, 0}));
}

TEST(LoaderTest, WholeFixtureDirectory) {
  PluginRegistry registry;
  LoadReport report = registry.LoadDirectories({MLC_LOADER_FIXTURE_DIR});
  ASSERT_TRUE(report.status.ok()) << report.status.ToString();
  std::vector<std::string> expected = {"fixture_abi_1_0"};
#if MLC_LOADER_HAVE_CLANG_FIXTURE
  expected.push_back("fixture_clang");
#endif
  for (const char* n : {"fixture_dup", "fixture_frozen_1_1", "fixture_good", "fixture_newer_minor"}) {
    expected.push_back(n);
  }
  EXPECT_EQ(Names(report), expected);  // in file-name order
  // Everything else in the folder is refused, each with a reason.
  EXPECT_EQ(report.refused.size(), 13u);
  for (const auto& r : report.refused) EXPECT_FALSE(r.reason.empty()) << r.path;
}

TEST(LoaderTest, DirectoryHandling) {
  TempDir dir;
  dir.Add("good.so");
  WriteBytes(dir.File("README.txt"), "not a plugin, not a .so");
  std::filesystem::create_directory(dir.File("nested"));
  std::filesystem::copy_file(FixturePath("dup_a.so"), dir.File("nested/dup_a.so"));
  PluginRegistry registry;
  LoadReport report = registry.LoadDirectories({dir.path(), dir.File("missing")});
  EXPECT_EQ(Names(report), std::vector<std::string>{"fixture_good"});  // not recursive, .so only
  ASSERT_EQ(report.refused.size(), 1u);
  EXPECT_EQ(report.refused[0].path, dir.File("missing"));
  EXPECT_EQ(report.refused[0].reason, "plugin directory does not exist");
}

TEST(LoaderTest, DirectoryNamedSoInsideAPluginDir) {
  TempDir dir;
  std::filesystem::create_directory(dir.File("odd.so"));
  PluginRegistry registry;
  LoadReport report = registry.LoadDirectories({dir.path()});
  ASSERT_EQ(report.refused.size(), 1u);
  EXPECT_EQ(report.refused[0].reason, "is a directory, not a shared library");
}

TEST(LoaderTest, MissingSchemaLoadsNothing) {
  TempDir dir;
  dir.Add("good.so");
  PluginRegistry registry;
  LoadReport report = registry.LoadDirectories({dir.path()}, dir.File("no-schema.json"));
  EXPECT_FALSE(report.status.ok());
  EXPECT_NE(report.status.message().find("no-schema.json"), std::string::npos) << report.status.message();
  EXPECT_TRUE(report.loaded.empty());
  EXPECT_EQ(registry.Find("fixture_good"), nullptr);
}

TEST(LoaderTest, ExplicitSchemaIsUsed) {
  TempDir dir;
  dir.Add("good.so");
  // A schema that accepts only a plugin named something else.
  WriteBytes(dir.File("strict.json"), R"({"type": "object", "properties": {"name": {"const": "other"}}})");
  PluginRegistry registry;
  LoadReport report = registry.LoadDirectories({dir.path()}, dir.File("strict.json"));
  ASSERT_TRUE(report.status.ok()) << report.status.ToString();
  ASSERT_EQ(report.refused.size(), 1u);
  EXPECT_EQ(report.refused[0].reason.rfind("manifest fails the schema: ", 0), 0u) << report.refused[0].reason;
}

TEST(LoaderTest, SchemaDirEnvironmentOverride) {
  const char* before = ::getenv("MLC_SCHEMA_DIR");
  std::string saved = before != nullptr ? before : "";
  ::setenv("MLC_SCHEMA_DIR", "/opt/mlc/schemas", 1);
  EXPECT_EQ(DefaultManifestSchemaPath(), "/opt/mlc/schemas/manifest.schema.json");
  ::unsetenv("MLC_SCHEMA_DIR");
  EXPECT_EQ(DefaultManifestSchemaPath(), std::string(MLC_SDK_SCHEMA_DIR_FOR_TESTS) + "/manifest.schema.json");
  if (before != nullptr) ::setenv("MLC_SCHEMA_DIR", saved.c_str(), 1);
}

TEST(LoaderTest, InspectFileRunsNoCodeAndGivesLoaderReasons) {
  auto good = PluginRegistry::InspectFile(FixturePath("missing_entry.so"));
  ASSERT_TRUE(good.ok()) << good.status().ToString();  // only the manifest is looked at
  EXPECT_EQ((*good)["name"], "fixture_missing_entry");
  auto garbage = PluginRegistry::InspectFile(FixturePath("garbage.so"));
  ASSERT_FALSE(garbage.ok());
  EXPECT_EQ(garbage.status().message(), "not a shared library");
}

TEST(LoaderTest, ManifestAbiForms) {
  using nlohmann::json;
  auto abi = [](json v) { return ManifestAbi(json{{"abi", v}}); };
  ASSERT_TRUE(abi("1.0").ok());
  EXPECT_EQ(*abi("1.0"), (std::pair<uint32_t, uint32_t>{1, 0}));
  EXPECT_EQ(*abi("1.12"), (std::pair<uint32_t, uint32_t>{1, 12}));
  EXPECT_EQ(*abi(2), (std::pair<uint32_t, uint32_t>{2, 0}));
  for (json bad : {json("1"), json("1.0.0"), json("a.b"), json("1.x"), json(" 1.0"), json("-1.0"), json(1.5),
                   json(nullptr)}) {
    EXPECT_FALSE(abi(bad).ok()) << bad.dump();
  }
  EXPECT_FALSE(ManifestAbi(json::object()).ok());
}

nlohmann::json ExampleManifest() {
  return nlohmann::json::parse(
      testing::ReadBytes(std::string(MLC_SDK_SCHEMA_DIR_FOR_TESTS) + "/examples/manifest.example.json"));
}

TEST(LoaderTest, SdkExampleManifestIsValid) {
  Status s = ValidateManifest(ExampleManifest(),
                              std::string(MLC_SDK_SCHEMA_DIR_FOR_TESTS) + "/manifest.schema.json");
  EXPECT_TRUE(s.ok()) << s.ToString();
}

TEST(LoaderTest, ManifestConsistencyRules) {
  const nlohmann::json example = ExampleManifest();
  ASSERT_TRUE(CheckManifestConsistency(example).ok());
  struct Case {
    const char* what;
    std::function<void(nlohmann::json&)> mutate;
    const char* reason;
  };
  const Case cases[] = {
      {"undeclared secret field", [](nlohmann::json& m) { m["auth"]["secret_fields"].push_back("api_key"); },
       "manifest auth.secret_fields names undeclared secret 'api_key'"},
      {"undeclared inline field",
       [](nlohmann::json& m) {
         m["auth"]["inline_fields"] = {{"creds.user", "user_id"}};
       },
       "manifest auth.inline_fields 'creds.user' names undeclared secret 'user_id'"},
      {"duplicate stream", [](nlohmann::json& m) { m["streams"].push_back(m["streams"][0]); },
       "manifest declares stream 'vendors' twice"},
      {"undeclared reference stream", [](nlohmann::json& m) { m["reference_data"].push_back("tax_rates"); },
       "manifest reference_data names undeclared stream 'tax_rates'"},
  };
  for (const Case& c : cases) {
    nlohmann::json m = example;
    c.mutate(m);
    Status s = CheckManifestConsistency(m);
    EXPECT_EQ(s.message(), c.reason) << c.what;
    EXPECT_EQ(s.code(), Code::kInvalid) << c.what;
  }
  nlohmann::json broken = example;
  broken["settings_schema"]["properties"]["book_id"]["$ref"] = "#/$defs/missing";
  Status s = CheckManifestConsistency(broken);
  EXPECT_EQ(s.message().rfind("manifest settings_schema does not compile: ", 0), 0u) << s.ToString();
}

TEST(LoaderTest, ManifestVendorForms) {
  EXPECT_EQ(ManifestVendor({{"vendor", "Brex"}}), "Brex");
  EXPECT_EQ(ManifestVendor({{"vendor", {{"name", "Zoho"}, {"url", "https://zoho.com"}}}}), "Zoho");
  EXPECT_EQ(ManifestVendor(nlohmann::json::object()), "");
  EXPECT_EQ(ManifestVendor({{"vendor", 7}}), "");
}

}  // namespace
}  // namespace mlc::loader
