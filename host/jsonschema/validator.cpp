// The JSON Schema validator behind validator.hpp: schemas are compiled once into a graph of Nodes (regexes
// built, $refs linked), then documents are checked against that graph without touching the schema JSON.
#include "jsonschema/validator.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdint>
#include <deque>
#include <exception>
#include <optional>
#include <regex>
#include <string_view>
#include <utility>

namespace mlc::jsonschema {

namespace {

using nlohmann::json;

// How many schema evaluations may nest (each subschema, $ref hop and instance level counts one). Real
// schemas stay far below; the limit stops `{"$ref": "#"}` loops and pathologically deep documents.
constexpr int kMaxEvalDepth = 128;
// How deeply a schema document itself may nest before compilation gives up.
constexpr int kMaxCompileDepth = 128;
// libstdc++'s std::regex matcher recurses once per input character, so a long subject can overflow the
// stack. Strings longer than this are reported instead of matched; every pattern in our schemas is
// applied to short codes, names and URLs.
constexpr size_t kMaxPatternSubjectBytes = 1024;
// Subschema checks one Validate call may make. A 10 MB canonical batch needs far fewer; the cap stops
// schemas whose combinators multiply the work.
constexpr uint64_t kMaxEvalSteps = 1'000'000;
// Errors collected per alternative of anyOf/oneOf, to report the closest one.
constexpr size_t kBranchErrorCap = 8;

enum TypeBit : uint8_t {
  kNullBit = 1,
  kBooleanBit = 2,
  kIntegerBit = 4,
  kNumberBit = 8,  // any number, integer or not
  kStringBit = 16,
  kArrayBit = 32,
  kObjectBit = 64,
};

enum class Format { kNone, kDate, kDateTime, kTime, kUri, kEmail, kUuid };

struct Pattern {
  std::string source;
  std::regex re;
};

struct Document;

// One compiled (sub)schema. Only the keywords present are set.
struct Node {
  Document* doc = nullptr;
  std::string pointer;  // where the schema sits in its document (for error reports)

  int boolean_schema = -1;  // -1: an object schema; 0: `false`; 1: `true`

  std::string ref;  // the $ref text, when present
  const Node* ref_target = nullptr;

  uint8_t types = 0;  // 0: no "type" keyword
  std::optional<json> const_value;
  std::optional<std::vector<json>> enum_values;

  // Numbers.
  std::optional<json> minimum, maximum, exclusive_minimum, exclusive_maximum, multiple_of;
  // Strings.
  std::optional<uint64_t> min_length, max_length;
  std::optional<Pattern> pattern;
  Format format = Format::kNone;
  std::string format_name;
  // Arrays.
  std::vector<const Node*> prefix_items;
  const Node* items = nullptr;
  const Node* contains = nullptr;
  uint64_t min_contains = 1;
  std::optional<uint64_t> max_contains;
  std::optional<uint64_t> min_items, max_items;
  bool unique_items = false;
  // Objects.
  std::vector<std::pair<std::string, const Node*>> properties;  // sorted by name
  std::vector<std::pair<Pattern, const Node*>> pattern_properties;
  const Node* additional_properties = nullptr;
  const Node* property_names = nullptr;
  std::vector<std::string> required;
  std::vector<std::pair<std::string, std::vector<std::string>>> dependent_required;
  std::optional<uint64_t> min_properties, max_properties;
  // Combinators.
  std::vector<const Node*> all_of, any_of, one_of;
  const Node* not_schema = nullptr;
  const Node* if_schema = nullptr;
  const Node* then_schema = nullptr;
  const Node* else_schema = nullptr;

  const Node* FindProperty(const std::string& name) const {
    auto it = std::lower_bound(properties.begin(), properties.end(), name,
                               [](const auto& p, const std::string& n) { return p.first < n; });
    return (it != properties.end() && it->first == name) ? it->second : nullptr;
  }
};

// A schema document: the main schema or one added by AddReferencedSchema.
struct Document {
  std::string id;  // its $id without fragment ("" when it has none)
  json schema;
  std::map<std::string, Node*> nodes;    // JSON Pointer -> compiled node
  std::map<std::string, Node*> anchors;  // $anchor -> compiled node
};

// A $ref that names a document not registered yet; retried on every AddReferencedSchema.
struct PendingRef {
  Node* node;
};

std::string EscapePointerToken(std::string_view token) {
  std::string out;
  out.reserve(token.size());
  for (char c : token) {
    if (c == '~') {
      out += "~0";
    } else if (c == '/') {
      out += "~1";
    } else {
      out += c;
    }
  }
  return out;
}

std::string PercentDecode(std::string_view s) {
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && hex(s[i + 1]) >= 0 && hex(s[i + 2]) >= 0) {
      out += static_cast<char>(hex(s[i + 1]) * 16 + hex(s[i + 2]));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

bool HasScheme(std::string_view uri) {
  size_t colon = uri.find(':');
  if (colon == std::string_view::npos || colon == 0) return false;
  for (size_t i = 0; i < colon; ++i) {
    char c = uri[i];
    bool ok = std::isalpha(static_cast<unsigned char>(c)) ||
              (i > 0 && (std::isdigit(static_cast<unsigned char>(c)) || c == '+' || c == '-' || c == '.'));
    if (!ok) return false;
  }
  return true;
}

// Resolves a reference's document part against the base $id of the document it appears in. Enough of
// RFC 3986 for the schemas here: absolute URIs, "/abs/path" and "sibling.json" forms.
std::string ResolveUri(const std::string& base, const std::string& ref) {
  if (ref.empty()) return base;
  if (HasScheme(ref) || base.empty()) return ref;
  if (ref[0] == '/') {
    size_t scheme_end = base.find("://");
    if (scheme_end == std::string::npos) return ref;
    size_t path_start = base.find('/', scheme_end + 3);
    return (path_start == std::string::npos ? base : base.substr(0, path_start)) + ref;
  }
  size_t slash = base.rfind('/');
  return (slash == std::string::npos ? std::string() : base.substr(0, slash + 1)) + ref;
}

std::string TypeNameOf(const json& v) {
  switch (v.type()) {
    case json::value_t::null:
      return "null";
    case json::value_t::boolean:
      return "boolean";
    case json::value_t::number_integer:
    case json::value_t::number_unsigned:
    case json::value_t::number_float:
      return "number";
    case json::value_t::string:
      return "string";
    case json::value_t::array:
      return "array";
    case json::value_t::object:
      return "object";
    default:
      return "binary";
  }
}

uint8_t TypeBitFromName(std::string_view name) {
  if (name == "null") return kNullBit;
  if (name == "boolean") return kBooleanBit;
  if (name == "integer") return kIntegerBit;
  if (name == "number") return kNumberBit;
  if (name == "string") return kStringBit;
  if (name == "array") return kArrayBit;
  if (name == "object") return kObjectBit;
  return 0;
}

bool TypeMatches(uint8_t types, const json& v) {
  switch (v.type()) {
    case json::value_t::null:
      return types & kNullBit;
    case json::value_t::boolean:
      return types & kBooleanBit;
    case json::value_t::number_integer:
    case json::value_t::number_unsigned:
      return types & (kIntegerBit | kNumberBit);
    // Only JSON integers are integers: 3.0 is a number, never an integer (see validator.hpp).
    case json::value_t::number_float:
      return types & kNumberBit;
    case json::value_t::string:
      return types & kStringBit;
    case json::value_t::array:
      return types & kArrayBit;
    case json::value_t::object:
      return types & kObjectBit;
    default:
      return false;
  }
}

std::string TypeListText(uint8_t types) {
  static const std::pair<uint8_t, const char*> kNames[] = {
      {kStringBit, "string"}, {kIntegerBit, "integer"}, {kNumberBit, "number"}, {kBooleanBit, "boolean"},
      {kObjectBit, "object"}, {kArrayBit, "array"},     {kNullBit, "null"}};
  std::string out;
  for (const auto& [bit, name] : kNames) {
    if (!(types & bit)) continue;
    if (!out.empty()) out += " or ";
    out += name;
  }
  return out;
}

// A schema value as it should appear in a message: strings bare, everything else as compact JSON.
std::string ValueText(const json& v) {
  if (v.is_string()) return v.get_ref<const std::string&>();
  return v.dump(-1, ' ', false, json::error_handler_t::replace);
}

// Exact comparison of two JSON numbers: -1, 0 or 1. Integers compare exactly; anything involving a
// float compares as long double (which represents every int64 exactly).
int CompareNumbers(const json& a, const json& b) {
  if (a.is_number_integer() && b.is_number_integer()) {
    bool a_neg = a.is_number_unsigned() ? false : a.get<int64_t>() < 0;
    bool b_neg = b.is_number_unsigned() ? false : b.get<int64_t>() < 0;
    if (a_neg != b_neg) return a_neg ? -1 : 1;
    if (a_neg) {
      int64_t x = a.get<int64_t>(), y = b.get<int64_t>();
      return x < y ? -1 : (x > y ? 1 : 0);
    }
    uint64_t x = a.get<uint64_t>(), y = b.get<uint64_t>();
    return x < y ? -1 : (x > y ? 1 : 0);
  }
  long double x = a.is_number_float()      ? a.get<double>()
                  : a.is_number_unsigned() ? static_cast<long double>(a.get<uint64_t>())
                                           : static_cast<long double>(a.get<int64_t>());
  long double y = b.is_number_float()      ? b.get<double>()
                  : b.is_number_unsigned() ? static_cast<long double>(b.get<uint64_t>())
                                           : static_cast<long double>(b.get<int64_t>());
  return x < y ? -1 : (x > y ? 1 : 0);
}

bool IsMultipleOf(const json& value, const json& divisor) {
  if (value.is_number_integer() && divisor.is_number_integer()) {
    // divisor > 0 is checked at compile time.
    if (value.is_number_unsigned() || divisor.is_number_unsigned()) {
      if (!value.is_number_unsigned() && value.get<int64_t>() < 0) {
        // |negative int64| fits in uint64.
        uint64_t magnitude = static_cast<uint64_t>(-(value.get<int64_t>() + 1)) + 1;
        return magnitude % divisor.get<uint64_t>() == 0;
      }
      return value.get<uint64_t>() % divisor.get<uint64_t>() == 0;
    }
    return value.get<int64_t>() % divisor.get<int64_t>() == 0;
  }
  long double v = value.get<double>(), d = divisor.get<double>();
  long double q = v / d;
  if (!std::isfinite(static_cast<double>(q))) return false;
  return std::fabs(static_cast<double>(q - std::round(static_cast<double>(q)))) < 1e-9;
}

size_t CodePointCount(const std::string& s) {
  size_t n = 0;
  for (unsigned char c : s) {
    if ((c & 0xC0) != 0x80) ++n;
  }
  return n;
}

bool Digits(std::string_view s, size_t pos, size_t count, int* out) {
  if (pos + count > s.size()) return false;
  int v = 0;
  for (size_t i = pos; i < pos + count; ++i) {
    if (!std::isdigit(static_cast<unsigned char>(s[i]))) return false;
    v = v * 10 + (s[i] - '0');
  }
  *out = v;
  return true;
}

// RFC 3339 full-date: YYYY-MM-DD with a real day of that month.
bool IsDate(std::string_view s) {
  int y = 0, m = 0, d = 0;
  if (s.size() != 10 || s[4] != '-' || s[7] != '-') return false;
  if (!Digits(s, 0, 4, &y) || !Digits(s, 5, 2, &m) || !Digits(s, 8, 2, &d)) return false;
  if (m < 1 || m > 12 || d < 1) return false;
  static const int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  int max_day = (m == 2 && leap) ? 29 : kDays[m - 1];
  return d <= max_day;
}

// RFC 3339 full-time: HH:MM:SS[.frac](Z|+HH:MM|-HH:MM).
bool IsTime(std::string_view s) {
  int h = 0, mi = 0, sec = 0;
  if (s.size() < 9 || s[2] != ':' || s[5] != ':') return false;
  if (!Digits(s, 0, 2, &h) || !Digits(s, 3, 2, &mi) || !Digits(s, 6, 2, &sec)) return false;
  if (h > 23 || mi > 59 || sec > 60) return false;
  size_t i = 8;
  if (i < s.size() && s[i] == '.') {
    size_t start = ++i;
    while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i;
    if (i == start) return false;
  }
  if (i >= s.size()) return false;  // an offset is required
  if ((s[i] == 'Z' || s[i] == 'z') && i + 1 == s.size()) return true;
  if (s[i] != '+' && s[i] != '-') return false;
  int oh = 0, om = 0;
  return s.size() == i + 6 && s[i + 3] == ':' && Digits(s, i + 1, 2, &oh) && Digits(s, i + 4, 2, &om) &&
         oh <= 23 && om <= 59;
}

bool IsDateTime(std::string_view s) {
  if (s.size() < 11 || (s[10] != 'T' && s[10] != 't')) return false;
  return IsDate(s.substr(0, 10)) && IsTime(s.substr(11));
}

// An absolute URI: a scheme, ':', and at least one more character, none of them space or control.
bool IsUri(std::string_view s) {
  if (!HasScheme(s)) return false;
  if (s.find(':') + 1 >= s.size()) return false;
  return std::none_of(s.begin(), s.end(), [](char c) {
    unsigned char u = static_cast<unsigned char>(c);
    return u <= 0x20 || u == 0x7F || c == '"' || c == '<' || c == '>' || c == '\\' || c == '^' || c == '`' ||
           c == '{' || c == '|' || c == '}';
  });
}

bool IsEmail(std::string_view s) {
  size_t at = s.find('@');
  if (at == std::string_view::npos || at == 0 || at + 1 >= s.size()) return false;
  if (s.find('@', at + 1) != std::string_view::npos) return false;
  std::string_view domain = s.substr(at + 1);
  if (domain.front() == '.' || domain.back() == '.' || domain.find("..") != std::string_view::npos)
    return false;
  return std::none_of(s.begin(), s.end(), [](char c) { return static_cast<unsigned char>(c) <= 0x20; });
}

bool IsUuid(std::string_view s) {
  if (s.size() != 36) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (s[i] != '-') return false;
    } else if (!std::isxdigit(static_cast<unsigned char>(s[i]))) {
      return false;
    }
  }
  return true;
}

std::optional<Format> FormatFromName(std::string_view name) {
  if (name == "date") return Format::kDate;
  if (name == "date-time") return Format::kDateTime;
  if (name == "time") return Format::kTime;
  if (name == "uri") return Format::kUri;
  if (name == "email") return Format::kEmail;
  if (name == "uuid") return Format::kUuid;
  return std::nullopt;
}

bool FormatMatches(Format f, const std::string& s) {
  switch (f) {
    case Format::kNone:
      return true;
    case Format::kDate:
      return IsDate(s);
    case Format::kDateTime:
      return IsDateTime(s);
    case Format::kTime:
      return IsTime(s);
    case Format::kUri:
      return IsUri(s);
    case Format::kEmail:
      return IsEmail(s);
    case Format::kUuid:
      return IsUuid(s);
  }
  return true;
}

std::string FormatMessage(Format f) {
  switch (f) {
    case Format::kDate:
      return "must be a date (YYYY-MM-DD)";
    case Format::kDateTime:
      return "must be a date-time with a zone offset (e.g. 2024-05-01T12:00:00Z)";
    case Format::kTime:
      return "must be a time with a zone offset (e.g. 12:00:00Z)";
    case Format::kUri:
      return "must be an absolute URI (e.g. https://example.com/path)";
    case Format::kEmail:
      return "must be an email address";
    case Format::kUuid:
      return "must be a UUID (8-4-4-4-12 hex digits)";
    case Format::kNone:
      break;
  }
  return "has an invalid format";
}

// Keywords whose meaning this validator does not implement. Ignoring them would silently accept documents
// the schema author meant to reject, so a schema using them does not compile.
constexpr std::string_view kUnsupportedKeywords[] = {
    "unevaluatedProperties", "unevaluatedItems", "dependentSchemas", "dependencies",    "additionalItems",
    "$dynamicRef",           "$recursiveRef",    "$dynamicAnchor",   "$recursiveAnchor"};

// Depth of a JSON value, counted iteratively so a hostile document cannot overflow the stack here.
bool DepthAtMost(const json& root, size_t limit) {
  std::vector<std::pair<const json*, size_t>> stack{{&root, 1}};
  while (!stack.empty()) {
    auto [v, depth] = stack.back();
    stack.pop_back();
    if (depth > limit) return false;
    if (v->is_structured()) {
      for (const auto& child : *v) stack.emplace_back(&child, depth + 1);
    }
  }
  return true;
}

// Work shared by one Validate call and all its nested evaluations. Hitting a limit aborts the whole call:
// with `anyOf: [{"$ref": "#"}, {"$ref": "#"}]` each level would otherwise retry the failure two ways,
// and the work would grow exponentially with the depth limit.
struct EvalBudget {
  uint64_t steps = 0;
  bool aborted = false;
  ValidationError reason;
};

class ErrorSink {
 public:
  ErrorSink(std::vector<ValidationError>* out, size_t max, EvalBudget* budget)
      : out_(out), max_(max == 0 ? 1 : max), budget_(budget) {}
  // A sink for a nested evaluation whose errors are only consulted (anyOf branches, not, if).
  ErrorSink Nested(std::vector<ValidationError>* out, size_t max) const { return {out, max, budget_}; }
  bool full() const { return out_->size() >= max_ || budget_->aborted; }
  void Add(const std::string& path, std::string message, std::string unknown_property = {}) {
    if (!full()) out_->push_back({path, std::move(message), std::move(unknown_property)});
  }
  EvalBudget& budget() const { return *budget_; }

 private:
  std::vector<ValidationError>* out_;
  size_t max_;
  EvalBudget* budget_;
};

}  // namespace

struct Validator::Impl {
  std::deque<Document> documents;  // deque: Node::doc pointers stay valid as documents are added
  std::deque<Node> nodes;
  std::vector<PendingRef> pending;  // $refs to documents not registered yet
  std::vector<std::string> compile_errors;

  // ---- compilation ----

  std::string Where(const Document& doc, const std::string& pointer) const { return doc.id + "#" + pointer; }

  void CompileError(const Document& doc, const std::string& pointer, const std::string& what) {
    compile_errors.push_back(what + " (at " + Where(doc, pointer) + ")");
  }

  Document& AddDocument(json schema) {
    Document& doc = documents.emplace_back();
    if (schema.is_object()) {
      auto it = schema.find("$id");
      if (it != schema.end() && it->is_string()) {
        std::string id = it->get<std::string>();
        doc.id = id.substr(0, id.find('#'));
      }
    }
    doc.schema = std::move(schema);
    return doc;
  }

  std::optional<uint64_t> NonNegative(const Document& doc, const std::string& ptr, const json& s,
                                      const char* key) {
    auto it = s.find(key);
    if (it == s.end()) return std::nullopt;
    if (!it->is_number_integer() || (!it->is_number_unsigned() && it->get<int64_t>() < 0)) {
      CompileError(doc, ptr, std::string("'") + key + "' must be a non-negative integer");
      return std::nullopt;
    }
    return it->get<uint64_t>();
  }

  std::optional<json> NumberKeyword(const Document& doc, const std::string& ptr, const json& s,
                                    const char* key) {
    auto it = s.find(key);
    if (it == s.end()) return std::nullopt;
    if (!it->is_number()) {
      CompileError(doc, ptr, std::string("'") + key + "' must be a number");
      return std::nullopt;
    }
    return *it;
  }

  std::optional<Pattern> CompilePattern(const Document& doc, const std::string& ptr, const json& value,
                                        const char* key) {
    if (!value.is_string()) {
      CompileError(doc, ptr, std::string("'") + key + "' must be a string");
      return std::nullopt;
    }
    try {
      return Pattern{value.get<std::string>(), std::regex(value.get<std::string>(), std::regex::ECMAScript)};
    } catch (const std::regex_error& e) {
      CompileError(doc, ptr, "pattern '" + value.get<std::string>() + "' is not a valid regular expression");
      return std::nullopt;
    }
  }

  std::vector<const Node*> CompileList(Document& doc, const std::string& ptr, const json& s, const char* key,
                                       int depth) {
    std::vector<const Node*> out;
    auto it = s.find(key);
    if (it == s.end()) return out;
    if (!it->is_array() || it->empty()) {
      CompileError(doc, ptr, std::string("'") + key + "' must be a non-empty array of schemas");
      return out;
    }
    for (size_t i = 0; i < it->size(); ++i) {
      out.push_back(Compile(doc, (*it)[i], ptr + "/" + key + "/" + std::to_string(i), depth + 1));
    }
    return out;
  }

  const Node* CompileChild(Document& doc, const std::string& ptr, const json& s, const char* key, int depth) {
    auto it = s.find(key);
    if (it == s.end()) return nullptr;
    return Compile(doc, *it, ptr + "/" + key, depth + 1);
  }

  // Compiles `s` (found at `ptr` in `doc`) and every subschema under it. Never returns null: a malformed
  // schema records a compile error and yields a node that accepts everything (status() is then not OK).
  Node* Compile(Document& doc, const json& s, const std::string& ptr, int depth) {
    if (auto it = doc.nodes.find(ptr); it != doc.nodes.end()) return it->second;
    Node* node = &nodes.emplace_back();
    node->doc = &doc;
    node->pointer = ptr;
    doc.nodes[ptr] = node;

    if (s.is_boolean()) {
      node->boolean_schema = s.get<bool>() ? 1 : 0;
      return node;
    }
    if (!s.is_object()) {
      CompileError(doc, ptr, "a schema must be an object or a boolean, got " + TypeNameOf(s));
      node->boolean_schema = 1;
      return node;
    }
    if (depth > kMaxCompileDepth) {
      CompileError(doc, ptr, "schema nested more than " + std::to_string(kMaxCompileDepth) + " levels deep");
      node->boolean_schema = 1;
      return node;
    }
    for (std::string_view kw : kUnsupportedKeywords) {
      if (s.contains(std::string(kw)))
        CompileError(doc, ptr, "keyword '" + std::string(kw) + "' is not supported");
    }

    if (auto it = s.find("$anchor"); it != s.end()) {
      if (it->is_string()) {
        doc.anchors[it->get<std::string>()] = node;
      } else {
        CompileError(doc, ptr, "'$anchor' must be a string");
      }
    }
    if (auto it = s.find("$ref"); it != s.end()) {
      if (it->is_string()) {
        node->ref = it->get<std::string>();
      } else {
        CompileError(doc, ptr, "'$ref' must be a string");
      }
    }

    if (auto it = s.find("type"); it != s.end()) {
      auto add = [&](const json& t) {
        uint8_t bit = t.is_string() ? TypeBitFromName(t.get<std::string>()) : 0;
        if (bit == 0) CompileError(doc, ptr, "unknown type " + ValueText(t));
        node->types |= bit;
      };
      if (it->is_array()) {
        for (const auto& t : *it) add(t);
      } else {
        add(*it);
      }
      if (node->types == 0) node->types = 0x7F;  // error already recorded; accept all
    }
    if (auto it = s.find("const"); it != s.end()) node->const_value = *it;
    if (auto it = s.find("enum"); it != s.end()) {
      if (it->is_array() && !it->empty()) {
        node->enum_values = std::vector<json>(it->begin(), it->end());
      } else {
        CompileError(doc, ptr, "'enum' must be a non-empty array");
      }
    }

    node->minimum = NumberKeyword(doc, ptr, s, "minimum");
    node->maximum = NumberKeyword(doc, ptr, s, "maximum");
    node->exclusive_minimum = NumberKeyword(doc, ptr, s, "exclusiveMinimum");
    node->exclusive_maximum = NumberKeyword(doc, ptr, s, "exclusiveMaximum");
    node->multiple_of = NumberKeyword(doc, ptr, s, "multipleOf");
    if (node->multiple_of && CompareNumbers(*node->multiple_of, json(0)) <= 0) {
      CompileError(doc, ptr, "'multipleOf' must be greater than 0");
      node->multiple_of.reset();
    }

    node->min_length = NonNegative(doc, ptr, s, "minLength");
    node->max_length = NonNegative(doc, ptr, s, "maxLength");
    if (auto it = s.find("pattern"); it != s.end()) node->pattern = CompilePattern(doc, ptr, *it, "pattern");
    if (auto it = s.find("format"); it != s.end()) {
      if (!it->is_string()) {
        CompileError(doc, ptr, "'format' must be a string");
      } else {
        // Unknown formats are annotations only, as the specification allows.
        node->format_name = it->get<std::string>();
        node->format = FormatFromName(node->format_name).value_or(Format::kNone);
      }
    }

    node->prefix_items = CompileList(doc, ptr, s, "prefixItems", depth);
    if (auto it = s.find("items"); it != s.end()) {
      if (it->is_array()) {
        CompileError(doc, ptr, "'items' must be a single schema (use 'prefixItems' for tuples)");
      } else {
        node->items = CompileChild(doc, ptr, s, "items", depth);
      }
    }
    node->contains = CompileChild(doc, ptr, s, "contains", depth);
    if (auto v = NonNegative(doc, ptr, s, "minContains")) node->min_contains = *v;
    node->max_contains = NonNegative(doc, ptr, s, "maxContains");
    node->min_items = NonNegative(doc, ptr, s, "minItems");
    node->max_items = NonNegative(doc, ptr, s, "maxItems");
    if (auto it = s.find("uniqueItems"); it != s.end()) {
      if (it->is_boolean()) {
        node->unique_items = it->get<bool>();
      } else {
        CompileError(doc, ptr, "'uniqueItems' must be a boolean");
      }
    }

    if (auto it = s.find("properties"); it != s.end()) {
      if (!it->is_object()) {
        CompileError(doc, ptr, "'properties' must be an object");
      } else {
        for (const auto& [name, sub] : it->items()) {
          node->properties.emplace_back(
              name, Compile(doc, sub, ptr + "/properties/" + EscapePointerToken(name), depth + 1));
        }
        // json objects iterate in key order already; sort anyway so FindProperty's contract is local.
        std::sort(node->properties.begin(), node->properties.end(),
                  [](const auto& a, const auto& b) { return a.first < b.first; });
      }
    }
    if (auto it = s.find("patternProperties"); it != s.end()) {
      if (!it->is_object()) {
        CompileError(doc, ptr, "'patternProperties' must be an object");
      } else {
        for (const auto& [source, sub] : it->items()) {
          std::optional<Pattern> p = CompilePattern(doc, ptr, json(source), "patternProperties");
          Node* child =
              Compile(doc, sub, ptr + "/patternProperties/" + EscapePointerToken(source), depth + 1);
          if (p) node->pattern_properties.emplace_back(std::move(*p), child);
        }
      }
    }
    node->additional_properties = CompileChild(doc, ptr, s, "additionalProperties", depth);
    node->property_names = CompileChild(doc, ptr, s, "propertyNames", depth);
    if (auto it = s.find("required"); it != s.end()) {
      if (!it->is_array() ||
          !std::all_of(it->begin(), it->end(), [](const json& r) { return r.is_string(); })) {
        CompileError(doc, ptr, "'required' must be an array of strings");
      } else {
        for (const auto& r : *it) node->required.push_back(r.get<std::string>());
      }
    }
    if (auto it = s.find("dependentRequired"); it != s.end()) {
      bool ok = it->is_object();
      if (ok) {
        for (const auto& [name, list] : it->items()) {
          if (!list.is_array() ||
              !std::all_of(list.begin(), list.end(), [](const json& r) { return r.is_string(); })) {
            ok = false;
            break;
          }
          node->dependent_required.emplace_back(name, list.get<std::vector<std::string>>());
        }
      }
      if (!ok) CompileError(doc, ptr, "'dependentRequired' must map names to arrays of strings");
    }
    node->min_properties = NonNegative(doc, ptr, s, "minProperties");
    node->max_properties = NonNegative(doc, ptr, s, "maxProperties");

    node->all_of = CompileList(doc, ptr, s, "allOf", depth);
    node->any_of = CompileList(doc, ptr, s, "anyOf", depth);
    node->one_of = CompileList(doc, ptr, s, "oneOf", depth);
    node->not_schema = CompileChild(doc, ptr, s, "not", depth);
    node->if_schema = CompileChild(doc, ptr, s, "if", depth);
    node->then_schema = CompileChild(doc, ptr, s, "then", depth);
    node->else_schema = CompileChild(doc, ptr, s, "else", depth);

    // Definitions are compiled even when unused so a malformed one is reported, and so "#/$defs/x"
    // resolves to an existing node.
    for (const char* defs : {"$defs", "definitions"}) {
      auto it = s.find(defs);
      if (it == s.end()) continue;
      if (!it->is_object()) {
        CompileError(doc, ptr, std::string("'") + defs + "' must be an object");
        continue;
      }
      for (const auto& [name, sub] : it->items()) {
        Compile(doc, sub, ptr + "/" + defs + "/" + EscapePointerToken(name), depth + 1);
      }
    }
    if (!node->ref.empty()) pending.push_back({node});
    return node;
  }

  enum class RefOutcome { kResolved, kWaiting, kBroken };

  // Links one $ref. kWaiting: it names a document not registered (yet).
  RefOutcome ResolveRef(Node* node) {
    Document& from = *node->doc;
    const std::string& ref = node->ref;
    size_t hash = ref.find('#');
    std::string uri = ResolveUri(from.id, ref.substr(0, hash));
    std::string fragment = hash == std::string::npos ? "" : PercentDecode(ref.substr(hash + 1));

    Document* target = nullptr;
    if (uri.empty() || uri == from.id) {
      target = &from;
    } else {
      for (Document& d : documents) {
        if (d.id == uri) {
          target = &d;
          break;
        }
      }
    }
    if (target == nullptr) return RefOutcome::kWaiting;

    if (!fragment.empty() && fragment[0] != '/') {
      auto it = target->anchors.find(fragment);
      if (it == target->anchors.end()) {
        CompileError(from, node->pointer, "$ref '" + ref + "' names an anchor that does not exist");
        return RefOutcome::kBroken;
      }
      node->ref_target = it->second;
      return RefOutcome::kResolved;
    }
    if (auto it = target->nodes.find(fragment); it != target->nodes.end()) {
      node->ref_target = it->second;
      return RefOutcome::kResolved;
    }
    // A pointer into a place the walk did not compile (e.g. under an unknown keyword): compile it now.
    const json* sub = nullptr;
    try {
      json::json_pointer jp(fragment);
      if (target->schema.contains(jp)) sub = &target->schema.at(jp);
    } catch (const std::exception&) {
      sub = nullptr;
    }
    if (sub == nullptr) {
      CompileError(from, node->pointer, "$ref '" + ref + "' points to nothing");
      return RefOutcome::kBroken;
    }
    node->ref_target = Compile(*target, *sub, fragment, 0);
    return RefOutcome::kResolved;
  }

  // Resolves every pending $ref it can; compiling a target may queue more, hence the loop.
  void ResolvePending() {
    bool progress = true;
    while (progress) {
      progress = false;
      std::vector<PendingRef> still_waiting;
      std::vector<PendingRef> work;
      work.swap(pending);
      for (const PendingRef& p : work) {
        RefOutcome r = ResolveRef(p.node);
        if (r == RefOutcome::kWaiting) {
          still_waiting.push_back(p);
        } else {
          progress = true;
        }
      }
      // Compiling targets may have appended new refs to `pending`.
      for (const PendingRef& p : still_waiting) pending.push_back(p);
      if (!progress) break;
    }
  }

  Status ComputeStatus() const {
    std::vector<std::string> problems = compile_errors;
    for (const PendingRef& p : pending) {
      problems.push_back("$ref '" + p.node->ref + "' names a schema that is not registered (at " +
                         Where(*p.node->doc, p.node->pointer) + ")");
    }
    if (problems.empty()) return Status::Ok();
    std::string msg = "invalid schema: ";
    constexpr size_t kShown = 5;
    for (size_t i = 0; i < problems.size() && i < kShown; ++i) {
      if (i > 0) msg += "; ";
      msg += problems[i];
    }
    if (problems.size() > kShown) msg += "; and " + std::to_string(problems.size() - kShown) + " more";
    return Status::Invalid(msg);
  }

  // ---- evaluation ----

  // Returns whether `v` is valid against `n`; errors go to `sink`. `path` is the instance's JSON Pointer
  // and is restored before returning.
  bool Eval(const Node& n, const json& v, std::string& path, int depth, ErrorSink& sink) const {
    if (n.boolean_schema == 1) return true;
    if (n.boolean_schema == 0) {
      sink.Add(path, "is not allowed here");
      return false;
    }
    EvalBudget& budget = sink.budget();
    if (budget.aborted) return false;
    if (depth > kMaxEvalDepth) {
      budget.aborted = true;
      budget.reason = {path,
                       "nested too deeply to validate (schema evaluation deeper than " +
                           std::to_string(kMaxEvalDepth) + " levels)",
                       {}};
      return false;
    }
    if (++budget.steps > kMaxEvalSteps) {
      budget.aborted = true;
      budget.reason = {
          path,
          "schema too complex to evaluate (more than " + std::to_string(kMaxEvalSteps) + " subschema checks)",
          {}};
      return false;
    }
    bool valid = true;
    if (n.ref_target != nullptr) {
      valid = Eval(*n.ref_target, v, path, depth + 1, sink) && valid;
      if (sink.full()) return false;
    }
    if (n.types != 0 && !TypeMatches(n.types, v)) {
      // The remaining keywords would only restate this.
      sink.Add(path, "expected " + TypeListText(n.types) + ", got " + TypeNameOf(v));
      return false;
    }
    if (n.const_value && !(v == *n.const_value)) {
      sink.Add(path, "must be " + ValueText(*n.const_value));
      valid = false;
    }
    if (n.enum_values &&
        std::none_of(n.enum_values->begin(), n.enum_values->end(), [&](const json& e) { return v == e; })) {
      std::string list;
      for (const json& e : *n.enum_values) list += (list.empty() ? "" : ", ") + ValueText(e);
      sink.Add(path, "must be one of: " + list);
      valid = false;
    }

    if (v.is_number()) valid = EvalNumber(n, v, path, sink) && valid;
    if (v.is_string()) valid = EvalString(n, v.get_ref<const std::string&>(), path, sink) && valid;
    if (v.is_array()) valid = EvalArray(n, v, path, depth, sink) && valid;
    if (v.is_object()) valid = EvalObject(n, v, path, depth, sink) && valid;
    if (sink.full()) return false;

    valid = EvalCombinators(n, v, path, depth, sink) && valid;
    return valid;
  }

  bool EvalNumber(const Node& n, const json& v, const std::string& path, ErrorSink& sink) const {
    bool valid = true;
    if (n.minimum && CompareNumbers(v, *n.minimum) < 0) {
      sink.Add(path, "must be >= " + ValueText(*n.minimum));
      valid = false;
    }
    if (n.maximum && CompareNumbers(v, *n.maximum) > 0) {
      sink.Add(path, "must be <= " + ValueText(*n.maximum));
      valid = false;
    }
    if (n.exclusive_minimum && CompareNumbers(v, *n.exclusive_minimum) <= 0) {
      sink.Add(path, "must be > " + ValueText(*n.exclusive_minimum));
      valid = false;
    }
    if (n.exclusive_maximum && CompareNumbers(v, *n.exclusive_maximum) >= 0) {
      sink.Add(path, "must be < " + ValueText(*n.exclusive_maximum));
      valid = false;
    }
    if (n.multiple_of && !IsMultipleOf(v, *n.multiple_of)) {
      sink.Add(path, "must be a multiple of " + ValueText(*n.multiple_of));
      valid = false;
    }
    return valid;
  }

  bool EvalString(const Node& n, const std::string& s, const std::string& path, ErrorSink& sink) const {
    bool valid = true;
    if (n.min_length || n.max_length) {
      size_t len = CodePointCount(s);
      if (n.min_length && len < *n.min_length) {
        sink.Add(path, "must be at least " + std::to_string(*n.min_length) + " characters long");
        valid = false;
      }
      if (n.max_length && len > *n.max_length) {
        sink.Add(path, "must be at most " + std::to_string(*n.max_length) + " characters long");
        valid = false;
      }
    }
    if (n.pattern) {
      std::optional<std::string> problem = MatchPattern(*n.pattern, s);
      if (problem) {
        sink.Add(path, *problem);
        valid = false;
      }
    }
    if (n.format != Format::kNone && !FormatMatches(n.format, s)) {
      sink.Add(path, FormatMessage(n.format));
      valid = false;
    }
    return valid;
  }

  // nullopt when `s` matches; otherwise the message. Never echoes `s` (it may be a secret).
  static std::optional<std::string> MatchPattern(const Pattern& p, const std::string& s) {
    if (s.size() > kMaxPatternSubjectBytes) {
      return "is too long (" + std::to_string(s.size()) + " bytes) to check against the pattern " + p.source +
             " (limit " + std::to_string(kMaxPatternSubjectBytes) + " bytes)";
    }
    try {
      if (std::regex_search(s, p.re)) return std::nullopt;
    } catch (const std::exception&) {
      return "could not be checked against the pattern " + p.source;
    }
    return "must match the pattern " + p.source;
  }

  bool EvalArray(const Node& n, const json& v, std::string& path, int depth, ErrorSink& sink) const {
    bool valid = true;
    const size_t size = v.size();
    if (n.min_items && size < *n.min_items) {
      sink.Add(path, "must have at least " + std::to_string(*n.min_items) +
                         (*n.min_items == 1 ? " item" : " items"));
      valid = false;
    }
    if (n.max_items && size > *n.max_items) {
      sink.Add(path, "must have at most " + std::to_string(*n.max_items) +
                         (*n.max_items == 1 ? " item" : " items"));
      valid = false;
    }
    if (n.unique_items && size > 1) valid = EvalUnique(v, path, sink) && valid;

    const size_t base = path.size();
    for (size_t i = 0; i < size && !sink.full(); ++i) {
      const Node* item_schema = i < n.prefix_items.size() ? n.prefix_items[i] : n.items;
      if (item_schema == nullptr) continue;
      path += "/" + std::to_string(i);
      valid = Eval(*item_schema, v[i], path, depth + 1, sink) && valid;
      path.resize(base);
    }
    if (n.contains != nullptr) {
      uint64_t matches = 0;
      for (size_t i = 0; i < size; ++i) {
        std::vector<ValidationError> scratch;
        ErrorSink quiet = sink.Nested(&scratch, 1);
        path += "/" + std::to_string(i);
        if (Eval(*n.contains, v[i], path, depth + 1, quiet)) ++matches;
        path.resize(base);
      }
      if (matches < n.min_contains) {
        sink.Add(path, "must contain at least " + std::to_string(n.min_contains) +
                           " item(s) matching the 'contains' schema, found " + std::to_string(matches));
        valid = false;
      }
      if (n.max_contains && matches > *n.max_contains) {
        sink.Add(path, "must contain at most " + std::to_string(*n.max_contains) +
                           " item(s) matching the 'contains' schema, found " + std::to_string(matches));
        valid = false;
      }
    }
    return valid;
  }

  static bool EvalUnique(const json& v, const std::string& path, ErrorSink& sink) {
    // json's comparisons recurse; refuse to compare items deep enough to threaten the stack.
    if (!DepthAtMost(v, kMaxEvalDepth)) {
      sink.Add(path, "items are nested too deeply to check for uniqueness");
      return false;
    }
    std::vector<std::pair<const json*, size_t>> sorted;
    sorted.reserve(v.size());
    for (size_t i = 0; i < v.size(); ++i) sorted.emplace_back(&v[i], i);
    std::stable_sort(sorted.begin(), sorted.end(),
                     [](const auto& a, const auto& b) { return *a.first < *b.first; });
    for (size_t i = 1; i < sorted.size(); ++i) {
      if (*sorted[i - 1].first == *sorted[i].first) {
        size_t a = std::min(sorted[i - 1].second, sorted[i].second);
        size_t b = std::max(sorted[i - 1].second, sorted[i].second);
        sink.Add(path, "items must be unique, but items " + std::to_string(a) + " and " + std::to_string(b) +
                           " are equal");
        return false;
      }
    }
    return true;
  }

  bool EvalObject(const Node& n, const json& v, std::string& path, int depth, ErrorSink& sink) const {
    bool valid = true;
    for (const std::string& name : n.required) {
      if (!v.contains(name)) {
        sink.Add(path, "missing required property '" + name + "'");
        valid = false;
      }
    }
    for (const auto& [name, needs] : n.dependent_required) {
      if (!v.contains(name)) continue;
      for (const std::string& other : needs) {
        if (!v.contains(other)) {
          sink.Add(path, "property '" + other + "' is required when '" + name + "' is present");
          valid = false;
        }
      }
    }
    if (n.min_properties && v.size() < *n.min_properties) {
      sink.Add(path, "must have at least " + std::to_string(*n.min_properties) +
                         (*n.min_properties == 1 ? " property" : " properties"));
      valid = false;
    }
    if (n.max_properties && v.size() > *n.max_properties) {
      sink.Add(path, "must have at most " + std::to_string(*n.max_properties) +
                         (*n.max_properties == 1 ? " property" : " properties"));
      valid = false;
    }

    const size_t base = path.size();
    for (const auto& [name, value] : v.items()) {
      if (sink.full()) return false;
      path += "/" + EscapePointerToken(name);
      if (n.property_names != nullptr) {
        std::vector<ValidationError> scratch;
        ErrorSink quiet = sink.Nested(&scratch, 1);
        if (!Eval(*n.property_names, json(name), path, depth + 1, quiet)) {
          std::string why = scratch.empty() ? std::string("is not allowed") : scratch.front().message;
          path.resize(base);
          sink.Add(path, "property name '" + name + "' is not allowed: " + why);
          path += "/" + EscapePointerToken(name);
          valid = false;
        }
      }
      bool matched = false;
      if (const Node* prop = n.FindProperty(name)) {
        matched = true;
        valid = Eval(*prop, value, path, depth + 1, sink) && valid;
      }
      for (const auto& [pattern, schema] : n.pattern_properties) {
        if (MatchPattern(pattern, name).has_value()) continue;
        matched = true;
        valid = Eval(*schema, value, path, depth + 1, sink) && valid;
      }
      if (!matched && n.additional_properties != nullptr) {
        if (n.additional_properties->boolean_schema == 0) {
          // A plainer message than "is not allowed here" for the common closed-object case.
          path.resize(base);
          sink.Add(path, "unknown property '" + name + "'", name);
          valid = false;
        } else {
          valid = Eval(*n.additional_properties, value, path, depth + 1, sink) && valid;
        }
      }
      path.resize(base);
    }
    return valid;
  }

  bool EvalCombinators(const Node& n, const json& v, std::string& path, int depth, ErrorSink& sink) const {
    bool valid = true;
    for (const Node* sub : n.all_of) {
      valid = Eval(*sub, v, path, depth + 1, sink) && valid;
      if (sink.full()) return false;
    }
    if (!n.any_of.empty()) {
      std::vector<std::vector<ValidationError>> branch_errors;
      bool any = false;
      for (const Node* sub : n.any_of) {
        auto& errs = branch_errors.emplace_back();
        ErrorSink branch = sink.Nested(&errs, kBranchErrorCap);
        if (Eval(*sub, v, path, depth + 1, branch)) {
          any = true;
          break;
        }
      }
      if (!any) {
        sink.Add(path, "must match at least one of " + std::to_string(n.any_of.size()) + " alternatives" +
                           Closest(branch_errors));
        valid = false;
      }
    }
    if (!n.one_of.empty()) {
      std::vector<std::vector<ValidationError>> branch_errors;
      std::vector<size_t> matched;
      for (size_t i = 0; i < n.one_of.size(); ++i) {
        auto& errs = branch_errors.emplace_back();
        ErrorSink branch = sink.Nested(&errs, kBranchErrorCap);
        if (Eval(*n.one_of[i], v, path, depth + 1, branch)) matched.push_back(i);
      }
      if (matched.empty()) {
        sink.Add(path, "must match exactly one of " + std::to_string(n.one_of.size()) +
                           " alternatives, matched none" + Closest(branch_errors));
        valid = false;
      } else if (matched.size() > 1) {
        sink.Add(path, "must match exactly one of " + std::to_string(n.one_of.size()) +
                           " alternatives, but matched alternatives " + std::to_string(matched[0] + 1) +
                           " and " + std::to_string(matched[1] + 1));
        valid = false;
      }
    }
    if (n.not_schema != nullptr) {
      std::vector<ValidationError> scratch;
      ErrorSink quiet = sink.Nested(&scratch, 1);
      if (Eval(*n.not_schema, v, path, depth + 1, quiet)) {
        sink.Add(path, "must not match the excluded schema");
        valid = false;
      }
    }
    if (n.if_schema != nullptr && (n.then_schema != nullptr || n.else_schema != nullptr)) {
      std::vector<ValidationError> scratch;
      ErrorSink quiet = sink.Nested(&scratch, 1);
      const Node* branch = Eval(*n.if_schema, v, path, depth + 1, quiet) ? n.then_schema : n.else_schema;
      if (branch != nullptr) valid = Eval(*branch, v, path, depth + 1, sink) && valid;
    }
    return valid;
  }

  // " (closest: /x: must be ...)" from the alternative with the fewest errors; "" when none to show.
  static std::string Closest(const std::vector<std::vector<ValidationError>>& branches) {
    const std::vector<ValidationError>* best = nullptr;
    for (const auto& errs : branches) {
      if (!errs.empty() && (best == nullptr || errs.size() < best->size())) best = &errs;
    }
    if (best == nullptr) return "";
    return " (closest alternative fails with: " + best->front().ToString() + ")";
  }
};

Validator::Validator(nlohmann::json schema) : impl_(std::make_unique<Impl>()) {
  try {
    Document& doc = impl_->AddDocument(std::move(schema));
    impl_->Compile(doc, doc.schema, "", 0);
    impl_->ResolvePending();
    status_ = impl_->ComputeStatus();
  } catch (const std::exception& e) {
    status_ = Status::Invalid(std::string("invalid schema: ") + e.what());
  }
}

Validator::~Validator() = default;
Validator::Validator(Validator&&) noexcept = default;
Validator& Validator::operator=(Validator&&) noexcept = default;

void Validator::AddReferencedSchema(const nlohmann::json& schema) {
  if (!impl_) return;  // moved-from
  try {
    if (schema.is_object() && schema.contains("$id") && schema["$id"].is_string()) {
      const std::string id = schema["$id"].get<std::string>();
      for (const Document& existing : impl_->documents) {
        // Registering the same schema twice is harmless; a different one under a taken $id is not.
        if (!existing.id.empty() && existing.id == id.substr(0, id.find('#')) && existing.schema == schema)
          return;
      }
    }
    bool duplicate = false;
    Document& doc = impl_->AddDocument(schema);
    for (const Document& existing : impl_->documents) {
      if (&existing != &doc && !doc.id.empty() && existing.id == doc.id) duplicate = true;
    }
    if (duplicate) {
      impl_->CompileError(doc, "", "another schema with $id '" + doc.id + "' is already registered");
    } else if (doc.id.empty()) {
      impl_->CompileError(doc, "", "a referenced schema needs an absolute '$id'");
    } else {
      impl_->Compile(doc, doc.schema, "", 0);
    }
    impl_->ResolvePending();
    status_ = impl_->ComputeStatus();
  } catch (const std::exception& e) {
    status_ = Status::Invalid(std::string("invalid referenced schema: ") + e.what());
  }
}

std::vector<ValidationError> Validator::Validate(const nlohmann::json& document, size_t max_errors) const {
  std::vector<ValidationError> errors;
  if (!impl_) {
    errors.push_back({"", "validator has been moved from", {}});
    return errors;
  }
  // Fail closed: a schema that did not compile cannot vouch for any document.
  if (!status_.ok()) {
    errors.push_back({"", "cannot validate: " + status_.message(), {}});
    return errors;
  }
  try {
    EvalBudget budget;
    ErrorSink sink(&errors, max_errors, &budget);
    std::string path;
    const Document& root = impl_->documents.front();
    bool valid = impl_->Eval(*root.nodes.at(""), document, path, 0, sink);
    if (budget.aborted) {
      // The reason comes first; whatever else was found before the abort stays, within the cap.
      errors.insert(errors.begin(), budget.reason);
      if (errors.size() > std::max<size_t>(max_errors, 1)) errors.resize(std::max<size_t>(max_errors, 1));
    } else if (!valid && errors.empty()) {
      errors.push_back(
          {"", "does not match the schema", {}});  // defensive: every failure path adds a message
    }
  } catch (const std::exception& e) {
    errors.push_back({"", std::string("validation failed unexpectedly: ") + e.what(), {}});
  }
  return errors;
}

Status Validator::Check(const nlohmann::json& document) const try {
  constexpr size_t kShown = 5;
  std::vector<ValidationError> errors = Validate(document, kShown + 1);
  if (errors.empty()) return Status::Ok();
  std::string msg;
  for (size_t i = 0; i < errors.size() && i < kShown; ++i) {
    if (i > 0) msg += "; ";
    msg += errors[i].ToString();
  }
  if (errors.size() > kShown) msg += "; and more";
  return Status::Invalid(msg);
} catch (const std::exception& e) {
  return Status::Invalid(std::string("validation failed unexpectedly: ") + e.what());
}

}  // namespace mlc::jsonschema
