// Money: exact conversion between vendor decimal strings and integer minor units.
//
// The one money parser of ml-connector, shared by the host and every plugin. Money never touches a
// floating-point type: amounts are int64 minor units plus an ISO 4217 code, and the number of decimals
// comes from the currency (JPY 0, USD 2, KWD 3, CLF 4).
//
//   MLC_ASSIGN_OR_RETURN(int64_t cents, mlc::money::ParseDecimal("100.5", "USD"));   // 10050
//   std::string s = mlc::money::FormatDecimal(-1999, "USD");                        // "-19.99"
//
// Accepted:  optional leading '-', digits, optional '.' and digits; surrounding ASCII spaces; trailing
//            zeros beyond the currency's exponent ("1.500" USD == 150) because the value stays exact.
// Rejected:  more significant decimals than the currency has ("1.005" USD), exponents ("1e3"), '+',
//            NaN/Infinity, thousands separators, empty strings, lone '.' or '-', values that overflow int64,
//            and currency codes that are not three ASCII upper-case letters.
//
// Thread safety: pure functions.
#ifndef MLC_MONEY_HPP_
#define MLC_MONEY_HPP_

#include <cstdint>
#include <limits>
#include <string>
#include <string_view>

#include "mlc/status.hpp"

namespace mlc::money {

// True for three ASCII upper-case letters.
inline bool IsCurrencyCode(std::string_view code) {
  if (code.size() != 3) return false;
  for (char c : code) {
    if (c < 'A' || c > 'Z') return false;
  }
  return true;
}

// ISO 4217 minor-unit exponent. Codes not listed as exceptions use 2.
inline Result<int> CurrencyExponent(std::string_view code) {
  if (!IsCurrencyCode(code)) {
    return Status::Invalid("currency code must be three upper-case letters, got '" + std::string(code) + "'");
  }
  static constexpr std::string_view kZero[] = {"BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG",
                                               "RWF", "UGX", "UYI", "VND", "VUV", "XAF", "XOF", "XPF"};
  static constexpr std::string_view kThree[] = {"BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"};
  static constexpr std::string_view kFour[] = {"CLF", "UYW"};
  for (auto c : kZero) {
    if (c == code) return 0;
  }
  for (auto c : kThree) {
    if (c == code) return 3;
  }
  for (auto c : kFour) {
    if (c == code) return 4;
  }
  return 2;
}

// Parses a decimal string in major units ("100.50") into minor units for `currency`.
inline Result<int64_t> ParseDecimal(std::string_view text, std::string_view currency) {
  MLC_ASSIGN_OR_RETURN(const int exponent, CurrencyExponent(currency));
  auto fail = [&](std::string_view why) {
    return Status::Invalid("invalid " + std::string(currency) + " amount '" +
                           std::string(text.substr(0, 64)) + "': " + std::string(why));
  };
  while (!text.empty() && text.front() == ' ') text.remove_prefix(1);
  while (!text.empty() && text.back() == ' ') text.remove_suffix(1);
  if (text.empty()) return fail("empty");

  bool negative = false;
  if (text.front() == '-') {
    negative = true;
    text.remove_prefix(1);
  }
  const size_t dot = text.find('.');
  std::string_view whole = text.substr(0, dot);
  std::string_view frac = dot == std::string_view::npos ? std::string_view() : text.substr(dot + 1);
  if (whole.empty() && frac.empty()) return fail("no digits");
  if (dot != std::string_view::npos && frac.empty()) return fail("no digits after '.'");
  if (whole.empty()) return fail("no digits before '.'");
  for (char c : whole) {
    if (c < '0' || c > '9') return fail("not a plain decimal number");
  }
  for (char c : frac) {
    if (c < '0' || c > '9') return fail("not a plain decimal number");
  }
  // Digits past the exponent must all be zero, or the amount cannot be represented exactly.
  for (size_t i = static_cast<size_t>(exponent); i < frac.size(); ++i) {
    if (frac[i] != '0') return fail("more decimals than the currency allows");
  }

  // Accumulate as a negative number so INT64_MIN stays representable.
  constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
  int64_t acc = 0;
  auto push_digit = [&](char c) -> bool {
    const int d = c - '0';
    if (acc < (kMin + d) / 10) return false;
    acc = acc * 10 - d;
    return true;
  };
  for (char c : whole) {
    if (!push_digit(c)) return fail("out of range");
  }
  for (int i = 0; i < exponent; ++i) {
    const char c = static_cast<size_t>(i) < frac.size() ? frac[static_cast<size_t>(i)] : '0';
    if (!push_digit(c)) return fail("out of range");
  }
  if (negative) return acc;
  if (acc == kMin) return fail("out of range");
  return -acc;
}

// Formats minor units as a plain decimal string in major units: (150, "USD") -> "1.50".
inline Result<std::string> FormatDecimal(int64_t minor, std::string_view currency) {
  MLC_ASSIGN_OR_RETURN(const int exponent, CurrencyExponent(currency));
  const bool negative = minor < 0;
  // Work in unsigned so INT64_MIN does not overflow.
  uint64_t magnitude = negative ? (~static_cast<uint64_t>(minor) + 1) : static_cast<uint64_t>(minor);
  std::string digits = std::to_string(magnitude);
  if (exponent > 0) {
    if (digits.size() <= static_cast<size_t>(exponent)) {
      digits.insert(0, static_cast<size_t>(exponent) + 1 - digits.size(), '0');
    }
    digits.insert(digits.size() - static_cast<size_t>(exponent), 1, '.');
  }
  if (negative) digits.insert(0, 1, '-');
  return digits;
}

// An exact amount: minor units and an ISO 4217 code.
struct Money {
  int64_t minor = 0;
  std::string currency;

  friend bool operator==(const Money&, const Money&) = default;
};

}  // namespace mlc::money

#endif  // MLC_MONEY_HPP_
