// A JSON Schema validator for the subset of draft 2020-12 that ml-connector's schemas use.
//
// Debian 12 packages no C++ JSON Schema validator, so this one is written here. It validates plugin
// manifests, connection settings against a plugin's settings schema, and canonical records against the
// canonical model schemas in sdk/schemas/.
//
// Supported keywords: type (string or array), enum, const, properties, required, additionalProperties
// (bool or schema), patternProperties, propertyNames, dependentRequired, minProperties, maxProperties,
// items (schema), prefixItems, contains/minContains/maxContains, minItems, maxItems, uniqueItems,
// minLength, maxLength (in code points), pattern (ECMAScript via std::regex, unanchored as the spec says),
// format (date, date-time, time, uri, email, uuid are checked; other formats are annotations), minimum,
// maximum, exclusiveMinimum, exclusiveMaximum, multipleOf, allOf, anyOf, oneOf, not, if/then/else,
// $defs/definitions, $anchor, $ref to "#", "#/<JSON Pointer>" or "#<anchor>" within the same document, and
// $ref to another registered schema by its $id (absolute, or relative to the referring schema's $id).
// Other keywords are ignored as annotations (title, description, default, examples, x-*), except those
// whose meaning is not implemented (unevaluatedProperties, dependentSchemas, $dynamicRef, ...): a schema
// using them does not compile, so it cannot silently accept what its author meant to reject.
//
// Semantics worth knowing:
// - "integer" accepts only JSON integers: 3 is an integer, 3.0 is a number but NOT an integer (money in
//   minor units must never have passed through a float).
// - Error messages never echo the document's values (they may be secrets); they name the path and the
//   rule: "missing required property 'name'", "must be one of: a, b", "expected string, got number".
// - Evaluation depth is capped (128 nested schema applications), so `{"$ref": "#"}` loops and
//   pathologically deep documents give an error instead of a stack overflow. Strings over 1024 bytes are
//   reported, not matched, where a pattern applies (std::regex recurses per character).
// - A schema that does not compile, or whose $refs are not all resolved, makes status() not OK, and then
//   Validate fails every document (fail closed) with the reason.
// - Nothing throws out of this class.
//
//   mlc::jsonschema::Validator v(schema);          // compile once
//   v.AddReferencedSchema(common_schema);           // before first use, when schema $refs it
//   if (!v.status().ok()) return v.status();
//   auto errors = v.Validate(document);             // empty when valid
//   for (auto& e : errors) std::cerr << e.ToString() << "\n";   // "/auth/kind: must be one of ..."
//
// Thread safety: construct and register referenced schemas on one thread; after that the Validator is
// immutable and Validate/Check may run concurrently from any thread.
#ifndef MLC_HOST_JSONSCHEMA_VALIDATOR_HPP_
#define MLC_HOST_JSONSCHEMA_VALIDATOR_HPP_

#include <map>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "mlc/status.hpp"

namespace mlc::jsonschema {

struct ValidationError {
  std::string instance_path;  // JSON Pointer into the document ("" for the root)
  std::string message;        // what is wrong, in plain words
  // Set only when the error is a member that a closed object ("additionalProperties": false) does not
  // declare: the member's name (instance_path is then the object's path). Lets a reader that knows the
  // document comes from a newer version drop such members instead of refusing the whole document.
  std::string unknown_property;
  std::string ToString() const { return (instance_path.empty() ? "/" : instance_path) + ": " + message; }
};

class Validator {
 public:
  // `schema` must itself be a valid schema object; a schema this validator cannot compile (a $ref it
  // cannot resolve, a malformed keyword) is reported by status().
  explicit Validator(nlohmann::json schema);
  ~Validator();
  Validator(Validator&&) noexcept;
  Validator& operator=(Validator&&) noexcept;

  const Status& status() const { return status_; }

  // Registers another schema so "$ref": "<its $id>" resolves to it (canonical model cross-references).
  // Re-evaluates status(): it becomes OK once every $ref resolves. Not safe concurrently with Validate.
  void AddReferencedSchema(const nlohmann::json& schema);

  // All errors found (capped at `max_errors`, at least 1); empty when the document is valid.
  std::vector<ValidationError> Validate(const nlohmann::json& document, size_t max_errors = 50) const;

  // Convenience: OK, or Status::Invalid listing the first few errors joined by "; ".
  Status Check(const nlohmann::json& document) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  Status status_;
};

}  // namespace mlc::jsonschema

#endif  // MLC_HOST_JSONSCHEMA_VALIDATOR_HPP_
