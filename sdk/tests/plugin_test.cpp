// Tests of mlc/plugin.hpp: the Host wrapper against a fake host table, and the generated plugin table
// (trampolines, error contract, exceptions turned into MLC_ERROR) for small test-only plugin classes.
#include "mlc/plugin.hpp"

#include <cstddef>
#include <stdexcept>
#include <string>

#include <gtest/gtest.h>

#include "mlc/testing/fake_host.hpp"

namespace mlc::sdk {
namespace {

using mlc::testing::CallResult;
using mlc::testing::FakeHost;
using mlc::testing::Instance;
using nlohmann::json;

// ---- Host wrapper ------------------------------------------------------------------------------------

TEST(HostTest, HttpSendsTheDocumentedRequestAndParsesTheResponse) {
  FakeHost fake;
  fake.http_handler = [](const json&, std::string_view) {
    return FakeHost::HttpReply{MLC_OK,
                               R"({"status": 201, "headers": {"x-request-id": "r1", "set-cookie": ["a", "b"]},
                                         "blob": "sha256:ab"})",
                               R"({"id": 5, "amount": 12.30})", ""};
  };
  Host host(fake.api(), fake.ctx());
  HttpRequest req;
  req.method = "POST";
  req.url = "/v1/things";
  req.headers["Content-Type"] = "application/json";
  req.query.emplace("include[]", "a");
  req.query.emplace("include[]", "b");
  req.query.emplace("page", "2");
  req.body = R"({"x":1})";
  req.idempotency_key = "job-1";
  req.idempotent = true;
  req.response_blob = true;
  req.auth = false;
  req.timeout_ms = 5000;

  auto resp = host.Http(req);
  ASSERT_TRUE(resp.ok()) << resp.status().ToString();
  ASSERT_EQ(fake.http_requests.size(), 1u);
  const json& sent = fake.http_requests[0].first;
  EXPECT_EQ(sent["method"], "POST");
  EXPECT_EQ(sent["url"], "/v1/things");
  EXPECT_EQ(sent["headers"]["Content-Type"], "application/json");
  EXPECT_EQ(sent["query"]["include[]"], json::array({"a", "b"}));  // repeated names keep their order
  EXPECT_EQ(sent["query"]["page"], "2");
  EXPECT_EQ(sent["idempotency_key"], "job-1");
  EXPECT_EQ(sent["idempotent"], true);
  EXPECT_EQ(sent["response_blob"], true);
  EXPECT_EQ(sent["auth"], false);
  EXPECT_EQ(sent["timeout_ms"], 5000);
  EXPECT_FALSE(sent.contains("multipart"));
  EXPECT_EQ(fake.http_requests[0].second, R"({"x":1})");

  EXPECT_EQ(resp->status, 201);
  EXPECT_TRUE(resp->success());
  EXPECT_EQ(resp->Header("X-Request-Id"), "r1");
  EXPECT_EQ(resp->Header("set-cookie"), "a, b");
  EXPECT_EQ(resp->Header("missing"), "");
  EXPECT_EQ(resp->blob.value_or(""), "sha256:ab");
  auto body = resp->Json();
  ASSERT_TRUE(body.ok());
  EXPECT_EQ((*body)["amount"], "12.30");  // exact decimal text, not a double
}

TEST(HostTest, HttpOmitsDefaultsAndSendsMultipartInsteadOfTheBody) {
  FakeHost fake;
  Host host(fake.api(), fake.ctx());
  HttpRequest req{.method = "POST", .url = "https://uploads.example/attachments"};
  req.body = "ignored";
  req.multipart.push_back(
      {.name = "content", .filename = "r.pdf", .content_type = "application/pdf", .blob = "b1"});
  req.multipart.push_back({.name = "note", .data = "hello"});
  auto resp = host.Http(req);
  ASSERT_TRUE(resp.ok()) << resp.status().ToString();
  EXPECT_EQ(resp->status, 200);
  const json& sent = fake.http_requests.at(0).first;
  EXPECT_FALSE(sent.contains("idempotency_key"));
  EXPECT_FALSE(sent.contains("idempotent"));
  EXPECT_FALSE(sent.contains("response_blob"));
  EXPECT_FALSE(sent.contains("auth"));
  EXPECT_FALSE(sent.contains("timeout_ms"));
  EXPECT_EQ(sent["multipart"],
            json::parse(
                R"([{"name": "content", "filename": "r.pdf", "content_type": "application/pdf", "blob": "b1"},
                            {"name": "note", "data": "hello"}])"));
  EXPECT_EQ(fake.http_requests[0].second, "");
}

TEST(HostTest, HttpMapsHostVerdictsToStatuses) {
  FakeHost fake;
  Host host(fake.api(), fake.ctx());
  for (mlc_status code : {MLC_RETRY, MLC_UNCERTAIN, MLC_AUTH, MLC_INVALID}) {
    fake.http_handler = [code](const json&, std::string_view) {
      return FakeHost::HttpReply{code, "", "", "host says no"};
    };
    auto resp = host.Http(HttpRequest{.url = "/x"});
    ASSERT_FALSE(resp.ok());
    EXPECT_EQ(resp.status().abi(), code);
    EXPECT_EQ(resp.status().message(), "host says no");
  }
  // No message from the host still gives a useful one; unknown codes become ERROR.
  fake.http_handler = [](const json&, std::string_view) { return FakeHost::HttpReply{99, "", "", ""}; };
  auto resp = host.Http(HttpRequest{.url = "/x"});
  ASSERT_FALSE(resp.ok());
  EXPECT_EQ(resp.status().code(), Code::kError);
  EXPECT_EQ(resp.status().message(), "http failed");
}

TEST(HostTest, HttpRejectsMalformedMetadataFromTheHost) {
  FakeHost fake;
  Host host(fake.api(), fake.ctx());
  for (const char* meta : {"", "not json", "[]", R"({"headers": {}})", R"({"status": "200"})"}) {
    fake.http_handler = [meta](const json&, std::string_view) {
      return FakeHost::HttpReply{MLC_OK, meta, "", ""};
    };
    auto resp = host.Http(HttpRequest{.url = "/x"});
    ASSERT_FALSE(resp.ok()) << meta;
    EXPECT_EQ(resp.status().code(), Code::kError) << meta;
  }
}

TEST(HostTest, HttpRefusesARequestThatIsNotUtf8) {
  FakeHost fake;
  Host host(fake.api(), fake.ctx());
  HttpRequest req{.url = "/x"};
  req.headers["x-bad"] = std::string("\xff\xfe", 2);
  auto resp = host.Http(req);
  ASSERT_FALSE(resp.ok());
  EXPECT_EQ(resp.status().code(), Code::kInvalid);
  EXPECT_TRUE(fake.http_requests.empty());
}

TEST(HostTest, SecretsStateBlobsLogAndClock) {
  FakeHost fake;
  fake.secrets["token"] = "s3cr3t";
  Host host(fake.api(), fake.ctx());
  EXPECT_EQ(host.abi_version(), MLC_ABI_VERSION);

  EXPECT_EQ(host.Secret("token").value(), "s3cr3t");
  auto missing = host.Secret("nope");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), Code::kNotFound);

  EXPECT_FALSE(host.GetState("k").value().has_value());
  ASSERT_TRUE(host.PutState("k", "v1").ok());
  EXPECT_EQ(host.GetState("k").value().value_or(""), "v1");
  ASSERT_TRUE(host.PutState("empty", "").ok());
  auto empty = host.GetState("empty");
  ASSERT_TRUE(empty.ok());
  ASSERT_TRUE(empty->has_value());  // present but empty is not the same as absent
  EXPECT_EQ(**empty, "");
  fake.fail_put_substring = "k";
  auto failed = host.PutState("k", "v2");
  EXPECT_EQ(failed.code(), Code::kRetry);
  EXPECT_EQ(failed.message(), "fake host: injected state_put failure");

  auto id = host.PutBlob("image/png", std::string("\x89PNG\0\x01", 6));
  ASSERT_TRUE(id.ok());
  auto blob = host.GetBlob(*id);
  ASSERT_TRUE(blob.ok());
  EXPECT_EQ(blob->bytes, std::string("\x89PNG\0\x01", 6));
  EXPECT_EQ(blob->content_type, "image/png");
  EXPECT_EQ(host.GetBlob("unknown").status().code(), Code::kNotFound);

  host.Log(MLC_LOG_WARN, "careful");
  ASSERT_EQ(fake.logs.size(), 1u);
  EXPECT_EQ(fake.logs[0].first, MLC_LOG_WARN);
  EXPECT_EQ(fake.logs[0].second, "careful");

  fake.now_ms = 42;
  EXPECT_EQ(host.NowMs(), 42);
}

TEST(HostTest, ServicesBeyondTheHostTableSizeAreNeverCalled) {
  FakeHost fake;
  // An older or truncated host table: only the header, no services.
  fake.mutable_api()->size = offsetof(mlc_host_api, http);
  Host host(fake.api(), fake.ctx());
  auto resp = host.Http(HttpRequest{.url = "/x"});
  ASSERT_FALSE(resp.ok());
  EXPECT_EQ(resp.status().code(), Code::kInvalid);
  EXPECT_NE(resp.status().message().find("'http'"), std::string::npos);
  EXPECT_TRUE(fake.http_requests.empty());
  EXPECT_FALSE(host.Secret("x").ok());
  EXPECT_FALSE(host.GetState("x").ok());
  EXPECT_FALSE(host.PutState("x", "y").ok());
  EXPECT_FALSE(host.PutBlob("a/b", "c").ok());
  EXPECT_FALSE(host.GetBlob("c").ok());
  host.Log(MLC_LOG_INFO, "dropped");
  EXPECT_TRUE(fake.logs.empty());
  // Falls back to the system clock: some time after 2020-01-01.
  EXPECT_GT(host.NowMs(), 1577836800000);

  // A table that ends right after `log`: log works, now_ms falls back.
  fake.mutable_api()->size = offsetof(mlc_host_api, now_ms);
  fake.now_ms = 7;
  host.Log(MLC_LOG_INFO, "kept");
  EXPECT_EQ(fake.logs.size(), 1u);
  EXPECT_NE(host.NowMs(), 7);

  // NULL function pointers count as missing too.
  fake.mutable_api()->size = sizeof(mlc_host_api);
  fake.mutable_api()->secret_get = nullptr;
  EXPECT_EQ(host.Secret("x").status().code(), Code::kInvalid);
}

TEST(HostTest, SecretPutStoresThroughTheHostAndReadsBack) {
  FakeHost fake;
  Host host(fake.api(), fake.ctx());
  ASSERT_TRUE(host.SecretPut("webhook_verifier", "whsec-sdk-value").ok());
  EXPECT_EQ(fake.secrets["webhook_verifier"], "whsec-sdk-value");
  auto back = host.Secret("webhook_verifier");
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, "whsec-sdk-value");
  // The host's refusal comes back with its code and message.
  Status empty = host.SecretPut("webhook_verifier", "");
  EXPECT_EQ(empty.code(), Code::kInvalid);
  EXPECT_EQ(empty.message(), "fake host: empty secret value");
}

TEST(HostTest, SecretPutOnAnAbi10HostTableSaysTheHostIsTooOld) {
  FakeHost fake;
  // A 1.0 host: its table ends after now_ms and says minor 0.
  fake.mutable_api()->size = static_cast<uint32_t>(detail::kHostTableV1Size);
  fake.mutable_api()->abi_version = (1u << 16) | 0u;
  Host host(fake.api(), fake.ctx());
  Status s = host.SecretPut("webhook_verifier", "whsec-never-sent");
  EXPECT_EQ(s.code(), Code::kInvalid);
  EXPECT_EQ(s.message(), "host too old (ABI 1.0): secret_put unavailable");
  EXPECT_TRUE(fake.secrets.empty());  // the function pointer past `size` was not called
  // The 1.0 services still work on that table.
  EXPECT_TRUE(host.PutState("k", "v").ok());
  // A full-size table with a NULL entry, and no table at all, are "does not provide".
  fake.mutable_api()->size = sizeof(mlc_host_api);
  fake.mutable_api()->secret_put = nullptr;
  EXPECT_NE(host.SecretPut("a", "b").message().find("does not provide the 'secret_put'"), std::string::npos);
  EXPECT_EQ(Host().SecretPut("a", "b").code(), Code::kInvalid);
  EXPECT_TRUE(fake.secrets.empty());
}

TEST(HostTest, DefaultHostHasNoServices) {
  Host host;
  EXPECT_EQ(host.abi_version(), 0u);
  EXPECT_EQ(host.Http(HttpRequest{.url = "/"}).status().code(), Code::kInvalid);
  EXPECT_EQ(host.Secret("x").status().code(), Code::kInvalid);
  host.Log(MLC_LOG_INFO, "nowhere");  // must not crash
}

// ---- Generated plugin table --------------------------------------------------------------------------

// Does what `read`'s request asks, to exercise every path of the trampolines.
class ProbePlugin : public Plugin {
 public:
  ProbePlugin(Host host, const json& settings) : Plugin(host), settings_(settings) {}

  Status Open() override {
    if (settings_.contains("refuse"))
      return Status::Invalid("refused: " + settings_["refuse"].get<std::string>());
    return Status::Ok();
  }

  Result<json> Check(const json&) override { return json{{"ok", true}, {"settings", settings_}}; }

  Result<json> Read(const json& request) override {
    const std::string what = request.value("do", "");
    if (what == "echo") return request;
    if (what == "throw") throw std::runtime_error("boom: " + request.value("msg", std::string()));
    if (what == "throw_int") throw 42;
    if (what == "status") {
      return Status(static_cast<Code>(request["code"].get<int>()), request.value("msg", std::string()));
    }
    if (what == "secret") {
      MLC_ASSIGN_OR_RETURN(std::string s, host().Secret(request["name"].get<std::string>()));
      return json{{"length", s.size()}};
    }
    if (what == "state") {
      MLC_RETURN_IF_ERROR(host().PutState("count", std::to_string(++calls_)));
      return json{{"calls", calls_}};
    }
    if (what == "not_utf8") return json{{"s", std::string("\xff", 1)}};
    return Status::Invalid("unknown probe '" + what + "'");
  }

  Result<json> Webhook(const json& request, std::string_view body) override {
    return json{{"method", request.value("method", "")}, {"body", std::string(body)}, {"size", body.size()}};
  }

  Result<json> AuthResolve(const json& request) override {
    return json{{"state", {{"account_id", request.value("account", "")}}}};
  }

 private:
  json settings_;
  int calls_ = 0;
};

class MinimalPlugin : public Plugin {
 public:
  MinimalPlugin(Host host, const json&) : Plugin(host) {}
};

class ThrowingConstructorPlugin : public Plugin {
 public:
  ThrowingConstructorPlugin(Host host, const json& settings) : Plugin(host) {
    throw std::invalid_argument("cannot use settings: " + settings.dump());
  }
};

// Overrides AuthResolve through an intermediate base, which must still count as an override.
class MiddleBase : public Plugin {
 public:
  using Plugin::Plugin;
  Result<json> AuthResolve(const json&) override { return json{{"state", json::object()}}; }
};
class DerivedPlugin : public MiddleBase {
 public:
  DerivedPlugin(Host host, const json&) : MiddleBase(host) {}
};

TEST(PluginTableTest, TableHeaderAndOptionalEntries) {
  const mlc_plugin_api& probe = kPluginApi<ProbePlugin>;
  EXPECT_EQ(probe.size, sizeof(mlc_plugin_api));
  EXPECT_EQ(probe.abi_version, MLC_ABI_VERSION);
  EXPECT_NE(probe.open, nullptr);
  EXPECT_NE(probe.close, nullptr);
  EXPECT_NE(probe.webhook, nullptr);
  EXPECT_NE(probe.auth_resolve, nullptr);
  EXPECT_EQ(kPluginApi<MinimalPlugin>.auth_resolve, nullptr);
  EXPECT_NE(kPluginApi<DerivedPlugin>.auth_resolve, nullptr);
  EXPECT_TRUE(MLC_TABLE_HAS(&probe, mlc_plugin_api, auth_resolve));
}

TEST(PluginTableTest, EntryServesOnlyItsOwnMajorVersion) {
  EXPECT_EQ(PluginEntry<ProbePlugin>(MLC_ABI_VERSION), &kPluginApi<ProbePlugin>);
  EXPECT_EQ(PluginEntry<ProbePlugin>((MLC_ABI_VERSION_MAJOR << 16) | 7u),
            &kPluginApi<ProbePlugin>);  // newer minor
  EXPECT_EQ(PluginEntry<ProbePlugin>((MLC_ABI_VERSION_MAJOR + 1) << 16), nullptr);
  EXPECT_EQ(PluginEntry<ProbePlugin>(0), nullptr);
}

TEST(PluginTableTest, OpenPassesSettingsAndOperationsReturnJson) {
  FakeHost fake;
  Instance inst(&kPluginApi<ProbePlugin>, &fake, R"({"amount": 1.10, "n": 3})");
  ASSERT_EQ(inst.open_status(), MLC_OK) << inst.open_error();
  ASSERT_NE(inst.get(), nullptr);
  CallResult check = inst.Check();
  ASSERT_EQ(check.status, MLC_OK) << check.err;
  EXPECT_EQ(check.Json()["settings"]["amount"], "1.10");  // settings parsed exactly
  EXPECT_EQ(check.Json()["settings"]["n"], 3);
  EXPECT_EQ(check.err, "");

  CallResult echo = inst.Read({{"do", "echo"}, {"x", 1}});
  ASSERT_EQ(echo.status, MLC_OK) << echo.err;
  EXPECT_EQ(echo.Json()["x"], 1);

  // An empty request view counts as {}.
  CallResult empty = inst.CallRaw(kPluginApi<ProbePlugin>.check, "");
  EXPECT_EQ(empty.status, MLC_OK);
}

TEST(PluginTableTest, ExceptionsBecomeErrorWithTheirMessage) {
  FakeHost fake;
  Instance inst(&kPluginApi<ProbePlugin>, &fake, "{}");
  ASSERT_EQ(inst.open_status(), MLC_OK);
  CallResult thrown = inst.Read({{"do", "throw"}, {"msg", "disk on fire"}});
  EXPECT_EQ(thrown.status, MLC_ERROR);
  EXPECT_EQ(thrown.err, "boom: disk on fire");
  EXPECT_EQ(thrown.out, "");

  CallResult odd = inst.Read({{"do", "throw_int"}});
  EXPECT_EQ(odd.status, MLC_ERROR);
  EXPECT_NE(odd.err.find("not a std::exception"), std::string::npos);

  // A result that cannot be serialised (invalid UTF-8) is an error too, and nothing half-written escapes.
  CallResult bad_utf8 = inst.Read({{"do", "not_utf8"}});
  EXPECT_EQ(bad_utf8.status, MLC_ERROR);
  EXPECT_EQ(bad_utf8.out, "");
  EXPECT_FALSE(bad_utf8.err.empty());

  // The instance is still usable afterwards.
  EXPECT_EQ(inst.Read({{"do", "echo"}}).status, MLC_OK);
}

TEST(PluginTableTest, StatusesAndMessagesCrossUnchanged) {
  FakeHost fake;
  Instance inst(&kPluginApi<ProbePlugin>, &fake, "{}");
  for (Code code :
       {Code::kRetry, Code::kError, Code::kUncertain, Code::kAuth, Code::kInvalid, Code::kNotFound}) {
    CallResult r = inst.Read({{"do", "status"}, {"code", static_cast<int>(code)}, {"msg", "because"}});
    EXPECT_EQ(r.status, static_cast<mlc_status>(code));
    EXPECT_EQ(r.err, "because");
    EXPECT_EQ(r.out, "");
  }
}

TEST(PluginTableTest, BadRequestsAreInvalidBeforeThePluginRuns) {
  FakeHost fake;
  Instance inst(&kPluginApi<ProbePlugin>, &fake, "{}");
  const mlc_op_fn read = kPluginApi<ProbePlugin>.read;
  for (const char* bad : {"{", "[1,2]", "\"text\"", "12", "{\"do\": }"}) {
    CallResult r = inst.CallRaw(read, bad);
    EXPECT_EQ(r.status, MLC_INVALID) << bad;
    EXPECT_FALSE(r.err.empty()) << bad;
  }
  CallResult unknown = inst.Read({{"do", "what"}});
  EXPECT_EQ(unknown.status, MLC_INVALID);
  EXPECT_EQ(unknown.err, "unknown probe 'what'");
}

TEST(PluginTableTest, NullSinksAndNullInstanceAreSurvivable) {
  FakeHost fake;
  Instance inst(&kPluginApi<ProbePlugin>, &fake, "{}");
  const std::string req = R"({"do": "throw"})";
  EXPECT_EQ(kPluginApi<ProbePlugin>.read(inst.get(), mlc_str{req.data(), req.size()}, nullptr, nullptr),
            MLC_ERROR);
  EXPECT_EQ(kPluginApi<ProbePlugin>.check(nullptr, mlc_str{nullptr, 0}, nullptr, nullptr), MLC_INVALID);
  mlc::testing::Collect err;
  EXPECT_EQ(kPluginApi<ProbePlugin>.open(fake.api(), fake.ctx(), mlc_str{nullptr, 0}, nullptr, err.sink()),
            MLC_INVALID);
}

TEST(PluginTableTest, OperationsUseHostServices) {
  FakeHost fake;
  fake.secrets["api_key"] = "abcdef";
  Instance inst(&kPluginApi<ProbePlugin>, &fake, "{}");
  CallResult secret = inst.Read({{"do", "secret"}, {"name", "api_key"}});
  ASSERT_EQ(secret.status, MLC_OK) << secret.err;
  EXPECT_EQ(secret.Json()["length"], 6);
  CallResult missing = inst.Read({{"do", "secret"}, {"name", "other"}});
  EXPECT_EQ(missing.status, MLC_NOT_FOUND);
  EXPECT_EQ(missing.err, "no secret 'other'");

  EXPECT_EQ(inst.Read({{"do", "state"}}).status, MLC_OK);
  EXPECT_EQ(inst.Read({{"do", "state"}}).Json()["calls"], 2);
  EXPECT_EQ(fake.state["count"], "2");
}

TEST(PluginTableTest, WebhookGetsTheRawBodyAndAuthResolveIsWired) {
  FakeHost fake;
  Instance inst(&kPluginApi<ProbePlugin>, &fake, "{}");
  const std::string body("{\"a\": 1.0}\0tail", 15);  // raw bytes, embedded NUL included
  CallResult hook = inst.Webhook({{"method", "POST"}}, body);
  ASSERT_EQ(hook.status, MLC_OK) << hook.err;
  EXPECT_EQ(hook.Json()["size"], 15);
  EXPECT_EQ(hook.Json()["method"], "POST");

  CallResult resolved = inst.Call(kPluginApi<ProbePlugin>.auth_resolve, {{"account", "acc-1"}});
  ASSERT_EQ(resolved.status, MLC_OK);
  EXPECT_EQ(resolved.Json()["state"]["account_id"], "acc-1");
}

TEST(PluginTableTest, UnimplementedOperationsSayWhich) {
  FakeHost fake;
  Instance inst(&kPluginApi<MinimalPlugin>, &fake, "{}");
  ASSERT_EQ(inst.open_status(), MLC_OK);
  CallResult check = inst.Check();
  EXPECT_EQ(check.status, MLC_INVALID);
  EXPECT_EQ(check.err, "check is not implemented by this plugin");
  EXPECT_EQ(inst.Write(json::object()).err, "write is not implemented by this plugin");
  EXPECT_EQ(inst.Webhook(json::object(), "").err, "webhook is not implemented by this plugin");
}

TEST(PluginTableTest, OpenFailuresLeaveNoInstance) {
  FakeHost fake;
  {
    Instance inst(&kPluginApi<ThrowingConstructorPlugin>, &fake, R"({"k": 1})");
    EXPECT_EQ(inst.open_status(), MLC_ERROR);
    EXPECT_EQ(inst.open_error(), R"(cannot use settings: {"k":1})");
    EXPECT_EQ(inst.get(), nullptr);
  }
  {
    Instance inst(&kPluginApi<ProbePlugin>, &fake, R"({"refuse": "no seed"})");
    EXPECT_EQ(inst.open_status(), MLC_INVALID);
    EXPECT_EQ(inst.open_error(), "refused: no seed");
    EXPECT_EQ(inst.get(), nullptr);
  }
  {
    Instance inst(&kPluginApi<ProbePlugin>, &fake, "[1]");
    EXPECT_EQ(inst.open_status(), MLC_INVALID);
    EXPECT_EQ(inst.open_error(), "settings must be a JSON object");
  }
  {
    Instance inst(&kPluginApi<ProbePlugin>, &fake, "{oops");
    EXPECT_EQ(inst.open_status(), MLC_INVALID);
    EXPECT_NE(inst.open_error().find("settings: malformed JSON"), std::string::npos) << inst.open_error();
  }
  {
    // A host of another major version is refused at open too.
    mlc_host_api other = *fake.api();
    other.abi_version = (MLC_ABI_VERSION_MAJOR + 1) << 16;
    mlc_instance* out = reinterpret_cast<mlc_instance*>(&other);  // must be overwritten with NULL
    mlc::testing::Collect err;
    EXPECT_EQ(kPluginApi<ProbePlugin>.open(&other, fake.ctx(), mlc_str{"{}", 2}, &out, err.sink()),
              MLC_INVALID);
    EXPECT_EQ(out, nullptr);
    EXPECT_NE(err.text.find("major"), std::string::npos);
  }
  {
    // A table shorter than ABI 1.0 is refused at open (a 1.x host always provides all of 1.0).
    mlc_host_api short_table = *fake.api();
    short_table.size = offsetof(mlc_host_api, now_ms);
    mlc_instance* out = nullptr;
    mlc::testing::Collect err;
    EXPECT_EQ(kPluginApi<ProbePlugin>.open(&short_table, fake.ctx(), mlc_str{"{}", 2}, &out, err.sink()),
              MLC_INVALID);
    EXPECT_EQ(out, nullptr);
    EXPECT_NE(err.text.find("smaller than the ABI 1.0 table"), std::string::npos) << err.text;
  }
}

}  // namespace
}  // namespace mlc::sdk
