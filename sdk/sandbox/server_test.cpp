// Routing, query parsing, the Beast server (keep-alive, body limit, resets, latency) and the test client.
#include "mlc/sandbox/server.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <set>

#include "mlc/sandbox/clock.hpp"
#include "mlc/sandbox/http_client.hpp"
#include "mlc/sandbox/router.hpp"

namespace mlc::sandbox {
namespace {

TEST(PathPattern, CapturesDecodedSegments) {
  PathPattern p("/v1/vendors/{id}/payments/{pid}");
  std::map<std::string, std::string> params;
  ASSERT_TRUE(p.Matches("/v1/vendors/ven%20dor/payments/7", &params));
  EXPECT_EQ(params["id"], "ven dor");
  EXPECT_EQ(params["pid"], "7");
  EXPECT_FALSE(p.Matches("/v1/vendors//payments/7"));
  EXPECT_FALSE(p.Matches("/v1/vendors/a/payments"));
  EXPECT_FALSE(p.Matches("/v1/vendors/a/payments/7/extra"));
  EXPECT_EQ(p.literal_segments(), 3);
}

TEST(Router, PrefersLiteralSegmentsAndReportsWrongMethod) {
  Router r;
  r.Add("GET", "/v1/webhooks/{id}", [](Request&) { return Response::Text(200, "by id"); });
  r.Add("GET", "/v1/webhooks/secrets", [](Request&) { return Response::Text(200, "secrets"); });
  r.Add("POST", "/v1/webhooks", [](Request&) { return Response::Text(200, "create"); });
  Request req;
  auto m = r.Find("GET", "/v1/webhooks/secrets");
  ASSERT_NE(m.route, nullptr);
  EXPECT_EQ(m.route->handler(req).body, "secrets");
  m = r.Find("GET", "/v1/webhooks/wsub_1");
  ASSERT_NE(m.route, nullptr);
  EXPECT_EQ(m.route->key, "GET /v1/webhooks/{id}");
  EXPECT_EQ(m.params["id"], "wsub_1");
  m = r.Find("GET", "/v1/webhooks");
  EXPECT_EQ(m.route, nullptr);
  EXPECT_TRUE(m.path_known);
  m = r.Find("GET", "/v2/nothing");
  EXPECT_EQ(m.route, nullptr);
  EXPECT_FALSE(m.path_known);
}

TEST(Query, ParsesRepeatsBracketsAndEscapes) {
  ParamList q = ParseQueryString("expand[]=merchant&expand[]=receipts.download_uris&name=A%26B+Co&flag&=x");
  Request req;
  req.query = q;
  EXPECT_EQ(req.QueryAll("expand[]"), (std::vector<std::string>{"merchant", "receipts.download_uris"}));
  EXPECT_EQ(req.Query("name").value(), "A&B Co");
  EXPECT_TRUE(req.HasQuery("flag"));
  EXPECT_EQ(req.Query("flag").value(), "");
  EXPECT_FALSE(req.Query("missing").has_value());
  EXPECT_EQ(EncodeQueryString({{"a b", "c&d"}}), "a%20b=c%26d");
  EXPECT_EQ(UrlDecode("%zz%4"), "%zz%4");
}

TEST(Request, ReadsBearerTokensCaseInsensitively) {
  Request req;
  req.headers = {{"authorization", "bearer  abc "}};
  EXPECT_EQ(req.BearerToken().value(), "abc");
  req.headers = {{"Authorization", "Basic abc"}};
  EXPECT_FALSE(req.BearerToken().has_value());
  req.headers = {{"Authorization", "Bearer "}};
  EXPECT_FALSE(req.BearerToken().has_value());
}

TEST(Clock, FormatsAndParsesRfc3339) {
  const TimePoint t = FromCivil(2025, 4, 24) + std::chrono::seconds(16 * 3600 + 13 * 60 + 49) +
                      std::chrono::microseconds(959513);
  EXPECT_EQ(FormatRfc3339(t, true), "2025-04-24T16:13:49.959513Z");
  EXPECT_EQ(FormatRfc3339(t), "2025-04-24T16:13:49Z");
  EXPECT_EQ(FormatDate(t), "2025-04-24");
  EXPECT_EQ(ParseRfc3339("2025-04-24T16:13:49.959513Z"), t);
  EXPECT_EQ(ParseRfc3339("2025-04-24T18:13:49.959513+02:00"), t);
  EXPECT_EQ(ParseRfc3339("2025-04-24T16:13:49.959513"), t);  // zone-less is UTC
  EXPECT_EQ(ParseRfc3339("2025-04-24"), FromCivil(2025, 4, 24));
  for (const char* bad : {"", "2025-4-24", "2025-04-24T25:00:00Z", "2025-04-24T16:13:49Q", "yesterday",
                          "2025-13-01", "2025-04-24T16:13:49."}) {
    EXPECT_FALSE(ParseRfc3339(bad).has_value()) << bad;
  }
}

TEST(Clock, AdvancesAndResets) {
  Clock clock;
  const int64_t before = clock.NowUnix();
  clock.Advance(std::chrono::hours(1));
  EXPECT_GE(clock.NowUnix(), before + 3600);
  EXPECT_EQ(clock.Offset(), std::chrono::milliseconds(3600000));
  clock.Reset();
  EXPECT_LT(clock.NowUnix(), before + 3600);
}

class ServerTest : public ::testing::Test {
 protected:
  void StartServer(HttpServerOptions options = {}) {
    auto s = HttpServer::Create(options, [this](Request& req) { return Handle(req); });
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    server_ = std::move(*s);
    server_->Start();
  }
  Response Handle(Request& req) {
    ++calls_;
    {
      std::lock_guard lock(mu_);
      remotes_.insert(req.remote);
    }
    if (req.path == "/reset") return Response::Reset();
    if (req.path == "/drop") {
      Response r;
      r.disposition = Response::Disposition::kDrop;
      return r;
    }
    if (req.path == "/slow") {
      Response r = Response::Text(200, "late");
      r.delay_ms = 50;
      return r;
    }
    if (req.path == "/redirect") return Response::Redirect("http://example.invalid/cb?code=1");
    nlohmann::json echo = {{"method", req.method},
                           {"path", req.path},
                           {"body", req.body},
                           {"query", req.Query("q").value_or("")},
                           {"header", req.Header("X-Test").value_or("")}};
    return Response::Json(201, echo).SetHeader("X-Reply", "yes");
  }

  std::unique_ptr<HttpServer> server_;
  std::atomic<int> calls_{0};
  std::mutex mu_;
  std::set<std::string> remotes_;
};

TEST_F(ServerTest, EchoesRequestsOverKeepAlive) {
  StartServer();
  HttpClient client;
  for (int i = 0; i < 5; ++i) {
    auto r = client.Send("POST", server_->base_url() + "/things?q=a%20b", {{"X-Test", "t"}}, R"({"n":1})");
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(r->status, 201);
    EXPECT_EQ(r->Header("x-reply").value_or(""), "yes");
    EXPECT_EQ(r->Header("Content-Type").value_or(""), "application/json");
    auto doc = r->Json();
    ASSERT_TRUE(doc.ok());
    EXPECT_EQ((*doc)["method"], "POST");
    EXPECT_EQ((*doc)["path"], "/things");
    EXPECT_EQ((*doc)["query"], "a b");
    EXPECT_EQ((*doc)["body"], R"({"n":1})");
    EXPECT_EQ((*doc)["header"], "t");
  }
  std::lock_guard lock(mu_);
  EXPECT_EQ(remotes_.size(), 1u) << "keep-alive should reuse one connection";
}

TEST_F(ServerTest, RejectsOversizedBodiesWith413) {
  HttpServerOptions options;
  options.body_limit = 1024;
  StartServer(options);
  HttpClient client;
  auto r = client.Send("POST", server_->base_url() + "/big", {}, std::string(4096, 'x'));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->status, 413);
  EXPECT_EQ(calls_.load(), 0);
  auto small = client.Send("POST", server_->base_url() + "/small", {}, std::string(512, 'x'));
  ASSERT_TRUE(small.ok());
  EXPECT_EQ(small->status, 201);
}

TEST_F(ServerTest, AnswersExpect100Continue) {
  StartServer();
  HttpClient client;
  auto r =
      client.Send("POST", server_->base_url() + "/c", {{"Expect", "100-continue"}}, std::string(2048, 'y'));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->status, 201);
}

TEST_F(ServerTest, ResetAndDropCloseWithoutResponse) {
  StartServer();
  HttpClient client;
  client.set_reuse_connections(false);
  auto reset = client.Send("GET", server_->base_url() + "/reset");
  EXPECT_FALSE(reset.ok());
  EXPECT_EQ(reset.status().code(), Code::kRetry);
  auto drop = client.Send("GET", server_->base_url() + "/drop");
  EXPECT_FALSE(drop.ok());
  auto after = client.Send("GET", server_->base_url() + "/fine");
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(after->status, 201);
}

TEST_F(ServerTest, DelaysAndRedirects) {
  StartServer();
  HttpClient client;
  auto slow = client.Send("GET", server_->base_url() + "/slow");
  ASSERT_TRUE(slow.ok());
  EXPECT_EQ(slow->body, "late");
  auto redirect = client.Send("GET", server_->base_url() + "/redirect");
  ASSERT_TRUE(redirect.ok());
  EXPECT_EQ(redirect->status, 302);
  EXPECT_EQ(redirect->Header("Location").value_or(""), "http://example.invalid/cb?code=1");
}

TEST_F(ServerTest, ServesConcurrentClients) {
  StartServer();
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      HttpClient client;
      for (int i = 0; i < 25; ++i) {
        auto r = client.Send("GET", server_->base_url() + "/x");
        if (r.ok() && r->status == 201) ++ok;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 100);
}

TEST(HttpServer, RejectsBadListenAddress) {
  HttpServerOptions options;
  options.host = "not-an-ip";
  auto s = HttpServer::Create(options, [](Request&) { return Response::Empty(200); });
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), Code::kInvalid);
}

}  // namespace
}  // namespace mlc::sandbox
