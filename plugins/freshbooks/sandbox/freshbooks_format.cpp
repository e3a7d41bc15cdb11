// Pure helpers of the FreshBooks emulator: US/Eastern timestamps, civil dates, the webhook signature's
// Python-style JSON, money and percentage text, ids, UUIDs and media-type sniffing.
#include <cctype>
#include <chrono>
#include <cstdio>

#include "freshbooks_internal.hpp"
#include "mlc/sandbox/crypto.hpp"

namespace mlc::sandbox::freshbooks {

namespace {

// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
int64_t DaysFromCivil(int64_t y, int64_t m, int64_t d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const int64_t yoe = y - era * 400;
  const int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

void CivilFromDays(int64_t z, int64_t* y, int64_t* m, int64_t* d) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const int64_t doe = z - era * 146097;
  const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const int64_t mp = (5 * doy + 2) / 153;
  *d = doy - (153 * mp + 2) / 5 + 1;
  *m = mp + (mp < 10 ? 3 : -9);
  *y = yoe + era * 400 + (*m <= 2);
}

int64_t Weekday(int64_t days) { return ((days % 7) + 11) % 7; }  // 0 = Sunday; 1970-01-01 was a Thursday

// The n-th (1-based) Sunday of month m of year y, as days since the epoch.
int64_t NthSunday(int64_t y, int64_t m, int n) {
  const int64_t first = DaysFromCivil(y, m, 1);
  const int64_t to_sunday = (7 - Weekday(first)) % 7;
  return first + to_sunday + 7 * (n - 1);
}

int64_t UnixSeconds(TimePoint t) {
  return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}

// US rules since 2007: daylight time from the second Sunday of March 02:00 EST (07:00 UTC) to the first
// Sunday of November 02:00 EDT (06:00 UTC).
bool EasternDaylightAt(int64_t unix_s) {
  int64_t y, m, d;
  CivilFromDays(unix_s >= 0 ? unix_s / 86400 : (unix_s - 86399) / 86400, &y, &m, &d);
  const int64_t start = NthSunday(y, 3, 2) * 86400 + 7 * 3600;
  const int64_t end = NthSunday(y, 11, 1) * 86400 + 6 * 3600;
  return unix_s >= start && unix_s < end;
}

std::string FormatNaive(int64_t unix_s) {
  const int64_t days = unix_s >= 0 ? unix_s / 86400 : (unix_s - 86399) / 86400;
  const int64_t secs = unix_s - days * 86400;
  int64_t y, m, d;
  CivilFromDays(days, &y, &m, &d);
  char buf[96];
  std::snprintf(buf, sizeof buf, "%04lld-%02lld-%02lld %02lld:%02lld:%02lld", static_cast<long long>(y),
                static_cast<long long>(m), static_cast<long long>(d), static_cast<long long>(secs / 3600),
                static_cast<long long>(secs / 60 % 60), static_cast<long long>(secs % 60));
  return buf;
}

bool Digits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

int64_t ToInt(std::string_view s) {
  int64_t v = 0;
  for (char c : s) v = v * 10 + (c - '0');
  return v;
}

// Decodes one UTF-8 sequence at `i`; invalid input yields U+FFFD and advances one byte.
uint32_t NextCodePoint(std::string_view s, size_t* i) {
  const auto byte = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char c = byte(*i);
  auto fail = [&] {
    ++*i;
    return 0xFFFDu;
  };
  if (c < 0x80) {
    ++*i;
    return c;
  }
  int len = 0;
  uint32_t cp = 0;
  uint32_t min = 0;
  if ((c & 0xE0) == 0xC0) {
    len = 2, cp = c & 0x1F, min = 0x80;
  } else if ((c & 0xF0) == 0xE0) {
    len = 3, cp = c & 0x0F, min = 0x800;
  } else if ((c & 0xF8) == 0xF0) {
    len = 4, cp = c & 0x07, min = 0x10000;
  } else {
    return fail();
  }
  if (*i + static_cast<size_t>(len) > s.size()) return fail();
  for (int k = 1; k < len; ++k) {
    const unsigned char cc = byte(*i + static_cast<size_t>(k));
    if ((cc & 0xC0) != 0x80) return fail();
    cp = (cp << 6) | (cc & 0x3F);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return fail();
  *i += static_cast<size_t>(len);
  return cp;
}

// A JSON string literal as Python's json.dumps writes it with ensure_ascii=True.
void AppendPythonString(std::string& out, std::string_view s) {
  char buf[16];
  out.push_back('"');
  size_t i = 0;
  while (i < s.size()) {
    const uint32_t cp = NextCodePoint(s, &i);
    switch (cp) {
      case '"':
        out += "\\\"";
        continue;
      case '\\':
        out += "\\\\";
        continue;
      case '\n':
        out += "\\n";
        continue;
      case '\r':
        out += "\\r";
        continue;
      case '\t':
        out += "\\t";
        continue;
      case '\b':
        out += "\\b";
        continue;
      case '\f':
        out += "\\f";
        continue;
      default:
        break;
    }
    if (cp >= 0x20 && cp <= 0x7E) {
      out.push_back(static_cast<char>(cp));
    } else if (cp < 0x10000) {
      std::snprintf(buf, sizeof buf, "\\u%04x", cp);
      out += buf;
    } else {
      const uint32_t v = cp - 0x10000;
      std::snprintf(buf, sizeof buf, "\\u%04x", 0xD800 + (v >> 10));
      out += buf;
      std::snprintf(buf, sizeof buf, "\\u%04x", 0xDC00 + (v & 0x3FF));
      out += buf;
    }
  }
  out.push_back('"');
}

}  // namespace

std::string FormatEastern(TimePoint t) {
  const int64_t s = UnixSeconds(t);
  return FormatNaive(s + (EasternDaylightAt(s) ? -4 : -5) * 3600);
}

std::string FormatUtcNaive(TimePoint t) { return FormatNaive(UnixSeconds(t)); }

std::optional<TimePoint> ParseEastern(std::string_view text) {
  if (text.size() != 10 && text.size() != 19) return std::nullopt;
  auto days = ParseCivilDate(text.substr(0, 10));
  if (!days) return std::nullopt;
  int64_t secs = 0;
  if (text.size() == 19) {
    if (text[10] != ' ' && text[10] != 'T') return std::nullopt;
    if (text[13] != ':' || text[16] != ':') return std::nullopt;
    const std::string_view hh = text.substr(11, 2), mm = text.substr(14, 2), ss = text.substr(17, 2);
    if (!Digits(hh) || !Digits(mm) || !Digits(ss)) return std::nullopt;
    if (ToInt(hh) > 23 || ToInt(mm) > 59 || ToInt(ss) > 59) return std::nullopt;
    secs = ToInt(hh) * 3600 + ToInt(mm) * 60 + ToInt(ss);
  }
  const int64_t local = *days * 86400 + secs;
  // Daylight time when the EDT reading lands inside daylight time; the repeated autumn hour reads as EDT.
  const int64_t as_edt = local + 4 * 3600;
  const int64_t unix_s = EasternDaylightAt(as_edt) ? as_edt : local + 5 * 3600;
  return TimePoint(std::chrono::seconds(unix_s));
}

std::optional<int64_t> ParseCivilDate(std::string_view text) {
  if (text.size() != 10 || text[4] != '-' || text[7] != '-') return std::nullopt;
  const std::string_view ys = text.substr(0, 4), ms = text.substr(5, 2), ds = text.substr(8, 2);
  if (!Digits(ys) || !Digits(ms) || !Digits(ds)) return std::nullopt;
  const int64_t y = ToInt(ys), m = ToInt(ms), d = ToInt(ds);
  if (y < 1900 || m < 1 || m > 12 || d < 1) return std::nullopt;
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  const int64_t max_day = kDays[m - 1] + (m == 2 && leap ? 1 : 0);
  if (d > max_day) return std::nullopt;
  return DaysFromCivil(y, m, d);
}

std::string FormatCivilDate(int64_t days) {
  int64_t y, m, d;
  CivilFromDays(days, &y, &m, &d);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04lld-%02lld-%02lld", static_cast<long long>(y), static_cast<long long>(m),
                static_cast<long long>(d));
  return buf;
}

std::string PythonJsonDumps(const ParamList& fields) {
  std::string out = "{";
  bool first = true;
  for (const auto& [k, v] : fields) {
    if (!first) out += ", ";
    first = false;
    AppendPythonString(out, k);
    out += ": ";
    AppendPythonString(out, v);
  }
  out += "}";
  return out;
}

std::string WebhookSignature(std::string_view verifier, const ParamList& fields) {
  return Base64Encode(HmacSha256(verifier, PythonJsonDumps(fields)));
}

std::optional<int64_t> AsId(const nlohmann::json& v) {
  if (v.is_number_unsigned()) {
    const uint64_t u = v.get<uint64_t>();
    if (u > static_cast<uint64_t>(INT64_MAX)) return std::nullopt;
    return static_cast<int64_t>(u);
  }
  if (v.is_number_integer()) return v.get<int64_t>();
  if (v.is_string()) {
    const std::string& s = v.get_ref<const std::string&>();
    if (!Digits(s) || s.size() > 18) return std::nullopt;
    return ToInt(s);
  }
  return std::nullopt;
}

nlohmann::json MoneyJson(int64_t minor, const std::string& currency) {
  auto text = money::FormatDecimal(minor, currency);
  return {{"amount", text.ok() ? *text : std::to_string(minor)}, {"code", currency}};
}

std::optional<std::string> NormalizeDecimal(const nlohmann::json& v) {
  std::string text;
  if (v.is_number_integer() || v.is_number_unsigned()) {
    text = v.dump();
  } else if (v.is_number_float()) {
    // Percentages arrive as JSON numbers in FreshBooks' own examples ("taxPercent1": 13); a float's
    // shortest round-trip text is exact enough for a rate with at most 3 decimals.
    text = v.dump();
  } else if (v.is_string()) {
    text = v.get<std::string>();
  } else {
    return std::nullopt;
  }
  const size_t dot = text.find('.');
  const std::string whole = text.substr(0, dot);
  std::string frac = dot == std::string::npos ? "" : text.substr(dot + 1);
  if (!Digits(whole) || (dot != std::string::npos && !Digits(frac))) return std::nullopt;
  while (!frac.empty() && frac.back() == '0') frac.pop_back();
  if (frac.size() > 3 || whole.size() > 6) return std::nullopt;
  std::string w = whole;
  while (w.size() > 1 && w.front() == '0') w.erase(0, 1);
  return frac.empty() ? w : w + "." + frac;
}

int64_t MultiplyDecimal(int64_t minor, const std::string& decimal, int64_t divisor) {
  // decimal * 1000 as an integer; minor is split so every product stays inside int64 (scaled <= 10^9).
  const size_t dot = decimal.find('.');
  int64_t scaled = ToInt(decimal.substr(0, dot)) * 1000;
  if (dot != std::string::npos) {
    std::string frac = decimal.substr(dot + 1);
    frac.resize(3, '0');
    scaled += ToInt(frac);
  }
  const int64_t den = 1000 * divisor;
  const int64_t q = minor / den;
  const int64_t r = minor % den;
  const int64_t rest = r * scaled;
  const int64_t half = den / 2;
  return q * scaled + (rest + (rest >= 0 ? half : -half)) / den;
}

std::string RandomUuid(SeededRng& rng) {
  std::string b = rng.Bytes(16);
  b[6] = static_cast<char>((static_cast<unsigned char>(b[6]) & 0x0F) | 0x40);
  b[8] = static_cast<char>((static_cast<unsigned char>(b[8]) & 0x3F) | 0x80);
  const std::string hex = HexEncode(b);
  return hex.substr(0, 8) + "-" + hex.substr(8, 4) + "-" + hex.substr(12, 4) + "-" + hex.substr(16, 4) + "-" +
         hex.substr(20);
}

std::string Base64Url(std::string_view bytes) { return Base64UrlEncodeNoPad(bytes); }

std::string SniffMediaType(std::string_view b) {
  auto starts = [&](std::string_view magic) { return b.substr(0, magic.size()) == magic; };
  if (starts("\x89PNG\r\n\x1a\n")) return "image/png";
  if (starts("\xFF\xD8\xFF")) return "image/jpeg";
  if (starts("GIF87a") || starts("GIF89a")) return "image/gif";
  if (starts("%PDF-")) return "application/pdf";
  if (b.size() >= 12 && starts("RIFF") && b.substr(8, 4) == "WEBP") return "image/webp";
  if (b.size() >= 12 && b.substr(4, 4) == "ftyp" && (b.substr(8, 4) == "heic" || b.substr(8, 4) == "mif1")) {
    return "image/heic";
  }
  return {};
}

std::optional<int64_t> DecimalThousandths(std::string_view text) {
  const size_t dot = text.find('.');
  const std::string_view whole = text.substr(0, dot);
  const std::string_view frac = dot == std::string_view::npos ? std::string_view() : text.substr(dot + 1);
  if (whole.empty() || whole.size() > 12 || frac.size() > 3 ||
      (dot != std::string_view::npos && frac.empty()))
    return std::nullopt;
  int64_t v = 0;
  for (char c : whole) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + (c - '0');
  }
  for (size_t i = 0; i < 3; ++i) {
    const char c = i < frac.size() ? frac[i] : '0';
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + (c - '0');
  }
  return v;
}

bool ContainsIgnoreCase(std::string_view haystack, std::string_view needle) {
  if (needle.empty()) return true;
  if (needle.size() > haystack.size()) return false;
  for (size_t i = 0; i + needle.size() <= haystack.size(); ++i) {
    if (EqualsIgnoreCase(haystack.substr(i, needle.size()), needle)) return true;
  }
  return false;
}

}  // namespace mlc::sandbox::freshbooks
