// HttpClient against the loopback test server: round trips, large bodies, multipart, keep-alive, retry hints,
// budgets, the UNCERTAIN rule for writes, proxies from the environment, and secrets kept out of errors.
// Waits go to a ManualClock, so no test sleeps for a backoff.
#include "http/http_client.hpp"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <ctime>
#include <set>

#include <spdlog/sinks/base_sink.h>

#include "core/log.hpp"
#include "http/testing/test_server.hpp"

namespace mlc::http {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using testing::Fault;
using testing::TestRequest;
using testing::TestResponse;
using testing::TestServer;

std::string Bytes(size_t n, uint32_t seed) {
  std::string s(n, '\0');
  uint32_t x = seed;
  for (char& c : s) {
    x = x * 1664525u + 1013904223u;
    c = static_cast<char>(x >> 24);
  }
  return s;
}

// A port on 127.0.0.1 that nothing listens on (bound, then closed).
uint16_t ClosedPort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  socklen_t len = sizeof(addr);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

std::string HttpDate(WallTime t) {
  const std::time_t tt = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[64];
  std::strftime(buf, sizeof(buf), "%a, %d %b %Y %H:%M:%S GMT", &tm);
  return buf;
}

struct ParsedPart {
  std::string name;
  std::string filename;
  std::string content_type;
  std::string data;
};

// Minimal multipart/form-data parser, enough to check what the client sent byte for byte.
std::vector<ParsedPart> ParseMultipart(const std::string& content_type, const std::string& body) {
  std::vector<ParsedPart> parts;
  const size_t b = content_type.find("boundary=");
  if (b == std::string::npos) return parts;
  std::string boundary = content_type.substr(b + 9);
  if (!boundary.empty() && boundary.front() == '"') boundary = boundary.substr(1, boundary.size() - 2);
  const std::string delimiter = "--" + boundary;
  size_t pos = body.find(delimiter);
  if (pos == std::string::npos) return parts;
  pos += delimiter.size();
  while (body.compare(pos, 2, "\r\n") == 0) {
    pos += 2;
    const size_t head_end = body.find("\r\n\r\n", pos);
    const size_t next = body.find("\r\n" + delimiter, head_end);
    if (head_end == std::string::npos || next == std::string::npos) break;
    const std::string head = body.substr(pos, head_end - pos);
    ParsedPart part;
    part.data = body.substr(head_end + 4, next - head_end - 4);
    auto quoted = [&](const std::string& key) -> std::string {
      const size_t k = head.find(key + "=\"");
      if (k == std::string::npos) return "";
      const size_t start = k + key.size() + 2;
      return head.substr(start, head.find('"', start) - start);
    };
    part.name = quoted("name");
    part.filename = quoted("filename");
    const size_t ct = head.find("Content-Type: ");
    if (ct != std::string::npos) part.content_type = head.substr(ct + 14, head.find("\r\n", ct) - ct - 14);
    parts.push_back(std::move(part));
    pos = next + 2 + delimiter.size();
  }
  return parts;
}

class HttpClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // Loopback tests must not be sent through a proxy configured on the machine.
    for (const char* var :
         {"http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"}) {
      ::unsetenv(var);
    }
    policy_.clock = &clock_;
    policy_.sleeper = &clock_;
  }

  HttpRequest Get(const std::string& url) { return HttpRequest{.method = "GET", .url = url}; }

  HttpClient client_;
  ManualClock clock_;
  RetryPolicy policy_;
};

TestResponse Echo(const TestRequest& req) {
  TestResponse res{.status = 200, .body = req.body};
  res.headers.emplace_back("X-Echo-Method", req.method);
  res.headers.emplace_back("X-Echo-Target", req.target);
  res.headers.emplace_back("X-Echo-Custom", req.Header("x-custom") ? *req.Header("x-custom") : "(none)");
  return res;
}

TEST_F(HttpClientTest, GetRoundTripWithHeaders) {
  TestServer server([](const TestRequest& req) {
    TestResponse res = Echo(req);
    res.headers.emplace_back("Set-Cookie", "a=1");
    res.headers.emplace_back("Set-Cookie", "b=2");
    res.body = "hello";
    return res;
  });
  HttpRequest req = Get(server.Url("/v1/things?page=2&x=%20y"));
  req.headers = {{"X-Custom", "value with spaces"}, {"X-Empty", ""}, {"Accept", "application/json"}};
  auto res = client_.Send(req, policy_);
  ASSERT_TRUE(res.ok()) << res.status().ToString();
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->body, "hello");
  ASSERT_NE(res->Header("X-ECHO-METHOD"), nullptr);
  EXPECT_EQ(*res->Header("x-echo-method"), "GET");
  EXPECT_EQ(res->headers.at("x-echo-target"), "/v1/things?page=2&x=%20y");
  EXPECT_EQ(res->headers.at("x-echo-custom"), "value with spaces");
  EXPECT_EQ(res->headers.at("set-cookie"), "a=1, b=2");
  const TestRequest seen = server.requests().at(0);
  ASSERT_NE(seen.Header("x-empty"), nullptr) << "an empty header value is still sent";
  EXPECT_EQ(*seen.Header("x-empty"), "");
  EXPECT_EQ(seen.Header("expect"), nullptr);
}

TEST_F(HttpClientTest, PostAndPutCarryTenMebibyteBodiesBothWays) {
  TestServer server(Echo);
  const std::string body = Bytes(10 << 20, 7);  // includes NUL and every other byte value
  for (const char* method : {"POST", "PUT", "PATCH"}) {
    HttpRequest req{.method = method, .url = server.Url("/upload"), .body = body};
    req.headers = {{"Content-Type", "application/octet-stream"}};
    req.idempotency_key = "job-1";
    auto res = client_.Send(req, policy_);
    ASSERT_TRUE(res.ok()) << method << ": " << res.status().ToString();
    EXPECT_EQ(res->headers.at("x-echo-method"), method);
    EXPECT_EQ(res->body.size(), body.size()) << method;
    EXPECT_TRUE(res->body == body) << method << ": response body differs";
  }
  for (const TestRequest& seen : server.requests()) {
    EXPECT_TRUE(seen.body == body) << seen.method << ": server saw a different body";
    EXPECT_EQ(*seen.Header("idempotency-key"), "job-1");
  }
}

TEST_F(HttpClientTest, HeadAndDeleteWithoutBody) {
  TestServer server(Echo);
  auto head = client_.Send(HttpRequest{.method = "HEAD", .url = server.Url("/h")}, policy_);
  auto del = client_.Send(HttpRequest{.method = "DELETE", .url = server.Url("/d/1")}, policy_);
  ASSERT_TRUE(head.ok()) << head.status().ToString();
  ASSERT_TRUE(del.ok()) << del.status().ToString();
  const auto seen = server.requests();
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0].method, "HEAD");
  EXPECT_EQ(seen[1].method, "DELETE");
  EXPECT_TRUE(seen[1].body.empty());
}

TEST_F(HttpClientTest, MultipartUploadArrivesByteForByte) {
  std::vector<ParsedPart> parsed;
  std::string content_type;
  TestServer server([&](const TestRequest& req) {
    content_type = req.Header("content-type") ? *req.Header("content-type") : "";
    parsed = ParseMultipart(content_type, req.body);
    return TestResponse{.status = 201};
  });
  std::string receipt = Bytes(1 << 20, 3);
  for (int i = 0; i < 256; ++i) receipt.push_back(static_cast<char>(i));
  HttpRequest req{.method = "POST", .url = server.Url("/attachments")};
  req.multipart = {
      {.name = "meta", .content_type = "application/json", .data = R"({"expense":"e1"})"},
      {.name = "file", .filename = "receipt.pdf", .content_type = "application/pdf", .data = receipt}};
  auto res = client_.Send(req, policy_);
  ASSERT_TRUE(res.ok()) << res.status().ToString();
  EXPECT_EQ(res->status, 201);
  EXPECT_EQ(content_type.rfind("multipart/form-data", 0), 0u) << content_type;
  ASSERT_EQ(parsed.size(), 2u);
  EXPECT_EQ(parsed[0].name, "meta");
  EXPECT_EQ(parsed[0].content_type, "application/json");
  EXPECT_EQ(parsed[0].data, R"({"expense":"e1"})");
  EXPECT_EQ(parsed[1].name, "file");
  EXPECT_EQ(parsed[1].filename, "receipt.pdf");
  EXPECT_EQ(parsed[1].content_type, "application/pdf");
  EXPECT_TRUE(parsed[1].data == receipt) << "file bytes differ (" << parsed[1].data.size() << " bytes)";
}

TEST_F(HttpClientTest, SequentialRequestsReuseOneConnection) {
  TestServer server(Echo);
  for (int i = 0; i < 10; ++i) {
    HttpRequest req = i % 2 == 0 ? Get(server.Url("/r"))
                                 : HttpRequest{.method = "PUT", .url = server.Url("/r"), .body = "x"};
    auto res = client_.Send(req, policy_);
    ASSERT_TRUE(res.ok()) << res.status().ToString();
  }
  EXPECT_EQ(server.request_count(), 10u);
  EXPECT_EQ(server.connection_count(), 1u);
  for (const auto& seen : server.requests()) EXPECT_EQ(seen.connection_id, 1u);
}

TEST_F(HttpClientTest, RetryAfterSecondsIsHonoured) {
  TestServer server;
  server.PushFault(Fault::TooManyRequests("7"));
  auto res = client_.Send(Get(server.Url("/x")), policy_);
  ASSERT_TRUE(res.ok()) << res.status().ToString();
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(server.request_count(), 2u);
  EXPECT_EQ(clock_.sleeps(), (std::vector<Duration>{seconds(7)}));
}

TEST_F(HttpClientTest, RetryAfterHttpDateIsHonoured) {
  TestServer server;
  // The client reads the date against its (manual) wall clock: exactly 120 s ahead.
  clock_.SetWall(WallTime(std::chrono::seconds(1'900'000'000)));
  server.PushFault(Fault::Unavailable(HttpDate(clock_.WallNow() + seconds(120))));
  policy_.max_total = std::chrono::minutes(5);
  auto res = client_.Send(Get(server.Url("/x")), policy_);
  ASSERT_TRUE(res.ok()) << res.status().ToString();
  EXPECT_EQ(clock_.sleeps(), (std::vector<Duration>{seconds(120)}));
}

TEST_F(HttpClientTest, ExtraResetHeaderIsHonouredAsEpochOrSeconds) {
  clock_.SetWall(WallTime(std::chrono::seconds(1'900'000'000)));
  TestServer server;
  server.PushFault(
      Fault{.response = TestResponse{.status = 429, .headers = {{"X-RateLimit-Reset", "1900000020"}}}});
  server.PushFault(Fault{.response = TestResponse{.status = 429, .headers = {{"X-RateLimit-Reset", "3"}}}});
  policy_.extra_retry_headers = {"X-RateLimit-Reset"};
  policy_.random = [] { return 0.0; };
  auto res = client_.Send(Get(server.Url("/x")), policy_);
  ASSERT_TRUE(res.ok()) << res.status().ToString();
  // The second hint is read 20 s later on the manual clock, so "3" is relative and gives 3 s.
  EXPECT_EQ(clock_.sleeps(), (std::vector<Duration>{seconds(20), seconds(3)}));
}

// Captures the host logger's lines (debug and up) for the tests that check a log line.
class LineSink final : public spdlog::sinks::base_sink<std::mutex> {
 public:
  std::vector<std::string> Lines() {
    std::lock_guard lock(lines_mu_);
    return lines_;
  }

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    std::lock_guard lock(lines_mu_);
    lines_.emplace_back(msg.payload.data(), msg.payload.size());
  }
  void flush_() override {}

 private:
  std::mutex lines_mu_;
  std::vector<std::string> lines_;
};

std::shared_ptr<LineSink> CaptureLog() {
  static std::shared_ptr<LineSink> sink = [] {
    auto s = std::make_shared<LineSink>();
    Log().sinks().push_back(s);
    Log().set_level(spdlog::level::debug);
    return s;
  }();
  return sink;
}

struct ResetCase {
  const char* label;
  HintFormat format;
  // The reset header's value, given the client's wall clock.
  std::function<std::string(WallTime now)> value;
};

class ResetHeaderTest : public HttpClientTest, public ::testing::WithParamInterface<ResetCase> {};

TEST_P(ResetHeaderTest, A429WaitsUntilTheDeclaredResetAndPausesTheLimiter) {
  clock_.SetWall(WallTime(std::chrono::seconds(1'900'000'000)));
  const ResetCase& c = GetParam();
  TestServer server;
  server.PushFault(Fault{.response = TestResponse{
                             .status = 429, .headers = {{"X-RateLimit-Reset", c.value(clock_.WallNow())}}}});
  policy_.hint_headers = {{"X-RateLimit-Reset", c.format}};
  policy_.random = [] { return 0.0; };  // backoff 0: the wait is the hint alone
  policy_.max_total = std::chrono::minutes(5);
  RateLimiter limiter({}, &clock_, &clock_);
  const SteadyTime t0 = clock_.Now();
  auto res = client_.Send(Get(server.Url("/x")), policy_, &limiter);
  ASSERT_TRUE(res.ok()) << res.status().ToString();
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(server.request_count(), 2u);
  EXPECT_EQ(clock_.sleeps(), (std::vector<Duration>{seconds(90)})) << c.label;
  EXPECT_EQ(limiter.paused_until(), t0 + seconds(90)) << "the whole connection waits for the reset";
}

INSTANTIATE_TEST_SUITE_P(
    EveryResetKind, ResetHeaderTest,
    ::testing::Values(ResetCase{"seconds", HintFormat::kSeconds, [](WallTime) { return std::string("90"); }},
                      ResetCase{"epoch", HintFormat::kEpoch,
                                [](WallTime now) {
                                  return std::to_string(
                                      std::chrono::duration_cast<seconds>(now.time_since_epoch()).count() +
                                      90);
                                }},
                      ResetCase{"http_date", HintFormat::kHttpDate,
                                [](WallTime now) { return HttpDate(now + seconds(90)); }}),
    [](const auto& info) { return std::string(info.param.label); });

TEST_F(HttpClientTest, MalformedResetValuesFallBackToTheBackoffWithADebugLine) {
  auto log = CaptureLog();
  clock_.SetWall(WallTime(std::chrono::seconds(1'900'000'000)));
  const std::vector<std::pair<HintFormat, std::string>> cases = {
      {HintFormat::kHttpDate, "Tue, 99 Foo 2030 25:61:00 GMT"},
      {HintFormat::kHttpDate, "1900000090"},
      {HintFormat::kHttpDate, "Sat, 30 Feb 2030 10:00:00 GMT"},
      {HintFormat::kEpoch, "soon"},
      {HintFormat::kSeconds, "-5"},
      {HintFormat::kSeconds, "Sat, 16 Mar 2030 10:00:00 GMT"},
      {HintFormat::kEpoch, std::string(5000, '9') + "x"},
  };
  for (const auto& [format, value] : cases) {
    clock_.ClearSleeps();
    const size_t lines_before = log->Lines().size();
    TestServer server;
    server.PushFault(
        Fault{.response = TestResponse{.status = 429, .headers = {{"X-RateLimit-Reset", value}}}});
    policy_.hint_headers = {{"X-RateLimit-Reset", format}};
    policy_.random = [] { return 0.5; };
    auto res = client_.Send(Get(server.Url("/x")), policy_);
    ASSERT_TRUE(res.ok()) << res.status().ToString();
    EXPECT_EQ(res->status, 200);
    // The jittered backoff of the first retry (half of base_delay here), not the broken hint.
    EXPECT_EQ(clock_.sleeps(), (std::vector<Duration>{policy_.base_delay / 2})) << value;
    const auto lines = log->Lines();
    bool logged = false;
    for (size_t i = lines_before; i < lines.size(); ++i) {
      logged = logged || (lines[i].find("ignoring X-RateLimit-Reset header") != std::string::npos &&
                          lines[i].find("using the backoff delay") != std::string::npos);
    }
    EXPECT_TRUE(logged) << "no debug line for " << value.substr(0, 40);
  }
}

TEST_F(HttpClientTest, ServiceUnavailableThenSuccess) {
  TestServer server;
  server.PushFault(Fault::Unavailable());
  auto res = client_.Send(Get(server.Url("/x")), policy_);
  ASSERT_TRUE(res.ok()) << res.status().ToString();
  EXPECT_EQ(server.request_count(), 2u);
  ASSERT_EQ(clock_.sleeps().size(), 1u);
  EXPECT_GE(clock_.sleeps()[0], Duration::zero());
  EXPECT_LE(clock_.sleeps()[0], policy_.base_delay) << "first retry: jitter within [0, base]";
}

TEST_F(HttpClientTest, AttemptsExhaustedGivesRetry) {
  TestServer server([](const TestRequest&) { return TestResponse{.status = 503}; });
  policy_.max_attempts = 4;
  auto res = client_.Send(Get(server.Url("/x")), policy_);
  ASSERT_FALSE(res.ok());
  EXPECT_EQ(res.status().code(), Code::kRetry);
  EXPECT_NE(res.status().message().find("HTTP 503"), std::string::npos) << res.status().message();
  EXPECT_EQ(server.request_count(), 4u);
  EXPECT_EQ(clock_.sleeps().size(), 3u);
}

TEST_F(HttpClientTest, HintBeyondTheBudgetGivesUpAtOnce) {
  TestServer server;
  server.PushFault(Fault::TooManyRequests("600"));
  policy_.max_total = seconds(60);
  auto res = client_.Send(Get(server.Url("/x")), policy_);
  ASSERT_FALSE(res.ok());
  EXPECT_EQ(res.status().code(), Code::kRetry);
  EXPECT_EQ(server.request_count(), 1u);
  EXPECT_TRUE(clock_.sleeps().empty());
}

TEST_F(HttpClientTest, TimeBudgetExhaustedGivesRetry) {
  TestServer server([](const TestRequest&) { return TestResponse{.status = 502}; });
  policy_.max_attempts = 100;
  policy_.base_delay = seconds(4);
  policy_.max_delay = seconds(4);
  policy_.max_total = seconds(10);
  policy_.random = [] { return 0.75; };  // every wait is 3 s
  auto res = client_.Send(Get(server.Url("/x")), policy_);
  ASSERT_FALSE(res.ok());
  EXPECT_EQ(res.status().code(), Code::kRetry);
  EXPECT_NE(res.status().message().find("budget"), std::string::npos) << res.status().message();
  // Waits of 3 s at 0, 3, 6 s; at 9 s only 1 s is left, so the 4th attempt is the last.
  EXPECT_EQ(server.request_count(), 4u);
  EXPECT_EQ(clock_.sleeps(), (std::vector<Duration>{seconds(3), seconds(3), seconds(3)}));
}

TEST_F(HttpClientTest, PostWithoutKeyDroppedAfterSendIsUncertainAndNotRepeated) {
  TestServer server;
  server.PushFault(Fault::DropConnection());
  HttpRequest req{.method = "POST", .url = server.Url("/bills"), .body = R"({"amount":100})"};
  auto res = client_.Send(req, policy_);
  ASSERT_FALSE(res.ok());
  EXPECT_EQ(res.status().code(), Code::kUncertain) << res.status().ToString();
  EXPECT_EQ(server.request_count(), 1u);
  EXPECT_TRUE(clock_.sleeps().empty());
}

TEST_F(HttpClientTest, PostOnAWarmConnectionIsNotReplayedByLibcurl) {
  // libcurl re-sends a request by itself when a reused connection dies before any response byte.
  TestServer server;
  ASSERT_TRUE(client_.Send(Get(server.Url("/warm")), policy_).ok());
  server.PushFault(Fault::DropConnection());
  auto res = client_.Send(HttpRequest{.method = "POST", .url = server.Url("/bills"), .body = "{}"}, policy_);
  ASSERT_FALSE(res.ok());
  EXPECT_EQ(res.status().code(), Code::kUncertain);
  const auto seen = server.requests();
  EXPECT_EQ(std::count_if(seen.begin(), seen.end(), [](const TestRequest& r) { return r.method == "POST"; }),
            1);
}

TEST_F(HttpClientTest, PostResetAfterSendIsUncertain) {
  TestServer server;
  server.PushFault(Fault::ResetConnection());
  auto res = client_.Send(HttpRequest{.method = "POST", .url = server.Url("/bills"), .body = "{}"}, policy_);
  ASSERT_FALSE(res.ok());
  EXPECT_EQ(res.status().code(), Code::kUncertain) << res.status().ToString();
  EXPECT_EQ(server.request_count(), 1u);
}

TEST_F(HttpClientTest, PostTimingOutWhileWaitingIsUncertain) {
  TestServer server;
  server.PushFault(Fault::Delay(milliseconds(3000)));
  HttpRequest req{.method = "POST", .url = server.Url("/bills"), .body = "{}"};
  req.total_timeout = milliseconds(300);
  auto res = client_.Send(req, policy_);
  ASSERT_FALSE(res.ok());
  EXPECT_EQ(res.status().code(), Code::kUncertain) << res.status().ToString();
  EXPECT_EQ(server.request_count(), 1u);
}

TEST_F(HttpClientTest, GetTimingOutIsRetried) {
  TestServer server;
  server.PushFault(Fault::Delay(milliseconds(3000)));
  HttpRequest req = Get(server.Url("/slow"));
  req.total_timeout = milliseconds(300);
  auto res = client_.Send(req, policy_);
  ASSERT_TRUE(res.ok()) << res.status().ToString();
  EXPECT_EQ(server.request_count(), 2u);
}

TEST_F(HttpClientTest, PostWithIdempotencyKeyIsRetriedAfterADrop) {
  TestServer server;
  server.PushFault(Fault::DropConnection());
  HttpRequest req{.method = "POST", .url = server.Url("/bills"), .body = "{}"};
  req.idempotency_key = "job-42";
  auto res = client_.Send(req, policy_);
  ASSERT_TRUE(res.ok()) << res.status().ToString();
  const auto seen = server.requests();
  ASSERT_EQ(seen.size(), 2u);
  for (const auto& r : seen) {
    ASSERT_NE(r.Header("idempotency-key"), nullptr);
    EXPECT_EQ(*r.Header("idempotency-key"), "job-42");
  }
}

TEST_F(HttpClientTest, IdempotencyKeyGoesInTheNamedHeader) {
  TestServer server;
  HttpRequest req{.method = "POST", .url = server.Url("/bills"), .body = "{}"};
  req.idempotency_key = "k-1";
  req.idempotency_header = "X-Request-Id";
  ASSERT_TRUE(client_.Send(req, policy_).ok());
  const TestRequest seen = server.requests().at(0);
  ASSERT_NE(seen.Header("x-request-id"), nullptr);
  EXPECT_EQ(*seen.Header("x-request-id"), "k-1");
  EXPECT_EQ(seen.Header("idempotency-key"), nullptr);
}

TEST_F(HttpClientTest, PostRefusedWith429IsRetried) {
  TestServer server;
  server.PushFault(Fault::TooManyRequests("1"));
  auto res = client_.Send(HttpRequest{.method = "POST", .url = server.Url("/bills"), .body = "{}"}, policy_);
  ASSERT_TRUE(res.ok()) << res.status().ToString();
  EXPECT_EQ(server.request_count(), 2u);
}

TEST_F(HttpClientTest, GatewayErrorOnPostIsReturnedNotRetried) {
  TestServer server([](const TestRequest&) { return TestResponse{.status = 504}; });
  auto post = client_.Send(HttpRequest{.method = "POST", .url = server.Url("/bills"), .body = "{}"}, policy_);
  ASSERT_TRUE(post.ok()) << post.status().ToString();
  EXPECT_EQ(post->status, 504) << "the caller reconciles: the origin may have acted";
  EXPECT_EQ(server.request_count(), 1u);

  server.PushFault(Fault{.response = TestResponse{.status = 502}});
  server.SetHandler({});
  auto get = client_.Send(Get(server.Url("/x")), policy_);
  ASSERT_TRUE(get.ok());
  EXPECT_EQ(get->status, 200);
  EXPECT_EQ(server.request_count(), 3u);
}

TEST_F(HttpClientTest, ConnectionRefusedIsRetriedEvenForPost) {
  policy_.max_attempts = 3;
  HttpRequest req{
      .method = "POST", .url = "http://127.0.0.1:" + std::to_string(ClosedPort()) + "/bills", .body = "{}"};
  auto res = client_.Send(req, policy_);
  ASSERT_FALSE(res.ok());
  EXPECT_EQ(res.status().code(), Code::kRetry) << res.status().ToString();
  EXPECT_EQ(clock_.sleeps().size(), 2u) << "retried: nothing can have reached a server";
}

TEST_F(HttpClientTest, ErrorsNeverCarrySecrets) {
  policy_.max_attempts = 2;
  const std::string port = std::to_string(ClosedPort());
  HttpRequest req{
      .method = "POST",
      .url = "http://user:pa55word-in-url@127.0.0.1:" + port + "/v1/bills?api_key=query-secret#frag",
      .body = R"({"client_secret":"body-secret-value"})"};
  req.headers = {{"Authorization", "Bearer sekrit-token-123456"}, {"X-Api-Key", "header-secret-value"}};
  auto res = client_.Send(req, policy_);
  ASSERT_FALSE(res.ok());
  const std::string msg = res.status().ToString();
  for (const char* secret : {"sekrit-token-123456", "header-secret-value", "query-secret", "pa55word-in-url",
                             "body-secret-value"}) {
    EXPECT_EQ(msg.find(secret), std::string::npos) << secret << " leaked into: " << msg;
  }
  EXPECT_NE(msg.find("POST http://127.0.0.1:" + port + "/v1/bills"), std::string::npos) << msg;

  // The same for a request refused as malformed, and for an UNCERTAIN outcome.
  HttpRequest bad = req;
  bad.url = "http://127.0.0.1:" + port + "/x";
  bad.headers.push_back({"X-Injected", "sekrit-token-123456\r\nEvil: 1"});
  auto invalid = client_.Send(bad, policy_);
  ASSERT_EQ(invalid.status().code(), Code::kInvalid);
  EXPECT_EQ(invalid.status().message().find("sekrit"), std::string::npos) << invalid.status().message();

  TestServer server;
  server.PushFault(Fault::DropConnection());
  req.url = server.Url("/v1/bills?api_key=query-secret");
  auto uncertain = client_.Send(req, policy_);
  ASSERT_EQ(uncertain.status().code(), Code::kUncertain);
  for (const char* secret : {"sekrit-token-123456", "query-secret", "body-secret-value"}) {
    EXPECT_EQ(uncertain.status().message().find(secret), std::string::npos) << uncertain.status().message();
  }
}

TEST_F(HttpClientTest, MalformedRequestsAreInvalid) {
  const std::vector<HttpRequest> bad = {
      {.method = "", .url = "http://127.0.0.1:1/"},
      {.method = "GE T", .url = "http://127.0.0.1:1/"},
      {.method = "GET", .url = ""},
      {.method = "GET", .url = "ftp://127.0.0.1/file"},
      {.method = "GET", .url = "127.0.0.1/no-scheme"},
      {.method = "GET", .url = "http://127.0.0.1:1/a b"},
      {.method = "GET", .url = "http://127.0.0.1:1/", .headers = {{"Bad Name", "x"}}},
      {.method = "GET", .url = "http://127.0.0.1:1/", .headers = {{"X-Ok", "line\nbreak"}}},
      {.method = "POST", .url = "http://127.0.0.1:1/", .multipart = {{.name = ""}}},
  };
  for (const HttpRequest& req : bad) {
    auto res = client_.Send(req, policy_);
    ASSERT_FALSE(res.ok()) << req.method << " " << req.url;
    EXPECT_EQ(res.status().code(), Code::kInvalid) << res.status().ToString();
  }
  EXPECT_TRUE(clock_.sleeps().empty());
}

TEST_F(HttpClientTest, ProxyComesFromTheEnvironment) {
  TestServer proxy([](const TestRequest& req) { return TestResponse{.status = 200, .body = req.target}; });
  const char* saved_no_proxy = std::getenv("no_proxy");
  const std::string saved = saved_no_proxy ? saved_no_proxy : "";
  ::setenv("http_proxy", proxy.Url().c_str(), 1);
  ::unsetenv("no_proxy");
  ::unsetenv("NO_PROXY");
  auto res = client_.Send(Get("http://mlc-proxy-check.invalid/via-proxy?x=1"), policy_);
  ::unsetenv("http_proxy");
  if (saved_no_proxy != nullptr) ::setenv("no_proxy", saved.c_str(), 1);
  ASSERT_TRUE(res.ok()) << res.status().ToString();
  EXPECT_EQ(res->body, "http://mlc-proxy-check.invalid/via-proxy?x=1") << "the proxy saw the absolute URL";
}

TEST_F(HttpClientTest, LimiterIsUsedPerAttemptAndPenalizedOn429) {
  TestServer server;
  RateLimiter limiter({.windows = {{1, seconds(10)}}}, &clock_, &clock_);
  server.PushFault(Fault::TooManyRequests("4"));
  const SteadyTime t0 = clock_.Now();
  auto res = client_.Send(Get(server.Url("/x")), policy_, &limiter);
  ASSERT_TRUE(res.ok()) << res.status().ToString();
  EXPECT_EQ(limiter.paused_until(), t0 + seconds(4)) << "a 429 pauses the whole connection";
  // Two attempts, one token per 10 s: after the 4 s Retry-After wait the limiter holds the retry 6 s more.
  EXPECT_EQ(clock_.sleeps(), (std::vector<Duration>{seconds(4), seconds(6)}));
  EXPECT_EQ(limiter.in_flight(), 0);
}

TEST_F(HttpClientTest, PausedLimiterBeyondTheBudgetAnswersRetryWithoutSending) {
  TestServer server;
  RateLimiter limiter({}, &clock_, &clock_);
  server.PushFault(Fault::TooManyRequests("3600"));  // e.g. a daily quota: come back in an hour
  policy_.max_total = seconds(60);
  auto first = client_.Send(Get(server.Url("/x")), policy_, &limiter);
  ASSERT_EQ(first.status().code(), Code::kRetry);
  EXPECT_EQ(limiter.paused_until() - clock_.Now(), seconds(3600)) << "everyone on the connection waits";
  auto second = client_.Send(Get(server.Url("/x")), policy_, &limiter);
  ASSERT_EQ(second.status().code(), Code::kRetry);
  EXPECT_NE(second.status().message().find("paused"), std::string::npos) << second.status().message();
  EXPECT_EQ(server.request_count(), 1u) << "the paused connection was not contacted again";
  EXPECT_TRUE(clock_.sleeps().empty());
}

TEST(HttpRequestTest, IdempotencyByMethodKeyAndFlag) {
  for (const char* m : {"GET", "HEAD", "PUT", "DELETE", "OPTIONS", "get"}) {
    EXPECT_TRUE(HttpRequest{.method = m}.IsIdempotent()) << m;
  }
  for (const char* m : {"POST", "PATCH"}) {
    EXPECT_FALSE(HttpRequest{.method = m}.IsIdempotent()) << m;
    EXPECT_TRUE((HttpRequest{.method = m, .idempotency_key = "k"}.IsIdempotent())) << m;
    EXPECT_TRUE((HttpRequest{.method = m, .idempotent = true}.IsIdempotent())) << m;
  }
  EXPECT_FALSE((HttpRequest{.method = "PUT", .idempotent = false}.IsIdempotent()));
}

TEST(BackoffTest, FullJitterSpreadsAcrossZeroToCap) {
  RetryPolicy policy{.base_delay = milliseconds(100), .max_delay = seconds(2)};
  const double cap = std::chrono::duration<double>(policy.max_delay).count();
  std::vector<double> d;
  for (int i = 0; i < 1000; ++i) d.push_back(std::chrono::duration<double>(BackoffDelay(policy, 8)).count());
  std::sort(d.begin(), d.end());
  EXPECT_GE(d.front(), 0.0);
  EXPECT_LE(d.back(), cap);
  EXPECT_LT(d.front(), 0.05 * cap);
  EXPECT_GT(d.back(), 0.95 * cap);
  EXPECT_NEAR(d[250], 0.25 * cap, 0.08 * cap);
  EXPECT_NEAR(d[500], 0.50 * cap, 0.08 * cap);
  EXPECT_NEAR(d[750], 0.75 * cap, 0.08 * cap);
  EXPECT_GT(std::set<double>(d.begin(), d.end()).size(), 990u) << "not a constant delay";
}

TEST(BackoffTest, CeilingDoublesUpToTheCap) {
  RetryPolicy policy{.base_delay = milliseconds(100), .max_delay = seconds(1)};
  policy.random = [] { return 1.0; };
  EXPECT_EQ(BackoffDelay(policy, 0), milliseconds(100));
  EXPECT_EQ(BackoffDelay(policy, 1), milliseconds(200));
  EXPECT_EQ(BackoffDelay(policy, 3), milliseconds(800));
  EXPECT_EQ(BackoffDelay(policy, 4), seconds(1));
  EXPECT_EQ(BackoffDelay(policy, 5000), seconds(1));
  policy.random = [] { return 0.0; };
  EXPECT_EQ(BackoffDelay(policy, 3), Duration::zero());
}

TEST(RetryHintTest, RetryAfterForms) {
  const WallTime now = WallTime(std::chrono::seconds(1445412480));  // Wed, 21 Oct 2015 07:28:00 GMT
  EXPECT_EQ(ParseRetryAfter("120", now), seconds(120));
  EXPECT_EQ(ParseRetryAfter(" 5 ", now), seconds(5));
  EXPECT_EQ(ParseRetryAfter("0", now), Duration::zero());
  EXPECT_EQ(ParseRetryAfter("Wed, 21 Oct 2015 07:28:30 GMT", now), seconds(30));
  EXPECT_EQ(ParseRetryAfter("Wednesday, 21-Oct-15 07:29:00 GMT", now), seconds(60));
  EXPECT_EQ(ParseRetryAfter("Wed Oct 21 07:28:10 2015", now), seconds(10));
  EXPECT_EQ(ParseRetryAfter("Tue, 20 Oct 2015 07:28:00 GMT", now), Duration::zero()) << "past dates: no wait";
  EXPECT_EQ(ParseRetryAfter("Fri, 31 Dec 9999 23:59:59 GMT", now), std::chrono::hours(24 * 365 * 100));
  for (const char* junk : {"", "soon", "-5", "1e3", "5s", "12:00", ".5"}) {
    EXPECT_FALSE(ParseRetryAfter(junk, now).has_value()) << junk;
  }
}

TEST(RetryHintTest, ResetHints) {
  const WallTime now = WallTime(std::chrono::seconds(1'700'000'000));
  EXPECT_EQ(ParseResetHint("30", now), seconds(30));
  EXPECT_EQ(ParseResetHint("1.5", now), milliseconds(1500));
  EXPECT_EQ(ParseResetHint("1700000045", now), seconds(45));
  EXPECT_EQ(ParseResetHint("1600000000", now), Duration::zero());
  EXPECT_EQ(ParseResetHint("99999999999999999999", now), std::chrono::hours(24 * 365 * 100))
      << "absurd values saturate at 100 years instead of overflowing";
  EXPECT_FALSE(ParseResetHint("tomorrow", now).has_value());
  EXPECT_FALSE(ParseResetHint("-1", now).has_value());
}

TEST(RetryHintTest, HttpDates) {
  EXPECT_EQ(ParseHttpDate("Sun, 06 Nov 1994 08:49:37 GMT"), 784111777);
  EXPECT_EQ(ParseHttpDate("Sunday, 06-Nov-94 08:49:37 GMT"), 784111777);
  EXPECT_EQ(ParseHttpDate("Sun Nov  6 08:49:37 1994"), 784111777);
  EXPECT_EQ(ParseHttpDate("Thu, 29 Feb 2024 00:00:00 GMT"), 1709164800) << "leap day";
  EXPECT_EQ(ParseHttpDate("Thursday, 01-Jan-65 00:00:00 GMT"), 2997993600)
      << "two-digit years below 70: 20xx";
  for (const char* junk :
       {"", "soon", "1900000000", "Sun, 6 Nov 1994 08:49:37 GMT", "Sun, 06 Nov 1994 08:49:37 UTC",
        "Sun, 06 Nov 1994 08:49:37 GMT trailing", "sun, 06 nov 1994 08:49:37 gmt",
        "Sun, 31 Nov 1994 08:49:37 GMT", "Fri, 29 Feb 2023 00:00:00 GMT", "Sun, 06 Nov 1994 24:00:00 GMT",
        "Sun, 06 Nov 1994 08:60:00 GMT", "Sun, 06 Foo 1994 08:49:37 GMT", "Sun Nov 6 08:49:37 1994",
        "Sunday, 06-Nov-1994 08:49:37 GMT", "2024-03-01T00:00:00Z"}) {
    EXPECT_FALSE(ParseHttpDate(junk).has_value()) << junk;
  }
}

TEST(RetryHintTest, EachFormatReadsOnlyItsOwnSpelling) {
  const WallTime now = WallTime(std::chrono::seconds(1'700'000'000));
  EXPECT_EQ(ParseHint("30", HintFormat::kSeconds, now), seconds(30));
  EXPECT_EQ(ParseHint("2.5", HintFormat::kSeconds, now), milliseconds(2500));
  EXPECT_EQ(ParseHint("1700000030", HintFormat::kEpoch, now), seconds(30));
  EXPECT_EQ(ParseHint("30", HintFormat::kEpoch, now), Duration::zero()) << "1970 is in the past";
  EXPECT_EQ(ParseHint("Tue, 14 Nov 2023 22:12:20 GMT", HintFormat::kHttpDate, now), Duration::zero());
  EXPECT_EQ(ParseHint("Tue, 14 Nov 2023 22:14:20 GMT", HintFormat::kHttpDate, now), seconds(60));
  EXPECT_EQ(ParseHint("Tue, 14 Nov 2023 22:14:20 GMT", HintFormat::kRetryAfter, now), seconds(60));
  EXPECT_EQ(ParseHint("45", HintFormat::kRetryAfter, now), seconds(45));
  EXPECT_EQ(ParseHint("1700000045", HintFormat::kAuto, now), seconds(45));
  EXPECT_FALSE(ParseHint("Tue, 14 Nov 2023 22:15:20 GMT", HintFormat::kSeconds, now).has_value());
  EXPECT_FALSE(ParseHint("Tue, 14 Nov 2023 22:15:20 GMT", HintFormat::kEpoch, now).has_value());
  EXPECT_FALSE(ParseHint("60", HintFormat::kHttpDate, now).has_value());
  EXPECT_EQ(HintFormatForResetKind("seconds"), HintFormat::kSeconds);
  EXPECT_EQ(HintFormatForResetKind("epoch"), HintFormat::kEpoch);
  EXPECT_EQ(HintFormatForResetKind("http_date"), HintFormat::kHttpDate);
  EXPECT_FALSE(HintFormatForResetKind("minutes").has_value());
}

TEST(UrlForMessagesTest, DropsUserInfoQueryAndFragment) {
  EXPECT_EQ(UrlForMessages("https://u:p@api.example.com:8443/v1/x?token=t#f"),
            "https://api.example.com:8443/v1/x");
  EXPECT_EQ(UrlForMessages("http://host?q=1"), "http://host");
  EXPECT_EQ(UrlForMessages("http://host/a/b"), "http://host/a/b");
}

}  // namespace
}  // namespace mlc::http
