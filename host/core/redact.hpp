// Redaction: the one place that decides what must never be written out.
//
// Two mechanisms, both applied by RedactText:
//   1. Known secret values. Whoever loads a secret (vault, token manager, env resolution) registers its
//      value with RegisterSecret; any later occurrence in a log line, audit row or error message is
//      replaced by "[REDACTED]".
//   2. Shapes that are secret wherever they appear: Authorization/Cookie/X-Api-Key style header values,
//      "Bearer <token>", JSON or form fields named like access_token, refresh_token, client_secret,
//      password, partnerUserSecret, secret, api_key, token (and any name a manifest marks secret via
//      RegisterSecretFieldName), Brex `bxt_` tokens and `whsec_` webhook secrets.
//
//   mlc::redact::RegisterSecret(token);
//   log.info("{}", mlc::redact::RedactText(message));
//   headers = mlc::redact::RedactHeaders(headers);
//
// Thread safety: every function may be called from any thread.
#ifndef MLC_HOST_CORE_REDACT_HPP_
#define MLC_HOST_CORE_REDACT_HPP_

#include <map>
#include <string>
#include <string_view>

namespace mlc::redact {

inline constexpr std::string_view kMask = "[REDACTED]";

// Remembers a secret value (values shorter than 6 bytes are ignored: too likely to mask ordinary text).
void RegisterSecret(std::string_view value);
void ForgetSecret(std::string_view value);

// Adds a JSON/form field name whose value is always masked (case-insensitive).
void RegisterSecretFieldName(std::string_view name);

// True when a header's value must be masked (Authorization, Proxy-Authorization, Cookie, Set-Cookie,
// X-Api-Key, and names containing "secret", "token", "signature" or "password").
bool IsSecretHeader(std::string_view name);

// Masks known secret values and secret-shaped substrings.
std::string RedactText(std::string_view text);

// Copy of `headers` with secret header values masked.
std::map<std::string, std::string> RedactHeaders(const std::map<std::string, std::string>& headers);

}  // namespace mlc::redact

#endif  // MLC_HOST_CORE_REDACT_HPP_
