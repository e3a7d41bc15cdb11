// Bare libcurl requests for the benchmark loops (see curl_client.hpp).
#include "curl_client.hpp"

#include <curl/curl.h>

namespace mlc::bench {
namespace {

size_t Append(char* data, size_t size, size_t n, void* out) {
  static_cast<std::string*>(out)->append(data, size * n);
  return size * n;
}

}  // namespace

CurlClient::CurlClient() : curl_(curl_easy_init()) {}

CurlClient::~CurlClient() {
  if (curl_ != nullptr) curl_easy_cleanup(static_cast<CURL*>(curl_));
}

std::string CurlClient::Escape(const std::string& text) {
  char* escaped = curl_easy_escape(nullptr, text.c_str(), static_cast<int>(text.size()));
  std::string out = escaped != nullptr ? escaped : "";
  curl_free(escaped);
  return out;
}

Result<CurlResponse> CurlClient::Send(const std::string& method, const std::string& url,
                                      const std::vector<std::pair<std::string, std::string>>& headers,
                                      const std::string& body, const MultipartFile* file) {
  CURL* h = static_cast<CURL*>(curl_);
  if (h == nullptr) return Status::Error("curl_easy_init failed");
  curl_easy_reset(h);  // keeps the connection cache: the next request reuses the kept-alive socket
  CurlResponse response;
  curl_slist* list = nullptr;
  for (const auto& [name, value] : headers) list = curl_slist_append(list, (name + ": " + value).c_str());
  list = curl_slist_append(list, "Expect:");  // no 100-continue round trip for larger bodies
  curl_mime* mime = nullptr;
  curl_easy_setopt(h, CURLOPT_URL, url.c_str());
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, list);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, &Append);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &response.body);
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_TIMEOUT, 60L);
  if (file != nullptr) {
    mime = curl_mime_init(h);
    curl_mimepart* part = curl_mime_addpart(mime);
    curl_mime_name(part, file->field.c_str());
    curl_mime_filename(part, file->file_name.c_str());
    curl_mime_data(part, file->bytes.data(), file->bytes.size());
    curl_easy_setopt(h, CURLOPT_MIMEPOST, mime);
  } else if (method == "POST" || method == "PUT") {
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, body.data());
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
    if (method == "PUT") curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, "PUT");
  } else if (method != "GET") {
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method.c_str());
  }
  const CURLcode rc = curl_easy_perform(h);
  if (rc == CURLE_OK) curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &response.status);
  curl_slist_free_all(list);
  if (mime != nullptr) curl_mime_free(mime);
  if (rc != CURLE_OK) return Status::Error(method + " " + url + ": " + curl_easy_strerror(rc));
  return response;
}

}  // namespace mlc::bench
