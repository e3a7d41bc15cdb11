// brex.so reading from the real Brex emulator (loopback, port 0) through an in-memory host that forwards
// http: every record it returns must satisfy the canonical schemas the host validates against.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "brex_emulator.hpp"
#include "jsonschema/validator.hpp"
#include "loader/instance.hpp"
#include "loader/loader.hpp"
#include "mlc/crypto.hpp"
#include "mlc/json.hpp"
#include "mlc/plugin.h"
#include "mlc/sandbox/http.hpp"
#include "mlc/sandbox/http_client.hpp"
#include "mlc/sandbox/server.hpp"

namespace mlc::plugins::brex {
namespace {

using nlohmann::json;

json ReadSchema(const std::string& name) {
  std::ifstream in(std::string(MLC_BREX_SCHEMA_DIR) + "/" + name);
  std::stringstream buf;
  buf << in.rdbuf();
  return json::parse(buf.str());
}

class BrexEmulatorReadTest : public ::testing::Test {
 protected:
  void SetUp() override { StartWith({{"ready_ratio", 0.5}}); }

  // (Re)starts the emulator with `vendor` options and points the fake host's http at it.
  void StartWith(const json& vendor) {
    if (server_) server_->Stop();
    if (dir_.empty()) {
      std::string tmpl = (std::filesystem::temp_directory_path() / "mlc-brex-emu-XXXXXX").string();
      ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
      dir_ = tmpl;
      std::filesystem::create_symlink(MLC_BREX_PLUGIN_PATH, dir_ / "brex.so");
      auto report = registry_.LoadDirectories({dir_.string()});
      ASSERT_TRUE(report.status.ok() && report.refused.empty());
    }

    sandbox::EmulatorOptions options;
    options.seed = 7;
    options.records = 60;
    options.vendor = vendor;
    auto server = sandbox::SandboxServer::Start(sandbox::brex::MakeBrexEmulator(options), options);
    ASSERT_TRUE(server.ok()) << server.status().ToString();
    server_ = std::move(*server);
    const json creds = server_->Announcement()["credentials"];
    token_ = creds["token"];
    host_.SetSecret("webhook_secret", creds["webhook_secret"]);

    // The host's http, reduced: relative URLs against the emulator, the query appended, the bearer token
    // added unless auth is false, 2xx bodies stored as blobs on request.
    host_.SetHttpHandler([this](std::string_view request_json, std::string_view body, std::string* meta,
                                std::string* body_out, std::string* err) {
      const json req = json::parse(request_json);
      std::string url = req["url"];
      if (url.rfind("http", 0) != 0) url = server_->base_url() + url;
      std::string query;
      const json query_doc = req.value("query", json::object());
      for (const auto& [k, v] : query_doc.items()) {
        query += (query.empty() ? "" : "&") + sandbox::UrlEncode(k) + "=" +
                 sandbox::UrlEncode(v.is_string() ? v.get<std::string>() : v.dump());
      }
      if (!query.empty()) url += (url.find('?') == std::string::npos ? "?" : "&") + query;
      sandbox::HeaderList headers;
      const json header_doc = req.value("headers", json::object());
      for (const auto& [k, v] : header_doc.items()) headers.emplace_back(k, v);
      if (req.value("auth", true)) headers.emplace_back("Authorization", "Bearer " + token_);
      auto res = client_.Send(req["method"].get<std::string>(), url, headers, std::string(body));
      if (!res.ok()) {
        *err = res.status().message();
        return Code::kRetry;
      }
      json m = {{"status", res->status}, {"headers", json::object()}};
      if (req.value("response_blob", false) && res->status >= 200 && res->status < 300) {
        const std::string id = "blob_" + crypto::HexEncode(crypto::Sha256Digest(res->body)).substr(0, 16);
        blobs_[id] = res->body;
        m["blob"] = id;
      } else {
        *body_out = res->body;
      }
      *meta = m.dump();
      return Code::kOk;
    });
  }
  void TearDown() override {
    if (server_) server_->Stop();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  std::filesystem::path dir_;
  loader::PluginRegistry registry_;
  std::unique_ptr<sandbox::SandboxServer> server_;
  std::string token_;
  sandbox::HttpClient client_;
  loader::InMemoryHostContext host_;
  std::map<std::string, std::string> blobs_;
};

TEST_F(BrexEmulatorReadTest, EveryRecordIsSchemaValidAndReceiptsAreStored) {
  jsonschema::Validator expense_schema(ReadSchema("expense.schema.json"));
  jsonschema::Validator vendor_schema(ReadSchema("vendor.schema.json"));
  for (auto* v : {&expense_schema, &vendor_schema}) {
    v->AddReferencedSchema(ReadSchema("common.schema.json"));
    ASSERT_TRUE(v->status().ok()) << v->status().message();
  }
  auto opened = loader::PluginInstance::Open(
      registry_.Find("brex"), &host_, {{"base_url", server_->base_url()}, {"connection", "brex-test"}});
  ASSERT_TRUE(opened.ok()) << opened.status().message();
  auto& inst = *opened;
  ASSERT_TRUE(inst->Check().ok());

  size_t expenses = 0, with_account = 0, with_receipts = 0, with_last4 = 0;
  json cursor;
  for (int page = 0; page < 100; ++page) {
    auto reply = inst->Read({{"stream", "expenses"}, {"cursor", cursor}, {"limit", 7}});
    ASSERT_TRUE(reply.ok()) << reply.status().message();
    for (const json& record : (*reply)["records"]) {
      const Status valid = expense_schema.Check(record);
      ASSERT_TRUE(valid.ok()) << valid.message() << "\n" << record.dump(2);
      ++expenses;
      with_account += record.contains("account") ? 1 : 0;
      with_last4 += record.contains("card_last4") ? 1 : 0;
      if (record.contains("receipts")) {
        ++with_receipts;
        const std::string blob = record["receipts"][0]["blob_id"];
        ASSERT_TRUE(blobs_.count(blob));
        EXPECT_EQ(blobs_[blob].rfind("%PDF", 0), 0u);
      }
    }
    cursor = (*reply)["next_cursor"];
    if (!(*reply)["has_more"].get<bool>()) break;
  }
  const auto ready = server_->emulator().Objects("export_queue");
  ASSERT_TRUE(ready.ok());
  EXPECT_EQ(expenses, ready->size());
  EXPECT_GT(expenses, 0u);
  EXPECT_EQ(with_account, expenses);  // every ready record is coded
  EXPECT_GT(with_receipts, 0u);
  EXPECT_GT(with_last4, 0u);

  auto vendors = inst->Read({{"stream", "vendors"}});
  ASSERT_TRUE(vendors.ok()) << vendors.status().message();
  ASSERT_FALSE((*vendors)["records"].empty());
  for (const json& record : (*vendors)["records"]) {
    const Status valid = vendor_schema.Check(record);
    ASSERT_TRUE(valid.ok()) << valid.message() << "\n" << record.dump(2);
  }

  // Ack everything read: success for all but one, which fails with a reason; Brex then holds them EXPORTED.
  json items = json::array();
  for (const json& r : *ready) items.push_back({{"source_id", r["id"]}, {"ok", true}, {"target_id", "je_1"}});
  items[0] = {{"source_id", (*ready)[0]["id"]}, {"ok", false}, {"reason", "Unknown GL account"}};
  auto acked = inst->Ack({{"stream", "expenses"}, {"items", items}});
  ASSERT_TRUE(acked.ok()) << acked.status().message();
  EXPECT_EQ((*acked)["acked"], items.size());
  auto again = inst->Ack({{"stream", "expenses"}, {"items", items}});  // the host repeating the batch
  ASSERT_TRUE(again.ok()) << again.status().message();
  size_t exported = 0;
  const auto records = server_->emulator().Objects("accounting_records");
  ASSERT_TRUE(records.ok());
  for (const json& r : *records) exported += r["_export"]["reference_id"] == "je_1" ? 1 : 0;
  EXPECT_EQ(exported, items.size() - 1);
}

// Issue 13.11: with the realistic record mix (a reimbursement's approval, post and payout; merchant refunds;
// the card payment), every economic event lands once with its sign: per expense the canonical amounts add up
// to purchase minus refunds, a reimbursement is booked once (at approval; at post with the cash basis), and
// card payments and payouts book nothing.
TEST_F(BrexEmulatorReadTest, EachEconomicEventOfTheRecordMixLandsOnce) {
  StartWith(
      {{"record_mix", true}, {"ready_ratio", 1.0}, {"exported_ratio", 0.0}, {"reimbursement_ratio", 0.6}});
  auto records = server_->emulator().Objects("accounting_records");
  ASSERT_TRUE(records.ok());
  std::map<std::string, int64_t> expected;  // expense id -> net cents
  std::map<std::string, std::string> kind;
  std::set<std::string> types;
  for (const json& r : *records) {
    types.insert(r["type"].get<std::string>());
    const json source = r["source_id"];
    const std::string type = r["type"];
    const int64_t cents = r["_amount_cents"];
    if (type == "CARD_EXPENSE_POST" || type == "REIMBURSEMENT_EXPENSE_APPROVAL") {
      expected[source.get<std::string>()] += cents;
      kind[source.get<std::string>()] = type == "CARD_EXPENSE_POST" ? "card" : "reimbursement";
    } else if (type == "CARD_EXPENSE_REFUND") {
      expected[source.get<std::string>()] -= cents;
    }
  }
  for (const char* t :
       {"CARD_EXPENSE_POST", "CARD_EXPENSE_REFUND", "CARD_PAYMENT", "REIMBURSEMENT_EXPENSE_APPROVAL",
        "REIMBURSEMENT_EXPENSE_POST", "REIMBURSEMENT_EXPENSE_MONEY_MOVEMENT_PAYOUT"}) {
    EXPECT_TRUE(types.count(t)) << t;
  }
  for (const char* basis : {"accrual", "cash"}) {
    auto opened = loader::PluginInstance::Open(
        registry_.Find("brex"), &host_,
        {{"base_url", server_->base_url()}, {"reimbursement_basis", basis}, {"download_receipts", false}});
    ASSERT_TRUE(opened.ok()) << opened.status().message();
    std::map<std::string, int64_t> got;
    std::map<std::string, int> bookings;
    json cursor;
    for (int page = 0; page < 100; ++page) {
      auto reply = (*opened)->Read({{"stream", "expenses"}, {"cursor", cursor}, {"limit", 25}});
      ASSERT_TRUE(reply.ok()) << reply.status().message();
      for (const json& e : (*reply)["records"]) {
        const std::string expense = e["x-brex"]["source_id"];
        got[expense] += e["amount"]["amount_minor"].get<int64_t>();
        ++bookings[expense + " " + e["x-brex"]["record_type"].get<std::string>()];
        EXPECT_EQ(e["kind"], kind[expense]) << e.dump();
        if (e["x-brex"]["record_type"] == "CARD_EXPENSE_REFUND") {
          EXPECT_LT(e["amount"]["amount_minor"].get<int64_t>(), 0);
          EXPECT_TRUE(e.contains("account")) << e.dump();
        }
      }
      cursor = (*reply)["next_cursor"];
      if (!(*reply)["has_more"].get<bool>()) break;
    }
    EXPECT_EQ(got, expected) << basis;
    for (const auto& [key, n] : bookings) EXPECT_EQ(n, 1) << key;
  }
}

// Issue 13.10: a vendor whose company_name is null (the spec allows it) is rejected alone; every named
// vendor of the page is read, and the warning names the vendor and the field.
TEST_F(BrexEmulatorReadTest, AVendorWithoutANameDoesNotStopTheVendorsStream) {
  StartWith({{"nameless_vendors", 2}});
  auto opened =
      loader::PluginInstance::Open(registry_.Find("brex"), &host_, {{"base_url", server_->base_url()}});
  ASSERT_TRUE(opened.ok()) << opened.status().message();
  auto vendors = server_->emulator().Objects("vendors");
  ASSERT_TRUE(vendors.ok());
  size_t named = 0;
  std::vector<std::string> nameless;
  for (const json& v : *vendors) {
    if (v["company_name"].is_string()) {
      ++named;
    } else {
      nameless.push_back(v["id"]);
    }
  }
  ASSERT_EQ(nameless.size(), 2u);
  size_t read = 0;
  json cursor;
  for (int page = 0; page < 20; ++page) {
    auto reply = (*opened)->Read({{"stream", "vendors"}, {"cursor", cursor}, {"limit", 4}});
    ASSERT_TRUE(reply.ok()) << reply.status().message();
    read += (*reply)["records"].size();
    cursor = (*reply)["next_cursor"];
    if (!(*reply)["has_more"].get<bool>()) break;
  }
  EXPECT_EQ(read, named);
  for (const std::string& id : nameless) {
    bool warned = false;
    for (const auto& [level, message] : host_.Logs()) {
      warned = warned || (level == MLC_LOG_WARN && message.find(id) != std::string::npos &&
                          message.find("company_name") != std::string::npos);
    }
    EXPECT_TRUE(warned) << id;
  }
}

}  // namespace
}  // namespace mlc::plugins::brex
