// Fuzz target `money`: mlc::money::ParseDecimal / FormatDecimal (sdk/include/mlc/money.hpp).
// Input: byte 0 picks a currency (valid codes of every exponent and two invalid ones), the rest is the
// decimal text. Invariants: an accepted amount formats to text that re-parses to the same value and
// formats identically; the formatted text names the same number as the input (leading/trailing zeros,
// spaces and "-0" aside); every int64 (the input's first 8 bytes) formats and re-parses exactly.
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "fuzz_util.hpp"
#include "mlc/money.hpp"

namespace {

using mlc::money::FormatDecimal;
using mlc::money::ParseDecimal;

constexpr std::string_view kCurrencies[] = {"USD", "JPY", "KWD", "CLF", "EUR", "usd", "US"};
constexpr std::string_view kValid[] = {"USD", "JPY", "KWD", "CLF"};

// The number `text` names, written canonically: no spaces, no leading zeros in the whole part, no
// trailing zeros in the fraction, no '.' without a fraction, no '-' on zero. Only called on text that
// ParseDecimal accepted, so its shape is known.
std::string Canonical(std::string_view text) {
  while (!text.empty() && text.front() == ' ') text.remove_prefix(1);
  while (!text.empty() && text.back() == ' ') text.remove_suffix(1);
  bool negative = false;
  if (!text.empty() && text.front() == '-') {
    negative = true;
    text.remove_prefix(1);
  }
  const size_t dot = text.find('.');
  std::string_view whole = text.substr(0, dot);
  std::string_view frac = dot == std::string_view::npos ? std::string_view() : text.substr(dot + 1);
  while (whole.size() > 1 && whole.front() == '0') whole.remove_prefix(1);
  while (!frac.empty() && frac.back() == '0') frac.remove_suffix(1);
  std::string out(whole);
  if (!frac.empty()) out.append(".").append(frac);
  if (negative && out != "0") out.insert(0, 1, '-');
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string_view currency = kCurrencies[data[0] % std::size(kCurrencies)];
  const std::string_view text = mlc::fuzz::AsText(data + 1, size - 1);

  auto parsed = ParseDecimal(text, currency);
  if (parsed.ok()) {
    auto formatted = FormatDecimal(*parsed, currency);
    MLC_FUZZ_CHECK(formatted.ok());
    auto again = ParseDecimal(*formatted, currency);
    MLC_FUZZ_CHECK(again.ok());
    MLC_FUZZ_CHECK(*again == *parsed);
    auto reformatted = FormatDecimal(*again, currency);
    MLC_FUZZ_CHECK(reformatted.ok() && *reformatted == *formatted);
    MLC_FUZZ_CHECK(Canonical(*formatted) == Canonical(text));
  } else {
    MLC_FUZZ_CHECK(!parsed.status().message().empty());
  }

  // Every int64 round-trips in every exponent.
  if (text.size() >= sizeof(int64_t)) {
    int64_t minor = 0;
    std::memcpy(&minor, text.data(), sizeof(minor));
    for (std::string_view code : kValid) {
      auto formatted = FormatDecimal(minor, code);
      MLC_FUZZ_CHECK(formatted.ok());
      auto back = ParseDecimal(*formatted, code);
      MLC_FUZZ_CHECK(back.ok() && *back == minor);
    }
  }
  return 0;
}
