// Mapping tables, the StandardResolver's decisions, the reference cache and the review queue, against the
// template plugin as target (its `accounts` / `vendors` reference streams come from its settings) through
// the real engine and store: review -> resolve -> replay -> lands.
#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "engine/engine.hpp"
#include "engine/mapping.hpp"
#include "engine/refdata.hpp"
#include "engine/review.hpp"
#include "engine/standard_resolver.hpp"
#include "engine/test_util.hpp"

namespace mlc::engine {
namespace {

using nlohmann::json;
using testing::TempDir;

const json kAccounts =
    json::array({{{"id", "acc_6100"}, {"code", "6100"}, {"name", "Meals and Entertainment"}},
                 {{"id", "acc_6200"}, {"code", "6200"}, {"name", "Travel"}},
                 {{"id", "acc_6300"}, {"code", "6300"}, {"name", "Office Supplies"}},
                 {{"id", "acc_6400"}, {"code", "6400"}, {"name", "Software"}},
                 {{"id", "acc_6500"}, {"code", "6500"}, {"name", "Shipping"}}});

class ReviewTest : public ::testing::Test {
 protected:
  void SetUp() override {
    plugin_ = testing::LoadTemplate(registry_, dir_);
    auto s = store::Store::Open({.path = dir_.File("mlc.db"), .synchronous = "NORMAL"});
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    store_ = std::move(*s);
    factory_ = std::make_unique<StoreInstanceFactory>(*store_);
    resolver_ = std::make_unique<StandardResolver>(*store_, *factory_);
  }

  // src: `records` generated expenses (seed 7); dst (and any extra target connection): reference data.
  void Connect(int records, json accounts, json vendors, const std::string& name = "dst") {
    if (!factory_->Manifest("src").ok()) {
      ASSERT_TRUE(factory_
                      ->AddConnection(
                          "src", plugin_,
                          {{"seed", 7}, {"records", records}, {"store", "src"}, {"connection", "src"}}, {}, 1)
                      .ok());
    }
    json dst = {{"seed", 1}, {"records", 0}, {"store", name}, {"accounts", accounts}, {"vendors", vendors}};
    ASSERT_TRUE(factory_->AddConnection(name, plugin_, dst, {}, 1).ok());
  }

  std::unique_ptr<Engine> MakeEngine(json options = json::object()) {
    EngineOptions eo;
    eo.random = [] { return 0.5; };
    auto e = std::make_unique<Engine>(*store_, *factory_, *resolver_, eo);
    PipelineSpec spec;
    spec.name = "p";
    spec.source = "src";
    spec.target = "dst";
    spec.objects = {"expense"};
    json o = {{"retry_base_ms", 0}, {"retry_cap_ms", 0}, {"page_size", 10}};
    o.update(options);
    spec.options = o;
    EXPECT_TRUE(e->AddPipeline(spec).ok());
    return e;
  }

  // Resolves `object` for pipeline p against connection `target` (not a live job: nothing is cached).
  Result<ResolveOutcome> Resolve(const json& object, json options = json::object(),
                                 const std::string& target = "dst",
                                 const std::string& job_id = "job-preview") {
    auto inst = factory_->Open(target);
    if (!inst.ok()) return inst.status();
    instances_.push_back(std::move(*inst));
    options_ = options;
    ResolveInput in{"p", job_id, "expense", "src", "dst", &object, &options_, instances_.back().get()};
    return resolver_->Resolve(in);
  }

  static json Expense(const std::string& merchant, json account = {{"code", "6100"}, {"name", "Meals"}}) {
    return {{"type", "expense"},
            {"merchant", merchant},
            {"account", account},
            {"dimensions", {{"department", {{"code", "ENG"}, {"name", "Engineering"}}}}}};
  }

  static bool HasNote(const ResolveOutcome& o, const std::string& text) {
    return std::any_of(o.notes.begin(), o.notes.end(),
                       [&](const ResolveNote& n) { return n.outcome.find(text) != std::string::npos; });
  }

  std::vector<json> Written() { return testing::ReadAll(*factory_, "dst", "written"); }
  std::vector<json> Source() { return testing::ReadAll(*factory_, "src", "expenses"); }

  int64_t Count(const std::string& sql, const store::Params& params = {}) {
    auto row = store_->QueryOne(sql, params);
    EXPECT_TRUE(row.ok()) << row.status().ToString();
    return row.ok() && *row ? (*row)->Int(0) : -1;
  }

  // Inserts a job leased right now (state running), so the resolver treats its resolve as live.
  void InsertRunningJob(const std::string& id) {
    ASSERT_TRUE(
        store_
            ->Exec("INSERT INTO jobs (id, pipeline, object_type, source_id, source_version, state, attempts, "
                   "next_run_at, idempotency_key, created_at, updated_at) VALUES ($1, 'p', 'expense', $1, "
                   "'1', 'running', 0, 0, $1, 0, 0)",
                   {id})
            .ok());
  }

  TempDir dir_;
  loader::PluginRegistry registry_;
  std::shared_ptr<const loader::LoadedPlugin> plugin_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<StoreInstanceFactory> factory_;
  std::unique_ptr<StandardResolver> resolver_;
  std::vector<std::unique_ptr<loader::PluginInstance>> instances_;
  json options_;
};

// ---- mapping tables

TEST_F(ReviewTest, OperatorMappingsWinOverConfigAndSurviveConfigReloads) {
  MappingStore maps(*store_);
  ASSERT_TRUE(maps.LoadConfig("p", {{"gl_account", {{"6100", "acc_cfg"}, {"6200", "acc_travel"}}}}, 1).ok());
  auto m = maps.Lookup("p", "gl_account", " 6100 ");
  ASSERT_TRUE(m.ok() && *m);
  EXPECT_EQ((*m)->target_value, "acc_cfg");
  EXPECT_EQ((*m)->origin, MappingOrigin::kConfig);

  ASSERT_TRUE(maps.Set("p", "gl_account", "6100", "acc_cli", MappingOrigin::kCli, 2).ok());
  m = maps.Lookup("p", "gl_account", "6100");
  ASSERT_TRUE(m.ok() && *m);
  EXPECT_EQ((*m)->target_value, "acc_cli");
  EXPECT_EQ((*m)->origin, MappingOrigin::kCli);

  // A config reload (engine setup) rewrites config rows only.
  ASSERT_TRUE(maps.LoadConfig("p", {{"gl_account", {{"6100", "acc_cfg2"}}}}, 3).ok());
  m = maps.Lookup("p", "gl_account", "6100");
  ASSERT_TRUE(m.ok() && *m);
  EXPECT_EQ((*m)->target_value, "acc_cli");
  m = maps.Lookup("p", "gl_account", "6200");  // dropped from the config
  ASSERT_TRUE(m.ok());
  EXPECT_FALSE(*m);

  auto list = maps.List("p");
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].origin, MappingOrigin::kCli);
  EXPECT_FALSE((*list)[0].overridden);
  EXPECT_TRUE((*list)[1].overridden);

  // Deleting the operator row lets the config row apply again; config rows cannot be deleted here.
  ASSERT_TRUE(maps.Delete("p", "gl_account", "6100").ok());
  m = maps.Lookup("p", "gl_account", "6100");
  ASSERT_TRUE(m.ok() && *m);
  EXPECT_EQ((*m)->target_value, "acc_cfg2");
  Status again = maps.Delete("p", "gl_account", "6100");
  EXPECT_EQ(again.code(), Code::kNotFound);
  EXPECT_NE(again.message().find("configuration file"), std::string::npos) << again.message();
}

TEST_F(ReviewTest, BadMappingInputIsRefused) {
  MappingStore maps(*store_);
  EXPECT_EQ(maps.Set("p", "gl_acount", "6100", "x", MappingOrigin::kCli, 1).code(), Code::kInvalid);
  EXPECT_EQ(maps.Set("p", "dimension:", "6100", "x", MappingOrigin::kCli, 1).code(), Code::kInvalid);
  EXPECT_EQ(maps.Set("p", "gl_account", "  ", "x", MappingOrigin::kCli, 1).code(), Code::kInvalid);
  EXPECT_EQ(maps.Set("p", "gl_account", "6100", "", MappingOrigin::kCli, 1).code(), Code::kInvalid);
  EXPECT_TRUE(maps.Set("p", "dimension:cost_center", "CC1", "x", MappingOrigin::kCli, 1).ok());
  EXPECT_EQ(maps.LoadConfig("p", {{"bogus", {{"a", "b"}}}}, 1).code(), Code::kInvalid);
  auto list = maps.List("p");
  ASSERT_TRUE(list.ok());
  EXPECT_EQ(list->size(), 1u);  // nothing of the refused calls was stored
}

// ---- resolver decisions

TEST_F(ReviewTest, AccountsResolveByMappingOrSameCodeElseReview) {
  Connect(0,
          json::array({{{"id", "acc_x"}, {"code", "9000"}, {"name", "Catch-all"}},
                       {{"id", "acc_m"}, {"code", "6100"}, {"name", "Meals"}}}),
          json::array());
  // Same code in the target.
  auto same = Resolve(Expense("Blue Bottle Coffee"));
  ASSERT_TRUE(same.ok()) << same.status().ToString();
  ASSERT_EQ(same->kind, ResolveKind::kResolved);
  EXPECT_EQ(same->refs["account"]["id"], "acc_m");
  EXPECT_EQ(same->refs["account"]["code"], "6100");
  // Dimensions pass through as names (the template has no dimension data).
  EXPECT_EQ(same->refs["dimensions"]["department"]["name"], "Engineering");
  // No vendor in the target's (empty) vendor list: default unmatched_vendor = none.
  EXPECT_FALSE(same->refs.contains("vendor"));
  ASSERT_EQ(same->notes.size(), 1u);  // one mapped note: the target has no vendors, so nothing was matched
  EXPECT_EQ(same->notes[0].step, "mapped");
  EXPECT_EQ(same->notes[0].detail["decisions"].size(), 3u);  // account, dimension, vendor

  // Unknown code: review.
  auto unknown = Resolve(Expense("Blue Bottle Coffee", {{"code", "6200"}, {"name", "Travel"}}));
  ASSERT_TRUE(unknown.ok());
  EXPECT_EQ(unknown->kind, ResolveKind::kReview);
  EXPECT_EQ(unknown->review_kind, "unmapped_account");
  EXPECT_NE(unknown->review_detail.find("6200"), std::string::npos) << unknown->review_detail;

  // A mapping resolves it; a mapping to something the target does not have is a review again.
  ASSERT_TRUE(resolver_->mappings().Set("p", "gl_account", "6200", "Catch-all", MappingOrigin::kCli, 1).ok());
  auto mapped = Resolve(Expense("x", {{"code", "6200"}}));
  ASSERT_TRUE(mapped.ok());
  ASSERT_EQ(mapped->kind, ResolveKind::kResolved);
  EXPECT_EQ(mapped->refs["account"]["id"], "acc_x");
  ASSERT_TRUE(resolver_->mappings().Set("p", "gl_account", "6200", "acc_gone", MappingOrigin::kCli, 1).ok());
  auto gone = Resolve(Expense("x", {{"code", "6200"}}));
  ASSERT_TRUE(gone.ok());
  EXPECT_EQ(gone->review_kind, "unmapped_account");

  // Dimension mappings apply.
  ASSERT_TRUE(
      resolver_->mappings().Set("p", "dimension:department", "ENG", "R&D", MappingOrigin::kCli, 1).ok());
  auto dim = Resolve(Expense("x"));
  ASSERT_TRUE(dim.ok());
  EXPECT_EQ(dim->refs["dimensions"]["department"]["name"], "R&D");
}

TEST_F(ReviewTest, BadResolverOptionsAreInvalid) {
  EXPECT_EQ(ResolverOptions::FromJson({{"unmatched_vendor", "maybe"}}).status().code(), Code::kInvalid);
  EXPECT_EQ(ResolverOptions::FromJson({{"auto_accept", 1.5}}).status().code(), Code::kInvalid);
  EXPECT_EQ(ResolverOptions::FromJson({{"auto_accept", 0.5}, {"review_floor", 0.7}}).status().code(),
            Code::kInvalid);
  EXPECT_EQ(ResolverOptions::FromJson({{"reference_ttl_s", "soon"}}).status().code(), Code::kInvalid);
  auto ok = ResolverOptions::FromJson({{"account_ref", "category"}, {"reference_ttl_s", 60}});
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->account_ref, ResolverOptions::AccountRef::kCategory);
  EXPECT_EQ(ok->reference_ttl, std::chrono::seconds(60));
}

TEST_F(ReviewTest, VendorDecisionsAutoReviewAndBelowTheFloor) {
  Connect(0, kAccounts,
          json::array({{{"id", "v_bb"}, {"name", "Blue Bottle Coffee"}},
                       {{"id", "v_st"}, {"name", "Staples"}},
                       {{"id", "v_uber"}, {"name", "Uber"}},
                       {{"id", "v_eats"}, {"name", "Uber Eats"}}}));
  auto autom = Resolve(Expense("SQ *BLUE BOTTLE COFFEE #1234"));
  ASSERT_TRUE(autom.ok()) << autom.status().ToString();
  ASSERT_EQ(autom->kind, ResolveKind::kResolved);
  EXPECT_EQ(autom->refs["vendor"], json({{"id", "v_bb"}, {"name", "Blue Bottle Coffee"}}));
  EXPECT_TRUE(HasNote(*autom, "matched: auto"));

  // A truncated descriptor scores in the review band (0.65 <= score < 0.90): the candidates go with it.
  auto band = Resolve(Expense("SQ *BLUE BOTTLE"));
  ASSERT_TRUE(band.ok());
  ASSERT_EQ(band->kind, ResolveKind::kReview);
  EXPECT_EQ(band->review_kind, "vendor_match");
  bool candidates = false;
  for (const auto& n : band->notes) {
    if (n.detail.value("review_kind", "") == "vendor_match") {
      candidates = !n.detail["candidates"].empty() && n.detail["candidates"][0]["vendor_id"] == "v_bb";
    }
  }
  EXPECT_TRUE(candidates);

  // Below the floor: the pipeline's unmatched_vendor policy.
  const json florist = Expense("ZQXW FLORIST 555-123-4567");
  auto none = Resolve(florist);
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(none->kind, ResolveKind::kResolved);
  EXPECT_FALSE(none->refs.contains("vendor"));
  auto create = Resolve(florist, {{"unmatched_vendor", "create"}});
  ASSERT_TRUE(create.ok());
  ASSERT_EQ(create->kind, ResolveKind::kResolved);
  EXPECT_EQ(create->refs["vendor"]["create"], true);
  EXPECT_EQ(create->refs["vendor"]["name"], "Zqxw Florist");
  auto skip = Resolve(florist, {{"unmatched_vendor", "skip"}});
  ASSERT_TRUE(skip.ok());
  EXPECT_EQ(skip->kind, ResolveKind::kSkip);
  auto review = Resolve(florist, {{"unmatched_vendor", "review"}});
  ASSERT_TRUE(review.ok());
  EXPECT_EQ(review->review_kind, "vendor_match");

  // Previews (no leased job) cache nothing.
  EXPECT_EQ(Count("SELECT COUNT(*) FROM match_cache"), 0);
}

TEST_F(ReviewTest, LiveResolvesUseTheCacheAndForgetRenamedOrDeletedVendors) {
  Connect(
      0, kAccounts,
      json::array({{{"id", "v_bb"}, {"name", "Blue Bottle Coffee"}}, {{"id", "v_st"}, {"name", "Staples"}}}));
  // The same connection later: Blue Bottle renamed, Staples gone.
  Connect(0, kAccounts, json::array({{{"id", "v_bb"}, {"name", "Blue Bottle Coffee Roasters"}}}),
          "dst_later");
  InsertRunningJob("job-1");
  auto first = Resolve(Expense("SQ *BLUE BOTTLE COFFEE"), {}, "dst", "job-1");
  ASSERT_TRUE(first.ok());
  ASSERT_EQ(first->refs["vendor"]["id"], "v_bb");
  EXPECT_EQ(Count("SELECT COUNT(*) FROM match_cache WHERE vendor_id = 'v_bb' AND decision = 'auto'"), 1);
  auto second = Resolve(Expense("SQ *BLUE BOTTLE COFFEE"), {}, "dst", "job-1");
  ASSERT_TRUE(second.ok());
  EXPECT_TRUE(HasNote(*second, "cache hit"));
  // An operator pin to Staples.
  ASSERT_TRUE(resolver_->match_cache()
                  .PutOperatorVendor("p", resolver_->MerchantKey("STAPLES 0042"), "v_st", "Staples", 5)
                  .ok());
  auto pinned = Resolve(Expense("STAPLES 0042"), {}, "dst", "job-1");
  ASSERT_TRUE(pinned.ok());
  EXPECT_EQ(pinned->refs["vendor"]["id"], "v_st");

  // Reload (TTL passed / invalidated) from the later vendor list.
  resolver_->references().Invalidate("dst");
  auto later = Resolve(Expense("SQ *BLUE BOTTLE COFFEE"), {}, "dst_later", "job-1");
  ASSERT_TRUE(later.ok());
  EXPECT_EQ(Count("SELECT COUNT(*) FROM match_cache WHERE vendor_id = 'v_st'"), 0);  // deleted: pin gone
  EXPECT_FALSE(HasNote(*later, "cache hit"));  // renamed: the machine row was dropped, matched afresh
  EXPECT_EQ(later->refs["vendor"]["name"], "Blue Bottle Coffee Roasters");
}

TEST_F(ReviewTest, ReferenceCacheKeepsItsSnapshotWithinTheTtl) {
  Connect(0, kAccounts, json::array({{{"id", "v1"}, {"name", "Staples"}}}));
  Connect(0, json::array(), json::array(), "other");
  int64_t now = 1000;
  ReferenceCache cache(*factory_, [&] { return now; });
  auto inst = factory_->Open("dst");
  ASSERT_TRUE(inst.ok());
  auto other = factory_->Open("other");
  ASSERT_TRUE(other.ok());
  auto a = cache.Get("dst", inst->get(), std::chrono::minutes(15));
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_EQ((*a)->items.at("account").size(), 5u);
  ASSERT_NE((*a)->Find("account", "software"), nullptr);
  EXPECT_EQ((*a)->Find("account", "software")->id, "acc_6400");
  now += 60 * 1000;
  auto b = cache.Get("dst", other->get(), std::chrono::minutes(15));  // fresh: not read again
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->get(), a->get());
  now += 15 * 60 * 1000;
  auto c = cache.Get("dst", other->get(), std::chrono::minutes(15));  // stale: read (an empty target)
  ASSERT_TRUE(c.ok());
  EXPECT_FALSE((*c)->Has("account"));  // an empty chart of accounts counts as not offered
  EXPECT_TRUE((*c)->Has("vendor"));
  VendorChanges changes = cache.TakeVendorChanges("dst");
  EXPECT_EQ(changes.deleted, std::vector<std::string>{"v1"});
  EXPECT_TRUE(cache.TakeVendorChanges("dst").empty());
}

// ---- review -> resolve -> replay -> lands

class ReviewFlowTest : public ReviewTest {
 protected:
  // Runs every due job of p; returns the review items then open.
  std::vector<ReviewItem> RunAndList(Engine& engine) {
    auto polled = engine.Poll("p");
    EXPECT_TRUE(polled.ok()) << polled.status().ToString();
    auto drained = engine.Drain("p");
    EXPECT_TRUE(drained.ok());
    ReviewQueue queue(*store_);
    auto items = queue.List("p");
    EXPECT_TRUE(items.ok()) << items.status().ToString();
    return items.ok() ? *items : std::vector<ReviewItem>{};
  }
  ReviewResolveResult ResolveAndRun(Engine& engine, const std::string& id, ReviewAction action) {
    ReviewQueue queue(*store_);
    auto done = ResolveReviewItem(engine, *resolver_, queue, id, action);
    EXPECT_TRUE(done.ok()) << done.status().ToString();
    if (!done.ok()) return {};
    DrainOptions d;
    d.only_jobs = done->replayed;
    EXPECT_TRUE(engine.Drain("p", d).ok());
    return *done;
  }
  JobState StateOf(const std::string& job_id) {
    auto j = LoadJob(*store_, job_id);
    return j.ok() && *j ? (*j)->state : JobState::kDead;
  }
  json WrittenFor(const std::string& source_id) {
    for (const auto& w : Written()) {
      if (w["source"]["id"] == source_id) return w;
    }
    return json();
  }
};

TEST_F(ReviewFlowTest, AccountResolutionBecomesAMappingAndReplaysTheSameCause) {
  Connect(6, json::array({{{"id", "acc_x"}, {"code", "9000"}, {"name", "Catch-all"}}}), json::array());
  auto engine = MakeEngine();
  auto items = RunAndList(*engine);
  ASSERT_EQ(items.size(), 6u);
  const ReviewItem first = items.front();
  EXPECT_EQ(first.kind, "unmapped_account");
  EXPECT_EQ(first.detail["table"], "gl_account");
  size_t same = 0;
  for (const auto& i : items) same += i.detail["source_value"] == first.detail["source_value"] ? 1 : 0;

  // Bad resolutions change nothing.
  ReviewQueue queue(*store_);
  EXPECT_EQ(ResolveReviewItem(*engine, *resolver_, queue, first.id, {ReviewAction::Kind::kVendor, "v1"})
                .status()
                .code(),
            Code::kInvalid);
  EXPECT_EQ(
      ResolveReviewItem(*engine, *resolver_, queue, first.id, {ReviewAction::Kind::kAccount, "acc_nope"})
          .status()
          .code(),
      Code::kNotFound);
  EXPECT_EQ(ResolveReviewItem(*engine, *resolver_, queue, "nope-1", {ReviewAction::Kind::kSkip, ""})
                .status()
                .code(),
            Code::kNotFound);

  auto done = ResolveAndRun(*engine, first.id, {ReviewAction::Kind::kAccount, "Catch-all"});
  EXPECT_EQ(done.item.resolution["action"], "account");
  EXPECT_EQ(done.also.size(), same - 1);
  EXPECT_EQ(done.replayed.size(), same);
  EXPECT_EQ(StateOf(first.job_id), JobState::kSucceeded);
  const json w = WrittenFor(first.source_id);
  ASSERT_TRUE(w.is_object());
  EXPECT_EQ(w["x-template"]["refs"]["account"]["id"], "acc_x");
  // Stored as a mapping (origin review), so the same case resolves itself next time.
  auto m = resolver_->mappings().Lookup("p", "gl_account", first.detail["source_value"].get<std::string>());
  ASSERT_TRUE(m.ok() && *m);
  EXPECT_EQ((*m)->target_value, "acc_x");
  EXPECT_EQ((*m)->origin, MappingOrigin::kReview);
  // Audited as the operator's resolution.
  EXPECT_EQ(Count("SELECT COUNT(*) FROM audit WHERE job_id = $1 AND step = 'resolved' AND actor = 'operator'",
                  {first.job_id}),
            1);
  auto left = queue.List("p");
  ASSERT_TRUE(left.ok());
  EXPECT_EQ(left->size(), 6u - same);
  // Resolving it twice is refused.
  EXPECT_EQ(ResolveReviewItem(*engine, *resolver_, queue, first.id, {ReviewAction::Kind::kSkip, ""})
                .status()
                .code(),
            Code::kInvalid);
}

TEST_F(ReviewFlowTest, VendorPinAndCreateVendorLand) {
  Connect(2, kAccounts, json::array({{{"id", "v_zz"}, {"name", "Zyxwv Qqqq"}}}));
  auto engine = MakeEngine({{"unmatched_vendor", "review"}});
  auto items = RunAndList(*engine);
  ASSERT_EQ(items.size(), 2u);
  for (const auto& i : items) EXPECT_EQ(i.kind, "vendor_match");
  EXPECT_FALSE(items[0].detail.value("merchant_key", "").empty());

  auto pinned = ResolveAndRun(*engine, items[0].id, {ReviewAction::Kind::kVendor, "Zyxwv Qqqq"});
  EXPECT_EQ(pinned.stored["match_cache"]["vendor_id"], "v_zz");
  EXPECT_EQ(StateOf(items[0].job_id), JobState::kSucceeded);
  EXPECT_EQ(WrittenFor(items[0].source_id)["x-template"]["refs"]["vendor"],
            json({{"id", "v_zz"}, {"name", "Zyxwv Qqqq"}}));

  ReviewQueue queue(*store_);
  auto open = queue.List("p");
  ASSERT_TRUE(open.ok());
  if (open->empty()) GTEST_SKIP() << "both records had the same merchant";
  auto created = ResolveAndRun(*engine, (*open)[0].id, {ReviewAction::Kind::kCreateVendor, ""});
  EXPECT_EQ(StateOf((*open)[0].job_id), JobState::kSucceeded);
  const json refs = WrittenFor((*open)[0].source_id)["x-template"]["refs"];
  EXPECT_EQ(refs["vendor"]["create"], true);
  EXPECT_FALSE(refs["vendor"].value("name", "").empty());
  auto m = resolver_->mappings().Lookup("p", "vendor", (*open)[0].detail["merchant_key"].get<std::string>());
  ASSERT_TRUE(m.ok() && *m);
  EXPECT_EQ((*m)->target_value, "@create");
}

TEST_F(ReviewFlowTest, SkipFinishesTheJobWithoutWriting) {
  Connect(1, json::array({{{"id", "acc_x"}, {"code", "9000"}, {"name", "Catch-all"}}}), json::array());
  auto engine = MakeEngine();
  auto items = RunAndList(*engine);
  ASSERT_EQ(items.size(), 1u);
  auto done = ResolveAndRun(*engine, items[0].id, {ReviewAction::Kind::kSkip, ""});
  EXPECT_TRUE(done.replayed.empty());
  EXPECT_EQ(StateOf(items[0].job_id), JobState::kSucceeded);
  EXPECT_TRUE(Written().empty());
  EXPECT_EQ(Count("SELECT COUNT(*) FROM audit WHERE job_id = $1 AND step = 'resolved' AND outcome = "
                  "'resolved: skipped' AND actor = 'operator'",
                  {items[0].job_id}),
            1);
  ReviewQueue queue(*store_);
  auto open = queue.List("p");
  ASSERT_TRUE(open.ok());
  EXPECT_TRUE(open->empty());
}

TEST_F(ReviewFlowTest, ItemsFollowTheJobsTable) {
  Connect(1, json::array({{{"id", "acc_x"}, {"code", "9000"}, {"name", "Catch-all"}}}), json::array());
  auto engine = MakeEngine();
  auto items = RunAndList(*engine);
  ASSERT_EQ(items.size(), 1u);
  // An operator replays the job by hand: it comes back to review as a new item; the old one is closed.
  ASSERT_TRUE(engine->Replay({items[0].job_id}).ok());
  ASSERT_TRUE(engine->Drain("p").ok());
  ReviewQueue queue(*store_);
  auto now = queue.List("p", /*include_resolved=*/true);
  ASSERT_TRUE(now.ok());
  ASSERT_EQ(now->size(), 2u);
  EXPECT_TRUE((*now)[0].resolved_at.has_value());
  EXPECT_EQ((*now)[0].resolution["action"], "superseded");
  EXPECT_FALSE((*now)[1].resolved_at.has_value());
  EXPECT_NE((*now)[0].id, (*now)[1].id);
}

TEST_F(ReviewFlowTest, DryRunChangesNothing) {
  Connect(3, kAccounts, json::array({{{"id", "v_bb"}, {"name", "Blue Bottle Coffee"}}}));
  auto engine = MakeEngine({{"unmatched_vendor", "create"}});
  auto report = engine->DryRun("p");
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_EQ(report->items.size(), 3u);
  EXPECT_TRUE(Written().empty());
  EXPECT_EQ(Count("SELECT COUNT(*) FROM jobs"), 0);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM match_cache"), 0);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM review_items"), 0);
}

}  // namespace
}  // namespace mlc::engine
