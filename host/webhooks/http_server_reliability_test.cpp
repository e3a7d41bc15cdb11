// Reliability tests for the inbound HTTP server (real time, many sockets): 1,000 concurrent mostly-idle
// connections while requests are still answered, and slow-header (slowloris) clients being disconnected.
#include <gtest/gtest.h>

#include <thread>
#include <vector>

#include "webhooks/http_server.hpp"
#include "webhooks/test_client.hpp"

namespace mlc::webhooks {
namespace {

using testing::BuildRequest;
using testing::Http;
using testing::RawConnection;
using namespace std::chrono_literals;

template <typename Pred>
bool Eventually(Pred pred, std::chrono::milliseconds bound = 30s) {
  const auto until = std::chrono::steady_clock::now() + bound;
  while (std::chrono::steady_clock::now() < until) {
    if (pred()) return true;
    std::this_thread::sleep_for(10ms);
  }
  return pred();
}

TEST(HttpServerReliabilityTest, ServesRequestsWhileAThousandConnectionsAreOpen) {
  constexpr size_t kIdle = 1000;
  ASSERT_GE(testing::RaiseFdLimit(4096), kIdle + 200) << "cannot raise the open-file limit for this test";
  // Generous header/idle timeouts: the idle sockets must still be open when the checks run.
  HttpServer server({.header_timeout = 120s, .idle_timeout = 120s});
  server.Route("GET", "/ping", [](const Request&, Responder r) { r.Send(Response::Text(200, "pong")); });
  ASSERT_TRUE(server.Start().ok());
  const uint16_t port = server.port();

  std::vector<RawConnection> conns;
  conns.reserve(kIdle);
  for (size_t i = 0; i < kIdle; ++i) {
    conns.emplace_back(port);
    ASSERT_TRUE(conns.back().connected()) << "connection " << i;
    // Every tenth one has started a request and stalls mid-header; the rest say nothing at all.
    if (i % 10 == 0) {
      ASSERT_TRUE(conns.back().Send("GET /ping HTTP/1.1\r\nHost: x\r\n"));
    }
  }
  ASSERT_TRUE(Eventually([&] { return server.stats().open_connections == kIdle; }))
      << "open: " << server.stats().open_connections;

  // A fresh client is served while all of them are held open.
  for (int i = 0; i < 5; ++i) {
    auto res = Http(port, "GET", "/ping");
    EXPECT_EQ(res.status, 200);
    EXPECT_EQ(res.body, "pong");
  }
  // Some of the idle connections wake up and are served too; a stalled header can still be completed.
  for (size_t i = 1; i < kIdle; i += 97) {
    if (i % 10 == 0) continue;  // those hold a half-sent header
    ASSERT_TRUE(conns[i].Send(BuildRequest("GET", "/ping")));
    auto res = conns[i].ReadResponse();
    ASSERT_TRUE(res.has_value()) << "connection " << i;
    EXPECT_EQ(res->body, "pong");
  }
  ASSERT_TRUE(conns[0].Send("\r\n"));
  auto completed = conns[0].ReadResponse();
  ASSERT_TRUE(completed.has_value());
  EXPECT_EQ(completed->status, 200);
  EXPECT_EQ(server.stats().rejected_connections, 0u);

  conns.clear();
  EXPECT_TRUE(Eventually([&] { return server.stats().open_connections == 0; }));
  server.Stop();
}

TEST(HttpServerReliabilityTest, DisconnectsClientsThatSendHeadersTooSlowly) {
  HttpServer server({.header_timeout = 1s});
  server.Route("GET", "/", [](const Request&, Responder r) { r.Send(Response::Text(200, "ok")); });
  ASSERT_TRUE(server.Start().ok());

  RawConnection slow(server.port());
  ASSERT_TRUE(slow.connected());
  // A 200-byte header at one byte per 250 ms would take 50 s; the server must cut it off long before.
  const std::string header = "GET / HTTP/1.1\r\nHost: x\r\nX-Slow: " + std::string(160, 's') + "\r\n\r\n";
  size_t sent = 0;
  bool closed = false;
  const auto give_up = std::chrono::steady_clock::now() + 30s;  // the loop stops by itself
  while (sent < header.size() && std::chrono::steady_clock::now() < give_up) {
    if (!slow.Send(header.substr(sent, 1))) {
      closed = true;
      break;
    }
    ++sent;
    if (slow.WaitClosed(250ms)) {
      closed = true;
      break;
    }
  }
  EXPECT_TRUE(closed) << "the slow client was never disconnected";
  EXPECT_LT(sent, header.size()) << "the whole header got through";
  // Counted once the read completes, just after the socket was closed.
  EXPECT_TRUE(Eventually([&] { return server.stats().header_timeouts == 1; }));

  // Normal clients are unaffected.
  EXPECT_EQ(Http(server.port(), "GET", "/").status, 200);
  server.Stop();
}

TEST(HttpServerReliabilityTest, SlowHeadersDoNotDelayOtherClients) {
  HttpServer server({.header_timeout = 2s});
  server.Route("GET", "/", [](const Request&, Responder r) { r.Send(Response::Text(200, "ok")); });
  ASSERT_TRUE(server.Start().ok());
  std::vector<RawConnection> stalled;
  for (int i = 0; i < 50; ++i) {
    stalled.emplace_back(server.port());
    ASSERT_TRUE(stalled.back().Send("GET / HTTP/1.1\r\nHo"));
  }
  // Served while all 50 stall (no timing assertion: the request simply has to succeed).
  EXPECT_EQ(Http(server.port(), "GET", "/").status, 200);
  for (auto& c : stalled) EXPECT_TRUE(c.WaitClosed(30s));
  EXPECT_TRUE(Eventually([&] { return server.stats().header_timeouts == 50; }));
  server.Stop();
}

}  // namespace
}  // namespace mlc::webhooks
