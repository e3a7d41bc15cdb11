// Reads of jobs, links and cursors (see jobs.hpp).
#include "engine/jobs.hpp"

#include <algorithm>

#include "mlc/json.hpp"

namespace mlc::engine {
namespace {

std::optional<int64_t> OptInt(const store::Row& r, size_t i) {
  if (r.IsNull(i)) return std::nullopt;
  return r.Int(i);
}

bool IsLowerHex(std::string_view s) {
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

}  // namespace

const char* const kJobColumns =
    "id, pipeline, object_type, source_id, source_version, state, attempts, next_run_at, lease_owner, "
    "lease_until, idempotency_key, target_id, write_started_at, written_at, acked_at, last_error, "
    "review_kind, "
    "review_detail, created_at, updated_at";

std::string_view JobStateName(JobState s) {
  switch (s) {
    case JobState::kPending:
      return "pending";
    case JobState::kRunning:
      return "running";
    case JobState::kSucceeded:
      return "succeeded";
    case JobState::kReview:
      return "review";
    case JobState::kDead:
      return "dead";
    case JobState::kUncertain:
      return "uncertain";
  }
  return "pending";
}

std::optional<JobState> JobStateFromName(std::string_view name) {
  for (JobState s : {JobState::kPending, JobState::kRunning, JobState::kSucceeded, JobState::kReview,
                     JobState::kDead, JobState::kUncertain}) {
    if (JobStateName(s) == name) return s;
  }
  return std::nullopt;
}

Job JobFromRow(const store::Row& r) {
  Job j;
  j.id = r.Text(0);
  j.pipeline = r.Text(1);
  j.object_type = r.Text(2);
  j.source_id = r.Text(3);
  j.source_version = r.Text(4);
  j.state = JobStateFromName(r.Text(5)).value_or(JobState::kPending);
  j.attempts = r.Int(6);
  j.next_run_at = r.Int(7);
  j.lease_owner = r.Text(8);
  j.lease_until = r.Int(9);
  j.idempotency_key = r.Text(10);
  j.target_id = r.Text(11);
  j.write_started_at = OptInt(r, 12);
  j.written_at = OptInt(r, 13);
  j.acked_at = OptInt(r, 14);
  j.last_error = r.Text(15);
  j.review_kind = r.Text(16);
  j.review_detail = r.Text(17);
  j.created_at = r.Int(18);
  j.updated_at = r.Int(19);
  return j;
}

nlohmann::json Job::ToJson() const {
  auto opt = [](const std::optional<int64_t>& v) { return v ? nlohmann::json(*v) : nlohmann::json(); };
  auto text = [](const std::string& s) { return s.empty() ? nlohmann::json() : nlohmann::json(s); };
  return {{"id", id},
          {"pipeline", pipeline},
          {"object_type", object_type},
          {"source_id", source_id},
          {"source_version", source_version},
          {"state", JobStateName(state)},
          {"attempts", attempts},
          {"next_run_at", next_run_at},
          {"idempotency_key", idempotency_key},
          {"target_id", text(target_id)},
          {"written_at", opt(written_at)},
          {"acked_at", opt(acked_at)},
          {"last_error", text(last_error)},
          {"review_kind", text(review_kind)},
          {"review_detail", text(review_detail)},
          {"created_at", created_at},
          {"updated_at", updated_at}};
}

Result<std::optional<Job>> LoadJob(store::Executor& db, std::string_view id) {
  MLC_ASSIGN_OR_RETURN(
      auto row,
      db.QueryOne(std::string("SELECT ") + kJobColumns + " FROM jobs WHERE id = $1", {std::string(id)}));
  if (!row) return std::optional<Job>();
  return std::optional<Job>(JobFromRow(*row));
}

Result<Job> FindJob(store::Executor& db, std::string_view key) {
  const std::string k(key);
  if (k.size() < 8 || k.size() > 64 || !IsLowerHex(k)) {
    return Status::Invalid("'" + k.substr(0, 80) + "' is not a job id (8 to 64 lower-case hex digits)");
  }
  MLC_ASSIGN_OR_RETURN(auto rows, db.Query(std::string("SELECT ") + kJobColumns +
                                               " FROM jobs WHERE id >= $1 AND id < $2 ORDER BY id LIMIT 2",
                                           {k, k + "g"}));
  if (rows.empty()) return Status::NotFound("no job " + k);
  if (rows.size() > 1) return Status::Invalid("job id prefix " + k + " is ambiguous; give more digits");
  return JobFromRow(rows.front());
}

Result<std::vector<Job>> ListJobs(store::Executor& db, std::string_view pipeline, JobState state,
                                  int64_t since_ms, int64_t limit) {
  MLC_ASSIGN_OR_RETURN(auto rows,
                       db.Query(std::string("SELECT ") + kJobColumns +
                                    " FROM jobs WHERE pipeline = $1 AND state = $2 AND updated_at >= $3 "
                                    "ORDER BY created_at, id LIMIT $4",
                                {std::string(pipeline), std::string(JobStateName(state)), since_ms, limit}));
  std::vector<Job> out;
  out.reserve(rows.size());
  for (const auto& r : rows) out.push_back(JobFromRow(r));
  return out;
}

Result<std::vector<std::pair<std::string, int64_t>>> CountJobsByState(store::Executor& db,
                                                                      std::string_view pipeline) {
  MLC_ASSIGN_OR_RETURN(auto rows,
                       db.Query("SELECT state, COUNT(*) FROM jobs WHERE pipeline = $1 GROUP BY state "
                                "ORDER BY state",
                                {std::string(pipeline)}));
  std::vector<std::pair<std::string, int64_t>> out;
  for (const auto& r : rows) out.emplace_back(r.Text(0), r.Int(1));
  return out;
}

Result<std::optional<std::string>> LoadPayload(store::Executor& db, const Job& job) {
  MLC_ASSIGN_OR_RETURN(auto row,
                       db.QueryOne("SELECT payload FROM inbox WHERE pipeline = $1 AND object_type = $2 "
                                   "AND source_id = $3 AND source_version = $4",
                                   {job.pipeline, job.object_type, job.source_id, job.source_version}));
  if (!row) return std::optional<std::string>();
  return row->OptText(0);
}

Result<std::optional<Link>> FindLink(store::Executor& db, std::string_view pipeline,
                                     std::string_view object_type, std::string_view source_id,
                                     std::string_view target_connection) {
  MLC_ASSIGN_OR_RETURN(auto row, db.QueryOne("SELECT target_id, job_id, source_version FROM links WHERE "
                                             "pipeline = $1 AND object_type = $2 AND source_id = $3 AND "
                                             "target_connection = $4",
                                             {std::string(pipeline), std::string(object_type),
                                              std::string(source_id), std::string(target_connection)}));
  if (!row) return std::optional<Link>();
  return std::optional<Link>(Link{row->Text(0), row->Text(1), row->Text(2)});
}

Result<CursorState> LoadCursor(store::Executor& db, std::string_view pipeline, std::string_view stream) {
  MLC_ASSIGN_OR_RETURN(auto row,
                       db.QueryOne("SELECT cursor, history, updated_at FROM cursors WHERE pipeline = $1 AND "
                                   "stream = $2",
                                   {std::string(pipeline), std::string(stream)}));
  CursorState cs;
  if (!row) return cs;
  if (auto c = row->OptText(0)) cs.cursor = *c;
  auto history = json::Parse(row->Text(1, "[]"));
  if (history.ok() && history->is_array()) cs.history = std::move(*history);
  cs.updated_at = row->Int(2);
  return cs;
}

Status SaveCursor(store::Executor& db, std::string_view pipeline, std::string_view stream,
                  const CursorState& state, int64_t now_ms) {
  store::Value cursor = nullptr;
  if (state.cursor.is_string()) cursor = state.cursor.get<std::string>();
  return db.Exec(
      "INSERT INTO cursors (pipeline, stream, cursor, history, updated_at) VALUES ($1, $2, $3, $4, $5) "
      "ON CONFLICT (pipeline, stream) DO UPDATE SET cursor = excluded.cursor, history = excluded.history, "
      "updated_at = excluded.updated_at",
      {std::string(pipeline), std::string(stream), cursor,
       state.history.is_array() ? state.history.dump() : std::string("[]"), now_ms});
}

}  // namespace mlc::engine
