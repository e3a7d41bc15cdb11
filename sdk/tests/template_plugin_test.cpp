// Drives the built template plugin (template.so, loaded with dlopen as the host would) through the fake
// host: manifest, entry point, paging, idempotent writes, acks, webhooks and injected faults.
#include <dlfcn.h>
#include <elf.h>

#include <cctype>
#include <cstring>
#include <fstream>
#include <iterator>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "mlc/crypto.hpp"
#include "mlc/plugin.h"
#include "mlc/testing/fake_host.hpp"

#ifndef MLC_TEMPLATE_PLUGIN_PATH
#error "MLC_TEMPLATE_PLUGIN_PATH must name the built template.so (set by sdk/template/CMakeLists.txt)"
#endif

namespace mlc::testing {
namespace {

using nlohmann::json;

// The plugin library, loaded once for the whole suite (RTLD_LOCAL: its symbols stay its own).
const mlc_plugin_api* TemplateApi(uint32_t host_abi = MLC_ABI_VERSION) {
  static void* handle = dlopen(MLC_TEMPLATE_PLUGIN_PATH, RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) return nullptr;
  auto entry = reinterpret_cast<mlc_plugin_entry_fn>(dlsym(handle, MLC_PLUGIN_ENTRY_SYMBOL));
  return entry == nullptr ? nullptr : entry(host_abi);
}

// The bytes of ELF section `name` in `path` (64-bit little-endian files only), or "" when absent.
std::string ReadSection(const std::string& path, const std::string& name) {
  std::ifstream in(path, std::ios::binary);
  const std::string file((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (file.size() < sizeof(Elf64_Ehdr)) return "";
  Elf64_Ehdr eh;
  std::memcpy(&eh, file.data(), sizeof eh);
  if (std::memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0 || eh.e_ident[EI_CLASS] != ELFCLASS64) return "";
  auto section = [&](size_t i) {
    Elf64_Shdr sh{};
    const size_t at = eh.e_shoff + i * eh.e_shentsize;
    if (at + sizeof sh <= file.size()) std::memcpy(&sh, file.data() + at, sizeof sh);
    return sh;
  };
  const Elf64_Shdr names = section(eh.e_shstrndx);
  for (size_t i = 0; i < eh.e_shnum; ++i) {
    const Elf64_Shdr sh = section(i);
    if (names.sh_offset + sh.sh_name >= file.size()) continue;
    if (name == file.c_str() + names.sh_offset + sh.sh_name && sh.sh_offset + sh.sh_size <= file.size()) {
      return file.substr(sh.sh_offset, sh.sh_size);
    }
  }
  return "";
}

std::string Sign(std::string_view secret, std::string_view body) {
  return crypto::HexEncode(crypto::HmacSha256(secret, body));
}

std::string Cursor(std::string_view offset_text) { return crypto::Base64Encode(offset_text); }

// A canonical expense as a source plugin would produce it.
json Expense(int64_t minor = 1234) {
  return {{"type", "expense"},
          {"source",
           {{"system", "brex"},
            {"connection", "brex-main"},
            {"id", "e1"},
            {"version", "1"},
            {"updated_at", "2024-02-01T10:00:00Z"}}},
          {"links", json::object()},
          {"kind", "card"},
          {"amount", {{"amount_minor", minor}, {"currency", "USD"}}},
          {"merchant", "Uber"},
          {"spent_at", "2024-02-01"},
          {"status", "posted"},
          {"memo", "ride"}};
}

json WriteRequest(const std::string& key, const json& object = Expense()) {
  return {{"object_type", "expense"}, {"object", object}, {"refs", json::object()}, {"idempotency_key", key}};
}

// Reads every page of `stream`, asserting each is well formed; returns all records.
std::vector<json> ReadAll(const Instance& inst, const std::string& stream, int limit) {
  std::vector<json> all;
  json cursor = nullptr;
  for (int pages = 0; pages < 10000; ++pages) {
    CallResult r = inst.Read({{"stream", stream}, {"cursor", cursor}, {"limit", limit}});
    EXPECT_EQ(r.status, MLC_OK) << r.err;
    if (r.status != MLC_OK) break;
    const json page = r.Json();
    EXPECT_LE(page["records"].size(), static_cast<size_t>(limit));
    for (const json& rec : page["records"]) all.push_back(rec);
    cursor = page["next_cursor"];
    if (!page["has_more"].get<bool>()) break;
  }
  return all;
}

class TemplatePluginTest : public ::testing::Test {
 protected:
  void SetUp() override {
    api_ = TemplateApi();
    ASSERT_NE(api_, nullptr) << "cannot load " << MLC_TEMPLATE_PLUGIN_PATH << ": " << dlerror();
  }
  const mlc_plugin_api* api_ = nullptr;
  FakeHost host_;
};

TEST_F(TemplatePluginTest, EntryAndTableFollowTheVersioningRules) {
  EXPECT_EQ(api_->abi_version, MLC_ABI_VERSION);
  EXPECT_EQ(api_->size, sizeof(mlc_plugin_api));
  EXPECT_EQ(TemplateApi((MLC_ABI_VERSION_MAJOR << 16) | 9u), api_);  // a newer-minor host gets the same table
  EXPECT_EQ(TemplateApi((MLC_ABI_VERSION_MAJOR + 1) << 16), nullptr);
  EXPECT_EQ(api_->auth_resolve, nullptr);  // a static bearer token: nothing to resolve
}

TEST_F(TemplatePluginTest, ManifestIsEmbeddedAndDescribesThePlugin) {
  std::string raw = ReadSection(MLC_TEMPLATE_PLUGIN_PATH, MLC_MANIFEST_SECTION);
  ASSERT_FALSE(raw.empty());
  while (!raw.empty() && raw.back() == '\0') raw.pop_back();
  const json m = json::parse(raw);
  EXPECT_EQ(m["name"], "template");
  EXPECT_EQ(m["abi"], std::to_string(MLC_ABI_VERSION_MAJOR) + "." + std::to_string(MLC_ABI_VERSION_MINOR));
  EXPECT_EQ(m["auth"]["kind"], "static_bearer");  // http mode's; the generated mode sends no request
  EXPECT_EQ(m["roles"], json::array({"source", "target"}));
  EXPECT_EQ(m["streams"][0]["name"], "expenses");
  EXPECT_EQ(m["streams"][0]["cursor"], "opaque");
  EXPECT_EQ(m["writes"][0]["object"], "expense");
  EXPECT_EQ(m["writes"][0]["idempotency"], "native");
  EXPECT_EQ(m["webhook"]["scheme"], "custom");
  EXPECT_EQ(m["webhook"]["signature_header"], "x-template-signature");
  const json& props = m["settings_schema"]["properties"];
  for (const char* key : {"seed", "records", "fail_every", "store"}) EXPECT_TRUE(props.contains(key)) << key;
}

TEST_F(TemplatePluginTest, OpenValidatesSettings) {
  struct Case {
    const char* settings;
    const char* message;
  };
  for (const Case& c : std::vector<Case>{
           {R"({"records": 5})", "setting 'seed' is required"},
           {R"({"seed": 1})", "setting 'records' is required"},
           {R"({"seed": 1, "records": -1})", "setting 'records' must be between 0 and 1000000"},
           {R"({"seed": 1, "records": 2000000})", "setting 'records' must be between 0 and 1000000"},
           {R"({"seed": 1.5, "records": 1})", "setting 'seed' must be an integer"},
           {R"({"seed": 1, "records": 1, "store": "a/b"})", "setting 'store' may hold only"},
           {R"({"seed": 1, "records": 1, "store": ""})", "setting 'store' must be 1 to 64"},
           {R"({"seed": 1, "records": 1, "colour": "red"})", "unknown setting 'colour'"},
           {R"({"seed": 1, "records": 1, "fail_every": -2})", "setting 'fail_every' must be between"},
       }) {
    Instance inst(api_, &host_, c.settings);
    EXPECT_EQ(inst.open_status(), MLC_INVALID) << c.settings;
    EXPECT_NE(inst.open_error().find(c.message), std::string::npos)
        << c.settings << " -> " << inst.open_error();
    EXPECT_EQ(inst.get(), nullptr);
  }
  Instance bad_json(api_, &host_, "{");
  EXPECT_EQ(bad_json.open_status(), MLC_INVALID);
}

TEST_F(TemplatePluginTest, CheckSaysOk) {
  Instance inst(api_, &host_, R"({"seed": 3, "records": 10})");
  ASSERT_EQ(inst.open_status(), MLC_OK) << inst.open_error();
  CallResult r = inst.Check();
  ASSERT_EQ(r.status, MLC_OK) << r.err;
  EXPECT_EQ(r.Json()["ok"], true);
}

TEST_F(TemplatePluginTest, ReadPagesThroughEveryExpenseExactlyOnce) {
  Instance inst(api_, &host_, R"({"seed": 7, "records": 250, "connection": "tpl-a"})");
  ASSERT_EQ(inst.open_status(), MLC_OK) << inst.open_error();

  CallResult first = inst.Read({{"stream", "expenses"}, {"limit", 100}});
  ASSERT_EQ(first.status, MLC_OK) << first.err;
  const json page = first.Json();
  ASSERT_EQ(page["records"].size(), 100u);
  EXPECT_TRUE(page["has_more"].get<bool>());
  EXPECT_EQ(crypto::Base64Decode(page["next_cursor"].get<std::string>()).value(), "100");

  const json& e = page["records"][0];
  EXPECT_EQ(e["type"], "expense");
  EXPECT_EQ(e["source"]["system"], "template");
  EXPECT_EQ(e["source"]["connection"], "tpl-a");
  EXPECT_EQ(e["source"]["id"], "exp_7_0");
  EXPECT_EQ(e["source"]["version"], "1");
  EXPECT_EQ(e["source"]["updated_at"], "2024-01-01T00:00:00Z");
  EXPECT_TRUE(e["amount"]["amount_minor"].is_number_integer());
  EXPECT_GE(e["amount"]["amount_minor"].get<int64_t>(), 100);
  EXPECT_EQ(e["amount"]["currency"], "USD");
  EXPECT_EQ(e["kind"], "card");
  EXPECT_EQ(e["status"], "posted");
  EXPECT_TRUE(e["links"].is_object());
  EXPECT_TRUE(e["merchant"].is_string());
  EXPECT_TRUE(e["account"]["code"].is_string());
  EXPECT_TRUE(e["dimensions"]["department"]["name"].is_string());
  EXPECT_TRUE(e["memo"].is_string());
  EXPECT_EQ(e["spent_at"].get<std::string>().size(), 10u);
  EXPECT_EQ(page["records"][1]["source"]["updated_at"], "2024-01-01T00:01:00Z");

  const std::vector<json> all = ReadAll(inst, "expenses", 100);
  ASSERT_EQ(all.size(), 250u);
  std::set<std::string> ids;
  for (const json& rec : all) ids.insert(rec["source"]["id"].get<std::string>());
  EXPECT_EQ(ids.size(), 250u);

  // Smaller pages give the same records in the same order.
  const std::vector<json> small = ReadAll(inst, "expenses", 7);
  ASSERT_EQ(small.size(), all.size());
  for (size_t i = 0; i < all.size(); ++i) ASSERT_EQ(small[i], all[i]) << i;
}

TEST_F(TemplatePluginTest, RecordsAreDeterministicPerSeed) {
  Instance a(api_, &host_, R"({"seed": 11, "records": 30})");
  Instance b(api_, &host_, R"({"seed": 11, "records": 30})");
  Instance c(api_, &host_, R"({"seed": 12, "records": 30})");
  const auto ra = ReadAll(a, "expenses", 30);
  const auto rb = ReadAll(b, "expenses", 30);
  const auto rc = ReadAll(c, "expenses", 30);
  ASSERT_EQ(ra.size(), 30u);
  EXPECT_EQ(ra, rb);
  int same_amounts = 0;
  for (size_t i = 0; i < ra.size(); ++i) same_amounts += ra[i]["amount"] == rc[i]["amount"] ? 1 : 0;
  EXPECT_LT(same_amounts, 5);
}

TEST_F(TemplatePluginTest, CursorAtOrPastTheEndGivesAnEmptyPage) {
  Instance inst(api_, &host_, R"({"seed": 1, "records": 5})");
  CallResult r = inst.Read({{"stream", "expenses"}, {"limit", 10}});
  ASSERT_EQ(r.status, MLC_OK);
  const json end_cursor = r.Json()["next_cursor"];
  EXPECT_FALSE(r.Json()["has_more"].get<bool>());

  CallResult again = inst.Read({{"stream", "expenses"}, {"cursor", end_cursor}});
  ASSERT_EQ(again.status, MLC_OK) << again.err;
  EXPECT_TRUE(again.Json()["records"].empty());
  EXPECT_EQ(again.Json()["next_cursor"], end_cursor);
  EXPECT_FALSE(again.Json()["has_more"].get<bool>());

  CallResult future = inst.Read({{"stream", "expenses"}, {"cursor", Cursor("999999999")}});
  ASSERT_EQ(future.status, MLC_OK) << future.err;
  EXPECT_TRUE(future.Json()["records"].empty());
  EXPECT_FALSE(future.Json()["has_more"].get<bool>());

  // Once the source has more records, the saved cursor picks up exactly the new ones.
  Instance grown(api_, &host_, R"({"seed": 1, "records": 8})");
  CallResult more = grown.Read({{"stream", "expenses"}, {"cursor", end_cursor}});
  ASSERT_EQ(more.status, MLC_OK);
  ASSERT_EQ(more.Json()["records"].size(), 3u);
  EXPECT_EQ(more.Json()["records"][0]["source"]["id"], "exp_1_5");
}

TEST_F(TemplatePluginTest, MalformedCursorsAndLimitsAreInvalid) {
  Instance inst(api_, &host_, R"({"seed": 1, "records": 5})");
  for (const json& cursor : {json("!!!"), json(Cursor("abc")), json(Cursor("")), json(Cursor("-1")), json(5),
                             json(Cursor("1234567890123456789")), json(Cursor(" 1"))}) {
    CallResult r = inst.Read({{"stream", "expenses"}, {"cursor", cursor}});
    EXPECT_EQ(r.status, MLC_INVALID) << cursor;
    EXPECT_NE(r.err.find("cursor"), std::string::npos) << r.err;
  }
  for (const json& limit : {json(0), json(-5), json("10"), json("1.5")}) {
    EXPECT_EQ(inst.Read({{"stream", "expenses"}, {"limit", limit}}).status, MLC_INVALID) << limit;
  }
  EXPECT_EQ(inst.CallRaw(api_->read, R"({"stream": "expenses", "limit": 2.5})").status, MLC_INVALID);
  CallResult unknown = inst.Read({{"stream", "invoices"}});
  EXPECT_EQ(unknown.status, MLC_INVALID);
  EXPECT_EQ(unknown.err, "unknown stream 'invoices'");
  EXPECT_EQ(inst.Read(json::object()).status, MLC_INVALID);  // no stream
}

TEST_F(TemplatePluginTest, LimitIsHonouredAndCapped) {
  Instance inst(api_, &host_, R"({"seed": 1, "records": 5000})");
  EXPECT_EQ(inst.Read({{"stream", "expenses"}, {"limit", 3}}).Json()["records"].size(), 3u);
  EXPECT_EQ(inst.Read({{"stream", "expenses"}}).Json()["records"].size(), 100u);  // default page
  EXPECT_EQ(inst.Read({{"stream", "expenses"}, {"limit", 100000}}).Json()["records"].size(), 1000u);
}

TEST_F(TemplatePluginTest, SinceStartsAtTheFirstRecordUpdatedThen) {
  Instance inst(api_, &host_, R"({"seed": 4, "records": 50})");
  CallResult r = inst.Read({{"stream", "expenses"}, {"since", "2024-01-01T00:10:00Z"}, {"limit", 2}});
  ASSERT_EQ(r.status, MLC_OK) << r.err;
  EXPECT_EQ(r.Json()["records"][0]["source"]["id"], "exp_4_10");
  // Same instant written with an offset, and a time between two records rounds up.
  EXPECT_EQ(inst.Read({{"stream", "expenses"}, {"since", "2024-01-01T01:10:00+01:00"}})
                .Json()["records"][0]["source"]["id"],
            "exp_4_10");
  EXPECT_EQ(inst.Read({{"stream", "expenses"}, {"since", "2024-01-01T00:10:30Z"}})
                .Json()["records"][0]["source"]["id"],
            "exp_4_11");
  EXPECT_EQ(inst.Read({{"stream", "expenses"}, {"since", "2024-01-01T00:10:00.000Z"}})
                .Json()["records"][0]["source"]["id"],
            "exp_4_10");
  EXPECT_EQ(inst.Read({{"stream", "expenses"}, {"since", "2020-01-01T00:00:00Z"}})
                .Json()["records"][0]["source"]["id"],
            "exp_4_0");
  EXPECT_TRUE(
      inst.Read({{"stream", "expenses"}, {"since", "2030-01-01T00:00:00Z"}}).Json()["records"].empty());
  for (const char* bad : {"yesterday", "2024-01-01", "2024-13-01T00:00:00Z", "2024-01-01T00:00:00"}) {
    EXPECT_EQ(inst.Read({{"stream", "expenses"}, {"since", bad}}).status, MLC_INVALID) << bad;
  }
}

TEST_F(TemplatePluginTest, WriteIsIdempotentPerKeyAndSurvivesRestarts) {
  std::string first_id;
  {
    Instance inst(api_, &host_, R"({"seed": 1, "records": 0, "store": "s1"})");
    CallResult before = inst.Lookup({{"object_type", "expense"}, {"idempotency_key", "job-1"}});
    EXPECT_EQ(before.status, MLC_NOT_FOUND);

    CallResult w1 = inst.Write(WriteRequest("job-1"));
    ASSERT_EQ(w1.status, MLC_OK) << w1.err;
    first_id = w1.Json()["target_id"].get<std::string>();
    EXPECT_FALSE(first_id.empty());
    CallResult w2 = inst.Write(WriteRequest("job-1"));
    ASSERT_EQ(w2.status, MLC_OK) << w2.err;
    EXPECT_EQ(w2.Json()["target_id"], first_id);

    CallResult other = inst.Write(WriteRequest("job-2", Expense(99)));
    ASSERT_EQ(other.status, MLC_OK);
    EXPECT_NE(other.Json()["target_id"], first_id);

    CallResult found = inst.Lookup({{"object_type", "expense"}, {"idempotency_key", "job-1"}});
    ASSERT_EQ(found.status, MLC_OK) << found.err;
    EXPECT_EQ(found.Json()["target_id"], first_id);
    EXPECT_TRUE(host_.state.count("s1/obj/job-1"));
  }
  // A new instance on the same host state (a restarted host) sees the same writes.
  Instance again(api_, &host_, R"({"seed": 1, "records": 0, "store": "s1"})");
  CallResult w3 = again.Write(WriteRequest("job-1"));
  ASSERT_EQ(w3.status, MLC_OK);
  EXPECT_EQ(w3.Json()["target_id"], first_id);
  const auto written = ReadAll(again, "written", 10);
  ASSERT_EQ(written.size(), 2u);
  // Each record is the object as written, with the target's bookkeeping under x-template.
  EXPECT_EQ(written[0]["type"], "expense");
  EXPECT_EQ(written[0]["amount"]["amount_minor"], 1234);
  EXPECT_EQ(written[0]["x-template"]["idempotency_key"], "job-1");
  EXPECT_EQ(written[0]["x-template"]["writes"], 3);
  EXPECT_EQ(written[0]["x-template"]["target_id"], first_id);
  EXPECT_EQ(written[0]["x-template"]["object_type"], "expense");
  EXPECT_EQ(written[1]["x-template"]["idempotency_key"], "job-2");
  EXPECT_EQ(written[1]["x-template"]["writes"], 1);
  EXPECT_EQ(written[1]["amount"]["amount_minor"], 99);

  // Another store prefix is another target.
  Instance elsewhere(api_, &host_, R"({"seed": 1, "records": 0, "store": "s2"})");
  EXPECT_EQ(elsewhere.Lookup({{"object_type", "expense"}, {"idempotency_key", "job-1"}}).status,
            MLC_NOT_FOUND);
  EXPECT_TRUE(ReadAll(elsewhere, "written", 10).empty());
}

TEST_F(TemplatePluginTest, WrittenStreamCountsEachKeyOnceAcrossPages) {
  Instance inst(api_, &host_, R"({"seed": 1, "records": 0})");
  for (int round = 0; round < 2; ++round) {
    for (int i = 0; i < 23; ++i) ASSERT_EQ(inst.Write(WriteRequest("k" + std::to_string(i))).status, MLC_OK);
  }
  const auto written = ReadAll(inst, "written", 5);
  ASSERT_EQ(written.size(), 23u);
  std::set<std::string> keys;
  for (const json& w : written) {
    keys.insert(w["x-template"]["idempotency_key"].get<std::string>());
    EXPECT_EQ(w["x-template"]["writes"], 2);
  }
  EXPECT_EQ(keys.size(), 23u);
}

TEST_F(TemplatePluginTest, InvalidWritesStoreNothing) {
  Instance inst(api_, &host_, R"({"seed": 1, "records": 0})");
  json no_amount = Expense();
  no_amount.erase("amount");
  json bad_currency = Expense();
  bad_currency["amount"]["currency"] = "dollars";
  json decimal_amount = Expense();
  decimal_amount["amount"]["amount_minor"] = "12.34";
  const std::vector<json> bad = {
      WriteRequest("a", no_amount),
      WriteRequest("b", bad_currency),
      WriteRequest("c", decimal_amount),
      WriteRequest(""),
      {{"object_type", "bill"}, {"object", Expense()}, {"idempotency_key", "d"}},
      {{"object_type", "expense"}, {"object", "text"}, {"idempotency_key", "e"}},
      {{"object_type", "expense"}, {"object", Expense()}},
  };
  for (const json& req : bad) {
    CallResult r = inst.Write(req);
    EXPECT_EQ(r.status, MLC_INVALID) << req.dump();
    EXPECT_FALSE(r.err.empty());
  }
  EXPECT_TRUE(host_.state.empty());
  EXPECT_EQ(inst.Lookup({{"object_type", "expense"}}).status, MLC_INVALID);
}

TEST_F(TemplatePluginTest, DryRunWritesNothing) {
  Instance inst(api_, &host_, R"({"seed": 1, "records": 0})");
  json req = WriteRequest("dry");
  req["dry_run"] = true;
  CallResult r = inst.Write(req);
  ASSERT_EQ(r.status, MLC_OK) << r.err;
  EXPECT_EQ(r.Json()["dry_run"], true);
  EXPECT_EQ(inst.Lookup({{"object_type", "expense"}, {"idempotency_key", "dry"}}).status, MLC_NOT_FOUND);
  // The real write later gets the id the dry run predicted.
  EXPECT_EQ(inst.Write(WriteRequest("dry")).Json()["target_id"], r.Json()["target_id"]);
}

TEST_F(TemplatePluginTest, FailEveryInjectsRetriesBeforeStoring) {
  Instance inst(api_, &host_, R"({"seed": 1, "records": 0, "fail_every": 3})");
  EXPECT_EQ(inst.Write(WriteRequest("a")).status, MLC_OK);
  EXPECT_EQ(inst.Write(WriteRequest("b")).status, MLC_OK);
  CallResult third = inst.Write(WriteRequest("c"));
  EXPECT_EQ(third.status, MLC_RETRY);
  EXPECT_NE(third.err.find("fail_every=3"), std::string::npos);
  EXPECT_EQ(inst.Lookup({{"object_type", "expense"}, {"idempotency_key", "c"}}).status, MLC_NOT_FOUND);
  EXPECT_EQ(inst.Write(WriteRequest("c")).status, MLC_OK);  // the retry lands
  EXPECT_EQ(ReadAll(inst, "written", 10).size(), 3u);
}

TEST_F(TemplatePluginTest, UncertainEveryLandsTheWriteButReportsUncertain) {
  Instance inst(api_, &host_, R"({"seed": 1, "records": 0, "uncertain_every": 2})");
  EXPECT_EQ(inst.Write(WriteRequest("a")).status, MLC_OK);
  CallResult second = inst.Write(WriteRequest("b"));
  EXPECT_EQ(second.status, MLC_UNCERTAIN);
  // The host reconciles with lookup: the write is there.
  CallResult found = inst.Lookup({{"object_type", "expense"}, {"idempotency_key", "b"}});
  ASSERT_EQ(found.status, MLC_OK);
  EXPECT_EQ(ReadAll(inst, "written", 10).size(), 2u);
}

TEST_F(TemplatePluginTest, AHostFailureMidWriteNeverDoublesTheWrittenList) {
  Instance inst(api_, &host_, R"({"seed": 1, "records": 0})");
  // The slot is claimed but storing the object fails (as if the host died in between).
  host_.fail_put_substring = "/obj/";
  CallResult failed = inst.Write(WriteRequest("k"));
  EXPECT_EQ(failed.status, MLC_RETRY);
  EXPECT_EQ(inst.Lookup({{"object_type", "expense"}, {"idempotency_key", "k"}}).status, MLC_NOT_FOUND);
  host_.fail_put_substring.clear();
  ASSERT_EQ(inst.Write(WriteRequest("k")).status, MLC_OK);
  ASSERT_EQ(inst.Write(WriteRequest("k2")).status, MLC_OK);
  const auto written = ReadAll(inst, "written", 1);
  ASSERT_EQ(written.size(), 2u);
  EXPECT_EQ(written[0]["x-template"]["idempotency_key"], "k");
  EXPECT_EQ(written[1]["x-template"]["idempotency_key"], "k2");
  // The orphaned slot is still in state, and skipped.
  EXPECT_EQ(host_.state["template/written/slot/0"], "k");
  EXPECT_EQ(host_.state["template/written/slot/1"], "k");
}

TEST_F(TemplatePluginTest, AcksAreRecordedOncePerSourceRecord) {
  Instance inst(api_, &host_, R"({"seed": 1, "records": 3})");
  CallResult r = inst.Ack({{"stream", "expenses"},
                           {"items",
                            {{{"source_id", "exp_1_0"}, {"ok", true}, {"target_id", "tpl_1"}},
                             {{"source_id", "exp_1_1"}, {"ok", false}, {"reason", "rejected"}}}}});
  ASSERT_EQ(r.status, MLC_OK) << r.err;
  EXPECT_EQ(r.Json()["acked"], 2);
  ASSERT_EQ(inst.Ack({{"stream", "expenses"}, {"items", {{{"source_id", "exp_1_0"}, {"ok", true}}}}}).status,
            MLC_OK);

  const auto acked = ReadAll(inst, "acked", 10);
  ASSERT_EQ(acked.size(), 2u);
  EXPECT_EQ(acked[0]["source_id"], "exp_1_0");
  EXPECT_EQ(acked[0]["acks"], 2);
  EXPECT_EQ(acked[0]["ok"], true);
  EXPECT_EQ(acked[1]["source_id"], "exp_1_1");
  EXPECT_EQ(acked[1]["ok"], false);
  EXPECT_EQ(acked[1]["reason"], "rejected");

  // One bad item rejects the whole batch before anything is recorded.
  const size_t keys_before = host_.state.size();
  CallResult bad =
      inst.Ack({{"stream", "expenses"},
                {"items", {{{"source_id", "exp_1_2"}, {"ok", true}}, {{"source_id", "exp_1_3"}}}}});
  EXPECT_EQ(bad.status, MLC_INVALID);
  EXPECT_EQ(host_.state.size(), keys_before);
  EXPECT_EQ(inst.Ack({{"stream", "written"}, {"items", json::array()}}).status, MLC_INVALID);
  EXPECT_EQ(inst.Ack({{"stream", "expenses"}}).status, MLC_INVALID);
}

class TemplateWebhookTest : public TemplatePluginTest {
 protected:
  void SetUp() override {
    TemplatePluginTest::SetUp();
    host_.secrets["webhook_secret"] = "whsec-test";
    inst_ = std::make_unique<Instance>(api_, &host_, R"({"seed": 1, "records": 3})");
    ASSERT_EQ(inst_->open_status(), MLC_OK);
  }
  json Request(const std::string& signature, int64_t received_at = 1700000000000) const {
    json headers = {{"content-type", "application/json"}};
    if (!signature.empty()) headers["x-template-signature"] = signature;
    return {{"method", "POST"},
            {"path", "/webhooks/tpl"},
            {"query", json::object()},
            {"headers", headers},
            {"received_at_ms", received_at}};
  }
  std::unique_ptr<Instance> inst_;
};

TEST_F(TemplateWebhookTest, AValidSignatureYieldsEvents) {
  const std::string body =
      R"({"sent_at_ms": 1700000000000, "events": [{"id": "evt_1", "expense_id": "exp_1_2"}, {"id": "evt_2", "expense_id": "exp_1_0"}]})";
  CallResult r = inst_->Webhook(Request(Sign("whsec-test", body)), body);
  ASSERT_EQ(r.status, MLC_OK) << r.err;
  const json events = r.Json()["events"];
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(
      events[0],
      json({{"id", "evt_1"}, {"type", "expense.updated"}, {"stream", "expenses"}, {"source_id", "exp_1_2"}}));
  EXPECT_EQ(events[1]["source_id"], "exp_1_0");

  // Upper-case hex is the same signature.
  std::string upper = Sign("whsec-test", body);
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  EXPECT_EQ(inst_->Webhook(Request(upper), body).status, MLC_OK);
}

TEST_F(TemplateWebhookTest, MissingOrForgedSignaturesAreAuth) {
  const std::string body = R"({"events": [{"id": "evt_1", "expense_id": "exp_1_2"}]})";
  CallResult missing = inst_->Webhook(Request(""), body);
  EXPECT_EQ(missing.status, MLC_AUTH);
  EXPECT_NE(missing.err.find("missing x-template-signature"), std::string::npos);

  CallResult wrong_key = inst_->Webhook(Request(Sign("other-secret", body)), body);
  EXPECT_EQ(wrong_key.status, MLC_AUTH);
  EXPECT_EQ(wrong_key.err, "webhook signature does not match");

  // A signature of a different body, i.e. a tampered payload.
  const std::string tampered = R"({"events": [{"id": "evt_1", "expense_id": "exp_1_1"}]})";
  EXPECT_EQ(inst_->Webhook(Request(Sign("whsec-test", body)), tampered).status, MLC_AUTH);
  EXPECT_EQ(inst_->Webhook(Request("not-hex"), body).status, MLC_AUTH);
  EXPECT_EQ(inst_->Webhook(Request(Sign("whsec-test", body).substr(0, 63)), body).status, MLC_AUTH);
  // The error never echoes the secret.
  EXPECT_EQ(wrong_key.err.find("whsec-test"), std::string::npos);
}

TEST_F(TemplateWebhookTest, SignedButMalformedOrStaleBodiesAreInvalid) {
  for (const std::string& body :
       {std::string("{not json"), std::string("[]"), std::string(R"({"events": 3})"),
        std::string(R"({"events": [{"id": "e"}]})"),
        std::string(R"({"events": [{"id": "", "expense_id": "x"}]})")}) {
    CallResult r = inst_->Webhook(Request(Sign("whsec-test", body)), body);
    EXPECT_EQ(r.status, MLC_INVALID) << body;
  }
  const std::string stale = R"({"sent_at_ms": 1699999000000, "events": []})";  // 1000 s before receipt
  CallResult r = inst_->Webhook(Request(Sign("whsec-test", stale)), stale);
  EXPECT_EQ(r.status, MLC_INVALID);
  EXPECT_NE(r.err.find("stale"), std::string::npos);
}

TEST_F(TemplateWebhookTest, NoConfiguredSecretMeansNothingCanBeVerified) {
  host_.secrets.clear();
  const std::string body = R"({"events": []})";
  CallResult r = inst_->Webhook(Request(Sign("whsec-test", body)), body);
  EXPECT_EQ(r.status, MLC_INVALID);
  EXPECT_NE(r.err.find("webhook_secret"), std::string::npos);
}

}  // namespace
}  // namespace mlc::testing
