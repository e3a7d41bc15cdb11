// Unit tests of the real freshbooks.so loaded by the host's loader and driven through an in-memory host
// whose HTTP handler plays FreshBooks: writes (marker idempotency, category required, dry run, receipts
// uploaded as multipart blobs, errors inside HTTP 200, lost responses), lookup, auth_resolve, reads, ack and
// webhooks (good, forged, unsigned, malformed, the verifier handshake).
#include <gtest/gtest.h>

#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "freshbooks_translate.hpp"
#include "loader/instance.hpp"
#include "loader/loader.hpp"
#include "mlc/json.hpp"

namespace mlc::plugins::freshbooks {
namespace {

using nlohmann::json;

// One request the plugin sent through the host.
struct Sent {
  json request;
  std::string body;
  std::string method() const { return request.value("method", ""); }
  std::string url() const { return request.value("url", ""); }
};

class FreshBooksPluginTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("mlc-fb-test-" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
    std::filesystem::create_symlink(MLC_FRESHBOOKS_PLUGIN, dir_ / "freshbooks.so");
    loader::LoadReport report = registry_.LoadDirectories({dir_.string()});
    ASSERT_TRUE(report.status.ok()) << report.status.ToString();
    for (const auto& r : report.refused) FAIL() << r.path << ": " << r.reason;
    plugin_ = registry_.Find("freshbooks");
    ASSERT_NE(plugin_, nullptr);
    host_.SetState("account_id", "ABC123");
    host_.SetState("staff_id", "1");
    host_.SetHttpHandler([this](std::string_view req, std::string_view body, std::string* meta,
                                std::string* out,
                                std::string* err) { return Handle(req, body, meta, out, err); });
    auto inst = loader::PluginInstance::Open(
        plugin_, &host_,
        {{"base_url", "https://api.example.test"}, {"auth_url", "https://auth.example.test"}});
    ASSERT_TRUE(inst.ok()) << inst.status().ToString();
    inst_ = std::move(*inst);
  }
  void TearDown() override {
    inst_.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  // The fake FreshBooks: `route` answers (status, body) or a host status other than OK.
  struct Reply {
    Code code = Code::kOk;
    int status = 200;
    json body = json::object();
  };
  std::function<Reply(const Sent&)> route_;

  Code Handle(std::string_view req, std::string_view body, std::string* meta, std::string* out,
              std::string* err) {
    Sent s{json::parse(req), std::string(body)};
    {
      std::lock_guard lock(mu_);
      sent_.push_back(s);
    }
    Reply r = route_ ? route_(s) : Reply{Code::kError, 0, json()};
    if (r.code != Code::kOk) {
      *err = "fake host: " + std::string(CodeName(r.code));
      return r.code;
    }
    *meta = json{{"status", r.status}, {"headers", json::object()}}.dump();
    *out = r.body.dump();
    return Code::kOk;
  }
  std::vector<Sent> SentTo(const std::string& method) {
    std::lock_guard lock(mu_);
    std::vector<Sent> out;
    for (const auto& s : sent_) {
      if (s.method() == method) out.push_back(s);
    }
    return out;
  }

  static json ExpenseObject() {
    return {{"type", "expense"},
            {"source",
             {{"system", "brex"},
              {"connection", "b"},
              {"id", "e1"},
              {"version", "1"},
              {"updated_at", "2025-01-01T00:00:00Z"}}},
            {"links", json::object()},
            {"kind", "card"},
            {"amount", {{"amount_minor", 7973}, {"currency", "USD"}}},
            {"merchant", "SHELL 123"},
            {"memo", "Fuel"},
            {"spent_at", "2025-04-24"},
            {"status", "posted"}};
  }
  static json WriteRequest(const std::string& key, json refs = {{"category", {{"id", "2003174"}}}}) {
    return {
        {"object_type", "expense"}, {"object", ExpenseObject()}, {"refs", refs}, {"idempotency_key", key}};
  }
  static json List(const std::string& key, json items) {
    return {{"response",
             {{"result",
               {{key, items}, {"page", 1}, {"pages", 1}, {"per_page", 100}, {"total", items.size()}}}}}};
  }

  std::filesystem::path dir_;
  loader::PluginRegistry registry_;
  std::shared_ptr<const loader::LoadedPlugin> plugin_;
  loader::InMemoryHostContext host_;
  std::unique_ptr<loader::PluginInstance> inst_;
  std::mutex mu_;
  std::vector<Sent> sent_;
};

TEST_F(FreshBooksPluginTest, ManifestDeclaresWhatThePluginServes) {
  const json& m = plugin_->manifest;
  EXPECT_EQ(m["auth"]["kind"], "oauth2_authorization_code");
  EXPECT_EQ(m["auth"]["refresh_rotates"], true);
  EXPECT_EQ(m["base_url"], "{base_url}/accounting/account/{account_id}");
  EXPECT_EQ(m["reference_data"], json({"expense_categories", "accounts", "vendors"}));
  EXPECT_EQ(m["webhook"]["scheme"], "freshbooks_hmac");
}

// Issue 13 item 1: every stream and write declares the scopes it needs (FB-DOCS /api/scopes), and
// auth.scopes is exactly their union plus user:profile:read (users/me), so `mlc connect` can ask for what
// the configured pipelines use. The chart of accounts needs user:journal_entries:read.
TEST_F(FreshBooksPluginTest, ManifestDeclaresScopesPerStreamAndWrite) {
  const json& m = plugin_->manifest;
  std::set<std::string> declared = {"user:profile:read"};
  std::map<std::string, json> by_name;
  for (const auto& st : m["streams"]) {
    ASSERT_TRUE(st.contains("scopes")) << st.dump();
    by_name[st["name"]] = st["scopes"];
    for (const auto& sc : st["scopes"]) declared.insert(sc.get<std::string>());
  }
  for (const auto& w : m["writes"]) {
    ASSERT_TRUE(w.contains("scopes")) << w.dump();
    by_name["write:" + w["object"].get<std::string>()] = w["scopes"];
    for (const auto& sc : w["scopes"]) declared.insert(sc.get<std::string>());
  }
  std::set<std::string> auth;
  for (const auto& sc : m["auth"]["scopes"]) auth.insert(sc.get<std::string>());
  EXPECT_EQ(auth, declared);
  EXPECT_EQ(by_name["accounts"], json({"user:journal_entries:read"}));
  EXPECT_EQ(by_name["expense_categories"], json({"user:expenses:read"}));
  EXPECT_EQ(by_name["write:expense"], json({"user:expenses:read", "user:expenses:write"}));
}

TEST_F(FreshBooksPluginTest, ExpenseWithoutCategoryIsInvalidAndSendsNothing) {
  route_ = [](const Sent&) { return Reply{}; };
  auto r = inst_->Write(WriteRequest("k1", json::object()));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kInvalid);
  EXPECT_NE(r.status().message().find("category"), std::string::npos);
  EXPECT_TRUE(sent_.empty());
}

TEST_F(FreshBooksPluginTest, DryRunTranslatesAndSendsNothing) {
  route_ = [](const Sent&) { return Reply{}; };
  json req = WriteRequest("k1");
  req["dry_run"] = true;
  auto r = inst_->Write(req);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ((*r)["dry_run"], true);
  EXPECT_EQ((*r)["request"]["body"]["expense"]["amount"], json({{"amount", "79.73"}, {"code", "USD"}}));
  EXPECT_EQ((*r)["request"]["body"]["expense"]["notes"], "Fuel\nmlc:k1");
  EXPECT_TRUE(sent_.empty());
}

TEST_F(FreshBooksPluginTest, WriteUploadsTheReceiptBlobThenCreatesTheExpense) {
  std::string blob_id;
  std::string err;
  const std::string bytes("\x89PNG\r\n\x1a\n\0\x01\xff binary", 19);
  ASSERT_EQ(host_.BlobPut("image/png", bytes, &blob_id, &err), Code::kOk);
  route_ = [](const Sent& s) {
    if (s.method() == "GET") return Reply{Code::kOk, 200, List("expenses", json::array())};
    if (s.url().find("/uploads/account/ABC123/attachments") != std::string::npos)
      return Reply{Code::kOk, 200, {{"attachment", {{"jwt", "jwt-1"}, {"media_type", "image/png"}}}}};
    return Reply{Code::kOk, 200, {{"response", {{"result", {{"expense", {{"id", 1825574}}}}}}}}};
  };
  json req = WriteRequest("k-receipt");
  req["object"]["receipts"] = json::array({{{"id", "r1"}, {"file_name", "fuel.png"}, {"blob_id", blob_id}}});
  auto r = inst_->Write(req);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ((*r)["target_id"], "1825574");
  auto posts = SentTo("POST");
  ASSERT_EQ(posts.size(), 2u);
  // The upload: multipart field "content" carrying the blob itself (the host sends its exact bytes).
  EXPECT_EQ(posts[0].url(), "https://api.example.test/uploads/account/ABC123/attachments");
  ASSERT_TRUE(posts[0].request["multipart"].is_array());
  EXPECT_EQ(posts[0].request["multipart"][0]["name"], "content");
  EXPECT_EQ(posts[0].request["multipart"][0]["blob"], blob_id);
  EXPECT_EQ(posts[0].request["multipart"][0]["filename"], "fuel.png");
  // Then the expense, referencing the uploaded jwt.
  EXPECT_EQ(posts[1].url(), "expenses/expenses");
  const json body = json::parse(posts[1].body);
  EXPECT_EQ(body["expense"]["attachment"], json({{"jwt", "jwt-1"}, {"media_type", "image/png"}}));
  EXPECT_EQ(body["expense"]["categoryid"], "2003174");
  // The blob in the host is what it was (the plugin never re-encodes it).
  EXPECT_EQ(host_.Blob(blob_id)->first, bytes);
}

TEST_F(FreshBooksPluginTest, RepeatedWriteReturnsTheFirstExpenseByMarker) {
  route_ = [](const Sent& s) {
    if (s.method() == "GET") {
      // The search is a substring match: only the exact last line counts.
      return Reply{Code::kOk, 200,
                   List("expenses", json::array({{{"id", 9}, {"notes", "x\nmlc:k2-longer"}},
                                                 {{"id", 10}, {"notes", "Fuel\nmlc:k2"}}}))};
    }
    return Reply{Code::kOk, 500, json::object()};
  };
  auto r = inst_->Write(WriteRequest("k2"));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ((*r)["target_id"], "10");
  EXPECT_TRUE(SentTo("POST").empty());
  auto gets = SentTo("GET");
  ASSERT_FALSE(gets.empty());
  // Issue 13 item 8: only documented expense filters (FB-DOCS /api/expenses: date and amount betweens,
  // max exclusive), never search[notes_like]; the marker is checked in the notes.
  const json q = gets[0].request["query"];
  EXPECT_FALSE(q.contains("search[notes_like]"));
  EXPECT_EQ(q["search[date_min]"], "2025-04-24");
  EXPECT_EQ(q["search[date_max]"], "2025-04-25");
  EXPECT_EQ(q["search[amount_min]"], "79.73");
  EXPECT_EQ(q["search[amount_max]"], "79.74");

  auto found =
      inst_->Lookup({{"object_type", "expense"}, {"idempotency_key", "k2"}, {"object", ExpenseObject()}});
  ASSERT_TRUE(found.ok());
  EXPECT_EQ((*found)["target_id"], "10");
  auto missing =
      inst_->Lookup({{"object_type", "expense"}, {"idempotency_key", "nope"}, {"object", ExpenseObject()}});
  EXPECT_EQ(missing.status().code(), Code::kNotFound);
  // Without the object there is nothing documented to narrow by: the plugin cannot tell.
  EXPECT_EQ(inst_->Lookup({{"object_type", "expense"}, {"idempotency_key", "k2"}}).status().code(),
            Code::kRetry);
}

TEST_F(FreshBooksPluginTest, MarkerSearchCoversDeletedExpensesAndManyPages) {
  // 250 expenses share the day and amount; the marked one is deleted, on page 2 of search[vis_state]=1.
  route_ = [](const Sent& s) {
    const json q = s.request["query"];
    const int page = std::stoi(q.value("page", "1"));
    json items = json::array();
    int pages = 3;
    if (q.contains("search[vis_state]")) {
      EXPECT_EQ(q["search[vis_state]"], "1");
      pages = 2;
      if (page == 2) items.push_back({{"id", 77}, {"notes", "Fuel\nmlc:k9"}});
    } else {
      for (int i = 0; i < 100 && page <= 3; ++i) items.push_back({{"id", page * 1000 + i}, {"notes", "x"}});
    }
    return Reply{
        Code::kOk,
        200,
        {{"response",
          {{"result", {{"expenses", items}, {"page", page}, {"pages", pages}, {"per_page", 100}}}}}}};
  };
  auto found =
      inst_->Lookup({{"object_type", "expense"}, {"idempotency_key", "k9"}, {"object", ExpenseObject()}});
  ASSERT_TRUE(found.ok()) << found.status().ToString();
  EXPECT_EQ((*found)["target_id"], "77");
  for (const auto& g : SentTo("GET")) {
    EXPECT_FALSE(g.request["query"].contains("search[vis_states][]")) << g.request.dump();
  }
}

TEST_F(FreshBooksPluginTest, LookupThatCannotTellIsRetry) {
  route_ = [](const Sent&) { return Reply{Code::kOk, 503, json::object()}; };
  auto r = inst_->Lookup({{"object_type", "expense"}, {"idempotency_key", "k"}, {"object", ExpenseObject()}});
  EXPECT_EQ(r.status().code(), Code::kRetry);
}

TEST_F(FreshBooksPluginTest, ExpenseCarriesTheAuthorisingUsersStaffId) {
  // Issue 13 item 4: connections resolved before staff ids were kept learn theirs from users/me.
  host_.SetState("staff_id", "");
  route_ = [](const Sent& s) {
    if (s.url().find("/users/me") != std::string::npos) {
      return Reply{Code::kOk,
                   200,
                   {{"response",
                     {{"roles", json::array({{{"role", "client"}, {"userid", 12}, {"accountid", "ABC123"}},
                                             {{"role", "admin"}, {"userid", 3}, {"accountid", "ABC123"}}})},
                      {"business_memberships", json::array()}}}}};
    }
    if (s.method() == "GET") return Reply{Code::kOk, 200, List("expenses", json::array())};
    return Reply{Code::kOk, 200, {{"response", {{"result", {{"expense", {{"id", 5}}}}}}}}};
  };
  auto r = inst_->Write(WriteRequest("k-staff"));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  auto posts = SentTo("POST");
  ASSERT_EQ(posts.size(), 1u);
  EXPECT_EQ(json::parse(posts[0].body)["expense"]["staffid"], 3);
  EXPECT_EQ(host_.State("staff_id"), std::optional<std::string>("3"));
}

TEST_F(FreshBooksPluginTest, ErrorsInside200AreInvalidWithTheVendorsMessage) {
  route_ = [](const Sent& s) {
    if (s.method() == "GET") return Reply{Code::kOk, 200, List("expenses", json::array())};
    return Reply{
        Code::kOk,
        200,
        {{"response",
          {{"errors",
            json::array(
                {{{"errno", 1012}, {"field", "categoryid"}, {"message", "Category not found."}}})}}}}};
  };
  auto r = inst_->Write(WriteRequest("k3"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kInvalid);
  EXPECT_NE(r.status().message().find("Category not found."), std::string::npos);
}

TEST_F(FreshBooksPluginTest, LostCreateIsUncertainAnd401IsAuth) {
  route_ = [](const Sent& s) {
    if (s.method() == "GET") return Reply{Code::kOk, 200, List("expenses", json::array())};
    return Reply{Code::kUncertain, 0, json()};
  };
  EXPECT_EQ(inst_->Write(WriteRequest("k4")).status().code(), Code::kUncertain);
  route_ = [](const Sent& s) {
    if (s.method() == "GET") return Reply{Code::kOk, 200, List("expenses", json::array())};
    return Reply{Code::kOk, 502, json::object()};
  };
  EXPECT_EQ(inst_->Write(WriteRequest("k5")).status().code(), Code::kUncertain);
  route_ = [](const Sent&) {
    return Reply{
        Code::kOk, 401, {{"error", "invalid_token"}, {"error_description", "The access token is invalid"}}};
  };
  EXPECT_EQ(inst_->Write(WriteRequest("k6")).status().code(), Code::kAuth);
}

TEST_F(FreshBooksPluginTest, VendorWriteFindsByExactNameFirst) {
  route_ = [](const Sent& s) {
    if (s.method() == "GET")
      return Reply{Code::kOk, 200,
                   List("bill_vendors", json::array({{{"vendorid", 5}, {"vendor_name", "IKEA"}}}))};
    return Reply{Code::kOk, 200, {{"response", {{"result", {{"bill_vendor", {{"vendorid", 6}}}}}}}}};
  };
  auto same = inst_->Write({{"object_type", "vendor"},
                            {"object", {{"type", "vendor"}, {"name", "IKEA"}}},
                            {"idempotency_key", "v1"}});
  ASSERT_TRUE(same.ok()) << same.status().ToString();
  EXPECT_EQ((*same)["target_id"], "5");
  auto other = inst_->Write({{"object_type", "vendor"},
                             {"object", {{"type", "vendor"}, {"name", "IKEA US"}}},
                             {"idempotency_key", "v2"}});
  ASSERT_TRUE(other.ok()) << other.status().ToString();
  EXPECT_EQ((*other)["target_id"], "6");
}

TEST_F(FreshBooksPluginTest, AuthResolveFindsAccountAndBusiness) {
  route_ = [](const Sent& s) {
    EXPECT_EQ(s.url(), "https://api.example.test/auth/api/v1/users/me");
    return Reply{
        Code::kOk,
        200,
        {{"response",
          {{"id", 1},
           {"roles", json::array({{{"role", "admin"}, {"userid", 1}, {"accountid", "ABC123"}},
                                  {{"role", "admin"}, {"userid", 9}, {"accountid", "OTHER"}}})},
           {"business_memberships",
            json::array(
                {{{"id", 140130},
                  {"business", {{"id", 439000}, {"account_id", "ABC123"}, {"business_uuid", "u-1"}}}}})}}}}};
  };
  auto r = inst_->AuthResolve({{"expires_in", 43200}});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ((*r)["state"], json({{"account_id", "ABC123"},
                                 {"business_id", "439000"},
                                 {"business_uuid", "u-1"},
                                 {"staff_id", "1"}}));
}

// A poll: reads from `cursor` until has_more is false; the records and the cursor to resume from.
std::pair<std::vector<json>, json> Poll(loader::PluginInstance& inst, const std::string& stream, json cursor,
                                        int64_t limit = 100) {
  std::vector<json> records;
  for (int call = 0; call < 200; ++call) {
    auto r = inst.Read({{"stream", stream}, {"limit", limit}, {"cursor", cursor}});
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    if (!r.ok()) break;
    for (const auto& rec : (*r)["records"]) records.push_back(rec);
    cursor = (*r)["next_cursor"];
    if ((*r)["has_more"] != true) break;
  }
  return {records, cursor};
}

json Bill(int id, const std::string& updated, int vis_state = 0) {
  return json{{"id", id},
              {"vendorid", 5},
              {"issue_date", "2025-01-02"},
              {"currency_code", "USD"},
              {"status", "unpaid"},
              {"vis_state", vis_state},
              {"updated_at", updated},
              {"total_amount", {{"amount", "10.00"}, {"code", "USD"}}},
              {"lines", json::array({{{"amount", {{"amount", "10.00"}, {"code", "USD"}}}}})}};
}

// A fake list endpoint over `items` (in the order given), honouring page/per_page and vis_state the way
// FreshBooks documents it: the default list is active + archived, search[vis_state]=N only N.
json ListOf(const std::string& key, const std::vector<json>& items, const Sent& s) {
  const json q = s.request["query"];
  const int page = std::stoi(q.value("page", "1"));
  const int per_page = std::stoi(q.value("per_page", "15"));
  std::vector<json> picked;
  for (const auto& i : items) {
    const int vis = i.value("vis_state", 0);
    if (q.contains("search[vis_state]") ? vis == std::stoi(q["search[vis_state]"].get<std::string>())
                                        : vis != 1)
      picked.push_back(i);
  }
  json out = json::array();
  for (int i = (page - 1) * per_page; i < static_cast<int>(picked.size()) && i < page * per_page; ++i)
    out.push_back(picked[static_cast<size_t>(i)]);
  const int pages = (static_cast<int>(picked.size()) + per_page - 1) / per_page;
  return {
      {"response",
       {{"result",
         {{key, out}, {"page", page}, {"pages", pages}, {"per_page", per_page}, {"total", picked.size()}}}}}};
}

std::set<std::string> Ids(const std::vector<json>& records) {
  std::set<std::string> out;
  for (const auto& r : records) out.insert(r["source"]["id"].get<std::string>());
  return out;
}

TEST_F(FreshBooksPluginTest, ReadBillsPagesAndResumes) {
  std::vector<json> bills = {Bill(1, "2025-01-02 10:00:00"), Bill(2, "2025-01-03 10:00:00")};
  route_ = [&](const Sent& s) {
    EXPECT_EQ(s.url(), "bills/bills");
    return Reply{Code::kOk, 200, ListOf("bills", bills, s)};
  };
  auto first = inst_->Read({{"stream", "bills"}, {"limit", 1}});
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  ASSERT_EQ((*first)["records"].size(), 1u);
  EXPECT_EQ((*first)["has_more"], true);
  auto second = inst_->Read({{"stream", "bills"}, {"limit", 1}, {"cursor", (*first)["next_cursor"]}});
  ASSERT_TRUE(second.ok());
  ASSERT_EQ((*second)["records"].size(), 1u);
  EXPECT_EQ((*second)["records"][0]["source"]["id"], "2");
  auto [rest, cursor] = Poll(*inst_, "bills", (*second)["next_cursor"]);
  EXPECT_TRUE(rest.empty());
  auto [again, cursor2] = Poll(*inst_, "bills", cursor);
  EXPECT_TRUE(again.empty()) << "a quiet poll delivers nothing";
  EXPECT_EQ(inst_->Read({{"stream", "bills"}, {"cursor", "not-a-cursor"}}).status().code(), Code::kInvalid);
  EXPECT_EQ(inst_->Read({{"stream", "nope"}}).status().code(), Code::kInvalid);
}

// Issue 13 items 6 and 7: FreshBooks documents no default order, so the read must not depend on one; and
// only search[vis_state]=N is documented (never search[vis_states][], never sort).
TEST_F(FreshBooksPluginTest, ReadsAreCorrectWhateverTheOrderAndUseDocumentedParametersOnly) {
  // Newest first, two per page: a read that assumes ascending update order skips bills for good.
  std::vector<json> bills = {Bill(4, "2025-01-05 10:00:00"), Bill(3, "2025-01-04 10:00:00"),
                             Bill(2, "2025-01-03 10:00:00"), Bill(1, "2025-01-02 10:00:00"),
                             Bill(5, "2025-01-01 09:00:00", 1)};
  route_ = [&](const Sent& s) { return Reply{Code::kOk, 200, ListOf("bills", bills, s)}; };
  auto [first, cursor] = Poll(*inst_, "bills", nullptr, 2);
  EXPECT_EQ(Ids(first), (std::set<std::string>{"1", "2", "3", "4", "5"}));
  EXPECT_EQ(first.size(), 5u);
  for (const auto& s : SentTo("GET")) {
    const json q = s.request["query"];
    EXPECT_FALSE(q.contains("sort")) << q.dump();
    EXPECT_FALSE(q.contains("search[vis_states][]")) << q.dump();
    EXPECT_EQ(s.url().find('?'), std::string::npos) << s.url();
    if (q.contains("search[vis_state]")) {
      EXPECT_EQ(q["search[vis_state]"], "1");
    }
  }
  // Bill 1 changes and, in this order, stays at the end; bill 3 is deleted (it moves to the vis_state=1
  // list). Exactly those two come next, each once.
  bills[3] = Bill(1, "2025-01-05 10:00:07");
  bills[1] = Bill(3, "2025-01-05 10:00:08", 1);
  auto [second, cursor2] = Poll(*inst_, "bills", cursor, 2);
  ASSERT_EQ(second.size(), 2u);
  EXPECT_EQ(Ids(second), (std::set<std::string>{"1", "3"}));
  for (const auto& r : second) {
    if (r["source"]["id"] == "3") {
      EXPECT_EQ(r["status"], "void");
    }
  }
  auto [third, cursor3] = Poll(*inst_, "bills", cursor2, 2);
  EXPECT_TRUE(third.empty());
}

TEST_F(FreshBooksPluginTest, CategoriesAreSweptWithoutFilterOrSort) {
  auto category = [](int id, const std::string& name, const std::string& updated) {
    return json{
        {"id", id}, {"categoryid", id}, {"category", name}, {"updated_at", updated}, {"vis_state", 0}};
  };
  std::vector<json> cats = {category(9, "Travel", "2025-01-05 10:00:00"),
                            category(3, "Meals", "2024-01-01 10:00:00")};
  route_ = [&](const Sent& s) {
    const json q = s.request["query"];
    EXPECT_FALSE(q.contains("sort"));
    EXPECT_FALSE(q.contains("search[updated_min]"));
    return Reply{Code::kOk, 200, ListOf("categories", cats, s)};
  };
  auto [first, cursor] = Poll(*inst_, "expense_categories", nullptr);
  EXPECT_EQ(Ids(first), (std::set<std::string>{"3", "9"}));
  // An older category changes to a time still before the newest one: it is delivered all the same.
  cats[1] = category(3, "Meals & Entertainment", "2024-06-01 10:00:00");
  auto [second, cursor2] = Poll(*inst_, "expense_categories", cursor);
  ASSERT_EQ(second.size(), 1u);
  EXPECT_EQ(second[0]["name"], "Meals & Entertainment");
}

TEST_F(FreshBooksPluginTest, PaymentsResumeAfterAFullLastPage) {
  auto payment = [](int id) {
    return json{{"id", id},
                {"billid", 3},
                {"amount", {{"amount", "5.00"}, {"code", "USD"}}},
                {"paid_date", "2025-03-01"},
                {"payment_type", "ACH"},
                {"vis_state", 0}};
  };
  std::vector<json> payments = {payment(2), payment(1)};
  route_ = [&](const Sent& s) { return Reply{Code::kOk, 200, ListOf("bill_payments", payments, s)}; };
  auto [first, cursor] = Poll(*inst_, "payments", nullptr, 2);
  EXPECT_EQ(first.size(), 2u);
  auto [quiet, cursor2] = Poll(*inst_, "payments", cursor, 2);
  EXPECT_TRUE(quiet.empty());
  payments.insert(payments.begin(), payment(3));  // a new payment, first in this order
  auto [fresh, cursor3] = Poll(*inst_, "payments", cursor2, 2);
  ASSERT_EQ(fresh.size(), 1u);
  EXPECT_EQ(fresh[0]["source"]["id"], "3");
  EXPECT_EQ(fresh[0]["method"], "ach");
}

TEST_F(FreshBooksPluginTest, AckRecordsNothingAtTheVendor) {
  route_ = [](const Sent&) { return Reply{}; };
  auto r = inst_->Ack({{"stream", "bills"},
                       {"items", json::array({{{"source_id", "1"}, {"ok", true}},
                                              {{"source_id", "2"}, {"ok", false}, {"reason", "x"}}})}});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ((*r)["acked"], 2);
  EXPECT_TRUE(sent_.empty());
  EXPECT_EQ(inst_->Ack({{"stream", "bills"}, {"items", json::array({{{"ok", true}}})}}).status().code(),
            Code::kInvalid);
}

json Hook(const std::string& signature) {
  json headers = {{"content-type", "application/x-www-form-urlencoded"}};
  if (!signature.empty()) headers["x-freshbooks-hmac-sha256"] = signature;
  return {{"method", "POST"},
          {"path", "/webhooks/fb"},
          {"query", json::object()},
          {"headers", headers},
          {"received_at_ms", 0}};
}

TEST_F(FreshBooksPluginTest, WebhookVerification) {
  host_.SetSecret("webhook_verifier", "other-verifier, test-verifier-123");
  const std::string body =
      "name=bill.create&object_id=1234567&account_id=6BApk&business_id=6543&identity_id=1234&user_id=1";
  const std::string good = WebhookSignature("test-verifier-123", ParseForm(body));
  auto r = inst_->Webhook(Hook(good), body);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ((*r)["events"].size(), 1u);
  EXPECT_EQ((*r)["events"][0]["type"], "bill.create");
  EXPECT_EQ((*r)["events"][0]["stream"], "bills");
  EXPECT_EQ((*r)["events"][0]["source_id"], "1234567");
  auto again = inst_->Webhook(Hook(good), body);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ((*again)["events"][0]["id"], (*r)["events"][0]["id"]);  // a replay names the same event

  EXPECT_EQ(inst_->Webhook(Hook(WebhookSignature("wrong", ParseForm(body))), body).status().code(),
            Code::kAuth);
  EXPECT_EQ(inst_->Webhook(Hook(""), body).status().code(), Code::kAuth);
  // Forged by changing the body after signing.
  EXPECT_EQ(inst_->Webhook(Hook(good), body + "&x=1").status().code(), Code::kAuth);
  // Correctly signed but missing what an event needs.
  const std::string thin = "account_id=6BApk";
  EXPECT_EQ(
      inst_->Webhook(Hook(WebhookSignature("test-verifier-123", ParseForm(thin))), thin).status().code(),
      Code::kInvalid);
}

TEST_F(FreshBooksPluginTest, HandshakeVerifiesTheCallbackThenTrustsItsVerifier) {
  route_ = [](const Sent& s) {
    EXPECT_EQ(s.method(), "PUT");
    EXPECT_EQ(s.url(), "https://api.example.test/events/account/ABC123/events/callbacks/77");
    const json body = json::parse(s.body);
    if (body["callback"]["verifier"] != "v-77")
      return Reply{
          Code::kOk, 400, {{"errno", 422}, {"message", "bad"}, {"details", {"verifier: Invalid verifier."}}}};
    return Reply{Code::kOk,
                 200,
                 {{"response", {{"result", {{"callback", {{"callbackid", 77}, {"verified", true}}}}}}}}};
  };
  // A forged handshake: FreshBooks refuses the verifier, so nothing is trusted.
  EXPECT_EQ(inst_->Webhook(Hook(""), "name=callback.verify&object_id=77&verifier=bogus").status().code(),
            Code::kInvalid);
  EXPECT_FALSE(host_.State("webhook/verifiers").has_value());
  EXPECT_FALSE(host_.Secret("webhook_verifiers_learned").has_value());
  auto r = inst_->Webhook(Hook(""), "name=callback.verify&object_id=77&verifier=v-77");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ((*r)["reply"]["status"], 200);
  EXPECT_TRUE((*r)["events"].empty());
  // The verifier goes to the vault (a secret), never to plaintext connection state.
  ASSERT_TRUE(host_.Secret("webhook_verifiers_learned").has_value());
  EXPECT_EQ(json::parse(*host_.Secret("webhook_verifiers_learned")), json({{"77", "v-77"}}));
  EXPECT_FALSE(host_.State("webhook/verifiers").has_value());
  const std::string body = "name=bill.update&object_id=5&account_id=ABC123";
  auto e = inst_->Webhook(Hook(WebhookSignature("v-77", ParseForm(body))), body);
  ASSERT_TRUE(e.ok()) << e.status().ToString();
  EXPECT_EQ((*e)["events"][0]["source_id"], "5");
  for (const auto& [level, line] : host_.Logs()) EXPECT_EQ(line.find("v-77"), std::string::npos) << line;
}

TEST_F(FreshBooksPluginTest, ManifestDeclaresTheLearnedVerifiersSecret) {
  const json& m = plugin_->manifest;
  bool found = false;
  for (const json& sec : m["secrets"]) {
    if (sec["name"] == "webhook_verifiers_learned") {
      found = true;
      EXPECT_EQ(sec["required"], false);
    }
  }
  EXPECT_TRUE(found);
}

TEST_F(FreshBooksPluginTest, VerifiersInOldPlaintextStateMoveIntoTheVaultOnce) {
  host_.SetSecret("webhook_verifiers_learned", R"({"12": "v-new"})");
  host_.SetState("webhook/verifiers", R"({"11": "v-old", "12": "v-stale"})");
  const std::string body = "name=bill.update&object_id=5&account_id=ABC123";
  auto e = inst_->Webhook(Hook(WebhookSignature("v-old", ParseForm(body))), body);
  ASSERT_TRUE(e.ok()) << e.status().ToString();
  // Merged into the secret (the vault's newer value wins) and the plaintext copy emptied.
  EXPECT_EQ(json::parse(*host_.Secret("webhook_verifiers_learned")),
            json({{"11", "v-old"}, {"12", "v-new"}}));
  EXPECT_EQ(host_.State("webhook/verifiers"), "{}");
  auto again = inst_->Webhook(Hook(WebhookSignature("v-new", ParseForm(body))), body);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(inst_->Webhook(Hook(WebhookSignature("v-stale", ParseForm(body))), body).status().code(),
            Code::kAuth);
}

TEST_F(FreshBooksPluginTest, HandshakeWithoutSecretStorageWarnsAndKeepsNothingInPlaintext) {
  // The host refuses the write (an older host, or the secret comes from the environment).
  host_.SetWritableSecrets({"refresh_token"});
  route_ = [](const Sent&) {
    return Reply{Code::kOk, 200, {{"response", {{"result", {{"callback", {{"callbackid", 78}}}}}}}}};
  };
  auto r = inst_->Webhook(Hook(""), "name=callback.verify&object_id=78&verifier=v-78");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ((*r)["reply"]["status"], 200);  // the handshake is still answered
  EXPECT_FALSE(host_.Secret("webhook_verifiers_learned").has_value());
  EXPECT_FALSE(host_.State("webhook/verifiers").has_value());
  bool warned = false;
  for (const auto& [level, line] : host_.Logs()) {
    EXPECT_EQ(line.find("v-78"), std::string::npos) << line;
    if (level == MLC_LOG_WARN && line.find("webhook_verifier") != std::string::npos) warned = true;
  }
  EXPECT_TRUE(warned);
  // Deliveries verify once the operator configures the verifier.
  const std::string body = "name=bill.update&object_id=5&account_id=ABC123";
  EXPECT_EQ(inst_->Webhook(Hook(WebhookSignature("v-78", ParseForm(body))), body).status().code(),
            Code::kInvalid);  // no verifier is known
  host_.SetSecret("webhook_verifier", "v-78");
  EXPECT_TRUE(inst_->Webhook(Hook(WebhookSignature("v-78", ParseForm(body))), body).ok());
}

TEST_F(FreshBooksPluginTest, MalformedLearnedSecretDoesNotBlockConfiguredVerifiers) {
  host_.SetSecret("webhook_verifiers_learned", "not json");
  host_.SetSecret("webhook_verifier", "v-1");
  const std::string body = "name=bill.update&object_id=5&account_id=ABC123";
  EXPECT_TRUE(inst_->Webhook(Hook(WebhookSignature("v-1", ParseForm(body))), body).ok());
  route_ = [](const Sent&) { return Reply{Code::kOk, 200, json::object()}; };
  // A handshake would overwrite it: refused instead, naming the secret.
  auto r = inst_->Webhook(Hook(""), "name=callback.verify&object_id=79&verifier=v-79");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("webhook_verifiers_learned"), std::string::npos);
  EXPECT_EQ(host_.Secret("webhook_verifiers_learned"), "not json");
}

}  // namespace
}  // namespace mlc::plugins::freshbooks
