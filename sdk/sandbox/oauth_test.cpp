// OAuth server emulation over real HTTP: authorization code (+PKCE), rotation, client credentials, expiry.
#include "mlc/sandbox/oauth.hpp"

#include <gtest/gtest.h>

#include "mlc/sandbox/crypto.hpp"
#include "mlc/sandbox/http_client.hpp"
#include "mlc/sandbox/server.hpp"

namespace mlc::sandbox {
namespace {

constexpr char kVerifier[] = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
constexpr char kChallenge[] = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
constexpr char kRedirect[] = "http://127.0.0.1:1/callback";

class OAuthTest : public ::testing::Test {
 protected:
  void Start(OAuthOptions options = {}) {
    options.revoke_path = "/oauth/revoke";
    options.audiences = {"https://api.example.test"};
    oauth_ = std::make_unique<OAuthServer>(clock_, 11, options, &stats_);
    oauth_->AddClient({"cid", "csecret", {kRedirect}});
    oauth_->AddClient({"public-app", "", {}});
    oauth_->Install(router_);
    router_.Add("GET", "/me", [this](Request& req) {
      auto token = req.BearerToken();
      TokenCheck c = oauth_->CheckAccessToken(token.value_or(""));
      if (c.state != TokenState::kValid) {
        return Response::Json(401, {{"state", TokenStateName(c.state)}});
      }
      return Response::Json(200, {{"sub", c.grant.subject}, {"client", c.grant.client_id}});
    });
    auto s = HttpServer::Create({}, [this](Request& req) {
      auto m = router_.Find(req.method, req.path);
      if (!m.route) return Response::Empty(404);
      req.params = m.params;
      return m.route->handler(req);
    });
    ASSERT_TRUE(s.ok());
    server_ = std::move(*s);
    server_->Start();
    base_ = server_->base_url();
  }

  // Runs GET authorize and returns the redirect's query parameters.
  ParamList Authorize(const ParamList& params, long* status = nullptr) {
    auto r = client_.Get(base_ + "/oauth/authorize?" + EncodeQueryString(params));
    EXPECT_TRUE(r.ok());
    if (status) *status = r->status;
    const std::string location = r->Header("Location").value_or("");
    const size_t q = location.find('?');
    return q == std::string::npos ? ParamList{} : ParseQueryString(location.substr(q + 1));
  }

  static std::string Get(const ParamList& p, const std::string& k) {
    for (const auto& [a, b] : p) {
      if (a == k) return b;
    }
    return "";
  }

  HttpResponse Token(const ParamList& form, const HeaderList& headers = {}) {
    HeaderList h = headers;
    h.emplace_back("Content-Type", "application/x-www-form-urlencoded");
    auto r = client_.Send("POST", base_ + "/oauth/token", h, EncodeQueryString(form));
    EXPECT_TRUE(r.ok());
    return *r;
  }

  long Me(const std::string& token, std::string* state = nullptr) {
    auto r = client_.Get(base_ + "/me", {{"Authorization", "Bearer " + token}});
    EXPECT_TRUE(r.ok());
    if (state) *state = r->Json().value().value("state", "");
    return r->status;
  }

  std::string CodeFor(const ParamList& extra = {}) {
    ParamList p = {
        {"response_type", "code"}, {"client_id", "cid"}, {"redirect_uri", kRedirect}, {"state", "xyz"}};
    p.insert(p.end(), extra.begin(), extra.end());
    return Get(Authorize(p), "code");
  }

  Clock clock_;
  Stats stats_;
  Router router_;
  std::unique_ptr<OAuthServer> oauth_;
  std::unique_ptr<HttpServer> server_;
  HttpClient client_;
  std::string base_;
};

TEST_F(OAuthTest, AuthorizationCodeFlowIssuesWorkingTokens) {
  Start();
  long status = 0;
  ParamList q = Authorize({{"response_type", "code"},
                           {"client_id", "cid"},
                           {"redirect_uri", kRedirect},
                           {"state", "s-123"},
                           {"scope", "openid offline_access"},
                           {"login_hint", "cuuser_9"}},
                          &status);
  EXPECT_EQ(status, 302);
  EXPECT_EQ(Get(q, "state"), "s-123");
  const std::string code = Get(q, "code");
  ASSERT_FALSE(code.empty());

  HttpResponse t = Token({{"grant_type", "authorization_code"},
                          {"code", code},
                          {"redirect_uri", kRedirect},
                          {"client_id", "cid"},
                          {"client_secret", "csecret"}});
  ASSERT_EQ(t.status, 200) << t.body;
  auto doc = t.Json().value();
  EXPECT_EQ(doc["token_type"], "Bearer");
  EXPECT_EQ(doc["expires_in"], 3600);
  EXPECT_EQ(doc["scope"], "openid offline_access");
  ASSERT_TRUE(doc.contains("refresh_token"));
  EXPECT_EQ(t.Header("Cache-Control").value_or(""), "no-store");
  EXPECT_EQ(Me(doc["access_token"]), 200);
  EXPECT_EQ(oauth_->counters().issued, 1);
  EXPECT_EQ(stats_.tokens_issued(), 1);

  // A code works once.
  HttpResponse again = Token({{"grant_type", "authorization_code"},
                              {"code", code},
                              {"redirect_uri", kRedirect},
                              {"client_id", "cid"},
                              {"client_secret", "csecret"}});
  EXPECT_EQ(again.status, 400);
  EXPECT_EQ(again.Json().value()["error"], "invalid_grant");
}

TEST_F(OAuthTest, AuthorizeRejectsUnknownClientAndRedirectWithoutRedirecting) {
  Start();
  long status = 0;
  Authorize({{"response_type", "code"}, {"client_id", "nobody"}, {"redirect_uri", kRedirect}}, &status);
  EXPECT_EQ(status, 400);
  Authorize({{"response_type", "code"}, {"client_id", "cid"}, {"redirect_uri", "http://evil.test/cb"}},
            &status);
  EXPECT_EQ(status, 400);
  // Other problems go back to the client with error and state.
  ParamList q = Authorize({{"response_type", "token"}, {"client_id", "cid"}, {"state", "s"}}, &status);
  EXPECT_EQ(status, 302);
  EXPECT_EQ(Get(q, "error"), "unsupported_response_type");
  EXPECT_EQ(Get(q, "state"), "s");
}

TEST_F(OAuthTest, PkceS256IsVerified) {
  Start();
  const std::string code = CodeFor({{"code_challenge", kChallenge}, {"code_challenge_method", "S256"}});
  HttpResponse wrong = Token({{"grant_type", "authorization_code"},
                              {"code", code},
                              {"redirect_uri", kRedirect},
                              {"code_verifier", std::string(43, 'a')},
                              {"client_id", "cid"},
                              {"client_secret", "csecret"}});
  EXPECT_EQ(wrong.status, 400);
  EXPECT_EQ(wrong.Json().value()["error"], "invalid_grant");

  const std::string code2 = CodeFor({{"code_challenge", kChallenge}, {"code_challenge_method", "S256"}});
  HttpResponse missing = Token({{"grant_type", "authorization_code"},
                                {"code", code2},
                                {"redirect_uri", kRedirect},
                                {"client_id", "cid"},
                                {"client_secret", "csecret"}});
  EXPECT_EQ(missing.status, 400);

  const std::string code3 = CodeFor({{"code_challenge", kChallenge}, {"code_challenge_method", "S256"}});
  HttpResponse good = Token({{"grant_type", "authorization_code"},
                             {"code", code3},
                             {"redirect_uri", kRedirect},
                             {"code_verifier", kVerifier},
                             {"client_id", "cid"},
                             {"client_secret", "csecret"}});
  EXPECT_EQ(good.status, 200) << good.body;
  EXPECT_EQ(oauth_->counters().rejected, 2);
}

TEST_F(OAuthTest, PublicClientsMustUsePkce) {
  Start();
  long status = 0;
  ParamList q = Authorize(
      {{"response_type", "code"}, {"client_id", "public-app"}, {"redirect_uri", kRedirect}}, &status);
  EXPECT_EQ(Get(q, "error"), "invalid_request");
  q = Authorize({{"response_type", "code"},
                 {"client_id", "public-app"},
                 {"redirect_uri", kRedirect},
                 {"code_challenge", kChallenge},
                 {"code_challenge_method", "S256"}});
  HttpResponse t = Token({{"grant_type", "authorization_code"},
                          {"code", Get(q, "code")},
                          {"redirect_uri", kRedirect},
                          {"code_verifier", kVerifier},
                          {"client_id", "public-app"}});
  EXPECT_EQ(t.status, 200) << t.body;
}

TEST_F(OAuthTest, RotatingRefreshRejectsReusedToken) {
  Start();
  HttpResponse first = Token({{"grant_type", "authorization_code"},
                              {"code", CodeFor()},
                              {"redirect_uri", kRedirect},
                              {"client_id", "cid"},
                              {"client_secret", "csecret"}});
  ASSERT_EQ(first.status, 200);
  const std::string rt1 = first.Json().value()["refresh_token"];
  const std::string basic = "Basic " + Base64Encode("cid:csecret");

  HttpResponse second =
      Token({{"grant_type", "refresh_token"}, {"refresh_token", rt1}}, {{"Authorization", basic}});
  ASSERT_EQ(second.status, 200) << second.body;
  const std::string rt2 = second.Json().value()["refresh_token"];
  EXPECT_NE(rt1, rt2);
  EXPECT_EQ(Me(second.Json().value()["access_token"]), 200);

  HttpResponse reuse =
      Token({{"grant_type", "refresh_token"}, {"refresh_token", rt1}}, {{"Authorization", basic}});
  EXPECT_EQ(reuse.status, 400);
  EXPECT_EQ(reuse.Json().value()["error"], "invalid_grant");

  HttpResponse third =
      Token({{"grant_type", "refresh_token"}, {"refresh_token", rt2}}, {{"Authorization", basic}});
  EXPECT_EQ(third.status, 200);
  EXPECT_EQ(oauth_->counters().refreshed, 2);
  EXPECT_EQ(stats_.tokens_refreshed(), 2);
  EXPECT_GE(stats_.tokens_rejected(), 1);
}

TEST_F(OAuthTest, NonRotatingRefreshKeepsTheSameToken) {
  OAuthOptions options;
  options.rotate_refresh_tokens = false;
  options.refresh_response_includes_refresh_token = false;
  Start(options);
  HttpResponse first = Token({{"grant_type", "authorization_code"},
                              {"code", CodeFor()},
                              {"redirect_uri", kRedirect},
                              {"client_id", "cid"},
                              {"client_secret", "csecret"}});
  const std::string rt = first.Json().value()["refresh_token"];
  for (int i = 0; i < 3; ++i) {
    HttpResponse r = Token({{"grant_type", "refresh_token"},
                            {"refresh_token", rt},
                            {"client_id", "cid"},
                            {"client_secret", "csecret"}});
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_FALSE(r.Json().value().contains("refresh_token"));
  }
}

TEST_F(OAuthTest, RefreshTokensBelongToTheirClient) {
  Start();
  oauth_->AddClient({"other", "osecret", {}});
  HttpResponse first = Token({{"grant_type", "authorization_code"},
                              {"code", CodeFor()},
                              {"redirect_uri", kRedirect},
                              {"client_id", "cid"},
                              {"client_secret", "csecret"}});
  HttpResponse stolen = Token({{"grant_type", "refresh_token"},
                               {"refresh_token", first.Json().value()["refresh_token"]},
                               {"client_id", "other"},
                               {"client_secret", "osecret"}});
  EXPECT_EQ(stolen.status, 400);
  EXPECT_EQ(stolen.Json().value()["error"], "invalid_grant");
}

TEST_F(OAuthTest, ClientCredentialsWithAudienceAndJsonBody) {
  Start();
  auto r = client_.Send("POST", base_ + "/oauth/token", {{"Content-Type", "application/json"}},
                        R"({"grant_type":"client_credentials","client_id":"cid","client_secret":"csecret",
                            "audience":"https://api.example.test"})");
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->status, 200) << r->body;
  auto doc = r->Json().value();
  EXPECT_FALSE(doc.contains("refresh_token"));
  EXPECT_EQ(Me(doc["access_token"]), 200);

  auto bad_audience = client_.Send("POST", base_ + "/oauth/token", {{"Content-Type", "application/json"}},
                                   R"({"grant_type":"client_credentials","client_id":"cid",
                                       "client_secret":"csecret","audience":"https://elsewhere"})");
  EXPECT_EQ(bad_audience->status, 400);
  auto malformed =
      client_.Send("POST", base_ + "/oauth/token", {{"Content-Type", "application/json"}}, "{nope");
  EXPECT_EQ(malformed->status, 400);
  EXPECT_EQ(malformed->Json().value()["error"], "invalid_request");
}

TEST_F(OAuthTest, ClientAuthenticationFailures) {
  Start();
  HttpResponse wrong =
      Token({{"grant_type", "client_credentials"}, {"client_id", "cid"}, {"client_secret", "x"}});
  EXPECT_EQ(wrong.status, 401);
  EXPECT_EQ(wrong.Json().value()["error"], "invalid_client");
  HttpResponse basic_wrong =
      Token({{"grant_type", "client_credentials"}}, {{"Authorization", "Basic " + Base64Encode("cid:nope")}});
  EXPECT_EQ(basic_wrong.status, 401);
  EXPECT_TRUE(basic_wrong.Header("WWW-Authenticate").has_value());
  HttpResponse both = Token({{"grant_type", "client_credentials"}, {"client_secret", "csecret"}},
                            {{"Authorization", "Basic " + Base64Encode("cid:csecret")}});
  EXPECT_EQ(both.status, 400);
  HttpResponse basic_ok = Token({{"grant_type", "client_credentials"}},
                                {{"Authorization", "Basic " + Base64Encode("cid:csecret")}});
  EXPECT_EQ(basic_ok.status, 200);
  HttpResponse unsupported =
      Token({{"grant_type", "password"}, {"client_id", "cid"}, {"client_secret", "csecret"}});
  EXPECT_EQ(unsupported.Json().value()["error"], "unsupported_grant_type");
}

TEST_F(OAuthTest, AccessTokensExpireOnTheClock) {
  Start();
  auto issued = oauth_->IssueDirect("cid", "user_7", "openid");
  ASSERT_TRUE(issued.ok());
  const std::string access = (*issued)["access_token"];
  EXPECT_EQ(Me(access), 200);
  clock_.Advance(std::chrono::seconds(3599));
  EXPECT_EQ(Me(access), 200);
  clock_.Advance(std::chrono::seconds(2));
  std::string state;
  EXPECT_EQ(Me(access, &state), 401);
  EXPECT_EQ(state, "expired");
  EXPECT_FALSE(oauth_->FindAccessToken(access).has_value());
  // The refresh token still works after the access token expired.
  HttpResponse r = Token({{"grant_type", "refresh_token"},
                          {"refresh_token", (*issued)["refresh_token"]},
                          {"client_id", "cid"},
                          {"client_secret", "csecret"}});
  EXPECT_EQ(r.status, 200);
}

TEST_F(OAuthTest, RefreshTokensExpireWhenIdle) {
  OAuthOptions options;
  options.refresh_token_idle_ttl = std::chrono::hours(24 * 90);
  Start(options);
  auto issued = oauth_->IssueDirect("cid", "u", "");
  clock_.Advance(std::chrono::hours(24 * 91));
  HttpResponse r = Token({{"grant_type", "refresh_token"},
                          {"refresh_token", (*issued)["refresh_token"]},
                          {"client_id", "cid"},
                          {"client_secret", "csecret"}});
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.Json().value()["error"], "invalid_grant");
}

TEST_F(OAuthTest, RevocationAndUnknownTokens) {
  Start();
  auto issued = oauth_->IssueDirect("cid", "u", "");
  const std::string access = (*issued)["access_token"];
  auto r = client_.Send("POST", base_ + "/oauth/revoke",
                        {{"Content-Type", "application/x-www-form-urlencoded"}}, "token=" + access);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 200);
  std::string state;
  EXPECT_EQ(Me(access, &state), 401);
  EXPECT_EQ(state, "revoked");
  EXPECT_EQ(Me("at_made_up", &state), 401);
  EXPECT_EQ(state, "unknown");
  EXPECT_EQ(oauth_->IssueDirect("nobody", "u", "").status().code(), Code::kNotFound);
  auto dump = oauth_->ToJson();
  EXPECT_EQ(dump["access_tokens"].size(), 1u);
  EXPECT_EQ(dump["access_tokens"][0]["state"], "revoked");
  EXPECT_EQ(dump["access_tokens"][0]["token"].get<std::string>().find(access), std::string::npos);
}

TEST_F(OAuthTest, DecoratesTokenResponses) {
  OAuthOptions options;
  options.decorate_token_response = [](nlohmann::json& body, const TokenGrant& grant) {
    body["api_domain"] = "https://www.zohoapis.test";
    body["grant"] = grant.grant_type;
  };
  Start(options);
  HttpResponse r =
      Token({{"grant_type", "client_credentials"}, {"client_id", "cid"}, {"client_secret", "csecret"}});
  auto doc = r.Json().value();
  EXPECT_EQ(doc["api_domain"], "https://www.zohoapis.test");
  EXPECT_EQ(doc["grant"], "client_credentials");
}

}  // namespace
}  // namespace mlc::sandbox
