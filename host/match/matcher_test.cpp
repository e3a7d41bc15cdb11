// Tests for the vendor matcher: the data-driven fixture table (testdata/cases.json, zero wrong autos), the
// most-specific-vendor rule, thresholds, build errors, incremental updates, concurrency and the index.
#include "match/matcher.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <fstream>
#include <iterator>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

namespace mlc::match {
namespace {

using ::testing::HasSubstr;

std::shared_ptr<const Normalizer> DefaultNormalizer() {
  auto table = NormalizerTable::Defaults();
  EXPECT_TRUE(table.ok()) << table.status().ToString();
  return std::make_shared<const Normalizer>(table.ok() ? *table : NormalizerTable{});
}

std::unique_ptr<Matcher> MakeMatcher(const std::vector<Vendor>& vendors) {
  auto m = std::make_unique<Matcher>(DefaultNormalizer());
  Status s = m->Build(vendors);
  EXPECT_TRUE(s.ok()) << s.ToString();
  return m;
}

// "auto:<id>", "review" or "none".
std::string Outcome(const MatchResult& r) {
  if (r.decision == Decision::kAuto) return "auto:" + r.best()->vendor_id;
  return std::string(DecisionName(r.decision));
}

TEST(MatcherFixtures, CasesTableHasZeroWrongAutos) {
  std::ifstream in(std::string(MLC_MATCH_TESTDATA_DIR) + "/cases.json");
  ASSERT_TRUE(in) << "cannot open testdata/cases.json";
  const std::string text{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  const nlohmann::json doc = nlohmann::json::parse(text, nullptr, false);
  ASSERT_FALSE(doc.is_discarded()) << "testdata/cases.json is not valid JSON";

  std::map<std::string, std::unique_ptr<Matcher>> matchers;
  for (const auto& [name, list] : doc.at("vendor_lists").items()) {
    std::vector<Vendor> vendors;
    for (const auto& v : list)
      vendors.push_back({v.at("id").get<std::string>(), v.at("name").get<std::string>()});
    matchers[name] = MakeMatcher(vendors);
  }

  const auto& cases = doc.at("cases");
  ASSERT_GE(cases.size(), 60u);
  size_t wrong_autos = 0, autos = 0, reviews = 0, nones = 0;
  std::set<std::string> kinds;
  for (const auto& c : cases) {
    const std::string descriptor = c.at("descriptor").get<std::string>();
    const std::string list = c.at("vendors").get<std::string>();
    const std::string expect = c.at("expect").get<std::string>();
    ASSERT_TRUE(matchers.count(list)) << descriptor << ": unknown vendor list " << list;
    const MatchResult r = matchers[list]->Match(descriptor, Thresholds{});
    std::string candidates;
    for (const auto& cand : r.candidates)
      candidates += " " + cand.vendor_id + "=" + std::to_string(cand.score);
    SCOPED_TRACE(descriptor + " [" + list + "] ->" + candidates + " (" + r.reason + ")");

    // A wrong auto-match is the one outcome that must never happen.
    const bool expect_vendor = expect != "review" && expect != "none";
    if (r.decision == Decision::kAuto && (!expect_vendor || r.best()->vendor_id != expect)) ++wrong_autos;

    if (expect_vendor) {
      kinds.insert("auto");
      ++autos;
      EXPECT_EQ(Outcome(r), "auto:" + expect);
    } else {
      kinds.insert(expect);
      ++(expect == "review" ? reviews : nones);
      EXPECT_EQ(Outcome(r), expect);
    }
    if (c.contains("top")) {
      ASSERT_NE(r.best(), nullptr);
      EXPECT_EQ(r.best()->vendor_id, c.at("top").get<std::string>());
    }
    // The key is what the cache stores: never with surrounding or doubled spaces.
    EXPECT_EQ(r.merchant_key.find("  "), std::string::npos);
  }
  EXPECT_EQ(wrong_autos, 0u);
  EXPECT_EQ(kinds, (std::set<std::string>{"auto", "review", "none"}));
  std::printf("[ fixture  ] %zu cases: %zu auto, %zu review, %zu none expected; wrong autos: %zu\n",
              cases.size(), autos, reviews, nones, wrong_autos);
}

TEST(Matcher, PrefersTheMostSpecificVendor) {
  auto m = MakeMatcher({{"amzn", "Amazon"},
                        {"aws", "Amazon Web Services"},
                        {"uber", "Uber"},
                        {"eats", "Uber Eats"},
                        {"g", "Google"},
                        {"gads", "Google Ads"}});
  EXPECT_EQ(Outcome(m->Match("AWS EMEA aws.amazon.co", {})), "auto:aws");
  EXPECT_EQ(Outcome(m->Match("AMZN Mktp US*2K4LR0QX2", {})), "auto:amzn");
  EXPECT_EQ(Outcome(m->Match("UBER *EATS", {})), "auto:eats");
  EXPECT_EQ(Outcome(m->Match("UBER   *TRIP HELP.UBER.COM", {})), "auto:uber");
  EXPECT_EQ(Outcome(m->Match("GOOGLE *ADS1234567", {})), "auto:gads");
  // The less specific vendor is still reported as a candidate, just not as a rival.
  const MatchResult r = m->Match("UBER *EATS", {});
  ASSERT_GE(r.candidates.size(), 2u);
  EXPECT_EQ(r.candidates[1].vendor_id, "uber");
  EXPECT_GT(r.margin, 0.0);
}

TEST(Matcher, AmbiguityGoesToReview) {
  auto m = MakeMatcher({{"air", "Delta Air Lines"},
                        {"dental", "Delta Dental"},
                        {"a1", "Acme Supplies"},
                        {"a2", "Acme Supplies Inc"}});
  const MatchResult delta = m->Match("DELTA", {});
  EXPECT_EQ(delta.decision, Decision::kReview);
  // Two vendors with the same normalized name: even a perfect score is not enough.
  const MatchResult acme = m->Match("ACME SUPPLIES", {});
  EXPECT_EQ(acme.decision, Decision::kReview);
  ASSERT_NE(acme.best(), nullptr);
  EXPECT_DOUBLE_EQ(acme.best()->score, 1.0);
  EXPECT_THAT(acme.reason, HasSubstr("ambiguous"));
}

TEST(Matcher, ThresholdsAreThePipelines) {
  auto m = MakeMatcher({{"uber", "Uber"}, {"lyft", "Lyft"}});
  EXPECT_EQ(m->Match("UBER *TRIP", {}).decision, Decision::kAuto);
  EXPECT_EQ(m->Match("UBER *TRIP", {.auto_accept = 0.999, .review_min = 0.5}).decision, Decision::kReview);
  EXPECT_EQ(m->Match("UBER *TRIP", {.auto_accept = 1.0, .review_min = 0.999}).decision, Decision::kNone);
  EXPECT_EQ(m->Match("UBER", {.auto_accept = 1.0, .review_min = 1.0}).decision, Decision::kAuto);
  // A margin larger than any lead forces review.
  EXPECT_EQ(m->Match("UBER *TRIP", {.min_margin = 1.0}).decision, Decision::kReview);

  EXPECT_TRUE(Thresholds{}.Validate().ok());
  EXPECT_FALSE((Thresholds{.auto_accept = 1.5}).Validate().ok());
  EXPECT_FALSE((Thresholds{.review_min = -0.1}).Validate().ok());
  EXPECT_FALSE((Thresholds{.min_margin = 2}).Validate().ok());
  EXPECT_FALSE((Thresholds{.auto_accept = 0.5, .review_min = 0.6}).Validate().ok());
  EXPECT_FALSE((Thresholds{.auto_accept = std::nan("")}).Validate().ok());
}

TEST(Matcher, NoneWhenNothingMatches) {
  auto m = MakeMatcher({{"uber", "Uber"}});
  const MatchResult r = m->Match("SHELL OIL 57442", {});
  EXPECT_EQ(r.decision, Decision::kNone);
  EXPECT_EQ(r.merchant_key, "shell oil");
  const MatchResult empty = m->Match("#1234 0062345678901", {});
  EXPECT_EQ(empty.decision, Decision::kNone);
  EXPECT_TRUE(empty.merchant_key.empty());

  Matcher nobody(DefaultNormalizer());
  const MatchResult none = nobody.Match("UBER *TRIP", {});
  EXPECT_EQ(none.decision, Decision::kNone);
  EXPECT_TRUE(none.candidates.empty());
  EXPECT_EQ(none.reason, "no vendors");
}

TEST(Matcher, BuildRefusesBadVendorsAndKeepsTheOldIndex) {
  auto m = MakeMatcher({{"uber", "Uber"}});
  Status s = m->Build({{"a", "Acme"}, {"", "Nameless"}});
  EXPECT_EQ(s.code(), Code::kInvalid);
  EXPECT_THAT(s.message(), HasSubstr("vendors[1]: empty id"));
  s = m->Build({{"a", "Acme"}, {"b", "Bolt"}, {"a", "Again"}});
  EXPECT_THAT(s.message(), HasSubstr("vendors[2] (id 'a'): duplicate id (also vendors[0])"));
  s = m->Build({{"a", "Acme"}, {"b", "\xE2\x80\x94"}});  // an em dash
  EXPECT_THAT(s.message(), HasSubstr("vendors[1] (id 'b'): name '\xE2\x80\x94' has no letters or digits"));
  s = m->Build({{"a", "Acme"}, {"b", "***"}});
  EXPECT_THAT(s.message(), HasSubstr("has no letters or digits"));
  // Nothing changed.
  EXPECT_EQ(m->size(), 1u);
  EXPECT_EQ(Outcome(m->Match("UBER *TRIP", {})), "auto:uber");
  EXPECT_FALSE(m->Upsert({"", "Acme"}).ok());
  EXPECT_FALSE(m->Upsert({"x", "   "}).ok());
  EXPECT_EQ(m->size(), 1u);
}

TEST(Matcher, IncrementalUpdatesMatchAFreshBuild) {
  Matcher m(DefaultNormalizer());
  ASSERT_TRUE(m.Build({{"uber", "Uber"}, {"lyft", "Lyft"}, {"bb", "Blue Bottle Coffee"}}).ok());
  EXPECT_EQ(Outcome(m.Match("UBER *EATS", {})), "auto:uber");

  // Add: the more specific vendor now wins.
  ASSERT_TRUE(m.Upsert({"eats", "Uber Eats"}).ok());
  EXPECT_EQ(m.size(), 4u);
  EXPECT_EQ(Outcome(m.Match("UBER *EATS", {})), "auto:eats");

  // Rename: the old name no longer matches, the new one does.
  ASSERT_TRUE(m.Upsert({"bb", "Ritual Coffee Roasters"}).ok());
  EXPECT_EQ(m.size(), 4u);
  EXPECT_EQ(m.VendorName("bb"), "Ritual Coffee Roasters");
  EXPECT_NE(Outcome(m.Match("SQ *BLUE BOTTLE COFFEE", {})), "auto:bb");
  EXPECT_EQ(Outcome(m.Match("SQ *RITUAL COFFEE ROASTERS", {})), "auto:bb");

  // Remove: gone from results; unknown ids are reported.
  EXPECT_TRUE(m.Remove("lyft"));
  EXPECT_FALSE(m.Remove("lyft"));
  EXPECT_FALSE(m.VendorName("lyft").has_value());
  EXPECT_EQ(m.size(), 3u);
  EXPECT_EQ(m.Match("LYFT *RIDE", {}).decision, Decision::kNone);
  // A reused slot does not resurrect the removed vendor.
  ASSERT_TRUE(m.Upsert({"hertz", "Hertz"}).ok());
  EXPECT_EQ(Outcome(m.Match("HERTZ #0291 BOSTON MA", {})), "auto:hertz");

  // The incrementally maintained index scores exactly as a fresh one over the same vendors.
  auto fresh = MakeMatcher(
      {{"uber", "Uber"}, {"eats", "Uber Eats"}, {"bb", "Ritual Coffee Roasters"}, {"hertz", "Hertz"}});
  for (const char* d : {"UBER *EATS", "UBER *TRIP", "SQ *RITUAL COFFEE", "HERTZ RENTAL", "RITUAL", "EATS"}) {
    const MatchResult a = m.Match(d, {});
    const MatchResult b = fresh->Match(d, {});
    ASSERT_EQ(a.candidates.size(), b.candidates.size()) << d;
    for (size_t i = 0; i < a.candidates.size(); ++i) {
      EXPECT_EQ(a.candidates[i].vendor_id, b.candidates[i].vendor_id) << d;
      EXPECT_DOUBLE_EQ(a.candidates[i].score, b.candidates[i].score) << d;
    }
    EXPECT_EQ(a.decision, b.decision) << d;
  }
}

TEST(Matcher, MatchAllEqualsMatchInOrder) {
  auto m =
      MakeMatcher({{"uber", "Uber"}, {"eats", "Uber Eats"}, {"lyft", "Lyft"}, {"bb", "Blue Bottle Coffee"}});
  std::vector<std::string> descriptors;
  for (int i = 0; i < 50; ++i) {
    descriptors.push_back(i % 3 == 0   ? "UBER *EATS"
                          : i % 3 == 1 ? "LYFT *RIDE"
                                       : "SQ *BLUE BOTTLE " + std::to_string(i));
  }
  descriptors.push_back("SHELL OIL");
  const auto all = m->MatchAll(descriptors, {}, 2);
  ASSERT_EQ(all.size(), descriptors.size());
  for (size_t i = 0; i < descriptors.size(); ++i) {
    const MatchResult one = m->Match(descriptors[i], {});
    EXPECT_EQ(Outcome(all[i]), Outcome(one)) << descriptors[i];
    EXPECT_EQ(all[i].merchant_key, one.merchant_key);
  }
  EXPECT_TRUE(m->MatchAll({}, {}, 2).empty());
}

TEST(Matcher, ConcurrentMatchesWhileVendorsChange) {
  Matcher m(DefaultNormalizer());
  ASSERT_TRUE(m.Build({{"uber", "Uber"}, {"eats", "Uber Eats"}, {"lyft", "Lyft"}}).ok());
  std::atomic<bool> stop{false};
  std::atomic<int> bad{0}, matched{0};
  std::vector<std::thread> readers;
  for (int t = 0; t < 3; ++t) {
    readers.emplace_back([&] {
      while (!stop.load()) {
        for (const char* d : {"UBER *TRIP", "UBER *EATS", "LYFT *RIDE", "TEMP VENDOR 42"}) {
          const MatchResult r = m.Match(d, {});
          if (r.best() == nullptr) continue;
          const std::string& id = r.best()->vendor_id;
          if (id != "uber" && id != "eats" && id != "lyft" && id.rfind("temp", 0) != 0) ++bad;
          // Uber and Lyft never change: their descriptors must resolve the same way throughout.
          if (std::string(d) == "UBER *TRIP" && Outcome(r) != "auto:uber") ++bad;
          ++matched;
        }
      }
    });
  }
  for (int i = 0; i < 300; ++i) {
    const std::string id = "temp" + std::to_string(i % 7);
    ASSERT_TRUE(m.Upsert({id, "Temp Vendor " + std::to_string(i)}).ok());
    if (i % 3 == 0) m.Remove(id);
  }
  stop = true;
  for (auto& t : readers) t.join();
  EXPECT_EQ(bad.load(), 0);
  EXPECT_GT(matched.load(), 0);
}

TEST(Matcher, IndexFindsTheVendorAmongManySharingWords) {
  // 3,000 coffee shops share "coffee": the right one must still be among the candidates scored in full.
  std::vector<Vendor> vendors;
  const char* words[] = {"Red",    "Green", "Morning", "Corner", "Harbor",
                         "Summit", "River", "Maple",   "Cedar",  "Iron"};
  for (int i = 0; i < 3000; ++i) {
    vendors.push_back({"c" + std::to_string(i), std::string(words[i % 10]) + " " + words[(i / 10) % 10] +
                                                    " " + words[(i / 100) % 10] + " Coffee " +
                                                    std::to_string(i)});
  }
  vendors.push_back({"bb", "Blue Bottle Coffee"});
  auto m = MakeMatcher(vendors);
  EXPECT_EQ(Outcome(m->Match("SQ *BLUE BOTTLE COFFEE", {})), "auto:bb");
  EXPECT_EQ(Outcome(m->Match("SQ *BLUEBOTTLE COFFEE", {})), "auto:bb");
}

TEST(JaroWinkler, KnownValues) {
  EXPECT_NEAR(JaroWinkler("martha", "marhta"), 0.961, 0.001);
  EXPECT_NEAR(JaroWinkler("dwayne", "duane"), 0.840, 0.001);
  EXPECT_NEAR(JaroWinkler("dixon", "dicksonx"), 0.813, 0.001);
  EXPECT_DOUBLE_EQ(JaroWinkler("", ""), 1.0);
  EXPECT_DOUBLE_EQ(JaroWinkler("abc", ""), 0.0);
  EXPECT_DOUBLE_EQ(JaroWinkler("abc", "xyz"), 0.0);
  EXPECT_DOUBLE_EQ(JaroWinkler("uber", "uber"), 1.0);
}

TEST(Decisions, NamesRoundTrip) {
  for (Decision d : {Decision::kAuto, Decision::kReview, Decision::kNone}) {
    EXPECT_EQ(DecisionFromName(DecisionName(d)), d);
  }
  EXPECT_FALSE(DecisionFromName("maybe").has_value());
}

}  // namespace
}  // namespace mlc::match
