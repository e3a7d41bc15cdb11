// mlc-harness: runs the plugin acceptance suite against an emulator or a vendor's sandbox and prints one line
// per check, then "N passed, M failed[, K skipped]". Exit 0 when nothing failed, 1 when a check failed, 2 for
// bad arguments.
//
//   mlc-harness --plugin build/debug/plugins/template.so --sandbox template
//   mlc-harness --plugin acme.so --base-url http://127.0.0.1:8123            # an emulator you started
//   mlc-harness --plugin acme.so --base-url https://sandbox.acme.example --credentials acme-sandbox.json
#include <iostream>
#include <string>

#include <CLI/CLI.hpp>

#include "core/log.hpp"
#include "harness.hpp"
#include "mlc/sandbox/emulator.hpp"

int main(int argc, char** argv) {
  // Every emulator the build registered (mlc_sandbox_add_emulator), for --sandbox VENDOR.
  mlc::sandbox::EmulatorRegistry emulators;
  mlc::sandbox::RegisterBuiltEmulators(emulators);

  CLI::App app{"Runs the ml-connector plugin acceptance suite against an emulator or a vendor sandbox."};
  mlc::harness::Options options;
  std::string log_level = "off";
  bool verbose = false;
  app.add_option("--plugin", options.plugin_path, "The plugin's shared library")
      ->required()
      ->check(CLI::ExistingFile);
  auto* sandbox = app.add_option("--sandbox", options.sandbox, "Start this vendor's emulator in-process");
  auto* base_url =
      app.add_option("--base-url", options.base_url,
                     "Run against this API root instead (a running emulator or a vendor sandbox)");
  app.add_option(
         "--credentials", options.credentials_path,
         "With --base-url: JSON {\"settings\": {...}, \"secrets\": {...}, \"webhook_secret\"?: \"...\"}")
      ->check(CLI::ExistingFile);
  app.add_option("--seed", options.seed, "Emulator seed (data and fault draws)");
  app.add_option("--records", options.records, "Emulator seed records")->check(CLI::Range(0, 100000));
  app.add_option("--schema-dir", options.schema_dir, "Folder with manifest.schema.json and examples/");
  app.add_option("--log-level", log_level, "Host log level on stderr (trace..off)");
  app.add_flag("-v,--verbose", verbose, "Say what each passed check verified");
  sandbox->excludes(base_url);
  CLI11_PARSE(app, argc, argv);
  if (options.sandbox.empty() == options.base_url.empty()) {
    std::cerr << "mlc-harness: give exactly one of --sandbox VENDOR or --base-url URL\n";
    return 2;
  }
  if (!options.sandbox.empty() && !options.credentials_path.empty()) {
    std::cerr << "mlc-harness: --credentials goes with --base-url; an emulator advertises its own\n";
    return 2;
  }
  mlc::InitLogging(log_level);

  const auto results =
      mlc::harness::RunSuite(options, emulators, [verbose](const mlc::harness::CheckResult& r) {
        std::cout << mlc::harness::FormatResult(r, verbose) << std::endl;
      });
  std::cout << mlc::harness::FormatSummary(results) << std::endl;
  return mlc::harness::AllPassed(results) ? 0 : 1;
}
