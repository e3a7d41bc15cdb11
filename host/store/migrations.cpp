// The host's schema, as an append-only list of migrations, and Store::Migrate which applies them.
//
// How to add a migration (vault, tokens, engine, ...):
//   * Append a new entry at the END of kMigrations with the next version number (consecutive from 1) and
//     a short name. Put the owning module in a comment above it.
//   * Never edit, reorder or delete a migration that has shipped: files in the field already record its
//     version and will not run it again. Fix mistakes with a new migration.
//   * SQL must also be valid PostgreSQL: TEXT, BIGINT, BLOB (a PostgreSQL store spells it BYTEA),
//     `CREATE TABLE/INDEX IF NOT EXISTS`, no AUTOINCREMENT, no SQLite-only functions or pragmas.
//   * Each migration runs in its own transaction together with the version bump in schema_meta.
#include <charconv>
#include <string>

#include "store/store.hpp"

namespace mlc::store {
namespace {

// The version lives in a table (not PRAGMA user_version) so the same scheme works on PostgreSQL.
constexpr const char* kSchemaMetaDdl =
    "CREATE TABLE IF NOT EXISTS schema_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)";

const std::vector<Migration> kMigrations = {
    // ---- 1: core (store) ----
    {1, "core", R"sql(
      -- Durable key/value state; scope is e.g. 'conn:<connection>' or 'plugin:<name>'.
      CREATE TABLE kv_state (
        scope TEXT NOT NULL,
        key TEXT NOT NULL,
        value TEXT NOT NULL,
        updated_at BIGINT NOT NULL,
        PRIMARY KEY (scope, key)
      );
      -- Content-addressed binary objects (receipts); id = 'sha256:<hex of data>'. BYTEA on PostgreSQL.
      CREATE TABLE blobs (
        id TEXT PRIMARY KEY,
        content_type TEXT NOT NULL,
        size BIGINT NOT NULL,
        data BLOB NOT NULL,
        created_at BIGINT NOT NULL
      );
      -- Health of each connection as last observed: status is 'ok', 'needs_reauth' or 'error'.
      CREATE TABLE connections_state (
        connection TEXT PRIMARY KEY,
        status TEXT NOT NULL CHECK (status IN ('ok', 'needs_reauth', 'error')),
        message TEXT,
        updated_at BIGINT NOT NULL
      );
    )sql"},
    // ---- 2.. : appended by other modules (vault, tokens, engine, ...). Keep this list append-only. ----
    // ---- 2: vault (host/vault) ----
    {2, "vault", R"sql(
      -- Secrets sealed with AES-256-GCM under the master key: nonce is 12 random bytes per write,
      -- ciphertext is the encrypted value followed by the 16-byte tag, key_id names the master key.
      CREATE TABLE vault_secrets (
        connection TEXT NOT NULL,
        field TEXT NOT NULL,
        key_id TEXT NOT NULL,
        nonce BLOB NOT NULL,
        ciphertext BLOB NOT NULL,
        updated_at BIGINT NOT NULL,
        PRIMARY KEY (connection, field)
      );
    )sql"},
    // ---- 3: auth (host/auth) ----
    {3, "alerts", R"sql(
      -- Conditions an operator must act on (a connection needing re-authorization, a token about to expire
      -- from inactivity, refreshes failing repeatedly). One row per (connection, kind); raising an alert
      -- again updates it and reopens it; resolved_at is NULL while it is open.
      CREATE TABLE alerts (
        connection TEXT NOT NULL,
        kind TEXT NOT NULL,
        severity TEXT NOT NULL CHECK (severity IN ('info', 'warning', 'critical')),
        message TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        updated_at BIGINT NOT NULL,
        resolved_at BIGINT,
        PRIMARY KEY (connection, kind)
      );
    )sql"},
    // ---- 4: match (host/match) ----
    {4, "match_cache", R"sql(
      -- Merchant (normalized descriptor) -> target vendor, per pipeline. decision is the matcher's
      -- ('auto', 'review', 'none') or an operator's resolution (source 'operator', which machine writes never
      -- replace). Scores are integers in thousandths: no floating point in the database.
      CREATE TABLE match_cache (
        pipeline TEXT NOT NULL,
        merchant_key TEXT NOT NULL,
        vendor_id TEXT,
        vendor_name TEXT,
        score_milli BIGINT NOT NULL CHECK (score_milli BETWEEN 0 AND 1000),
        decision TEXT NOT NULL CHECK (decision IN ('auto', 'review', 'none')),
        source TEXT NOT NULL CHECK (source IN ('auto', 'operator')),
        updated_at BIGINT NOT NULL,
        PRIMARY KEY (pipeline, merchant_key)
      );
      CREATE INDEX IF NOT EXISTS match_cache_vendor ON match_cache (vendor_id);
    )sql"},
    // ---- 5: engine (host/engine) ----
    {5, "engine", R"sql(
      -- Every record that arrived, keyed by what identifies one version of one source record. A record seen
      -- twice (webhook and poll, or a poll's overlap window) is stored once. via: 'poll' or 'webhook'.
      CREATE TABLE inbox (
        pipeline TEXT NOT NULL,
        object_type TEXT NOT NULL,
        source_id TEXT NOT NULL,
        source_version TEXT NOT NULL,
        payload TEXT NOT NULL,
        received_at BIGINT NOT NULL,
        via TEXT NOT NULL CHECK (via IN ('poll', 'webhook')),
        PRIMARY KEY (pipeline, object_type, source_id, source_version)
      );
      -- One job per inbox record; id = hex SHA-256 of 'pipeline|object_type|source_id|source_version', so
      -- every arrival of the same record names the same job. A worker holds a job by lease (lease_owner,
      -- lease_until); an expired lease is taken over. write_started_at is set before the target write is
      -- attempted and cleared when the write is known not to have landed: while it is set and written_at is
      -- not, the write must be reconciled (lookup) before it is tried again.
      CREATE TABLE jobs (
        id TEXT PRIMARY KEY,
        pipeline TEXT NOT NULL,
        object_type TEXT NOT NULL,
        source_id TEXT NOT NULL,
        source_version TEXT NOT NULL,
        state TEXT NOT NULL CHECK (state IN ('pending', 'running', 'succeeded', 'review', 'dead', 'uncertain')),
        attempts BIGINT NOT NULL DEFAULT 0,
        next_run_at BIGINT NOT NULL,
        lease_owner TEXT,
        lease_until BIGINT,
        idempotency_key TEXT NOT NULL,
        target_id TEXT,
        write_started_at BIGINT,
        written_at BIGINT,
        acked_at BIGINT,
        last_error TEXT,
        review_kind TEXT,
        review_detail TEXT,
        created_at BIGINT NOT NULL,
        updated_at BIGINT NOT NULL,
        UNIQUE (pipeline, object_type, source_id, source_version)
      );
      CREATE INDEX IF NOT EXISTS jobs_due ON jobs (pipeline, state, next_run_at);
      CREATE INDEX IF NOT EXISTS jobs_source ON jobs (source_id);
      -- Which target record a source record became. One per (pipeline, object, source id, target connection):
      -- a later version of a linked record is not written again.
      CREATE TABLE links (
        pipeline TEXT NOT NULL,
        object_type TEXT NOT NULL,
        source_id TEXT NOT NULL,
        target_connection TEXT NOT NULL,
        target_id TEXT NOT NULL,
        job_id TEXT NOT NULL,
        source_version TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        PRIMARY KEY (pipeline, object_type, source_id, target_connection)
      );
      CREATE INDEX IF NOT EXISTS links_job ON links (job_id);
      -- Where each pipeline's poll of each source stream resumes. cursor is the plugin's next_cursor, saved in
      -- the transaction that stored the records it covers; history holds the start cursors of the last few
      -- pages (JSON array) so the next poll can re-read an overlap window.
      CREATE TABLE cursors (
        pipeline TEXT NOT NULL,
        stream TEXT NOT NULL,
        cursor TEXT,
        history TEXT NOT NULL,
        updated_at BIGINT NOT NULL,
        PRIMARY KEY (pipeline, stream)
      );
      -- The audit trail: append-only, one row per step of a record's life. detail is redacted JSON; the
      -- request_* columns summarise the plugin's last HTTP request of the step (never headers or bodies).
      -- id sorts in time order within one process (13-digit ms, process tag, counter).
      CREATE TABLE audit (
        id TEXT PRIMARY KEY,
        at_ms BIGINT NOT NULL,
        pipeline TEXT NOT NULL,
        job_id TEXT,
        source_id TEXT,
        step TEXT NOT NULL CHECK (step IN ('arrived', 'mapped', 'matched', 'written', 'acked', 'failed',
                                           'replayed', 'resolved', 'review', 'dead', 'uncertain', 'reconciled')),
        actor TEXT NOT NULL CHECK (actor IN ('scheduler', 'webhook', 'operator', 'worker')),
        outcome TEXT NOT NULL,
        detail TEXT NOT NULL,
        request_method TEXT,
        request_path TEXT,
        request_status BIGINT,
        request_latency_ms BIGINT
      );
      CREATE INDEX IF NOT EXISTS audit_job ON audit (job_id, at_ms);
      CREATE INDEX IF NOT EXISTS audit_source ON audit (source_id, at_ms);
      CREATE INDEX IF NOT EXISTS audit_pipeline_at ON audit (pipeline, at_ms);
    )sql"},
    // ---- 6: webhooks (host/webhooks) ----
    {6, "webhooks", R"sql(
      -- Webhook deliveries already recorded, per connection: replay protection. webhook_id is the vendor's
      -- delivery or event id (Standard Webhooks' webhook-id), or 'sha256:<hex of the body>' when it has none.
      CREATE TABLE webhook_seen (
        connection TEXT NOT NULL,
        webhook_id TEXT NOT NULL,
        received_at BIGINT NOT NULL,
        PRIMARY KEY (connection, webhook_id)
      );
      -- Verified webhook events, recorded before the vendor gets its 2xx. processed_at is NULL until the
      -- engine has acted on the event (fetched the record it names).
      CREATE TABLE webhook_events (
        connection TEXT NOT NULL,
        webhook_id TEXT NOT NULL,
        event_index BIGINT NOT NULL,
        type TEXT NOT NULL,
        stream TEXT,
        source_id TEXT,
        payload TEXT,
        received_at BIGINT NOT NULL,
        processed_at BIGINT,
        PRIMARY KEY (connection, webhook_id, event_index)
      );
      CREATE INDEX IF NOT EXISTS webhook_events_pending ON webhook_events (connection, processed_at);
    )sql"},
    // ---- 7: auth_lease (host/auth: token_manager.cpp) ----
    {7, "auth_lease", R"sql(
      -- Cross-process refresh lock: a row exists while a process refreshes the tokens of a connection, so
      -- two processes sharing this store never both spend a single-use refresh token. owner names the holder
      -- (host, pid namespace, pid, random id); expires_at (ms since the epoch) lets others take over from a
      -- holder that died. Taken in a BEGIN IMMEDIATE transaction, released in the one that commits the tokens.
      CREATE TABLE auth_lease (
        connection TEXT PRIMARY KEY,
        owner TEXT NOT NULL,
        acquired_at BIGINT NOT NULL,
        expires_at BIGINT NOT NULL
      );
    )sql"},
    // ---- 8: review_mapping (host/engine: mapping.cpp, review.cpp) ----
    {8, "review_mapping", R"sql(
      -- Mapping tables per pipeline: (table, source value) -> target value. layer 'config' rows mirror the
      -- configuration file (rewritten at engine setup); layer 'operator' rows come from `mlc mapping set` or a
      -- review resolution (origin 'cli' or 'review'), survive restarts and win over config for the same key.
      -- source_key is the source value trimmed and lower-cased (lookups ignore case).
      CREATE TABLE mappings (
        pipeline TEXT NOT NULL,
        map_table TEXT NOT NULL,
        source_key TEXT NOT NULL,
        source_value TEXT NOT NULL,
        target_value TEXT NOT NULL,
        layer TEXT NOT NULL CHECK (layer IN ('config', 'operator')),
        origin TEXT NOT NULL CHECK (origin IN ('config', 'cli', 'review')),
        created_at BIGINT NOT NULL,
        updated_at BIGINT NOT NULL,
        PRIMARY KEY (pipeline, map_table, source_key, layer)
      );
      -- The review queue: one item per time a job stopped in state 'review' (jobs.review_kind/_detail say
      -- why). detail is JSON (e.g. vendor candidates); resolution is JSON once an operator resolved it.
      CREATE TABLE review_items (
        id TEXT PRIMARY KEY,
        pipeline TEXT NOT NULL,
        job_id TEXT NOT NULL,
        kind TEXT NOT NULL,
        message TEXT NOT NULL,
        detail TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        resolved_at BIGINT,
        resolution TEXT
      );
      CREATE INDEX IF NOT EXISTS review_items_open ON review_items (pipeline, resolved_at);
      CREATE INDEX IF NOT EXISTS review_items_job ON review_items (job_id);
    )sql"},
    // ---- 9: job_lease_order (host/engine: engine.cpp LeaseNext) ----
    // Leasing walks this index in the lease order (next_run_at, created_at, id) for one state, so taking the
    // next job costs the same with 10 or 100,000 due jobs; jobs_due is its prefix and goes.
    {9, "job_lease_order", R"sql(
      CREATE INDEX IF NOT EXISTS jobs_lease ON jobs (pipeline, state, next_run_at, created_at, id);
      DROP INDEX IF EXISTS jobs_due;
    )sql"},
};

}  // namespace

const std::vector<Migration>& Migrations() { return kMigrations; }

Result<int> Store::ReadSchemaVersion() {
  MLC_ASSIGN_OR_RETURN(
      auto tables,
      QueryLocked("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'", {}));
  bool has_meta = false;
  for (const auto& row : tables) has_meta = has_meta || row.Text(0) == "schema_meta";
  if (!has_meta) {
    // A database with tables but no schema_meta belongs to something else: do not write into it.
    if (!tables.empty()) return Status::Invalid("it has tables but no schema_meta table");
    return 0;
  }
  MLC_ASSIGN_OR_RETURN(auto rows,
                       QueryLocked("SELECT value FROM schema_meta WHERE key = $1", {"schema_version"}));
  if (rows.empty()) return 0;
  const std::string text = rows.front().Text(0);
  int version = -1;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), version);
  if (ec != std::errc() || ptr != text.data() + text.size() || version < 0) {
    return Status::Invalid("schema_version '" + text + "' is not a version number");
  }
  return version;
}

Status Store::Migrate(bool read_only) {
  std::lock_guard lock(mu_);
  const int newest = kMigrations.empty() ? 0 : kMigrations.back().version;
  MLC_ASSIGN_OR_RETURN(int current, ReadSchemaVersion());
  if (current > newest) {
    return Status::Invalid("database schema version " + std::to_string(current) +
                           " is newer than this mlc supports (" + std::to_string(newest) +
                           "); upgrade mlc or use another store path");
  }
  if (read_only) {
    if (current < newest) {
      return Status::Invalid("database schema version " + std::to_string(current) +
                             " is older than this mlc expects (" + std::to_string(newest) +
                             "); open it once read-write to migrate it");
    }
    schema_version_ = current;
    return Status::Ok();
  }
  for (const Migration& m : kMigrations) {
    if (m.version <= current) continue;
    Status s = Transaction([&](Tx&) -> Status {
      // Another process may have migrated between our read and BEGIN IMMEDIATE: re-check under the lock.
      MLC_RETURN_IF_ERROR(ExecScriptLocked(kSchemaMetaDdl));
      MLC_ASSIGN_OR_RETURN(int now, ReadSchemaVersion());
      if (now >= m.version) return Status::Ok();
      if (now != m.version - 1) {
        return Status::Invalid("schema version " + std::to_string(now) + " cannot be migrated to " +
                               std::to_string(m.version));
      }
      MLC_RETURN_IF_ERROR(ExecScriptLocked(m.sql));
      return ExecLocked(
          "INSERT INTO schema_meta (key, value) VALUES ('schema_version', $1) "
          "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
          {std::to_string(m.version)}, nullptr);
    });
    if (!s.ok()) return s.Wrap("store: migration " + std::to_string(m.version) + " (" + m.name + ")");
    current = m.version;
  }
  MLC_ASSIGN_OR_RETURN(schema_version_, ReadSchemaVersion());
  return Status::Ok();
}

}  // namespace mlc::store
