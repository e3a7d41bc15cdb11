// Tests for the match cache on a temporary SQLite store: persistence across reopen, integer scores, operator
// resolutions that always win, invalidation on vendor delete/rename/add, and ResolveMerchant.
#include "match/cache.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <memory>

#include "store/test_util.hpp"

namespace mlc::match {
namespace {

using store::testing::TempDir;

class MatchCacheTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Reopen();
    auto table = NormalizerTable::Defaults();
    ASSERT_TRUE(table.ok());
    matcher_ = std::make_unique<Matcher>(std::make_shared<const Normalizer>(*table));
    ASSERT_TRUE(matcher_
                    ->Build({{"uber", "Uber"},
                             {"eats", "Uber Eats"},
                             {"air", "Delta Air Lines"},
                             {"dental", "Delta Dental"},
                             {"bb", "Blue Bottle Coffee"}})
                    .ok());
  }

  void Reopen() {
    cache_.reset();
    store_.reset();
    auto s = store::Store::Open({.path = dir_.File("mlc.db")});
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    store_ = std::move(s).value();
    cache_ = std::make_unique<MatchCache>(*store_);
  }

  Resolution Resolve(std::string_view descriptor, int64_t now = 1000) {
    auto r = ResolveMerchant(*cache_, *matcher_, "p1", descriptor, Thresholds{}, now);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : Resolution{};
  }

  TempDir dir_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<MatchCache> cache_;
  std::unique_ptr<Matcher> matcher_;
};

TEST_F(MatchCacheTest, ScoresAreThousandths) {
  EXPECT_EQ(ScoreToMilli(0.9876), 988);
  EXPECT_EQ(ScoreToMilli(0.0005), 1);
  EXPECT_EQ(ScoreToMilli(1.2), 1000);
  EXPECT_EQ(ScoreToMilli(-0.3), 0);
  EXPECT_EQ(ScoreToMilli(std::nan("")), 0);
}

TEST_F(MatchCacheTest, ResolvesOnceThenFromTheCacheAcrossReopen) {
  const Resolution first = Resolve("UBER *EATS");
  EXPECT_FALSE(first.from_cache);
  EXPECT_EQ(first.entry.decision, Decision::kAuto);
  EXPECT_EQ(first.entry.vendor_id, "eats");
  EXPECT_EQ(first.entry.merchant_key, "uber eats");
  EXPECT_GT(first.entry.score_milli, 900);

  Reopen();
  const Resolution again = Resolve("UBER   *EATS", 2000);  // same merchant key
  EXPECT_TRUE(again.from_cache);
  EXPECT_EQ(again.entry.vendor_id, "eats");
  EXPECT_EQ(again.entry.vendor_name, "Uber Eats");
  EXPECT_EQ(again.entry.score_milli, first.entry.score_milli);
  EXPECT_EQ(again.entry.source, CacheSource::kAuto);
  EXPECT_EQ(again.entry.updated_at, 1000);

  // Stored as integers: no REAL anywhere in the table.
  auto types = store_->Query("SELECT typeof(score_milli), typeof(updated_at) FROM match_cache");
  ASSERT_TRUE(types.ok());
  ASSERT_EQ(types->size(), 1u);
  EXPECT_EQ((*types)[0].Text(0), "integer");
  EXPECT_EQ((*types)[0].Text(1), "integer");
}

TEST_F(MatchCacheTest, ReviewAndNoneAreCachedToo) {
  const Resolution review = Resolve("DELTA");
  EXPECT_EQ(review.entry.decision, Decision::kReview);
  ASSERT_TRUE(review.entry.vendor_id.has_value());  // the suggestion
  const Resolution none = Resolve("SHELL OIL 57442");
  EXPECT_EQ(none.entry.decision, Decision::kNone);
  EXPECT_FALSE(none.entry.vendor_id.has_value());

  auto rows = cache_->List("p1");
  ASSERT_TRUE(rows.ok());
  ASSERT_EQ(rows->size(), 2u);
  EXPECT_EQ((*rows)[0].merchant_key, "delta");
  EXPECT_EQ((*rows)[1].merchant_key, "shell oil");
  EXPECT_TRUE(Resolve("DELTA").from_cache);

  // Nothing left of a descriptor: none, and nothing cached.
  const Resolution empty = Resolve("#1234 0062345678901");
  EXPECT_EQ(empty.entry.decision, Decision::kNone);
  EXPECT_TRUE(empty.entry.merchant_key.empty());
  EXPECT_EQ(cache_->List("p1")->size(), 2u);
}

TEST_F(MatchCacheTest, OperatorResolutionsAlwaysWin) {
  ASSERT_EQ(Resolve("DELTA").entry.decision, Decision::kReview);
  ASSERT_TRUE(cache_->PutOperatorVendor("p1", "delta", "air", "Delta Air Lines", 1500).ok());

  // A machine write for the same key changes nothing.
  MatchResult machine = matcher_->Match("DELTA", {});
  auto written = cache_->PutMatch("p1", machine, 1600);
  ASSERT_TRUE(written.ok());
  EXPECT_FALSE(*written);

  const Resolution r = Resolve("DELTA");
  EXPECT_TRUE(r.from_cache);
  EXPECT_EQ(r.reason, "operator");
  EXPECT_EQ(r.entry.source, CacheSource::kOperator);
  EXPECT_EQ(r.entry.decision, Decision::kAuto);
  EXPECT_EQ(r.entry.vendor_id, "air");
  EXPECT_EQ(r.entry.score_milli, 1000);
  EXPECT_EQ(r.entry.updated_at, 1500);

  // Adding vendors re-opens machine decisions, never operator ones.
  ASSERT_EQ(Resolve("UBER *TRIP").entry.vendor_id, "uber");
  auto removed = cache_->InvalidateMachineRows("p1");
  ASSERT_TRUE(removed.ok());
  EXPECT_EQ(*removed, 1);
  EXPECT_TRUE(cache_->Get("p1", "delta")->has_value());
  EXPECT_FALSE(cache_->Get("p1", "uber")->has_value());

  // The operator may also say "no vendor".
  ASSERT_TRUE(cache_->PutOperatorNone("p1", "delta", 1700).ok());
  const Resolution none = Resolve("DELTA");
  EXPECT_EQ(none.entry.decision, Decision::kNone);
  EXPECT_EQ(none.entry.source, CacheSource::kOperator);
  EXPECT_FALSE(none.entry.vendor_id.has_value());

  // Pipelines are separate.
  auto other = ResolveMerchant(*cache_, *matcher_, "p2", "DELTA", Thresholds{}, 1800);
  ASSERT_TRUE(other.ok());
  EXPECT_FALSE(other->from_cache);
  EXPECT_EQ(other->entry.decision, Decision::kReview);

  EXPECT_EQ(cache_->PutOperatorVendor("p1", "", "air", "x", 1).code(), Code::kInvalid);
  EXPECT_EQ(cache_->PutOperatorVendor("p1", "k", "", "x", 1).code(), Code::kInvalid);
}

TEST_F(MatchCacheTest, DeletedVendorInvalidatesEveryRowNamingIt) {
  ASSERT_EQ(Resolve("UBER *EATS").entry.vendor_id, "eats");
  ASSERT_TRUE(cache_->PutOperatorVendor("p1", "ubereats delivery", "eats", "Uber Eats", 1).ok());
  ASSERT_EQ(Resolve("UBER *TRIP").entry.vendor_id, "uber");

  auto removed = cache_->InvalidateVendor("eats");
  ASSERT_TRUE(removed.ok());
  EXPECT_EQ(*removed, 2);
  EXPECT_FALSE(cache_->Get("p1", "uber eats")->has_value());
  EXPECT_FALSE(cache_->Get("p1", "ubereats delivery")->has_value());
  EXPECT_TRUE(cache_->Get("p1", "uber")->has_value());

  // With the vendor gone from the matcher too, the merchant is matched afresh.
  ASSERT_TRUE(matcher_->Remove("eats"));
  const Resolution r = Resolve("UBER *EATS", 3000);
  EXPECT_FALSE(r.from_cache);
  EXPECT_EQ(r.entry.vendor_id, "uber");
}

TEST_F(MatchCacheTest, StaleMachineRowIsMatchedAgain) {
  ASSERT_EQ(Resolve("UBER *EATS").entry.vendor_id, "eats");
  // The vendor disappears from the matcher without anyone invalidating the cache.
  ASSERT_TRUE(matcher_->Remove("eats"));
  const Resolution r = Resolve("UBER *EATS", 2000);
  EXPECT_FALSE(r.from_cache);
  EXPECT_EQ(r.entry.vendor_id, "uber");
  EXPECT_EQ(cache_->Get("p1", "uber eats")->value().vendor_id, "uber");
}

TEST_F(MatchCacheTest, RenamedVendorKeepsOperatorChoicesUnderTheNewName) {
  ASSERT_EQ(Resolve("SQ *BLUE BOTTLE COFFEE").entry.vendor_id, "bb");
  ASSERT_TRUE(cache_->PutOperatorVendor("p1", "bbc", "bb", "Blue Bottle Coffee", 1).ok());

  auto removed = cache_->RenameVendor("bb", "Blue Bottle Coffee Co", 5000);
  ASSERT_TRUE(removed.ok());
  EXPECT_EQ(*removed, 1);
  EXPECT_FALSE(cache_->Get("p1", "blue bottle coffee")->has_value());
  auto op = cache_->Get("p1", "bbc");
  ASSERT_TRUE(op.ok() && op->has_value());
  EXPECT_EQ((*op)->vendor_name, "Blue Bottle Coffee Co");
  EXPECT_EQ((*op)->source, CacheSource::kOperator);
  EXPECT_EQ((*op)->updated_at, 5000);
}

TEST_F(MatchCacheTest, BadThresholdsAreRefused) {
  auto r =
      ResolveMerchant(*cache_, *matcher_, "p1", "UBER", Thresholds{.auto_accept = 0.5, .review_min = 0.7}, 1);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kInvalid);
  EXPECT_TRUE(cache_->List("p1")->empty());
}

TEST_F(MatchCacheTest, SchemaGuardsScoreDecisionAndSource) {
  // The schema itself guards the invariants, whoever writes.
  EXPECT_FALSE(store_
                   ->Exec("INSERT INTO match_cache (pipeline, merchant_key, score_milli, decision, source, "
                          "updated_at) VALUES ($1, $2, $3, $4, $5, $6)",
                          {"p", "k", int64_t{2000}, "auto", "auto", int64_t{1}})
                   .ok());
  EXPECT_FALSE(store_
                   ->Exec("INSERT INTO match_cache (pipeline, merchant_key, score_milli, decision, source, "
                          "updated_at) VALUES ($1, $2, $3, $4, $5, $6)",
                          {"p", "k", int64_t{500}, "maybe", "auto", int64_t{1}})
                   .ok());
  EXPECT_FALSE(store_
                   ->Exec("INSERT INTO match_cache (pipeline, merchant_key, score_milli, decision, source, "
                          "updated_at) VALUES ($1, $2, $3, $4, $5, $6)",
                          {"p", "k", int64_t{500}, "auto", "robot", int64_t{1}})
                   .ok());
}

}  // namespace
}  // namespace mlc::match
