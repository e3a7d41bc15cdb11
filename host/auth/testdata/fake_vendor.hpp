// Test support (auth and runtime tests): a vendor emulator on the loopback TestServer with an OAuth token
// endpoint (authorization code + PKCE, refresh with or without rotation, client credentials in JSON or form
// bodies, Basic client auth) and a resource endpoint that accepts only the access tokens it issued.
//
//   FakeVendor vendor;  vendor.rotate = true;
//   TestServer server([&](const TestRequest& r) { return vendor.Handle(r); });
//
// Thread safety: Handle runs on the server's threads; every member below `mu` is guarded by it.
#ifndef MLC_HOST_AUTH_TESTDATA_FAKE_VENDOR_HPP_
#define MLC_HOST_AUTH_TESTDATA_FAKE_VENDOR_HPP_

#include <openssl/sha.h>

#include <array>
#include <chrono>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "http/testing/test_server.hpp"

namespace mlc::auth::testdata {

using http::testing::TestRequest;
using http::testing::TestResponse;

inline int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

inline std::string FormDecodeValue(std::string_view v) {
  std::string out;
  for (size_t i = 0; i < v.size(); ++i) {
    if (v[i] == '+') {
      out += ' ';
    } else if (v[i] == '%' && i + 2 < v.size() && HexDigit(v[i + 1]) >= 0 && HexDigit(v[i + 2]) >= 0) {
      out += static_cast<char>(HexDigit(v[i + 1]) * 16 + HexDigit(v[i + 2]));
      i += 2;
    } else {
      out += v[i];
    }
  }
  return out;
}

inline std::map<std::string, std::string> ParseForm(std::string_view body) {
  std::map<std::string, std::string> out;
  size_t start = 0;
  while (start < body.size()) {
    size_t amp = body.find('&', start);
    if (amp == std::string_view::npos) amp = body.size();
    std::string_view seg = body.substr(start, amp - start);
    const size_t eq = seg.find('=');
    if (!seg.empty()) {
      out[FormDecodeValue(seg.substr(0, eq))] =
          eq == std::string_view::npos ? "" : FormDecodeValue(seg.substr(eq + 1));
    }
    start = amp + 1;
  }
  return out;
}

inline std::string B64(const unsigned char* p, size_t n, bool url) {
  const char* a = url ? "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
                      : "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t i = 0;
  for (; i + 2 < n; i += 3) {
    uint32_t v = (uint32_t{p[i]} << 16) | (uint32_t{p[i + 1]} << 8) | p[i + 2];
    out += a[(v >> 18) & 63];
    out += a[(v >> 12) & 63];
    out += a[(v >> 6) & 63];
    out += a[v & 63];
  }
  if (i < n) {
    uint32_t v = (uint32_t{p[i]} << 16) | (i + 1 < n ? uint32_t{p[i + 1]} << 8 : 0);
    out += a[(v >> 18) & 63];
    out += a[(v >> 12) & 63];
    if (i + 1 < n) out += a[(v >> 6) & 63];
    if (!url) out.append(i + 1 < n ? 1 : 2, '=');
  }
  return out;
}

inline std::string S256(const std::string& verifier) {
  std::array<unsigned char, SHA256_DIGEST_LENGTH> d{};
  SHA256(reinterpret_cast<const unsigned char*>(verifier.data()), verifier.size(), d.data());
  return B64(d.data(), d.size(), true);
}

struct FakeVendor {
  // ---- behaviour (set before serving) ----
  bool rotate = false;  // refresh returns a new refresh token and invalidates the old one
  int64_t expires_in = 3600;
  std::string api_domain;        // included in token responses when set (Zoho)
  bool errors_with_200 = false;  // token errors answered with HTTP 200 + {"error"} (Zoho)
  std::string reject_error = "invalid_grant";
  int reject_status = 400;
  std::string client_id = "client-id-7f3a";
  std::string client_secret = "client-secret-9c2e41";
  std::chrono::milliseconds token_delay{0};  // widens the window in which callers pile up
  std::string token_prefix = "at";
  bool always_401 = false;                                // the resource endpoint rejects every token
  std::map<std::string, nlohmann::json> resource_bodies;  // path -> body of a 200 (default {"ok", "path"})

  // ---- state ----
  mutable std::mutex mu;
  std::string current_refresh;               // the refresh token the vendor accepts
  std::set<std::string> valid_access;        // tokens the resource endpoint accepts
  std::map<std::string, std::string> codes;  // authorization code -> PKCE challenge ("" none)
  int token_requests = 0;
  int refresh_requests = 0;
  int rejected = 0;
  int refreshes_answered = 0;  // refresh requests fully processed (rotation done)
  std::vector<TestRequest> token_log;
  std::vector<TestRequest> resource_log;
  std::deque<TestResponse> scripted;  // answered (and consumed) before normal processing
  std::vector<std::string> issued;    // every secret this vendor handed out
  std::function<void()> on_refresh;   // called when a refresh request arrives (before answering)
  int counter = 0;

  void Seed(const std::string& access, const std::string& refresh) {
    std::lock_guard lock(mu);
    if (!access.empty()) valid_access.insert(access);
    current_refresh = refresh;
  }
  void AddCode(const std::string& code, const std::string& challenge = "") {
    std::lock_guard lock(mu);
    codes[code] = challenge;
  }
  int TokenRequests() const {
    std::lock_guard lock(mu);
    return token_requests;
  }
  int RefreshRequests() const {
    std::lock_guard lock(mu);
    return refresh_requests;
  }
  std::vector<TestRequest> TokenLog() const {
    std::lock_guard lock(mu);
    return token_log;
  }
  std::vector<std::string> Issued() const {
    std::lock_guard lock(mu);
    return issued;
  }
  int RefreshesAnswered() const {
    std::lock_guard lock(mu);
    return refreshes_answered;
  }
  std::string CurrentRefresh() const {
    std::lock_guard lock(mu);
    return current_refresh;
  }

  TestResponse Json(int status, const nlohmann::json& doc) const {
    TestResponse r;
    r.status = status;
    r.headers = {{"Content-Type", "application/json"}};
    r.body = doc.dump();
    return r;
  }
  TestResponse Reject(const std::string& error) {
    ++rejected;
    return Json(errors_with_200 ? 200 : reject_status,
                {{"error", error}, {"error_description", "rejected by fake"}});
  }

  // With mu held.
  TestResponse Issue(bool with_refresh) {
    ++counter;
    const std::string access = token_prefix + "-" + std::to_string(counter) + "-secretvalue";
    valid_access.insert(access);
    issued.push_back(access);
    nlohmann::json doc = {{"access_token", access}, {"token_type", "Bearer"}, {"expires_in", expires_in}};
    if (with_refresh) {
      const std::string refresh = "rt-" + std::to_string(counter) + "-refreshsecret";
      current_refresh = refresh;
      issued.push_back(refresh);
      doc["refresh_token"] = refresh;
    }
    if (!api_domain.empty()) doc["api_domain"] = api_domain;
    TestResponse r = Json(200, doc);
    r.delay = token_delay;
    return r;
  }

  TestResponse Handle(const TestRequest& req) {
    const std::string path = req.target.substr(0, req.target.find('?'));
    const bool token_endpoint = path.size() >= 6 && path.compare(path.size() - 6, 6, "/token") == 0;
    std::unique_lock lock(mu);
    if (!token_endpoint) {
      resource_log.push_back(req);
      std::string cred;
      for (const char* h : {"authorization", "x-api-key"}) {
        if (const std::string* v = req.Header(h)) cred = *v;
      }
      const size_t space = cred.find(' ');
      const std::string token = space == std::string::npos ? cred : cred.substr(space + 1);
      if (always_401 || !valid_access.count(token)) return Json(401, {{"error", "invalid_token"}});
      if (auto it = resource_bodies.find(path); it != resource_bodies.end()) return Json(200, it->second);
      return Json(200, {{"ok", true}, {"path", path}});
    }
    ++token_requests;
    token_log.push_back(req);
    if (!scripted.empty()) {
      TestResponse r = scripted.front();
      scripted.pop_front();
      return r;
    }
    std::map<std::string, std::string> p;
    const std::string* ct = req.Header("content-type");
    if (ct && ct->find("json") != std::string::npos) {
      auto doc = nlohmann::json::parse(req.body, nullptr, false);
      if (doc.is_object()) {
        for (auto& [k, v] : doc.items()) p[k] = v.is_string() ? v.get<std::string>() : v.dump();
      }
    } else {
      p = ParseForm(req.body);
    }
    if (const std::string* auth = req.Header("authorization"); auth && auth->rfind("Basic ", 0) == 0) {
      p["client_id"] = client_id;  // trusted: the tests check the header separately
      p["client_secret"] = client_secret;
    }
    if (p["client_id"] != client_id || p["client_secret"] != client_secret) {
      ++rejected;
      return Json(errors_with_200 ? 200 : 401, {{"error", "invalid_client"}});
    }
    const std::string grant = p["grant_type"];
    if (grant == "refresh_token") {
      ++refresh_requests;
      if (on_refresh) {
        lock.unlock();
        on_refresh();
        lock.lock();
      }
      ++refreshes_answered;
      if (p["refresh_token"].empty() || p["refresh_token"] != current_refresh) return Reject(reject_error);
      return Issue(rotate);
    }
    if (grant == "authorization_code") {
      auto it = codes.find(p["code"]);
      if (it == codes.end()) return Reject("invalid_grant");
      const std::string challenge = it->second;
      codes.erase(it);
      if (!challenge.empty() && S256(p["code_verifier"]) != challenge) return Reject("invalid_grant");
      return Issue(true);
    }
    if (grant == "client_credentials") return Issue(false);
    return Json(400, {{"error", "unsupported_grant_type"}});
  }
};

}  // namespace mlc::auth::testdata

#endif  // MLC_HOST_AUTH_TESTDATA_FAKE_VENDOR_HPP_
