// Pure helpers of the FreshBooks emulator: US/Eastern timestamps and civil dates (on mlc/time.hpp), the
// webhook signature (mlc/webhook_signature.hpp), money and percentage text, ids, UUIDs and media sniffing.
#include <chrono>

#include "freshbooks_internal.hpp"
#include "mlc/sandbox/crypto.hpp"
#include "mlc/text.hpp"
#include "mlc/time.hpp"
#include "mlc/webhook_signature.hpp"

namespace mlc::sandbox::freshbooks {

namespace {

int64_t UnixSeconds(TimePoint t) {
  return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
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

}  // namespace

std::string FormatEastern(TimePoint t) { return time::FormatWallInZone(UnixSeconds(t), time::kUsEastern); }

std::string FormatUtcNaive(TimePoint t) { return time::FormatWall(UnixSeconds(t)); }

std::optional<TimePoint> ParseEastern(std::string_view text) {
  // The emulator's dates start in 1900 (ParseCivilDate) and its wall times carry no leap second.
  if (!ParseCivilDate(text.substr(0, 10)) || (text.size() == 19 && text.substr(17) == "60"))
    return std::nullopt;
  const auto unix_s = time::ParseWallInZone(text, time::kUsEastern);
  if (!unix_s) return std::nullopt;
  return TimePoint(std::chrono::seconds(*unix_s));
}

std::optional<int64_t> ParseCivilDate(std::string_view text) {
  const auto days = time::ParseDate(text);
  if (!days || text.substr(0, 4) < "1900") return std::nullopt;
  return days;
}

std::string FormatCivilDate(int64_t days) { return time::FormatDate(days); }

std::string PythonJsonDumps(const ParamList& fields) { return webhook::freshbooks::PythonJsonDumps(fields); }

std::string WebhookSignature(std::string_view verifier, const ParamList& fields) {
  return webhook::freshbooks::Sign(verifier, fields);
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

std::string Base64Url(std::string_view bytes) {
  return text::Base64Encode(bytes, text::Base64Alphabet::kUrlSafe);
}

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
  return text::ContainsIgnoreCase(haystack, needle);
}

}  // namespace mlc::sandbox::freshbooks
