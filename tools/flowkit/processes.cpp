// Emulators and the host as child processes (see processes.hpp).
#include "flowkit/processes.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <random>

#include "http/http_client.hpp"
#include "mlc/crypto.hpp"

namespace mlc::flowkit {

using nlohmann::json;

Paths Paths::OfThisBuild() {
  return {.mlc = MLC_FLOWKIT_MLC_BINARY,
          .sandbox = MLC_FLOWKIT_SANDBOX_BINARY,
          .plugin_dir = MLC_FLOWKIT_PLUGIN_DIR};
}

// ---- EmulatorProcess -------------------------------------------------------------------------------------

Result<std::unique_ptr<EmulatorProcess>> EmulatorProcess::Start(const std::string& sandbox_binary,
                                                                const EmulatorSpec& spec) {
  std::vector<std::string> argv = {sandbox_binary,           spec.vendor, "--port", "0", "--seed",
                                   std::to_string(spec.seed)};
  if (spec.records >= 0) {
    argv.push_back("--records");
    argv.push_back(std::to_string(spec.records));
  }
  if (spec.options.is_object() && !spec.options.empty()) {
    argv.push_back("--options");
    argv.push_back(spec.options.dump());
  }
  if (!spec.faults.is_null()) {
    argv.push_back("--faults");
    argv.push_back(spec.faults.dump());
  }
  if (!spec.webhook_url.empty()) {
    argv.push_back("--webhook-url");
    argv.push_back(spec.webhook_url);
  }
  testing::ProcessOptions options;
  options.output_path = spec.log_path;
  std::unique_ptr<EmulatorProcess> e(new EmulatorProcess());
  e->child_ = std::make_unique<testing::ChildProcess>(argv, options);
  if (!e->child_->started()) return Status::Error("cannot start " + sandbox_binary);
  // The announcement is the first stdout line; a human line follows it. Seeding takes longer with more
  // records (about half a second per thousand on the build machine).
  const auto announce_within = std::chrono::seconds(30 + std::max(0, spec.records) / 1000);
  if (!e->child_->WaitForOutput("\n", announce_within)) {
    return Status::Error(spec.vendor + " emulator did not announce itself: " + e->child_->out() +
                         e->child_->err());
  }
  const std::string& out = e->child_->out();
  const size_t brace = out.find('{');
  const size_t eol = out.find('\n', brace == std::string::npos ? 0 : brace);
  if (brace == std::string::npos || eol == std::string::npos) {
    return Status::Error(spec.vendor + " emulator: no announcement line in: " + out.substr(0, 400));
  }
  json announce = json::parse(out.substr(brace, eol - brace), nullptr, false);
  if (!announce.is_object() || !announce.contains("base_url") || !announce["base_url"].is_string()) {
    return Status::Error(spec.vendor + " emulator: malformed announcement: " + out.substr(0, 400));
  }
  e->vendor_ = spec.vendor;
  e->base_url_ = announce["base_url"].get<std::string>();
  e->credentials_ = announce.value("credentials", json::object());
  return e;
}

EmulatorProcess::~EmulatorProcess() { Stop(); }

Result<json> EmulatorProcess::Call(const std::string& method, const std::string& path, const json* body,
                                   const std::vector<std::pair<std::string, std::string>>& headers) const {
  static const http::HttpClient client;
  http::HttpRequest req;
  req.method = method;
  req.url = base_url_ + path;
  req.headers = headers;
  req.headers.emplace_back("Accept", "application/json");
  if (body != nullptr) {
    req.body = body->dump();
    req.headers.emplace_back("Content-Type", "application/json");
  }
  req.idempotent = true;  // control calls are safe to repeat; vendor calls here are reads
  http::RetryPolicy policy;
  policy.max_attempts = 3;
  MLC_ASSIGN_OR_RETURN(http::HttpResponse res, client.Send(req, policy));
  if (res.status < 200 || res.status > 299) {
    return Status::Error(vendor_ + " emulator: " + method + " " + path + " -> " + std::to_string(res.status) +
                         ": " + res.body.substr(0, 300));
  }
  if (res.body.empty()) return json::object();
  json parsed = json::parse(res.body, nullptr, false);
  if (parsed.is_discarded()) {
    return Status::Error(vendor_ + " emulator: " + method + " " + path + " returned no JSON");
  }
  return parsed;
}

Status EmulatorProcess::SetFaults(const json& faults) const {
  return Post("/_sandbox/faults", faults).status();
}

Status EmulatorProcess::ClearFaults() const { return Call("DELETE", "/_sandbox/faults").status(); }

Status EmulatorProcess::FlushWebhooks(std::chrono::milliseconds timeout) const {
  return Post("/_sandbox/webhooks/flush", {{"timeout_ms", timeout.count()}}).status();
}

void EmulatorProcess::Stop() {
  if (!child_) return;
  child_->Signal(SIGTERM);
  if (!child_->Wait(std::chrono::seconds(10))) child_->Signal(SIGKILL);
  child_->Wait(std::chrono::seconds(10));
  child_.reset();
}

// ---- HostProcess -----------------------------------------------------------------------------------------

HostProcess::HostProcess(std::string mlc_binary, std::string config_path,
                         std::map<std::string, std::string> env, std::string log_path)
    : mlc_(std::move(mlc_binary)),
      config_(std::move(config_path)),
      env_(std::move(env)),
      log_path_(std::move(log_path)) {}

HostProcess::~HostProcess() {
  if (child_) Kill();
}

Status HostProcess::Start(std::chrono::milliseconds timeout) {
  if (child_) return Status::Invalid("the host is already running");
  testing::ProcessOptions options;
  options.env = env_;
  options.output_path = log_path_;
  child_ = std::make_unique<testing::ChildProcess>(
      std::vector<std::string>{mlc_, "--config", config_, "serve"}, options);
  if (!child_->started()) {
    child_.reset();
    return Status::Error("cannot start " + mlc_);
  }
  if (!child_->WaitForOutput("mlc: ready", timeout)) {
    std::string out = child_->out();
    Kill();
    return Status::Error("mlc serve did not become ready; its output ends: " +
                         out.substr(out.size() > 1500 ? out.size() - 1500 : 0));
  }
  const std::string& out = child_->out();
  static const std::string kListening = "mlc: listening on ";
  if (size_t at = out.rfind(kListening); at != std::string::npos) {
    const size_t colon = out.find(':', at + kListening.size());
    if (colon != std::string::npos) port_ = std::atoi(out.c_str() + colon + 1);
  }
  return Status::Ok();
}

Result<int> HostProcess::Stop(std::chrono::milliseconds timeout) {
  if (!child_) return Status::Invalid("the host is not running");
  child_->Signal(SIGTERM);
  std::optional<int> code = child_->Wait(timeout);
  if (!code) {
    Kill();
    return Status::Error("mlc serve did not stop within " + std::to_string(timeout.count()) + " ms");
  }
  child_.reset();
  return *code;
}

void HostProcess::Kill() {
  if (!child_) return;
  child_->Signal(SIGKILL);
  child_->Wait(std::chrono::seconds(10));
  child_.reset();
}

int HostProcess::pid() const { return running() ? static_cast<int>(child_->pid()) : 0; }

bool HostProcess::running() const { return child_ != nullptr; }

testing::ProcessResult HostProcess::Run(const std::vector<std::string>& args, const std::string& stdin_data,
                                        std::chrono::milliseconds timeout) const {
  std::vector<std::string> argv = {mlc_, "--config", config_};
  argv.insert(argv.end(), args.begin(), args.end());
  testing::ProcessOptions options;
  options.env = env_;
  options.stdin_data = stdin_data;
  options.timeout = timeout;
  return testing::RunProcess(argv, options);
}

// ---- helpers ---------------------------------------------------------------------------------------------

Result<int> PickFreePort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return Status::Error("socket() failed");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    ::close(fd);
    return Status::Error("cannot bind a loopback port");
  }
  ::close(fd);
  return static_cast<int>(ntohs(addr.sin_port));
}

std::string RandomMasterKey() {
  std::random_device rd;
  std::string key(32, '\0');
  for (char& c : key) c = static_cast<char>(rd() & 0xFF);
  return crypto::Base64Encode(key);
}

}  // namespace mlc::flowkit
