// connections_state, alerts and the auth metadata in kv_state.
#include "auth/auth_state.hpp"

#include <charconv>
#include <ctime>

#include "core/redact.hpp"
#include "store/kv.hpp"

namespace mlc::auth {

std::string AuthScope(std::string_view connection) { return "auth:" + std::string(connection); }
std::string PluginScope(std::string_view connection) { return "conn:" + std::string(connection); }

std::optional<int64_t> ParseInt64(std::string_view text) {
  int64_t v = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || ec != std::errc() || ptr != text.data() + text.size()) return std::nullopt;
  return v;
}

Status SetConnectionStatus(store::Executor& db, std::string_view connection, std::string_view status,
                           std::string_view message, int64_t now_ms) {
  if (status != "ok" && status != "needs_reauth" && status != "error") {
    return Status::Invalid("connection status must be ok, needs_reauth or error");
  }
  return db.Exec(
      "INSERT INTO connections_state (connection, status, message, updated_at) VALUES ($1, $2, $3, $4) "
      "ON CONFLICT (connection) DO UPDATE SET status = excluded.status, message = excluded.message, "
      "updated_at = excluded.updated_at",
      {std::string(connection), std::string(status), redact::RedactText(message), now_ms});
}

Result<std::optional<ConnectionStatus>> GetConnectionStatus(store::Executor& db,
                                                            std::string_view connection) {
  MLC_ASSIGN_OR_RETURN(auto row, db.QueryOne("SELECT status, message, updated_at FROM connections_state "
                                             "WHERE connection = $1",
                                             {std::string(connection)}));
  if (!row) return std::optional<ConnectionStatus>();
  return std::optional<ConnectionStatus>(ConnectionStatus{row->Text(0), row->Text(1), row->Int(2)});
}

Status RaiseAlert(store::Executor& db, const Alert& alert, int64_t now_ms) {
  if (alert.severity != "info" && alert.severity != "warning" && alert.severity != "critical") {
    return Status::Invalid("alert severity must be info, warning or critical");
  }
  // A reopened alert counts from now; an open one keeps its creation time.
  return db.Exec(
      "INSERT INTO alerts (connection, kind, severity, message, created_at, updated_at, resolved_at) "
      "VALUES ($1, $2, $3, $4, $5, $5, NULL) ON CONFLICT (connection, kind) DO UPDATE SET "
      "severity = excluded.severity, message = excluded.message, updated_at = excluded.updated_at, "
      "created_at = CASE WHEN alerts.resolved_at IS NULL THEN alerts.created_at ELSE excluded.created_at "
      "END, "
      "resolved_at = NULL",
      {alert.connection, alert.kind, alert.severity, redact::RedactText(alert.message), now_ms});
}

Status ResolveAlert(store::Executor& db, std::string_view connection, std::string_view kind, int64_t now_ms) {
  return db.Exec(
      "UPDATE alerts SET resolved_at = $1, updated_at = $1 WHERE connection = $2 AND kind = $3 AND "
      "resolved_at IS NULL",
      {now_ms, std::string(connection), std::string(kind)});
}

Result<std::vector<Alert>> OpenAlerts(store::Executor& db, std::string_view connection) {
  std::vector<store::Row> rows;
  if (connection.empty()) {
    MLC_ASSIGN_OR_RETURN(rows, db.Query("SELECT connection, kind, severity, message, created_at, updated_at "
                                        "FROM alerts WHERE resolved_at IS NULL "
                                        "ORDER BY created_at, connection, kind"));
  } else {
    MLC_ASSIGN_OR_RETURN(rows, db.Query("SELECT connection, kind, severity, message, created_at, updated_at "
                                        "FROM alerts WHERE resolved_at IS NULL AND connection = $1 "
                                        "ORDER BY created_at, kind",
                                        {std::string(connection)}));
  }
  std::vector<Alert> out;
  out.reserve(rows.size());
  for (const auto& r : rows) out.push_back({r.Text(0), r.Text(1), r.Text(2), r.Text(3), r.Int(4), r.Int(5)});
  return out;
}

Result<AuthSnapshot> ReadAuthSnapshot(store::Executor& db, std::string_view connection) {
  AuthSnapshot snap;
  MLC_ASSIGN_OR_RETURN(snap.status, GetConnectionStatus(db, connection));
  const std::string scope = AuthScope(connection);
  MLC_ASSIGN_OR_RETURN(auto expires, store::KvGet(db, scope, keys::kExpiresAt));
  if (expires) snap.access_expires_at_ms = ParseInt64(*expires);
  if (snap.access_expires_at_ms && *snap.access_expires_at_ms <= 0) snap.access_expires_at_ms.reset();
  MLC_ASSIGN_OR_RETURN(auto last_used, store::KvGet(db, scope, keys::kLastUsed));
  if (last_used) snap.last_used_ms = ParseInt64(*last_used);
  MLC_ASSIGN_OR_RETURN(snap.base_url, store::KvGet(db, scope, keys::kBaseUrl));
  MLC_ASSIGN_OR_RETURN(snap.alerts, OpenAlerts(db, connection));
  return snap;
}

std::string FormatUtc(int64_t ms) {
  const std::time_t secs = static_cast<std::time_t>(ms >= 0 ? ms / 1000 : (ms - 999) / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

}  // namespace mlc::auth
