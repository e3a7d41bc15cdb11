// Fuzz target `freshbooks_read`: the FreshBooks plugin's read-side decoding
// (plugins/freshbooks/src/freshbooks_translate.hpp): a response parsed with ParseExact (what the plugin's
// HttpResponse::Json does), then CategoryFromVendor, AccountsFromVendor, VendorFromVendor, BillFromVendor,
// PaymentFromVendor and ResponseError on it, and the naive / RFC 3339 timestamp parsers on short inputs.
// Input: one JSON document (an item); its optional integer member "x-fuzz-status" is the HTTP status given
// to ResponseError (several statuses are tried otherwise).
// Invariants: nothing throws (the functions promise Result, not exceptions); every accepted object
// serialises strictly and its source.updated_at re-parses as RFC 3339; a parsed timestamp formats to text
// that parses back to the same second.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "freshbooks_translate.hpp"
#include "fuzz_util.hpp"
#include "mlc/json.hpp"

namespace {

namespace fb = mlc::plugins::freshbooks;
using nlohmann::json;

void CheckCanonical(const json& out) {
  MLC_FUZZ_CHECK(out.is_object());
  bool strict = true;
  try {
    (void)out.dump();
  } catch (const std::exception&) {
    strict = false;
  }
  MLC_FUZZ_CHECK(strict);
  const json& source = out.at("source");
  const std::string updated = source.at("updated_at").get<std::string>();
  MLC_FUZZ_CHECK(fb::ParseRfc3339(updated).has_value());
  MLC_FUZZ_CHECK(fb::FormatRfc3339(*fb::ParseRfc3339(updated)) == updated);
}

void CheckTime(std::string_view text) {
  for (auto parsed : {fb::ParseUtcNaive(text), fb::ParseEasternNaive(text), fb::ParseRfc3339(text)}) {
    if (!parsed) continue;
    const std::string formatted = fb::FormatRfc3339(*parsed);
    auto again = fb::ParseRfc3339(formatted);
    MLC_FUZZ_CHECK(again.has_value());
    MLC_FUZZ_CHECK(*again == *parsed);
    MLC_FUZZ_CHECK(fb::FormatDate(*parsed) == formatted.substr(0, 10));
  }
}

// Runs every read function; an exception escaping one is a finding (they promise Result).
void Decode(const json& item) {
  bool threw = false;
  try {
    if (auto r = fb::CategoryFromVendor(item, "fuzz"); r.ok()) CheckCanonical(*r);
    if (auto r = fb::AccountsFromVendor(item, "fuzz"); r.ok()) {
      MLC_FUZZ_CHECK(!r->empty());
      for (const json& a : *r) CheckCanonical(a);
    }
    if (auto r = fb::VendorFromVendor(item, "fuzz"); r.ok()) CheckCanonical(*r);
    if (auto r = fb::BillFromVendor(item, "fuzz"); r.ok()) CheckCanonical(*r);
    if (auto r = fb::PaymentFromVendor(item, "fuzz"); r.ok()) CheckCanonical(*r);
    std::vector<int> statuses = {200, 400, 401, 429, 503, 302};
    if (item.is_object()) {
      if (auto s = item.find("x-fuzz-status"); s != item.end() && s->is_number_integer()) {
        statuses = {static_cast<int>(s->get<int64_t>() % 1000)};
      }
    }
    for (int status : statuses) {
      auto err = fb::ResponseError(status, item, "fuzz");
      if (status < 200 || status >= 300) MLC_FUZZ_CHECK(err.has_value() && !err->ok());
      if (err) MLC_FUZZ_CHECK(!err->ok());
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "exception escaped a FreshBooks read function: %s\n", e.what());
    threw = true;
  }
  MLC_FUZZ_CHECK(!threw);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text = mlc::fuzz::AsText(data, size);
  if (size <= 40) CheckTime(text);
  auto doc = mlc::json::ParseExact(text);
  if (!doc.ok()) return 0;
  Decode(*doc);
  // The same item inside the legacy envelope is an error body for ResponseError, and the time fields of
  // an object are probed one by one.
  if (doc->is_object()) {
    for (const char* key : {"updated_at", "created_at", "paid_date"}) {
      if (auto it = doc->find(key); it != doc->end() && it->is_string()) CheckTime(it->get<std::string>());
    }
  }
  return 0;
}
