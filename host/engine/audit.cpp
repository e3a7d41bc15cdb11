// Audit rows: append (redacted, time-ordered ids), timelines, range exports, and per-thread request capture.
#include "engine/audit.hpp"

#include <openssl/rand.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <mutex>

#include "core/redact.hpp"
#include "engine/ids.hpp"
#include "mlc/json.hpp"

namespace mlc::engine {
namespace {

constexpr const char* kAuditColumns =
    "id, at_ms, pipeline, job_id, source_id, step, actor, outcome, detail, request_method, request_path, "
    "request_status, request_latency_ms";

std::string ProcessTag() {
  unsigned char b[4] = {0, 0, 0, 0};
  if (RAND_bytes(b, sizeof b) != 1) {
    const auto t = static_cast<uint64_t>(SystemNowMs());
    for (size_t i = 0; i < sizeof b; ++i) b[i] = static_cast<unsigned char>(t >> (8 * i));
  }
  char out[9];
  std::snprintf(out, sizeof out, "%02x%02x%02x%02x", b[0], b[1], b[2], b[3]);
  return out;
}

// Ids sort by time, then by order of append within this process.
std::string NextId(int64_t* at_ms) {
  static const std::string tag = ProcessTag();
  static std::mutex mu;
  static int64_t last_ms = 0;
  static uint64_t counter = 0;
  std::lock_guard lock(mu);
  if (*at_ms < last_ms) *at_ms = last_ms;  // the wall clock stepped back: keep the timeline ordered
  last_ms = *at_ms;
  ++counter;
  char buf[64];
  std::snprintf(buf, sizeof buf, "%013lld-%s-%010llu", static_cast<long long>(*at_ms), tag.c_str(),
                static_cast<unsigned long long>(counter));
  return buf;
}

store::Value OptText(const std::string& s) {
  if (s.empty()) return nullptr;
  return s;
}

AuditRow RowFrom(const store::Row& r) {
  AuditRow a;
  a.id = r.Text(0);
  a.at_ms = r.Int(1);
  a.pipeline = r.Text(2);
  a.job_id = r.Text(3);
  a.source_id = r.Text(4);
  a.step = r.Text(5);
  a.actor = r.Text(6);
  a.outcome = r.Text(7);
  a.detail = r.Text(8, "{}");
  a.request_method = r.Text(9);
  a.request_path = r.Text(10);
  a.request_status = r.IsNull(11) ? 0 : r.Int(11);
  a.request_latency_ms = r.IsNull(12) ? -1 : r.Int(12);
  return a;
}

Result<std::vector<AuditRow>> Rows(store::Executor& db, const std::string& sql, const store::Params& params) {
  MLC_ASSIGN_OR_RETURN(auto rows, db.Query(sql, params));
  std::vector<AuditRow> out;
  out.reserve(rows.size());
  for (const auto& r : rows) out.push_back(RowFrom(r));
  return out;
}

bool IsHex(std::string_view s) {
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

std::string CsvField(std::string_view v) {
  const bool quote = v.find_first_of(",\"\r\n") != std::string_view::npos;
  if (!quote) return std::string(v);
  std::string out = "\"";
  for (char c : v) {
    if (c == '"') out.push_back('"');
    out.push_back(c);
  }
  out.push_back('"');
  return out;
}

thread_local RequestCapture* tls_capture = nullptr;

}  // namespace

std::string_view StepName(Step s) {
  switch (s) {
    case Step::kArrived:
      return "arrived";
    case Step::kMapped:
      return "mapped";
    case Step::kMatched:
      return "matched";
    case Step::kWritten:
      return "written";
    case Step::kAcked:
      return "acked";
    case Step::kFailed:
      return "failed";
    case Step::kReplayed:
      return "replayed";
    case Step::kResolved:
      return "resolved";
    case Step::kReview:
      return "review";
    case Step::kDead:
      return "dead";
    case Step::kUncertain:
      return "uncertain";
    case Step::kReconciled:
      return "reconciled";
  }
  return "failed";
}

std::string_view ActorName(Actor a) {
  switch (a) {
    case Actor::kScheduler:
      return "scheduler";
    case Actor::kWebhook:
      return "webhook";
    case Actor::kOperator:
      return "operator";
    case Actor::kWorker:
      return "worker";
  }
  return "worker";
}

Status AppendAudit(store::Executor& db, const AuditEntry& e, int64_t at_ms) {
  const std::string id = NextId(&at_ms);
  const std::string detail = redact::RedactText(e.detail.is_null() ? "{}" : e.detail.dump());
  store::Params params = {id,
                          at_ms,
                          e.pipeline,
                          OptText(e.job_id),
                          OptText(e.source_id),
                          std::string(StepName(e.step)),
                          std::string(ActorName(e.actor)),
                          redact::RedactText(e.outcome),
                          detail};
  if (e.request) {
    params.push_back(e.request->method);
    params.push_back(redact::RedactText(e.request->path));
    // Two statements rather than a ternary of temporaries: GCC 12 at -O2 misreports the latter as
    // maybe-uninitialized inside std::variant.
    if (e.request->status > 0) {
      params.emplace_back(int64_t{e.request->status});
    } else {
      params.emplace_back(nullptr);
    }
    params.push_back(e.request->latency_ms);
  } else {
    params.insert(params.end(), {nullptr, nullptr, nullptr, nullptr});
  }
  return db.Exec(std::string("INSERT INTO audit (") + kAuditColumns +
                     ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
                 params);
}

Result<std::vector<AuditRow>> AuditTimeline(store::Executor& db, std::string_view key) {
  if (key.empty()) return Status::Invalid("give a job id or a source record id");
  const std::string k(key);
  const std::string select = std::string("SELECT ") + kAuditColumns + " FROM audit ";
  if (k.size() == 64 && IsHex(k)) {
    MLC_ASSIGN_OR_RETURN(auto rows, Rows(db, select + "WHERE job_id = $1 ORDER BY at_ms, id", {k}));
    if (!rows.empty()) return rows;
  } else if (k.size() >= 8 && k.size() < 64 && IsHex(k)) {
    // A prefix of a job id, as `mlc sync` and `mlc audit` print them.
    const std::string upper = k + "g";  // every hex continuation of k sorts below k + 'g'
    MLC_ASSIGN_OR_RETURN(
        auto ids, db.Query("SELECT id FROM jobs WHERE id >= $1 AND id < $2 ORDER BY id LIMIT 2", {k, upper}));
    if (ids.size() > 1) return Status::Invalid("job id prefix '" + k + "' is ambiguous; give more digits");
    if (ids.size() == 1) {
      MLC_ASSIGN_OR_RETURN(auto rows,
                           Rows(db, select + "WHERE job_id = $1 ORDER BY at_ms, id", {ids.front().Text(0)}));
      if (!rows.empty()) return rows;
    }
  }
  MLC_ASSIGN_OR_RETURN(auto rows, Rows(db, select + "WHERE source_id = $1 ORDER BY at_ms, id", {k}));
  if (rows.empty()) return Status::NotFound("no audit rows for job or source record '" + k + "'");
  return rows;
}

Result<std::vector<AuditRow>> AuditRange(store::Executor& db, std::string_view pipeline, int64_t from_ms,
                                         int64_t to_ms) {
  return Rows(db,
              std::string("SELECT ") + kAuditColumns +
                  " FROM audit WHERE pipeline = $1 AND at_ms >= $2 AND at_ms < $3 ORDER BY at_ms, id",
              {std::string(pipeline), from_ms, to_ms});
}

std::string AuditCsv(const std::vector<AuditRow>& rows) {
  std::string out =
      "id,at,pipeline,job_id,source_id,step,actor,outcome,detail,request_method,request_path,request_status,"
      "request_latency_ms\r\n";
  for (const auto& r : rows) {
    const std::string fields[] = {r.id,
                                  FormatInstantMs(r.at_ms),
                                  r.pipeline,
                                  r.job_id,
                                  r.source_id,
                                  r.step,
                                  r.actor,
                                  r.outcome,
                                  r.detail,
                                  r.request_method,
                                  r.request_path,
                                  r.request_status > 0 ? std::to_string(r.request_status) : "",
                                  r.request_latency_ms >= 0 ? std::to_string(r.request_latency_ms) : ""};
    bool first = true;
    for (const auto& f : fields) {
      if (!first) out.push_back(',');
      first = false;
      out += CsvField(f);
    }
    out += "\r\n";
  }
  return out;
}

nlohmann::json AuditJson(const std::vector<AuditRow>& rows) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& r : rows) {
    auto detail = json::Parse(r.detail);
    nlohmann::json row = {{"id", r.id},
                          {"at", FormatInstantMs(r.at_ms)},
                          {"at_ms", r.at_ms},
                          {"pipeline", r.pipeline},
                          {"job_id", r.job_id.empty() ? nlohmann::json() : nlohmann::json(r.job_id)},
                          {"source_id", r.source_id.empty() ? nlohmann::json() : nlohmann::json(r.source_id)},
                          {"step", r.step},
                          {"actor", r.actor},
                          {"outcome", r.outcome},
                          {"detail", detail.ok() ? *detail : nlohmann::json(r.detail)}};
    if (!r.request_method.empty()) {
      row["request"] = {
          {"method", r.request_method},
          {"path", r.request_path},
          {"status", r.request_status > 0 ? nlohmann::json(r.request_status) : nlohmann::json()},
          {"latency_ms", r.request_latency_ms}};
    }
    out.push_back(std::move(row));
  }
  return out;
}

std::string UrlPath(std::string_view url) {
  size_t start = 0;
  if (const size_t scheme = url.find("://"); scheme != std::string_view::npos) {
    start = url.find('/', scheme + 3);
    if (start == std::string_view::npos) return "/";
  }
  const size_t end = url.find_first_of("?#", start);
  std::string_view path = url.substr(start, end == std::string_view::npos ? url.size() - start : end - start);
  return path.empty() ? "/" : std::string(path);
}

RequestCapture::RequestCapture() : outer_(tls_capture) { tls_capture = this; }
RequestCapture::~RequestCapture() { tls_capture = outer_; }

std::optional<RequestNote> RequestCapture::Take() {
  std::optional<RequestNote> out = std::move(last_);
  last_.reset();
  return out;
}

void NoteRequest(RequestNote note) {
  if (tls_capture != nullptr) tls_capture->last_ = std::move(note);
}

}  // namespace mlc::engine
