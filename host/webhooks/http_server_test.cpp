// Tests for the inbound HTTP server over real loopback sockets: routing, handler completion, limits (413,
// 431, queue, connections), keep-alive, 100-continue, malformed input and graceful stop.
#include "webhooks/http_server.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <future>
#include <mutex>
#include <thread>

#include "webhooks/metrics.hpp"
#include "webhooks/test_client.hpp"

namespace mlc::webhooks {
namespace {

using testing::BuildRequest;
using testing::Http;
using testing::RawConnection;
using namespace std::chrono_literals;

// A gate handlers wait on until the test opens it.
class Gate {
 public:
  void Open() {
    std::lock_guard lock(mu_);
    open_ = true;
    cv_.notify_all();
  }
  void Wait() {
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, 30s, [this] { return open_; });  // bounded: a broken test cannot hang forever
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool open_ = false;
};

// Polls `pred` for up to 10 s (no timing assertion: only a bound so a broken test cannot hang).
template <typename Pred>
bool Eventually(Pred pred) {
  const auto until = std::chrono::steady_clock::now() + 10s;
  while (std::chrono::steady_clock::now() < until) {
    if (pred()) return true;
    std::this_thread::sleep_for(5ms);
  }
  return pred();
}

Handler Echo(std::string tag) {
  return [tag](const Request& req, Responder r) {
    r.Send(Response::Text(200, tag + " " + req.method + " " + req.path));
  };
}

TEST(HttpServerTest, RoutesByMethodAndLongestPrefix) {
  HttpServer server;
  server.Route("GET", "/a", Echo("a"));
  server.Route("GET", "/a/b/", Echo("ab"));
  server.Route("POST", "/a/b/", Echo("ab-post"));
  server.Route("*", "/any/", Echo("any"));
  ASSERT_TRUE(server.Start().ok());
  const uint16_t port = server.port();
  ASSERT_NE(port, 0);

  EXPECT_EQ(Http(port, "GET", "/a").body, "a GET /a");
  EXPECT_EQ(Http(port, "GET", "/a/x").body, "a GET /a/x");
  EXPECT_EQ(Http(port, "GET", "/a/b/c?q=1").body, "ab GET /a/b/c");
  EXPECT_EQ(Http(port, "POST", "/a/b/c").body, "ab-post POST /a/b/c");
  EXPECT_EQ(Http(port, "DELETE", "/any/thing").body, "any DELETE /any/thing");
  EXPECT_EQ(Http(port, "GET", "/ab").status, 404);  // "/a" matches only "/a" and "/a/..."
  EXPECT_EQ(Http(port, "GET", "/nothing").status, 404);
  auto not_allowed = Http(port, "PUT", "/a/b/c");
  EXPECT_EQ(not_allowed.status, 405);
  EXPECT_EQ(not_allowed.Header("allow"), "GET, POST");
}

TEST(HttpServerTest, ParsesQueryHeadersAndStampsReceiveTime) {
  HttpServer server({.now_ms = [] { return int64_t{1700000000123}; }});
  std::promise<Request> seen;
  server.Route("POST", "/in", [&](const Request& req, Responder r) {
    seen.set_value(req);
    r.Send(Response::Text(204, ""));
  });
  ASSERT_TRUE(server.Start().ok());
  auto res = Http(server.port(), "POST", "/in?validationToken=a%2Bb+c&x=1&x=2&flag", "payload",
                  {{"X-Custom", "one"}, {"x-custom", "two"}});
  EXPECT_EQ(res.status, 204);
  Request req = seen.get_future().get();
  EXPECT_EQ(req.path, "/in");
  EXPECT_EQ(req.query.at("validationToken"), "a+b c");
  EXPECT_EQ(req.query.at("x"), "1");
  EXPECT_EQ(req.query.at("flag"), "");
  ASSERT_NE(req.Header("x-custom"), nullptr);
  EXPECT_EQ(*req.Header("x-custom"), "one, two");
  EXPECT_EQ(req.body, "payload");
  EXPECT_EQ(req.received_at_ms, 1700000000123);
  EXPECT_EQ(req.remote_address, "127.0.0.1");
}

TEST(HttpServerTest, HandlersMayAnswerLaterFromAnotherThread) {
  HttpServer server;
  std::vector<std::thread> later;
  std::mutex mu;
  server.Route("GET", "/slow", [&](const Request&, Responder r) {
    std::lock_guard lock(mu);
    later.emplace_back([r] {
      std::this_thread::sleep_for(20ms);
      r.Send(Response::Json(202, {{"done", true}}));
    });
  });
  ASSERT_TRUE(server.Start().ok());
  auto res = Http(server.port(), "GET", "/slow");
  EXPECT_EQ(res.status, 202);
  EXPECT_EQ(res.body, R"({"done":true})");
  EXPECT_EQ(res.Header("content-type"), "application/json");
  std::lock_guard lock(mu);
  for (auto& t : later) t.join();
}

TEST(HttpServerTest, ForgottenOrThrowingHandlersGive500) {
  HttpServer server;
  server.Route("GET", "/forget", [](const Request&, Responder) {});
  server.Route("GET", "/throw", [](const Request&, Responder) { throw std::runtime_error("boom"); });
  server.Route("GET", "/twice", [](const Request&, Responder r) {
    r.Send(Response::Text(200, "first"));
    r.Send(Response::Text(201, "second"));  // ignored
  });
  server.Route("GET", "/badstatus", [](const Request&, Responder r) { r.Send(Response::Text(42, "x")); });
  ASSERT_TRUE(server.Start().ok());
  EXPECT_EQ(Http(server.port(), "GET", "/forget").status, 500);
  auto thrown = Http(server.port(), "GET", "/throw");
  EXPECT_EQ(thrown.status, 500);
  EXPECT_EQ(thrown.body.find("boom"), std::string::npos);  // exception text is logged, not sent
  auto twice = Http(server.port(), "GET", "/twice");
  EXPECT_EQ(twice.status, 200);
  EXPECT_EQ(twice.body, "first");
  EXPECT_EQ(Http(server.port(), "GET", "/badstatus").status, 500);
}

TEST(HttpServerTest, DropsResponseHeadersWithLineBreaks) {
  HttpServer server;
  server.Route("GET", "/h", [](const Request&, Responder r) {
    Response res = Response::Text(200, "ok");
    res.headers.emplace_back("X-Good", "yes");
    res.headers.emplace_back("X-Bad", "a\r\nSet-Cookie: evil=1");
    r.Send(std::move(res));
  });
  ASSERT_TRUE(server.Start().ok());
  auto res = Http(server.port(), "GET", "/h");
  EXPECT_EQ(res.status, 200);
  EXPECT_EQ(res.Header("x-good"), "yes");
  EXPECT_EQ(res.Header("set-cookie"), "");
  EXPECT_EQ(res.Header("x-bad"), "");
}

TEST(HttpServerTest, KeepsConnectionsAliveAcrossRequests) {
  HttpServer server;
  server.Route("GET", "/k", Echo("k"));
  ASSERT_TRUE(server.Start().ok());
  RawConnection c(server.port());
  ASSERT_TRUE(c.connected());
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(c.Send(BuildRequest("GET", "/k")));
    auto res = c.ReadResponse();
    ASSERT_TRUE(res.has_value()) << "request " << i;
    EXPECT_EQ(res->body, "k GET /k");
  }
  // Two pipelined requests in one write are answered in order.
  ASSERT_TRUE(c.Send(BuildRequest("GET", "/k/1") + BuildRequest("GET", "/k/2")));
  auto r1 = c.ReadResponse();
  auto r2 = c.ReadResponse();
  ASSERT_TRUE(r1 && r2);
  EXPECT_EQ(r1->body, "k GET /k/1");
  EXPECT_EQ(r2->body, "k GET /k/2");
  EXPECT_EQ(server.stats().accepted_connections, 1u);
  EXPECT_EQ(server.stats().requests, 5u);
}

TEST(HttpServerTest, ClosesIdleKeepAliveConnections) {
  HttpServer server({.idle_timeout = 200ms});
  server.Route("GET", "/k", Echo("k"));
  ASSERT_TRUE(server.Start().ok());
  RawConnection c(server.port());
  ASSERT_TRUE(c.Send(BuildRequest("GET", "/k")));
  ASSERT_TRUE(c.ReadResponse().has_value());
  EXPECT_TRUE(c.WaitClosed(10s));
  EXPECT_TRUE(Eventually([&] { return server.stats().open_connections == 0; }));
}

TEST(HttpServerTest, OversizeHeadersGet431) {
  HttpServer server;
  std::atomic<int> calls{0};
  server.Route("GET", "/", [&](const Request&, Responder r) {
    ++calls;
    r.Send(Response::Text(200, "ok"));
  });
  ASSERT_TRUE(server.Start().ok());
  RawConnection c(server.port());
  ASSERT_TRUE(c.Send(BuildRequest("GET", "/x", "", {{"X-Big", std::string(10000, 'a')}})));
  auto res = c.ReadResponse();
  ASSERT_TRUE(res.has_value());
  EXPECT_EQ(res->status, 431);
  EXPECT_EQ(res->Header("connection"), "close");
  EXPECT_TRUE(c.WaitClosed(10s));
  EXPECT_EQ(calls.load(), 0);
  // Headers just under the limit are fine.
  EXPECT_EQ(Http(server.port(), "GET", "/x", "", {{"X-Big", std::string(7000, 'a')}}).status, 200);
}

TEST(HttpServerTest, OversizeDeclaredBodyGets413BeforeTheBodyIsSent) {
  HttpServer server({.max_body_bytes = 1 << 20});
  std::atomic<int> calls{0};
  server.Route("POST", "/", [&](const Request&, Responder r) {
    ++calls;
    r.Send(Response::Text(200, "ok"));
  });
  ASSERT_TRUE(server.Start().ok());
  RawConnection c(server.port());
  // Only the header goes out: the server must answer without waiting for (or buffering) the body.
  ASSERT_TRUE(c.Send("POST /in HTTP/1.1\r\nHost: x\r\nContent-Length: 2097152\r\n\r\n"));
  auto res = c.ReadResponse();
  ASSERT_TRUE(res.has_value());
  EXPECT_EQ(res->status, 413);
  EXPECT_EQ(calls.load(), 0);
  // Exactly at the limit is accepted.
  EXPECT_EQ(Http(server.port(), "POST", "/in", std::string(1 << 20, 'x')).status, 200);
  EXPECT_EQ(calls.load(), 1);
}

TEST(HttpServerTest, OversizeChunkedBodyGets413WhileStreaming) {
  HttpServer server({.max_body_bytes = 64 << 10});
  std::atomic<int> calls{0};
  server.Route("POST", "/", [&](const Request&, Responder r) {
    ++calls;
    r.Send(Response::Text(200, "ok"));
  });
  ASSERT_TRUE(server.Start().ok());
  RawConnection c(server.port());
  ASSERT_TRUE(c.Send("POST /in HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"));
  const std::string chunk = "4000\r\n" + std::string(0x4000, 'y') + "\r\n";
  for (int i = 0; i < 16; ++i) {  // 256 KiB in 16 KiB chunks; the server stops reading at 64 KiB
    if (!c.Send(chunk)) break;
  }
  auto res = c.ReadResponse();
  ASSERT_TRUE(res.has_value());
  EXPECT_EQ(res->status, 413);
  EXPECT_EQ(calls.load(), 0);
}

TEST(HttpServerTest, AnswersExpectContinue) {
  HttpServer server;
  server.Route("POST", "/", [](const Request& req, Responder r) { r.Send(Response::Text(200, req.body)); });
  ASSERT_TRUE(server.Start().ok());
  RawConnection c(server.port());
  ASSERT_TRUE(c.Send("POST /in HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n"));
  auto interim = c.ReadResponse(10s, /*informational=*/true);
  ASSERT_TRUE(interim.has_value());
  EXPECT_EQ(interim->status, 100);
  ASSERT_TRUE(c.Send("hello"));
  auto res = c.ReadResponse();
  ASSERT_TRUE(res.has_value());
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->body, "hello");
}

TEST(HttpServerTest, MalformedRequestsGet400) {
  HttpServer server;
  server.Route("*", "/", Echo("root"));
  ASSERT_TRUE(server.Start().ok());
  {
    RawConnection c(server.port());
    ASSERT_TRUE(c.Send("G@T / HTTP/1.1\r\nHost: x\r\n\r\n"));
    auto res = c.ReadResponse();
    ASSERT_TRUE(res.has_value());
    EXPECT_EQ(res->status, 400);
  }
  {
    RawConnection c(server.port());
    ASSERT_TRUE(c.Send("GET / HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n"));
    auto res = c.ReadResponse();
    ASSERT_TRUE(res.has_value());
    EXPECT_EQ(res->status, 400);
  }
  {
    RawConnection c(server.port());
    ASSERT_TRUE(c.Send("GET http://example.com/ HTTP/1.1\r\nHost: x\r\n\r\n"));  // absolute form
    auto res = c.ReadResponse();
    ASSERT_TRUE(res.has_value());
    EXPECT_EQ(res->status, 400);
  }
  // The server keeps serving.
  EXPECT_EQ(Http(server.port(), "GET", "/fine").status, 200);
}

TEST(HttpServerTest, FullWorkerQueueGets503) {
  HttpServer server({.worker_threads = 1, .max_queued_requests = 1});
  Gate gate;
  std::atomic<int> entered{0};
  server.Route("GET", "/block", [&](const Request&, Responder r) {
    ++entered;
    gate.Wait();
    r.Send(Response::Text(200, "done"));
  });
  ASSERT_TRUE(server.Start().ok());
  RawConnection first(server.port());
  ASSERT_TRUE(first.Send(BuildRequest("GET", "/block")));
  ASSERT_TRUE(Eventually([&] { return entered.load() == 1; }));
  RawConnection second(server.port());
  ASSERT_TRUE(second.Send(BuildRequest("GET", "/block")));
  ASSERT_TRUE(Eventually([&] { return server.stats().in_flight == 2; }));  // running + queued
  auto third = Http(server.port(), "GET", "/block");
  EXPECT_EQ(third.status, 503);
  EXPECT_EQ(third.Header("retry-after"), "1");
  gate.Open();
  auto r1 = first.ReadResponse();
  auto r2 = second.ReadResponse();
  ASSERT_TRUE(r1 && r2);
  EXPECT_EQ(r1->status, 200);
  EXPECT_EQ(r2->status, 200);
}

TEST(HttpServerTest, RefusesConnectionsBeyondTheLimit) {
  metrics::Registry registry;
  HttpServer server({.max_connections = 2, .metrics = &registry});
  server.Route("GET", "/", Echo("x"));
  ASSERT_TRUE(server.Start().ok());
  RawConnection a(server.port());
  RawConnection b(server.port());
  ASSERT_TRUE(Eventually([&] { return server.stats().open_connections == 2; }));
  RawConnection c(server.port());
  ASSERT_TRUE(c.connected());
  auto res = c.ReadResponse();
  ASSERT_TRUE(res.has_value());
  EXPECT_EQ(res->status, 503);
  EXPECT_TRUE(c.WaitClosed(10s));
  EXPECT_EQ(server.stats().rejected_connections, 1u);
  EXPECT_NE(registry.Render().find("mlc_http_connections_rejected_total 1\n"), std::string::npos);
  // The admitted connections still work.
  ASSERT_TRUE(a.Send(BuildRequest("GET", "/")));
  auto ok = a.ReadResponse();
  ASSERT_TRUE(ok.has_value());
  EXPECT_EQ(ok->status, 200);
}

TEST(HttpServerTest, StartReportsBindErrors) {
  HttpServer first;
  ASSERT_TRUE(first.Start().ok());
  HttpServer second({.port = first.port()});
  Status s = second.Start();
  EXPECT_EQ(s.code(), Code::kError);
  EXPECT_NE(s.message().find("cannot listen"), std::string::npos);
  HttpServer bad({.address = "not-an-address"});
  EXPECT_EQ(bad.Start().code(), Code::kInvalid);
  EXPECT_EQ(first.Start().code(), Code::kInvalid);  // twice
}

TEST(HttpServerTest, GracefulStopFinishesInFlightRequestsAndClosesTheRest) {
  HttpServer server;
  Gate gate;
  std::atomic<int> entered{0};
  server.Route("POST", "/work", [&](const Request&, Responder r) {
    ++entered;
    gate.Wait();
    r.Send(Response::Text(200, "finished"));
  });
  ASSERT_TRUE(server.Start().ok());
  const uint16_t port = server.port();
  RawConnection busy(port);
  ASSERT_TRUE(busy.Send(BuildRequest("POST", "/work", "x")));
  ASSERT_TRUE(Eventually([&] { return entered.load() == 1; }));
  RawConnection idle(port);
  RawConnection partial(port);
  ASSERT_TRUE(partial.Send("POST /work HTTP/1.1\r\nHost: x\r\n"));  // header never finished
  ASSERT_TRUE(Eventually([&] { return server.stats().open_connections == 3; }));

  std::thread stopper([&] { server.Stop(30s); });
  EXPECT_TRUE(idle.WaitClosed(10s));
  EXPECT_TRUE(partial.WaitClosed(10s));
  ASSERT_TRUE(Eventually([&] { return server.stopping(); }));
  // No new connections once stopping (refused, or accepted by the kernel backlog and closed unanswered).
  EXPECT_TRUE(Eventually([&] {
    RawConnection late(port);
    return !late.connected() || !late.Send(BuildRequest("GET", "/x")) || !late.ReadResponse(2s).has_value();
  }));
  gate.Open();
  auto res = busy.ReadResponse();
  ASSERT_TRUE(res.has_value());
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->body, "finished");
  EXPECT_EQ(res->Header("connection"), "close");
  stopper.join();
  EXPECT_EQ(server.stats().in_flight, 0u);
  RawConnection after(port);
  EXPECT_FALSE(after.connected());
}

TEST(HttpServerTest, StopDeadlineClosesRequestsThatDoNotFinish) {
  HttpServer server;
  Gate gate;
  std::atomic<int> entered{0};
  server.Route("GET", "/stuck", [&](const Request&, Responder r) {
    ++entered;
    gate.Wait();
    r.Send(Response::Text(200, "too late"));
  });
  ASSERT_TRUE(server.Start().ok());
  RawConnection c(server.port());
  ASSERT_TRUE(c.Send(BuildRequest("GET", "/stuck")));
  ASSERT_TRUE(Eventually([&] { return entered.load() == 1; }));
  std::thread stopper([&] { server.Stop(100ms); });
  EXPECT_TRUE(c.WaitClosed(10s));  // closed at the deadline without an answer
  gate.Open();
  stopper.join();
  EXPECT_TRUE(server.stopping());
}

TEST(HttpServerTest, CountsResponsesInMetrics) {
  metrics::Registry registry;
  HttpServer server({.metrics = &registry});
  server.Route("GET", "/m", Echo("m"));
  ASSERT_TRUE(server.Start().ok());
  EXPECT_EQ(Http(server.port(), "GET", "/m").status, 200);
  EXPECT_EQ(Http(server.port(), "GET", "/none").status, 404);
  const std::string text = registry.Render();
  EXPECT_NE(text.find("mlc_http_responses_total{code=\"200\"} 1\n"), std::string::npos) << text;
  EXPECT_NE(text.find("mlc_http_responses_total{code=\"404\"} 1\n"), std::string::npos) << text;
  EXPECT_NE(text.find("# TYPE mlc_http_connections_open gauge\n"), std::string::npos) << text;
}

}  // namespace
}  // namespace mlc::webhooks
