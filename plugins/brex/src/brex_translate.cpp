// Brex accounting records, vendors and webhook deliveries -> canonical objects and host events.
#include "brex_translate.hpp"

#include <algorithm>
#include <utility>

#include "mlc/crypto.hpp"
#include "mlc/json.hpp"
#include "mlc/money.hpp"
#include "mlc/text.hpp"
#include "mlc/time.hpp"
#include "mlc/webhook_signature.hpp"

namespace mlc::plugins::brex {

namespace {

using nlohmann::json;
namespace mj = mlc::json;

// The instants RFC 3339 can write with four-digit years: [0000-01-01T00:00:00Z, 10000-01-01T00:00:00Z).
constexpr int64_t kMinMicros = time::DaysFromCivil(0, 1, 1) * time::kSecondsPerDay * 1000000;
constexpr int64_t kEndMicros = time::DaysFromCivil(10000, 1, 1) * time::kSecondsPerDay * 1000000;

// A non-empty string member, or nullopt (absent, null, empty or another type).
std::optional<std::string> Text(const json& obj, const char* key) {
  if (!obj.is_object()) return std::nullopt;
  auto it = obj.find(key);
  if (it == obj.end() || !it->is_string() || it->get_ref<const std::string&>().empty()) return std::nullopt;
  return it->get<std::string>();
}

std::string Trim(std::string s) {
  const auto space = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
  while (!s.empty() && space(s.back())) s.pop_back();
  size_t start = 0;
  while (start < s.size() && space(s[start])) ++start;
  return s.substr(start);
}

// At most `max` code points of UTF-8 text (schema lengths count characters, not bytes).
std::string Truncate(const std::string& s, size_t max) {
  size_t count = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    if ((static_cast<unsigned char>(s[i]) & 0xC0) != 0x80) {
      if (count == max) return s.substr(0, i);
      ++count;
    }
  }
  return s;
}

// A loose but sufficient e-mail check (the host validates `format: email` too).
bool LooksLikeEmail(const std::string& s) {
  const size_t at = s.find('@');
  return at != std::string::npos && at > 0 && at + 1 < s.size() && s.find('@', at + 1) == std::string::npos &&
         s.find(' ') == std::string::npos && s.find('.', at) != std::string::npos;
}

// {"id"?, "code"?, "name"?} from non-empty values; an empty object when there is nothing.
json MakeRef(const std::optional<std::string>& id, const std::optional<std::string>& code,
             const std::optional<std::string>& name) {
  json ref = json::object();
  if (id) ref["id"] = Truncate(*id, 200);
  if (code) ref["code"] = Truncate(*code, 100);
  if (name) ref["name"] = Truncate(*name, 300);
  return ref;
}

// The canonical key of an accounting field: an override by remote id, Brex id or name, else derived.
std::string KeyFor(const json& value, const FieldMapping& mapping) {
  const auto remote = Text(value, "remote_field_id");
  const auto brex_id = Text(value, "brex_field_id");
  const auto name = Text(value, "field_name");
  for (const auto& candidate : {remote, brex_id, name}) {
    if (!candidate) continue;
    for (const auto& [from, to] : mapping.dimension_keys) {
      if (text::EqualsIgnoreCase(from, *candidate)) return to;
    }
  }
  if (remote) return DimensionKey(*remote);
  if (name) return DimensionKey(*name);
  return DimensionKey(brex_id.value_or("field"));
}

bool IsGlField(const json& value, const FieldMapping& mapping) {
  for (const char* key : {"remote_field_id", "brex_field_id", "field_name"}) {
    if (auto v = Text(value, key); v && text::EqualsIgnoreCase(*v, mapping.gl_field)) return true;
  }
  return false;
}

}  // namespace

// ---- Money and time -------------------------------------------------------------------------------------

Result<std::string> AmountCurrency(const json& amount, std::string_view field) {
  if (!amount.is_object())
    return Status::Invalid(std::string(field) + " must be an object {amount, currency}");
  auto currency = amount.find("currency");
  if (currency == amount.end() || !currency->is_string())
    return Status::Invalid(std::string(field) + ".currency missing or not a string");
  const std::string code = currency->get<std::string>();
  if (!money::IsCurrencyCode(code)) {
    return Status::Invalid(std::string(field) + ".currency '" + Truncate(code, 16) +
                           "' is not an ISO 4217 code");
  }
  return code;
}

Result<int64_t> AmountMinor(const json& amount, std::string_view field) {
  MLC_ASSIGN_OR_RETURN(std::string currency, AmountCurrency(amount, field));
  auto value = amount.find("amount");
  if (value == amount.end()) return Status::Invalid(std::string(field) + ".amount is missing");
  // ParseExact kept a JSON decimal as its exact text; integers stay integers. Neither touches a double.
  return mj::MoneyField(*value, std::string(field) + ".amount", currency);
}

Result<int64_t> ParseTimestampMicros(std::string_view s) {
  // Zone-less date-times are accepted: Brex's query examples omit the zone; its timestamps are UTC.
  const auto micros = time::ParseRfc3339Micros(s, {.zone_optional = true});
  // An offset can push the instant out of years 0000..9999 in UTC, which FormatTimestampMicros cannot
  // write back as RFC 3339 (found by fuzz/brex_record).
  if (!micros || *micros < kMinMicros || *micros >= kEndMicros) {
    return Status::Invalid("'" + Truncate(std::string(s.substr(0, 48)), 48) +
                           "' is not an RFC 3339 date-time");
  }
  return *micros;
}

std::string FormatTimestampMicros(int64_t micros) { return time::FormatRfc3339Micros(micros); }

Result<std::string> DateOf(std::string_view text, std::string_view field) {
  if (!time::ParseDate(text.substr(0, 10)) ||
      (text.size() > 10 && text[10] != 'T' && text[10] != 't' && text[10] != ' ')) {
    return Status::Invalid(std::string(field) + " '" + Truncate(std::string(text.substr(0, 40)), 40) +
                           "' is not a date or date-time");
  }
  return std::string(text.substr(0, 10));
}

// ---- Records ----------------------------------------------------------------------------------------------

std::optional<std::string> ExpenseKind(std::string_view type) {
  static constexpr std::string_view kCard[] = {"CARD_EXPENSE_POST", "CARD_EXPENSE_REFUND",
                                               "CARD_EXPENSE_REPAYMENT"};
  static constexpr std::string_view kReimbursement[] = {
      "REIMBURSEMENT_EXPENSE_APPROVAL", "REIMBURSEMENT_EXPENSE_POST", "REIMBURSEMENT_EXPENSE_REPAYMENT"};
  for (auto t : kCard) {
    if (t == type) return "card";
  }
  for (auto t : kReimbursement) {
    if (t == type) return "reimbursement";
  }
  return std::nullopt;
}

Booking BookingOf(std::string_view type, const RecordTypes& types) {
  if (!ExpenseKind(type)) return Booking::kNone;
  if (auto it = types.overrides.find(std::string(type)); it != types.overrides.end()) return it->second;
  // The table in the header, from Brex's descriptions of the types.
  if (type == "CARD_EXPENSE_POST") return Booking::kExpense;
  if (type == "CARD_EXPENSE_REFUND" || type == "CARD_EXPENSE_REPAYMENT") return Booking::kReversal;
  if (type == "REIMBURSEMENT_EXPENSE_APPROVAL") return types.cash_basis ? Booking::kNone : Booking::kExpense;
  if (type == "REIMBURSEMENT_EXPENSE_POST") return types.cash_basis ? Booking::kExpense : Booking::kNone;
  if (type == "REIMBURSEMENT_EXPENSE_REPAYMENT") return Booking::kReversal;
  return Booking::kNone;
}

std::string DimensionKey(std::string_view name) {
  std::string key;
  for (char c : text::AsciiLower(name)) {
    const bool alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
    if (alnum) {
      key.push_back(c);
    } else if (!key.empty() && key.back() != '_') {
      key.push_back('_');
    }
  }
  while (!key.empty() && key.back() == '_') key.pop_back();
  if (key.empty()) key = "field";
  if (key[0] < 'a' || key[0] > 'z') key = "f_" + key;
  if (key.size() > 64) key.resize(64);
  while (key.back() == '_') key.pop_back();
  return key;
}

Result<json> CodingFromLines(const json& line_items, const FieldMapping& mapping, std::string_view side) {
  if (!line_items.is_array()) return Status::Invalid("line_items missing or not an array");
  json out = json::object();
  json dimensions = json::object();
  json lines = json::array();
  size_t debit_lines = 0;
  for (size_t i = 0; i < line_items.size(); ++i) {
    const std::string where = "line_items[" + std::to_string(i) + "]";
    const json& line = line_items[i];
    if (!line.is_object()) return Status::Invalid(where + " is not an object");
    auto type = line.find("type");
    if (type == line.end() || !type->is_string())
      return Status::Invalid(where + ".type missing or not a string");
    auto amount_it = line.find("amount");
    if (amount_it == line.end()) return Status::Invalid(where + ".amount is missing");
    MLC_ASSIGN_OR_RETURN(int64_t minor, AmountMinor(*amount_it, where + ".amount"));
    // For an expense the CREDIT lines carry the card liability or the employee payable, not the spend's
    // coding; for a reversal it is the other way round.
    if (*type != side) continue;
    ++debit_lines;
    auto values = line.find("accounting_field_values");
    if (values == line.end() || !values->is_array())
      return Status::Invalid(where + ".accounting_field_values missing or not an array");
    json line_account;
    json line_dimensions = json::object();
    for (size_t k = 0; k < values->size(); ++k) {
      const std::string vwhere = where + ".accounting_field_values[" + std::to_string(k) + "]";
      const json& value = (*values)[k];
      if (!value.is_object()) return Status::Invalid(vwhere + " is not an object");
      for (const char* key : {"brex_field_id", "remote_field_id", "brex_field_value_id",
                              "remote_field_value_id", "field_name", "field_value_name"}) {
        if (auto it = value.find(key); it != value.end() && !it->is_null() && !it->is_string())
          return Status::Invalid(vwhere + "." + key + " must be a string or null");
      }
      if (!Text(value, "brex_field_id") && !Text(value, "remote_field_id"))
        return Status::Invalid(vwhere + " has neither brex_field_id nor remote_field_id");
      const json ref = MakeRef(Text(value, "brex_field_value_id"), Text(value, "remote_field_value_id"),
                               Text(value, "field_value_name"));
      if (ref.empty()) continue;  // a field without a value: nothing to map
      if (IsGlField(value, mapping)) {
        if (line_account.is_null()) line_account = ref;
      } else {
        const std::string key = KeyFor(value, mapping);
        if (!line_dimensions.contains(key)) line_dimensions[key] = ref;
      }
    }
    if (out.find("account") == out.end() && !line_account.is_null()) out["account"] = line_account;
    for (const auto& [key, ref] : line_dimensions.items()) {
      if (!dimensions.contains(key)) dimensions[key] = ref;
    }
    json summary = {
        {"id", line.value("id", json())}, {"amount_minor", minor}, {"memo", line.value("memo", json())}};
    if (!line_account.is_null()) summary["account"] = line_account;
    if (!line_dimensions.empty()) summary["dimensions"] = line_dimensions;
    lines.push_back(std::move(summary));
  }
  if (!dimensions.empty()) out["dimensions"] = std::move(dimensions);
  // A split expense books several lines; the first coding goes on the expense, every line is kept.
  if (debit_lines > 1) out["x-brex_lines"] = std::move(lines);
  return out;
}

Result<std::string> RecordVersion(const json& record) {
  auto version = record.find("version");
  std::string v;
  if (version != record.end() && (version->is_number_integer() || version->is_number_unsigned())) {
    v = version->dump();
  } else if (version != record.end() && version->is_string() &&
             !version->get_ref<const std::string&>().empty()) {
    v = version->get<std::string>();  // a non-integer number, kept as its text by ParseExact
  } else {
    return Status::Invalid("version missing or not a number");
  }
  MLC_ASSIGN_OR_RETURN(std::string updated, mj::StringField(record, "updated_at"));
  auto micros = ParseTimestampMicros(updated);
  if (!micros.ok()) return micros.status().Wrap("updated_at");
  return Truncate(v, 60) + "@" + FormatTimestampMicros(*micros);
}

Result<json> ExpenseFromRecord(const json& record, const RecordExtras& extras, const FieldMapping& mapping,
                               std::string_view system, std::string_view connection,
                               const RecordTypes& types) {
  if (!record.is_object()) return Status::Invalid("accounting record is not an object");
  auto id = Text(record, "id");
  if (!id) return Status::Invalid("accounting record: id missing or not a string");
  auto in_record = [&](const Status& s) { return s.Wrap("accounting record " + *id); };
  auto type = Text(record, "type");
  if (!type) return in_record(Status::Invalid("type missing or not a string"));
  const std::optional<std::string> kind = ExpenseKind(*type);
  const Booking booking = BookingOf(*type, types);
  if (!kind || booking == Booking::kNone)
    return in_record(Status::Invalid("type " + *type + " books no expense"));

  auto amount_it = record.find("amount");
  if (amount_it == record.end()) return in_record(Status::Invalid("amount is missing"));
  auto minor = AmountMinor(*amount_it, "amount");
  if (!minor.ok()) return in_record(minor.status());
  const std::string currency = (*amount_it)["currency"].get<std::string>();
  const bool refund = booking == Booking::kReversal;
  // Brex amounts are positive with the direction in the type; a reversal is negative in the canonical model
  // (an amount Brex already sent negative is kept).
  const int64_t amount = refund && *minor > 0 ? -*minor : *minor;

  auto version = RecordVersion(record);
  if (!version.ok()) return in_record(version.status());
  const int64_t updated_us = *ParseTimestampMicros(record["updated_at"].get<std::string>());

  json out = {{"type", "expense"},
              {"source",
               {{"system", std::string(system)},
                {"connection", std::string(connection)},
                {"id", Truncate(*id, 200)},
                {"version", *version},
                {"updated_at", FormatTimestampMicros(updated_us)}}},
              {"links", json::object()},
              {"kind", *kind},
              {"amount", {{"amount_minor", amount}, {"currency", currency}}}};

  if (auto orig = record.find("original_amount"); orig != record.end() && !orig->is_null()) {
    auto orig_minor = AmountMinor(*orig, "original_amount");
    if (!orig_minor.ok()) return in_record(orig_minor.status());
    const std::string orig_currency = (*orig)["currency"].get<std::string>();
    if (orig_currency != currency) {
      out["original_amount"] = {{"amount_minor", refund && *orig_minor > 0 ? -*orig_minor : *orig_minor},
                                {"currency", orig_currency}};
    }
  }

  // Dates: purchase day from the expense when fetched, else the posting day.
  std::optional<std::string> posted;
  for (const char* key : {"posted_at", "erp_posting_date"}) {
    if (auto v = Text(record, key)) {
      auto date = DateOf(*v, key);
      if (!date.ok()) return in_record(date.status());
      posted = *date;
      break;
    }
  }
  std::optional<std::string> spent;
  if (auto purchased = Text(extras.expense, "purchased_at")) {
    auto date = DateOf(*purchased, "expense purchased_at");
    if (!date.ok()) return in_record(date.status());
    spent = *date;
  }
  if (!spent) spent = posted;
  if (!spent) return in_record(Status::Invalid("posted_at missing: the record has no date"));
  out["spent_at"] = *spent;
  if (posted) out["posted_at"] = *posted;

  // Merchant: the card descriptor from the expense, else the record's vendor.
  const json no_object = json::object();
  const json& merchant_obj = extras.expense.is_object() && extras.expense.contains("merchant") &&
                                     extras.expense["merchant"].is_object()
                                 ? extras.expense["merchant"]
                                 : no_object;
  const json vendor = record.value("vendor", json());
  if (auto descriptor = Text(merchant_obj, "raw_descriptor")) {
    out["merchant"] = Truncate(Trim(*descriptor), 300);
  } else if (auto vendor_name = Text(vendor, "name")) {
    out["merchant"] = Truncate(Trim(*vendor_name), 300);
  }
  if (out.contains("merchant") && out["merchant"].get_ref<const std::string&>().empty())
    out.erase("merchant");
  if (vendor.is_object()) {
    json ref = MakeRef(Text(vendor, "id"), std::nullopt, Text(vendor, "name"));
    if (!ref.empty()) out["vendor"] = std::move(ref);
  }

  if (auto memo = Text(record, "memo")) out["memo"] = Truncate(*memo, 4000);

  const json user = record.value("user", json());
  if (user.is_object()) {
    json u = json::object();
    if (auto uid = Text(user, "id")) u["id"] = Truncate(*uid, 200);
    const std::string name =
        Trim(Trim(Text(user, "first_name").value_or("")) + " " + Trim(Text(user, "last_name").value_or("")));
    if (!name.empty()) u["name"] = Truncate(name, 300);
    if (auto email = Text(user, "email"); email && LooksLikeEmail(*email)) u["email"] = *email;
    if (!u.empty()) out["user"] = std::move(u);
  }

  if (extras.last4 && extras.last4->size() == 4 &&
      std::all_of(extras.last4->begin(), extras.last4->end(), [](char c) { return c >= '0' && c <= '9'; })) {
    out["card_last4"] = *extras.last4;
  }
  if (extras.receipts.is_array() && !extras.receipts.empty()) out["receipts"] = extras.receipts;

  auto coding = CodingFromLines(record.value("line_items", json()), mapping, refund ? "CREDIT" : "DEBIT");
  if (!coding.ok()) return in_record(coding.status());
  if (refund && !coding->contains("account")) {
    // Which side of a reversal carries the coding is not documented: the CREDIT side by double entry, else
    // whatever the DEBIT side carries.
    coding = CodingFromLines(record.value("line_items", json()), mapping, "DEBIT");
    if (!coding.ok()) return in_record(coding.status());
  }
  for (auto& [key, value] : coding->items()) out[key] = value;

  // Custom field "billable" (load_custom_fields=true), when the company has one.
  if (extras.expense.is_object()) {
    for (const json& field : extras.expense.value("custom_fields", json::array())) {
      if (Text(field, "key").value_or("") != "billable") continue;
      const json value = field.value("value", json::object());
      if (value.is_object() && value.contains("data") && value["data"].is_boolean())
        out["billable"] = value["data"].get<bool>();
    }
  }

  if (*kind == "card") {
    out["status"] = "posted";
  } else {
    out["status"] = extras.expense.is_object() && extras.expense.value("payment_status", json()) == "CLEARED"
                        ? "reimbursed"
                        : "approved";
  }
  json extra = {{"record_type", *type}};
  if (auto source_id = Text(record, "source_id")) extra["source_id"] = *source_id;
  if (auto source_type = Text(record, "source_type")) extra["source_type"] = *source_type;
  if (auto status = Text(record, "review_status")) extra["review_status"] = *status;
  out["x-brex"] = std::move(extra);
  return out;
}

Result<json> VendorFromBrex(const json& vendor, std::string_view system, std::string_view connection,
                            std::string_view seen_at) {
  if (!vendor.is_object()) return Status::Invalid("vendor is not an object");
  auto id = Text(vendor, "id");
  if (!id) return Status::Invalid("vendor: id missing or not a string");
  auto name = Text(vendor, "company_name");
  if (!name || Trim(*name).empty())
    return Status::Invalid("vendor " + *id + ": company_name missing or empty");
  // Brex publishes no update time or version for vendors: a digest of the content changes with it.
  const std::string version =
      crypto::HexEncode(crypto::Sha256Digest(vendor.dump(-1, ' ', false, json::error_handler_t::replace)))
          .substr(0, 32);
  json out = {{"type", "vendor"},
              {"source",
               {{"system", std::string(system)},
                {"connection", std::string(connection)},
                {"id", Truncate(*id, 200)},
                {"version", version},
                {"updated_at", std::string(seen_at)}}},
              {"links", json::object()},
              {"name", Truncate(Trim(*name), 300)},
              {"status", "active"}};
  if (auto email = Text(vendor, "email"); email && LooksLikeEmail(*email)) out["email"] = *email;
  if (auto phone = Text(vendor, "phone")) out["phone"] = Truncate(*phone, 50);
  json instruments = json::array();
  if (auto accounts = vendor.find("payment_accounts"); accounts != vendor.end() && accounts->is_array()) {
    for (const json& a : *accounts) {
      const json details = a.is_object() ? a.value("details", json::object()) : json::object();
      if (auto t = Text(details, "type")) {
        json instrument = {{"type", *t}};
        if (auto pi = Text(details, "payment_instrument_id")) instrument["payment_instrument_id"] = *pi;
        instruments.push_back(std::move(instrument));
      }
    }
  }
  if (!instruments.empty()) out["x-brex_payment_instruments"] = std::move(instruments);
  return out;
}

// ---- Webhooks ---------------------------------------------------------------------------------------------

Result<std::string> SignWebhook(std::string_view secret, std::string_view id, int64_t timestamp,
                                std::string_view body) {
  return webhook::standard::Sign(secret, id, timestamp, body);
}

Status VerifyWebhook(const std::map<std::string, std::string>& headers, std::string_view body,
                     const std::vector<std::string>& secrets, int64_t received_at_ms, int64_t tolerance_s) {
  auto header = [&](const char* name, const char* svix) -> std::optional<std::string> {
    for (const char* n : {name, svix}) {
      if (auto it = headers.find(n); it != headers.end() && !it->second.empty()) return it->second;
    }
    return std::nullopt;
  };
  const auto signature = header("webhook-signature", "svix-signature");
  if (!signature) return Status::Auth("unsigned webhook: no webhook-signature header");
  const auto id = header("webhook-id", "svix-id");
  const auto timestamp = header("webhook-timestamp", "svix-timestamp");
  if (!id) return Status::Invalid("malformed webhook: no webhook-id header");
  if (!timestamp) return Status::Invalid("malformed webhook: no webhook-timestamp header");
  if (timestamp->empty() || timestamp->size() > 15 ||
      !std::all_of(timestamp->begin(), timestamp->end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return Status::Invalid("malformed webhook: webhook-timestamp is not Unix seconds");
  }
  const int64_t ts = std::stoll(*timestamp);
  if (secrets.empty())
    return Status::Invalid("no webhook secret is configured, so webhooks cannot be verified");

  // Every entry is compared with every key in constant time: no early exit leaks which matched.
  MLC_ASSIGN_OR_RETURN(const bool matched, webhook::standard::Matches(secrets, *id, ts, *signature, body));
  if (!matched) return Status::Auth("webhook signature does not match any configured secret");
  const int64_t skew_s = received_at_ms / 1000 - ts;
  if (skew_s > tolerance_s || skew_s < -tolerance_s) {
    return Status::Invalid("stale webhook: signed " + std::to_string(skew_s) +
                           " s from its receipt (tolerance " + std::to_string(tolerance_s) + " s)");
  }
  return Status::Ok();
}

Result<json> WebhookEvents(std::string_view delivery_id, std::string_view body) {
  // The id goes back to the host inside JSON, which must serialise (valid UTF-8) and which the host caps at
  // 512 bytes; refuse it here rather than fail the whole reply later (found by fuzz/brex_webhook).
  if (delivery_id.size() > 512) return Status::Invalid("webhook-id is longer than 512 bytes");
  try {
    (void)json(std::string(delivery_id)).dump();
  } catch (const json::exception&) {
    return Status::Invalid("webhook-id is not valid UTF-8");
  }
  auto doc = mj::ParseExact(body);
  if (!doc.ok()) return doc.status().Wrap("webhook body");
  if (!doc->is_object()) return Status::Invalid("webhook body is not a JSON object");
  auto type = Text(*doc, "event_type");
  if (!type) return Status::Invalid("webhook body: event_type missing or not a string");
  const std::string id(delivery_id);
  json events = json::array();
  if (*type == "ACCOUNTING_RECORD_READY_FOR_EXPORT") {
    // camelCase in Brex's schema, unlike the other events; the snake_case spelling is accepted too.
    auto ids = doc->find("accountingRecordIds");
    if (ids == doc->end()) ids = doc->find("accounting_record_ids");
    if (ids == doc->end() || !ids->is_array() || ids->empty())
      return Status::Invalid("webhook body: accountingRecordIds missing, empty or not an array");
    for (size_t i = 0; i < ids->size(); ++i) {
      const json& rid = (*ids)[i];
      if (!rid.is_string() || rid.get_ref<const std::string&>().empty())
        return Status::Invalid("webhook body: accountingRecordIds[" + std::to_string(i) + "] is not an id");
      // One delivery id for all: the host groups them and drops a redelivery as a whole.
      events.push_back({{"id", id}, {"type", *type}, {"stream", "expenses"}, {"source_id", rid}});
    }
    return events;
  }
  json event = {{"id", id}, {"type", *type}};
  // Other events name what changed; the expenses stream learns of it when the record is ready for export.
  for (const char* key : {"expense_id", "transfer_id", "user_id", "referral_id"}) {
    if (auto v = Text(*doc, key)) {
      event["source_id"] = *v;
      break;
    }
  }
  events.push_back(std::move(event));
  return events;
}

// ---- Cursors ----------------------------------------------------------------------------------------------

std::string EncodeCursor(const ExpenseCursor& c) {
  json doc = {{"v", 1}};
  if (c.brex) doc["c"] = *c.brex;
  if (c.since_us) doc["s"] = *c.since_us;
  if (c.high_us) doc["h"] = *c.high_us;
  if (c.pass_us) doc["p"] = *c.pass_us;
  return crypto::Base64Encode(doc.dump(), crypto::Base64Alphabet::kUrlSafe);
}

Result<ExpenseCursor> DecodeCursor(std::string_view text) {
  const auto bad = [] { return Status::Invalid("malformed expenses cursor"); };
  auto raw = crypto::Base64Decode(text, crypto::Base64Alphabet::kUrlSafe);
  if (!raw.ok()) return bad();
  auto doc = mj::Parse(*raw);
  if (!doc.ok() || !doc->is_object() || doc->value("v", json()) != 1) return bad();
  ExpenseCursor c;
  if (auto it = doc->find("c"); it != doc->end()) {
    if (!it->is_string()) return bad();
    c.brex = it->get<std::string>();
  }
  for (auto [key, slot] :
       {std::pair{"s", &c.since_us}, std::pair{"h", &c.high_us}, std::pair{"p", &c.pass_us}}) {
    if (auto it = doc->find(key); it != doc->end()) {
      if (!it->is_number_integer()) return bad();
      *slot = it->get<int64_t>();
    }
  }
  return c;
}

}  // namespace mlc::plugins::brex
