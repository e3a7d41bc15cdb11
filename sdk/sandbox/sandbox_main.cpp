// The mlc-sandbox command line (RunSandboxMain): starts one vendor emulator on loopback, announces it on
// stdout, runs until SIGINT/SIGTERM. Every emulator binary's main() is these two calls, so an out-of-tree
// vendor's binary behaves exactly like mlc-sandbox:
//
//   mlc::sandbox::EmulatorRegistry registry;
//   mlc::sandbox::RegisterBuiltEmulators(registry);   // generated (sdk/cmake/MlcSandbox.cmake)
//   return mlc::sandbox::RunSandboxMain(argc, argv, registry);
//
//   mlc-sandbox brex --port 0 --seed 7 --records 200 --webhook-url http://127.0.0.1:9000/webhooks/brex
//   {"base_url":"http://127.0.0.1:41234","credentials":{...},"vendor":"brex"}
//   brex emulator listening on http://127.0.0.1:41234 (control API under /_sandbox/; Ctrl-C to stop)
#include <pthread.h>

#include <csignal>
#include <cstdio>
#include <iostream>
#include <string>

#include <CLI/CLI.hpp>

#include "mlc/sandbox/emulator.hpp"

namespace mlc::sandbox {

int RunSandboxMain(int argc, char** argv, const EmulatorRegistry& registry) {
  CLI::App app{"Runs a vendor API emulator on 127.0.0.1 for ml-connector tests and demos."};
  std::string vendor;
  int port = 0;
  uint64_t seed = 1;
  int records = 50;
  int threads = 2;
  std::string faults;
  std::string vendor_options;
  std::string webhook_url;
  bool list = false;
  app.add_option("vendor", vendor, "Vendor to emulate (see --list)");
  app.add_option("--port", port, "TCP port on 127.0.0.1 (0 picks a free one)")->check(CLI::Range(0, 65535));
  app.add_option("--seed", seed, "Seed for the deterministic data and fault draws");
  app.add_option("--records", records, "How many seed records to create")->check(CLI::Range(0, 1000000));
  app.add_option("--faults", faults, "Fault spec: JSON or @file");
  app.add_option("--options", vendor_options, "Vendor-specific options: JSON or @file");
  app.add_option("--webhook-url", webhook_url, "Where to deliver the vendor's webhooks");
  app.add_option("--threads", threads, "Server threads")->check(CLI::Range(1, 64));
  app.add_flag("--list", list, "List the vendors built into this binary");
  CLI11_PARSE(app, argc, argv);

  if (list) {
    for (const auto& name : registry.Names()) std::cout << name << "\n";
    return 0;
  }
  if (vendor.empty()) {
    std::cerr << "mlc-sandbox: a vendor is required; available: ";
    const auto names = registry.Names();
    for (size_t i = 0; i < names.size(); ++i) std::cerr << (i ? ", " : "") << names[i];
    std::cerr << (names.empty() ? "(none)" : "") << "\n";
    return 2;
  }

  EmulatorOptions options;
  options.port = static_cast<uint16_t>(port);
  options.seed = seed;
  options.records = records;
  options.threads = threads;
  options.webhook_url = webhook_url;
  if (!faults.empty()) {
    auto spec = LoadJsonArgument(faults);
    if (!spec.ok()) {
      std::cerr << "mlc-sandbox: --faults: " << spec.status().ToString() << "\n";
      return 2;
    }
    options.faults = *spec;
  }
  if (!vendor_options.empty()) {
    auto doc = LoadJsonArgument(vendor_options);
    if (!doc.ok()) {
      std::cerr << "mlc-sandbox: --options: " << doc.status().ToString() << "\n";
      return 2;
    }
    options.vendor = *doc;
  }

  auto emulator = registry.Create(vendor, options);
  if (!emulator.ok()) {
    std::cerr << "mlc-sandbox: " << emulator.status().message() << "\n";
    return 2;
  }

  // Block the stop signals before any thread starts so that only sigwait below receives them.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  auto server = SandboxServer::Start(std::move(*emulator), options);
  if (!server.ok()) {
    std::cerr << "mlc-sandbox: " << server.status().ToString() << "\n";
    return 1;
  }
  std::cout << (*server)->Announcement().dump() << "\n";
  std::cout << vendor << " emulator listening on " << (*server)->base_url()
            << " (control API under /_sandbox/; Ctrl-C to stop)" << std::endl;

  int signal_number = 0;
  sigwait(&stop_signals, &signal_number);
  (*server)->Stop();
  std::cerr << "mlc-sandbox: stopped on signal " << signal_number << "\n";
  return 0;
}

}  // namespace mlc::sandbox
