// FreshBooks emulator: callback registration, the verifier handshake, verification, and signed event
// delivery checked by a receiver that recomputes X-FreshBooks-Hmac-SHA256 itself.
#include "freshbooks_test_util.hpp"
#include "mlc/sandbox/crypto.hpp"

namespace mlc::sandbox::freshbooks::testing {
namespace {

// The receiver's own check, written from the documented recipe rather than the emulator's helper:
// base64(HMAC-SHA256(verifier, json.dumps(form))) with Python's ", " / ": " separators (ASCII input).
std::string ReceiverSignature(const std::string& verifier, const Request& req) {
  std::string json = "{";
  for (const auto& [k, v] : req.FormBody()) {
    if (json.size() > 1) json += ", ";
    json += "\"" + k + "\": \"" + v + "\"";
  }
  json += "}";
  return Base64Encode(HmacSha256(verifier, json));
}

class FreshBooksEventsTest : public FreshBooksTest {
 protected:
  std::string Callbacks() const { return "/events/account/" + account_ + "/events/callbacks"; }
  nlohmann::json Register(const std::string& event, const std::string& uri) {
    HttpResponse r = CallJson("POST", Callbacks(), {{"callback", {{"event", event}, {"uri", uri}}}});
    EXPECT_EQ(r.status, 200) << r.body;
    return r.Json()->at("response")["result"]["callback"];
  }
  // Registers, waits for the handshake and verifies; returns the verifier.
  std::string RegisterVerified(const std::string& event) {
    auto cb = Register(event, receiver_.url());
    Flush();
    std::string verifier;
    for (const auto& r : receiver_.Named("callback.verify")) {
      if (FormValue(r, "object_id") == std::to_string(cb["callbackid"].get<int64_t>())) {
        verifier = FormValue(r, "verifier");
      }
    }
    EXPECT_FALSE(verifier.empty());
    HttpResponse v = CallJson("PUT", Callbacks() + "/" + std::to_string(cb["callbackid"].get<int64_t>()),
                              {{"callback", {{"verifier", verifier}}}});
    EXPECT_EQ(v.status, 200) << v.body;
    EXPECT_EQ(v.Json()->at("response")["result"]["callback"]["verified"], true);
    return verifier;
  }

  WebhookReceiver receiver_;
};

TEST_F(FreshBooksEventsTest, RegistrationSendsTheVerifierHandshake) {
  Start(10);
  auto cb = Register("expense.create", receiver_.url());
  EXPECT_EQ(cb["verified"], false);
  EXPECT_EQ(cb["event"], "expense.create");
  EXPECT_EQ(cb["uri"], receiver_.url());
  EXPECT_TRUE(cb["callbackid"].is_number_integer());
  EXPECT_EQ(cb["updated_at"].get<std::string>().back(), 'Z');
  Flush();
  auto handshakes = receiver_.Named("callback.verify");
  ASSERT_EQ(handshakes.size(), 1u);
  const Request& h = handshakes[0];
  EXPECT_EQ(h.method, "POST");
  EXPECT_EQ(h.Header("Content-Type").value_or("").rfind("application/x-www-form-urlencoded", 0), 0u);
  EXPECT_EQ(FormValue(h, "object_id"), std::to_string(cb["callbackid"].get<int64_t>()));
  EXPECT_FALSE(FormValue(h, "verifier").empty());
  EXPECT_FALSE(h.Header("X-FreshBooks-Hmac-SHA256").has_value());

  // Events do not flow before verification.
  Control("POST", "/_sandbox/events", {{"type", "expense.create"}, {"count", 1}});
  Flush();
  EXPECT_TRUE(receiver_.Named("expense.create").empty());

  // A wrong verifier is refused in the events error shape; resend repeats the same code.
  const std::string path = Callbacks() + "/" + std::to_string(cb["callbackid"].get<int64_t>());
  HttpResponse wrong = CallJson("PUT", path, {{"callback", {{"verifier", "guess"}}}});
  EXPECT_EQ(wrong.status, 400);
  EXPECT_EQ(wrong.Json()->value("errno", 0), 422);
  EXPECT_EQ(Result(Call("GET", path))["callback"]["verified"], false);
  CallJson("PUT", path, {{"callback", {{"resend", true}}}});
  Flush();
  auto again = receiver_.Named("callback.verify");
  ASSERT_EQ(again.size(), 2u);
  EXPECT_EQ(FormValue(again[1], "verifier"), FormValue(h, "verifier"));
}

TEST_F(FreshBooksEventsTest, VerifiedCallbacksReceiveSignedFormEvents) {
  Start(10);
  const std::string verifier = RegisterVerified("expense.create");
  auto made = Control("POST", "/_sandbox/events", {{"type", "expense.create"}, {"count", 2}});
  EXPECT_EQ(made["object_ids"].size(), 2u);
  Flush();
  auto events = receiver_.Named("expense.create");
  ASSERT_EQ(events.size(), 2u);
  std::set<std::string> object_ids;
  for (const auto& e : events) {
    // name=...&object_id=...&account_id=...&business_id=...&identity_id=...&user_id=...
    const ParamList form = e.FormBody();
    ASSERT_EQ(form.size(), 6u);
    EXPECT_EQ(form[0].first, "name");
    EXPECT_EQ(form[1].first, "object_id");
    EXPECT_EQ(form[2], (std::pair<std::string, std::string>("account_id", account_)));
    EXPECT_EQ(form[3].second, std::to_string(creds_["business_id"].get<int64_t>()));
    EXPECT_EQ(form[4].first, "identity_id");
    EXPECT_EQ(form[5].first, "user_id");
    EXPECT_EQ(e.Header("X-FreshBooks-Hmac-SHA256"), ReceiverSignature(verifier, e));
    EXPECT_NE(e.Header("X-FreshBooks-Hmac-SHA256"), ReceiverSignature("some-other-verifier", e));
    object_ids.insert(FormValue(e, "object_id"));
  }
  // The payload carries ids only; the object is there to fetch.
  for (const auto& id : object_ids) EXPECT_EQ(Call("GET", Acct("expenses/expenses/" + id)).status, 200);
  // Not subscribed: expense.update is not delivered to an expense.create callback.
  Control("POST", "/_sandbox/events", {{"type", "expense.update"}, {"count", 1}});
  Flush();
  EXPECT_TRUE(receiver_.Named("expense.update").empty());
}

TEST_F(FreshBooksEventsTest, ApiWritesEmitEventsAndParentNamesSubscribeToChildren) {
  Start(10);
  const std::string verifier = RegisterVerified("bill_vendor");
  RegisterVerified("expense");
  auto v = Result(CallJson(
      "POST", Acct("bill_vendors/bill_vendors"),
      {{"bill_vendor", {{"vendor_name", "Acme Props"}, {"currency_code", "USD"}, {"language", "en"}}}}));
  const std::string id = std::to_string(v["bill_vendor"]["vendorid"].get<int64_t>());
  CallJson("PUT", Acct("bill_vendors/bill_vendors/" + id), {{"bill_vendor", {{"phone", "4155550101"}}}});
  auto e = Result(CallJson("POST", Acct("expenses/expenses"), ValidExpense()))["expense"];
  CallJson("PUT", Acct("expenses/expenses/" + std::to_string(e["id"].get<int64_t>())),
           {{"expense", {{"vis_state", 1}}}});
  Flush();
  ASSERT_EQ(receiver_.Named("bill_vendor.create").size(), 1u);
  auto updates = receiver_.Named("bill_vendor.update");
  ASSERT_EQ(updates.size(), 1u);
  EXPECT_EQ(FormValue(updates[0], "object_id"), id);
  EXPECT_EQ(updates[0].Header("X-FreshBooks-Hmac-SHA256"), ReceiverSignature(verifier, updates[0]));
  EXPECT_EQ(receiver_.Named("expense.create").size(), 1u);
  auto deletes = receiver_.Named("expense.delete");
  ASSERT_EQ(deletes.size(), 1u);
  EXPECT_EQ(FormValue(deletes[0], "object_id"), std::to_string(e["id"].get<int64_t>()));
  EXPECT_TRUE(receiver_.Named("bill.create").empty());
}

TEST_F(FreshBooksEventsTest, CallbackCrudAndValidation) {
  Start(5);
  HttpResponse bad =
      CallJson("POST", Callbacks(), {{"callback", {{"event", "expense.explode"}, {"uri", "not a url"}}}});
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(
      *bad.Json(),
      (nlohmann::json{
          {"errno", 422},
          {"message", "The request was well-formed but was unable to be followed due to semantic errors."},
          {"details",
           {"event: Value error, Unrecognized event.",
            "uri: Input should be a valid URL, relative URL without a base"}}}));
  EXPECT_EQ(CallJson("POST", Callbacks(), {{"event", "expense"}}).status, 400);

  auto a = Register("invoice.create", "https://hooks.example/a");
  Register("bill.create", "https://hooks.example/b");
  auto list = Result(Call("GET", Callbacks()));
  EXPECT_EQ(list["total"], 2);
  EXPECT_EQ(list["per_page"], 15);
  auto filtered = Result(Call("GET", Callbacks() + "?search%5Bevent%5D=invoice.create"));
  ASSERT_EQ(filtered["total"], 1);
  EXPECT_EQ(filtered["callbacks"][0]["callbackid"], a["callbackid"]);

  const std::string path = Callbacks() + "/" + std::to_string(a["callbackid"].get<int64_t>());
  auto updated = Result(CallJson("PUT", path, {{"callback", {{"event", "invoice"}}}}))["callback"];
  EXPECT_EQ(updated["event"], "invoice");
  EXPECT_EQ(Call("DELETE", path).status, 204);
  HttpResponse gone = Call("GET", path);
  EXPECT_EQ(gone.status, 404);
  EXPECT_EQ(*gone.Json(),
            (nlohmann::json{{"errno", 404}, {"message", "Requested resource could not be found."}}));
  EXPECT_EQ(Call("GET", "/events/account/NOTME/events/callbacks").status, 403);
}

TEST_F(FreshBooksEventsTest, WebhookUrlOptionPreRegistersVerifiedCallbacks) {
  Start(10, nlohmann::json::object(), receiver_.url());
  ASSERT_TRUE(creds_.contains("callbacks"));
  std::string verifier;
  for (const auto& cb : creds_["callbacks"]) {
    if (cb["event"] == "bill") verifier = cb["verifier"];
  }
  ASSERT_FALSE(verifier.empty());
  Control("POST", "/_sandbox/events", {{"type", "bill.create"}, {"count", 1}});
  Flush();
  auto events = receiver_.Named("bill.create");
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].Header("X-FreshBooks-Hmac-SHA256"), ReceiverSignature(verifier, events[0]));
  auto deliveries = Objects("webhook_deliveries");
  ASSERT_FALSE(deliveries.empty());
  EXPECT_EQ(deliveries.back()["state"], "delivered");
}

TEST_F(FreshBooksEventsTest, ControlEventsCoverTheSyncObjectsAndRejectUnknownTypes) {
  Start(10);
  const size_t vendors = Objects("bill_vendors").size();
  Control("POST", "/_sandbox/events", {{"type", "bill_vendor.create"}, {"count", 3}});
  EXPECT_EQ(Objects("bill_vendors").size(), vendors + 3);
  auto deleted = Control("POST", "/_sandbox/events", {{"type", "bill.delete"}, {"count", 1}});
  const int64_t billid = deleted["object_ids"][0];
  EXPECT_EQ(Result(Call("GET", Acct("bills/bills/" + std::to_string(billid))))["bill"]["vis_state"], 1);
  Control("POST", "/_sandbox/events", {{"type", "payment.create"}, {"count", 1}});
  HttpResponse unknown = Call("POST", "/_sandbox/events", R"({"type":"widget.create","count":1})", {}, false);
  EXPECT_EQ(unknown.status, 404);
}

}  // namespace
}  // namespace mlc::sandbox::freshbooks::testing
