// Card-descriptor and vendor-name normalization for the vendor matcher: turns `SQ *BLUE BOTTLE COFFEE` or
// `UBER   *TRIP HELP.UBER.COM` into weighted tokens and one canonical string.
//
//   MLC_ASSIGN_OR_RETURN(auto table, mlc::match::NormalizerTable::Defaults());
//   MLC_RETURN_IF_ERROR(table.MergeJson(operator_file_text));   // optional operator extensions
//   mlc::match::Normalizer norm(std::move(table));
//   auto n = norm.Normalize("UBER   *TRIP HELP.UBER.COM", mlc::match::TextKind::kDescriptor);
//   // n.canonical == "uber"; tokens: uber (core), trip (noise); the domain hint `uber` merged into uber
//
// What a descriptor loses or gains, in order: case and accents (UTF-8; Latin-1 and Latin Extended-A are
// folded to ASCII, combining marks dropped), a processor prefix (`SQ *`, `TST*`, `PAYPAL *`; a brand prefix
// such as `AMZN Mktp` stands for its merchant), phone numbers, URLs/domains (`HELP.UBER.COM` -> hint
// `uber`), store numbers and reference codes (`#1234`, `0062345678901`, `2K4LR0QX2`; `ADS1234567` keeps
// `ads`), a trailing US state code and the known city before it, aliases (`AMZN` -> amazon, `AWS` ->
// amazon web services, `FACEBK` -> meta), legal suffixes (inc, llc, gmbh, ...), stopwords, punctuation.
// Text after the first `*` is the descriptor's detail (product, trip, order) and weighs less than the
// merchant part before it. Vendor names (TextKind::kVendorName) go through the same folding, domains,
// aliases, legal suffixes and stopwords, but keep digits and never lose a prefix or a city.
//
// The table (aliases, prefixes, suffixes, noise, weak words, cities, stopwords) is data: a built-in JSON
// document that operators extend with a JSON file of the same shape (see NormalizerTable::MergeJson).
//
// Thread safety: a Normalizer is immutable after construction; Normalize may be called from any thread.
#ifndef MLC_HOST_MATCH_NORMALIZE_HPP_
#define MLC_HOST_MATCH_NORMALIZE_HPP_

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "mlc/status.hpp"

namespace mlc::match {

// Where a token came from; the matcher weighs merchant-side tokens by role.
enum class TokenRole : uint8_t {
  kCore,      // the merchant's name
  kDetail,    // after the descriptor's `*`, or after a brand prefix: product, order, trip kind
  kHint,      // a domain seen after the name (`HELP.UBER.COM` -> uber)
  kLocation,  // a known city at the end of the descriptor
  kNoise,     // a known filler word (`trip`, `pos`, weekday) or a 1-2 digit number
};
std::string_view TokenRoleName(TokenRole role);

struct Token {
  std::string text;  // lower-case ASCII letters/digits (other scripts are kept as UTF-8)
  TokenRole role = TokenRole::kCore;
  size_t end = 0;  // descriptors: offset just past the word's chunk in the folded text
};

enum class TextKind : uint8_t { kDescriptor, kVendorName };

struct Normalized {
  std::vector<Token> tokens;  // in order of appearance, each text once (the strongest role kept)
  // The non-noise tokens joined by one space: the cache key of a merchant, the compared form of a vendor.
  std::string canonical;
  // `canonical` restricted to kCore tokens (what the edit-distance measure compares); may be empty.
  std::string core;
  // Descriptors: where the merchant's name (core and detail words, legal suffixes included) ends, in
  // characters from the start. Card networks print the name in a fixed-width field (22-25 characters), so
  // a name reaching that far may have lost its last words.
  size_t name_width = 0;
};

// A processor prefix: `pattern` is matched at the start of a descriptor, case-insensitively, spaces
// around punctuation optional (`SQ *` matches `SQ*BLUE` and `SQ  * BLUE`). Without `merchant` the prefix
// only names the card processor and what follows is the merchant; with it (`AMZN Mktp` -> amazon) the
// prefix stands for the merchant and what follows is detail.
struct ProcessorPrefix {
  std::string pattern;   // folded lower-case
  std::string merchant;  // folded words, or empty
};

// The data behind normalization. Words and phrases are stored folded and tokenized (lower-case, single
// spaces), so table entries may be written in any case.
struct NormalizerTable {
  std::map<std::string, std::string> aliases;  // phrase -> replacement phrase (both folded)
  std::vector<ProcessorPrefix> processor_prefixes;
  std::set<std::string> legal_suffixes;  // stripped at the end of a name: inc, llc, gmbh, ...
  std::set<std::string> noise_words;     // descriptor filler: trip, pos, purchase, weekdays, ...
  std::set<std::string> weak_words;      // generic name words the matcher weighs lightly: services, group
  std::set<std::string> cities;          // city names (folded phrases) recognised at a descriptor's end
  std::set<std::string> stopwords;       // the, and, of, ...

  // The built-in table (see normalize_table.cpp). Fails only if the built-in document is broken.
  static Result<NormalizerTable> Defaults();

  // Extends the table with a JSON object of the same shape as the built-in one:
  //   {"aliases": {"amzn": "amazon", "fb": null},          // null removes an alias
  //    "processor_prefixes": ["SQ *", {"prefix": "AMZN Mktp", "merchant": "amazon"}],
  //    "legal_suffixes": [...], "noise_words": [...], "weak_words": [...], "cities": [...],
  //    "stopwords": [...]}
  // Every key is optional; an unknown key, a wrong type or an entry that folds to nothing is an Invalid
  // error naming it, and leaves the table unchanged.
  Status MergeJson(std::string_view json_text);
};

class Normalizer {
 public:
  explicit Normalizer(NormalizerTable table);

  Normalized Normalize(std::string_view text, TextKind kind) const;

  // Lower-case, accent-free form of `text` (UTF-8 aware); punctuation and spacing kept as they were.
  static std::string Fold(std::string_view text);

  bool IsWeakWord(std::string_view token) const { return table_.weak_words.count(std::string(token)) > 0; }
  const NormalizerTable& table() const { return table_; }

 private:
  void Tokenize(std::string_view text, TokenRole role, bool descriptor, bool domain_first_is_core,
                const char* origin, std::vector<Token>& out) const;
  // Returns the end of a stripped state code that directly followed the name (0 if none).
  size_t StripLocationTail(std::vector<Token>& tokens) const;
  void ApplyAliases(std::vector<Token>& tokens) const;
  void StripLegalSuffixes(std::vector<Token>& tokens) const;

  NormalizerTable table_;
  std::map<std::string, std::vector<std::string>> alias_tokens_;  // folded phrase -> replacement tokens
  size_t max_alias_words_ = 1;
  size_t max_city_words_ = 1;
};

// Splits folded text into words: runs of letters/digits (and non-ASCII bytes); used for table entries.
std::vector<std::string> SplitWords(std::string_view folded);

}  // namespace mlc::match

#endif  // MLC_HOST_MATCH_NORMALIZE_HPP_
