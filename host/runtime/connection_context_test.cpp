// ConnectionContext and ConnectionRuntime against an emulated vendor on the loopback test server: base URL
// joining and credential injection per auth kind, 401 -> one refresh -> one retry, Expensify's inline
// credentials, origin checks, blobs in and out, audit summaries without secrets, state and secrets, and
// auth_resolve through a real plugin (FreshBooks-style account lookup, Zoho api_domain).
#include "runtime/connection_context.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "auth/auth_state.hpp"
#include "auth/testdata/fake_vendor.hpp"
#include "auth/testdata/log_capture.hpp"
#include "http/testing/test_server.hpp"
#include "store/kv.hpp"

namespace mlc::runtime {
namespace {

using auth::testdata::FakeVendor;
using http::testing::TestRequest;
using http::testing::TestResponse;
using http::testing::TestServer;
using nlohmann::json;

constexpr int64_t kStartMs = 1709251200000;  // 2024-03-01T00:00:00Z

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "mlc-runtime-test-XXXXXX").string();
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

class RuntimeTest : public ::testing::Test {
 protected:
  RuntimeTest() : key_(vault::GenerateMasterKey()) {}

  void SetUp() override {
    log_ = auth::testdata::LogCapture();
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
    server_ = std::make_unique<TestServer>([this](const TestRequest& r) { return Handle(r); }, so);
    ConnectionRuntime::Options o;
    o.clock = &clock_;
    o.sleeper = &clock_;
    o.audit = [this](const RequestSummary& s) {
      std::lock_guard lock(audit_mu_);
      audit_.push_back(s);
    };
    runtime_ = std::make_unique<ConnectionRuntime>(*store_, vault_.get(), std::move(o));
  }

  void TearDown() override {
    std::vector<std::string> secrets = vendor_.Issued();
    secrets.insert(secrets.end(), secrets_.begin(), secrets_.end());
    const auto lines = log_->Lines();
    for (size_t i = log_lines_before_; i < lines.size(); ++i) {
      for (const auto& s : secrets)
        EXPECT_EQ(lines[i].find(s), std::string::npos) << "secret in log: " << lines[i];
    }
    for (const auto& m : messages_) {
      for (const auto& s : secrets) EXPECT_EQ(m.find(s), std::string::npos) << "secret in error: " << m;
    }
    std::lock_guard lock(audit_mu_);
    for (const auto& a : audit_) {
      for (const auto& s : secrets)
        EXPECT_EQ(a.url.find(s), std::string::npos) << "secret in audit: " << a.url;
    }
  }

  // Requests under /raw/ are answered by `raw_` (recorded); everything else by the fake vendor.
  TestResponse Handle(const TestRequest& r) {
    if (r.target.rfind("/raw/", 0) == 0) {
      std::lock_guard lock(raw_mu_);
      raw_requests_.push_back(r);
      TestResponse res;
      res.status = 200;
      res.headers = {{"Content-Type", "application/pdf"}};
      res.body = "%PDF-receipt-bytes";
      return res;
    }
    return vendor_.Handle(r);
  }

  void PutSecret(const std::string& conn, const std::string& field, const std::string& value) {
    secrets_.push_back(value);
    ASSERT_TRUE(vault_->Put(conn, field, value).ok());
  }

  config::Connection Conn(const std::string& name, std::vector<std::string> vault_secrets) {
    config::Connection c;
    c.name = name;
    c.plugin = "test";
    c.settings = {{"vendor", server_->Url()}};
    for (const auto& f : vault_secrets) {
      config::SecretRef ref;
      ref.kind = config::SecretRef::Kind::kVault;
      ref.connection = name;
      ref.field = f;
      c.secrets[f] = ref;
    }
    return c;
  }

  json Manifest(json auth, const std::string& base_url = "{vendor}/books/v3") {
    return {{"name", "test"},
            {"auth", std::move(auth)},
            {"base_url", base_url},
            {"rate_limits", {{{"requests", 100}, {"per_seconds", 60}}}},
            {"concurrency", 4}};
  }

  // A client-credentials connection whose tokens come from the fake vendor.
  ConnectionContext* ClientCredentials(const std::string& name, const std::string& scheme = "Bearer") {
    PutSecret(name, "client_id", vendor_.client_id);
    PutSecret(name, "client_secret", vendor_.client_secret);
    EXPECT_TRUE(runtime_
                    ->AddConnection(Conn(name, {"client_id", "client_secret"}),
                                    Manifest({{"kind", "client_credentials"},
                                              {"token_url", "{vendor}/oauth/token"},
                                              {"scheme", scheme},
                                              {"secret_fields", {"client_id", "client_secret"}}}))
                    .ok());
    auto ctx = runtime_->Context(name);
    EXPECT_TRUE(ctx.ok());
    return ctx.ok() ? *ctx : nullptr;
  }

  struct Call {
    Code code;
    json meta;
    std::string body;
    std::string err;
  };
  Call Http(ConnectionContext* ctx, const json& request, std::string_view body = {}) {
    Call c;
    std::string meta;
    c.code = ctx->Http(request.dump(), body, &meta, &c.body, &c.err);
    c.meta = meta.empty() ? json() : json::parse(meta);
    messages_.push_back(c.err);
    return c;
  }

  std::vector<TestRequest> RawRequests() {
    std::lock_guard lock(raw_mu_);
    return raw_requests_;
  }
  std::vector<TestRequest> ResourceRequests() {
    std::lock_guard lock(vendor_.mu);
    return vendor_.resource_log;
  }

  TempDir dir_;
  vault::MasterKey key_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<vault::Vault> vault_;
  http::ManualClock clock_;
  FakeVendor vendor_;
  std::unique_ptr<TestServer> server_;
  std::unique_ptr<ConnectionRuntime> runtime_;
  std::mutex raw_mu_;
  std::vector<TestRequest> raw_requests_;
  std::mutex audit_mu_;
  std::vector<RequestSummary> audit_;
  std::shared_ptr<auth::testdata::CaptureSink> log_;
  size_t log_lines_before_ = 0;
  std::vector<std::string> secrets_;
  std::vector<std::string> messages_;
};

TEST_F(RuntimeTest, RelativeUrlsJoinTheBaseUrlAndCarryTheTokenInTheManifestScheme) {
  ConnectionContext* ctx = ClientCredentials("zb", "Zoho-oauthtoken");
  ASSERT_NE(ctx, nullptr);
  auto c = Http(ctx, {{"method", "get"},
                      {"url", "/invoices"},
                      {"query", {{"page", 2}, {"q", "a b&c"}}},
                      {"headers", {{"X-Trace", "t1"}}}});
  ASSERT_EQ(c.code, Code::kOk) << c.err;
  EXPECT_EQ(c.meta["status"], 200);
  EXPECT_EQ(c.meta["headers"]["content-type"], "application/json");
  EXPECT_EQ(json::parse(c.body)["path"], "/books/v3/invoices");
  auto reqs = ResourceRequests();
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_EQ(reqs[0].method, "GET");
  EXPECT_EQ(reqs[0].target, "/books/v3/invoices?page=2&q=a%20b%26c");
  ASSERT_NE(reqs[0].Header("authorization"), nullptr);
  EXPECT_EQ(reqs[0].Header("authorization")->rfind("Zoho-oauthtoken at-", 0), 0u);
  EXPECT_EQ(*reqs[0].Header("x-trace"), "t1");
  std::lock_guard lock(audit_mu_);
  ASSERT_EQ(audit_.size(), 1u);
  EXPECT_EQ(audit_[0].method, "GET");
  EXPECT_EQ(audit_[0].url, server_->Url("/books/v3/invoices"));  // no query string
  EXPECT_EQ(audit_[0].status, 200);
  EXPECT_EQ(audit_[0].connection, "zb");
  EXPECT_EQ(audit_[0].outcome, Code::kOk);
}

TEST_F(RuntimeTest, A401RefreshesOnceAndRetriesOnce) {
  // The stored token looks valid but the vendor revoked it.
  PutSecret("z", "client_id", vendor_.client_id);
  PutSecret("z", "client_secret", vendor_.client_secret);
  PutSecret("z", "access_token", "at-revoked-by-vendor");
  PutSecret("z", "refresh_token", "rt-zoho-permanent");
  ASSERT_TRUE(
      store::KvPut(*store_, auth::AuthScope("z"), auth::keys::kExpiresAt, std::to_string(kStartMs + 3600000))
          .ok());
  vendor_.Seed("", "rt-zoho-permanent");
  ASSERT_TRUE(
      runtime_
          ->AddConnection(Conn("z", {"client_id", "client_secret"}),
                          Manifest({{"kind", "oauth2_refresh"},
                                    {"token_url", "{vendor}/oauth/token"},
                                    {"secret_fields", {"client_id", "client_secret", "refresh_token"}}}))
          .ok());
  ConnectionContext* ctx = *runtime_->Context("z");
  auto c = Http(ctx, {{"method", "GET"}, {"url", "contacts"}});
  ASSERT_EQ(c.code, Code::kOk) << c.err;
  EXPECT_EQ(c.meta["status"], 200);
  EXPECT_EQ(vendor_.RefreshRequests(), 1);
  auto reqs = ResourceRequests();
  ASSERT_EQ(reqs.size(), 2u);
  EXPECT_EQ(*reqs[0].Header("authorization"), "Bearer at-revoked-by-vendor");
  EXPECT_NE(*reqs[1].Header("authorization"), "Bearer at-revoked-by-vendor");
  std::lock_guard lock(audit_mu_);
  ASSERT_EQ(audit_.size(), 1u);
  EXPECT_TRUE(audit_[0].refreshed);
}

TEST_F(RuntimeTest, ASecond401AfterTheRefreshIsAuthNotALoop) {
  ConnectionContext* ctx = ClientCredentials("p");
  {
    std::lock_guard lock(vendor_.mu);
    vendor_.always_401 = true;
  }
  auto c = Http(ctx, {{"method", "GET"}, {"url", "bills"}});
  EXPECT_EQ(c.code, Code::kAuth);
  EXPECT_NE(c.err.find("rejected again after a token refresh"), std::string::npos) << c.err;
  EXPECT_EQ(vendor_.TokenRequests(), 2);  // the first token, then exactly one refresh
  EXPECT_EQ(ResourceRequests().size(), 2u);
}

TEST_F(RuntimeTest, ExpensifyCredentialsGoInsideTheRequestJobDescription) {
  PutSecret("ex", "partner_user_id", "aa_partner_user");
  PutSecret("ex", "partner_user_secret", "partner-secret-77f1");
  json manifest =
      Manifest({{"kind", "api_key_inline"},
                {"inline_fields",
                 {{"requestJobDescription#/credentials/partnerUserID", "partner_user_id"},
                  {"requestJobDescription#/credentials/partnerUserSecret", "partner_user_secret"}}},
                {"secret_fields", {"partner_user_id", "partner_user_secret"}}},
               "{vendor}/raw/Integration-Server/ExpensifyIntegrations");
  ASSERT_TRUE(runtime_->AddConnection(Conn("ex", {"partner_user_id", "partner_user_secret"}), manifest).ok());
  ConnectionContext* ctx = *runtime_->Context("ex");
  const json job = {{"type", "get"},
                    {"credentials", {{"partnerUserID", ""}, {"partnerUserSecret", ""}}},
                    {"inputSettings", {{"type", "policyList"}}}};
  const std::string body = "requestJobDescription=" +
                           std::string(
                               "%7B%22type%22%3A%22get%22%2C%22credentials%22%3A%7B%7D%2C%22inputSettings%22%"
                               "3A%7B%22type%22%3A%22policyList%22%7D%7D") +
                           "&template=%3C%23list%3E";
  auto c = Http(
      ctx,
      {{"method", "POST"}, {"url", ""}, {"headers", {{"Content-Type", "application/x-www-form-urlencoded"}}}},
      body);
  ASSERT_EQ(c.code, Code::kOk) << c.err;
  auto raw = RawRequests();
  ASSERT_EQ(raw.size(), 1u);
  EXPECT_EQ(raw[0].Header("authorization"), nullptr);
  auto form = auth::testdata::ParseForm(raw[0].body);
  EXPECT_EQ(form["template"], "<#list>");  // untouched
  json sent = json::parse(form["requestJobDescription"]);
  EXPECT_EQ(sent["credentials"]["partnerUserID"], "aa_partner_user");
  EXPECT_EQ(sent["credentials"]["partnerUserSecret"], "partner-secret-77f1");
  EXPECT_EQ(sent["type"], "get");
  EXPECT_EQ(sent["inputSettings"]["type"], "policyList");
  (void)job;

  // A request without the form field cannot carry the credentials: refused, nothing sent.
  auto bad = Http(
      ctx,
      {{"method", "POST"}, {"url", ""}, {"headers", {{"Content-Type", "application/x-www-form-urlencoded"}}}},
      "template=x");
  EXPECT_EQ(bad.code, Code::kInvalid);
  EXPECT_NE(bad.err.find("requestJobDescription"), std::string::npos) << bad.err;
  EXPECT_EQ(RawRequests().size(), 1u);
}

TEST_F(RuntimeTest, InlineCredentialsInAJsonBodyByDottedPath) {
  PutSecret("j", "api_key", "json-api-key-4242");
  json manifest = Manifest({{"kind", "api_key_inline"},
                            {"inline_fields", {{"auth.key", "api_key"}}},
                            {"secret_fields", {"api_key"}}},
                           "{vendor}/raw");
  ASSERT_TRUE(runtime_->AddConnection(Conn("j", {"api_key"}), manifest).ok());
  auto c = Http(*runtime_->Context("j"),
                {{"method", "POST"}, {"url", "/x"}, {"headers", {{"Content-Type", "application/json"}}}},
                R"({"amount":"12.50","auth":{}})");
  ASSERT_EQ(c.code, Code::kOk) << c.err;
  json sent = json::parse(RawRequests().at(0).body);
  EXPECT_EQ(sent["auth"]["key"], "json-api-key-4242");
  EXPECT_EQ(sent["amount"], "12.50");
}

TEST_F(RuntimeTest, CredentialsOnlyGoToTheBaseUrlsOrigin) {
  ConnectionContext* ctx = ClientCredentials("p");
  TestServer other([](const TestRequest&) {
    TestResponse r;
    r.body = "elsewhere";
    return r;
  });
  auto refused = Http(ctx, {{"method", "GET"}, {"url", other.Url("/steal")}});
  EXPECT_EQ(refused.code, Code::kInvalid);
  EXPECT_NE(refused.err.find("\"auth\": false"), std::string::npos) << refused.err;
  EXPECT_EQ(other.request_count(), 0u);
  auto plain = Http(ctx, {{"method", "GET"}, {"url", other.Url("/public")}, {"auth", false}});
  ASSERT_EQ(plain.code, Code::kOk) << plain.err;
  EXPECT_EQ(plain.body, "elsewhere");
  ASSERT_EQ(other.requests().size(), 1u);
  EXPECT_EQ(other.requests()[0].Header("authorization"), nullptr);
  // The same origin, absolute: credentials allowed.
  auto same = Http(ctx, {{"method", "GET"}, {"url", server_->Url("/auth/api/v1/users/me")}});
  ASSERT_EQ(same.code, Code::kOk) << same.err;
  EXPECT_EQ(same.meta["status"], 200);
}

TEST_F(RuntimeTest, MultipartPartsFromBlobsAndResponsesIntoBlobs) {
  ConnectionContext* ctx = ClientCredentials("fb");
  std::string id, err;
  ASSERT_EQ(ctx->BlobPut("image/png", std::string("\x89PNG-receipt\0bytes", 18), &id, &err), Code::kOk)
      << err;
  auto up = Http(ctx, {{"method", "POST"},
                       {"url", server_->Url("/raw/uploads")},
                       {"auth", false},
                       {"multipart",
                        {{{"name", "content"}, {"filename", "r.png"}, {"blob", id}},
                         {{"name", "note"}, {"data", "lunch"}}}}});
  ASSERT_EQ(up.code, Code::kOk) << up.err;
  auto raw = RawRequests();
  ASSERT_EQ(raw.size(), 1u);
  EXPECT_NE(raw[0].body.find(std::string("\x89PNG-receipt\0bytes", 18)), std::string::npos);
  EXPECT_NE(raw[0].body.find("image/png"), std::string::npos);
  EXPECT_NE(raw[0].body.find("lunch"), std::string::npos);

  auto down = Http(ctx, {{"method", "GET"},
                         {"url", server_->Url("/raw/receipt.pdf")},
                         {"auth", false},
                         {"response_blob", true}});
  ASSERT_EQ(down.code, Code::kOk) << down.err;
  EXPECT_TRUE(down.body.empty());
  ASSERT_TRUE(down.meta.contains("blob"));
  std::string bytes, type;
  ASSERT_EQ(ctx->BlobGet(down.meta["blob"].get<std::string>(), &bytes, &type, &err), Code::kOk) << err;
  EXPECT_EQ(bytes, "%PDF-receipt-bytes");
  EXPECT_EQ(type, "application/pdf");
  EXPECT_EQ(ctx->BlobGet("sha256:0000", &bytes, &type, &err), Code::kNotFound);

  auto unknown = Http(ctx, {{"method", "POST"},
                            {"url", server_->Url("/raw/u")},
                            {"auth", false},
                            {"multipart", {{{"name", "f"}, {"blob", "sha256:missing"}}}}});
  EXPECT_EQ(unknown.code, Code::kInvalid);
}

TEST_F(RuntimeTest, MalformedRequestsAreInvalidAndSendNothing) {
  ConnectionContext* ctx = ClientCredentials("p");
  std::string meta, body, err;
  EXPECT_EQ(ctx->Http("{not json", "", &meta, &body, &err), Code::kInvalid);
  EXPECT_EQ(Http(ctx, {{"url", "x"}}).code, Code::kInvalid);
  EXPECT_EQ(Http(ctx, {{"method", "GET"}}).code, Code::kInvalid);
  EXPECT_EQ(Http(ctx, {{"method", "GET"}, {"url", 7}}).code, Code::kInvalid);
  EXPECT_EQ(Http(ctx, {{"method", "GET"}, {"url", "x"}, {"headers", {{"a", 1}}}}).code, Code::kInvalid);
  EXPECT_EQ(Http(ctx, {{"method", "GET"}, {"url", "x"}, {"query", {{"a", json::array()}}}}).code,
            Code::kInvalid);
  EXPECT_EQ(
      Http(ctx,
           {{"method", "POST"}, {"url", "x"}, {"multipart", {{{"name", "a"}, {"data", "1"}, {"blob", "b"}}}}})
          .code,
      Code::kInvalid);
  EXPECT_EQ(vendor_.TokenRequests(), 0);
  EXPECT_TRUE(ResourceRequests().empty());
}

TEST_F(RuntimeTest, QueryArraysAreRepeatedParametersEachUrlEncoded) {
  ConnectionContext* ctx = ClientCredentials("qa");
  ASSERT_NE(ctx, nullptr);
  auto c = Http(
      ctx, {{"method", "GET"},
            {"url", "/expenses"},
            {"query", {{"expand[]", {"merchant", "receipts & notes"}}, {"ids", {7, "x/y"}}, {"limit", 50}}}});
  ASSERT_EQ(c.code, Code::kOk) << c.err;
  auto reqs = ResourceRequests();
  ASSERT_EQ(reqs.size(), 1u);
  // nlohmann orders object keys; each array element becomes one name=value pair, in array order.
  EXPECT_EQ(reqs[0].target,
            "/books/v3/"
            "expenses?expand%5B%5D=merchant&expand%5B%5D=receipts%20%26%20notes&ids=7&ids=x%2Fy&limit=50");
  // A one-element array is a single parameter, exactly like the scalar.
  auto one = Http(ctx, {{"method", "GET"}, {"url", "/expenses"}, {"query", {{"status", {"APPROVED"}}}}});
  ASSERT_EQ(one.code, Code::kOk) << one.err;
  reqs = ResourceRequests();
  ASSERT_EQ(reqs.size(), 2u);
  EXPECT_EQ(reqs[1].target, "/books/v3/expenses?status=APPROVED");
}

TEST_F(RuntimeTest, QueryArraysOfAnythingButStringsAndNumbersAreInvalidAndSendNothing) {
  ConnectionContext* ctx = ClientCredentials("qb");
  ASSERT_NE(ctx, nullptr);
  const std::vector<std::pair<json, std::string>> cases = {
      {json::array({"a", json::object()}), "query parameter 'f' element 1 must be a string or number"},
      {json::array({json::array({"a"})}), "query parameter 'f' element 0 must be a string or number"},
      {json::array({nullptr}), "query parameter 'f' element 0 must be a string or number"},
      {json::array(), "query parameter 'f' is an empty array"},
      {json::object({{"a", 1}}), "query parameter 'f' must be a string, a number or an array"},
  };
  for (const auto& [value, expected] : cases) {
    auto c = Http(ctx, {{"method", "GET"}, {"url", "/expenses"}, {"query", {{"f", value}}}});
    EXPECT_EQ(c.code, Code::kInvalid) << value.dump();
    EXPECT_NE(c.err.find(expected), std::string::npos) << value.dump() << ": " << c.err;
  }
  EXPECT_TRUE(ResourceRequests().empty());
}

TEST_F(RuntimeTest, SecretPutSealsDeclaredSecretsInTheVaultAndRefusesTheRest) {
  setenv("MLC_RUNTIME_TEST_PUT_ENV", "env-value-not-writable", 1);
  secrets_.push_back("env-value-not-writable");
  const std::string learned = "whsec-learned-at-runtime-5a1f";
  secrets_.push_back(learned);
  PutSecret("w", "client_id", vendor_.client_id);
  PutSecret("w", "client_secret", vendor_.client_secret);
  config::Connection conn = Conn("w", {"client_id", "client_secret"});
  config::SecretRef env;
  env.kind = config::SecretRef::Kind::kEnv;
  env.env_var = "MLC_RUNTIME_TEST_PUT_ENV";
  conn.secrets["env_secret"] = env;
  config::SecretRef other;
  other.kind = config::SecretRef::Kind::kVault;
  other.connection = "shared";
  other.field = "verifier";
  conn.secrets["borrowed"] = other;
  config::SecretRef renamed;
  renamed.kind = config::SecretRef::Kind::kVault;
  renamed.connection = "w";
  renamed.field = "verifier_v2";
  conn.secrets["mapped"] = renamed;
  json manifest = Manifest({{"kind", "client_credentials"},
                            {"token_url", "{vendor}/oauth/token"},
                            {"secret_fields", {"client_id", "client_secret"}}});
  manifest["secrets"] = json::array();
  for (const char* n : {"webhook_verifier", "env_secret", "borrowed", "mapped", "client_secret"})
    manifest["secrets"].push_back({{"name", n}});
  ASSERT_TRUE(runtime_->AddConnection(conn, manifest).ok());
  ConnectionContext* ctx = *runtime_->Context("w");
  std::string out, err;
  auto put = [&](std::string_view name, std::string_view value) {
    err.clear();
    Code code = ctx->SecretPut(name, value, &err);
    messages_.push_back(err);
    return code;
  };

  // A declared name: sealed under (connection, name) and readable back through secret_get.
  ASSERT_EQ(put("webhook_verifier", learned), Code::kOk) << err;
  auto stored = vault_->Get("w", "webhook_verifier");
  ASSERT_TRUE(stored.ok()) << stored.status().ToString();
  EXPECT_EQ(*stored, learned);
  ASSERT_EQ(ctx->SecretGet("webhook_verifier", &out, &err), Code::kOk) << err;
  EXPECT_EQ(out, learned);
  // Replacing it works too.
  ASSERT_EQ(put("webhook_verifier", learned + "-2"), Code::kOk) << err;
  secrets_.push_back(learned + "-2");
  ASSERT_EQ(ctx->SecretGet("webhook_verifier", &out, &err), Code::kOk) << err;
  EXPECT_EQ(out, learned + "-2");
  // A name the config maps to another field of this connection is written where secret_get reads it.
  ASSERT_EQ(put("mapped", learned), Code::kOk) << err;
  ASSERT_TRUE(vault_->Get("w", "verifier_v2").ok());
  ASSERT_EQ(ctx->SecretGet("mapped", &out, &err), Code::kOk) << err;
  EXPECT_EQ(out, learned);

  EXPECT_EQ(put("undeclared", learned), Code::kInvalid);
  EXPECT_NE(err.find("cannot store secret 'undeclared' for connection w: it is not declared"),
            std::string::npos)
      << err;
  EXPECT_EQ(put("env_secret", learned), Code::kInvalid);
  EXPECT_NE(err.find("configured from the environment; cannot be written"), std::string::npos) << err;
  EXPECT_EQ(put("borrowed", learned), Code::kInvalid);
  EXPECT_NE(err.find("configured from connection shared"), std::string::npos) << err;
  EXPECT_NE(err.find("cannot be written"), std::string::npos) << err;
  EXPECT_EQ(put("client_secret", learned), Code::kInvalid);  // the host authenticates with it
  EXPECT_NE(err.find("cannot be written by plugins"), std::string::npos) << err;
  EXPECT_EQ(put("webhook_verifier", ""), Code::kInvalid);
  EXPECT_EQ(put("", learned), Code::kInvalid);
  // None of the refusals touched the vault.
  EXPECT_EQ(vault_->Get("w", "undeclared").status().code(), Code::kNotFound);
  EXPECT_EQ(vault_->Get("shared", "verifier").status().code(), Code::kNotFound);
  EXPECT_EQ(vault_->Get("w", "client_secret").value_or(""), vendor_.client_secret);
  ASSERT_EQ(ctx->SecretGet("webhook_verifier", &out, &err), Code::kOk);
  EXPECT_EQ(out, learned + "-2");
  ASSERT_EQ(ctx->SecretGet("env_secret", &out, &err), Code::kOk);
  EXPECT_EQ(out, "env-value-not-writable");

  // The value is not in the database or its WAL in plaintext.
  for (const std::string suffix : {"", "-wal"}) {
    std::ifstream in(dir_.File("mlc.db") + suffix, std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    EXPECT_EQ(bytes.find(learned), std::string::npos) << "plaintext secret in mlc.db" << suffix;
  }
  unsetenv("MLC_RUNTIME_TEST_PUT_ENV");
}

TEST_F(RuntimeTest, SecretPutWithoutAVaultIsInvalid) {
  ConnectionRuntime no_vault(*store_, nullptr, {});
  config::Connection conn;
  conn.name = "nv";
  conn.plugin = "test";
  json manifest = Manifest({{"kind", "none"}});
  manifest["secrets"] = json::array({{{"name", "webhook_verifier"}}});
  ASSERT_TRUE(no_vault.AddConnection(conn, manifest).ok());
  ConnectionContext* ctx = *no_vault.Context("nv");
  std::string err;
  EXPECT_EQ(ctx->SecretPut("webhook_verifier", "whsec-no-vault-value", &err), Code::kInvalid);
  EXPECT_NE(err.find("no master key is configured"), std::string::npos) << err;
  EXPECT_EQ(err.find("whsec-no-vault-value"), std::string::npos);
}

TEST_F(RuntimeTest, StateSecretsLogAndClock) {
  setenv("MLC_RUNTIME_TEST_WEBHOOK_SECRET", "whsec_envsecretvalue", 1);
  secrets_.push_back("whsec_envsecretvalue");
  PutSecret("p", "client_id", vendor_.client_id);
  PutSecret("p", "client_secret", vendor_.client_secret);
  config::Connection conn = Conn("p", {"client_id", "client_secret"});
  config::SecretRef env;
  env.kind = config::SecretRef::Kind::kEnv;
  env.env_var = "MLC_RUNTIME_TEST_WEBHOOK_SECRET";
  conn.secrets["webhook_secret"] = env;
  ASSERT_TRUE(runtime_
                  ->AddConnection(conn, Manifest({{"kind", "client_credentials"},
                                                  {"token_url", "{vendor}/oauth/token"},
                                                  {"secret_fields", {"client_id", "client_secret"}}}))
                  .ok());
  ConnectionContext* ctx = *runtime_->Context("p");
  std::string out, err;
  ASSERT_EQ(ctx->SecretGet("webhook_secret", &out, &err), Code::kOk) << err;
  EXPECT_EQ(out, "whsec_envsecretvalue");
  EXPECT_EQ(ctx->SecretGet("client_secret", &out, &err), Code::kNotFound);
  EXPECT_NE(err.find("not readable by plugins"), std::string::npos);
  EXPECT_EQ(ctx->SecretGet("refresh_token", &out, &err), Code::kNotFound);
  EXPECT_EQ(ctx->SecretGet("nope", &out, &err), Code::kNotFound);

  ASSERT_EQ(ctx->StatePut("org_id", "10234695", &err), Code::kOk);
  ASSERT_EQ(ctx->StateGet("org_id", &out, &err), Code::kOk);
  EXPECT_EQ(out, "10234695");
  auto kv = store::KvGet(*store_, "conn:p", "org_id");
  ASSERT_TRUE(kv.ok() && *kv);
  EXPECT_EQ(ctx->StateGet("missing", &out, &err), Code::kNotFound);
  EXPECT_EQ(ctx->StatePut("", "x", &err), Code::kInvalid);

  EXPECT_EQ(ctx->NowMs(), kStartMs);
  ctx->Log(MLC_LOG_WARN, "plugin says the secret is whsec_envsecretvalue");
  const auto lines = log_->Lines();
  ASSERT_FALSE(lines.empty());
  EXPECT_NE(lines.back().find("[test/p] plugin says"), std::string::npos) << lines.back();
  EXPECT_EQ(lines.back().find("whsec_envsecretvalue"), std::string::npos);
}

TEST(RateLimitsTest, ConnectionOverridesWinOverTheManifest) {
  json manifest = {
      {"rate_limits", {{{"requests", 5}, {"per_seconds", 10}}, {{"requests", 20}, {"per_seconds", 60}}}},
      {"concurrency", 5},
      {"limit_headers",
       {{"retry_after", "Retry-After"}, {"reset", "X-RateLimit-Reset"}, {"reset_kind", "epoch"}}}};
  config::Connection conn;
  auto cfg = RateLimitsFor(conn, manifest);
  ASSERT_EQ(cfg.windows.size(), 2u);
  EXPECT_EQ(cfg.windows[0].max_requests, 5);
  EXPECT_EQ(cfg.windows[1].window, std::chrono::seconds(60));
  EXPECT_EQ(cfg.max_concurrent, 5);
  conn.rate_limits = {{1000, 60}};
  conn.concurrency = 2;
  cfg = RateLimitsFor(conn, manifest);
  ASSERT_EQ(cfg.windows.size(), 1u);
  EXPECT_EQ(cfg.windows[0].max_requests, 1000);
  EXPECT_EQ(cfg.max_concurrent, 2);
  auto hints = RetryHeadersFor(manifest);
  ASSERT_EQ(hints.size(), 1u);
  EXPECT_EQ(hints[0].name, "X-RateLimit-Reset");
  EXPECT_EQ(hints[0].format, http::HintFormat::kEpoch);
}

TEST(RateLimitsTest, EveryResetKindAndACustomRetryAfterHeaderReachTheRetryPolicy) {
  for (const auto& [kind, format] :
       std::vector<std::pair<std::string, http::HintFormat>>{{"seconds", http::HintFormat::kSeconds},
                                                             {"epoch", http::HintFormat::kEpoch},
                                                             {"http_date", http::HintFormat::kHttpDate}}) {
    json manifest = {
        {"limit_headers", {{"retry_after", "X-Retry-In"}, {"reset", "X-Reset"}, {"reset_kind", kind}}}};
    auto hints = RetryHeadersFor(manifest);
    ASSERT_EQ(hints.size(), 2u) << kind;
    EXPECT_EQ(hints[0].name, "X-Retry-In");
    EXPECT_EQ(hints[0].format, http::HintFormat::kRetryAfter);
    EXPECT_EQ(hints[1].name, "X-Reset");
    EXPECT_EQ(hints[1].format, format) << kind;
  }
  // Plain Retry-After needs no extra entry; no limit_headers, no hints.
  EXPECT_TRUE(RetryHeadersFor(json{{"limit_headers", {{"retry_after", "Retry-After"}}}}).empty());
  EXPECT_TRUE(RetryHeadersFor(json::object()).empty());
}

// ---- with the plugin .so -------------------------------------------------------------------------------

class PluginRuntimeTest : public RuntimeTest {
 protected:
  void SetUp() override {
    RuntimeTest::SetUp();
    auto report = registry_.LoadDirectories({MLC_RUNTIME_FIXTURE_DIR});
    ASSERT_TRUE(report.status.ok()) << report.status.ToString();
    for (const auto& r : report.refused) ADD_FAILURE() << r.path << ": " << r.reason;
    plugin_ = registry_.Find("authtest");
    ASSERT_NE(plugin_, nullptr);
    vendor_.rotate = true;
    vendor_.resource_bodies["/auth/api/v1/users/me"] = {
        {"response",
         {{"business_memberships", {{{"business", {{"id", 439000}, {"account_id", "ABC123"}}}}}}}}};
  }
  loader::PluginRegistry registry_;
  std::shared_ptr<const loader::LoadedPlugin> plugin_;
};

TEST_F(PluginRuntimeTest, AfterConsentAuthResolveFindsTheAccountAndCompletesTheBaseUrl) {
  PutSecret("fb", "client_id", vendor_.client_id);
  PutSecret("fb", "client_secret", vendor_.client_secret);
  config::Connection conn = Conn("fb", {"client_id", "client_secret"});
  conn.plugin = "authtest";
  ASSERT_TRUE(runtime_->AddConnection(conn, plugin_).ok());
  // Not authorized yet: opening with auth fails with a clear AUTH.
  auto early = runtime_->OpenInstance("fb");
  ASSERT_EQ(early.status().code(), Code::kAuth);
  messages_.push_back(early.status().message());
  EXPECT_NE(early.status().message().find("mlc connect fb"), std::string::npos);

  auto start = runtime_->tokens().BeginAuthorization("fb", "http://127.0.0.1:9/oauth/callback");
  ASSERT_TRUE(start.ok()) << start.status().ToString();
  auto q = auth::testdata::ParseForm(start->url.substr(start->url.find('?') + 1));
  vendor_.AddCode("fb-code-1", q["code_challenge"]);
  ASSERT_TRUE(runtime_->tokens().CompleteAuthorization("fb", "fb-code-1", start->state).ok());
  EXPECT_FALSE(runtime_->tokens().BaseUrl("fb").ok()) << "{account_id} is not known before auth_resolve";

  auto inst = runtime_->OpenInstance("fb");
  ASSERT_TRUE(inst.ok()) << inst.status().ToString();
  auto base = runtime_->tokens().BaseUrl("fb");
  ASSERT_TRUE(base.ok()) << base.status().ToString();
  EXPECT_EQ(*base, server_->Url("/accounting/account/ABC123"));
  auto check = (*inst)->Check();
  ASSERT_TRUE(check.ok()) << check.status().ToString();
  EXPECT_EQ((*check)["account"]["account_id"], "ABC123");
  EXPECT_EQ((*check)["account"]["path"], "/accounting/account/ABC123/me");
  // Resolved once: a second instance does not call auth_resolve again.
  const size_t before = ResourceRequests().size();
  auto inst2 = runtime_->OpenInstance("fb");
  ASSERT_TRUE(inst2.ok());
  EXPECT_EQ(ResourceRequests().size(), before);
}

TEST_F(PluginRuntimeTest, AddsEveryConfiguredConnectionWhosePluginIsLoaded) {
  config::Config cfg;
  config::Connection ok = Conn("fb", {});
  ok.plugin = "authtest";
  config::Connection missing = Conn("other", {});
  missing.plugin = "not-installed";
  cfg.connections = {{"fb", ok}, {"other", missing}};
  auto failed = runtime_->AddConfiguredConnections(cfg, registry_);
  ASSERT_EQ(failed.size(), 1u);
  EXPECT_EQ(failed[0].first, "other");
  EXPECT_NE(failed[0].second.message().find("not-installed"), std::string::npos);
  EXPECT_TRUE(runtime_->Context("fb").ok());
  EXPECT_EQ(runtime_->Context("other").status().code(), Code::kNotFound);
}

TEST_F(PluginRuntimeTest, ZohoApiDomainFromTheTokenResponseBecomesTheBaseUrl) {
  auto zoho = std::make_shared<loader::LoadedPlugin>(*plugin_);
  zoho->manifest["auth"] = {{"kind", "oauth2_refresh"},
                            {"token_url", "{vendor}/oauth/v2/token"},
                            {"scheme", "Zoho-oauthtoken"},
                            {"secret_fields", {"client_id", "client_secret", "refresh_token"}}};
  zoho->manifest["base_url"] = "{api_domain}/books/v3";
  vendor_.rotate = false;
  vendor_.api_domain = server_->Url();  // stands in for https://www.zohoapis.eu
  vendor_.Seed("", "zoho-permanent-refresh-1");
  PutSecret("zb", "client_id", vendor_.client_id);
  PutSecret("zb", "client_secret", vendor_.client_secret);
  PutSecret("zb", "refresh_token", "zoho-permanent-refresh-1");
  config::Connection conn = Conn("zb", {"client_id", "client_secret"});
  conn.plugin = "authtest";
  ASSERT_TRUE(runtime_->AddConnection(conn, zoho).ok());
  auto inst = runtime_->OpenInstance("zb");
  ASSERT_TRUE(inst.ok()) << inst.status().ToString();
  auto base = runtime_->tokens().BaseUrl("zb");
  ASSERT_TRUE(base.ok());
  EXPECT_EQ(*base, server_->Url("/books/v3"));
  auto state = store::KvGet(*store_, "conn:zb", "api_domain");
  ASSERT_TRUE(state.ok() && *state);
  EXPECT_EQ(**state, server_->Url());
  auto check = (*inst)->Check();
  ASSERT_TRUE(check.ok()) << check.status().ToString();
  EXPECT_EQ((*check)["account"]["path"], "/books/v3/me");
  auto reqs = ResourceRequests();
  ASSERT_FALSE(reqs.empty());
  EXPECT_EQ(reqs.back().Header("authorization")->rfind("Zoho-oauthtoken ", 0), 0u);
}

}  // namespace
}  // namespace mlc::runtime
