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
#include "mlc/sandbox/http_client.hpp"
#include "mlc/sandbox/server.hpp"

namespace mlc::sandbox::freshbooks::testing {

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
  std::string url() const { return server_->base_url() + "/webhooks/freshbooks"; }
  std::vector<Request> received() const {
    std::lock_guard lock(mu_);
    return received_;
  }
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

 private:
  mutable std::mutex mu_;
  std::vector<Request> received_;
  std::unique_ptr<HttpServer> server_;
};

inline std::string FormValue(const Request& r, const std::string& key) {
  for (const auto& [k, v] : r.FormBody()) {
    if (k == key) return v;
  }
  return {};
}

class FreshBooksTest : public ::testing::Test {
 protected:
  void Start(int records = 60, nlohmann::json vendor = nlohmann::json::object(),
             std::string webhook_url = "") {
    EmulatorOptions options;
    options.seed = 42;
    options.records = records;
    options.webhook_url = std::move(webhook_url);
    options.vendor = vendor;
    options.webhook_sender.initial_backoff = std::chrono::milliseconds(5);
    auto s = SandboxServer::Start(MakeFreshBooksEmulator(options), options);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    server_ = std::move(*s);
    base_ = server_->base_url();
    creds_ = server_->Announcement()["credentials"];
    token_ = creds_["access_token"];
    account_ = creds_["account_id"];
  }

  // "/accounting/account/<account_id>/<path>"
  std::string Acct(const std::string& path) const { return "/accounting/account/" + account_ + "/" + path; }

  HttpResponse Call(std::string_view method, const std::string& path, const std::string& body = "",
                    HeaderList headers = {}, bool auth = true) {
    if (auth) headers.emplace_back("Authorization", "Bearer " + token_);
    auto r = client_.Send(method, path.rfind("http", 0) == 0 ? path : base_ + path, headers, body);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : HttpResponse{};
  }
  HttpResponse CallJson(std::string_view method, const std::string& path, const nlohmann::json& body) {
    return Call(method, path, body.dump(), {{"Content-Type", "application/json"}});
  }
  nlohmann::json Get(const std::string& path) {
    HttpResponse r = Call("GET", path);
    EXPECT_EQ(r.status, 200) << path << ": " << r.body;
    return r.Json().value_or(nlohmann::json());
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
  nlohmann::json Control(std::string_view method, const std::string& path,
                         const nlohmann::json& body = nullptr) {
    HttpResponse r = Call(method, path, body.is_null() ? "" : body.dump(), {}, false);
    EXPECT_EQ(r.status, 200) << path << ": " << r.body;
    return r.Json().value_or(nlohmann::json());
  }
  nlohmann::json Objects(const std::string& type) { return Control("GET", "/_sandbox/objects/" + type); }
  void AdvanceClock(double seconds) { Control("POST", "/_sandbox/clock", {{"advance_s", seconds}}); }
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

  std::unique_ptr<SandboxServer> server_;
  HttpClient client_;
  std::string base_;
  nlohmann::json creds_;
  std::string token_;
  std::string account_;
};

}  // namespace mlc::sandbox::freshbooks::testing

#endif  // MLC_PLUGINS_FRESHBOOKS_SANDBOX_FRESHBOOKS_TEST_UTIL_HPP_
