// End to end on loopback: freshbooks.so in the host's real connection runtime (vault, store, token manager
// with a rotating refresh token, auth_resolve) against the FreshBooks emulator. An expense with a binary
// receipt must arrive with the receipt's bytes unchanged, attached to the expense, exactly once. Issue 13:
// the strict emulator refuses what FreshBooks does not document, and the plugin must still land writes
// exactly once (staffid, vendor currency/language, refunds, marker lookup past 20,000 expenses) and read
// every record whatever order the lists come in.
#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

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
  void SetUp() override {}
  // Starts the emulator with `vendor` options and `records` seeded, and opens the connection with
  // `settings` added to the URLs.
  void StartWith(json vendor = json::object(), int records = 60, json settings = json::object()) {
    sandbox::EmulatorOptions eo;
    eo.seed = 7;
    eo.records = records;
    eo.vendor = vendor;
    auto server = sandbox::SandboxServer::Start(sandbox::freshbooks::MakeFreshBooksEmulator(eo), eo);
    ASSERT_TRUE(server.ok()) << server.status().ToString();
    server_ = std::move(*server);
    creds_ = server_->Announcement()["credentials"];

    std::string pattern = (std::filesystem::temp_directory_path() / "mlc-fb-e2e-XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    std::filesystem::create_directories(dir_ / "plugins");
    std::filesystem::create_symlink(MLC_FRESHBOOKS_PLUGIN, dir_ / "plugins" / "freshbooks.so");
    loader::LoadReport report = registry_->LoadDirectories({(dir_ / "plugins").string()});
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
    conn.settings.update(settings);
    for (const char* field : {"client_id", "client_secret", "refresh_token"}) {
      ASSERT_TRUE(vault_->Put("fb", field, creds_[field].get<std::string>()).ok());
      config::SecretRef ref;
      ref.kind = config::SecretRef::Kind::kVault;
      ref.connection = "fb";
      ref.field = field;
      conn.secrets[field] = ref;
    }
    ASSERT_TRUE(runtime_->AddConnection(conn, registry_->Find("freshbooks")).ok());
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
    server_.reset();
    registry_ = std::make_unique<loader::PluginRegistry>();
    std::error_code ec;
    if (!dir_.empty()) std::filesystem::remove_all(dir_, ec);
    dir_.clear();
  }

  int64_t CategoryId(const std::string& name) {
    for (const json& c : Objects("categories")) {
      if (c["category"] == name && c["vis_state"] == 0) return c["id"].get<int64_t>();
    }
    ADD_FAILURE() << "no category " << name;
    return 0;
  }
  // A call to the emulator's API with the announced access token.
  sandbox::HttpResponse Api(const std::string& method, const std::string& path, const json& body = nullptr) {
    sandbox::HeaderList headers = {{"Authorization", "Bearer " + creds_["access_token"].get<std::string>()}};
    if (!body.is_null()) headers.emplace_back("Content-Type", "application/json");
    auto r = client_.Send(
        method,
        server_->base_url() + "/accounting/account/" + creds_["account_id"].get<std::string>() + "/" + path,
        headers, body.is_null() ? "" : body.dump());
    EXPECT_TRUE(r.ok());
    return r.ok() ? *r : sandbox::HttpResponse{};
  }
  static json ExpenseRequest(const std::string& key, int64_t minor, const std::string& day,
                             int64_t category) {
    json refs = json::object();
    if (category != 0) refs["category"] = {{"id", std::to_string(category)}};
    return {{"object_type", "expense"},
            {"idempotency_key", key},
            {"refs", refs},
            {"object",
             {{"type", "expense"},
              {"source",
               {{"system", "brex"},
                {"connection", "b"},
                {"id", key},
                {"version", "1"},
                {"updated_at", day + "T00:00:00Z"}}},
              {"links", json::object()},
              {"kind", "card"},
              {"amount", {{"amount_minor", minor}, {"currency", "USD"}}},
              {"merchant", "FIGMA"},
              {"memo", "Seats"},
              {"spent_at", day},
              {"status", "posted"}}}};
  }
  // Reads `stream` until has_more is false.
  std::pair<std::vector<json>, json> Poll(const std::string& stream, json cursor, int64_t limit = 100) {
    std::vector<json> records;
    for (int call = 0; call < 1000; ++call) {
      auto r = inst_->Read({{"stream", stream}, {"limit", limit}, {"cursor", cursor}});
      EXPECT_TRUE(r.ok()) << r.status().ToString();
      if (!r.ok()) break;
      for (const auto& rec : (*r)["records"]) records.push_back(rec);
      cursor = (*r)["next_cursor"];
      if ((*r)["has_more"] != true) break;
    }
    return {records, cursor};
  }

  json Objects(const std::string& type) {
    auto r = client_.Send("GET", server_->base_url() + "/_sandbox/objects/" + type, {}, "");
    EXPECT_TRUE(r.ok());
    return r.ok() ? r->Json().value_or(json()) : json();
  }

  std::unique_ptr<sandbox::SandboxServer> server_;
  json creds_;
  std::filesystem::path dir_;
  std::unique_ptr<loader::PluginRegistry> registry_ = std::make_unique<loader::PluginRegistry>();
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<vault::Vault> vault_;
  std::unique_ptr<runtime::ConnectionRuntime> runtime_;
  std::unique_ptr<loader::PluginInstance> inst_;
  sandbox::HttpClient client_;
};

TEST_F(FreshBooksReceiptsE2e, ReceiptArrivesByteIdenticalAndOnce) {
  StartWith();
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

// Issue 13 item 8: the emulator refuses search[notes_like] (not a documented expense filter); the marker is
// found among the expenses of the written day and amount, past 5,000 expenses, including when more than a
// page of them share that day and amount.
TEST_F(FreshBooksReceiptsE2e, MarkerIsFoundAmong20000Expenses) {
  StartWith(json::object(), 20000);
  ASSERT_GE(Objects("expenses").size(), 20000u);
  const int64_t software = CategoryId("Software");
  // 150 other expenses on the same day for the same amount, with notes that merely contain the marker.
  for (int i = 0; i < 150; ++i) {
    auto r = Api("POST", "expenses/expenses",
                 {{"expense",
                   {{"amount", {{"amount", "42.00"}, {"code", "USD"}}},
                    {"categoryid", software},
                    {"staffid", 1},
                    {"date", "2025-02-03"},
                    {"vendor", "FIGMA"},
                    {"notes", "copy of\nmlc:e2e-marker-1 (not the last line)\nx"}}}});
    ASSERT_EQ(r.status, 200) << r.body;
  }
  const json request = ExpenseRequest("e2e-marker-1", 4200, "2025-02-03", software);
  auto first = inst_->Write(request);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  auto again = inst_->Write(request);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ((*first)["target_id"], (*again)["target_id"]);
  auto found = inst_->Lookup(
      {{"object_type", "expense"}, {"idempotency_key", "e2e-marker-1"}, {"object", request["object"]}});
  ASSERT_TRUE(found.ok()) << found.status().ToString();
  EXPECT_EQ((*found)["target_id"], (*first)["target_id"]);
  auto missing = inst_->Lookup(
      {{"object_type", "expense"}, {"idempotency_key", "e2e-marker-2"}, {"object", request["object"]}});
  EXPECT_EQ(missing.status().code(), Code::kNotFound);

  // A landed write that was deleted since still counts as landed.
  ASSERT_EQ(Api("PUT", "expenses/expenses/" + (*first)["target_id"].get<std::string>(),
                {{"expense", {{"vis_state", 1}}}})
                .status,
            200);
  auto deleted = inst_->Write(request);
  ASSERT_TRUE(deleted.ok()) << deleted.status().ToString();
  EXPECT_EQ((*deleted)["target_id"], (*first)["target_id"]);
  int marked = 0;
  for (const json& e : Objects("expenses")) {
    const std::string notes = e["notes"].is_string() ? e["notes"].get<std::string>() : "";
    marked += notes.size() >= 16 && notes.substr(notes.size() - 16) == "mlc:e2e-marker-1" ? 1 : 0;
  }
  EXPECT_EQ(marked, 1);
}

// Issue 13 item 4: the emulator refuses an expense without staffid; the plugin sends the authorising
// user's (users/me roles[].userid, found by auth_resolve).
TEST_F(FreshBooksReceiptsE2e, ExpenseIsWrittenWithTheAuthorisingUsersStaffId) {
  StartWith();
  auto r = inst_->Write(ExpenseRequest("e2e-staff-1", 1999, "2025-03-04", CategoryId("Software")));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  int matches = 0;
  for (const json& e : Objects("expenses")) {
    if (std::to_string(e["id"].get<int64_t>()) != (*r)["target_id"].get<std::string>()) continue;
    ++matches;
    EXPECT_EQ(e["staffid"], 1);
  }
  EXPECT_EQ(matches, 1);
}

// Issue 13 item 14: the emulator refuses a bill vendor without currency_code and language.
TEST_F(FreshBooksReceiptsE2e, VendorIsCreatedWithCurrencyAndLanguage) {
  StartWith(json::object(), 60, {{"vendor_currency", "CAD"}, {"vendor_language", "fr"}});
  auto r = inst_->Write({{"object_type", "vendor"},
                         {"idempotency_key", "v-e2e-1"},
                         {"object", {{"type", "vendor"}, {"name", "Tim Hortons Wholesale"}}}});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  int matches = 0;
  for (const json& v : Objects("bill_vendors")) {
    if (v["vendor_name"] != "Tim Hortons Wholesale") continue;
    ++matches;
    EXPECT_EQ(v["currency_code"], "CAD");
    EXPECT_EQ(v["language"], "fr");
  }
  EXPECT_EQ(matches, 1);
}

// Issue 13 item 15: FreshBooks refuses negative expenses (errno 1025); a refund lands as the positive
// amount in the configured refund category, marked in the notes, and without that setting is refused
// before anything is sent.
TEST_F(FreshBooksReceiptsE2e, RefundWithoutARefundCategoryIsRefusedAndSendsNothing) {
  StartWith();
  const size_t before = Objects("expenses").size();
  auto refused = inst_->Write(ExpenseRequest("e2e-refund-0", -2500, "2025-03-05", CategoryId("Software")));
  EXPECT_EQ(refused.status().code(), Code::kInvalid);
  EXPECT_EQ(Objects("expenses").size(), before);
}

TEST_F(FreshBooksReceiptsE2e, RefundLandsPositiveInTheRefundCategory) {
  // The seeded chart is the same for every seed: the category id is known before the connection opens.
  StartWith();
  const int64_t refunds = CategoryId("Office Supplies");
  TearDown();
  StartWith(json::object(), 60, {{"refund_category_id", std::to_string(refunds)}});
  ASSERT_EQ(CategoryId("Office Supplies"), refunds);
  auto r = inst_->Write(ExpenseRequest("e2e-refund-1", -2500, "2025-03-05", CategoryId("Software")));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  auto again = inst_->Write(ExpenseRequest("e2e-refund-1", -2500, "2025-03-05", CategoryId("Software")));
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ((*again)["target_id"], (*r)["target_id"]);
  int matches = 0;
  for (const json& e : Objects("expenses")) {
    if (std::to_string(e["id"].get<int64_t>()) != (*r)["target_id"].get<std::string>()) continue;
    ++matches;
    EXPECT_EQ(e["amount"], json({{"amount", "25.00"}, {"code", "USD"}}));
    EXPECT_EQ(e["categoryid"], refunds);
    EXPECT_NE(e["notes"].get<std::string>().find("refund: true\n"), std::string::npos);
  }
  EXPECT_EQ(matches, 1);
}

// Issue 13 items 6 and 7: lists come in a shuffled order (FreshBooks documents none, and this mode ignores
// sort=); categories refuse sort and update filters; only search[vis_state]=N is served. Every bill,
// deleted ones included, is read exactly once, and a later change is read once more.
TEST_F(FreshBooksReceiptsE2e, ReadsEveryRecordOnceWhateverTheOrder) {
  StartWith({{"list_order", "shuffled"}}, 300);
  const json bills = Objects("bills");
  ASSERT_GT(bills.size(), 100u);
  auto [first, cursor] = Poll("bills", nullptr, 40);
  std::map<std::string, int> seen;
  for (const auto& r : first) ++seen[r["source"]["id"].get<std::string>()];
  EXPECT_EQ(seen.size(), bills.size());
  for (const auto& [id, n] : seen) EXPECT_EQ(n, 1) << "bill " << id;

  auto [quiet, cursor2] = Poll("bills", cursor, 40);
  EXPECT_TRUE(quiet.empty()) << quiet.size() << " delivered again";
  // An old bill changes (a payment touches it; FreshBooks' order puts it anywhere).
  const json& old = bills[bills.size() / 2];
  ASSERT_EQ(Api("PUT", "bills/bills/" + old["id"].dump(), {{"bill", {{"vis_state", 2}}}}).status, 200);
  auto [changed, cursor3] = Poll("bills", cursor2, 40);
  ASSERT_EQ(changed.size(), 1u);
  EXPECT_EQ(changed[0]["source"]["id"], old["id"].dump());

  auto [cats, cat_cursor] = Poll("expense_categories", nullptr);
  EXPECT_EQ(cats.size(), Objects("categories").size());
  auto [vendors, vendor_cursor] = Poll("vendors", nullptr, 7);
  EXPECT_EQ(vendors.size(), Objects("bill_vendors").size());
  auto [payments, payment_cursor] = Poll("payments", nullptr, 9);
  EXPECT_EQ(payments.size(), Objects("bill_payments").size());
}

}  // namespace
}  // namespace mlc::plugins::freshbooks
