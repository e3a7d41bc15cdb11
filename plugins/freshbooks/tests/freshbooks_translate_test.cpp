// Unit tests of the FreshBooks translation: exact amounts both ways, the notes marker, expense and vendor
// bodies, reads of every stream's record, error bodies (including errors inside HTTP 200) and the webhook
// signature.
#include "freshbooks_translate.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "jsonschema/validator.hpp"
#include "mlc/json.hpp"
#include "mlc/money.hpp"

namespace mlc::plugins::freshbooks {
namespace {

using nlohmann::json;

json Parse(const std::string& text) {
  auto doc = mlc::json::ParseExact(text);
  EXPECT_TRUE(doc.ok()) << doc.status().ToString();
  return doc.ok() ? *doc : json();
}

json Expense(int64_t minor, const std::string& currency) {
  return {{"type", "expense"},
          {"source",
           {{"system", "brex"},
            {"connection", "b"},
            {"id", "e1"},
            {"version", "1"},
            {"updated_at", "2025-01-01T00:00:00Z"}}},
          {"links", json::object()},
          {"kind", "card"},
          {"amount", {{"amount_minor", minor}, {"currency", currency}}},
          {"merchant", "BLUE BOTTLE #12"},
          {"memo", "Team coffee"},
          {"spent_at", "2025-02-03"},
          {"status", "posted"}};
}

const json kRefs = {{"category", {{"id", "3100245"}, {"name", "Meals"}}}};

json SchemaFile(const std::string& name) {
  std::ifstream in(std::string(MLC_FRESHBOOKS_SCHEMA_DIR) + "/" + name + ".schema.json");
  std::stringstream buf;
  buf << in.rdbuf();
  return json::parse(buf.str());
}

// OK when `record` is a valid canonical object of its type (sdk/schemas), as the host will check it.
Status Canonical(const json& record) {
  jsonschema::Validator v(SchemaFile(record.value("type", "")));
  v.AddReferencedSchema(SchemaFile("common"));
  if (!v.status().ok()) return v.status();
  return v.Check(record);
}

// ---- amounts -------------------------------------------------------------------------------------------

struct AmountCase {
  int64_t minor;
  const char* currency;
  const char* text;
};

TEST(FreshBooksTranslate, ExpenseAmountsAreExactDecimalText) {
  const std::vector<AmountCase> cases = {
      {0, "USD", "0.00"},         {1, "USD", "0.01"},
      {10, "USD", "0.10"},        {7973, "USD", "79.73"},
      {100000, "CAD", "1000.00"}, {999999999999, "USD", "9999999999.99"},
      {1999, "USD", "19.99"},     {1, "JPY", "1"},
      {123456, "JPY", "123456"},  {1, "KWD", "0.001"},
      {39991, "BHD", "39.991"},   {12345678, "KWD", "12345.678"},
      {5, "EUR", "0.05"},         {1050, "GBP", "10.50"},
      {100, "CLF", "0.0100"},
  };
  for (const auto& c : cases) {
    auto body = ExpenseToVendor(Expense(c.minor, c.currency), kRefs, "k1");
    ASSERT_TRUE(body.ok()) << body.status().ToString();
    EXPECT_EQ((*body)["expense"]["amount"]["amount"], c.text) << c.minor << " " << c.currency;
    EXPECT_EQ((*body)["expense"]["amount"]["code"], c.currency);
  }
}

TEST(FreshBooksTranslate, VendorAmountsReadBackExactly) {
  // FreshBooks normalizes "125" to "125.00"; captures show three decimals too.
  const std::vector<std::pair<std::string, std::pair<std::string, int64_t>>> cases = {
      {"125", {"USD", 12500}},  {"125.00", {"USD", 12500}},     {"0.01", {"USD", 1}},
      {"79.73", {"CAD", 7973}}, {"1500", {"JPY", 1500}},        {"39.991", {"KWD", 39991}},
      {"1.500", {"USD", 150}},  {"99999.99", {"EUR", 9999999}},
  };
  for (const auto& [text, expect] : cases) {
    json payment = {{"id", 7},
                    {"billid", 3},
                    {"amount", {{"amount", text}, {"code", expect.first}}},
                    {"paid_date", "2025-03-01"},
                    {"payment_type", "Check"},
                    {"note", nullptr},
                    {"vis_state", 0}};
    auto out = PaymentFromVendor(payment, "fb");
    ASSERT_TRUE(out.ok()) << text << ": " << out.status().ToString();
    EXPECT_EQ((*out)["amount"]["amount_minor"], expect.second) << text;
    EXPECT_EQ((*out)["amount"]["currency"], expect.first);
    EXPECT_TRUE(Canonical(*out).ok()) << Canonical(*out).ToString();
  }
  json bad = {{"id", 7},
              {"billid", 3},
              {"amount", {{"amount", "1.005"}, {"code", "USD"}}},
              {"paid_date", "2025-03-01"},
              {"payment_type", "Check"}};
  EXPECT_FALSE(PaymentFromVendor(bad, "fb").ok());  // more decimals than USD has: refused, not rounded
}

// ---- notes and marker ---------------------------------------------------------------------------------

TEST(FreshBooksTranslate, NotesEndWithTheMarker) {
  EXPECT_EQ(BuildNotes("Team coffee", {{"department", "Engineering"}, {"project", "P-104"}}, "job-42"),
            "Team coffee\ndepartment: Engineering\nproject: P-104\nmlc:job-42");
  EXPECT_EQ(BuildNotes("", {}, "k"), "mlc:k");
  EXPECT_TRUE(NotesCarryMarker("Team coffee\nmlc:job-42", "job-42"));
  EXPECT_TRUE(NotesCarryMarker("mlc:job-42\n", "job-42"));
  EXPECT_FALSE(NotesCarryMarker("Team coffee\nmlc:job-421", "job-42"));  // a longer key is another key
  EXPECT_FALSE(NotesCarryMarker("mlc:job-42\nedited later", "job-42"));
  EXPECT_FALSE(NotesCarryMarker("", "job-42"));
}

TEST(FreshBooksTranslate, LongMemoIsShortenedSoTheMarkerFits) {
  const std::string memo(5000, 'x');
  const std::string notes = BuildNotes(memo, {{"department", "Ops"}}, "key");
  EXPECT_LE(notes.size(), kMaxNotes);
  EXPECT_TRUE(NotesCarryMarker(notes, "key"));
  EXPECT_NE(notes.find("...\ndepartment: Ops\n"), std::string::npos);
}

// ---- expense writes -----------------------------------------------------------------------------------

TEST(FreshBooksTranslate, ExpenseBodyCarriesCategoryVendorDateAndNotes) {
  json refs = {{"category", {{"id", "3100245"}}},
               {"vendor", {{"id", "88"}, {"name", "Blue Bottle Coffee"}}},
               {"dimensions",
                {{"department",
                  {{
                       "id",
                       "ENG",
                   },
                   {"name", "Engineering"}}},
                 {"project", {{"name", "P-104"}}}}}};
  auto body = ExpenseToVendor(Expense(1250, "USD"), refs, "idem-1");
  ASSERT_TRUE(body.ok()) << body.status().ToString();
  const json& e = (*body)["expense"];
  EXPECT_EQ(e["categoryid"], "3100245");
  EXPECT_EQ(e["vendor"], "Blue Bottle Coffee");  // the resolved vendor's name, not the card descriptor
  EXPECT_EQ(e["date"], "2025-02-03");
  EXPECT_EQ(e["notes"], "Team coffee\ndepartment: Engineering\nproject: P-104\nmlc:idem-1");
  EXPECT_FALSE(e.contains("attachment"));
}

TEST(FreshBooksTranslate, ExpenseVendorFallsBackToMerchantAndCreateRefUsesTheName) {
  auto plain = ExpenseToVendor(Expense(100, "USD"), kRefs, "k");
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ((*plain)["expense"]["vendor"], "BLUE BOTTLE #12");
  json refs = kRefs;
  refs["vendor"] = {{"create", true}, {"name", "Blue Bottle Coffee"}};
  auto created = ExpenseToVendor(Expense(100, "USD"), refs, "k");
  ASSERT_TRUE(created.ok());
  EXPECT_EQ((*created)["expense"]["vendor"], "Blue Bottle Coffee");
}

TEST(FreshBooksTranslate, ExpenseWithoutCategoryIsInvalid) {
  auto body = ExpenseToVendor(Expense(100, "USD"), json::object(), "k");
  ASSERT_FALSE(body.ok());
  EXPECT_EQ(body.status().code(), Code::kInvalid);
  EXPECT_NE(body.status().message().find("category"), std::string::npos);
  // A category by name only is not enough either: FreshBooks needs the id.
  EXPECT_FALSE(ExpenseToVendor(Expense(100, "USD"), {{"category", {{"name", "Meals"}}}}, "k").ok());
}

TEST(FreshBooksTranslate, BadExpensesAreInvalid) {
  json e = Expense(100, "USD");
  e["amount"]["amount_minor"] = "1.00";
  EXPECT_EQ(ExpenseToVendor(e, kRefs, "k").status().code(), Code::kInvalid);
  e = Expense(100, "usd");
  EXPECT_EQ(ExpenseToVendor(e, kRefs, "k").status().code(), Code::kInvalid);
  e = Expense(100, "USD");
  e["spent_at"] = "03/02/2025";
  EXPECT_EQ(ExpenseToVendor(e, kRefs, "k").status().code(), Code::kInvalid);
  EXPECT_EQ(ExpenseToVendor(Expense(100, "USD"), kRefs, "").status().code(), Code::kInvalid);
}

TEST(FreshBooksTranslate, VendorBody) {
  json v = {
      {"type", "vendor"},
      {"name", "IKEA"},
      {"email", "ap@ikea.com"},
      {"currency", "USD"},
      {"address", {{"line1", "332 Carlton Ave."}, {"city", "San Francisco"}, {"region", "California"}}}};
  auto body = VendorToVendor(v);
  ASSERT_TRUE(body.ok());
  EXPECT_EQ((*body)["bill_vendor"]["vendor_name"], "IKEA");
  EXPECT_EQ((*body)["bill_vendor"]["primary_contact_email"], "ap@ikea.com");
  EXPECT_EQ((*body)["bill_vendor"]["province"], "California");
  EXPECT_FALSE(VendorToVendor({{"type", "vendor"}}).ok());
  // Issue 13 item 14: the documented create (FB-POSTMAN "Add Vendor") sends currency_code and language.
  EXPECT_EQ((*body)["bill_vendor"]["currency_code"], "USD");
  EXPECT_EQ((*body)["bill_vendor"]["language"], "en");
  VendorOptions cad;
  cad.currency_code = "CAD";
  cad.language = "fr";
  auto plain = VendorToVendor({{"type", "vendor"}, {"name", "Tim Hortons"}}, cad);
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ((*plain)["bill_vendor"]["currency_code"], "CAD");
  EXPECT_EQ((*plain)["bill_vendor"]["language"], "fr");
  EXPECT_EQ((*VendorToVendor(v, cad))["bill_vendor"]["currency_code"], "USD");  // the vendor's own wins
}

// Issue 13 item 15: FreshBooks refuses negative expense amounts (errno 1025 InvalidNegativeValue).
TEST(FreshBooksTranslate, RefundsArePositiveInTheRefundCategoryOrRefused) {
  auto refused = ExpenseToVendor(Expense(-1999, "USD"), kRefs, "k1");
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), Code::kInvalid);
  EXPECT_NE(refused.status().message().find("refund_category_id"), std::string::npos);
  ExpenseOptions options;
  options.refund_category_id = "555";
  options.staff_id = "7";
  auto refund = ExpenseToVendor(Expense(-1999, "USD"), kRefs, "k1", options);
  ASSERT_TRUE(refund.ok()) << refund.status().ToString();
  EXPECT_EQ((*refund)["expense"]["amount"]["amount"], "19.99");
  EXPECT_EQ((*refund)["expense"]["categoryid"], "555");
  EXPECT_EQ((*refund)["expense"]["staffid"], 7);
  const std::string notes = (*refund)["expense"]["notes"];
  EXPECT_NE(notes.find("refund: true\n"), std::string::npos) << notes;
  EXPECT_TRUE(NotesCarryMarker(notes, "k1"));
  // A purchase is unchanged by the option.
  auto purchase = ExpenseToVendor(Expense(1999, "USD"), kRefs, "k1", options);
  ASSERT_TRUE(purchase.ok());
  EXPECT_NE((*purchase)["expense"]["categoryid"], "555");
  EXPECT_EQ((*purchase)["expense"]["notes"].get<std::string>().find("refund"), std::string::npos);
}

// ---- reads --------------------------------------------------------------------------------------------

TEST(FreshBooksTranslate, BillFromVendor) {
  const json bill = Parse(R"({"id": 12, "vendorid": 5, "bill_number": "INV-9", "issue_date": "2020-10-09",
    "due_date": "2020-11-17", "currency_code": "USD", "status": "partial", "vis_state": 0,
    "updated_at": "2021-09-01 15:30:29", "total_amount": {"amount": "141.25", "code": "USD"},
    "tax_amount": {"amount": "16.25", "code": "USD"}, "outstanding": {"amount": "41.25", "code": "USD"},
    "vendor": {"vendor_name": "IKEA"},
    "lines": [{"amount": {"amount": "125.00", "code": "USD"}, "quantity": "1", "description": "Malm Side Table",
               "unit_cost": {"amount": "125.00", "code": "USD"}, "tax_amount1": {"amount": "16.25", "code": "USD"},
               "tax_amount2": null, "category": {"categoryid": 65773, "category": "Furniture"}}]})");
  auto out = BillFromVendor(bill, "fb");
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  const json& b = *out;
  EXPECT_EQ(b["source"]["id"], "12");
  EXPECT_EQ(b["source"]["updated_at"], "2021-09-01T15:30:29Z");  // bills are UTC
  EXPECT_EQ(b["vendor"], json({{"id", "5"}, {"name", "IKEA"}}));
  EXPECT_EQ(b["total"], json({{"amount_minor", 14125}, {"currency", "USD"}}));
  EXPECT_EQ(b["tax_total"]["amount_minor"], 1625);
  EXPECT_EQ(b["balance_due"]["amount_minor"], 4125);
  EXPECT_EQ(b["status"], "partially_paid");
  EXPECT_EQ(b["number"], "INV-9");
  EXPECT_EQ(b["lines"][0]["amount"]["amount_minor"], 12500);
  EXPECT_EQ(b["lines"][0]["tax_amount"]["amount_minor"], 1625);
  EXPECT_EQ(b["lines"][0]["category"], json({{"id", "65773"}, {"name", "Furniture"}}));
  EXPECT_EQ(b["lines"][0]["quantity"], "1");
  EXPECT_TRUE(Canonical(b).ok()) << Canonical(b).ToString();

  json deleted = bill;
  deleted["vis_state"] = 1;
  EXPECT_EQ(BillFromVendor(deleted, "fb")->at("status"), "void");  // soft delete
  json broken = bill;
  broken["total_amount"] = {{"amount", 141.25}, {"code", "USD"}};  // a float never passes
  EXPECT_FALSE(BillFromVendor(broken, "fb").ok());
}

TEST(FreshBooksTranslate, EasternTimestamps) {
  // FB-NODE: expense updated '2019-12-02 12:36:05' => 17:36:05Z (EST); category '2022-08-16 14:11:07' =>
  // 18:11:07Z (EDT); vendor '2021-06-17 12:08:25' => 16:08:25Z.
  EXPECT_EQ(FormatRfc3339(*ParseEasternNaive("2019-12-02 12:36:05")), "2019-12-02T17:36:05Z");
  EXPECT_EQ(FormatRfc3339(*ParseEasternNaive("2022-08-16 14:11:07")), "2022-08-16T18:11:07Z");
  EXPECT_EQ(FormatRfc3339(*ParseEasternNaive("2021-06-17 12:08:25")), "2021-06-17T16:08:25Z");
  EXPECT_EQ(FormatRfc3339(*ParseEasternNaive("2025-03-09 03:30:00")),
            "2025-03-09T07:30:00Z");  // after spring fwd
  EXPECT_EQ(FormatRfc3339(*ParseEasternNaive("2025-03-09 01:30:00")), "2025-03-09T06:30:00Z");
  EXPECT_FALSE(ParseEasternNaive("2025-13-01 00:00:00").has_value());
  EXPECT_FALSE(ParseEasternNaive("yesterday").has_value());
}

TEST(FreshBooksTranslate, CategoryVendorAndAccounts) {
  const json cat =
      Parse(R"({"category": "Airfare", "categoryid": 12345678, "created_at": "2022-08-16 14:11:07",
    "id": 12345678, "is_cogs": false, "is_editable": true, "parentid": 19876543, "transaction_posted": true,
    "updated_at": "2022-10-07 11:04:59", "vis_state": 0})");
  auto c = CategoryFromVendor(cat, "fb");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ((*c)["name"], "Airfare");
  EXPECT_EQ((*c)["parent"], json({{"id", "19876543"}}));
  EXPECT_EQ((*c)["source"]["updated_at"], "2022-10-07T15:04:59Z");
  EXPECT_EQ((*c)["active"], true);
  EXPECT_TRUE(Canonical(*c).ok()) << Canonical(*c).ToString();

  const json vendor = Parse(R"({"vendorid": 5, "vendor_name": "IKEA", "primary_contact_email": "jm@ikea.com",
    "website": "ikea.com", "country": "United States", "city": "San Francisco", "currency_code": "USD",
    "updated_at": "2021-06-17 12:08:25", "vis_state": 2})");
  auto v = VendorFromVendor(vendor, "fb");
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_EQ((*v)["status"], "inactive");                          // archived
  EXPECT_FALSE(v->contains("website"));                           // not a URI
  EXPECT_EQ((*v)["address"], json({{"city", "San Francisco"}}));  // a country name is not ISO alpha-2
  EXPECT_TRUE(Canonical(*v).ok()) << Canonical(*v).ToString();

  const json account = Parse(R"({"account_name": "Operating Expenses", "account_number": "6000",
    "account_type": "expense", "accountid": 1234567, "balance": "0", "created_at": "2022-08-16 14:11:07",
    "currency_code": "CAD", "id": 1234567, "sub_accounts": [{"account_sub_name": "Advertising",
    "account_sub_number": "1", "account_type": "expense", "balance": "0", "created_at": "2022-08-16 14:11:07",
    "currency_code": "CAD", "custom": true, "id": 9876543, "parentid": 1234567, "sub_accountid": 9876543}]})");
  auto a = AccountsFromVendor(account, "fb");
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  ASSERT_EQ(a->size(), 2u);
  EXPECT_EQ((*a)[0]["code"], "6000");
  EXPECT_EQ((*a)[0]["classification"], "expense");
  EXPECT_EQ((*a)[1]["name"], "Advertising");
  EXPECT_EQ((*a)[1]["parent"], json({{"id", "1234567"}}));
  for (const json& acc : *a) EXPECT_TRUE(Canonical(acc).ok()) << Canonical(acc).ToString();
}

// FreshBooks sends null for missing values (and, now and then, another type): null reads as absent, another
// type is a clear error naming the field, and nothing throws (fuzz/regressions/freshbooks_read).
TEST(FreshBooksTranslate, NullMembersReadAsAbsent) {
  auto c = CategoryFromVendor(Parse(R"({"categoryid": 1, "category": "Airfare",
    "updated_at": "2022-10-07 11:04:59", "vis_state": null})"),
                              "fb");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ((*c)["active"], true);

  auto v = VendorFromVendor(Parse(R"({"vendorid": 5, "vendor_name": "IKEA",
    "updated_at": "2021-06-17 12:08:25", "vis_state": null})"),
                            "fb");
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_EQ((*v)["status"], "active");

  auto a = AccountsFromVendor(Parse(R"({"accountid": 1, "account_name": "Ops", "account_type": null,
    "created_at": null, "sub_accounts": null})"),
                              "fb");
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  ASSERT_EQ(a->size(), 1u);
  EXPECT_FALSE((*a)[0].contains("subtype"));

  auto b =
      BillFromVendor(Parse(R"({"id": 12, "vendorid": 5, "issue_date": "2020-10-09", "currency_code": null,
    "status": null, "updated_at": "2021-09-01 15:30:29", "total_amount": {"amount": "1.00", "code": "USD"},
    "lines": [{"amount": {"amount": "1.00", "code": "USD"}}]})"),
                     "fb");
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  EXPECT_EQ((*b)["status"], "open");
  EXPECT_EQ((*b)["total"]["currency"], "USD");

  auto p = PaymentFromVendor(Parse(R"({"id": 7, "billid": 3, "amount": {"amount": "1.00", "code": "USD"},
    "paid_date": "2025-03-01", "payment_type": null})"),
                             "fb");
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ((*p)["method"], "other");
}

TEST(FreshBooksTranslate, WrongTypedMembersAreErrorsNamingTheField) {
  auto expect_error = [](const Result<json>& r, const std::string& field) {
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), Code::kError);
    EXPECT_NE(r.status().message().find(field), std::string::npos) << r.status().message();
  };
  expect_error(
      CategoryFromVendor(Parse(R"({"categoryid": 1, "category": "Airfare", "updated_at": null})"), "fb"),
      "updated_at");
  expect_error(CategoryFromVendor(Parse(R"({"categoryid": 1, "category": "Airfare",
    "updated_at": "2022-10-07 11:04:59", "vis_state": "0"})"),
                                  "fb"),
               "vis_state");
  expect_error(VendorFromVendor(Parse(R"({"vendorid": 5, "vendor_name": "IKEA",
    "updated_at": "2021-06-17 12:08:25", "vis_state": [1]})"),
                                "fb"),
               "vis_state");
  expect_error(BillFromVendor(Parse(R"({"id": 12, "vendorid": 5, "issue_date": "2020-10-09",
    "currency_code": "USD", "status": 3, "updated_at": "2021-09-01 15:30:29",
    "total_amount": {"amount": "1.00", "code": "USD"}, "lines": []})"),
                              "fb"),
               "status");
  expect_error(BillFromVendor(Parse(R"({"id": 12, "vendorid": 5, "issue_date": "2020-10-09",
    "currency_code": 840, "updated_at": "2021-09-01 15:30:29"})"),
                              "fb"),
               "currency_code");
  expect_error(PaymentFromVendor(Parse(R"({"id": 7, "billid": 3, "amount": {"amount": "1.00", "code": "USD"},
    "paid_date": "2025-03-01", "payment_type": {"name": "Check"}})"),
                                 "fb"),
               "payment_type");

  auto accounts = [](const std::string& text) {
    auto doc = mlc::json::ParseExact(text);
    EXPECT_TRUE(doc.ok());
    return AccountsFromVendor(*doc, "fb");
  };
  for (const char* bad : {R"({"accountid": 1, "account_name": "Ops", "created_at": 1660659067})",
                          R"({"accountid": 1, "account_name": "Ops", "account_type": true})",
                          R"({"accountid": 1, "account_name": "Ops", "sub_accounts": [{"sub_accountid": 2,
                              "account_sub_name": "Ads", "account_type": 5}]})",
                          R"({"accountid": 1, "account_name": "Ops", "sub_accounts": {"a": 1}})"}) {
    auto r = accounts(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.status().code(), Code::kError);
  }
  EXPECT_NE(accounts(R"({"accountid": 1, "account_name": "Ops", "created_at": 1660659067})")
                .status()
                .message()
                .find("'created_at'"),
            std::string::npos);

  // Error bodies whose message is not text are still errors (the message is left out).
  auto legacy =
      ResponseError(200, Parse(R"({"response": {"errors": [{"errno": 1001, "message": 42}]}})"), "GET x");
  ASSERT_TRUE(legacy.has_value());
  EXPECT_EQ(legacy->code(), Code::kInvalid);
  auto modern = ResponseError(400, Parse(R"({"errors": {"message": ["m"]}})"), "GET x");
  ASSERT_TRUE(modern.has_value());
  EXPECT_EQ(modern->code(), Code::kInvalid);
  EXPECT_EQ(modern->message(), "GET x: HTTP 400");
}

TEST(FreshBooksTranslate, MemberReadersNeverThrow) {
  const json obj = Parse(R"({"s": "x", "n": null, "i": 7, "u": 18446744073709551615, "f": 1.5, "b": true})");
  EXPECT_EQ(*StringMember(obj, "s", "t"), "x");
  EXPECT_EQ(*StringMember(obj, "n", "t", "dflt"), "dflt");
  EXPECT_EQ(*StringMember(obj, "missing", "t", "dflt"), "dflt");
  EXPECT_EQ(StringMember(obj, "i", "thing 1").status().message(), "thing 1 has a non-text 'i'");
  EXPECT_EQ(*IntMember(obj, "i", "t", 0), 7);
  EXPECT_EQ(*IntMember(obj, "n", "t", 3), 3);
  EXPECT_EQ(*IntMember(json::array(), "i", "t", 4), 4);
  for (const char* key : {"s", "u", "f", "b"}) {
    auto r = IntMember(obj, key, "thing 1", 0);
    ASSERT_FALSE(r.ok()) << key;
    EXPECT_EQ(r.status().message(), std::string("thing 1 has a non-integer '") + key + "'");
  }
}

// FormatRfc3339 writes four-digit years only: every parser refuses instants outside years 0001-9999 rather
// than let the sign of a negative year drop or a fifth digit appear.
TEST(FreshBooksTranslate, TimestampsOutsideYears1To9999AreRefused) {
  EXPECT_FALSE(ParseRfc3339("0000-01-01T00:30:00+01:00").has_value());  // 1 BCE in UTC
  EXPECT_FALSE(ParseRfc3339("0000-06-01T00:00:00Z").has_value());
  EXPECT_FALSE(ParseRfc3339("0001-01-01T00:30:00+01:00").has_value());
  EXPECT_FALSE(ParseRfc3339("9999-12-31T23:59:59-01:00").has_value());  // year 10000 in UTC
  EXPECT_FALSE(ParseUtcNaive("0000-12-31").has_value());
  EXPECT_FALSE(ParseEasternNaive("9999-12-31 23:00:00").has_value());
  EXPECT_FALSE(ParseEasternNaive("0000-12-31 18:00:00").has_value());  // 23:00 UTC, still year 0
  EXPECT_EQ(FormatRfc3339(*ParseEasternNaive("0000-12-31 23:00:00")), "0001-01-01T04:00:00Z");

  EXPECT_EQ(*ParseRfc3339("0001-01-01T00:00:00Z"), kMinInstant);
  EXPECT_EQ(*ParseRfc3339("9999-12-31T23:59:59Z"), kMaxInstant);
  EXPECT_EQ(*ParseRfc3339("0001-01-01T01:00:00+01:00"), kMinInstant);
  EXPECT_EQ(FormatRfc3339(kMinInstant), "0001-01-01T00:00:00Z");
  EXPECT_EQ(FormatRfc3339(kMaxInstant), "9999-12-31T23:59:59Z");
  EXPECT_EQ(*ParseUtcNaive("9999-12-31 23:59:59"), kMaxInstant);

  // A record whose time falls outside is refused with the field named, not written with a wrong time.
  auto cat = CategoryFromVendor(Parse(R"({"categoryid": 1, "category": "Airfare",
    "updated_at": "9999-12-31 22:00:00"})"),
                                "fb");
  ASSERT_FALSE(cat.ok());
  EXPECT_NE(cat.status().message().find("updated_at"), std::string::npos);
  auto pay = PaymentFromVendor(Parse(R"({"id": 7, "billid": 3, "amount": {"amount": "1.00", "code": "USD"},
    "paid_date": "0000-03-01"})"),
                               "fb");
  ASSERT_FALSE(pay.ok());
  EXPECT_NE(pay.status().message().find("paid_date"), std::string::npos);
}

// ---- errors -------------------------------------------------------------------------------------------

TEST(FreshBooksTranslate, ErrorsInsideHttp200AreNotSuccess) {
  const json validation = Parse(R"({"response": {"errors": [{"errno": 1001, "field": "categoryid",
    "message": "Field categoryid is required.", "object": "expense", "value": null}]}})");
  auto s = ResponseError(200, validation, "POST expenses");
  ASSERT_TRUE(s.has_value());
  EXPECT_EQ(s->code(), Code::kInvalid);
  EXPECT_NE(s->message().find("Field categoryid is required."), std::string::npos);
  const json other = Parse(R"({"response": {"errors": [{"errno": 500, "message": "Unexpected error"}]}})");
  EXPECT_EQ(ResponseError(200, other, "x")->code(), Code::kError);
  const json denied = Parse(R"({"response": {"errors": [{"errno": 1003, "message": "Access denied."}]}})");
  EXPECT_EQ(ResponseError(200, denied, "x")->code(), Code::kAuth);
  EXPECT_FALSE(
      ResponseError(200, Parse(R"({"response": {"result": {"expense": {"id": 1}}}})"), "x").has_value());
}

TEST(FreshBooksTranslate, HttpStatusesMapToStatuses) {
  const json oauth =
      Parse(R"({"error": "invalid_token", "error_description": "The access token is invalid"})");
  EXPECT_EQ(ResponseError(401, oauth, "x")->code(), Code::kAuth);
  EXPECT_NE(ResponseError(401, oauth, "x")->message().find("The access token is invalid"), std::string::npos);
  EXPECT_EQ(ResponseError(429, json::object(), "x")->code(), Code::kRetry);
  EXPECT_EQ(ResponseError(503, json::object(), "x")->code(), Code::kRetry);
  EXPECT_EQ(
      ResponseError(
          422, Parse(R"({"response": {"errors": [{"errno": 1012, "message": "Category not found."}]}})"), "x")
          ->code(),
      Code::kInvalid);
  EXPECT_EQ(
      ResponseError(400, Parse(R"({"errno": 422, "message": "semantic", "details": ["event: bad"]})"), "x")
              ->message()
              .find("event: bad") != std::string::npos,
      true);
  EXPECT_EQ(ResponseError(418, json::object(), "x")->code(), Code::kError);
}

// ---- webhooks -----------------------------------------------------------------------------------------

TEST(FreshBooksTranslate, SignatureMatchesTheDocumentedAlgorithm) {
  // Vector from the vendor notes (computed with FreshBooks' published Python).
  const auto fields = ParseForm(
      "name=invoice.create&object_id=1234567&account_id=6BApk&business_id=6543&identity_id=1234&user_id=1");
  EXPECT_EQ(
      PythonJsonDumps(fields),
      R"({"name": "invoice.create", "object_id": "1234567", "account_id": "6BApk", "business_id": "6543", "identity_id": "1234", "user_id": "1"})");
  EXPECT_EQ(WebhookSignature("test-verifier-123", fields), "o++ZnPG4JJV+5pkKoQTdPctE4vXYcxrwbqp7JRXZgy4=");
  // Non-ASCII is escaped as \uXXXX.
  const auto accented = ParseForm("name=client.update&object_id=42&account_id=Ab&user_id=1&note=caf%C3%A9");
  EXPECT_EQ(WebhookSignature("test-verifier-123", accented), "K7Yo8dY7RSKJJLryG6rprRFqIC3szOmJwAvX+/Y802Q=");
}

TEST(FreshBooksTranslate, FormParsingAndEventStreams) {
  const auto f = ParseForm("a=1+2&b=%2F%zz&c&=x");
  ASSERT_EQ(f.size(), 4u);
  EXPECT_EQ(f[0], std::make_pair(std::string("a"), std::string("1 2")));
  EXPECT_EQ(f[1].second, "/%zz");
  EXPECT_EQ(f[2], std::make_pair(std::string("c"), std::string()));
  EXPECT_EQ(StreamForEvent("bill.create"), "bills");
  EXPECT_EQ(StreamForEvent("bill_vendor.delete"), "vendors");
  EXPECT_EQ(StreamForEvent("category.update"), "expense_categories");
  EXPECT_EQ(StreamForEvent("invoice.create"), "");
}

}  // namespace
}  // namespace mlc::plugins::freshbooks
