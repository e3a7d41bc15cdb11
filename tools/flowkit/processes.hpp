// The moving parts of an end-to-end run as real processes on loopback: a vendor emulator (`mlc-sandbox`)
// with its control API, and the `mlc` host (`mlc serve`, or one `mlc` command). Used by the README demo,
// the flow e2e tests and the flow benchmarks, so all three drive the product exactly as an operator does.
//
//   auto brex = EmulatorProcess::Start(paths.sandbox, {.vendor = "brex", .seed = 7, .records = 200});
//   auto objects = (*brex)->Get("/_sandbox/objects/expenses");
//   HostProcess host(paths.mlc, config_path, env, workdir + "/host.log");
//   MLC_RETURN_IF_ERROR(host.Start());
//   host.Stop();  // SIGTERM, waits for a clean exit
//
// Ownership: each object owns its child process and kills it (SIGKILL) if it is still running when the
// object goes away. Thread safety: one thread per object; the control API calls (Get/Post) may be made from
// any thread.
#ifndef MLC_TOOLS_FLOWKIT_PROCESSES_HPP_
#define MLC_TOOLS_FLOWKIT_PROCESSES_HPP_

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "mlc/status.hpp"
#include "support/subprocess.hpp"

namespace mlc::flowkit {

// Where the binaries of one build live.
struct Paths {
  std::string mlc{};         // the host binary
  std::string sandbox{};     // mlc-sandbox
  std::string plugin_dir{};  // <build>/plugins
  // The build's own binaries (compile-time locations of this build tree).
  static Paths OfThisBuild();
};

struct EmulatorSpec {
  std::string vendor{};
  uint64_t seed = 1;
  int records = -1;                                   // -1: the emulator's default
  nlohmann::json options = nlohmann::json::object();  // --options (vendor behaviour switches)
  nlohmann::json faults = nlohmann::json();           // --faults (null: none)
  std::string webhook_url{};                          // --webhook-url
  std::string log_path{};                             // the emulator's stdout/stderr go here
};

class EmulatorProcess {
 public:
  // Starts the emulator and reads its announcement ({"vendor", "base_url", "credentials"}).
  static Result<std::unique_ptr<EmulatorProcess>> Start(const std::string& sandbox_binary,
                                                        const EmulatorSpec& spec);
  ~EmulatorProcess();

  const std::string& vendor() const { return vendor_; }
  const std::string& base_url() const { return base_url_; }
  const nlohmann::json& credentials() const { return credentials_; }

  // One JSON request to the emulator (control API under /_sandbox/, or the vendor API with `headers`).
  // A status outside 2xx is an error naming the status and the body's first bytes.
  Result<nlohmann::json> Call(const std::string& method, const std::string& path,
                              const nlohmann::json* body = nullptr,
                              const std::vector<std::pair<std::string, std::string>>& headers = {}) const;
  Result<nlohmann::json> Get(const std::string& path) const { return Call("GET", path); }
  Result<nlohmann::json> Post(const std::string& path, const nlohmann::json& body) const {
    return Call("POST", path, &body);
  }

  Result<nlohmann::json> Objects(const std::string& type) const { return Get("/_sandbox/objects/" + type); }
  Result<nlohmann::json> Stats() const { return Get("/_sandbox/stats"); }
  Status SetFaults(const nlohmann::json& faults) const;
  Status ClearFaults() const;
  // Waits until queued webhooks are delivered (or given up).
  Status FlushWebhooks(std::chrono::milliseconds timeout) const;

  void Stop();  // SIGTERM and wait

 private:
  EmulatorProcess() = default;
  std::unique_ptr<testing::ChildProcess> child_;
  std::string vendor_;
  std::string base_url_;
  nlohmann::json credentials_;
};

// `mlc serve` as a child process.
class HostProcess {
 public:
  HostProcess(std::string mlc_binary, std::string config_path, std::map<std::string, std::string> env,
              std::string log_path);
  ~HostProcess();

  // Starts `mlc serve` and waits until it says it is ready (and, when it listens, on which port).
  Status Start(std::chrono::milliseconds timeout = std::chrono::seconds(30));
  // SIGTERM and wait; the exit code (0 on a clean stop), or an error when it did not stop in time.
  Result<int> Stop(std::chrono::milliseconds timeout = std::chrono::seconds(60));
  // SIGKILL, as a crash would.
  void Kill();
  bool running() const;
  int port() const { return port_; }
  // The running `mlc serve`'s process id (0 when not running), e.g. to read its /proc counters.
  int pid() const;

  // Runs one `mlc` command with this host's configuration and environment, to completion.
  testing::ProcessResult Run(const std::vector<std::string>& args, const std::string& stdin_data = {},
                             std::chrono::milliseconds timeout = std::chrono::minutes(10)) const;

 private:
  std::string mlc_;
  std::string config_;
  std::map<std::string, std::string> env_;
  std::string log_path_;
  std::unique_ptr<testing::ChildProcess> child_;
  int port_ = 0;
};

// A TCP port on 127.0.0.1 that was free a moment ago (bound to 0, read, closed). For configurations that
// must name the port before the process that binds it starts (a webhook URL registered with a vendor).
Result<int> PickFreePort();

// 32 random bytes, base64: a master key for MLC_MASTER_KEY.
std::string RandomMasterKey();

}  // namespace mlc::flowkit

#endif  // MLC_TOOLS_FLOWKIT_PROCESSES_HPP_
