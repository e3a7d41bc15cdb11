// The engine's tables as C++ rows: jobs (and their states), links and cursors, with the reads the engine,
// `mlc sync`, `mlc replay` and `mlc audit` share. State changes themselves live in engine.cpp, next to the
// audit rows they commit with.
//
// Thread safety: functions are safe from any thread (as the Executor is).
#ifndef MLC_HOST_ENGINE_JOBS_HPP_
#define MLC_HOST_ENGINE_JOBS_HPP_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "mlc/status.hpp"
#include "store/store.hpp"

namespace mlc::engine {

// pending: waiting to run (next_run_at); running: leased by a worker; succeeded: written and acknowledged
// (or skipped); review: needs a person (reason in review_kind/review_detail); dead: out of retries or a
// permanent error; uncertain: a write may have landed and must be reconciled (lookup) before anything else.
enum class JobState { kPending, kRunning, kSucceeded, kReview, kDead, kUncertain };

std::string_view JobStateName(JobState s);
std::optional<JobState> JobStateFromName(std::string_view name);

struct Job {
  std::string id;
  std::string pipeline;
  std::string object_type;
  std::string source_id;
  std::string source_version;
  JobState state = JobState::kPending;
  int64_t attempts = 0;
  int64_t next_run_at = 0;
  std::string lease_owner;
  int64_t lease_until = 0;
  std::string idempotency_key;
  std::string target_id;                    // empty until written
  std::optional<int64_t> write_started_at;  // set while a write may be in flight or unreconciled
  std::optional<int64_t> written_at;
  std::optional<int64_t> acked_at;
  std::string last_error;
  std::string review_kind;
  std::string review_detail;
  int64_t created_at = 0;
  int64_t updated_at = 0;

  nlohmann::json ToJson() const;
};

// The column list LoadJob/ListJobs select, in Job's order (for callers writing their own WHERE).
extern const char* const kJobColumns;
Job JobFromRow(const store::Row& row);

Result<std::optional<Job>> LoadJob(store::Executor& db, std::string_view id);
// A job by full id or a unique prefix of at least 8 hex digits. NotFound / Invalid (ambiguous).
Result<Job> FindJob(store::Executor& db, std::string_view id_or_prefix);

// Jobs of `pipeline` in `state` whose updated_at >= since_ms, oldest first (at most `limit`).
Result<std::vector<Job>> ListJobs(store::Executor& db, std::string_view pipeline, JobState state,
                                  int64_t since_ms = 0, int64_t limit = 100000);

// How many jobs of the pipeline are in each state.
Result<std::vector<std::pair<std::string, int64_t>>> CountJobsByState(store::Executor& db,
                                                                      std::string_view pipeline);

// The stored canonical object of a job's inbox record (JSON text), or nullopt.
Result<std::optional<std::string>> LoadPayload(store::Executor& db, const Job& job);

struct Link {
  std::string target_id;
  std::string job_id;
  std::string source_version;
};
Result<std::optional<Link>> FindLink(store::Executor& db, std::string_view pipeline,
                                     std::string_view object_type, std::string_view source_id,
                                     std::string_view target_connection);

struct CursorState {
  nlohmann::json cursor;                             // string, or null before the first page
  nlohmann::json history = nlohmann::json::array();  // start cursors of the last pages, oldest first
  int64_t updated_at = 0;                            // 0: never saved
};
Result<CursorState> LoadCursor(store::Executor& db, std::string_view pipeline, std::string_view stream);
Status SaveCursor(store::Executor& db, std::string_view pipeline, std::string_view stream,
                  const CursorState& state, int64_t now_ms);

}  // namespace mlc::engine

#endif  // MLC_HOST_ENGINE_JOBS_HPP_
