// Test support for vendor emulators (GoogleTest): a fixture that runs one emulator on loopback and talks
// to it with a real HTTP client, and a receiver that records the webhooks the emulator delivers. A vendor's
// emulator tests derive from EmulatorFixture and add only what is that vendor's (its token field, its
// envelopes, its pagination walk).
//
//   class AcmeTest : public mlc::testing::EmulatorFixture {
//    protected:
//     void Start(int records = 50) {
//       StartEmulator(mlc::sandbox::acme::MakeAcmeEmulator, Options(records), "access_token");
//     }
//   };
//   TEST_F(AcmeTest, ListsVendors) { Start(); EXPECT_EQ(Get("/v1/vendors")["items"].size(), 50u); }
//
// Ownership: the fixture owns the server and stops it in its destructor. Threads: test thread only; the
// receiver records from the server's threads under its own lock.
#ifndef MLC_TESTING_EMULATOR_FIXTURE_HPP_
#define MLC_TESTING_EMULATOR_FIXTURE_HPP_

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "mlc/sandbox/emulator.hpp"
#include "mlc/sandbox/http_client.hpp"
#include "mlc/sandbox/server.hpp"

namespace mlc::testing {

// An HTTP server on 127.0.0.1 (port 0) that records every request it receives and answers 200.
class WebhookReceiver {
 public:
  // `path` is what url() appends to the server's base URL ("/webhooks/acme").
  explicit WebhookReceiver(std::string path) : path_(std::move(path)) {
    auto s = sandbox::HttpServer::Create({}, [this](sandbox::Request& req) {
      std::lock_guard lock(mu_);
      received_.push_back(req);
      return sandbox::Response::Empty(200);
    });
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    if (!s.ok()) return;
    server_ = std::move(*s);
    server_->Start();
  }
  std::string url() const { return server_ ? server_->base_url() + path_ : std::string(); }
  std::vector<sandbox::Request> received() const {
    std::lock_guard lock(mu_);
    return received_;
  }

 private:
  std::string path_;
  mutable std::mutex mu_;
  std::vector<sandbox::Request> received_;
  std::unique_ptr<sandbox::HttpServer> server_;
};

class EmulatorFixture : public ::testing::Test {
 protected:
  // Emulator options as the vendor tests use them: a fixed seed and a fast webhook retry.
  static sandbox::EmulatorOptions Options(int records, nlohmann::json vendor = nlohmann::json::object(),
                                          std::string webhook_url = "") {
    sandbox::EmulatorOptions options;
    options.seed = 42;
    options.records = records;
    options.webhook_url = std::move(webhook_url);
    options.vendor = std::move(vendor);
    options.webhook_sender.initial_backoff = std::chrono::milliseconds(5);
    return options;
  }

  // Starts `make(options)` behind a SandboxServer; Call() then sends the announced credential
  // `token_field` as a bearer token (empty: no credential is read; set token_ yourself).
  template <typename Make>
  void StartEmulator(Make&& make, const sandbox::EmulatorOptions& options, const std::string& token_field) {
    auto s = sandbox::SandboxServer::Start(make(options), options);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    server_ = std::move(*s);
    base_ = server_->base_url();
    creds_ = server_->Announcement()["credentials"];
    if (!token_field.empty()) token_ = creds_.value(token_field, std::string());
  }

  // One request; `path` is relative to the emulator unless it is a full URL.
  sandbox::HttpResponse Call(std::string_view method, const std::string& path, const std::string& body = "",
                             sandbox::HeaderList headers = {}, bool auth = true) {
    if (auth) headers.emplace_back("Authorization", "Bearer " + token_);
    auto r = client_.Send(method, path.rfind("http", 0) == 0 ? path : base_ + path, headers, body);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : sandbox::HttpResponse{};
  }
  // A GET that must answer 200 with JSON.
  nlohmann::json Get(const std::string& path) {
    sandbox::HttpResponse r = Call("GET", path);
    EXPECT_EQ(r.status, 200) << path << ": " << r.body;
    return r.Json().value_or(nlohmann::json());
  }
  // The /_sandbox control API (no credentials), which must answer 200.
  nlohmann::json Control(std::string_view method, const std::string& path,
                         const nlohmann::json& body = nullptr) {
    sandbox::HttpResponse r = Call(method, path, body.is_null() ? "" : body.dump(), {}, false);
    EXPECT_EQ(r.status, 200) << path << ": " << r.body;
    return r.Json().value_or(nlohmann::json());
  }
  nlohmann::json Objects(const std::string& type) { return Control("GET", "/_sandbox/objects/" + type); }
  // Moves the emulator's clock; whole or fractional seconds, sent as given.
  template <typename Seconds>
  void AdvanceClock(Seconds seconds) {
    Control("POST", "/_sandbox/clock", {{"advance_s", seconds}});
  }

  std::unique_ptr<sandbox::SandboxServer> server_;
  sandbox::HttpClient client_;
  std::string base_;
  nlohmann::json creds_;
  std::string token_;
};

}  // namespace mlc::testing

#endif  // MLC_TESTING_EMULATOR_FIXTURE_HPP_
