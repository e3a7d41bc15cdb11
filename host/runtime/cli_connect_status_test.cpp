// `mlc connect` and `mlc status` run as real processes against the emulated vendor: the browser round trip
// through the loopback listener, the --no-wait/--code path, and needs_reauth visible in `mlc status --json`.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "auth/auth_state.hpp"
#include "auth/testdata/fake_vendor.hpp"
#include "auth/token_manager.hpp"
#include "http/http_client.hpp"
#include "http/testing/test_server.hpp"
#include "store/kv.hpp"
#include "store/store.hpp"
#include "vault/vault.hpp"

namespace mlc::runtime {
namespace {

using auth::testdata::FakeVendor;
using http::testing::TestRequest;
using http::testing::TestServer;
using nlohmann::json;

class CliTest : public ::testing::Test {
 protected:
  CliTest() : key_(vault::GenerateMasterKey()) {}

  void SetUp() override {
    std::string tmpl = (std::filesystem::temp_directory_path() / "mlc-cli-auth-test-XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    ASSERT_TRUE(vault::WriteKeyFile(File("master.key"), key_).ok());
    server_ = std::make_unique<TestServer>([this](const TestRequest& r) { return vendor_.Handle(r); });
    vendor_.rotate = true;
    vendor_.resource_bodies["/auth/api/v1/users/me"] = {
        {"response",
         {{"business_memberships", {{{"business", {{"id", 439000}, {"account_id", "ABC123"}}}}}}}}};
    std::ofstream cfg(File("mlc.toml"));
    cfg << "[host]\nplugin_dirs = [\"" << MLC_RUNTIME_FIXTURE_DIR << "\"]\n"
        << "[store]\npath = \"" << File("mlc.db") << "\"\n"
        << "[vault]\nkey_file = \"" << File("master.key") << "\"\n"
        << "[connections.fb]\nplugin = \"authtest\"\n"
        << "settings = { vendor = \"" << server_->Url() << "\" }\n"
        << "secrets = { client_id = \"vault\", client_secret = \"vault\" }\n";
    cfg.close();
    auto store = store::Store::Open({.path = File("mlc.db")});
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    store_ = std::move(store).value();
    auto v = vault::Vault::Open(*store_, key_);
    ASSERT_TRUE(v.ok());
    vault_ = std::make_unique<vault::Vault>(std::move(v).value());
    ASSERT_TRUE(vault_->Put("fb", "client_id", vendor_.client_id).ok());
    ASSERT_TRUE(vault_->Put("fb", "client_secret", vendor_.client_secret).ok());
  }

  void TearDown() override {
    server_.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  std::string File(const std::string& name) const { return (dir_ / name).string(); }
  std::string Mlc(const std::string& args) const {
    return std::string("'") + MLC_BINARY + "' -c '" + File("mlc.toml") + "' " + args + " 2>&1";
  }

  // Runs a command to completion: (exit code, combined output).
  std::pair<int, std::string> Run(const std::string& args) {
    FILE* p = popen(Mlc(args).c_str(), "r");
    EXPECT_NE(p, nullptr);
    std::string out;
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
    const int status = pclose(p);
    return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
  }

  json StatusJson() {
    auto [code, out] = Run("status --json");
    EXPECT_EQ(code, 0) << out;
    json doc = json::parse(out, nullptr, false);
    EXPECT_TRUE(doc.is_object()) << out;
    return doc;
  }

  void ExpectNoSecrets(const std::string& text) {
    for (const auto& s : vendor_.Issued())
      EXPECT_EQ(text.find(s), std::string::npos) << "secret in output: " << text;
    EXPECT_EQ(text.find(vendor_.client_secret), std::string::npos);
  }

  std::filesystem::path dir_;
  vault::MasterKey key_;
  FakeVendor vendor_;
  std::unique_ptr<TestServer> server_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<vault::Vault> vault_;
};

TEST_F(CliTest, ConnectCatchesTheBrowserRedirectAndStatusShowsTheConnection) {
  FILE* p = popen(Mlc("connect fb --listen 127.0.0.1:0 --timeout 60").c_str(), "r");
  ASSERT_NE(p, nullptr);
  std::string output, authorize_url, callback;
  char line[8192];
  while (fgets(line, sizeof line, p) != nullptr) {
    const std::string l(line);
    output += l;
    if (l.rfind("  http", 0) == 0) authorize_url = l.substr(2, l.find_last_not_of("\r\n") - 1);
    const std::string waiting = "Waiting for the browser to return to ";
    if (l.rfind(waiting, 0) == 0) {
      callback = l.substr(waiting.size(), l.find(' ', waiting.size()) - waiting.size());
      break;
    }
  }
  ASSERT_FALSE(authorize_url.empty()) << output;
  ASSERT_FALSE(callback.empty()) << output;
  auto q = auth::testdata::ParseForm(authorize_url.substr(authorize_url.find('?') + 1));
  EXPECT_EQ(q["redirect_uri"], callback);
  EXPECT_EQ(q["code_challenge_method"], "S256");
  vendor_.AddCode("browser-code-1", q["code_challenge"]);

  // The browser comes back: first a stray request, then one with a forged state, then the real one.
  http::HttpClient client;
  http::HttpRequest stray;
  stray.url = callback.substr(0, callback.find("/oauth/callback")) + "/favicon.ico";
  auto r0 = client.Send(stray);
  ASSERT_TRUE(r0.ok());
  EXPECT_EQ(r0->status, 404);
  http::HttpRequest forged;
  forged.url = callback + "?code=evil&state=forged";
  auto r1 = client.Send(forged);
  ASSERT_TRUE(r1.ok());
  EXPECT_EQ(r1->status, 400);
  http::HttpRequest back;
  back.url = callback + "?code=browser-code-1&state=" + q["state"];
  auto r2 = client.Send(back);
  ASSERT_TRUE(r2.ok()) << r2.status().ToString();
  EXPECT_EQ(r2->status, 200);

  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) output.append(buf, n);
  const int status = pclose(p);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << output;
  EXPECT_NE(output.find("Connected fb (oauth2_authorization_code)"), std::string::npos) << output;
  EXPECT_NE(output.find("ABC123"), std::string::npos) << output;
  ExpectNoSecrets(output);
  // The tokens are in the vault, encrypted, and match what the vendor issued.
  auto at = vault_->Get("fb", "access_token");
  ASSERT_TRUE(at.ok()) << at.status().ToString();
  EXPECT_EQ(*vault_->Get("fb", "refresh_token"), vendor_.CurrentRefresh());

  json doc = StatusJson();
  ASSERT_EQ(doc["connections"].size(), 1u);
  const json& c = doc["connections"][0];
  EXPECT_EQ(c["name"], "fb");
  EXPECT_EQ(c["plugin"], "authtest");
  EXPECT_EQ(c["auth_kind"], "oauth2_authorization_code");
  EXPECT_EQ(c["status"], "ok");
  EXPECT_TRUE(c["token_expires_at"].is_string());
  EXPECT_TRUE(c["alerts"].empty());
}

TEST_F(CliTest, ConnectWithoutWaitingThenWithTheCode) {
  auto [code1, out1] = Run("connect fb --no-wait --redirect-uri https://mlc.example.com/oauth/callback");
  ASSERT_EQ(code1, 0) << out1;
  const size_t at = out1.find("  http");
  ASSERT_NE(at, std::string::npos) << out1;
  const std::string url = out1.substr(at + 2, out1.find('\n', at) - at - 2);
  auto q = auth::testdata::ParseForm(url.substr(url.find('?') + 1));
  EXPECT_EQ(q["redirect_uri"], "https://mlc.example.com/oauth/callback");
  EXPECT_NE(out1.find("--state " + q["state"]), std::string::npos) << out1;
  vendor_.AddCode("pasted-code-9", q["code_challenge"]);
  auto [code2, out2] = Run("connect fb --code pasted-code-9 --state " + q["state"]);
  EXPECT_EQ(code2, 0) << out2;
  EXPECT_NE(out2.find("ABC123"), std::string::npos) << out2;
  ExpectNoSecrets(out2);
  auto [code3, out3] = Run("connect fb --code pasted-code-9 --state " + q["state"]);
  EXPECT_EQ(code3, 1) << out3;
  EXPECT_NE(out3.find("unknown or already used authorization state"), std::string::npos) << out3;
  auto [code4, out4] = Run("connect fb --code only-a-code");
  EXPECT_EQ(code4, 2) << out4;
  auto [code5, out5] = Run("connect nosuch");
  EXPECT_EQ(code5, 3) << out5;
}

TEST_F(CliTest, NeedsReauthIsVisibleInStatusJson) {
  // The pair the store holds was rotated away by the vendor (e.g. a response lost in a crash).
  ASSERT_TRUE(vault_->Put("fb", "access_token", "at-old-expired-value").ok());
  ASSERT_TRUE(vault_->Put("fb", "refresh_token", "rt-old-rotated-away").ok());
  ASSERT_TRUE(store::KvPut(*store_, auth::AuthScope("fb"), auth::keys::kExpiresAt, "1").ok());
  vendor_.Seed("", "rt-the-vendor-now-expects");
  // `mlc connect` cannot help here without the browser; a sync would do what this check does:
  http::HttpClient client;
  auth::TokenManager tm(*store_, vault_.get(), client, {});
  auth::ConnectionAuth conn;
  conn.name = "fb";
  conn.spec.kind = auth::AuthKind::kOAuth2AuthorizationCode;
  conn.spec.token_url = server_->Url("/oauth/token");
  conn.spec.refresh_rotates = true;
  conn.secrets = [this](std::string_view name) -> Result<std::string> {
    if (name == "client_id") return vendor_.client_id;
    if (name == "client_secret") return vendor_.client_secret;
    return Status::NotFound("none");
  };
  ASSERT_TRUE(tm.Register(conn).ok());
  ASSERT_EQ(tm.GetAccessToken("fb").status().code(), Code::kAuth);

  json doc = StatusJson();
  ASSERT_EQ(doc["connections"].size(), 1u);
  const json& c = doc["connections"][0];
  EXPECT_EQ(c["status"], "needs_reauth");
  EXPECT_NE(
      c["message"].get<std::string>().find(
          "refresh token was rejected (it may have been rotated by a request whose response was lost); run "
          "`mlc connect fb`"),
      std::string::npos)
      << c.dump();
  ASSERT_EQ(c["alerts"].size(), 1u);
  EXPECT_EQ(c["alerts"][0]["kind"], "needs_reauth");
  EXPECT_EQ(c["alerts"][0]["severity"], "critical");
  EXPECT_EQ(doc["open_alerts"], 1);
  auto [code, text] = Run("status");
  EXPECT_EQ(code, 0);
  EXPECT_NE(text.find("fb  plugin: authtest  auth: oauth2_authorization_code  status: needs_reauth"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("ALERT critical needs_reauth"), std::string::npos) << text;
  EXPECT_EQ(text.find("rt-old-rotated-away"), std::string::npos);
}

}  // namespace
}  // namespace mlc::runtime
