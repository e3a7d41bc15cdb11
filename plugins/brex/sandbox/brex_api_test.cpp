// Brex emulator: expenses and receipts, card transactions, vendors, transfers and webhook subscriptions,
// including bad inputs answered in Brex's v1 error shape.
#include <gtest/gtest.h>

#include <set>

#include "brex_test_util.hpp"
#include "mlc/sandbox/crypto.hpp"
#include "mlc/sandbox/webhooks.hpp"

namespace mlc::sandbox::brex::testing {
namespace {

void ExpectV1Error(const HttpResponse& r, long status, const std::string& type) {
  EXPECT_EQ(r.status, status) << r.body;
  auto doc = r.Json();
  ASSERT_TRUE(doc.ok()) << r.body;
  EXPECT_EQ((*doc)["type"], type) << r.body;
  EXPECT_TRUE((*doc)["message"].is_string()) << r.body;
}

TEST_F(BrexTest, V1ListsRejectLimitOver1000) {
  Start(5);
  for (const char* path : {"/v1/expenses", "/v1/expenses/card", "/v2/transactions/card/primary",
                           "/v1/vendors", "/v1/transfers", "/v1/webhooks", "/v2/users"}) {
    ExpectV1Error(Call("GET", std::string(path) + "?limit=1001"), 400, "BAD_REQUEST");
    ExpectV1Error(Call("GET", std::string(path) + "?limit=-1"), 400, "BAD_REQUEST");
    ExpectV1Error(Call("GET", std::string(path) + "?cursor=bm9wZQ=="), 400, "BAD_REQUEST");
    HttpResponse ok = Call("GET", std::string(path) + "?limit=1000");
    EXPECT_EQ(ok.status, 200) << path;
    auto doc = ok.Json().value();
    EXPECT_TRUE(doc.contains("next_cursor")) << path;
    EXPECT_TRUE(doc["items"].is_array()) << path;
    EXPECT_FALSE(doc.contains("has_next_page")) << path;
  }
}

TEST_F(BrexTest, ExpensePaginationAndCardOnlyList) {
  Start(60, {{"reimbursement_ratio", 0.5}});
  const auto all = Walk("/v1/expenses", 9);
  ASSERT_EQ(all.size(), 60u);
  std::set<std::string> ids;
  int reimbursements = 0;
  for (const auto& e : all) {
    ids.insert(e["id"].get<std::string>());
    reimbursements += e["expense_type"] == "REIMBURSEMENT" ? 1 : 0;
    EXPECT_TRUE(e["original_amount"]["amount"].is_number_integer());
    EXPECT_TRUE(e["merchant"].is_null());  // only with expand[]=merchant
    EXPECT_FALSE(e.contains("custom_fields"));
  }
  EXPECT_EQ(ids.size(), 60u);
  ASSERT_GT(reimbursements, 0);
  const auto card = Walk("/v1/expenses/card", 100);
  EXPECT_EQ(card.size(), 60u - static_cast<size_t>(reimbursements));
  for (const auto& e : card) EXPECT_EQ(e["expense_type"], "CARD");
  auto filtered = Get("/v1/expenses?limit=1000&expense_type[]=REIMBURSEMENT");
  EXPECT_EQ(filtered["items"].size(), static_cast<size_t>(reimbursements));
}

TEST_F(BrexTest, ExpenseFiltersExpansionsAndCustomFields) {
  Start(40);
  auto page = Get("/v1/expenses?limit=5&expand[]=merchant&expand[]=user&load_custom_fields=true");
  for (const auto& e : page["items"]) {
    EXPECT_TRUE(e["merchant"]["raw_descriptor"].is_string());
    EXPECT_EQ(e["merchant"]["mcc"].get<std::string>().size(), 4u);
    EXPECT_EQ(e["merchant"]["country"], "USA");
    EXPECT_EQ(e["user"]["id"], e["user_id"]);
    std::set<std::string> keys;
    for (const auto& f : e["custom_fields"]) keys.insert(f["key"]);
    EXPECT_EQ(keys, (std::set<std::string>{"client", "project_code", "billable"}));
  }
  auto may_first_week = Get(
      "/v1/"
      "expenses?limit=1000&purchased_at_start=2025-05-01T00:00:00&purchased_at_end=2025-05-07T23:59:59.999");
  for (const auto& e : may_first_week["items"]) EXPECT_LT(e["purchased_at"].get<std::string>(), "2025-05-08");
  EXPECT_LT(may_first_week["items"].size(), 40u);
  auto approved = Get("/v1/expenses?limit=1000&status[]=APPROVED");
  for (const auto& e : approved["items"]) EXPECT_EQ(e["status"], "APPROVED");
  ExpectV1Error(Call("GET", "/v1/expenses?status[]=FINISHED"), 400, "BAD_REQUEST");
  ExpectV1Error(Call("GET", "/v1/expenses?expand[]=everything"), 400, "BAD_REQUEST");
  ExpectV1Error(Call("GET", "/v1/expenses?purchased_at_start=last+week"), 400, "BAD_REQUEST");
  ExpectV1Error(Call("GET", "/v1/expenses?load_custom_fields=yes"), 400, "BAD_REQUEST");
  ExpectV1Error(Call("GET", "/v1/expenses/expense_nope"), 404, "NOT_FOUND");
  const std::string id = page["items"][0]["id"];
  EXPECT_EQ(Get("/v1/expenses/" + id)["id"], id);
}

TEST_F(BrexTest, ReceiptsDownloadAsDeterministicPdfsFromExpiringLinks) {
  Start(20);
  std::string url, expense_id;
  const nlohmann::json page = Get("/v1/expenses?limit=100&expand[]=receipts.download_uris");
  for (const auto& e : page["items"]) {
    if (!e["receipts"].empty()) {
      url = e["receipts"][0]["download_uris"][0];
      expense_id = e["id"];
      break;
    }
  }
  ASSERT_FALSE(url.empty());
  HttpResponse pdf = Call("GET", url, "", {}, /*auth=*/false);
  ASSERT_EQ(pdf.status, 200);
  EXPECT_EQ(pdf.Header("Content-Type").value_or(""), "application/pdf");
  EXPECT_EQ(pdf.body.rfind("%PDF-1.4", 0), 0u);
  EXPECT_NE(pdf.body.find("%%EOF"), std::string::npos);
  EXPECT_EQ(Call("GET", url, "", {}, false).body, pdf.body);
  bool listed = false;
  for (const auto& r : Objects("receipts")) {
    if (r["expense_id"] == expense_id) listed = r["sha256"] == HexEncode(Sha256(pdf.body));
  }
  EXPECT_TRUE(listed);

  std::string tampered = url;
  tampered[tampered.size() - 1] = tampered.back() == '0' ? '1' : '0';
  EXPECT_EQ(Call("GET", tampered, "", {}, false).status, 403);
  EXPECT_EQ(Call("GET", url.substr(0, url.find('?')), "", {}, false).status, 403);
  AdvanceClock(901);
  HttpResponse expired = Call("GET", url, "", {}, false);
  EXPECT_EQ(expired.status, 403);
  EXPECT_NE(expired.body.find("expired"), std::string::npos);
  EXPECT_EQ(Call("GET", base_ + "/receipts/receipt_nope/x.pdf", "", {}, false).status, 404);
}

TEST_F(BrexTest, UpdatesExpenseMemo) {
  Start(10);
  const auto card = Get("/v1/expenses/card?limit=1")["items"][0];
  const std::string id = card["id"];
  HttpResponse r = Call("PUT", "/v1/expenses/card/" + id, R"({"memo":"Client dinner - Verde Foods"})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.Json().value()["memo"], "Client dinner - Verde Foods");
  EXPECT_GT(Get("/v1/expenses/" + id)["updated_at"].get<std::string>(),
            card["updated_at"].get<std::string>());
  ExpectV1Error(Call("PUT", "/v1/expenses/card/" + id, "{oops"), 400, "BAD_REQUEST");
  ExpectV1Error(Call("PUT", "/v1/expenses/card/" + id, R"({"memo":"caf\u00e9"})"), 400, "BAD_REQUEST");
  ExpectV1Error(Call("PUT", "/v1/expenses/card/expense_nope", R"({"memo":"x"})"), 404, "NOT_FOUND");
}

TEST_F(BrexTest, CardTransactionsAreSettledPurchasesInCents) {
  Start(30);
  std::map<std::string, int64_t> expense_cents;
  for (const auto& e : Objects("expenses")) expense_cents[e["id"]] = e["billing_amount"]["amount"];
  const auto txns = Walk("/v2/transactions/card/primary?expand[]=expense_id", 8);
  ASSERT_FALSE(txns.empty());
  for (const auto& t : txns) {
    EXPECT_EQ(t["type"], "PURCHASE");
    EXPECT_EQ(t["posted_at_date"].get<std::string>().size(), 10u);
    EXPECT_EQ(t["amount"]["amount"].get<int64_t>(), expense_cents[t["expense_id"]]);
    EXPECT_EQ(t["merchant"]["raw_descriptor"], t["description"]);
  }
  EXPECT_TRUE(Get("/v2/transactions/card/primary?limit=1")["items"][0]["expense_id"].is_null());
  auto late = Get("/v2/transactions/card/primary?limit=1000&posted_at_start=2025-05-20T00:00:00Z");
  for (const auto& t : late["items"]) EXPECT_GE(t["posted_at_date"].get<std::string>(), "2025-05-20");
  ExpectV1Error(Call("GET", "/v2/transactions/card/primary?posted_at_start=soon"), 400, "BAD_REQUEST");
  ExpectV1Error(Call("GET", "/v2/transactions/card/primary?expand[]=merchant"), 400, "BAD_REQUEST");
}

TEST_F(BrexTest, CreateVendorRequiresIdempotencyKeyAndReplaysTheFirstResponse) {
  Start(5);
  const std::string body =
      R"({"company_name":"Juniper Sound Design","email":"ap@juniper.example",
          "payment_accounts":[{"details":{"type":"ACH","routing_number":"021000021","account_number":"123456789",
                                          "account_type":"CHECKING","account_class":"BUSINESS"}}]})";
  ExpectV1Error(Call("POST", "/v1/vendors", body), 400, "BAD_REQUEST");
  HttpResponse created = Call("POST", "/v1/vendors", body, {{"Idempotency-Key", "vendor-1"}});
  ASSERT_EQ(created.status, 200) << created.body;
  auto vendor = created.Json().value();
  EXPECT_TRUE(vendor["id"].is_string());
  EXPECT_EQ(vendor["payment_accounts"][0]["details"]["type"], "ACH");
  EXPECT_EQ(
      vendor["payment_accounts"][0]["details"]["payment_instrument_id"].get<std::string>().rfind("pi_", 0),
      0u);
  HttpResponse replay = Call("POST", "/v1/vendors", body, {{"Idempotency-Key", "vendor-1"}});
  EXPECT_EQ(replay.status, 200);
  EXPECT_EQ(replay.body, created.body);
  size_t count = 0;
  for (const auto& v : Objects("vendors")) count += v["company_name"] == "Juniper Sound Design" ? 1 : 0;
  EXPECT_EQ(count, 1u);
  // Same name, new key: names must be unique.
  ExpectV1Error(Call("POST", "/v1/vendors", body, {{"Idempotency-Key", "vendor-2"}}), 400, "BAD_REQUEST");

  for (const char* bad :
       {"{not json", "[]", R"({"email":"x@y.z"})", R"({"company_name":"Caf\u00e9 Noir"})",
        R"({"company_name":"A","email":"nope"})",
        R"({"company_name":"B","payment_accounts":[{"details":{"type":"ACH","routing_number":"12"}}]})",
        R"({"company_name":"C","payment_accounts":[{"details":{"type":"WIRE"}}]})"}) {
    ExpectV1Error(Call("POST", "/v1/vendors", bad, {{"Idempotency-Key", std::string("bad-") + bad}}), 400,
                  "BAD_REQUEST");
  }
}

TEST_F(BrexTest, VendorReadUpdateDeleteAndNameFilter) {
  Start(5);
  const auto vendors = Walk("/v1/vendors", 3);
  ASSERT_EQ(vendors.size(), 10u);
  const std::string id = vendors[0]["id"];
  const std::string name = vendors[0]["company_name"];
  auto by_name = Get("/v1/vendors?name=" + UrlEncode(name));
  ASSERT_EQ(by_name["items"].size(), 1u);
  EXPECT_EQ(by_name["items"][0]["id"], id);
  EXPECT_EQ(Get("/v1/vendors?name=nobody")["items"].size(), 0u);
  HttpResponse updated = Call("PUT", "/v1/vendors/" + id, R"({"phone":"+14155550199"})");
  ASSERT_EQ(updated.status, 200);
  EXPECT_EQ(updated.Json().value()["phone"], "+14155550199");
  EXPECT_EQ(updated.Json().value()["payment_accounts"], vendors[0]["payment_accounts"]);
  ExpectV1Error(Call("PUT", "/v1/vendors/" + id,
                     R"({"company_name":")" + vendors[1]["company_name"].get<std::string>() + "\"}"),
                400, "BAD_REQUEST");
  EXPECT_EQ(Call("DELETE", "/v1/vendors/" + id).status, 200);
  ExpectV1Error(Call("GET", "/v1/vendors/" + id), 404, "NOT_FOUND");
  ExpectV1Error(Call("DELETE", "/v1/vendors/" + id), 404, "NOT_FOUND");
  ExpectV1Error(Call("GET", "/v1/vendors/vendor_unknown"), 404, "NOT_FOUND");
  EXPECT_EQ(Walk("/v1/vendors", 100).size(), 9u);
}

TEST_F(BrexTest, TransfersRequireIdempotencyAndValidateThePayment) {
  WebhookReceiver receiver;
  Start(5, nlohmann::json::object(), receiver.url());
  const auto vendor = Get("/v1/vendors?limit=1")["items"][0];
  const std::string instrument = vendor["payment_accounts"][0]["details"]["payment_instrument_id"];
  nlohmann::json body = {{"counterparty", {{"type", "VENDOR"}, {"payment_instrument_id", instrument}}},
                         {"amount", {{"amount", 125000}, {"currency", "USD"}}},
                         {"description", "Invoice 1042"},
                         {"external_memo", "Brightline payment INV-1042"},
                         {"originating_account", {{"type", "BREX_CASH"}, {"id", creds_["cash_account_id"]}}}};
  ExpectV1Error(Call("POST", "/v1/transfers", body.dump()), 400, "BAD_REQUEST");
  HttpResponse created = Call("POST", "/v1/transfers", body.dump(), {{"Idempotency-Key", "t-1"}});
  ASSERT_EQ(created.status, 200) << created.body;
  auto transfer = created.Json().value();
  EXPECT_EQ(transfer["status"], "PROCESSING");
  EXPECT_EQ(transfer["amount"]["amount"], 125000);
  EXPECT_EQ(transfer["counterparty"]["id"], vendor["id"]);
  EXPECT_EQ(transfer["payment_type"], "ACH");
  EXPECT_EQ(Call("POST", "/v1/transfers", body.dump(), {{"Idempotency-Key", "t-1"}}).body, created.body);
  EXPECT_EQ(Get("/v1/transfers/" + transfer["id"].get<std::string>())["id"], transfer["id"]);
  ExpectV1Error(Call("GET", "/v1/transfers/transfer_nope"), 404, "NOT_FOUND");

  auto variant = [&](const char* key, nlohmann::json value) {
    nlohmann::json b = body;
    b[key] = std::move(value);
    return Call("POST", "/v1/transfers", b.dump(),
                {{"Idempotency-Key", std::string("v-") + key + b[key].dump()}});
  };
  ExpectV1Error(variant("amount", {{"amount", -5}}), 400, "BAD_REQUEST");
  ExpectV1Error(variant("amount", {{"amount", 10.5}}), 400, "BAD_REQUEST");
  ExpectV1Error(variant("amount", {{"amount", 100}, {"currency", "EUR"}}), 400, "BAD_REQUEST");
  ExpectV1Error(variant("counterparty", {{"type", "VENDOR"}, {"payment_instrument_id", "pi_nope"}}), 400,
                "BAD_REQUEST");
  ExpectV1Error(variant("external_memo", std::string(91, 'm')), 400, "BAD_REQUEST");
  ExpectV1Error(variant("originating_account", {{"type", "BREX_CASH"}, {"id", "dpacc_other"}}), 400,
                "BAD_REQUEST");
  ExpectV1Error(Call("POST", "/v1/transfers", "{", {{"Idempotency-Key", "broken"}}), 400, "BAD_REQUEST");

  auto event = Control("POST", "/_sandbox/events", {{"type", "TRANSFER_PROCESSED"}, {"count", 10}});
  bool processed = false;
  for (const auto& id : event["transfer_ids"]) processed = processed || id == transfer["id"];
  EXPECT_TRUE(processed);
  EXPECT_EQ(Get("/v1/transfers/" + transfer["id"].get<std::string>())["status"], "PROCESSED");
  Control("POST", "/_sandbox/webhooks/flush");
  bool hook = false;
  for (const auto& r : receiver.received()) {
    auto b = nlohmann::json::parse(r.body);
    hook = hook || (b["event_type"] == "TRANSFER_PROCESSED" && b["transfer_id"] == transfer["id"]);
  }
  EXPECT_TRUE(hook);
}

TEST_F(BrexTest, WebhookSubscriptionsCrud) {
  Start(5);
  const nlohmann::json sub = {{"url", "https://hooks.example.com/brex"},
                              {"event_types", {"EXPENSE_PAYMENT_UPDATED"}}};
  ExpectV1Error(Call("POST", "/v1/webhooks", sub.dump()), 400, "BAD_REQUEST");
  HttpResponse created = Call("POST", "/v1/webhooks", sub.dump(), {{"Idempotency-Key", "w-1"}});
  ASSERT_EQ(created.status, 200) << created.body;
  auto doc = created.Json().value();
  EXPECT_EQ(doc["status"], "ACTIVE");
  const std::string id = doc["id"];
  EXPECT_EQ(id.rfind("wsub_", 0), 0u);
  EXPECT_EQ(Call("POST", "/v1/webhooks", sub.dump(), {{"Idempotency-Key", "w-1"}}).body, created.body);
  EXPECT_EQ(Walk("/v1/webhooks", 10).size(), 1u);
  EXPECT_EQ(Get("/v1/webhooks/" + id)["url"], "https://hooks.example.com/brex");
  HttpResponse put =
      Call("PUT", "/v1/webhooks/" + id,
           R"({"url":"https://hooks.example.com/v2","event_types":["TRANSFER_FAILED"],"status":"INACTIVE"})");
  ASSERT_EQ(put.status, 200) << put.body;
  EXPECT_EQ(put.Json().value()["status"], "INACTIVE");
  ExpectV1Error(Call("PUT", "/v1/webhooks/" + id,
                     R"({"url":"https://h.example.com","event_types":["TRANSFER_FAILED"]})"),
                400, "BAD_REQUEST");
  for (const char* bad : {R"({"url":"http://hooks.example.com","event_types":["TRANSFER_FAILED"]})",
                          R"({"url":"https://h.example.com","event_types":[]})",
                          R"({"url":"https://h.example.com","event_types":["SOMETHING_ELSE"]})", "nope"}) {
    ExpectV1Error(Call("POST", "/v1/webhooks", bad, {{"Idempotency-Key", std::string("w-") + bad}}), 400,
                  "BAD_REQUEST");
  }
  EXPECT_EQ(Call("DELETE", "/v1/webhooks/" + id).status, 200);
  ExpectV1Error(Call("GET", "/v1/webhooks/" + id), 404, "NOT_FOUND");
  EXPECT_EQ(Walk("/v1/webhooks", 10).size(), 0u);
}

TEST_F(BrexTest, SubscribedEventsAreSignedWithBothSecretsDuringRotation) {
  WebhookReceiver receiver;
  Start(5);
  const nlohmann::json sub = {{"url", receiver.url()}, {"event_types", {"EXPENSE_PAYMENT_UPDATED"}}};
  ASSERT_EQ(Call("POST", "/v1/webhooks", sub.dump(), {{"Idempotency-Key", "w"}}).status, 200);
  const std::string old_secret = Get("/v1/webhooks/secrets")[0]["secret"];
  Control("POST", "/_sandbox/events", {{"type", "ROTATE_WEBHOOK_SECRET"}});
  auto secrets = Get("/v1/webhooks/secrets");
  ASSERT_EQ(secrets.size(), 2u);
  EXPECT_EQ(secrets[0]["status"], "ACTIVE");
  EXPECT_EQ(secrets[1]["status"], "PENDING_REVOKE");
  EXPECT_EQ(secrets[1]["secret"], old_secret);
  const std::string new_secret = secrets[0]["secret"];

  auto event = Control("POST", "/_sandbox/events", {{"type", "EXPENSE_PAYMENT_UPDATED"}, {"count", 1}});
  ASSERT_EQ(event["expense_ids"].size(), 1u);
  Control("POST", "/_sandbox/webhooks/flush");
  auto received = receiver.received();
  ASSERT_EQ(received.size(), 1u);
  const Request& hook = received[0];
  auto body = nlohmann::json::parse(hook.body);
  EXPECT_EQ(body["expense_id"], event["expense_ids"][0]);
  EXPECT_EQ(body["payment_status"], "PENDING");
  EXPECT_TRUE(body["billing_amount"]["amount"].is_number_integer());
  const std::string signature = hook.Header("Webhook-Signature").value_or("");
  EXPECT_NE(signature.find(' '), std::string::npos) << "two signatures while rotating";
  const int64_t now = server_->context().clock.NowUnix();
  EXPECT_TRUE(standard_webhooks::VerifyHeaders({old_secret}, hook.headers, hook.body, now).ok());
  EXPECT_TRUE(standard_webhooks::VerifyHeaders({new_secret}, hook.headers, hook.body, now).ok());
  // The new expense is readable and has a pending accounting record.
  EXPECT_EQ(Get("/v1/expenses/" + event["expense_ids"][0].get<std::string>())["payment_status"],
            "PROCESSING");

  Control("POST", "/_sandbox/events", {{"type", "FINISH_WEBHOOK_SECRET_ROTATION"}});
  auto after = Get("/v1/webhooks/secrets");
  ASSERT_EQ(after.size(), 1u);
  EXPECT_EQ(after[0]["secret"], new_secret);
}

TEST_F(BrexTest, IntegrationLifecycle) {
  Start(5);
  HttpResponse created =
      Call("POST", "/v3/accounting/integration", R"({"vendor":"MLC","vendor_account_id":"acct-1"})");
  ASSERT_EQ(created.status, 200) << created.body;
  const std::string id = created.Json().value()["id"];
  EXPECT_EQ(Call("POST", "/v3/accounting/integration", R"({"vendor":"MLC","vendor_account_id":"acct-1"})")
                .Json()
                .value()["id"],
            id);
  EXPECT_EQ(Call("POST", "/v3/accounting/integration", R"({"vendor":"MLC","vendor_account_id":"acct-2"})")
                .Json()
                .value()["error_code"],
            "VENDOR_ACCOUNT_ID_MISMATCH");
  EXPECT_EQ(
      Call("POST", "/v3/accounting/integration", R"({"vendor":"OTHER","vendor_account_id":"a"})").status,
      409);
  EXPECT_EQ(Call("POST", "/v3/accounting/integration/" + id + "/disconnect").status, 200);
  HttpResponse again = Call("POST", "/v3/accounting/integration/" + id + "/disconnect");
  EXPECT_EQ(again.status, 409);
  EXPECT_EQ(again.Json().value()["error_code"], "INTEGRATION_NOT_ACTIVE");
  EXPECT_EQ(Call("POST", "/v3/accounting/integration/int_nope/disconnect").status, 404);
  EXPECT_EQ(Call("POST", "/v3/accounting/integration/" + id + "/reactivate").status, 200);
  EXPECT_EQ(Call("POST", "/v3/accounting/integration", "{").Json().value()["error_code"], "INVALID_REQUEST");
}

}  // namespace
}  // namespace mlc::sandbox::brex::testing
