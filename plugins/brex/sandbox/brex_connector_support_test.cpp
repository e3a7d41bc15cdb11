// Emulator features the brex connector and the acceptance harness rely on: cards' last four digits, the
// export queue object type, harness info, credentials under the plugin's secret names, updated_at[gt]
// precision.
#include <set>

#include "brex_test_util.hpp"
#include "mlc/sandbox/http.hpp"

namespace mlc::sandbox::brex::testing {
namespace {

using nlohmann::json;

TEST_F(BrexTest, CardsHaveStableLastFourDigits) {
  Start(20);
  const json expenses = Objects("expenses");
  std::string card_id;
  for (const auto& e : expenses) {
    if (e["payment"].is_object()) card_id = e["payment"]["payment_instrument"]["id"];
  }
  ASSERT_FALSE(card_id.empty());
  const json card = Get("/v2/cards/" + card_id);
  EXPECT_EQ(card["id"], card_id);
  const std::string last4 = card["last_four"];
  ASSERT_EQ(last4.size(), 4u);
  EXPECT_EQ(last4.find_first_not_of("0123456789"), std::string::npos);
  Control("POST", "/_sandbox/reset");
  EXPECT_EQ(Get("/v2/cards/" + card_id)["last_four"], last4);
  EXPECT_EQ(Call("GET", "/v2/cards/card_unknown").status, 404);
  EXPECT_EQ(Call("GET", "/v2/cards/" + card_id, "", {}, /*auth=*/false).status, 401);
}

TEST_F(BrexTest, ExportQueueAndHarnessInfoDescribeTheReadyRecords) {
  Start(50);
  const json queue = Objects("export_queue");
  size_t ready = 0;
  for (const auto& r : Objects("accounting_records"))
    ready += r["review_status"] == "READY_FOR_EXPORT" ? 1 : 0;
  EXPECT_EQ(queue.size(), ready);
  EXPECT_EQ(Walk("/v3/accounting/records?review_status=READY_FOR_EXPORT", 7).size(), ready);
  const json info = Control("GET", "/_sandbox/info");
  EXPECT_EQ(info["harness"]["streams"]["expenses"]["objects"], "export_queue");
  EXPECT_EQ(info["credentials"]["token"], info["credentials"]["user_token"]);
  const std::string secret = info["credentials"]["webhook_secret"];
  EXPECT_EQ(info["harness"]["webhook"]["secret"], secret);
  EXPECT_EQ(secret, Get("/v1/webhooks/secrets")[0]["secret"]);
  Control("POST", "/_sandbox/events", info["harness"]["streams"]["expenses"]["event"]);
  EXPECT_EQ(Objects("export_queue").size(), ready + 3);
}

TEST_F(BrexTest, UpdatedAfterComparesAtMicrosecondPrecision) {
  Start(30);
  Control("POST", "/_sandbox/events", {{"type", "ACCOUNTING_RECORD_READY_FOR_EXPORT"}, {"count", 2}});
  std::string newest;
  for (const auto& r : Objects("export_queue")) newest = std::max(newest, r["updated_at"].get<std::string>());
  ASSERT_FALSE(newest.empty());
  // The newest updated_at as rendered, passed back: nothing is newer than it.
  const json page =
      Get("/v3/accounting/records?review_status=READY_FOR_EXPORT&updated_at%5Bgt%5D=" + UrlEncode(newest));
  EXPECT_TRUE(page["items"].empty()) << page.dump();
}

}  // namespace
}  // namespace mlc::sandbox::brex::testing
