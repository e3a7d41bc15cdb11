// Shared fixture for the Brex emulator tests: a running emulator, an HTTP client and a webhook receiver.
#ifndef MLC_PLUGINS_BREX_SANDBOX_BREX_TEST_UTIL_HPP_
#define MLC_PLUGINS_BREX_SANDBOX_BREX_TEST_UTIL_HPP_

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "brex_emulator.hpp"
#include "mlc/testing/emulator_fixture.hpp"

namespace mlc::sandbox::brex::testing {

// The kit's receiver at Brex's webhook path.
class WebhookReceiver : public mlc::testing::WebhookReceiver {
 public:
  WebhookReceiver() : mlc::testing::WebhookReceiver("/webhooks/brex") {}
};

class BrexTest : public mlc::testing::EmulatorFixture {
 protected:
  // Starts an emulator seeded with 42 over May 2025; `vendor` adds emulator options.
  void Start(int records = 50, nlohmann::json vendor = nlohmann::json::object(),
             std::string webhook_url = "") {
    vendor["month"] = "2025-05";
    // These tests drive every endpoint, writes included: a token created with every scope unless a test
    // narrows it (the emulator's default is the operator guide's read scopes).
    if (!vendor.contains("user_token_scopes")) vendor["user_token_scopes"] = "all";
    StartEmulator(MakeBrexEmulator, Options(records, vendor, std::move(webhook_url)), "user_token");
  }

  // Follows next_cursor to the end and returns every item.
  std::vector<nlohmann::json> Walk(const std::string& path, int limit) {
    std::vector<nlohmann::json> all;
    std::string cursor;
    for (int pages = 0; pages < 1000; ++pages) {
      std::string url =
          path + (path.find('?') == std::string::npos ? "?" : "&") + "limit=" + std::to_string(limit);
      if (!cursor.empty()) url += "&cursor=" + UrlEncode(cursor);
      nlohmann::json page = Get(url);
      EXPECT_LE(page["items"].size(), static_cast<size_t>(limit));
      for (auto& item : page["items"]) all.push_back(item);
      if (page["next_cursor"].is_null()) return all;
      cursor = page["next_cursor"];
    }
    ADD_FAILURE() << "pagination did not end";
    return all;
  }
};

}  // namespace mlc::sandbox::brex::testing

#endif  // MLC_PLUGINS_BREX_SANDBOX_BREX_TEST_UTIL_HPP_
