// Tests for descriptor and vendor-name normalization: a table of descriptors and their canonical forms, token
// roles, UTF-8 folding, and the operator-extensible table (MergeJson) with its error messages.
#include "match/normalize.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

namespace mlc::match {
namespace {

using ::testing::HasSubstr;

Normalizer DefaultNormalizer() {
  auto table = NormalizerTable::Defaults();
  EXPECT_TRUE(table.ok()) << table.status().ToString();
  return Normalizer(table.ok() ? *table : NormalizerTable{});
}

// "text:role" for each token, e.g. "uber:core trip:noise".
std::string Roles(const Normalized& n) {
  std::string out;
  for (const auto& t : n.tokens) {
    if (!out.empty()) out += ' ';
    out += t.text + ":" + std::string(TokenRoleName(t.role));
  }
  return out;
}

struct DescriptorCase {
  const char* descriptor;
  const char* canonical;
};

TEST(Normalize, DescriptorTable) {
  const Normalizer norm = DefaultNormalizer();
  const std::vector<DescriptorCase> cases = {
      {"SQ *BLUE BOTTLE COFFEE", "blue bottle coffee"},         // Square prefix
      {"SQ*BLUE BOTTLE COFFEE", "blue bottle coffee"},          // no space before the star
      {"AMZN Mktp US*2K4LR0QX2", "amazon"},                     // brand prefix, reference code
      {"UBER   *TRIP HELP.UBER.COM", "uber"},                   // noise word, domain hint merged
      {"FACEBK *ADS 7J3KQ2", "meta ads"},                       // alias, code dropped
      {"GOOGLE *ADS1234567", "google ads"},                     // letters kept before a long number
      {"PAYPAL *SPOTIFY", "spotify"},                           // processor only
      {"PP*SPOTIFY", "spotify"},                                //
      {"TST* JOE'S PIZZA 123", "joes pizza"},                   // Toast prefix, apostrophe, store number
      {"DELTA AIR 0062345678901", "delta air lines"},           // ticket number, alias
      {"MARRIOTT SAN FRANCISCO CA", "marriott san francisco"},  // state dropped, city kept as location
      {"LYFT   *RIDE TUE 7PM", "lyft"},                         // weekday, time
      {"AWS EMEA aws.amazon.co", "amazon web services"},        // alias, region noise, domain hint
      {"UBER *EATS", "uber eats"},                              //
      {"GITHUB, INC.", "github"},                               // legal suffix, punctuation
      {"NYTIMES*DIGITAL 800-698-4637 NY", "new york times"},    // phone, state, alias
      {"ACME L.L.C.", "acme"},                                  // dotted legal suffix
      {"Acme Widgets GmbH", "acme widgets"},                    //
      {"THE HOME DEPOT #0123", "home depot"},                   // stopword, store number
      {"APPLE.COM/BILL 866-712-7753 CA", "apple"},              // domain first is the name
      {"7-ELEVEN 32184", "7 eleven"},                           // a short number opening the name stays
      {"FOREVER 21 #1234", "forever"},                          // a short number after it is noise
      {"STARBUCKS STORE 12345", "starbucks"},                   //
      {"HILTON GARDEN INN NEW YORK NY", "hilton garden inn new york"},
      {"CALL 1-800-555-0100 ACME", "call acme"},  // a phone number with a country code
      {"(415) 555-0100 ACME", "acme"},            //
      {"AT&T*BILL PAYMENT", "att"},               // '&' inside a word joins it
      {"#1234 0062345678901", ""},                // nothing left
      {"", ""},
      {"   ", ""},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(norm.Normalize(c.descriptor, TextKind::kDescriptor).canonical, c.canonical) << c.descriptor;
  }
}

TEST(Normalize, DescriptorRoles) {
  const Normalizer norm = DefaultNormalizer();
  EXPECT_EQ(Roles(norm.Normalize("UBER   *TRIP HELP.UBER.COM", TextKind::kDescriptor)),
            "uber:core trip:noise");
  EXPECT_EQ(Roles(norm.Normalize("ADOBE *CREATIVE CLOUD", TextKind::kDescriptor)),
            "adobe:core creative:detail cloud:detail");
  EXPECT_EQ(Roles(norm.Normalize("MARRIOTT SAN FRANCISCO CA", TextKind::kDescriptor)),
            "marriott:core san:location francisco:location");
  EXPECT_EQ(Roles(norm.Normalize("ACME TOOLS WWW.ACMETOOLS.IO", TextKind::kDescriptor)),
            "acme:core tools:core acmetools:hint");
  EXPECT_EQ(Roles(norm.Normalize("AMZN Mktp US*2K4LR0QX2", TextKind::kDescriptor)), "amazon:core us:noise");
  // The processor alone is the merchant.
  EXPECT_EQ(Roles(norm.Normalize("PAYPAL *", TextKind::kDescriptor)), "paypal:core");
  // Nothing before the star: what follows is the name.
  EXPECT_EQ(Roles(norm.Normalize("*4421 ACME", TextKind::kDescriptor)), "acme:core");
  const Normalized n = norm.Normalize("ADOBE *CREATIVE CLOUD", TextKind::kDescriptor);
  EXPECT_EQ(n.core, "adobe");
}

TEST(Normalize, StateCodeNeedsANameBeforeIt) {
  const Normalizer norm = DefaultNormalizer();
  // A lone two-letter word is the name, not a state.
  EXPECT_EQ(norm.Normalize("CO", TextKind::kDescriptor).canonical, "co");
  // A city alone is the name too.
  EXPECT_EQ(Roles(norm.Normalize("CHICAGO", TextKind::kDescriptor)), "chicago:core");
}

TEST(Normalize, VendorNamesKeepDigitsAndCities) {
  const Normalizer norm = DefaultNormalizer();
  EXPECT_EQ(norm.Normalize("Motel 6", TextKind::kVendorName).canonical, "motel 6");
  EXPECT_EQ(norm.Normalize("Forever 21, Inc.", TextKind::kVendorName).canonical, "forever 21");
  EXPECT_EQ(norm.Normalize("San Francisco Chronicle", TextKind::kVendorName).canonical,
            "san francisco chronicle");
  EXPECT_EQ(norm.Normalize("Amazon Web Services, Inc.", TextKind::kVendorName).canonical,
            "amazon web services");
  EXPECT_EQ(norm.Normalize("AWS", TextKind::kVendorName).canonical, "amazon web services");
  EXPECT_EQ(norm.Normalize("Facebook", TextKind::kVendorName).canonical, "meta");
  EXPECT_EQ(norm.Normalize("monday.com Ltd.", TextKind::kVendorName).canonical, "monday");
  EXPECT_EQ(norm.Normalize("The New York Times Company", TextKind::kVendorName).canonical, "new york times");
  EXPECT_EQ(norm.Normalize("Delta Air Lines, Inc.", TextKind::kVendorName).canonical, "delta air lines");
  // A legal suffix is only stripped when something remains.
  EXPECT_EQ(norm.Normalize("Co", TextKind::kVendorName).canonical, "co");
  // SQ * is not a prefix of a vendor's name.
  EXPECT_EQ(norm.Normalize("SQ *Studio", TextKind::kVendorName).canonical, "sq studio");
}

TEST(Normalize, FoldsLatinAccentsAndKeepsOtherScripts) {
  EXPECT_EQ(Normalizer::Fold("CAFÉ Crème"), "cafe creme");
  EXPECT_EQ(Normalizer::Fold("Müller Straße"), "muller strasse");
  EXPECT_EQ(Normalizer::Fold("ÆØÅ æøå Œuvre ÿ Þór"), "aeoa aeoa oeuvre y thor");
  EXPECT_EQ(Normalizer::Fold("Łódź Żółć Šťastný Ğüneş İstanbul"), "lodz zolc stastny gunes istanbul");
  EXPECT_EQ(Normalizer::Fold("Ĳssel ŉ ſ"), "ijssel n s");
  EXPECT_EQ(Normalizer::Fold("Cafe\xCC\x81"), "cafe");       // decomposed e + combining acute
  EXPECT_EQ(Normalizer::Fold("Joe\xE2\x80\x99s"), "joe's");  // typographic apostrophe
  EXPECT_EQ(Normalizer::Fold("A\xC2\xA0"
                             "B"),
            "a b");                                 // no-break space
  EXPECT_EQ(Normalizer::Fold("Москва"), "Москва");  // kept, not mangled
  EXPECT_EQ(Normalizer::Fold("bad\xFF\xC3"
                             "byte"),
            "bad  byte");  // invalid bytes become separators
  const Normalizer norm = DefaultNormalizer();
  EXPECT_EQ(norm.Normalize("SOCIÉTÉ GÉNÉRALE S.A.", TextKind::kVendorName).canonical, "societe generale");
  EXPECT_EQ(norm.Normalize("MÜLLER GMBH BERLIN", TextKind::kDescriptor).canonical, "muller berlin");
}

TEST(Normalize, ArbitraryBytesNeverBreakIt) {
  // Descriptors come from card networks and vendors: any bytes must give a well-formed result.
  const Normalizer norm = DefaultNormalizer();
  uint64_t state = 12345;
  auto next = [&] {
    state = state * 6364136223846793005ull + 1442695040888963407ull;
    return static_cast<uint32_t>(state >> 33);
  };
  const std::string alphabet = "AZaz09 *#.-/&'()+,SQTP\xC3\xA9\xC5\x81\xE2\x80\x99\xFF\xCC\x81";
  for (int i = 0; i < 3000; ++i) {
    std::string text;
    const size_t len = next() % 40;
    for (size_t k = 0; k < len; ++k) {
      text += (next() % 4 == 0) ? static_cast<char>(next() % 256) : alphabet[next() % alphabet.size()];
    }
    for (TextKind kind : {TextKind::kDescriptor, TextKind::kVendorName}) {
      const Normalized n = norm.Normalize(text, kind);
      EXPECT_EQ(n.canonical.find("  "), std::string::npos) << text;
      EXPECT_TRUE(n.canonical.empty() || (n.canonical.front() != ' ' && n.canonical.back() != ' ')) << text;
      for (const auto& t : n.tokens) EXPECT_FALSE(t.text.empty()) << text;
    }
  }
}

TEST(NormalizerTable, DefaultsParse) {
  auto table = NormalizerTable::Defaults();
  ASSERT_TRUE(table.ok()) << table.status().ToString();
  EXPECT_EQ(table->aliases.at("amzn"), "amazon");
  EXPECT_EQ(table->aliases.at("aws"), "amazon web services");
  EXPECT_TRUE(table->legal_suffixes.count("gmbh"));
  EXPECT_TRUE(table->cities.count("san francisco"));
  bool has_square = false;
  for (const auto& p : table->processor_prefixes) has_square = has_square || p.pattern == "sq *";
  EXPECT_TRUE(has_square);
}

TEST(NormalizerTable, OperatorExtensions) {
  auto table = NormalizerTable::Defaults();
  ASSERT_TRUE(table.ok());
  ASSERT_TRUE(table
                  ->MergeJson(R"({
    "aliases": {"BBC": "Blue Bottle Coffee", "fb": null, "ZZ FILLER": ""},
    "processor_prefixes": ["XP *", {"prefix": "ACMEPAY*", "merchant": "Acme Pay"}],
    "noise_words": ["Tasting"],
    "cities": ["Walnut Creek"],
    "legal_suffixes": ["KG"]
  })")
                  .ok());
  EXPECT_FALSE(table->aliases.count("fb"));  // null removed it
  const Normalizer norm(*table);
  EXPECT_EQ(norm.Normalize("SQ *BBC", TextKind::kDescriptor).canonical, "blue bottle coffee");
  EXPECT_EQ(norm.Normalize("FB ADS", TextKind::kDescriptor).canonical, "fb ads");
  EXPECT_EQ(norm.Normalize("ACME ZZ FILLER TOOLS", TextKind::kDescriptor).canonical, "acme tools");
  EXPECT_EQ(norm.Normalize("XP *JOES DINER", TextKind::kDescriptor).canonical, "joes diner");
  EXPECT_EQ(Roles(norm.Normalize("ACMEPAY* ORDER 55", TextKind::kDescriptor)),
            "acme:core pay:core order:noise 55:noise");
  EXPECT_EQ(Roles(norm.Normalize("WINERY TASTING WALNUT CREEK CA", TextKind::kDescriptor)),
            "winery:core tasting:noise walnut:location creek:location");
  EXPECT_EQ(norm.Normalize("Schmidt KG", TextKind::kVendorName).canonical, "schmidt");
}

TEST(NormalizerTable, BadExtensionsAreRefusedWithReasonAndChangeNothing) {
  auto table = NormalizerTable::Defaults();
  ASSERT_TRUE(table.ok());
  const size_t aliases_before = table->aliases.size();
  struct Bad {
    const char* json;
    const char* message;
  };
  const std::vector<Bad> bad = {
      {"{", "malformed JSON"},
      {"[]", "expected a JSON object"},
      {R"({"alias": {}})", "unknown key 'alias'"},
      {R"({"aliases": ["x"]})", "aliases: expected an object"},
      {R"({"aliases": {"ok": "fine", "x": 3}})", "aliases['x']: expected a string or null"},
      {R"({"aliases": {"!!": "x"}})", "'!!' has no letters or digits"},
      {R"({"noise_words": "trip"})", "noise_words: expected an array of strings"},
      {R"({"noise_words": ["two words"]})", "noise_words[0]: 'two words' must be a single word"},
      {R"({"cities": [1]})", "cities[0]: expected a string"},
      {R"({"processor_prefixes": [{"merchant": "x"}]})", "processor_prefixes[0]: 'prefix' must be a string"},
      {R"({"processor_prefixes": [{"prefix": "X*", "what": 1}]})",
       "processor_prefixes[0]: unknown key 'what'"},
      {R"({"processor_prefixes": ["**"]})", "processor_prefixes[0]: the prefix has no letters or digits"},
  };
  for (const auto& b : bad) {
    Status s = table->MergeJson(b.json);
    ASSERT_FALSE(s.ok()) << b.json;
    EXPECT_EQ(s.code(), Code::kInvalid) << b.json;
    EXPECT_THAT(s.message(), HasSubstr(b.message)) << b.json;
  }
  EXPECT_EQ(table->aliases.size(), aliases_before);
  EXPECT_FALSE(table->aliases.count("ok"));  // the half-valid document left nothing behind
}

}  // namespace
}  // namespace mlc::match
