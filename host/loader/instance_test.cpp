// Tests for PluginInstance and the host-services trampolines, driven through the fixture plugins.
#include "loader/instance.hpp"

#include <stdlib.h>

#include <atomic>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "config/config.hpp"
#include "loader/loader.hpp"
#include "loader/loader_test_util.hpp"
#include "runtime/connection_context.hpp"
#include "store/store.hpp"
#include "vault/vault.hpp"

namespace mlc::loader {
namespace {

using nlohmann::json;
using testing::TempDir;

// Loads the named fixtures from a private directory; the registry keeps them mapped.
class InstanceTest : public ::testing::Test {
 protected:
  std::shared_ptr<const LoadedPlugin> Load(const char* file, const char* name) {
    dir_.Add(file);
    LoadReport report = registry_.LoadDirectories({dir_.path()});
    EXPECT_TRUE(report.status.ok()) << report.status.ToString();
    for (const auto& r : report.refused) ADD_FAILURE() << r.path << ": " << r.reason;
    auto plugin = registry_.Find(name);
    EXPECT_NE(plugin, nullptr) << name;
    return plugin;
  }

  std::unique_ptr<PluginInstance> OpenGood(HostContext* host, const json& settings = json::object()) {
    auto plugin = Load("good.so", "fixture_good");
    if (plugin == nullptr) return nullptr;
    auto inst = PluginInstance::Open(plugin, host, settings);
    EXPECT_TRUE(inst.ok()) << inst.status().ToString();
    return inst.ok() ? std::move(inst).value() : nullptr;
  }

  TempDir dir_;
  PluginRegistry registry_;
};

TEST_F(InstanceTest, CheckRoundTripsSettings) {
  InMemoryHostContext host;
  auto inst = OpenGood(&host, {{"environment", "sandbox"}});
  ASSERT_NE(inst, nullptr);
  auto reply = inst->Check();
  ASSERT_TRUE(reply.ok()) << reply.status().ToString();
  EXPECT_EQ((*reply)["ok"], true);
  EXPECT_EQ((*reply)["account"]["plugin"], "fixture_good");
  EXPECT_EQ((*reply)["account"]["settings"]["environment"], "sandbox");
  EXPECT_EQ(inst->plugin().name, "fixture_good");
}

TEST_F(InstanceTest, OpenFailureCarriesCodeAndMessage) {
  InMemoryHostContext host;
  auto plugin = Load("good.so", "fixture_good");
  ASSERT_NE(plugin, nullptr);
  auto inst = PluginInstance::Open(plugin, &host, {{"fail_open", true}});
  ASSERT_FALSE(inst.ok());
  EXPECT_EQ(inst.status().code(), Code::kInvalid);
  EXPECT_EQ(inst.status().message(), "open refused by settings");
  EXPECT_FALSE(PluginInstance::Open(nullptr, &host, json::object()).ok());
  EXPECT_FALSE(PluginInstance::Open(plugin, nullptr, json::object()).ok());
}

TEST_F(InstanceTest, StatusesAndMessagesFromThePlugin) {
  InMemoryHostContext host;
  auto inst = OpenGood(&host);
  ASSERT_NE(inst, nullptr);
  struct Case {
    int32_t status;
    Code code;
  };
  for (Case c : {Case{MLC_RETRY, Code::kRetry}, Case{MLC_ERROR, Code::kError},
                 Case{MLC_UNCERTAIN, Code::kUncertain}, Case{MLC_AUTH, Code::kAuth},
                 Case{MLC_INVALID, Code::kInvalid}, Case{MLC_NOT_FOUND, Code::kNotFound}}) {
    auto r = inst->Write({{"return_status", c.status}, {"message", "vendor said no"}});
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), c.code) << c.status;
    EXPECT_EQ(r.status().message(), "vendor said no");
  }
  // Unknown statuses are errors, and say so.
  auto odd = inst->Write({{"return_status", 42}, {"message", "what"}});
  ASSERT_FALSE(odd.ok());
  EXPECT_EQ(odd.status().code(), Code::kError);
  EXPECT_EQ(odd.status().message(), "plugin returned unknown status 42: what");
  auto negative = inst->Write({{"return_status", -1}, {"message", ""}});
  EXPECT_EQ(negative.status().code(), Code::kError);
  EXPECT_EQ(negative.status().message(), "plugin returned unknown status -1: write failed without a message");
}

TEST_F(InstanceTest, RepliesAreParsedAsJson) {
  InMemoryHostContext host;
  auto inst = OpenGood(&host);
  ASSERT_NE(inst, nullptr);
  auto echo = inst->Write({{"object_type", "vendor"}, {"object", {{"name", "Ütility GmbH"}}}});
  ASSERT_TRUE(echo.ok()) << echo.status().ToString();
  EXPECT_EQ((*echo)["echo"]["object"]["name"], "Ütility GmbH");

  auto malformed = inst->Write({{"raw_reply", "{\"target_id\": "}});
  ASSERT_FALSE(malformed.ok());
  EXPECT_EQ(malformed.status().code(), Code::kError);
  EXPECT_EQ(malformed.status().message().rfind("plugin returned malformed JSON from write", 0), 0u)
      << malformed.status().message();
  auto empty = inst->Write({{"raw_reply", ""}});
  ASSERT_FALSE(empty.ok());
  EXPECT_EQ(empty.status().message().rfind("plugin returned malformed JSON from write", 0), 0u);

  auto acked = inst->Ack({{"stream", "expenses"}, {"items", json::array({json::object(), json::object()})}});
  ASSERT_TRUE(acked.ok());
  EXPECT_EQ((*acked)["acked"], 2);

  auto lookup = inst->Lookup({{"object_type", "bill"}, {"idempotency_key", "k1"}});
  ASSERT_FALSE(lookup.ok());
  EXPECT_EQ(lookup.status().code(), Code::kNotFound);
  EXPECT_EQ(lookup.status().message(), "no write carries that key");
}

TEST_F(InstanceTest, RequestsThatAreNotUtf8AreRefusedBeforeThePlugin) {
  InMemoryHostContext host;
  auto inst = OpenGood(&host);
  ASSERT_NE(inst, nullptr);
  auto r = inst->Write({{"object", std::string("\xff\xfe")}});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kInvalid);
  EXPECT_EQ(r.status().message(), "request is not valid UTF-8 JSON");
}

TEST_F(InstanceTest, WebhookPassesRawBodyBytes) {
  InMemoryHostContext host;
  auto inst = OpenGood(&host);
  ASSERT_NE(inst, nullptr);
  const std::string body("sig=abc\0tail", 12);  // an embedded NUL must survive
  auto r = inst->Webhook({{"method", "POST"}, {"path", "/webhooks/x"}}, body);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ((*r)["method"], "POST");
  EXPECT_EQ((*r)["body"].get<std::string>(), body);
}

TEST_F(InstanceTest, OptionalOperationNotImplemented) {
  InMemoryHostContext host;
  auto inst = OpenGood(&host);
  ASSERT_NE(inst, nullptr);
  auto r = inst->AuthResolve({{"token_response", json::object()}});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kInvalid);
  EXPECT_EQ(r.status().message(), "plugin does not implement auth_resolve");
}

TEST_F(InstanceTest, NewerMinorPluginServesItsOptionalOperation) {
  InMemoryHostContext host;
  auto plugin = Load("newer_minor.so", "fixture_newer_minor");
  ASSERT_NE(plugin, nullptr);
  auto inst = PluginInstance::Open(plugin, &host, json::object());
  ASSERT_TRUE(inst.ok()) << inst.status().ToString();
  auto r = (*inst)->AuthResolve(json::object());
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ((*r)["state"]["resolved_by"], "newer-minor");
  EXPECT_TRUE((*inst)->Check().ok());
}

// A table built by hand that stops before `lookup`: the host must not read past its size.
std::atomic<int> g_calls_past_end{0};
mlc_status CountingOp(mlc_instance*, mlc_str, const mlc_sink* out, const mlc_sink*) {
  ++g_calls_past_end;
  out->write(out->ctx, "{}", 2);
  return MLC_OK;
}
mlc_status CountingWebhook(mlc_instance*, mlc_str, mlc_str, const mlc_sink*, const mlc_sink*) {
  ++g_calls_past_end;
  return MLC_OK;
}
mlc_status OpenDummy(const mlc_host_api*, mlc_host_ctx*, mlc_str, mlc_instance** out, const mlc_sink*) {
  static int token;
  *out = reinterpret_cast<mlc_instance*>(&token);
  return MLC_OK;
}
void CloseDummy(mlc_instance*) {}
mlc_status CheckDummy(mlc_instance*, mlc_str, const mlc_sink* out, const mlc_sink*) {
  out->write(out->ctx, "{}", 2);
  return MLC_OK;
}

TEST(InstanceTableSizeTest, FieldsBeyondTheTablesSizeAreNotCalled) {
  static const mlc_plugin_api kShort = {
      static_cast<uint32_t>(offsetof(mlc_plugin_api, lookup)),
      MLC_ABI_VERSION,
      &OpenDummy,
      &CloseDummy,
      &CheckDummy,
      &CountingOp,
      &CountingOp,
      &CountingOp,  // lookup: set, but outside `size`
      &CountingOp,
      &CountingWebhook,
      &CountingOp,
  };
  auto plugin = std::make_shared<LoadedPlugin>();
  plugin->name = "hand-made";
  plugin->api = &kShort;
  InMemoryHostContext host;
  auto inst = PluginInstance::Open(plugin, &host, json::object());
  ASSERT_TRUE(inst.ok()) << inst.status().ToString();
  EXPECT_TRUE((*inst)->Check().ok());
  EXPECT_TRUE((*inst)->Write(json::object()).ok());  // inside `size`: called
  EXPECT_EQ(g_calls_past_end.load(), 1);
  for (auto r : {(*inst)->Lookup(json::object()), (*inst)->Ack(json::object()),
                 (*inst)->Webhook(json::object(), "x"), (*inst)->AuthResolve(json::object())}) {
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), Code::kInvalid);
    EXPECT_EQ(r.status().message().rfind("plugin does not implement ", 0), 0u);
  }
  EXPECT_EQ(g_calls_past_end.load(), 1);  // nothing beyond `size` was called
}

TEST_F(InstanceTest, HostServicesThroughTheTrampolines) {
  InMemoryHostContext host;
  host.SetSecret("api_token", "s3cr3t-value");
  host.SetNowMs(1700000000123);
  host.SetHttpHandler([](std::string_view request, std::string_view body, std::string* meta,
                         std::string* body_out, std::string*) {
    json req = json::parse(request);
    *meta = json{{"status", 201}, {"headers", {{"x-method", req["method"]}}}}.dump();
    *body_out = "got:" + std::string(body);
    return Code::kOk;
  });
  auto inst = OpenGood(&host);
  ASSERT_NE(inst, nullptr);

  auto http =
      inst->Read({{"probe", "http"}, {"request", {{"method", "POST"}, {"url", "/x"}}}, {"body", "hello"}});
  ASSERT_TRUE(http.ok()) << http.status().ToString();
  EXPECT_EQ((*http)["status"], MLC_OK);
  EXPECT_EQ(json::parse((*http)["meta"].get<std::string>())["status"], 201);
  EXPECT_EQ((*http)["body"], "got:hello");

  auto secret = inst->Read({{"probe", "secret"}, {"name", "api_token"}});
  EXPECT_EQ((*secret)["status"], MLC_OK);
  EXPECT_EQ((*secret)["length"], std::string("s3cr3t-value").size());
  auto no_secret = inst->Read({{"probe", "secret"}, {"name", "other"}});
  EXPECT_EQ((*no_secret)["status"], MLC_NOT_FOUND);

  auto put = inst->Read({{"probe", "state_put"}, {"key", "business_id"}, {"value", "77"}});
  EXPECT_EQ((*put)["status"], MLC_OK);
  EXPECT_EQ(host.State("business_id"), "77");
  auto get = inst->Read({{"probe", "state_get"}, {"key", "business_id"}});
  EXPECT_EQ((*get)["status"], MLC_OK);
  EXPECT_EQ((*get)["out"], "77");
  auto missing = inst->Read({{"probe", "state_get"}, {"key", "nope"}});
  EXPECT_EQ((*missing)["status"], MLC_NOT_FOUND);
  EXPECT_EQ((*missing)["err"], "no state for key 'nope'");

  auto blob = inst->Read({{"probe", "blob"}, {"content_type", "image/png"}, {"bytes", "PNGDATA"}});
  EXPECT_EQ((*blob)["status"], MLC_OK);
  EXPECT_EQ((*blob)["bytes"], "PNGDATA");
  EXPECT_EQ((*blob)["content_type"], "image/png");
  auto stored = host.Blob((*blob)["id"].get<std::string>());
  ASSERT_TRUE(stored.has_value());
  EXPECT_EQ(stored->first, "PNGDATA");

  auto log = inst->Read({{"probe", "log"}, {"message", "hello from the plugin"}});
  EXPECT_TRUE(log.ok());
  auto logs = host.Logs();
  ASSERT_EQ(logs.size(), 1u);
  EXPECT_EQ(logs[0], (std::pair<int32_t, std::string>{MLC_LOG_INFO, "hello from the plugin"}));

  auto now = inst->Read({{"probe", "now"}});
  EXPECT_EQ((*now)["now_ms"], 1700000000123);

  auto null_view = inst->Read({{"probe", "null_view"}});
  EXPECT_EQ((*null_view)["status"], MLC_INVALID);
}

TEST_F(InstanceTest, SecretPutThroughTheTrampolineIsReadableBackAndLimitedToDeclaredNames) {
  InMemoryHostContext host;
  host.SetWritableSecrets({"webhook_verifier"});
  auto inst = OpenGood(&host);
  ASSERT_NE(inst, nullptr);
  const std::string value = "whsec-in-memory-9c1d";
  auto ok = inst->Read({{"probe", "secret_put"}, {"name", "webhook_verifier"}, {"value", value}});
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_EQ((*ok)["available"], true);
  EXPECT_EQ((*ok)["status"], MLC_OK) << (*ok)["err"];
  EXPECT_EQ((*ok)["read_back_matches"], true);
  EXPECT_EQ(host.Secret("webhook_verifier"), value);

  auto undeclared = inst->Read({{"probe", "secret_put"}, {"name", "other"}, {"value", value}});
  ASSERT_TRUE(undeclared.ok());
  EXPECT_EQ((*undeclared)["status"], MLC_INVALID);
  EXPECT_NE((*undeclared)["err"].get<std::string>().find("'other': it is not declared"), std::string::npos);
  EXPECT_EQ((*undeclared)["err"].get<std::string>().find(value), std::string::npos);
  EXPECT_FALSE(host.Secret("other").has_value());
  auto empty = inst->Read({{"probe", "secret_put"}, {"name", "webhook_verifier"}, {"value", ""}});
  EXPECT_EQ((*empty)["status"], MLC_INVALID);
  EXPECT_EQ(host.Secret("webhook_verifier"), value);  // a refused write changes nothing
}

TEST_F(InstanceTest, HostContextsWithoutSecretPutRefuseIt) {
  InMemoryHostContext host;
  std::string err;
  // The base class's default, which every HostContext written for ABI 1.0 inherits.
  EXPECT_EQ(host.HostContext::SecretPut("webhook_verifier", "whsec-default-value", &err), Code::kInvalid);
  EXPECT_NE(err.find("does not support"), std::string::npos) << err;
  EXPECT_EQ(err.find("whsec-default-value"), std::string::npos);
}

// A plugin of the older minor 1.0 gets this host's (newer) table and works as before.
TEST_F(InstanceTest, OlderMinorPluginRunsAgainstThisHost) {
  InMemoryHostContext host;
  host.SetSecret("api_token", "s3cr3t-value");
  auto plugin = Load("abi_1_0.so", "fixture_abi_1_0");
  ASSERT_NE(plugin, nullptr);
  auto inst = PluginInstance::Open(plugin, &host, json::object());
  ASSERT_TRUE(inst.ok()) << inst.status().ToString();
  auto check = (*inst)->Check();
  ASSERT_TRUE(check.ok()) << check.status().ToString();
  EXPECT_EQ((*check)["account"]["plugin"], "fixture_abi_1_0");
  auto secret = (*inst)->Read({{"probe", "secret"}, {"name", "api_token"}});
  ASSERT_TRUE(secret.ok());
  EXPECT_EQ((*secret)["status"], MLC_OK);
}

// A C plugin built against the frozen 1.1 header runs against this host: it sees the host's (newer)
// version, finds the 1.1 service secret_put by MLC_TABLE_HAS, and its secret round-trips.
TEST_F(InstanceTest, Frozen11PluginRunsAgainstThisHost) {
  InMemoryHostContext host;
  auto plugin = Load("frozen_1_1.so", "fixture_frozen_1_1");
  ASSERT_NE(plugin, nullptr);
  auto inst = PluginInstance::Open(plugin, &host, json::object());
  ASSERT_TRUE(inst.ok()) << inst.status().ToString();
  auto check = (*inst)->Check();
  ASSERT_TRUE(check.ok()) << check.status().ToString();
  EXPECT_EQ((*check)["account"]["host_abi"], MLC_ABI_VERSION);
  auto page = (*inst)->Read({{"stream", "vendors"}});
  ASSERT_TRUE(page.ok()) << page.status().ToString();
  EXPECT_EQ((*page)["secret_put"], MLC_OK);
  EXPECT_EQ((*page)["read_back"], true);
  EXPECT_EQ(host.Secret("webhook_verifier"), "frozen-learned-value");
  EXPECT_EQ((*page)["records"], json::array());
  auto write = (*inst)->Write({{"object_type", "vendor"}, {"object", json::object()}});
  EXPECT_FALSE(write.ok());
}

// The trampoline against the real host context: values sealed in the vault, the config's rules enforced.
class VaultSecretPutTest : public InstanceTest {
 protected:
  void SetUp() override {
    auto store = store::Store::Open({.path = db_dir_.File("mlc.db")});
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    store_ = std::move(store).value();
    auto vault = vault::Vault::Open(*store_, vault::GenerateMasterKey());
    ASSERT_TRUE(vault.ok()) << vault.status().ToString();
    vault_ = std::make_unique<vault::Vault>(std::move(vault).value());
    runtime_ = std::make_unique<runtime::ConnectionRuntime>(*store_, vault_.get(),
                                                            runtime::ConnectionRuntime::Options{});
    plugin_ = Load("good.so", "fixture_good");
    ASSERT_NE(plugin_, nullptr);
    setenv("MLC_LOADER_TEST_ENV_SECRET", "env-sourced-value-77", 1);
    config::Connection conn;
    conn.name = "fx";
    conn.plugin = "fixture_good";
    config::SecretRef env;
    env.kind = config::SecretRef::Kind::kEnv;
    env.env_var = "MLC_LOADER_TEST_ENV_SECRET";
    conn.secrets["env_secret"] = env;
    // The fixture's manifest plus the secrets a FreshBooks-like plugin would declare.
    json manifest = plugin_->manifest;
    manifest["secrets"] = json::array({{{"name", "webhook_verifier"}}, {{"name", "env_secret"}}});
    ASSERT_TRUE(runtime_->AddConnection(conn, manifest).ok());
    auto ctx = runtime_->Context("fx");
    ASSERT_TRUE(ctx.ok()) << ctx.status().ToString();
    auto inst = PluginInstance::Open(plugin_, *ctx, json::object());
    ASSERT_TRUE(inst.ok()) << inst.status().ToString();
    inst_ = std::move(inst).value();
  }
  void TearDown() override {
    inst_.reset();
    unsetenv("MLC_LOADER_TEST_ENV_SECRET");
  }

  json Put(const std::string& name, const std::string& value) {
    auto r = inst_->Read({{"probe", "secret_put"}, {"name", name}, {"value", value}});
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : json();
  }

  TempDir db_dir_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<vault::Vault> vault_;
  std::unique_ptr<runtime::ConnectionRuntime> runtime_;
  std::shared_ptr<const LoadedPlugin> plugin_;
  std::unique_ptr<PluginInstance> inst_;
};

TEST_F(VaultSecretPutTest, DeclaredNameIsSealedAndReadableBackThroughSecretGet) {
  const std::string value = "whsec-vault-sealed-4e2b8a";
  json r = Put("webhook_verifier", value);
  EXPECT_EQ(r["status"], MLC_OK) << r["err"];
  EXPECT_EQ(r["read_back_matches"], true);
  auto stored = vault_->Get("fx", "webhook_verifier");
  ASSERT_TRUE(stored.ok()) << stored.status().ToString();
  EXPECT_EQ(*stored, value);
  // Neither the database file nor its write-ahead log holds the value in plaintext.
  for (const std::string suffix : {"", "-wal"}) {
    const std::string bytes = testing::ReadBytes(db_dir_.File("mlc.db") + suffix);
    EXPECT_EQ(bytes.find(value), std::string::npos) << "plaintext secret in mlc.db" << suffix;
  }
}

TEST_F(VaultSecretPutTest, UndeclaredAndEnvironmentSourcedNamesAreInvalid) {
  const std::string value = "whsec-must-not-be-stored-31";
  json undeclared = Put("not_in_manifest", value);
  EXPECT_EQ(undeclared["status"], MLC_INVALID);
  EXPECT_NE(
      undeclared["err"].get<std::string>().find("'not_in_manifest' for connection fx: it is not declared"),
      std::string::npos)
      << undeclared["err"];
  json env = Put("env_secret", value);
  EXPECT_EQ(env["status"], MLC_INVALID);
  EXPECT_NE(env["err"].get<std::string>().find("configured from the environment; cannot be written"),
            std::string::npos)
      << env["err"];
  for (const json& r : {undeclared, env})
    EXPECT_EQ(r["err"].get<std::string>().find(value), std::string::npos);
  EXPECT_EQ(vault_->Get("fx", "not_in_manifest").status().code(), Code::kNotFound);
  EXPECT_EQ(vault_->Get("fx", "env_secret").status().code(), Code::kNotFound);
}

TEST_F(InstanceTest, HttpWithoutHandlerIsAnError) {
  InMemoryHostContext host;
  auto inst = OpenGood(&host);
  ASSERT_NE(inst, nullptr);
  auto r = inst->Read({{"probe", "http"}, {"request", {{"method", "GET"}, {"url", "/"}}}});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ((*r)["status"], MLC_ERROR);
  EXPECT_EQ((*r)["err"], "no HTTP handler installed in this in-memory host");
}

// Every service throws; the exception text stands in for something the plugin must not see.
class ThrowingHost : public HostContext {
 public:
  Code Http(std::string_view, std::string_view, std::string*, std::string*, std::string*) override {
    throw std::runtime_error("boom-private-detail");
  }
  Code SecretGet(std::string_view, std::string*, std::string*) override { throw 42; }  // not a std::exception
  Code StateGet(std::string_view, std::string*, std::string*) override {
    throw std::runtime_error("boom-private-detail");
  }
  Code StatePut(std::string_view, std::string_view, std::string*) override { throw std::bad_alloc(); }
  Code BlobPut(std::string_view, std::string_view, std::string*, std::string*) override {
    throw std::logic_error("boom-private-detail");
  }
  Code BlobGet(std::string_view, std::string*, std::string*, std::string*) override {
    throw std::runtime_error("boom-private-detail");
  }
  void Log(int32_t, std::string_view) override { throw std::runtime_error("boom-private-detail"); }
  int64_t NowMs() override { throw std::runtime_error("boom-private-detail"); }
};

TEST_F(InstanceTest, HostExceptionsNeverCrossTheAbi) {
  ThrowingHost host;
  auto inst = OpenGood(&host);
  ASSERT_NE(inst, nullptr);
  const std::pair<json, std::string> probes[] = {
      {{{"probe", "http"}, {"request", json::object()}}, "http"},
      {{{"probe", "secret"}, {"name", "x"}}, "secret_get"},
      {{{"probe", "state_get"}, {"key", "x"}}, "state_get"},
      {{{"probe", "state_put"}, {"key", "x"}, {"value", "y"}}, "state_put"},
      {{{"probe", "blob"}, {"content_type", "a/b"}, {"bytes", "z"}}, "blob_put"},
  };
  for (const auto& [probe, service] : probes) {
    // The plugin's call returns normally (its reply says what the host service returned).
    auto r = inst->Read(probe);
    ASSERT_TRUE(r.ok()) << service << ": " << r.status().ToString();
    EXPECT_EQ((*r)["status"], MLC_ERROR) << service;
    EXPECT_EQ((*r)["err"], "host service " + service + " failed with an internal error");
    EXPECT_EQ((*r).dump().find("boom-private-detail"), std::string::npos);
  }
  EXPECT_TRUE(inst->Read({{"probe", "log"}, {"message", "m"}}).ok());
  auto now = inst->Read({{"probe", "now"}});
  ASSERT_TRUE(now.ok());
  EXPECT_GT((*now)["now_ms"].get<int64_t>(), 1600000000000);  // falls back to the system clock
  // The instance is still usable afterwards.
  EXPECT_TRUE(inst->Check().ok());
}

TEST(HostApiTableTest, DescribesItselfAndRejectsNullContext) {
  const mlc_host_api* api = HostApiTable();
  ASSERT_NE(api, nullptr);
  EXPECT_EQ(api->size, sizeof(mlc_host_api));
  EXPECT_EQ(api->abi_version, MLC_ABI_VERSION);
  std::string err;
  mlc_sink err_sink{&err,
                    [](void* ctx, const char* d, size_t n) { static_cast<std::string*>(ctx)->append(d, n); }};
  mlc_str key{"k", 1};
  EXPECT_EQ(api->state_get(nullptr, key, nullptr, &err_sink), MLC_INVALID);
  EXPECT_EQ(err, "host service state_get called without a host context");
  // NULL output sinks mean "not wanted": the call still succeeds.
  InMemoryHostContext host;
  host.SetState("k", "v");
  auto* ctx = reinterpret_cast<mlc_host_ctx*>(static_cast<HostContext*>(&host));
  EXPECT_EQ(api->state_get(ctx, key, nullptr, nullptr), MLC_OK);
  EXPECT_EQ(api->state_put(ctx, mlc_str{nullptr, 0}, mlc_str{nullptr, 0}, nullptr), MLC_OK);
  EXPECT_EQ(host.State(""), "");
  api->log(nullptr, MLC_LOG_INFO, key);  // ignored, no crash
  EXPECT_GT(api->now_ms(nullptr), 0);
  // ABI 1.1: secret_put is in the table and, like every service, refuses a NULL context.
  ASSERT_TRUE(MLC_TABLE_HAS(api, mlc_host_api, secret_put));
  ASSERT_NE(api->secret_put, nullptr);
  err.clear();
  EXPECT_EQ(api->secret_put(nullptr, key, key, &err_sink), MLC_INVALID);
  EXPECT_EQ(err, "host service secret_put called without a host context");
  EXPECT_EQ(api->secret_put(ctx, mlc_str{nullptr, 3}, key, nullptr), MLC_INVALID);
}

TEST_F(InstanceTest, ConcurrentCallersAreSerialised) {
  InMemoryHostContext host;
  auto inst = OpenGood(&host);
  ASSERT_NE(inst, nullptr);
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 25; ++i) {
        auto r = inst->Read({{"probe", "exclusive"}});
        if (!r.ok() || (*r)["status"] != MLC_OK) ++failures;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
}

TEST_F(InstanceTest, InstanceKeepsTheLibraryMapped) {
  InMemoryHostContext host;
  std::unique_ptr<PluginInstance> inst;
  {
    PluginRegistry registry;
    TempDir dir;
    dir.Add("good.so", "kept.so");
    ASSERT_TRUE(registry.LoadDirectories({dir.path()}).refused.empty());
    auto opened = PluginInstance::Open(registry.Find("fixture_good"), &host, json::object());
    ASSERT_TRUE(opened.ok());
    inst = std::move(opened).value();
  }  // registry gone
  auto r = inst->Check();
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ((*r)["ok"], true);
}

TEST_F(InstanceTest, ClangBuiltPluginAnswersCheck) {
#if MLC_LOADER_HAVE_CLANG_FIXTURE
  InMemoryHostContext host;
  auto plugin = Load("clang_plugin.so", "fixture_clang");
  ASSERT_NE(plugin, nullptr);
  auto inst = PluginInstance::Open(plugin, &host, json::object());
  ASSERT_TRUE(inst.ok()) << inst.status().ToString();
  auto r = (*inst)->Check();
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ((*r)["ok"], true);
  EXPECT_EQ((*r)["account"]["compiler"], "clang");
  auto read = (*inst)->Read(json::object());
  ASSERT_FALSE(read.ok());
  EXPECT_EQ(read.status().message(), "plugin does not implement read");
#else
  GTEST_SKIP() << "clang++ was not found at configure time";
#endif
}

}  // namespace
}  // namespace mlc::loader
