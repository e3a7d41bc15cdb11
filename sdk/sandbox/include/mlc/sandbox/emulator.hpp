// The emulator frame: what a vendor emulator implements, the services the kit gives it, the server that
// runs it with the /_sandbox control API, and the registry `mlc-sandbox VENDOR` starts it from.
//
// A vendor emulator subclasses Emulator, registers its routes in Install() and answers in its own error
// shapes. SandboxServer wraps every vendor route with fault injection, rate limiting and stats, and mounts:
//   GET  /_sandbox/info            {"vendor", "base_url", "credentials", "harness"?: HarnessInfo()}
//   GET  /_sandbox/stats           Stats::ToJson() plus the vendor's extra stats
//   GET|POST|DELETE /_sandbox/faults   FaultInjector spec (POST replaces; {} or DELETE clears)
//   GET  /_sandbox/objects         {"types": [...]}
//   GET  /_sandbox/objects/<type>  what the emulator holds (webhook_deliveries is the kit's own)
//   POST /_sandbox/events          {"type", "count", ...}: the vendor decides what it means
//   GET|POST /_sandbox/clock       {"advance_s": N} or {"offset_s": N}; answers {"now", "now_unix",
//   "offset_s"} POST /_sandbox/reset           vendor state back to its seed; stats, faults, clock, limits
//   cleared
// Control requests are neither faulted, rate limited nor counted in the request stats.
//
//   EmulatorRegistry registry;
//   RegisterBuiltEmulators(registry);              // or one vendor's own Register...Emulator(registry)
//   MLC_ASSIGN_OR_RETURN(auto emulator, registry.Create("acme", options));
//   MLC_ASSIGN_OR_RETURN(auto server, SandboxServer::Start(std::move(emulator), options));
//   std::string url = server->base_url();
//
// Thread safety: Emulator handlers run concurrently on the server's threads (the emulator guards its own
// state); SandboxServer::Start/Stop from one owner thread.
#ifndef MLC_SANDBOX_EMULATOR_HPP_
#define MLC_SANDBOX_EMULATOR_HPP_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "mlc/sandbox/clock.hpp"
#include "mlc/sandbox/faults.hpp"
#include "mlc/sandbox/http.hpp"
#include "mlc/sandbox/rate_limit.hpp"
#include "mlc/sandbox/router.hpp"
#include "mlc/sandbox/stats.hpp"
#include "mlc/sandbox/webhooks.hpp"
#include "mlc/status.hpp"

namespace mlc::sandbox {

class HttpServer;

struct EmulatorOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 0;
  uint64_t seed = 1;
  int records = 50;         // how much seed data the vendor creates
  std::string webhook_url;  // where vendor events are delivered (may be empty)
  nlohmann::json faults;    // initial FaultInjector spec (null: none)
  nlohmann::json vendor;    // vendor-specific options (null: defaults)
  int threads = 2;
  size_t body_limit = 8 * 1024 * 1024;
  WebhookSenderOptions webhook_sender;
};

// Services the kit owns for one running emulator. Outlives the Emulator it is handed to.
struct EmulatorContext {
  explicit EmulatorContext(const EmulatorOptions& opts);

  EmulatorOptions options;
  Clock clock;
  Stats stats;
  FaultInjector faults;
  RateLimiter rate_limiter;  // disabled until the vendor configures it
  WebhookSender webhooks;
  std::string base_url;  // "http://127.0.0.1:<port>", set before Install() runs
};

class Emulator {
 public:
  virtual ~Emulator() = default;

  virtual std::string Name() const = 0;
  // Registers the vendor routes. Called once, before serving; `ctx` outlives the emulator.
  virtual Status Install(Router& router, EmulatorContext& ctx) = 0;
  // Credentials a client needs ({"user_token": ...}, {"client_id", "client_secret", ...}).
  virtual nlohmann::json Credentials() const = 0;
  // Object types GET /_sandbox/objects/<type> accepts.
  virtual std::vector<std::string> ObjectTypes() const = 0;
  // NotFound for an unknown type.
  virtual Result<nlohmann::json> Objects(std::string_view type) = 0;
  // POST /_sandbox/events: NotFound for an unknown type, Invalid for a bad request; the JSON returned
  // is the control response.
  virtual Result<nlohmann::json> TriggerEvents(const nlohmann::json& request) = 0;
  // Back to the seeded state (same credentials).
  virtual void Reset() = 0;
  // Extra vendor counters merged into GET /_sandbox/stats under "vendor".
  virtual nlohmann::json ExtraStats() const { return nlohmann::json::object(); }
  // What a generic client (the acceptance harness, host/harness/) needs to know and cannot learn from the
  // vendor's API; GET /_sandbox/info carries it as "harness" when not empty. Every key is optional:
  //   "settings": {...}              connection settings besides base_url (credentials become secrets)
  //   "streams": {"<plugin stream>": {"objects": "<type of /_sandbox/objects>",
  //                                   "event": {POST /_sandbox/events body that adds records to it}}}
  //   "writes": {"<canonical type>": {"route": "POST /v1/things" (the create route, for fault injection),
  //                                   "objects": "<type>", "sample"?: {canonical object}, "refs"?: {...}}}
  //   "webhook": {"secret": "...", "sample_body"?: "...", "event"?: {POST /_sandbox/events body}}
  //   "access_token_ttl_s": N        lifetime of the access tokens the emulator issues
  virtual nlohmann::json HarnessInfo() const { return nlohmann::json::object(); }

  // An error in the vendor's shape, for kit-generated failures: unknown routes (404), wrong methods (405),
  // injected 5xx, oversized bodies.
  virtual Response ErrorResponse(const Request& req, int status, std::string_view message) const = 0;
  // The rate-limit key for a request (token, client id), or nullopt to not limit it.
  virtual std::optional<std::string> RateLimitKey(const Request& req) const { return std::nullopt; }
  // The vendor's 429 (also used for injected 429s).
  virtual Response TooManyRequests(const Request& req, const RateDecision& decision) const;
};

class SandboxServer {
 public:
  // Binds, applies options.faults, calls emulator->Install and starts serving.
  static Result<std::unique_ptr<SandboxServer>> Start(std::unique_ptr<Emulator> emulator,
                                                      const EmulatorOptions& options);
  ~SandboxServer();  // Stop()
  SandboxServer(const SandboxServer&) = delete;
  SandboxServer& operator=(const SandboxServer&) = delete;

  // Stops serving and joins threads; the emulator stays inspectable. Idempotent.
  void Stop();

  const std::string& base_url() const { return context_->base_url; }
  uint16_t port() const;
  Emulator& emulator() { return *emulator_; }
  EmulatorContext& context() { return *context_; }
  // {"vendor", "base_url", "credentials"} — the line mlc-sandbox prints.
  nlohmann::json Announcement() const;

  // The request pipeline (control API or vendor route); public so tests can drive it without sockets.
  Response Dispatch(Request& req);

 private:
  SandboxServer() = default;
  Response DispatchControl(Request& req);

  // Destruction order matters: server threads stop before the emulator and the context go away.
  std::unique_ptr<EmulatorContext> context_;
  std::unique_ptr<Emulator> emulator_;
  Router routes_;
  Router control_;
  std::unique_ptr<HttpServer> http_;
};

using EmulatorFactory = std::function<std::unique_ptr<Emulator>(const EmulatorOptions& options)>;

class EmulatorRegistry {
 public:
  // Registers `factory` under a lower-case vendor name; a later registration replaces an earlier one.
  void Register(std::string name, EmulatorFactory factory);
  // NotFound naming the available vendors when `name` is not registered.
  Result<std::unique_ptr<Emulator>> Create(std::string_view name, const EmulatorOptions& options) const;
  std::vector<std::string> Names() const;

 private:
  std::map<std::string, EmulatorFactory, std::less<>> factories_;
};

// Registers every emulator built into this binary. Not defined by the kit: each binary that serves
// emulators gets a generated definition from mlc_sandbox_serve_emulators (sdk/cmake/MlcSandbox.cmake),
// calling the REGISTER function of each mlc_sandbox_add_emulator of the build.
void RegisterBuiltEmulators(EmulatorRegistry& registry);

// The mlc-sandbox command line over `registry`: `VENDOR [--port --seed --records --faults --options
// --webhook-url --threads]` or `--list`. Blocks until SIGINT/SIGTERM; returns the process exit code
// (0 stopped by a signal, 1 the server could not start, 2 bad arguments).
int RunSandboxMain(int argc, char** argv, const EmulatorRegistry& registry);

// Reads a JSON option value: inline JSON, or "@path" to read it from a file.
Result<nlohmann::json> LoadJsonArgument(std::string_view value);

}  // namespace mlc::sandbox

#endif  // MLC_SANDBOX_EMULATOR_HPP_
