// The built-in normalization table (a JSON document, the same shape operators use to extend it) and the
// loader that validates and merges such documents.
#include <nlohmann/json.hpp>

#include "match/normalize.hpp"

namespace mlc::match {

namespace {

// Facts about card descriptors: which prefixes name a processor (Square `SQ *`, Toast `TST*`, PayPal,
// Shopify `SP *`) and which stand for the merchant itself (`AMZN Mktp`, `FACEBK *`, `DNH*` for GoDaddy).
constexpr const char* kBuiltinTable = R"json({
  "aliases": {
    "amzn": "amazon", "amzn mktp": "amazon", "amzn mktplace": "amazon", "amazon mktplace": "amazon",
    "amazon mktpl": "amazon", "amazon marketplace": "amazon", "amzn digital": "amazon digital",
    "aws": "amazon web services", "amazon aws": "amazon web services",
    "facebk": "meta", "facebook": "meta", "fb": "meta",
    "adwords": "google ads", "google adwords": "google ads", "goog": "google",
    "gsuite": "google workspace", "g suite": "google workspace",
    "msft": "microsoft", "msbill": "microsoft",
    "nytimes": "new york times", "nyt": "new york times", "wsj": "wall street journal",
    "sbux": "starbucks", "lnkd": "linkedin", "linked in": "linkedin",
    "dnh": "godaddy", "go daddy": "godaddy", "door dash": "doordash", "chatgpt": "openai",
    "wholefds": "whole foods", "whole fds": "whole foods", "costco whse": "costco", "amex": "american express",
    "delta air": "delta air lines", "delta airlines": "delta air lines", "delta air lines": "delta air lines",
    "american air": "american airlines", "united air": "united airlines", "alaska air": "alaska airlines",
    "air lines": "airlines", "airline": "airlines", "mkt": "market", "wrls": "wireless",
    "vzwrlss": "verizon wireless"
  },
  "processor_prefixes": [
    "SQ *", "TST*", "PAYPAL *", "PP*", "SP*", "CLV*", "WPY*", "IN *",
    {"prefix": "SQSP*", "merchant": "squarespace"},
    {"prefix": "AMZN Mktp", "merchant": "amazon"},
    {"prefix": "GOOGLE *", "merchant": "google"},
    {"prefix": "FACEBK *", "merchant": "meta"},
    {"prefix": "APL*", "merchant": "apple"},
    {"prefix": "MSFT *", "merchant": "microsoft"},
    {"prefix": "DNH*", "merchant": "godaddy"},
    {"prefix": "EB *", "merchant": "eventbrite"},
    {"prefix": "IC*", "merchant": "instacart"},
    {"prefix": "TM *", "merchant": "ticketmaster"}
  ],
  "legal_suffixes": [
    "inc", "incorporated", "llc", "ltd", "limited", "gmbh", "co", "corp", "corporation", "company", "plc",
    "sa", "bv", "pty", "ag", "nv", "lp", "llp", "pllc", "pc", "sarl", "srl", "sas", "oy", "ab", "kk", "pte",
    "bhd", "pvt"
  ],
  "noise_words": [
    "trip", "ride", "rides", "help", "pos", "purchase", "debit", "credit", "card", "recurring",
    "subscription", "subscr", "payment", "pymt", "pmt", "bill", "billing", "order", "orders", "ref", "txn",
    "auth", "pending", "online", "digital", "mktp", "mktpl", "marketplace", "us", "usa", "intl", "emea",
    "apac", "eu", "mon", "tue", "tues", "wed", "thu", "thur", "thurs", "fri", "sat", "sun", "www", "com",
    "inv", "invoice", "monthly", "annual", "renewal", "sq", "tst", "paypal", "store"
  ],
  "weak_words": [
    "company", "group", "services", "service", "solutions", "systems", "technologies", "technology", "tech",
    "software", "labs", "holdings", "international", "global", "worldwide", "enterprises", "industries",
    "partners", "associates", "platforms", "network", "networks", "media", "digital", "online", "hotel",
    "hotels", "resort", "resorts", "airlines", "airways", "lines", "communications", "restaurant", "usa", "us"
  ],
  "cities": [
    "san francisco", "new york", "los angeles", "chicago", "houston", "phoenix", "philadelphia",
    "san antonio", "san diego", "dallas", "austin", "san jose", "seattle", "denver", "boston", "portland",
    "atlanta", "miami", "washington", "nashville", "las vegas", "detroit", "minneapolis", "oakland",
    "brooklyn", "new orleans", "salt lake city", "pittsburgh", "baltimore", "orlando", "tampa", "charlotte",
    "raleigh", "st louis", "saint louis", "kansas city", "sacramento", "palo alto", "mountain view",
    "menlo park", "sunnyvale", "redwood city", "cambridge", "santa monica", "berkeley", "jersey city",
    "newark", "nyc", "long island city", "queens", "manhattan", "bellevue", "toronto", "vancouver",
    "london", "dublin", "amsterdam", "paris", "berlin", "sydney", "burlingame", "emeryville", "hoboken"
  ],
  "stopwords": ["the", "and", "of", "a", "an"]
})json";

std::string FoldPhrase(std::string_view text) {
  std::string out;
  for (const auto& w : SplitWords(Normalizer::Fold(text))) {
    if (!out.empty()) out += ' ';
    out += w;
  }
  return out;
}

// Folds a prefix pattern, keeping its punctuation and single spaces: "SQ  *" -> "sq *".
std::string FoldPattern(std::string_view text) {
  std::string folded = Normalizer::Fold(text);
  std::string out;
  for (char c : folded) {
    if (c == ' ' || c == '\t') {
      if (!out.empty() && out.back() != ' ') out += ' ';
    } else {
      out += c;
    }
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

Status MergeWordList(const nlohmann::json& value, std::string_view key, bool phrases,
                     std::set<std::string>& out) {
  if (!value.is_array()) return Status::Invalid(std::string(key) + ": expected an array of strings");
  for (size_t i = 0; i < value.size(); ++i) {
    const auto& v = value[i];
    const std::string where = std::string(key) + "[" + std::to_string(i) + "]";
    if (!v.is_string()) return Status::Invalid(where + ": expected a string");
    const std::string folded = FoldPhrase(v.get<std::string>());
    if (folded.empty())
      return Status::Invalid(where + ": '" + v.get<std::string>() + "' has no letters or digits");
    if (!phrases && folded.find(' ') != std::string::npos) {
      return Status::Invalid(where + ": '" + v.get<std::string>() + "' must be a single word");
    }
    out.insert(folded);
  }
  return Status::Ok();
}

}  // namespace

Result<NormalizerTable> NormalizerTable::Defaults() {
  NormalizerTable table;
  Status s = table.MergeJson(kBuiltinTable);
  if (!s.ok()) return s.Wrap("built-in normalization table");
  return table;
}

Status NormalizerTable::MergeJson(std::string_view json_text) {
  nlohmann::json doc = nlohmann::json::parse(json_text.begin(), json_text.end(), nullptr, false);
  if (doc.is_discarded()) return Status::Invalid("malformed JSON");
  if (!doc.is_object()) return Status::Invalid("expected a JSON object with keys such as \"aliases\"");
  NormalizerTable next = *this;
  for (const auto& [key, value] : doc.items()) {
    if (key == "aliases") {
      if (!value.is_object()) return Status::Invalid("aliases: expected an object of phrase -> phrase");
      for (const auto& [from, to] : value.items()) {
        const std::string from_folded = FoldPhrase(from);
        if (from_folded.empty()) return Status::Invalid("aliases: '" + from + "' has no letters or digits");
        if (to.is_null()) {
          next.aliases.erase(from_folded);
        } else if (to.is_string()) {
          // An empty replacement deletes the phrase from names (e.g. a filler word of one card issuer).
          next.aliases[from_folded] = FoldPhrase(to.get<std::string>());
        } else {
          return Status::Invalid("aliases['" + from + "']: expected a string or null");
        }
      }
    } else if (key == "processor_prefixes") {
      if (!value.is_array()) return Status::Invalid("processor_prefixes: expected an array");
      for (size_t i = 0; i < value.size(); ++i) {
        const auto& v = value[i];
        const std::string where = "processor_prefixes[" + std::to_string(i) + "]";
        ProcessorPrefix p;
        if (v.is_string()) {
          p.pattern = FoldPattern(v.get<std::string>());
        } else if (v.is_object()) {
          for (const auto& [k, _] : v.items()) {
            if (k != "prefix" && k != "merchant") return Status::Invalid(where + ": unknown key '" + k + "'");
          }
          auto pit = v.find("prefix");
          if (pit == v.end() || !pit->is_string())
            return Status::Invalid(where + ": 'prefix' must be a string");
          p.pattern = FoldPattern(pit->get<std::string>());
          auto mit = v.find("merchant");
          if (mit != v.end()) {
            if (!mit->is_string()) return Status::Invalid(where + ": 'merchant' must be a string");
            p.merchant = FoldPhrase(mit->get<std::string>());
            if (p.merchant.empty()) return Status::Invalid(where + ": 'merchant' has no letters or digits");
          }
        } else {
          return Status::Invalid(where + ": expected a string or {\"prefix\", \"merchant\"}");
        }
        if (SplitWords(p.pattern).empty())
          return Status::Invalid(where + ": the prefix has no letters or digits");
        bool replaced = false;
        for (auto& existing : next.processor_prefixes) {
          if (existing.pattern == p.pattern) {
            existing = p;
            replaced = true;
          }
        }
        if (!replaced) next.processor_prefixes.push_back(std::move(p));
      }
    } else if (key == "legal_suffixes") {
      MLC_RETURN_IF_ERROR(MergeWordList(value, key, false, next.legal_suffixes));
    } else if (key == "noise_words") {
      MLC_RETURN_IF_ERROR(MergeWordList(value, key, false, next.noise_words));
    } else if (key == "weak_words") {
      MLC_RETURN_IF_ERROR(MergeWordList(value, key, false, next.weak_words));
    } else if (key == "stopwords") {
      MLC_RETURN_IF_ERROR(MergeWordList(value, key, false, next.stopwords));
    } else if (key == "cities") {
      MLC_RETURN_IF_ERROR(MergeWordList(value, key, true, next.cities));
    } else {
      return Status::Invalid(
          "unknown key '" + key +
          "' (expected aliases, processor_prefixes, legal_suffixes, noise_words, weak_words, "
          "cities, stopwords)");
    }
  }
  *this = std::move(next);
  return Status::Ok();
}

}  // namespace mlc::match
