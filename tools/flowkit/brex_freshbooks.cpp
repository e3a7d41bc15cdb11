// The Brex -> FreshBooks flow as processes (see brex_freshbooks.hpp).
#include "flowkit/brex_freshbooks.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <set>
#include <sstream>
#include <thread>

#include "store/store.hpp"

namespace mlc::flowkit {

using nlohmann::json;

namespace {

// A TOML basic string (JSON string escaping is a subset TOML accepts for these values).
std::string Q(const std::string& s) { return json(s).dump(); }

// An inline TOML table from a flat JSON object of strings, numbers and booleans.
std::string InlineTable(const json& object) {
  std::string out = "{ ";
  bool first = true;
  for (const auto& [k, v] : object.items()) {
    if (!first) out += ", ";
    first = false;
    out += k + " = " + v.dump();
  }
  return out + (first ? "}" : " }");
}

// Writes `content` to a file created with `mode` (a key file is never readable by others, even briefly).
Status WriteFile(const std::string& path, const std::string& content, mode_t mode = 0644) {
  ::unlink(path.c_str());
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd < 0) return Status::Error("cannot create " + path);
  size_t off = 0;
  while (off < content.size()) {
    const ssize_t n = ::write(fd, content.data() + off, content.size() - off);
    if (n <= 0) {
      ::close(fd);
      return Status::Error("cannot write " + path);
    }
    off += static_cast<size_t>(n);
  }
  return ::close(fd) == 0 ? Status::Ok() : Status::Error("cannot write " + path);
}

}  // namespace

// A per-minute rate as a per-second window: the same long-run rate, and the host's limiter keeps one entry
// per request a window allows, so 10,000,000 a minute would cost it 80 MB.
static int PerSecond(int per_minute) { return std::max(1, per_minute / 60); }

std::string MarkerOf(const json& expense) {
  static constexpr std::string_view kPrefix = "mlc:";  // the freshbooks plugin's marker line
  const std::string notes = expense.is_object() ? expense.value("notes", std::string()) : std::string();
  const size_t nl = notes.rfind('\n');
  const std::string last = nl == std::string::npos ? notes : notes.substr(nl + 1);
  return last.rfind(kPrefix, 0) == 0 ? last.substr(kPrefix.size()) : std::string();
}

std::string IdText(const json& id) { return id.is_string() ? id.get<std::string>() : id.dump(); }

const json* FindRecord(const json& records, const std::string& source_id) {
  if (!records.is_array()) return nullptr;
  for (const auto& r : records) {
    if (!r.is_object()) continue;
    if (IdText(r.value("id", json())) == source_id || IdText(r.value("source_id", json())) == source_id)
      return &r;
  }
  return nullptr;
}

std::string ExactlyOnceReport::Describe(size_t max_lines) const {
  std::string out;
  for (size_t i = 0; i < problems.size() && i < max_lines; ++i) out += problems[i] + "\n";
  if (problems.size() > max_lines)
    out += "... and " + std::to_string(problems.size() - max_lines) + " more problem(s)\n";
  return out;
}

std::string PipelineToml(const std::string& schedule, int workers, const json& extra_options) {
  json options = {{"workers", workers},
                  {"auto_accept", 0.9},
                  {"review_floor", 0.6},
                  {"unmatched_vendor", "create"},
                  {"account_ref", "category"}};
  for (const auto& [k, v] : extra_options.items()) options[k] = v;
  std::ostringstream t;
  t << "[pipelines." << kPipeline << "]\n"
    << "source = \"brex\"\n"
    << "target = \"freshbooks\"\n"
    << "objects = [\"expense\", \"vendor\"]\n";
  if (!schedule.empty()) t << "schedule = " << Q(schedule) << "\n";
  t << "options = " << InlineTable(options) << "\n\n"
    << "# Brex GL accounts (the agency's chart) -> FreshBooks expense categories.\n"
    << "[pipelines." << kPipeline << ".mappings.gl_account]\n"
    << "\"6010\" = \"Software\"\n"
    << "\"6020\" = \"Online Services\"\n"
    << "\"6110\" = \"Media Buying (Rebillable)\"\n"
    << "\"6210\" = \"Airfare\"\n"
    << "\"6220\" = \"Taxi & Parking\"\n"
    << "\"6230\" = \"Hotel/Lodging/Accommodation\"\n"
    << "\"6310\" = \"Restaurants/Dining\"\n"
    << "\"6410\" = \"Office Supplies\"\n";
  return t.str();
}

Result<std::unique_ptr<BrexFreshbooksFlow>> BrexFreshbooksFlow::Create(const Paths& paths,
                                                                       const FlowOptions& options) {
  if (options.workdir.empty()) return Status::Invalid("FlowOptions.workdir is required");
  std::unique_ptr<BrexFreshbooksFlow> flow(new BrexFreshbooksFlow());
  flow->paths_ = paths;
  flow->options_ = options;
  MLC_ASSIGN_OR_RETURN(flow->port_, PickFreePort());

  json brex_options = options.brex_options;
  if (options.rate_per_minute > 0) {
    brex_options["rate_limit"] = {{"limit", PerSecond(options.rate_per_minute)}, {"window_s", 1}};
  }
  EmulatorSpec brex{.vendor = "brex",
                    .seed = options.seed,
                    .records = options.brex_records,
                    .options = brex_options,
                    .webhook_url = options.webhooks ? flow->webhook_url() : std::string(),
                    .log_path = options.workdir + "/brex-emulator.log"};
  MLC_ASSIGN_OR_RETURN(flow->brex_, EmulatorProcess::Start(paths.sandbox, brex));
  json fb_options = options.freshbooks_options;
  if (options.rate_per_minute > 0)
    fb_options["rate_limit"] = {{"limit", PerSecond(options.rate_per_minute)}, {"window_s", 1}};
  EmulatorSpec fb{.vendor = "freshbooks",
                  .seed = options.seed,
                  .options = fb_options,
                  .log_path = options.workdir + "/freshbooks-emulator.log"};
  MLC_ASSIGN_OR_RETURN(flow->freshbooks_, EmulatorProcess::Start(paths.sandbox, fb));
  MLC_ASSIGN_OR_RETURN(json seeded, flow->FreshbooksExpenses());
  flow->freshbooks_seeded_expenses_ = seeded.is_array() ? static_cast<int64_t>(seeded.size()) : 0;

  // The vault's master key in a 0600 file beside the config, so an operator can run `mlc` against this
  // folder afterwards (`mlc --config DIR/mlc.toml audit ...`). The environment must not override it.
  flow->env_ = {{"MLC_MASTER_KEY", ""}, {"MLC_CONFIG", ""}};
  MLC_RETURN_IF_ERROR(WriteFile(options.workdir + "/master.key", RandomMasterKey() + "\n", 0600));
  MLC_RETURN_IF_ERROR(flow->WriteConfig(flow->port_));
  flow->host_ =
      std::make_unique<HostProcess>(paths.mlc, flow->config_path_, flow->env_, options.workdir + "/host.log");

  // Secrets, as an operator stores them: values on stdin, never in argv or the config file.
  const json& bc = flow->brex_->credentials();
  const json& fc = flow->freshbooks_->credentials();
  MLC_RETURN_IF_ERROR(flow->PutSecret("brex", "token", bc.value("user_token", std::string())));
  MLC_RETURN_IF_ERROR(flow->PutSecret("freshbooks", "client_id", fc.value("client_id", std::string())));
  MLC_RETURN_IF_ERROR(
      flow->PutSecret("freshbooks", "client_secret", fc.value("client_secret", std::string())));
  MLC_RETURN_IF_ERROR(
      flow->PutSecret("freshbooks", "refresh_token", fc.value("refresh_token", std::string())));
  if (options.webhooks) {
    // The signing secret of Brex's webhooks (GET /v1/webhooks/secrets; the first is the current one).
    MLC_ASSIGN_OR_RETURN(
        json secrets,
        flow->brex_->Call("GET", "/v1/webhooks/secrets", nullptr,
                          {{"Authorization", "Bearer " + bc.value("user_token", std::string())}}));
    if (!secrets.is_array() || secrets.empty() || !secrets[0].is_object())
      return Status::Error("Brex emulator: no webhook signing secret");
    MLC_RETURN_IF_ERROR(flow->PutSecret("brex", "webhook_secret", secrets[0].value("secret", std::string())));
  }
  return flow;
}

BrexFreshbooksFlow::~BrexFreshbooksFlow() {
  if (host_ && host_->running()) (void)host_->Stop(std::chrono::seconds(30));
}

std::string BrexFreshbooksFlow::webhook_url() const {
  return "http://127.0.0.1:" + std::to_string(port_) + "/webhooks/brex";
}

Status BrexFreshbooksFlow::WriteConfig(int listen_port) {
  const json& fc = freshbooks_->credentials();
  std::ostringstream t;
  t << "# Written by the flow kit: Brex -> FreshBooks against the two emulators.\n"
    << "[host]\n"
    << "plugin_dirs = [" << Q(paths_.plugin_dir) << "]\n"
    << "listen = " << Q("127.0.0.1:" + std::to_string(listen_port)) << "\n"
    << "public_url = " << Q("http://127.0.0.1:" + std::to_string(listen_port)) << "\n"
    << "log_level = " << Q(options_.log_level) << "\n\n"
    << "[store]\npath = \"mlc.db\"\nsynchronous = \"NORMAL\"\n\n"
    << "[vault]\nkey_file = \"master.key\"\n\n"
    << "[connections.brex]\n"
    << "plugin = \"brex\"\n"
    << "settings = { base_url = " << Q(brex_->base_url()) << " }\n"
    << "secrets = { token = \"vault\"" << (options_.webhooks ? ", webhook_secret = \"vault\"" : "") << " }\n";
  if (options_.rate_per_minute > 0) {
    t << "rate_limits = [{ requests = " << PerSecond(options_.rate_per_minute) << ", per_seconds = 1 }]\n";
  }
  if (options_.connection_concurrency > 0) t << "concurrency = " << options_.connection_concurrency << "\n";
  t << "\n"
    << "[connections.freshbooks]\n"
    << "plugin = \"freshbooks\"\n"
    << "settings = { base_url = " << Q(fc.value("api_base_url", freshbooks_->base_url()))
    << ", auth_url = " << Q(freshbooks_->base_url()) << " }\n"
    << "secrets = { client_id = \"vault\", client_secret = \"vault\", refresh_token = \"vault\" }\n";
  if (options_.rate_per_minute > 0) {
    t << "rate_limits = [{ requests = " << PerSecond(options_.rate_per_minute) << ", per_seconds = 1 }]\n";
  }
  if (options_.connection_concurrency > 0) t << "concurrency = " << options_.connection_concurrency << "\n";
  t << "\n" << PipelineToml(options_.schedule, options_.workers, options_.pipeline_options);
  config_path_ = options_.workdir + "/mlc.toml";
  return WriteFile(config_path_, t.str());
}

Status BrexFreshbooksFlow::PutSecret(const std::string& connection, const std::string& field,
                                     const std::string& value) const {
  if (value.empty()) return Status::Error("no value for secret " + connection + "/" + field);
  testing::ProcessResult r = host_->Run({"vault", "put", connection, field}, value);
  if (r.exit_code != 0) {
    return Status::Error("mlc vault put " + connection + " " + field + " failed (exit " +
                         std::to_string(r.exit_code) + "): " + r.err);
  }
  return Status::Ok();
}

Status BrexFreshbooksFlow::StartHost() { return host_->Start(); }

testing::ProcessResult BrexFreshbooksFlow::Mlc(const std::vector<std::string>& args,
                                               const std::string& stdin_data) const {
  return host_->Run(args, stdin_data);
}

Result<std::vector<std::string>> BrexFreshbooksFlow::MarkReady(int count) {
  MLC_ASSIGN_OR_RETURN(
      json r,
      brex_->Post("/_sandbox/events", {{"type", "ACCOUNTING_RECORD_READY_FOR_EXPORT"}, {"count", count}}));
  std::vector<std::string> ids;
  for (const char* key : {"record_ids", "ids"}) {
    if (r.contains(key) && r[key].is_array()) {
      for (const auto& id : r[key])
        if (id.is_string()) ids.push_back(id.get<std::string>());
      break;
    }
  }
  return ids;
}

Result<JobCounts> BrexFreshbooksFlow::Jobs() const {
  MLC_ASSIGN_OR_RETURN(
      auto store,
      store::Store::Open({.path = options_.workdir + "/mlc.db", .synchronous = "NORMAL", .read_only = true}));
  MLC_ASSIGN_OR_RETURN(auto rows,
                       store->Query("SELECT state, object_type, COUNT(*) FROM jobs WHERE pipeline = $1 "
                                    "GROUP BY state, object_type",
                                    {std::string(kPipeline)}));
  JobCounts counts;
  for (const auto& row : rows) {
    counts.by_state[row.Text(0)] += row.Int(2);
    counts.total += row.Int(2);
    if (row.Text(1) == "expense") counts.expenses += row.Int(2);
  }
  return counts;
}

Result<std::vector<JobRow>> BrexFreshbooksFlow::JobRows() const {
  MLC_ASSIGN_OR_RETURN(
      auto store,
      store::Store::Open({.path = options_.workdir + "/mlc.db", .synchronous = "NORMAL", .read_only = true}));
  MLC_ASSIGN_OR_RETURN(auto rows, store->Query("SELECT id, source_id, state, COALESCE(target_id, ''), "
                                               "idempotency_key, acked_at IS NOT NULL, attempts, object_type "
                                               "FROM jobs "
                                               "WHERE pipeline = $1 ORDER BY source_id",
                                               {std::string(kPipeline)}));
  std::vector<JobRow> out;
  for (const auto& row : rows) {
    out.push_back({.id = row.Text(0),
                   .object_type = row.Text(7),
                   .source_id = row.Text(1),
                   .state = row.Text(2),
                   .target_id = row.Text(3),
                   .idempotency_key = row.Text(4),
                   .acked = row.Int(5) != 0,
                   .attempts = row.Int(6)});
  }
  return out;
}

Status BrexFreshbooksFlow::WaitSettled(std::chrono::milliseconds timeout, int64_t expected_expenses) const {
  // Settled = nothing left to run, and no new job for a second (a poll may still be between pages).
  using Clock = std::chrono::steady_clock;
  const auto deadline = Clock::now() + timeout;
  JobCounts last;
  int64_t quiet_total = -1;
  Clock::time_point quiet_since;
  while (true) {
    auto counts = Jobs();
    if (counts.ok()) {
      last = *counts;
      const bool done =
          (expected_expenses > 0 ? last.expenses >= expected_expenses : last.total > 0) && last.Settled();
      if (!done) {
        quiet_total = -1;
      } else if (quiet_total != last.total) {
        quiet_total = last.total;
        quiet_since = Clock::now();
      } else if (Clock::now() - quiet_since >= std::chrono::seconds(1)) {
        return Status::Ok();
      }
    }
    if (Clock::now() >= deadline) {
      json states = last.by_state;
      return Status::Error("jobs did not settle in time: " + states.dump() +
                           (counts.ok() ? "" : " (" + counts.status().message() + ")"));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

Result<json> BrexFreshbooksFlow::BrexRecords() const { return brex_->Objects("accounting_records"); }

Result<json> BrexFreshbooksFlow::FreshbooksExpenses() const { return freshbooks_->Objects("expenses"); }

Result<FlowSummary> BrexFreshbooksFlow::Summarize() const {
  FlowSummary s;
  MLC_ASSIGN_OR_RETURN(s.jobs, Jobs());
  MLC_ASSIGN_OR_RETURN(json bstats, brex_->Stats());
  MLC_ASSIGN_OR_RETURN(json fstats, freshbooks_->Stats());
  s.brex_requests = bstats.value("requests_total", int64_t{0});
  s.freshbooks_requests = fstats.value("requests_total", int64_t{0});
  s.brex_by_route = bstats.value("requests", json::object());
  s.freshbooks_by_route = fstats.value("requests", json::object());
  MLC_ASSIGN_OR_RETURN(json expenses, FreshbooksExpenses());
  if (expenses.is_array())
    s.freshbooks_expenses_created = static_cast<int64_t>(expenses.size()) - freshbooks_seeded_expenses_;
  // Brex records this flow marked exported (the seed starts with some exported by someone else).
  MLC_ASSIGN_OR_RETURN(json records, BrexRecords());
  MLC_ASSIGN_OR_RETURN(std::vector<JobRow> jobs, JobRows());
  std::set<std::string> exported;
  if (records.is_array()) {
    for (const auto& r : records) {
      if (r.is_object() && r.value("review_status", std::string()) == "EXPORTED" && r.contains("id"))
        exported.insert(r["id"].is_string() ? r["id"].get<std::string>() : r["id"].dump());
    }
  }
  for (const auto& job : jobs) s.brex_records_exported += job.acked && exported.count(job.source_id) ? 1 : 0;
  MLC_ASSIGN_OR_RETURN(
      auto store,
      store::Store::Open({.path = options_.workdir + "/mlc.db", .synchronous = "NORMAL", .read_only = true}));
  MLC_ASSIGN_OR_RETURN(
      auto rows,
      store->Query("SELECT source_id, COALESCE(review_kind, '') || ': ' || COALESCE(review_detail, "
                   "last_error, '') FROM jobs WHERE pipeline = $1 AND state = 'review' "
                   "ORDER BY source_id",
                   {std::string(kPipeline)}));
  for (const auto& row : rows) s.review_reasons.push_back(row.Text(0) + ": " + row.Text(1));
  return s;
}

Result<ExactlyOnceReport> BrexFreshbooksFlow::CheckExactlyOnce() const {
  MLC_ASSIGN_OR_RETURN(std::vector<JobRow> jobs, JobRows());
  MLC_ASSIGN_OR_RETURN(json expenses, FreshbooksExpenses());
  MLC_ASSIGN_OR_RETURN(json records, BrexRecords());
  if (!expenses.is_array() || !records.is_array())
    return Status::Error("emulator objects are not arrays (expenses or accounting_records)");
  ExactlyOnceReport r;
  auto problem = [&r](std::vector<std::string>* list, const std::string& id, const std::string& line) {
    if (list) list->push_back(id);
    r.problems.push_back(line);
  };

  std::map<std::string, std::vector<std::string>> by_marker;  // marker -> live expense ids
  for (const auto& e : expenses) {
    if (!e.is_object() || e.value("vis_state", 0) != 0) continue;  // deleted in FreshBooks
    const std::string marker = MarkerOf(e);
    if (marker.empty()) continue;
    by_marker[marker].push_back(IdText(e.value("id", json())));
    ++r.flow_expenses;
  }
  for (const auto& [marker, ids] : by_marker) {
    if (ids.size() <= 1) continue;
    r.duplicate_markers[marker] = static_cast<int64_t>(ids.size());
    std::string list;
    for (const auto& id : ids) list += (list.empty() ? "" : ", ") + id;
    r.problems.push_back("marker " + marker + " is on " + std::to_string(ids.size()) +
                         " FreshBooks expenses (" + list + ")");
  }

  std::set<std::string> succeeded_keys;
  std::set<std::string> job_sources;  // source ids of every expense job, whatever its state
  for (const auto& job : jobs) {
    if (job.object_type != "expense") continue;
    job_sources.insert(job.source_id);
    if (job.state != "succeeded") continue;
    ++r.succeeded_expense_jobs;
    succeeded_keys.insert(job.idempotency_key);
    const std::string who = "job " + job.id + " (source " + job.source_id + ")";
    auto it = by_marker.find(job.idempotency_key);
    if (it == by_marker.end()) {
      problem(&r.jobs_without_expense, job.id,
              who + " succeeded but no FreshBooks expense carries its marker");
    } else if (std::find(it->second.begin(), it->second.end(), job.target_id) == it->second.end()) {
      problem(&r.jobs_with_wrong_target, job.id,
              who + " links to expense '" + job.target_id + "' but its marker is on " + it->second.front());
    }
    if (!job.acked) problem(&r.jobs_not_acked, job.id, who + " succeeded without its Brex ack");
    const json* record = FindRecord(records, job.source_id);
    if (record == nullptr) {
      problem(&r.records_not_exported, job.source_id, who + ": Brex has no such accounting record");
    } else if (record->value("review_status", std::string()) != "EXPORTED") {
      problem(&r.records_not_exported, job.source_id,
              who + ": the Brex record is " + record->value("review_status", std::string("?")) +
                  ", not EXPORTED");
    }
  }
  for (const auto& [marker, ids] : by_marker) {
    if (succeeded_keys.count(marker)) continue;
    for (const auto& id : ids) {
      problem(&r.expenses_without_job, id,
              "FreshBooks expense " + id + " carries marker " + marker + " of no succeeded job");
    }
  }
  for (const auto& rec : records) {
    if (!rec.is_object() || rec.value("review_status", std::string()) != "READY_FOR_EXPORT") continue;
    const std::string id = IdText(rec.value("id", json()));
    const std::string source = IdText(rec.value("source_id", json()));
    if (job_sources.count(id) || job_sources.count(source)) continue;
    problem(&r.ready_records_without_job, id, "Brex record " + id + " is READY_FOR_EXPORT but has no job");
  }
  return r;
}

}  // namespace mlc::flowkit
