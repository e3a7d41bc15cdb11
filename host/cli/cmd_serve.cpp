// `mlc serve`: runs the host as a long-lived service until SIGTERM or SIGINT, then shuts down cleanly.
#include <csignal>
#include <iostream>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>

#include "cli/commands.hpp"
#include "config/check.hpp"
#include "config/config.hpp"
#include "core/log.hpp"
#include "engine/host_setup.hpp"
#include "loader/loader.hpp"
#include "store/store.hpp"

namespace mlc::cli {

namespace {

struct ServeOptions {
  bool check_only = false;
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
  if (Status s = sync.Start(); !s.ok()) {
    std::cerr << "mlc serve: " << s.message() << "\n";
    return kExitConfig;
  }

  boost::asio::io_context io;
  boost::asio::signal_set signals(io, SIGINT, SIGTERM);
  int received = 0;
  signals.async_wait([&](const boost::system::error_code& ec, int signo) {
    if (!ec) received = signo;
    io.stop();
  });
  Log().info("serving {} connection(s), {} pipeline(s); {} plugin(s) loaded; store {}",
             cfg.connections.size(), cfg.pipelines.size(), registry.plugins().size(), cfg.store_path);
  std::cout << "mlc: ready (" << registry.plugins().size() << " plugins, " << cfg.connections.size()
            << " connections, " << cfg.pipelines.size() << " pipelines)" << std::endl;
  io.run();
  Log().info("received signal {}; shutting down", received);
  sync.Stop();  // finishes the job steps in flight; leases of anything cut short expire or are taken over
  std::cout << "mlc: stopped" << std::endl;
  return kExitOk;
}

}  // namespace

void RegisterServeCommand(CLI::App& app, GlobalOptions& opts) {
  auto serve = std::make_shared<ServeOptions>();
  CLI::App* cmd = app.add_subcommand("serve", "Run the host until SIGTERM or SIGINT");
  cmd->add_flag("--check", serve->check_only, "Load configuration, plugins and store, then exit");
  cmd->callback([&opts, serve] { opts.exit_code = RunServe(opts, *serve); });
}

}  // namespace mlc::cli
