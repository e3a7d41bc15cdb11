// The audit trail: one append-only row per step of a record's life (arrived, mapped, written, acked, ...),
// who did it, the outcome, redacted detail and a summary of the plugin's HTTP request — and the queries
// behind `mlc audit` (a job's or a source record's timeline, a pipeline's rows in a time range as CSV or
// JSON).
//
//   MLC_RETURN_IF_ERROR(AppendAudit(tx, {.pipeline = "p", .job_id = id, .source_id = "exp_1",
//                                        .step = Step::kWritten, .actor = Actor::kWorker,
//                                        .outcome = "ok", .detail = {{"target_id", "INV-9"}}}, now_ms));
//
// Rows are written inside the caller's transaction (pass the Tx), so a state change and its audit row
// commit together. Detail, outcome and request paths pass through redact::RedactText before they are
// stored; request summaries never carry headers, bodies or query strings.
//
// Request capture: a plugin's HTTP requests are made by the host (runtime::ConnectionContext) on the thread
// that called into the plugin. A RequestCapture on that thread collects their summaries (NoteRequest is
// the runtime's audit hook target), so the engine can attach the last request of a step to its audit row.
//
// Thread safety: functions are safe from any thread (as the Executor is). RequestCapture is per thread.
#ifndef MLC_HOST_ENGINE_AUDIT_HPP_
#define MLC_HOST_ENGINE_AUDIT_HPP_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "mlc/status.hpp"
#include "store/store.hpp"

namespace mlc::engine {

enum class Step {
  kArrived,
  kMapped,
  kMatched,
  kWritten,
  kAcked,
  kFailed,
  kReplayed,
  kResolved,
  kReview,
  kDead,
  kUncertain,
  kReconciled,
};
enum class Actor { kScheduler, kWebhook, kOperator, kWorker };

std::string_view StepName(Step s);
std::string_view ActorName(Actor a);

// What the audit trail keeps of one HTTP request a plugin made.
struct RequestNote {
  std::string method;
  std::string path;  // path only: no scheme, host, query or fragment
  int status = 0;    // 0 when no response arrived
  int64_t latency_ms = 0;
};

struct AuditEntry {
  std::string pipeline;
  std::string job_id;     // empty for pipeline-level rows
  std::string source_id;  // empty when unknown
  Step step = Step::kArrived;
  Actor actor = Actor::kWorker;
  std::string outcome;  // short word or phrase: "ok", "retry", "found", "skipped: ..."
  nlohmann::json detail = nlohmann::json::object();
  std::optional<RequestNote> request;
};

// Appends one row at `at_ms` (made monotonic within this process so a timeline never goes backwards).
Status AppendAudit(store::Executor& db, const AuditEntry& entry, int64_t at_ms);

// A stored row.
struct AuditRow {
  std::string id;
  int64_t at_ms = 0;
  std::string pipeline;
  std::string job_id;
  std::string source_id;
  std::string step;
  std::string actor;
  std::string outcome;
  std::string detail;  // JSON text
  std::string request_method;
  std::string request_path;
  int64_t request_status = 0;       // 0: none
  int64_t request_latency_ms = -1;  // -1: none
};

// The timeline of a job (by full id, or a unique prefix of at least 8 hex digits) or of every job of a
// source record id, oldest first. NotFound when nothing matches; Invalid for an ambiguous prefix.
Result<std::vector<AuditRow>> AuditTimeline(store::Executor& db, std::string_view job_or_source_id);

// A pipeline's rows with from_ms <= at_ms < to_ms, oldest first.
Result<std::vector<AuditRow>> AuditRange(store::Executor& db, std::string_view pipeline, int64_t from_ms,
                                         int64_t to_ms);

// Renderings for `mlc audit`: CSV (RFC 4180, header line first) and JSON (an array of objects whose
// detail is parsed JSON).
std::string AuditCsv(const std::vector<AuditRow>& rows);
nlohmann::json AuditJson(const std::vector<AuditRow>& rows);

// The path of a URL ("https://api.x.com/v1/bills?x=1" -> "/v1/bills").
std::string UrlPath(std::string_view url);

// Collects the HTTP requests made on this thread while it lives (nested captures: the innermost wins).
class RequestCapture {
 public:
  RequestCapture();
  ~RequestCapture();
  RequestCapture(const RequestCapture&) = delete;
  RequestCapture& operator=(const RequestCapture&) = delete;

  // The most recent request noted since construction or the last Take(), and forgets it.
  std::optional<RequestNote> Take();

 private:
  friend void NoteRequest(RequestNote note);
  RequestCapture* outer_;
  std::optional<RequestNote> last_;
};

// Records a request for the innermost RequestCapture of the calling thread (no-op without one).
void NoteRequest(RequestNote note);

}  // namespace mlc::engine

#endif  // MLC_HOST_ENGINE_AUDIT_HPP_
