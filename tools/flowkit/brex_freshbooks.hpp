// The Brex -> FreshBooks flow, assembled from real parts: the Brex and FreshBooks emulators, the `mlc`
// binary with the brex and freshbooks plugins, a configuration an operator could have written (the
// pipeline of docs/examples/brex-freshbooks.toml), secrets put in the vault through `mlc vault put`, and
// the host subscribed to Brex webhooks. The README demo, the flow e2e tests and mlc-bench all run it.
//
//   FlowOptions options{.workdir = dir, .brex_records = 200};
//   MLC_ASSIGN_OR_RETURN(auto flow, BrexFreshbooksFlow::Create(Paths::OfThisBuild(), options));
//   MLC_RETURN_IF_ERROR(flow->StartHost());                // mlc serve: webhooks + scheduler
//   MLC_ASSIGN_OR_RETURN(auto ids, flow->MarkReady(20));   // Brex codes 20 records: webhooks fire
//   MLC_RETURN_IF_ERROR(flow->WaitSettled(std::chrono::minutes(2)));
//   MLC_ASSIGN_OR_RETURN(FlowSummary s, flow->Summarize());
//
// Ownership: owns the emulators and the host process; everything lives under options.workdir (config,
// store, key material stays in the environment, logs). Thread safety: one thread.
#ifndef MLC_TOOLS_FLOWKIT_BREX_FRESHBOOKS_HPP_
#define MLC_TOOLS_FLOWKIT_BREX_FRESHBOOKS_HPP_

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "flowkit/processes.hpp"
#include "mlc/status.hpp"

namespace mlc::flowkit {

inline constexpr const char* kPipeline = "brex_to_freshbooks";

struct FlowOptions {
  std::string workdir;  // an existing folder for mlc.toml, mlc.db and the logs
  uint64_t seed = 7;
  int brex_records = 120;                                        // a month of agency spend on Brex cards
  nlohmann::json brex_options = nlohmann::json::object();        // emulator switches (brex_model.hpp)
  nlohmann::json freshbooks_options = nlohmann::json::object();  // emulator switches
  bool webhooks = true;                                          // subscribe the host to Brex's webhooks
  std::string schedule;  // the pipeline's poll schedule; empty: polls only when triggered
  int workers = 4;       // job workers of the pipeline
  nlohmann::json pipeline_options = nlohmann::json::object();  // merged into [pipelines.X.options]
  std::string log_level = "info";
  // > 0: requests per minute for BOTH vendors, set in the emulators and as the connections' rate limits,
  // as a one-second window of rate/60 (tests and benchmarks that move many records; default: the
  // documented Brex 1,000/min and FreshBooks 600/min).
  int rate_per_minute = 0;
  // > 0: plugin calls in flight per connection (`concurrency` of both connections; default: the host's 4).
  int connection_concurrency = 0;
};

struct JobCounts {
  std::map<std::string, int64_t> by_state;  // pending, running, succeeded, review, dead, uncertain
  int64_t total = 0;
  int64_t expenses = 0;  // jobs of object type expense (the rest align vendors)
  int64_t Get(const std::string& state) const {
    auto it = by_state.find(state);
    return it == by_state.end() ? 0 : it->second;
  }
  // Nothing left to do: every job succeeded, is in review or is dead.
  bool Settled() const { return Get("pending") + Get("running") + Get("uncertain") == 0; }
};

// One job of the pipeline as the store holds it.
struct JobRow {
  std::string id;
  std::string object_type;  // expense or vendor
  std::string source_id;
  std::string state;
  std::string target_id;  // empty until written
  std::string idempotency_key;
  bool acked = false;
  int64_t attempts = 0;
};

struct FlowSummary {
  JobCounts jobs;
  int64_t brex_requests = 0;        // vendor API requests the Brex emulator served
  int64_t freshbooks_requests = 0;  // and FreshBooks
  nlohmann::json brex_by_route;     // requests by route
  nlohmann::json freshbooks_by_route;
  int64_t freshbooks_expenses_created = 0;  // expenses the flow created in FreshBooks
  int64_t brex_records_exported = 0;        // Brex accounting records marked exported
  std::vector<std::string> review_reasons;  // one line per job in review
};

// The exactly-once verdict of one flow, from the vendors' own state (FreshBooks expenses and their marker
// lines, Brex accounting records) compared with the host's jobs. Every list holds ids; ok() when `problems`
// is empty.
struct ExactlyOnceReport {
  int64_t succeeded_expense_jobs = 0;
  int64_t flow_expenses = 0;  // live FreshBooks expenses that carry a marker of this flow
  std::map<std::string, int64_t> duplicate_markers;    // marker -> live expenses carrying it (> 1)
  std::vector<std::string> expenses_without_job;       // expense ids whose marker no succeeded job owns
  std::vector<std::string> jobs_without_expense;       // succeeded expense jobs with no expense
  std::vector<std::string> jobs_with_wrong_target;     // target id is not the marker's expense
  std::vector<std::string> jobs_not_acked;             // succeeded without their Brex ack
  std::vector<std::string> records_not_exported;       // Brex records of succeeded jobs not EXPORTED
  std::vector<std::string> ready_records_without_job;  // READY_FOR_EXPORT in Brex, no expense job at all
  std::vector<std::string> problems;                   // one readable line per finding above
  bool ok() const { return problems.empty(); }
  // The problems, one per line (at most `max_lines`, then a count of the rest).
  std::string Describe(size_t max_lines = 20) const;
};

// The marker of a FreshBooks expense (the last line of its notes, "mlc:<idempotency key>"), or "" for one
// the flow did not create.
std::string MarkerOf(const nlohmann::json& expense);
// An id as text (vendors send strings or numbers).
std::string IdText(const nlohmann::json& id);
// The Brex accounting record a job's source id names (the record id, or the expense it books), or null.
const nlohmann::json* FindRecord(const nlohmann::json& records, const std::string& source_id);

class BrexFreshbooksFlow {
 public:
  // Starts both emulators, writes mlc.toml, stores the secrets in the vault and (with webhooks) registers
  // the host's webhook endpoint with Brex and vaults its signing secret. The host is not started yet.
  static Result<std::unique_ptr<BrexFreshbooksFlow>> Create(const Paths& paths, const FlowOptions& options);
  ~BrexFreshbooksFlow();

  EmulatorProcess& brex() { return *brex_; }
  EmulatorProcess& freshbooks() { return *freshbooks_; }
  HostProcess& host() { return *host_; }
  const std::string& config_path() const { return config_path_; }
  const std::map<std::string, std::string>& env() const { return env_; }
  std::string webhook_url() const;

  Status StartHost();
  // One `mlc` command against this flow's configuration.
  testing::ProcessResult Mlc(const std::vector<std::string>& args, const std::string& stdin_data = {}) const;

  // Brex codes `count` pending accounting records and marks them ready for export (webhooks fire to every
  // subscriber). Returns the record ids.
  Result<std::vector<std::string>> MarkReady(int count);

  // Job counts of the pipeline, and every job, read from the store.
  Result<JobCounts> Jobs() const;
  Result<std::vector<JobRow>> JobRows() const;
  // Waits until `expected_expenses` expense jobs exist (0: any job) and all jobs are settled, re-checking
  // every 100 ms.
  Status WaitSettled(std::chrono::milliseconds timeout, int64_t expected_expenses = 0) const;

  // Brex accounting records as the emulator holds them, and FreshBooks expenses.
  Result<nlohmann::json> BrexRecords() const;
  Result<nlohmann::json> FreshbooksExpenses() const;

  Result<FlowSummary> Summarize() const;

  // Reads the jobs, the FreshBooks expenses and the Brex records and checks that every succeeded expense
  // job landed exactly once and was acknowledged, nothing else carries a marker, and no record waiting for
  // export was missed (see ExactlyOnceReport). An error only when something could not be read.
  Result<ExactlyOnceReport> CheckExactlyOnce() const;

 private:
  BrexFreshbooksFlow() = default;
  Status WriteConfig(int listen_port);
  Status PutSecret(const std::string& connection, const std::string& field, const std::string& value) const;

  Paths paths_;
  FlowOptions options_;
  std::unique_ptr<EmulatorProcess> brex_;
  std::unique_ptr<EmulatorProcess> freshbooks_;
  std::unique_ptr<HostProcess> host_;
  std::string config_path_;
  std::map<std::string, std::string> env_;
  int port_ = 0;
  int64_t freshbooks_seeded_expenses_ = 0;  // expenses the FreshBooks emulator starts with
};

// The [pipelines] part of the configuration: GL codes -> FreshBooks expense categories for the agency's
// chart (shared with docs/examples/brex-freshbooks.toml).
std::string PipelineToml(const std::string& schedule, int workers, const nlohmann::json& extra_options);

}  // namespace mlc::flowkit

#endif  // MLC_TOOLS_FLOWKIT_BREX_FRESHBOOKS_HPP_
