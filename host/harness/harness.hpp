// The acceptance harness: one fixed suite of checks run against any plugin through the host's real services
// (loader, runtime HTTP with auth/rate limits/retries, token manager, vault, store), pointed at a vendor
// emulator started in-process, at a running emulator, or at a vendor's real sandbox.
//
//   mlc::sandbox::EmulatorRegistry emulators;                 // the emulators built into the binary
//   mlc::harness::Options options{.plugin_path = "build/plugins/template.so", .sandbox = "template"};
//   auto results = mlc::harness::RunSuite(options, emulators, [](const CheckResult& r) {
//     std::cout << FormatResult(r) << "\n";
//   });
//   std::cout << FormatSummary(results) << "\n";              // "12 passed, 0 failed, 2 skipped"
//
// Checks, in order (kCheckNames): the manifest; check with good and bad credentials; full, incremental and
// "cursor from the future" reads; idempotent write; write whose response is lost; webhooks good, forged,
// stale, replayed; a 429 storm; token expiry mid-run. A check that does not apply to what the manifest
// declares (no webhook scheme, no writes, auth none, no idempotency) or that needs the emulator's control
// API where there is none is SKIPPED, never passed.
//
// What the harness needs from an emulator comes from GET /_sandbox/info (Emulator::HarnessInfo in the kit:
// stream object types and events, create routes, webhook secret and sample, token lifetime); what it needs
// from the plugin comes from its manifest (streams, writes, webhook scheme, auth kind) plus the canonical
// examples in sdk/schemas/examples/ as objects to write.
//
// Secrets: every credential is sealed in a throw-away vault under a temporary directory that is removed at
// the end; messages pass through the host's redactor.
// Thread safety: RunSuite is called from one thread; it runs the checks one after another.
#ifndef MLC_SDK_HARNESS_HARNESS_HPP_
#define MLC_SDK_HARNESS_HARNESS_HPP_

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "mlc/sandbox/emulator.hpp"

namespace mlc::harness {

enum class Outcome { kPass, kFail, kSkip };

struct CheckResult {
  std::string name;
  Outcome outcome = Outcome::kSkip;
  std::string detail;  // PASS: what was verified; FAIL: the reason; SKIP: why
};

// The suite's checks in the order they run and are reported.
extern const std::vector<std::string> kCheckNames;

struct Options {
  std::string plugin_path;       // the plugin's shared library
  std::string sandbox;           // start this vendor's emulator in-process (EmulatorRegistry name), or
  std::string base_url;          // use the API at this URL (an emulator's control API is detected)
  std::string credentials_path;  // with base_url: {"settings": {...}, "secrets": {...}, "webhook_secret"?}
  uint64_t seed = 1;             // emulator seed (data and fault draws)
  int records = 50;              // emulator seed records
  std::string schema_dir;        // manifest schema and examples; empty: the SDK's (or $MLC_SCHEMA_DIR)
};

// Runs every check in order and returns the results; `emit` (may be empty) sees each result as soon as it
// is known. A setup failure (an unreadable credentials file, an emulator that will not start) fails the first
// check that needed it and skips the rest, so the result always holds one entry per kCheckNames name.
std::vector<CheckResult> RunSuite(const Options& options, const sandbox::EmulatorRegistry& emulators,
                                  const std::function<void(const CheckResult&)>& emit);

// "PASS name" ("PASS name (detail)" when verbose), "FAIL name: reason", "SKIP name: why"; one line.
std::string FormatResult(const CheckResult& result, bool verbose = false);
// "N passed, M failed" plus ", K skipped" when K > 0.
std::string FormatSummary(const std::vector<CheckResult>& results);
// True when no result failed.
bool AllPassed(const std::vector<CheckResult>& results);

}  // namespace mlc::harness

#endif  // MLC_SDK_HARNESS_HARNESS_HPP_
