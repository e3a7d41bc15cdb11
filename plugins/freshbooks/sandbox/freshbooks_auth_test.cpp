// FreshBooks emulator: OAuth authorization code with redirect, token exchange in every body format,
// single-use rotating refresh tokens, 12 h expiry on the sandbox clock, identity, rate limits.
#include "freshbooks_test_util.hpp"
#include "mlc/sandbox/multipart.hpp"

namespace mlc::sandbox::freshbooks::testing {
namespace {

class FreshBooksAuthTest : public FreshBooksTest {
 protected:
  // Runs the browser step: GET authorize and return the code from the redirect.
  std::string Authorize(const std::string& state = "st4te") {
    const std::string redirect = creds_["redirect_uri"];
    HttpResponse r = Call("GET",
                          "/oauth/authorize?client_id=" + creds_["client_id"].get<std::string>() +
                              "&response_type=code&redirect_uri=" + UrlEncode(redirect) +
                              "&scope=user%3Aprofile%3Aread+user%3Aexpenses%3Awrite&state=" + state,
                          "", {}, false);
    EXPECT_EQ(r.status, 302) << r.body;
    const std::string location = r.Header("Location").value_or("");
    EXPECT_EQ(location.rfind(redirect + "?", 0), 0u) << location;
    const ParamList q = ParseQueryString(location.substr(location.find('?') + 1));
    std::string code;
    for (const auto& [k, v] : q) {
      if (k == "code") code = v;
      if (k == "state") {
        EXPECT_EQ(v, state);
      }
    }
    EXPECT_FALSE(code.empty()) << location;
    return code;
  }
  ParamList TokenForm(const std::string& grant, const std::string& key, const std::string& value) {
    return {{"client_id", creds_["client_id"]},
            {"client_secret", creds_["client_secret"]},
            {"grant_type", grant},
            {"redirect_uri", creds_["redirect_uri"]},
            {key, value}};
  }
  HttpResponse PostForm(const ParamList& form) {
    return Call("POST", "/auth/oauth/token", EncodeQueryString(form),
                {{"Content-Type", "application/x-www-form-urlencoded"}}, false);
  }
  int MeStatus(const std::string& token) {
    return Call("GET", "/auth/api/v1/users/me", "", {{"Authorization", "Bearer " + token}}, false).status;
  }
};

TEST_F(FreshBooksAuthTest, AnnouncesEverythingATestNeedsToSkipTheBrowser) {
  Start();
  for (const char* key : {"client_id", "client_secret", "redirect_uri", "access_token", "refresh_token",
                          "account_id", "business_id", "business_uuid", "token_url", "authorize_url"}) {
    EXPECT_TRUE(creds_.contains(key)) << key;
  }
  EXPECT_EQ(creds_["token_url"], base_ + "/auth/oauth/token");
  EXPECT_EQ(MeStatus(token_), 200);
}

TEST_F(FreshBooksAuthTest, AuthorizationCodeFlowWithRedirectAndExchange) {
  Start();
  const std::string code = Authorize();
  HttpResponse r = PostForm(TokenForm("authorization_code", "code", code));
  ASSERT_EQ(r.status, 200) << r.body;
  auto tok = *r.Json();
  // FB-PY auth_token_response.json fields.
  for (const char* key :
       {"access_token", "refresh_token", "token_type", "expires_in", "scope", "created_at", "id_token"}) {
    EXPECT_TRUE(tok.contains(key)) << key;
  }
  EXPECT_EQ(tok["token_type"], "Bearer");
  EXPECT_EQ(tok["expires_in"], 43200);
  EXPECT_EQ(tok["scope"], "user:profile:read user:expenses:write");
  EXPECT_NEAR(tok["created_at"].get<double>(), static_cast<double>(std::time(nullptr)), 120);
  EXPECT_EQ(MeStatus(tok["access_token"]), 200);

  // A code is single use.
  HttpResponse again = PostForm(TokenForm("authorization_code", "code", code));
  EXPECT_EQ(again.status, 400);
  EXPECT_EQ(again.Json()->value("error", ""), "invalid_grant");
}

// Issue 13 item 1: each resource needs the scopes FB-DOCS lists for it; a token granted without them is
// refused with 403 (the chart of accounts is under user:journal_entries:read).
TEST_F(FreshBooksAuthTest, EndpointsEnforceTheirScopes) {
  Start(10);
  const std::string code = Authorize();  // user:profile:read user:expenses:write
  HttpResponse r = PostForm(TokenForm("authorization_code", "code", code));
  ASSERT_EQ(r.status, 200) << r.body;
  const std::string token = r.Json()->value("access_token", "");
  auto call = [&](const std::string& method, const std::string& path, const std::string& body = "") {
    return Call(method, path, body,
                {{"Authorization", "Bearer " + token}, {"Content-Type", "application/json"}}, false);
  };
  EXPECT_EQ(MeStatus(token), 200);
  HttpResponse accounts = call("GET", Acct("journal_entry_accounts/journal_entry_accounts"));
  EXPECT_EQ(accounts.status, 403) << accounts.body;
  EXPECT_EQ(FirstError(accounts)["errno"], 1003);
  EXPECT_NE(accounts.body.find("user:journal_entries:read"), std::string::npos);
  EXPECT_EQ(call("GET", Acct("expenses/expenses")).status, 403);
  EXPECT_EQ(call("GET", Acct("expenses/categories")).status, 403);
  EXPECT_EQ(call("GET", Acct("bills/bills")).status, 403);
  EXPECT_EQ(call("GET", Acct("bill_vendors/bill_vendors")).status, 403);
  // Writing expenses is what this token may do.
  EXPECT_EQ(call("POST", Acct("expenses/expenses"), ValidExpense().dump()).status, 200);
  // The announced token has every scope a spend sync uses.
  EXPECT_EQ(Call("GET", Acct("journal_entry_accounts/journal_entry_accounts")).status, 200);
}

TEST_F(FreshBooksAuthTest, TokenEndpointTakesJsonAndMultipartBodies) {
  Start();
  nlohmann::json body = {{"client_id", creds_["client_id"]},
                         {"client_secret", creds_["client_secret"]},
                         {"grant_type", "authorization_code"},
                         {"redirect_uri", creds_["redirect_uri"]},
                         {"code", Authorize()}};
  HttpResponse json = CallJson("POST", "/auth/oauth/token", body);
  EXPECT_EQ(json.status, 200) << json.body;

  std::vector<MultipartPart> parts;
  for (const auto& [k, v] : TokenForm("authorization_code", "code", Authorize()))
    parts.push_back({k, "", "", v});
  auto [content_type, multipart] = EncodeMultipart(parts);
  HttpResponse mp = Call("POST", "/auth/oauth/token", multipart, {{"Content-Type", content_type}}, false);
  EXPECT_EQ(mp.status, 200) << mp.body;
  EXPECT_EQ(MeStatus(mp.Json()->value("access_token", "")), 200);
}

TEST_F(FreshBooksAuthTest, AuthorizeAcceptsTheTrailingSlashFormOfTheDocs) {
  Start();
  HttpResponse r = Call("GET",
                        "/oauth/authorize/?response_type=code&redirect_uri=" +
                            UrlEncode(creds_["redirect_uri"].get<std::string>()) +
                            "&client_id=" + creds_["client_id"].get<std::string>(),
                        "", {}, false);
  EXPECT_EQ(r.status, 302);
  EXPECT_NE(r.Header("Location").value_or("").find("code="), std::string::npos);
}

TEST_F(FreshBooksAuthTest, AuthorizeRejectsUnregisteredRedirectWithoutRedirecting) {
  Start();
  HttpResponse r = Call("GET",
                        "/oauth/authorize?client_id=" + creds_["client_id"].get<std::string>() +
                            "&response_type=code&redirect_uri=https%3A%2F%2Fevil.example%2Fcb",
                        "", {}, false);
  EXPECT_EQ(r.status, 400);
  EXPECT_FALSE(r.Header("Location").has_value());
  EXPECT_EQ(r.Json()->value("error", ""), "invalid_request");
}

TEST_F(FreshBooksAuthTest, AuthorizationCodeExpiresAfterFiveMinutes) {
  Start();
  const std::string code = Authorize();
  AdvanceClock(301);
  HttpResponse r = PostForm(TokenForm("authorization_code", "code", code));
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.Json()->value("error", ""), "invalid_grant");
}

TEST_F(FreshBooksAuthTest, RefreshTokensRotateAndAreSingleUse) {
  Start();
  const std::string first = creds_["refresh_token"];
  HttpResponse r1 = PostForm(TokenForm("refresh_token", "refresh_token", first));
  ASSERT_EQ(r1.status, 200) << r1.body;
  const std::string second = r1.Json()->value("refresh_token", "");
  EXPECT_FALSE(second.empty());
  EXPECT_NE(second, first);
  EXPECT_EQ(MeStatus(r1.Json()->value("access_token", "")), 200);

  // The used refresh token is rejected with invalid_grant.
  HttpResponse old = PostForm(TokenForm("refresh_token", "refresh_token", first));
  EXPECT_EQ(old.status, 400);
  EXPECT_EQ(old.Json()->value("error", ""), "invalid_grant");
  EXPECT_FALSE(old.Json()->value("error_description", "").empty());

  HttpResponse r2 = PostForm(TokenForm("refresh_token", "refresh_token", second));
  EXPECT_EQ(r2.status, 200) << r2.body;

  // A wrong client secret is an authentication failure, not a grant failure.
  ParamList bad = TokenForm("refresh_token", "refresh_token", r2.Json()->value("refresh_token", ""));
  bad[1].second = "wrong";
  HttpResponse denied = PostForm(bad);
  EXPECT_EQ(denied.status, 401);
  EXPECT_EQ(denied.Json()->value("error", ""), "invalid_client");
}

TEST_F(FreshBooksAuthTest, GrantErrorStatusIsConfigurable) {
  Start(10, {{"token_error_status", 401}});
  HttpResponse r = PostForm(TokenForm("refresh_token", "refresh_token", "not-a-token"));
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(r.Json()->value("error", ""), "invalid_grant");
}

TEST_F(FreshBooksAuthTest, AccessTokensExpireAfterTwelveHoursOnTheSandboxClock) {
  Start();
  AdvanceClock(12 * 3600 - 60);
  EXPECT_EQ(MeStatus(token_), 200);
  AdvanceClock(61);
  HttpResponse r = Call("GET", "/auth/api/v1/users/me");
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(r.Json()->value("error", ""), "invalid_token");
  EXPECT_EQ(r.Json()->value("error_description", ""), "The access token expired");
  EXPECT_EQ(r.Json()->value("state", ""), "unauthorized");
  // Accounting answers expiry the same way.
  EXPECT_EQ(Call("GET", Acct("expenses/expenses")).status, 401);
  // The refresh token never expires.
  HttpResponse refreshed = PostForm(TokenForm("refresh_token", "refresh_token", creds_["refresh_token"]));
  EXPECT_EQ(refreshed.status, 200) << refreshed.body;
}

TEST_F(FreshBooksAuthTest, MissingAndUnknownTokensGetTheDocumentedBodies) {
  Start();
  HttpResponse none = Call("GET", "/auth/api/v1/users/me", "", {}, false);
  EXPECT_EQ(none.status, 401);
  EXPECT_EQ(*none.Json(),
            (nlohmann::json{{"error", "unauthenticated"},
                            {"error_description", "This action requires authentication to continue."}}));
  HttpResponse bogus = Call("GET", Acct("expenses/expenses"), "", {{"Authorization", "Bearer nope"}}, false);
  EXPECT_EQ(bogus.status, 401);
  EXPECT_EQ(bogus.Json()->value("error_description", ""), "The access token is invalid");
  HttpResponse events = Call("GET", "/events/account/" + account_ + "/events/callbacks", "",
                             {{"Authorization", "Bearer nope"}}, false);
  EXPECT_EQ(events.status, 401);
  EXPECT_EQ(events.Json()->value("errno", 0), 401);
}

TEST_F(FreshBooksAuthTest, IdentityCarriesTheBusinessMembership) {
  Start();
  auto me = Get("/auth/api/v1/users/me");
  ASSERT_TRUE(me.contains("response"));
  const auto& r = me["response"];
  EXPECT_FALSE(r.contains("result"));  // identity has no result level
  EXPECT_EQ(r["identity_id"], creds_["identity_id"]);
  ASSERT_EQ(r["business_memberships"].size(), 1u);
  const auto& m = r["business_memberships"][0];
  EXPECT_EQ(m["role"], "owner");
  EXPECT_EQ(m["business"]["account_id"], creds_["account_id"]);
  EXPECT_EQ(m["business"]["id"], creds_["business_id"]);
  EXPECT_EQ(m["business"]["business_uuid"], creds_["business_uuid"]);
  EXPECT_EQ(m["business"]["name"], "Agency Co");
  EXPECT_NE(m["id"], m["business"]["id"]);  // the membership id is not the business id
  EXPECT_EQ(r["roles"][0]["accountid"], creds_["account_id"]);
}

TEST_F(FreshBooksAuthTest, ResetKeepsIssuedTokens) {
  Start();
  HttpResponse refreshed = PostForm(TokenForm("refresh_token", "refresh_token", creds_["refresh_token"]));
  ASSERT_EQ(refreshed.status, 200);
  const nlohmann::json tokens = refreshed.Json().value_or(nlohmann::json::object());
  Control("POST", "/_sandbox/reset");
  // A client that rotated its refresh token before the reset carries on: the new pair still works, the
  // used refresh token stays used.
  EXPECT_EQ(MeStatus(tokens.value("access_token", "")), 200);
  EXPECT_NE(PostForm(TokenForm("refresh_token", "refresh_token", creds_["refresh_token"])).status, 200);
  EXPECT_EQ(PostForm(TokenForm("refresh_token", "refresh_token", tokens.value("refresh_token", ""))).status,
            200);
}

TEST_F(FreshBooksAuthTest, RevokedAccessTokenIsRejected) {
  Start();
  HttpResponse r = Call("POST", "/auth/oauth/revoke",
                        EncodeQueryString({{"client_id", creds_["client_id"]},
                                           {"client_secret", creds_["client_secret"]},
                                           {"token", token_}}),
                        {{"Content-Type", "application/x-www-form-urlencoded"}}, false);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(MeStatus(token_), 401);
}

TEST_F(FreshBooksAuthTest, RateLimitAnswers429WithRetryHints) {
  Start(10, {{"rate_limit", {{"limit", 3}, {"window_s", 60}}}});
  for (int i = 0; i < 3; ++i) {
    HttpResponse ok = Call("GET", Acct("expenses/categories"));
    ASSERT_EQ(ok.status, 200);
    EXPECT_EQ(ok.Header("X-RateLimit-Limit"), "3");
    EXPECT_EQ(ok.Header("X-RateLimit-Remaining"), std::to_string(2 - i));
    EXPECT_TRUE(ok.Header("X-RateLimit-Reset").has_value());
  }
  HttpResponse limited = Call("GET", Acct("expenses/categories"));
  EXPECT_EQ(limited.status, 429);
  EXPECT_EQ(limited.Header("X-RateLimit-Remaining"), "0");
  const int retry = std::stoi(limited.Header("Retry-After").value_or("0"));
  EXPECT_GE(retry, 1);
  EXPECT_LE(retry, 60);
  EXPECT_EQ(limited.Json()->value("error", ""), "too_many_requests");
  EXPECT_GE(Control("GET", "/_sandbox/stats")["responses_429"].get<int>(), 1);
  AdvanceClock(61);
  EXPECT_EQ(Call("GET", Acct("expenses/categories")).status, 200);
}

TEST_F(FreshBooksAuthTest, RejectsBadVendorOptions) {
  EmulatorOptions options;
  options.vendor = {{"rate_limit", {{"limit", -1}}}};
  EXPECT_FALSE(SandboxServer::Start(MakeFreshBooksEmulator(options), options).ok());
  options.vendor = {{"no_such_option", true}};
  EXPECT_FALSE(SandboxServer::Start(MakeFreshBooksEmulator(options), options).ok());
  options.vendor = {{"redirect_uris", {"https://x.example/cb?a=1"}}};
  EXPECT_FALSE(SandboxServer::Start(MakeFreshBooksEmulator(options), options).ok());
  // Issue 13 item 3: FreshBooks registers HTTPS redirect URIs only (FB-DOCS authentication).
  options.vendor = {{"redirect_uris", {"http://127.0.0.1:8765/oauth/callback"}}};
  EXPECT_FALSE(SandboxServer::Start(MakeFreshBooksEmulator(options), options).ok());
  options.vendor = {{"redirect_uris", {"https://127.0.0.1:8765/oauth/callback"}}};
  EXPECT_TRUE(SandboxServer::Start(MakeFreshBooksEmulator(options), options).ok());
  options.vendor = {{"list_order", "random"}};
  EXPECT_FALSE(SandboxServer::Start(MakeFreshBooksEmulator(options), options).ok());
}

}  // namespace
}  // namespace mlc::sandbox::freshbooks::testing
