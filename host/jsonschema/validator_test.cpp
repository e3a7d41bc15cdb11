// Tests for the JSON Schema validator: every keyword from a table of cases, schema compile errors, depth
// limits, and the shipped SDK schemas (plugin manifest and canonical model) against their examples.
#include "jsonschema/validator.hpp"

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace mlc::jsonschema {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;

struct KeywordCase {
  const char* name;
  const char* schema;
  const char* document;
  bool valid;
  const char* error;  // expected substring of "path: message" when invalid
};

// Names cases in gtest output instead of dumping their bytes.
void PrintTo(const KeywordCase& c, std::ostream* os) { *os << c.name; }

std::string JoinErrors(const std::vector<ValidationError>& errors) {
  std::string out;
  for (const auto& e : errors) out += e.ToString() + "\n";
  return out;
}

// clang-format off
const KeywordCase kKeywordCases[] = {
    // type
    {"type_string_ok", R"({"type":"string"})", R"("x")", true, ""},
    {"type_string_bad", R"({"type":"string"})", R"(5)", false, "/: expected string, got number"},
    {"type_integer_ok", R"({"type":"integer"})", R"(3)", true, ""},
    {"type_integer_big_unsigned", R"({"type":"integer"})", R"(18446744073709551615)", true, ""},
    {"type_integer_rejects_float", R"({"type":"integer"})", R"(3.0)", false, "expected integer, got number"},
    {"type_integer_rejects_fraction", R"({"type":"integer"})", R"(3.5)", false, "expected integer, got number"},
    {"type_number_accepts_integer", R"({"type":"number"})", R"(3)", true, ""},
    {"type_number_accepts_float", R"({"type":"number"})", R"(3.25)", true, ""},
    {"type_array_of_types", R"({"type":["string","null"]})", R"(null)", true, ""},
    {"type_array_of_types_bad", R"({"type":["string","null"]})", R"(true)", false,
     "expected string or null, got boolean"},
    {"type_object_bad", R"({"type":"object"})", R"([])", false, "expected object, got array"},
    {"type_boolean_ok", R"({"type":"boolean"})", R"(false)", true, ""},
    // enum / const
    {"enum_ok", R"({"enum":["a","b"]})", R"("b")", true, ""},
    {"enum_bad", R"({"enum":["a","b"]})", R"("c")", false, "/: must be one of: a, b"},
    {"enum_mixed_values", R"({"enum":[1,"x",null]})", R"(2)", false, "must be one of: 1, x, null"},
    {"const_ok", R"({"const":"expense"})", R"("expense")", true, ""},
    {"const_bad", R"({"const":"expense"})", R"("bill")", false, "must be expense"},
    {"const_object", R"({"const":{"a":1}})", R"({"a":1})", true, ""},
    // numbers
    {"minimum_ok", R"({"minimum":0})", R"(0)", true, ""},
    {"minimum_bad", R"({"minimum":0})", R"(-1)", false, "must be >= 0"},
    {"maximum_bad", R"({"maximum":10})", R"(10.5)", false, "must be <= 10"},
    {"exclusive_minimum_bad", R"({"exclusiveMinimum":0})", R"(0)", false, "must be > 0"},
    {"exclusive_maximum_bad", R"({"exclusiveMaximum":5})", R"(5)", false, "must be < 5"},
    {"exclusive_maximum_ok", R"({"exclusiveMaximum":5})", R"(4)", true, ""},
    {"multiple_of_ok", R"({"multipleOf":5})", R"(-15)", true, ""},
    {"multiple_of_bad", R"({"multipleOf":5})", R"(12)", false, "must be a multiple of 5"},
    {"multiple_of_float_ok", R"({"multipleOf":0.5})", R"(2.5)", true, ""},
    {"minimum_ignores_strings", R"({"minimum":3})", R"("a")", true, ""},
    {"big_unsigned_vs_negative_min", R"({"minimum":-1})", R"(18446744073709551615)", true, ""},
    // strings
    {"min_length_bad", R"({"minLength":3})", R"("ab")", false, "must be at least 3 characters long"},
    {"max_length_bad", R"({"maxLength":2})", R"("abc")", false, "must be at most 2 characters long"},
    {"max_length_counts_code_points", R"({"maxLength":2})", R"("\u00e9\u00e9")", true, ""},
    {"pattern_ok", R"({"pattern":"^[A-Z]{3}$"})", R"("USD")", true, ""},
    {"pattern_bad", R"({"pattern":"^[A-Z]{3}$"})", R"("usd")", false, "must match the pattern ^[A-Z]{3}$"},
    {"pattern_is_unanchored", R"({"pattern":"b"})", R"("abc")", true, ""},
    {"format_date_ok", R"({"format":"date"})", R"("2024-02-29")", true, ""},
    {"format_date_not_leap", R"({"format":"date"})", R"("2023-02-29")", false, "must be a date (YYYY-MM-DD)"},
    {"format_date_bad_month", R"({"format":"date"})", R"("2024-13-01")", false, "must be a date"},
    {"format_date_time_ok", R"({"format":"date-time"})", R"("2024-05-01T12:00:00.123+02:00")", true, ""},
    {"format_date_time_utc", R"({"format":"date-time"})", R"("2024-05-01T12:00:00Z")", true, ""},
    {"format_date_time_no_zone", R"({"format":"date-time"})", R"("2024-05-01T12:00:00")", false,
     "must be a date-time"},
    {"format_date_time_bad_hour", R"({"format":"date-time"})", R"("2024-05-01T25:00:00Z")", false,
     "must be a date-time"},
    {"format_time_ok", R"({"format":"time"})", R"("08:30:00Z")", true, ""},
    {"format_uri_ok", R"({"format":"uri"})", R"("https://api.example.com/v1?x=1")", true, ""},
    {"format_uri_relative", R"({"format":"uri"})", R"("/v1/things")", false, "must be an absolute URI"},
    {"format_uri_space", R"({"format":"uri"})", R"("https://a b")", false, "must be an absolute URI"},
    {"format_email_ok", R"({"format":"email"})", R"("ap@example.com")", true, ""},
    {"format_email_bad", R"({"format":"email"})", R"("ap.example.com")", false, "must be an email address"},
    {"format_uuid_ok", R"({"format":"uuid"})", R"("123e4567-e89b-12d3-a456-426614174000")", true, ""},
    {"format_uuid_bad", R"({"format":"uuid"})", R"("123e4567e89b12d3a456426614174000")", false, "must be a UUID"},
    {"format_unknown_is_annotation", R"({"format":"ipv9"})", R"("anything")", true, ""},
    {"format_ignores_non_strings", R"({"format":"date"})", R"(5)", true, ""},
    // arrays
    {"items_ok", R"({"items":{"type":"integer"}})", R"([1,2])", true, ""},
    {"items_bad", R"({"items":{"type":"integer"}})", R"([1,"x"])", false, "/1: expected integer, got string"},
    {"prefix_items_bad", R"({"prefixItems":[{"type":"string"}],"items":{"type":"integer"}})", R"([1,2])",
     false, "/0: expected string"},
    {"prefix_items_then_items", R"({"prefixItems":[{"type":"string"}],"items":{"type":"integer"}})",
     R"(["a",2])", true, ""},
    {"min_items_bad", R"({"minItems":1})", R"([])", false, "must have at least 1 item"},
    {"max_items_bad", R"({"maxItems":1})", R"([1,2])", false, "must have at most 1 item"},
    {"unique_items_ok", R"({"uniqueItems":true})", R"([1,2,"1"])", true, ""},
    {"unique_items_bad", R"({"uniqueItems":true})", R"([1,2,1])", false, "items 0 and 2 are equal"},
    {"unique_items_objects", R"({"uniqueItems":true})", R"([{"a":1},{"a":1}])", false, "must be unique"},
    {"contains_ok", R"({"contains":{"const":"source"}})", R"(["target","source"])", true, ""},
    {"contains_bad", R"({"contains":{"const":"source"}})", R"(["target"])", false, "must contain at least 1"},
    {"max_contains_bad", R"({"contains":{"type":"integer"},"maxContains":1})", R"([1,2])", false,
     "must contain at most 1"},
    // objects
    {"required_bad", R"({"required":["name"]})", R"({})", false, "/: missing required property 'name'"},
    {"required_ignores_non_objects", R"({"required":["name"]})", R"("x")", true, ""},
    {"properties_nested_path", R"({"properties":{"auth":{"properties":{"kind":{"enum":["none"]}}}}})",
     R"({"auth":{"kind":"x"}})", false, "/auth/kind: must be one of: none"},
    {"additional_false_bad", R"({"properties":{"a":{}},"additionalProperties":false})", R"({"a":1,"b":2})",
     false, "/: unknown property 'b'"},
    {"additional_schema_bad", R"({"additionalProperties":{"type":"string"}})", R"({"b":2})", false,
     "/b: expected string, got number"},
    {"pattern_properties_ok", R"({"patternProperties":{"^x-":{}},"additionalProperties":false})",
     R"({"x-note":1})", true, ""},
    {"pattern_properties_applies", R"({"patternProperties":{"^n_":{"type":"integer"}}})", R"({"n_a":"s"})",
     false, "/n_a: expected integer"},
    {"property_names_bad", R"({"propertyNames":{"pattern":"^[a-z]+$"}})", R"({"Bad":1})", false,
     "property name 'Bad' is not allowed"},
    {"dependent_required_bad", R"({"dependentRequired":{"marker_field":["idempotency"]}})",
     R"({"marker_field":"x"})", false, "property 'idempotency' is required when 'marker_field' is present"},
    {"min_properties_bad", R"({"minProperties":1})", R"({})", false, "must have at least 1 property"},
    {"max_properties_bad", R"({"maxProperties":1})", R"({"a":1,"b":2})", false, "must have at most 1 property"},
    {"pointer_escaping", R"({"properties":{"a/b":{"type":"string"}}})", R"({"a/b":1})", false,
     "/a~1b: expected string"},
    // combinators
    {"all_of_bad", R"({"allOf":[{"type":"integer"},{"minimum":5}]})", R"(3)", false, "must be >= 5"},
    {"any_of_ok", R"({"anyOf":[{"type":"integer"},{"type":"string"}]})", R"("x")", true, ""},
    {"any_of_bad", R"({"anyOf":[{"type":"integer"},{"type":"string"}]})", R"(true)", false,
     "must match at least one of 2 alternatives"},
    {"one_of_ok", R"({"oneOf":[{"type":"integer"},{"type":"string"}]})", R"(1)", true, ""},
    {"one_of_two_match", R"({"oneOf":[{"type":"integer"},{"minimum":0}]})", R"(1)", false,
     "matched alternatives 1 and 2"},
    {"one_of_none", R"({"oneOf":[{"type":"integer"},{"type":"string"}]})", R"(null)", false, "matched none"},
    {"not_bad", R"({"not":{"type":"null"}})", R"(null)", false, "must not match the excluded schema"},
    {"not_ok", R"({"not":{"type":"null"}})", R"(1)", true, ""},
    {"if_then_bad",
     R"({"if":{"properties":{"kind":{"const":"oauth2_refresh"}}},"then":{"required":["token_url"]}})",
     R"({"kind":"oauth2_refresh"})", false, "missing required property 'token_url'"},
    {"if_then_not_taken",
     R"({"if":{"properties":{"kind":{"const":"oauth2_refresh"}}},"then":{"required":["token_url"]}})",
     R"({"kind":"none"})", true, ""},
    {"if_else_bad", R"({"if":{"type":"string"},"else":{"type":"integer"}})", R"(1.5)", false,
     "expected integer"},
    // boolean schemas and refs
    {"true_schema", R"(true)", R"({"anything":[1]})", true, ""},
    {"false_schema", R"(false)", R"(1)", false, "/: is not allowed here"},
    {"ref_defs_ok", R"({"$defs":{"code":{"pattern":"^[A-Z]{3}$"}},"properties":{"c":{"$ref":"#/$defs/code"}}})",
     R"({"c":"EUR"})", true, ""},
    {"ref_defs_bad", R"({"$defs":{"code":{"pattern":"^[A-Z]{3}$"}},"properties":{"c":{"$ref":"#/$defs/code"}}})",
     R"({"c":"eur"})", false, "/c: must match the pattern"},
    {"ref_definitions", R"({"definitions":{"n":{"type":"integer"}},"$ref":"#/definitions/n"})", R"("x")", false,
     "expected integer"},
    {"ref_with_sibling_keywords", R"({"$defs":{"n":{"type":"integer"}},"$ref":"#/$defs/n","minimum":10})",
     R"(3)", false, "must be >= 10"},
    {"ref_anchor", R"({"$defs":{"n":{"$anchor":"num","type":"integer"}},"$ref":"#num"})", R"("x")", false,
     "expected integer"},
    {"ref_root_recursive_ok", R"({"type":"array","items":{"$ref":"#"}})", R"([[[]],[]])", true, ""},
    {"ref_root_recursive_bad", R"({"type":"array","items":{"$ref":"#"}})", R"([[[1]]])", false,
     "/0/0/0: expected array, got number"},
    {"ref_percent_encoded", R"({"$defs":{"a b":{"type":"string"}},"$ref":"#/$defs/a%20b"})", R"(1)", false,
     "expected string"},
    {"annotations_ignored", R"({"title":"t","description":"d","default":1,"examples":[1],"x-secret":true})",
     R"("x")", true, ""},
};
// clang-format on

class KeywordTest : public ::testing::TestWithParam<KeywordCase> {};

TEST_P(KeywordTest, ValidatesAsExpected) {
  const KeywordCase& c = GetParam();
  Validator v(json::parse(c.schema));
  ASSERT_TRUE(v.status().ok()) << v.status().ToString();
  std::vector<ValidationError> errors = v.Validate(json::parse(c.document));
  if (c.valid) {
    EXPECT_TRUE(errors.empty()) << JoinErrors(errors);
    EXPECT_TRUE(v.Check(json::parse(c.document)).ok());
  } else {
    ASSERT_FALSE(errors.empty()) << "expected an error containing: " << c.error;
    EXPECT_THAT(JoinErrors(errors), HasSubstr(c.error));
    Status st = v.Check(json::parse(c.document));
    EXPECT_EQ(st.code(), Code::kInvalid);
    EXPECT_THAT(st.message(), HasSubstr(c.error));
  }
}

INSTANTIATE_TEST_SUITE_P(Keywords, KeywordTest, ::testing::ValuesIn(kKeywordCases),
                         [](const ::testing::TestParamInfo<KeywordCase>& info) { return info.param.name; });

struct BadSchemaCase {
  const char* name;
  const char* schema;
  const char* error;
};

// clang-format off
const BadSchemaCase kBadSchemaCases[] = {
    {"ref_to_nowhere", R"({"properties":{"a":{"$ref":"#/$defs/missing"}}})", "points to nothing"},
    {"ref_to_missing_anchor", R"({"$ref":"#nope"})", "anchor that does not exist"},
    {"ref_to_unregistered_document", R"({"$ref":"https://schemas.example/other.json"})", "not registered"},
    {"unknown_type", R"({"type":"strng"})", "unknown type strng"},
    {"bad_regex", R"({"pattern":"([a-z"})", "not a valid regular expression"},
    {"bad_pattern_properties_regex", R"({"patternProperties":{"(":{}}})", "not a valid regular expression"},
    {"negative_min_length", R"({"minLength":-1})", "'minLength' must be a non-negative integer"},
    {"required_not_strings", R"({"required":[1]})", "'required' must be an array of strings"},
    {"properties_not_object", R"({"properties":[]})", "'properties' must be an object"},
    {"schema_not_object", R"({"items":5})", "a schema must be an object or a boolean"},
    {"multiple_of_zero", R"({"multipleOf":0})", "'multipleOf' must be greater than 0"},
    {"empty_enum", R"({"enum":[]})", "'enum' must be a non-empty array"},
    {"empty_any_of", R"({"anyOf":[]})", "'anyOf' must be a non-empty array of schemas"},
    {"tuple_items", R"({"items":[{}]})", "use 'prefixItems'"},
    {"unsupported_keyword", R"({"unevaluatedProperties":false})", "'unevaluatedProperties' is not supported"},
    {"root_not_schema", R"("string")", "a schema must be an object or a boolean"},
};
// clang-format on

void PrintTo(const BadSchemaCase& c, std::ostream* os) { *os << c.name; }

class BadSchemaTest : public ::testing::TestWithParam<BadSchemaCase> {};

TEST_P(BadSchemaTest, ReportedByStatusAndFailsClosed) {
  const BadSchemaCase& c = GetParam();
  Validator v(json::parse(c.schema));
  EXPECT_EQ(v.status().code(), Code::kInvalid);
  EXPECT_THAT(v.status().message(), HasSubstr(c.error));
  // A broken schema must not vouch for anything, even a document it would otherwise accept.
  std::vector<ValidationError> errors = v.Validate(json::object());
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_THAT(errors[0].message, HasSubstr("cannot validate"));
  EXPECT_FALSE(v.Check(json::object()).ok());
}

INSTANTIATE_TEST_SUITE_P(Schemas, BadSchemaTest, ::testing::ValuesIn(kBadSchemaCases),
                         [](const ::testing::TestParamInfo<BadSchemaCase>& info) { return info.param.name; });

TEST(ValidatorTest, CrossDocumentRefResolvesAfterRegistration) {
  json common = json::parse(R"({
    "$id": "https://schemas.example/common.json",
    "$defs": {"money": {"type": "object", "required": ["amount_minor"],
                        "properties": {"amount_minor": {"type": "integer"}}}}})");
  json main = json::parse(R"({
    "$id": "https://schemas.example/thing.json",
    "properties": {"total": {"$ref": "common.json#/$defs/money"},
                   "fee": {"$ref": "https://schemas.example/common.json#/$defs/money"}}})");
  Validator v(main);
  EXPECT_EQ(v.status().code(), Code::kInvalid);
  EXPECT_THAT(v.status().message(), HasSubstr("not registered"));
  v.AddReferencedSchema(common);
  ASSERT_TRUE(v.status().ok()) << v.status().ToString();
  EXPECT_TRUE(v.Validate(json::parse(R"({"total":{"amount_minor":100},"fee":{"amount_minor":1}})")).empty());
  EXPECT_THAT(JoinErrors(v.Validate(json::parse(R"({"total":{"amount_minor":1.5}})"))),
              HasSubstr("/total/amount_minor: expected integer, got number"));
  // Registering the same schema again is harmless.
  v.AddReferencedSchema(common);
  EXPECT_TRUE(v.status().ok()) << v.status().ToString();
}

TEST(ValidatorTest, ReferencedSchemaWithBrokenRefIsReported) {
  Validator v(json::parse(R"({"$ref":"https://schemas.example/a.json"})"));
  v.AddReferencedSchema(json::parse(R"({"$id":"https://schemas.example/a.json","$ref":"#/$defs/none"})"));
  EXPECT_EQ(v.status().code(), Code::kInvalid);
  EXPECT_THAT(v.status().message(), HasSubstr("points to nothing"));
}

TEST(ValidatorTest, ReferencedSchemaWithoutIdIsReported) {
  Validator v(json::parse(R"({"type":"object"})"));
  v.AddReferencedSchema(json::parse(R"({"type":"string"})"));
  EXPECT_EQ(v.status().code(), Code::kInvalid);
  EXPECT_THAT(v.status().message(), HasSubstr("needs an absolute '$id'"));
}

TEST(ValidatorTest, ConflictingIdIsReported) {
  Validator v(json::parse(R"({"type":"object"})"));
  v.AddReferencedSchema(json::parse(R"({"$id":"https://schemas.example/a.json","type":"string"})"));
  ASSERT_TRUE(v.status().ok());
  v.AddReferencedSchema(json::parse(R"({"$id":"https://schemas.example/a.json","type":"integer"})"));
  EXPECT_THAT(v.status().message(), HasSubstr("already registered"));
}

TEST(ValidatorTest, SelfReferenceWithoutProgressStopsAtDepthLimit) {
  Validator v(json::parse(R"({"$ref":"#"})"));
  ASSERT_TRUE(v.status().ok());
  std::vector<ValidationError> errors = v.Validate(json(1));
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_THAT(errors[0].message, HasSubstr("nested too deeply"));
}

TEST(ValidatorTest, MutualReferenceLoopStopsAtDepthLimit) {
  Validator v(json::parse(R"({"$defs":{"a":{"$ref":"#/$defs/b"},"b":{"anyOf":[{"$ref":"#/$defs/a"}]}},
                              "$ref":"#/$defs/a"})"));
  ASSERT_TRUE(v.status().ok());
  EXPECT_FALSE(v.Validate(json::object()).empty());
}

TEST(ValidatorTest, ExponentialSchemaIsCutShort) {
  // Each level tries the same failing recursion twice; without a budget this would run 2^128 checks.
  Validator v(json::parse(R"({"anyOf":[{"$ref":"#"},{"$ref":"#"}]})"));
  ASSERT_TRUE(v.status().ok());
  std::vector<ValidationError> errors = v.Validate(json(1));
  ASSERT_FALSE(errors.empty());
  EXPECT_THAT(errors[0].message, HasSubstr("nested too deeply"));
  // Wide rather than deep: eight levels of oneOf with nine alternatives that all match would need 9^8
  // checks; the step budget stops it. ($refs keep the schema itself small.)
  json wide = {{"$defs", {{"l8", true}}}};
  for (int level = 7; level >= 0; --level) {
    json alternatives = json::array();
    for (int k = 0; k < 9; ++k) alternatives.push_back({{"$ref", "#/$defs/l" + std::to_string(level + 1)}});
    wide["$defs"]["l" + std::to_string(level)] = {{"oneOf", alternatives}};
  }
  wide["$ref"] = "#/$defs/l0";
  Validator w(wide);
  ASSERT_TRUE(w.status().ok());
  errors = w.Validate(json(1));
  ASSERT_FALSE(errors.empty());
  EXPECT_THAT(errors[0].message, HasSubstr("too complex"));
}

TEST(ValidatorTest, DeeplyNestedDocumentDoesNotCrash) {
  // 100000 nested arrays: a recursive schema must stop with an error, not overflow the stack.
  constexpr int kDepth = 100000;
  std::string text(kDepth, '[');
  text.append(kDepth, ']');
  json deep = json::parse(text);
  Validator recursive(json::parse(R"({"type":"array","items":{"$ref":"#"}})"));
  std::vector<ValidationError> errors = recursive.Validate(deep);
  ASSERT_FALSE(errors.empty());
  EXPECT_THAT(errors[0].message, HasSubstr("nested too deeply"));
  // Keywords that compare whole values must not recurse through it either.
  // (Built from a shallower value: copying a json value recurses.)
  std::string mid_text(2000, '[');
  mid_text.append(2000, ']');
  Validator unique(json::parse(R"({"uniqueItems":true})"));
  json pair = json::array({json::parse(mid_text), json::parse(mid_text)});
  EXPECT_THAT(JoinErrors(unique.Validate(pair)), HasSubstr("nested too deeply"));
  // A non-recursive schema only looks at the top.
  Validator shallow(json::parse(R"({"type":"array","maxItems":1})"));
  EXPECT_TRUE(shallow.Validate(deep).empty());
}

TEST(ValidatorTest, DeeplyNestedSchemaIsReported) {
  json schema = json::object();
  json* cur = &schema;
  for (int i = 0; i < 1000; ++i) {
    (*cur)["items"] = json::object();
    cur = &(*cur)["items"];
  }
  Validator v(schema);
  EXPECT_THAT(v.status().message(), HasSubstr("nested more than"));
}

TEST(ValidatorTest, LongStringIsReportedNotMatchedAgainstPattern) {
  Validator v(json::parse(R"({"pattern":"^https?://.*$"})"));
  std::string long_url = "https://" + std::string(200000, 'a');
  std::vector<ValidationError> errors = v.Validate(json(long_url));
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_THAT(errors[0].message, HasSubstr("too long"));
  EXPECT_TRUE(v.Validate(json("https://example.com/" + std::string(900, 'a'))).empty());
}

TEST(ValidatorTest, MaxErrorsCapsOutput) {
  Validator v(json::parse(R"({"items":{"type":"string"}})"));
  json doc = json::array();
  for (int i = 0; i < 100; ++i) doc.push_back(i);
  EXPECT_EQ(v.Validate(doc).size(), 50u);
  EXPECT_EQ(v.Validate(doc, 3).size(), 3u);
  EXPECT_EQ(v.Validate(doc, 0).size(), 1u);  // 0 still reports that the document is invalid
}

TEST(ValidatorTest, ErrorsNeverEchoDocumentValues) {
  Validator v(json::parse(R"({"properties":{"api_key":{"type":"integer","pattern":"^x$"},
                                             "token":{"pattern":"^bxt_[a-z]{4}$","maxLength":8}}})"));
  json doc = {{"api_key", "sk_live_SECRET"}, {"token", "bxt_SECRETVALUE"}};
  std::string all = JoinErrors(v.Validate(doc));
  EXPECT_FALSE(all.empty());
  EXPECT_THAT(all, ::testing::Not(HasSubstr("SECRET")));
}

TEST(ValidatorTest, MovedValidatorKeepsWorking) {
  Validator a(json::parse(R"({"type":"string"})"));
  Validator b(std::move(a));
  EXPECT_TRUE(b.Validate(json("x")).empty());
  EXPECT_FALSE(b.Validate(json(1)).empty());
  Validator c(json::parse(R"(true)"));
  c = std::move(b);
  EXPECT_FALSE(c.Validate(json(1)).empty());
}

// ---- the SDK's shipped schemas ----

std::filesystem::path SchemaDir() { return std::filesystem::path(MLC_SDK_SCHEMA_DIR); }

json LoadJson(const std::filesystem::path& path) {
  std::ifstream in(path);
  EXPECT_TRUE(in.good()) << "cannot open " << path;
  std::stringstream buf;
  buf << in.rdbuf();
  return json::parse(buf.str(), nullptr, /*allow_exceptions=*/false);
}

const char* const kCanonicalTypes[] = {"vendor",   "account",       "category",       "dimension",
                                       "expense",  "bill",          "purchase_order", "payment",
                                       "transfer", "journal_entry", "attachment"};

// A validator for one canonical object type, with common.schema.json registered.
Validator CanonicalValidator(const std::string& type) {
  Validator v(LoadJson(SchemaDir() / (type + ".schema.json")));
  v.AddReferencedSchema(LoadJson(SchemaDir() / "common.schema.json"));
  return v;
}

class ManifestSchemaTest : public ::testing::Test {
 protected:
  ManifestSchemaTest()
      : validator_(LoadJson(SchemaDir() / "manifest.schema.json")),
        example_(LoadJson(SchemaDir() / "examples" / "manifest.example.json")) {}

  std::string Errors(const json& doc) const { return JoinErrors(validator_.Validate(doc)); }

  Validator validator_;
  json example_;
};

TEST_F(ManifestSchemaTest, AcceptsTheExample) {
  ASSERT_TRUE(validator_.status().ok()) << validator_.status().ToString();
  ASSERT_FALSE(example_.is_discarded());
  EXPECT_EQ(Errors(example_), "");
}

TEST_F(ManifestSchemaTest, RejectsMissingName) {
  example_.erase("name");
  EXPECT_THAT(Errors(example_), HasSubstr("/: missing required property 'name'"));
}

TEST_F(ManifestSchemaTest, RejectsBadNamePattern) {
  for (const char* bad : {"Acme", "a", "9acme", "acme-books", "a23456789012345678901234567890123456789012"}) {
    example_["name"] = bad;
    EXPECT_THAT(Errors(example_), HasSubstr("/name: must match the pattern")) << bad;
  }
}

TEST_F(ManifestSchemaTest, RejectsUnknownAuthKind) {
  example_["auth"]["kind"] = "magic_link";
  EXPECT_THAT(Errors(example_), HasSubstr("/auth/kind: must be one of: none, static_bearer"));
}

TEST_F(ManifestSchemaTest, RejectsFloatInRateLimits) {
  example_["rate_limits"][0]["requests"] = 100.0;
  EXPECT_THAT(Errors(example_), HasSubstr("/rate_limits/0/requests: expected integer, got number"));
  example_["rate_limits"][0]["requests"] = 100;
  example_["rate_limits"][0]["per_seconds"] = 0.5;
  EXPECT_THAT(Errors(example_), HasSubstr("/rate_limits/0/per_seconds: expected integer, got number"));
}

TEST_F(ManifestSchemaTest, RejectsUnknownTopLevelKeyButAllowsExtensions) {
  json doc = example_;
  doc["colour"] = "blue";
  EXPECT_THAT(Errors(doc), HasSubstr("/: unknown property 'colour'"));
  doc = example_;
  doc["x-colour"] = "blue";
  EXPECT_EQ(Errors(doc), "");
}

TEST_F(ManifestSchemaTest, KindSpecificAuthParametersAreRequired) {
  json doc = example_;
  doc["auth"] = {{"kind", "oauth2_refresh"},
                 {"secret_fields", {"client_id", "client_secret", "refresh_token"}}};
  EXPECT_THAT(Errors(doc), HasSubstr("/auth: missing required property 'token_url'"));
  doc["auth"] = {{"kind", "api_key_inline"}, {"secret_fields", {"partner_user_id"}}};
  EXPECT_THAT(Errors(doc), HasSubstr("/auth: missing required property 'inline_fields'"));
  doc["auth"] = {{"kind", "none"}};
  EXPECT_EQ(Errors(doc), "");
  // Parameters of another kind are refused rather than silently ignored.
  doc["auth"] = {{"kind", "client_credentials"},
                 {"token_url", "https://login.example/{tenant_id}/oauth2/v2.0/token"},
                 {"secret_fields", {"client_id", "client_secret"}},
                 {"idle_expiry_days", 90}};
  EXPECT_THAT(Errors(doc), HasSubstr("/auth/idle_expiry_days: is not allowed here"));
  doc["auth"].erase("idle_expiry_days");
  EXPECT_EQ(Errors(doc), "");
}

TEST_F(ManifestSchemaTest, RejectsOtherMistakes) {
  struct Mutation {
    const char* pointer;
    json value;
    const char* error;
  };
  const Mutation mutations[] = {
      {"/version", "1.0", "/version: must match the pattern"},
      {"/abi", "1", "/abi: must match the pattern"},
      {"/roles", json::array(), "/roles: must have at least 1 item"},
      {"/roles/0", "sink", "/roles/0: must be one of: source, target"},
      {"/streams/0/cursor", "offset", "/streams/0/cursor: must be one of: opaque, updated_since, page, none"},
      {"/writes/0/idempotency", "maybe", "/writes/0/idempotency: must be one of: native, marker, none"},
      // An open set since ABI 1.2 (a vendor names its own scheme), but still a lower-case identifier.
      {"/webhook/scheme", "Svix Signature", "/webhook/scheme: must match the pattern"},
      {"/limit_headers/reset_kind", "minutes", "/limit_headers/reset_kind: must be one of"},
      {"/settings_schema", "not a schema", "/settings_schema: expected object, got string"},
      {"/concurrency", 0, "/concurrency: must be >= 1"},
      {"/auth/refresh_margin_s", -5, "/auth/refresh_margin_s: must be >= 0"},
  };
  for (const Mutation& m : mutations) {
    json doc = example_;
    doc[json::json_pointer(m.pointer)] = m.value;
    EXPECT_THAT(Errors(doc), HasSubstr(m.error)) << m.pointer;
  }
}

TEST_F(ManifestSchemaTest, MarkerIdempotencyNeedsMarkerField) {
  json doc = example_;
  doc["writes"] = json::parse(R"([{"object":"bill","idempotency":"marker"}])");
  EXPECT_THAT(Errors(doc), HasSubstr("/writes/0: missing required property 'marker_field'"));
}

class CanonicalSchemaTest : public ::testing::TestWithParam<const char*> {};

TEST_P(CanonicalSchemaTest, ExampleValidates) {
  const std::string type = GetParam();
  Validator v = CanonicalValidator(type);
  ASSERT_TRUE(v.status().ok()) << v.status().ToString();
  json example = LoadJson(SchemaDir() / "examples" / (type + ".example.json"));
  ASSERT_FALSE(example.is_discarded()) << type << " example is not valid JSON";
  EXPECT_EQ(JoinErrors(v.Validate(example)), "");
  EXPECT_EQ(example.value("type", ""), type);
}

TEST_P(CanonicalSchemaTest, RejectsWrongTypeAndMissingSource) {
  const std::string type = GetParam();
  Validator v = CanonicalValidator(type);
  json example = LoadJson(SchemaDir() / "examples" / (type + ".example.json"));
  json doc = example;
  doc["type"] = "something_else";
  EXPECT_THAT(JoinErrors(v.Validate(doc)), HasSubstr("/type: must be " + type));
  doc = example;
  doc.erase("source");
  EXPECT_THAT(JoinErrors(v.Validate(doc)), HasSubstr("missing required property 'source'"));
  doc = example;
  doc["source"]["updated_at"] = "yesterday";
  EXPECT_THAT(JoinErrors(v.Validate(doc)), HasSubstr("/source/updated_at: must be a date-time"));
}

INSTANTIATE_TEST_SUITE_P(Canonical, CanonicalSchemaTest, ::testing::ValuesIn(kCanonicalTypes));

TEST(CanonicalMoneyTest, RejectsFloatAmountAndLowercaseCurrency) {
  Validator v = CanonicalValidator("expense");
  ASSERT_TRUE(v.status().ok()) << v.status().ToString();
  json example = LoadJson(SchemaDir() / "examples" / "expense.example.json");

  json doc = example;
  doc["amount"]["amount_minor"] = 12.5;
  EXPECT_THAT(JoinErrors(v.Validate(doc)), HasSubstr("/amount/amount_minor: expected integer, got number"));
  doc["amount"]["amount_minor"] = 1250.0;  // integral but still a float: rejected
  EXPECT_THAT(JoinErrors(v.Validate(doc)), HasSubstr("/amount/amount_minor: expected integer, got number"));
  doc["amount"]["amount_minor"] = "1250";
  EXPECT_THAT(JoinErrors(v.Validate(doc)), HasSubstr("/amount/amount_minor: expected integer, got string"));

  doc = example;
  doc["amount"]["currency"] = "usd";
  EXPECT_THAT(JoinErrors(v.Validate(doc)), HasSubstr("/amount/currency: must match the pattern ^[A-Z]{3}$"));
}

TEST(CanonicalMoneyTest, JournalLinesUseMinorUnits) {
  Validator v = CanonicalValidator("journal_entry");
  json doc = LoadJson(SchemaDir() / "examples" / "journal_entry.example.json");
  json bad = doc;
  bad["lines"][0]["debit"]["amount_minor"] = 10.01;
  EXPECT_THAT(JoinErrors(v.Validate(bad)), HasSubstr("/lines/0/debit/amount_minor: expected integer"));
  // A line is a debit or a credit, never both and never neither.
  bad = doc;
  bad["lines"][0]["credit"] = bad["lines"][0]["debit"];
  EXPECT_THAT(JoinErrors(v.Validate(bad)), HasSubstr("/lines/0: must match exactly one of 2 alternatives"));
  bad = doc;
  bad["lines"][0].erase("debit");
  EXPECT_THAT(JoinErrors(v.Validate(bad)), HasSubstr("/lines/0: must match exactly one of 2 alternatives"));
  bad = doc;
  bad["lines"].erase(1);
  bad["lines"].erase(1);
  EXPECT_THAT(JoinErrors(v.Validate(bad)), HasSubstr("/lines: must have at least 2 items"));
}

TEST(CanonicalSchemaFilesTest, EverySchemaHasAnIdUnderTheCanonicalBase) {
  for (const char* type : kCanonicalTypes) {
    json schema = LoadJson(SchemaDir() / (std::string(type) + ".schema.json"));
    EXPECT_EQ(schema.value("$id", ""),
              std::string("https://schemas.ml-connector.dev/canonical/") + type + ".json");
  }
}

}  // namespace
}  // namespace mlc::jsonschema
