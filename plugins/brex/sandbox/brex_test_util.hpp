// Shared fixture for the Brex emulator tests: a running emulator, an HTTP client and a webhook receiver.
#ifndef MLC_PLUGINS_BREX_SANDBOX_BREX_TEST_UTIL_HPP_
#define MLC_PLUGINS_BREX_SANDBOX_BREX_TEST_UTIL_HPP_

#include <gtest/gtest.h>

#include <mutex>
#include <string>
#include <vector>

#include "brex_emulator.hpp"
#include "mlc/sandbox/http_client.hpp"
#include "mlc/sandbox/server.hpp"

namespace mlc::sandbox::brex::testing {

// Records every request it receives and answers 200.
class WebhookReceiver {
 public:
  WebhookReceiver() {
    auto s = HttpServer::Create({}, [this](Request& req) {
      std::lock_guard lock(mu_);
      received_.push_back(req);
      return Response::Empty(200);
    });
    EXPECT_TRUE(s.ok());
    server_ = std::move(*s);
    server_->Start();
  }
  std::string url() const { return server_->base_url() + "/webhooks/brex"; }
  std::vector<Request> received() const {
    std::lock_guard lock(mu_);
    return received_;
  }

 private:
  mutable std::mutex mu_;
  std::vector<Request> received_;
  std::unique_ptr<HttpServer> server_;
};

class BrexTest : public ::testing::Test {
 protected:
  // Starts an emulator seeded with 42 over May 2025; `vendor` adds emulator options.
  void Start(int records = 50, nlohmann::json vendor = nlohmann::json::object(),
             std::string webhook_url = "") {
    EmulatorOptions options;
    options.seed = 42;
    options.records = records;
    options.webhook_url = std::move(webhook_url);
    vendor["month"] = "2025-05";
    // These tests drive every endpoint, writes included: a token created with every scope unless a test
    // narrows it (the emulator's default is the operator guide's read scopes).
    if (!vendor.contains("user_token_scopes")) vendor["user_token_scopes"] = "all";
    options.vendor = vendor;
    options.webhook_sender.initial_backoff = std::chrono::milliseconds(5);
    auto s = SandboxServer::Start(MakeBrexEmulator(options), options);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    server_ = std::move(*s);
    base_ = server_->base_url();
    creds_ = server_->Announcement()["credentials"];
    token_ = creds_["user_token"];
  }

  HttpResponse Call(std::string_view method, const std::string& path, const std::string& body = "",
                    HeaderList headers = {}, bool auth = true) {
    if (auth) headers.emplace_back("Authorization", "Bearer " + token_);
    auto r = client_.Send(method, path.rfind("http", 0) == 0 ? path : base_ + path, headers, body);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : HttpResponse{};
  }
  nlohmann::json Get(const std::string& path) {
    HttpResponse r = Call("GET", path);
    EXPECT_EQ(r.status, 200) << path << ": " << r.body;
    return r.Json().value_or(nlohmann::json());
  }
  nlohmann::json Control(std::string_view method, const std::string& path,
                         const nlohmann::json& body = nullptr) {
    HttpResponse r = Call(method, path, body.is_null() ? "" : body.dump(), {}, false);
    EXPECT_EQ(r.status, 200) << path << ": " << r.body;
    return r.Json().value_or(nlohmann::json());
  }
  nlohmann::json Objects(const std::string& type) { return Control("GET", "/_sandbox/objects/" + type); }
  void AdvanceClock(int64_t seconds) { Control("POST", "/_sandbox/clock", {{"advance_s", seconds}}); }

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

  std::unique_ptr<SandboxServer> server_;
  HttpClient client_;
  std::string base_;
  nlohmann::json creds_;
  std::string token_;
};

}  // namespace mlc::sandbox::brex::testing

#endif  // MLC_PLUGINS_BREX_SANDBOX_BREX_TEST_UTIL_HPP_
