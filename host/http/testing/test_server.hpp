// A loopback HTTP/1.1 server for tests and benchmarks: binds 127.0.0.1 on a free port, answers with a
// handler on its own threads, keeps connections alive, counts requests and connections, and injects faults
// (429 with Retry-After, 503, connection dropped after the request was read, delays).
//
//   mlc::http::testing::TestServer server([](const TestRequest& req) {
//     return TestResponse{.status = 200, .body = "hello " + req.target};
//   });
//   server.PushFault(Fault::TooManyRequests("2"));  // the next request gets 429 + Retry-After: 2
//   ... GET server.Url("/x") ...
//   EXPECT_EQ(server.request_count(), 2);
//
// Ownership: the server owns its threads; the destructor stops them (handlers must not block forever).
// Thread safety: all public methods may be called from any thread while the server runs. The handler runs on
// the server's threads, possibly concurrently for different connections.
#ifndef MLC_HOST_HTTP_TESTING_TEST_SERVER_HPP_
#define MLC_HOST_HTTP_TESTING_TEST_SERVER_HPP_

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace mlc::http::testing {

struct TestRequest {
  std::string method{};
  std::string target{};                          // as sent: origin form "/p?q" or absolute form via a proxy
  std::map<std::string, std::string> headers{};  // lower-case names; repeated headers joined by ", "
  std::string body{};
  uint64_t connection_id = 0;  // 1 for the first accepted connection, 2 for the second, ...

  const std::string* Header(std::string_view name) const;  // case-insensitive; nullptr when absent
};

struct TestResponse {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers{};
  std::string body{};
  std::chrono::milliseconds delay{0};  // wait this long before answering (other connections keep going)
  bool drop_connection = false;        // close the connection without answering
  bool reset_connection = false;       // with drop_connection: abort with a TCP RST instead of a FIN
  bool close_after = false;            // answer with "Connection: close" and close
};

// A one-shot override for the next request (see TestServer::PushFault).
struct Fault {
  std::optional<TestResponse> response{};  // nullopt: the handler answers (after `delay`)
  std::chrono::milliseconds delay{0};

  static Fault TooManyRequests(std::string retry_after);   // 429; Retry-After omitted when empty
  static Fault Unavailable(std::string retry_after = {});  // 503; Retry-After omitted when empty
  static Fault DropConnection();                           // read the request, then close without answering
  static Fault ResetConnection();                          // read the request, then RST
  static Fault Delay(std::chrono::milliseconds d);         // the handler answers, d later
};

class TestServer {
 public:
  using Handler = std::function<TestResponse(const TestRequest&)>;

  struct Options {
    int threads = 2;
    bool keep_requests = true;  // record every request for requests(); off for long benchmarks
  };

  // Binds and starts serving at once. An empty handler answers 200 "ok". Throws std::runtime_error only if
  // the loopback socket cannot be bound (a broken test environment).
  explicit TestServer(Handler handler = {});
  TestServer(Handler handler, Options options);
  ~TestServer();
  TestServer(const TestServer&) = delete;
  TestServer& operator=(const TestServer&) = delete;

  uint16_t port() const;
  std::string Url(std::string_view path = "") const;  // "http://127.0.0.1:<port>" + path

  void SetHandler(Handler handler);
  void PushFault(Fault fault);  // faults apply to the next requests, first pushed first

  size_t request_count() const;
  size_t connection_count() const;
  std::vector<TestRequest> requests() const;  // in arrival order (empty when keep_requests is off)

  // Stops accepting and serving; idempotent. Called by the destructor.
  void Stop();

  struct Impl;  // implementation detail (test_server.cpp)

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace mlc::http::testing

#endif  // MLC_HOST_HTTP_TESTING_TEST_SERVER_HPP_
