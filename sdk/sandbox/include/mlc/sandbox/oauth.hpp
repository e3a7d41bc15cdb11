// OAuth 2.0 authorization-server emulation shared by vendor emulators.
//
// Grants: authorization_code (GET authorize answers 302 to the redirect_uri with code and state; PKCE S256
// or plain verified when a code_challenge was given), refresh_token (rotating: a used refresh token is
// rejected with invalid_grant from then on; or non-rotating), client_credentials (optional audience).
// The token endpoint takes form or JSON bodies and client authentication in the body or by HTTP Basic.
// Access tokens expire on the sandbox Clock. Errors use the RFC 6749 body unless the vendor shapes them.
//
//   OAuthServer oauth(ctx.clock, seed, {.token_path = "/oauth2/default/v1/token"}, &ctx.stats);
//   oauth.AddClient({.client_id = "cid", .client_secret = "secret"});
//   oauth.Install(router);
//   TokenCheck c = oauth.CheckAccessToken(*req.BearerToken());
//   if (c.state != TokenState::kValid) return Unauthorized();
//
// Thread safety: every member may be called from any thread after Install; AddClient may also be called
// while serving.
#ifndef MLC_SANDBOX_OAUTH_HPP_
#define MLC_SANDBOX_OAUTH_HPP_

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "mlc/sandbox/clock.hpp"
#include "mlc/sandbox/http.hpp"
#include "mlc/sandbox/router.hpp"
#include "mlc/sandbox/seed.hpp"
#include "mlc/sandbox/stats.hpp"
#include "mlc/status.hpp"

namespace mlc::sandbox {

struct OAuthClient {
  std::string client_id;
  std::string client_secret;               // empty: a public client (must use PKCE)
  std::vector<std::string> redirect_uris;  // empty: any redirect_uri is accepted
};

// What an access token stands for.
struct TokenGrant {
  std::string client_id;
  std::string subject;  // the user for code grants; the client id for client_credentials
  std::string scope;
  std::string audience;
  std::string grant_type;  // "authorization_code", "refresh_token", "client_credentials", "direct"
  TimePoint issued_at{};
  TimePoint expires_at{};
};

struct OAuthOptions {
  std::string authorize_path = "/oauth/authorize";
  std::string token_path = "/oauth/token";
  std::string revoke_path;  // RFC 7009 endpoint; empty: not mounted
  std::chrono::seconds access_token_ttl{3600};
  std::chrono::seconds code_ttl{600};
  std::optional<std::chrono::seconds> refresh_token_idle_ttl;  // unused this long -> invalid_grant
  bool rotate_refresh_tokens = true;
  // Without rotation: whether the refresh response repeats the (unchanged) refresh token.
  bool refresh_response_includes_refresh_token = true;
  bool issue_refresh_token = true;  // on authorization_code
  bool allow_authorization_code = true;
  bool allow_client_credentials = true;
  bool accept_json_body = true;
  bool accept_basic_auth = true;
  bool accept_body_auth = true;
  // client_credentials: when non-empty the audience must be one of these.
  std::vector<std::string> audiences;
  bool require_audience = false;
  std::string access_token_prefix = "at_";
  std::string refresh_token_prefix = "rt_";
  std::string code_prefix = "code_";
  size_t token_length = 40;
  std::string default_subject = "user_1";  // authorize's user unless login_hint names one
  // Vendor additions to a successful token response (e.g. Zoho's api_domain).
  std::function<void(nlohmann::json& response, const TokenGrant& grant)> decorate_token_response;
  // Vendor error bodies; default {"error": ..., "error_description": ...}.
  std::function<Response(int status, std::string_view error, std::string_view description)> error_response;
};

enum class TokenState { kValid, kExpired, kRevoked, kUnknown };
std::string_view TokenStateName(TokenState state);

struct TokenCheck {
  TokenState state = TokenState::kUnknown;
  TokenGrant grant;  // filled unless kUnknown
};

struct OAuthCounters {
  int64_t issued = 0;     // token responses from authorization_code / client_credentials / direct
  int64_t refreshed = 0;  // successful refresh_token grants
  int64_t rejected = 0;   // failed token requests + access tokens that failed CheckAccessToken
};

class OAuthServer {
 public:
  // `stats` (optional, must outlive this) receives the same counters as counters().
  OAuthServer(const Clock& clock, uint64_t seed, OAuthOptions options, Stats* stats = nullptr);
  OAuthServer(const OAuthServer&) = delete;
  OAuthServer& operator=(const OAuthServer&) = delete;

  void AddClient(OAuthClient client);
  // Mounts GET authorize, POST token and (when configured) POST revoke on `router`.
  void Install(Router& router);

  Response HandleAuthorize(Request& req);
  Response HandleToken(Request& req);
  Response HandleRevoke(Request& req);

  // Validates a bearer token; anything but kValid also counts as a rejection.
  TokenCheck CheckAccessToken(std::string_view access_token);
  // The grant behind a live (unexpired, unrevoked) token without counting anything, e.g. to key rate limits.
  std::optional<TokenGrant> FindAccessToken(std::string_view access_token) const;

  // Issues tokens as if a user had completed the authorization-code flow (for harness setup without a
  // browser). Returns the token response JSON.
  Result<nlohmann::json> IssueDirect(const std::string& client_id, const std::string& subject,
                                     const std::string& scope);
  // As IssueDirect, with token strings the caller chose: lets an emulator restore the ready tokens it
  // announced after a Reset. Invalid when a string is empty or already in use.
  Result<nlohmann::json> IssueDirectWithTokens(const std::string& client_id, const std::string& subject,
                                               const std::string& scope, const std::string& access_token,
                                               const std::string& refresh_token);
  void RevokeAccessToken(std::string_view token);
  void RevokeRefreshToken(std::string_view token);

  OAuthCounters counters() const;
  const OAuthOptions& options() const { return options_; }
  // Live tokens with their grants; token strings shortened to a prefix.
  nlohmann::json ToJson() const;
  // Forgets codes and tokens and zeroes the counters; clients stay registered.
  void Reset();

 private:
  struct Code {
    std::string client_id, redirect_uri, scope, subject, challenge, challenge_method;
    TimePoint expires_at{};
  };
  struct AccessToken {
    TokenGrant grant;
    bool revoked = false;
  };
  struct RefreshToken {
    std::string client_id, subject, scope;
    TimePoint last_used{};
    bool used = false;  // rotated away
    bool revoked = false;
  };

  Response Error(int status, std::string_view error, std::string_view description);
  Response Reject(int status, std::string_view error, std::string_view description);
  // Issues an access (and maybe refresh) token; mu_ held.
  // `access_preset`, when non-empty, is the access token string to use instead of a new one.
  nlohmann::json IssueLocked(TokenGrant grant, bool with_refresh, const std::string& refresh_to_reuse,
                             const std::string& access_preset = "");
  std::string NewToken(std::string_view prefix);

  const Clock& clock_;
  OAuthOptions options_;
  Stats* stats_;
  mutable std::mutex mu_;
  SeededRng rng_;
  std::map<std::string, OAuthClient> clients_;
  std::map<std::string, Code> codes_;
  std::map<std::string, AccessToken, std::less<>> access_;
  std::map<std::string, RefreshToken, std::less<>> refresh_;
  OAuthCounters counters_;
};

}  // namespace mlc::sandbox

#endif  // MLC_SANDBOX_OAUTH_HPP_
