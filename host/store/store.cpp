// Store on SQLite3: connection setup (WAL, synchronous, foreign keys), `$N` parameter binding, a bounded
// prepared-statement cache, transactions and error mapping. Migrations live in migrations.cpp.
#include "store/store.hpp"

#include <sqlite3.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <filesystem>
#include <list>
#include <unordered_map>
#include <utility>

namespace mlc::store {
namespace {

constexpr size_t kStmtCacheCapacity = 128;
constexpr size_t kSqlExcerptChars = 80;

// The first 80 characters of the SQL with whitespace runs collapsed, so errors say which statement failed
// without ever carrying parameter values.
std::string SqlExcerpt(std::string_view sql) {
  std::string out;
  bool space = false;
  for (char c : sql) {
    if (out.size() >= kSqlExcerptChars) {
      out += "...";
      break;
    }
    if (c == ' ' || c == '\n' || c == '\t' || c == '\r') {
      space = !out.empty();
      continue;
    }
    if (space) out += ' ';
    space = false;
    out += c;
  }
  return out;
}

Code CodeForSqlite(int rc) {
  switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return Code::kRetry;
    case SQLITE_CONSTRAINT:
    case SQLITE_NOTADB:
    case SQLITE_RANGE:
      return Code::kInvalid;
    default:
      return Code::kError;
  }
}

Status SqliteError(sqlite3* db, int rc, std::string_view sql) {
  const char* msg = db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  return {CodeForSqlite(rc),
          std::string("sqlite: ") + (msg ? msg : sqlite3_errstr(rc)) + " (in: " + SqlExcerpt(sql) + ")"};
}

// Maps each SQLite parameter slot to the index (0-based) in Params. Only `$<positive int>` names are
// accepted; every $1..$N must appear, which is what PostgreSQL requires too.
Result<std::vector<int>> ParamMap(sqlite3_stmt* stmt, std::string_view sql) {
  const int count = sqlite3_bind_parameter_count(stmt);
  std::vector<int> map(static_cast<size_t>(count), -1);
  int max_index = 0;
  for (int slot = 1; slot <= count; ++slot) {
    const char* name = sqlite3_bind_parameter_name(stmt, slot);
    std::string_view n = name ? name : "";
    int k = 0;
    if (n.size() < 2 || n[0] != '$' || n[1] == '0' ||
        std::from_chars(n.data() + 1, n.data() + n.size(), k).ptr != n.data() + n.size() || k <= 0) {
      return Status::Invalid("store: parameters must be written $1..$N (found '" + std::string(n) +
                             "') in: " + SqlExcerpt(sql));
    }
    map[static_cast<size_t>(slot - 1)] = k - 1;
    max_index = std::max(max_index, k);
  }
  // Distinct names == slots, so all of $1..$max are present iff max == count.
  if (max_index != count) {
    return Status::Invalid("store: parameters must be consecutive $1..$N in: " + SqlExcerpt(sql));
  }
  return map;
}

Value ColumnValue(sqlite3_stmt* stmt, int i) {
  switch (sqlite3_column_type(stmt, i)) {
    case SQLITE_NULL:
      return nullptr;
    case SQLITE_INTEGER:
      return static_cast<int64_t>(sqlite3_column_int64(stmt, i));
    case SQLITE_BLOB: {
      const void* p = sqlite3_column_blob(stmt, i);
      const int n = sqlite3_column_bytes(stmt, i);
      return Bytes{std::string(static_cast<const char*>(p), p ? static_cast<size_t>(n) : 0)};
    }
    default: {  // TEXT, and FLOAT rendered as text (the schema holds no floats; money is int64)
      const unsigned char* p = sqlite3_column_text(stmt, i);
      const int n = sqlite3_column_bytes(stmt, i);
      return std::string(reinterpret_cast<const char*>(p), p ? static_cast<size_t>(n) : 0);
    }
  }
}

}  // namespace

// ---- Row ----

bool Row::IsNull(size_t i) const {
  return i >= cols_.size() || std::holds_alternative<std::nullptr_t>(cols_[i]);
}

int64_t Row::Int(size_t i, int64_t fallback) const {
  if (i >= cols_.size()) return fallback;
  if (const auto* v = std::get_if<int64_t>(&cols_[i])) return *v;
  return fallback;
}

std::string Row::Text(size_t i, std::string fallback) const {
  auto v = OptText(i);
  return v ? std::move(*v) : std::move(fallback);
}

std::optional<std::string> Row::OptText(size_t i) const {
  if (i >= cols_.size()) return std::nullopt;
  if (const auto* s = std::get_if<std::string>(&cols_[i])) return *s;
  if (const auto* b = std::get_if<Bytes>(&cols_[i])) return b->data;
  return std::nullopt;
}

// ---- Executor / Tx ----

Result<std::optional<Row>> Executor::QueryOne(std::string_view sql, const Params& params) {
  MLC_ASSIGN_OR_RETURN(auto rows, Query(sql, params));
  if (rows.empty()) return std::optional<Row>();
  return std::optional<Row>(std::move(rows.front()));
}

Status Tx::Exec(std::string_view sql, const Params& params, int64_t* changes) {
  std::lock_guard lock(store_->mu_);
  return store_->ExecLocked(sql, params, changes);
}

Result<std::vector<Row>> Tx::Query(std::string_view sql, const Params& params) {
  std::lock_guard lock(store_->mu_);
  return store_->QueryLocked(sql, params);
}

// ---- Statement cache ----

// LRU of prepared statements keyed by SQL text. Only touched with Store::mu_ held, and a statement is
// reset before the lock is released, so an evicted statement is never in use.
struct Store::StmtCache {
  struct Entry {
    sqlite3_stmt* stmt;
    std::vector<int> param_map;
    std::list<std::string>::iterator lru_pos;
  };
  std::unordered_map<std::string, Entry> entries;
  std::list<std::string> lru;  // front = most recent

  ~StmtCache() { Clear(); }

  void Clear() {
    for (auto& [sql, e] : entries) sqlite3_finalize(e.stmt);
    entries.clear();
    lru.clear();
  }

  Result<Entry*> Get(sqlite3* db, std::string_view sql) {
    std::string key(sql);
    if (auto it = entries.find(key); it != entries.end()) {
      lru.splice(lru.begin(), lru, it->second.lru_pos);
      return &it->second;
    }
    sqlite3_stmt* stmt = nullptr;
    const char* tail = nullptr;
    int rc = sqlite3_prepare_v3(db, key.data(), static_cast<int>(key.size()), SQLITE_PREPARE_PERSISTENT,
                                &stmt, &tail);
    if (rc != SQLITE_OK) return SqliteError(db, rc, sql);
    if (stmt == nullptr) return Status::Invalid("store: empty statement");
    // Anything but whitespace/comments after the first statement would be silently ignored: refuse.
    if (tail != nullptr && tail < key.data() + key.size()) {
      sqlite3_stmt* extra = nullptr;
      rc = sqlite3_prepare_v2(db, tail, static_cast<int>(key.data() + key.size() - tail), &extra, nullptr);
      sqlite3_finalize(extra);
      if (rc != SQLITE_OK || extra != nullptr) {
        sqlite3_finalize(stmt);
        return Status::Invalid("store: one statement per call (in: " + SqlExcerpt(sql) + ")");
      }
    }
    auto map = ParamMap(stmt, sql);
    if (!map.ok()) {
      sqlite3_finalize(stmt);
      return map.status();
    }
    if (entries.size() >= kStmtCacheCapacity) {
      auto victim = entries.find(lru.back());
      sqlite3_finalize(victim->second.stmt);
      entries.erase(victim);
      lru.pop_back();
    }
    lru.push_front(key);
    auto [it, inserted] = entries.emplace(std::move(key), Entry{stmt, std::move(*map), lru.begin()});
    return &it->second;
  }
};

namespace {

// Binds params to a cached statement. Values are bound SQLITE_STATIC: `params` outlives the step, and
// the bindings are cleared before the statement goes back to the cache.
Status Bind(sqlite3* db, sqlite3_stmt* stmt, const std::vector<int>& map, const Params& params,
            std::string_view sql) {
  if (map.size() != params.size()) {
    return Status::Invalid("store: statement takes " + std::to_string(map.size()) + " parameters, got " +
                           std::to_string(params.size()) + " (in: " + SqlExcerpt(sql) + ")");
  }
  for (size_t slot = 0; slot < map.size(); ++slot) {
    const Value& v = params[static_cast<size_t>(map[slot])];
    const int i = static_cast<int>(slot + 1);
    int rc = SQLITE_OK;
    if (std::holds_alternative<std::nullptr_t>(v)) {
      rc = sqlite3_bind_null(stmt, i);
    } else if (const auto* n = std::get_if<int64_t>(&v)) {
      rc = sqlite3_bind_int64(stmt, i, *n);
    } else if (const auto* s = std::get_if<std::string>(&v)) {
      // A null data pointer would bind NULL; "" keeps the empty string a string.
      rc = sqlite3_bind_text64(stmt, i, s->empty() ? "" : s->data(), s->size(), SQLITE_STATIC, SQLITE_UTF8);
    } else {
      const auto& b = std::get<Bytes>(v).data;
      rc = b.empty() ? sqlite3_bind_zeroblob(stmt, i, 0)
                     : sqlite3_bind_blob64(stmt, i, b.data(), b.size(), SQLITE_STATIC);
    }
    if (rc != SQLITE_OK) return SqliteError(db, rc, sql);
  }
  return Status::Ok();
}

// Runs the bound statement to completion, collecting rows when `rows` is given; always leaves it reset
// with bindings cleared.
Status Run(sqlite3* db, sqlite3_stmt* stmt, std::string_view sql, std::vector<Row>* rows) {
  Status status;
  for (;;) {
    int rc = sqlite3_step(stmt);
    if (rc == SQLITE_DONE) break;
    if (rc == SQLITE_ROW) {
      if (rows != nullptr) {
        const int n = sqlite3_column_count(stmt);
        std::vector<Value> cols;
        cols.reserve(static_cast<size_t>(n));
        for (int i = 0; i < n; ++i) cols.push_back(ColumnValue(stmt, i));
        rows->emplace_back(std::move(cols));
      }
      continue;
    }
    status = SqliteError(db, rc, sql);
    break;
  }
  sqlite3_reset(stmt);
  sqlite3_clear_bindings(stmt);
  return status;
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::toupper(static_cast<unsigned char>(x)) == std::toupper(static_cast<unsigned char>(y));
         });
}

}  // namespace

// ---- Store ----

Store::Store(sqlite3* db, std::string path)
    : db_(db), path_(std::move(path)), cache_(std::make_unique<StmtCache>()) {}

Store::~Store() {
  cache_.reset();  // finalize statements before closing
  sqlite3_close_v2(db_);
}

Status Store::ExecLocked(std::string_view sql, const Params& params, int64_t* changes) {
  MLC_ASSIGN_OR_RETURN(auto* entry, cache_->Get(db_, sql));
  MLC_RETURN_IF_ERROR(Bind(db_, entry->stmt, entry->param_map, params, sql));
  Status s = Run(db_, entry->stmt, sql, nullptr);
  if (s.ok() && changes != nullptr) *changes = sqlite3_changes64(db_);
  return s;
}

Result<std::vector<Row>> Store::QueryLocked(std::string_view sql, const Params& params) {
  MLC_ASSIGN_OR_RETURN(auto* entry, cache_->Get(db_, sql));
  MLC_RETURN_IF_ERROR(Bind(db_, entry->stmt, entry->param_map, params, sql));
  std::vector<Row> rows;
  MLC_RETURN_IF_ERROR(Run(db_, entry->stmt, sql, &rows));
  return rows;
}

Status Store::ExecScriptLocked(const char* sql) {
  char* err = nullptr;
  int rc = sqlite3_exec(db_, sql, nullptr, nullptr, &err);
  if (rc == SQLITE_OK) return Status::Ok();
  std::string msg = err ? err : sqlite3_errstr(rc);
  sqlite3_free(err);
  return {CodeForSqlite(rc), "sqlite: " + msg + " (in: " + SqlExcerpt(sql) + ")"};
}

Status Store::Exec(std::string_view sql, const Params& params, int64_t* changes) {
  std::lock_guard lock(mu_);
  return ExecLocked(sql, params, changes);
}

Result<std::vector<Row>> Store::Query(std::string_view sql, const Params& params) {
  std::lock_guard lock(mu_);
  return QueryLocked(sql, params);
}

Status Store::Transaction(const std::function<Status(Tx&)>& fn) {
  std::lock_guard lock(mu_);
  if (in_tx_) {
    return Status::Invalid("store: nested Transaction() is not allowed; use the Tx handed to the callback");
  }
  MLC_RETURN_IF_ERROR(ExecLocked("BEGIN IMMEDIATE", {}, nullptr));
  in_tx_ = true;
  Status status;
  try {
    Tx tx(this);
    status = fn(tx);
  } catch (...) {
    // The exception's text may quote record data, so it is not copied into the status.
    status = Status::Error("store: transaction callback threw an exception; rolled back");
  }
  if (status.ok()) {
    status = ExecLocked("COMMIT", {}, nullptr);
  }
  // SQLite rolls back by itself after some errors (I/O, full disk); only roll back what is still open.
  if (!status.ok() && !sqlite3_get_autocommit(db_)) {
    (void)ExecLocked("ROLLBACK", {}, nullptr);
  }
  in_tx_ = false;
  return status;
}

Status Store::Checkpoint() {
  std::lock_guard lock(mu_);
  MLC_ASSIGN_OR_RETURN(auto rows, QueryLocked("PRAGMA wal_checkpoint(TRUNCATE)", {}));
  if (!rows.empty() && rows.front().Int(0) != 0) {
    return Status::Retry("store: WAL checkpoint could not complete (readers active)");
  }
  return Status::Ok();
}

Result<std::unique_ptr<Store>> Store::Open(const OpenOptions& options) {
  const bool memory = options.path == ":memory:";
  const char* sync = nullptr;
  if (EqualsIgnoreCase(options.synchronous, "FULL")) {
    sync = "PRAGMA synchronous = FULL";
  } else if (EqualsIgnoreCase(options.synchronous, "NORMAL")) {
    sync = "PRAGMA synchronous = NORMAL";
  } else {
    return Status::Invalid("store: synchronous must be FULL or NORMAL, not '" + options.synchronous + "'");
  }
  if (options.path.empty()) return Status::Invalid("store: no database path given");
  if (options.busy_timeout_ms < 0) return Status::Invalid("store: busy_timeout_ms must not be negative");
  if (options.read_only && !memory) {
    std::error_code ec;
    if (!std::filesystem::exists(options.path, ec)) {
      return Status::NotFound("store: " + options.path + " does not exist (opened read-only)");
    }
  }

  int flags = SQLITE_OPEN_FULLMUTEX |
              (options.read_only ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(options.path.c_str(), &db, flags, nullptr);
  if (rc != SQLITE_OK) {
    std::string msg = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    sqlite3_close_v2(db);
    return Status::Error("store: cannot open " + options.path + ": " + msg);
  }
  std::unique_ptr<Store> store(new Store(db, options.path));
  sqlite3_extended_result_codes(db, 1);
  sqlite3_busy_timeout(db, options.busy_timeout_ms);

  auto not_ours = [&](const Status& s) {
    return Status::Invalid(options.path + " is not an ml-connector database: " + s.message());
  };
  // Connection-level settings that write nothing to the file.
  if (Status s = store->ExecScriptLocked("PRAGMA foreign_keys = ON"); !s.ok()) return s;
  // Read the schema version before anything writes, so a refused file stays byte-for-byte unchanged.
  auto version = store->ReadSchemaVersion();
  if (!version.ok()) {
    if (version.status().code() == Code::kInvalid) return not_ours(version.status());
    return version.status();
  }
  const int newest = Migrations().empty() ? 0 : Migrations().back().version;
  if (*version > newest) {
    return Status::Invalid("database schema version " + std::to_string(*version) +
                           " is newer than this mlc supports (" + std::to_string(newest) +
                           "); upgrade mlc or use another store path");
  }

  if (!options.read_only && !memory) {
    auto mode = store->QueryLocked("PRAGMA journal_mode = WAL", {});
    if (!mode.ok()) return mode.status();
    if (mode->empty() || !EqualsIgnoreCase(mode->front().Text(0), "wal")) {
      return Status::Error("store: " + options.path + " could not be switched to WAL journal mode");
    }
  }
  if (!options.read_only) {
    if (Status s = store->ExecScriptLocked(sync); !s.ok()) return s;
  }
  MLC_RETURN_IF_ERROR(store->Migrate(options.read_only));
  return store;
}

}  // namespace mlc::store
