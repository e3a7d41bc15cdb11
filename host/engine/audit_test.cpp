// Ids, instants, lease owners and the audit trail's storage and renderings.
#include "engine/audit.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include "core/redact.hpp"
#include "engine/ids.hpp"
#include "mlc/json.hpp"
#include "store/test_util.hpp"

namespace mlc::engine {
namespace {

TEST(IdsTest, JobIdIsTheSha256OfTheRecordKey) {
  // printf 'p|expense|exp_1|1' | sha256sum
  const std::string id = JobId("p", "expense", "exp_1", "1");
  EXPECT_EQ(id, "c9dd211bab80a2f381fe318533732e3d4e5367f4d8185b2622218fca725dce09");
  EXPECT_EQ(JobId("a", "b", "c", "d"), "b54856b7a8705958e13238b3d67eac1cf256afefd4ad405d644ac956b1164870");
  EXPECT_NE(id, JobId("p", "expense", "exp_1", "2"));
  EXPECT_NE(id, JobId("q", "expense", "exp_1", "1"));
  const std::string key = IdempotencyKey(id);
  EXPECT_EQ(key, "mlc-c9dd211bab80a2f381fe318533732e");
  EXPECT_EQ(key.size(), 34u);
}

TEST(IdsTest, ParsesDatesAndTimestamps) {
  EXPECT_EQ(*ParseInstant("1970-01-01"), 0);
  EXPECT_EQ(*ParseInstant("2024-03-01"), 1709251200000);
  EXPECT_EQ(*ParseInstant("2024-03-01T10:00:00Z"), 1709287200000);
  EXPECT_EQ(*ParseInstant("2024-03-01T10:00:00.250Z"), 1709287200250);
  EXPECT_EQ(*ParseInstant("2024-03-01T12:00:00+02:00"), 1709287200000);
  EXPECT_EQ(*ParseInstant("2024-02-29"), 1709164800000);
  for (const char* bad : {"", "yesterday", "2024-13-01", "2023-02-29", "2024-03-01T25:00:00Z",
                          "2024-03-01T10:00:00", "2024-03-01T10:00:00Zjunk", "2024-3-1"}) {
    auto r = ParseInstant(bad);
    EXPECT_EQ(r.status().code(), Code::kInvalid) << bad;
  }
  EXPECT_TRUE(IsBareDate("2024-03-01"));
  EXPECT_FALSE(IsBareDate("2024-03-01T00:00:00Z"));
}

TEST(IdsTest, FormatsInstants) {
  EXPECT_EQ(FormatInstantMs(1709287200250), "2024-03-01T10:00:00.250Z");
  EXPECT_EQ(FormatInstantSeconds(1709287200250), "2024-03-01T10:00:00Z");
  EXPECT_EQ(FormatInstantMs(0), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(*ParseInstant(FormatInstantMs(1709287200250)), 1709287200250);
}

TEST(IdsTest, LeaseOwnersOfDeadProcessesAreRecognised) {
  const std::string& me = ThisLeaseOwner();
  EXPECT_FALSE(LeaseOwnerIsGone(me));
  const std::string host = me.substr(0, me.find(':'));
  // Our pid with another tag: an earlier process that had our pid.
  EXPECT_TRUE(LeaseOwnerIsGone(host + ":" + std::to_string(getpid()) + ":00000000"));
  // A pid that cannot exist on Linux (above pid_max's ceiling).
  EXPECT_TRUE(LeaseOwnerIsGone(host + ":999999999:abcdef01"));
  // The parent process lives.
  EXPECT_FALSE(LeaseOwnerIsGone(host + ":" + std::to_string(getppid()) + ":abcdef01"));
  // Another machine, or nonsense: only expiry can tell.
  EXPECT_FALSE(LeaseOwnerIsGone("some-other-host.example:999999999:abcdef01"));
  EXPECT_FALSE(LeaseOwnerIsGone("garbage"));
  EXPECT_FALSE(LeaseOwnerIsGone(host + ":notapid:x"));
}

TEST(AuditTest, UrlPathKeepsOnlyThePath) {
  EXPECT_EQ(UrlPath("https://api.example.com/v1/bills?token=abc#x"), "/v1/bills");
  EXPECT_EQ(UrlPath("https://api.example.com"), "/");
  EXPECT_EQ(UrlPath("/v1/me?x=1"), "/v1/me");
}

class AuditStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s = store::Store::Open({.path = dir_.File("a.db")});
    ASSERT_TRUE(s.ok());
    store_ = std::move(*s);
  }
  store::testing::TempDir dir_;
  std::unique_ptr<store::Store> store_;
};

TEST_F(AuditStoreTest, RowsAreRedactedOrderedAndRendered) {
  const std::string secret = "sk_live_abcdefghijklmnop";
  redact::RegisterSecret(secret);
  const std::string job = JobId("p", "expense", "exp_1", "1");
  ASSERT_TRUE(AppendAudit(*store_,
                          {"p",
                           job,
                           "exp_1",
                           Step::kArrived,
                           Actor::kScheduler,
                           "ok",
                           {{"note", "has, a \"comma\""}},
                           std::nullopt},
                          2000)
                  .ok());
  ASSERT_TRUE(AppendAudit(*store_,
                          {"p",
                           job,
                           "exp_1",
                           Step::kFailed,
                           Actor::kWorker,
                           "RETRY",
                           {{"error", "upstream said " + secret}},
                           RequestNote{"POST", "/v1/bills", 503, 42}},
                          1000)  // the clock stepped back: still after the first row
                  .ok());
  auto rows = AuditTimeline(*store_, "exp_1");
  ASSERT_TRUE(rows.ok());
  ASSERT_EQ(rows->size(), 2u);
  EXPECT_EQ((*rows)[0].step, "arrived");
  EXPECT_EQ((*rows)[1].step, "failed");
  EXPECT_GE((*rows)[1].at_ms, (*rows)[0].at_ms);
  EXPECT_EQ((*rows)[1].detail.find(secret), std::string::npos);
  EXPECT_NE((*rows)[1].detail.find("[REDACTED]"), std::string::npos);
  EXPECT_EQ((*rows)[1].request_method, "POST");
  EXPECT_EQ((*rows)[1].request_status, 503);
  // Nothing of the secret reached the file either.
  ASSERT_TRUE(store_->Checkpoint().ok());
  EXPECT_EQ(store::testing::ReadFile(dir_.File("a.db")).find(secret), std::string::npos);

  // By full job id and by prefix.
  EXPECT_EQ(AuditTimeline(*store_, job)->size(), 2u);
  EXPECT_EQ(AuditTimeline(*store_, "nothing-here").status().code(), Code::kNotFound);
  EXPECT_EQ(AuditTimeline(*store_, "").status().code(), Code::kInvalid);

  const std::string csv = AuditCsv(*rows);
  EXPECT_NE(csv.find("\"{\"\"note\"\":\"\"has, a \\\"\"comma\\\"\"\"\"}\""), std::string::npos) << csv;
  EXPECT_NE(csv.find(",POST,/v1/bills,503,42\r\n"), std::string::npos) << csv;
  const auto doc = AuditJson(*rows);
  ASSERT_EQ(doc.size(), 2u);
  EXPECT_EQ(doc[0]["detail"]["note"], "has, a \"comma\"");
  EXPECT_EQ(doc[1]["request"]["latency_ms"], 42);
  EXPECT_FALSE(doc[0].contains("request"));

  auto range =
      AuditRange(*store_, "p", 0, 2000);  // at_ms < 2000 excludes both (the second was lifted to 2000)
  ASSERT_TRUE(range.ok());
  EXPECT_TRUE(range->empty());
  EXPECT_EQ(AuditRange(*store_, "p", 0, 2001)->size(), 2u);
  EXPECT_TRUE(AuditRange(*store_, "other", 0, 3000)->empty());
}

TEST(RequestCaptureTest, KeepsTheLastRequestOfItsThread) {
  NoteRequest({"GET", "/ignored", 200, 1});  // no capture: dropped
  RequestCapture outer;
  NoteRequest({"GET", "/a", 200, 1});
  {
    RequestCapture inner;
    NoteRequest({"POST", "/b", 201, 2});
    auto got = inner.Take();
    ASSERT_TRUE(got.has_value());
    EXPECT_EQ(got->path, "/b");
    EXPECT_FALSE(inner.Take().has_value());
  }
  auto got = outer.Take();
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->path, "/a");
}

}  // namespace
}  // namespace mlc::engine
