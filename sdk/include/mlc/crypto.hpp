// Small, dependency-free cryptography for plugins: SHA-256, HMAC-SHA256, constant-time comparison, and (from
// mlc/text.hpp, re-exported here) hex and base64. Plugins verify webhook signatures with these instead of
// linking OpenSSL (the host owns OpenSSL); mlc/webhook_signature.hpp builds the vendors' schemes on them.
//
//   std::string mac = mlc::crypto::HmacSha256(secret, body);               // 32 raw bytes
//   bool good = mlc::crypto::ConstantTimeEqual(mlc::crypto::HexEncode(mac), header_value);
//   MLC_ASSIGN_OR_RETURN(std::string key, mlc::crypto::Base64Decode(secret_b64));
//
// Strings here are byte strings: std::string holds raw bytes, not text. Not for bulk hashing of large
// files (it is a straightforward implementation, not a tuned one).
//
// Thread safety: pure functions and value types; no shared state.
#ifndef MLC_CRYPTO_HPP_
#define MLC_CRYPTO_HPP_

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "mlc/status.hpp"
#include "mlc/text.hpp"

namespace mlc::crypto {

// Incremental SHA-256 (FIPS 180-4). Update() any number of times, then Finish() once.
class Sha256 {
 public:
  static constexpr size_t kDigestSize = 32;
  static constexpr size_t kBlockSize = 64;

  Sha256() { Reset(); }

  void Reset() {
    state_ = {0x6a09e667u, 0xbb67ae85u, 0x3c6ef372u, 0xa54ff53au,
              0x510e527fu, 0x9b05688cu, 0x1f83d9abu, 0x5be0cd19u};
    total_bytes_ = 0;
    buffered_ = 0;
  }

  void Update(std::string_view data) {
    const auto* p = reinterpret_cast<const unsigned char*>(data.data());
    size_t n = data.size();
    total_bytes_ += n;
    if (buffered_ > 0) {
      const size_t take = n < kBlockSize - buffered_ ? n : kBlockSize - buffered_;
      for (size_t i = 0; i < take; ++i) buffer_[buffered_ + i] = p[i];
      buffered_ += take;
      p += take;
      n -= take;
      if (buffered_ < kBlockSize) return;
      Compress(buffer_.data());
      buffered_ = 0;
    }
    while (n >= kBlockSize) {
      Compress(p);
      p += kBlockSize;
      n -= kBlockSize;
    }
    for (size_t i = 0; i < n; ++i) buffer_[i] = p[i];
    buffered_ = n;
  }

  // Returns the 32-byte digest. The object must be Reset() before reuse.
  std::string Finish() {
    const uint64_t bit_length = total_bytes_ * 8;
    // Padding: 0x80, zeros up to 56 mod 64, then the 64-bit big-endian message length in bits.
    buffer_[buffered_++] = 0x80;
    if (buffered_ > 56) {
      while (buffered_ < kBlockSize) buffer_[buffered_++] = 0;
      Compress(buffer_.data());
      buffered_ = 0;
    }
    while (buffered_ < 56) buffer_[buffered_++] = 0;
    for (int i = 7; i >= 0; --i) buffer_[buffered_++] = static_cast<unsigned char>(bit_length >> (i * 8));
    Compress(buffer_.data());
    std::string digest(kDigestSize, '\0');
    for (size_t i = 0; i < 8; ++i) {
      digest[4 * i] = static_cast<char>(state_[i] >> 24);
      digest[4 * i + 1] = static_cast<char>(state_[i] >> 16);
      digest[4 * i + 2] = static_cast<char>(state_[i] >> 8);
      digest[4 * i + 3] = static_cast<char>(state_[i]);
    }
    return digest;
  }

 private:
  static uint32_t Rotr(uint32_t x, int n) { return (x >> n) | (x << (32 - n)); }

  void Compress(const unsigned char* block) {
    static constexpr uint32_t kK[64] = {
        0x428a2f98u, 0x71374491u, 0xb5c0fbcfu, 0xe9b5dba5u, 0x3956c25bu, 0x59f111f1u, 0x923f82a4u,
        0xab1c5ed5u, 0xd807aa98u, 0x12835b01u, 0x243185beu, 0x550c7dc3u, 0x72be5d74u, 0x80deb1feu,
        0x9bdc06a7u, 0xc19bf174u, 0xe49b69c1u, 0xefbe4786u, 0x0fc19dc6u, 0x240ca1ccu, 0x2de92c6fu,
        0x4a7484aau, 0x5cb0a9dcu, 0x76f988dau, 0x983e5152u, 0xa831c66du, 0xb00327c8u, 0xbf597fc7u,
        0xc6e00bf3u, 0xd5a79147u, 0x06ca6351u, 0x14292967u, 0x27b70a85u, 0x2e1b2138u, 0x4d2c6dfcu,
        0x53380d13u, 0x650a7354u, 0x766a0abbu, 0x81c2c92eu, 0x92722c85u, 0xa2bfe8a1u, 0xa81a664bu,
        0xc24b8b70u, 0xc76c51a3u, 0xd192e819u, 0xd6990624u, 0xf40e3585u, 0x106aa070u, 0x19a4c116u,
        0x1e376c08u, 0x2748774cu, 0x34b0bcb5u, 0x391c0cb3u, 0x4ed8aa4au, 0x5b9cca4fu, 0x682e6ff3u,
        0x748f82eeu, 0x78a5636fu, 0x84c87814u, 0x8cc70208u, 0x90befffau, 0xa4506cebu, 0xbef9a3f7u,
        0xc67178f2u};
    uint32_t w[64];
    for (int i = 0; i < 16; ++i) {
      w[i] = (uint32_t{block[4 * i]} << 24) | (uint32_t{block[4 * i + 1]} << 16) |
             (uint32_t{block[4 * i + 2]} << 8) | uint32_t{block[4 * i + 3]};
    }
    for (int i = 16; i < 64; ++i) {
      const uint32_t s0 = Rotr(w[i - 15], 7) ^ Rotr(w[i - 15], 18) ^ (w[i - 15] >> 3);
      const uint32_t s1 = Rotr(w[i - 2], 17) ^ Rotr(w[i - 2], 19) ^ (w[i - 2] >> 10);
      w[i] = w[i - 16] + s0 + w[i - 7] + s1;
    }
    uint32_t a = state_[0], b = state_[1], c = state_[2], d = state_[3];
    uint32_t e = state_[4], f = state_[5], g = state_[6], h = state_[7];
    for (int i = 0; i < 64; ++i) {
      const uint32_t s1 = Rotr(e, 6) ^ Rotr(e, 11) ^ Rotr(e, 25);
      const uint32_t ch = (e & f) ^ (~e & g);
      const uint32_t t1 = h + s1 + ch + kK[i] + w[i];
      const uint32_t s0 = Rotr(a, 2) ^ Rotr(a, 13) ^ Rotr(a, 22);
      const uint32_t maj = (a & b) ^ (a & c) ^ (b & c);
      const uint32_t t2 = s0 + maj;
      h = g;
      g = f;
      f = e;
      e = d + t1;
      d = c;
      c = b;
      b = a;
      a = t1 + t2;
    }
    state_[0] += a;
    state_[1] += b;
    state_[2] += c;
    state_[3] += d;
    state_[4] += e;
    state_[5] += f;
    state_[6] += g;
    state_[7] += h;
  }

  std::array<uint32_t, 8> state_{};
  std::array<unsigned char, kBlockSize> buffer_{};
  uint64_t total_bytes_ = 0;
  size_t buffered_ = 0;
};

// SHA-256 of `data`: 32 raw bytes.
inline std::string Sha256Digest(std::string_view data) {
  Sha256 h;
  h.Update(data);
  return h.Finish();
}

// HMAC-SHA256 (RFC 2104) of `message` under `key`: 32 raw bytes. Keys longer than a block are hashed first.
inline std::string HmacSha256(std::string_view key, std::string_view message) {
  std::string block_key(Sha256::kBlockSize, '\0');
  if (key.size() > Sha256::kBlockSize) {
    const std::string hashed = Sha256Digest(key);
    block_key.replace(0, hashed.size(), hashed);
  } else {
    block_key.replace(0, key.size(), key);
  }
  std::string inner_pad(Sha256::kBlockSize, '\0');
  std::string outer_pad(Sha256::kBlockSize, '\0');
  for (size_t i = 0; i < Sha256::kBlockSize; ++i) {
    inner_pad[i] = static_cast<char>(block_key[i] ^ 0x36);
    outer_pad[i] = static_cast<char>(block_key[i] ^ 0x5c);
  }
  Sha256 inner;
  inner.Update(inner_pad);
  inner.Update(message);
  const std::string inner_digest = inner.Finish();
  Sha256 outer;
  outer.Update(outer_pad);
  outer.Update(inner_digest);
  return outer.Finish();
}

// Compares two byte strings in time that depends only on their lengths, so an attacker cannot learn how
// many leading bytes of a forged signature were right. Different lengths compare unequal.
inline bool ConstantTimeEqual(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  unsigned char diff = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    diff |= static_cast<unsigned char>(a[i]) ^ static_cast<unsigned char>(b[i]);
  }
  // volatile keeps the compiler from turning the loop into an early-exit comparison.
  volatile unsigned char result = diff;
  return result == 0;
}

// Hex and base64 are text encodings and live in mlc/text.hpp; these names stay for existing callers.
using text::Base64Alphabet;
using text::Base64Decode;
using text::Base64Encode;
using text::HexDecode;
using text::HexEncode;

}  // namespace mlc::crypto

#endif  // MLC_CRYPTO_HPP_
