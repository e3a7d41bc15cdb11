// Byte-level helpers the sandbox needs for signatures and PKCE: SHA-256 and HMAC-SHA256 (OpenSSL); base64,
// hex and the comparison forward to the SDK's mlc/text.hpp and mlc/crypto.hpp. Vendor signature schemes
// are in mlc/webhook_signature.hpp.
//
//   std::string mac = HmacSha256(key, "id.ts.body");       // 32 raw bytes
//   std::string sig = "v1," + Base64Encode(mac);
//
// Thread safety: pure functions.
#ifndef MLC_SANDBOX_CRYPTO_HPP_
#define MLC_SANDBOX_CRYPTO_HPP_

#include <string>
#include <string_view>

#include "mlc/status.hpp"

namespace mlc::sandbox {

// Standard alphabet with '=' padding.
std::string Base64Encode(std::string_view bytes);
// Strict standard-alphabet decoding (padding required when the length is not a multiple of 4).
Result<std::string> Base64Decode(std::string_view text);
// URL-safe alphabet without padding (RFC 7636 code challenges).
std::string Base64UrlEncodeNoPad(std::string_view bytes);

std::string Sha256(std::string_view data);                            // 32 raw bytes
std::string HmacSha256(std::string_view key, std::string_view data);  // 32 raw bytes
std::string HexEncode(std::string_view bytes);                        // lower case
// Compares without an early exit on the first difference.
bool ConstantTimeEquals(std::string_view a, std::string_view b);

}  // namespace mlc::sandbox

#endif  // MLC_SANDBOX_CRYPTO_HPP_
