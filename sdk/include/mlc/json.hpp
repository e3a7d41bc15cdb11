// JSON decoding for vendor payloads without losing decimal precision.
//
// nlohmann::json turns `100.5` into a double. Vendor APIs that send money as JSON numbers (Brex accounting
// amounts are decimal dollars) must not pass through a double, so ParseExact keeps every non-integer
// number as the exact text it had in the document ("100.5" as a JSON string). Integers stay integers.
//
//   MLC_ASSIGN_OR_RETURN(nlohmann::json doc, mlc::json::ParseExact(body));
//   MLC_ASSIGN_OR_RETURN(int64_t minor, mlc::json::MoneyField(doc["amount"], "amount", "USD"));
//
// Errors come back as Status::Invalid with the parser's byte offset; nothing throws.
#ifndef MLC_JSON_HPP_
#define MLC_JSON_HPP_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "mlc/money.hpp"
#include "mlc/status.hpp"

namespace mlc::json {

namespace detail {

// SAX handler that builds a DOM, storing floating-point literals as their source text.
class ExactBuilder : public nlohmann::json_sax<nlohmann::json> {
 public:
  bool null() override { return Put(nullptr); }
  bool boolean(bool v) override { return Put(v); }
  bool number_integer(number_integer_t v) override { return Put(v); }
  bool number_unsigned(number_unsigned_t v) override { return Put(v); }
  bool number_float(number_float_t, const string_t& raw) override { return Put(raw); }
  bool string(string_t& v) override { return Put(std::move(v)); }
  bool binary(binary_t&) override { return false; }
  bool start_object(std::size_t) override { return Open(nlohmann::json::object()); }
  bool key(string_t& k) override {
    key_ = std::move(k);
    return true;
  }
  bool end_object() override { return Close(); }
  bool start_array(std::size_t) override { return Open(nlohmann::json::array()); }
  bool end_array() override { return Close(); }
  bool parse_error(std::size_t position, const std::string&, const nlohmann::detail::exception& ex) override {
    error_ = "malformed JSON at byte " + std::to_string(position);
    (void)ex;
    return false;
  }

  nlohmann::json root;
  std::string error_;

 private:
  template <typename V>
  bool Put(V&& v) {
    if (stack_.empty()) {
      root = nlohmann::json(std::forward<V>(v));
      return true;
    }
    nlohmann::json* top = stack_.back();
    if (top->is_object()) {
      (*top)[key_] = nlohmann::json(std::forward<V>(v));
    } else {
      top->push_back(nlohmann::json(std::forward<V>(v)));
    }
    return true;
  }
  bool Open(nlohmann::json container) {
    if (stack_.size() >= kMaxDepth) {
      error_ = "JSON nested deeper than " + std::to_string(kMaxDepth) + " levels";
      return false;
    }
    if (stack_.empty()) {
      root = std::move(container);
      stack_.push_back(&root);
      return true;
    }
    nlohmann::json* top = stack_.back();
    nlohmann::json* child;
    if (top->is_object()) {
      child = &((*top)[key_] = std::move(container));
    } else {
      top->push_back(std::move(container));
      child = &top->back();
    }
    stack_.push_back(child);
    return true;
  }
  bool Close() {
    stack_.pop_back();
    return true;
  }

  static constexpr size_t kMaxDepth = 256;
  std::vector<nlohmann::json*> stack_;
  std::string key_;
};

}  // namespace detail

// Parses `text`; floating-point literals become strings holding their exact source text.
inline Result<nlohmann::json> ParseExact(std::string_view text) {
  detail::ExactBuilder builder;
  bool ok = false;
  try {
    ok = nlohmann::json::sax_parse(text.begin(), text.end(), &builder);
  } catch (const std::exception& e) {
    return Status::Invalid(std::string("malformed JSON: ") + e.what());
  }
  if (!ok) return Status::Invalid(builder.error_.empty() ? "malformed JSON" : builder.error_);
  return std::move(builder.root);
}

// Parses ordinary JSON (doubles allowed) without throwing.
inline Result<nlohmann::json> Parse(std::string_view text) {
  nlohmann::json doc = nlohmann::json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) return Status::Invalid("malformed JSON");
  return doc;
}

// Reads a money amount in major units from a value produced by ParseExact (a string holding the exact
// decimal text, or an integer), converting to minor units of `currency`.
inline Result<int64_t> MoneyField(const nlohmann::json& v, std::string_view field,
                                  std::string_view currency) {
  if (v.is_string()) {
    auto r = money::ParseDecimal(v.get_ref<const std::string&>(), currency);
    if (!r.ok()) return r.status().Wrap(field);
    return r;
  }
  if (v.is_number_integer()) {
    return money::ParseDecimal(std::to_string(v.get<int64_t>()), currency);
  }
  if (v.is_number_unsigned()) {
    return money::ParseDecimal(std::to_string(v.get<uint64_t>()), currency);
  }
  return Status::Invalid(std::string(field) + ": expected a decimal amount");
}

// Typed accessors that report the field name instead of throwing.
inline Result<std::string> StringField(const nlohmann::json& obj, std::string_view name) {
  if (!obj.is_object()) return Status::Invalid("expected an object holding '" + std::string(name) + "'");
  auto it = obj.find(std::string(name));
  if (it == obj.end() || !it->is_string()) {
    return Status::Invalid("field '" + std::string(name) + "' missing or not a string");
  }
  return it->get<std::string>();
}

inline Result<int64_t> IntField(const nlohmann::json& obj, std::string_view name) {
  if (!obj.is_object()) return Status::Invalid("expected an object holding '" + std::string(name) + "'");
  auto it = obj.find(std::string(name));
  if (it == obj.end() || !(it->is_number_integer() || it->is_number_unsigned())) {
    return Status::Invalid("field '" + std::string(name) + "' missing or not an integer");
  }
  return it->get<int64_t>();
}

}  // namespace mlc::json

#endif  // MLC_JSON_HPP_
