// Engine behaviour against the template plugin: arrival and de-duplication, the cursor rule, retries and
// dead-lettering, UNCERTAIN reconciliation, ack ordering, replay, dry run, review, pauses and the audit
// trail.
#include "engine/engine.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <set>

#include "engine/ids.hpp"
#include "engine/scheduler.hpp"
#include "engine/test_util.hpp"
#include "mlc/json.hpp"
#include "store/kv.hpp"

namespace mlc::engine {
namespace {

using nlohmann::json;
using testing::TempDir;

class EngineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    plugin_ = testing::LoadTemplate(registry_, dir_);
    auto s = store::Store::Open({.path = dir_.File("mlc.db"), .synchronous = "NORMAL"});
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    store_ = std::move(*s);
    factory_ = std::make_unique<StoreInstanceFactory>(*store_);
  }

  // src generates `records` expenses (seed 7); dst stores what it is written.
  void Connect(int records, json dst_extra = json::object(), int dst_cap = 1) {
    ASSERT_TRUE(factory_
                    ->AddConnection(
                        "src", plugin_,
                        {{"seed", 7}, {"records", records}, {"store", "src"}, {"connection", "src"}}, {}, 1)
                    .ok());
    json dst = {{"seed", 1}, {"records", 0}, {"store", "dst"}};
    dst.update(dst_extra);
    ASSERT_TRUE(factory_->AddConnection("dst", plugin_, dst, {}, dst_cap).ok());
  }

  std::unique_ptr<Engine> MakeEngine(json options = json::object(), Resolver* resolver = nullptr) {
    EngineOptions eo;
    eo.random = [] { return 0.5; };
    auto e = std::make_unique<Engine>(*store_, *factory_, resolver ? *resolver : resolver_, eo);
    PipelineSpec spec;
    spec.name = "p";
    spec.source = "src";
    spec.target = "dst";
    spec.objects = {"expense"};
    json o = {{"retry_base_ms", 0}, {"retry_cap_ms", 0}, {"page_size", 10}};
    if (options.is_object()) o.update(options);
    spec.options = o;
    Status s = e->AddPipeline(spec);
    EXPECT_TRUE(s.ok()) << s.ToString();
    return e;
  }

  std::vector<json> Written() { return testing::ReadAll(*factory_, "dst", "written"); }
  std::vector<json> Acked() { return testing::ReadAll(*factory_, "src", "acked"); }

  int64_t Count(const std::string& sql, const store::Params& params = {}) {
    auto row = store_->QueryOne(sql, params);
    EXPECT_TRUE(row.ok()) << row.status().ToString();
    return row.ok() && *row ? (*row)->Int(0) : -1;
  }

  std::vector<std::string> Steps(const std::string& job_id) {
    auto rows = store_->Query("SELECT step FROM audit WHERE job_id = $1 ORDER BY at_ms, id", {job_id});
    EXPECT_TRUE(rows.ok());
    std::vector<std::string> out;
    for (const auto& r : *rows) out.push_back(r.Text(0));
    return out;
  }

  Job LoadBySource(const std::string& source_id) {
    auto rows =
        store_->Query(std::string("SELECT ") + kJobColumns + " FROM jobs WHERE source_id = $1", {source_id});
    EXPECT_TRUE(rows.ok() && rows->size() == 1);
    return rows.ok() && rows->size() == 1 ? JobFromRow(rows->front()) : Job{};
  }

  // Every key written once, and with exactly one write call each.
  void ExpectExactlyOnce(int records) {
    auto written = Written();
    ASSERT_EQ(static_cast<int>(written.size()), records);
    std::set<std::string> keys, sources;
    for (const auto& w : written) {
      keys.insert(w["x-template"]["idempotency_key"].get<std::string>());
      sources.insert(w["source"]["id"].get<std::string>());
      EXPECT_EQ(w["x-template"]["writes"], 1) << w["source"]["id"];
    }
    EXPECT_EQ(static_cast<int>(keys.size()), records);
    EXPECT_EQ(static_cast<int>(sources.size()), records);
  }

  DrainOptions WaitRetries() {
    DrainOptions d;
    d.wait_for_retries = std::chrono::seconds(5);
    return d;
  }

  TempDir dir_;
  loader::PluginRegistry registry_;
  std::shared_ptr<const loader::LoadedPlugin> plugin_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<StoreInstanceFactory> factory_;
  PassThroughResolver resolver_;
};

TEST_F(EngineTest, SyncsEveryRecordExactlyOnceAndAcksEach) {
  Connect(25);
  auto engine = MakeEngine();
  auto polled = engine->Poll("p");
  ASSERT_TRUE(polled.ok()) << polled.status().ToString();
  EXPECT_EQ(polled->arrived, 25);
  EXPECT_EQ(polled->pages, 3);
  auto drained = engine->Drain("p");
  ASSERT_TRUE(drained.ok());
  EXPECT_EQ(drained->succeeded, 25);
  EXPECT_EQ(drained->dead + drained->review + drained->uncertain, 0);
  ExpectExactlyOnce(25);
  auto acked = Acked();
  ASSERT_EQ(acked.size(), 25u);
  // Acks carry the target id the write produced.
  std::map<std::string, std::string> target_of;
  for (const auto& w : Written()) target_of[w["source"]["id"]] = w["x-template"]["target_id"];
  for (const auto& a : acked) EXPECT_EQ(a["target_id"], target_of[a["source_id"]]);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM links WHERE pipeline = 'p'"), 25);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM jobs WHERE state = 'succeeded'"), 25);
}

TEST_F(EngineTest, WebhookArrivalAndPollOfTheSameRecordMakeOneJob) {
  Connect(12);
  auto engine = MakeEngine();
  // The webhook brings exp_7_3 in full, exactly as the source's read returns it.
  auto src = factory_->Open("src");
  ASSERT_TRUE(src.ok());
  auto page = (*src)->Read({{"stream", "expenses"}, {"limit", 10}});
  ASSERT_TRUE(page.ok());
  json record = (*page)["records"][3];
  ASSERT_EQ(record["source"]["id"], "exp_7_3");
  auto hooked = engine->Ingest("p", "expense", {record}, Actor::kWebhook);
  ASSERT_TRUE(hooked.ok()) << hooked.status().ToString();
  EXPECT_EQ(hooked->arrived, 1);
  // The same delivery again is absorbed.
  auto again = engine->Ingest("p", "expense", {record}, Actor::kWebhook);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->arrived, 0);
  EXPECT_EQ(again->duplicates, 1);

  auto polled = engine->Poll("p");
  ASSERT_TRUE(polled.ok());
  EXPECT_EQ(polled->arrived, 11);
  EXPECT_EQ(polled->duplicates, 1);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM jobs WHERE source_id = 'exp_7_3'"), 1);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM inbox WHERE source_id = 'exp_7_3'"), 1);
  const Job job = LoadBySource("exp_7_3");
  EXPECT_EQ(job.id, JobId("p", "expense", "exp_7_3", "1"));
  EXPECT_EQ(Count("SELECT COUNT(*) FROM audit WHERE job_id = $1 AND step = 'arrived'", {job.id}), 1);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM audit WHERE job_id = $1 AND actor = 'webhook'", {job.id}), 1);

  ASSERT_TRUE(engine->Drain("p").ok());
  ExpectExactlyOnce(12);
}

TEST_F(EngineTest, CursorDoesNotAdvanceWhenTheInboxInsertFails) {
  Connect(30);
  auto engine = MakeEngine({{"overlap_pages", 0}});
  // Refuse the 16th record (on the second page of ten) the way a full disk or a constraint would.
  ASSERT_TRUE(store_
                  ->Exec("CREATE TRIGGER refuse_one BEFORE INSERT ON inbox WHEN NEW.source_id = 'exp_7_15' "
                         "BEGIN SELECT RAISE(ABORT, 'injected inbox failure'); END")
                  .ok());
  auto polled = engine->Poll("p");
  ASSERT_FALSE(polled.ok());
  EXPECT_NE(polled.status().message().find("injected inbox failure"), std::string::npos);
  // Page 1 committed with its cursor; nothing of page 2, and the cursor still points at page 2.
  EXPECT_EQ(Count("SELECT COUNT(*) FROM inbox"), 10);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM jobs"), 10);
  auto cs = LoadCursor(*store_, "p", "expenses");
  ASSERT_TRUE(cs.ok());
  ASSERT_TRUE(cs->cursor.is_string());
  auto src = factory_->Open("src");
  auto first = (*src)->Read({{"stream", "expenses"}, {"limit", 10}});
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(cs->cursor, (*first)["next_cursor"]);  // after page 1, not after page 2
  EXPECT_EQ(Count("SELECT COUNT(*) FROM audit WHERE step = 'failed' AND job_id IS NULL"), 1);

  ASSERT_TRUE(store_->Exec("DROP TRIGGER refuse_one").ok());
  auto resumed = engine->Poll("p");
  ASSERT_TRUE(resumed.ok()) << resumed.status().ToString();
  EXPECT_EQ(resumed->arrived, 20);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM jobs"), 30);
  ASSERT_TRUE(engine->Drain("p").ok());
  ExpectExactlyOnce(30);
}

TEST_F(EngineTest, OverlapWindowRereadsTheLastPageWithoutDuplicates) {
  Connect(25);
  auto engine = MakeEngine({{"overlap_pages", 1}});
  ASSERT_TRUE(engine->Poll("p").ok());
  auto again = engine->Poll("p");
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->arrived, 0);
  EXPECT_EQ(again->records, 5);  // the last page (records 20..24) read again
  EXPECT_EQ(again->duplicates, 5);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM jobs"), 25);
}

TEST_F(EngineTest, RetriesThenDeadAfterTheBudget) {
  Connect(2, {{"fail_every", 1}});  // every write call fails with RETRY, storing nothing
  auto engine = MakeEngine({{"max_attempts", 3}});
  ASSERT_TRUE(engine->Poll("p").ok());
  auto drained = engine->Drain("p", WaitRetries());
  ASSERT_TRUE(drained.ok());
  EXPECT_EQ(drained->dead, 2);
  EXPECT_EQ(drained->attempts, 6);
  const Job job = LoadBySource("exp_7_0");
  EXPECT_EQ(job.state, JobState::kDead);
  EXPECT_EQ(job.attempts, 3);
  EXPECT_NE(job.last_error.find("retry budget"), std::string::npos);
  EXPECT_FALSE(job.write_started_at.has_value());  // RETRY means nothing landed
  EXPECT_EQ(Steps(job.id), (std::vector<std::string>{"arrived", "mapped", "failed", "mapped", "failed",
                                                     "mapped", "failed", "dead"}));
  EXPECT_TRUE(Written().empty());
  EXPECT_TRUE(Acked().empty());  // nothing acknowledged without a landed write
}

TEST_F(EngineTest, UncertainWriteThatLandedIsReconciledByLookup) {
  Connect(6, {{"uncertain_every", 1}});  // every write lands, then reports UNCERTAIN
  auto engine = MakeEngine();
  ASSERT_TRUE(engine->Poll("p").ok());
  auto drained = engine->Drain("p", WaitRetries());
  ASSERT_TRUE(drained.ok());
  EXPECT_EQ(drained->succeeded, 6);
  ExpectExactlyOnce(6);  // reconciliation found each write; none was repeated
  const Job job = LoadBySource("exp_7_2");
  EXPECT_EQ(job.state, JobState::kSucceeded);
  EXPECT_EQ(Steps(job.id), (std::vector<std::string>{"arrived", "mapped", "uncertain", "mapped", "reconciled",
                                                     "written", "acked"}));
  auto found =
      store_->QueryOne("SELECT outcome FROM audit WHERE job_id = $1 AND step = 'reconciled'", {job.id});
  ASSERT_TRUE(found.ok() && *found);
  EXPECT_EQ((*found)->Text(0), "found");
  EXPECT_EQ(Acked().size(), 6u);
}

// A host context that makes the first write of each object fail with UNCERTAIN before it is stored: the
// write "may have landed" but did not.
class DroppingContext final : public loader::HostContext {
 public:
  DroppingContext(store::Store& store, std::string connection) : inner_(store, std::move(connection), {}) {}
  Code Http(std::string_view a, std::string_view b, std::string* c, std::string* d, std::string* e) override {
    return inner_.Http(a, b, c, d, e);
  }
  Code SecretGet(std::string_view n, std::string* o, std::string* e) override {
    return inner_.SecretGet(n, o, e);
  }
  Code StateGet(std::string_view k, std::string* o, std::string* e) override {
    return inner_.StateGet(k, o, e);
  }
  Code StatePut(std::string_view key, std::string_view value, std::string* err) override {
    const std::string k(key);
    std::unique_lock lock(mu_);
    if (k.find("/obj/") != std::string::npos && dropped_.insert(k).second) {
      *err = "connection reset after sending";
      return Code::kUncertain;
    }
    return inner_.StatePut(key, value, err);
  }
  Code BlobPut(std::string_view t, std::string_view b, std::string* i, std::string* e) override {
    return inner_.BlobPut(t, b, i, e);
  }
  Code BlobGet(std::string_view i, std::string* o, std::string* t, std::string* e) override {
    return inner_.BlobGet(i, o, t, e);
  }
  void Log(int32_t level, std::string_view m) override { inner_.Log(level, m); }
  int64_t NowMs() override { return inner_.NowMs(); }

 private:
  StoreHostContext inner_;
  std::mutex mu_;
  std::set<std::string> dropped_;
};

class DroppingFactory final : public InstanceFactory {
 public:
  DroppingFactory(StoreInstanceFactory& base, store::Store& store,
                  std::shared_ptr<const loader::LoadedPlugin> p)
      : base_(base), ctx_(store, "dst"), plugin_(std::move(p)) {}
  Result<std::unique_ptr<loader::PluginInstance>> Open(std::string_view c) override {
    if (c != "dst") return base_.Open(c);
    ++opens_;
    return loader::PluginInstance::Open(plugin_, &ctx_, {{"seed", 1}, {"records", 0}, {"store", "dst"}});
  }
  Result<json> Manifest(std::string_view c) override { return base_.Manifest(c); }
  Status ReportAuthFailure(std::string_view c, std::string_view m) override {
    return base_.ReportAuthFailure(c, m);
  }
  std::optional<int> Concurrency(std::string_view) override { return 1; }
  int opens_ = 0;

 private:
  StoreInstanceFactory& base_;
  DroppingContext ctx_;
  std::shared_ptr<const loader::LoadedPlugin> plugin_;
};

TEST_F(EngineTest, UncertainWriteThatDidNotLandIsWrittenAgainAfterLookup) {
  Connect(3);
  DroppingFactory dropping(*factory_, *store_, plugin_);
  EngineOptions eo;
  eo.random = [] { return 0.0; };
  Engine engine(*store_, dropping, resolver_, eo);
  PipelineSpec spec{"p", "src", "dst", {"expense"}, "", true, {{"retry_base_ms", 0}}};
  ASSERT_TRUE(engine.AddPipeline(spec).ok());
  ASSERT_TRUE(engine.Poll("p").ok());
  auto drained = engine.Drain("p", WaitRetries());
  ASSERT_TRUE(drained.ok());
  EXPECT_EQ(drained->succeeded, 3);
  ExpectExactlyOnce(3);  // the target holds each record once, from one landed write
  const Job job = LoadBySource("exp_7_1");
  EXPECT_EQ(Steps(job.id), (std::vector<std::string>{"arrived", "mapped", "uncertain", "mapped", "reconciled",
                                                     "written", "acked"}));
  auto rec =
      store_->QueryOne("SELECT outcome FROM audit WHERE job_id = $1 AND step = 'reconciled'", {job.id});
  ASSERT_TRUE(rec.ok() && *rec);
  EXPECT_EQ((*rec)->Text(0), "not found");
}

TEST_F(EngineTest, CrashDuringWriteIsReconciledNotRewritten) {
  Connect(1);
  auto engine = MakeEngine();
  ASSERT_TRUE(engine->Poll("p").ok());
  const Job job = LoadBySource("exp_7_0");
  // A process leased the job, recorded that it was writing, the write landed, and then it died.
  ASSERT_TRUE(
      store_
          ->Exec("UPDATE jobs SET state = 'running', lease_owner = 'elsewhere:1:dead', lease_until = 0, "
                 "write_started_at = 1 WHERE id = $1",
                 {job.id})
          .ok());
  auto dst = factory_->Open("dst");
  auto payload = LoadPayload(*store_, job);
  ASSERT_TRUE(payload.ok() && *payload);
  auto landed = (*dst)->Write({{"object_type", "expense"},
                               {"object", json::parse(**payload)},
                               {"refs", json::object()},
                               {"idempotency_key", job.idempotency_key}});
  ASSERT_TRUE(landed.ok());
  auto drained = engine->Drain("p");
  ASSERT_TRUE(drained.ok());
  EXPECT_EQ(drained->succeeded, 1);
  ExpectExactlyOnce(1);
  const Job after = LoadBySource("exp_7_0");
  EXPECT_EQ(after.target_id, (*landed)["target_id"]);
  EXPECT_EQ(
      Count("SELECT COUNT(*) FROM audit WHERE job_id = $1 AND step = 'reconciled' AND outcome = 'found'",
            {job.id}),
      1);
}

TEST_F(EngineTest, WrittenButNotAckedOnlyAcks) {
  Connect(1);
  auto engine = MakeEngine();
  ASSERT_TRUE(engine->Poll("p").ok());
  const Job job = LoadBySource("exp_7_0");
  // Crash after the link row, before the ack: the link says the target has it.
  ASSERT_TRUE(
      store_
          ->Exec("INSERT INTO links (pipeline, object_type, source_id, target_connection, target_id, "
                 "job_id, source_version, created_at) VALUES ('p', 'expense', 'exp_7_0', 'dst', 'tpl_x', $1, "
                 "'1', 1)",
                 {job.id})
          .ok());
  ASSERT_TRUE(engine->Drain("p").ok());
  EXPECT_TRUE(Written().empty());  // no second write
  auto acked = Acked();
  ASSERT_EQ(acked.size(), 1u);
  EXPECT_EQ(acked[0]["target_id"], "tpl_x");
  EXPECT_EQ(LoadBySource("exp_7_0").state, JobState::kSucceeded);
}

TEST_F(EngineTest, AckComesOnlyAfterTheWriteLanded) {
  Connect(8, {{"fail_every", 2}});
  auto engine = MakeEngine();
  ASSERT_TRUE(engine->Poll("p").ok());
  ASSERT_TRUE(engine->Drain("p", WaitRetries()).ok());
  ExpectExactlyOnce(8);
  auto rows = store_->Query(
      "SELECT job_id, step, id FROM audit WHERE step IN ('written', 'acked') ORDER BY at_ms, id");
  ASSERT_TRUE(rows.ok());
  std::map<std::string, int> written_at, acked_at;
  int i = 0;
  for (const auto& r : *rows) (r.Text(1) == "written" ? written_at : acked_at)[r.Text(0)] = ++i;
  ASSERT_EQ(acked_at.size(), 8u);
  for (const auto& [job, pos] : acked_at) {
    ASSERT_TRUE(written_at.count(job)) << job;
    EXPECT_LT(written_at[job], pos) << job;
  }
  auto acks = Acked();
  std::set<std::string> written_sources;
  for (const auto& w : Written()) written_sources.insert(w["source"]["id"]);
  for (const auto& a : acks) EXPECT_TRUE(written_sources.count(a["source_id"]));
}

TEST_F(EngineTest, ReplayOfADeadJobLands) {
  Connect(2, {{"fail_every", 1}});
  auto engine = MakeEngine({{"max_attempts", 2}});
  ASSERT_TRUE(engine->Poll("p").ok());
  ASSERT_TRUE(engine->Drain("p", WaitRetries()).ok());
  auto dead = engine->SelectJobs("p", JobState::kDead);
  ASSERT_TRUE(dead.ok());
  ASSERT_EQ(dead->size(), 2u);
  // The target recovers.
  ASSERT_TRUE(
      factory_->AddConnection("dst", plugin_, {{"seed", 1}, {"records", 0}, {"store", "dst"}}, {}, 1).ok());
  auto replayed = engine->Replay(*dead);
  ASSERT_TRUE(replayed.ok());
  EXPECT_EQ(replayed->queued.size(), 2u);
  DrainOptions d = WaitRetries();
  d.only_jobs = *dead;
  auto drained = engine->Drain("p", d);
  ASSERT_TRUE(drained.ok());
  EXPECT_EQ(drained->succeeded, 2);
  ExpectExactlyOnce(2);
  const Job job = LoadBySource("exp_7_1");
  const auto steps = Steps(job.id);
  ASSERT_GE(steps.size(), 4u);
  EXPECT_EQ(steps[steps.size() - 4], "replayed");
  EXPECT_EQ(steps.back(), "acked");
  EXPECT_EQ(job.attempts, 0);
}

TEST_F(EngineTest, ReplayOfASucceededJobWritesNothing) {
  Connect(3);
  auto engine = MakeEngine();
  ASSERT_TRUE(engine->Poll("p").ok());
  ASSERT_TRUE(engine->Drain("p").ok());
  auto ids = engine->SelectJobs("p", JobState::kSucceeded);
  ASSERT_TRUE(ids.ok());
  auto replayed = engine->Replay(*ids);
  ASSERT_TRUE(replayed.ok());
  EXPECT_TRUE(replayed->queued.empty());
  EXPECT_EQ(replayed->already.size(), 3u);
  DrainOptions d;
  d.only_jobs = *ids;
  auto drained = engine->Drain("p", d);
  ASSERT_TRUE(drained.ok());
  EXPECT_EQ(drained->attempts, 0);
  ExpectExactlyOnce(3);  // writes still 1 each
  EXPECT_EQ(Acked().size(), 3u);
  for (const auto& a : Acked()) EXPECT_EQ(a["acks"], 1);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM audit WHERE step = 'replayed' AND outcome LIKE 'already%'"), 3);
  // Unknown ids change nothing.
  auto bad = engine->Replay({"deadbeefdeadbeef"});
  EXPECT_EQ(bad.status().code(), Code::kNotFound);
}

TEST_F(EngineTest, DryRunWritesNothingAndPreviewsEachWrite) {
  Connect(12);
  auto engine = MakeEngine();
  auto report = engine->DryRun("p");
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_EQ(report->polled.arrived, 12);
  ASSERT_EQ(report->items.size(), 12u);
  for (const auto& item : report->items) {
    EXPECT_EQ(item.action, "write");
    EXPECT_EQ(item.write["connection"], "dst");
    EXPECT_EQ(item.write["idempotency_key"], IdempotencyKey(item.job_id));
    EXPECT_EQ(item.write["reply"]["dry_run"], true);
    EXPECT_EQ(item.ack["connection"], "src");
    EXPECT_EQ(item.ack["items"][0]["source_id"], item.source_id);
  }
  EXPECT_TRUE(Written().empty());
  EXPECT_TRUE(Acked().empty());
  for (const char* table : {"inbox", "jobs", "links", "cursors", "audit"}) {
    EXPECT_EQ(Count(std::string("SELECT COUNT(*) FROM ") + table), 0) << table;
  }
  // After a real run, a dry run has nothing left to do.
  ASSERT_TRUE(engine->Poll("p").ok());
  ASSERT_TRUE(engine->Drain("p").ok());
  auto later = engine->DryRun("p");
  ASSERT_TRUE(later.ok());
  for (const auto& item : later->items) EXPECT_EQ(item.action, "none");
}

TEST_F(EngineTest, EveryTransitionHasAnAuditRow) {
  Connect(10, {{"fail_every", 3}});
  auto engine = MakeEngine();
  ASSERT_TRUE(engine->Poll("p").ok());
  ASSERT_TRUE(engine->Drain("p", WaitRetries()).ok());
  auto jobs = ListJobs(*store_, "p", JobState::kSucceeded);
  ASSERT_TRUE(jobs.ok());
  ASSERT_EQ(jobs->size(), 10u);
  for (const auto& j : *jobs) {
    const auto steps = Steps(j.id);
    auto count = [&](const std::string& s) { return std::count(steps.begin(), steps.end(), s); };
    EXPECT_EQ(steps.front(), "arrived");
    EXPECT_EQ(count("written"), 1) << j.source_id;
    EXPECT_EQ(count("acked"), 1) << j.source_id;
    EXPECT_EQ(steps.back(), "acked");
    // Every failed attempt left a row (attempts count failures, reset only by replay).
    EXPECT_EQ(count("failed"), j.attempts) << j.source_id;
    EXPECT_EQ(count("mapped"), j.attempts + 1) << j.source_id;
  }
  // Detail is JSON, and written rows name the target id.
  auto rows = store_->Query("SELECT detail FROM audit WHERE step = 'written'");
  ASSERT_TRUE(rows.ok());
  for (const auto& r : *rows) {
    auto d = mlc::json::Parse(r.Text(0));
    ASSERT_TRUE(d.ok());
    EXPECT_TRUE((*d)["target_id"].is_string());
  }
}

class ReviewResolver final : public Resolver {
 public:
  Result<ResolveOutcome> Resolve(const ResolveInput& in) override {
    ++calls;
    if ((*in.object)["source"]["id"] == "exp_7_1") {
      return ResolveOutcome::Review("unmapped_account", "GL 6200 has no mapping");
    }
    return ResolveOutcome::Resolved({{"account", "4000"}});
  }
  std::atomic<int> calls{0};
};

TEST_F(EngineTest, ResolverReviewStopsTheJobWithItsReason) {
  Connect(3);
  ReviewResolver resolver;
  auto engine = MakeEngine({}, &resolver);
  ASSERT_TRUE(engine->Poll("p").ok());
  auto drained = engine->Drain("p");
  ASSERT_TRUE(drained.ok());
  EXPECT_EQ(drained->review, 1);
  EXPECT_EQ(drained->succeeded, 2);
  const Job job = LoadBySource("exp_7_1");
  EXPECT_EQ(job.state, JobState::kReview);
  EXPECT_EQ(job.review_kind, "unmapped_account");
  EXPECT_EQ(job.review_detail, "GL 6200 has no mapping");
  EXPECT_EQ(Steps(job.id).back(), "review");
  auto written = Written();
  ASSERT_EQ(written.size(), 2u);
  for (const auto& w : written) {
    EXPECT_NE(w["source"]["id"], "exp_7_1");
    EXPECT_EQ(w["x-template"]["refs"]["account"], "4000");  // the resolver's refs reach the write
  }
  // Fixed upstream: replay goes through with the pass-through resolver.
  auto fixed = MakeEngine();
  ASSERT_TRUE(fixed->Replay({job.id}).ok());
  DrainOptions d;
  d.only_jobs = {job.id};
  ASSERT_TRUE(fixed->Drain("p", d).ok());
  EXPECT_EQ(LoadBySource("exp_7_1").state, JobState::kSucceeded);
  EXPECT_EQ(Written().size(), 3u);
}

TEST_F(EngineTest, TargetRejectionGoesToReview) {
  Connect(0);
  auto engine = MakeEngine();
  // An expense without an amount: the target answers INVALID.
  json bad = {{"type", "expense"}, {"source", {{"system", "x"}, {"id", "bad_1"}, {"version", "1"}}}};
  ASSERT_TRUE(engine->Ingest("p", "expense", {bad}).ok());
  auto drained = engine->Drain("p");
  ASSERT_TRUE(drained.ok());
  EXPECT_EQ(drained->review, 1);
  const Job job = LoadBySource("bad_1");
  EXPECT_EQ(job.review_kind, "target_rejected");
  EXPECT_NE(job.review_detail.find("amount"), std::string::npos);
  EXPECT_TRUE(Written().empty());
  EXPECT_TRUE(Acked().empty());
}

TEST_F(EngineTest, RecordsWithoutASourceIdAreKeptForReview) {
  Connect(0);
  auto engine = MakeEngine();
  auto r = engine->Ingest("p", "expense", {json{{"type", "expense"}}, json("not an object")});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->arrived, 2);
  EXPECT_EQ(r->invalid, 2);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM jobs WHERE state = 'review' AND review_kind = 'invalid_record'"), 2);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM inbox WHERE source_id LIKE 'invalid-%'"), 2);
  auto drained = engine->Drain("p");
  ASSERT_TRUE(drained.ok());
  EXPECT_EQ(drained->attempts, 0);  // review jobs wait for a person
}

TEST_F(EngineTest, ANewerVersionOfALinkedRecordIsNotWrittenAgain) {
  Connect(1);
  auto engine = MakeEngine();
  ASSERT_TRUE(engine->Poll("p").ok());
  ASSERT_TRUE(engine->Drain("p").ok());
  auto src = factory_->Open("src");
  auto page = (*src)->Read({{"stream", "expenses"}});
  json v2 = (*page)["records"][0];
  v2["source"]["version"] = "2";
  v2["memo"] = "edited";
  auto r = engine->Ingest("p", "expense", {v2});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->arrived, 1);
  ASSERT_TRUE(engine->Drain("p").ok());
  ExpectExactlyOnce(1);
  const Job job2 = [&] {
    auto j = store_->QueryOne(std::string("SELECT ") + kJobColumns + " FROM jobs WHERE source_version = '2'");
    return JobFromRow(**j);
  }();
  EXPECT_EQ(job2.state, JobState::kSucceeded);
  auto outcome =
      store_->QueryOne("SELECT outcome FROM audit WHERE job_id = $1 AND step = 'written'", {job2.id});
  ASSERT_TRUE(outcome.ok() && *outcome);
  EXPECT_EQ((*outcome)->Text(0), "skipped: already linked");
}

TEST_F(EngineTest, AuthPausesThePipelineUntilReauthorised) {
  Connect(2);
  auto engine = MakeEngine();
  ASSERT_TRUE(engine->Poll("p").ok());
  ASSERT_TRUE(factory_->ReportAuthFailure("dst", "token rejected").ok());
  auto drained = engine->Drain("p");
  ASSERT_TRUE(drained.ok());
  EXPECT_NE(drained->paused.find("connection dst needs re-authorisation"), std::string::npos);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM jobs WHERE state = 'pending'"), 2);
  EXPECT_TRUE(Written().empty());
  ASSERT_TRUE(SetConnectionStatus(*store_, "dst", "ok", "", 1).ok());
  auto resumed = engine->Drain("p");
  ASSERT_TRUE(resumed.ok());
  EXPECT_EQ(resumed->succeeded, 2);
}

TEST_F(EngineTest, ManyWorkersStillWriteEachRecordOnce) {
  Connect(120, {{"fail_every", 5}, {"uncertain_every", 7}});
  auto engine = MakeEngine({{"workers", 4}, {"page_size", 50}});
  ASSERT_TRUE(engine->Poll("p").ok());
  auto drained = engine->Drain("p", WaitRetries());
  ASSERT_TRUE(drained.ok());
  EXPECT_EQ(drained->succeeded, 120);
  ExpectExactlyOnce(120);
  EXPECT_EQ(Acked().size(), 120u);
}

TEST_F(EngineTest, AcksGoOutInBatchesAndEveryJobIsAckedOnce) {
  Connect(120);
  auto engine = MakeEngine({{"workers", 4}, {"page_size", 50}, {"ack_batch", 25}});
  ASSERT_TRUE(engine->Poll("p").ok());
  auto drained = engine->Drain("p");
  ASSERT_TRUE(drained.ok());
  EXPECT_EQ(drained->succeeded, 120);
  ExpectExactlyOnce(120);
  EXPECT_EQ(Acked().size(), 120u);
  // Each acked row names the size of the request it went out in: never above ack_batch, and most jobs
  // shared a request.
  EXPECT_EQ(Count("SELECT COUNT(*) FROM audit WHERE step = 'acked' AND outcome = 'ok'"), 120);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM audit WHERE step = 'acked' AND json_extract(detail, '$.batch') > 25"),
            0);
  EXPECT_GE(Count("SELECT COUNT(*) FROM audit WHERE step = 'acked' AND json_extract(detail, '$.batch') >= 2"),
            60);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM jobs WHERE state = 'running'"), 0);  // no job left waiting
}

TEST_F(EngineTest, AckBatchOfOneAcksEachJobAlone) {
  Connect(12);
  auto engine = MakeEngine({{"workers", 2}, {"ack_batch", 1}});
  ASSERT_TRUE(engine->Poll("p").ok());
  auto drained = engine->Drain("p");
  ASSERT_TRUE(drained.ok());
  EXPECT_EQ(drained->succeeded, 12);
  EXPECT_EQ(
      Count("SELECT COUNT(*) FROM audit WHERE step = 'acked' AND json_extract(detail, '$.batch') IS NULL"),
      12);
}

TEST_F(EngineTest, BackgroundWorkersPickUpArrivals) {
  Connect(15);
  auto engine = MakeEngine();
  engine->StartWorkers();
  ASSERT_TRUE(engine->Poll("p").ok());  // notifies the workers
  for (int i = 0; i < 2000 && Count("SELECT COUNT(*) FROM jobs WHERE state = 'succeeded'") < 15; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  engine->StopWorkers();
  ExpectExactlyOnce(15);
}

TEST_F(EngineTest, BadPipelinesAndOptionsAreRefusedClearly) {
  Connect(1);
  Engine engine(*store_, *factory_, resolver_, {});
  Status s = engine.AddPipeline({"q", "src", "dst", {"bill"}, "", true, json::object()});
  EXPECT_EQ(s.code(), Code::kInvalid);
  EXPECT_NE(s.message().find("declares no stream"), std::string::npos);
  s = engine.AddPipeline({"q", "src", "dst", {"expense"}, "", true, {{"max_attempts", "many"}}});
  EXPECT_NE(s.message().find("max_attempts"), std::string::npos);
  s = engine.AddPipeline({"q", "src", "nope", {"expense"}, "", true, json::object()});
  EXPECT_EQ(s.code(), Code::kNotFound);
  EXPECT_EQ(engine.Poll("q").status().code(), Code::kNotFound);
  ASSERT_TRUE(engine.AddPipeline({"q", "src", "dst", {"expense"}, "", true, json::object()}).ok());
  EXPECT_EQ(engine.Poll("q", {.since = std::string("yesterday")}).status().code(), Code::kInvalid);
}

TEST_F(EngineTest, BackfillSinceStartsAtThatInstant) {
  Connect(30);
  auto engine = MakeEngine();
  // Record i is updated at 2024-01-01T00:00Z + i minutes.
  auto polled = engine->Poll("p", {.since = std::string("2024-01-01T00:20:00Z")});
  ASSERT_TRUE(polled.ok());
  EXPECT_EQ(polled->arrived, 10);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM jobs WHERE source_id = 'exp_7_19'"), 0);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM jobs WHERE source_id = 'exp_7_20'"), 1);
}

TEST_F(EngineTest, WebhookEventsIngestPayloadsAndTriggerPolls) {
  Connect(5);
  auto engine = MakeEngine();
  SyncService service(*engine);
  ASSERT_TRUE(service.Prepare().ok());
  auto src = factory_->Open("src");
  json record = (*(*src)->Read({{"stream", "expenses"}}))["records"][2];
  auto arrived = service.OnWebhookEvents(
      "src", json::array({{{"id", "evt_1"}, {"type", "expense.updated"}, {"payload", record}},
                          {{"id", "evt_2"}, {"type", "expense.updated"}, {"source_id", "exp_7_4"}}}));
  ASSERT_TRUE(arrived.ok()) << arrived.status().ToString();
  EXPECT_EQ(*arrived, 1);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM jobs"), 1);
  // The event without a record asked for a pull: the scheduler polls at once.
  auto started = service.scheduler().RunDue(std::chrono::system_clock::now());
  EXPECT_EQ(started, std::vector<std::string>{"poll:p"});
  service.scheduler().WaitIdle();
  EXPECT_EQ(Count("SELECT COUNT(*) FROM jobs"), 5);
  EXPECT_EQ(service.OnWebhookEvents("other", json::array()).value_or(-1), 0);
  EXPECT_EQ(service.OnWebhookEvents("src", json::object()).status().code(), Code::kInvalid);
}

TEST(SchedulerTest, IntervalCronTriggersAndHooks) {
  std::mutex mu;
  std::vector<std::string> polled;
  Scheduler s([&](const std::string& p, Actor a) {
    std::lock_guard lock(mu);
    polled.push_back(p + "/" + std::string(ActorName(a)));
  });
  const auto t0 = std::chrono::sys_days(std::chrono::year(2024) / 3 / 1) + std::chrono::hours(10);
  ASSERT_TRUE(s.AddPipeline("a", "every 15m", t0).ok());
  ASSERT_TRUE(s.AddPipeline("b", "0 * * * *", t0).ok());
  ASSERT_TRUE(s.AddPipeline("c", "", std::nullopt).ok());
  EXPECT_EQ(s.AddPipeline("d", "every never", std::nullopt).code(), Code::kInvalid);
  int hook_runs = 0;
  s.AddPeriodic("keepalive", std::chrono::hours(1), [&] { ++hook_runs; });

  EXPECT_TRUE(s.RunDue(t0 + std::chrono::minutes(5)).empty());
  EXPECT_EQ(*s.NextDue(), t0 + std::chrono::minutes(15));
  EXPECT_EQ(s.RunDue(t0 + std::chrono::minutes(15)), std::vector<std::string>{"poll:a"});
  s.WaitIdle();
  s.Trigger("c", Actor::kWebhook);
  s.Trigger("unknown");
  EXPECT_EQ(s.RunDue(t0 + std::chrono::minutes(16)), std::vector<std::string>{"poll:c"});
  s.WaitIdle();
  auto started = s.RunDue(t0 + std::chrono::hours(1));
  std::sort(started.begin(), started.end());
  EXPECT_EQ(started, (std::vector<std::string>{"poll:a", "poll:b"}));
  s.WaitIdle();
  std::sort(polled.begin(), polled.end());
  EXPECT_EQ(polled, (std::vector<std::string>{"a/scheduler", "a/scheduler", "b/scheduler", "c/webhook"}));
  // Hooks run relative to the real clock they were added on; a far-future instant makes it due.
  EXPECT_EQ(s.RunDue(std::chrono::system_clock::now() + std::chrono::hours(2)).size(), 3u);  // a, b, hook
  s.WaitIdle();
  EXPECT_EQ(hook_runs, 1);
}

TEST(SchedulerTest, BackgroundLoopFiresTriggersPromptly) {
  std::atomic<int> polls{0};
  Scheduler s([&](const std::string&, Actor) { ++polls; });
  ASSERT_TRUE(s.AddPipeline("p", "", std::nullopt).ok());
  s.Start();
  s.Trigger("p");
  for (int i = 0; i < 500 && polls.load() == 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  s.Stop();
  EXPECT_EQ(polls.load(), 1);
}

}  // namespace
}  // namespace mlc::engine
