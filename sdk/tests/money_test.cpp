// Tests of mlc/money.hpp: exact decimal <-> minor-unit conversion, driven by tables of cases.
#include "mlc/money.hpp"

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace mlc::money {
namespace {

struct Good {
  const char* text;
  const char* currency;
  int64_t minor;
};

TEST(MoneyTest, ParsesPlainDecimalsPerCurrencyExponent) {
  const std::vector<Good> cases = {
      {"0", "USD", 0},
      {"1", "USD", 100},
      {"1.5", "USD", 150},
      {"100.50", "USD", 10050},
      {"0.01", "USD", 1},
      {"-19.99", "USD", -1999},
      {"-0.05", "USD", -5},
      {"-0", "USD", 0},
      {"007.50", "USD", 750},
      {" 12.34 ", "USD", 1234},  // surrounding ASCII spaces are trimmed
      {"1.500", "USD", 150},     // trailing zeros past the exponent keep the value exact
      {"1.5000000", "USD", 150},
      {"500", "JPY", 500},
      {"500.0", "JPY", 500},
      {"-500", "JPY", -500},
      {"1.234", "KWD", 1234},
      {"1.2340", "KWD", 1234},
      {"0.001", "KWD", 1},
      {"-3.5", "KWD", -3500},
      {"1.2345", "CLF", 12345},
      {"92233720368547758.07", "USD", std::numeric_limits<int64_t>::max()},
      {"-92233720368547758.08", "USD", std::numeric_limits<int64_t>::min()},
      {"9223372036854775807", "JPY", std::numeric_limits<int64_t>::max()},
      {"-9223372036854775808", "JPY", std::numeric_limits<int64_t>::min()},
      {"9223372036854775.807", "KWD", std::numeric_limits<int64_t>::max()},
  };
  for (const Good& c : cases) {
    auto r = ParseDecimal(c.text, c.currency);
    ASSERT_TRUE(r.ok()) << c.text << " " << c.currency << ": " << r.status().ToString();
    EXPECT_EQ(*r, c.minor) << c.text << " " << c.currency;
  }
}

struct Bad {
  const char* text;
  const char* currency;
  const char* why;  // a fragment of the expected message
};

TEST(MoneyTest, RejectsAnythingThatIsNotAnExactPlainDecimal) {
  const std::vector<Bad> cases = {
      {"1.005", "USD", "more decimals"},
      {"0.001", "USD", "more decimals"},
      {"100.5", "JPY", "more decimals"},
      {"1.2345", "KWD", "more decimals"},
      {"1e3", "USD", "not a plain decimal"},
      {"1E3", "USD", "not a plain decimal"},
      {"1.5e2", "USD", "not a plain decimal"},
      {"NaN", "USD", "not a plain decimal"},
      {"nan", "USD", "not a plain decimal"},
      {"Infinity", "USD", "not a plain decimal"},
      {"-Infinity", "USD", "not a plain decimal"},
      {"+1", "USD", "not a plain decimal"},
      {"1,000", "USD", "not a plain decimal"},
      {"1,000.00", "USD", "not a plain decimal"},
      {"1 000", "USD", "not a plain decimal"},
      {"--1", "USD", "not a plain decimal"},
      {"1.2.3", "USD", "not a plain decimal"},
      {"0x10", "USD", "not a plain decimal"},
      {"\t1", "USD", "not a plain decimal"},
      {"", "USD", "empty"},
      {"   ", "USD", "empty"},
      {".", "USD", "no digits"},
      {"-", "USD", "no digits"},
      {"-.", "USD", "no digits"},
      {".5", "USD", "no digits before"},
      {"5.", "USD", "no digits after"},
      {"92233720368547758.08", "USD", "out of range"},
      {"-92233720368547758.09", "USD", "out of range"},
      {"9223372036854775808", "JPY", "out of range"},
      {"-9223372036854775809", "JPY", "out of range"},
      {"99999999999999999999999", "JPY", "out of range"},
      {"9223372036854775.808", "KWD", "out of range"},
      {"1", "usd", "three upper-case letters"},
      {"1", "US", "three upper-case letters"},
      {"1", "USDX", "three upper-case letters"},
      {"1", "", "three upper-case letters"},
  };
  for (const Bad& c : cases) {
    auto r = ParseDecimal(c.text, c.currency);
    ASSERT_FALSE(r.ok()) << "'" << c.text << "' " << c.currency << " parsed as " << r.value();
    EXPECT_EQ(r.status().code(), Code::kInvalid) << c.text;
    EXPECT_NE(r.status().message().find(c.why), std::string::npos)
        << "'" << c.text << "': " << r.status().message() << " (wanted '" << c.why << "')";
  }
}

TEST(MoneyTest, ErrorMessagesQuoteOnlyABoundedPrefixOfTheInput) {
  const std::string huge(10000, '9');
  auto r = ParseDecimal(huge + "x", "USD");
  ASSERT_FALSE(r.ok());
  EXPECT_LT(r.status().message().size(), 200u);
}

TEST(MoneyTest, CurrencyExponents) {
  EXPECT_EQ(CurrencyExponent("JPY").value(), 0);
  EXPECT_EQ(CurrencyExponent("KRW").value(), 0);
  EXPECT_EQ(CurrencyExponent("USD").value(), 2);
  EXPECT_EQ(CurrencyExponent("EUR").value(), 2);
  EXPECT_EQ(CurrencyExponent("KWD").value(), 3);
  EXPECT_EQ(CurrencyExponent("BHD").value(), 3);
  EXPECT_EQ(CurrencyExponent("CLF").value(), 4);
  EXPECT_FALSE(CurrencyExponent("jpy").ok());
  EXPECT_TRUE(IsCurrencyCode("XYZ"));
  EXPECT_FALSE(IsCurrencyCode("X1Z"));
}

TEST(MoneyTest, FormatsMinorUnitsAsPlainDecimals) {
  struct Case {
    int64_t minor;
    const char* currency;
    const char* text;
  };
  const std::vector<Case> cases = {
      {0, "USD", "0.00"},
      {5, "USD", "0.05"},
      {-5, "USD", "-0.05"},
      {150, "USD", "1.50"},
      {-1999, "USD", "-19.99"},
      {0, "JPY", "0"},
      {-500, "JPY", "-500"},
      {1, "KWD", "0.001"},
      {1234, "KWD", "1.234"},
      {12345, "CLF", "1.2345"},
      {std::numeric_limits<int64_t>::max(), "USD", "92233720368547758.07"},
      {std::numeric_limits<int64_t>::min(), "USD", "-92233720368547758.08"},
      {std::numeric_limits<int64_t>::min(), "JPY", "-9223372036854775808"},
  };
  for (const Case& c : cases) {
    auto r = FormatDecimal(c.minor, c.currency);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(*r, c.text) << c.minor << " " << c.currency;
  }
  EXPECT_FALSE(FormatDecimal(1, "usd").ok());
}

// Every formatted value parses back to itself, across magnitudes, signs and exponents.
TEST(MoneyTest, FormatThenParseRoundTrips) {
  std::vector<int64_t> values = {0,
                                 1,
                                 -1,
                                 9,
                                 10,
                                 99,
                                 100,
                                 101,
                                 999,
                                 1000,
                                 1001,
                                 std::numeric_limits<int64_t>::max(),
                                 std::numeric_limits<int64_t>::min(),
                                 std::numeric_limits<int64_t>::max() - 1,
                                 std::numeric_limits<int64_t>::min() + 1};
  // A deterministic spread over every order of magnitude.
  uint64_t x = 0x9e3779b97f4a7c15ull;
  for (int i = 0; i < 5000; ++i) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    const int shift = i % 64;
    values.push_back(static_cast<int64_t>(x >> shift) * ((i % 2 == 0) ? 1 : -1));
  }
  int checked = 0;
  for (const char* currency : {"JPY", "USD", "KWD", "CLF"}) {
    for (int64_t v : values) {
      auto text = FormatDecimal(v, currency);
      ASSERT_TRUE(text.ok());
      auto back = ParseDecimal(*text, currency);
      ASSERT_TRUE(back.ok()) << *text << " " << currency << ": " << back.status().ToString();
      ASSERT_EQ(*back, v) << *text << " " << currency;
      ++checked;
    }
  }
  EXPECT_EQ(checked, 4 * static_cast<int>(values.size()));
}

TEST(MoneyTest, MoneyValuesCompareByAmountAndCurrency) {
  EXPECT_EQ((Money{150, "USD"}), (Money{150, "USD"}));
  EXPECT_NE((Money{150, "USD"}), (Money{150, "EUR"}));
  EXPECT_NE((Money{150, "USD"}), (Money{151, "USD"}));
}

}  // namespace
}  // namespace mlc::money
