// The built brex.so / brex_oauth.so loaded through the host's loader and driven with an in-memory host whose
// http service plays Brex: manifests, reads (amounts, cursors, receipts as blobs), acks, webhooks, errors.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "brex_translate.hpp"
#include "loader/instance.hpp"
#include "loader/loader.hpp"
#include "mlc/json.hpp"
#include "mlc/plugin.h"

namespace mlc::plugins::brex {
namespace {

using nlohmann::json;

// A temporary directory holding symlinks to the two built plugins (the registry loads whole directories).
class PluginDir {
 public:
  PluginDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "mlc-brex-test-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) != nullptr) dir_ = tmpl;
    std::filesystem::create_symlink(MLC_BREX_PLUGIN_PATH, dir_ / "brex.so");
    std::filesystem::create_symlink(MLC_BREX_OAUTH_PLUGIN_PATH, dir_ / "brex_oauth.so");
  }
  ~PluginDir() {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  std::string path() const { return dir_.string(); }

 private:
  std::filesystem::path dir_;
};

// One faked Brex response.
struct Reply {
  int status = 200;
  std::string body;
  std::string blob;  // set: answer as a stored blob (response_blob)
};

class FakeBrex {
 public:
  // Routes are matched on "METHOD path" (the URL without its query).
  std::map<std::string, std::vector<Reply>> routes;  // replies are used in order; the last one repeats
  std::vector<json> requests;                        // every request document received
  std::vector<std::string> bodies;

  void Install(loader::InMemoryHostContext& host) {
    host.SetHttpHandler([this](std::string_view request_json, std::string_view body, std::string* meta,
                               std::string* body_out, std::string* /*err*/) {
      json req = json::parse(request_json);
      requests.push_back(req);
      bodies.emplace_back(body);
      std::string url = req["url"];
      url = url.substr(0, url.find('?'));
      const std::string key = req["method"].get<std::string>() + " " + url;
      auto it = routes.find(key);
      if (it == routes.end() || it->second.empty()) {
        *meta = json{{"status", 404}, {"headers", json::object()}}.dump();
        *body_out = R"({"type":"NOT_FOUND","message":"Not Found"})";
        return Code::kOk;
      }
      Reply r = it->second.front();
      if (it->second.size() > 1) it->second.erase(it->second.begin());
      json m = {{"status", r.status}, {"headers", json::object()}};
      if (!r.blob.empty()) {
        m["blob"] = r.blob;
      } else {
        *body_out = r.body;
      }
      *meta = m.dump();
      return Code::kOk;
    });
  }

  std::vector<json> RequestsTo(const std::string& url_prefix) const {
    std::vector<json> out;
    for (const auto& r : requests) {
      if (r["url"].get<std::string>().rfind(url_prefix, 0) == 0) out.push_back(r);
    }
    return out;
  }
};

const char kRecordPage[] = R"({"items": [
  {"id": "accr_1", "amount": {"amount": 74.99, "currency": "USD"}, "type": "CARD_EXPENSE_POST",
   "review_status": "READY_FOR_EXPORT", "source_id": "expense_1", "source_type": "CARD",
   "erp_posting_date": "2026-10-02T10:00:00.000000Z", "updated_at": "2026-10-03T10:00:00.123456Z", "version": 2,
   "posted_at": "2026-10-02T10:00:00.000000Z", "memo": "Team lunch",
   "receipts": [{"id": "receipt_1", "download_uris": ["https://s3.example/receipts/receipt_1/lunch.pdf?Signature=x"]}],
   "user": {"id": "cuuser_1", "first_name": "Ada", "last_name": "Lovelace", "email": "ada@example.com",
            "role": "EMPLOYEE", "status": "ACTIVE"},
   "line_items": [{"id": "accrli_1", "type": "DEBIT", "amount": {"amount": 74.99, "currency": "USD"},
                   "accounting_field_values": [{"brex_field_id": "ef_gl", "remote_field_id": "GL_ACCOUNT",
                     "brex_field_value_id": "efo_1", "remote_field_value_id": "6310"}]},
                  {"id": "accrli_2", "type": "CREDIT", "amount": {"amount": 74.99, "currency": "USD"},
                   "accounting_field_values": []}]},
  {"id": "accr_2", "amount": {"amount": 5000, "currency": "USD"}, "type": "CARD_PAYMENT",
   "review_status": "READY_FOR_EXPORT", "source_type": "CARD", "erp_posting_date": "2026-10-04T00:00:00Z",
   "updated_at": "2026-10-04T00:00:00.000001Z", "version": 1, "posted_at": "2026-10-04T00:00:00Z",
   "line_items": []}],
 "next_cursor": null, "has_next_page": false, "total_count": 2})";

const char kExpense[] = R"({"id": "expense_1", "purchased_at": "2026-10-01T12:30:00Z",
  "merchant": {"raw_descriptor": "SWEETGREEN NYC", "mcc": "5812", "country": "USA"},
  "payment": {"id": "payment_1", "payment_instrument": {"type": "CARD", "id": "card_1"}}})";

class BrexPluginTest : public ::testing::Test {
 protected:
  void SetUp() override {
    report_ = registry_.LoadDirectories({dir_.path()});
    ASSERT_TRUE(report_.status.ok()) << report_.status.message();
    ASSERT_TRUE(report_.refused.empty()) << report_.refused[0].path << ": " << report_.refused[0].reason;
    brex_.Install(host_);
    host_.SetSecret("webhook_secret", "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD");
    host_.SetNowMs(1792000000000);  // 2026-10-16
  }

  std::unique_ptr<loader::PluginInstance> Open(json settings = {{"base_url", "https://brex.test"}}) {
    auto inst = loader::PluginInstance::Open(registry_.Find("brex"), &host_, settings);
    EXPECT_TRUE(inst.ok()) << inst.status().message();
    return inst.ok() ? std::move(*inst) : nullptr;
  }

  PluginDir dir_;
  loader::PluginRegistry registry_;
  loader::LoadReport report_;
  loader::InMemoryHostContext host_;
  FakeBrex brex_;
};

TEST_F(BrexPluginTest, ManifestsAreSchemaValidAndDeclareTheContract) {
  ASSERT_EQ(report_.loaded.size(), 2u);
  auto brex = registry_.Find("brex");
  ASSERT_NE(brex, nullptr);
  const json& m = brex->manifest;
  EXPECT_EQ(m["roles"], json::array({"source"}));
  EXPECT_EQ(m["auth"]["kind"], "static_bearer");
  EXPECT_EQ(m["auth"]["secret_fields"], json::array({"token"}));
  EXPECT_EQ(m["auth"]["idle_expiry_days"], 90);
  EXPECT_EQ(m["auth"]["keepalive"]["path"], "/v2/users/me");
  EXPECT_EQ(m["webhook"]["scheme"], "standard_webhooks");
  EXPECT_EQ(m["rate_limits"][0], (json{{"requests", 1000}, {"per_seconds", 60}}));
  EXPECT_EQ(m["streams"][0]["name"], "expenses");
  EXPECT_EQ(m["streams"][1]["name"], "vendors");
  auto oauth = registry_.Find("brex_oauth");
  ASSERT_NE(oauth, nullptr);
  EXPECT_EQ(oauth->manifest["auth"]["kind"], "oauth2_authorization_code");
  EXPECT_EQ(oauth->manifest["auth"]["token_url"], "{auth_url}/v1/token");
  EXPECT_EQ(oauth->manifest["settings_schema"]["required"], json::array({"auth_url"}));
  EXPECT_EQ(oauth->manifest["streams"], m["streams"]);
}

TEST_F(BrexPluginTest, OpenKeepsTheEnvironmentBaseUrlInStateAndRefusesBadSettings) {
  auto inst = Open({{"environment", "staging"}});
  ASSERT_NE(inst, nullptr);
  EXPECT_EQ(host_.State("base_url"), "https://api-staging.brex.com");
  auto bad = loader::PluginInstance::Open(registry_.Find("brex"), &host_, {{"page_size", 5000}});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), Code::kInvalid);
  EXPECT_NE(bad.status().message().find("page_size"), std::string::npos);
  auto unknown = loader::PluginInstance::Open(registry_.Find("brex"), &host_, {{"tenant", "x"}});
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.status().code(), Code::kInvalid);
}

TEST_F(BrexPluginTest, CheckNeedsTheAccountingApiAndShowsTheCompany) {
  auto inst = Open();
  ASSERT_NE(inst, nullptr);
  brex_.routes["GET /v3/accounting/records"] = {
      {200, R"({"items": [], "next_cursor": null, "has_next_page": false})", ""}};
  brex_.routes["GET /v2/company"] = {
      {200, R"({"id": "cuacc_1", "legal_name": "Brightline Creative LLC"})", ""}};
  brex_.routes["GET /v2/users/me"] = {{200, R"({"id": "cuuser_1", "email": "ada@example.com"})", ""}};
  auto ok = inst->Check();
  ASSERT_TRUE(ok.ok()) << ok.status().message();
  EXPECT_EQ((*ok)["account"], (json{{"name", "Brightline Creative LLC"}, {"company_id", "cuacc_1"}}));
  brex_.routes["GET /v3/accounting/records"] = {{401, R"({"error_code":"UNAUTHORIZED","message":"no"})", ""}};
  EXPECT_EQ(inst->Check().status().code(), Code::kAuth);
  brex_.routes["GET /v3/accounting/records"] = {
      {403, R"({"error_code":"FORBIDDEN","message":"Expired token"})", ""}};
  EXPECT_EQ(inst->Check().status().code(), Code::kAuth);
}

// Issue 13.2: `mlc connect brex` (check) fails on a 403 and names the scope the token lacks:
// companies.readonly for GET /v2/company, users.readonly for the keep-alive GET /v2/users/me (before:
// "Connected" after a 403).
TEST_F(BrexPluginTest, CheckFailsOnAMissingScopeAndNamesIt) {
  auto inst = Open();
  ASSERT_NE(inst, nullptr);
  brex_.routes["GET /v3/accounting/records"] = {
      {200, R"({"items": [], "next_cursor": null, "has_next_page": false})", ""}};
  brex_.routes["GET /v2/company"] = {{403, R"({"type":"FORBIDDEN","message":"Forbidden"})", ""}};
  brex_.routes["GET /v2/users/me"] = {{200, R"({"id": "cuuser_1"})", ""}};
  auto company = inst->Check();
  ASSERT_FALSE(company.ok());
  EXPECT_EQ(company.status().code(), Code::kAuth);
  EXPECT_NE(company.status().message().find("companies.readonly"), std::string::npos)
      << company.status().message();
  brex_.routes["GET /v2/company"] = {{200, R"({"id": "cuacc_1", "legal_name": "Brightline"})", ""}};
  brex_.routes["GET /v2/users/me"] = {{403, R"({"type":"FORBIDDEN","message":"Forbidden"})", ""}};
  auto me = inst->Check();
  ASSERT_FALSE(me.ok());
  EXPECT_EQ(me.status().code(), Code::kAuth);
  EXPECT_NE(me.status().message().find("users.readonly"), std::string::npos) << me.status().message();
  brex_.routes["GET /v3/accounting/records"] = {
      {403, R"({"error_code":"FORBIDDEN","message":"You do not have permission to perform this action."})",
       ""}};
  auto records = inst->Check();
  ASSERT_FALSE(records.ok());
  EXPECT_NE(records.status().message().find("accounting.record.read"), std::string::npos);
}

// Issue 13.2: the operator guide's scope lists for brex.so and brex_oauth.so are the manifests' scopes.
TEST_F(BrexPluginTest, OperatorGuideScopesMatchTheManifests) {
  std::ifstream in(std::string(MLC_BREX_DOCS_DIR) + "/operator-guide.md");
  ASSERT_TRUE(in.good());
  std::stringstream buf;
  buf << in.rdbuf();
  const std::string guide = buf.str();
  // The backticked words of the paragraph that starts at `marker`, up to the next blank line.
  auto scopes_after = [&](const std::string& marker) {
    std::set<std::string> out;
    const size_t start = guide.find(marker);
    EXPECT_NE(start, std::string::npos) << marker;
    if (start == std::string::npos) return out;
    // A paragraph, or one item of a numbered list.
    const size_t end = std::min(guide.find("\n\n", start), guide.find("\n2. ", start));
    const std::string para = guide.substr(start, end - start);
    for (size_t open = para.find('`'); open != std::string::npos; open = para.find('`', open + 1)) {
      const size_t close = para.find('`', open + 1);
      if (close == std::string::npos) break;
      const std::string word = para.substr(open + 1, close - open - 1);
      if (!word.empty() && word.find_first_not_of("abcdefghijklmnopqrstuvwxyz._") == std::string::npos &&
          word.size() > 3 && word.substr(word.size() - 3) != ".so" &&
          (word.find('.') != std::string::npos || word == "openid" || word == "offline_access")) {
        out.insert(word);
      }
      open = close;
    }
    return out;
  };
  auto manifest_scopes = [&](const char* plugin) {
    std::set<std::string> out;
    for (const json& s : registry_.Find(plugin)->manifest["auth"]["scopes"]) out.insert(s.get<std::string>());
    return out;
  };
  EXPECT_EQ(scopes_after("1. **Brex token.**"), manifest_scopes("brex"));
  EXPECT_EQ(scopes_after("**Brex partner OAuth (`brex_oauth`).**"), manifest_scopes("brex_oauth"));
}

TEST_F(BrexPluginTest, ReadsReadyRecordsAsExpensesWithMerchantCardAndReceiptBlobs) {
  brex_.routes["GET /v3/accounting/records"] = {
      {200, kRecordPage, ""}, {200, R"({"items": [], "next_cursor": null, "has_next_page": false})", ""}};
  brex_.routes["GET /v1/expenses/expense_1"] = {{200, kExpense, ""}};
  brex_.routes["GET /v2/cards/card_1"] = {{200, R"({"id": "card_1", "last_four": "4321"})", ""}};
  brex_.routes["GET https://s3.example/receipts/receipt_1/lunch.pdf"] = {{200, "", "blob-abc"}};
  auto inst = Open();
  ASSERT_NE(inst, nullptr);
  auto page = inst->Read({{"stream", "expenses"}});
  ASSERT_TRUE(page.ok()) << page.status().message();
  ASSERT_EQ((*page)["records"].size(), 1u);  // the card payment is not an expense
  const json& e = (*page)["records"][0];
  EXPECT_EQ(e["amount"], (json{{"amount_minor", 7499}, {"currency", "USD"}}));
  EXPECT_EQ(e["merchant"], "SWEETGREEN NYC");
  EXPECT_EQ(e["card_last4"], "4321");
  EXPECT_EQ(e["spent_at"], "2026-10-01");
  EXPECT_EQ(e["account"]["code"], "6310");
  EXPECT_EQ(e["receipts"],
            json::array({{{"id", "receipt_1"}, {"file_name", "lunch.pdf"}, {"blob_id", "blob-abc"}}}));
  EXPECT_EQ((*page)["has_more"], false);

  // The receipt went out without credentials, as a blob; the records query asked for the export queue.
  auto downloads = brex_.RequestsTo("https://s3.example/");
  ASSERT_EQ(downloads.size(), 1u);
  EXPECT_EQ(downloads[0]["auth"], false);
  EXPECT_EQ(downloads[0]["response_blob"], true);
  auto queries = brex_.RequestsTo("/v3/accounting/records");
  ASSERT_EQ(queries.size(), 1u);
  EXPECT_EQ(queries[0]["query"]["review_status"], "READY_FOR_EXPORT");
  EXPECT_FALSE(queries[0]["query"].contains("updated_at[gt]"));

  // The next poll resumes after the newest change seen (the skipped record included) and re-downloads
  // nothing.
  auto quiet = inst->Read({{"stream", "expenses"}, {"cursor", (*page)["next_cursor"]}});
  ASSERT_TRUE(quiet.ok()) << quiet.status().message();
  EXPECT_TRUE((*quiet)["records"].empty());
  queries = brex_.RequestsTo("/v3/accounting/records");
  ASSERT_EQ(queries.size(), 2u);
  EXPECT_EQ(queries[1]["query"]["updated_at[gt]"], "2026-10-04T00:00:00.000001Z");
  EXPECT_EQ(host_.State("receipt/receipt_1").has_value(), true);
}

TEST_F(BrexPluginTest, ReadErrorsMapToHostStatuses) {
  auto inst = Open();
  ASSERT_NE(inst, nullptr);
  brex_.routes["GET /v3/accounting/records"] = {{401, R"({"error_code":"UNAUTHORIZED","message":"no"})", ""}};
  EXPECT_EQ(inst->Read({{"stream", "expenses"}}).status().code(), Code::kAuth);
  brex_.routes["GET /v3/accounting/records"] = {
      {429, R"({"type":"TOO_MANY_REQUESTS","message":"slow down"})", ""}};
  EXPECT_EQ(inst->Read({{"stream", "expenses"}}).status().code(), Code::kRetry);
  brex_.routes["GET /v3/accounting/records"] = {{503, "", ""}};
  EXPECT_EQ(inst->Read({{"stream", "expenses"}}).status().code(), Code::kRetry);
  brex_.routes["GET /v3/accounting/records"] = {{200, "{\"items\": [", ""}};
  EXPECT_EQ(inst->Read({{"stream", "expenses"}}).status().code(), Code::kError);
  EXPECT_EQ(inst->Read({{"stream", "expenses"}, {"cursor", "garbage"}}).status().code(), Code::kInvalid);
  EXPECT_EQ(inst->Read({{"stream", "bills"}}).status().code(), Code::kInvalid);
}

// The warnings the plugin logged that name `what`.
std::vector<std::string> WarningsAbout(const loader::InMemoryHostContext& host, const std::string& what) {
  std::vector<std::string> out;
  for (const auto& [level, message] : host.Logs()) {
    if (level == MLC_LOG_WARN && message.find(what) != std::string::npos) out.push_back(message);
  }
  return out;
}

// A page of three card expenses: accr_bad's amount is `bad_amount`, the two around it are fine.
std::string PageAround(const std::string& bad_amount) {
  auto record = [](const std::string& id, const std::string& amount) {
    return R"({"id": ")" + id + R"(", "amount": {"amount": )" + amount +
           R"(, "currency": "USD"}, "type": "CARD_EXPENSE_POST", "review_status": "READY_FOR_EXPORT",
       "source_type": "CARD", "erp_posting_date": "2026-10-02T10:00:00Z",
       "updated_at": "2026-10-03T10:00:00.123456Z", "version": 2, "posted_at": "2026-10-02T10:00:00Z",
       "line_items": [{"id": "li_)" +
           id + R"(", "type": "DEBIT", "amount": {"amount": 1, "currency": "USD"},
         "accounting_field_values": []}]})";
  };
  return R"({"items": [)" + record("accr_a", "12.5") + "," + record("accr_bad", bad_amount) + "," +
         record("accr_c", "7") + R"(], "next_cursor": null, "has_next_page": false, "total_count": 3})";
}

// Issue 13.12: an amount with more decimals than USD has, or in exponent form, rejects that record with a
// reason naming it and the field; the rest of the page is read (before: the whole read failed INVALID).
TEST_F(BrexPluginTest, AnAmountCentsCannotHoldRejectsOnlyItsRecord) {
  auto inst = Open();
  ASSERT_NE(inst, nullptr);
  for (const char* amount : {"74.999", "7.499e1", "1E2"}) {
    brex_.routes["GET /v3/accounting/records"] = {{200, PageAround(amount), ""}};
    auto page = inst->Read({{"stream", "expenses"}, {"limit", 10}});
    ASSERT_TRUE(page.ok()) << amount << ": " << page.status().message();
    ASSERT_EQ((*page)["records"].size(), 2u) << amount;
    EXPECT_EQ((*page)["records"][0]["source"]["id"], "accr_a");
    EXPECT_EQ((*page)["records"][0]["amount"]["amount_minor"], 1250);
    EXPECT_EQ((*page)["records"][1]["source"]["id"], "accr_c");
    EXPECT_EQ((*page)["records"][1]["amount"]["amount_minor"], 700);
    const auto warnings = WarningsAbout(host_, "accr_bad");
    ASSERT_FALSE(warnings.empty()) << amount;
    EXPECT_NE(warnings.back().find("amount"), std::string::npos) << warnings.back();
    EXPECT_NE(warnings.back().find(amount), std::string::npos) << warnings.back();
  }
  // No request was spent on the rejected record's expense or receipts.
  EXPECT_TRUE(brex_.RequestsTo("/v1/expenses/").empty());
}

// Issue 13.10: Brex's VendorResponse.company_name is nullable; such a vendor is rejected with a reason and
// the page goes on (before: the whole vendors read failed, every poll).
TEST_F(BrexPluginTest, AVendorWithoutACompanyNameRejectsOnlyThatVendor) {
  auto inst = Open();
  ASSERT_NE(inst, nullptr);
  brex_.routes["GET /v1/vendors"] = {{200, R"({"items": [
      {"id": "vendor_1", "company_name": "Acme Print Co", "email": null, "phone": null, "payment_accounts": []},
      {"id": "vendor_2", "company_name": null, "email": "ap@nameless.example", "phone": null, "payment_accounts": []},
      {"id": "vendor_3", "company_name": "Bolt Couriers", "email": null, "phone": null, "payment_accounts": []}],
    "next_cursor": "eyJvZmZzZXQiOjN9"})",
                                      ""}};
  auto page = inst->Read({{"stream", "vendors"}});
  ASSERT_TRUE(page.ok()) << page.status().message();
  ASSERT_EQ((*page)["records"].size(), 2u);
  EXPECT_EQ((*page)["records"][0]["name"], "Acme Print Co");
  EXPECT_EQ((*page)["records"][1]["name"], "Bolt Couriers");
  EXPECT_EQ((*page)["next_cursor"], "eyJvZmZzZXQiOjN9");  // the stream moves on
  EXPECT_EQ((*page)["has_more"], true);
  const auto warnings = WarningsAbout(host_, "vendor_2");
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_NE(warnings[0].find("company_name"), std::string::npos) << warnings[0];
}

// Issue 13.13: the ids lookup behind an ack asks for the configured page size, never a hard-coded 1000
// (Brex's v3 maximum is undocumented), and names at most that many ids per request.
TEST_F(BrexPluginTest, TheIdsLookupUsesTheConfiguredPageSize) {
  auto inst = Open({{"base_url", "https://brex.test"}, {"page_size", 2}});
  ASSERT_NE(inst, nullptr);
  brex_.routes["POST /v3/accounting/records/export-results"] = {
      {422,
       R"({"error_code":"ACCOUNTING_RECORD_NOT_READY_FOR_EXPORT","message":"Only READY_FOR_EXPORT",
           "details":{"not_ready_for_export_accounting_record_ids":["accr_1","accr_2","accr_3"]}})",
       ""}};
  brex_.routes["GET /v3/accounting/records"] = {
      {200,
       R"({"items": [{"id": "accr_1", "review_status": "EXPORTED"}, {"id": "accr_2", "review_status": "EXPORTED"}],
           "next_cursor": null, "has_next_page": false})",
       ""},
      {200,
       R"({"items": [{"id": "accr_3", "review_status": "EXPORTED"}], "next_cursor": null, "has_next_page": false})",
       ""}};
  json items = json::array();
  for (const char* id : {"accr_1", "accr_2", "accr_3"}) items.push_back({{"source_id", id}, {"ok", true}});
  auto acked = inst->Ack({{"stream", "expenses"}, {"items", items}});
  ASSERT_TRUE(acked.ok()) << acked.status().message();
  EXPECT_EQ((*acked)["acked"], 3);
  const auto lookups = brex_.RequestsTo("/v3/accounting/records?");
  ASSERT_EQ(lookups.size(), 2u);
  for (const auto& r : lookups) {
    const std::string url = r["url"];
    EXPECT_NE(url.find("limit=2"), std::string::npos) << url;
    EXPECT_EQ(url.find("limit=1000"), std::string::npos) << url;
  }
  EXPECT_NE(lookups[0]["url"].get<std::string>().find("ids=accr_2"), std::string::npos);
  EXPECT_NE(lookups[1]["url"].get<std::string>().find("ids=accr_3"), std::string::npos);
}

TEST_F(BrexPluginTest, AckReportsExportResultsAndSettlesARepeat) {
  auto inst = Open(
      {{"base_url", "https://brex.test"}, {"deep_link_template", "https://books.example/e/{target_id}"}});
  ASSERT_NE(inst, nullptr);
  const json batch = {{"stream", "expenses"},
                      {"items",
                       {{{"source_id", "accr_1"}, {"ok", true}, {"target_id", "781"}},
                        {{"source_id", "accr_2"}, {"ok", false}, {"reason", "Invalid GL account 7020"}}}}};
  brex_.routes["POST /v3/accounting/records/export-results"] = {
      {200, R"({"updated_accounting_record_ids": ["accr_1", "accr_2"]})", ""}};
  auto acked = inst->Ack(batch);
  ASSERT_TRUE(acked.ok()) << acked.status().message();
  EXPECT_EQ((*acked)["acked"], 2);
  const json sent = json::parse(brex_.bodies.back());
  EXPECT_EQ(sent["results"][0],
            (json{{"accounting_record_id", "accr_1"},
                  {"success", {{"reference_id", "781"}, {"deep_link_url", "https://books.example/e/781"}}}}));
  EXPECT_EQ(sent["results"][1], (json{{"accounting_record_id", "accr_2"},
                                      {"failure", {{"error_message", "Invalid GL account 7020"}}}}));

  // The same batch again after its answer was lost: Brex refuses accr_1 (already EXPORTED); the plugin
  // checks, counts it as done and reports the rest.
  brex_.routes["POST /v3/accounting/records/export-results"] = {
      {422,
       R"({"error_code":"ACCOUNTING_RECORD_NOT_READY_FOR_EXPORT","message":"Only READY_FOR_EXPORT",
           "details":{"not_ready_for_export_accounting_record_ids":["accr_1"]}})",
       ""},
      {200, R"({"updated_accounting_record_ids": ["accr_2"]})", ""}};
  brex_.routes["GET /v3/accounting/records"] = {
      {200,
       R"({"items": [{"id": "accr_1", "review_status": "EXPORTED"}], "next_cursor": null, "has_next_page": false})",
       ""}};
  auto again = inst->Ack(batch);
  ASSERT_TRUE(again.ok()) << again.status().message();
  EXPECT_EQ((*again)["acked"], 2);
  EXPECT_EQ(json::parse(brex_.bodies.back())["results"].size(), 1u);

  // A bad batch is refused before Brex hears of it.
  const size_t before = brex_.requests.size();
  EXPECT_EQ(inst->Ack({{"stream", "expenses"}, {"items", {{{"source_id", "accr_1"}, {"ok", "yes"}}}}})
                .status()
                .code(),
            Code::kInvalid);
  EXPECT_EQ(inst->Ack({{"stream", "expenses"},
                       {"items", {{{"source_id", "a"}, {"ok", true}}, {{"source_id", "a"}, {"ok", false}}}}})
                .status()
                .code(),
            Code::kInvalid);
  // Vendors have nothing to mark at Brex: acknowledged by the host only.
  auto vendors = inst->Ack({{"stream", "vendors"}, {"items", {{{"source_id", "vendor_1"}, {"ok", true}}}}});
  ASSERT_TRUE(vendors.ok()) << vendors.status().message();
  EXPECT_EQ((*vendors)["acked"], 1);
  EXPECT_EQ(inst->Ack({{"stream", "transfers"}, {"items", json::array()}}).status().code(), Code::kInvalid);
  EXPECT_EQ(brex_.requests.size(), before);
}

TEST_F(BrexPluginTest, WebhookVerifiesWithCurrentOrPreviousSecret) {
  host_.SetSecret("webhook_secret_previous", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
  auto inst = Open();
  ASSERT_NE(inst, nullptr);
  const std::string body =
      R"({"event_type":"ACCOUNTING_RECORD_READY_FOR_EXPORT","accountingRecordIds":["accr_9"],"companyId":"cuacc_1"})";
  const int64_t ts = 1792000000;
  auto request = [&](const std::string& signature) {
    return json{{"method", "POST"},
                {"path", "/webhooks/brex"},
                {"headers",
                 {{"webhook-id", "msg_9"},
                  {"webhook-timestamp", std::to_string(ts)},
                  {"webhook-signature", signature}}},
                {"received_at_ms", ts * 1000 + 2000}};
  };
  const std::string old_only = *SignWebhook("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_9", ts, body);
  auto ok = inst->Webhook(request(old_only), body);
  ASSERT_TRUE(ok.ok()) << ok.status().message();
  EXPECT_EQ((*ok)["events"][0], (json{{"id", "msg_9"},
                                      {"type", "ACCOUNTING_RECORD_READY_FOR_EXPORT"},
                                      {"stream", "expenses"},
                                      {"source_id", "accr_9"}}));
  EXPECT_EQ(inst->Webhook(request("v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc="), body).status().code(),
            Code::kAuth);
  json unsigned_request = request("");
  unsigned_request["headers"].erase("webhook-signature");
  EXPECT_EQ(inst->Webhook(unsigned_request, body).status().code(), Code::kAuth);
  json stale = request(old_only);
  stale["received_at_ms"] = (ts + 600) * 1000;
  EXPECT_EQ(inst->Webhook(stale, body).status().code(), Code::kInvalid);
}

// An empty webhook-id counts as absent for verification, so the event id must be the svix-id that was
// verified, not the empty header.
TEST_F(BrexPluginTest, WebhookEventIdIsTheVerifiedIdWhenWebhookIdIsEmpty) {
  auto inst = Open();
  ASSERT_NE(inst, nullptr);
  const std::string body =
      R"({"event_type":"ACCOUNTING_RECORD_READY_FOR_EXPORT","accountingRecordIds":["accr_9"],"companyId":"cuacc_1"})";
  const int64_t ts = 1792000000;
  const std::string signature = *SignWebhook("whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD", "msg_svix", ts, body);
  const json request = {{"method", "POST"},
                        {"path", "/webhooks/brex"},
                        {"headers",
                         {{"webhook-id", ""},
                          {"svix-id", "msg_svix"},
                          {"svix-timestamp", std::to_string(ts)},
                          {"svix-signature", signature}}},
                        {"received_at_ms", ts * 1000 + 2000}};
  auto ok = inst->Webhook(request, body);
  ASSERT_TRUE(ok.ok()) << ok.status().message();
  ASSERT_EQ((*ok)["events"].size(), 1u);
  EXPECT_EQ((*ok)["events"][0]["id"], "msg_svix");

  // A non-empty webhook-id wins over svix-id, as in verification: signed over svix-id it does not verify.
  json both = request;
  both["headers"]["webhook-id"] = "msg_other";
  EXPECT_EQ(inst->Webhook(both, body).status().code(), Code::kAuth);
}

}  // namespace
}  // namespace mlc::plugins::brex
