// FreshBooks emulator: bill vendors, bills, bill payments, invoice payments and ledger accounts — the
// Postman captures replayed, balances kept exact, and the errors for bad input.
#include "freshbooks_test_util.hpp"

namespace mlc::sandbox::freshbooks::testing {
namespace {

class FreshBooksBillsTest : public FreshBooksTest {
 protected:
  // FB-POSTMAN "Add Vendor" request body.
  nlohmann::json IkeaVendor() {
    return {{"bill_vendor",
             {{"vendor_name", "IKEA"},
              {"primary_contact_first_name", "Jimmy"},
              {"primary_contact_last_name", "McNamara"},
              {"primary_contact_email", "jmcnamara@ikea.com"},
              {"primary_contact", nullptr},
              {"street", "332 Carlton Ave."},
              {"street2", nullptr},
              {"city", "San Francisco"},
              {"province", "California"},
              {"postal_code", nullptr},
              {"country", "United States"},
              {"account_number", "45454545"},
              {"phone", "4158859378"},
              {"website", "ikea.com"},
              {"currency_code", "USD"},
              {"language", "en"},
              {"is_1099", false},
              {"tax_defaults", nlohmann::json::array()}}}};
  }
  // FB-POSTMAN "Add Bill from Vendor" request body, pointed at `vendorid` and the Office Supplies category.
  nlohmann::json PostmanBill(int64_t vendorid) {
    const std::string category = std::to_string(CategoryId("Office Supplies"));
    auto line = [&](const char* amount, const char* description) {
      return nlohmann::json{{"tax_percent1", nullptr},
                            {"tax_percent2", nullptr},
                            {"unit_cost", {{"amount", amount}, {"code", "USD"}}},
                            {"description", description},
                            {"tax_name1", nullptr},
                            {"quantity", 1},
                            {"tax_name2", nullptr},
                            {"compounded_tax", false},
                            {"categoryid", category}};
    };
    return {{"bill",
             {{"vendorid", std::to_string(vendorid)},
              {"previous_vendor_id", nullptr},
              {"bill_number", nullptr},
              {"issue_date", "2020-10-09"},
              {"due_offset_days", 39},
              {"currency_code", "USD"},
              {"language", "en"},
              {"lines", {line("125", "Malm Side Table"), line("250", "Malm Book Shelf")}},
              {"attachment", nullptr}}}};
  }
  nlohmann::json Create(const std::string& path, const std::string& key, const nlohmann::json& body) {
    return Result(CallJson("POST", Acct(path), body))[key];
  }
  nlohmann::json Pay(int64_t billid, const std::string& amount) {
    return {{"bill_payment",
             {{"billid", billid},
              {"amount", {{"amount", amount}, {"code", "USD"}}},
              {"paid_date", "2020-10-20"},
              {"payment_type", "Check"},
              {"note", nullptr}}}};
  }
};

TEST_F(FreshBooksBillsTest, VendorsReplayThePostmanCapture) {
  Start(10);
  EXPECT_EQ(Result(Call("GET", Acct("bill_vendors/bill_vendors")))["total"], 30);
  auto v = Create("bill_vendors/bill_vendors", "bill_vendor", IkeaVendor());
  EXPECT_TRUE(v["vendorid"].is_number_integer());
  EXPECT_EQ(v["vendor_name"], "IKEA");
  EXPECT_EQ(v["account_number"], "45454545");
  EXPECT_EQ(v["outstanding_balance"], nlohmann::json::array());
  EXPECT_EQ(v["overdue_balance"], nlohmann::json::array());
  EXPECT_EQ(v["vis_state"], 0);
  EXPECT_EQ(v["created_at"].get<std::string>().size(), 19u);
  const std::string id = std::to_string(v["vendorid"].get<int64_t>());
  auto u = Result(
      CallJson("PUT", Acct("bill_vendors/bill_vendors/" + id), {{"bill_vendor", {{"phone", "4155550000"}}}}));
  EXPECT_EQ(u["bill_vendor"]["phone"], "4155550000");
  EXPECT_EQ(u["bill_vendor"]["city"], "San Francisco");
  auto like = Result(Call("GET", Acct("bill_vendors/bill_vendors?search[vendor_name_like]=ike")));
  EXPECT_EQ(like["total"], 1);

  // FB-POSTMAN "Delete Vendor": PUT vis_state 1.
  CallJson("PUT", Acct("bill_vendors/bill_vendors/" + id), {{"bill_vendor", {{"vis_state", 1}}}});
  EXPECT_EQ(Result(Call("GET", Acct("bill_vendors/bill_vendors")))["total"], 30);

  auto bad = IkeaVendor();
  bad["bill_vendor"].erase("vendor_name");
  HttpResponse missing = CallJson("POST", Acct("bill_vendors/bill_vendors"), bad);
  EXPECT_EQ(missing.status, 422);
  EXPECT_EQ(FirstError(missing)["field"], "vendor_name");
  // Issue 13 item 14: the documented create sends currency_code and language; without them it is refused.
  for (const char* field : {"currency_code", "language"}) {
    bad = IkeaVendor();
    bad["bill_vendor"].erase(field);
    HttpResponse r = CallJson("POST", Acct("bill_vendors/bill_vendors"), bad);
    EXPECT_EQ(r.status, 422) << field;
    EXPECT_EQ(FirstError(r)["field"], field);
    EXPECT_EQ(FirstError(r)["errno"], 1001);
  }
  bad = IkeaVendor();
  bad["bill_vendor"]["primary_contact_email"] = "not-an-email";
  EXPECT_EQ(FirstError(CallJson("POST", Acct("bill_vendors/bill_vendors"), bad))["errno"], 1004);
  bad = IkeaVendor();
  bad["bill_vendor"]["is_1099"] = "perhaps";
  EXPECT_EQ(FirstError(CallJson("POST", Acct("bill_vendors/bill_vendors"), bad))["errno"], 1031);
  HttpResponse unknown = Call("GET", Acct("bill_vendors/bill_vendors/424242"));
  EXPECT_EQ(unknown.status, 404);
  EXPECT_EQ(FirstError(unknown)["object"], "bill_vendor");
}

TEST_F(FreshBooksBillsTest, BillsComputeTotalsDueDatesAndLineShapes) {
  Start(10);
  auto v = Create("bill_vendors/bill_vendors", "bill_vendor", IkeaVendor());
  auto b = Create("bills/bills", "bill", PostmanBill(v["vendorid"]));
  // FB-POSTMAN "Add Bill from Vendor" response values.
  EXPECT_EQ(b["amount"], (nlohmann::json{{"amount", "375.00"}, {"code", "USD"}}));
  EXPECT_EQ(b["total_amount"]["amount"], "375.00");
  EXPECT_EQ(b["outstanding"]["amount"], "375.00");
  EXPECT_EQ(b["paid"]["amount"], "0.00");
  EXPECT_EQ(b["tax_amount"]["amount"], "0.00");
  EXPECT_EQ(b["due_date"], "2020-11-17");
  EXPECT_EQ(b["status"], "overdue");  // unpaid and past its due date on today's clock
  EXPECT_EQ(b["overall_category"], "Office Supplies");
  EXPECT_EQ(b["overall_description"], "Malm Side Table");
  EXPECT_EQ(b["bill_payments"], nlohmann::json::array());
  ASSERT_EQ(b["lines"].size(), 2u);
  const auto& line = b["lines"][0];
  EXPECT_EQ(line["quantity"], "1");
  EXPECT_EQ(line["unit_cost"]["amount"], "125.00");
  EXPECT_EQ(line["amount"]["amount"], "125.00");
  EXPECT_EQ(line["list_index"], 1);
  EXPECT_EQ(line["category"]["category"], "Office Supplies");
  EXPECT_EQ(b["lines"][1]["list_index"], 2);
  EXPECT_EQ(b["created_at"].get<std::string>().size(), 19u);

  // Taxes per line, exact to the cent.
  auto taxed = PostmanBill(v["vendorid"]);
  taxed["bill"]["lines"][0]["tax_name1"] = "HST";
  taxed["bill"]["lines"][0]["tax_percent1"] = "13";
  taxed["bill"]["lines"][0]["quantity"] = "3";
  auto t = Create("bills/bills", "bill", taxed);
  EXPECT_EQ(t["lines"][0]["amount"]["amount"], "375.00");
  EXPECT_EQ(t["lines"][0]["tax_amount1"]["amount"], "48.75");
  EXPECT_EQ(t["tax_amount"]["amount"], "48.75");
  EXPECT_EQ(t["total_amount"]["amount"], "673.75");

  auto included = Result(Call("GET", Acct("bills/bills/" + std::to_string(b["id"].get<int64_t>()) +
                                          "?include%5B%5D=vendor")))["bill"];
  EXPECT_EQ(included["vendor"]["vendor_name"], "IKEA");
}

TEST_F(FreshBooksBillsTest, BillValidation) {
  Start(10);
  auto v = Create("bill_vendors/bill_vendors", "bill_vendor", IkeaVendor());
  const size_t before = Objects("bills").size();
  auto body = PostmanBill(999999);
  EXPECT_EQ(FirstError(CallJson("POST", Acct("bills/bills"), body))["field"], "vendorid");
  body = PostmanBill(v["vendorid"]);
  body["bill"]["lines"][0].erase("categoryid");
  EXPECT_EQ(FirstError(CallJson("POST", Acct("bills/bills"), body))["errno"], 1001);
  body = PostmanBill(v["vendorid"]);
  body["bill"]["lines"][1]["unit_cost"]["code"] = "CAD";
  EXPECT_EQ(FirstError(CallJson("POST", Acct("bills/bills"), body))["errno"], 1004);
  body = PostmanBill(v["vendorid"]);
  body["bill"]["lines"] = nlohmann::json::array();
  EXPECT_EQ(FirstError(CallJson("POST", Acct("bills/bills"), body))["field"], "lines");
  body = PostmanBill(v["vendorid"]);
  body["bill"]["lines"][0]["unit_cost"]["amount"] = 125;
  EXPECT_EQ(FirstError(CallJson("POST", Acct("bills/bills"), body))["errno"], 1004);
  body = PostmanBill(v["vendorid"]);
  body["bill"]["issue_date"] = "2020-13-01";
  EXPECT_EQ(FirstError(CallJson("POST", Acct("bills/bills"), body))["errno"], 1033);
  EXPECT_EQ(Objects("bills").size(), before);
  EXPECT_EQ(FirstError(Call("GET", Acct("bills/bills/77")))["object"], "bill");
}

TEST_F(FreshBooksBillsTest, BillPaymentsMoveBalancesAndStatus) {
  Start(10);
  auto v = Create("bill_vendors/bill_vendors", "bill_vendor", IkeaVendor());
  auto b = Create("bills/bills", "bill", PostmanBill(v["vendorid"]));
  const int64_t billid = b["id"];
  const std::string bill_path = "bills/bills/" + std::to_string(billid);
  auto vendor =
      Result(Call("GET", Acct("bill_vendors/bill_vendors/" + std::to_string(v["vendorid"].get<int64_t>()))));
  EXPECT_EQ(vendor["bill_vendor"]["outstanding_balance"][0]["amount"]["amount"], "375.00");

  auto p1 = Create("bill_payments/bill_payments", "bill_payment", Pay(billid, "100.00"));
  EXPECT_EQ(p1["billid"], billid);
  EXPECT_EQ(p1["payment_type"], "Check");
  auto partial = Result(Call("GET", Acct(bill_path)))["bill"];
  EXPECT_EQ(partial["status"], "partial");
  EXPECT_EQ(partial["paid"]["amount"], "100.00");
  EXPECT_EQ(partial["outstanding"]["amount"], "275.00");
  EXPECT_EQ(partial["bill_payments"].size(), 1u);

  // Overpaying is refused; so are bad types and unknown bills.
  HttpResponse over = CallJson("POST", Acct("bill_payments/bill_payments"), Pay(billid, "275.01"));
  EXPECT_EQ(over.status, 422);
  EXPECT_EQ(FirstError(over)["errno"], 1040);
  auto bad_type = Pay(billid, "1.00");
  bad_type["bill_payment"]["payment_type"] = "Barter";
  EXPECT_EQ(FirstError(CallJson("POST", Acct("bill_payments/bill_payments"), bad_type))["field"],
            "payment_type");
  EXPECT_EQ(FirstError(CallJson("POST", Acct("bill_payments/bill_payments"), Pay(5555555, "1.00")))["errno"],
            1012);

  // A payment reads back by id and its amount can be corrected within what is open.
  const std::string p1_path = "bill_payments/bill_payments/" + std::to_string(p1["id"].get<int64_t>());
  EXPECT_EQ(Result(Call("GET", Acct(p1_path)))["bill_payment"], p1);
  auto corrected =
      Result(CallJson("PUT", Acct(p1_path), {{"bill_payment", {{"amount", {{"amount", "75.00"}}}}}}));
  EXPECT_EQ(corrected["bill_payment"]["amount"]["amount"], "75.00");
  EXPECT_EQ(FirstError(CallJson("PUT", Acct(p1_path), {{"bill_payment", {{"paid_date", "soon"}}}}))["errno"],
            1033);
  CallJson("PUT", Acct(p1_path), {{"bill_payment", {{"amount", {{"amount", "100.00"}}}}}});
  EXPECT_EQ(FirstError(Call("GET", Acct("bill_payments/bill_payments/31337")))["object"], "bill_payment");

  auto p2 = Create("bill_payments/bill_payments", "bill_payment", Pay(billid, "275.00"));
  auto paid = Result(Call("GET", Acct(bill_path)))["bill"];
  EXPECT_EQ(paid["status"], "paid");
  EXPECT_EQ(paid["outstanding"]["amount"], "0.00");

  // Deleting a payment (vis_state 1) reopens the bill.
  CallJson("PUT", Acct("bill_payments/bill_payments/" + std::to_string(p2["id"].get<int64_t>())),
           {{"bill_payment", {{"vis_state", 1}}}});
  EXPECT_EQ(Result(Call("GET", Acct(bill_path)))["bill"]["outstanding"]["amount"], "275.00");
  auto listed =
      Result(Call("GET", Acct("bill_payments/bill_payments?search[billid]=" + std::to_string(billid))));
  EXPECT_EQ(listed["total"], 1);

  // Archive keeps a bill in the default list (FB-POSTMAN "Archive Bill"); delete hides it.
  const int64_t total = Result(Call("GET", Acct("bills/bills")))["total"];
  CallJson("PUT", Acct(bill_path), {{"bill", {{"vis_state", 2}}}});
  EXPECT_EQ(Result(Call("GET", Acct("bills/bills")))["total"], total);
  EXPECT_EQ(Result(Call("GET", Acct("bills/bills?search[vis_state]=2")))["bills"][0]["id"], billid);
  CallJson("PUT", Acct(bill_path), {{"bill", {{"vis_state", 1}}}});
  EXPECT_EQ(Result(Call("GET", Acct("bills/bills")))["total"], total - 1);
}

TEST_F(FreshBooksBillsTest, SeededBillsAndPaymentsAreConsistent) {
  Start(80);
  auto bills = Objects("bills");
  ASSERT_EQ(bills.size(), 40u);
  std::set<std::string> statuses;
  for (const auto& b : bills) {
    statuses.insert(b["status"]);
    // total = paid + outstanding, exactly.
    auto cents = [](const nlohmann::json& m) {
      std::string s = m["amount"].get<std::string>();
      s.erase(s.find('.'), 1);
      return std::stoll(s);
    };
    EXPECT_EQ(cents(b["total_amount"]), cents(b["paid"]) + cents(b["outstanding"]));
  }
  EXPECT_TRUE(statuses.count("paid"));
  EXPECT_GT(Objects("bill_payments").size(), 0u);
  auto filtered = Result(Call("GET", Acct("bills/bills?per_page=100&search[status]=paid")));
  for (const auto& b : filtered["bills"]) EXPECT_EQ(b["status"], "paid");
}

TEST_F(FreshBooksBillsTest, InvoicePayments) {
  Start(40);
  auto invoices = Objects("invoices");
  ASSERT_FALSE(invoices.empty());
  const int64_t invoiceid = invoices[0]["id"];
  auto p = Create("payments/payments", "payment",
                  {{"payment",
                    {{"invoiceid", invoiceid},
                     {"amount", {{"amount", "10.00"}, {"code", "USD"}}},
                     {"date", "2025-05-01"},
                     {"type", "Check"}}}});
  EXPECT_EQ(p["invoiceid"], invoiceid);
  EXPECT_EQ(p["amount"]["amount"], "10.00");
  EXPECT_EQ(p["clientid"], invoices[0]["clientid"]);
  HttpResponse unknown = CallJson("POST", Acct("payments/payments"),
                                  {{"payment",
                                    {{"invoiceid", 1},
                                     {"amount", {{"amount", "10.00"}, {"code", "USD"}}},
                                     {"date", "2025-05-01"},
                                     {"type", "Check"}}}});
  EXPECT_EQ(unknown.status, 422);
  EXPECT_EQ(FirstError(unknown)["field"], "invoiceid");
  auto list = Result(Call("GET", Acct("payments/payments?search[invoiceid]=" + std::to_string(invoiceid))));
  EXPECT_GE(list["total"].get<int>(), 1);
  const std::string path = "payments/payments/" + std::to_string(p["id"].get<int64_t>());
  EXPECT_EQ(Result(Call("GET", Acct(path)))["payment"]["id"], p["id"]);
  auto noted = Result(CallJson("PUT", Acct(path), {{"payment", {{"note", "wire ref 1234"}}}}))["payment"];
  EXPECT_EQ(noted["note"], "wire ref 1234");
  EXPECT_EQ(noted["amount"]["amount"], "10.00");
  EXPECT_EQ(FirstError(CallJson("PUT", Acct(path), {{"payment", {{"type", "Seashells"}}}}))["field"], "type");
  EXPECT_EQ(Call("GET", Acct("payments/payments/1")).status, 404);
}

TEST_F(FreshBooksBillsTest, LedgerAccountsUseTheDataEnvelope) {
  Start(5);
  const std::string base =
      "/accounting/businesses/" + creds_["business_uuid"].get<std::string>() + "/ledger_accounts/accounts";
  auto list = Get(base);
  ASSERT_TRUE(list["data"].is_array());
  std::string cash;
  for (const auto& a : list["data"]) {
    if (a["name"] == "Cash") cash = a["uuid"];
  }
  ASSERT_FALSE(cash.empty());
  // FB-POSTMAN "Create Account" request; answers 201 {"data": {...}}.
  HttpResponse created = CallJson("POST", base,
                                  {{"name", "Store Cash 3"},
                                   {"number", "1003"},
                                   {"description", "Account for Store Cash"},
                                   {"sub_type", "Cash & Bank"},
                                   {"parent_account", cash},
                                   {"system_account_name", nullptr},
                                   {"auto_created", false}});
  ASSERT_EQ(created.status, 201) << created.body;
  auto a = created.Json()->at("data");
  EXPECT_EQ(a["type"], "asset");
  EXPECT_EQ(a["state"], "active");
  EXPECT_EQ(a["parent_account"], cash);
  EXPECT_EQ(Get(base + "/" + a["uuid"].get<std::string>())["data"]["name"], "Store Cash 3");

  const std::string account_path = base + "/" + a["uuid"].get<std::string>();
  HttpResponse renamed = CallJson("PUT", account_path, {{"name", "Store Cash 4"}});
  ASSERT_EQ(renamed.status, 200) << renamed.body;
  EXPECT_EQ(renamed.Json()->at("data")["name"], "Store Cash 4");
  EXPECT_EQ(renamed.Json()->at("data")["number"], "1003");
  HttpResponse bad_sub_type = CallJson("PUT", account_path, {{"sub_type", "Treasure"}});
  EXPECT_EQ(bad_sub_type.status, 400);
  EXPECT_EQ(bad_sub_type.Json()->at("errors")["details"][0]["metadata"]["field"], "sub_type");

  HttpResponse invalid = CallJson("POST", base, nlohmann::json::object());
  EXPECT_EQ(invalid.status, 400);
  auto errors = invalid.Json()->at("errors");
  EXPECT_EQ(errors["status"], 400);
  EXPECT_EQ(errors["message"], "Request failed with status code 400");
  ASSERT_EQ(errors["details"].size(), 3u);
  EXPECT_EQ(errors["details"][0]["reason"], "name: This field is required.");
  EXPECT_EQ(errors["details"][0]["metadata"]["field"], "name");

  HttpResponse missing = Call("GET", base + "/no-such-uuid");
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(missing.Json()->at("errors")["details"][0]["reason"], "Not found.");
  EXPECT_EQ(Call("GET", "/accounting/businesses/someone-else/ledger_accounts/accounts").status, 403);
  EXPECT_EQ(Call("DELETE", base + "/" + cash).status, 405);  // ledger accounts have no delete
}

}  // namespace
}  // namespace mlc::sandbox::freshbooks::testing
