// Tests for WebhookEventProcessor over a real store file: events handed over once and stamped, a failing
// handler leaves them for later, payloads come back as JSON, and pruning keeps what it must.
#include "webhooks/events.hpp"

#include <gtest/gtest.h>

#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "store/store.hpp"
#include "store/test_util.hpp"
#include "webhooks/router.hpp"

namespace mlc::webhooks {
namespace {

using nlohmann::json;

constexpr int64_t kDay = 24LL * 60 * 60 * 1000;

class EventsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s = store::Store::Open({.path = dir_.File("mlc.db")});
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    store_ = std::move(s).value();
  }

  void AddEvent(const std::string& conn, const std::string& id, int64_t index, int64_t received_at,
                std::optional<int64_t> processed_at = std::nullopt, std::optional<std::string> payload = {}) {
    store::Value p = nullptr;
    if (payload) p = *payload;
    store::Value done = nullptr;
    if (processed_at) done = *processed_at;
    ASSERT_TRUE(
        store_
            ->Exec("INSERT INTO webhook_events (connection, webhook_id, event_index, type, stream, "
                   "source_id, payload, received_at, processed_at) VALUES ($1, $2, $3, 'expense.updated', "
                   "'expenses', $4, $5, $6, $7)",
                   {conn, id, index, "src-" + id, p, received_at, done})
            .ok());
    ASSERT_TRUE(
        store_
            ->Exec("INSERT INTO webhook_seen (connection, webhook_id, received_at) VALUES ($1, $2, $3) "
                   "ON CONFLICT DO NOTHING",
                   {conn, id, received_at})
            .ok());
  }

  int64_t Count(const std::string& sql) {
    auto row = store_->QueryOne(sql);
    EXPECT_TRUE(row.ok() && row->has_value());
    return row.ok() && row->has_value() ? (*row)->Int(0) : -1;
  }

  store::testing::TempDir dir_;
  std::unique_ptr<store::Store> store_;
  int64_t now_ = 100 * kDay;
};

TEST_F(EventsTest, HandsEachConnectionItsEventsOnceAndStampsThem) {
  AddEvent("a", "w1", 0, now_ - 10);
  AddEvent("a", "w1", 1, now_ - 10, std::nullopt, R"({"source":{"id":"e1"},"amount":"12.50"})");
  AddEvent("b", "w2", 0, now_ - 5);
  std::map<std::string, json> seen;
  int calls = 0;
  WebhookEventProcessor p(
      store_.get(),
      [&](const std::string& conn, const json& events) {
        ++calls;
        seen[conn] = events;
        return Status::Ok();
      },
      [this] { return now_; });
  auto n = p.ProcessPending();
  ASSERT_TRUE(n.ok()) << n.status().ToString();
  EXPECT_EQ(*n, 3);
  EXPECT_EQ(calls, 2);
  ASSERT_EQ(seen["a"].size(), 2u);
  EXPECT_EQ(seen["a"][0]["id"], "w1");
  EXPECT_EQ(seen["a"][0]["source_id"], "src-w1");
  EXPECT_EQ(seen["a"][0]["stream"], "expenses");
  EXPECT_FALSE(seen["a"][0].contains("payload"));
  ASSERT_TRUE(seen["a"][1]["payload"].is_object());
  EXPECT_EQ(seen["a"][1]["payload"]["source"]["id"], "e1");
  EXPECT_EQ(seen["b"].size(), 1u);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM webhook_events WHERE processed_at = " + std::to_string(now_)), 3);

  // Nothing is handed over twice.
  calls = 0;
  auto again = p.ProcessPending();
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, 0);
  EXPECT_EQ(calls, 0);
  auto pending = p.PendingCount();
  ASSERT_TRUE(pending.ok());
  EXPECT_EQ(*pending, 0);
}

TEST_F(EventsTest, OneConnectionOnlyWhenNamed) {
  AddEvent("a", "w1", 0, now_);
  AddEvent("b", "w2", 0, now_);
  std::vector<std::string> conns;
  WebhookEventProcessor p(store_.get(), [&](const std::string& conn, const json&) {
    conns.push_back(conn);
    return Status::Ok();
  });
  auto n = p.ProcessPending("b");
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 1);
  EXPECT_EQ(conns, std::vector<std::string>{"b"});
  EXPECT_EQ(Count("SELECT COUNT(*) FROM webhook_events WHERE processed_at IS NULL AND connection = 'a'"), 1);
}

TEST_F(EventsTest, FailingOrThrowingHandlerLeavesEventsForLater) {
  AddEvent("a", "w1", 0, now_);
  bool fail = true;
  WebhookEventProcessor p(store_.get(), [&](const std::string&, const json&) -> Status {
    if (fail) return Status::Retry("engine busy");
    return Status::Ok();
  });
  auto n = p.ProcessPending();
  EXPECT_FALSE(n.ok());
  EXPECT_EQ(n.status().code(), Code::kRetry);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM webhook_events WHERE processed_at IS NULL"), 1);

  WebhookEventProcessor thrower(
      store_.get(), [](const std::string&, const json&) -> Status { throw std::runtime_error("boom"); });
  EXPECT_FALSE(thrower.ProcessPending().ok());
  EXPECT_EQ(Count("SELECT COUNT(*) FROM webhook_events WHERE processed_at IS NULL"), 1);

  fail = false;
  auto later = p.ProcessPending();
  ASSERT_TRUE(later.ok());
  EXPECT_EQ(*later, 1);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM webhook_events WHERE processed_at IS NULL"), 0);
}

TEST_F(EventsTest, ManyEventsGoInBatches) {
  ASSERT_TRUE(
      store_
          ->Transaction([](store::Tx& tx) -> Status {
            for (int64_t i = 0; i < 1200; ++i) {
              MLC_RETURN_IF_ERROR(tx.Exec(
                  "INSERT INTO webhook_events (connection, webhook_id, event_index, type, received_at) "
                  "VALUES ('a', $1, 0, 't', $2)",
                  {"w" + std::to_string(i), i}));
            }
            return Status::Ok();
          })
          .ok());
  std::vector<size_t> sizes;
  WebhookEventProcessor p(store_.get(), [&](const std::string&, const json& events) {
    sizes.push_back(events.size());
    return Status::Ok();
  });
  auto n = p.ProcessPending();
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 1200);
  EXPECT_EQ(sizes, (std::vector<size_t>{500, 500, 200}));
}

TEST_F(EventsTest, KicksAreHandedOverOnTheBackgroundThreadAndStopMakesALastPass) {
  std::mutex mu;
  std::set<std::string> handed;
  std::set<std::thread::id> threads;
  WebhookEventProcessor p(store_.get(), [&](const std::string&, const json& events) {
    std::lock_guard lock(mu);
    threads.insert(std::this_thread::get_id());
    for (const auto& e : events) handed.insert(e["id"].get<std::string>());
    return Status::Ok();
  });
  p.Start();
  for (int i = 0; i < 40; ++i) {
    AddEvent("a", "k" + std::to_string(i), 0, now_);
    p.Kick();
  }
  AddEvent("a", "last", 0, now_);  // recorded without a kick: Stop's last pass hands it over
  p.Stop();
  EXPECT_EQ(handed.size(), 41u);
  EXPECT_EQ(threads.size(), 1u);
  EXPECT_EQ(threads.count(std::this_thread::get_id()), 0u);  // never on the caller's thread
  EXPECT_EQ(Count("SELECT COUNT(*) FROM webhook_events WHERE processed_at IS NULL"), 0);
  p.Stop();  // idempotent
}

TEST_F(EventsTest, PruneKeepsRecentAndUnprocessedRows) {
  AddEvent("a", "old-done", 0, now_ - 40 * kDay, now_ - 40 * kDay);
  AddEvent("a", "old-pending", 0, now_ - 40 * kDay);
  AddEvent("a", "mid-done", 0, now_ - 10 * kDay, now_ - 10 * kDay);
  AddEvent("a", "new-done", 0, now_ - 1 * kDay, now_ - 1 * kDay);
  WebhookEventProcessor p(store_.get(), {}, [this] { return now_; });
  auto r = p.Prune({});  // defaults: 7 days of replay protection, 30 days of processed events
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->seen_deleted, 3);    // old-done, old-pending, mid-done
  EXPECT_EQ(r->events_deleted, 1);  // old-done only: old-pending is not processed yet
  EXPECT_EQ(Count("SELECT COUNT(*) FROM webhook_seen"), 1);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM webhook_events WHERE webhook_id = 'old-pending'"), 1);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM webhook_events WHERE webhook_id = 'mid-done'"), 1);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM webhook_events WHERE webhook_id = 'old-done'"), 0);
}

TEST_F(EventsTest, SinkCommitThenProcessorStampsInOneFlow) {
  // The serve wiring: the sink's commit callback processes the connection's pending events.
  json handed;
  WebhookEventProcessor processor(store_.get(), [&](const std::string&, const json& events) {
    handed = events;
    return Status::Ok();
  });
  StoreWebhookSink sink(
      store_.get(),
      [](const std::string&, const json&, std::string_view) -> Result<json> {
        return json{{"events", json::array({{{"id", "d1"}, {"type", "t"}, {"source_id", "x"}}})}};
      },
      [&](const std::string& conn, const std::vector<RecordedEvent>&) {
        (void)processor.ProcessPending(conn);
      });
  WebhookRequest req;
  req.method = "POST";
  req.path = "/webhooks/a";
  req.body = "{}";
  auto first = sink.Handle("a", req);
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(first->accepted, 1u);
  ASSERT_EQ(handed.size(), 1u);
  EXPECT_EQ(handed[0]["source_id"], "x");
  EXPECT_EQ(Count("SELECT COUNT(*) FROM webhook_events WHERE processed_at IS NOT NULL"), 1);
  handed = json();
  auto replay = sink.Handle("a", req);
  ASSERT_TRUE(replay.ok());
  EXPECT_TRUE(replay->duplicate);
  EXPECT_TRUE(handed.is_null());  // a replay commits nothing, so nothing is handed over
}

}  // namespace
}  // namespace mlc::webhooks
