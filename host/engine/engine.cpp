// The sync engine (see engine.hpp): arrival, leasing, the per-job step machine, failure handling, replay
// and dry run.
#include "engine/engine.hpp"

#include <algorithm>
#include <deque>
#include <set>
#include <string>
#include <tuple>
#include <utility>

#include "core/log.hpp"
#include "core/redact.hpp"
#include "engine/ids.hpp"
#include "http/http_client.hpp"
#include "mlc/json.hpp"

namespace mlc::engine {

using nlohmann::json;

namespace {

constexpr const char* kDueCondition =
    "((state IN ('pending', 'uncertain') AND next_run_at <= $2) OR (state = 'running' AND lease_until < $2))";

// A job whose previous attempt may have written without recording it.
bool WriteUnsettled(const Job& j) { return j.write_started_at.has_value() && !j.written_at.has_value(); }

bool HasOp(loader::PluginInstance& inst, std::string_view op) {
  const mlc_plugin_api* api = inst.plugin().api;
  if (api == nullptr) return false;
  if (op == "lookup") return MLC_TABLE_HAS(api, mlc_plugin_api, lookup) && api->lookup != nullptr;
  if (op == "ack") return MLC_TABLE_HAS(api, mlc_plugin_api, ack) && api->ack != nullptr;
  return false;
}

std::string Redacted(const Status& s) { return redact::RedactText(s.ToString()); }

// Reads an integer engine option; absent -> fallback.
Result<int64_t> IntOption(const json& options, const char* key, int64_t fallback, int64_t min, int64_t max) {
  if (!options.is_object()) return fallback;
  auto it = options.find(key);
  if (it == options.end()) return fallback;
  if (!it->is_number_integer() && !it->is_number_unsigned()) {
    return Status::Invalid(std::string("option '") + key + "' must be an integer");
  }
  const int64_t v = it->get<int64_t>();
  if (v < min || v > max) {
    return Status::Invalid(std::string("option '") + key + "' must be between " + std::to_string(min) +
                           " and " + std::to_string(max));
  }
  return v;
}

// What identifies one version of one source record.
struct RecordKey {
  std::string source_id;
  std::string version;
  std::string problem;  // non-empty: the record cannot be keyed (it is kept under a synthetic id)
};

std::string ScalarText(const json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_number_integer() || v.is_number_unsigned()) return v.dump();
  return std::string();
}

RecordKey KeyOf(const json& record, std::string_view pipeline, std::string_view object_type) {
  RecordKey k;
  const json* source = nullptr;
  if (record.is_object()) {
    auto it = record.find("source");
    if (it != record.end() && it->is_object()) source = &*it;
  }
  if (source != nullptr) {
    if (auto id = source->find("id"); id != source->end()) k.source_id = ScalarText(*id);
    if (auto v = source->find("version"); v != source->end()) k.version = ScalarText(*v);
    // Without a version, the record's update time tells versions apart.
    if (k.version.empty()) {
      if (auto u = source->find("updated_at"); u != source->end()) k.version = ScalarText(*u);
    }
  }
  if (!record.is_object()) {
    k.problem = "record is not a JSON object";
  } else if (source == nullptr) {
    k.problem = "record has no source object";
  } else if (k.source_id.empty()) {
    k.problem = "record has no source.id";
  } else if (k.source_id.size() > 512) {
    k.problem = "record's source.id is longer than 512 characters";
  }
  if (!k.problem.empty()) {
    // Keep it (nothing is lost) under an id derived from its content, and let a person look.
    k.source_id = "invalid-" + JobId(pipeline, object_type, record.dump(), "").substr(0, 24);
    k.version = "0";
  }
  return k;
}

}  // namespace

// ---- small pieces ----------------------------------------------------------------------------------------

std::string_view DispositionName(Disposition d) {
  switch (d) {
    case Disposition::kSucceeded:
      return "succeeded";
    case Disposition::kReview:
      return "review";
    case Disposition::kDead:
      return "dead";
    case Disposition::kUncertain:
      return "uncertain";
    case Disposition::kRetrying:
      return "retrying";
    case Disposition::kWaitingAuth:
      return "waiting_auth";
    case Disposition::kLost:
      return "lost";
    case Disposition::kAckQueued:
      return "ack_queued";
  }
  return "lost";
}

PipelineSpec PipelineSpec::FromConfig(const config::Pipeline& p) {
  PipelineSpec s;
  s.name = p.name;
  s.source = p.source;
  s.target = p.target;
  s.objects = p.objects;
  s.schedule = p.schedule;
  s.enabled = p.enabled;
  s.options = p.options.is_object() ? p.options : json::object();
  return s;
}

json PreviewItem::ToJson() const {
  json j = {{"job_id", job_id}, {"source_id", source_id}, {"source_version", source_version},
            {"state", state},   {"action", action},       {"reason", reason.empty() ? json() : json(reason)}};
  if (!write.is_null()) j["write"] = write;
  if (!ack.is_null()) j["ack"] = ack;
  return j;
}

json DryRunReport::ToJson() const {
  json items_json = json::array();
  for (const auto& i : items) items_json.push_back(i.ToJson());
  return {{"polled",
           {{"pages", polled.pages},
            {"records", polled.records},
            {"arrived", polled.arrived},
            {"duplicates", polled.duplicates},
            {"invalid", polled.invalid}}},
          {"items", std::move(items_json)}};
}

// Per-connection caps on plugin calls in flight.
class Engine::Gate {
 public:
  Gate(InstanceFactory& factory, int default_cap)
      : factory_(factory), default_cap_(std::max(1, default_cap)) {}

  class Slot {
   public:
    Slot(Gate* g, std::string c) : gate_(g), connection_(std::move(c)) {}
    Slot(Slot&& o) noexcept : gate_(std::exchange(o.gate_, nullptr)), connection_(std::move(o.connection_)) {}
    Slot& operator=(Slot&&) = delete;
    Slot(const Slot&) = delete;
    ~Slot() {
      if (gate_ != nullptr) gate_->Release(connection_);
    }

   private:
    Gate* gate_;
    std::string connection_;
  };

  Slot Acquire(const std::string& connection) {
    std::unique_lock lock(mu_);
    auto cap_it = caps_.find(connection);
    if (cap_it == caps_.end()) {
      const int cap = std::max(1, factory_.Concurrency(connection).value_or(default_cap_));
      cap_it = caps_.emplace(connection, cap).first;
    }
    const int cap = cap_it->second;
    cv_.wait(lock, [&] { return in_use_[connection] < cap; });
    ++in_use_[connection];
    return Slot(this, connection);
  }

 private:
  void Release(const std::string& connection) {
    {
      std::lock_guard lock(mu_);
      --in_use_[connection];
    }
    cv_.notify_all();
  }

  InstanceFactory& factory_;
  const int default_cap_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::string, int> caps_;
  std::map<std::string, int> in_use_;
};

// The plugin instances of one worker thread.
class Engine::Worker {
 public:
  Worker(InstanceFactory& factory, const PipelineSpec& spec) : factory_(factory), spec_(spec) {}
  // Whether this worker's jobs may queue their source ack for a batch (not for replays of chosen jobs, whose
  // caller waits for each outcome).
  bool batch_acks = false;
  Result<loader::PluginInstance*> Source() { return Get(spec_.source, &source_); }
  Result<loader::PluginInstance*> Target() { return Get(spec_.target, &target_); }

 private:
  Result<loader::PluginInstance*> Get(const std::string& connection,
                                      std::unique_ptr<loader::PluginInstance>* slot) {
    if (!*slot) {
      auto opened = factory_.Open(connection);
      if (!opened.ok()) return opened.status().Wrap("connection " + connection);
      *slot = std::move(*opened);
    }
    return slot->get();
  }

  InstanceFactory& factory_;
  const PipelineSpec& spec_;
  std::unique_ptr<loader::PluginInstance> source_;
  std::unique_ptr<loader::PluginInstance> target_;
};

// ---- job state changes
// -------------------------------------------------------------------------------------

namespace {

// Columns to change on a leased job, committed with its audit rows.
struct JobChange {
  std::optional<JobState> state;
  std::optional<int64_t> attempts;
  std::optional<int64_t> next_run_at;
  std::optional<std::string> target_id;
  bool sync_write_started = false;  // write job.write_started_at (set or NULL)
  std::optional<int64_t> written_at;
  std::optional<int64_t> acked_at;
  std::optional<std::string> last_error;  // "" clears
  std::optional<std::pair<std::string, std::string>> review;
  bool release = false;  // drop the lease (the job leaves `running`)
};

struct LinkRow {
  std::string target_connection;
  std::string target_id;
};

}  // namespace

namespace {

// Applies `change` to the job (still leased by `owner`) with its audit rows and optional link, in one
// transaction. Retries a busy store a few times. Error "lease lost" when another worker took the job.
Status CommitJob(store::Store& store, Job& job, const JobChange& change,
                 const std::vector<AuditEntry>& audits, const std::optional<LinkRow>& link,
                 const std::string& owner, int64_t now, int64_t lease_ms) {
  std::string sql = "UPDATE jobs SET updated_at = $1";
  store::Params params = {now};
  auto add = [&](const char* column, store::Value v) {
    params.push_back(std::move(v));
    sql += std::string(", ") + column + " = $" + std::to_string(params.size());
  };
  if (change.state) add("state", std::string(JobStateName(*change.state)));
  if (change.attempts) add("attempts", *change.attempts);
  if (change.next_run_at) add("next_run_at", *change.next_run_at);
  if (change.target_id) add("target_id", *change.target_id);
  if (change.sync_write_started) {
    add("write_started_at",
        job.write_started_at ? store::Value(*job.write_started_at) : store::Value(nullptr));
  }
  if (change.written_at) add("written_at", *change.written_at);
  if (change.acked_at) add("acked_at", *change.acked_at);
  if (change.last_error) {
    add("last_error", change.last_error->empty() ? store::Value(nullptr)
                                                 : store::Value(redact::RedactText(*change.last_error)));
  }
  if (change.review) {
    add("review_kind", change.review->first);
    add("review_detail", redact::RedactText(change.review->second));
  }
  if (change.release) {
    sql += ", lease_owner = NULL, lease_until = NULL";
  } else {
    add("lease_until", now + lease_ms);
  }
  params.push_back(job.id);
  sql += " WHERE id = $" + std::to_string(params.size());
  params.push_back(owner);
  sql += " AND lease_owner = $" + std::to_string(params.size()) + " AND state = 'running'";

  Status s;
  for (int attempt = 0; attempt < 3; ++attempt) {
    s = store.Transaction([&](store::Tx& tx) -> Status {
      int64_t changed = 0;
      MLC_RETURN_IF_ERROR(tx.Exec(sql, params, &changed));
      if (changed != 1) return Status::Error("lease lost: another worker holds job " + job.id.substr(0, 12));
      if (link) {
        MLC_RETURN_IF_ERROR(tx.Exec(
            "INSERT INTO links (pipeline, object_type, source_id, target_connection, target_id, job_id, "
            "source_version, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (pipeline, "
            "object_type, source_id, target_connection) DO NOTHING",
            {job.pipeline, job.object_type, job.source_id, link->target_connection, link->target_id, job.id,
             job.source_version, now}));
      }
      for (const auto& a : audits) MLC_RETURN_IF_ERROR(AppendAudit(tx, a, now));
      return Status::Ok();
    });
    if (s.code() != Code::kRetry) break;
  }
  if (!s.ok()) return s;
  if (change.state) job.state = *change.state;
  if (change.attempts) job.attempts = *change.attempts;
  if (change.next_run_at) job.next_run_at = *change.next_run_at;
  if (change.target_id) job.target_id = *change.target_id;
  if (change.written_at) job.written_at = *change.written_at;
  if (change.acked_at) job.acked_at = *change.acked_at;
  if (change.last_error) job.last_error = *change.last_error;
  if (change.review) {
    job.review_kind = change.review->first;
    job.review_detail = change.review->second;
  }
  job.updated_at = now;
  if (change.release) {
    job.lease_owner.clear();
    job.lease_until = 0;
  } else {
    job.lease_until = now + lease_ms;
  }
  return Status::Ok();
}

}  // namespace

// ---- Engine: setup
// ------------------------------------------------------------------------------------------

Engine::Engine(store::Store& store, InstanceFactory& factory, Resolver& resolver, EngineOptions options)
    : store_(store),
      factory_(factory),
      resolver_(resolver),
      options_(std::move(options)),
      gate_(std::make_unique<Gate>(factory, options_.default_connection_concurrency)) {}

Engine::~Engine() { StopWorkers(); }

int64_t Engine::Now() const { return options_.now_ms ? options_.now_ms() : SystemNowMs(); }

const std::string& Engine::Owner() const {
  return options_.lease_owner.empty() ? ThisLeaseOwner() : options_.lease_owner;
}

Status Engine::AddPipeline(const PipelineSpec& spec) {
  const std::string where = "pipeline " + spec.name;
  if (spec.name.empty()) return Status::Invalid("pipeline name is empty");
  if (pipelines_.count(spec.name)) return Status::Invalid(where + " is already registered");
  if (spec.objects.empty()) return Status::Invalid(where + ": no objects to move");
  auto p = std::make_unique<PipelineState>();
  p->spec = spec;
  const json& o = spec.options;
  auto setting = [&](const char* key, int64_t fallback, int64_t min, int64_t max) -> Result<int64_t> {
    auto r = IntOption(o, key, fallback, min, max);
    if (!r.ok()) return r.status().Wrap(where);
    return r;
  };
  MLC_ASSIGN_OR_RETURN(int64_t workers, setting("workers", options_.workers_per_pipeline, 1, 64));
  MLC_ASSIGN_OR_RETURN(int64_t max_attempts, setting("max_attempts", options_.max_attempts, 1, 1000));
  MLC_ASSIGN_OR_RETURN(int64_t base, setting("retry_base_ms", options_.retry_base.count(), 0, 86400000));
  MLC_ASSIGN_OR_RETURN(int64_t cap, setting("retry_cap_ms", options_.retry_cap.count(), 0, 7 * 86400000LL));
  MLC_ASSIGN_OR_RETURN(int64_t page_size, setting("page_size", options_.page_size, 1, 1000));
  MLC_ASSIGN_OR_RETURN(int64_t overlap_pages, setting("overlap_pages", options_.overlap_pages, 0, 100));
  MLC_ASSIGN_OR_RETURN(int64_t overlap_s, setting("overlap_s", options_.overlap.count(), 0, 30 * 86400));
  MLC_ASSIGN_OR_RETURN(int64_t lease_s, setting("lease_s", options_.lease.count() / 1000, 1, 86400));
  MLC_ASSIGN_OR_RETURN(int64_t ack_batch, setting("ack_batch", 50, 1, 1000));
  MLC_ASSIGN_OR_RETURN(int64_t ack_delay_ms, setting("ack_delay_ms", 200, 0, 60000));
  // A queued ack must be sent well inside the lease, or another worker could take the job meanwhile.
  if (ack_delay_ms * 4 > lease_s * 1000) ack_delay_ms = lease_s * 1000 / 4;
  p->settings = Settings{static_cast<int>(workers),
                         static_cast<int>(max_attempts),
                         std::chrono::milliseconds(base),
                         std::chrono::milliseconds(std::max(base, cap)),
                         std::chrono::milliseconds(lease_s * 1000),
                         static_cast<int>(page_size),
                         static_cast<int>(overlap_pages),
                         std::chrono::seconds(overlap_s),
                         static_cast<int>(ack_batch),
                         std::chrono::milliseconds(ack_delay_ms)};

  MLC_ASSIGN_OR_RETURN(json source_manifest, factory_.Manifest(spec.source));
  MLC_ASSIGN_OR_RETURN(json target_manifest, factory_.Manifest(spec.target));
  const json streams = source_manifest.value("streams", json::array());
  const json writes = target_manifest.value("writes", json::array());
  const json stream_choice = o.is_object() ? o.value("streams", json::object()) : json::object();
  if (!stream_choice.is_object()) return Status::Invalid(where + ": option 'streams' must be a table");
  for (const std::string& object : spec.objects) {
    std::string wanted;
    if (auto it = stream_choice.find(object); it != stream_choice.end()) {
      if (!it->is_string())
        return Status::Invalid(where + ": option streams." + object + " must be a string");
      wanted = it->get<std::string>();
    }
    const json* found = nullptr;
    for (const json& s : streams) {
      if (!s.is_object() || s.value("object", std::string()) != object) continue;
      if (!wanted.empty() && s.value("name", std::string()) != wanted) continue;
      found = &s;
      break;
    }
    if (found == nullptr) {
      return Status::Invalid(where + ": source " + spec.source + " declares no stream" +
                             (wanted.empty() ? "" : " '" + wanted + "'") + " of " + object);
    }
    const json overlap = found->value("overlap", json(true));
    p->streams.push_back(Stream{object, found->value("name", std::string()), found->value("cursor", "opaque"),
                                !overlap.is_boolean() || overlap.get<bool>()});
    std::string idempotency;
    for (const json& w : writes) {
      if (w.is_object() && w.value("object", std::string()) == object)
        idempotency = w.value("idempotency", "none");
    }
    if (idempotency.empty()) {
      return Status::Invalid(where + ": target " + spec.target + " declares no write of " + object);
    }
    p->write_idempotency[object] = idempotency;
  }
  pipelines_[spec.name] = std::move(p);
  return Status::Ok();
}

std::vector<std::string> Engine::pipelines() const {
  std::vector<std::string> out;
  for (const auto& [name, p] : pipelines_) out.push_back(name);
  return out;
}

Result<PipelineSpec> Engine::Pipeline(std::string_view name) const {
  MLC_ASSIGN_OR_RETURN(PipelineState * p, Find(name));
  return p->spec;
}

Result<Engine::PipelineState*> Engine::Find(std::string_view name) const {
  auto it = pipelines_.find(name);
  if (it == pipelines_.end()) return Status::NotFound("no pipeline named '" + std::string(name) + "'");
  return it->second.get();
}

std::string Engine::StreamFor(const PipelineState& p, std::string_view object_type) const {
  for (const auto& s : p.streams) {
    if (s.object_type == object_type) return s.name;
  }
  return std::string(object_type);
}

Result<std::string> Engine::PausedReason(std::string_view pipeline) {
  MLC_ASSIGN_OR_RETURN(PipelineState * p, Find(pipeline));
  MLC_ASSIGN_OR_RETURN(auto rows,
                       store_.Query("SELECT connection, status, message FROM connections_state WHERE "
                                    "connection = $1 OR connection = $2 ORDER BY connection",
                                    {p->spec.source, p->spec.target}));
  for (const auto& r : rows) {
    if (r.Text(1) == "needs_reauth") {
      const std::string msg = r.Text(2);
      return "connection " + r.Text(0) + " needs re-authorisation" + (msg.empty() ? "" : " (" + msg + ")") +
             "; run `mlc connect " + r.Text(0) + "`";
    }
  }
  return std::string();
}

// ---- arrive
// -------------------------------------------------------------------------------------------------

Status Engine::StoreRecords(PipelineState& p, const Stream& stream, const json& records, bool via_webhook,
                            Actor actor, const CursorState* cursor, PollResult* result) {
  if (!records.is_array()) return Status::Invalid("records must be an array");
  const int64_t now = Now();
  PollResult local;
  Status s = store_.Transaction([&](store::Tx& tx) -> Status {
    local = PollResult{};
    for (const json& record : records) {
      ++local.records;
      const RecordKey key = KeyOf(record, p.spec.name, stream.object_type);
      int64_t inserted = 0;
      MLC_RETURN_IF_ERROR(tx.Exec(
          "INSERT INTO inbox (pipeline, object_type, source_id, source_version, payload, received_at, via) "
          "VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (pipeline, object_type, source_id, "
          "source_version) "
          "DO NOTHING",
          {p.spec.name, stream.object_type, key.source_id, key.version, record.dump(), now,
           std::string(via_webhook ? "webhook" : "poll")},
          &inserted));
      if (inserted == 0) {
        ++local.duplicates;
        continue;
      }
      const std::string id = JobId(p.spec.name, stream.object_type, key.source_id, key.version);
      const bool invalid = !key.problem.empty();
      int64_t created = 0;
      MLC_RETURN_IF_ERROR(
          tx.Exec("INSERT INTO jobs (id, pipeline, object_type, source_id, source_version, state, attempts, "
                  "next_run_at, "
                  "idempotency_key, review_kind, review_detail, last_error, created_at, updated_at) VALUES "
                  "($1, $2, $3, "
                  "$4, $5, $6, 0, $7, $8, $9, $10, $11, $7, $7) ON CONFLICT (id) DO NOTHING",
                  {id, p.spec.name, stream.object_type, key.source_id, key.version,
                   std::string(invalid ? "review" : "pending"), now, IdempotencyKey(id),
                   invalid ? store::Value(std::string("invalid_record")) : store::Value(nullptr),
                   invalid ? store::Value(key.problem) : store::Value(nullptr),
                   invalid ? store::Value(key.problem) : store::Value(nullptr)},
                  &created));
      if (created == 0) {
        ++local.duplicates;
        continue;
      }
      ++local.arrived;
      json detail = {
          {"stream", stream.name}, {"version", key.version}, {"via", via_webhook ? "webhook" : "poll"}};
      MLC_RETURN_IF_ERROR(AppendAudit(
          tx, {p.spec.name, id, key.source_id, Step::kArrived, actor, "ok", std::move(detail), std::nullopt},
          now));
      if (invalid) {
        ++local.invalid;
        MLC_RETURN_IF_ERROR(AppendAudit(tx,
                                        {p.spec.name,
                                         id,
                                         key.source_id,
                                         Step::kReview,
                                         actor,
                                         "invalid_record",
                                         {{"kind", "invalid_record"}, {"detail", key.problem}},
                                         std::nullopt},
                                        now));
      }
    }
    // Singer's rule: the cursor moves in the transaction that stored everything it covers.
    if (cursor != nullptr) MLC_RETURN_IF_ERROR(SaveCursor(tx, p.spec.name, stream.name, *cursor, now));
    return Status::Ok();
  });
  if (!s.ok()) return s;
  result->records += local.records;
  result->arrived += local.arrived;
  result->duplicates += local.duplicates;
  result->invalid += local.invalid;
  return Status::Ok();
}

Result<json> Engine::StartCursor(const PipelineState& p, const Stream& stream, const CursorState& cs) const {
  if (stream.cursor_kind == "none") return json();
  if (!stream.overlap) return cs.cursor;  // the plugin's cursor re-reads what it must itself
  if (stream.cursor_kind == "updated_since" && cs.cursor.is_string()) {
    // A timestamp: step back by the overlap so late-indexed changes are read again.
    auto at = ParseInstant(cs.cursor.get<std::string>());
    if (at.ok()) {
      const int64_t back = std::chrono::duration_cast<std::chrono::milliseconds>(p.settings.overlap).count();
      return json(FormatInstantSeconds(*at - back));
    }
  }
  // Opaque and page cursors: start from the page read N pages back (kept in history).
  if (p.settings.overlap_pages > 0 && cs.history.is_array() && !cs.history.empty() &&
      cs.history.front().is_string()) {
    return cs.history.front();
  }
  return cs.cursor;
}

Result<json> Engine::ReadPage(PipelineState& p, const Stream& stream, const json& cursor,
                              const std::optional<std::string>& since) {
  if (!p.poll_instance) {
    auto opened = factory_.Open(p.spec.source);
    if (!opened.ok()) return opened.status().Wrap("connection " + p.spec.source);
    p.poll_instance = std::move(*opened);
  }
  json request = {{"stream", stream.name}, {"limit", p.settings.page_size}};
  if (cursor.is_string()) {
    request["cursor"] = cursor;
  } else if (since) {
    request["since"] = *since;
  }
  Result<json> reply = Status::Error("not read");
  {
    auto slot = gate_->Acquire(p.spec.source);
    reply = p.poll_instance->Read(request);
  }
  if (!reply.ok()) {
    if (reply.status().code() == Code::kAuth) {
      (void)factory_.ReportAuthFailure(p.spec.source, reply.status().message());
    }
    return reply.status().Wrap("read " + stream.name + " from " + p.spec.source);
  }
  const json& page = *reply;
  if (!page.is_object() || !page.contains("records") || !page["records"].is_array()) {
    return Status::Error("read " + stream.name + " from " + p.spec.source + ": reply has no records array");
  }
  if (page.contains("next_cursor") && !page["next_cursor"].is_null() && !page["next_cursor"].is_string()) {
    return Status::Error("read " + stream.name + " from " + p.spec.source + ": next_cursor is not a string");
  }
  return reply;
}

Result<PollResult> Engine::Poll(std::string_view name, const PollOptions& options) {
  MLC_ASSIGN_OR_RETURN(PipelineState * p, Find(name));
  if (options.since) MLC_RETURN_IF_ERROR(ParseInstant(*options.since).status().Wrap("--since"));
  PollResult total;
  Status failure;
  {
    std::lock_guard lock(p->poll_mu);
    for (const Stream& stream : p->streams) {
      auto loaded = LoadCursor(store_, p->spec.name, stream.name);
      if (!loaded.ok()) return loaded.status();
      CursorState cs = std::move(*loaded);
      std::optional<std::string> since = options.since;
      json cursor;
      if (since) {
        cs.history = json::array();  // a backfill starts a new window
      } else {
        auto start = StartCursor(*p, stream, cs);
        if (!start.ok()) return start.status();
        cursor = *start;
      }
      for (int page_no = 0; page_no < options_.max_pages_per_poll; ++page_no) {
        auto reply = ReadPage(*p, stream, cursor, since);
        if (!reply.ok()) {
          failure = reply.status();
          break;
        }
        const json& page = *reply;
        const json next = page.value("next_cursor", json());
        const bool has_more = page.value("has_more", false);
        const bool save = stream.cursor_kind != "none" && next.is_string();
        CursorState next_cs = cs;
        if (save) {
          next_cs.cursor = next;
          if (cursor.is_string() && p->settings.overlap_pages > 0 && stream.overlap) {
            next_cs.history.push_back(cursor);
            while (static_cast<int>(next_cs.history.size()) > p->settings.overlap_pages) {
              next_cs.history.erase(next_cs.history.begin());
            }
          }
        }
        Status stored = StoreRecords(*p, stream, page["records"], /*via_webhook=*/false, options.actor,
                                     save ? &next_cs : nullptr, &total);
        if (!stored.ok()) {
          failure = stored.Wrap("store page of " + stream.name);
          break;
        }
        ++total.pages;
        if (save) cs = std::move(next_cs);
        if (!has_more || !next.is_string()) break;
        if (next == cursor && page["records"].empty()) break;  // no progress: stop rather than spin
        cursor = next;
        since.reset();
      }
      if (!failure.ok()) break;
    }
  }
  if (total.arrived > 0) Notify(name);
  if (!failure.ok()) {
    // The cursor stayed where the last stored page left it; say so in the trail.
    (void)AppendAudit(
        store_,
        {p->spec.name,
         "",
         "",
         Step::kFailed,
         options.actor,
         std::string(CodeName(failure.code())),
         {{"poll", true}, {"error", Redacted(failure)}, {"arrived_before_failure", total.arrived}},
         std::nullopt},
        Now());
    return failure;
  }
  return total;
}

Result<PollResult> Engine::Ingest(std::string_view pipeline, std::string_view object_type,
                                  const std::vector<json>& records, Actor actor) {
  MLC_ASSIGN_OR_RETURN(PipelineState * p, Find(pipeline));
  const Stream* stream = nullptr;
  for (const auto& s : p->streams) {
    if (s.object_type == object_type) stream = &s;
  }
  if (stream == nullptr) {
    return Status::Invalid("pipeline " + p->spec.name + " does not move " + std::string(object_type));
  }
  PollResult result;
  MLC_RETURN_IF_ERROR(StoreRecords(*p, *stream, json(records), /*via_webhook=*/actor == Actor::kWebhook,
                                   actor, nullptr, &result));
  if (result.arrived > 0) Notify(pipeline);
  return result;
}

// ---- leasing
// ------------------------------------------------------------------------------------------------

Result<std::optional<Job>> Engine::LeaseNext(PipelineState& p) {
  const int64_t now = Now();
  std::optional<Job> leased;
  const int64_t lease_ms = p.settings.lease.count();
  // Never two versions of one record at once (the later one then sees the link).
  static const std::string kNoSibling =
      " AND NOT EXISTS (SELECT 1 FROM jobs r WHERE r.pipeline = jobs.pipeline AND r.object_type = "
      "jobs.object_type AND r.source_id = jobs.source_id AND r.id <> jobs.id AND r.state = 'running' AND "
      "r.lease_until >= $2) ORDER BY next_run_at, created_at, id LIMIT 1";
  // One query per state, each a walk of jobs_lease in lease order (an OR across states would sort every due
  // job of the pipeline on each lease); the oldest of the candidates wins.
  static const std::string kDue[] = {
      "SELECT id, next_run_at, created_at FROM jobs WHERE pipeline = $1 AND state = 'pending' AND "
      "next_run_at <= $2" +
          kNoSibling,
      "SELECT id, next_run_at, created_at FROM jobs WHERE pipeline = $1 AND state = 'uncertain' AND "
      "next_run_at <= $2" +
          kNoSibling,
      "SELECT id, next_run_at, created_at FROM jobs WHERE pipeline = $1 AND state = 'running' AND "
      "lease_until < $2" +
          kNoSibling,
  };
  Status s = store_.Transaction([&](store::Tx& tx) -> Status {
    leased.reset();
    // SQLite serialises this transaction (BEGIN IMMEDIATE); a PostgreSQL store adds FOR UPDATE SKIP LOCKED
    // to the SELECTs so concurrent hosts skip each other's candidates.
    std::optional<std::tuple<int64_t, int64_t, std::string>> best;
    for (const std::string& sql : kDue) {
      MLC_ASSIGN_OR_RETURN(auto rows, tx.Query(sql, {p.spec.name, now}));
      if (rows.empty()) continue;
      std::tuple<int64_t, int64_t, std::string> candidate{rows.front().Int(1), rows.front().Int(2),
                                                          rows.front().Text(0)};
      if (!best || candidate < *best) best = std::move(candidate);
    }
    if (!best) return Status::Ok();
    const std::string id = std::get<2>(*best);
    MLC_RETURN_IF_ERROR(
        tx.Exec("UPDATE jobs SET state = 'running', lease_owner = $1, lease_until = $3, "
                "updated_at = $2 WHERE id = $4",
                {Owner(), now, now + lease_ms, id}));
    MLC_ASSIGN_OR_RETURN(leased, LoadJob(tx, id));
    return Status::Ok();
  });
  if (!s.ok()) return s;
  return leased;
}

Result<std::optional<Job>> Engine::LeaseJob(PipelineState& p, const std::string& job_id) {
  const int64_t now = Now();
  std::optional<Job> leased;
  const int64_t lease_ms = p.settings.lease.count();
  Status s = store_.Transaction([&](store::Tx& tx) -> Status {
    leased.reset();
    int64_t changed = 0;
    MLC_RETURN_IF_ERROR(
        tx.Exec(std::string("UPDATE jobs SET state = 'running', lease_owner = $3, lease_until = "
                            "$4, updated_at = $2 WHERE id = $1 AND ") +
                    kDueCondition,
                {job_id, now, Owner(), now + lease_ms}, &changed));
    if (changed == 1) {
      MLC_ASSIGN_OR_RETURN(leased, LoadJob(tx, job_id));
    }
    return Status::Ok();
  });
  if (!s.ok()) return s;
  return leased;
}

Status Engine::ReclaimDeadLeases(PipelineState& p) {
  const int64_t now = Now();
  MLC_ASSIGN_OR_RETURN(auto owners,
                       store_.Query("SELECT DISTINCT lease_owner FROM jobs WHERE pipeline = $1 AND "
                                    "state = 'running' AND lease_until >= $2",
                                    {p.spec.name, now}));
  for (const auto& row : owners) {
    const std::string owner = row.Text(0);
    if (owner.empty() || owner == Owner() || !LeaseOwnerIsGone(owner)) continue;
    int64_t changed = 0;
    MLC_RETURN_IF_ERROR(
        store_.Exec("UPDATE jobs SET lease_until = 0 WHERE pipeline = $1 AND state = 'running' AND "
                    "lease_owner = $2",
                    {p.spec.name, owner}, &changed));
    if (changed > 0) {
      Log().info("pipeline {}: took over {} job(s) leased by {}, a process that is gone", p.spec.name,
                 changed, owner);
    }
  }
  return Status::Ok();
}

Result<std::optional<int64_t>> Engine::NextDue(PipelineState& p, const std::vector<std::string>& only) {
  if (!only.empty()) return std::optional<int64_t>();
  MLC_ASSIGN_OR_RETURN(auto row,
                       store_.QueryOne("SELECT MIN(next_run_at) FROM jobs WHERE pipeline = $1 AND state "
                                       "IN ('pending', 'uncertain')",
                                       {p.spec.name}));
  if (!row || row->IsNull(0)) return std::optional<int64_t>();
  return std::optional<int64_t>(row->Int(0));
}

// ---- running one job
// ----------------------------------------------------------------------------------------

Disposition Engine::ToReview(PipelineState& p, Job& job, const std::string& kind, const std::string& detail,
                             json audit_detail) {
  JobChange c;
  c.state = JobState::kReview;
  c.review = {kind, detail};
  c.last_error = detail;
  c.sync_write_started = true;
  c.release = true;
  audit_detail["kind"] = kind;
  audit_detail["detail"] = detail;
  Status s = CommitJob(store_, job, c,
                       {{p.spec.name, job.id, job.source_id, Step::kReview, Actor::kWorker, kind,
                         std::move(audit_detail), std::nullopt}},
                       std::nullopt, Owner(), Now(), p.settings.lease.count());
  if (!s.ok()) {
    Log().warn("pipeline {}: job {}: {}", p.spec.name, job.id.substr(0, 12), s.ToString());
    return Disposition::kLost;
  }
  return Disposition::kReview;
}

Disposition Engine::ToDead(PipelineState& p, Job& job, const Status& status, Step step,
                           std::optional<RequestNote> request) {
  JobChange c;
  c.state = JobState::kDead;
  c.attempts = job.attempts + 1;
  c.last_error = Redacted(status);
  c.sync_write_started = true;
  c.release = true;
  std::vector<AuditEntry> audits;
  audits.push_back({p.spec.name,
                    job.id,
                    job.source_id,
                    Step::kFailed,
                    Actor::kWorker,
                    std::string(CodeName(status.code())),
                    {{"step", StepName(step)}, {"error", Redacted(status)}, {"attempt", job.attempts + 1}},
                    request});
  audits.push_back({p.spec.name,
                    job.id,
                    job.source_id,
                    Step::kDead,
                    Actor::kWorker,
                    "dead",
                    {{"error", Redacted(status)}, {"attempts", job.attempts + 1}},
                    std::nullopt});
  Status s = CommitJob(store_, job, c, audits, std::nullopt, Owner(), Now(), p.settings.lease.count());
  if (!s.ok()) {
    Log().warn("pipeline {}: job {}: {}", p.spec.name, job.id.substr(0, 12), s.ToString());
    return Disposition::kLost;
  }
  return Disposition::kDead;
}

Disposition Engine::Fail(PipelineState& p, Job& job, const Status& status, Step step, Worker& /*w*/,
                         std::optional<RequestNote> request) {
  const int64_t now = Now();
  const Code code = status.code();
  if (code == Code::kInvalid)
    return ToReview(p, job, "invalid", Redacted(status), {{"step", StepName(step)}});
  if (code == Code::kAuth) {
    // Which side was refused: the write side's steps talk to the target, read/ack to the source.
    const bool target_side = step == Step::kWritten || step == Step::kReconciled || step == Step::kMapped ||
                             step == Step::kUncertain;
    const std::string& connection = target_side ? p.spec.target : p.spec.source;
    (void)factory_.ReportAuthFailure(connection, status.message());
    JobChange c;
    c.state = WriteUnsettled(job) ? JobState::kUncertain : JobState::kPending;
    c.next_run_at = now + options_.auth_wait.count();
    c.last_error = Redacted(status);
    c.sync_write_started = true;
    c.release = true;
    Status s = CommitJob(store_, job, c,
                         {{p.spec.name,
                           job.id,
                           job.source_id,
                           Step::kFailed,
                           Actor::kWorker,
                           "AUTH",
                           {{"step", StepName(step)},
                            {"connection", connection},
                            {"error", Redacted(status)},
                            {"waits_for", "re-authorisation of " + connection}},
                           request}},
                         std::nullopt, Owner(), now, p.settings.lease.count());
    return s.ok() ? Disposition::kWaitingAuth : Disposition::kLost;
  }
  if (code == Code::kRetry || code == Code::kUncertain) {
    const int64_t attempts = job.attempts + 1;
    if (attempts >= p.settings.max_attempts) {
      return ToDead(p, job,
                    Status(code, "retry budget of " + std::to_string(p.settings.max_attempts) +
                                     " attempts used up; last: " + status.message()),
                    step, request);
    }
    http::RetryPolicy policy;
    policy.base_delay = p.settings.retry_base;
    policy.max_delay = p.settings.retry_cap;
    policy.random = options_.random;
    const int64_t delay = std::chrono::duration_cast<std::chrono::milliseconds>(
                              http::BackoffDelay(policy, static_cast<int>(attempts - 1)))
                              .count();
    const bool unsettled = WriteUnsettled(job);
    JobChange c;
    c.state = unsettled ? JobState::kUncertain : JobState::kPending;
    c.attempts = attempts;
    c.next_run_at = now + delay;
    c.last_error = Redacted(status);
    c.sync_write_started = true;
    c.release = true;
    const Step audit_step = unsettled && step == Step::kUncertain ? Step::kUncertain : Step::kFailed;
    Status s = CommitJob(store_, job, c,
                         {{p.spec.name,
                           job.id,
                           job.source_id,
                           audit_step,
                           Actor::kWorker,
                           std::string(CodeName(code)),
                           {{"step", StepName(step)},
                            {"error", Redacted(status)},
                            {"attempt", attempts},
                            {"retry_in_ms", delay}},
                           request}},
                         std::nullopt, Owner(), now, p.settings.lease.count());
    if (!s.ok()) return Disposition::kLost;
    return unsettled ? Disposition::kUncertain : Disposition::kRetrying;
  }
  return ToDead(p, job, status, step, request);
}

Disposition Engine::Ack(PipelineState& p, Worker& w, Job& job) {
  const int64_t lease_ms = p.settings.lease.count();
  if (job.acked_at) {
    JobChange c;
    c.state = JobState::kSucceeded;
    c.last_error = "";
    c.release = true;
    Status s = CommitJob(store_, job, c, {}, std::nullopt, Owner(), Now(), lease_ms);
    return s.ok() ? Disposition::kSucceeded : Disposition::kLost;
  }
  auto source = w.Source();
  if (!source.ok()) return Fail(p, job, source.status(), Step::kAcked, w);
  const std::string stream = StreamFor(p, job.object_type);
  if (!HasOp(**source, "ack")) {
    JobChange c;
    c.state = JobState::kSucceeded;
    c.acked_at = Now();
    c.last_error = "";
    c.release = true;
    Status s = CommitJob(store_, job, c,
                         {{p.spec.name,
                           job.id,
                           job.source_id,
                           Step::kAcked,
                           Actor::kWorker,
                           "not supported",
                           {{"reason", "source " + p.spec.source + " has no ack"}},
                           std::nullopt}},
                         std::nullopt, Owner(), Now(), lease_ms);
    return s.ok() ? Disposition::kSucceeded : Disposition::kLost;
  }
  if (w.batch_acks && p.settings.ack_batch > 1) {
    std::lock_guard lock(p.ack_mu);
    if (p.ack_queue.empty()) p.ack_oldest_ms = Now();
    // A job re-leased while its ack waited (lease ran out) is queued once: Brex, for one, refuses a batch
    // naming a record twice.
    auto same = std::find_if(p.ack_queue.begin(), p.ack_queue.end(), [&](const Job& q) {
      return q.id == job.id || (q.object_type == job.object_type && q.source_id == job.source_id);
    });
    if (same != p.ack_queue.end()) {
      *same = job;
    } else {
      p.ack_queue.push_back(job);
    }
    return Disposition::kAckQueued;
  }
  const json request = {
      {"stream", stream},
      {"items", json::array({{{"source_id", job.source_id}, {"ok", true}, {"target_id", job.target_id}}})}};
  RequestCapture capture;
  Result<json> reply = Status::Error("not called");
  {
    auto slot = gate_->Acquire(p.spec.source);
    reply = (*source)->Ack(request);
  }
  auto note = capture.Take();
  if (!reply.ok()) {
    // An ack cannot be "uncertain" in a harmful way (acks are idempotent): treat it as transient.
    Status st =
        reply.status().code() == Code::kUncertain ? Status::Retry(reply.status().message()) : reply.status();
    return Fail(p, job, st.Wrap("ack"), Step::kAcked, w, note);
  }
  JobChange c;
  c.state = JobState::kSucceeded;
  c.acked_at = Now();
  c.last_error = "";
  c.release = true;
  Status s = CommitJob(store_, job, c,
                       {{p.spec.name,
                         job.id,
                         job.source_id,
                         Step::kAcked,
                         Actor::kWorker,
                         "ok",
                         {{"stream", stream}, {"target_id", job.target_id}, {"reply", *reply}},
                         note}},
                       std::nullopt, Owner(), Now(), lease_ms);
  if (!s.ok()) {
    Log().warn("pipeline {}: job {}: {}", p.spec.name, job.id.substr(0, 12), s.ToString());
    return Disposition::kLost;
  }
  return Disposition::kSucceeded;
}

std::vector<std::pair<std::string, Disposition>> Engine::FlushAcks(PipelineState& p, Worker& w, bool force) {
  std::vector<Job> batch;
  {
    std::lock_guard lock(p.ack_mu);
    if (p.ack_queue.empty()) return {};
    const bool full = static_cast<int>(p.ack_queue.size()) >= p.settings.ack_batch;
    const bool aged = Now() - p.ack_oldest_ms >= p.settings.ack_delay.count();
    if (!force && !full && !aged) return {};
    const size_t n = std::min(p.ack_queue.size(), static_cast<size_t>(p.settings.ack_batch));
    batch.assign(std::make_move_iterator(p.ack_queue.begin()),
                 std::make_move_iterator(p.ack_queue.begin() + n));
    p.ack_queue.erase(p.ack_queue.begin(), p.ack_queue.begin() + n);
    if (!p.ack_queue.empty()) p.ack_oldest_ms = Now();
  }
  std::vector<std::pair<std::string, Disposition>> out = AckBatch(p, w, std::move(batch));
  if (force) {
    for (auto& more : FlushAcks(p, w, true)) out.push_back(std::move(more));
  }
  return out;
}

// One ack request per stream for jobs already written; each job is then committed (or failed) as if it had
// been acked alone, with the shared request in its audit row.
std::vector<std::pair<std::string, Disposition>> Engine::AckBatch(PipelineState& p, Worker& w,
                                                                  std::vector<Job> jobs) {
  std::vector<std::pair<std::string, Disposition>> out;
  const int64_t lease_ms = p.settings.lease.count();
  std::map<std::string, std::vector<Job*>> by_stream;
  for (Job& job : jobs) by_stream[StreamFor(p, job.object_type)].push_back(&job);
  auto source = w.Source();
  for (auto& [stream, group] : by_stream) {
    if (!source.ok()) {
      for (Job* job : group) out.emplace_back(job->id, Fail(p, *job, source.status(), Step::kAcked, w));
      continue;
    }
    json items = json::array();
    for (const Job* job : group)
      items.push_back({{"source_id", job->source_id}, {"ok", true}, {"target_id", job->target_id}});
    RequestCapture capture;
    Result<json> reply = Status::Error("not called");
    {
      auto slot = gate_->Acquire(p.spec.source);
      reply = (*source)->Ack({{"stream", stream}, {"items", std::move(items)}});
    }
    auto note = capture.Take();
    if (!reply.ok()) {
      Status st = reply.status().code() == Code::kUncertain ? Status::Retry(reply.status().message())
                                                            : reply.status();
      st = st.Wrap("ack of " + std::to_string(group.size()) + " record(s)");
      for (Job* job : group) out.emplace_back(job->id, Fail(p, *job, st, Step::kAcked, w, note));
      continue;
    }
    const int64_t now = Now();
    for (Job* job : group) {
      JobChange c;
      c.state = JobState::kSucceeded;
      c.acked_at = now;
      c.last_error = "";
      c.release = true;
      Status s = CommitJob(
          store_, *job, c,
          {{p.spec.name,
            job->id,
            job->source_id,
            Step::kAcked,
            Actor::kWorker,
            "ok",
            {{"stream", stream}, {"target_id", job->target_id}, {"batch", group.size()}, {"reply", *reply}},
            note}},
          std::nullopt, Owner(), now, lease_ms);
      if (!s.ok()) Log().warn("pipeline {}: job {}: {}", p.spec.name, job->id.substr(0, 12), s.ToString());
      out.emplace_back(job->id, s.ok() ? Disposition::kSucceeded : Disposition::kLost);
    }
  }
  return out;
}

Disposition Engine::RunJob(PipelineState& p, Worker& w, Job job) {
  const PipelineSpec& spec = p.spec;
  const int64_t lease_ms = p.settings.lease.count();
  auto commit = [&](const JobChange& c, std::vector<AuditEntry> audits, std::optional<LinkRow> link) {
    return CommitJob(store_, job, c, audits, link, Owner(), Now(), lease_ms);
  };
  auto lost = [&](const Status& s) {
    Log().warn("pipeline {}: job {}: {}", spec.name, job.id.substr(0, 12), s.ToString());
    return Disposition::kLost;
  };

  auto payload = LoadPayload(store_, job);
  if (!payload.ok()) return Fail(p, job, Status::Retry(payload.status().message()), Step::kFailed, w);
  if (!*payload)
    return ToDead(p, job, Status::Error("the job's inbox record is missing"), Step::kFailed, std::nullopt);
  auto parsed = mlc::json::Parse(**payload);
  if (!parsed.ok() || job.source_id.rfind("invalid-", 0) == 0) {
    return ToReview(p, job, "invalid_record",
                    job.review_detail.empty() ? "the record cannot be keyed or parsed" : job.review_detail);
  }
  const json object = std::move(*parsed);

  // 1. Written already? A link (this job's, or an earlier version's) means the target has the record.
  if (!job.written_at) {
    auto link = FindLink(store_, spec.name, job.object_type, job.source_id, spec.target);
    if (!link.ok()) return Fail(p, job, Status::Retry(link.status().message()), Step::kWritten, w);
    if (*link) {
      const bool ours = (*link)->job_id == job.id;
      JobChange c;
      c.target_id = (*link)->target_id;
      c.written_at = Now();
      job.write_started_at.reset();
      c.sync_write_started = true;
      Status s = commit(c,
                        {{spec.name,
                          job.id,
                          job.source_id,
                          Step::kWritten,
                          Actor::kWorker,
                          ours ? "ok: link found" : "skipped: already linked",
                          {{"target_id", (*link)->target_id},
                           {"linked_by_job", (*link)->job_id},
                           {"linked_version", (*link)->source_version}},
                          std::nullopt}},
                        std::nullopt);
      if (!s.ok()) return lost(s);
    }
  }

  if (!job.written_at) {
    auto target_r = w.Target();
    if (!target_r.ok()) return Fail(p, job, target_r.status(), Step::kWritten, w);
    loader::PluginInstance* target = *target_r;

    // 2. Resolve references.
    ResolveInput in{spec.name,   job.id,  job.object_type, spec.source,
                    spec.target, &object, &spec.options,   target};
    auto outcome = resolver_.Resolve(in);
    if (!outcome.ok()) return Fail(p, job, outcome.status(), Step::kMapped, w);
    for (const auto& note : outcome->notes) {
      const Step step = note.step == "matched" ? Step::kMatched : Step::kMapped;
      Status s = AppendAudit(
          store_,
          {spec.name, job.id, job.source_id, step, Actor::kWorker, note.outcome, note.detail, std::nullopt},
          Now());
      if (!s.ok()) return Fail(p, job, Status::Retry(s.message()), Step::kMapped, w);
    }
    if (outcome->kind == ResolveKind::kReview) {
      return ToReview(p, job, outcome->review_kind.empty() ? "unresolved" : outcome->review_kind,
                      outcome->review_detail);
    }
    if (outcome->kind == ResolveKind::kSkip) {
      JobChange c;
      c.state = JobState::kSucceeded;
      c.last_error = "";
      c.release = true;
      Status s = commit(c,
                        {{spec.name,
                          job.id,
                          job.source_id,
                          Step::kResolved,
                          Actor::kWorker,
                          "skipped: " + outcome->skip_reason,
                          {{"skip", outcome->skip_reason}},
                          std::nullopt}},
                        std::nullopt);
      return s.ok() ? Disposition::kSucceeded : lost(s);
    }
    const json refs = outcome->refs;
    const std::string idempotency = p.write_idempotency.count(job.object_type)
                                        ? p.write_idempotency.at(job.object_type)
                                        : std::string("none");

    // 3. Reconcile a write that may have landed, before any new write.
    const bool first_write = !WriteUnsettled(job);
    if (!first_write) {
      if (HasOp(*target, "lookup")) {
        RequestCapture capture;
        Result<json> found = Status::Error("not called");
        {
          auto slot = gate_->Acquire(spec.target);
          found = target->Lookup({{"object_type", job.object_type},
                                  {"idempotency_key", job.idempotency_key},
                                  {"object", object}});
        }
        auto note = capture.Take();
        if (found.ok() && found->is_object() && (*found)["target_id"].is_string() &&
            !(*found)["target_id"].get<std::string>().empty()) {
          const std::string target_id = (*found)["target_id"].get<std::string>();
          JobChange c;
          c.target_id = target_id;
          c.written_at = Now();
          job.write_started_at.reset();
          c.sync_write_started = true;
          c.last_error = "";
          // `written` too: every job the target has gets exactly one written row, however it was learnt.
          Status s = commit(c,
                            {{spec.name,
                              job.id,
                              job.source_id,
                              Step::kReconciled,
                              Actor::kWorker,
                              "found",
                              {{"target_id", target_id}, {"idempotency_key", job.idempotency_key}},
                              note},
                             {spec.name,
                              job.id,
                              job.source_id,
                              Step::kWritten,
                              Actor::kWorker,
                              "ok: found by reconciliation",
                              {{"target_id", target_id}, {"idempotency_key", job.idempotency_key}},
                              std::nullopt}},
                            LinkRow{spec.target, target_id});
          if (!s.ok()) return lost(s);
        } else if (!found.ok() && found.status().code() == Code::kNotFound) {
          job.write_started_at.reset();
          JobChange c;
          c.sync_write_started = true;
          Status s =
              commit(c,
                     {{spec.name,
                       job.id,
                       job.source_id,
                       Step::kReconciled,
                       Actor::kWorker,
                       "not found",
                       {{"idempotency_key", job.idempotency_key}, {"next", "write again with the same key"}},
                       note}},
                     std::nullopt);
          if (!s.ok()) return lost(s);
        } else {
          Status st = found.ok() ? Status::Error("lookup answered without a target_id") : found.status();
          // Cannot tell yet: stay uncertain and look again later (never a blind second write).
          if (st.code() == Code::kUncertain) st = Status::Retry(st.message());
          if (st.code() == Code::kInvalid || st.code() == Code::kError) {
            return ToReview(p, job, "uncertain_write",
                            "the write may have landed and lookup failed: " + Redacted(st),
                            {{"step", "reconciled"}});
          }
          return Fail(p, job, st.Wrap("lookup"), Step::kReconciled, w, note);
        }
      } else if (idempotency == "native") {
        Status s =
            AppendAudit(store_,
                        {spec.name,
                         job.id,
                         job.source_id,
                         Step::kReconciled,
                         Actor::kWorker,
                         "rewrite with the same key",
                         {{"reason", "target has no lookup; its native idempotency makes the same key safe"},
                          {"idempotency_key", job.idempotency_key}},
                         std::nullopt},
                        Now());
        if (!s.ok()) return Fail(p, job, Status::Retry(s.message()), Step::kReconciled, w);
      } else {
        return ToReview(p, job, "uncertain_write",
                        "the write may have landed and " + spec.target +
                            " can neither look it up nor deduplicate it; check the target, then resolve",
                        {{"step", "reconciled"}});
      }
    }

    // 4. Write.
    if (!job.written_at) {
      {
        JobChange c;
        job.write_started_at = Now();
        c.sync_write_started = true;
        Status s = commit(c, {}, std::nullopt);
        if (!s.ok()) return lost(s);
      }
      json request = {{"object_type", job.object_type},
                      {"object", object},
                      {"refs", refs},
                      {"idempotency_key", job.idempotency_key}};
      // No write with this key was ever started (a crash after starting one leaves it unsettled, and an
      // unsettled write was looked up above), so a plugin may skip its own search for an earlier one.
      if (first_write) request["first_write"] = true;
      RequestCapture capture;
      Result<json> wrote = Status::Error("not called");
      {
        auto slot = gate_->Acquire(spec.target);
        wrote = target->Write(request);
      }
      auto note = capture.Take();
      if (wrote.ok()) {
        const json tid = wrote->is_object() ? wrote->value("target_id", json()) : json();
        if (!tid.is_string() || tid.get<std::string>().empty()) {
          // It claims success but names nothing: whether and what landed is unknown.
          return Fail(p, job, Status::Uncertain("write answered OK without a target_id"), Step::kUncertain, w,
                      note);
        }
        const std::string target_id = tid.get<std::string>();
        JobChange c;
        c.target_id = target_id;
        c.written_at = Now();
        job.write_started_at.reset();
        c.sync_write_started = true;
        c.last_error = "";
        json detail = {{"target_id", target_id}, {"idempotency_key", job.idempotency_key}};
        if (wrote->contains("links")) detail["links"] = (*wrote)["links"];
        Status s = commit(c,
                          {{spec.name, job.id, job.source_id, Step::kWritten, Actor::kWorker, "ok",
                            std::move(detail), note}},
                          LinkRow{spec.target, target_id});
        if (!s.ok()) return lost(s);
      } else {
        const Status& st = wrote.status();
        switch (st.code()) {
          case Code::kUncertain:
            if (idempotency == "none" && !HasOp(*target, "lookup")) {
              return ToReview(p, job, "uncertain_write",
                              "the write may have landed and " + spec.target +
                                  " can neither look it up nor deduplicate it: " + Redacted(st),
                              {{"step", "written"}});
            }
            return Fail(p, job, st, Step::kUncertain, w, note);
          case Code::kInvalid:
            job.write_started_at.reset();
            return ToReview(p, job, "target_rejected", Redacted(st), {{"step", "written"}});
          case Code::kRetry:
          case Code::kAuth:
            job.write_started_at.reset();  // the plugin is sure nothing landed
            return Fail(p, job, st, Step::kWritten, w, note);
          default:
            job.write_started_at.reset();
            return ToDead(p, job, st, Step::kWritten, note);
        }
      }
    }
  }

  // 5. Acknowledge at the source, only now that the target has the record.
  return Ack(p, w, job);
}

// ---- draining and background workers ----------------------------------------------------------------------

DrainResult Engine::RunWorkers(PipelineState& p, const DrainOptions& options) {
  struct Shared {
    std::mutex mu;
    std::condition_variable cv;
    int busy = 0;
    std::map<std::string, Disposition> final;
    int64_t attempts = 0;
    std::deque<std::pair<std::string, int64_t>> queue;  // only-mode: (job id, not before ms)
    std::string paused;
  } sh;
  const bool only = !options.only_jobs.empty();
  for (const auto& id : options.only_jobs) sh.queue.emplace_back(id, 0);
  const int64_t wait_ms = options.wait_for_retries.count();
  const int n = std::max(1, options.workers > 0 ? options.workers : p.settings.workers);

  auto record = [&](const std::string& id, Disposition d) {
    std::lock_guard lock(sh.mu);
    sh.final[id] = d;
  };
  auto sleep_until = [&](int64_t due_ms) {
    const int64_t delta = due_ms - Now();
    if (delta > 0) std::this_thread::sleep_for(std::chrono::milliseconds(std::min<int64_t>(delta, 250)));
  };

  auto work = [&]() {
    Worker w(factory_, p.spec);
    w.batch_acks = !only;
    for (;;) {
      if (stopping_) return;
      if (only) {
        std::pair<std::string, int64_t> item;
        {
          std::unique_lock lock(sh.mu);
          while (sh.queue.empty()) {
            if (sh.busy == 0 || stopping_) return;
            sh.cv.wait_for(lock, std::chrono::milliseconds(50));
          }
          item = sh.queue.front();
          sh.queue.pop_front();
          ++sh.busy;
        }
        if (item.second > Now()) {
          sleep_until(item.second);
          std::lock_guard lock(sh.mu);
          sh.queue.push_back(item);  // not yet: let others go first
          --sh.busy;
          sh.cv.notify_all();
          continue;
        }
        auto leased = LeaseJob(p, item.first);
        std::optional<Disposition> d;
        int64_t retry_at = 0;
        if (leased.ok() && *leased) {
          d = RunJob(p, w, std::move(**leased));
          {
            std::lock_guard lock(sh.mu);
            ++sh.attempts;
          }
          if (*d == Disposition::kRetrying || *d == Disposition::kUncertain) {
            auto j = LoadJob(store_, item.first);
            if (j.ok() && *j) retry_at = (*j)->next_run_at;
          }
        } else if (leased.ok()) {
          // Not due: finished, waiting for a retry, or running elsewhere.
          auto j = LoadJob(store_, item.first);
          if (j.ok() && *j) {
            switch ((*j)->state) {
              case JobState::kSucceeded:
                d = Disposition::kSucceeded;
                break;
              case JobState::kReview:
                d = Disposition::kReview;
                break;
              case JobState::kDead:
                d = Disposition::kDead;
                break;
              case JobState::kUncertain:
                d = Disposition::kUncertain;
                retry_at = (*j)->next_run_at;
                break;
              case JobState::kPending:
                d = Disposition::kRetrying;
                retry_at = (*j)->next_run_at;
                break;
              case JobState::kRunning:
                d = Disposition::kLost;
                break;
            }
          }
        } else {
          Log().warn("pipeline {}: lease of job {}: {}", p.spec.name, item.first.substr(0, 12),
                     leased.status().ToString());
        }
        std::lock_guard lock(sh.mu);
        if (d) sh.final[item.first] = *d;
        if (retry_at > 0 && retry_at - Now() <= wait_ms) sh.queue.emplace_back(item.first, retry_at);
        --sh.busy;
        sh.cv.notify_all();
        continue;
      }

      // Pipeline mode: any due job.
      auto paused = PausedReason(p.spec.name);
      if (paused.ok() && !paused->empty()) {
        std::lock_guard lock(sh.mu);
        sh.paused = *paused;
        return;
      }
      {
        std::lock_guard lock(sh.mu);
        ++sh.busy;
      }
      auto leased = LeaseNext(p);
      if (leased.ok() && *leased) {
        const std::string id = (*leased)->id;
        Disposition d = RunJob(p, w, std::move(**leased));
        if (d != Disposition::kAckQueued) record(id, d);
        for (const auto& [acked, outcome] : FlushAcks(p, w, /*force=*/false)) record(acked, outcome);
        std::lock_guard lock(sh.mu);
        ++sh.attempts;
        --sh.busy;
        sh.cv.notify_all();
        continue;
      }
      if (!leased.ok()) {
        Log().warn("pipeline {}: lease: {}", p.spec.name, leased.status().ToString());
      }
      // Nothing due for this worker: send the acks that wait (another worker's jobs too).
      for (const auto& [acked, outcome] : FlushAcks(p, w, /*force=*/true)) record(acked, outcome);
      std::unique_lock lock(sh.mu);
      --sh.busy;
      if (sh.busy > 0) {
        // Others may still schedule a retry that falls inside the wait window.
        sh.cv.wait_for(lock, std::chrono::milliseconds(50));
        continue;
      }
      lock.unlock();
      auto due = NextDue(p, {});
      if (!leased.ok() || !due.ok() || !*due || **due - Now() > wait_ms) return;
      sleep_until(**due);
    }
  };

  std::vector<std::thread> helpers;
  for (int i = 1; i < n; ++i) helpers.emplace_back(work);
  work();
  for (auto& t : helpers) t.join();
  {
    // A worker that stopped early (paused, stopping) may have left written jobs waiting for their ack.
    Worker w(factory_, p.spec);
    for (const auto& [id, d] : FlushAcks(p, w, /*force=*/true)) sh.final[id] = d;
  }

  DrainResult r;
  r.attempts = sh.attempts;
  r.paused = sh.paused;
  for (const auto& [id, d] : sh.final) {
    switch (d) {
      case Disposition::kSucceeded:
        ++r.succeeded;
        break;
      case Disposition::kReview:
        ++r.review;
        break;
      case Disposition::kDead:
        ++r.dead;
        break;
      case Disposition::kUncertain:
        ++r.uncertain;
        break;
      case Disposition::kRetrying:
        ++r.retrying;
        break;
      case Disposition::kWaitingAuth:
        ++r.waiting_auth;
        break;
      case Disposition::kLost:
      case Disposition::kAckQueued:
        break;
    }
  }
  return r;
}

Result<DrainResult> Engine::Drain(std::string_view pipeline, const DrainOptions& options) {
  MLC_ASSIGN_OR_RETURN(PipelineState * p, Find(pipeline));
  MLC_RETURN_IF_ERROR(ReclaimDeadLeases(*p));
  MLC_ASSIGN_OR_RETURN(std::string paused, PausedReason(pipeline));
  if (!paused.empty()) {
    DrainResult r;
    r.paused = paused;
    return r;
  }
  return RunWorkers(*p, options);
}

void Engine::BackgroundLoop(PipelineState* p) {
  Worker w(factory_, p->spec);
  w.batch_acks = true;
  int64_t last_reclaim = 0;
  while (!stopping_) {
    const int64_t now = Now();
    if (now - last_reclaim > 30000) {
      if (Status s = ReclaimDeadLeases(*p); !s.ok())
        Log().warn("pipeline {}: {}", p->spec.name, s.ToString());
      last_reclaim = now;
    }
    int64_t wait_ms = 5000;
    auto paused = PausedReason(p->spec.name);
    if (paused.ok() && paused->empty()) {
      auto leased = LeaseNext(*p);
      if (leased.ok() && *leased) {
        RunJob(*p, w, std::move(**leased));
        FlushAcks(*p, w, /*force=*/false);
        continue;
      }
      if (!leased.ok()) Log().warn("pipeline {}: lease: {}", p->spec.name, leased.status().ToString());
      FlushAcks(*p, w, /*force=*/true);  // nothing else to do: send what waits
      auto due = NextDue(*p, {});
      if (due.ok() && *due) wait_ms = std::clamp<int64_t>(**due - Now(), 10, 5000);
    }
    std::unique_lock lock(p->wake_mu);
    const uint64_t seen = p->wake_seq;
    p->wake.wait_for(lock, std::chrono::milliseconds(wait_ms),
                     [&] { return stopping_ || p->wake_seq != seen; });
  }
  FlushAcks(*p, w, /*force=*/true);  // stopping: the written jobs' acks go out before the workers end
}

void Engine::StartWorkers() {
  std::lock_guard lock(bg_mu_);
  if (!bg_threads_.empty()) return;
  stopping_ = false;
  for (auto& [name, p] : pipelines_) {
    if (!p->spec.enabled) continue;
    if (Status s = ReclaimDeadLeases(*p); !s.ok()) Log().warn("pipeline {}: {}", name, s.ToString());
    for (int i = 0; i < p->settings.workers; ++i)
      bg_threads_.emplace_back([this, ptr = p.get()] { BackgroundLoop(ptr); });
  }
}

void Engine::StopWorkers() {
  std::lock_guard lock(bg_mu_);
  stopping_ = true;
  for (auto& [name, p] : pipelines_) {
    std::lock_guard wl(p->wake_mu);
    ++p->wake_seq;
    p->wake.notify_all();
  }
  for (auto& t : bg_threads_) t.join();
  bg_threads_.clear();
  stopping_ = false;
}

void Engine::Notify(std::string_view pipeline) {
  auto p = Find(pipeline);
  if (!p.ok()) return;
  std::lock_guard lock((*p)->wake_mu);
  ++(*p)->wake_seq;
  (*p)->wake.notify_all();
}

// ---- operate
// ------------------------------------------------------------------------------------------------

Result<ReplayResult> Engine::Replay(const std::vector<std::string>& job_ids) {
  std::vector<Job> jobs;
  std::set<std::string> seen;
  for (const auto& id : job_ids) {
    MLC_ASSIGN_OR_RETURN(Job j, FindJob(store_, id));
    if (seen.insert(j.id).second) jobs.push_back(std::move(j));
  }
  ReplayResult result;
  const int64_t now = Now();
  MLC_RETURN_IF_ERROR(store_.Transaction([&](store::Tx& tx) -> Status {
    result = ReplayResult{};
    for (const Job& stale : jobs) {
      MLC_ASSIGN_OR_RETURN(std::optional<Job> j, LoadJob(tx, stale.id));
      if (!j) return Status::NotFound("job " + stale.id + " disappeared");
      if (j->state == JobState::kSucceeded) {
        result.already.push_back(j->id);
        MLC_RETURN_IF_ERROR(AppendAudit(tx,
                                        {j->pipeline,
                                         j->id,
                                         j->source_id,
                                         Step::kReplayed,
                                         Actor::kOperator,
                                         "already succeeded; nothing to do",
                                         {{"target_id", j->target_id}},
                                         std::nullopt},
                                        now));
        continue;
      }
      if (j->state == JobState::kRunning && j->lease_until >= now && !LeaseOwnerIsGone(j->lease_owner)) {
        result.running.push_back(j->id);
        continue;
      }
      const std::string to = WriteUnsettled(*j) ? "uncertain" : "pending";
      MLC_RETURN_IF_ERROR(
          tx.Exec("UPDATE jobs SET state = $2, attempts = 0, next_run_at = $3, lease_owner = NULL, "
                  "lease_until = NULL, review_kind = NULL, review_detail = NULL, updated_at = $3 "
                  "WHERE id = $1",
                  {j->id, to, now}));
      MLC_RETURN_IF_ERROR(AppendAudit(tx,
                                      {j->pipeline,
                                       j->id,
                                       j->source_id,
                                       Step::kReplayed,
                                       Actor::kOperator,
                                       "queued",
                                       {{"from_state", JobStateName(j->state)},
                                        {"to_state", to},
                                        {"previous_attempts", j->attempts},
                                        {"previous_error", j->last_error}},
                                       std::nullopt},
                                      now));
      result.queued.push_back(j->id);
    }
    return Status::Ok();
  }));
  std::set<std::string> touched;
  for (const auto& j : jobs) touched.insert(j.pipeline);
  for (const auto& name : touched) Notify(name);
  return result;
}

Result<std::vector<std::string>> Engine::SelectJobs(std::string_view pipeline, JobState state,
                                                    int64_t since_ms) {
  MLC_ASSIGN_OR_RETURN(PipelineState * p, Find(pipeline));
  MLC_ASSIGN_OR_RETURN(auto jobs, ListJobs(store_, p->spec.name, state, since_ms));
  std::vector<std::string> ids;
  ids.reserve(jobs.size());
  for (const auto& j : jobs) ids.push_back(j.id);
  return ids;
}

// ---- dry run
// ------------------------------------------------------------------------------------------------

Result<DryRunReport> Engine::DryRun(std::string_view name, const PollOptions& options) {
  MLC_ASSIGN_OR_RETURN(PipelineState * p, Find(name));
  if (options.since) MLC_RETURN_IF_ERROR(ParseInstant(*options.since).status().Wrap("--since"));
  const PipelineSpec& spec = p->spec;
  DryRunReport report;
  struct Candidate {
    std::string object_type;
    std::string source_id;
    std::string version;
    std::string state;  // "new" or the stored job's state
    std::optional<Job> job;
    json object;
    std::string problem;
  };
  std::vector<Candidate> candidates;
  std::set<std::string> seen;

  // Arrive, in memory: the same reads a poll would make, nothing stored.
  {
    std::lock_guard lock(p->poll_mu);
    for (const Stream& stream : p->streams) {
      MLC_ASSIGN_OR_RETURN(CursorState cs, LoadCursor(store_, spec.name, stream.name));
      std::optional<std::string> since = options.since;
      json cursor;
      if (!since) {
        MLC_ASSIGN_OR_RETURN(cursor, StartCursor(*p, stream, cs));
      }
      for (int page_no = 0; page_no < options_.max_pages_per_poll; ++page_no) {
        MLC_ASSIGN_OR_RETURN(json page, ReadPage(*p, stream, cursor, since));
        ++report.polled.pages;
        for (const json& record : page["records"]) {
          ++report.polled.records;
          const RecordKey key = KeyOf(record, spec.name, stream.object_type);
          const std::string id = JobId(spec.name, stream.object_type, key.source_id, key.version);
          if (!seen.insert(id).second) {
            ++report.polled.duplicates;
            continue;
          }
          MLC_ASSIGN_OR_RETURN(std::optional<Job> existing, LoadJob(store_, id));
          if (existing) {
            ++report.polled.duplicates;
          } else {
            ++report.polled.arrived;
            if (!key.problem.empty()) ++report.polled.invalid;
          }
          candidates.push_back({stream.object_type, key.source_id, key.version,
                                existing ? std::string(JobStateName(existing->state)) : "new", existing,
                                record, key.problem});
        }
        const json next = page.value("next_cursor", json());
        if (!page.value("has_more", false) || !next.is_string()) break;
        if (next == cursor && page["records"].empty()) break;
        cursor = next;
        since.reset();
      }
    }
  }
  // Jobs already waiting in the store.
  for (JobState st : {JobState::kPending, JobState::kUncertain, JobState::kRunning}) {
    MLC_ASSIGN_OR_RETURN(auto jobs, ListJobs(store_, spec.name, st));
    for (auto& j : jobs) {
      if (!seen.insert(j.id).second) continue;
      MLC_ASSIGN_OR_RETURN(auto payload, LoadPayload(store_, j));
      auto object = mlc::json::Parse(payload.value_or("null"));
      candidates.push_back({j.object_type, j.source_id, j.source_version, std::string(JobStateName(st)), j,
                            object.ok() ? *object : json(), ""});
    }
  }

  Worker w(factory_, spec);
  for (auto& c : candidates) {
    PreviewItem item;
    item.job_id = JobId(spec.name, c.object_type, c.source_id, c.version);
    item.source_id = c.source_id;
    item.source_version = c.version;
    item.state = c.state;
    const std::string key = IdempotencyKey(item.job_id);
    const std::string stream = StreamFor(*p, c.object_type);
    auto ack_doc = [&](const std::string& target_id) {
      return json{
          {"connection", spec.source},
          {"stream", stream},
          {"items", json::array({{{"source_id", c.source_id}, {"ok", true}, {"target_id", target_id}}})}};
    };
    if (c.job && c.job->state == JobState::kSucceeded) {
      item.action = "none";
      item.reason = "already succeeded";
    } else if (!c.problem.empty() || (c.job && c.job->state == JobState::kReview)) {
      item.action = "review";
      item.reason = !c.problem.empty() ? c.problem : c.job->review_kind + ": " + c.job->review_detail;
    } else if (c.job && c.job->written_at) {
      item.action = "ack_only";
      item.reason = "already written as " + c.job->target_id;
      item.ack = ack_doc(c.job->target_id);
    } else {
      auto link = FindLink(store_, spec.name, c.object_type, c.source_id, spec.target);
      if (!link.ok()) return link.status();
      if (*link) {
        item.action = "ack_only";
        item.reason = "already linked to " + (*link)->target_id;
        item.ack = ack_doc((*link)->target_id);
      } else {
        auto target = w.Target();
        if (!target.ok()) return target.status();
        ResolveInput in{spec.name,   item.job_id, c.object_type, spec.source,
                        spec.target, &c.object,   &spec.options, *target};
        auto outcome = resolver_.Resolve(in);
        if (!outcome.ok()) {
          item.action = "error";
          item.reason = Redacted(outcome.status());
        } else if (outcome->kind == ResolveKind::kReview) {
          item.action = "review";
          item.reason = outcome->review_kind + ": " + outcome->review_detail;
        } else if (outcome->kind == ResolveKind::kSkip) {
          item.action = "skip";
          item.reason = outcome->skip_reason;
        } else {
          const json request = {{"object_type", c.object_type},
                                {"object", c.object},
                                {"refs", outcome->refs},
                                {"idempotency_key", key},
                                {"dry_run", true}};
          Result<json> reply = Status::Error("not called");
          {
            auto slot = gate_->Acquire(spec.target);
            reply = (*target)->Write(request);
          }
          if (!reply.ok()) {
            item.action = reply.status().code() == Code::kInvalid ? "review" : "error";
            item.reason = Redacted(reply.status());
          } else {
            item.action = "write";
            const json tid = reply->is_object() ? reply->value("target_id", json()) : json();
            item.write = {{"connection", spec.target}, {"object_type", c.object_type},
                          {"idempotency_key", key},    {"refs", outcome->refs},
                          {"object", c.object},        {"reply", *reply}};
            item.ack = ack_doc(tid.is_string() ? tid.get<std::string>() : std::string());
          }
        }
      }
    }
    report.items.push_back(std::move(item));
  }
  return report;
}

}  // namespace mlc::engine
