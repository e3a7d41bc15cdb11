// Tests for /healthz, /readyz, /metrics and the token-protected admin mount, over real loopback sockets.
#include "webhooks/ops.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <sstream>

#include "webhooks/metrics.hpp"
#include "webhooks/router.hpp"
#include "webhooks/test_client.hpp"

namespace mlc::webhooks {
namespace {

using testing::Http;

constexpr const char* kToken = "adm-token-0123456789abcdef";

class OpsTest : public ::testing::Test {
 protected:
  void SetUp() override { Build(kToken); }
  void TearDown() override {
    if (server_) server_->Stop();
  }

  void Build(const std::string& token) {
    if (server_) server_->Stop();
    server_ = std::make_unique<HttpServer>(HttpServerOptions{.metrics = &registry_});
    ops_ = std::make_unique<OpsEndpoints>(OpsOptions{.admin_token = token,
                                                     .readiness =
                                                         [this] {
                                                           std::lock_guard lock(mu_);
                                                           return readiness_;
                                                         },
                                                     .metrics = &registry_});
    ops_->AddAdminRoute("GET", "/admin/ping", [](const Request& req, Responder r) {
      r.Send(Response::Json(200, {{"pong", true}, {"path", req.path}}));
    });
    ops_->Mount(*server_);
    ASSERT_TRUE(server_->Start().ok());
  }

  void SetReadiness(Readiness r) {
    std::lock_guard lock(mu_);
    readiness_ = std::move(r);
  }

  uint16_t port() const { return server_->port(); }

  metrics::Registry registry_;
  std::mutex mu_;
  Readiness readiness_;
  std::unique_ptr<OpsEndpoints> ops_;
  std::unique_ptr<HttpServer> server_;
};

TEST_F(OpsTest, HealthzAnswersOk) {
  auto res = Http(port(), "GET", "/healthz");
  EXPECT_EQ(res.status, 200);
  EXPECT_EQ(res.body, "ok\n");
  EXPECT_EQ(Http(port(), "POST", "/healthz").status, 405);
}

TEST_F(OpsTest, ReadyzFollowsTheReadinessCallback) {
  EXPECT_EQ(Http(port(), "GET", "/readyz").status, 200);
  SetReadiness({.ready = false, .reason = "store migration in progress"});
  auto res = Http(port(), "GET", "/readyz");
  EXPECT_EQ(res.status, 503);
  EXPECT_NE(res.body.find("store migration in progress"), std::string::npos) << res.body;
  SetReadiness({.ready = true});
  EXPECT_EQ(Http(port(), "GET", "/readyz").status, 200);
}

TEST_F(OpsTest, MetricsAreExposedInPrometheusTextFormat) {
  auto sink_lookup = [](const std::string&) -> std::shared_ptr<WebhookSink> { return nullptr; };
  WebhookRouter router(sink_lookup, {.metrics = &registry_});
  router.Mount(*server_);
  EXPECT_EQ(Http(port(), "POST", "/webhooks/nobody", "{}").status, 404);
  EXPECT_EQ(Http(port(), "GET", "/healthz").status, 200);

  auto res = Http(port(), "GET", "/metrics");
  ASSERT_EQ(res.status, 200);
  EXPECT_EQ(res.Header("content-type"), "text/plain; version=0.0.4; charset=utf-8");
  // Every line is a comment or "name[{labels}] value" with a numeric value.
  std::istringstream lines(res.body);
  std::string line;
  std::map<std::string, std::string> samples;
  int n = 0;
  while (std::getline(lines, line)) {
    ++n;
    if (line.rfind("# HELP ", 0) == 0 || line.rfind("# TYPE ", 0) == 0) continue;
    const size_t space = line.rfind(' ');
    ASSERT_NE(space, std::string::npos) << line;
    const std::string value = line.substr(space + 1);
    char* end = nullptr;
    std::strtod(value.c_str(), &end);
    EXPECT_TRUE(*end == '\0' || value == "+Inf" || value == "NaN") << line;
    samples[line.substr(0, space)] = value;
  }
  EXPECT_GT(n, 10);
  EXPECT_EQ(samples["mlc_webhook_requests_total{connection=\"_unknown\",outcome=\"unknown_connection\"}"],
            "1");
  EXPECT_EQ(samples["mlc_webhook_request_duration_seconds_count{connection=\"_unknown\"}"], "1");
  EXPECT_EQ(samples["mlc_webhook_request_duration_seconds_bucket{connection=\"_unknown\",le=\"+Inf\"}"], "1");
  EXPECT_EQ(samples["mlc_http_responses_total{code=\"404\"}"], "1");
  EXPECT_EQ(samples.count("mlc_http_connections_open"), 1u);
  EXPECT_NE(res.body.find("# TYPE mlc_webhook_request_duration_seconds histogram\n"), std::string::npos);
  EXPECT_NE(res.body.find("# TYPE mlc_webhook_requests_total counter\n"), std::string::npos);
}

TEST_F(OpsTest, AdminNeedsTheBearerToken) {
  auto none = Http(port(), "GET", "/admin/ping");
  EXPECT_EQ(none.status, 401);
  EXPECT_EQ(none.Header("www-authenticate"), "Bearer realm=\"mlc-admin\"");
  EXPECT_EQ(Http(port(), "GET", "/admin/ping", "", {{"Authorization", "Bearer wrong"}}).status, 401);
  EXPECT_EQ(
      Http(port(), "GET", "/admin/ping", "", {{"Authorization", std::string("Basic ") + kToken}}).status,
      401);
  EXPECT_EQ(Http(port(), "GET", "/admin/ping", "", {{"Authorization", std::string("Bearer ") + kToken + "x"}})
                .status,
            401);
  // Unauthenticated callers cannot tell known routes from unknown ones.
  EXPECT_EQ(Http(port(), "GET", "/admin/secret-route").status, 401);

  auto ok = Http(port(), "GET", "/admin/ping", "", {{"Authorization", std::string("Bearer ") + kToken}});
  EXPECT_EQ(ok.status, 200);
  EXPECT_EQ(nlohmann::json::parse(ok.body)["pong"], true);
  EXPECT_EQ(ok.body.find(kToken), std::string::npos);
  EXPECT_EQ(
      Http(port(), "GET", "/admin/ping", "", {{"Authorization", std::string("bearer  ") + kToken}}).status,
      200);
}

TEST_F(OpsTest, UnknownAdminRoutesGet404Json) {
  const testing::Headers auth = {{"Authorization", std::string("Bearer ") + kToken}};
  auto res = Http(port(), "GET", "/admin/nothing", "", auth);
  EXPECT_EQ(res.status, 404);
  EXPECT_EQ(res.Header("content-type"), "application/json");
  EXPECT_EQ(nlohmann::json::parse(res.body)["error"], "not found");
  auto wrong_method = Http(port(), "POST", "/admin/ping", "", auth);
  EXPECT_EQ(wrong_method.status, 405);
  EXPECT_EQ(wrong_method.Header("allow"), "GET");
}

TEST_F(OpsTest, AdminRoutesMayBeAddedAfterMounting) {
  ops_->AddAdminRoute("POST", "/admin/sync/", [](const Request& req, Responder r) {
    r.Send(Response::Json(202, {{"connection", req.path.substr(std::string("/admin/sync/").size())}}));
  });
  auto res =
      Http(port(), "POST", "/admin/sync/brex", "", {{"Authorization", std::string("Bearer ") + kToken}});
  EXPECT_EQ(res.status, 202);
  EXPECT_EQ(nlohmann::json::parse(res.body)["connection"], "brex");
}

TEST_F(OpsTest, AdminIsDisabledWithoutAToken) {
  Build("");
  EXPECT_EQ(Http(port(), "GET", "/admin/ping").status, 403);
  EXPECT_EQ(Http(port(), "GET", "/admin/ping", "", {{"Authorization", "Bearer "}}).status, 403);
  EXPECT_FALSE(ops_->Authorized("Bearer "));
}

TEST(OpsAuthTest, ComparesTheWholeToken) {
  OpsEndpoints ops({.admin_token = "s3cr3t-admin-token"});
  EXPECT_TRUE(ops.Authorized("Bearer s3cr3t-admin-token"));
  EXPECT_TRUE(ops.Authorized("BEARER s3cr3t-admin-token"));
  EXPECT_FALSE(ops.Authorized("Bearer s3cr3t-admin-toke"));
  EXPECT_FALSE(ops.Authorized("Bearer s3cr3t-admin-token2"));
  EXPECT_FALSE(ops.Authorized("Bearer"));
  EXPECT_FALSE(ops.Authorized(""));
  EXPECT_FALSE(ops.Authorized("s3cr3t-admin-token"));
}

}  // namespace
}  // namespace mlc::webhooks
