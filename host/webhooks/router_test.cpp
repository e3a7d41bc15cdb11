// Tests for the webhook router and StoreWebhookSink over real sockets and a real store file: durable
// recording, replay and concurrent-duplicate protection, status mapping, handshakes, limits, and that nothing
// of the request body is echoed.
#include "webhooks/router.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>

#include "store/store.hpp"
#include "store/test_util.hpp"
#include "webhooks/metrics.hpp"
#include "webhooks/test_client.hpp"

namespace mlc::webhooks {
namespace {

using nlohmann::json;
using testing::Http;
using testing::RawResponse;

constexpr std::string_view kMarker = "SECRET-BODY-MARKER-7f3a";

int64_t NowSeconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Stands in for a plugin's webhook op, shaped like Standard Webhooks: webhook-id, webhook-timestamp (seconds,
// 5 minutes tolerance) and webhook-signature ("v1,good" is the only valid signature here). A
// validationToken query parameter is a Business Central style handshake, echoed as text/plain.
Result<json> FakePlugin(const json& req, std::string_view body) {
  const json& headers = req.at("headers");
  const json& query = req.at("query");
  if (query.contains("validationToken")) {
    return json{
        {"reply", {{"status", 200}, {"content_type", "text/plain"}, {"body", query["validationToken"]}}},
        {"events", json::array()}};
  }
  if (headers.value("webhook-signature", "") != "v1,good") return Status::Auth("signature mismatch");
  const std::string ts = headers.value("webhook-timestamp", "");
  if (ts.empty()) return Status::Invalid("missing timestamp");
  const int64_t sent = std::stoll(ts);
  const int64_t received = req.at("received_at_ms").get<int64_t>() / 1000;
  if (received - sent > 300 || sent - received > 300) return Status::Invalid("timestamp outside tolerance");
  json doc = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (!doc.is_object() || !doc.contains("events")) return Status::Invalid("body is not a webhook document");
  json events = json::array();
  for (const json& e : doc["events"]) {
    json ev = {{"type", e.value("type", "unknown")}};
    if (e.contains("id")) {
      ev["id"] = e["id"];
    } else if (headers.contains("webhook-id")) {
      ev["id"] = headers["webhook-id"];
    }
    if (e.contains("source_id")) ev["source_id"] = e["source_id"];
    if (e.contains("stream")) ev["stream"] = e["stream"];
    if (e.contains("payload")) ev["payload"] = e["payload"];
    events.push_back(std::move(ev));
  }
  return json{{"events", std::move(events)}};
}

std::string EventBody(const std::string& source_id) {
  return json{{"events", {{{"type", "expense.updated"}, {"stream", "expenses"}, {"source_id", source_id}}}},
              {"note", kMarker}}
      .dump();
}

class WebhookRouterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto st = store::Store::Open({.path = dir_.File("mlc.db")});
    ASSERT_TRUE(st.ok()) << st.status().ToString();
    store_ = std::move(*st);
    plugin_ = [](const std::string&, const json& req, std::string_view body) {
      return FakePlugin(req, body);
    };
    sink_ = std::make_shared<StoreWebhookSink>(
        store_.get(),
        [this](const std::string& conn, const json& req, std::string_view body) {
          ++plugin_calls_;
          return plugin_(conn, req, body);
        },
        [this](const std::string& conn, const std::vector<RecordedEvent>& events) {
          std::lock_guard lock(mu_);
          commits_.push_back(events);
        });
    router_ = std::make_unique<WebhookRouter>(
        [this](const std::string& c) -> std::shared_ptr<WebhookSink> {
          return c == "brex" || c == "bc" ? sink_ : nullptr;
        },
        WebhookRouterOptions{.retry_after_seconds = 7, .metrics = &registry_});
    server_ = std::make_unique<HttpServer>(HttpServerOptions{.worker_threads = 4});
    router_->Mount(*server_);
    ASSERT_TRUE(server_->Start().ok());
  }

  void TearDown() override {
    if (server_) server_->Stop();
  }

  int64_t Rows(const std::string& table) {
    auto rows = store_->Query("SELECT COUNT(*) FROM " + table);
    EXPECT_TRUE(rows.ok()) << rows.status().ToString();
    return rows.ok() && !rows->empty() ? rows->front().Int(0) : -1;
  }

  RawResponse Deliver(const std::string& id, const std::string& body,
                      const std::string& signature = "v1,good", int64_t ts = NowSeconds(),
                      const std::string& connection = "brex") {
    testing::Headers headers = {{"Content-Type", "application/json"},
                                {"webhook-timestamp", std::to_string(ts)},
                                {"webhook-signature", signature}};
    if (!id.empty()) headers.emplace_back("webhook-id", id);
    return Http(server_->port(), "POST", "/webhooks/" + connection, body, headers);
  }

  size_t Commits() {
    std::lock_guard lock(mu_);
    return commits_.size();
  }

  store::testing::TempDir dir_;
  std::unique_ptr<store::Store> store_;
  metrics::Registry registry_;
  PluginWebhookFn plugin_;
  std::atomic<int> plugin_calls_{0};
  std::shared_ptr<StoreWebhookSink> sink_;
  std::unique_ptr<WebhookRouter> router_;
  std::unique_ptr<HttpServer> server_;
  std::mutex mu_;
  std::vector<std::vector<RecordedEvent>> commits_;
};

TEST_F(WebhookRouterTest, GoodWebhookIsRecordedOnceAndAReplayGets409) {
  const std::string body = EventBody("exp_1");
  auto first = Deliver("msg_1", body);
  EXPECT_EQ(first.status, 200);
  EXPECT_EQ(json::parse(first.body), json({{"accepted", 1}}));
  EXPECT_EQ(Rows("webhook_events"), 1);
  EXPECT_EQ(Rows("webhook_seen"), 1);
  auto row = store_->QueryOne(
      "SELECT connection, webhook_id, event_index, type, stream, source_id, payload, processed_at "
      "FROM webhook_events");
  ASSERT_TRUE(row.ok() && row->has_value());
  const store::Row& r = **row;
  EXPECT_EQ(r.Text(0), "brex");
  EXPECT_EQ(r.Text(1), "msg_1");
  EXPECT_EQ(r.Int(2), 0);
  EXPECT_EQ(r.Text(3), "expense.updated");
  EXPECT_EQ(r.Text(4), "expenses");
  EXPECT_EQ(r.Text(5), "exp_1");
  EXPECT_TRUE(r.IsNull(6));
  EXPECT_TRUE(r.IsNull(7));  // not processed yet
  ASSERT_EQ(Commits(), 1u);
  EXPECT_EQ(commits_[0].size(), 1u);
  EXPECT_EQ(commits_[0][0].source_id, "exp_1");
  EXPECT_EQ(commits_[0][0].stream, "expenses");

  auto replay = Deliver("msg_1", body);
  EXPECT_EQ(replay.status, 409);
  EXPECT_EQ(Rows("webhook_events"), 1);
  EXPECT_EQ(Rows("webhook_seen"), 1);
  EXPECT_EQ(Commits(), 1u);
  for (const auto& res : {first, replay}) EXPECT_EQ(res.body.find(kMarker), std::string::npos);
}

TEST_F(WebhookRouterTest, ConcurrentDuplicateDeliveriesRecordExactlyOnce) {
  const std::string body = EventBody("exp_concurrent");
  std::vector<std::thread> threads;
  std::vector<int> statuses(20);
  for (int i = 0; i < 20; ++i) {
    threads.emplace_back([&, i] { statuses[static_cast<size_t>(i)] = Deliver("msg_dup", body).status; });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(std::count(statuses.begin(), statuses.end(), 200), 1);
  EXPECT_EQ(std::count(statuses.begin(), statuses.end(), 409), 19);
  EXPECT_EQ(Rows("webhook_events"), 1);
  EXPECT_EQ(Rows("webhook_seen"), 1);
  EXPECT_EQ(Commits(), 1u);
  EXPECT_EQ(plugin_calls_.load(), 20);  // each delivery was verified; only one was recorded
}

TEST_F(WebhookRouterTest, ForgedOrUnsignedGets401AndRecordsNothing) {
  auto forged = Deliver("msg_forged", EventBody("exp_2"), "v1,forged");
  EXPECT_EQ(forged.status, 401);
  EXPECT_EQ(forged.body.find(kMarker), std::string::npos);
  EXPECT_EQ(forged.body.find("signature mismatch"), std::string::npos);  // plugin detail stays in the log
  EXPECT_EQ(Deliver("msg_forged", EventBody("exp_2"), "").status, 401);
  EXPECT_EQ(Rows("webhook_events"), 0);
  EXPECT_EQ(Rows("webhook_seen"), 0);
  EXPECT_EQ(Commits(), 0u);
  // The id was not burnt by the forgery: the genuine delivery is still accepted.
  EXPECT_EQ(Deliver("msg_forged", EventBody("exp_2")).status, 200);
}

TEST_F(WebhookRouterTest, StaleGets400AndRecordsNothing) {
  auto stale = Deliver("msg_stale", EventBody("exp_3"), "v1,good", NowSeconds() - 600);
  EXPECT_EQ(stale.status, 400);
  EXPECT_EQ(stale.body.find(kMarker), std::string::npos);
  EXPECT_EQ(Deliver("msg_future", EventBody("exp_3"), "v1,good", NowSeconds() + 600).status, 400);
  EXPECT_EQ(Rows("webhook_events"), 0);
  EXPECT_EQ(Rows("webhook_seen"), 0);
}

TEST_F(WebhookRouterTest, MalformedGets400AndRecordsNothing) {
  auto res = Deliver("msg_bad", std::string("{not json ") + std::string(kMarker));
  EXPECT_EQ(res.status, 400);
  EXPECT_EQ(res.body.find(kMarker), std::string::npos);
  EXPECT_EQ(Rows("webhook_events"), 0);
  EXPECT_EQ(Rows("webhook_seen"), 0);
}

TEST_F(WebhookRouterTest, HandshakeReplyPassesThrough) {
  auto get = Http(server_->port(), "GET", "/webhooks/bc?validationToken=tok%20123");
  EXPECT_EQ(get.status, 200);
  EXPECT_EQ(get.Header("content-type"), "text/plain");
  EXPECT_EQ(get.body, "tok 123");
  auto post = Http(server_->port(), "POST", "/webhooks/bc?validationToken=abc", "");
  EXPECT_EQ(post.status, 200);
  EXPECT_EQ(post.body, "abc");
  // A handshake records nothing and may be repeated.
  EXPECT_EQ(Http(server_->port(), "GET", "/webhooks/bc?validationToken=abc").body, "abc");
  EXPECT_EQ(Rows("webhook_events"), 0);
  EXPECT_EQ(Rows("webhook_seen"), 0);
}

TEST_F(WebhookRouterTest, OversizeBodyGets413AndRecordsNothing) {
  std::string body = EventBody("exp_big");
  body.insert(body.size() - 1, ",\"pad\":\"" + std::string((1 << 20), 'p') + "\"");
  auto res = Deliver("msg_big", body);
  EXPECT_EQ(res.status, 413);
  EXPECT_EQ(plugin_calls_.load(), 0);
  EXPECT_EQ(Rows("webhook_events"), 0);
  EXPECT_EQ(Rows("webhook_seen"), 0);
}

TEST_F(WebhookRouterTest, UnknownConnectionsGet404WithoutCallingThePlugin) {
  for (const char* path : {"/webhooks/nope", "/webhooks/", "/webhooks/brex/extra", "/webhooks/br%20ex",
                           "/webhooks/..", "/webhooks"}) {
    EXPECT_EQ(Http(server_->port(), "POST", path, EventBody("x")).status, 404) << path;
  }
  EXPECT_EQ(plugin_calls_.load(), 0);
  EXPECT_EQ(Http(server_->port(), "PUT", "/webhooks/brex", "x").status, 405);
  EXPECT_NE(registry_.Render().find("mlc_webhook_requests_total{connection=\"_unknown\",outcome=\"unknown_"
                                    "connection\"} 5\n"),
            std::string::npos)
      << registry_.Render();
}

TEST_F(WebhookRouterTest, EventsWithoutIdsDeduplicateByBodyDigest) {
  const std::string body = EventBody("exp_noid");
  EXPECT_EQ(Deliver("", body).status, 200);
  EXPECT_EQ(Deliver("", body).status, 409);
  auto row = store_->QueryOne("SELECT webhook_id FROM webhook_events");
  ASSERT_TRUE(row.ok() && row->has_value());
  EXPECT_EQ((*row)->Text(0), BodyDigestId(body));
  EXPECT_EQ(Deliver("", EventBody("exp_other")).status, 200);  // a different body is a different delivery
  EXPECT_EQ(Rows("webhook_events"), 2);
}

TEST_F(WebhookRouterTest, BatchesRecordOnlyIdsNotSeenBefore) {
  auto batch = [](std::vector<std::string> ids) {
    json events = json::array();
    for (const auto& id : ids)
      events.push_back({{"id", id}, {"type", "bill.created"}, {"source_id", "b_" + id}});
    return json{{"events", events}}.dump();
  };
  EXPECT_EQ(json::parse(Deliver("", batch({"a"})).body)["accepted"], 1);
  auto second = Deliver("", batch({"a", "b", "c"}));
  EXPECT_EQ(second.status, 200);
  EXPECT_EQ(json::parse(second.body)["accepted"], 2);
  EXPECT_EQ(Rows("webhook_events"), 3);
  EXPECT_EQ(Deliver("", batch({"c", "a"})).status, 409);
  EXPECT_EQ(Rows("webhook_events"), 3);
}

TEST_F(WebhookRouterTest, SeveralEventsUnderOneIdAreIndexed) {
  const std::string body = json{
      {"events",
       {{{"type", "t1"}, {"source_id", "s1"}, {"payload", {{"k", 1}}}},
        {{"type", "t2"}},
        {{"type", "t3"}}}}}.dump();
  EXPECT_EQ(Deliver("msg_multi", body).status, 200);
  auto rows = store_->Query("SELECT event_index, type, payload FROM webhook_events ORDER BY event_index");
  ASSERT_TRUE(rows.ok());
  ASSERT_EQ(rows->size(), 3u);
  EXPECT_EQ((*rows)[0].Text(1), "t1");
  EXPECT_EQ((*rows)[0].Text(2), R"({"k":1})");
  EXPECT_EQ((*rows)[2].Int(0), 2);
  EXPECT_EQ(Rows("webhook_seen"), 1);
}

TEST_F(WebhookRouterTest, MalformedPluginRepliesGive500AndRecordNothing) {
  plugin_ = [](const std::string&, const json&, std::string_view) -> Result<json> {
    return json{{"events", {{{"id", "x"}}}}};  // no type
  };
  EXPECT_EQ(Deliver("msg_x", EventBody("x")).status, 500);
  EXPECT_EQ(Rows("webhook_events"), 0);
  EXPECT_EQ(Rows("webhook_seen"), 0);
}

TEST_F(WebhookRouterTest, RecordsMetricsByConnectionAndOutcome) {
  const std::string body = EventBody("exp_m");
  EXPECT_EQ(Deliver("msg_m", body).status, 200);
  EXPECT_EQ(Deliver("msg_m", body).status, 409);
  EXPECT_EQ(Deliver("msg_m2", body, "bad").status, 401);
  const std::string text = registry_.Render();
  EXPECT_NE(text.find("mlc_webhook_requests_total{connection=\"brex\",outcome=\"accepted\"} 1\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("mlc_webhook_requests_total{connection=\"brex\",outcome=\"duplicate\"} 1\n"),
            std::string::npos);
  EXPECT_NE(text.find("mlc_webhook_requests_total{connection=\"brex\",outcome=\"unauthorized\"} 1\n"),
            std::string::npos);
  EXPECT_NE(text.find("mlc_webhook_events_accepted_total{connection=\"brex\"} 1\n"), std::string::npos);
  EXPECT_NE(text.find("mlc_webhook_request_duration_seconds_count{connection=\"brex\"} 3\n"),
            std::string::npos);
  EXPECT_EQ(text.find(kMarker), std::string::npos);
}

// ---- Without sockets ----

class ScriptedSink : public WebhookSink {
 public:
  explicit ScriptedSink(Result<WebhookOutcome> r) : result_(std::move(r)) {}
  Result<WebhookOutcome> Handle(const std::string&, const WebhookRequest&) override { return result_; }

 private:
  Result<WebhookOutcome> result_;
};

Request WebhookHttpRequest(const std::string& connection) {
  Request r;
  r.method = "POST";
  r.path = "/webhooks/" + connection;
  r.target = r.path;
  r.body = std::string(kMarker);
  return r;
}

TEST(WebhookRouterMappingTest, MapsSinkStatusesToHttp) {
  struct Case {
    Status status;
    int http;
  };
  const std::vector<Case> cases = {
      {Status::Auth("detail-a1"), 401},     {Status::Invalid("detail-b2"), 400},
      {Status::Retry("detail-c3"), 503},    {Status::Uncertain("detail-d4"), 503},
      {Status::NotFound("detail-e5"), 404}, {Status::Error("detail-f6"), 500},
  };
  for (const Case& c : cases) {
    auto sink = std::make_shared<ScriptedSink>(c.status);
    WebhookRouter router([sink](const std::string&) { return sink; }, {.retry_after_seconds = 9});
    Response res = router.Handle(WebhookHttpRequest("conn"));
    EXPECT_EQ(res.status, c.http) << c.status.ToString();
    EXPECT_EQ(res.body.find(c.status.message()), std::string::npos) << "status detail leaked";
    EXPECT_EQ(res.body.find(kMarker), std::string::npos);
    if (c.http == 503) {
      ASSERT_EQ(res.headers.size(), 1u);
      EXPECT_EQ(res.headers[0], std::make_pair(std::string("Retry-After"), std::string("9")));
    }
  }
}

TEST(WebhookRouterMappingTest, ReplyWinsOverDefaultButNotOverDuplicate) {
  WebhookOutcome with_reply;
  with_reply.events = 1;
  with_reply.accepted = 1;
  with_reply.reply = WebhookReply{.status = 202, .content_type = "application/xml", .body = "<ok/>"};
  auto sink = std::make_shared<ScriptedSink>(with_reply);
  WebhookRouter router([sink](const std::string&) { return sink; });
  Response res = router.Handle(WebhookHttpRequest("c"));
  EXPECT_EQ(res.status, 202);
  EXPECT_EQ(res.content_type, "application/xml");
  EXPECT_EQ(res.body, "<ok/>");

  WebhookOutcome dup = with_reply;
  dup.accepted = 0;
  dup.duplicate = true;
  auto dup_sink = std::make_shared<ScriptedSink>(dup);
  WebhookRouter dup_router([dup_sink](const std::string&) { return dup_sink; });
  EXPECT_EQ(dup_router.Handle(WebhookHttpRequest("c")).status, 409);
}

TEST(WebhookRouterMappingTest, NoEventsAndNoReplyIsAPlain200) {
  auto sink = std::make_shared<ScriptedSink>(WebhookOutcome{});
  WebhookRouter router([sink](const std::string&) { return sink; });
  Response res = router.Handle(WebhookHttpRequest("c"));
  EXPECT_EQ(res.status, 200);
  EXPECT_EQ(json::parse(res.body), json({{"accepted", 0}}));
}

TEST(ParsePluginWebhookOutTest, AcceptsTheDocumentedShape) {
  auto parsed = ParsePluginWebhookOut(json::parse(R"({
    "reply": {"status": 200, "content_type": "text/plain", "body": "v"},
    "events": [{"id": "e1", "type": "t", "stream": "s", "source_id": "x", "payload": {"a": [1]}},
               {"type": "u", "stream": null}]
  })"));
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  ASSERT_TRUE(parsed->reply.has_value());
  EXPECT_EQ(parsed->reply->body, "v");
  ASSERT_EQ(parsed->events.size(), 2u);
  EXPECT_EQ(parsed->events[0].payload_json.value_or(""), R"({"a":[1]})");
  EXPECT_EQ(parsed->events[1].id, "");
  EXPECT_FALSE(parsed->events[1].stream.has_value());
  auto empty = ParsePluginWebhookOut(json::object());
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->events.empty());
  EXPECT_FALSE(empty->reply.has_value());
}

TEST(ParsePluginWebhookOutTest, RefusesMalformedDocuments) {
  const std::vector<std::string> bad = {
      R"([])",
      R"({"events": {}})",
      R"({"events": [1]})",
      R"({"events": [{"id": "x"}]})",
      R"({"events": [{"type": ""}]})",
      R"({"events": [{"type": "t", "id": 5}]})",
      R"({"events": [{"type": "t", "source_id": {}}]})",
      R"({"reply": "ok"})",
      R"({"reply": {"status": 99}})",
      R"({"reply": {"status": 200, "content_type": "text/plain\r\nX-Evil: 1"}})",
      R"({"reply": {"body": 5}})",
  };
  for (const std::string& doc : bad) {
    auto r = ParsePluginWebhookOut(json::parse(doc));
    EXPECT_FALSE(r.ok()) << doc;
    if (!r.ok()) {
      EXPECT_EQ(r.status().code(), Code::kError) << doc;
    }
  }
  json many = {{"events", json::array()}};
  for (int i = 0; i < 10001; ++i) many["events"].push_back({{"type", "t"}});
  EXPECT_FALSE(ParsePluginWebhookOut(many).ok());
  EXPECT_FALSE(ParsePluginWebhookOut({{"events", {{{"type", "t"}, {"id", std::string(513, 'i')}}}}}).ok());
}

TEST(WebhookRequestTest, PluginRequestIsAlwaysSerialisable) {
  WebhookRequest req;
  req.method = "POST";
  req.path = "/webhooks/x";
  req.headers["x-bad"] = std::string(
      "a\xff\xfe"
      "b");
  req.query["q"] = std::string("\xc0\xaf");  // overlong '/'
  req.received_at_ms = 42;
  const json doc = req.ToPluginRequest();
  std::string text;
  ASSERT_NO_THROW(text = doc.dump());
  EXPECT_EQ(doc["headers"]["x-bad"],
            "a\xEF\xBF\xBD\xEF\xBF\xBD"
            "b");
  EXPECT_EQ(doc["received_at_ms"], 42);
  EXPECT_FALSE(doc.contains("body"));
}

TEST(BodyDigestIdTest, IsTheSha256OfTheBody) {
  EXPECT_EQ(BodyDigestId("abc"), "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(BodyDigestId(""), "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

}  // namespace
}  // namespace mlc::webhooks
