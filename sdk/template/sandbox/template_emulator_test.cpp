// Tests of the Template Co emulator over real HTTP on 127.0.0.1: auth, paging and cursors, idempotent
// creates and marker lookup, bad input, OAuth token expiry on the sandbox clock, and signed webhooks.
#include "template_emulator.hpp"

#include <mutex>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "mlc/sandbox/crypto.hpp"
#include "mlc/sandbox/http_client.hpp"
#include "mlc/sandbox/server.hpp"

namespace mlc::sandbox::template_co {
namespace {

using json = nlohmann::json;

class TemplateEmulatorTest : public ::testing::Test {
 protected:
  void Start(int records, std::string webhook_url = {}) {
    EmulatorOptions options;
    options.seed = 11;
    options.records = records;
    options.webhook_url = std::move(webhook_url);
    auto server = SandboxServer::Start(MakeTemplateEmulator(options), options);
    ASSERT_TRUE(server.ok()) << server.status().ToString();
    server_ = std::move(*server);
    base_ = server_->base_url();
    info_ = Control("GET", "/_sandbox/info");
    token_ = info_["credentials"]["token"].get<std::string>();
  }

  json Control(const std::string& method, const std::string& path, const std::string& body = {}) {
    auto r = client_.Send(method, base_ + path, {}, body);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    if (!r.ok()) return json();
    EXPECT_EQ(r->status, 200) << r->body;
    return r->Json().value_or(json());
  }

  HttpResponse Api(const std::string& method, const std::string& path, const std::string& body = {},
                   HeaderList headers = {}, const std::string& token = "") {
    headers.push_back({"Authorization", "Bearer " + (token.empty() ? token_ : token)});
    auto r = client_.Send(method, base_ + path, headers, body);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : HttpResponse{};
  }

  size_t ObjectCount() { return Control("GET", "/_sandbox/objects/expenses").size(); }

  HttpClient client_;
  std::unique_ptr<SandboxServer> server_;
  std::string base_, token_;
  json info_;
};

const char kExpense[] =
    R"({"amount": "12.50", "currency": "USD", "merchant": "Staples", "spent_on": "2024-03-01", "marker": "m-1"})";

TEST_F(TemplateEmulatorTest, RequiresAKnownBearerToken) {
  Start(3);
  EXPECT_EQ(client_.Get(base_ + "/v1/me")->status, 401);
  EXPECT_EQ(Api("GET", "/v1/me", {}, {}, "tco_wrong").status, 401);
  HttpResponse me = Api("GET", "/v1/me");
  ASSERT_EQ(me.status, 200);
  EXPECT_EQ(me.Json()->at("company"), "Template Co");
}

TEST_F(TemplateEmulatorTest, PagesInChangeOrderAndACursorPastTheEndIsEmpty) {
  Start(7);
  std::vector<std::string> ids;
  std::string cursor;
  int pages = 0;
  for (bool more = true; more; ++pages) {
    HttpResponse r = Api("GET", "/v1/expenses?limit=3" + (cursor.empty() ? "" : "&cursor=" + cursor));
    ASSERT_EQ(r.status, 200) << r.body;
    json page = *r.Json();
    for (const json& e : page["data"]) ids.push_back(e["id"]);
    cursor = page["next_cursor"];
    more = page["has_more"];
  }
  EXPECT_EQ(pages, 3);
  EXPECT_EQ(ids.size(), 7u);
  // Caught up: nothing new from the end cursor, until something changes.
  EXPECT_TRUE(Api("GET", "/v1/expenses?cursor=" + cursor).Json()->at("data").empty());
  json created = Control("POST", "/_sandbox/events", R"({"type": "expense.created", "count": 2})");
  EXPECT_EQ(created["created"].size(), 2u);
  json fresh = *Api("GET", "/v1/expenses?cursor=" + cursor).Json();
  ASSERT_EQ(fresh["data"].size(), 2u);
  EXPECT_EQ(fresh["data"][0]["id"], created["created"][0]);

  json future = *Api("GET", "/v1/expenses?cursor=s999999").Json();
  EXPECT_TRUE(future["data"].empty());
  EXPECT_EQ(future["next_cursor"], "s999999");
  EXPECT_FALSE(future["has_more"].get<bool>());
  EXPECT_EQ(Api("GET", "/v1/expenses?cursor=bogus").status, 400);
  EXPECT_EQ(Api("GET", "/v1/expenses?limit=0").status, 400);
}

TEST_F(TemplateEmulatorTest, IdempotencyKeyReplaysTheFirstCreate) {
  Start(2);
  HttpResponse first = Api("POST", "/v1/expenses", kExpense, {{"Idempotency-Key", "k1"}});
  ASSERT_EQ(first.status, 201) << first.body;
  HttpResponse again = Api("POST", "/v1/expenses", kExpense, {{"Idempotency-Key", "k1"}});
  ASSERT_EQ(again.status, 201);
  EXPECT_EQ(first.Json()->at("id"), again.Json()->at("id"));
  EXPECT_EQ(again.Header("Idempotent-Replayed").value_or(""), "true");
  EXPECT_EQ(ObjectCount(), 3u);
  // The same key with another body is refused, not applied.
  EXPECT_EQ(Api("POST", "/v1/expenses",
                R"({"amount": "1.00", "currency": "USD", "merchant": "X", "spent_on": "2024-03-01"})",
                {{"Idempotency-Key", "k1"}})
                .status,
            409);
  EXPECT_EQ(ObjectCount(), 3u);
  // Lookup by marker finds it.
  json found = *Api("GET", "/v1/expenses?marker=m-1").Json();
  ASSERT_EQ(found["data"].size(), 1u);
  EXPECT_EQ(found["data"][0]["id"], first.Json()->at("id"));
  EXPECT_EQ(found["data"][0]["amount"], "12.50");
  EXPECT_TRUE(Api("GET", "/v1/expenses?marker=nope").Json()->at("data").empty());
}

TEST_F(TemplateEmulatorTest, BadCreatesChangeNothing) {
  Start(1);
  for (const char* body :
       {R"({"amount": 12.5, "currency": "USD", "merchant": "X", "spent_on": "2024-03-01"})",
        R"({"amount": "12.50", "currency": "usd", "merchant": "X", "spent_on": "2024-03-01"})",
        R"({"amount": "12.50", "currency": "USD", "merchant": "", "spent_on": "2024-03-01"})",
        R"({"amount": "12.50", "currency": "USD", "merchant": "X", "spent_on": "2024-13-01"})",
        R"({"amount": "abc", "currency": "USD", "merchant": "X", "spent_on": "2024-03-01"})", R"([1, 2])",
        "not json"}) {
    HttpResponse r = Api("POST", "/v1/expenses", body);
    EXPECT_TRUE(r.status == 400 || r.status == 422) << body << " -> " << r.status;
    EXPECT_TRUE(r.Json()->contains("error")) << r.body;
  }
  EXPECT_EQ(ObjectCount(), 1u);
  EXPECT_EQ(Api("POST", "/v1/exports", R"({"items": [{"expense_id": "exp_missing", "ok": true}]})").status,
            422);
  EXPECT_TRUE(Control("GET", "/_sandbox/objects/exports").empty());
}

TEST_F(TemplateEmulatorTest, ClientCredentialsTokensExpireOnTheSandboxClock) {
  Start(1);
  const json& creds = info_["credentials"];
  auto token = client_.Send(
      "POST", creds["token_url"].get<std::string>(), {{"Content-Type", "application/x-www-form-urlencoded"}},
      "grant_type=client_credentials&client_id=" + creds["client_id"].get<std::string>() +
          "&client_secret=" + creds["client_secret"].get<std::string>());
  ASSERT_TRUE(token.ok());
  ASSERT_EQ(token->status, 200) << token->body;
  const std::string access = token->Json()->at("access_token");
  EXPECT_EQ(Api("GET", "/v1/me", {}, {}, access).status, 200);
  Control("POST", "/_sandbox/clock", R"({"advance_s": 3700})");
  HttpResponse expired = Api("GET", "/v1/me", {}, {}, access);
  EXPECT_EQ(expired.status, 401);
  EXPECT_EQ(expired.Json()->at("error").at("code"), "token_expired");
  // The static token does not expire.
  EXPECT_EQ(Api("GET", "/v1/me").status, 200);
  auto bad = client_.Send("POST", creds["token_url"].get<std::string>(),
                          {{"Content-Type", "application/x-www-form-urlencoded"}},
                          "grant_type=client_credentials&client_id=x&client_secret=y");
  ASSERT_TRUE(bad.ok());
  EXPECT_EQ(bad->status, 401);
}

TEST_F(TemplateEmulatorTest, WebhooksAreSignedWithTheAdvertisedSecret) {
  std::mutex mu;
  std::vector<Request> received;
  auto receiver = HttpServer::Create({}, [&](Request& req) {
    std::lock_guard lock(mu);
    received.push_back(req);
    return Response::Empty(200);
  });
  ASSERT_TRUE(receiver.ok());
  (*receiver)->Start();
  Start(2, (*receiver)->base_url() + "/hook");
  Control("POST", "/_sandbox/events", R"({"type": "expense.updated", "count": 1})");
  EXPECT_TRUE(Control("POST", "/_sandbox/webhooks/flush")["idle"].get<bool>());
  std::lock_guard lock(mu);
  ASSERT_EQ(received.size(), 1u);
  const std::string secret = info_["harness"]["webhook"]["secret"];
  EXPECT_EQ(received[0].Header("x-template-signature").value_or(""),
            HexEncode(HmacSha256(secret, received[0].body)));
  json body = json::parse(received[0].body);
  ASSERT_EQ(body["events"].size(), 1u);
  EXPECT_EQ(body["events"][0]["type"], "expense.updated");
  EXPECT_TRUE(body["sent_at_ms"].is_number_integer());
  EXPECT_EQ(info_["harness"]["writes"]["expense"]["route"], "POST /v1/expenses");
}

TEST_F(TemplateEmulatorTest, RejectsUnknownOptionsAndEvents) {
  EmulatorOptions options;
  options.vendor = json{{"rate_limits", 5}};
  EXPECT_FALSE(SandboxServer::Start(MakeTemplateEmulator(options), options).ok());
  Start(1);
  auto r = client_.Send("POST", base_ + "/_sandbox/events", {}, R"({"type": "expense.deleted"})");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 404);
}

}  // namespace
}  // namespace mlc::sandbox::template_co
