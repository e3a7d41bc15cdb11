// Webhook signature schemes, one implementation for the three parties that must agree on them: the plugin
// that verifies a delivery, the emulator that signs it, and the acceptance harness that forges good and bad
// ones. Header-only on mlc/crypto.hpp (no OpenSSL), so plugins can use it. The unit tests pin every scheme
// to vectors published by the vendors (or recomputed with Python's hmac), so that sharing this code between
// signer and verifier cannot hide a mistake in it.
//
//   // Standard Webhooks / Svix (Brex): headers webhook-id, webhook-timestamp, webhook-signature.
//   MLC_ASSIGN_OR_RETURN(std::string sig, mlc::webhook::standard::Sign(secret, id, ts, body));  // "v1,..."
//   MLC_ASSIGN_OR_RETURN(bool ok, mlc::webhook::standard::Matches(secrets, id, ts, header, body));
//
//   // FreshBooks: base64 HMAC-SHA256 of the form fields as Python's json.dumps writes them.
//   std::string sig = mlc::webhook::freshbooks::Sign(verifier, mlc::text::ParseForm(body));
//
//   // Plain HMAC-SHA256 of the raw body, hex or base64 (GitHub-, Shopify-style and the SDK template).
//   bool ok = mlc::webhook::VerifyHmacSha256(secret, body, header, mlc::webhook::Encoding::kHex);
//
// Contract: Sign functions are deterministic; every comparison is constant-time per candidate and has no
// early exit across candidates or keys. These functions check signatures only: timestamp tolerance, which
// header carries what and which status a failure maps to are the caller's policy.
//
// Thread safety: pure functions; no shared state.
#ifndef MLC_WEBHOOK_SIGNATURE_HPP_
#define MLC_WEBHOOK_SIGNATURE_HPP_

#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

#include "mlc/crypto.hpp"
#include "mlc/status.hpp"
#include "mlc/text.hpp"

namespace mlc::webhook {

// ---- HMAC-SHA256 of the body -----------------------------------------------------------------------

enum class Encoding { kHex, kBase64 };

// HMAC-SHA256(key, message) as lower-case hex or standard padded base64.
inline std::string SignHmacSha256(std::string_view key, std::string_view message, Encoding encoding) {
  const std::string mac = crypto::HmacSha256(key, message);
  return encoding == Encoding::kHex ? text::HexEncode(mac) : text::Base64Encode(mac);
}

// Whether `signature` is exactly SignHmacSha256(key, message, encoding), compared in constant time.
inline bool VerifyHmacSha256(std::string_view key, std::string_view message, std::string_view signature,
                             Encoding encoding) {
  return crypto::ConstantTimeEqual(SignHmacSha256(key, message, encoding), signature);
}

// ---- Standard Webhooks (Svix) ----------------------------------------------------------------------
//
// https://www.standardwebhooks.com: the signature is base64(HMAC-SHA256(key, "<id>.<timestamp>.<body>"))
// with the timestamp in Unix seconds, sent as "v1,<signature>"; the header may list several space-separated
// "<version>,<signature>" entries (one per secret during a rotation). The secret is "whsec_" + base64 of
// the key bytes; the prefix is optional.
namespace standard {

inline constexpr std::string_view kSecretPrefix = "whsec_";
inline constexpr int64_t kDefaultToleranceSeconds = 300;

// The key bytes of a secret, with or without "whsec_". Invalid when not base64 or empty.
inline Result<std::string> DecodeSecret(std::string_view secret) {
  if (secret.substr(0, kSecretPrefix.size()) == kSecretPrefix) secret.remove_prefix(kSecretPrefix.size());
  auto key = text::Base64Decode(secret);
  if (!key.ok()) return Status::Invalid("webhook secret is not a whsec_ base64 secret");
  if (key->empty()) return Status::Invalid("webhook secret is empty");
  return key;
}

// "whsec_" + base64 of raw key bytes.
inline std::string EncodeSecret(std::string_view key) {
  return std::string(kSecretPrefix) + text::Base64Encode(key);
}

// The signed text: "<id>.<timestamp>.<body>".
inline std::string SignedContent(std::string_view id, int64_t timestamp, std::string_view body) {
  std::string content;
  content.reserve(id.size() + body.size() + 24);
  content.append(id).append(".").append(std::to_string(timestamp)).append(".").append(body);
  return content;
}

// The base64 signature alone (without "v1,") under raw key bytes.
inline std::string SignWithKey(std::string_view key, std::string_view id, int64_t timestamp,
                               std::string_view body) {
  return text::Base64Encode(crypto::HmacSha256(key, SignedContent(id, timestamp, body)));
}

// "v1,<base64 signature>".
inline Result<std::string> Sign(std::string_view secret, std::string_view id, int64_t timestamp,
                                std::string_view body) {
  MLC_ASSIGN_OR_RETURN(std::string key, DecodeSecret(secret));
  return "v1," + SignWithKey(key, id, timestamp, body);
}

// One "v1,..." entry per secret, space-separated (what a sender writes during a rotation).
inline Result<std::string> SignatureHeader(const std::vector<std::string>& secrets, std::string_view id,
                                           int64_t timestamp, std::string_view body) {
  if (secrets.empty()) return Status::Invalid("no webhook secret to sign with");
  std::string header;
  for (const std::string& secret : secrets) {
    MLC_ASSIGN_OR_RETURN(std::string sig, Sign(secret, id, timestamp, body));
    if (!header.empty()) header.push_back(' ');
    header += sig;
  }
  return header;
}

// Whether some "v1," entry of `header` equals one of `expected` (base64 signatures without "v1,"). Other
// versions ("v1a,", "v2,") and malformed entries are skipped. Every entry is compared with every expected
// signature, so the time taken does not tell which key or which entry matched.
inline bool HeaderMatchesAny(std::string_view header, const std::vector<std::string>& expected) {
  bool matched = false;
  size_t pos = 0;
  while (pos <= header.size()) {
    size_t end = header.find(' ', pos);
    if (end == std::string_view::npos) end = header.size();
    const std::string_view entry = header.substr(pos, end - pos);
    pos = end + 1;
    const size_t comma = entry.find(',');
    if (comma == std::string_view::npos || entry.substr(0, comma) != "v1") continue;
    for (const std::string& e : expected) {
      if (crypto::ConstantTimeEqual(e, entry.substr(comma + 1))) matched = true;
    }
  }
  return matched;
}

// Whether `header` carries a valid v1 signature of (id, timestamp, body) under any of `secrets`. Invalid
// when `secrets` is empty or one of them is not a valid secret.
inline Result<bool> Matches(const std::vector<std::string>& secrets, std::string_view id, int64_t timestamp,
                            std::string_view header, std::string_view body) {
  if (secrets.empty()) return Status::Invalid("no webhook secret to verify with");
  std::vector<std::string> expected;
  for (const std::string& secret : secrets) {
    MLC_ASSIGN_OR_RETURN(std::string key, DecodeSecret(secret));
    expected.push_back(SignWithKey(key, id, timestamp, body));
  }
  return HeaderMatchesAny(header, expected);
}

}  // namespace standard

// ---- FreshBooks ------------------------------------------------------------------------------------
//
// FreshBooks posts form-encoded deliveries and signs not the body but the JSON text of its fields as
// Python's json.dumps writes a dict of strings: fields in the order received, ", " and ": " separators,
// ensure_ascii (everything outside printable ASCII as \uXXXX, UTF-16 surrogate pairs above U+FFFF). The
// header X-FreshBooks-Hmac-SHA256 is base64(HMAC-SHA256(key = the callback's verifier, that text)).
namespace freshbooks {

inline constexpr std::string_view kSignatureHeader = "x-freshbooks-hmac-sha256";

namespace internal {

// One UTF-8 sequence at `*i`, advancing past it. Malformed input (a stray continuation byte, a truncated
// sequence, an overlong form, a surrogate, past U+10FFFF) yields U+FFFD and advances one byte, so signing
// never fails. FreshBooks itself only sends valid UTF-8; for anything else signer and verifier just agree.
inline uint32_t NextCodePoint(std::string_view s, size_t* i) {
  const auto c = static_cast<unsigned char>(s[*i]);
  if (c < 0x80) {
    ++*i;
    return c;
  }
  size_t len = 0;
  uint32_t cp = 0;
  uint32_t min = 0;
  if ((c & 0xE0) == 0xC0) {
    len = 2, cp = c & 0x1Fu, min = 0x80;
  } else if ((c & 0xF0) == 0xE0) {
    len = 3, cp = c & 0x0Fu, min = 0x800;
  } else if ((c & 0xF8) == 0xF0) {
    len = 4, cp = c & 0x07u, min = 0x10000;
  }
  bool valid = len > 0 && *i + len <= s.size();
  for (size_t k = 1; valid && k < len; ++k) {
    const auto cc = static_cast<unsigned char>(s[*i + k]);
    valid = (cc & 0xC0) == 0x80;
    cp = (cp << 6) | (cc & 0x3Fu);
  }
  if (!valid || cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
    ++*i;
    return 0xFFFD;
  }
  *i += len;
  return cp;
}

inline void AppendUnicodeEscape(uint32_t unit, std::string* out) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(unit & 0xFFFFu));
  out->append(buf);
}

// The two-character escape json.dumps writes for `cp`, or nullptr.
constexpr const char* ShortEscape(uint32_t cp) {
  switch (cp) {
    case '"':
      return "\\\"";
    case '\\':
      return "\\\\";
    case '\n':
      return "\\n";
    case '\r':
      return "\\r";
    case '\t':
      return "\\t";
    case '\b':
      return "\\b";
    case '\f':
      return "\\f";
    default:
      return nullptr;
  }
}

// `s` as a JSON string literal the way Python's json.dumps (ensure_ascii=True) writes it.
inline void AppendPythonString(std::string_view s, std::string* out) {
  out->push_back('"');
  size_t i = 0;
  while (i < s.size()) {
    const uint32_t cp = NextCodePoint(s, &i);
    if (const char* escape = ShortEscape(cp)) {
      out->append(escape);
    } else if (cp >= 0x20 && cp <= 0x7E) {
      out->push_back(static_cast<char>(cp));  // printable ASCII; DEL (0x7F) is escaped like Python does
    } else if (cp < 0x10000) {
      AppendUnicodeEscape(cp, out);
    } else {
      AppendUnicodeEscape(0xD800 + ((cp - 0x10000) >> 10), out);
      AppendUnicodeEscape(0xDC00 + ((cp - 0x10000) & 0x3FF), out);
    }
  }
  out->push_back('"');
}

}  // namespace internal

// Python's json.dumps of the fields as a dict of strings, in the given order: {"a": "b", "c": "d"}. A name
// given twice is written twice (FreshBooks never sends one twice).
inline std::string PythonJsonDumps(const text::FormFields& fields) {
  std::string out = "{";
  for (size_t i = 0; i < fields.size(); ++i) {
    if (i > 0) out.append(", ");
    internal::AppendPythonString(fields[i].first, &out);
    out.append(": ");
    internal::AppendPythonString(fields[i].second, &out);
  }
  out.push_back('}');
  return out;
}

// The X-FreshBooks-Hmac-SHA256 value of a delivery with these form fields.
inline std::string Sign(std::string_view verifier, const text::FormFields& fields) {
  return SignHmacSha256(verifier, PythonJsonDumps(fields), Encoding::kBase64);
}

// Whether `signature` is the X-FreshBooks-Hmac-SHA256 value for `fields`, compared in constant time.
inline bool Verify(std::string_view verifier, const text::FormFields& fields, std::string_view signature) {
  return crypto::ConstantTimeEqual(Sign(verifier, fields), signature);
}

}  // namespace freshbooks

}  // namespace mlc::webhook

#endif  // MLC_WEBHOOK_SIGNATURE_HPP_
