// Fuzz target `brex_record`: the Brex plugin's read-side decoding (plugins/brex/src/brex_translate.hpp):
// a vendor JSON document parsed with ParseExact, then ExpenseFromRecord (accounting record -> canonical
// expense), RecordVersion, CodingFromLines, AmountMinor, VendorFromBrex, the RFC 3339 timestamp parser and
// the expenses cursor decoder.
// Input: an accounting record; its optional members "x-fuzz-expense" (the GET /v1/expenses document) and
// "x-fuzz-last4" feed RecordExtras. Invariants: nothing throws; an accepted record gives an expense whose
// amount is a valid currency and integer, whose source.updated_at re-parses to the record's instant, and
// whose dates are real calendar dates, and which serialises strictly (valid UTF-8); a timestamp that parses
// formats to text that parses to the same instant; a cursor that decodes re-encodes to one that decodes to
// the same fields.
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "brex_translate.hpp"
#include "fuzz_util.hpp"
#include "mlc/json.hpp"
#include "mlc/money.hpp"

namespace {

namespace brex = mlc::plugins::brex;
using nlohmann::json;

void CheckTimestamp(std::string_view text) {
  auto micros = brex::ParseTimestampMicros(text);
  if (!micros.ok()) return;
  const std::string formatted = brex::FormatTimestampMicros(*micros);
  auto again = brex::ParseTimestampMicros(formatted);
  MLC_FUZZ_CHECK(again.ok());
  MLC_FUZZ_CHECK(*again == *micros);
  MLC_FUZZ_CHECK(brex::FormatTimestampMicros(*again) == formatted);
}

void CheckCursor(std::string_view text) {
  auto cursor = brex::DecodeCursor(text);
  if (!cursor.ok()) return;
  auto again = brex::DecodeCursor(brex::EncodeCursor(*cursor));
  MLC_FUZZ_CHECK(again.ok());
  MLC_FUZZ_CHECK(again->brex == cursor->brex && again->since_us == cursor->since_us &&
                 again->high_us == cursor->high_us && again->pass_us == cursor->pass_us);
}

// A real calendar date "YYYY-MM-DD" (the canonical `format: date`).
bool RealDate(const json& v) {
  if (!v.is_string()) return false;
  const std::string& s = v.get_ref<const std::string&>();
  if (s.size() != 10 || s[4] != '-' || s[7] != '-') return false;
  for (size_t i : {0, 1, 2, 3, 5, 6, 8, 9}) {
    if (s[i] < '0' || s[i] > '9') return false;
  }
  const std::chrono::year_month_day ymd{std::chrono::year{std::stoi(s.substr(0, 4))},
                                        std::chrono::month{static_cast<unsigned>(std::stoi(s.substr(5, 2)))},
                                        std::chrono::day{static_cast<unsigned>(std::stoi(s.substr(8, 2)))}};
  return ymd.ok();
}

bool StrictDumps(const json& doc) {
  try {
    (void)doc.dump();
    return true;
  } catch (const std::exception&) {
    return false;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text = mlc::fuzz::AsText(data, size);
  CheckCursor(text);
  if (size <= 64) CheckTimestamp(text);

  auto parsed = mlc::json::ParseExact(text);
  if (!parsed.ok()) return 0;
  json record = std::move(*parsed);

  brex::RecordExtras extras;
  brex::FieldMapping mapping;
  if (record.is_object()) {
    if (auto it = record.find("x-fuzz-expense"); it != record.end()) {
      extras.expense = *it;
      record.erase("x-fuzz-expense");
    }
    if (auto it = record.find("x-fuzz-last4"); it != record.end()) {
      if (it->is_string()) extras.last4 = it->get<std::string>();
      record.erase("x-fuzz-last4");
    }
    if (auto it = record.find("x-fuzz-receipts"); it != record.end()) {
      extras.receipts = *it;
      record.erase("x-fuzz-receipts");
    }
    // A mapping that renames one dimension and picks another GL field, so overrides are exercised too.
    if (auto it = record.find("x-fuzz-gl-field"); it != record.end()) {
      if (it->is_string()) mapping.gl_field = it->get<std::string>();
      mapping.dimension_keys = {{"Department", "team"}, {"extended_field_cli", "client"}};
      record.erase("x-fuzz-gl-field");
    }
    if (auto it = record.find("updated_at"); it != record.end() && it->is_string()) {
      CheckTimestamp(it->get<std::string>());
    }
  }

  auto expense = brex::ExpenseFromRecord(record, extras, mapping, "brex", "fuzz");
  if (expense.ok()) {
    const json& e = *expense;
    MLC_FUZZ_CHECK(e.is_object() && e.value("type", "") == "expense");
    MLC_FUZZ_CHECK(e["amount"]["amount_minor"].is_number_integer());
    MLC_FUZZ_CHECK(mlc::money::IsCurrencyCode(e["amount"]["currency"].get<std::string>()));
    const std::string updated = e["source"]["updated_at"].get<std::string>();
    auto updated_us = brex::ParseTimestampMicros(updated);
    MLC_FUZZ_CHECK(updated_us.ok());
    MLC_FUZZ_CHECK(*updated_us == *brex::ParseTimestampMicros(record["updated_at"].get<std::string>()));
    MLC_FUZZ_CHECK(StrictDumps(e));
    MLC_FUZZ_CHECK(RealDate(e["spent_at"]));
    if (e.contains("posted_at")) MLC_FUZZ_CHECK(RealDate(e["posted_at"]));
    MLC_FUZZ_CHECK(brex::ExpenseKind(record["type"].get<std::string>()).has_value());
  } else {
    MLC_FUZZ_CHECK(expense.status().code() == mlc::Code::kInvalid);
  }

  if (record.is_object()) {
    (void)brex::RecordVersion(record);
    if (auto it = record.find("line_items"); it != record.end()) {
      auto coding = brex::CodingFromLines(*it, mapping);
      if (coding.ok()) MLC_FUZZ_CHECK(StrictDumps(*coding));
    }
    if (auto it = record.find("amount"); it != record.end()) (void)brex::AmountMinor(*it, "amount");
  }
  auto vendor = brex::VendorFromBrex(record, "brex", "fuzz", "2025-01-01T00:00:00Z");
  if (vendor.ok()) MLC_FUZZ_CHECK(StrictDumps(*vendor));
  return 0;
}
