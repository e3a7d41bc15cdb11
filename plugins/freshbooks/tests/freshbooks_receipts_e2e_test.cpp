// End to end on loopback: freshbooks.so in the host's real connection runtime (vault, store, token manager
// with a rotating refresh token, auth_resolve) against the FreshBooks emulator. An expense with a binary
// receipt must arrive with the receipt's bytes unchanged, attached to the expense, exactly once.
#include <gtest/gtest.h>

#include <filesystem>
#include <memory>
#include <string>

#include "config/config.hpp"
#include "freshbooks_emulator.hpp"
#include "loader/instance.hpp"
#include "loader/loader.hpp"
#include "mlc/crypto.hpp"
#include "mlc/sandbox/http_client.hpp"
#include "mlc/sandbox/server.hpp"
#include "runtime/connection_context.hpp"
#include "store/kv.hpp"
#include "store/store.hpp"
#include "vault/vault.hpp"

namespace mlc::plugins::freshbooks {
namespace {

using nlohmann::json;

class FreshBooksReceiptsE2e : public ::testing::Test {
 protected:
  void SetUp() override {
    sandbox::EmulatorOptions eo;
    eo.seed = 7;
    auto server = sandbox::SandboxServer::Start(sandbox::freshbooks::MakeFreshBooksEmulator(eo), eo);
    ASSERT_TRUE(server.ok()) << server.status().ToString();
    server_ = std::move(*server);
    creds_ = server_->Announcement()["credentials"];

    std::string pattern = (std::filesystem::temp_directory_path() / "mlc-fb-e2e-XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    std::filesystem::create_directories(dir_ / "plugins");
    std::filesystem::create_symlink(MLC_FRESHBOOKS_PLUGIN, dir_ / "plugins" / "freshbooks.so");
    loader::LoadReport report = registry_.LoadDirectories({(dir_ / "plugins").string()});
    ASSERT_TRUE(report.status.ok() && !report.loaded.empty()) << report.status.ToString();

    store::OpenOptions so;
    so.path = (dir_ / "e2e.db").string();
    auto store = store::Store::Open(so);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    store_ = std::move(*store);
    auto vault = vault::Vault::Open(*store_, vault::GenerateMasterKey());
    ASSERT_TRUE(vault.ok()) << vault.status().ToString();
    vault_ = std::make_unique<vault::Vault>(std::move(*vault));
    runtime_ = std::make_unique<runtime::ConnectionRuntime>(*store_, vault_.get(),
                                                            runtime::ConnectionRuntime::Options{});

    config::Connection conn;
    conn.name = "fb";
    conn.plugin = "freshbooks";
    conn.settings = {{"base_url", server_->base_url()}, {"auth_url", server_->base_url()}};
    for (const char* field : {"client_id", "client_secret", "refresh_token"}) {
      ASSERT_TRUE(vault_->Put("fb", field, creds_[field].get<std::string>()).ok());
      config::SecretRef ref;
      ref.kind = config::SecretRef::Kind::kVault;
      ref.connection = "fb";
      ref.field = field;
      conn.secrets[field] = ref;
    }
    ASSERT_TRUE(runtime_->AddConnection(conn, registry_.Find("freshbooks")).ok());
    auto inst = runtime_->OpenInstance("fb");
    ASSERT_TRUE(inst.ok()) << inst.status().ToString();
    inst_ = std::move(*inst);
  }

  void TearDown() override {
    inst_.reset();
    runtime_.reset();
    vault_.reset();
    store_.reset();
    if (server_) server_->Stop();
    std::error_code ec;
    if (!dir_.empty()) std::filesystem::remove_all(dir_, ec);
  }

  json Objects(const std::string& type) {
    auto r = client_.Send("GET", server_->base_url() + "/_sandbox/objects/" + type, {}, "");
    EXPECT_TRUE(r.ok());
    return r.ok() ? r->Json().value_or(json()) : json();
  }

  std::unique_ptr<sandbox::SandboxServer> server_;
  json creds_;
  std::filesystem::path dir_;
  loader::PluginRegistry registry_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<vault::Vault> vault_;
  std::unique_ptr<runtime::ConnectionRuntime> runtime_;
  std::unique_ptr<loader::PluginInstance> inst_;
  sandbox::HttpClient client_;
};

TEST_F(FreshBooksReceiptsE2e, ReceiptArrivesByteIdenticalAndOnce) {
  // Every byte value, NULs and CR/LF included, behind a PNG signature.
  std::string bytes("\x89PNG\r\n\x1a\n", 8);
  for (int round = 0; round < 3; ++round) {
    for (int b = 0; b < 256; ++b) bytes.push_back(static_cast<char>(b));
  }
  auto blob = store::BlobPut(*store_, "image/png", bytes, 0);
  ASSERT_TRUE(blob.ok()) << blob.status().ToString();

  int64_t software = 0;
  for (const json& c : Objects("categories")) {
    if (c["category"] == "Software" && c["vis_state"] == 0) software = c["id"].get<int64_t>();
  }
  ASSERT_NE(software, 0);
  const json request = {
      {"object_type", "expense"},
      {"idempotency_key", "e2e-receipt-1"},
      {"refs", {{"category", {{"id", std::to_string(software)}}}}},
      {"object",
       {{"type", "expense"},
        {"source",
         {{"system", "brex"},
          {"connection", "b"},
          {"id", "x1"},
          {"version", "1"},
          {"updated_at", "2025-03-01T00:00:00Z"}}},
        {"links", json::object()},
        {"kind", "card"},
        {"amount", {{"amount_minor", 12345}, {"currency", "USD"}}},
        {"merchant", "FIGMA"},
        {"spent_at", "2025-03-01"},
        {"receipts", json::array({{{"id", "r1"}, {"file_name", "figma.png"}, {"blob_id", *blob}}})},
        {"status", "posted"}}}};
  auto first = inst_->Write(request);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  auto again = inst_->Write(request);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ((*first)["target_id"], (*again)["target_id"]);

  const json attachments = Objects("attachments");
  ASSERT_EQ(attachments.size(), 1u);  // the repeat found the marker before uploading anything
  auto stored = crypto::Base64Decode(attachments[0]["content_base64"].get<std::string>());
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ(*stored, bytes);
  EXPECT_EQ(attachments[0]["media_type"], "image/png");

  int matches = 0;
  for (const json& e : Objects("expenses")) {
    if (std::to_string(e["id"].get<int64_t>()) != (*first)["target_id"].get<std::string>()) continue;
    ++matches;
    EXPECT_EQ(e["amount"], json({{"amount", "123.45"}, {"code", "USD"}}));
    EXPECT_EQ(e["has_receipt"], true);
    EXPECT_EQ(e["attachment"]["jwt"], attachments[0]["jwt"]);
    EXPECT_EQ(e["notes"], "mlc:e2e-receipt-1");
  }
  EXPECT_EQ(matches, 1);
}

}  // namespace
}  // namespace mlc::plugins::freshbooks
