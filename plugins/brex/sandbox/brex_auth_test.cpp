// Brex emulator: bearer auth (bxt_ user tokens, OAuth), error shapes, rate limits, faults, options, reset.
#include <gtest/gtest.h>

#include "brex_model.hpp"
#include "brex_test_util.hpp"
#include "mlc/sandbox/crypto.hpp"

namespace mlc::sandbox::brex::testing {
namespace {

const nlohmann::json kUnauthorizedV1 = {{"type", "UNAUTHORIZED"},
                                        {"message", "PERMISSION_DENIED: Invalid or Revoked Token"}};

TEST_F(BrexTest, RejectsMissingBadAndRevokedTokensInTheV1Shape) {
  Start();
  HttpResponse none = Call("GET", "/v1/vendors", "", {}, /*auth=*/false);
  EXPECT_EQ(none.status, 401);
  EXPECT_EQ(none.Json().value(), kUnauthorizedV1);
  const std::vector<std::string> bad_tokens = {"bxt_notatoken", "eyJhbGciOi.bad.token",
                                               creds_["revoked_user_token"].get<std::string>()};
  for (const std::string& bad : bad_tokens) {
    HttpResponse r = Call("GET", "/v1/vendors", "", {{"Authorization", "Bearer " + bad}}, false);
    EXPECT_EQ(r.status, 401) << bad;
    EXPECT_EQ(r.Json().value(), kUnauthorizedV1);
  }
  HttpResponse basic = Call("GET", "/v1/vendors", "", {{"Authorization", "Basic Zm9vOmJhcg=="}}, false);
  EXPECT_EQ(basic.status, 401);
  EXPECT_TRUE(basic.Header("X-Brex-Trace-Id").has_value());
  EXPECT_EQ(Get("/v2/company")["id"], creds_["company_id"]);
  EXPECT_GE(Control("GET", "/_sandbox/stats")["tokens"]["rejected"].get<int>(), 4);
}

TEST_F(BrexTest, AccountingRoutesAnswerAuthFailuresInTheAccountingShape) {
  Start();
  HttpResponse r = Call("GET", "/v3/accounting/records", "", {}, false);
  EXPECT_EQ(r.status, 401);
  auto doc = r.Json().value();
  EXPECT_EQ(doc["error_code"], "UNAUTHORIZED");
  EXPECT_TRUE(doc.contains("message"));
  EXPECT_TRUE(doc.contains("details"));
}

TEST_F(BrexTest, AccountingAuthErrorShapeIsConfigurable) {
  Start(5, {{"accounting_auth_error_shape", "v1"}});
  HttpResponse r = Call("GET", "/v3/accounting/records", "", {}, false);
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(r.Json().value(), kUnauthorizedV1);
}

TEST_F(BrexTest, RevokedUserTokenFailsImmediately) {
  Start();
  EXPECT_EQ(Call("GET", "/v1/vendors").status, 200);
  Control("POST", "/_sandbox/events", {{"type", "REVOKE_USER_TOKEN"}});
  HttpResponse r = Call("GET", "/v1/vendors");
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(r.Json().value(), kUnauthorizedV1);
}

TEST_F(BrexTest, UserTokensExpireAfterNinetyIdleDaysOnly) {
  Start();
  AdvanceClock(80 * 86400);
  EXPECT_EQ(Call("GET", "/v2/users/me").status, 200);  // used: the idle stretch restarts
  AdvanceClock(80 * 86400);
  EXPECT_EQ(Call("GET", "/v2/users/me").status, 200);
  AdvanceClock(91 * 86400);
  HttpResponse r = Call("GET", "/v2/users/me");
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(r.Json().value(), kUnauthorizedV1);
}

// Issue 13.2: every endpoint needs one of its documented scopes. A user token created with the operator
// guide's scopes (the emulator's default) can make every call the brex plugin makes; without
// companies.readonly, GET /v2/company (mlc connect) is a 403; without users.readonly, the keep-alive
// GET /v2/users/me is a 403 that does not count as use, so the 90-day idle stretch keeps running.
TEST_F(BrexTest, EndpointsNeedTheirDocumentedScopes) {
  Start(20, {{"user_token_scopes", BrexOptions::DefaultUserTokenScopes()}});
  for (const char* path : {"/v2/company", "/v2/users/me", "/v3/accounting/records?limit=5", "/v1/vendors",
                           "/v1/webhooks/secrets"}) {
    EXPECT_EQ(Call("GET", path).status, 200) << path;
  }
  EXPECT_EQ(Call("GET", "/v2/transactions/card/primary").status, 403);  // not in the guide's list
  HttpResponse write =
      Call("POST", "/v1/vendors", R"({"company_name":"Extra Co"})", {{"Idempotency-Key", "k"}});
  EXPECT_EQ(write.status, 403);
  EXPECT_EQ(write.Json().value(), nlohmann::json({{"type", "FORBIDDEN"}, {"message", "Forbidden"}}));

  server_->Stop();
  Start(20, {{"user_token_scopes", {"accounting.record.read", "vendors.readonly"}}});
  HttpResponse company = Call("GET", "/v2/company");
  EXPECT_EQ(company.status, 403);
  EXPECT_EQ(company.Json().value()["type"], "FORBIDDEN");
  HttpResponse export_results = Call("POST", "/v3/accounting/records/export-results", R"({"results":[]})",
                                     {{"Content-Type", "application/json"}});
  EXPECT_EQ(export_results.status, 403);
  EXPECT_EQ(export_results.Json().value()["error_code"], "FORBIDDEN");
  // The refused keep-alive does not keep the token alive; an allowed call does.
  AdvanceClock(80 * 86400);
  EXPECT_EQ(Call("GET", "/v2/users/me").status, 403);
  AdvanceClock(11 * 86400);
  EXPECT_EQ(Call("GET", "/v1/vendors").status, 401);  // 91 days since the last allowed call

  // OAuth tokens carry the scopes of their grant.
  server_->Stop();
  Start(5);
  auto cc = [&](const std::string& scope) {
    auto r = Call("POST", creds_["oauth"]["token_url"],
                  EncodeQueryString({{"grant_type", "client_credentials"},
                                     {"client_id", creds_["oauth"]["client_id"]},
                                     {"client_secret", creds_["oauth"]["client_secret"]},
                                     {"scope", scope}}),
                  {{"Content-Type", "application/x-www-form-urlencoded"}}, false);
    return r.Json().value()["access_token"].get<std::string>();
  };
  const std::string vendors_only = cc("vendors.readonly");
  EXPECT_EQ(Call("GET", "/v1/vendors", "", {{"Authorization", "Bearer " + vendors_only}}, false).status, 200);
  EXPECT_EQ(Call("GET", "/v2/users/me", "", {{"Authorization", "Bearer " + vendors_only}}, false).status,
            403);
  EXPECT_EQ(Call("GET", "/v2/users/me", "", {{"Authorization", "Bearer " + cc("users")}}, false).status, 200);
}

TEST_F(BrexTest, ExpiredTokenStatusIsConfigurable) {
  Start(50, {{"expired_token_status", 403}, {"user_token_idle_days", 30}});
  AdvanceClock(31 * 86400);
  HttpResponse r = Call("GET", "/v1/vendors");
  EXPECT_EQ(r.status, 403);
  EXPECT_EQ(r.Json().value(), nlohmann::json({{"type", "FORBIDDEN"}, {"message", "Expired token"}}));
}

TEST_F(BrexTest, OAuthAuthorizationCodeTokensExpireAfterAnHourAndRotate) {
  Start();
  const nlohmann::json oauth = creds_["oauth"];
  const std::string redirect = "http://127.0.0.1:9/callback";
  const std::string verifier(64, 'v');
  auto authorize = Call("GET",
                        oauth["authorize_url"].get<std::string>() + "?" +
                            EncodeQueryString({{"response_type", "code"},
                                               {"client_id", oauth["client_id"]},
                                               {"redirect_uri", redirect},
                                               {"scope", "openid offline_access vendors.readonly"},
                                               {"state", "st"},
                                               {"code_challenge", Base64UrlEncodeNoPad(Sha256(verifier))},
                                               {"code_challenge_method", "S256"}}),
                        "", {}, false);
  ASSERT_EQ(authorize.status, 302);
  const std::string location = authorize.Header("Location").value_or("");
  ASSERT_EQ(location.rfind(redirect + "?", 0), 0u) << location;
  ParamList q = ParseQueryString(location.substr(location.find('?') + 1));
  std::string code;
  for (auto& [k, v] : q) {
    if (k == "code") code = v;
  }
  const std::string basic = "Basic " + Base64Encode(oauth["client_id"].get<std::string>() + ":" +
                                                    oauth["client_secret"].get<std::string>());
  auto token = Call("POST", oauth["token_url"],
                    EncodeQueryString({{"grant_type", "authorization_code"},
                                       {"code", code},
                                       {"redirect_uri", redirect},
                                       {"code_verifier", verifier}}),
                    {{"Content-Type", "application/x-www-form-urlencoded"}, {"Authorization", basic}}, false);
  ASSERT_EQ(token.status, 200) << token.body;
  auto tokens = token.Json().value();
  EXPECT_EQ(tokens["expires_in"], 3600);
  const std::string access = tokens["access_token"], refresh = tokens["refresh_token"];
  auto with = [&](const std::string& t) {
    return Call("GET", "/v1/vendors", "", {{"Authorization", "Bearer " + t}}, false).status;
  };
  EXPECT_EQ(with(access), 200);
  AdvanceClock(3601);
  EXPECT_EQ(with(access), 401);

  auto refreshed = Call("POST", oauth["token_url"],
                        EncodeQueryString({{"grant_type", "refresh_token"},
                                           {"refresh_token", refresh},
                                           {"client_id", oauth["client_id"]},
                                           {"client_secret", oauth["client_secret"]}}),
                        {{"Content-Type", "application/x-www-form-urlencoded"}}, false);
  ASSERT_EQ(refreshed.status, 200) << refreshed.body;
  EXPECT_EQ(with(refreshed.Json().value()["access_token"]), 200);
  auto reused = Call("POST", oauth["token_url"],
                     EncodeQueryString({{"grant_type", "refresh_token"},
                                        {"refresh_token", refresh},
                                        {"client_id", oauth["client_id"]},
                                        {"client_secret", oauth["client_secret"]}}),
                     {{"Content-Type", "application/x-www-form-urlencoded"}}, false);
  EXPECT_EQ(reused.status, 400);
  EXPECT_EQ(reused.Json().value()["error"], "invalid_grant");
  auto stats = Control("GET", "/_sandbox/stats")["tokens"];
  EXPECT_EQ(stats["issued"], 2);  // the ready grant the emulator announces, and this one
  EXPECT_EQ(stats["refreshed"], 1);
  EXPECT_GE(stats["rejected"].get<int>(), 2);
}

TEST_F(BrexTest, ClientCredentialsAndDiscovery) {
  Start();
  auto config = Call("GET", "/oauth2/default/.well-known/openid-configuration", "", {}, false).Json().value();
  EXPECT_EQ(config["token_endpoint"], creds_["oauth"]["token_url"]);
  auto r = Call("POST", config["token_endpoint"],
                EncodeQueryString({{"grant_type", "client_credentials"},
                                   {"client_id", creds_["oauth"]["client_id"]},
                                   {"client_secret", creds_["oauth"]["client_secret"]}}),
                {{"Content-Type", "application/x-www-form-urlencoded"}}, false);
  ASSERT_EQ(r.status, 200);
  const std::string access = r.Json().value()["access_token"];
  EXPECT_EQ(Call("GET", "/v1/webhooks", "", {{"Authorization", "Bearer " + access}}, false).status, 200);
}

TEST_F(BrexTest, RateLimitsAfterAThousandRequestsInSixtySeconds) {
  Start(5);
  for (int i = 0; i < 1000; ++i) {
    const long status = Call("GET", "/v2/company").status;
    ASSERT_EQ(status, 200) << "request " << i;
  }
  HttpResponse limited = Call("GET", "/v2/company");
  EXPECT_EQ(limited.status, 429);
  auto body = limited.Json().value();
  EXPECT_EQ(body["type"], "TOO_MANY_REQUESTS");
  EXPECT_TRUE(body["message"].is_string());
  EXPECT_FALSE(limited.Header("Retry-After").has_value());  // Brex documents no rate-limit headers
  // Another client id has its own budget.
  auto cc = Call("POST", creds_["oauth"]["token_url"],
                 EncodeQueryString({{"grant_type", "client_credentials"},
                                    {"client_id", creds_["oauth"]["client_id"]},
                                    {"client_secret", creds_["oauth"]["client_secret"]},
                                    {"scope", "companies.readonly"}}),
                 {{"Content-Type", "application/x-www-form-urlencoded"}}, false);
  const std::string access = cc.Json().value()["access_token"];
  EXPECT_EQ(Call("GET", "/v2/company", "", {{"Authorization", "Bearer " + access}}, false).status, 200);
  AdvanceClock(61);
  EXPECT_EQ(Call("GET", "/v2/company").status, 200);
  EXPECT_EQ(Control("GET", "/_sandbox/stats")["responses_429"], 1);
}

TEST_F(BrexTest, RetryAfterCanBeSwitchedOn) {
  Start(5, {{"rate_limit", {{"limit", 2}, {"window_s", 60}, {"kind", "fixed"}}}, {"send_retry_after", true}});
  Call("GET", "/v2/company");
  Call("GET", "/v2/company");
  HttpResponse r = Call("GET", "/v2/company");
  EXPECT_EQ(r.status, 429);
  ASSERT_TRUE(r.Header("Retry-After").has_value());
  EXPECT_GE(std::stoi(*r.Header("Retry-After")), 1);
}

TEST_F(BrexTest, UnknownRoutesAndInjectedFaultsUseBrexShapes) {
  Start(5);
  HttpResponse missing = Call("GET", "/v1/nothing");
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(missing.Json().value()["type"], "NOT_FOUND");
  Control("POST", "/_sandbox/faults", {{"global", {{"rate_5xx", 1.0}, {"status_5xx", 500}}}});
  HttpResponse v3 = Call("GET", "/v3/accounting/records");
  EXPECT_EQ(v3.status, 500);
  EXPECT_EQ(v3.Json().value()["error_code"], "INTERNAL_ERROR");
  HttpResponse v1 = Call("GET", "/v1/vendors");
  EXPECT_EQ(v1.status, 500);
  EXPECT_EQ(v1.Json().value()["type"], "INTERNAL_SERVER_ERROR");
  Control("POST", "/_sandbox/faults", {{"global", {{"rate_429", 1.0}}}});
  EXPECT_EQ(Call("GET", "/v1/vendors").Json().value()["type"], "TOO_MANY_REQUESTS");
}

TEST_F(BrexTest, CommitThenDropFollowedByIdempotentRetryCreatesOneVendor) {
  Start(5);
  client_.set_reuse_connections(false);
  Control("POST", "/_sandbox/faults",
          {{"routes", {{"POST /v1/vendors", {{"commit_then_drop", 1.0}, {"count", 1}}}}}});
  const std::string body = R"({"company_name":"Quillfeather Studio"})";
  const HeaderList headers = {{"Authorization", "Bearer " + token_}, {"Idempotency-Key", "k-commit-drop"}};
  auto lost = client_.Send("POST", base_ + "/v1/vendors", headers, body);
  EXPECT_FALSE(lost.ok()) << "the first response must be dropped";
  auto retry = client_.Send("POST", base_ + "/v1/vendors", headers, body);
  ASSERT_TRUE(retry.ok());
  EXPECT_EQ(retry->status, 200);
  int named = 0;
  for (const auto& v : Objects("vendors")) named += v["company_name"] == "Quillfeather Studio" ? 1 : 0;
  EXPECT_EQ(named, 1);
  EXPECT_EQ(Control("GET", "/_sandbox/stats")["idempotent_replays"], 1);
}

TEST_F(BrexTest, RejectsUnknownOrBadOptions) {
  for (const nlohmann::json& bad :
       {nlohmann::json{{"colour", "red"}}, nlohmann::json{{"month", "May"}},
        nlohmann::json{{"expired_token_status", 402}}, nlohmann::json{{"rate_limit", {{"kind", "leaky"}}}},
        nlohmann::json{{"ready_ratio", 0.8}, {"exported_ratio", 0.5}}}) {
    EmulatorOptions options;
    options.vendor = bad;
    auto s = SandboxServer::Start(MakeBrexEmulator(options), options);
    EXPECT_FALSE(s.ok()) << bad.dump();
    EXPECT_EQ(s.status().code(), Code::kInvalid) << bad.dump();
  }
}

TEST_F(BrexTest, SeedIsDeterministicAndResetRestoresIt) {
  Start(30);
  const auto first = Objects("accounting_records");
  const std::string token = token_;
  EmulatorOptions options;
  options.seed = 42;
  options.records = 30;
  options.vendor = {{"month", "2025-05"}};
  auto twin = SandboxServer::Start(MakeBrexEmulator(options), options);
  ASSERT_TRUE(twin.ok());
  EXPECT_EQ((*twin)->Announcement()["credentials"]["user_token"], token);
  auto twin_records = (*twin)->emulator().Objects("accounting_records");
  ASSERT_TRUE(twin_records.ok());
  ASSERT_EQ(twin_records->size(), first.size());
  for (size_t i = 0; i < first.size(); ++i) {
    EXPECT_EQ((*twin_records)[i]["id"], first[i]["id"]);
    EXPECT_EQ((*twin_records)[i]["_amount_cents"], first[i]["_amount_cents"]);
    EXPECT_EQ((*twin_records)[i]["review_status"], first[i]["review_status"]);
  }

  Call("POST", "/v1/vendors", R"({"company_name":"Extra Co"})", {{"Idempotency-Key", "x"}});
  Control("POST", "/_sandbox/events", {{"type", "ACCOUNTING_RECORD_READY_FOR_EXPORT"}, {"count", 3}});
  Control("POST", "/_sandbox/reset");
  const auto after = Objects("accounting_records");
  ASSERT_EQ(after.size(), first.size());
  for (size_t i = 0; i < first.size(); ++i) EXPECT_EQ(after[i]["review_status"], first[i]["review_status"]);
  for (const auto& v : Objects("vendors")) EXPECT_NE(v["company_name"], "Extra Co");
  EXPECT_EQ(Control("GET", "/_sandbox/info")["credentials"]["user_token"], token);
  EXPECT_EQ(Call("GET", "/v2/company").status, 200);
}

TEST(BrexRegistry, RegistersUnderBrex) {
  EmulatorRegistry registry;
  RegisterBrexEmulator(registry);
  EXPECT_EQ(registry.Names(), std::vector<std::string>{"brex"});
  auto e = registry.Create("brex", {});
  ASSERT_TRUE(e.ok());
  EXPECT_EQ((*e)->Name(), "brex");
}

}  // namespace
}  // namespace mlc::sandbox::brex::testing
