// The sync engine: a record's life from arrival to acknowledgement, durably and exactly once
// (docs/architecture.md, "The engine").
//
//   arrive   Poll() reads each source stream from its persisted cursor (re-reading an overlap window) and,
//            page by page, stores the records in the inbox, creates their jobs and advances the cursor in
//            ONE transaction; Ingest() does the same for records a webhook delivered. The inbox key
//            (pipeline, object, source id, version) makes a record seen twice one job.
//   work     Drain() (or the background workers of Start()) lease due jobs and run them: resolve ->
//            write with the job's idempotency key -> link row -> ack at the source -> succeeded. Every step
//            commits its state change with its audit row. A link means "written": a job that has one skips
//            the write; a written job that is not acknowledged only acks. A write that may have landed
//            (UNCERTAIN, or a process that died during it) is reconciled with the target's lookup before
//            anything else: found -> link; not found -> write again with the same key.
//   failure  RETRY backs off with full jitter (http::BackoffDelay) up to the retry budget, then `dead`;
//            ERROR is dead at once; INVALID from the target goes to `review`; AUTH marks the connection
//            needs_reauth and the job waits (its pipeline pauses) without using its budget.
//   operate  Replay() re-queues jobs (idempotent: a succeeded job writes nothing again); DryRun() runs the
//            real path but sends writes with dry_run and acks nowhere, returning a preview, and changes
//            nothing in the store.
//
// Leases: a leased job carries lease_owner (host:pid:tag) and lease_until. Another worker takes it over
// once the lease expires, or at once when the owner is a dead process on this host (crash recovery).
//
//   StoreInstanceFactory factory(*store);  ... AddConnection("src", ...), AddConnection("dst", ...)
//   PassThroughResolver resolver;
//   Engine engine(*store, factory, resolver, {});
//   MLC_RETURN_IF_ERROR(engine.AddPipeline({.name = "p", .source = "src", .target = "dst",
//                                           .objects = {"expense"}}));
//   MLC_ASSIGN_OR_RETURN(auto polled, engine.Poll("p", {}));
//   MLC_ASSIGN_OR_RETURN(auto ran, engine.Drain("p", {}));
//
// Ownership: borrows the Store, the InstanceFactory and the Resolver (all must outlive the engine) and owns
// its worker threads and plugin instances (one set per worker thread, never shared between threads).
// Thread safety: AddPipeline during setup only. Afterwards every method may be called from any thread;
// polls of one pipeline are serialised; Drain and the background workers may run together (leases keep
// them apart). The destructor stops background workers.
#ifndef MLC_HOST_ENGINE_ENGINE_HPP_
#define MLC_HOST_ENGINE_ENGINE_HPP_

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "config/config.hpp"
#include "engine/audit.hpp"
#include "engine/instances.hpp"
#include "engine/jobs.hpp"
#include "engine/resolver.hpp"
#include "mlc/status.hpp"
#include "store/store.hpp"

namespace mlc::engine {

struct PipelineSpec {
  std::string name;
  std::string source;  // connection
  std::string target;  // connection
  std::vector<std::string> objects;
  std::string schedule;
  bool enabled = true;
  // Engine keys read from [pipelines.X.options] (others are left to the resolver): workers, max_attempts,
  // retry_base_ms, retry_cap_ms, page_size, overlap_pages, overlap_s, lease_s, streams = {object = stream}.
  nlohmann::json options = nlohmann::json::object();

  static PipelineSpec FromConfig(const config::Pipeline& p);
};

struct EngineOptions {
  int workers_per_pipeline = 2;
  int default_connection_concurrency = 4;  // when the factory names no cap for a connection
  int max_attempts = 8;                    // failed attempts before a job is dead
  std::chrono::milliseconds retry_base{5000};
  std::chrono::milliseconds retry_cap{15 * 60 * 1000};
  std::chrono::milliseconds lease{5 * 60 * 1000};
  std::chrono::milliseconds auth_wait{10 * 60 * 1000};  // a job that met AUTH tries again after this
  int page_size = 100;
  int overlap_pages = 1;                 // opaque/page cursors: re-read this many pages back
  std::chrono::seconds overlap{5 * 60};  // updated_since cursors: re-read this far back
  int max_pages_per_poll = 100000;
  std::function<int64_t()> now_ms;  // empty: the system clock
  std::function<double()> random;   // jitter source in [0, 1); empty: thread RNG
  std::string lease_owner;          // empty: ThisLeaseOwner()
};

// How a job's attempt ended.
// kAckQueued: written, its source ack waits in the pipeline's batch (a later flush decides the outcome).
enum class Disposition { kSucceeded, kReview, kDead, kUncertain, kRetrying, kWaitingAuth, kLost, kAckQueued };
std::string_view DispositionName(Disposition d);

struct PollOptions {
  std::optional<std::string> since;  // backfill: start at records updated at or after this RFC 3339 instant
  Actor actor = Actor::kScheduler;   // who asked (audit)
};

struct PollResult {
  int64_t pages = 0;
  int64_t records = 0;     // records read (overlap re-reads included)
  int64_t arrived = 0;     // new jobs
  int64_t duplicates = 0;  // records already in the inbox
  int64_t invalid = 0;     // records without a usable source id (kept, sent to review)
};

struct DrainOptions {
  // Keep going while a job's retry falls due within this long; zero: stop when nothing is due now.
  std::chrono::milliseconds wait_for_retries{0};
  // Only these jobs (replay); empty: every due job of the pipeline.
  std::vector<std::string> only_jobs;
  int workers = 0;  // 0: the pipeline's worker count
};

struct DrainResult {
  // Final disposition of each job the drain ran (the last attempt's).
  int64_t succeeded = 0;
  int64_t review = 0;
  int64_t dead = 0;
  int64_t uncertain = 0;
  int64_t retrying = 0;      // left pending with a retry scheduled
  int64_t waiting_auth = 0;  // left waiting for re-authorisation
  int64_t attempts = 0;      // job attempts made
  std::string paused;        // non-empty: why the pipeline's jobs could not run (needs_reauth)
};

struct ReplayResult {
  std::vector<std::string> queued;   // job ids set to run again
  std::vector<std::string> already;  // succeeded jobs: audited, nothing to do
  std::vector<std::string> running;  // leased by a live worker right now: left alone
};

struct PreviewItem {
  std::string job_id;
  std::string source_id;
  std::string source_version;
  std::string state;   // the job's current state, or "new"
  std::string action;  // write | ack_only | review | skip | none
  std::string reason;
  nlohmann::json write;  // {connection, object_type, idempotency_key, refs, reply} for "write"
  nlohmann::json ack;    // {connection, stream, items} for "write" and "ack_only"
  nlohmann::json ToJson() const;
};

struct DryRunReport {
  PollResult polled;
  std::vector<PreviewItem> items;
  nlohmann::json ToJson() const;
};

class Engine {
 public:
  Engine(store::Store& store, InstanceFactory& factory, Resolver& resolver, EngineOptions options = {});
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // Registers a pipeline (setup only). Invalid when the source declares no stream for an object, the
  // target declares no write for it, or an engine option has the wrong type.
  Status AddPipeline(const PipelineSpec& spec);
  std::vector<std::string> pipelines() const;
  Result<PipelineSpec> Pipeline(std::string_view name) const;

  // ---- arrive ----
  Result<PollResult> Poll(std::string_view pipeline, const PollOptions& options = {});
  // Stores records a webhook (or another push) delivered, as Poll stores a page; no cursor moves.
  Result<PollResult> Ingest(std::string_view pipeline, std::string_view object_type,
                            const std::vector<nlohmann::json>& records, Actor actor = Actor::kWebhook);

  // ---- work ----
  Result<DrainResult> Drain(std::string_view pipeline, const DrainOptions& options = {});
  // Background workers for every enabled pipeline until StopWorkers (or destruction).
  void StartWorkers();
  void StopWorkers();
  // Wakes the pipeline's background workers (new jobs arrived).
  void Notify(std::string_view pipeline);

  // ---- operate ----
  // Sets the jobs to run again (attempts reset, due now) with a `replayed` audit row each. Succeeded jobs
  // stay succeeded (audited as "already succeeded"). Unknown ids are NotFound before anything changes.
  Result<ReplayResult> Replay(const std::vector<std::string>& job_ids);
  // Job ids of `pipeline` in `state` updated since `since_ms` (for `replay --state`).
  Result<std::vector<std::string>> SelectJobs(std::string_view pipeline, JobState state,
                                              int64_t since_ms = 0);

  // Polls and runs every unfinished job of the pipeline without changing anything: no store writes, writes
  // go to the target with dry_run, acks are only described.
  Result<DryRunReport> DryRun(std::string_view pipeline, const PollOptions& options = {});

  // Why the pipeline cannot run now ("connection X needs re-authorisation"), or empty.
  Result<std::string> PausedReason(std::string_view pipeline);

  store::Store& store() { return store_; }

 private:
  struct Stream {
    std::string object_type;
    std::string name;
    std::string cursor_kind;  // opaque | updated_since | page | none
    bool overlap = true;      // manifest streams[].overlap: false when the cursor needs no re-read window
  };
  struct Settings {
    int workers;
    int max_attempts;
    std::chrono::milliseconds retry_base;
    std::chrono::milliseconds retry_cap;
    std::chrono::milliseconds lease;
    int page_size;
    int overlap_pages;
    std::chrono::seconds overlap;
    int ack_batch;                        // source acks per request (1: one per job)
    std::chrono::milliseconds ack_delay;  // the longest a written job waits for its batch to fill
  };
  struct PipelineState {
    PipelineSpec spec;
    Settings settings;
    std::vector<Stream> streams;
    std::map<std::string, std::string, std::less<>> write_idempotency;  // object -> native|marker|none
    std::mutex poll_mu;                                                 // one poll at a time
    std::unique_ptr<loader::PluginInstance> poll_instance;              // guarded by poll_mu
    std::mutex wake_mu;
    std::condition_variable wake;
    uint64_t wake_seq = 0;  // guarded by wake_mu
    // Written jobs whose source ack waits for a batch. They stay leased ('running') until flushed, so a
    // crash leaves them to be re-leased and acked from their link.
    std::mutex ack_mu;
    std::vector<Job> ack_queue;  // guarded by ack_mu
    int64_t ack_oldest_ms = 0;   // when the oldest queued job was written; guarded by ack_mu
  };
  class Worker;
  class Gate;

  Result<PipelineState*> Find(std::string_view name) const;
  int64_t Now() const;
  const std::string& Owner() const;

  // Stores one page (or webhook batch) and, when `cursor` is given, saves it in the same transaction.
  Status StoreRecords(PipelineState& p, const Stream& stream, const nlohmann::json& records, bool via_webhook,
                      Actor actor, const CursorState* cursor, PollResult* result);
  Result<nlohmann::json> StartCursor(const PipelineState& p, const Stream& stream,
                                     const CursorState& cs) const;
  Result<nlohmann::json> ReadPage(PipelineState& p, const Stream& stream, const nlohmann::json& cursor,
                                  const std::optional<std::string>& since);

  // Leasing.
  Result<std::optional<Job>> LeaseNext(PipelineState& p);
  Result<std::optional<Job>> LeaseJob(PipelineState& p, const std::string& job_id);
  Status ReclaimDeadLeases(PipelineState& p);
  Result<std::optional<int64_t>> NextDue(PipelineState& p, const std::vector<std::string>& only);

  // Running one leased job.
  Disposition RunJob(PipelineState& p, Worker& w, Job job);
  Disposition Fail(PipelineState& p, Job& job, const Status& status, Step step, Worker& w,
                   std::optional<RequestNote> request = std::nullopt);
  Disposition ToReview(PipelineState& p, Job& job, const std::string& kind, const std::string& detail,
                       nlohmann::json audit_detail = nlohmann::json::object());
  Disposition ToDead(PipelineState& p, Job& job, const Status& status, Step step,
                     std::optional<RequestNote> request);
  Disposition Ack(PipelineState& p, Worker& w, Job& job);
  // Sends queued acks: all of them with `force`, else only a full batch or one whose oldest job waited
  // ack_delay. Returns each flushed job's outcome.
  std::vector<std::pair<std::string, Disposition>> FlushAcks(PipelineState& p, Worker& w, bool force);
  std::vector<std::pair<std::string, Disposition>> AckBatch(PipelineState& p, Worker& w,
                                                            std::vector<Job> jobs);

  // Runs workers on this thread and `n - 1` others until no job (of `only`, if given) is due.
  DrainResult RunWorkers(PipelineState& p, const DrainOptions& options);
  void BackgroundLoop(PipelineState* p);

  std::string StreamFor(const PipelineState& p, std::string_view object_type) const;

  store::Store& store_;
  InstanceFactory& factory_;
  Resolver& resolver_;
  const EngineOptions options_;
  std::unique_ptr<Gate> gate_;
  std::map<std::string, std::unique_ptr<PipelineState>, std::less<>> pipelines_;

  std::mutex bg_mu_;
  std::atomic<bool> stopping_{false};
  std::vector<std::thread> bg_threads_;
};

}  // namespace mlc::engine

#endif  // MLC_HOST_ENGINE_ENGINE_HPP_
