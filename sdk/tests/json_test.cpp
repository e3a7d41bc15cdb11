// Tests of mlc/json.hpp: ParseExact keeps decimals as text, refuses malformed or over-deep documents.
#include "mlc/json.hpp"

#include <cstdint>
#include <string>

#include <gtest/gtest.h>

namespace mlc::json {
namespace {

TEST(JsonTest, ParseExactKeepsDecimalsAsTheirSourceText) {
  auto doc = ParseExact(R"({"a": 100.5, "b": 0.1, "c": 1.50, "d": -0.0, "e": 1e3, "f": 2.5E-3,
                            "nested": [{"amount": 74.99}]})");
  ASSERT_TRUE(doc.ok()) << doc.status().ToString();
  EXPECT_EQ((*doc)["a"], "100.5");
  EXPECT_EQ((*doc)["b"], "0.1");
  EXPECT_EQ((*doc)["c"], "1.50");  // trailing zero preserved: this is text, not a re-printed double
  EXPECT_EQ((*doc)["d"], "-0.0");
  EXPECT_EQ((*doc)["e"], "1e3");
  EXPECT_EQ((*doc)["f"], "2.5E-3");
  EXPECT_EQ((*doc)["nested"][0]["amount"], "74.99");
  EXPECT_TRUE((*doc)["a"].is_string());
}

TEST(JsonTest, ParseExactKeepsIntegersAsIntegers) {
  auto doc = ParseExact(R"({"i": 7, "n": -3, "big": 18446744073709551615, "min": -9223372036854775808,
                            "s": "7", "t": true, "z": null})");
  ASSERT_TRUE(doc.ok()) << doc.status().ToString();
  EXPECT_TRUE((*doc)["i"].is_number_integer());
  EXPECT_EQ((*doc)["i"].get<int64_t>(), 7);
  EXPECT_EQ((*doc)["n"].get<int64_t>(), -3);
  EXPECT_TRUE((*doc)["big"].is_number_unsigned());
  EXPECT_EQ((*doc)["big"].get<uint64_t>(), UINT64_MAX);
  EXPECT_EQ((*doc)["min"].get<int64_t>(), INT64_MIN);
  EXPECT_TRUE((*doc)["s"].is_string());
  EXPECT_TRUE((*doc)["t"].is_boolean());
  EXPECT_TRUE((*doc)["z"].is_null());
}

TEST(JsonTest, ParseExactHandlesScalarsAndEmptyContainersAtTheTop) {
  EXPECT_EQ(ParseExact("1.5").value(), "1.5");
  EXPECT_EQ(ParseExact("42").value(), 42);
  EXPECT_TRUE(ParseExact("[]").value().is_array());
  EXPECT_TRUE(ParseExact("{}").value().is_object());
  EXPECT_EQ(ParseExact(R"([1, [2.5, {"x": []}], "s"])").value().dump(), R"([1,["2.5",{"x":[]}],"s"])");
}

TEST(JsonTest, MalformedJsonIsInvalidWithTheByteOffset) {
  auto r = ParseExact(R"({"a": })");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kInvalid);
  EXPECT_NE(r.status().message().find("byte 7"), std::string::npos) << r.status().message();

  for (const char* bad : {"", "{", "[1,]", "{\"a\" 1}", "{} x", "'single'", "NaN", "[1.]", "tru"}) {
    auto e = ParseExact(bad);
    ASSERT_FALSE(e.ok()) << "accepted: " << bad;
    EXPECT_EQ(e.status().code(), Code::kInvalid) << bad;
    EXPECT_NE(e.status().message().find("malformed JSON"), std::string::npos) << e.status().message();
  }
}

TEST(JsonTest, DeepNestingIsRefusedNotRecursedInto) {
  auto nested = [](int depth) {
    return std::string(static_cast<size_t>(depth), '[') + std::string(static_cast<size_t>(depth), ']');
  };
  EXPECT_TRUE(ParseExact(nested(100)).ok());
  auto r = ParseExact(nested(100000));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kInvalid);
  EXPECT_NE(r.status().message().find("nested deeper"), std::string::npos) << r.status().message();
}

TEST(JsonTest, ParseAcceptsDoublesAndRejectsGarbageWithoutThrowing) {
  auto doc = Parse(R"({"x": 1.5})");
  ASSERT_TRUE(doc.ok());
  EXPECT_TRUE((*doc)["x"].is_number_float());
  auto bad = Parse("{nope");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), Code::kInvalid);
}

TEST(JsonTest, MoneyFieldConvertsExactTextAndIntegers) {
  auto doc = ParseExact(R"({"usd": 74.99, "jpy": 500, "bad": 1.005, "str": "12.30", "flag": true})");
  ASSERT_TRUE(doc.ok());
  EXPECT_EQ(MoneyField((*doc)["usd"], "usd", "USD").value(), 7499);
  EXPECT_EQ(MoneyField((*doc)["jpy"], "jpy", "JPY").value(), 500);
  EXPECT_EQ(MoneyField((*doc)["str"], "str", "USD").value(), 1230);
  auto bad = MoneyField((*doc)["bad"], "bad", "USD");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("bad:"), std::string::npos) << bad.status().message();
  EXPECT_FALSE(MoneyField((*doc)["flag"], "flag", "USD").ok());
}

TEST(JsonTest, TypedFieldsNameTheFieldInsteadOfThrowing) {
  auto doc = ParseExact(R"({"s": "x", "i": 3, "f": 1.5})").value();
  EXPECT_EQ(StringField(doc, "s").value(), "x");
  EXPECT_EQ(IntField(doc, "i").value(), 3);
  auto missing = StringField(doc, "nope");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("'nope'"), std::string::npos);
  EXPECT_FALSE(IntField(doc, "s").ok());
  EXPECT_FALSE(IntField(doc, "f").ok());  // a decimal is not an integer
  EXPECT_FALSE(StringField(nlohmann::json::array(), "s").ok());
}

}  // namespace
}  // namespace mlc::json
