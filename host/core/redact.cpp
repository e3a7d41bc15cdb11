// Redaction of secrets in log lines, audit rows and error messages (see redact.hpp): registered values are
// found with a prefix-bucketed multi-pattern scan, secret shapes with one hand-written tokenizing pass.
#include "core/redact.hpp"

#include <algorithm>
#include <array>
#include <bitset>
#include <cstdint>
#include <cstring>
#include <memory>
#include <mutex>
#include <set>
#include <shared_mutex>
#include <unordered_map>
#include <utility>
#include <vector>

namespace mlc::redact {
namespace {

constexpr size_t kMinSecretLength = 6;
// Field names longer than this are never secret names; they are skipped without a lookup.
constexpr size_t kMaxFieldNameLength = 64;

struct Range {
  size_t begin;
  size_t end;
};

bool IsAlnum(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'); }
bool IsHex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }
// Characters of a name: header names use '-', JSON/form field names use '_'.
bool IsNameChar(char c) { return IsAlnum(c) || c == '_' || c == '-'; }
bool IsBase64Char(char c) { return IsAlnum(c) || c == '+' || c == '/' || c == '='; }
// RFC 6750 b64token.
bool IsBearerChar(char c) {
  return IsAlnum(c) || c == '-' || c == '.' || c == '_' || c == '~' || c == '+' || c == '/' || c == '=';
}
bool IsSpace(char c) { return c == ' ' || c == '\t'; }
char Lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

// Lower case with '-' folded to '_', so "X-Api-Key", "x_api_key" and "API-KEY" compare as names.
std::string NormalizeName(std::string_view name) {
  std::string out(name.size(), '\0');
  for (size_t i = 0; i < name.size(); ++i) out[i] = name[i] == '-' ? '_' : Lower(name[i]);
  return out;
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (Lower(a[i]) != Lower(b[i])) return false;
  }
  return true;
}

bool StartsWithIgnoreCase(std::string_view text, size_t at, std::string_view prefix) {
  return text.size() >= at + prefix.size() && EqualsIgnoreCase(text.substr(at, prefix.size()), prefix);
}

// Headers whose value is a credential whatever it looks like.
bool IsCredentialHeader(std::string_view normalized) {
  return normalized == "authorization" || normalized == "proxy_authorization" || normalized == "cookie" ||
         normalized == "set_cookie" || normalized == "x_api_key";
}

bool IsSecretHeaderNormalized(std::string_view n) {
  return IsCredentialHeader(n) || n.find("secret") != std::string_view::npos ||
         n.find("token") != std::string_view::npos || n.find("signature") != std::string_view::npos ||
         n.find("password") != std::string_view::npos || n.find("api_key") != std::string_view::npos ||
         n.find("apikey") != std::string_view::npos;
}

// Encoded forms under which a secret value also travels: form/query encoding and JSON string escaping.
std::string PercentEncode(std::string_view v) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (char c : v) {
    if (IsAlnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out += c;
    } else if (c == ' ') {
      out += '+';
    } else {
      const auto u = static_cast<unsigned char>(c);
      out += '%';
      out += kHex[u >> 4];
      out += kHex[u & 0xf];
    }
  }
  return out;
}

std::string JsonEscape(std::string_view v) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (char c : v) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          out += "\\u00";
          out += kHex[(c >> 4) & 0xf];
          out += kHex[c & 0xf];
        } else {
          out += c;
        }
    }
  }
  return out;
}

std::vector<std::string> FormsOf(std::string_view value) {
  std::vector<std::string> forms{std::string(value)};
  for (std::string f : {PercentEncode(value), JsonEscape(value)}) {
    if (std::find(forms.begin(), forms.end(), f) == forms.end()) forms.push_back(std::move(f));
  }
  return forms;
}

uint16_t Prefix2(const char* p) {
  return static_cast<uint16_t>(static_cast<unsigned char>(p[0]) | (static_cast<unsigned char>(p[1]) << 8));
}
uint32_t Prefix4(const char* p) {
  uint32_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

// Registered values, indexed for a scan that costs one bit test per byte of text in the common case: a
// bitmap of every form's first two bytes filters positions, then a bucket keyed by the first four bytes
// holds the candidate forms (longest first).
class ValueIndex {
 public:
  void Add(std::string_view value) {
    if (!originals_.insert(std::string(value)).second) return;
    for (std::string& form : FormsOf(value)) {
      if (++form_refs_[form] > 1) continue;
      auto& bucket = buckets_[Prefix4(form.data())];
      first_two_.set(Prefix2(form.data()));
      bucket.push_back(std::move(form));
      std::sort(bucket.begin(), bucket.end(),
                [](const auto& a, const auto& b) { return a.size() > b.size(); });
    }
  }

  bool Contains(std::string_view value) const { return originals_.find(value) != originals_.end(); }

  void Remove(std::string_view value) {
    auto it = originals_.find(value);
    if (it == originals_.end()) return;
    originals_.erase(it);
    for (const std::string& form : FormsOf(value)) {
      auto ref = form_refs_.find(form);
      if (ref == form_refs_.end() || --ref->second > 0) continue;
      form_refs_.erase(ref);
      auto bucket = buckets_.find(Prefix4(form.data()));
      if (bucket == buckets_.end()) continue;
      std::erase(bucket->second, form);
      if (bucket->second.empty()) buckets_.erase(bucket);
      RebuildBitmap();
    }
  }

  void Find(std::string_view text, std::vector<Range>& out) const {
    if (buckets_.empty() || text.size() < kMinSecretLength) return;
    const char* data = text.data();
    // Every match is recorded (no skipping past a match) so overlapping secrets are all covered.
    for (size_t i = 0; i + kMinSecretLength <= text.size(); ++i) {
      if (!first_two_[Prefix2(data + i)]) continue;
      auto bucket = buckets_.find(Prefix4(data + i));
      if (bucket == buckets_.end()) continue;
      for (const std::string& form : bucket->second) {
        if (form.size() <= text.size() - i && std::memcmp(data + i, form.data(), form.size()) == 0) {
          out.push_back({i, i + form.size()});
          break;  // longest first: shorter forms at the same position are inside this range
        }
      }
    }
  }

 private:
  void RebuildBitmap() {
    first_two_.reset();
    for (const auto& [prefix, forms] : buckets_) {
      for (const auto& form : forms) first_two_.set(Prefix2(form.data()));
    }
  }

  std::set<std::string, std::less<>> originals_;
  std::unordered_map<std::string, int> form_refs_;  // a form may be shared by two originals
  std::unordered_map<uint32_t, std::vector<std::string>> buckets_;
  std::bitset<65536> first_two_;
};

struct Registry {
  std::shared_mutex mu;  // read-mostly: every RedactText takes it shared
  ValueIndex values;
  std::set<std::string, std::less<>> field_names{
      "access_token",
      "refresh_token",
      "id_token",
      "auth_token",
      "session_token",
      "token",
      "client_secret",
      "secret",
      "partnerusersecret",
      "password",
      "api_key",
      "apikey",
      "private_key",
      "client_assertion",
      "authorization",
      "proxy_authorization",
      "cookie",
      "set_cookie",
      "x_api_key",
  };
};

// Never destroyed: logging may still run during static destruction.
Registry& Reg() {
  static Registry* registry = new Registry;
  return *registry;
}

bool IsSecretFieldName(const Registry& reg, std::string_view normalized) {
  return reg.field_names.find(normalized) != reg.field_names.end() ||
         normalized.find("secret") != std::string_view::npos ||
         normalized.find("password") != std::string_view::npos ||
         normalized.find("passwd") != std::string_view::npos;
}

// True when only spaces or tabs separate `pos` from the start of its line.
bool AtLineStart(std::string_view t, size_t pos) {
  while (pos > 0 && IsSpace(t[pos - 1])) --pos;
  return pos == 0 || t[pos - 1] == '\n' || t[pos - 1] == '\r';
}

size_t LineEnd(std::string_view t, size_t pos) {
  while (pos < t.size() && t[pos] != '\n' && t[pos] != '\r') ++pos;
  return pos;
}

// The quote styles a key or value may be wrapped in: plain JSON, JSON inside a JSON string, form-encoded
// JSON (Expensify's requestJobDescription), and single-quoted reprs.
constexpr std::array<std::string_view, 4> kQuotes = {"\\\"", "\"", "%22", "'"};

size_t QuoteAt(std::string_view t, size_t pos) {
  for (std::string_view q : kQuotes) {
    if (t.substr(pos, q.size()) == q) return q.size();
  }
  return 0;
}

// Finds the end of a quoted value that starts at `pos` (just after the opening quote `quote`). Returns
// t.size() for an unterminated value, which is then masked to the end: a cut-off secret is still secret.
size_t QuotedValueEnd(std::string_view t, size_t pos, std::string_view quote) {
  if (quote == "\"") {
    for (size_t i = pos; i < t.size(); ++i) {
      if (t[i] == '\\') {
        ++i;
      } else if (t[i] == '"') {
        return i;
      }
    }
    return t.size();
  }
  if (quote == "%22") {
    for (size_t i = pos; i + 3 <= t.size(); ++i) {
      if (t[i] == '%' && t[i + 1] == '2' && t[i + 2] == '2') return i;
    }
    return t.size();
  }
  const size_t end = t.find(quote, pos);
  return end == std::string_view::npos ? t.size() : end;
}

bool IsUnquotedValueEnd(std::string_view t, size_t i) {
  const char c = t[i];
  if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '&' || c == ',' || c == ';' || c == '}' ||
      c == ']' || c == ')' || c == '"' || c == '\'' || c == '<' || c == '>' || c == '\\') {
    return true;
  }
  // An encoded '&' or '"' ends a value inside a form-encoded body.
  return c == '%' && i + 2 < t.size() && t[i + 1] == '2' && (t[i + 2] == '6' || t[i + 2] == '2');
}

// After a secret field name ending at `pos`: [closing quote] [spaces] (':' | '=' | %3A | %3D) [spaces]
// value. Adds the value's range; returns where scanning continues.
size_t MaskFieldValue(std::string_view t, size_t pos, std::vector<Range>& out) {
  size_t p = pos + QuoteAt(t, pos);
  while (p < t.size() && IsSpace(t[p])) ++p;
  if (p < t.size() && (t[p] == ':' || t[p] == '=')) {
    ++p;
  } else if (StartsWithIgnoreCase(t, p, "%3A") || StartsWithIgnoreCase(t, p, "%3D")) {
    p += 3;
  } else {
    return pos;  // a name in prose, not a field
  }
  while (p < t.size() && IsSpace(t[p])) ++p;
  if (p >= t.size()) return p;
  if (const size_t q = QuoteAt(t, p); q > 0) {
    const size_t begin = p + q;
    const size_t end = QuotedValueEnd(t, begin, t.substr(p, q));
    if (end > begin) out.push_back({begin, end});
    return std::min(t.size(), end + q);
  }
  if (t[p] == '{' || t[p] == '[') return p;  // structured value: its own fields are scanned as usual
  const size_t begin = p;
  while (p < t.size() && !IsUnquotedValueEnd(t, p)) ++p;
  const std::string_view value = t.substr(begin, p - begin);
  if (!value.empty() && value != "null" && value != "true" && value != "false") out.push_back({begin, p});
  return p;
}

// `<scheme> <credential>`: masks the credential when one follows. Returns the end of what was consumed.
size_t MaskSchemeCredential(std::string_view t, size_t pos, bool basic, std::vector<Range>& out) {
  size_t p = pos;
  while (p < t.size() && IsSpace(t[p])) ++p;
  if (p == pos) return pos;
  const size_t begin = p;
  if (basic) {
    // "Basic" is also an English word: require what Basic credentials look like (RFC 7617 padded base64
    // of "user:password", at least 8 characters, not a plain lower-case word).
    bool digit_or_symbol = false, upper = false, lower = false;
    while (p < t.size() && IsBase64Char(t[p])) {
      const char c = t[p];
      if ((c >= '0' && c <= '9') || c == '+' || c == '/' || c == '=') digit_or_symbol = true;
      if (p > begin && c >= 'A' && c <= 'Z') upper = true;
      if (c >= 'a' && c <= 'z') lower = true;
      ++p;
    }
    const size_t n = p - begin;
    if (n < 8 || n % 4 != 0 || !(digit_or_symbol || (upper && lower))) return begin;
  } else {
    while (p < t.size() && IsBearerChar(t[p])) ++p;
    if (p == begin) return begin;
  }
  out.push_back({begin, p});
  return p;
}

// "scheme://user:password@host": masks the password. `pos` is just after "://"; returns where scanning
// continues (the start of the user name, so it is still scanned as ordinary text).
size_t MaskUrlPassword(std::string_view t, size_t pos, std::vector<Range>& out) {
  size_t colon = std::string_view::npos;
  for (size_t p = pos; p < t.size(); ++p) {
    const char c = t[p];
    if (c == '@') {
      if (colon != std::string_view::npos && p > colon + 1) out.push_back({colon + 1, p});
      break;
    }
    if (c == '/' || c == '?' || c == '#' || c == ' ' || c == '\t' || c == '\n' || c == '"' || c == '\'')
      break;
    if (c == ':' && colon == std::string_view::npos) colon = p;
  }
  return pos;
}

// One pass over the text: each run of name characters is checked against every shape rule.
void FindShapes(const Registry& reg, std::string_view t, std::vector<Range>& out) {
  size_t i = 0;
  while (i < t.size()) {
    const char c = t[i];
    if (c == '%' && i + 2 < t.size() && IsHex(t[i + 1]) && IsHex(t[i + 2])) {
      i += 3;  // a percent-escape separates names ("%22partnerUserSecret%22")
      continue;
    }
    if (c == ':' && t.substr(i, 3) == "://") {
      i = MaskUrlPassword(t, i + 3, out);
      continue;
    }
    if (!IsNameChar(c)) {
      ++i;
      continue;
    }
    const size_t start = i;
    while (i < t.size() && IsNameChar(t[i])) ++i;
    const std::string_view word = t.substr(start, i - start);

    if (word.size() > 4 && word.starts_with("bxt_") && IsAlnum(word[4])) {
      // Brex user token: bxt_ followed by alphanumerics.
      size_t end = start + 4;
      while (end < t.size() && IsAlnum(t[end])) ++end;
      out.push_back({start, end});
      i = std::max(i, end);
      continue;
    }
    if (word.starts_with("whsec_") && start + 6 < t.size() && IsBase64Char(t[start + 6])) {
      // Standard Webhooks signing secret: whsec_ followed by base64.
      size_t end = start + 6;
      while (end < t.size() && IsBase64Char(t[end])) ++end;
      out.push_back({start, end});
      i = std::max(i, end);
      continue;
    }
    if (EqualsIgnoreCase(word, "bearer")) {
      i = std::max(i, MaskSchemeCredential(t, i, /*basic=*/false, out));
      continue;
    }
    if (EqualsIgnoreCase(word, "basic")) {
      i = std::max(i, MaskSchemeCredential(t, i, /*basic=*/true, out));
      continue;
    }
    if (word.size() > kMaxFieldNameLength) continue;
    const std::string name = NormalizeName(word);

    // "Authorization: Bearer x y" as a header line: the whole value, to the end of the line.
    if (i < t.size() && t[i] == ':' && IsSecretHeaderNormalized(name) &&
        (IsCredentialHeader(name) || AtLineStart(t, start))) {
      size_t p = i + 1;
      while (p < t.size() && IsSpace(t[p])) ++p;
      if (p < t.size() && QuoteAt(t, p) == 0 && t[p] != '{' && t[p] != '[') {
        const size_t end = LineEnd(t, p);
        if (end > p) out.push_back({p, end});
        i = end;
      } else {
        i = MaskFieldValue(t, i, out);
      }
      continue;
    }
    if (IsSecretFieldName(reg, name)) i = MaskFieldValue(t, i, out);
  }
}

std::string ApplyMasks(std::string_view text, std::vector<Range>& ranges) {
  if (ranges.empty()) return std::string(text);
  std::sort(ranges.begin(), ranges.end(), [](const Range& a, const Range& b) { return a.begin < b.begin; });
  std::string out;
  out.reserve(text.size());
  size_t copied = 0;
  size_t k = 0;
  while (k < ranges.size()) {
    const size_t begin = ranges[k].begin;
    size_t end = ranges[k].end;
    // Overlapping or touching ranges become one mask.
    for (++k; k < ranges.size() && ranges[k].begin <= end; ++k) end = std::max(end, ranges[k].end);
    if (end <= begin) continue;
    out.append(text.substr(copied, begin - copied));
    out.append(kMask);
    copied = end;
  }
  out.append(text.substr(copied));
  return out;
}

}  // namespace

void RegisterSecret(std::string_view value) {
  if (value.size() < kMinSecretLength) return;
  Registry& reg = Reg();
  {
    // Values are re-registered on every read; the common case needs no exclusive lock.
    std::shared_lock lock(reg.mu);
    if (reg.values.Contains(value)) return;
  }
  std::unique_lock lock(reg.mu);
  reg.values.Add(value);
}

void ForgetSecret(std::string_view value) {
  if (value.size() < kMinSecretLength) return;
  Registry& reg = Reg();
  std::unique_lock lock(reg.mu);
  reg.values.Remove(value);
}

void RegisterSecretFieldName(std::string_view name) {
  if (name.empty() || name.size() > kMaxFieldNameLength) return;
  Registry& reg = Reg();
  std::unique_lock lock(reg.mu);
  reg.field_names.insert(NormalizeName(name));
}

bool IsSecretHeader(std::string_view name) { return IsSecretHeaderNormalized(NormalizeName(name)); }

std::string RedactText(std::string_view text) {
  std::vector<Range> ranges;
  Registry& reg = Reg();
  {
    std::shared_lock lock(reg.mu);
    reg.values.Find(text, ranges);
    FindShapes(reg, text, ranges);
  }
  return ApplyMasks(text, ranges);
}

std::map<std::string, std::string> RedactHeaders(const std::map<std::string, std::string>& headers) {
  std::map<std::string, std::string> out;
  for (const auto& [name, value] : headers) {
    out.emplace(name, IsSecretHeader(name) ? std::string(kMask) : RedactText(value));
  }
  return out;
}

}  // namespace mlc::redact
