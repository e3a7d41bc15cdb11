// Tests of the acceptance suite itself: it passes the template plugin against its emulator, catches a vendor
// that ignores idempotency keys, and refuses a file that is not a plugin; plus the output format.
#include "harness.hpp"

#include <algorithm>
#include <fstream>
#include <map>

#include <gtest/gtest.h>

#include "template_emulator.hpp"

namespace mlc::harness {
namespace {

using nlohmann::json;

std::map<std::string, CheckResult> ByName(const std::vector<CheckResult>& results) {
  std::map<std::string, CheckResult> out;
  for (const CheckResult& r : results) out[r.name] = r;
  return out;
}

std::vector<CheckResult> RunTemplate(const std::string& plugin, const sandbox::EmulatorRegistry& emulators) {
  Options options;
  options.plugin_path = plugin;
  options.sandbox = "template";
  options.seed = 5;
  options.records = 23;
  return RunSuite(options, emulators, {});
}

TEST(HarnessFormat, LinesAndSummary) {
  EXPECT_EQ(FormatResult({"read_full", Outcome::kPass, "12 records"}), "PASS read_full");
  EXPECT_EQ(FormatResult({"read_full", Outcome::kPass, "12 records"}, true), "PASS read_full (12 records)");
  EXPECT_EQ(FormatResult({"webhook_good", Outcome::kFail, "refused\nAUTH"}),
            "FAIL webhook_good: refused AUTH");
  EXPECT_EQ(FormatResult({"webhook_stale", Outcome::kSkip, "no timestamp"}),
            "SKIP webhook_stale: no timestamp");
  std::vector<CheckResult> results = {{"a", Outcome::kPass, ""}, {"b", Outcome::kFail, "x"}};
  EXPECT_EQ(FormatSummary(results), "1 passed, 1 failed");
  EXPECT_FALSE(AllPassed(results));
  results.push_back({"c", Outcome::kSkip, "y"});
  results[1].outcome = Outcome::kPass;
  EXPECT_EQ(FormatSummary(results), "2 passed, 0 failed, 1 skipped");
  EXPECT_TRUE(AllPassed(results));
}

TEST(HarnessSuite, TemplatePluginPassesAgainstItsEmulator) {
  sandbox::EmulatorRegistry emulators;
  sandbox::template_co::RegisterTemplateEmulator(emulators);
  const auto results = RunTemplate(MLC_HARNESS_TEMPLATE_PLUGIN, emulators);
  ASSERT_EQ(results.size(), kCheckNames.size());
  for (size_t i = 0; i < results.size(); ++i) EXPECT_EQ(results[i].name, kCheckNames[i]);
  auto by = ByName(results);
  for (const CheckResult& r : results) {
    if (r.name == "token_expiry_mid_run") continue;
    EXPECT_EQ(r.outcome, Outcome::kPass) << FormatResult(r);
  }
  // A static bearer token has no lifetime to outlive: skipped, not passed.
  EXPECT_EQ(by["token_expiry_mid_run"].outcome, Outcome::kSkip);
  EXPECT_NE(by["token_expiry_mid_run"].detail.find("static_bearer"), std::string::npos);
}

TEST(HarnessSuite, TokenExpiryIsCheckedForClientCredentials) {
  sandbox::EmulatorRegistry emulators;
  sandbox::template_co::RegisterTemplateEmulator(emulators);
  auto by = ByName(RunTemplate(MLC_HARNESS_TEMPLATE_OAUTH_PLUGIN, emulators));
  EXPECT_EQ(by["token_expiry_mid_run"].outcome, Outcome::kPass) << FormatResult(by["token_expiry_mid_run"]);
  EXPECT_EQ(by["check_bad_credentials"].outcome, Outcome::kPass) << FormatResult(by["check_bad_credentials"]);
}

// A vendor that ignores Idempotency-Key: the template emulator with the header stripped from every request.
class ForgetfulVendor final : public sandbox::Emulator {
 public:
  explicit ForgetfulVendor(std::unique_ptr<sandbox::Emulator> inner) : inner_(std::move(inner)) {}
  std::string Name() const override { return inner_->Name(); }
  Status Install(sandbox::Router& router, sandbox::EmulatorContext& ctx) override {
    sandbox::Router inner_routes;
    MLC_RETURN_IF_ERROR(inner_->Install(inner_routes, ctx));
    for (const auto& route : inner_routes.routes()) {
      sandbox::Handler handler = route.handler;
      router.Add(route.method, route.pattern.text(), [handler](sandbox::Request& req) {
        auto& h = req.headers;
        h.erase(std::remove_if(
                    h.begin(), h.end(),
                    [](const auto& p) { return sandbox::EqualsIgnoreCase(p.first, "Idempotency-Key"); }),
                h.end());
        return handler(req);
      });
    }
    return Status::Ok();
  }
  json Credentials() const override { return inner_->Credentials(); }
  std::vector<std::string> ObjectTypes() const override { return inner_->ObjectTypes(); }
  Result<json> Objects(std::string_view type) override { return inner_->Objects(type); }
  Result<json> TriggerEvents(const json& request) override { return inner_->TriggerEvents(request); }
  void Reset() override { inner_->Reset(); }
  json HarnessInfo() const override { return inner_->HarnessInfo(); }
  sandbox::Response ErrorResponse(const sandbox::Request& req, int status,
                                  std::string_view message) const override {
    return inner_->ErrorResponse(req, status, message);
  }
  std::optional<std::string> RateLimitKey(const sandbox::Request& req) const override {
    return inner_->RateLimitKey(req);
  }
  sandbox::Response TooManyRequests(const sandbox::Request& req,
                                    const sandbox::RateDecision& d) const override {
    return inner_->TooManyRequests(req, d);
  }

 private:
  std::unique_ptr<sandbox::Emulator> inner_;
};

TEST(HarnessSuite, CatchesAVendorThatIgnoresIdempotencyKeys) {
  sandbox::EmulatorRegistry emulators;
  emulators.Register("template", [](const sandbox::EmulatorOptions& o) {
    return std::make_unique<ForgetfulVendor>(sandbox::template_co::MakeTemplateEmulator(o));
  });
  const auto results = RunTemplate(MLC_HARNESS_TEMPLATE_PLUGIN, emulators);
  auto by = ByName(results);
  EXPECT_EQ(by["read_full"].outcome, Outcome::kPass) << FormatResult(by["read_full"]);
  EXPECT_EQ(by["write_idempotent"].outcome, Outcome::kFail);
  EXPECT_NE(by["write_idempotent"].detail.find("gave two ids"), std::string::npos)
      << by["write_idempotent"].detail;
  EXPECT_EQ(by["write_lost_response"].outcome, Outcome::kFail);
  EXPECT_FALSE(AllPassed(results));
}

TEST(HarnessSuite, AFileThatIsNotAPluginFailsTheManifestCheckAndSkipsTheRest) {
  const std::string path = ::testing::TempDir() + "/not-a-plugin.so";
  std::ofstream(path) << "not an ELF file";
  sandbox::EmulatorRegistry emulators;
  sandbox::template_co::RegisterTemplateEmulator(emulators);
  const auto results = RunTemplate(path, emulators);
  ASSERT_EQ(results.size(), kCheckNames.size());
  EXPECT_EQ(results[0].outcome, Outcome::kFail);
  for (size_t i = 1; i < results.size(); ++i)
    EXPECT_EQ(results[i].outcome, Outcome::kSkip) << results[i].name;
  EXPECT_EQ(FormatSummary(results), "0 passed, 1 failed, 13 skipped");
}

TEST(HarnessSuite, AnUnknownSandboxFailsSetup) {
  sandbox::EmulatorRegistry emulators;  // nothing registered
  Options options;
  options.plugin_path = MLC_HARNESS_TEMPLATE_PLUGIN;
  options.sandbox = "nope";
  const auto results = RunSuite(options, emulators, {});
  ASSERT_EQ(results.size(), kCheckNames.size());
  EXPECT_EQ(results[0].outcome, Outcome::kPass);
  EXPECT_EQ(results[1].outcome, Outcome::kFail);
  EXPECT_NE(results[1].detail.find("no emulator for vendor 'nope'"), std::string::npos) << results[1].detail;
}

}  // namespace
}  // namespace mlc::harness
