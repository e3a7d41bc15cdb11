// Brex emulator: the accounting API (records, pagination, the READY_FOR_EXPORT flow, export-results) and
// its webhook, verified with the secret from /v1/webhooks/secrets.
#include <gtest/gtest.h>

#include <map>
#include <set>

#include "brex_test_util.hpp"
#include "mlc/json.hpp"
#include "mlc/money.hpp"
#include "mlc/sandbox/webhooks.hpp"

namespace mlc::sandbox::brex::testing {
namespace {

TEST_F(BrexTest, RecordPaginationVisitsEveryRecordExactlyOnce) {
  Start(50);
  nlohmann::json first = Get("/v3/accounting/records?limit=7");
  EXPECT_EQ(first["total_count"], 50);
  EXPECT_EQ(first["has_next_page"], true);
  const auto all = Walk("/v3/accounting/records", 7);
  ASSERT_EQ(all.size(), 50u);
  std::set<std::string> ids;
  for (const auto& r : all) ids.insert(r["id"].get<std::string>());
  EXPECT_EQ(ids.size(), 50u);
  nlohmann::json last = Get("/v3/accounting/records?limit=100");
  EXPECT_EQ(last["items"].size(), 50u);
  EXPECT_EQ(last["has_next_page"], false);
  EXPECT_TRUE(last["next_cursor"].is_null());
}

TEST_F(BrexTest, DefaultPageIsAHundredAndLimitsAreEnforcedInTheAccountingShape) {
  Start(150);
  EXPECT_EQ(Get("/v3/accounting/records")["items"].size(), 100u);
  for (const char* bad :
       {"limit=1001", "limit=0", "limit=ten", "cursor=%21%21", "review_status=DONE",
        "source_type=BILL&review_status=PREPARE", "single_entry=maybe", "updated_at[gt]=yesterday"}) {
    HttpResponse r = Call("GET", std::string("/v3/accounting/records?") + bad);
    EXPECT_EQ(r.status, 400) << bad;
    auto doc = r.Json().value();
    EXPECT_EQ(doc["error_code"], "INVALID_REQUEST") << bad;
    EXPECT_TRUE(doc["message"].is_string());
  }
  EXPECT_EQ(Call("GET", "/v3/accounting/records?limit=100").status, 200);
}

// Issue 13.13: the v3 maximum limit is undocumented (only the default, 100): the strict emulator refuses
// more, the way Brex refuses a bad request; the maximum is an option.
TEST_F(BrexTest, AccountingLimitAboveTheDocumentedDefaultIsRefusedUnlessConfigured) {
  Start(150);
  for (const char* limit : {"101", "1000"}) {
    HttpResponse r = Call("GET", std::string("/v3/accounting/records?limit=") + limit);
    EXPECT_EQ(r.status, 400) << limit;
    EXPECT_EQ(r.Json().value()["error_code"], "INVALID_REQUEST") << limit;
  }
  HttpResponse ids = Call("GET", "/v3/accounting/records?limit=1000&ids=" +
                                     Objects("accounting_records")[0]["id"].get<std::string>());
  EXPECT_EQ(ids.status, 400);
  server_->Stop();
  Start(150, {{"accounting_max_limit", 1000}});
  EXPECT_EQ(Call("GET", "/v3/accounting/records?limit=1000").status, 200);
}

TEST_F(BrexTest, RecordsCarryDecimalDollarsAndCodedLineItems) {
  Start(50);
  HttpResponse r = Call("GET", "/v3/accounting/records?review_status=READY_FOR_EXPORT&limit=100");
  ASSERT_EQ(r.status, 200);
  // Amounts are JSON numbers in decimal dollars: parse them exactly and compare with the emulator's cents.
  auto exact = mlc::json::ParseExact(r.body);
  ASSERT_TRUE(exact.ok());
  std::map<std::string, int64_t> cents;
  for (const auto& o : Objects("accounting_records")) cents[o["id"]] = o["_amount_cents"];
  ASSERT_FALSE((*exact)["items"].empty());
  for (const auto& rec : (*exact)["items"]) {
    EXPECT_EQ(rec["review_status"], "READY_FOR_EXPORT");
    auto amount = mlc::json::MoneyField(rec["amount"]["amount"], "amount", "USD");
    ASSERT_TRUE(amount.ok()) << rec["amount"].dump();
    EXPECT_EQ(*amount, cents[rec["id"]]);
    ASSERT_EQ(rec["line_items"].size(), 2u);
    const auto& debit = rec["line_items"][0];
    EXPECT_EQ(debit["type"], "DEBIT");
    bool has_gl = false;
    for (const auto& f : debit["accounting_field_values"]) {
      EXPECT_TRUE(f["brex_field_id"].get<std::string>().rfind("extended_field_", 0) == 0);
      EXPECT_TRUE(f["brex_field_value_id"].get<std::string>().rfind("efo_", 0) == 0);
      if (f["remote_field_id"] == "GL_ACCOUNT") has_gl = true;
    }
    EXPECT_TRUE(has_gl) << rec["id"];
    EXPECT_EQ(rec["line_items"][1]["type"], "CREDIT");
    EXPECT_TRUE(rec["line_items"][1]["accounting_field_values"].empty());
  }
}

TEST_F(BrexTest, RecordFiltersAndSingleEntry) {
  Start(50);
  const auto all = Objects("accounting_records");
  const std::string a = all[3]["id"], b = all[9]["id"];
  auto by_ids = Get("/v3/accounting/records?ids=" + a + "&ids=" + b);
  ASSERT_EQ(by_ids["items"].size(), 2u);
  EXPECT_EQ(by_ids["total_count"], 2);
  auto single = Get("/v3/accounting/records/" + a + "?single_entry=true");
  EXPECT_EQ(single["line_items"].size(), 1u);
  EXPECT_EQ(single["id"], a);
  auto card = Get("/v3/accounting/records?source_type=CARD&limit=100");
  for (const auto& r : card["items"]) EXPECT_EQ(r["source_type"], "CARD");
  // updated_at[gt] returns only records changed after the instant.
  const std::string pivot = all[25]["updated_at"];
  auto newer = Get("/v3/accounting/records?limit=100&updated_at[gt]=" + UrlEncode(pivot));
  for (const auto& r : newer["items"]) EXPECT_GT(r["updated_at"].get<std::string>(), pivot);
  EXPECT_LT(newer["items"].size(), 50u);
  HttpResponse unknown = Call("GET", "/v3/accounting/records/accr_doesnotexist");
  EXPECT_EQ(unknown.status, 404);
  EXPECT_EQ(unknown.Json().value()["error_code"], "NOT_FOUND");
}

TEST_F(BrexTest, ReadyForExportEventCodesRecordsAndDeliversAVerifiableWebhook) {
  WebhookReceiver receiver;
  Start(50, {{"unknown_gl_ratio", 0.0}}, receiver.url());
  std::vector<std::string> pending;
  for (const auto& r : Objects("accounting_records")) {
    if (r["review_status"] == "PREPARE" || r["review_status"] == "REVIEW") pending.push_back(r["id"]);
  }
  ASSERT_GE(pending.size(), 3u);
  auto event =
      Control("POST", "/_sandbox/events", {{"type", "ACCOUNTING_RECORD_READY_FOR_EXPORT"}, {"count", 3}});
  ASSERT_EQ(event["record_ids"].size(), 3u);
  EXPECT_EQ(event["record_ids"][0], pending[0]);
  ASSERT_EQ(Control("POST", "/_sandbox/webhooks/flush")["idle"], true);

  auto received = receiver.received();
  ASSERT_EQ(received.size(), 1u);
  const Request& hook = received[0];
  auto body = nlohmann::json::parse(hook.body);
  EXPECT_EQ(body["event_type"], "ACCOUNTING_RECORD_READY_FOR_EXPORT");
  EXPECT_EQ(body["accountingRecordIds"], event["record_ids"]);
  EXPECT_EQ(body["companyId"], creds_["company_id"]);
  EXPECT_EQ(hook.Header("Webhook-Id").value_or("").rfind("msg_", 0), 0u);

  // Verify the signature the way a client does: with every secret from GET /v1/webhooks/secrets.
  auto secrets_doc = Get("/v1/webhooks/secrets");
  ASSERT_TRUE(secrets_doc.is_array());
  ASSERT_EQ(secrets_doc.size(), 1u);
  EXPECT_EQ(secrets_doc[0]["status"], "ACTIVE");
  std::vector<std::string> secrets = {secrets_doc[0]["secret"]};
  EXPECT_EQ(secrets[0].rfind("whsec_", 0), 0u);
  const int64_t now = server_->context().clock.NowUnix();
  EXPECT_TRUE(standard_webhooks::VerifyHeaders(secrets, hook.headers, hook.body, now).ok());
  EXPECT_FALSE(standard_webhooks::VerifyHeaders(secrets, hook.headers, hook.body + " ", now).ok());

  for (const auto& id : event["record_ids"]) {
    auto rec = Get("/v3/accounting/records/" + id.get<std::string>());
    EXPECT_EQ(rec["review_status"], "READY_FOR_EXPORT");
    EXPECT_GE(rec["version"].get<int>(), 2);
    std::set<std::string> fields;
    for (const auto& f : rec["line_items"][0]["accounting_field_values"]) fields.insert(f["remote_field_id"]);
    EXPECT_EQ(fields, (std::set<std::string>{"GL_ACCOUNT", "DEPARTMENT", "CUSTOMER"}));
  }
  EXPECT_EQ(Control("GET", "/_sandbox/stats")["webhooks"]["sent"], 1);
}

TEST_F(BrexTest, ExportResultsMovesReadyRecordsToExportedAllOrNothing) {
  Start(50);
  std::vector<std::string> ready, other;
  for (const auto& r : Objects("accounting_records")) {
    (r["review_status"] == "READY_FOR_EXPORT" ? ready : other).push_back(r["id"]);
  }
  ASSERT_GE(ready.size(), 3u);
  ASSERT_FALSE(other.empty());
  auto post = [&](const nlohmann::json& body) {
    return Call("POST", "/v3/accounting/records/export-results", body.dump());
  };
  auto success = [](const std::string& id) {
    return nlohmann::json{
        {"accounting_record_id", id},
        {"success", {{"reference_id", "FB-" + id.substr(5, 4)}, {"deep_link_url", "https://erp/x"}}}};
  };

  // Rejected requests change nothing.
  HttpResponse unknown = post({{"results", {success(ready[0]), success("accr_ghost")}}});
  EXPECT_EQ(unknown.status, 404);
  EXPECT_EQ(unknown.Json().value()["details"]["not_found_export_entry_source_ids"],
            nlohmann::json({"accr_ghost"}));
  HttpResponse dup = post(
      {{"results",
        {success(ready[0]), {{"accounting_record_id", ready[0]}, {"failure", {{"error_message", "x"}}}}}}});
  EXPECT_EQ(dup.status, 422);
  EXPECT_EQ(dup.Json().value()["error_code"], "DUPLICATE_ACCOUNTING_RECORD_IDS");
  HttpResponse not_ready = post({{"results", {success(other[0])}}});
  EXPECT_EQ(not_ready.status, 422);
  EXPECT_EQ(not_ready.Json().value()["details"]["not_ready_for_export_accounting_record_ids"],
            nlohmann::json({other[0]}));
  for (const nlohmann::json& bad :
       {nlohmann::json{{"results", nlohmann::json::array()}}, nlohmann::json{{"nothing", 1}},
        nlohmann::json{{"results", {{{"accounting_record_id", ready[0]}}}}},
        nlohmann::json{
            {"results", {{{"accounting_record_id", ready[0]}, {"failure", nlohmann::json::object()}}}}}}) {
    HttpResponse r = post(bad);
    EXPECT_EQ(r.status, 400) << bad.dump();
    EXPECT_EQ(r.Json().value()["error_code"], "INVALID_REQUEST");
  }
  HttpResponse malformed = Call("POST", "/v3/accounting/records/export-results", "{\"results\": [");
  EXPECT_EQ(malformed.status, 400);
  EXPECT_EQ(malformed.Json().value()["error_code"], "INVALID_REQUEST");
  EXPECT_EQ(Get("/v3/accounting/records/" + ready[0])["review_status"], "READY_FOR_EXPORT");

  HttpResponse ok = post(
      {{"results",
        {success(ready[0]),
         success(ready[1]),
         {{"accounting_record_id", ready[2]}, {"failure", {{"error_message", "Invalid GL account"}}}}}}});
  ASSERT_EQ(ok.status, 200) << ok.body;
  EXPECT_EQ(ok.Json().value()["updated_accounting_record_ids"],
            nlohmann::json({ready[0], ready[1], ready[2]}));
  EXPECT_EQ(Get("/v3/accounting/records/" + ready[0])["review_status"], "EXPORTED");
  EXPECT_EQ(Get("/v3/accounting/records/" + ready[2])["review_status"], "READY_FOR_EXPORT");
  // Reporting an exported record again is refused: it is no longer READY_FOR_EXPORT.
  HttpResponse again = post({{"results", {success(ready[0])}}});
  EXPECT_EQ(again.status, 422);
  EXPECT_EQ(again.Json().value()["error_code"], "ACCOUNTING_RECORD_NOT_READY_FOR_EXPORT");
  auto exported = Get("/v3/accounting/records?review_status=EXPORTED&limit=100");
  bool found = false;
  for (const auto& r : exported["items"]) found = found || r["id"] == ready[0];
  EXPECT_TRUE(found);
}

TEST_F(BrexTest, ReadyEventBatchesLargeSetsAndTakesExplicitIds) {
  WebhookReceiver receiver;
  Start(60, {{"ready_event_batch_size", 4}, {"ready_ratio", 0.0}, {"exported_ratio", 0.0}}, receiver.url());
  auto event =
      Control("POST", "/_sandbox/events", {{"type", "ACCOUNTING_RECORD_READY_FOR_EXPORT"}, {"count", 10}});
  EXPECT_EQ(event["record_ids"].size(), 10u);
  EXPECT_EQ(event["webhook_ids"].size(), 3u);
  Control("POST", "/_sandbox/webhooks/flush");
  size_t ids = 0;
  for (const auto& hook : receiver.received())
    ids += nlohmann::json::parse(hook.body)["accountingRecordIds"].size();
  EXPECT_EQ(ids, 10u);

  const std::string ready = event["record_ids"][0];
  HttpResponse bad =
      Call("POST", "/_sandbox/events",
           nlohmann::json{{"type", "ACCOUNTING_RECORD_READY_FOR_EXPORT"}, {"record_ids", {ready}}}.dump(), {},
           false);
  EXPECT_EQ(bad.status, 400);
  std::string pending;
  for (const auto& r : Objects("accounting_records")) {
    if (r["review_status"] == "PREPARE") pending = r["id"];
  }
  auto chosen = Control("POST", "/_sandbox/events",
                        {{"type", "ACCOUNTING_RECORD_READY_FOR_EXPORT"}, {"record_ids", {pending}}});
  EXPECT_EQ(chosen["record_ids"], nlohmann::json({pending}));
  HttpResponse unknown = Call("POST", "/_sandbox/events", R"({"type":"NO_SUCH_EVENT"})", {}, false);
  EXPECT_EQ(unknown.status, 404);
}

TEST_F(BrexTest, SeedHasAgencySpendReceiptsAndSomeUnknownGlCodes) {
  Start(200, {{"unknown_gl_ratio", 0.2}});
  std::set<std::string> unknown_codes;
  for (const auto& g : Objects("gl_accounts")) {
    if (!g["known_to_ledger"].get<bool>()) unknown_codes.insert(g["remote_field_value_id"]);
  }
  EXPECT_FALSE(unknown_codes.empty());
  int unknown = 0, coded = 0;
  for (const auto& r : Objects("accounting_records")) {
    for (const auto& f : r["line_items"][0]["accounting_field_values"]) {
      if (f["remote_field_id"] != "GL_ACCOUNT") continue;
      ++coded;
      unknown += unknown_codes.count(f["remote_field_value_id"]) ? 1 : 0;
    }
  }
  EXPECT_GT(coded, 0);
  EXPECT_GT(unknown, 0);
  int with_receipts = 0;
  std::set<std::string> categories;
  bool facebook = false, square = false, uber = false;
  for (const auto& e : Objects("expenses")) {
    with_receipts += e["receipts"].empty() ? 0 : 1;
    categories.insert(e["category"]);
    const std::string d = e["merchant"]["raw_descriptor"];
    facebook = facebook || d.rfind("FACEBK *ADS ", 0) == 0;
    square = square || d == "SQ *BLUE BOTTLE COFFEE";
    uber = uber || d == "UBER   *TRIP HELP.UBER.COM";
  }
  EXPECT_GT(with_receipts, 200 / 2);
  EXPECT_LT(with_receipts, 200);
  EXPECT_TRUE(categories.count("ADVERTISING_AND_MARKETING"));
  EXPECT_TRUE(categories.count("AIRLINE_EXPENSES"));
  EXPECT_TRUE(categories.count("RECURRING_SOFTWARE_AND_SAAS"));
  EXPECT_TRUE(facebook && square && uber);
}

}  // namespace
}  // namespace mlc::sandbox::brex::testing
