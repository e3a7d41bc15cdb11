// A bare libcurl client for the benchmark's own loops (the ceiling and the webhook senders): one easy handle
// kept alive per client, no retries, no rate limiting, no redaction. Not for product code, which goes through
// host/http.
//
// Thread safety: one CurlClient per thread.
#ifndef MLC_BENCH_FLOW_CURL_CLIENT_HPP_
#define MLC_BENCH_FLOW_CURL_CLIENT_HPP_

#include <string>
#include <utility>
#include <vector>

#include "mlc/status.hpp"

namespace mlc::bench {

struct CurlResponse {
  long status = 0;
  std::string body;
};

struct MultipartFile {
  std::string field;      // form field name
  std::string file_name;  // file name the server sees
  std::string bytes;
};

class CurlClient {
 public:
  CurlClient();
  ~CurlClient();
  CurlClient(const CurlClient&) = delete;
  CurlClient& operator=(const CurlClient&) = delete;

  // One request. A transport failure is an error; any HTTP status is a response.
  Result<CurlResponse> Send(const std::string& method, const std::string& url,
                            const std::vector<std::pair<std::string, std::string>>& headers = {},
                            const std::string& body = {}, const MultipartFile* file = nullptr);

  // Percent-encodes one query value.
  static std::string Escape(const std::string& text);

 private:
  void* curl_ = nullptr;
};

}  // namespace mlc::bench

#endif  // MLC_BENCH_FLOW_CURL_CLIENT_HPP_
