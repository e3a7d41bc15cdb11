// Shared fixture for the FreshBooks emulator tests: a running emulator on loopback, an HTTP client that
// sends the announced bearer token, and a webhook receiver that records what it is sent.
#ifndef MLC_PLUGINS_FRESHBOOKS_SANDBOX_FRESHBOOKS_TEST_UTIL_HPP_
#define MLC_PLUGINS_FRESHBOOKS_SANDBOX_FRESHBOOKS_TEST_UTIL_HPP_

#include <gtest/gtest.h>

#include <chrono>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "freshbooks_emulator.hpp"
#include "mlc/testing/emulator_fixture.hpp"

namespace mlc::sandbox::freshbooks::testing {

// The kit's receiver at FreshBooks' webhook path, with a filter by event name.
class WebhookReceiver : public mlc::testing::WebhookReceiver {
 public:
  WebhookReceiver() : mlc::testing::WebhookReceiver("/webhooks/freshbooks") {}
  // The received requests whose form field `name` equals `event`.
  std::vector<Request> Named(const std::string& event) const {
    std::vector<Request> out;
    for (const auto& r : received()) {
      for (const auto& [k, v] : r.FormBody()) {
        if (k == "name" && v == event) out.push_back(r);
      }
    }
    return out;
  }
};

inline std::string FormValue(const Request& r, const std::string& key) {
  for (const auto& [k, v] : r.FormBody()) {
    if (k == key) return v;
  }
  return {};
}

class FreshBooksTest : public mlc::testing::EmulatorFixture {
 protected:
  void Start(int records = 60, nlohmann::json vendor = nlohmann::json::object(),
             std::string webhook_url = "") {
    StartEmulator(MakeFreshBooksEmulator, Options(records, std::move(vendor), std::move(webhook_url)),
                  "access_token");
    account_ = creds_["account_id"];
  }

  // "/accounting/account/<account_id>/<path>"
  std::string Acct(const std::string& path) const { return "/accounting/account/" + account_ + "/" + path; }

  HttpResponse CallJson(std::string_view method, const std::string& path, const nlohmann::json& body) {
    return Call(method, path, body.dump(), {{"Content-Type", "application/json"}});
  }
  // The "result" object of a 200 accounting response.
  nlohmann::json Result(const HttpResponse& r) {
    EXPECT_EQ(r.status, 200) << r.body;
    auto doc = r.Json();
    EXPECT_TRUE(doc.ok()) << r.body;
    if (!doc.ok() || !doc->contains("response") || !(*doc)["response"].contains("result")) return nullptr;
    return (*doc)["response"]["result"];
  }
  // The first legacy error of an accounting error response.
  nlohmann::json FirstError(const HttpResponse& r) {
    auto doc = r.Json();
    EXPECT_TRUE(doc.ok()) << r.body;
    if (!doc.ok() || !doc->contains("response") || !(*doc)["response"].contains("errors") ||
        (*doc)["response"]["errors"].empty()) {
      ADD_FAILURE() << "not a legacy error body: " << r.body;
      return nlohmann::json::object();
    }
    return (*doc)["response"]["errors"][0];
  }
  void Flush() { Control("POST", "/_sandbox/webhooks/flush", {{"timeout_ms", 10000}}); }

  // A category id by name from the seeded chart.
  int64_t CategoryId(const std::string& name) {
    for (const auto& c : Objects("categories")) {
      if (c["category"] == name) return c["id"].get<int64_t>();
    }
    ADD_FAILURE() << "no category " << name;
    return 0;
  }
  nlohmann::json ValidExpense(const std::string& notes = "Figma seats") {
    return {{"expense",
             {{"amount", {{"amount", "79.73"}, {"code", "USD"}}},
              {"categoryid", std::to_string(CategoryId("Software"))},
              {"staffid", 1},
              {"date", "2025-04-24"},
              {"vendor", "Figma"},
              {"notes", notes}}}};
  }

  std::string account_;
};

}  // namespace mlc::sandbox::freshbooks::testing

#endif  // MLC_PLUGINS_FRESHBOOKS_SANDBOX_FRESHBOOKS_TEST_UTIL_HPP_
