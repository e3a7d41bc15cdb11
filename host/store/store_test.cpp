// Tests for Store: opening (WAL, refusals), migrations, $N binding, transactions, concurrency, errors.
#include "store/store.hpp"

#include <gtest/gtest.h>

#include <limits>
#include <stdexcept>
#include <thread>

#include "store/test_util.hpp"

namespace mlc::store {
namespace {

using testing::ReadFile;
using testing::TempDir;
using testing::WriteFile;

std::unique_ptr<Store> MustOpen(const OpenOptions& options) {
  auto store = Store::Open(options);
  EXPECT_TRUE(store.ok()) << store.status().ToString();
  return store.ok() ? std::move(store).value() : nullptr;
}

TEST(StoreOpen, CreatesWalDatabase) {
  TempDir dir;
  auto store = MustOpen({.path = dir.File("mlc.db")});
  ASSERT_NE(store, nullptr);
  auto mode = store->QueryOne("PRAGMA journal_mode");
  ASSERT_TRUE(mode.ok()) << mode.status().ToString();
  ASSERT_TRUE(mode->has_value());
  EXPECT_EQ((*mode)->Text(0), "wal");
  auto fk = store->QueryOne("PRAGMA foreign_keys");
  ASSERT_TRUE(fk.ok());
  EXPECT_EQ((*fk)->Int(0), 1);
  auto sync = store->QueryOne("PRAGMA synchronous");
  ASSERT_TRUE(sync.ok());
  EXPECT_EQ((*sync)->Int(0), 2);  // FULL
  EXPECT_EQ(store->path(), dir.File("mlc.db"));
}

TEST(StoreOpen, SynchronousNormalAcceptedOthersRefused) {
  TempDir dir;
  auto store = MustOpen({.path = dir.File("a.db"), .synchronous = "NORMAL"});
  ASSERT_NE(store, nullptr);
  auto sync = store->QueryOne("PRAGMA synchronous");
  ASSERT_TRUE(sync.ok());
  EXPECT_EQ((*sync)->Int(0), 1);  // NORMAL

  for (const char* bad : {"OFF", "EXTRA", "", "FULL;DROP TABLE x"}) {
    auto r = Store::Open({.path = dir.File("b.db"), .synchronous = bad});
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.status().code(), Code::kInvalid) << bad;
  }
  EXPECT_FALSE(std::filesystem::exists(dir.File("b.db")));
}

TEST(StoreMigrations, AppliedOnceAndIdempotentOnReopen) {
  TempDir dir;
  const int newest = Migrations().back().version;
  {
    auto store = MustOpen({.path = dir.File("mlc.db")});
    ASSERT_NE(store, nullptr);
    EXPECT_EQ(store->schema_version(), newest);
    auto v = store->QueryOne("SELECT value FROM schema_meta WHERE key = $1", {"schema_version"});
    ASSERT_TRUE(v.ok());
    ASSERT_TRUE(v->has_value());
    EXPECT_EQ((*v)->Text(0), std::to_string(newest));
    for (const char* table : {"kv_state", "blobs", "connections_state"}) {
      auto t = store->QueryOne("SELECT name FROM sqlite_master WHERE type = 'table' AND name = $1", {table});
      ASSERT_TRUE(t.ok());
      EXPECT_TRUE(t->has_value()) << table;
    }
    ASSERT_TRUE(store
                    ->Exec("INSERT INTO kv_state (scope, key, value, updated_at) VALUES ($1, $2, $3, $4)",
                           {"s", "k", "v", int64_t{1}})
                    .ok());
  }
  // Reopening runs nothing again: the data survives and there is still exactly one version row.
  auto store = MustOpen({.path = dir.File("mlc.db")});
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(store->schema_version(), newest);
  auto rows = store->Query("SELECT key, value FROM schema_meta");
  ASSERT_TRUE(rows.ok());
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_EQ((*rows)[0].Text(1), std::to_string(newest));
  auto kv = store->QueryOne("SELECT value FROM kv_state WHERE scope = $1 AND key = $2", {"s", "k"});
  ASSERT_TRUE(kv.ok());
  ASSERT_TRUE(kv->has_value());
  EXPECT_EQ((*kv)->Text(0), "v");
}

TEST(StoreMigrations, VersionsAreConsecutiveFromOne) {
  const auto& all = Migrations();
  ASSERT_FALSE(all.empty());
  for (size_t i = 0; i < all.size(); ++i) {
    EXPECT_EQ(all[i].version, static_cast<int>(i + 1));
    EXPECT_NE(all[i].name, nullptr);
    EXPECT_NE(all[i].sql, nullptr);
  }
  EXPECT_STREQ(all[0].name, "core");
}

TEST(StoreMigrations, NewerSchemaRefusedAndFileUntouched) {
  TempDir dir;
  const std::string path = dir.File("mlc.db");
  {
    auto store = MustOpen({.path = path});
    ASSERT_NE(store, nullptr);
    ASSERT_TRUE(
        store->Exec("UPDATE schema_meta SET value = $1 WHERE key = $2", {"999", "schema_version"}).ok());
  }
  const std::string before = ReadFile(path);
  ASSERT_FALSE(before.empty());

  for (bool read_only : {false, true}) {
    auto r = Store::Open({.path = path, .read_only = read_only});
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), Code::kInvalid);
    EXPECT_EQ(r.status().message(), "database schema version 999 is newer than this mlc supports (" +
                                        std::to_string(Migrations().back().version) +
                                        "); upgrade mlc or use another store path");
  }
  EXPECT_EQ(ReadFile(path), before);
}

TEST(StoreOpen, GarbageFileRefusedAndUntouched) {
  TempDir dir;
  const std::string path = dir.File("notes.txt");
  std::string garbage;
  for (int i = 0; i < 200; ++i) garbage += "this is not a database, it is a shopping list\n";
  WriteFile(path, garbage);
  auto r = Store::Open({.path = path});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kInvalid);
  EXPECT_EQ(r.status().message().rfind(path + " is not an ml-connector database: ", 0), 0u)
      << r.status().message();
  EXPECT_EQ(ReadFile(path), garbage);
}

TEST(StoreOpen, ForeignSqliteDatabaseRefused) {
  TempDir dir;
  const std::string path = dir.File("other.db");
  {
    // Made through a Store so the test needs no raw SQLite; then turned into "someone else's" file.
    auto store = MustOpen({.path = path});
    ASSERT_NE(store, nullptr);
    ASSERT_TRUE(store->Exec("CREATE TABLE recipes (name TEXT)").ok());
    ASSERT_TRUE(store->Exec("DROP TABLE schema_meta").ok());
  }
  auto r = Store::Open({.path = path});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kInvalid);
  EXPECT_NE(r.status().message().find("is not an ml-connector database"), std::string::npos)
      << r.status().message();
}

TEST(StoreOpen, ReadOnlyMissingFileErrors) {
  TempDir dir;
  auto r = Store::Open({.path = dir.File("missing.db"), .read_only = true});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("missing.db"), std::string::npos);
  EXPECT_FALSE(std::filesystem::exists(dir.File("missing.db")));
}

TEST(StoreOpen, ReadOnlyReadsButCannotWrite) {
  TempDir dir;
  const std::string path = dir.File("mlc.db");
  {
    auto store = MustOpen({.path = path});
    ASSERT_NE(store, nullptr);
    ASSERT_TRUE(store
                    ->Exec("INSERT INTO kv_state (scope, key, value, updated_at) VALUES ($1, $2, $3, $4)",
                           {"s", "k", "v", int64_t{1}})
                    .ok());
  }
  auto store = MustOpen({.path = path, .read_only = true});
  ASSERT_NE(store, nullptr);
  auto v = store->QueryOne("SELECT value FROM kv_state WHERE key = $1", {"k"});
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  ASSERT_TRUE(v->has_value());
  EXPECT_EQ((*v)->Text(0), "v");
  EXPECT_FALSE(store->Exec("DELETE FROM kv_state").ok());
}

class StoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = MustOpen({.path = dir_.File("mlc.db"), .synchronous = "NORMAL"});
    ASSERT_NE(store_, nullptr);
    ASSERT_TRUE(store_->Exec("CREATE TABLE t (id INTEGER PRIMARY KEY, a, b, c, d)").ok());
  }
  TempDir dir_;
  std::unique_ptr<Store> store_;
};

TEST_F(StoreTest, BindsAllValueKinds) {
  const int64_t lo = std::numeric_limits<int64_t>::min();
  const int64_t hi = std::numeric_limits<int64_t>::max();
  const std::string with_nul("a\0b\0c", 5);
  ASSERT_TRUE(store_
                  ->Exec("INSERT INTO t (id, a, b, c, d) VALUES ($1, $2, $3, $4, $5)",
                         {int64_t{1}, nullptr, lo, Bytes{with_nul}, std::string("héllo")})
                  .ok());
  ASSERT_TRUE(store_
                  ->Exec("INSERT INTO t (id, a, b, c, d) VALUES ($1, $2, $3, $4, $5)",
                         {int64_t{2}, hi, std::string(), Bytes{}, int64_t{0}})
                  .ok());
  auto rows = store_->Query("SELECT a, b, c, d, typeof(c) FROM t ORDER BY id");
  ASSERT_TRUE(rows.ok()) << rows.status().ToString();
  ASSERT_EQ(rows->size(), 2u);
  const Row& r1 = (*rows)[0];
  EXPECT_TRUE(r1.IsNull(0));
  EXPECT_FALSE(r1.OptText(0).has_value());
  EXPECT_EQ(r1.Int(0, 42), 42);  // NULL yields the fallback
  EXPECT_EQ(r1.Int(1), lo);
  EXPECT_EQ(r1.Text(2), with_nul);
  ASSERT_TRUE(std::holds_alternative<Bytes>(r1.At(2)));
  EXPECT_EQ(std::get<Bytes>(r1.At(2)).data.size(), 5u);
  EXPECT_EQ(r1.Text(3), "héllo");
  EXPECT_EQ(r1.Int(3, -1), -1);  // mistyped yields the fallback
  EXPECT_EQ(r1.Text(4), "blob");
  const Row& r2 = (*rows)[1];
  EXPECT_EQ(r2.Int(0), hi);
  ASSERT_TRUE(std::holds_alternative<std::string>(r2.At(1)));  // empty string stays a string, not NULL
  EXPECT_EQ(r2.Text(1, "fallback"), "");
  EXPECT_EQ(r2.Text(4), "blob");  // empty bytes stay a blob
  EXPECT_EQ(r2.Text(2, "fallback"), "");
  EXPECT_EQ(r2.Int(3, 7), 0);
  EXPECT_EQ(r2.Text(99, "oob"), "oob");
  EXPECT_TRUE(r2.IsNull(99));
}

TEST_F(StoreTest, ParametersBoundByNumberNotPosition) {
  // $2 appears before $1 and $1 twice: values must follow the numbers.
  auto row = store_->QueryOne("SELECT $2, $1, $1 || $2", {"one", "two"});
  ASSERT_TRUE(row.ok()) << row.status().ToString();
  ASSERT_TRUE(row->has_value());
  EXPECT_EQ((*row)->Text(0), "two");
  EXPECT_EQ((*row)->Text(1), "one");
  EXPECT_EQ((*row)->Text(2), "onetwo");
}

TEST_F(StoreTest, ParameterMisuseRefused) {
  EXPECT_EQ(store_->Exec("INSERT INTO t (a) VALUES ($1)", {}).code(), Code::kInvalid);
  EXPECT_EQ(store_->Exec("INSERT INTO t (a) VALUES ($1)", {"x", "y"}).code(), Code::kInvalid);
  EXPECT_EQ(store_->Exec("INSERT INTO t (a) VALUES (?)", {"x"}).code(), Code::kInvalid);
  EXPECT_EQ(store_->Exec("INSERT INTO t (a) VALUES (:a)", {"x"}).code(), Code::kInvalid);
  EXPECT_EQ(store_->Exec("INSERT INTO t (a, b) VALUES ($1, $3)", {"x", "y", "z"}).code(), Code::kInvalid);
  EXPECT_EQ(store_->Exec("INSERT INTO t (a) VALUES ($0)", {"x"}).code(), Code::kInvalid);
  // Two statements in one call would silently drop the second: refused.
  EXPECT_EQ(store_->Exec("INSERT INTO t (a) VALUES (1); INSERT INTO t (a) VALUES (2)").code(),
            Code::kInvalid);
  auto n = store_->QueryOne("SELECT count(*) FROM t");
  ASSERT_TRUE(n.ok());
  EXPECT_EQ((*n)->Int(0), 0);
  // A trailing semicolon or comment is fine.
  EXPECT_TRUE(store_->Exec("INSERT INTO t (a) VALUES (1); -- done").ok());
}

TEST_F(StoreTest, BigBlobRoundTrip) {
  std::string big(5 * 1024 * 1024, '\0');
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>((i * 2654435761u) >> 13);
  ASSERT_TRUE(store_->Exec("INSERT INTO t (id, a) VALUES ($1, $2)", {int64_t{9}, Bytes{big}}).ok());
  auto row = store_->QueryOne("SELECT a, length(a) FROM t WHERE id = $1", {int64_t{9}});
  ASSERT_TRUE(row.ok()) << row.status().ToString();
  ASSERT_TRUE(row->has_value());
  EXPECT_EQ((*row)->Int(1), static_cast<int64_t>(big.size()));
  EXPECT_TRUE((*row)->Text(0) == big);
}

TEST_F(StoreTest, ChangesReported) {
  int64_t changes = -1;
  ASSERT_TRUE(store_->Exec("INSERT INTO t (a) VALUES ($1), ($2), ($3)", {"1", "2", "3"}, &changes).ok());
  EXPECT_EQ(changes, 3);
  ASSERT_TRUE(store_->Exec("UPDATE t SET b = $1 WHERE a = $2", {"x", "2"}, &changes).ok());
  EXPECT_EQ(changes, 1);
  auto none = store_->QueryOne("SELECT a FROM t WHERE a = $1", {"nope"});
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
}

TEST_F(StoreTest, TransactionCommits) {
  Status s = store_->Transaction([](Tx& tx) -> Status {
    MLC_RETURN_IF_ERROR(tx.Exec("INSERT INTO t (a) VALUES ($1)", {"x"}));
    MLC_ASSIGN_OR_RETURN(auto rows, tx.Query("SELECT count(*) FROM t"));
    if (rows.at(0).Int(0) != 1) return Status::Error("row not visible inside the transaction");
    return tx.Exec("INSERT INTO t (a) VALUES ($1)", {"y"});
  });
  ASSERT_TRUE(s.ok()) << s.ToString();
  auto n = store_->QueryOne("SELECT count(*) FROM t");
  ASSERT_TRUE(n.ok());
  EXPECT_EQ((*n)->Int(0), 2);
}

TEST_F(StoreTest, TransactionRollsBackOnErrorStatus) {
  Status s = store_->Transaction([](Tx& tx) -> Status {
    MLC_RETURN_IF_ERROR(tx.Exec("INSERT INTO t (a) VALUES ($1)", {"x"}));
    return Status::Uncertain("boom");
  });
  EXPECT_EQ(s.code(), Code::kUncertain);
  EXPECT_EQ(s.message(), "boom");
  auto n = store_->QueryOne("SELECT count(*) FROM t");
  ASSERT_TRUE(n.ok());
  EXPECT_EQ((*n)->Int(0), 0);
  // The store is usable afterwards (no transaction left open).
  EXPECT_TRUE(store_->Transaction([](Tx& tx) { return tx.Exec("INSERT INTO t (a) VALUES (1)"); }).ok());
}

TEST_F(StoreTest, TransactionRollsBackOnException) {
  Status s = store_->Transaction([](Tx& tx) -> Status {
    MLC_RETURN_IF_ERROR(tx.Exec("INSERT INTO t (a) VALUES ($1)", {"x"}));
    throw std::runtime_error("secret-bearing exception text sk_live_exc");
  });
  EXPECT_EQ(s.code(), Code::kError);
  EXPECT_EQ(s.message().find("sk_live_exc"), std::string::npos);
  s = store_->Transaction([](Tx&) -> Status { throw 42; });
  EXPECT_EQ(s.code(), Code::kError);
  auto n = store_->QueryOne("SELECT count(*) FROM t");
  ASSERT_TRUE(n.ok());
  EXPECT_EQ((*n)->Int(0), 0);
}

TEST_F(StoreTest, TransactionRollsBackFailedStatement) {
  ASSERT_TRUE(store_->Exec("CREATE UNIQUE INDEX t_a ON t (a)").ok());
  Status s = store_->Transaction([](Tx& tx) -> Status {
    MLC_RETURN_IF_ERROR(tx.Exec("INSERT INTO t (a) VALUES ($1)", {"dup"}));
    return tx.Exec("INSERT INTO t (a) VALUES ($1)", {"dup"});
  });
  EXPECT_EQ(s.code(), Code::kInvalid);
  auto n = store_->QueryOne("SELECT count(*) FROM t");
  ASSERT_TRUE(n.ok());
  EXPECT_EQ((*n)->Int(0), 0);
}

TEST_F(StoreTest, NestedTransactionRefused) {
  Status inner;
  Status s = store_->Transaction([&](Tx& tx) -> Status {
    MLC_RETURN_IF_ERROR(tx.Exec("INSERT INTO t (a) VALUES ($1)", {"outer"}));
    inner = store_->Transaction([](Tx& t2) { return t2.Exec("INSERT INTO t (a) VALUES ($1)", {"inner"}); });
    return Status::Ok();
  });
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(inner.code(), Code::kInvalid);
  auto rows = store_->Query("SELECT a FROM t");
  ASSERT_TRUE(rows.ok());
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_EQ((*rows)[0].Text(0), "outer");
}

TEST_F(StoreTest, ConcurrentInsertsAllLand) {
  constexpr int kThreads = 8;
  constexpr int kPerThread = 500;
  std::vector<std::thread> threads;
  std::vector<int> failures(kThreads, 0);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        Status s;
        const Params p = {int64_t{t}, int64_t{i}};
        if (i % 2 == 0) {
          s = store_->Exec("INSERT INTO t (a, b) VALUES ($1, $2)", p);
        } else {
          s = store_->Transaction([&](Tx& tx) -> Status {
            MLC_ASSIGN_OR_RETURN(auto before, tx.Query("SELECT count(*) FROM t WHERE a = $1", {int64_t{t}}));
            MLC_RETURN_IF_ERROR(tx.Exec("INSERT INTO t (a, b) VALUES ($1, $2)", p));
            MLC_ASSIGN_OR_RETURN(auto after, tx.Query("SELECT count(*) FROM t WHERE a = $1", {int64_t{t}}));
            // Only this thread writes a = t, and the transaction isolates it from the others.
            if (after.at(0).Int(0) != before.at(0).Int(0) + 1) return Status::Error("lost isolation");
            return Status::Ok();
          });
        }
        if (!s.ok()) ++failures[static_cast<size_t>(t)];
      }
    });
  }
  for (auto& th : threads) th.join();
  for (int t = 0; t < kThreads; ++t) EXPECT_EQ(failures[static_cast<size_t>(t)], 0) << "thread " << t;
  auto n = store_->QueryOne("SELECT count(*), count(DISTINCT a * 1000 + b) FROM t");
  ASSERT_TRUE(n.ok());
  EXPECT_EQ((*n)->Int(0), kThreads * kPerThread);
  EXPECT_EQ((*n)->Int(1), kThreads * kPerThread);
}

TEST_F(StoreTest, ErrorsCarrySqlButNeverParameterValues) {
  const std::string secret = "sk_live_9f8e7d6c5b4a";
  ASSERT_TRUE(store_->Exec("CREATE TABLE creds (token TEXT UNIQUE, n INTEGER NOT NULL CHECK (n > 0))").ok());
  ASSERT_TRUE(store_->Exec("INSERT INTO creds (token, n) VALUES ($1, $2)", {secret, int64_t{1}}).ok());
  const Status dup = store_->Exec("INSERT INTO creds (token, n) VALUES ($1, $2)", {secret, int64_t{1}});
  const Status check =
      store_->Exec("INSERT INTO creds (token, n) VALUES ($1, $2)", {secret + "x", int64_t{-5}});
  const Status json = store_->Exec("INSERT INTO creds (token, n) VALUES (json($1), 1)", {"{" + secret});
  auto query = store_->Query("SELECT token FROM creds WHERE token = $1 AND nosuchcol = $2", {secret, secret});
  for (const Status& s : {dup, check, json, query.status()}) {
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.message().find(secret), std::string::npos) << s.message();
    EXPECT_NE(s.message().find("sqlite: "), std::string::npos) << s.message();
    EXPECT_NE(s.message().find("(in: "), std::string::npos) << s.message();
  }
  EXPECT_EQ(dup.code(), Code::kInvalid);
  EXPECT_NE(dup.message().find("UNIQUE constraint failed"), std::string::npos) << dup.message();
  EXPECT_NE(dup.message().find("INSERT INTO creds"), std::string::npos) << dup.message();
  EXPECT_EQ(check.code(), Code::kInvalid);
  EXPECT_EQ(query.status().code(), Code::kError);

  // The SQL excerpt is bounded.
  std::string long_sql = "SELECT nosuchcolumn FROM t WHERE a = $1";
  long_sql += " AND c = '" + std::string(200, 'p') + "' AND b = 'tail-marker'";
  auto r = store_->Query(long_sql, {secret});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message().find("tail-marker"), std::string::npos) << r.status().message();
  EXPECT_NE(r.status().message().find("SELECT nosuchcolumn FROM t"), std::string::npos);
}

TEST_F(StoreTest, BusyMapsToRetry) {
  // A second Store on the same file holds the write lock; the first one gives up after its busy timeout.
  auto other = MustOpen({.path = dir_.File("mlc.db"), .busy_timeout_ms = 0});
  ASSERT_NE(other, nullptr);
  Status inside;
  Status s = store_->Transaction([&](Tx& tx) -> Status {
    MLC_RETURN_IF_ERROR(tx.Exec("INSERT INTO t (a) VALUES (1)"));
    inside = other->Exec("INSERT INTO t (a) VALUES (2)");
    return Status::Ok();
  });
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(inside.code(), Code::kRetry) << inside.ToString();
}

TEST_F(StoreTest, CheckpointTruncatesWal) {
  ASSERT_TRUE(store_->Exec("INSERT INTO t (a) VALUES ($1)", {Bytes{std::string(100000, 'x')}}).ok());
  ASSERT_TRUE(std::filesystem::exists(dir_.File("mlc.db-wal")));
  EXPECT_GT(std::filesystem::file_size(dir_.File("mlc.db-wal")), 0u);
  ASSERT_TRUE(store_->Checkpoint().ok());
  EXPECT_EQ(std::filesystem::file_size(dir_.File("mlc.db-wal")), 0u);
}

TEST_F(StoreTest, StatementCacheSurvivesManyDistinctStatements) {
  // More distinct statements than the cache holds, then the first ones again (re-prepared after eviction).
  for (int round = 0; round < 2; ++round) {
    for (int i = 0; i < 300; ++i) {
      auto row = store_->QueryOne("SELECT $1 + " + std::to_string(i), {int64_t{round}});
      ASSERT_TRUE(row.ok()) << row.status().ToString();
      EXPECT_EQ((*row)->Int(0), round + i);
    }
  }
}

TEST(StoreMemory, InMemoryDatabaseMigrates) {
  auto store = MustOpen({.path = ":memory:"});
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(store->schema_version(), Migrations().back().version);
}

}  // namespace
}  // namespace mlc::store
