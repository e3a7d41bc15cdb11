// Helpers shared by the fuzz targets in fuzz/: invariant checks that abort (libFuzzer and the regression
// driver both report an abort as a failure) and small input splitters.
//
// Thread safety: pure functions; every target runs single-threaded.
#ifndef MLC_FUZZ_FUZZ_UTIL_HPP_
#define MLC_FUZZ_FUZZ_UTIL_HPP_

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

// Aborts with the failed condition when an invariant does not hold: a finding, like a sanitizer report.
#define MLC_FUZZ_CHECK(cond)                                                                 \
  do {                                                                                       \
    if (!(cond)) {                                                                           \
      std::fprintf(stderr, "%s:%d: fuzz invariant failed: %s\n", __FILE__, __LINE__, #cond); \
      std::abort();                                                                          \
    }                                                                                        \
  } while (0)

namespace mlc::fuzz {

inline std::string_view AsText(const uint8_t* data, size_t size) {
  return std::string_view(reinterpret_cast<const char*>(data), size);
}

// Splits at the first `sep`: (before, after); (text, "") when `sep` is absent.
inline std::pair<std::string_view, std::string_view> SplitOnce(std::string_view text, std::string_view sep) {
  const size_t at = text.find(sep);
  if (at == std::string_view::npos) return {text, std::string_view()};
  return {text.substr(0, at), text.substr(at + sep.size())};
}

// Lines of `text` without their '\n' (a trailing '\r' is kept: it is part of the fuzzed bytes).
inline std::vector<std::string_view> Lines(std::string_view text) {
  std::vector<std::string_view> out;
  while (!text.empty()) {
    auto [line, rest] = SplitOnce(text, "\n");
    out.push_back(line);
    if (line.size() == text.size()) break;
    text = rest;
  }
  return out;
}

// True when `s` is well-formed UTF-8 (no overlongs, surrogates or code points past U+10FFFF). Kept apart from
// the SDK's UTF-8 handling on purpose: an invariant checked with the code under test proves nothing.
inline bool IsUtf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    size_t len = 0;
    uint32_t cp = 0;
    if (c < 0x80) {
      ++i;
      continue;
    } else if ((c & 0xE0) == 0xC0) {
      len = 2;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      len = 3;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      len = 4;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (i + len > s.size()) return false;
    for (size_t k = 1; k < len; ++k) {
      const auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
        (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF) {
      return false;
    }
    i += len;
  }
  return true;
}

}  // namespace mlc::fuzz

#endif  // MLC_FUZZ_FUZZ_UTIL_HPP_
