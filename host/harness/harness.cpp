// The acceptance suite: sets up the target (emulator or real sandbox), a throw-away host (store, vault,
// connection runtime) with good and bad connections, then runs the fixed checks in order.
#include "harness.hpp"

#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <sstream>
#include <utility>

#include "config/config.hpp"
#include "core/redact.hpp"
#include "loader/instance.hpp"
#include "loader/loader.hpp"
#include "mlc/json.hpp"
#include "mlc/sandbox/clock.hpp"
#include "mlc/sandbox/http_client.hpp"
#include "mlc/sandbox/server.hpp"
#include "runtime/connection_context.hpp"
#include "store/store.hpp"
#include "vault/vault.hpp"
#include "webhook_signers.hpp"

namespace mlc::harness {

const std::vector<std::string> kCheckNames = {"manifest",
                                              "check_good_credentials",
                                              "check_bad_credentials",
                                              "read_full",
                                              "read_incremental",
                                              "read_cursor_from_future",
                                              "write_idempotent",
                                              "write_lost_response",
                                              "webhook_good",
                                              "webhook_forged",
                                              "webhook_stale",
                                              "webhook_replayed",
                                              "rate_limit_429_storm",
                                              "token_expiry_mid_run"};

namespace {

using nlohmann::json;

// How often the lost-response fault fires: more than the host's attempts (5), so every try loses its reply.
constexpr int kDropFaultCount = 8;
// The 429 storm: half of the next kStormCount requests are refused.
constexpr double kStormRate = 0.5;
constexpr int kStormCount = 8;
// A read page that comes back RETRY is read again from the same cursor at most this often, as the engine's
// job retry would; the host's own retries happen inside each call.
constexpr int kPageRetries = 3;
constexpr int kMaxPages = 100000;

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// The status word as the ABI names it ("UNCERTAIN").
std::string Word(Code code) { return std::string(mlc::CodeName(code)); }

std::string Describe(const Status& s) { return Word(s.code()) + " (" + s.message() + ")"; }

std::string RandomHex(size_t n) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::random_device rd;
  std::string out;
  for (size_t i = 0; i < n; ++i) out.push_back(kHex[rd() % 16]);
  return out;
}

Result<json> ReadJsonFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::Invalid("cannot read " + path);
  std::ostringstream buf;
  buf << in.rdbuf();
  auto doc = mlc::json::ParseExact(buf.str());
  if (!doc.ok()) return doc.status().Wrap(path);
  return doc;
}

// Sum of the counters in a stats sub-object (e.g. tokens.issued + tokens.refreshed).
int64_t StatValue(const json& stats, const char* group, const char* key) {
  if (!stats.is_object() || !stats.contains(group) || !stats[group].is_object()) return 0;
  const json& g = stats[group];
  return g.contains(key) && g[key].is_number_integer() ? g[key].get<int64_t>() : 0;
}

// ---- the emulator's control API ---------------------------------------------------------------------

class SandboxControl {
 public:
  explicit SandboxControl(std::string base_url) : base_(std::move(base_url)) {}

  Result<json> Call(const std::string& method, const std::string& path, const json& body = json()) {
    const std::string text = body.is_null() ? std::string() : body.dump();
    auto r = client_.Send(method, base_ + path, {}, text);
    if (!r.ok()) return r.status().Wrap(method + " " + path);
    if (r->status != 200) {
      return Status::Error(method + " " + path + ": HTTP " + std::to_string(r->status) + " " +
                           r->body.substr(0, 300));
    }
    auto doc = r->Json();
    if (!doc.ok()) return doc.status().Wrap(method + " " + path);
    return doc;
  }

  // How many objects of `type` the emulator holds (arrays, or {"items"|"data": [...]}).
  Result<int64_t> Count(const std::string& type) {
    MLC_ASSIGN_OR_RETURN(json doc, Call("GET", "/_sandbox/objects/" + type));
    if (doc.is_array()) return static_cast<int64_t>(doc.size());
    for (const char* key : {"items", "data", "objects"}) {
      if (doc.is_object() && doc.contains(key) && doc[key].is_array())
        return static_cast<int64_t>(doc[key].size());
    }
    return Status::Error("/_sandbox/objects/" + type + " is not a list");
  }
  Status Faults(const json& spec) { return Call("POST", "/_sandbox/faults", spec).status(); }
  Status ClearFaults() { return Call("DELETE", "/_sandbox/faults").status(); }

 private:
  std::string base_;
  sandbox::HttpClient client_;
};

// Webhook deliveries the in-process emulator sends to the harness.
class WebhookReceiver {
 public:
  Status Start() {
    auto server = sandbox::HttpServer::Create({}, [this](sandbox::Request& req) {
      std::lock_guard lock(mu_);
      received_.push_back(req);
      return sandbox::Response::Empty(200);
    });
    if (!server.ok()) return server.status();
    server_ = std::move(*server);
    server_->Start();
    return Status::Ok();
  }
  std::string url() const { return server_ ? server_->base_url() + "/webhooks/harness" : std::string(); }
  std::optional<sandbox::Request> Last() const {
    std::lock_guard lock(mu_);
    if (received_.empty()) return std::nullopt;
    return received_.back();
  }
  size_t count() const {
    std::lock_guard lock(mu_);
    return received_.size();
  }

 private:
  mutable std::mutex mu_;
  std::vector<sandbox::Request> received_;
  std::unique_ptr<sandbox::HttpServer> server_;
};

// ---- a throw-away host --------------------------------------------------------------------------------

struct Credentials {
  json settings = json::object();
  std::map<std::string, std::string> secrets;
};

class HostSession {
 public:
  ~HostSession() {
    instances_.clear();
    runtime_.reset();
    vault_.reset();
    store_.reset();
    std::error_code ec;
    if (!dir_.empty()) std::filesystem::remove_all(dir_, ec);
  }

  Status Init() {
    std::string pattern = (std::filesystem::temp_directory_path() / "mlc-harness-XXXXXX").string();
    if (mkdtemp(pattern.data()) == nullptr) return Status::Error("cannot create a temporary directory");
    dir_ = pattern;
    store::OpenOptions store_options;
    store_options.path = (dir_ / "harness.db").string();
    store_options.synchronous = "NORMAL";  // a throw-away database: durability against power loss is moot
    MLC_ASSIGN_OR_RETURN(store_, store::Store::Open(store_options));
    MLC_ASSIGN_OR_RETURN(vault::Vault vault, vault::Vault::Open(*store_, vault::GenerateMasterKey()));
    vault_ = std::make_unique<vault::Vault>(std::move(vault));
    runtime::ConnectionRuntime::Options options;
    options.audit = [this](const runtime::RequestSummary& s) {
      std::lock_guard lock(mu_);
      ++requests_;
      if (s.refreshed) ++refreshes_;
    };
    runtime_ = std::make_unique<runtime::ConnectionRuntime>(*store_, vault_.get(), std::move(options));
    return Status::Ok();
  }

  const std::filesystem::path& dir() const { return dir_; }

  Status AddConnection(const std::string& name, const std::shared_ptr<const loader::LoadedPlugin>& plugin,
                       const Credentials& creds) {
    config::Connection conn;
    conn.name = name;
    conn.plugin = plugin->name;
    conn.settings = creds.settings;
    for (const auto& [field, value] : creds.secrets) {
      MLC_RETURN_IF_ERROR(vault_->Put(name, field, value));
      config::SecretRef ref;
      ref.kind = config::SecretRef::Kind::kVault;
      ref.connection = name;
      ref.field = field;
      conn.secrets[field] = ref;
    }
    return runtime_->AddConnection(conn, plugin);
  }

  Result<loader::PluginInstance*> Open(const std::string& name) {
    MLC_ASSIGN_OR_RETURN(auto instance, runtime_->OpenInstance(name));
    instances_.push_back(std::move(instance));
    return instances_.back().get();
  }

  int64_t refreshes() const {
    std::lock_guard lock(mu_);
    return refreshes_;
  }

 private:
  std::filesystem::path dir_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<vault::Vault> vault_;
  std::unique_ptr<runtime::ConnectionRuntime> runtime_;
  std::vector<std::unique_ptr<loader::PluginInstance>> instances_;
  mutable std::mutex mu_;
  int64_t requests_ = 0;
  int64_t refreshes_ = 0;
};

// ---- reading ------------------------------------------------------------------------------------------

struct ReadOutcome {
  Status status;  // the first failure that ended the read
  std::vector<json> records;
  json end_cursor;
  int pages = 0;
  int page_retries = 0;  // pages read again after RETRY
  std::vector<std::string> duplicates;
};

std::string RecordId(const json& record) {
  if (!record.is_object() || !record.contains("source") || !record["source"].is_object()) return {};
  const json& source = record["source"];
  return source.contains("id") && source["id"].is_string() ? source["id"].get<std::string>() : std::string();
}

// Reads `stream` from `cursor` until has_more is false.
ReadOutcome ReadAll(loader::PluginInstance& inst, const std::string& stream, const json& cursor,
                    std::optional<int64_t> limit = std::nullopt,
                    std::optional<std::string> since = std::nullopt) {
  ReadOutcome out;
  out.end_cursor = cursor;
  std::set<std::string> seen;
  json current = cursor;
  for (int page = 0; page < kMaxPages; ++page) {
    json request = {{"stream", stream}, {"cursor", current}};
    if (limit) request["limit"] = *limit;
    if (since && current.is_null()) request["since"] = *since;
    Result<json> reply = inst.Read(request);
    for (int retry = 0; !reply.ok() && reply.status().code() == Code::kRetry && retry < kPageRetries;
         ++retry) {
      ++out.page_retries;
      reply = inst.Read(request);
    }
    if (!reply.ok()) {
      out.status = reply.status();
      return out;
    }
    ++out.pages;
    const json& doc = *reply;
    if (!doc.is_object() || !doc.contains("records") || !doc["records"].is_array()) {
      out.status = Status::Error("read of '" + stream + "' answered without a records array");
      return out;
    }
    for (const json& record : doc["records"]) {
      const std::string id = RecordId(record);
      if (id.empty()) {
        out.status = Status::Error("read of '" + stream + "' returned a record without source.id");
        return out;
      }
      if (!seen.insert(id).second) out.duplicates.push_back(id);
      out.records.push_back(record);
    }
    const json next = doc.value("next_cursor", json());
    const bool more = doc.value("has_more", false);
    if (!next.is_null()) out.end_cursor = next;
    if (!more) return out;
    if (next.is_null() || (next == current && doc["records"].empty())) {
      out.status = Status::Error("read of '" + stream + "' says has_more but its cursor does not move");
      return out;
    }
    current = next;
  }
  out.status =
      Status::Error("read of '" + stream + "' did not finish within " + std::to_string(kMaxPages) + " pages");
  return out;
}

// ---- the suite ----------------------------------------------------------------------------------------

class Suite {
 public:
  Suite(const Options& options, const sandbox::EmulatorRegistry& emulators,
        const std::function<void(const CheckResult&)>& emit)
      : opts_(options), emulators_(emulators), emit_(emit) {}

  ~Suite() {
    session_.reset();  // instances and connections before the emulator they talk to
    if (server_) server_->Stop();
  }

  std::vector<CheckResult> Run() {
    if (!CheckManifest()) return SkipRest("the plugin could not be loaded");
    if (Status s = SetUp(); !s.ok()) {
      // One cause, reported once: the first check that needed the setup fails, the rest are not run.
      Fail(kCheckNames[results_.size()], "setup: " + s.message());
      return SkipRest("setup failed");
    }
    CheckGoodCredentials();
    if (instance_ == nullptr)
      return SkipRest("no instance of the plugin could be opened with good credentials");
    CheckBadCredentials();
    ReadFull();
    ReadIncremental();
    ReadCursorFromFuture();
    WriteIdempotent();
    WriteLostResponse();
    Webhooks();
    RateLimitStorm();
    TokenExpiry();
    return results_;
  }

 private:
  // ---- reporting ----
  void Report(const std::string& name, Outcome outcome, std::string detail) {
    CheckResult r{name, outcome, redact::RedactText(detail)};
    results_.push_back(r);
    if (emit_) emit_(r);
  }
  void Pass(const std::string& name, std::string detail = {}) {
    Report(name, Outcome::kPass, std::move(detail));
  }
  void Fail(const std::string& name, std::string reason) { Report(name, Outcome::kFail, std::move(reason)); }
  void Skip(const std::string& name, std::string why) { Report(name, Outcome::kSkip, std::move(why)); }
  std::vector<CheckResult> RestAs(Outcome outcome, const std::string& why) {
    for (size_t i = results_.size(); i < kCheckNames.size(); ++i) Report(kCheckNames[i], outcome, why);
    return results_;
  }
  std::vector<CheckResult> SkipRest(const std::string& why) { return RestAs(Outcome::kSkip, why); }

  // ---- manifest facts ----
  std::string AuthKind() const {
    const json auth = manifest_.value("auth", json::object());
    return auth.is_object() ? auth.value("kind", std::string("none")) : std::string("none");
  }
  json Streams() const {
    json s = manifest_.value("streams", json::array());
    return s.is_array() ? s : json::array();
  }
  json Writes() const {
    json w = manifest_.value("writes", json::array());
    return w.is_array() ? w : json::array();
  }
  bool HasControl() const { return control_ != nullptr; }
  json HarnessInfo(const char* key) const {
    const json h = info_.value("harness", json::object());
    return h.is_object() ? h.value(key, json::object()) : json::object();
  }
  std::string StreamObjects(const std::string& stream) const {
    const json s = HarnessInfo("streams").value(stream, json::object());
    return s.is_object() ? s.value("objects", std::string()) : std::string();
  }
  std::string SchemaDir() const {
    if (!opts_.schema_dir.empty()) return opts_.schema_dir;
    return std::filesystem::path(loader::DefaultManifestSchemaPath()).parent_path().string();
  }

  // ---- 1. manifest ----
  bool CheckManifest() {
    const std::string name = "manifest";
    auto manifest = loader::PluginRegistry::InspectFile(opts_.plugin_path);
    if (!manifest.ok()) {
      Fail(name, "cannot read the manifest without running code: " + manifest.status().message());
      return false;
    }
    manifest_ = *manifest;
    const std::string schema =
        opts_.schema_dir.empty()
            ? loader::DefaultManifestSchemaPath()
            : (std::filesystem::path(opts_.schema_dir) / "manifest.schema.json").string();
    if (Status s = loader::ValidateManifest(manifest_, schema); !s.ok()) {
      Fail(name, s.message());
      return false;
    }
    if (Status s = session_->Init(); !s.ok()) {
      Fail(name, "cannot prepare the host: " + s.message());
      return false;
    }
    // The registry loads directories; give it one holding just this file.
    const std::filesystem::path dir = session_->dir() / "plugins";
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    std::filesystem::path file = std::filesystem::absolute(opts_.plugin_path, ec);
    std::filesystem::create_symlink(file, dir / (file.stem().string() + ".so"), ec);
    if (ec) {
      Fail(name, "cannot stage the plugin: " + ec.message());
      return false;
    }
    loader::LoadReport report = registry_.LoadDirectories({dir.string()}, schema);
    if (!report.status.ok()) {
      Fail(name, report.status.message());
      return false;
    }
    if (!report.refused.empty() || report.loaded.empty()) {
      Fail(name, "the loader refused it: " +
                     (report.refused.empty() ? "nothing loaded" : report.refused[0].reason));
      return false;
    }
    plugin_ = report.loaded[0];
    // The manifest is written by hand and the table's version comes from the header the plugin was
    // compiled with; a plugin that raised one and not the other misleads `mlc plugins inspect`.
    const std::string table_abi = std::to_string(MLC_ABI_MAJOR(plugin_->abi_version)) + "." +
                                  std::to_string(MLC_ABI_MINOR(plugin_->abi_version));
    if (manifest_.value("abi", std::string()) != table_abi) {
      Fail(name, "the manifest declares abi " + manifest_.value("abi", std::string()) +
                     " but the plugin table says " + table_abi +
                     " (set the manifest's \"abi\" to the header's MLC_ABI_VERSION)");
      return false;
    }
    Pass(name, plugin_->name + " " + plugin_->version + ", abi " + manifest_.value("abi", std::string()) +
                   ", read from the file without running it, schema-valid, loaded");
    return true;
  }

  // ---- target and connections ----
  Status SetUp() {
    json credentials_doc = json::object();
    if (!opts_.sandbox.empty()) {
      if (Status s = receiver_.Start(); !s.ok()) return s.Wrap("webhook receiver");
      sandbox::EmulatorOptions eo;
      eo.seed = opts_.seed;
      eo.records = opts_.records;
      eo.webhook_url = receiver_.url();
      eo.webhook_sender.max_attempts = 2;
      MLC_ASSIGN_OR_RETURN(auto emulator, emulators_.Create(opts_.sandbox, eo));
      MLC_ASSIGN_OR_RETURN(server_, sandbox::SandboxServer::Start(std::move(emulator), eo));
      base_url_ = server_->base_url();
      control_ = std::make_unique<SandboxControl>(base_url_);
    } else {
      base_url_ = opts_.base_url;
      while (!base_url_.empty() && base_url_.back() == '/') base_url_.pop_back();
      // A running emulator answers its control API; a vendor's real sandbox does not.
      auto probe = std::make_unique<SandboxControl>(base_url_);
      if (auto info = probe->Call("GET", "/_sandbox/info"); info.ok() && info->is_object()) {
        control_ = std::move(probe);
      }
    }
    if (control_) {
      MLC_ASSIGN_OR_RETURN(info_, control_->Call("GET", "/_sandbox/info"));
      credentials_doc = info_.value("credentials", json::object());
    }

    // Good credentials: the credentials file, else what the emulator advertises (each credential named like
    // a declared secret becomes that secret; harness.settings are connection settings).
    Credentials good;
    if (!opts_.credentials_path.empty()) {
      MLC_ASSIGN_OR_RETURN(json file, ReadJsonFile(opts_.credentials_path));
      if (!file.is_object()) return Status::Invalid(opts_.credentials_path + ": expected a JSON object");
      good.settings = file.value("settings", json::object());
      const json secrets = file.value("secrets", json::object());
      if (!secrets.is_object())
        return Status::Invalid(opts_.credentials_path + ": \"secrets\" must be an object");
      for (const auto& [k, v] : secrets.items()) {
        if (!v.is_string())
          return Status::Invalid(opts_.credentials_path + ": secret '" + k + "' must be a string");
        good.secrets[k] = v.get<std::string>();
      }
      if (file.contains("webhook_secret") && file["webhook_secret"].is_string())
        webhook_secret_ = file["webhook_secret"].get<std::string>();
    } else if (control_) {
      for (const json& s : manifest_.value("secrets", json::array())) {
        const std::string n = s.is_object() ? s.value("name", std::string()) : std::string();
        if (!n.empty() && credentials_doc.contains(n) && credentials_doc[n].is_string())
          good.secrets[n] = credentials_doc[n].get<std::string>();
      }
      const json extra = HarnessInfo("settings");
      if (extra.is_object()) good.settings.update(extra);
    } else {
      return Status::Invalid(
          "--credentials is required with --base-url when the API has no /_sandbox/ control API");
    }
    const json props = manifest_.value("settings_schema", json::object()).value("properties", json::object());
    if (props.is_object() && props.contains("base_url") && !good.settings.contains("base_url"))
      good.settings["base_url"] = base_url_;
    if (webhook_secret_.empty()) {
      const json webhook = HarnessInfo("webhook");
      if (webhook.contains("secret") && webhook["secret"].is_string())
        webhook_secret_ = webhook["secret"].get<std::string>();
    }
    for (const auto& [k, v] : good.secrets) redact::RegisterSecret(v);
    if (!webhook_secret_.empty()) redact::RegisterSecret(webhook_secret_);

    // Bad credentials: every secret the auth kind uses replaced by a wrong value.
    Credentials bad = good;
    const json auth = manifest_.value("auth", json::object());
    for (const json& field : auth.value("secret_fields", json::array())) {
      if (field.is_string())
        bad.secrets[field.get<std::string>()] = "mlc-harness-wrong-" + field.get<std::string>();
    }
    has_bad_credentials_ = AuthKind() != "none";

    MLC_RETURN_IF_ERROR(session_->AddConnection("harness", plugin_, good));
    if (has_bad_credentials_) MLC_RETURN_IF_ERROR(session_->AddConnection("harness_bad", plugin_, bad));
    return Status::Ok();
  }

  // ---- 2. check ----
  void CheckGoodCredentials() {
    const std::string name = "check_good_credentials";
    auto inst = session_->Open("harness");
    if (!inst.ok()) return Fail(name, "open: " + Describe(inst.status()));
    instance_ = *inst;
    auto reply = instance_->Check();
    if (!reply.ok()) return Fail(name, "check answered " + Describe(reply.status()));
    if (!reply->is_object() || reply->value("ok", false) != true)
      return Fail(name, "check answered without \"ok\": true");
    Pass(name, "OK " + reply->value("account", json::object()).dump());
  }

  void CheckBadCredentials() {
    const std::string name = "check_bad_credentials";
    if (!has_bad_credentials_) return Skip(name, "auth kind none: there are no credentials to get wrong");
    auto inst = session_->Open("harness_bad");
    Status outcome;
    if (!inst.ok()) {
      outcome = inst.status();  // token kinds fail while obtaining a token
    } else {
      auto reply = (*inst)->Check();
      outcome = reply.ok() ? Status::Ok() : reply.status();
    }
    if (outcome.code() == Code::kAuth) return Pass(name, "AUTH");
    if (outcome.ok()) return Fail(name, "check answered OK with wrong credentials");
    Fail(name, "expected AUTH, got " + Describe(outcome));
  }

  // ---- 3. reads ----
  void ReadFull() {
    const std::string name = "read_full";
    if (Streams().empty()) return Skip(name, "the manifest declares no streams");
    std::vector<std::string> notes;
    for (const json& stream : Streams()) {
      const std::string s = stream.value("name", std::string());
      int64_t expected = -1;
      if (HasControl() && !StreamObjects(s).empty()) {
        auto count = control_->Count(StreamObjects(s));
        if (!count.ok()) return Fail(name, count.status().message());
        expected = *count;
      }
      ReadOutcome r = ReadAll(*instance_, s, json());
      if (!r.status.ok()) return Fail(name, s + ": " + Describe(r.status));
      if (!r.duplicates.empty()) return Fail(name, s + ": record " + r.duplicates[0] + " came twice");
      if (expected >= 0 && static_cast<int64_t>(r.records.size()) != expected) {
        return Fail(name, s + ": read " + std::to_string(r.records.size()) + " records, the emulator holds " +
                              std::to_string(expected) + " " + StreamObjects(s));
      }
      end_cursors_[s] = r.end_cursor;
      for (const json& rec : r.records) seen_[s].insert(RecordId(rec));
      notes.push_back(s + ": " + std::to_string(r.records.size()) + " in " + std::to_string(r.pages) +
                      " page(s)" + (expected >= 0 ? " = emulator" : ""));
    }
    std::string detail;
    for (const auto& n : notes) detail += (detail.empty() ? "" : "; ") + n;
    Pass(name, detail);
  }

  void ReadIncremental() {
    const std::string name = "read_incremental";
    std::vector<std::string> notes;
    bool any = false;
    for (const json& stream : Streams()) {
      const std::string s = stream.value("name", std::string());
      if (stream.value("cursor", std::string()) == "none" || !stream.value("incremental", true)) continue;
      if (!end_cursors_.count(s)) continue;
      any = true;
      ReadOutcome quiet = ReadAll(*instance_, s, end_cursors_[s]);
      if (!quiet.status.ok()) return Fail(name, s + " from its end cursor: " + Describe(quiet.status));
      if (!quiet.records.empty()) {
        return Fail(name, s + ": " + std::to_string(quiet.records.size()) +
                              " record(s) from the end cursor although nothing changed");
      }
      const json event = HarnessInfo("streams").value(s, json::object()).value("event", json());
      if (!HasControl() || !event.is_object()) {
        notes.push_back(s + ": nothing new from the end cursor (no sandbox event to add records)");
        continue;
      }
      const std::string objects = StreamObjects(s);
      int64_t before = 0;
      if (!objects.empty()) {
        auto c = control_->Count(objects);
        if (!c.ok()) return Fail(name, c.status().message());
        before = *c;
      }
      if (auto fired = control_->Call("POST", "/_sandbox/events", event); !fired.ok())
        return Fail(name, "sandbox event: " + fired.status().message());
      int64_t added = -1;
      if (!objects.empty()) {
        auto c = control_->Count(objects);
        if (!c.ok()) return Fail(name, c.status().message());
        added = *c - before;
      }
      ReadOutcome fresh = ReadAll(*instance_, s, end_cursors_[s]);
      if (!fresh.status.ok()) return Fail(name, s + " after new records: " + Describe(fresh.status));
      if (!fresh.duplicates.empty()) return Fail(name, s + ": record " + fresh.duplicates[0] + " came twice");
      int64_t unseen = 0;
      for (const json& rec : fresh.records) unseen += seen_[s].insert(RecordId(rec)).second ? 1 : 0;
      if (fresh.records.empty())
        return Fail(name, s + ": the records the sandbox event added never appeared");
      if (added > 0 && unseen != added) {
        return Fail(name, s + ": the event added " + std::to_string(added) +
                              " record(s) but the incremental read "
                              "brought " +
                              std::to_string(unseen) + " new one(s)");
      }
      end_cursors_[s] = fresh.end_cursor;
      notes.push_back(s + ": nothing new from the end cursor, then " + std::to_string(fresh.records.size()) +
                      " new after the event");
    }
    if (!any) return Skip(name, "no declared stream is incremental");
    std::string detail;
    for (const auto& n : notes) detail += (detail.empty() ? "" : "; ") + n;
    Pass(name, detail);
  }

  void ReadCursorFromFuture() {
    const std::string name = "read_cursor_from_future";
    const std::string future =
        sandbox::FormatRfc3339(std::chrono::system_clock::now() + std::chrono::hours(24 * 365));
    std::vector<std::string> notes;
    bool any = false;
    // With the control API, resetting the emulator to its seed makes every saved end cursor point past data
    // that no longer exists: a cursor from the vendor's future.
    bool reset = false;
    if (HasControl() && !end_cursors_.empty()) {
      auto r = control_->Call("POST", "/_sandbox/reset");
      if (!r.ok()) return Fail(name, "sandbox reset: " + r.status().message());
      reset = true;
    }
    for (const json& stream : Streams()) {
      const std::string s = stream.value("name", std::string());
      const std::string kind = stream.value("cursor", std::string());
      if (kind == "none") continue;
      any = true;
      std::vector<std::pair<std::string, json>> cursors;
      if (kind == "updated_since") cursors.emplace_back("a timestamp a year ahead", json(future));
      if (reset && end_cursors_.count(s) && !end_cursors_[s].is_null())
        cursors.emplace_back("its end cursor after a sandbox reset", end_cursors_[s]);
      for (const auto& [what, cursor] : cursors) {
        ReadOutcome r = ReadAll(*instance_, s, cursor);
        if (!r.status.ok() && r.status.code() != Code::kInvalid)
          return Fail(name, s + " from " + what + ": " + Describe(r.status));
        if (!r.duplicates.empty())
          return Fail(name, s + " from " + what + ": record " + r.duplicates[0] + " came twice");
        notes.push_back(
            s + " from " + what + ": " +
            (r.status.ok() ? "OK, " + std::to_string(r.records.size()) + " record(s)" : "INVALID"));
      }
      // `since` a year ahead, without a cursor.
      ReadOutcome r = ReadAll(*instance_, s, json(), std::nullopt, future);
      if (!r.status.ok() && r.status.code() != Code::kInvalid)
        return Fail(name, s + " since a year ahead: " + Describe(r.status));
      if (!r.duplicates.empty())
        return Fail(name, s + " since a year ahead: record " + r.duplicates[0] + " came twice");
      notes.push_back(s + " since a year ahead: " +
                      (r.status.ok() ? "OK, " + std::to_string(r.records.size()) + " record(s)" : "INVALID"));
    }
    if (!any) return Skip(name, "no declared stream has a cursor");
    std::string detail;
    for (const auto& n : notes) detail += (detail.empty() ? "" : "; ") + n;
    Pass(name, detail);
  }

  // ---- 4. writes ----
  struct WriteTarget {
    std::string type;
    std::string idempotency;
    json object;
    json refs = json::object();
    std::string objects;  // emulator object type to count ("" = cannot count)
    std::string route;    // emulator create route ("" = unknown)
  };

  // The first declared write the harness can exercise, or a reason why none.
  Result<WriteTarget> PickWrite(bool need_idempotency) {
    std::string why = "the manifest declares no writes";
    for (const json& w : Writes()) {
      WriteTarget t;
      t.type = w.value("object", std::string());
      t.idempotency = w.value("idempotency", std::string("none"));
      if (need_idempotency && t.idempotency == "none") {
        why = "'" + t.type + "' writes declare no idempotency";
        continue;
      }
      const json info = HarnessInfo("writes").value(t.type, json::object());
      if (info.contains("sample") && info["sample"].is_object()) {
        t.object = info["sample"];
      } else {
        auto sample = ReadJsonFile(
            (std::filesystem::path(SchemaDir()) / "examples" / (t.type + ".example.json")).string());
        if (!sample.ok()) {
          why = "no sample '" + t.type + "' object (sdk/schemas/examples)";
          continue;
        }
        t.object = *sample;
      }
      if (info.contains("refs") && info["refs"].is_object()) t.refs = info["refs"];
      t.objects = info.value("objects", std::string());
      t.route = info.value("route", std::string());
      return t;
    }
    return Status::NotFound(why);
  }

  Result<json> Write(const WriteTarget& t, const std::string& key) {
    return instance_->Write(
        {{"object_type", t.type}, {"object", t.object}, {"refs", t.refs}, {"idempotency_key", key}});
  }

  Result<int64_t> CountObjects(const WriteTarget& t) {
    if (!HasControl() || t.objects.empty()) return int64_t{-1};
    return control_->Count(t.objects);
  }

  void WriteIdempotent() {
    const std::string name = "write_idempotent";
    auto target = PickWrite(true);
    if (!target.ok()) return Skip(name, target.status().message());
    const std::string key = "mlc-harness-" + RandomHex(16);
    auto before = CountObjects(*target);
    if (!before.ok()) return Fail(name, before.status().message());
    auto first = Write(*target, key);
    if (!first.ok()) return Fail(name, "first write: " + Describe(first.status()));
    auto second = Write(*target, key);
    if (!second.ok()) return Fail(name, "same write again: " + Describe(second.status()));
    const json id1 = first->value("target_id", json()), id2 = second->value("target_id", json());
    if (!id1.is_string() || id1.get<std::string>().empty())
      return Fail(name, "write answered without a target_id");
    if (id1 != id2)
      return Fail(name, "the same idempotency key gave two ids: " + id1.dump() + " and " + id2.dump());
    auto after = CountObjects(*target);
    if (!after.ok()) return Fail(name, after.status().message());
    if (*before >= 0 && *after != *before + 1) {
      return Fail(name, "two writes with one key left " + std::to_string(*after - *before) + " new " +
                            target->objects);
    }
    Pass(name,
         target->type + " " + id1.get<std::string>() +
             (*before >= 0 ? ", one object in the emulator" : " (objects not counted: no control API)"));
  }

  void WriteLostResponse() {
    const std::string name = "write_lost_response";
    auto target = PickWrite(true);
    if (!target.ok()) return Skip(name, target.status().message());
    if (!HasControl()) return Skip(name, "needs the emulator's control API to drop a response");
    if (target->route.empty())
      return Skip(name, "the emulator names no create route for '" + target->type + "'");
    auto before = CountObjects(*target);
    if (!before.ok()) return Fail(name, before.status().message());
    if (Status s = control_->Faults(
            {{"routes", {{target->route, {{"commit_then_drop", 1.0}, {"count", kDropFaultCount}}}}}});
        !s.ok()) {
      return Fail(name, "fault injection: " + s.message());
    }
    const std::string key = "mlc-harness-" + RandomHex(16);
    auto written = Write(*target, key);
    Status cleared = control_->ClearFaults();
    if (!cleared.ok()) return Fail(name, "clearing faults: " + cleared.message());
    if (written.ok()) return Fail(name, "write answered OK although every response was dropped");
    const Code code = written.status().code();
    if (code != Code::kUncertain && code != Code::kRetry)
      return Fail(name, "expected UNCERTAIN (or RETRY), got " + Describe(written.status()));
    auto found = instance_->Lookup(
        {{"object_type", target->type}, {"idempotency_key", key}, {"object", target->object}});
    if (!found.ok()) return Fail(name, Word(code) + ", then lookup answered " + Describe(found.status()));
    const json id = found->value("target_id", json());
    if (!id.is_string() || id.get<std::string>().empty())
      return Fail(name, "lookup answered without a target_id");
    // What the host does next for a found write: nothing. A repeat with the same key must not add one.
    auto again = Write(*target, key);
    if (!again.ok()) return Fail(name, "write after lookup: " + Describe(again.status()));
    if (again->value("target_id", json()) != id)
      return Fail(name, "a repeat of the lost write got another id");
    auto after = CountObjects(*target);
    if (!after.ok()) return Fail(name, after.status().message());
    if (*before >= 0 && *after != *before + 1) {
      return Fail(name,
                  "the lost write left " + std::to_string(*after - *before) + " new " + target->objects);
    }
    Pass(name, Word(code) + " -> lookup found " + id.get<std::string>() + " -> still one object");
  }

  // ---- 5. webhooks ----
  json WebhookRequest(const std::map<std::string, std::string>& headers, int64_t received_at_ms) const {
    return json{{"method", "POST"},
                {"path", "/webhooks/harness"},
                {"query", json::object()},
                {"headers", headers},
                {"received_at_ms", received_at_ms}};
  }

  void Webhooks() {
    const std::vector<std::string> names = {"webhook_good", "webhook_forged", "webhook_stale",
                                            "webhook_replayed"};
    auto skip_all = [&](const std::string& why) {
      for (const auto& n : names) Skip(n, why);
    };
    const json webhook = manifest_.value("webhook", json());
    if (!webhook.is_object() || webhook.value("scheme", std::string("none")) == "none")
      return skip_all("the manifest declares no webhook scheme");
    auto signer = SignerFor(webhook);
    if (!signer.ok()) return skip_all(signer.status().message());
    if (webhook_secret_.empty())
      return skip_all(
          "no webhook secret (the emulator advertises none; add webhook_secret to --credentials)");

    // A body as the vendor sends it: a real delivery from the emulator when it can send one, else its sample.
    std::string body;
    std::optional<sandbox::Request> genuine;
    const json hook = HarnessInfo("webhook");
    if (server_ && hook.contains("event") && hook["event"].is_object()) {
      const size_t before = receiver_.count();
      if (control_->Call("POST", "/_sandbox/events", hook["event"]).ok() &&
          control_->Call("POST", "/_sandbox/webhooks/flush").ok() && receiver_.count() > before) {
        genuine = receiver_.Last();
        body = genuine->body;
      }
    }
    if (body.empty() && hook.contains("sample_body") && hook["sample_body"].is_string())
      body = hook["sample_body"].get<std::string>();
    if (body.empty()) return skip_all("no webhook body to sign (the emulator offers no event or sample)");

    const int64_t now = NowMs();
    auto good = (*signer)->Sign(body, webhook_secret_, now, "msg_harness_" + RandomHex(8));
    if (!good.ok()) return skip_all("cannot sign: " + good.status().message());

    // good: signed by the harness, and the emulator's own delivery as received.
    json good_events;
    {
      auto reply = instance_->Webhook(WebhookRequest(good->headers, now), good->body);
      if (!reply.ok()) {
        Fail(names[0], "a correctly signed delivery was refused: " + Describe(reply.status()));
      } else if (!reply->contains("events") || !(*reply)["events"].is_array() || (*reply)["events"].empty()) {
        Fail(names[0], "a correctly signed delivery gave no events");
      } else {
        good_events = (*reply)["events"];
        std::string detail = std::to_string(good_events.size()) + " event(s)";
        bool ok = true;
        if (genuine) {
          std::map<std::string, std::string> headers;
          for (const auto& [k, v] : genuine->headers) {
            std::string lower = k;
            for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
            headers[lower] = v;
          }
          auto real = instance_->Webhook(WebhookRequest(headers, NowMs()), genuine->body);
          if (!real.ok()) {
            ok = false;
            Fail(names[0], "the emulator's own delivery was refused: " + Describe(real.status()));
          } else {
            detail += "; the emulator's own delivery verified too";
          }
        }
        if (ok) Pass(names[0], detail);
      }
    }

    // forged: a wrong key, and no signature at all.
    {
      auto forged = (*signer)->Sign(body, "mlc-harness-wrong-secret", now, "msg_harness_forged");
      auto a = forged.ok() ? instance_->Webhook(WebhookRequest(forged->headers, now), forged->body)
                           : Result<json>(forged.status());
      std::map<std::string, std::string> unsigned_headers = {
          {"content-type",
           good->headers.count("content-type") ? good->headers.at("content-type") : "application/json"}};
      auto b = instance_->Webhook(WebhookRequest(unsigned_headers, now), good->body);
      if (a.ok() || a.status().code() != Code::kAuth) {
        Fail(names[1], "a delivery signed with the wrong key answered " +
                           (a.ok() ? std::string("OK") : Describe(a.status())));
      } else if (b.ok() || b.status().code() != Code::kAuth) {
        Fail(names[1],
             "an unsigned delivery answered " + (b.ok() ? std::string("OK") : Describe(b.status())));
      } else {
        Pass(names[1], "wrong key: AUTH; unsigned: AUTH");
      }
    }

    // stale: signed correctly, but long before it arrived.
    if (!(*signer)->SignsTimestamp()) {
      Skip(names[2], "scheme " + (*signer)->scheme() + " signs no send time");
    } else {
      const int64_t tolerance_s = webhook.value("tolerance_s", int64_t{300});
      const int64_t sent = now - (tolerance_s + 600) * 1000;
      auto stale = (*signer)->Sign(body, webhook_secret_, sent, "msg_harness_stale");
      auto r = stale.ok() ? instance_->Webhook(WebhookRequest(stale->headers, now), stale->body)
                          : Result<json>(stale.status());
      if (r.ok()) {
        Fail(names[2],
             "a delivery signed " + std::to_string(tolerance_s + 600) + " s before it arrived was accepted");
      } else if (r.status().code() == Code::kInvalid || r.status().code() == Code::kAuth) {
        Pass(names[2],
             Word(r.status().code()) + " for a delivery " + std::to_string(tolerance_s + 600) + " s old");
      } else {
        Fail(names[2], "expected INVALID, got " + Describe(r.status()));
      }
    }

    // replayed: the very same delivery again must name the same events, so the host drops the repeat (or the
    // plugin refuses it itself).
    {
      auto again = instance_->Webhook(WebhookRequest(good->headers, NowMs()), good->body);
      if (good_events.is_null()) {
        Fail(names[3], "the first delivery was not accepted, so a replay cannot be judged");
      } else if (!again.ok()) {
        if (again.status().code() == Code::kInvalid || again.status().code() == Code::kAuth) {
          Pass(names[3], "the plugin refused the replay: " + Word(again.status().code()));
        } else {
          Fail(names[3], "replay answered " + Describe(again.status()));
        }
      } else {
        std::vector<std::string> first_ids, second_ids;
        for (const json& e : good_events) first_ids.push_back(e.value("id", std::string()));
        for (const json& e : again->value("events", json::array()))
          second_ids.push_back(e.value("id", std::string()));
        const bool ids_ok =
            std::none_of(first_ids.begin(), first_ids.end(), [](const std::string& s) { return s.empty(); });
        if (!ids_ok) {
          Fail(names[3], "events without an id cannot be de-duplicated");
        } else if (first_ids != second_ids) {
          Fail(names[3], "the same delivery gave different event ids, so the host could not drop the repeat");
        } else {
          Pass(names[3], "same event ids (" + first_ids[0] + (first_ids.size() > 1 ? ", ..." : "") +
                             "): the host drops the repeat");
        }
      }
    }
  }

  // ---- 6. 429 storm ----
  void RateLimitStorm() {
    const std::string name = "rate_limit_429_storm";
    if (Streams().empty()) return Skip(name, "the manifest declares no streams to read");
    if (!HasControl()) return Skip(name, "needs the emulator's control API to inject 429s");
    const std::string s = Streams()[0].value("name", std::string());
    // The expected count: the emulator's objects, else a clean read now.
    int64_t expected = -1;
    if (!StreamObjects(s).empty()) {
      auto c = control_->Count(StreamObjects(s));
      if (!c.ok()) return Fail(name, c.status().message());
      expected = *c;
    } else {
      ReadOutcome clean = ReadAll(*instance_, s, json());
      if (!clean.status.ok()) return Fail(name, "clean read of " + s + ": " + Describe(clean.status));
      expected = static_cast<int64_t>(clean.records.size());
    }
    auto stats_before = control_->Call("GET", "/_sandbox/stats");
    if (!stats_before.ok()) return Fail(name, stats_before.status().message());
    if (Status f = control_->Faults({{"global", {{"rate_429", kStormRate}, {"count", kStormCount}}}});
        !f.ok())
      return Fail(name, "fault injection: " + f.message());
    // Small pages so the storm spreads over many requests.
    ReadOutcome r = ReadAll(*instance_, s, json(), int64_t{10});
    Status cleared = control_->ClearFaults();
    auto stats_after = control_->Call("GET", "/_sandbox/stats");
    if (!cleared.ok()) return Fail(name, "clearing faults: " + cleared.message());
    if (!stats_after.ok()) return Fail(name, stats_after.status().message());
    const int64_t served =
        StatValue(*stats_after, "faults", "429") - StatValue(*stats_before, "faults", "429");
    if (!r.status.ok()) return Fail(name, s + " under a 429 storm: " + Describe(r.status));
    if (!r.duplicates.empty()) return Fail(name, s + ": record " + r.duplicates[0] + " came twice");
    if (static_cast<int64_t>(r.records.size()) != expected) {
      return Fail(name, s + " read " + std::to_string(r.records.size()) + " of " + std::to_string(expected) +
                            " records");
    }
    if (served == 0) return Fail(name, "the emulator served no 429, so nothing was tested");
    Pass(name, std::to_string(served) + " injected 429s absorbed over " + std::to_string(r.pages) +
                   " pages (" + std::to_string(r.page_retries) + " page re-reads), all " +
                   std::to_string(expected) + " records");
  }

  // ---- 7. token expiry ----
  void TokenExpiry() {
    const std::string name = "token_expiry_mid_run";
    const std::string kind = AuthKind();
    if (kind != "oauth2_authorization_code" && kind != "oauth2_refresh" && kind != "client_credentials")
      return Skip(name, "auth kind " + kind + " has no expiring access token to refresh");
    if (!HasControl()) return Skip(name, "needs the emulator's control API to move its clock");
    auto warm = instance_->Check();
    if (!warm.ok()) return Fail(name, "check before the clock moved: " + Describe(warm.status()));
    const json ttl = info_.value("harness", json::object()).value("access_token_ttl_s", json(3600));
    const int64_t advance = (ttl.is_number_integer() ? ttl.get<int64_t>() : 3600) + 60;
    auto stats_before = control_->Call("GET", "/_sandbox/stats");
    const int64_t refreshes_before = session_->refreshes();
    if (auto moved = control_->Call("POST", "/_sandbox/clock", {{"advance_s", advance}}); !moved.ok())
      return Fail(name, "moving the clock: " + moved.status().message());
    auto after = instance_->Check();
    auto stats_after = control_->Call("GET", "/_sandbox/stats");
    (void)control_->Call("POST", "/_sandbox/clock", {{"offset_s", 0}});
    if (!after.ok())
      return Fail(name, "the first call after the token expired answered " + Describe(after.status()));
    int64_t issued = 0;
    if (stats_before.ok() && stats_after.ok()) {
      issued = StatValue(*stats_after, "tokens", "issued") + StatValue(*stats_after, "tokens", "refreshed") -
               StatValue(*stats_before, "tokens", "issued") - StatValue(*stats_before, "tokens", "refreshed");
    }
    if (issued <= 0 && session_->refreshes() == refreshes_before)
      return Fail(name, "the call succeeded without a new token, so the expiry was not exercised");
    Pass(name, "clock +" + std::to_string(advance) + " s: the next call got a new token (" +
                   std::to_string(issued) + " issued) and succeeded");
  }

  const Options& opts_;
  const sandbox::EmulatorRegistry& emulators_;
  const std::function<void(const CheckResult&)>& emit_;
  std::vector<CheckResult> results_;

  json manifest_ = json::object();
  loader::PluginRegistry registry_;
  std::shared_ptr<const loader::LoadedPlugin> plugin_;
  WebhookReceiver receiver_;
  std::unique_ptr<sandbox::SandboxServer> server_;
  std::unique_ptr<SandboxControl> control_;
  std::string base_url_;
  json info_ = json::object();
  std::string webhook_secret_;
  bool has_bad_credentials_ = false;
  std::unique_ptr<HostSession> session_ = std::make_unique<HostSession>();
  loader::PluginInstance* instance_ = nullptr;
  std::map<std::string, json> end_cursors_;
  std::map<std::string, std::set<std::string>> seen_;
};

}  // namespace

std::vector<CheckResult> RunSuite(const Options& options, const sandbox::EmulatorRegistry& emulators,
                                  const std::function<void(const CheckResult&)>& emit) {
  Suite suite(options, emulators, emit);
  return suite.Run();
}

std::string FormatResult(const CheckResult& result, bool verbose) {
  std::string detail = result.detail;
  for (char& c : detail) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  switch (result.outcome) {
    case Outcome::kPass:
      return "PASS " + result.name + (verbose && !detail.empty() ? " (" + detail + ")" : "");
    case Outcome::kFail:
      return "FAIL " + result.name + ": " + (detail.empty() ? "failed" : detail);
    case Outcome::kSkip:
      return "SKIP " + result.name + ": " + (detail.empty() ? "not applicable" : detail);
  }
  return "FAIL " + result.name + ": unknown outcome";
}

std::string FormatSummary(const std::vector<CheckResult>& results) {
  int passed = 0, failed = 0, skipped = 0;
  for (const CheckResult& r : results) {
    (r.outcome == Outcome::kPass ? passed : r.outcome == Outcome::kFail ? failed : skipped) += 1;
  }
  std::string line = std::to_string(passed) + " passed, " + std::to_string(failed) + " failed";
  if (skipped > 0) line += ", " + std::to_string(skipped) + " skipped";
  return line;
}

bool AllPassed(const std::vector<CheckResult>& results) {
  return std::none_of(results.begin(), results.end(),
                      [](const CheckResult& r) { return r.outcome == Outcome::kFail; });
}

}  // namespace mlc::harness
