// Job ids, idempotency keys, lease owners and instants (see ids.hpp).
#include "engine/ids.hpp"

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <memory>

namespace mlc::engine {
namespace {

std::string Hex(const unsigned char* data, size_t len) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(len * 2);
  for (size_t i = 0; i < len; ++i) {
    out.push_back(kDigits[data[i] >> 4]);
    out.push_back(kDigits[data[i] & 0xF]);
  }
  return out;
}

std::string Sha256Hex(std::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
  // EVP with SHA-256 cannot fail short of memory exhaustion; an empty digest then makes every id differ
  // from any stored one, which is loud rather than silently colliding.
  if (!ctx || EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr) != 1 ||
      EVP_DigestUpdate(ctx.get(), data.data(), data.size()) != 1 ||
      EVP_DigestFinal_ex(ctx.get(), digest, &len) != 1) {
    return std::string();
  }
  return Hex(digest, len);
}

// Days since 1970-01-01 for a proleptic Gregorian date (H. Hinnant's public-domain algorithm).
int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2 ? 1 : 0;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

void CivilFromDays(int64_t days, int64_t* y, unsigned* m, unsigned* d) {
  days += 719468;
  const int64_t era = (days >= 0 ? days : days - 146096) / 146097;
  const auto doe = static_cast<unsigned>(days - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  *d = doy - (153 * mp + 2) / 5 + 1;
  *m = mp < 10 ? mp + 3 : mp - 9;
  *y = static_cast<int64_t>(yoe) + era * 400 + (*m <= 2 ? 1 : 0);
}

bool Digits(std::string_view s, size_t pos, size_t n, int64_t* out) {
  if (pos + n > s.size()) return false;
  int64_t v = 0;
  for (size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    v = v * 10 + (s[i] - '0');
  }
  *out = v;
  return true;
}

unsigned DaysInMonth(int64_t y, int64_t m) {
  static constexpr unsigned kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  return m == 2 && leap ? 29 : kDays[m - 1];
}

std::string Pad(int64_t v, int width) {
  std::string s = std::to_string(v);
  if (static_cast<int>(s.size()) < width) s.insert(0, static_cast<size_t>(width) - s.size(), '0');
  return s;
}

std::string RandomTag() {
  unsigned char bytes[4] = {0, 0, 0, 0};
  if (RAND_bytes(bytes, sizeof bytes) != 1) {
    // Fall back to time-derived bits: the tag only has to differ between processes sharing a pid.
    const auto t = std::chrono::steady_clock::now().time_since_epoch().count();
    for (size_t i = 0; i < sizeof bytes; ++i) bytes[i] = static_cast<unsigned char>(t >> (8 * i));
  }
  return Hex(bytes, sizeof bytes);
}

std::string HostName() {
  char buf[256] = {0};
  if (gethostname(buf, sizeof buf - 1) != 0 || buf[0] == '\0') return "localhost";
  std::string name(buf);
  // ':' separates the owner's fields.
  for (char& c : name) {
    if (c == ':') c = '_';
  }
  return name;
}

}  // namespace

std::string JobId(std::string_view pipeline, std::string_view object_type, std::string_view source_id,
                  std::string_view source_version) {
  std::string text;
  text.reserve(pipeline.size() + object_type.size() + source_id.size() + source_version.size() + 3);
  text.append(pipeline)
      .append("|")
      .append(object_type)
      .append("|")
      .append(source_id)
      .append("|")
      .append(source_version);
  return Sha256Hex(text);
}

std::string IdempotencyKey(std::string_view job_id) { return "mlc-" + std::string(job_id.substr(0, 30)); }

const std::string& ThisLeaseOwner() {
  static const std::string owner = HostName() + ":" + std::to_string(getpid()) + ":" + RandomTag();
  return owner;
}

bool LeaseOwnerIsGone(std::string_view owner) {
  const size_t first = owner.find(':');
  const size_t last = owner.rfind(':');
  if (first == std::string_view::npos || last == first) return false;
  if (owner.substr(0, first) != HostName()) return false;  // another machine: only expiry tells
  const std::string_view pid_text = owner.substr(first + 1, last - first - 1);
  int64_t pid = 0;
  if (pid_text.empty() || pid_text.size() > 9 || !Digits(pid_text, 0, pid_text.size(), &pid) || pid <= 0) {
    return false;
  }
  if (owner == ThisLeaseOwner()) return false;
  if (pid == getpid()) return true;  // our pid, another tag: an earlier process with the same pid
  if (kill(static_cast<pid_t>(pid), 0) == 0) return false;
  return errno == ESRCH;
}

bool IsBareDate(std::string_view s) {
  int64_t v;
  return s.size() == 10 && Digits(s, 0, 4, &v) && s[4] == '-' && Digits(s, 5, 2, &v) && s[7] == '-' &&
         Digits(s, 8, 2, &v);
}

Result<int64_t> ParseInstant(std::string_view s) {
  auto fail = [&] {
    return Status::Invalid("'" + std::string(s.substr(0, 40)) +
                           "' is not a date (YYYY-MM-DD) or an RFC 3339 timestamp");
  };
  int64_t y, mo, d;
  if (s.size() < 10 || !Digits(s, 0, 4, &y) || s[4] != '-' || !Digits(s, 5, 2, &mo) || s[7] != '-' ||
      !Digits(s, 8, 2, &d)) {
    return fail();
  }
  if (mo < 1 || mo > 12 || d < 1 || d > DaysInMonth(y, mo)) return fail();
  const int64_t day_ms = DaysFromCivil(y, static_cast<unsigned>(mo), static_cast<unsigned>(d)) * 86400000;
  if (s.size() == 10) return day_ms;
  int64_t h, mi, sec;
  if (s.size() < 20 || (s[10] != 'T' && s[10] != 't' && s[10] != ' ') || !Digits(s, 11, 2, &h) ||
      s[13] != ':' || !Digits(s, 14, 2, &mi) || s[16] != ':' || !Digits(s, 17, 2, &sec)) {
    return fail();
  }
  if (h > 23 || mi > 59 || sec > 60) return fail();
  size_t pos = 19;
  int64_t frac_ms = 0;
  if (pos < s.size() && s[pos] == '.') {
    ++pos;
    const size_t start = pos;
    int64_t scale = 100;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
      frac_ms += (s[pos] - '0') * scale;
      scale /= 10;
      ++pos;
    }
    if (pos == start) return fail();
  }
  int64_t offset_s = 0;
  if (pos < s.size() && (s[pos] == 'Z' || s[pos] == 'z')) {
    ++pos;
  } else if (pos < s.size() && (s[pos] == '+' || s[pos] == '-')) {
    int64_t oh, om;
    if (!Digits(s, pos + 1, 2, &oh) || pos + 3 >= s.size() || s[pos + 3] != ':' ||
        !Digits(s, pos + 4, 2, &om) || oh > 23 || om > 59) {
      return fail();
    }
    offset_s = (oh * 3600 + om * 60) * (s[pos] == '+' ? 1 : -1);
    pos += 6;
  } else {
    return fail();
  }
  if (pos != s.size()) return fail();
  return day_ms + (h * 3600 + mi * 60 + sec - offset_s) * 1000 + frac_ms;
}

std::string FormatInstantMs(int64_t ms) {
  const int64_t secs = ms >= 0 ? ms / 1000 : (ms - 999) / 1000;
  const int64_t rem_ms = ms - secs * 1000;
  std::string s = FormatInstantSeconds(secs * 1000);
  s.pop_back();  // 'Z'
  return s + "." + Pad(rem_ms, 3) + "Z";
}

std::string FormatInstantSeconds(int64_t ms) {
  const int64_t secs = ms >= 0 ? ms / 1000 : (ms - 999) / 1000;
  const int64_t days = secs >= 0 ? secs / 86400 : (secs - 86399) / 86400;
  const int64_t rem = secs - days * 86400;
  int64_t y;
  unsigned m, d;
  CivilFromDays(days, &y, &m, &d);
  return Pad(y, 4) + "-" + Pad(m, 2) + "-" + Pad(d, 2) + "T" + Pad(rem / 3600, 2) + ":" +
         Pad(rem / 60 % 60, 2) + ":" + Pad(rem % 60, 2) + "Z";
}

int64_t SystemNowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace mlc::engine
