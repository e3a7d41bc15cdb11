// Tests for the FreshBooks emulator's pure helpers: webhook signature text, US/Eastern timestamps, decimals.
#include <gtest/gtest.h>

#include "freshbooks_emulator.hpp"
#include "freshbooks_internal.hpp"

namespace mlc::sandbox::freshbooks {
namespace {

TEST(FreshBooksFormatTest, SignatureMatchesTheVectorsInTheVendorNotes) {
  // Vendor notes A6: computed with FreshBooks' documented Python (json.dumps + HMAC-SHA256 + base64).
  const ParamList doc = {{"name", "invoice.create"}, {"object_id", "1234567"}, {"account_id", "6BApk"},
                         {"business_id", "6543"},    {"identity_id", "1234"},  {"user_id", "1"}};
  EXPECT_EQ(
      PythonJsonDumps(doc),
      R"({"name": "invoice.create", "object_id": "1234567", "account_id": "6BApk", "business_id": "6543", )"
      R"("identity_id": "1234", "user_id": "1"})");
  EXPECT_EQ(WebhookSignature("test-verifier-123", doc), "o++ZnPG4JJV+5pkKoQTdPctE4vXYcxrwbqp7JRXZgy4=");
  const ParamList accented = {{"name", "client.update"},
                              {"object_id", "42"},
                              {"account_id", "Ab"},
                              {"user_id", "1"},
                              {"note", "caf\xc3\xa9"}};
  EXPECT_EQ(WebhookSignature("test-verifier-123", accented), "K7Yo8dY7RSKJJLryG6rprRFqIC3szOmJwAvX+/Y802Q=");
}

TEST(FreshBooksFormatTest, PythonJsonEscapesLikeEnsureAscii) {
  // json.dumps({"a": "x\"\\\n\x7f😀é"}) == {"a": "x\"\\\n\u007f\ud83d\ude00\u00e9"}
  EXPECT_EQ(PythonJsonDumps({{"a", "x\"\\\n\x7f\xf0\x9f\x98\x80\xc3\xa9"}}),
            R"({"a": "x\"\\\n\u007f\ud83d\ude00\u00e9"})");
  EXPECT_EQ(PythonJsonDumps({}), "{}");
  EXPECT_EQ(PythonJsonDumps({{"bad", "\xff"}}), R"({"bad": "\ufffd"})");
}

TEST(FreshBooksFormatTest, EasternTimestampsFollowDaylightSaving) {
  // FB-NODE tests: expense updated '2019-12-02 12:36:05' is 17:36:05Z (EST); category created_at
  // '2022-08-16 14:11:07' is 18:11:07Z (EDT).
  auto winter = ParseEastern("2019-12-02 12:36:05");
  ASSERT_TRUE(winter);
  EXPECT_EQ(FormatRfc3339(*winter), "2019-12-02T17:36:05Z");
  auto summer = ParseEastern("2022-08-16 14:11:07");
  ASSERT_TRUE(summer);
  EXPECT_EQ(FormatRfc3339(*summer), "2022-08-16T18:11:07Z");
  EXPECT_EQ(FormatEastern(*summer), "2022-08-16 14:11:07");
  EXPECT_EQ(FormatUtcNaive(*summer), "2022-08-16 18:11:07");
  // The switch instants of 2025: 2025-03-09 07:00Z and 2025-11-02 06:00Z.
  EXPECT_EQ(FormatEastern(*ParseRfc3339("2025-03-09T06:59:59Z")), "2025-03-09 01:59:59");
  EXPECT_EQ(FormatEastern(*ParseRfc3339("2025-03-09T07:00:00Z")), "2025-03-09 03:00:00");
  EXPECT_EQ(FormatEastern(*ParseRfc3339("2025-11-02T05:59:59Z")), "2025-11-02 01:59:59");
  EXPECT_EQ(FormatEastern(*ParseRfc3339("2025-11-02T06:00:00Z")), "2025-11-02 01:00:00");
  EXPECT_EQ(FormatRfc3339(*ParseEastern("2025-01-15")), "2025-01-15T05:00:00Z");
  EXPECT_FALSE(ParseEastern("2025-02-30"));
  EXPECT_FALSE(ParseEastern("2025-01-15 25:00:00"));
  EXPECT_FALSE(ParseEastern("yesterday"));
}

TEST(FreshBooksFormatTest, DecimalsStayExact) {
  EXPECT_EQ(NormalizeDecimal(nlohmann::json(13)), "13");
  EXPECT_EQ(NormalizeDecimal(nlohmann::json("8.8750")), "8.875");
  EXPECT_EQ(NormalizeDecimal(nlohmann::json("007")), "7");
  EXPECT_FALSE(NormalizeDecimal(nlohmann::json("-1")));
  EXPECT_FALSE(NormalizeDecimal(nlohmann::json("1.2345")));
  EXPECT_FALSE(NormalizeDecimal(nlohmann::json("abc")));
  EXPECT_EQ(ApplyPercent(7973, "13"), 1036);     // 10.3649 -> 10.36
  EXPECT_EQ(ApplyPercent(10000, "8.875"), 888);  // 88.75 -> 88.75 (cents 887.5 -> 888)
  EXPECT_EQ(MultiplyDecimal(12500, "2.5", 1), 31250);
  EXPECT_EQ(MultiplyDecimal(999999999999, "3", 1), 2999999999997);
  EXPECT_EQ(FormatCivilDate(*ParseCivilDate("2020-10-09") + 39), "2020-11-17");  // FB-POSTMAN bill due_date
  EXPECT_FALSE(ParseCivilDate("2021-02-29"));
  EXPECT_TRUE(ParseCivilDate("2024-02-29"));
  EXPECT_EQ(AsId(nlohmann::json("2003174")), 2003174);
  EXPECT_FALSE(AsId(nlohmann::json("12a")));
  EXPECT_FALSE(AsId(nlohmann::json(1.5)));
}

}  // namespace
}  // namespace mlc::sandbox::freshbooks
