// Store: the host's one interface to durable state (SQLite in WAL mode by default).
//
// Every table of the host (connections' state, vault secrets, tokens, inbox, jobs, audit, ...) is reached
// through this class. SQL passed to it stays within what PostgreSQL also accepts: positional parameters
// are written `$1`, `$2`, ... (SQLite accepts them as named parameters), no SQLite-only functions, upserts
// with `ON CONFLICT (...) DO UPDATE`, integer timestamps in milliseconds since the epoch.
//
//   MLC_ASSIGN_OR_RETURN(auto store, mlc::store::Store::Open({.path = "mlc.db"}));
//   MLC_RETURN_IF_ERROR(store->Exec("INSERT INTO kv_state(scope, key, value) VALUES ($1, $2, $3)",
//                                   {"conn:brex", "cursor", "abc"}));
//   MLC_ASSIGN_OR_RETURN(auto rows, store->Query("SELECT value FROM kv_state WHERE scope = $1", {"x"}));
//
// Migrations: Open() applies every migration newer than the file's schema version, each in its own
// transaction, and refuses a file whose schema version is newer than this binary knows.
//
// Thread safety: a Store may be used from any number of threads. Calls are serialised on one connection;
// Transaction() holds the store for the duration of its callback, and the callback must use the `Tx`
// it is handed (not the Store) for its statements.
//
// Statements: Exec/Query take exactly one statement whose parameters are `$1..$N`, each index used at
// least once and N == params.size() (`?` and `:name` are refused). Prepared statements are cached by SQL
// text (bounded LRU), so build SQL from constants and pass every value as a parameter.
// Errors carry SQLite's message and the first 80 characters of the SQL, never parameter values. Codes:
// SQLITE_BUSY/LOCKED -> Retry; constraint violations, misuse of parameters, a file that is not an
// ml-connector database, an unknown schema version -> Invalid; anything else (I/O, full disk, syntax) ->
// Error.
//
// Dialect note (PostgreSQL): column type BLOB is written BYTEA there and BIGINT/TEXT carry over; the
// migrations in migrations.cpp use the SQLite spellings and a PostgreSQL store maps BLOB -> BYTEA.
#ifndef MLC_HOST_STORE_STORE_HPP_
#define MLC_HOST_STORE_STORE_HPP_

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "mlc/status.hpp"

struct sqlite3;

namespace mlc::store {

// Binary data (stored as BLOB / bytea).
struct Bytes {
  std::string data;
};

// A parameter or column value.
using Value = std::variant<std::nullptr_t, int64_t, std::string, Bytes>;

// One result row. Accessors never throw: a NULL or mistyped column yields the fallback.
class Row {
 public:
  explicit Row(std::vector<Value> cols) : cols_(std::move(cols)) {}
  size_t size() const { return cols_.size(); }
  bool IsNull(size_t i) const;
  int64_t Int(size_t i, int64_t fallback = 0) const;
  std::string Text(size_t i, std::string fallback = {}) const;  // TEXT or BLOB bytes
  std::optional<std::string> OptText(size_t i) const;
  const Value& At(size_t i) const { return cols_.at(i); }

 private:
  std::vector<Value> cols_;
};

using Params = std::vector<Value>;

// Statement execution; implemented by Store (outside transactions) and Tx (inside one).
class Executor {
 public:
  virtual ~Executor() = default;
  // Runs a statement that returns no rows. Returns the number of rows changed via *changes if given.
  virtual Status Exec(std::string_view sql, const Params& params = {}, int64_t* changes = nullptr) = 0;
  virtual Result<std::vector<Row>> Query(std::string_view sql, const Params& params = {}) = 0;
  // First row or std::nullopt.
  Result<std::optional<Row>> QueryOne(std::string_view sql, const Params& params = {});
};

// The executor handed to a Transaction() callback.
// Valid only for the duration of the callback it is handed to.
class Store;
class Tx : public Executor {
 public:
  Status Exec(std::string_view sql, const Params& params = {}, int64_t* changes = nullptr) override;
  Result<std::vector<Row>> Query(std::string_view sql, const Params& params = {}) override;

 private:
  friend class Store;
  explicit Tx(Store* store) : store_(store) {}
  Store* store_;
};

struct OpenOptions {
  std::string path;                  // file path; ":memory:" for a private in-memory database
  std::string synchronous = "FULL";  // FULL (durable against power loss) or NORMAL (against crashes only)
  int busy_timeout_ms = 5000;
  // Read-only: the file must exist, no migrations are applied, and a schema older or newer than this
  // binary is refused (the binary's statements would not match it).
  bool read_only = false;
};

// A versioned schema step. Versions are consecutive from 1; see migrations.cpp.
struct Migration {
  int version;
  const char* name;
  const char* sql;  // one or more statements
};

// The migrations this binary knows, in order.
const std::vector<Migration>& Migrations();

class Store : public Executor {
 public:
  // Opens (creating if needed) and migrates. Errors: a file that is not a database, a schema newer than
  // this binary ("database schema version N is newer than this mlc supports (M); upgrade mlc ..."), an
  // invalid `synchronous`, I/O. A refused file is not modified.
  static Result<std::unique_ptr<Store>> Open(const OpenOptions& options);
  ~Store() override;
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  Status Exec(std::string_view sql, const Params& params = {}, int64_t* changes = nullptr) override;
  Result<std::vector<Row>> Query(std::string_view sql, const Params& params = {}) override;

  // Runs `fn` inside BEGIN IMMEDIATE ... COMMIT. A non-OK status from `fn` (or an exception, which is
  // caught and becomes Status::Error) rolls back and is returned. Nested calls from inside `fn` return
  // Status::Invalid without touching the open transaction.
  Status Transaction(const std::function<Status(Tx&)>& fn);

  int schema_version() const { return schema_version_; }
  const std::string& path() const { return path_; }

  // Forces a WAL checkpoint (used by tests that inspect the file). Retry if readers kept it from finishing.
  Status Checkpoint();

 private:
  friend class Tx;
  struct StmtCache;  // defined in store.cpp

  Store(sqlite3* db, std::string path);
  Status Migrate(bool read_only);   // migrations.cpp
  Result<int> ReadSchemaVersion();  // migrations.cpp; 0 for a fresh file
  // Callers hold mu_.
  Status ExecLocked(std::string_view sql, const Params& params, int64_t* changes);
  Result<std::vector<Row>> QueryLocked(std::string_view sql, const Params& params);
  Status ExecScriptLocked(const char* sql);  // several statements, no parameters (migrations)

  sqlite3* db_;
  std::string path_;
  int schema_version_ = 0;
  bool in_tx_ = false;
  std::unique_ptr<StmtCache> cache_;
  std::recursive_mutex mu_;
};

}  // namespace mlc::store

#endif  // MLC_HOST_STORE_STORE_HPP_
