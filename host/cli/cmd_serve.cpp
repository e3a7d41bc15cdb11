// `mlc serve`: runs the host as a long-lived service until SIGTERM or SIGINT: the sync engine (workers,
// schedules, token upkeep) and the inbound HTTP server on [host] listen (webhooks, health, readiness,
// metrics, admin API), then shuts down in order.
//
// Start-up: configuration, plugins, store, engine; the HTTP server starts (/readyz answers 503) and prints
// "mlc: listening on HOST:PORT"; the engine starts; webhook events a crash left unprocessed are handed to
// the engine; then /readyz answers 200 and "mlc: ready" is printed.
// Shutdown (docs/architecture.md): not ready -> the HTTP server stops accepting and finishes the requests
// in flight (each commits its events and hands them to the engine while the engine still runs) -> the
// engine stops (scheduler, then workers finish their steps) -> webhook plugin instances close -> the
// engine host (runtime, vault) -> the store.
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>

#include "cli/commands.hpp"
#include "config/check.hpp"
#include "config/config.hpp"
#include "core/log.hpp"
#include "engine/host_setup.hpp"
#include "loader/instance.hpp"
#include "loader/loader.hpp"
#include "store/store.hpp"
#include "webhooks/events.hpp"
#include "webhooks/http_server.hpp"
#include "webhooks/metrics.hpp"
#include "webhooks/ops.hpp"
#include "webhooks/router.hpp"

namespace mlc::cli {

namespace {

constexpr int64_t kDayMs = 24LL * 60 * 60 * 1000;

struct ServeOptions {
  bool check_only = false;
  int seen_retention_days = 7;    // webhook_seen: replay protection
  int event_retention_days = 30;  // processed webhook_events: audit of what arrived
  int shutdown_deadline_s = 10;   // in-flight HTTP requests get this long to finish
};

// "HOST:PORT" or "[V6]:PORT" -> address and port.
Result<std::pair<std::string, uint16_t>> ParseListen(const std::string& listen) {
  const size_t colon = listen.rfind(':');
  if (colon == std::string::npos || colon + 1 == listen.size()) {
    return Status::Invalid("[host] listen must be HOST:PORT, e.g. 127.0.0.1:8080 (got '" + listen + "')");
  }
  std::string host = listen.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  int port = -1;
  for (char c : listen.substr(colon + 1)) {
    if (c < '0' || c > '9' || port > 65535)
      return Status::Invalid("[host] listen: bad port in '" + listen + "'");
    port = (port < 0 ? 0 : port * 10) + (c - '0');
  }
  if (host.empty() || port < 0 || port > 65535) {
    return Status::Invalid("[host] listen: bad address or port in '" + listen + "'");
  }
  return std::make_pair(host, static_cast<uint16_t>(port));
}

// One plugin instance per webhook connection, used by one request at a time (a plugin instance is never
// called from two threads at once). Verification is quick, so one instance per connection is enough; the
// store commit happens outside the lock.
class WebhookInstances {
 public:
  explicit WebhookInstances(runtime::ConnectionRuntime& rt) : runtime_(rt) {}

  void Add(const std::string& connection) { slots_.emplace(connection, std::make_unique<Slot>()); }
  bool Has(const std::string& connection) const { return slots_.count(connection) > 0; }

  Result<nlohmann::json> Verify(const std::string& connection, const nlohmann::json& request,
                                std::string_view body) {
    auto it = slots_.find(connection);
    if (it == slots_.end()) return Status::NotFound("connection " + connection + " takes no webhooks");
    Slot& slot = *it->second;
    std::lock_guard lock(slot.mu);
    if (!slot.instance) {
      // No token preparation: verification needs only the connection's secrets, and must keep working
      // while the connection waits for re-authorisation.
      auto opened = runtime_.OpenInstance(connection, /*prepare_auth=*/false);
      if (!opened.ok()) return opened.status();
      slot.instance = std::move(opened).value();
    }
    return slot.instance->Webhook(request, body);
  }

  void CloseAll() {
    for (auto& [name, slot] : slots_) {
      std::lock_guard lock(slot->mu);
      slot->instance.reset();
    }
  }

 private:
  struct Slot {
    std::mutex mu;
    std::unique_ptr<loader::PluginInstance> instance;  // guarded by mu; opened on first use
  };
  runtime::ConnectionRuntime& runtime_;
  std::map<std::string, std::unique_ptr<Slot>> slots_;  // fixed after set-up
};

int RunServe(const GlobalOptions& opts, const ServeOptions& serve) {
  if (opts.config_path.empty()) {
    std::cerr << "mlc serve: no configuration: pass --config FILE or set MLC_CONFIG\n";
    return kExitUsage;
  }
  config::LoadResult loaded = config::LoadConfig(opts.config_path);
  for (const auto& e : loaded.errors) std::cerr << e.ToString() << "\n";
  if (!loaded.ok()) return kExitConfig;
  const config::Config& cfg = loaded.config;
  auto listen = ParseListen(cfg.listen);
  if (!listen.ok()) {
    std::cerr << cfg.path << ": " << listen.status().message() << "\n";
    return kExitConfig;
  }

  loader::PluginRegistry registry;
  loader::LoadReport report = registry.LoadDirectories(cfg.plugin_dirs);
  if (!report.status.ok()) {
    std::cerr << "mlc serve: cannot load plugins: " << report.status.message() << "\n";
    return kExitFailed;
  }
  for (const auto& r : report.refused) {
    Log().warn("plugin refused: {}: {}", r.path, r.reason);
  }
  std::map<std::string, nlohmann::json> manifests;
  for (const auto& p : registry.plugins()) manifests[p->name] = p->manifest;
  auto plugin_errors = config::CheckAgainstPlugins(cfg, manifests);
  for (const auto& e : plugin_errors) std::cerr << e.ToString() << "\n";
  if (!plugin_errors.empty()) return kExitConfig;

  auto store = store::Store::Open({.path = cfg.store_path, .synchronous = cfg.store_synchronous});
  if (!store.ok()) {
    std::cerr << "mlc serve: store " << cfg.store_path << ": " << store.status().message() << "\n";
    return kExitStore;
  }
  if (serve.check_only) {
    std::cout << "ok: configuration, plugins and store are ready\n";
    return kExitOk;
  }

  // The sync engine: background workers, pipeline schedules and token upkeep (host/engine).
  bool vault_failed = false;
  auto engine_host = engine::EngineHost::Create(cfg, registry, **store, {}, {}, &vault_failed);
  if (!engine_host.ok()) {
    std::cerr << "mlc serve: " << engine_host.status().message() << "\n";
    return vault_failed ? kExitVault : kExitConfig;
  }
  engine::SyncService sync((*engine_host)->engine());
  engine::RegisterTokenHooks(sync, **engine_host, std::chrono::hours(1));

  // Webhooks: connections the engine serves whose plugin declares a `webhook` block.
  WebhookInstances instances((*engine_host)->runtime());
  for (const auto& c : (*engine_host)->connections()) {
    auto plugin = registry.Find(cfg.connections.at(c).plugin);
    if (plugin && plugin->manifest.contains("webhook") && plugin->manifest["webhook"].is_object()) {
      instances.Add(c);
    }
  }
  // Events are handed to the engine only while it runs; until then they stay pending in the store and
  // the start-up pass below picks them up.
  std::atomic<bool> engine_running{false};
  webhooks::WebhookEventProcessor processor(
      store->get(), [&](const std::string& connection, const nlohmann::json& events) -> Status {
        if (!engine_running.load()) return Status::Retry("the engine is not running");
        return sync.OnWebhookEvents(connection, events).status();
      });
  auto sink = std::make_shared<webhooks::StoreWebhookSink>(
      store->get(),
      [&instances](const std::string& connection, const nlohmann::json& request, std::string_view body) {
        return instances.Verify(connection, request, body);
      },
      [&processor](const std::string&, const std::vector<webhooks::RecordedEvent>&) {
        // Committed already; the hand-over thread takes it from here, so the 2xx does not wait for it.
        processor.Kick();
      });
  const webhooks::WebhookRetention retention{
      .seen = std::chrono::milliseconds(serve.seen_retention_days * kDayMs),
      .processed_events = std::chrono::milliseconds(serve.event_retention_days * kDayMs)};
  sync.AddPeriodic("webhooks:pending", std::chrono::minutes(1), [&processor] {
    (void)processor.ProcessPending();  // events whose hand-over failed earlier (logged by the processor)
  });
  sync.AddPeriodic(
      "webhooks:prune", std::chrono::hours(1),
      [&processor, retention] {
        if (auto r = processor.Prune(retention); !r.ok()) {
          Log().warn("webhooks: pruning failed: {}", r.status().message());
        }
      },
      /*run_now=*/true);

  // Signals are caught from here on; one that arrives during start-up is acted on once it is done.
  boost::asio::io_context io;
  boost::asio::signal_set signals(io, SIGINT, SIGTERM);
  int received = 0;
  signals.async_wait([&](const boost::system::error_code& ec, int signo) {
    if (!ec) received = signo;
    io.stop();
  });

  // The HTTP server. /readyz stays 503 until the engine runs and crash leftovers are handed over.
  metrics::Registry metrics;
  std::atomic<bool> ready{false};
  webhooks::HttpServerOptions server_options;
  server_options.address = listen->first;
  server_options.port = listen->second;
  server_options.metrics = &metrics;
  webhooks::HttpServer server(server_options);
  webhooks::WebhookRouterOptions router_options;
  router_options.metrics = &metrics;
  webhooks::WebhookRouter router(
      [&instances, sink](const std::string& connection) -> std::shared_ptr<webhooks::WebhookSink> {
        return instances.Has(connection) ? sink : nullptr;
      },
      router_options);
  router.Mount(server);
  const char* admin_token = std::getenv("MLC_ADMIN_TOKEN");
  store::Store* db = store->get();
  webhooks::OpsOptions ops_options;
  ops_options.admin_token = admin_token ? admin_token : "";
  ops_options.readiness = [&ready, db]() -> webhooks::Readiness {
    if (!ready.load()) return {false, "starting"};
    if (!db->Query("SELECT 1").ok()) return {false, "store unavailable"};
    return {true, ""};
  };
  ops_options.metrics = &metrics;
  webhooks::OpsEndpoints ops(ops_options);
  ops.Mount(server);
  if (Status s = server.Start(); !s.ok()) {
    std::cerr << "mlc serve: cannot listen on " << cfg.listen << ": " << s.message() << "\n";
    return kExitFailed;
  }
  std::cout << "mlc: listening on " << listen->first << ":" << server.port() << std::endl;

  if (Status s = sync.Start(); !s.ok()) {
    std::cerr << "mlc serve: " << s.message() << "\n";
    server.Stop(std::chrono::seconds(serve.shutdown_deadline_s));
    return kExitConfig;
  }
  engine_running = true;
  processor.Start();
  if (auto n = processor.ProcessPending(); !n.ok()) {
    Log().warn("webhooks: unprocessed events remain after start-up: {}", n.status().message());
  } else if (*n > 0) {
    Log().info("webhooks: handed {} event(s) left unprocessed by an earlier run to the engine", *n);
  }

  ready = true;
  Log().info("serving {} connection(s) ({} with webhooks), {} pipeline(s); {} plugin(s) loaded; store {}",
             cfg.connections.size(), (*engine_host)->connections().size(), cfg.pipelines.size(),
             registry.plugins().size(), cfg.store_path);
  std::cout << "mlc: ready (" << registry.plugins().size() << " plugins, " << cfg.connections.size()
            << " connections, " << cfg.pipelines.size() << " pipelines)" << std::endl;
  io.run();

  // Shutdown, in this order (see the file comment).
  Log().info("received signal {}; shutting down", received);
  ready = false;
  server.Stop(std::chrono::seconds(serve.shutdown_deadline_s));
  processor.Stop();  // a last hand-over of what the final deliveries recorded
  engine_running = false;
  sync.Stop();  // finishes the job steps in flight; leases of anything cut short expire or are taken over
  instances.CloseAll();
  std::cout << "mlc: stopped" << std::endl;
  return kExitOk;
}

}  // namespace

void RegisterServeCommand(CLI::App& app, GlobalOptions& opts) {
  auto serve = std::make_shared<ServeOptions>();
  CLI::App* cmd = app.add_subcommand("serve", "Run the host until SIGTERM or SIGINT");
  cmd->add_flag("--check", serve->check_only, "Load configuration, plugins and store, then exit");
  cmd->add_option("--webhook-seen-days", serve->seen_retention_days,
                  "Days a webhook delivery id is remembered for replay protection (default 7)")
      ->check(CLI::Range(1, 3650));
  cmd->add_option("--webhook-event-days", serve->event_retention_days,
                  "Days processed webhook events are kept for audit (default 30)")
      ->check(CLI::Range(1, 3650));
  cmd->add_option("--shutdown-deadline", serve->shutdown_deadline_s,
                  "Seconds in-flight HTTP requests get to finish on SIGTERM (default 10)")
      ->check(CLI::Range(1, 600));
  cmd->callback([&opts, serve] { opts.exit_code = RunServe(opts, *serve); });
}

}  // namespace mlc::cli
