// TokenManager against an emulated vendor on the loopback test server: rotation persisted under
// concurrency, single flight for every refreshing kind, proactive refresh, 401 handling, the failure budget,
// needs_reauth, exact token request bodies (Procurify JSON + audience, Entra ID form + scope), consent with
// state and PKCE, Zoho api_domain hand-off, static-token idle expiry, crash safety with a killed child, the
// pair committed in one transaction (a write refused mid-commit keeps the old pair), the cross-process
// refresh lease (two store handles, a real child process, expiry takeover), refreshes during vault key
// rotation, and no token value in any log line or error.
#include "auth/token_manager.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <latch>
#include <thread>

#include "auth/auth_state.hpp"
#include "auth/testdata/fake_vendor.hpp"
#include "auth/testdata/log_capture.hpp"
#include "http/testing/test_server.hpp"
#include "store/kv.hpp"

extern char** environ;

namespace mlc::auth {
namespace {

using http::testing::TestRequest;
using http::testing::TestResponse;
using http::testing::TestServer;
using nlohmann::json;
using testdata::FakeVendor;

constexpr int64_t kStartMs = 1709251200000;  // 2024-03-01T00:00:00Z
constexpr int64_t kDayMs = 24LL * 3600 * 1000;

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "mlc-auth-test-XXXXXX").string();
    if (mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  std::string File(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

int64_t NowOf(const http::Clock& clock) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(clock.WallNow().time_since_epoch()).count();
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

class TokenManagerTest : public ::testing::Test {
 protected:
  TokenManagerTest() : key_(vault::GenerateMasterKey()) {}

  void SetUp() override {
    log_ = testdata::LogCapture();
    log_lines_before_ = log_->Lines().size();
    auto store = store::Store::Open({.path = dir_.File("mlc.db")});
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    store_ = std::move(store).value();
    auto v = vault::Vault::Open(*store_, key_);
    ASSERT_TRUE(v.ok()) << v.status().ToString();
    vault_ = std::make_unique<vault::Vault>(std::move(v).value());
    clock_.SetWall(std::chrono::system_clock::time_point(std::chrono::milliseconds(kStartMs)));
    TestServer::Options so;
    so.threads = 4;
    server_ = std::make_unique<TestServer>([this](const TestRequest& r) { return vendor_.Handle(r); }, so);
  }

  void TearDown() override {
    // No secret reached the logger (captured before the redacting sink) or an error message.
    std::vector<std::string> secrets = vendor_.Issued();
    secrets.insert(secrets.end(), extra_secrets_.begin(), extra_secrets_.end());
    secrets.push_back(vendor_.client_secret);
    const auto lines = log_->Lines();
    for (size_t i = log_lines_before_; i < lines.size(); ++i) {
      for (const auto& s : secrets)
        EXPECT_EQ(lines[i].find(s), std::string::npos) << "secret in log: " << lines[i];
    }
    for (const auto& m : messages_) {
      for (const auto& s : secrets) EXPECT_EQ(m.find(s), std::string::npos) << "secret in error: " << m;
    }
  }

  TokenManager::Options Opts() {
    TokenManager::Options o;
    o.clock = &clock_;
    o.token_policy.clock = &clock_;
    o.token_policy.sleeper = &clock_;
    o.failure_backoff_base = std::chrono::milliseconds(0);
    o.failure_backoff_max = std::chrono::milliseconds(0);
    return o;
  }

  std::unique_ptr<TokenManager> Manager(TokenManager::Options o) {
    return std::make_unique<TokenManager>(*store_, vault_.get(), client_, std::move(o));
  }
  std::unique_ptr<TokenManager> Manager() { return Manager(Opts()); }

  SecretSource Secrets(std::map<std::string, std::string> extra = {}) {
    extra.emplace("client_id", vendor_.client_id);
    extra.emplace("client_secret", vendor_.client_secret);
    for (const auto& [k, v] : extra) extra_secrets_.push_back(v);
    return [extra](std::string_view name) -> Result<std::string> {
      auto it = extra.find(std::string(name));
      if (it == extra.end()) return Status::NotFound("no secret " + std::string(name));
      return it->second;
    };
  }

  ConnectionAuth Conn(const std::string& name, AuthKind kind) {
    ConnectionAuth c;
    c.name = name;
    c.spec.kind = kind;
    c.spec.token_url = "{token_base}/oauth/token";
    c.settings = {{"token_base", server_->Url()}};
    c.secrets = Secrets();
    return c;
  }

  // Puts a token pair in the store as a previous run would have left it.
  void SeedStored(const std::string& conn, const std::string& access, const std::string& refresh,
                  int64_t expires_at) {
    extra_secrets_.push_back(access);
    extra_secrets_.push_back(refresh);
    ASSERT_TRUE(vault_->Put(conn, "access_token", access).ok());
    if (!refresh.empty()) {
      ASSERT_TRUE(vault_->Put(conn, "refresh_token", refresh).ok());
    }
    ASSERT_TRUE(store::KvPut(*store_, AuthScope(conn), keys::kExpiresAt, std::to_string(expires_at)).ok());
    ASSERT_TRUE(
        store::KvPut(*store_, AuthScope(conn), keys::kRefreshAt, std::to_string(expires_at - 300000)).ok());
    ASSERT_TRUE(store::KvPut(*store_, AuthScope(conn), keys::kGeneration, "1").ok());
  }

  std::string VaultValue(const std::string& conn, const std::string& field) {
    auto v = vault_->Get(conn, field);
    return v.ok() ? *v : "<" + v.status().ToString() + ">";
  }

  std::optional<ConnectionStatus> Health(const std::string& conn) {
    auto s = GetConnectionStatus(*store_, conn);
    EXPECT_TRUE(s.ok());
    return s.ok() ? *s : std::nullopt;
  }

  std::vector<Alert> Alerts(const std::string& conn) {
    auto a = OpenAlerts(*store_, conn);
    EXPECT_TRUE(a.ok());
    return a.ok() ? *a : std::vector<Alert>{};
  }

  void Note(const Status& s) { messages_.push_back(s.message()); }

  // Runs `n` threads that start together and each call fn(i).
  template <typename Fn>
  void RunConcurrently(int n, Fn fn) {
    std::latch start(n);
    std::vector<std::thread> threads;
    for (int i = 0; i < n; ++i) {
      threads.emplace_back([&, i] {
        start.arrive_and_wait();
        fn(i);
      });
    }
    for (auto& t : threads) t.join();
  }

  TempDir dir_;
  vault::MasterKey key_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<vault::Vault> vault_;
  http::ManualClock clock_;
  http::HttpClient client_;
  FakeVendor vendor_;
  std::unique_ptr<TestServer> server_;
  std::shared_ptr<testdata::CaptureSink> log_;
  size_t log_lines_before_ = 0;
  std::vector<std::string> extra_secrets_;
  std::vector<std::string> messages_;
};

// ---- AuthSpec ---------------------------------------------------------------------------------------

TEST(AuthSpecTest, ReadsTheManifestAuthBlockWithDefaults) {
  json manifest = {{"auth",
                    {{"kind", "oauth2_authorization_code"},
                     {"authorize_url", "https://auth.example/oauth/authorize"},
                     {"token_url", "https://api.example/auth/oauth/token"},
                     {"scopes", {"user:profile:read", "user:expenses:write"}},
                     {"refresh_rotates", true},
                     {"secret_fields", {"client_id", "client_secret", "refresh_token"}}}}};
  auto spec = AuthSpec::FromManifest(manifest);
  ASSERT_TRUE(spec.ok()) << spec.status().ToString();
  EXPECT_EQ(spec->kind, AuthKind::kOAuth2AuthorizationCode);
  EXPECT_TRUE(spec->refresh_rotates);
  EXPECT_EQ(spec->refresh_margin_s, 300);
  EXPECT_FALSE(spec->token_request_json);
  EXPECT_FALSE(spec->client_auth_basic);
  EXPECT_EQ(spec->header, "Authorization");
  EXPECT_EQ(spec->HeaderValue("abc"), "Bearer abc");
  EXPECT_EQ(spec->scopes.size(), 2u);

  auto none = AuthSpec::FromManifest(json::object());
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(none->kind, AuthKind::kNone);

  auto brex =
      AuthSpec::FromManifest({{"auth", {{"kind", "static_bearer"}, {"secret_fields", {"user_token"}}}}});
  ASSERT_TRUE(brex.ok());
  EXPECT_EQ(brex->idle_expiry_days, 90);
  EXPECT_EQ(brex->warn_days, 14);
  EXPECT_EQ(brex->token_secret, "user_token");

  auto zoho = AuthSpec::FromManifest(
      {{"auth", {{"kind", "oauth2_refresh"}, {"token_url", "https://x/t"}, {"scheme", "Zoho-oauthtoken"}}}});
  ASSERT_TRUE(zoho.ok());
  EXPECT_EQ(zoho->HeaderValue("t0k"), "Zoho-oauthtoken t0k");
}

TEST(AuthSpecTest, RejectsIncompleteOrMistypedBlocks) {
  auto no_token_url = AuthSpec::FromManifest({{"auth", {{"kind", "client_credentials"}}}});
  ASSERT_FALSE(no_token_url.ok());
  EXPECT_NE(no_token_url.status().message().find("token_url"), std::string::npos);
  auto unknown = AuthSpec::FromManifest({{"auth", {{"kind", "magic"}}}});
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(unknown.status().message().find("magic"), std::string::npos);
  auto bad_margin = AuthSpec::FromManifest(
      {{"auth", {{"kind", "oauth2_refresh"}, {"token_url", "https://x"}, {"refresh_margin_s", "300"}}}});
  ASSERT_FALSE(bad_margin.ok());
  EXPECT_NE(bad_margin.status().message().find("refresh_margin_s"), std::string::npos);
  auto no_inline = AuthSpec::FromManifest({{"auth", {{"kind", "api_key_inline"}}}});
  ASSERT_FALSE(no_inline.ok());
  EXPECT_NE(no_inline.status().message().find("inline_fields"), std::string::npos);
}

TEST(AuthSpecTest, InlineFieldPathsNameAFormFieldAndAJsonPointer) {
  auto spec =
      AuthSpec::FromManifest({{"auth",
                               {{"kind", "api_key_inline"},
                                {"inline_fields",
                                 {{"requestJobDescription#/credentials/partnerUserID", "partner_user_id"},
                                  {"credentials.partnerUserSecret", "partner_user_secret"}}}}}});
  ASSERT_TRUE(spec.ok()) << spec.status().ToString();
  ASSERT_EQ(spec->inline_fields.size(), 2u);
  // nlohmann orders object keys: "credentials..." first.
  EXPECT_EQ(spec->inline_fields[0].form_field, "");
  EXPECT_EQ(spec->inline_fields[0].pointer, "/credentials/partnerUserSecret");
  EXPECT_EQ(spec->inline_fields[0].secret, "partner_user_secret");
  EXPECT_EQ(spec->inline_fields[1].form_field, "requestJobDescription");
  EXPECT_EQ(spec->inline_fields[1].pointer, "/credentials/partnerUserID");
  EXPECT_FALSE(ParseInlineFieldPath("field#no-slash").ok());
  EXPECT_FALSE(ParseInlineFieldPath("a..b").ok());
}

TEST(AuthSpecTest, FillTemplateNamesWhatIsMissing) {
  auto ok = FillTemplate("https://{domain}.procurify.com/oauth/token", {{"domain", "acme"}}, "token_url");
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(*ok, "https://acme.procurify.com/oauth/token");
  auto missing =
      FillTemplate("https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token", {}, "token_url");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().message(),
            "token_url needs {tenant}: set 'tenant' in the connection's settings");
  EXPECT_FALSE(FillTemplate("https://{x", {{"x", "y"}}, "u").ok());
  EXPECT_FALSE(FillTemplate("https://{x}/", {{"x", "a b"}}, "u").ok());
  auto vars = TemplateVars({{"tenant", "t1"}, {"port", 8080}, {"nested", {{"a", 1}}}},
                           {{"tenant", "state"}, {"acct", "A1"}});
  EXPECT_EQ(vars["tenant"], "t1");  // settings win over resolved state
  EXPECT_EQ(vars["port"], "8080");
  EXPECT_EQ(vars["acct"], "A1");
  EXPECT_EQ(vars.count("nested"), 0u);
}

TEST(AuthSpecTest, TemplateNamesListsEachPlaceholderOnceAndSkipsEscapedBraces) {
  EXPECT_THAT(TemplateNames("{base_url}/accounting/account/{account_id}/{base_url}"),
              ::testing::ElementsAre("base_url", "account_id"));
  EXPECT_THAT(TemplateNames("https://x/{{literal}}/{tenant}"), ::testing::ElementsAre("tenant"));
  EXPECT_TRUE(TemplateNames("https://plain/").empty());
  EXPECT_TRUE(TemplateNames("https://{open").empty());
}

// ---- rotation and single flight ---------------------------------------------------------------------

TEST_F(TokenManagerTest, RotatingRefreshUnder64CallersSendsOneRequestAndPersistsThePairFirst) {
  vendor_.rotate = true;
  vendor_.token_delay = std::chrono::milliseconds(150);
  vendor_.Seed("", "rt-0-initialsecret");
  SeedStored("fb", "at-0-expiredsecret", "rt-0-initialsecret", kStartMs - 1000);
  auto tm = Manager();
  auto conn = Conn("fb", AuthKind::kOAuth2AuthorizationCode);
  conn.spec.refresh_rotates = true;
  ASSERT_TRUE(tm->Register(conn).ok());

  std::vector<std::string> got(64);
  std::atomic<int> failures{0};
  RunConcurrently(64, [&](int i) {
    auto t = tm->GetAccessToken("fb");
    if (!t.ok()) {
      ++failures;
      return;
    }
    got[i] = t->value;
  });
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(vendor_.RefreshRequests(), 1);
  const std::string fresh = got[0];
  EXPECT_NE(fresh, "at-0-expiredsecret");
  for (const auto& g : got) EXPECT_EQ(g, fresh);
  // The vault holds the new pair: exactly what the vendor now accepts.
  EXPECT_EQ(VaultValue("fb", "access_token"), fresh);
  EXPECT_EQ(VaultValue("fb", "refresh_token"), vendor_.CurrentRefresh());
  EXPECT_NE(vendor_.CurrentRefresh(), "rt-0-initialsecret");
  auto gen = store::KvGet(*store_, AuthScope("fb"), keys::kGeneration);
  ASSERT_TRUE(gen.ok() && *gen);
  EXPECT_EQ(**gen, "2");
  auto started = store::KvGet(*store_, AuthScope("fb"), keys::kRefreshStarted);
  ASSERT_TRUE(started.ok());
  EXPECT_FALSE(*started) << "the in-flight marker is cleared by the commit";

  // A second manager (a restart) uses the persisted pair: no request.
  auto tm2 = Manager();
  ASSERT_TRUE(tm2->Register(conn).ok());
  auto again = tm2->GetAccessToken("fb");
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->value, fresh);
  EXPECT_EQ(vendor_.RefreshRequests(), 1);
  // The refresh request carried the stored refresh token and the grant, form-encoded.
  auto log = vendor_.TokenLog();
  ASSERT_EQ(log.size(), 1u);
  auto form = testdata::ParseForm(log[0].body);
  EXPECT_EQ(form["grant_type"], "refresh_token");
  EXPECT_EQ(form["refresh_token"], "rt-0-initialsecret");
}

struct KindCase {
  const char* label;
  AuthKind kind;
  bool rotate;
  bool json_body;
};

class SingleFlightTest : public TokenManagerTest, public ::testing::WithParamInterface<KindCase> {};

TEST_P(SingleFlightTest, SixtyFourCallersWithAnExpiredTokenCauseOneTokenRequest) {
  const KindCase& k = GetParam();
  vendor_.rotate = k.rotate;
  vendor_.token_delay = std::chrono::milliseconds(150);
  vendor_.Seed("", "rt-0-initialsecret");
  if (k.kind != AuthKind::kClientCredentials) {
    SeedStored("c", "at-0-expiredsecret", "rt-0-initialsecret", kStartMs - 1000);
  } else {
    SeedStored("c", "at-0-expiredsecret", "", kStartMs - 1000);
  }
  auto tm = Manager();
  auto conn = Conn("c", k.kind);
  conn.spec.refresh_rotates = k.rotate;
  conn.spec.token_request_json = k.json_body;
  ASSERT_TRUE(tm->Register(conn).ok());
  std::vector<std::string> got(64);
  RunConcurrently(64, [&](int i) {
    auto t = tm->GetAccessToken("c");
    got[i] = t.ok() ? t->value : t.status().ToString();
  });
  EXPECT_EQ(vendor_.TokenRequests(), 1) << k.label;
  for (const auto& g : got) EXPECT_EQ(g, got[0]);
  EXPECT_EQ(VaultValue("c", "access_token"), got[0]);

  // The same for 64 callers reporting that token as rejected (401): one more request.
  RunConcurrently(64, [&](int i) {
    Token failed;
    failed.value = got[0];
    auto t = tm->OnUnauthorized("c", failed);
    got[i] = t.ok() ? t->value : t.status().ToString();
  });
  EXPECT_EQ(vendor_.TokenRequests(), 2) << k.label;
  for (const auto& g : got) EXPECT_EQ(g, got[0]);
  EXPECT_EQ(VaultValue("c", "access_token"), got[0]);
}

INSTANTIATE_TEST_SUITE_P(
    EveryRefreshingKind, SingleFlightTest,
    ::testing::Values(KindCase{"authorization code, rotating", AuthKind::kOAuth2AuthorizationCode, true,
                               false},
                      KindCase{"refresh, not rotating", AuthKind::kOAuth2Refresh, false, false},
                      KindCase{"client credentials, json", AuthKind::kClientCredentials, false, true},
                      KindCase{"client credentials, form", AuthKind::kClientCredentials, false, false}),
    [](const auto& info) {
      std::string s = info.param.label;
      for (char& c : s) c = std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
      return s;
    });

TEST_F(TokenManagerTest, UnauthorizedWithAReplacedTokenReturnsTheCurrentOneWithoutARequest) {
  vendor_.Seed("", "rt-0-initialsecret");
  SeedStored("z", "at-0-expiredsecret", "rt-0-initialsecret", kStartMs - 1000);
  auto tm = Manager();
  ASSERT_TRUE(tm->Register(Conn("z", AuthKind::kOAuth2Refresh)).ok());
  auto t = tm->GetAccessToken("z");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(vendor_.TokenRequests(), 1);
  Token stale;
  stale.value = "at-0-expiredsecret";
  auto r = tm->OnUnauthorized("z", stale);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->value, t->value);
  EXPECT_EQ(vendor_.TokenRequests(), 1);
}

TEST_F(TokenManagerTest, AnotherProcessesRotatedTokenIsAdoptedInsteadOfSpendingTheOldRefreshToken) {
  vendor_.rotate = true;
  vendor_.Seed("at-0-validsecret", "rt-0-initialsecret");
  SeedStored("fb", "at-0-validsecret", "rt-0-initialsecret", kStartMs + 3600 * 1000);
  auto conn = Conn("fb", AuthKind::kOAuth2AuthorizationCode);
  conn.spec.refresh_rotates = true;
  auto serve = Manager();  // e.g. `mlc serve`
  auto cli = Manager();    // e.g. a CLI command on the same store
  ASSERT_TRUE(serve->Register(conn).ok());
  ASSERT_TRUE(cli->Register(conn).ok());
  auto old_serve = serve->GetAccessToken("fb");
  auto old_cli = cli->GetAccessToken("fb");
  ASSERT_TRUE(old_serve.ok() && old_cli.ok());
  EXPECT_EQ(vendor_.TokenRequests(), 0);

  auto fresh = cli->OnUnauthorized("fb", *old_cli);  // the CLI refreshes (and rotates)
  ASSERT_TRUE(fresh.ok()) << fresh.status().ToString();
  EXPECT_EQ(vendor_.TokenRequests(), 1);
  auto adopted = serve->OnUnauthorized("fb", *old_serve);  // serve must not spend the dead refresh token
  ASSERT_TRUE(adopted.ok()) << adopted.status().ToString();
  EXPECT_EQ(adopted->value, fresh->value);
  EXPECT_EQ(vendor_.TokenRequests(), 1);
  auto h = Health("fb");
  EXPECT_TRUE(h && h->status == "ok");
}

TEST_F(TokenManagerTest, RefreshesProactivelyAtTheMarginZohoStyle) {
  // Zoho: 60 minute tokens, refreshed 55 minutes in (margin 300 s); refresh tokens do not rotate.
  vendor_.expires_in = 3600;
  vendor_.Seed("", "zoho-permanent-refresh");
  extra_secrets_.push_back("zoho-permanent-refresh");
  ASSERT_TRUE(vault_->Put("zb", "refresh_token", "zoho-permanent-refresh").ok());
  auto tm = Manager();
  auto conn = Conn("zb", AuthKind::kOAuth2Refresh);
  conn.spec.refresh_margin_s = 300;
  ASSERT_TRUE(tm->Register(conn).ok());
  auto first = tm->GetAccessToken("zb");
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_EQ(vendor_.TokenRequests(), 1);
  EXPECT_EQ(first->expires_at_ms - NowOf(clock_), 3600 * 1000);

  clock_.Advance(std::chrono::seconds(3299));
  auto still = tm->GetAccessToken("zb");
  ASSERT_TRUE(still.ok());
  EXPECT_EQ(still->value, first->value);
  EXPECT_EQ(vendor_.TokenRequests(), 1);

  clock_.Advance(std::chrono::seconds(2));  // 55 min + 1 s
  auto next = tm->GetAccessToken("zb");
  ASSERT_TRUE(next.ok());
  EXPECT_NE(next->value, first->value);
  EXPECT_EQ(vendor_.TokenRequests(), 2);
  // No rotation: the original refresh token stays and is sent again.
  EXPECT_EQ(VaultValue("zb", "refresh_token"), "zoho-permanent-refresh");
  auto log = vendor_.TokenLog();
  EXPECT_EQ(testdata::ParseForm(log[1].body)["refresh_token"], "zoho-permanent-refresh");
}

// ---- failures ---------------------------------------------------------------------------------------

TEST_F(TokenManagerTest, TransientFailuresReturnRetryKeepTheConnectionAndSpendABudget) {
  vendor_.Seed("", "rt-0-initialsecret");
  // Inside the proactive window but not expired: a failed refresh still leaves a usable token.
  SeedStored("p", "at-0-stillvalid", "rt-0-initialsecret", kStartMs + 60 * 1000);
  auto opts = Opts();
  opts.failure_budget = 3;
  opts.token_policy.max_attempts = 1;
  auto tm = Manager(opts);
  ASSERT_TRUE(tm->Register(Conn("p", AuthKind::kOAuth2Refresh)).ok());
  TestResponse unavailable;
  unavailable.status = 500;
  unavailable.body = "upstream down";
  for (int i = 0; i < 10; ++i) vendor_.scripted.push_back(unavailable);

  auto t = tm->GetAccessToken("p");
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(t->value, "at-0-stillvalid");
  EXPECT_EQ(vendor_.TokenRequests(), 1);

  clock_.Advance(std::chrono::minutes(2));  // now expired
  auto r = tm->GetAccessToken("p");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kRetry) << r.status().ToString();
  Note(r.status());
  auto h = Health("p");
  EXPECT_TRUE(!h || h->status == "ok") << "two transient failures do not hurt the connection";

  auto r3 = tm->GetAccessToken("p");
  EXPECT_EQ(r3.status().code(), Code::kRetry);
  h = Health("p");
  ASSERT_TRUE(h);
  EXPECT_EQ(h->status, "error");
  EXPECT_NE(h->message.find("3 times in a row"), std::string::npos) << h->message;
  auto alerts = Alerts("p");
  ASSERT_EQ(alerts.size(), 1u);
  EXPECT_EQ(alerts[0].kind, "refresh_failing");

  vendor_.scripted.clear();
  auto ok = tm->GetAccessToken("p");
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  h = Health("p");
  ASSERT_TRUE(h);
  EXPECT_EQ(h->status, "ok");
  EXPECT_TRUE(Alerts("p").empty());
}

TEST_F(TokenManagerTest, AMisconfiguredTokenEndpointIsAnErrorThatClearsOnSuccess) {
  auto tm = Manager();
  ASSERT_TRUE(tm->Register(Conn("p", AuthKind::kClientCredentials)).ok());
  TestResponse not_found;
  not_found.status = 404;
  not_found.body = "<html>no such page</html>";
  vendor_.scripted.push_back(not_found);
  auto r = tm->GetAccessToken("p");
  ASSERT_EQ(r.status().code(), Code::kError) << r.status().ToString();
  Note(r.status());
  EXPECT_NE(r.status().message().find("HTTP 404"), std::string::npos);
  auto h = Health("p");
  ASSERT_TRUE(h);
  EXPECT_EQ(h->status, "error");
  EXPECT_EQ(Alerts("p").size(), 1u);
  ASSERT_TRUE(tm->GetAccessToken("p").ok());
  EXPECT_EQ(Health("p")->status, "ok");
  EXPECT_TRUE(Alerts("p").empty());
}

TEST_F(TokenManagerTest, ARejectedRefreshTokenMarksNeedsReauthAndFailsFast) {
  vendor_.Seed("", "rt-vendor-knows-this");
  SeedStored("fb", "at-0-expiredsecret", "rt-revoked-elsewhere", kStartMs - 1);
  auto tm = Manager();
  auto conn = Conn("fb", AuthKind::kOAuth2Refresh);
  ASSERT_TRUE(tm->Register(conn).ok());
  auto r = tm->GetAccessToken("fb");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kAuth);
  Note(r.status());
  EXPECT_NE(r.status().message().find("run `mlc connect fb`"), std::string::npos) << r.status().message();
  auto h = Health("fb");
  ASSERT_TRUE(h);
  EXPECT_EQ(h->status, "needs_reauth");
  EXPECT_NE(h->message.find("refresh token was rejected"), std::string::npos);
  EXPECT_NE(h->message.find("invalid_grant"), std::string::npos);
  auto alerts = Alerts("fb");
  ASSERT_EQ(alerts.size(), 1u);
  EXPECT_EQ(alerts[0].kind, "needs_reauth");
  EXPECT_EQ(alerts[0].severity, "critical");

  auto again = tm->GetAccessToken("fb");
  EXPECT_EQ(again.status().code(), Code::kAuth);
  EXPECT_EQ(vendor_.TokenRequests(), 1) << "no request while the connection needs re-authorization";
  // A restarted host reads the verdict from the store, too.
  auto tm2 = Manager();
  ASSERT_TRUE(tm2->Register(conn).ok());
  EXPECT_EQ(tm2->GetAccessToken("fb").status().code(), Code::kAuth);
  EXPECT_EQ(vendor_.TokenRequests(), 1);
}

TEST_F(TokenManagerTest, ZohoAnswersRejectionsWithHttp200AndAnErrorMember) {
  vendor_.errors_with_200 = true;
  vendor_.reject_error = "invalid_code";
  vendor_.Seed("", "something-else");
  SeedStored("zb", "at-0-expiredsecret", "rt-stale-zoho", kStartMs - 1);
  auto tm = Manager();
  ASSERT_TRUE(tm->Register(Conn("zb", AuthKind::kOAuth2Refresh)).ok());
  auto r = tm->GetAccessToken("zb");
  EXPECT_EQ(r.status().code(), Code::kAuth) << r.status().ToString();
  Note(r.status());
  auto h = Health("zb");
  ASSERT_TRUE(h);
  EXPECT_EQ(h->status, "needs_reauth");
  EXPECT_NE(h->message.find("invalid_code"), std::string::npos);
}

TEST_F(TokenManagerTest, ZohoThrottlingIsTransientNotARejection) {
  vendor_.Seed("", "rt-0-initialsecret");
  SeedStored("zb", "at-0-expiredsecret", "rt-0-initialsecret", kStartMs - 1);
  auto opts = Opts();
  opts.token_policy.max_attempts = 1;
  auto tm = Manager(opts);
  ASSERT_TRUE(tm->Register(Conn("zb", AuthKind::kOAuth2Refresh)).ok());
  TestResponse throttled;
  throttled.status = 400;
  throttled.body =
      R"({"error":"Access Denied","error_description":"You have made too many requests continuously. Please try again after some time.","status":"failure"})";
  vendor_.scripted.push_back(throttled);
  auto r = tm->GetAccessToken("zb");
  EXPECT_EQ(r.status().code(), Code::kRetry) << r.status().ToString();
  auto h = Health("zb");
  EXPECT_TRUE(!h || h->status != "needs_reauth");
  auto ok = tm->GetAccessToken("zb");
  EXPECT_TRUE(ok.ok()) << ok.status().ToString();
}

// ---- exact token requests -----------------------------------------------------------------------------

TEST_F(TokenManagerTest, ProcurifyClientCredentialsSendAJsonBodyWithTheAudience) {
  vendor_.expires_in = 86400;
  auto tm = Manager();
  ConnectionAuth conn = Conn("procurify", AuthKind::kClientCredentials);
  conn.spec.token_request_json = true;
  conn.spec.audience = "https://api.procurify.com/";
  // Per-customer domain from settings (the test server stands in for https://{domain}.procurify.com).
  conn.spec.token_url = "{token_base}/{domain}/oauth/token";
  conn.settings["domain"] = "acme";
  ASSERT_TRUE(tm->Register(conn).ok());
  auto t = tm->GetAccessToken("procurify");
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(t->expires_at_ms - NowOf(clock_), 86400LL * 1000);
  auto log = vendor_.TokenLog();
  ASSERT_EQ(log.size(), 1u);
  EXPECT_EQ(log[0].method, "POST");
  EXPECT_EQ(log[0].target, "/acme/oauth/token");
  ASSERT_NE(log[0].Header("content-type"), nullptr);
  EXPECT_EQ(*log[0].Header("content-type"), "application/json");
  const json expected = {{"client_id", vendor_.client_id},
                         {"client_secret", vendor_.client_secret},
                         {"audience", "https://api.procurify.com/"},
                         {"grant_type", "client_credentials"}};
  EXPECT_EQ(json::parse(log[0].body), expected);
  // The next 24 hours reuse it.
  clock_.Advance(std::chrono::hours(23));
  ASSERT_TRUE(tm->GetAccessToken("procurify").ok());
  EXPECT_EQ(vendor_.TokenRequests(), 1);
}

TEST_F(TokenManagerTest, EntraIdClientCredentialsSendAFormBodyWithTheScope) {
  vendor_.expires_in = 3599;
  auto tm = Manager();
  ConnectionAuth conn = Conn("bc", AuthKind::kClientCredentials);
  conn.spec.token_url = "{token_base}/{tenant}/oauth2/v2.0/token";
  conn.spec.scopes = {"https://api.businesscentral.dynamics.com/.default"};
  conn.settings["tenant"] = "3f1c2a9e-tenant";
  ASSERT_TRUE(tm->Register(conn).ok());
  auto t = tm->GetAccessToken("bc");
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(t->expires_at_ms - NowOf(clock_), 3599LL * 1000);
  auto log = vendor_.TokenLog();
  ASSERT_EQ(log.size(), 1u);
  EXPECT_EQ(log[0].target, "/3f1c2a9e-tenant/oauth2/v2.0/token");
  ASSERT_NE(log[0].Header("content-type"), nullptr);
  EXPECT_EQ(*log[0].Header("content-type"), "application/x-www-form-urlencoded");
  const std::map<std::string, std::string> expected = {
      {"client_id", vendor_.client_id},
      {"client_secret", vendor_.client_secret},
      {"grant_type", "client_credentials"},
      {"scope", "https://api.businesscentral.dynamics.com/.default"}};
  EXPECT_EQ(testdata::ParseForm(log[0].body), expected);
  EXPECT_NE(log[0].body.find("scope=https%3A%2F%2Fapi.businesscentral.dynamics.com%2F.default"),
            std::string::npos);
}

TEST_F(TokenManagerTest, BasicClientAuthKeepsTheSecretOutOfTheBody) {
  auto tm = Manager();
  ConnectionAuth conn = Conn("b", AuthKind::kClientCredentials);
  conn.spec.client_auth_basic = true;
  ASSERT_TRUE(tm->Register(conn).ok());
  ASSERT_TRUE(tm->GetAccessToken("b").ok());
  auto log = vendor_.TokenLog();
  ASSERT_EQ(log.size(), 1u);
  const std::string pair = vendor_.client_id + ":" + vendor_.client_secret;
  const std::string basic =
      testdata::B64(reinterpret_cast<const unsigned char*>(pair.data()), pair.size(), false);
  ASSERT_NE(log[0].Header("authorization"), nullptr);
  EXPECT_EQ(*log[0].Header("authorization"), "Basic " + basic);
  EXPECT_EQ(log[0].body.find("client_secret"), std::string::npos);
}

TEST_F(TokenManagerTest, InvalidClientCredentialsNeedReauthWithAClearMessage) {
  vendor_.client_secret = "the-real-secret-value";
  auto tm = Manager();
  ConnectionAuth conn = Conn("procurify", AuthKind::kClientCredentials);
  conn.secrets = Secrets({{"client_secret", "a-wrong-secret-value"}});
  ASSERT_TRUE(tm->Register(conn).ok());
  auto r = tm->GetAccessToken("procurify");
  ASSERT_EQ(r.status().code(), Code::kAuth);
  Note(r.status());
  auto h = Health("procurify");
  ASSERT_TRUE(h);
  EXPECT_EQ(h->status, "needs_reauth");
  EXPECT_NE(h->message.find("client credentials were rejected"), std::string::npos) << h->message;
  EXPECT_NE(h->message.find("invalid_client"), std::string::npos);
  // After the operator replaces the secret, `mlc connect` clears the verdict and it works again.
  ASSERT_TRUE(tm->ClearNeedsReauth("procurify").ok());
  EXPECT_EQ(Health("procurify")->status, "ok");
  EXPECT_TRUE(Alerts("procurify").empty());
}

// ---- consent -----------------------------------------------------------------------------------------

TEST_F(TokenManagerTest, AuthorizationCodeWithStateAndPkce) {
  vendor_.rotate = true;
  auto tm = Manager();
  ConnectionAuth conn = Conn("fb", AuthKind::kOAuth2AuthorizationCode);
  conn.spec.authorize_url = "{token_base}/oauth/authorize";
  conn.spec.scopes = {"user:profile:read", "user:expenses:write"};
  conn.spec.pkce = true;
  conn.spec.refresh_rotates = true;
  ASSERT_TRUE(tm->Register(conn).ok());
  auto start = tm->BeginAuthorization("fb", "http://127.0.0.1:8765/oauth/callback");
  ASSERT_TRUE(start.ok()) << start.status().ToString();
  const std::string& url = start->url;
  ASSERT_EQ(url.rfind(server_->Url("/oauth/authorize?"), 0), 0u) << url;
  auto q = testdata::ParseForm(url.substr(url.find('?') + 1));
  EXPECT_EQ(q["client_id"], vendor_.client_id);
  EXPECT_EQ(q["response_type"], "code");
  EXPECT_EQ(q["redirect_uri"], "http://127.0.0.1:8765/oauth/callback");
  EXPECT_EQ(q["scope"], "user:profile:read user:expenses:write");
  EXPECT_EQ(q["state"], start->state);
  EXPECT_GE(start->state.size(), 32u);
  EXPECT_EQ(q["code_challenge_method"], "S256");
  ASSERT_EQ(q["code_challenge"].size(), 43u);

  // The vendor checks the verifier against the challenge.
  vendor_.AddCode("code-abc-123", q["code_challenge"]);
  auto bad_state = tm->CompleteAuthorization("fb", "code-abc-123", "forged-state");
  EXPECT_EQ(bad_state.status().code(), Code::kInvalid);
  EXPECT_EQ(vendor_.TokenRequests(), 0);
  auto t = tm->CompleteAuthorization("fb", "code-abc-123", start->state);
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(VaultValue("fb", "access_token"), t->value);
  EXPECT_EQ(VaultValue("fb", "refresh_token"), vendor_.CurrentRefresh());
  auto form = testdata::ParseForm(vendor_.TokenLog()[0].body);
  EXPECT_EQ(form["grant_type"], "authorization_code");
  EXPECT_EQ(form["redirect_uri"], "http://127.0.0.1:8765/oauth/callback");
  EXPECT_EQ(testdata::S256(form["code_verifier"]), q["code_challenge"]);
  extra_secrets_.push_back(form["code_verifier"]);
  // The redirect URI is remembered for refreshes (FreshBooks sends it again).
  auto redirect = store::KvGet(*store_, AuthScope("fb"), keys::kRedirectUri);
  ASSERT_TRUE(redirect.ok() && *redirect);
  EXPECT_EQ(**redirect, "http://127.0.0.1:8765/oauth/callback");
  // A state is single use.
  auto replay = tm->CompleteAuthorization("fb", "code-abc-123", start->state);
  EXPECT_EQ(replay.status().code(), Code::kInvalid);

  // Consent requests expire after 10 minutes.
  auto late = tm->BeginAuthorization("fb", "http://127.0.0.1:8765/oauth/callback");
  ASSERT_TRUE(late.ok());
  clock_.Advance(std::chrono::minutes(11));
  auto expired = tm->CompleteAuthorization("fb", "code-x", late->state);
  ASSERT_EQ(expired.status().code(), Code::kInvalid);
  EXPECT_NE(expired.status().message().find("expired"), std::string::npos);

  // The refresh that follows sends redirect_uri and rotates the pair.
  clock_.Advance(std::chrono::hours(2));
  const std::string before = vendor_.CurrentRefresh();
  auto refreshed = tm->GetAccessToken("fb");
  ASSERT_TRUE(refreshed.ok()) << refreshed.status().ToString();
  auto rform = testdata::ParseForm(vendor_.TokenLog().back().body);
  EXPECT_EQ(rform["refresh_token"], before);
  EXPECT_EQ(rform["redirect_uri"], "http://127.0.0.1:8765/oauth/callback");
  EXPECT_EQ(VaultValue("fb", "refresh_token"), vendor_.CurrentRefresh());
}

TEST_F(TokenManagerTest, CompletingAuthorizationClearsNeedsReauth) {
  auto tm = Manager();
  ConnectionAuth conn = Conn("fb", AuthKind::kOAuth2AuthorizationCode);
  conn.spec.authorize_url = "{token_base}/oauth/authorize";
  ASSERT_TRUE(tm->Register(conn).ok());
  auto none = tm->GetAccessToken("fb");
  ASSERT_EQ(none.status().code(), Code::kAuth);
  EXPECT_NE(none.status().message().find("not authorized yet"), std::string::npos);
  EXPECT_EQ(Health("fb")->status, "needs_reauth");
  auto start = tm->BeginAuthorization("fb", "http://127.0.0.1:1/oauth/callback");
  ASSERT_TRUE(start.ok());
  vendor_.AddCode("c0de-1");
  ASSERT_TRUE(tm->CompleteAuthorization("fb", "c0de-1", start->state).ok());
  EXPECT_EQ(Health("fb")->status, "ok");
  EXPECT_TRUE(Alerts("fb").empty());
  EXPECT_TRUE(tm->GetAccessToken("fb").ok());
}

// ---- Zoho api_domain ----------------------------------------------------------------------------------

TEST_F(TokenManagerTest, TheTokenResponseMinusSecretsWaitsForAuthResolve) {
  vendor_.api_domain = "https://www.zohoapis.eu";
  vendor_.Seed("", "zoho-refresh-secret");
  extra_secrets_.push_back("zoho-refresh-secret");
  ASSERT_TRUE(vault_->Put("zb", "refresh_token", "zoho-refresh-secret").ok());
  auto tm = Manager();
  ConnectionAuth conn = Conn("zb", AuthKind::kOAuth2Refresh);
  conn.spec.token_url = "{token_base}/oauth/v2/token";
  ASSERT_TRUE(tm->Register(conn).ok());
  ASSERT_TRUE(tm->GetAccessToken("zb").ok());
  auto pending = tm->PendingAuthResolve("zb");
  ASSERT_TRUE(pending.ok() && *pending);
  EXPECT_EQ((**pending)["api_domain"], "https://www.zohoapis.eu");
  EXPECT_FALSE((**pending).contains("access_token"));
  EXPECT_FALSE((**pending).contains("refresh_token"));
  ASSERT_TRUE(tm->MarkAuthResolved("zb").ok());
  EXPECT_FALSE(*tm->PendingAuthResolve("zb"));

  // Same api_domain on the next refresh: nothing to resolve. A moved account: resolve again.
  clock_.Advance(std::chrono::hours(1));
  ASSERT_TRUE(tm->GetAccessToken("zb").ok());
  EXPECT_FALSE(*tm->PendingAuthResolve("zb"));
  {
    std::lock_guard lock(vendor_.mu);
    vendor_.api_domain = "https://www.zohoapis.com";
  }
  clock_.Advance(std::chrono::hours(1));
  ASSERT_TRUE(tm->GetAccessToken("zb").ok());
  auto again = tm->PendingAuthResolve("zb");
  ASSERT_TRUE(again.ok() && *again);
  EXPECT_EQ((**again)["api_domain"], "https://www.zohoapis.com");
}

// ---- static bearer ------------------------------------------------------------------------------------

TEST_F(TokenManagerTest, StaticBearerTracksIdleTimeAndWarnsAhead) {
  auto tm = Manager();
  ConnectionAuth conn;
  conn.name = "brex";
  conn.spec.kind = AuthKind::kStaticBearer;
  conn.spec.idle_expiry_days = 90;
  conn.spec.warn_days = 14;
  conn.spec.token_secret = "token";
  conn.spec.keepalive = {"GET", "/v2/users/me"};
  conn.base_url_template = "{api}";
  conn.settings = {{"api", server_->Url()}};
  conn.secrets = Secrets({{"token", "bxt_statictokenvalue000000000000000000"}});
  ASSERT_TRUE(tm->Register(conn).ok());
  vendor_.Seed("bxt_statictokenvalue000000000000000000", "");

  auto t = tm->GetAccessToken("brex");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->value, "bxt_statictokenvalue000000000000000000");
  auto idle = tm->CheckIdleExpiry("brex");
  ASSERT_TRUE(idle.ok());
  EXPECT_EQ(idle->last_used_ms, kStartMs);
  EXPECT_EQ(idle->expires_at_ms, kStartMs + 90 * kDayMs);
  EXPECT_EQ(idle->warn_at_ms, kStartMs + 76 * kDayMs);
  EXPECT_EQ(idle->state, IdleExpiry::State::kOk);
  EXPECT_TRUE(Alerts("brex").empty());

  clock_.Advance(std::chrono::hours(24 * 77));  // inside the 14-day warning window
  ASSERT_TRUE(tm->GetAccessToken("brex").ok());
  auto alerts = Alerts("brex");
  ASSERT_EQ(alerts.size(), 1u);
  EXPECT_EQ(alerts[0].kind, "token_idle_expiry");
  EXPECT_EQ(alerts[0].severity, "warning");
  EXPECT_NE(alerts[0].message.find(FormatUtc(kStartMs + 90 * kDayMs)), std::string::npos)
      << alerts[0].message;
  EXPECT_TRUE(tm->CheckIdleExpiry("brex")->keepalive_due);

  // The keep-alive call is a successful use: the clock restarts and the alert closes.
  ASSERT_TRUE(tm->KeepAlive("brex").ok());
  EXPECT_TRUE(Alerts("brex").empty());
  {
    std::lock_guard lock(vendor_.mu);
    ASSERT_EQ(vendor_.resource_log.size(), 1u);
    EXPECT_EQ(vendor_.resource_log[0].target, "/v2/users/me");
    EXPECT_EQ(*vendor_.resource_log[0].Header("authorization"),
              "Bearer bxt_statictokenvalue000000000000000000");
  }
  auto after = tm->CheckIdleExpiry("brex");
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(after->last_used_ms, kStartMs + 77 * kDayMs);
  auto stored = store::KvGet(*store_, AuthScope("brex"), keys::kLastUsed);
  ASSERT_TRUE(stored.ok() && *stored);
  EXPECT_EQ(**stored, std::to_string(kStartMs + 77 * kDayMs));

  clock_.Advance(std::chrono::hours(24 * 91));
  auto expired = tm->CheckIdleExpiry("brex");
  ASSERT_TRUE(expired.ok());
  EXPECT_EQ(expired->state, IdleExpiry::State::kExpired);
  EXPECT_EQ(Alerts("brex").at(0).severity, "critical");
}

TEST_F(TokenManagerTest, StaticBearerIdleLimitCanBeOverriddenPerConnection) {
  auto tm = Manager();
  ConnectionAuth conn;
  conn.name = "brex";
  conn.spec.kind = AuthKind::kStaticBearer;
  conn.spec.idle_expiry_days = 90;
  conn.spec.token_secret = "token";
  conn.settings = {{"idle_expiry_days", 30}, {"warn_days", 5}};
  conn.secrets = Secrets({{"token", "bxt_othertokenvalue0000000000000000000"}});
  ASSERT_TRUE(tm->Register(conn).ok());
  auto idle = tm->CheckIdleExpiry("brex");
  ASSERT_TRUE(idle.ok());
  EXPECT_EQ(idle->expires_at_ms, kStartMs + 30 * kDayMs);
  EXPECT_EQ(idle->warn_at_ms, kStartMs + 25 * kDayMs);
}

TEST_F(TokenManagerTest, ARejectedStaticTokenNeedsReauth) {
  auto tm = Manager();
  ConnectionAuth conn;
  conn.name = "brex";
  conn.spec.kind = AuthKind::kStaticBearer;
  conn.spec.idle_expiry_days = 90;
  conn.spec.token_secret = "token";
  conn.secrets = Secrets({{"token", "bxt_revokedtokenvalue00000000000000000"}});
  ASSERT_TRUE(tm->Register(conn).ok());
  auto t = tm->GetAccessToken("brex");
  ASSERT_TRUE(t.ok());
  auto r = tm->OnUnauthorized("brex", *t);
  ASSERT_EQ(r.status().code(), Code::kAuth);
  Note(r.status());
  auto h = Health("brex");
  ASSERT_TRUE(h);
  EXPECT_EQ(h->status, "needs_reauth");
  EXPECT_NE(h->message.find("90 days without use"), std::string::npos) << h->message;
  EXPECT_EQ(tm->GetAccessToken("brex").status().code(), Code::kAuth);
}

TEST_F(TokenManagerTest, InlineCredentialsResolveTheDeclaredSecrets) {
  auto tm = Manager();
  ConnectionAuth conn;
  conn.name = "expensify";
  conn.spec.kind = AuthKind::kApiKeyInline;
  conn.spec.inline_fields = {
      {"partner_user_id", "requestJobDescription", "/credentials/partnerUserID"},
      {"partner_user_secret", "requestJobDescription", "/credentials/partnerUserSecret"}};
  conn.secrets = Secrets({{"partner_user_id", "aa_user_id"}, {"partner_user_secret", "partner-secret-5521"}});
  ASSERT_TRUE(tm->Register(conn).ok());
  auto creds = tm->InlineCredentials("expensify");
  ASSERT_TRUE(creds.ok()) << creds.status().ToString();
  ASSERT_EQ(creds->size(), 2u);
  EXPECT_EQ((*creds)[1].value, "partner-secret-5521");
  EXPECT_EQ(tm->GetAccessToken("expensify").status().code(), Code::kInvalid);
  conn.secrets = Secrets();
  ASSERT_TRUE(tm->Register(conn).ok());
  auto missing = tm->InlineCredentials("expensify");
  ASSERT_EQ(missing.status().code(), Code::kInvalid);
  EXPECT_NE(missing.status().message().find("partner_user_id"), std::string::npos);
}

TEST_F(TokenManagerTest, TokensAreEncryptedAtRest) {
  vendor_.rotate = true;
  vendor_.Seed("", "rt-0-initialsecret");
  SeedStored("fb", "at-0-expiredsecret", "rt-0-initialsecret", kStartMs - 1);
  auto tm = Manager();
  auto conn = Conn("fb", AuthKind::kOAuth2AuthorizationCode);
  conn.spec.refresh_rotates = true;
  ASSERT_TRUE(tm->Register(conn).ok());
  auto t = tm->GetAccessToken("fb");
  ASSERT_TRUE(t.ok());
  ASSERT_TRUE(store_->Checkpoint().ok());
  const std::string file = ReadFile(dir_.File("mlc.db"));
  ASSERT_FALSE(file.empty());
  for (const auto& s : vendor_.Issued())
    EXPECT_EQ(file.find(s), std::string::npos) << "plaintext token in the db";
  EXPECT_EQ(file.find("rt-0-initialsecret"), std::string::npos);
}

// ---- one transaction per pair; the cross-process refresh lease -------------------------------------

struct InjectedFailure {
  const char* label;
  const char* trigger;  // aborts one of the writes of the commit
};

class AtomicPairTest : public TokenManagerTest, public ::testing::WithParamInterface<InjectedFailure> {};

TEST_P(AtomicPairTest, AWriteFailingMidCommitLeavesTheWholeOldPair) {
  vendor_.rotate = true;
  vendor_.Seed("", "rt-0-initialsecret");
  SeedStored("fb", "at-0-expiredsecret", "rt-0-initialsecret", kStartMs - 1000);
  // The database refuses one write after the refresh token row has been written in the same transaction.
  ASSERT_TRUE(store_->Exec(GetParam().trigger).ok());
  auto tm = Manager();
  auto conn = Conn("fb", AuthKind::kOAuth2AuthorizationCode);
  conn.spec.refresh_rotates = true;
  ASSERT_TRUE(tm->Register(conn).ok());
  auto r = tm->GetAccessToken("fb");
  ASSERT_FALSE(r.ok());
  Note(r.status());
  EXPECT_EQ(r.status().code(), Code::kError) << r.status().ToString();
  EXPECT_NE(r.status().message().find("could not save the new tokens"), std::string::npos)
      << r.status().message();
  EXPECT_EQ(vendor_.RefreshRequests(), 1);
  // Nothing of the new pair or its metadata was committed.
  EXPECT_EQ(VaultValue("fb", "refresh_token"), "rt-0-initialsecret");
  EXPECT_EQ(VaultValue("fb", "access_token"), "at-0-expiredsecret");
  auto gen = store::KvGet(*store_, AuthScope("fb"), keys::kGeneration);
  ASSERT_TRUE(gen.ok() && *gen);
  EXPECT_EQ(**gen, "1");
  auto exp = store::KvGet(*store_, AuthScope("fb"), keys::kExpiresAt);
  ASSERT_TRUE(exp.ok() && *exp);
  EXPECT_EQ(**exp, std::to_string(kStartMs - 1000));
  // The lease was released, so the next attempt is not blocked by this process.
  auto lease = store_->QueryOne("SELECT owner FROM auth_lease WHERE connection = 'fb'");
  ASSERT_TRUE(lease.ok());
  EXPECT_FALSE(*lease);
}

INSTANTIATE_TEST_SUITE_P(
    FailurePoints, AtomicPairTest,
    ::testing::Values(InjectedFailure{"access_token",
                                      "CREATE TRIGGER refuse BEFORE UPDATE ON vault_secrets WHEN NEW.field = "
                                      "'access_token' BEGIN SELECT RAISE(ABORT, 'injected failure'); END"},
                      InjectedFailure{"generation",
                                      "CREATE TRIGGER refuse BEFORE UPDATE ON kv_state WHEN NEW.key = "
                                      "'generation' BEGIN SELECT RAISE(ABORT, 'injected failure'); END"}),
    [](const auto& info) { return std::string(info.param.label); });

TEST_F(TokenManagerTest, TwoStoreHandlesOnOneFileSendOneRefreshAndEveryCallerGetsTheNewToken) {
  // Two Store handles of one SQLite file are what two processes look like to SQLite.
  vendor_.rotate = true;
  vendor_.token_delay = std::chrono::milliseconds(150);
  vendor_.Seed("", "rt-0-initialsecret");
  SeedStored("fb", "at-0-expiredsecret", "rt-0-initialsecret", kStartMs - 1000);
  auto store2 = store::Store::Open({.path = dir_.File("mlc.db")});
  ASSERT_TRUE(store2.ok()) << store2.status().ToString();
  auto vault2 = vault::Vault::Open(**store2, key_);
  ASSERT_TRUE(vault2.ok()) << vault2.status().ToString();
  auto conn = Conn("fb", AuthKind::kOAuth2AuthorizationCode);
  conn.spec.refresh_rotates = true;
  auto a = Manager();
  TokenManager b(**store2, &*vault2, client_, Opts());
  ASSERT_TRUE(a->Register(conn).ok());
  ASSERT_TRUE(b.Register(conn).ok());

  std::vector<std::string> got(64);
  RunConcurrently(64, [&](int i) {
    auto t = i % 2 == 0 ? a->GetAccessToken("fb") : b.GetAccessToken("fb");
    got[i] = t.ok() ? t->value : t.status().ToString();
  });
  EXPECT_EQ(vendor_.RefreshRequests(), 1);
  const std::string fresh = VaultValue("fb", "access_token");
  EXPECT_NE(fresh, "at-0-expiredsecret");
  for (const auto& g : got) EXPECT_EQ(g, fresh);
  EXPECT_EQ(VaultValue("fb", "refresh_token"), vendor_.CurrentRefresh());
  auto lease = store_->QueryOne("SELECT owner FROM auth_lease WHERE connection = 'fb'");
  ASSERT_TRUE(lease.ok());
  EXPECT_FALSE(*lease) << "released by the commit";
}

TEST_F(TokenManagerTest, ALiveHoldersLeaseMakesOthersWaitAndAnExpiredOneIsTakenOver) {
  vendor_.rotate = true;
  vendor_.Seed("", "rt-0-initialsecret");
  SeedStored("fb", "at-0-expiredsecret", "rt-0-initialsecret", kStartMs - 1000);
  // Held by a process on another host, so only its expiry can free it.
  ASSERT_TRUE(store_
                  ->Exec("INSERT INTO auth_lease (connection, owner, acquired_at, expires_at) VALUES "
                         "('fb', 'elsewhere|pid:[1]|4242|abc', $1, $2)",
                         {kStartMs - 1000, kStartMs + 60'000})
                  .ok());
  auto o = Opts();
  o.lease_wait = std::chrono::milliseconds(100);
  auto tm = Manager(o);
  auto conn = Conn("fb", AuthKind::kOAuth2AuthorizationCode);
  conn.spec.refresh_rotates = true;
  ASSERT_TRUE(tm->Register(conn).ok());
  auto r = tm->GetAccessToken("fb");
  ASSERT_EQ(r.status().code(), Code::kRetry) << r.status().ToString();
  Note(r.status());
  EXPECT_NE(r.status().message().find("another process"), std::string::npos) << r.status().message();
  EXPECT_EQ(vendor_.RefreshRequests(), 0);

  clock_.SetWall(std::chrono::system_clock::time_point(std::chrono::milliseconds(kStartMs + 60'000)));
  auto t = tm->GetAccessToken("fb");
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(vendor_.RefreshRequests(), 1);
  EXPECT_EQ(VaultValue("fb", "access_token"), t->value);
  auto lease = store_->QueryOne("SELECT owner FROM auth_lease WHERE connection = 'fb'");
  ASSERT_TRUE(lease.ok());
  EXPECT_FALSE(*lease);
}

TEST_F(TokenManagerTest, RefreshesCommitWhileTheVaultKeyRotates) {
  // Lock order between the commit's transaction (store, then the vault key) and RotateKey: no deadlock
  // and no pair lost or sealed with a retired key.
  vendor_.rotate = true;
  vendor_.Seed("", "rt-0-initialsecret");
  SeedStored("fb", "at-0-expiredsecret", "rt-0-initialsecret", kStartMs - 1000);
  auto tm = Manager();
  auto conn = Conn("fb", AuthKind::kOAuth2AuthorizationCode);
  conn.spec.refresh_rotates = true;
  ASSERT_TRUE(tm->Register(conn).ok());
  std::vector<vault::MasterKey> keys;
  for (int i = 0; i < 5; ++i) keys.push_back(vault::GenerateMasterKey());
  for (const auto& k : keys) extra_secrets_.push_back(k.ToBase64());
  std::atomic<int> failures{0};
  std::thread rotator([&] {
    for (const auto& k : keys) {
      if (!vault_->RotateKey(k).ok()) ++failures;
    }
  });
  std::string last;
  for (int round = 0; round < 10; ++round) {
    Token failed;
    failed.value = last.empty() ? "at-0-expiredsecret" : last;
    auto t = tm->OnUnauthorized("fb", failed);
    if (!t.ok()) {
      Note(t.status());
      ADD_FAILURE() << t.status().ToString();
      break;
    }
    last = t->value;
  }
  rotator.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(vendor_.RefreshRequests(), 10);
  // The last pair is stored, readable with the final key, and is what the vendor accepts.
  auto fresh = vault::Vault::Open(*store_, keys.back());
  ASSERT_TRUE(fresh.ok()) << fresh.status().ToString();
  EXPECT_EQ(fresh->Get("fb", "access_token").value(), last);
  EXPECT_EQ(fresh->Get("fb", "refresh_token").value(), vendor_.CurrentRefresh());
}

// ---- crash safety -------------------------------------------------------------------------------------

// Runs the refresh child; returns its wait status.
int RunChild(const std::string& store_path, const std::string& token_url, const std::string& mode,
             const std::string& key_b64, std::atomic<pid_t>* pid_out) {
  std::vector<std::string> args = {MLC_AUTH_REFRESH_CHILD, store_path, token_url, "fb", mode};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::vector<std::string> env_strings = {"MLC_MASTER_KEY=" + key_b64};
  for (char** e = environ; *e; ++e) {
    if (std::string_view(*e).rfind("MLC_MASTER_KEY=", 0) != 0) env_strings.emplace_back(*e);
  }
  std::vector<char*> envp;
  for (auto& e : env_strings) envp.push_back(e.data());
  envp.push_back(nullptr);
  pid_t pid = 0;
  if (posix_spawn(&pid, MLC_AUTH_REFRESH_CHILD, nullptr, nullptr, argv.data(), envp.data()) != 0) return -1;
  pid_out->store(pid);
  int status = 0;
  waitpid(pid, &status, 0);
  return status;
}

class CrashSafetyTest : public TokenManagerTest, public ::testing::WithParamInterface<const char*> {};

TEST_P(CrashSafetyTest, AProcessKilledBeforeCommittingARotatedPairLeavesAClearNeedsReauth) {
  const std::string mode = GetParam();
  vendor_.rotate = true;
  vendor_.Seed("", "rt-0-initialsecret");
  SeedStored("fb", "at-0-expiredsecret", "rt-0-initialsecret", kStartMs - 1000);
  std::atomic<pid_t> child{0};
  if (mode == "wait_for_kill") {
    // The vendor rotates, then the client dies before the response reaches it.
    vendor_.on_refresh = [&] {
      for (int i = 0; i < 5000 && child.load() == 0; ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
      if (child.load() > 0) ::kill(child.load(), SIGKILL);
    };
  }
  const std::string key_b64 = key_.ToBase64();
  extra_secrets_.push_back(key_b64);
  const int status = RunChild(dir_.File("mlc.db"), server_->Url("/oauth/token"), mode, key_b64, &child);
  ASSERT_TRUE(WIFSIGNALED(status)) << "child exited normally with "
                                   << (WIFEXITED(status) ? WEXITSTATUS(status) : -1);
  EXPECT_EQ(WTERMSIG(status), SIGKILL);
  // The vendor's handler may still be finishing the request whose client it killed.
  for (int i = 0; i < 5000 && vendor_.RefreshesAnswered() < 1; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  // The vendor rotated: the stored refresh token is now dead.
  EXPECT_EQ(vendor_.RefreshRequests(), 1);
  EXPECT_NE(vendor_.CurrentRefresh(), "rt-0-initialsecret");
  // The store still holds the old pair, untouched (kill_inside_commit: the new pair was written but its
  // transaction never committed), plus the marker of the interrupted refresh.
  EXPECT_EQ(VaultValue("fb", "access_token"), "at-0-expiredsecret");
  EXPECT_EQ(VaultValue("fb", "refresh_token"), "rt-0-initialsecret");
  auto marker = store::KvGet(*store_, AuthScope("fb"), keys::kRefreshStarted);
  ASSERT_TRUE(marker.ok());
  EXPECT_TRUE(*marker);

  // The restarted host uses the pair it persisted; the vendor rejects it; the connection says why.
  auto tm = Manager();
  auto conn = Conn("fb", AuthKind::kOAuth2AuthorizationCode);
  conn.spec.token_url = server_->Url("/oauth/token");
  conn.spec.refresh_rotates = true;
  ASSERT_TRUE(tm->Register(conn).ok());
  auto r = tm->GetAccessToken("fb");
  ASSERT_EQ(r.status().code(), Code::kAuth) << r.status().ToString();
  Note(r.status());
  EXPECT_EQ(vendor_.RefreshRequests(), 2);
  auto h = Health("fb");
  ASSERT_TRUE(h);
  EXPECT_EQ(h->status, "needs_reauth");
  EXPECT_NE(
      h->message.find("refresh token was rejected (it may have been rotated by a request whose response was "
                      "lost); run `mlc connect fb`"),
      std::string::npos)
      << h->message;
  auto alerts = Alerts("fb");
  ASSERT_EQ(alerts.size(), 1u);
  EXPECT_EQ(alerts[0].kind, "needs_reauth");
  vendor_.on_refresh = nullptr;
}

INSTANTIATE_TEST_SUITE_P(KillPoints, CrashSafetyTest,
                         ::testing::Values("kill_after_response", "kill_inside_commit", "wait_for_kill"));

TEST_F(TokenManagerTest, AChildProcessAndThisOneRefreshingTogetherSendOneRequest) {
  // Both processes use real time here (the child has no manual clock), so their expiries agree.
  clock_.SetWall(std::chrono::system_clock::now());
  const int64_t now = NowOf(clock_);
  vendor_.rotate = true;
  vendor_.Seed("", "rt-0-initialsecret");
  SeedStored("fb", "at-0-expiredsecret", "rt-0-initialsecret", now - 1000);
  const std::string key_b64 = key_.ToBase64();
  extra_secrets_.push_back(key_b64);
  // The child's refresh is held at the vendor until this process's callers have found its lease.
  std::atomic<bool> child_refreshing{false};
  vendor_.on_refresh = [&] {
    child_refreshing = true;
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
  };
  std::atomic<pid_t> child{0};
  int child_status = -1;
  std::thread runner([&] {
    child_status = RunChild(dir_.File("mlc.db"), server_->Url("/oauth/token"), "refresh", key_b64, &child);
  });
  for (int i = 0; i < 10'000 && !child_refreshing.load(); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  EXPECT_TRUE(child_refreshing.load()) << "the child never reached the token endpoint";

  auto tm = Manager();
  auto conn = Conn("fb", AuthKind::kOAuth2AuthorizationCode);
  conn.spec.token_url = server_->Url("/oauth/token");
  conn.spec.refresh_rotates = true;
  ASSERT_TRUE(tm->Register(conn).ok());
  std::vector<std::string> got(32);
  RunConcurrently(32, [&](int i) {
    auto t = tm->GetAccessToken("fb");
    got[i] = t.ok() ? t->value : t.status().ToString();
  });
  runner.join();
  vendor_.on_refresh = nullptr;
  ASSERT_TRUE(WIFEXITED(child_status)) << child_status;
  EXPECT_EQ(WEXITSTATUS(child_status), 0);
  EXPECT_EQ(vendor_.RefreshRequests(), 1);
  const std::string fresh = VaultValue("fb", "access_token");
  EXPECT_NE(fresh, "at-0-expiredsecret");
  for (const auto& g : got) EXPECT_EQ(g, fresh);
  EXPECT_EQ(VaultValue("fb", "refresh_token"), vendor_.CurrentRefresh());
}

}  // namespace
}  // namespace mlc::auth
