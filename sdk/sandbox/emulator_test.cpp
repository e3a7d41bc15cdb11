// The emulator frame over HTTP: control API, fault injection of every kind, rate limiting, registry.
#include "mlc/sandbox/emulator.hpp"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>

#include "mlc/sandbox/http_client.hpp"
#include "mlc/sandbox/server.hpp"

namespace mlc::sandbox {
namespace {

// A tiny vendor: a list of items, its own error shape and 429 body, one event type.
class ItemsEmulator : public Emulator {
 public:
  std::string Name() const override { return "items"; }
  Status Install(Router& router, EmulatorContext& ctx) override {
    ctx_ = &ctx;
    ctx.rate_limiter.Configure({.limit = 5, .window = std::chrono::seconds(60)});
    router.Add("GET", "/items", [this](Request&) {
      std::lock_guard lock(mu_);
      return Response::Json(200, {{"items", items_}});
    });
    router.Add("GET", "/items/special", [](Request&) { return Response::Json(200, {{"special", true}}); });
    router.Add("GET", "/items/{id}", [this](Request& req) {
      std::lock_guard lock(mu_);
      for (const auto& item : items_) {
        if (item["id"] == req.Param("id")) return Response::Json(200, item);
      }
      return ErrorResponse(req, 404, "no such item");
    });
    router.Add("POST", "/items", [this](Request& req) {
      auto body = req.JsonBody();
      if (!body.ok()) return ErrorResponse(req, 400, body.status().message());
      std::lock_guard lock(mu_);
      nlohmann::json item = {{"id", "item_" + std::to_string(items_.size() + 1)}, {"data", *body}};
      items_.push_back(item);
      return Response::Json(201, item);
    });
    return Status::Ok();
  }
  nlohmann::json Credentials() const override { return {{"api_key", "k_test"}}; }
  std::vector<std::string> ObjectTypes() const override { return {"items"}; }
  Result<nlohmann::json> Objects(std::string_view type) override {
    if (type != "items") return Status::NotFound("unknown object type '" + std::string(type) + "'");
    std::lock_guard lock(mu_);
    return nlohmann::json(items_);
  }
  Result<nlohmann::json> TriggerEvents(const nlohmann::json& request) override {
    if (request["type"] != "PING") return Status::NotFound("unknown event type");
    const int64_t n = request["count"];
    nlohmann::json ids = nlohmann::json::array();
    for (int64_t i = 0; i < n; ++i) {
      ids.push_back(ctx_->webhooks.Enqueue(ctx_->options.webhook_url, R"({"event":"PING"})", "PING"));
    }
    return nlohmann::json{{"sent", ids}};
  }
  void Reset() override {
    std::lock_guard lock(mu_);
    items_ = nlohmann::json::array();
  }
  nlohmann::json ExtraStats() const override { return {{"items_resets", 0}}; }
  Response ErrorResponse(const Request&, int status, std::string_view message) const override {
    return Response::Json(status, {{"oops", message}});
  }
  std::optional<std::string> RateLimitKey(const Request& req) const override { return req.Header("X-Key"); }
  Response TooManyRequests(const Request&, const RateDecision& d) const override {
    return Response::Json(429, {{"slow_down", true}})
        .SetHeader("Retry-After", std::to_string((d.retry_after.count() + 999) / 1000));
  }

 private:
  EmulatorContext* ctx_ = nullptr;
  mutable std::mutex mu_;
  nlohmann::json items_ = nlohmann::json::array();
};

class EmulatorTest : public ::testing::Test {
 protected:
  void Start(EmulatorOptions options = {}) {
    auto s = SandboxServer::Start(std::make_unique<ItemsEmulator>(), options);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    server_ = std::move(*s);
    base_ = server_->base_url();
  }
  HttpResponse Call(std::string_view method, const std::string& path, const std::string& body = "",
                    HeaderList headers = {}) {
    auto r = client_.Send(method, base_ + path, headers, body);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : HttpResponse{};
  }
  nlohmann::json Stats() { return Call("GET", "/_sandbox/stats").Json().value(); }

  std::unique_ptr<SandboxServer> server_;
  HttpClient client_;
  std::string base_;
};

TEST_F(EmulatorTest, RoutesAndAnswersUnknownPathsInTheVendorShape) {
  Start();
  EXPECT_EQ(Call("POST", "/items", R"({"n":1})").status, 201);
  EXPECT_EQ(Call("GET", "/items/item_1").Json().value()["data"]["n"], 1);
  EXPECT_EQ(Call("GET", "/items/special").Json().value()["special"], true);
  HttpResponse missing = Call("GET", "/nowhere");
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(missing.Json().value()["oops"], "Not Found");
  EXPECT_EQ(Call("DELETE", "/items").status, 405);
  EXPECT_EQ(Call("POST", "/items", "{broken").status, 400);
  auto stats = Stats();
  EXPECT_EQ(stats["requests"]["POST /items"]["201"], 1);
  EXPECT_EQ(stats["requests"]["POST /items"]["400"], 1);
  EXPECT_EQ(stats["requests"]["(no route)"]["404"], 1);
  EXPECT_EQ(stats["requests_total"], 6);
  EXPECT_EQ(stats["vendor"]["items_resets"], 0);
}

TEST_F(EmulatorTest, ControlApiInfoObjectsEventsClockReset) {
  Start();
  auto info = Call("GET", "/_sandbox/info").Json().value();
  EXPECT_EQ(info["vendor"], "items");
  EXPECT_EQ(info["base_url"], base_);
  EXPECT_EQ(info["credentials"]["api_key"], "k_test");

  Call("POST", "/items", R"({"n":2})");
  auto items = Call("GET", "/_sandbox/objects/items").Json().value();
  ASSERT_EQ(items.size(), 1u);
  EXPECT_EQ(Call("GET", "/_sandbox/objects/widgets").status, 404);
  auto types = Call("GET", "/_sandbox/objects").Json().value()["types"];
  EXPECT_EQ(types, nlohmann::json({"items", "webhook_deliveries"}));

  EXPECT_EQ(Call("POST", "/_sandbox/events", R"({"type":"NOPE"})").status, 404);
  EXPECT_EQ(Call("POST", "/_sandbox/events", R"({"count":1})").status, 400);
  EXPECT_EQ(Call("POST", "/_sandbox/events", R"({"type":"PING","count":0})").status, 400);
  EXPECT_EQ(Call("POST", "/_sandbox/events", "not json").status, 400);

  auto clock = Call("POST", "/_sandbox/clock", R"({"advance_s": 3600})").Json().value();
  EXPECT_EQ(clock["offset_s"], 3600.0);
  EXPECT_EQ(server_->context().clock.Offset(), std::chrono::seconds(3600));
  EXPECT_EQ(Call("POST", "/_sandbox/clock", R"({"advance_s": "soon"})").status, 400);
  EXPECT_EQ(Call("POST", "/_sandbox/clock", R"({})").status, 400);

  EXPECT_EQ(Call("POST", "/_sandbox/faults", R"({"global":{"rate_5xx":0.5}})").status, 200);
  EXPECT_EQ(Call("POST", "/_sandbox/reset").status, 200);
  EXPECT_EQ(Call("GET", "/_sandbox/objects/items").Json().value().size(), 0u);
  EXPECT_EQ(server_->context().clock.Offset(), std::chrono::seconds(0));
  EXPECT_FALSE(Call("GET", "/_sandbox/faults").Json().value().contains("global"));
  EXPECT_EQ(Stats()["requests_total"], 0);
  EXPECT_EQ(Call("GET", "/_sandbox/nothing").status, 404);
}

TEST_F(EmulatorTest, RejectsBadFaultSpecsAndKeepsTheOldOne) {
  Start();
  ASSERT_EQ(Call("POST", "/_sandbox/faults", R"({"routes":{"GET /items":{"latency_ms":1}}})").status, 200);
  for (const char* bad : {R"({"global":{"rate_429":1.5}})", R"({"global":{"rate_429":0.6,"rate_5xx":0.6}})",
                          R"({"global":{"status_5xx":404}})", R"({"global":{"explode":1}})",
                          R"({"routes":{"items":{}}})", R"({"whatever":{}})", R"([1,2])", "{oops"}) {
    EXPECT_EQ(Call("POST", "/_sandbox/faults", bad).status, 400) << bad;
  }
  auto spec = Call("GET", "/_sandbox/faults").Json().value();
  EXPECT_TRUE(spec["routes"].contains("GET /items"));
  EXPECT_EQ(Call("DELETE", "/_sandbox/faults").status, 200);
  EXPECT_TRUE(Call("GET", "/_sandbox/faults").Json().value()["routes"].empty());
}

TEST_F(EmulatorTest, Injects429And5xxInTheVendorShape) {
  Start();
  Call("POST", "/_sandbox/faults", R"({"global":{"rate_429":1.0}})");
  HttpResponse r = Call("GET", "/items");
  EXPECT_EQ(r.status, 429);
  EXPECT_EQ(r.Json().value()["slow_down"], true);
  EXPECT_EQ(r.Header("Retry-After").value_or(""), "1");
  Call("POST", "/_sandbox/faults", R"({"global":{"rate_5xx":1.0,"status_5xx":502}})");
  r = Call("GET", "/items");
  EXPECT_EQ(r.status, 502);
  EXPECT_TRUE(r.Json().value().contains("oops"));
  auto stats = Stats();
  EXPECT_EQ(stats["faults"]["429"], 1);
  EXPECT_EQ(stats["faults"]["5xx"], 1);
  EXPECT_EQ(stats["responses_429"], 1);
  EXPECT_EQ(stats["requests"]["GET /items"]["502"], 1);
}

TEST_F(EmulatorTest, CountLimitsHowOftenAFaultFires) {
  Start();
  Call("POST", "/_sandbox/faults", R"({"routes":{"GET /items/{id}":{"rate_5xx":1.0,"count":2}}})");
  EXPECT_EQ(Call("GET", "/items/special").status, 200);  // another route: untouched
  EXPECT_EQ(Call("GET", "/items/x").status, 503);
  EXPECT_EQ(Call("GET", "/items/y").status, 503);
  EXPECT_EQ(Call("GET", "/items/z").status, 404);
  EXPECT_EQ(Call("GET", "/_sandbox/faults").Json().value()["routes"]["GET /items/{id}"]["count"], 0);
}

TEST_F(EmulatorTest, ResetClosesTheConnectionWithoutRunningTheHandler) {
  Start();
  client_.set_reuse_connections(false);
  Call("POST", "/_sandbox/faults", R"({"routes":{"POST /items":{"reset":1.0,"count":1}}})");
  auto r = client_.Send("POST", base_ + "/items", {}, R"({"n":1})");
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(Call("GET", "/_sandbox/objects/items").Json().value().size(), 0u);
  EXPECT_EQ(Stats()["requests"]["POST /items"]["reset"], 1);
}

TEST_F(EmulatorTest, CommitThenDropCommitsTheWriteAndDropsTheResponse) {
  Start();
  client_.set_reuse_connections(false);
  Call("POST", "/_sandbox/faults", R"({"routes":{"POST /items":{"commit_then_drop":1.0,"count":1}}})");
  auto r = client_.Send("POST", base_ + "/items", {}, R"({"n":42})");
  EXPECT_FALSE(r.ok()) << "the response must be lost";
  auto items = Call("GET", "/_sandbox/objects/items").Json().value();
  ASSERT_EQ(items.size(), 1u) << "the write must have landed";
  EXPECT_EQ(items[0]["data"]["n"], 42);
  auto again = client_.Send("POST", base_ + "/items", {}, R"({"n":43})");
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->status, 201);
  auto stats = Stats();
  EXPECT_EQ(stats["faults"]["commit_then_drop"], 1);
  EXPECT_EQ(stats["requests"]["POST /items"]["dropped"], 1);
}

TEST_F(EmulatorTest, LatencyIsAddedAndCounted) {
  Start();
  Call("POST", "/_sandbox/faults", R"({"global":{"latency_ms":30,"count":1}})");
  HttpResponse r = Call("GET", "/items");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(Stats()["faults"]["latency"], 1);
}

TEST_F(EmulatorTest, FaultRatiosFollowTheSeed) {
  auto draw = [](uint64_t seed) {
    FaultInjector f(seed);
    EXPECT_TRUE(f.Configure({{"global", {{"rate_5xx", 0.3}}}}).ok());
    std::string pattern;
    for (int i = 0; i < 200; ++i) {
      pattern.push_back(f.Decide("GET /x", "GET", "/x").kind == FaultDecision::Kind::kNone ? '.' : 'F');
    }
    return pattern;
  };
  const std::string a = draw(7);
  EXPECT_EQ(a, draw(7));
  EXPECT_NE(a, draw(8));
  const auto failures = std::count(a.begin(), a.end(), 'F');
  EXPECT_GT(failures, 30);
  EXPECT_LT(failures, 90);
}

TEST_F(EmulatorTest, FaultRoutesMatchConcretePathsAndAnyMethod) {
  FaultInjector f(1);
  ASSERT_TRUE(f.Configure({{"routes", {{"* /v1/vendors/{id}", {{"reset", 1.0}}}}}}).ok());
  EXPECT_EQ(f.Decide("", "DELETE", "/v1/vendors/v_1").kind, FaultDecision::Kind::kReset);
  EXPECT_EQ(f.Decide("", "GET", "/v1/vendors").kind, FaultDecision::Kind::kNone);
}

TEST_F(EmulatorTest, RateLimitsPerKeyWithTheVendors429) {
  Start();
  for (int i = 0; i < 5; ++i) EXPECT_EQ(Call("GET", "/items", "", {{"X-Key", "a"}}).status, 200);
  HttpResponse limited = Call("GET", "/items", "", {{"X-Key", "a"}});
  EXPECT_EQ(limited.status, 429);
  EXPECT_EQ(limited.Json().value()["slow_down"], true);
  EXPECT_EQ(limited.Header("Retry-After").value_or(""), "60");
  EXPECT_EQ(Call("GET", "/items", "", {{"X-Key", "b"}}).status, 200);  // other key, own budget
  EXPECT_EQ(Call("GET", "/items").status, 200);                        // no key: not limited
  Call("POST", "/_sandbox/clock", R"({"advance_s": 61})");
  EXPECT_EQ(Call("GET", "/items", "", {{"X-Key", "a"}}).status, 200);
  EXPECT_EQ(Stats()["responses_429"], 1);
}

TEST_F(EmulatorTest, DeliversTriggeredWebhooks) {
  std::atomic<int> received{0};
  auto receiver = HttpServer::Create({}, [&](Request& req) {
    if (req.body == R"({"event":"PING"})") ++received;
    return Response::Empty(200);
  });
  ASSERT_TRUE(receiver.ok());
  (*receiver)->Start();
  EmulatorOptions options;
  options.webhook_url = (*receiver)->base_url() + "/hooks";
  Start(options);
  auto r = Call("POST", "/_sandbox/events", R"({"type":"PING","count":3})").Json().value();
  EXPECT_EQ(r["sent"].size(), 3u);
  auto flushed = Call("POST", "/_sandbox/webhooks/flush", R"({"timeout_ms":20000})").Json().value();
  EXPECT_EQ(flushed["idle"], true);
  EXPECT_EQ(received.load(), 3);
  auto deliveries = Call("GET", "/_sandbox/objects/webhook_deliveries").Json().value();
  ASSERT_EQ(deliveries.size(), 3u);
  EXPECT_EQ(deliveries[0]["state"], "delivered");
  EXPECT_EQ(Stats()["webhooks"]["sent"], 3);
}

TEST_F(EmulatorTest, InitialFaultsFromOptionsAndBadOnesFailStart) {
  EmulatorOptions options;
  options.faults = {{"global", {{"rate_5xx", 1.0}}}};
  Start(options);
  EXPECT_EQ(Call("GET", "/items").status, 503);
  options.faults = {{"global", {{"rate_5xx", 7}}}};
  auto bad = SandboxServer::Start(std::make_unique<ItemsEmulator>(), options);
  EXPECT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), Code::kInvalid);
}

TEST(EmulatorRegistry, CreatesByCaseInsensitiveNameAndListsAvailable) {
  EmulatorRegistry registry;
  registry.Register("Items", [](const EmulatorOptions&) { return std::make_unique<ItemsEmulator>(); });
  auto made = registry.Create("ITEMS", {});
  ASSERT_TRUE(made.ok());
  EXPECT_EQ((*made)->Name(), "items");
  auto missing = registry.Create("zoho", {});
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), Code::kNotFound);
  EXPECT_NE(missing.status().message().find("available: items"), std::string::npos);
  EXPECT_EQ(registry.Names(), std::vector<std::string>{"items"});
  EmulatorRegistry empty;
  EXPECT_NE(empty.Create("brex", {}).status().message().find("(none)"), std::string::npos);
}

TEST(LoadJsonArgument, ReadsInlineAndFiles) {
  auto inline_doc = LoadJsonArgument(R"({"a":1})");
  ASSERT_TRUE(inline_doc.ok());
  EXPECT_EQ((*inline_doc)["a"], 1);
  const std::string path = ::testing::TempDir() + "/mlc_sandbox_faults.json";
  {
    std::ofstream out(path);
    out << R"({"global":{"rate_429":0.2}})";
  }
  auto file_doc = LoadJsonArgument("@" + path);
  ASSERT_TRUE(file_doc.ok());
  EXPECT_EQ((*file_doc)["global"]["rate_429"], 0.2);
  std::remove(path.c_str());
  EXPECT_EQ(LoadJsonArgument("@" + path).status().code(), Code::kInvalid);
  EXPECT_EQ(LoadJsonArgument("{nope").status().code(), Code::kInvalid);
}

}  // namespace
}  // namespace mlc::sandbox
