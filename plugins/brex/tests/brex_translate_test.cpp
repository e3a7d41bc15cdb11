// Unit tests of the Brex translation code: decimal-dollar amounts, accounting field mapping, records and
// vendors to canonical objects, Standard Webhooks verification (Svix test vectors), webhook events, cursors.
#include "brex_translate.hpp"

#include <gtest/gtest.h>

#include <map>
#include <string>

#include "mlc/json.hpp"

namespace mlc::plugins::brex {
namespace {

using nlohmann::json;

json Exact(const std::string& text) {
  auto doc = mlc::json::ParseExact(text);
  EXPECT_TRUE(doc.ok()) << doc.status().message();
  return doc.ok() ? *doc : json();
}

// ---- amounts
// ------------------------------------------------------------------------------------------------

TEST(BrexAmountTest, DecimalDollarsBecomeExactMinorUnits) {
  struct Case {
    const char* json;
    int64_t minor;
  } cases[] = {
      {R"({"amount": 100.5, "currency": "USD"})", 10050},
      {R"({"amount": 100, "currency": "USD"})", 10000},
      {R"({"amount": 74.99, "currency": "USD"})", 7499},
      {R"({"amount": 0.01, "currency": "USD"})", 1},
      {R"({"amount": 0.1, "currency": "USD"})", 10},
      {R"({"amount": 0.29, "currency": "USD"})", 29},     // 0.29 * 100 is 28.999999999999996 as a double
      {R"({"amount": 1.005e0, "currency": "USD"})", -1},  // exponent: refused
      {R"({"amount": 123.0, "currency": "USD"})", 12300},
      {R"({"amount": 1.50, "currency": "USD"})", 150},
      {R"({"amount": -12.5, "currency": "USD"})", -1250},  // a refund sent signed
      {R"({"amount": -0.07, "currency": "USD"})", -7},
      {R"({"amount": 9007199254740.99, "currency": "USD"})", 900719925474099},  // beyond double precision
      {R"({"amount": 1500, "currency": "JPY"})", 1500},
      {R"({"amount": 1.234, "currency": "KWD"})", 1234},
      {R"({"amount": 0, "currency": "EUR"})", 0},
  };
  for (const auto& c : cases) {
    auto minor = AmountMinor(Exact(c.json), "amount");
    if (c.minor == -1) {
      EXPECT_FALSE(minor.ok()) << c.json;
      continue;
    }
    ASSERT_TRUE(minor.ok()) << c.json << ": " << minor.status().message();
    EXPECT_EQ(*minor, c.minor) << c.json;
  }
}

TEST(BrexAmountTest, MalformedAmountsNameTheField) {
  const char* bad[] = {
      R"({"amount": 1.005, "currency": "USD"})",  // more decimals than cents
      R"({"amount": 12.5, "currency": "JPY"})",   // yen have no minor unit
      R"({"amount": "abc", "currency": "USD"})",  // not a number
      R"({"amount": null, "currency": "USD"})",
      R"({"currency": "USD"})",
      R"({"amount": 1, "currency": "usd"})",
      R"({"amount": 1, "currency": "string"})",  // Brex's own example placeholder
      R"({"amount": 1})",
      R"([1, "USD"])",
  };
  for (const char* text : bad) {
    auto minor = AmountMinor(Exact(text), "line_items[0].amount");
    ASSERT_FALSE(minor.ok()) << text;
    EXPECT_EQ(minor.status().code(), Code::kInvalid) << text;
    EXPECT_NE(minor.status().message().find("line_items[0].amount"), std::string::npos)
        << minor.status().message();
  }
}

// ---- time
// -----------------------------------------------------------------------------------------------------

TEST(BrexTimeTest, ParsesAndFormatsMicrosecondTimestamps) {
  auto t = ParseTimestampMicros("2025-04-24T16:13:49.959513Z");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(FormatTimestampMicros(*t), "2025-04-24T16:13:49.959513Z");
  auto offset = ParseTimestampMicros("2025-04-24T18:13:49.959513+02:00");
  ASSERT_TRUE(offset.ok());
  EXPECT_EQ(*offset, *t);
  auto zoneless = ParseTimestampMicros("2023-01-01T23:59:59.999");  // Brex query examples: UTC
  ASSERT_TRUE(zoneless.ok());
  EXPECT_EQ(FormatTimestampMicros(*zoneless), "2023-01-01T23:59:59.999000Z");
  auto nanos = ParseTimestampMicros("2025-04-24T16:13:49.9595139Z");
  ASSERT_TRUE(nanos.ok());
  EXPECT_EQ(*nanos, *t);
  EXPECT_FALSE(ParseTimestampMicros("2025-04-24").ok());
  EXPECT_FALSE(ParseTimestampMicros("yesterday").ok());
  EXPECT_FALSE(ParseTimestampMicros("2025-13-24T16:13:49Z").ok());
  auto date = DateOf("2025-04-24T23:30:00-07:00", "purchased_at");
  ASSERT_TRUE(date.ok());
  EXPECT_EQ(*date, "2025-04-24");
  EXPECT_FALSE(DateOf("24/04/2025", "purchased_at").ok());
}

// ---- accounting fields
// ----------------------------------------------------------------------------------------

const char kRecord[] = R"({
  "id": "accr_abc123",
  "amount": {"amount": 100.5, "currency": "USD"},
  "original_amount": {"amount": 100.5, "currency": "USD"},
  "type": "CARD_EXPENSE_POST",
  "review_status": "READY_FOR_EXPORT",
  "source_id": "expense_xyz789",
  "source_type": "CARD",
  "erp_posting_date": "2025-04-24T16:13:49.959513Z",
  "updated_at": "2025-04-24T16:13:49.959513Z",
  "version": 2,
  "receipts": [{"id": "receipt_123", "download_uris": ["https://example.com/receipt_123.pdf"]}],
  "user": {"id": "cuuser_1234", "first_name": "John ", "last_name": "Doe ", "email": "john.doe@example.com",
           "role": "EMPLOYEE", "status": "ACTIVE"},
  "vendor": null,
  "memo": "Business lunch with client",
  "posted_at": "2025-04-25T09:00:00.000001Z",
  "due_at": null,
  "invoice_number": null,
  "line_items": [
    {"id": "accrli_1", "type": "DEBIT", "amount": {"amount": 100.5, "currency": "USD"}, "memo": "BLUE BOTTLE",
     "accounting_field_values": [
       {"brex_field_id": "extended_field_gl", "remote_field_id": "GL_ACCOUNT", "brex_field_value_id": "efo_6310",
        "remote_field_value_id": "6310", "field_name": "GL Account", "field_value_name": "6310 Meals & Entertainment",
        "type": "IDENTIFIER"},
       {"brex_field_id": "extended_field_dep", "remote_field_id": "DEPARTMENT", "brex_field_value_id": "efo_eng",
        "remote_field_value_id": "DEPT-ENG", "field_name": "Department", "field_value_name": "Engineering"},
       {"brex_field_id": "extended_field_cli", "remote_field_id": null, "brex_field_value_id": "efo_acme",
        "remote_field_value_id": null, "field_name": "Client Project", "field_value_name": "Acme"}]},
    {"id": "accrli_2", "type": "CREDIT", "amount": {"amount": 100.5, "currency": "USD"}, "memo": "Brex Card",
     "accounting_field_values": []}]
})";

TEST(BrexCodingTest, GlAccountAndDimensionsComeFromTheDebitLine) {
  const json record = Exact(kRecord);
  auto coding = CodingFromLines(record["line_items"], FieldMapping{});
  ASSERT_TRUE(coding.ok()) << coding.status().message();
  EXPECT_EQ((*coding)["account"],
            (json{{"id", "efo_6310"}, {"code", "6310"}, {"name", "6310 Meals & Entertainment"}}));
  EXPECT_EQ((*coding)["dimensions"]["department"],
            (json{{"id", "efo_eng"}, {"code", "DEPT-ENG"}, {"name", "Engineering"}}));
  // No remote id: keyed by the field name, referenced by Brex's value id and name.
  EXPECT_EQ((*coding)["dimensions"]["client_project"], (json{{"id", "efo_acme"}, {"name", "Acme"}}));
  EXPECT_FALSE(coding->contains("x-brex_lines"));  // one DEBIT line: nothing split
}

TEST(BrexCodingTest, MappingSettingsChooseTheGlFieldAndKeys) {
  const json record = Exact(kRecord);
  FieldMapping mapping;
  mapping.gl_field = "department";  // case-insensitive match on remote_field_id
  mapping.dimension_keys = {{"GL Account", "natural_account"}, {"extended_field_cli", "client"}};
  auto coding = CodingFromLines(record["line_items"], mapping);
  ASSERT_TRUE(coding.ok()) << coding.status().message();
  EXPECT_EQ((*coding)["account"]["code"], "DEPT-ENG");
  EXPECT_EQ((*coding)["dimensions"]["natural_account"]["code"], "6310");
  EXPECT_EQ((*coding)["dimensions"]["client"]["id"], "efo_acme");
  EXPECT_FALSE((*coding)["dimensions"].contains("department"));
}

TEST(BrexCodingTest, SplitDebitLinesAreAllKept) {
  json record = Exact(kRecord);
  json second = record["line_items"][0];
  second["id"] = "accrli_3";
  second["amount"] = Exact(R"({"amount": 20.25, "currency": "USD"})");
  second["accounting_field_values"][0]["remote_field_value_id"] = "6410";
  record["line_items"].push_back(second);
  auto coding = CodingFromLines(record["line_items"], FieldMapping{});
  ASSERT_TRUE(coding.ok()) << coding.status().message();
  EXPECT_EQ((*coding)["account"]["code"], "6310");  // the first line's coding on the expense
  ASSERT_EQ((*coding)["x-brex_lines"].size(), 2u);
  EXPECT_EQ((*coding)["x-brex_lines"][1]["amount_minor"], 2025);
  EXPECT_EQ((*coding)["x-brex_lines"][1]["account"]["code"], "6410");
}

TEST(BrexCodingTest, MalformedLinesNameTheField) {
  json record = Exact(kRecord);
  record["line_items"][0]["accounting_field_values"] = "GL 6310";
  auto a = CodingFromLines(record["line_items"], FieldMapping{});
  ASSERT_FALSE(a.ok());
  EXPECT_NE(a.status().message().find("line_items[0].accounting_field_values"), std::string::npos);

  record = Exact(kRecord);
  record["line_items"][0]["accounting_field_values"][1]["remote_field_value_id"] = 42;
  auto b = CodingFromLines(record["line_items"], FieldMapping{});
  ASSERT_FALSE(b.ok());
  EXPECT_NE(b.status().message().find("accounting_field_values[1].remote_field_value_id"), std::string::npos);

  record = Exact(kRecord);
  record["line_items"][1]["amount"] = Exact(R"({"amount": 1.001, "currency": "USD"})");
  auto c = CodingFromLines(record["line_items"], FieldMapping{});
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("line_items[1].amount"), std::string::npos);

  EXPECT_FALSE(CodingFromLines(json::object(), FieldMapping{}).ok());
}

TEST(BrexCodingTest, DimensionKeysAreCanonical) {
  EXPECT_EQ(DimensionKey("DEPARTMENT"), "department");
  EXPECT_EQ(DimensionKey("Cost Center (US)"), "cost_center_us");
  EXPECT_EQ(DimensionKey("2024 Project"), "f_2024_project");
  EXPECT_EQ(DimensionKey("---"), "field");
  EXPECT_EQ(DimensionKey(std::string(100, 'a')).size(), 64u);
}

// ---- records
// ----------------------------------------------------------------------------------------------------

TEST(BrexRecordTest, ReadyRecordBecomesACanonicalExpense) {
  RecordExtras extras;
  extras.expense = Exact(R"({"id": "expense_xyz789", "purchased_at": "2025-04-23T20:15:00-07:00",
      "merchant": {"raw_descriptor": " BLUE BOTTLE COFFEE SF ", "mcc": "5814", "country": "USA"},
      "payment_status": "CLEARED",
      "custom_fields": [{"key": "billable", "value": {"value_type": "SINGLE_VALUE", "data_type": "BOOLEAN", "data": true}}]})");
  extras.last4 = "4242";
  extras.receipts =
      json::array({{{"id", "receipt_123"}, {"file_name", "receipt_123.pdf"}, {"blob_id", "b1"}}});
  auto expense = ExpenseFromRecord(Exact(kRecord), extras, FieldMapping{}, "brex", "brex-main");
  ASSERT_TRUE(expense.ok()) << expense.status().message();
  const json& e = *expense;
  EXPECT_EQ(e["type"], "expense");
  EXPECT_EQ(e["kind"], "card");
  EXPECT_EQ(e["amount"], (json{{"amount_minor", 10050}, {"currency", "USD"}}));
  EXPECT_FALSE(e.contains("original_amount"));  // same currency
  EXPECT_EQ(e["source"]["system"], "brex");
  EXPECT_EQ(e["source"]["connection"], "brex-main");
  EXPECT_EQ(e["source"]["id"], "accr_abc123");
  EXPECT_EQ(e["source"]["version"], "2@2025-04-24T16:13:49.959513Z");
  EXPECT_EQ(e["source"]["updated_at"], "2025-04-24T16:13:49.959513Z");
  EXPECT_EQ(e["spent_at"], "2025-04-23");  // the purchase day, in the purchase's own offset
  EXPECT_EQ(e["posted_at"], "2025-04-25");
  EXPECT_EQ(e["merchant"], "BLUE BOTTLE COFFEE SF");
  EXPECT_EQ(e["memo"], "Business lunch with client");
  EXPECT_EQ(e["user"],
            (json{{"id", "cuuser_1234"}, {"name", "John Doe"}, {"email", "john.doe@example.com"}}));
  EXPECT_EQ(e["card_last4"], "4242");
  EXPECT_EQ(e["account"]["code"], "6310");
  EXPECT_EQ(e["dimensions"]["department"]["code"], "DEPT-ENG");
  EXPECT_EQ(e["receipts"][0]["blob_id"], "b1");
  EXPECT_EQ(e["billable"], true);
  EXPECT_EQ(e["status"], "posted");
  EXPECT_EQ(e["x-brex"]["source_id"], "expense_xyz789");
  for (const auto& [key, value] : e.items()) {
    // Money is never a float anywhere in the canonical object.
    EXPECT_FALSE(value.is_number_float()) << key;
  }
}

TEST(BrexRecordTest, RefundsAreNegativeAndReimbursementsKeepTheirStatus) {
  json refund = Exact(kRecord);
  refund["type"] = "CARD_EXPENSE_REFUND";
  refund["amount"] = Exact(R"({"amount": 19.99, "currency": "USD"})");
  refund["original_amount"] = Exact(R"({"amount": 18.5, "currency": "EUR"})");
  auto r = ExpenseFromRecord(refund, RecordExtras{}, FieldMapping{}, "brex", "c");
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ((*r)["amount"]["amount_minor"], -1999);
  EXPECT_EQ((*r)["original_amount"], (json{{"amount_minor", -1850}, {"currency", "EUR"}}));
  EXPECT_EQ((*r)["spent_at"], "2025-04-25");  // no expense fetched: the posting day
  EXPECT_FALSE(r->contains("merchant"));

  json signed_refund = refund;
  signed_refund["amount"] = Exact(R"({"amount": -19.99, "currency": "USD"})");
  auto s = ExpenseFromRecord(signed_refund, RecordExtras{}, FieldMapping{}, "brex", "c");
  ASSERT_TRUE(s.ok());
  EXPECT_EQ((*s)["amount"]["amount_minor"], -1999);  // already signed: not flipped back

  json reimbursement = Exact(kRecord);
  reimbursement["type"] = "REIMBURSEMENT_EXPENSE_APPROVAL";
  auto m = ExpenseFromRecord(reimbursement, RecordExtras{}, FieldMapping{}, "brex", "c");
  ASSERT_TRUE(m.ok());
  EXPECT_EQ((*m)["kind"], "reimbursement");
  EXPECT_EQ((*m)["status"], "approved");

  EXPECT_FALSE(ExpenseKind("CARD_PAYMENT"));
  EXPECT_FALSE(ExpenseKind("BILL_EXPENSE"));
  EXPECT_FALSE(ExpenseKind("SOMETHING_NEW"));
}

// Issue 13.11: the 19 record types, each economic event booked once with its sign (Brex's descriptions of the
// types, spec S2). Before, both REIMBURSEMENT_EXPENSE_APPROVAL and _POST booked the same reimbursement, and
// REIMBURSEMENT_EXPENSE_MONEY_MOVEMENT_REFUND ("refund to customer's bank") booked a negative expense.
TEST(BrexRecordTest, EachRecordTypeBooksOnceWithItsSign) {
  const std::map<std::string, Booking> accrual = {
      {"CARD_EXPENSE_POST", Booking::kExpense},
      {"CARD_EXPENSE_REFUND", Booking::kReversal},
      {"CARD_EXPENSE_REPAYMENT", Booking::kReversal},
      {"CARD_PAYMENT", Booking::kNone},
      {"CARD_PAYMENT_REFUND", Booking::kNone},
      {"REWARD_REDEMPTION", Booking::kNone},
      {"BILL_EXPENSE", Booking::kNone},
      {"BILL_EXPENSE_PAYMENT", Booking::kNone},
      {"BILL_EXPENSE_CARD_PAYMENT", Booking::kNone},
      {"BILL_MONEY_MOVEMENT_PAYIN", Booking::kNone},
      {"REIMBURSEMENT_EXPENSE_APPROVAL", Booking::kExpense},
      {"REIMBURSEMENT_EXPENSE_POST", Booking::kNone},
      {"REIMBURSEMENT_EXPENSE_REPAYMENT", Booking::kReversal},
      {"REIMBURSEMENT_EXPENSE_MONEY_MOVEMENT_PAYOUT", Booking::kNone},
      {"REIMBURSEMENT_EXPENSE_MONEY_MOVEMENT_PAYOUT_REVERSAL", Booking::kNone},
      {"REIMBURSEMENT_EXPENSE_MONEY_MOVEMENT_PAYIN", Booking::kNone},
      {"REIMBURSEMENT_EXPENSE_MONEY_MOVEMENT_REFUND", Booking::kNone},
      {"INVOICE", Booking::kNone},
      {"INVOICE_PAYMENT", Booking::kNone},
  };
  ASSERT_EQ(accrual.size(), 19u);
  for (const auto& [type, booking] : accrual) EXPECT_EQ(BookingOf(type), booking) << type;
  RecordTypes cash;
  cash.cash_basis = true;
  EXPECT_EQ(BookingOf("REIMBURSEMENT_EXPENSE_APPROVAL", cash), Booking::kNone);
  EXPECT_EQ(BookingOf("REIMBURSEMENT_EXPENSE_POST", cash), Booking::kExpense);
  RecordTypes custom;
  custom.overrides["CARD_EXPENSE_REPAYMENT"] = Booking::kNone;
  EXPECT_EQ(BookingOf("CARD_EXPENSE_REPAYMENT", custom), Booking::kNone);
  custom.overrides["CARD_PAYMENT"] = Booking::kExpense;  // no expense family: never books
  EXPECT_EQ(BookingOf("CARD_PAYMENT", custom), Booking::kNone);

  // A type that books nothing is refused by name; a reversal's coding comes from its CREDIT line.
  json post = Exact(kRecord);
  post["type"] = "REIMBURSEMENT_EXPENSE_POST";
  auto none = ExpenseFromRecord(post, RecordExtras{}, FieldMapping{}, "brex", "c");
  ASSERT_FALSE(none.ok());
  EXPECT_NE(none.status().message().find("REIMBURSEMENT_EXPENSE_POST"), std::string::npos);
  ASSERT_TRUE(ExpenseFromRecord(post, RecordExtras{}, FieldMapping{}, "brex", "c", cash).ok());
  json refund = Exact(kRecord);
  refund["type"] = "CARD_EXPENSE_REFUND";
  json debit = refund["line_items"][0];
  refund["line_items"][0]["accounting_field_values"] = json::array();
  refund["line_items"][1]["type"] = "CREDIT";
  refund["line_items"][1]["accounting_field_values"] = debit["accounting_field_values"];
  refund["line_items"][0]["type"] = "DEBIT";
  auto r = ExpenseFromRecord(refund, RecordExtras{}, FieldMapping{}, "brex", "c");
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_LT((*r)["amount"]["amount_minor"].get<int64_t>(), 0);
  EXPECT_TRUE(r->contains("account")) << r->dump();
}

TEST(BrexRecordTest, VersionChangesWithBrexVersionOrUpdatedAt) {
  json record = Exact(kRecord);
  auto v1 = RecordVersion(record);
  record["version"] = 3;
  auto v2 = RecordVersion(record);
  record["updated_at"] = "2025-04-24T16:13:49.959514Z";
  auto v3 = RecordVersion(record);
  ASSERT_TRUE(v1.ok() && v2.ok() && v3.ok());
  EXPECT_NE(*v1, *v2);
  EXPECT_NE(*v2, *v3);
  record.erase("version");
  EXPECT_FALSE(RecordVersion(record).ok());
}

TEST(BrexRecordTest, MalformedRecordsAreInvalidAndNamed) {
  json a = Exact(kRecord);
  a["amount"] = Exact(R"({"amount": 1.999, "currency": "USD"})");
  auto ra = ExpenseFromRecord(a, RecordExtras{}, FieldMapping{}, "brex", "c");
  ASSERT_FALSE(ra.ok());
  EXPECT_EQ(ra.status().code(), Code::kInvalid);
  EXPECT_NE(ra.status().message().find("accr_abc123"), std::string::npos);
  EXPECT_NE(ra.status().message().find("amount"), std::string::npos);

  json b = Exact(kRecord);
  b["updated_at"] = "last tuesday";
  auto rb = ExpenseFromRecord(b, RecordExtras{}, FieldMapping{}, "brex", "c");
  ASSERT_FALSE(rb.ok());
  EXPECT_NE(rb.status().message().find("updated_at"), std::string::npos);

  json c = Exact(kRecord);
  c.erase("posted_at");
  c.erase("erp_posting_date");
  EXPECT_FALSE(ExpenseFromRecord(c, RecordExtras{}, FieldMapping{}, "brex", "c").ok());

  EXPECT_FALSE(ExpenseFromRecord(json::array(), RecordExtras{}, FieldMapping{}, "brex", "c").ok());
}

TEST(BrexVendorTest, VendorBecomesCanonicalWithAContentVersion) {
  json vendor =
      Exact(R"({"id": "vendor_1", "company_name": "Northwind Print Co", "email": "billing@northwind.example",
      "phone": "+14155550123", "payment_accounts": [{"details": {"type": "ACH", "payment_instrument_id": "pi_1"}}]})");
  auto v = VendorFromBrex(vendor, "brex", "c", "2025-05-01T00:00:00.000000Z");
  ASSERT_TRUE(v.ok()) << v.status().message();
  EXPECT_EQ((*v)["name"], "Northwind Print Co");
  EXPECT_EQ((*v)["email"], "billing@northwind.example");
  EXPECT_EQ((*v)["source"]["id"], "vendor_1");
  EXPECT_EQ((*v)["x-brex_payment_instruments"][0]["type"], "ACH");
  vendor["phone"] = "+14155550124";
  auto changed = VendorFromBrex(vendor, "brex", "c", "2025-05-01T00:00:00.000000Z");
  ASSERT_TRUE(changed.ok());
  EXPECT_NE((*changed)["source"]["version"], (*v)["source"]["version"]);
  vendor.erase("company_name");
  auto bad = VendorFromBrex(vendor, "brex", "c", "2025-05-01T00:00:00.000000Z");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("company_name"), std::string::npos);
}

// ---- webhooks
// ---------------------------------------------------------------------------------------------------

// Svix / Standard Webhooks test vectors (brex.md §7.3; also used by the sandbox kit's webhooks_test).
constexpr char kTv1Secret[] = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
constexpr char kTv1Id[] = "msg_p5jXN8AQM9LWM0D4loKWxJek";
constexpr int64_t kTv1Ts = 1614265330;
constexpr char kTv1Body[] = R"({"test": 2432232314})";
constexpr char kTv1Sig[] = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";
constexpr char kTv2Secret[] = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";
constexpr char kTv2Id[] = "msg_27UH4WbU6Z5A5EzD8u03UvzRbpk";
constexpr int64_t kTv2Ts = 1649367553;
constexpr char kTv2Body[] = R"({"email":"test@example.com","username":"test_user"})";
constexpr char kTv2Sig[] = "v1,tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw=";
constexpr char kBadSig[] = "v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=";

std::map<std::string, std::string> Headers(const std::string& id, int64_t ts, const std::string& sig) {
  return {{"webhook-id", id}, {"webhook-timestamp", std::to_string(ts)}, {"webhook-signature", sig}};
}

Code Verify(const std::map<std::string, std::string>& headers, const std::string& body,
            const std::vector<std::string>& secrets, int64_t received_s) {
  return VerifyWebhook(headers, body, secrets, received_s * 1000, 300).code();
}

TEST(BrexWebhookTest, SignsTheTestVectors) {
  EXPECT_EQ(*SignWebhook(kTv1Secret, kTv1Id, kTv1Ts, kTv1Body), kTv1Sig);
  EXPECT_EQ(*SignWebhook("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", kTv1Id, kTv1Ts, kTv1Body),
            kTv1Sig);  // no prefix
  EXPECT_EQ(*SignWebhook(kTv2Secret, kTv2Id, kTv2Ts, kTv2Body), kTv2Sig);
  EXPECT_EQ(*SignWebhook(kTv1Secret, kTv1Id, kTv1Ts, std::string(1024 * 1024, 'a')),
            "v1,txpEUxqWZJ5nteTnymUVa+7C4NHpBeXJ6CsBAW0c3/A=");
  EXPECT_FALSE(SignWebhook("whsec_not base64!", kTv1Id, kTv1Ts, kTv1Body).ok());
}

TEST(BrexWebhookTest, AcceptsGoodSignaturesIncludingAmongSeveral) {
  EXPECT_EQ(Verify(Headers(kTv1Id, kTv1Ts, kTv1Sig), kTv1Body, {kTv1Secret}, kTv1Ts), Code::kOk);
  EXPECT_EQ(Verify(Headers(kTv2Id, kTv2Ts, kTv2Sig), kTv2Body, {kTv2Secret}, kTv2Ts + 299), Code::kOk);
  // Go's "valid multi sig is valid": other versions and wrong v1 entries around the good one.
  const std::string multi =
      std::string(kBadSig) + " v2,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc= " + kTv1Sig + " " + kBadSig;
  EXPECT_EQ(Verify(Headers(kTv1Id, kTv1Ts, multi), kTv1Body, {kTv1Secret}, kTv1Ts), Code::kOk);
  // svix-* header names are accepted as well.
  EXPECT_EQ(
      Verify({{"svix-id", kTv1Id}, {"svix-timestamp", std::to_string(kTv1Ts)}, {"svix-signature", kTv1Sig}},
             kTv1Body, {kTv1Secret}, kTv1Ts),
      Code::kOk);
}

TEST(BrexWebhookTest, SecretRotationAcceptsEitherSecret) {
  // During a rotation Brex signs with both secrets; the connection may hold only one of them, or both.
  const std::string old_sig = *SignWebhook(kTv1Secret, kTv1Id, kTv1Ts, kTv1Body);
  const std::string new_sig = *SignWebhook(kTv2Secret, kTv1Id, kTv1Ts, kTv1Body);
  const auto both = Headers(kTv1Id, kTv1Ts, new_sig + " " + old_sig);
  EXPECT_EQ(Verify(both, kTv1Body, {kTv2Secret}, kTv1Ts), Code::kOk);              // new secret only
  EXPECT_EQ(Verify(both, kTv1Body, {kTv1Secret}, kTv1Ts), Code::kOk);              // old secret only
  EXPECT_EQ(Verify(both, kTv1Body, {kTv2Secret, kTv1Secret}, kTv1Ts), Code::kOk);  // current + previous
  // Brex already signs with the new secret only; the connection still lists the old one as previous.
  EXPECT_EQ(Verify(Headers(kTv1Id, kTv1Ts, new_sig), kTv1Body, {kTv1Secret, kTv2Secret}, kTv1Ts), Code::kOk);
  // Neither secret: forged.
  EXPECT_EQ(Verify(both, kTv1Body, {"whsec_" + std::string("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")}, kTv1Ts),
            Code::kAuth);
}

TEST(BrexWebhookTest, RejectsForgedUnsignedStaleAndMalformed) {
  EXPECT_EQ(Verify(Headers(kTv1Id, kTv1Ts, kBadSig), kTv1Body, {kTv1Secret}, kTv1Ts), Code::kAuth);
  EXPECT_EQ(Verify(Headers(kTv1Id, kTv1Ts, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OA="), kTv1Body,
                   {kTv1Secret}, kTv1Ts),
            Code::kAuth);
  EXPECT_EQ(Verify(Headers(kTv1Id, kTv1Ts, "v1,"), kTv1Body, {kTv1Secret}, kTv1Ts), Code::kAuth);
  EXPECT_EQ(Verify(Headers(kTv1Id, kTv1Ts, "v1a,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="), kTv1Body,
                   {kTv1Secret}, kTv1Ts),
            Code::kAuth);  // not a v1 entry
  // The body, id or timestamp changed after signing.
  EXPECT_EQ(Verify(Headers(kTv1Id, kTv1Ts, kTv1Sig), R"({"test": 2432232315})", {kTv1Secret}, kTv1Ts),
            Code::kAuth);
  EXPECT_EQ(Verify(Headers("msg_other", kTv1Ts, kTv1Sig), kTv1Body, {kTv1Secret}, kTv1Ts), Code::kAuth);
  EXPECT_EQ(Verify(Headers(kTv1Id, kTv1Ts + 1, kTv1Sig), kTv1Body, {kTv1Secret}, kTv1Ts), Code::kAuth);
  // Unsigned.
  EXPECT_EQ(Verify({{"webhook-id", kTv1Id}, {"webhook-timestamp", std::to_string(kTv1Ts)}}, kTv1Body,
                   {kTv1Secret}, kTv1Ts),
            Code::kAuth);
  // Stale or from the future (tolerance 5 minutes), though correctly signed.
  EXPECT_EQ(Verify(Headers(kTv1Id, kTv1Ts, kTv1Sig), kTv1Body, {kTv1Secret}, kTv1Ts + 301), Code::kInvalid);
  EXPECT_EQ(Verify(Headers(kTv1Id, kTv1Ts, kTv1Sig), kTv1Body, {kTv1Secret}, kTv1Ts - 301), Code::kInvalid);
  EXPECT_EQ(Verify(Headers(kTv1Id, kTv1Ts, kTv1Sig), kTv1Body, {kTv1Secret}, kTv1Ts + 300), Code::kOk);
  // Malformed headers.
  EXPECT_EQ(Verify({{"webhook-timestamp", std::to_string(kTv1Ts)}, {"webhook-signature", kTv1Sig}}, kTv1Body,
                   {kTv1Secret}, kTv1Ts),
            Code::kInvalid);
  EXPECT_EQ(Verify({{"webhook-id", kTv1Id}, {"webhook-signature", kTv1Sig}}, kTv1Body, {kTv1Secret}, kTv1Ts),
            Code::kInvalid);
  EXPECT_EQ(
      Verify({{"webhook-id", kTv1Id}, {"webhook-timestamp", "1614265330.5"}, {"webhook-signature", kTv1Sig}},
             kTv1Body, {kTv1Secret}, kTv1Ts),
      Code::kInvalid);
  EXPECT_EQ(Verify({{"webhook-id", kTv1Id}, {"webhook-timestamp", "-5"}, {"webhook-signature", kTv1Sig}},
                   kTv1Body, {kTv1Secret}, kTv1Ts),
            Code::kInvalid);
  // A configured secret that is not base64 is a configuration error, not a forged delivery.
  EXPECT_EQ(Verify(Headers(kTv1Id, kTv1Ts, kTv1Sig), kTv1Body, {"whsec_###"}, kTv1Ts), Code::kInvalid);
  EXPECT_EQ(Verify(Headers(kTv1Id, kTv1Ts, kTv1Sig), kTv1Body, {}, kTv1Ts), Code::kInvalid);
}

TEST(BrexWebhookTest, EventsNameTheRecordsToFetch) {
  auto events = WebhookEvents("msg_1", R"({"event_type": "ACCOUNTING_RECORD_READY_FOR_EXPORT",
      "accountingRecordIds": ["accr_a", "accr_b"], "companyId": "cuacc_1"})");
  ASSERT_TRUE(events.ok()) << events.status().message();
  ASSERT_EQ(events->size(), 2u);
  EXPECT_EQ((*events)[0], (json{{"id", "msg_1"},
                                {"type", "ACCOUNTING_RECORD_READY_FOR_EXPORT"},
                                {"stream", "expenses"},
                                {"source_id", "accr_a"}}));
  EXPECT_EQ((*events)[1]["source_id"], "accr_b");

  auto payment =
      WebhookEvents("msg_2", R"({"event_type": "EXPENSE_PAYMENT_UPDATED", "expense_id": "expense_1",
      "payment_status": "PENDING", "payment_type": "PURCHASE", "amount": {"amount": 1030, "currency": "USD"}})");
  ASSERT_TRUE(payment.ok());
  EXPECT_EQ((*payment)[0],
            (json{{"id", "msg_2"}, {"type", "EXPENSE_PAYMENT_UPDATED"}, {"source_id", "expense_1"}}));
  auto transfer = WebhookEvents(
      "msg_3", R"({"event_type": "TRANSFER_FAILED", "transfer_id": "t_1", "payment_type": "ACH"})");
  ASSERT_TRUE(transfer.ok());
  EXPECT_EQ((*transfer)[0]["source_id"], "t_1");

  EXPECT_EQ(WebhookEvents("m", "not json").status().code(), Code::kInvalid);
  EXPECT_EQ(WebhookEvents("m", R"({"accountingRecordIds": ["a"]})").status().code(), Code::kInvalid);
  EXPECT_EQ(
      WebhookEvents("m", R"({"event_type": "ACCOUNTING_RECORD_READY_FOR_EXPORT", "accountingRecordIds": []})")
          .status()
          .code(),
      Code::kInvalid);
  EXPECT_EQ(WebhookEvents(
                "m", R"({"event_type": "ACCOUNTING_RECORD_READY_FOR_EXPORT", "accountingRecordIds": [7]})")
                .status()
                .code(),
            Code::kInvalid);
}

// ---- cursors
// ----------------------------------------------------------------------------------------------------

TEST(BrexCursorTest, RoundTripsAndRefusesGarbage) {
  ExpenseCursor c;
  c.brex = "eyJvZmZzZXQiOjIwfQ==";
  c.since_us = 1745511229959513;
  c.pass_us = 1745511300000000;
  auto back = DecodeCursor(EncodeCursor(c));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->brex, c.brex);
  EXPECT_EQ(back->since_us, c.since_us);
  EXPECT_FALSE(back->high_us);
  EXPECT_EQ(back->pass_us, c.pass_us);
  auto empty = DecodeCursor(EncodeCursor(ExpenseCursor{}));
  ASSERT_TRUE(empty.ok());
  EXPECT_FALSE(empty->brex || empty->since_us);
  EXPECT_EQ(DecodeCursor("not a cursor").status().code(), Code::kInvalid);
  EXPECT_EQ(DecodeCursor("eyJ2IjoyfQ").status().code(), Code::kInvalid);  // {"v":2}
}

}  // namespace
}  // namespace mlc::plugins::brex
