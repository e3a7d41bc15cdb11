// Normalization of card descriptors and vendor names (see normalize.hpp for the steps and their order).
#include "match/normalize.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <cstring>
#include <utility>

namespace mlc::match {

namespace {

bool IsAsciiAlnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}
bool IsDigit(char c) { return c >= '0' && c <= '9'; }
// Letters of other scripts survive folding as UTF-8 bytes; they count as word characters.
bool IsWordByte(char c) { return IsAsciiAlnum(c) || static_cast<unsigned char>(c) >= 0x80; }

// U+00C0..U+00FF.
constexpr std::array<const char*, 64> kLatin1 = {
    "a", "a", "a", "a", "a", "a", "ae", "c", "e", "e", "e", "e", "i", "i", "i",  "i",   //
    "d", "n", "o", "o", "o", "o", "o",  " ", "o", "u", "u", "u", "u", "y", "th", "ss",  //
    "a", "a", "a", "a", "a", "a", "ae", "c", "e", "e", "e", "e", "i", "i", "i",  "i",   //
    "d", "n", "o", "o", "o", "o", "o",  " ", "o", "u", "u", "u", "u", "y", "th", "y"};

// U+0100..U+017F (Latin Extended-A) as runs of code points sharing one ASCII form.
struct FoldRun {
  char32_t first, last;
  const char* ascii;
};
constexpr std::array<FoldRun, 22> kLatinExtA = {{
    {0x100, 0x105, "a"}, {0x106, 0x10D, "c"}, {0x10E, 0x111, "d"},  {0x112, 0x11B, "e"},  {0x11C, 0x123, "g"},
    {0x124, 0x127, "h"}, {0x128, 0x131, "i"}, {0x132, 0x133, "ij"}, {0x134, 0x135, "j"},  {0x136, 0x138, "k"},
    {0x139, 0x142, "l"}, {0x143, 0x14B, "n"}, {0x14C, 0x151, "o"},  {0x152, 0x153, "oe"}, {0x154, 0x159, "r"},
    {0x15A, 0x161, "s"}, {0x162, 0x167, "t"}, {0x168, 0x173, "u"},  {0x174, 0x175, "w"},  {0x176, 0x178, "y"},
    {0x179, 0x17E, "z"}, {0x17F, 0x17F, "s"},
}};

// Decodes one UTF-8 sequence at text[i]; returns its length (0 if invalid) and the code point.
size_t DecodeUtf8(std::string_view text, size_t i, char32_t& cp) {
  const auto b0 = static_cast<unsigned char>(text[i]);
  size_t len;
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    len = 2;
    cp = b0 & 0x1F;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    len = 3;
    cp = b0 & 0x0F;
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    len = 4;
    cp = b0 & 0x07;
  } else {
    return 0;
  }
  if (i + len > text.size()) return 0;
  for (size_t k = 1; k < len; ++k) {
    const auto b = static_cast<unsigned char>(text[i + k]);
    if ((b & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (b & 0x3F);
  }
  // Overlong and surrogate forms are invalid.
  if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
      (cp >= 0xD800 && cp <= 0xDFFF)) {
    return 0;
  }
  return len;
}

const std::set<std::string>& UsStateCodes() {
  static const std::set<std::string> kCodes = {
      "al", "ak", "az", "ar", "ca", "co", "ct", "de", "dc", "fl", "ga", "hi", "id", "il", "in", "ia", "ks",
      "ky", "la", "me", "md", "ma", "mi", "mn", "ms", "mo", "mt", "ne", "nv", "nh", "nj", "nm", "ny", "nc",
      "nd", "oh", "ok", "or", "pa", "ri", "sc", "sd", "tn", "tx", "ut", "vt", "va", "wa", "wv", "wi", "wy"};
  return kCodes;
}

// Top-level domains recognised in descriptors (`HELP.UBER.COM`, `aws.amazon.co`, `amazon.co.uk`).
const std::set<std::string>& KnownTlds() {
  static const std::set<std::string> kTlds = {
      "com", "net", "org", "io", "co", "ai", "app", "dev", "biz", "info", "us", "uk",  "ca",  "de", "fr",
      "es",  "it",  "nl",  "be", "ch", "at", "se",  "no",  "dk",  "fi",   "ie", "au",  "nz",  "jp", "in",
      "br",  "mx",  "eu",  "tv", "me", "ly", "gg",  "so",  "to",  "fm",   "cc", "xyz", "edu", "gov"};
  return kTlds;
}

int RoleRank(TokenRole r) {
  switch (r) {
    case TokenRole::kCore:
      return 0;
    case TokenRole::kDetail:
      return 1;
    case TokenRole::kHint:
      return 2;
    case TokenRole::kLocation:
      return 3;
    case TokenRole::kNoise:
      return 4;
  }
  return 4;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

std::string Join(const std::vector<std::string>& words) {
  std::string out;
  for (const auto& w : words) {
    if (!out.empty()) out += ' ';
    out += w;
  }
  return out;
}

// Removes phone numbers from folded descriptor text: 800-698-4637, (800) 698-4637, 1-800-698-4637,
// +1 800 698 4637, 800.698.4637. Spaces inside are accepted only after `)` or a leading country code, so
// "FOREVER 21 800-555-0100" keeps its 21.
std::string StripPhones(std::string_view text) {
  std::string out;
  size_t i = 0;
  while (i < text.size()) {
    const char c = text[i];
    const bool starts = (IsDigit(c) || c == '+' || c == '(') && (i == 0 || !IsWordByte(text[i - 1]));
    if (!starts) {
      out += c;
      ++i;
      continue;
    }
    size_t j = i;
    int digits = 0;
    int groups = 0;
    bool in_group = false;
    size_t last_digit_end = i;
    while (j < text.size()) {
      const char d = text[j];
      if (IsDigit(d)) {
        ++digits;
        if (!in_group) ++groups;
        in_group = true;
        last_digit_end = j + 1;
      } else if (d == '-' || d == '.' || d == '(' || d == ')' || d == '+') {
        in_group = false;
      } else if (d == ' ') {
        // Allowed after ')' or after a leading country code such as "+1" / "1".
        const std::string_view so_far = text.substr(i, j - i);
        const bool after_paren = j > i && text[j - 1] == ')';
        const bool after_cc = (so_far == "1" || so_far == "+1" || (so_far.size() <= 4 && so_far[0] == '+'));
        if (!after_paren && !after_cc) break;
        in_group = false;
      } else {
        break;
      }
      ++j;
    }
    const bool boundary = last_digit_end >= text.size() || !IsWordByte(text[last_digit_end]);
    const bool phone = boundary && groups >= 2 && digits >= 10 && digits <= 13;
    const bool local = boundary && groups == 2 && digits == 7 &&
                       text.substr(i, last_digit_end - i).size() == 8 && text[i + 3] == '-';
    if (phone || local) {
      out += ' ';
      i = last_digit_end;
    } else {
      out += c;
      ++i;
    }
  }
  return out;
}

// The registrable label of a domain: help.uber.com -> uber, aws.amazon.co -> amazon, amazon.co.uk -> amazon.
std::optional<std::string> DomainLabel(std::string_view chunk) {
  std::string_view s = chunk;
  for (std::string_view scheme : {"https://", "http://"}) {
    if (s.substr(0, scheme.size()) == scheme) s.remove_prefix(scheme.size());
  }
  const size_t cut = s.find_first_of("/?#");
  if (cut != std::string_view::npos) s = s.substr(0, cut);
  while (!s.empty() && (s.back() == '.' || s.back() == ',')) s.remove_suffix(1);
  if (s.find('.') == std::string_view::npos) return std::nullopt;
  std::vector<std::string> labels;
  size_t start = 0;
  while (start <= s.size()) {
    size_t dot = s.find('.', start);
    if (dot == std::string_view::npos) dot = s.size();
    std::string label(s.substr(start, dot - start));
    if (label.empty()) return std::nullopt;
    for (char ch : label) {
      if (!IsAsciiAlnum(ch) && ch != '-') return std::nullopt;
    }
    labels.push_back(std::move(label));
    start = dot + 1;
  }
  if (labels.size() < 2 || !KnownTlds().count(labels.back())) return std::nullopt;
  const bool country_tld = labels.back().size() == 2;
  labels.pop_back();
  static const std::set<std::string> kSecondLevel = {"co", "com", "net", "org", "gov", "ac", "edu"};
  if (country_tld && labels.size() >= 2 && kSecondLevel.count(labels.back())) labels.pop_back();
  if (labels.size() >= 2 && labels.front() == "www") labels.erase(labels.begin());
  std::string label = labels.back();
  if (label == "www") return std::nullopt;
  return label;
}

// "u.s.a." / "l.l.c" / "b.v." -> "usa" / "llc" / "bv": single letters joined by dots.
bool IsDottedAcronym(std::string_view chunk, std::string& joined) {
  joined.clear();
  size_t i = 0;
  int letters = 0;
  while (i < chunk.size()) {
    if (!IsAsciiAlnum(chunk[i])) return false;
    if (i + 1 < chunk.size() && chunk[i + 1] != '.') return false;
    joined += chunk[i];
    ++letters;
    i += 2;  // letter and its dot
  }
  return letters >= 2;
}

// Classifies a descriptor word: store numbers and reference codes go, letters before a long number stay.
// Returns false to drop the word; may rewrite it and lower its role to noise (a short number that does
// not open the segment: FOREVER 21 keeps 21 as noise, 7-ELEVEN keeps 7 as a name word).
bool ClassifyDescriptorWord(std::string& word, TokenRole& role, bool opens_segment) {
  int digits = 0;
  int runs = 0;
  bool prev_digit = false;
  size_t first_run_len = 0;
  for (size_t i = 0; i < word.size(); ++i) {
    const bool d = IsDigit(word[i]);
    if (d) ++digits;
    if (i == 0 || d != prev_digit) ++runs;
    if (runs == 1) ++first_run_len;
    prev_digit = d;
  }
  if (digits == 0) return true;
  const int letters = static_cast<int>(word.size()) - digits;
  if (letters == 0) {
    if (digits >= 3) return false;  // store numbers, dates, amounts
    if (!opens_segment) role = TokenRole::kNoise;
    return true;
  }
  const bool starts_with_digit = IsDigit(word[0]);
  if (runs == 2 && starts_with_digit) {
    // 7pm / 11am are times; 7eleven, 1password and 99designs are names; 1234abc is a code.
    const std::string_view tail = std::string_view(word).substr(first_run_len);
    if (first_run_len <= 2 && (tail == "am" || tail == "pm")) return false;
    return first_run_len < 3;
  }
  if (runs == 2) {
    // ADS1234567 -> ads; T1234 is a code; a short number after a word (b2, web3) stays.
    if (digits >= 3) {
      if (first_run_len < 2) return false;
      word.resize(first_run_len);
    }
    return true;
  }
  // Interleaved letters and digits (2K4LR0QX2, 7J3KQ2) are reference codes unless very short (b2b).
  return word.size() < 5;
}

}  // namespace

std::string_view TokenRoleName(TokenRole role) {
  switch (role) {
    case TokenRole::kCore:
      return "core";
    case TokenRole::kDetail:
      return "detail";
    case TokenRole::kHint:
      return "hint";
    case TokenRole::kLocation:
      return "location";
    case TokenRole::kNoise:
      return "noise";
  }
  return "core";
}

std::string Normalizer::Fold(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  size_t i = 0;
  while (i < text.size()) {
    const auto b = static_cast<unsigned char>(text[i]);
    if (b < 0x80) {
      out += static_cast<char>(std::tolower(b));
      ++i;
      continue;
    }
    char32_t cp = 0;
    const size_t len = DecodeUtf8(text, i, cp);
    if (len == 0) {  // invalid byte: a separator, never a crash
      out += ' ';
      ++i;
      continue;
    }
    if (cp >= 0xC0 && cp <= 0xFF) {
      out += kLatin1[cp - 0xC0];
    } else if (cp >= 0x100 && cp <= 0x17F) {
      for (const auto& run : kLatinExtA) {
        if (cp >= run.first && cp <= run.last) {
          out += run.ascii;
          break;
        }
      }
    } else if (cp >= 0x300 && cp <= 0x36F) {
      // Combining marks of decomposed text (e + U+0301): the base letter already went out.
    } else if (cp == 0x2018 || cp == 0x2019 || cp == 0x02BC) {
      out += '\'';
    } else if (cp >= 0x2010 && cp <= 0x2015) {
      out += '-';
    } else if ((cp >= 0x80 && cp <= 0xBF) || (cp >= 0x2000 && cp <= 0x206F) || cp == 0x3000) {
      out += ' ';  // no-break space, symbols, general punctuation
    } else {
      out.append(text.substr(i, len));  // other scripts stay as they are
    }
    i += len;
  }
  return out;
}

std::vector<std::string> SplitWords(std::string_view folded) {
  std::vector<std::string> words;
  std::string cur;
  for (size_t i = 0; i < folded.size(); ++i) {
    const char c = folded[i];
    const bool joiner =
        (c == '\'' || c == '&') && !cur.empty() && i + 1 < folded.size() && IsWordByte(folded[i + 1]);
    if (IsWordByte(c)) {
      cur += c;
    } else if (!joiner) {
      if (!cur.empty()) words.push_back(std::move(cur));
      cur.clear();
    }
  }
  if (!cur.empty()) words.push_back(std::move(cur));
  return words;
}

Normalizer::Normalizer(NormalizerTable table) : table_(std::move(table)) {
  for (const auto& [from, to] : table_.aliases) {
    const auto words = SplitWords(from);
    if (words.empty()) continue;
    max_alias_words_ = std::max(max_alias_words_, words.size());
    alias_tokens_[Join(words)] = SplitWords(to);
  }
  for (const auto& city : table_.cities) {
    max_city_words_ = std::max(max_city_words_, SplitWords(city).size());
  }
  // Longest pattern first, so `PAYPAL *` is tried before `PP*`-like shorter ones that might also match.
  std::stable_sort(
      table_.processor_prefixes.begin(), table_.processor_prefixes.end(),
      [](const ProcessorPrefix& a, const ProcessorPrefix& b) { return a.pattern.size() > b.pattern.size(); });
}

void Normalizer::Tokenize(std::string_view text, TokenRole role, bool descriptor, bool domain_first_is_core,
                          const char* origin, std::vector<Token>& out) const {
  std::string acronym;
  const size_t first_out = out.size();  // a segment's first word may be a short number: 7-ELEVEN, 76 GAS
  bool first_chunk = true;
  size_t i = 0;
  while (i < text.size()) {
    // Chunks are separated by spaces and `*`.
    while (i < text.size() && (text[i] == ' ' || text[i] == '*' || text[i] == '\t')) ++i;
    size_t j = i;
    while (j < text.size() && text[j] != ' ' && text[j] != '*' && text[j] != '\t') ++j;
    if (j == i) break;
    std::string_view chunk = text.substr(i, j - i);
    const size_t chunk_end = static_cast<size_t>(chunk.data() - origin) + chunk.size();
    i = j;
    const bool is_first = first_chunk;
    first_chunk = false;

    if (auto label = DomainLabel(chunk)) {
      const TokenRole domain_role =
          descriptor ? (is_first && domain_first_is_core ? role : TokenRole::kHint) : role;
      for (auto& w : SplitWords(*label)) {
        TokenRole r = domain_role;
        if (descriptor && !ClassifyDescriptorWord(w, r, out.size() == first_out)) continue;
        out.push_back({std::move(w), r, chunk_end});
      }
      continue;
    }
    std::string_view trimmed = chunk;
    while (!trimmed.empty() && !IsWordByte(trimmed.back()) && trimmed.back() != '.') trimmed.remove_suffix(1);
    while (!trimmed.empty() && !IsWordByte(trimmed.front())) trimmed.remove_prefix(1);
    std::string_view for_acronym = trimmed;
    if (!for_acronym.empty() && for_acronym.back() == '.') for_acronym.remove_suffix(1);
    std::vector<std::string> words;
    if (IsDottedAcronym(for_acronym, acronym)) {
      words.push_back(acronym);
    } else {
      words = SplitWords(chunk);
    }
    for (auto& w : words) {
      TokenRole r = role;
      if (descriptor) {
        if (!ClassifyDescriptorWord(w, r, out.size() == first_out)) continue;
        if (table_.noise_words.count(w)) r = TokenRole::kNoise;
      }
      out.push_back({std::move(w), r, chunk_end});
    }
  }
}

size_t Normalizer::StripLocationTail(std::vector<Token>& tokens) const {
  auto core_before = [&](size_t end) {
    for (size_t k = 0; k < end; ++k) {
      if (tokens[k].role == TokenRole::kCore) return true;
    }
    return false;
  };
  size_t end = tokens.size();
  // Trailing noise (a country code, "us") does not hide the state before it.
  while (end > 0 && tokens[end - 1].role == TokenRole::kNoise) --end;
  size_t state_end = 0;
  if (end >= 2 && UsStateCodes().count(tokens[end - 1].text) && core_before(end - 1)) {
    state_end = tokens[end - 1].end;
    tokens.erase(tokens.begin() + static_cast<long>(end - 1));
    --end;
  }
  // A known city ending the descriptor (after the state went) is where, not who.
  for (size_t n = std::min(max_city_words_, end); n >= 1; --n) {
    std::vector<std::string> words;
    for (size_t k = end - n; k < end; ++k) words.push_back(tokens[k].text);
    if (table_.cities.count(Join(words)) && core_before(end - n)) {
      for (size_t k = end - n; k < end; ++k) tokens[k].role = TokenRole::kLocation;
      return 0;
    }
  }
  // A state code right after the name may as well be the name's cut last word (`TST* JUNIPER VELVET CO`).
  return state_end;
}

void Normalizer::ApplyAliases(std::vector<Token>& tokens) const {
  // A few passes let operator aliases chain into built-in ones (fb -> facebook -> meta); bounded because a
  // table may contain a cycle.
  for (int pass = 0; pass < 3; ++pass) {
    bool changed = false;
    std::vector<Token> out;
    out.reserve(tokens.size() + 2);
    size_t i = 0;
    while (i < tokens.size()) {
      bool replaced = false;
      for (size_t n = std::min(max_alias_words_, tokens.size() - i); n >= 1; --n) {
        std::string phrase = tokens[i].text;
        for (size_t k = 1; k < n; ++k) phrase += ' ' + tokens[i + k].text;
        auto it = alias_tokens_.find(phrase);
        if (it == alias_tokens_.end()) continue;
        const TokenRole role = tokens[i].role;
        size_t end = 0;
        for (size_t k = 0; k < n; ++k) end = std::max(end, tokens[i + k].end);
        if (it->second.size() != n ||
            !std::equal(it->second.begin(), it->second.end(), tokens.begin() + i,
                        [](const std::string& a, const Token& t) { return a == t.text; })) {
          changed = true;
        }
        for (const auto& w : it->second) out.push_back({w, role, end});
        i += n;
        replaced = true;
        break;
      }
      if (!replaced) out.push_back(std::move(tokens[i++]));
    }
    tokens = std::move(out);
    if (!changed) break;
  }
}

void Normalizer::StripLegalSuffixes(std::vector<Token>& tokens) const {
  // Per run of same-role name tokens: "acme inc *order" and "acme corp san francisco" both lose the suffix.
  std::vector<Token> out;
  size_t i = 0;
  while (i < tokens.size()) {
    size_t j = i;
    while (j < tokens.size() && tokens[j].role == tokens[i].role) ++j;
    size_t end = j;
    if (tokens[i].role == TokenRole::kCore || tokens[i].role == TokenRole::kDetail) {
      while (end - i > 1 && table_.legal_suffixes.count(tokens[end - 1].text)) --end;
    }
    for (size_t k = i; k < end; ++k) out.push_back(std::move(tokens[k]));
    i = j;
  }
  tokens = std::move(out);
}

Normalized Normalizer::Normalize(std::string_view text, TextKind kind) const {
  const bool descriptor = kind == TextKind::kDescriptor;
  std::string folded = Fold(text);
  if (descriptor) folded = StripPhones(folded);
  for (char& c : folded) {
    if (c == '\t' || c == '\n' || c == '\r') c = ' ';
  }
  std::string_view rest = Trim(folded);
  std::vector<Token> tokens;
  size_t state_width = 0;

  if (descriptor) {
    // A processor prefix at the start.
    const ProcessorPrefix* matched = nullptr;
    size_t matched_len = 0;
    for (const auto& p : table_.processor_prefixes) {
      size_t pi = 0, ti = 0;
      bool ok = true;
      while (pi < p.pattern.size() && ok) {
        const char pc = p.pattern[pi];
        if (pc == ' ') {
          if (ti < rest.size() && IsWordByte(rest[ti])) ok = false;
          while (ti < rest.size() && rest[ti] == ' ') ++ti;
          ++pi;
          continue;
        }
        if (!IsAsciiAlnum(pc)) {
          while (ti < rest.size() && rest[ti] == ' ') ++ti;
        }
        if (ti >= rest.size() || rest[ti] != pc) ok = false;
        ++pi;
        ++ti;
      }
      if (!ok) continue;
      if (IsAsciiAlnum(p.pattern.back()) && ti < rest.size() && IsWordByte(rest[ti])) continue;
      matched = &p;
      matched_len = ti;
      break;
    }
    if (matched != nullptr) {
      std::string_view remainder = rest.substr(matched_len);
      while (!remainder.empty() && (remainder.front() == ' ' || remainder.front() == '*')) {
        remainder.remove_prefix(1);
      }
      remainder = Trim(remainder);
      const size_t prefix_end = static_cast<size_t>(rest.data() - folded.data()) + matched_len;
      if (!matched->merchant.empty()) {
        for (auto& w : SplitWords(matched->merchant))
          tokens.push_back({std::move(w), TokenRole::kCore, prefix_end});
        Tokenize(remainder, TokenRole::kDetail, true, false, folded.data(), tokens);
        rest = {};
      } else if (remainder.empty()) {
        // The processor is all there is (`PAYPAL *`): then it is the merchant.
        for (auto& w : SplitWords(matched->pattern))
          tokens.push_back({std::move(w), TokenRole::kCore, prefix_end});
        rest = {};
      } else {
        rest = remainder;
      }
    }
    if (!rest.empty()) {
      // The merchant before the first `*`, detail after it.
      const size_t star = rest.find('*');
      std::string_view head = rest, tail;
      if (star != std::string_view::npos) {
        head = Trim(rest.substr(0, star));
        tail = Trim(rest.substr(star + 1));
        if (head.empty()) {
          head = tail;
          tail = {};
        }
      }
      Tokenize(head, TokenRole::kCore, true, true, folded.data(), tokens);
      const size_t core_count = tokens.size();
      Tokenize(tail, TokenRole::kDetail, true, false, folded.data(), tokens);
      if (core_count == 0) {
        // Nothing survived before the star (`*1234 ACME`): what follows is the name.
        for (auto& t : tokens) {
          if (t.role == TokenRole::kDetail) t.role = TokenRole::kCore;
        }
      }
    }
    state_width = StripLocationTail(tokens);
  } else {
    Tokenize(rest, TokenRole::kCore, false, true, folded.data(), tokens);
  }

  ApplyAliases(tokens);
  size_t name_width = state_width;
  if (descriptor) {
    for (const auto& t : tokens) {
      if (t.role == TokenRole::kCore || t.role == TokenRole::kDetail)
        name_width = std::max(name_width, t.end);
    }
  }
  StripLegalSuffixes(tokens);

  // Stopwords go unless nothing else would be left.
  {
    std::vector<Token> kept;
    for (const auto& t : tokens) {
      if (!table_.stopwords.count(t.text)) kept.push_back(t);
    }
    if (!kept.empty()) tokens = std::move(kept);
  }

  // One entry per text, at its first position, with its strongest role.
  Normalized n;
  n.name_width = name_width;
  for (auto& t : tokens) {
    auto it =
        std::find_if(n.tokens.begin(), n.tokens.end(), [&](const Token& u) { return u.text == t.text; });
    if (it == n.tokens.end()) {
      n.tokens.push_back(std::move(t));
    } else if (RoleRank(t.role) < RoleRank(it->role)) {
      it->role = t.role;
    }
  }
  for (const auto& t : n.tokens) {
    if (t.role == TokenRole::kNoise) continue;
    if (!n.canonical.empty()) n.canonical += ' ';
    n.canonical += t.text;
    if (t.role == TokenRole::kCore) {
      if (!n.core.empty()) n.core += ' ';
      n.core += t.text;
    }
  }
  return n;
}

}  // namespace mlc::match
