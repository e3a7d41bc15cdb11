// FreshBooks emulator: expenses and categories — envelopes, paging, search, soft delete via vis_state, the
// errors FreshBooks answers for bad input (including inside an HTTP 200), and commit-then-drop.
#include "freshbooks_test_util.hpp"

namespace mlc::sandbox::freshbooks::testing {
namespace {

class FreshBooksExpensesTest : public FreshBooksTest {
 protected:
  size_t ExpenseCount() { return Objects("expenses").size(); }
  nlohmann::json CreateExpense(const nlohmann::json& body) {
    HttpResponse r = CallJson("POST", Acct("expenses/expenses"), body);
    return Result(r)["expense"];
  }
  // POSTs `body` and expects a legacy validation error; returns the first error.
  nlohmann::json Rejected(const nlohmann::json& body, int status = 422) {
    const size_t before = ExpenseCount();
    HttpResponse r = CallJson("POST", Acct("expenses/expenses"), body);
    EXPECT_EQ(r.status, status) << r.body;
    EXPECT_EQ(ExpenseCount(), before) << "a rejected create must not store anything";
    return FirstError(r);
  }
};

TEST_F(FreshBooksExpensesTest, ListUsesTheAccountingEnvelopeAndDefaultPaging) {
  Start(60);
  auto result = Result(Call("GET", Acct("expenses/expenses")));
  ASSERT_TRUE(result.contains("expenses"));
  EXPECT_EQ(result["page"], 1);
  EXPECT_EQ(result["per_page"], 15);
  EXPECT_EQ(result["expenses"].size(), 15u);
  const int64_t total = result["total"];
  EXPECT_EQ(result["pages"], (total + 14) / 15);
  const auto& e = result["expenses"][0];
  // Field shapes of FB-POSTMAN "Create Expense with Receipt".
  EXPECT_TRUE(e["amount"]["amount"].is_string());
  EXPECT_EQ(e["amount"]["code"], "USD");
  EXPECT_EQ(e["id"], e["expenseid"]);
  EXPECT_EQ(e["accounting_systemid"], account_);
  EXPECT_TRUE(e["categoryid"].is_number_integer());
  EXPECT_EQ(e["updated"].get<std::string>().size(), 19u);  // "YYYY-MM-DD HH:MM:SS"
  EXPECT_TRUE(e.contains("taxAmount1"));
  EXPECT_FALSE(e.contains("attachment"));  // only with include[]=attachment
}

TEST_F(FreshBooksExpensesTest, PagingWalksEveryRecordExactlyOnceAt100PerPage) {
  Start(250);
  std::set<int64_t> expected;
  for (const auto& e : Objects("expenses")) {
    if (e["vis_state"] != 1) expected.insert(e["id"].get<int64_t>());
  }
  ASSERT_GT(expected.size(), 200u);
  std::vector<int64_t> seen;
  int64_t pages = 0;
  for (int64_t page = 1; page == 1 || page <= pages; ++page) {
    auto result =
        Result(Call("GET", Acct("expenses/expenses?page=" + std::to_string(page) + "&per_page=100")));
    pages = result["pages"];
    EXPECT_EQ(result["per_page"], 100);
    EXPECT_EQ(result["total"], expected.size());
    for (const auto& e : result["expenses"]) seen.push_back(e["id"]);
  }
  EXPECT_EQ(pages, 3);
  EXPECT_EQ(seen.size(), expected.size());
  EXPECT_EQ(std::set<int64_t>(seen.begin(), seen.end()), expected);
}

TEST_F(FreshBooksExpensesTest, PagingEdgeCasesFollowTheDocs) {
  Start(30);
  // per_page is silently capped at 100; page 0 is page 1; past the end is an empty list.
  EXPECT_EQ(Result(Call("GET", Acct("expenses/expenses?per_page=500")))["per_page"], 100);
  EXPECT_EQ(Result(Call("GET", Acct("expenses/expenses?page=0")))["page"], 1);
  auto past = Result(Call("GET", Acct("expenses/expenses?page=99")));
  EXPECT_TRUE(past["expenses"].empty());
  EXPECT_GT(past["total"].get<int>(), 0);

  HttpResponse bad_page = Call("GET", Acct("expenses/expenses?page=abc"));
  EXPECT_EQ(bad_page.status, 400);
  EXPECT_EQ(FirstError(bad_page)["errno"], 1014);
  HttpResponse negative = Call("GET", Acct("expenses/expenses?page=-1"));
  EXPECT_EQ(FirstError(negative)["errno"], 1014);
  HttpResponse bad_per_page = Call("GET", Acct("expenses/expenses?per_page=many"));
  EXPECT_EQ(bad_per_page.status, 400);
  EXPECT_EQ(FirstError(bad_per_page)["errno"], 1013);
}

TEST_F(FreshBooksExpensesTest, CreateGetAndExactMoney) {
  Start(10);
  auto body = ValidExpense();
  body["expense"]["amount"]["amount"] = "125";  // FreshBooks answers "125.00"
  body["expense"]["taxName1"] = "other tax";
  body["expense"]["taxPercent1"] = 13;
  body["expense"]["taxAmount1"] = {{"amount", "16.25"}, {"code", "USD"}};
  auto e = CreateExpense(body);
  EXPECT_EQ(e["amount"], (nlohmann::json{{"amount", "125.00"}, {"code", "USD"}}));
  EXPECT_EQ(e["taxPercent1"], "13");  // percentages come back as strings
  EXPECT_EQ(e["taxAmount1"]["amount"], "16.25");
  EXPECT_EQ(e["categoryid"], CategoryId("Software"));
  EXPECT_EQ(e["vis_state"], 0);
  EXPECT_EQ(e["clientid"], 0);
  EXPECT_EQ(e["has_receipt"], false);
  auto got =
      Result(Call("GET", Acct("expenses/expenses/" + std::to_string(e["id"].get<int64_t>()))))["expense"];
  EXPECT_EQ(got, e);

  // Large and 3-decimal-currency amounts stay exact.
  body["expense"]["amount"] = {{"amount", "98765432101.99"}, {"code", "USD"}};
  body["expense"].erase("taxAmount1");
  EXPECT_EQ(CreateExpense(body)["amount"]["amount"], "98765432101.99");
  body["expense"]["amount"] = {{"amount", "12.345"}, {"code", "KWD"}};
  EXPECT_EQ(CreateExpense(body)["amount"], (nlohmann::json{{"amount", "12.345"}, {"code", "KWD"}}));

  // Category by name, as FB-POSTMAN allows.
  auto by_name = ValidExpense();
  by_name["expense"].erase("categoryid");
  by_name["expense"]["category_name"] = "Airfare";
  EXPECT_EQ(CreateExpense(by_name)["categoryid"], CategoryId("Airfare"));
}

TEST_F(FreshBooksExpensesTest, BadInputIsRejectedInTheLegacyErrorShape) {
  Start(10);
  auto without = [&](const char* field) {
    auto b = ValidExpense();
    b["expense"].erase(field);
    return b;
  };
  auto with = [&](const char* field, nlohmann::json value) {
    auto b = ValidExpense();
    b["expense"][field] = std::move(value);
    return b;
  };
  auto e = Rejected(without("categoryid"));
  EXPECT_EQ(e["errno"], 1001);
  EXPECT_EQ(e["field"], "categoryid");
  EXPECT_EQ(e["object"], "expense");
  EXPECT_TRUE(e.contains("message") && e.contains("value"));

  EXPECT_EQ(Rejected(without("amount"))["errno"], 1001);
  EXPECT_EQ(Rejected(without("date"))["field"], "date");
  // Money must be a decimal string, exact for the currency.
  e = Rejected(with("amount", {{"amount", 79.73}, {"code", "USD"}}));
  EXPECT_EQ(e["errno"], 1004);
  EXPECT_EQ(e["field"], "amount.amount");
  EXPECT_EQ(Rejected(with("amount", {{"amount", "12.345"}, {"code", "USD"}}))["errno"], 1015);
  EXPECT_EQ(Rejected(with("amount", {{"amount", "1,000.00"}, {"code", "USD"}}))["errno"], 1015);
  EXPECT_EQ(Rejected(with("amount", {{"amount", "-5.00"}, {"code", "USD"}}))["errno"], 1025);
  EXPECT_EQ(Rejected(with("amount", {{"amount", "5.00"}, {"code", "usd"}}))["field"], "amount.code");
  e = Rejected(with("categoryid", "99999999"));
  EXPECT_EQ(e["errno"], 1012);
  EXPECT_EQ(e["value"], "99999999");
  EXPECT_EQ(Rejected(with("categoryid", "abc"))["errno"], 1015);
  EXPECT_EQ(Rejected(with("date", "24/04/2025"))["errno"], 1033);
  EXPECT_EQ(Rejected(with("staffid", 77))["errno"], 1012);
  // Issue 13 item 4: every documented create sends staffid (FB-POSTMAN); a create without it is refused.
  e = Rejected(without("staffid"));
  EXPECT_EQ(e["errno"], 1001);
  EXPECT_EQ(e["field"], "staffid");
  EXPECT_EQ(Rejected(with("notes", 42))["errno"], 1004);
  EXPECT_EQ(Rejected(with("attachment", {{"jwt", "no.such.jwt"}, {"media_type", "image/png"}}))["errno"],
            1012);
  // Several problems are reported together.
  auto two = without("amount");
  two["expense"]["date"] = "never";
  HttpResponse r = CallJson("POST", Acct("expenses/expenses"), two);
  EXPECT_EQ(r.Json()->at("response").at("errors").size(), 2u);
  // Envelope problems.
  EXPECT_EQ(Rejected(nlohmann::json{{"amount", "1.00"}})["field"], "expense");
  const size_t before = ExpenseCount();
  HttpResponse garbage =
      Call("POST", Acct("expenses/expenses"), "{not json", {{"Content-Type", "application/json"}});
  EXPECT_EQ(garbage.status, 400);
  EXPECT_EQ(FirstError(garbage)["errno"], 1005);
  EXPECT_EQ(ExpenseCount(), before);
}

TEST_F(FreshBooksExpensesTest, ValidationStatusIsConfigurable) {
  Start(5, {{"validation_status", 400}});
  auto b = ValidExpense();
  b["expense"].erase("categoryid");
  EXPECT_EQ(CallJson("POST", Acct("expenses/expenses"), b).status, 400);
}

TEST_F(FreshBooksExpensesTest, UnknownIdsAndForeignAccountsAreRefused) {
  Start(5);
  HttpResponse missing = Call("GET", Acct("expenses/expenses/999"));
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(*missing.Json(), (nlohmann::json{{"response",
                                              {{"errors",
                                                {{{"errno", 1012},
                                                  {"field", "expenseid"},
                                                  {"message", "Expense not found."},
                                                  {"object", "expense"},
                                                  {"value", "999"}}}}}}}));
  EXPECT_EQ(Call("PUT", Acct("expenses/expenses/999"), R"({"expense":{"notes":"x"}})").status, 404);
  HttpResponse foreign = Call("GET", "/accounting/account/XYZ999/expenses/expenses");
  EXPECT_EQ(foreign.status, 403);
  EXPECT_EQ(FirstError(foreign)["errno"], 1003);
  HttpResponse no_route = Call("GET", Acct("expenses/nothing_here"));
  EXPECT_EQ(no_route.status, 404);
  EXPECT_EQ(FirstError(no_route)["errno"], 1012);
  // Expenses are deleted through vis_state; there is no DELETE.
  HttpResponse del = Call("DELETE", Acct("expenses/expenses/1825001"));
  EXPECT_EQ(del.status, 405);
  EXPECT_TRUE(del.Json()->contains("response"));
}

TEST_F(FreshBooksExpensesTest, UpdateChangesOnlyTheGivenFieldsAndTouchesUpdated) {
  Start(5);
  auto e = CreateExpense(ValidExpense("before"));
  const std::string id = std::to_string(e["id"].get<int64_t>());
  AdvanceClock(3600);
  auto u = Result(
      CallJson("PUT", Acct("expenses/expenses/" + id), {{"expense", {{"notes", "after"}}}}))["expense"];
  EXPECT_EQ(u["notes"], "after");
  EXPECT_EQ(u["amount"], e["amount"]);
  EXPECT_GT(u["updated"].get<std::string>(), e["updated"].get<std::string>());
  HttpResponse bad =
      CallJson("PUT", Acct("expenses/expenses/" + id), {{"expense", {{"amount", {{"amount", "x"}}}}}});
  EXPECT_EQ(bad.status, 422);
  EXPECT_EQ(Result(Call("GET", Acct("expenses/expenses/" + id)))["expense"]["notes"], "after");
}

TEST_F(FreshBooksExpensesTest, IsDuplicateFollowsLiveExpensesWithTheSameDateAmountAndVendor) {
  Start(0);
  auto body = ValidExpense("first");
  body["expense"]["vendor"] = "Same Vendor";
  auto first = CreateExpense(body);
  EXPECT_EQ(first["isduplicate"], false);
  body["expense"]["notes"] = "second";
  auto second = CreateExpense(body);
  EXPECT_EQ(second["isduplicate"], true);
  const std::string first_path = Acct("expenses/expenses/" + std::to_string(first["id"].get<int64_t>()));
  EXPECT_EQ(Result(Call("GET", first_path))["expense"]["isduplicate"], true);
  // Another vendor is not a duplicate; deleting the second leaves the first alone again.
  auto other = body;
  other["expense"]["vendor"] = "Other Vendor";
  EXPECT_EQ(CreateExpense(other)["isduplicate"], false);
  Result(CallJson("PUT", Acct("expenses/expenses/" + std::to_string(second["id"].get<int64_t>())),
                  {{"expense", {{"vis_state", 1}}}}));
  EXPECT_EQ(Result(Call("GET", first_path))["expense"]["isduplicate"], false);
}

TEST_F(FreshBooksExpensesTest, SoftDeleteViaVisStateHidesFromDefaultLists) {
  Start(100);
  auto e = CreateExpense(ValidExpense("to delete"));
  const int64_t id = e["id"];
  const int64_t total_before = Result(Call("GET", Acct("expenses/expenses")))["total"];
  // A vis_state in a PUT throws the rest of the data away (FB-DOCS active_deleted).
  auto d = Result(CallJson("PUT", Acct("expenses/expenses/" + std::to_string(id)),
                           {{"expense", {{"vis_state", 1}, {"notes", "ignored"}}}}))["expense"];
  EXPECT_EQ(d["vis_state"], 1);
  EXPECT_EQ(d["notes"], "to delete");
  EXPECT_EQ(Result(Call("GET", Acct("expenses/expenses")))["total"], total_before - 1);
  auto deleted =
      Result(Call("GET", Acct("expenses/expenses?search%5Bvis_state%5D=1&per_page=100")))["expenses"];
  bool found = false;
  for (const auto& x : deleted) {
    EXPECT_EQ(x["vis_state"], 1);
    found = found || x["id"] == id;
  }
  EXPECT_TRUE(found);
  // Still readable by id, and restorable.
  EXPECT_EQ(Result(Call("GET", Acct("expenses/expenses/" + std::to_string(id))))["expense"]["vis_state"], 1);
  CallJson("PUT", Acct("expenses/expenses/" + std::to_string(id)), {{"expense", {{"vis_state", 0}}}});
  EXPECT_EQ(Result(Call("GET", Acct("expenses/expenses")))["total"], total_before);
  // Archived ones stay in the default list; vis_state=0 lists active only.
  int64_t archived = 0;
  for (const auto& x : Objects("expenses")) archived += x["vis_state"] == 2 ? 1 : 0;
  ASSERT_GT(archived, 0);
  EXPECT_EQ(Result(Call("GET", Acct("expenses/expenses?search[vis_state]=0")))["total"],
            total_before - archived);
  EXPECT_EQ(
      CallJson("PUT", Acct("expenses/expenses/" + std::to_string(id)), {{"expense", {{"vis_state", 7}}}})
          .status,
      422);
}

// Issue 13 items 7 and 8: FB-DOCS /api/expenses documents no notes (or vendor) filter, and vis_state only
// as search[vis_state]=N: the undocumented forms are refused (errno 1037) instead of answered.
TEST_F(FreshBooksExpensesTest, UndocumentedFiltersAreRefused) {
  Start(10);
  for (const std::string q :
       {"search%5Bnotes_like%5D=mlc%3Ak", "search[notes_like]=x", "search[vendor]=Figma",
        "search[vendor_like]=Fig", "search[vis_states][]=0&search[vis_states][]=1", "search[amount]=1.00",
        "search[status]=0"}) {
    HttpResponse r = Call("GET", Acct("expenses/expenses?" + q));
    EXPECT_EQ(r.status, 400) << q << ": " << r.body;
    EXPECT_EQ(FirstError(r)["errno"], 1037) << q;
  }
  EXPECT_EQ(Call("GET", Acct("expenses/categories?sort=updated_at_asc")).status, 400);
  EXPECT_EQ(Call("GET", Acct("expenses/categories?search[updated_at_min]=2025-01-01")).status, 400);
  EXPECT_EQ(Call("GET", Acct("expenses/categories?search[updated_min]=2025-01-01")).status, 400);
  EXPECT_EQ(Call("GET", Acct("bills/bills?search[vis_states][]=0")).status, 400);
  EXPECT_EQ(Call("GET", Acct("bill_vendors/bill_vendors?search[vis_states][]=0")).status, 400);
  EXPECT_EQ(Call("GET", Acct("bill_payments/bill_payments?search[vis_states][]=0")).status, 400);
}

TEST_F(FreshBooksExpensesTest, AmountAndDateBetweensNarrowToOneDayAndAmount) {
  Start(40);
  const std::string marker = "mlc:job:4f1c2e";
  auto e = CreateExpense(ValidExpense("Brex card spend\n" + marker));
  const std::string narrow =
      "search[date_min]=2025-04-24&search[date_max]=2025-04-25&search[amount_min]=79.73&search[amount_max]="
      "79.74";
  auto hits = Result(Call("GET", Acct("expenses/expenses?" + narrow)));
  ASSERT_GE(hits["total"].get<int>(), 1);
  bool found = false;
  for (const auto& x : hits["expenses"]) {
    EXPECT_EQ(x["date"], "2025-04-24");
    EXPECT_EQ(x["amount"]["amount"], "79.73");
    found = found || x["id"] == e["id"];
  }
  EXPECT_TRUE(found);
  // amount_max is exclusive ("amount less than parameter").
  EXPECT_EQ(
      Result(Call("GET", Acct("expenses/expenses?search[date_min]=2025-04-24&search[date_max]=2025-04-25&"
                              "search[amount_min]=79.72&search[amount_max]=79.73")))["total"],
      0);
  EXPECT_EQ(Call("GET", Acct("expenses/expenses?search[amount_min]=abc")).status, 400);
  // Deleted expenses: only with search[vis_state]=1.
  CallJson("PUT", Acct("expenses/expenses/" + e["id"].dump()), {{"expense", {{"vis_state", 1}}}});
  EXPECT_EQ(Result(Call("GET", Acct("expenses/expenses?" + narrow)))["total"], hits["total"].get<int>() - 1);
  auto deleted = Result(Call("GET", Acct("expenses/expenses?search[vis_state]=1&" + narrow)));
  ASSERT_EQ(deleted["total"], 1);
  EXPECT_EQ(deleted["expenses"][0]["id"], e["id"]);
}

TEST_F(FreshBooksExpensesTest, SearchByUpdatedDateAndCategory) {
  Start(40);
  auto e = CreateExpense(ValidExpense("Brex card spend"));

  // updated_min is inclusive, updated_max exclusive; dates read in US/Eastern like the field.
  const std::string updated = e["updated"];
  auto since = Result(Call("GET", Acct("expenses/expenses?search[updated_min]=" + UrlEncode(updated))));
  EXPECT_EQ(since["total"], 1);
  EXPECT_EQ(since["expenses"][0]["id"], e["id"]);
  EXPECT_EQ(
      Result(Call("GET", Acct("expenses/expenses?search[updated_min]=" + updated.substr(0, 10))))["total"],
      1);
  auto before =
      Result(Call("GET", Acct("expenses/expenses?per_page=100&search[updated_max]=" + UrlEncode(updated))));
  for (const auto& x : before["expenses"]) EXPECT_LT(x["updated"].get<std::string>(), updated);

  auto by_date = Result(Call(
      "GET", Acct("expenses/expenses?per_page=100&search[date_min]=2025-02-01&search[date_max]=2025-03-01")));
  EXPECT_GT(by_date["total"].get<int>(), 0);
  for (const auto& x : by_date["expenses"]) {
    EXPECT_GE(x["date"].get<std::string>(), "2025-02-01");
    EXPECT_LT(x["date"].get<std::string>(), "2025-03-01");
  }
  const int64_t software = CategoryId("Software");
  auto by_cat = Result(
      Call("GET", Acct("expenses/expenses?per_page=100&search[categoryid]=" + std::to_string(software))));
  EXPECT_GT(by_cat["total"].get<int>(), 0);
  for (const auto& x : by_cat["expenses"]) EXPECT_EQ(x["categoryid"], software);
  const int64_t airfare = CategoryId("Airfare");
  auto in_list = Result(
      Call("GET", Acct("expenses/expenses?per_page=100&search[categoryids][]=" + std::to_string(software) +
                       "&search[categoryids][]=" + std::to_string(airfare))));
  for (const auto& x : in_list["expenses"])
    EXPECT_TRUE(x["categoryid"] == software || x["categoryid"] == airfare);
  EXPECT_GT(in_list["total"].get<int>(), by_cat["total"].get<int>());

  auto sorted = Result(Call("GET", Acct("expenses/expenses?per_page=100&sort=updated_desc")))["expenses"];
  for (size_t i = 1; i < sorted.size(); ++i) {
    EXPECT_GE(sorted[i - 1]["updated"].get<std::string>(), sorted[i]["updated"].get<std::string>());
  }
  HttpResponse unknown = Call("GET", Acct("expenses/expenses?search[colour]=red"));
  EXPECT_EQ(unknown.status, 400);
  EXPECT_EQ(FirstError(unknown)["errno"], 1037);
  EXPECT_EQ(FirstError(Call("GET", Acct("expenses/expenses?search[updated_min]=last-week")))["errno"], 1023);
  EXPECT_EQ(FirstError(Call("GET", Acct("expenses/expenses?search[categoryid]=x")))["errno"], 1024);
  EXPECT_EQ(Call("GET", Acct("expenses/expenses?sort=colour_asc")).status, 400);
}

TEST_F(FreshBooksExpensesTest, ErrorsCanArriveWithHttp200) {
  Start(5);
  Control("POST", "/_sandbox/events", {{"type", "errors_with_http_200"}, {"count", 1}});
  auto body = ValidExpense();
  body["expense"].erase("categoryid");
  const size_t before = ExpenseCount();
  HttpResponse r = CallJson("POST", Acct("expenses/expenses"), body);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(FirstError(r)["errno"], 1001);  // the legacy errors array inside a 200
  EXPECT_FALSE(r.Json()->at("response").contains("result"));
  EXPECT_EQ(ExpenseCount(), before);
  EXPECT_EQ(CallJson("POST", Acct("expenses/expenses"), body).status, 422);  // only the next one
}

TEST_F(FreshBooksExpensesTest, CommitThenDropLeavesExactlyOneExpense) {
  Start(5);
  Control("POST", "/_sandbox/faults",
          {{"routes",
            {{"POST /accounting/account/{account_id}/expenses/expenses",
              {{"commit_then_drop", 1.0}, {"count", 1}}}}}});
  const std::string marker = "mlc:job:commit-then-drop-1";
  client_.set_reuse_connections(false);  // a dropped pooled connection would be re-sent silently
  auto r = client_.Send("POST", base_ + Acct("expenses/expenses"),
                        {{"Authorization", "Bearer " + token_}, {"Content-Type", "application/json"}},
                        ValidExpense(marker).dump());
  EXPECT_FALSE(r.ok()) << "the response should have been dropped";
  int with_marker = 0;
  for (const auto& e : Objects("expenses")) with_marker += e["notes"] == marker ? 1 : 0;
  EXPECT_EQ(with_marker, 1);
  // The lookup a connector does before retrying finds it (by day and amount, then the notes).
  const nlohmann::json narrowed =
      Result(Call("GET", Acct("expenses/expenses?per_page=100&search[date_min]=2025-04-24&search[date_max]="
                              "2025-04-25&search[amount_min]=79.73&search[amount_max]=79.74")));
  int listed = 0;
  for (const auto& x : narrowed["expenses"]) listed += x["notes"] == marker ? 1 : 0;
  EXPECT_EQ(listed, 1);
  EXPECT_EQ(Control("GET", "/_sandbox/stats")["faults"]["commit_then_drop"], 1);
}

TEST_F(FreshBooksExpensesTest, CategoriesAreAReadOnlyRealisticChart) {
  Start(5);
  auto all = Result(Call("GET", Acct("expenses/categories?per_page=100")));
  std::set<std::string> names;
  for (const auto& c : all["categories"]) names.insert(c["category"]);
  for (const char* n : {"Advertising", "Software", "Travel", "Meals & Entertainment",
                        "Office Expenses & Postage", "Airfare", "Contractors", "Professional Services"}) {
    EXPECT_TRUE(names.count(n)) << n;
  }
  const int64_t software = CategoryId("Software");
  auto c = Result(Call("GET", Acct("expenses/categories/" + std::to_string(software))))["category"];
  EXPECT_EQ(c["categoryid"], software);
  EXPECT_TRUE(c["parentid"].is_number_integer());  // a child of Office Expenses & Postage
  EXPECT_TRUE(c.contains("transaction_posted"));
  HttpResponse post = CallJson("POST", Acct("expenses/categories"), {{"category", {{"category", "New"}}}});
  EXPECT_EQ(post.status, 405);
  HttpResponse missing = Call("GET", Acct("expenses/categories/1"));
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(FirstError(missing)["object"], "category");
  // include[]=category embeds it in expenses.
  auto with = Result(Call("GET", Acct("expenses/expenses?include%5B%5D=category")))["expenses"][0];
  EXPECT_EQ(with["category"]["categoryid"], with["categoryid"]);
}

TEST_F(FreshBooksExpensesTest, JournalEntryAccountsListTheChart) {
  Start(5);
  auto result = Result(Call("GET", Acct("journal_entry_accounts/journal_entry_accounts?per_page=100")));
  bool found = false;
  for (const auto& a : result["journal_entry_accounts"]) {
    if (a["account_name"] != "Operating Expenses") continue;
    found = true;
    EXPECT_EQ(a["account_type"], "expense");
    EXPECT_EQ(a["account_number"], "6000");
    EXPECT_EQ(a["balance"], "0");
    bool advertising = false;
    for (const auto& s : a["sub_accounts"])
      advertising = advertising || s["account_sub_name"] == "Advertising";
    EXPECT_TRUE(advertising);
  }
  EXPECT_TRUE(found);
  EXPECT_EQ(result["total"], result["journal_entry_accounts"].size());
}

TEST_F(FreshBooksExpensesTest, SeedIsDeterministic) {
  Start(30);
  const auto first = Objects("expenses");
  const auto bills = Objects("bills");
  Control("POST", "/_sandbox/reset");
  EXPECT_EQ(Objects("expenses"), first);
  EXPECT_EQ(Objects("bills"), bills);
  EXPECT_EQ(first.size(), 30u);
  EXPECT_EQ(Objects("bill_vendors").size(), 30u);
}

}  // namespace
}  // namespace mlc::sandbox::freshbooks::testing
