// ASCII text helpers for plugins, emulators and the harness: case folding, URL (percent) and form encoding
// and decoding, hex and base64. Header-only, no dependencies beyond the standard library.
//
//   std::string name = mlc::text::AsciiLower("Webhook-Signature");            // "webhook-signature"
//   std::string url = "/v1/expenses/" + mlc::text::PercentEncode(id);         // RFC 3986 unreserved kept
//   std::string query = mlc::text::EncodeForm({{"cursor", c}, {"limit", "100"}});  // "cursor=..&limit=100"
//   for (auto& [k, v] : mlc::text::ParseForm(body)) { ... }                   // '+' is a space, %XX decoded
//   MLC_ASSIGN_OR_RETURN(std::string key, mlc::text::Base64Decode(secret_b64));
//
// Contract: case folding touches only A-Z/a-z (never the locale, never UTF-8 bytes), so it is safe on
// header names and identifiers in any locale. Strings are byte strings; nothing here validates UTF-8.
// Encoders are total; decoders of hex/base64 are strict (Invalid on anything malformed); percent decoding is
// lenient as browsers and vendors are: an escape that is not "%" + two hex digits stays as it is.
//
// Thread safety: pure functions; no shared state.
#ifndef MLC_TEXT_HPP_
#define MLC_TEXT_HPP_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "mlc/status.hpp"

namespace mlc::text {

// ---- case ------------------------------------------------------------------------------------------

constexpr char AsciiLower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }
constexpr char AsciiUpper(char c) { return c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c; }

inline std::string AsciiLower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = AsciiLower(c);
  return out;
}

inline std::string AsciiUpper(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = AsciiUpper(c);
  return out;
}

inline bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (AsciiLower(a[i]) != AsciiLower(b[i])) return false;
  }
  return true;
}

// Whether `needle` occurs in `haystack`, ignoring ASCII case. The empty needle occurs everywhere.
inline bool ContainsIgnoreCase(std::string_view haystack, std::string_view needle) {
  if (needle.size() > haystack.size()) return false;
  for (size_t i = 0; i + needle.size() <= haystack.size(); ++i) {
    if (EqualsIgnoreCase(haystack.substr(i, needle.size()), needle)) return true;
  }
  return false;
}

// ---- hex -------------------------------------------------------------------------------------------

// The value of one hex digit (either case), or -1.
constexpr int HexDigitValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Lower-case hex of raw bytes.
inline std::string HexEncode(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out.push_back(kDigits[c >> 4]);
    out.push_back(kDigits[c & 0x0f]);
  }
  return out;
}

// Decodes hex (either case). Odd length or a non-hex character is Invalid.
inline Result<std::string> HexDecode(std::string_view hex) {
  if (hex.size() % 2 != 0) return Status::Invalid("hex string has an odd number of digits");
  std::string out;
  out.reserve(hex.size() / 2);
  for (size_t i = 0; i < hex.size(); i += 2) {
    const int hi = HexDigitValue(hex[i]);
    const int lo = HexDigitValue(hex[i + 1]);
    if (hi < 0 || lo < 0)
      return Status::Invalid("hex string has a non-hex character at " + std::to_string(i));
    out.push_back(static_cast<char>((hi << 4) | lo));
  }
  return out;
}

// ---- base64 ----------------------------------------------------------------------------------------

// The two RFC 4648 alphabets: standard (+/) and URL-safe (-_).
enum class Base64Alphabet { kStandard, kUrlSafe };

// Base64 with '=' padding (kStandard) or without padding (kUrlSafe, as URLs and JWTs use it).
inline std::string Base64Encode(std::string_view bytes, Base64Alphabet alphabet = Base64Alphabet::kStandard) {
  const char* table = alphabet == Base64Alphabet::kStandard
                          ? "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
                          : "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  const bool pad = alphabet == Base64Alphabet::kStandard;
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    const uint32_t v = (uint32_t{static_cast<unsigned char>(bytes[i])} << 16) |
                       (uint32_t{static_cast<unsigned char>(bytes[i + 1])} << 8) |
                       uint32_t{static_cast<unsigned char>(bytes[i + 2])};
    out.push_back(table[(v >> 18) & 63]);
    out.push_back(table[(v >> 12) & 63]);
    out.push_back(table[(v >> 6) & 63]);
    out.push_back(table[v & 63]);
  }
  const size_t rest = bytes.size() - i;
  if (rest == 1) {
    const uint32_t v = uint32_t{static_cast<unsigned char>(bytes[i])} << 16;
    out.push_back(table[(v >> 18) & 63]);
    out.push_back(table[(v >> 12) & 63]);
    if (pad) out.append("==");
  } else if (rest == 2) {
    const uint32_t v = (uint32_t{static_cast<unsigned char>(bytes[i])} << 16) |
                       (uint32_t{static_cast<unsigned char>(bytes[i + 1])} << 8);
    out.push_back(table[(v >> 18) & 63]);
    out.push_back(table[(v >> 12) & 63]);
    out.push_back(table[(v >> 6) & 63]);
    if (pad) out.push_back('=');
  }
  return out;
}

// Decodes base64 in `alphabet`. Padding is optional, but when present it must be correct; characters outside
// the alphabet (including whitespace), misplaced '=' and non-zero leftover bits are Invalid, so every byte
// string has exactly one accepted encoding per alphabet (up to optional padding).
inline Result<std::string> Base64Decode(std::string_view text,
                                        Base64Alphabet alphabet = Base64Alphabet::kStandard) {
  const char c62 = alphabet == Base64Alphabet::kStandard ? '+' : '-';
  const char c63 = alphabet == Base64Alphabet::kStandard ? '/' : '_';
  auto value = [&](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == c62) return 62;
    if (c == c63) return 63;
    return -1;
  };
  size_t data_len = text.size();
  if (!text.empty() && text.size() % 4 == 0) {
    // Strip at most two '=' from a full final quantum.
    if (text[data_len - 1] == '=') --data_len;
    if (data_len > 0 && text[data_len - 1] == '=' && data_len == text.size() - 1) --data_len;
  }
  if (data_len % 4 == 1) return Status::Invalid("base64 text has an impossible length");
  if (data_len != text.size() && (data_len + (4 - data_len % 4) % 4) != text.size()) {
    return Status::Invalid("base64 padding does not match the data length");
  }
  std::string out;
  out.reserve(data_len / 4 * 3 + 2);
  uint32_t acc = 0;
  int bits = 0;
  for (size_t i = 0; i < data_len; ++i) {
    const int v = value(text[i]);
    if (v < 0) return Status::Invalid("base64 text has an invalid character at " + std::to_string(i));
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xff));
    }
  }
  if (bits > 0 && (acc & ((1u << bits) - 1)) != 0) {
    return Status::Invalid("base64 text has non-zero trailing bits");
  }
  return out;
}

// ---- URL and form encoding -------------------------------------------------------------------------

// Percent-encodes everything but the RFC 3986 unreserved characters (A-Z a-z 0-9 - _ . ~), with upper-case
// hex: safe for a path segment, a query name or a query value alike. A space becomes "%20", not '+'.
inline std::string PercentEncode(std::string_view s) {
  static constexpr char kDigits[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size());
  for (unsigned char c : s) {
    const bool unreserved = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                            c == '-' || c == '_' || c == '.' || c == '~';
    if (unreserved) {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kDigits[c >> 4]);
      out.push_back(kDigits[c & 0x0f]);
    }
  }
  return out;
}

// Decodes %XX escapes (either case); with `plus_is_space` (form bodies and query strings) '+' is a space.
// A '%' not followed by two hex digits is kept literally, as vendors' servers do, rather than refused.
inline std::string PercentDecode(std::string_view s, bool plus_is_space = true) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size()) {
      const int hi = HexDigitValue(s[i + 1]);
      const int lo = HexDigitValue(s[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out.push_back(static_cast<char>(hi * 16 + lo));
        i += 2;
        continue;
      }
    }
    out.push_back(plus_is_space && s[i] == '+' ? ' ' : s[i]);
  }
  return out;
}

// Name/value pairs in order; names may repeat (a form or a query string keeps them all).
using FormFields = std::vector<std::pair<std::string, std::string>>;

// "a=1&b=x%20y" from pairs, each side PercentEncode'd (so a space is "%20", which every form and query
// parser reads as a space). Empty pairs list -> "".
inline std::string EncodeForm(const FormFields& fields) {
  std::string out;
  for (const auto& [name, value] : fields) {
    if (!out.empty()) out.push_back('&');
    out += PercentEncode(name);
    out.push_back('=');
    out += PercentEncode(value);
  }
  return out;
}

// An application/x-www-form-urlencoded body or a query string (without '?') -> pairs in order, each side
// PercentDecode'd with '+' as a space. Empty pieces ("a=1&&b=2") are skipped; "flag" alone is ("flag", "").
inline FormFields ParseForm(std::string_view body) {
  FormFields out;
  size_t pos = 0;
  while (pos <= body.size()) {
    size_t amp = body.find('&', pos);
    if (amp == std::string_view::npos) amp = body.size();
    const std::string_view pair = body.substr(pos, amp - pos);
    if (!pair.empty()) {
      const size_t eq = pair.find('=');
      if (eq == std::string_view::npos) {
        out.emplace_back(PercentDecode(pair), std::string());
      } else {
        out.emplace_back(PercentDecode(pair.substr(0, eq)), PercentDecode(pair.substr(eq + 1)));
      }
    }
    pos = amp + 1;
  }
  return out;
}

}  // namespace mlc::text

#endif  // MLC_TEXT_HPP_
