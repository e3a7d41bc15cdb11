// Tests for two kit additions made for the FreshBooks emulator: OAuth ready tokens with caller-chosen values
// (restored after a reset) and webhook messages with their own content type and fixed headers.
#include <gtest/gtest.h>

#include <mutex>
#include <vector>

#include "mlc/sandbox/oauth.hpp"
#include "mlc/sandbox/server.hpp"
#include "mlc/sandbox/webhooks.hpp"

namespace mlc::sandbox {
namespace {

TEST(OAuthPresetTokens, IssuesTheGivenTokensAndSurvivesReset) {
  Clock clock;
  OAuthServer oauth(clock, 3, {});
  oauth.AddClient({"cid", "secret", {}});
  auto first = oauth.IssueDirectWithTokens("cid", "user_1", "read", "at_fixed", "rt_fixed");
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_EQ((*first)["access_token"], "at_fixed");
  EXPECT_EQ((*first)["refresh_token"], "rt_fixed");
  EXPECT_EQ(oauth.CheckAccessToken("at_fixed").state, TokenState::kValid);
  EXPECT_EQ(oauth.CheckAccessToken("at_fixed").grant.subject, "user_1");

  // The preset refresh token works like any other: it rotates once.
  Request refresh;
  refresh.method = "POST";
  refresh.headers = {{"Content-Type", "application/x-www-form-urlencoded"}};
  refresh.body = "grant_type=refresh_token&refresh_token=rt_fixed&client_id=cid&client_secret=secret";
  EXPECT_EQ(oauth.HandleToken(refresh).status, 200);
  EXPECT_EQ(oauth.HandleToken(refresh).status, 400);

  // Strings in use, empty strings and unknown clients are refused.
  EXPECT_FALSE(oauth.IssueDirectWithTokens("cid", "user_1", "", "at_fixed", "rt_other").ok());
  EXPECT_FALSE(oauth.IssueDirectWithTokens("cid", "user_1", "", "", "rt_other").ok());
  EXPECT_EQ(oauth.IssueDirectWithTokens("nobody", "user_1", "", "at_2", "rt_2").status().code(),
            Code::kNotFound);

  oauth.Reset();
  ASSERT_TRUE(oauth.IssueDirectWithTokens("cid", "user_1", "read", "at_fixed", "rt_fixed").ok());
  EXPECT_EQ(oauth.HandleToken(refresh).status, 200);
}

TEST(WebhookMessages, CarryTheirContentTypeAndFixedHeaders) {
  std::mutex mu;
  std::vector<Request> received;
  auto server = HttpServer::Create({}, [&](Request& req) {
    std::lock_guard lock(mu);
    received.push_back(req);
    return Response::Empty(200);
  });
  ASSERT_TRUE(server.ok());
  (*server)->Start();
  Clock clock;
  WebhookSender sender(clock, nullptr);
  sender.SetSigner([](const WebhookMessage&, int64_t) { return HeaderList{{"X-Signer", "yes"}}; });
  WebhookMessage m;
  m.url = (*server)->base_url() + "/hook";
  m.body = "name=expense.create&object_id=7";
  m.content_type = "application/x-www-form-urlencoded";
  m.headers = {{"X-Fixed-Signature", "abc="}};
  const std::string id = sender.Enqueue(m);
  EXPECT_EQ(id.rfind("msg_", 0), 0u);
  ASSERT_TRUE(sender.WaitIdle(std::chrono::seconds(10)));
  std::lock_guard lock(mu);
  ASSERT_EQ(received.size(), 1u);
  EXPECT_EQ(received[0].Header("Content-Type"), "application/x-www-form-urlencoded");
  EXPECT_EQ(received[0].Header("X-Fixed-Signature"), "abc=");
  EXPECT_EQ(received[0].Header("X-Signer"), "yes");
  EXPECT_EQ(received[0].body, m.body);
  EXPECT_EQ(sender.Deliveries()[0].state, "delivered");
}

}  // namespace
}  // namespace mlc::sandbox
