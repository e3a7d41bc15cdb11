// Fuzz target `json`: mlc::json::ParseExact and Parse and the typed getters (sdk/include/mlc/json.hpp) on
// arbitrary bytes. Invariants: nothing throws; ParseExact accepting a document means Parse accepts it too,
// with the same shape except that every floating-point number is exact text (a string) in ParseExact's;
// the exact document serialises and re-parses to itself; MoneyField / StringField / IntField on every
// value return a result or an error, never a crash.
#include <cstdint>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "fuzz_util.hpp"
#include "mlc/json.hpp"

namespace {

using nlohmann::json;

// True when `exact` (ParseExact) and `plain` (Parse) describe the same document.
bool SameShape(const json& exact, const json& plain) {
  if (plain.is_number_float()) return exact.is_string();
  if (exact.type() != plain.type()) return false;
  if (exact.is_object()) {
    if (exact.size() != plain.size()) return false;
    for (auto it = exact.begin(); it != exact.end(); ++it) {
      auto other = plain.find(it.key());
      if (other == plain.end() || !SameShape(*it, *other)) return false;
    }
    return true;
  }
  if (exact.is_array()) {
    if (exact.size() != plain.size()) return false;
    for (size_t i = 0; i < exact.size(); ++i) {
      if (!SameShape(exact[i], plain[i])) return false;
    }
    return true;
  }
  return exact == plain;
}

// The getters on every value (bounded: a wide document is walked only so far).
void Probe(const json& v, int* budget) {
  if (--*budget < 0) return;
  (void)mlc::json::MoneyField(v, "v", "USD");
  (void)mlc::json::MoneyField(v, "v", "JPY");
  if (v.is_object()) {
    for (auto it = v.begin(); it != v.end(); ++it) {
      (void)mlc::json::StringField(v, it.key());
      (void)mlc::json::IntField(v, it.key());
      Probe(*it, budget);
    }
  } else if (v.is_array()) {
    for (const json& e : v) Probe(e, budget);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text = mlc::fuzz::AsText(data, size);
  auto exact = mlc::json::ParseExact(text);
  auto plain = mlc::json::Parse(text);
  if (!exact.ok()) {
    MLC_FUZZ_CHECK(!exact.status().message().empty());
    return 0;
  }
  MLC_FUZZ_CHECK(plain.ok());
  MLC_FUZZ_CHECK(SameShape(*exact, *plain));

  // Strings came through the parser's UTF-8 check, so a strict dump cannot throw.
  std::string dumped;
  bool dump_threw = false;
  try {
    dumped = exact->dump();
  } catch (const std::exception&) {
    dump_threw = true;
  }
  MLC_FUZZ_CHECK(!dump_threw);
  auto again = mlc::json::ParseExact(dumped);
  MLC_FUZZ_CHECK(again.ok());
  MLC_FUZZ_CHECK(*again == *exact);

  int budget = 256;
  Probe(*exact, &budget);
  return 0;
}
