// SHA-256 and HMAC-SHA256 for the sandbox kit (OpenSSL's one-shot calls, for emulators that hash whole
// uploads); base64, hex and the constant-time comparison are the SDK's (mlc/text.hpp, mlc/crypto.hpp).
#include "mlc/sandbox/crypto.hpp"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "mlc/crypto.hpp"
#include "mlc/text.hpp"

namespace mlc::sandbox {

std::string Base64Encode(std::string_view bytes) { return text::Base64Encode(bytes); }

std::string Base64UrlEncodeNoPad(std::string_view bytes) {
  return text::Base64Encode(bytes, text::Base64Alphabet::kUrlSafe);
}

Result<std::string> Base64Decode(std::string_view encoded) {
  // The kit has always insisted on padding (what its own encoder writes); the SDK decoder makes it optional.
  if (encoded.size() % 4 != 0) return Status::Invalid("base64 length is not a multiple of 4");
  return text::Base64Decode(encoded);
}

std::string Sha256(std::string_view data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), md, &len, EVP_sha256(), nullptr);
  return std::string(reinterpret_cast<const char*>(md), len);
}

std::string HmacSha256(std::string_view key, std::string_view data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), md, &len);
  return std::string(reinterpret_cast<const char*>(md), len);
}

std::string HexEncode(std::string_view bytes) { return text::HexEncode(bytes); }

bool ConstantTimeEquals(std::string_view a, std::string_view b) { return crypto::ConstantTimeEqual(a, b); }

}  // namespace mlc::sandbox
