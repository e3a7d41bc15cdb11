// Fuzz target `freshbooks_webhook`: the FreshBooks plugin's webhook verification building blocks
// (plugins/freshbooks/src/freshbooks_translate.hpp ParseForm, PythonJsonDumps, WebhookSignature,
// StreamForEvent), as the plugin's `webhook` op chains them.
// Input: line 1 the verifier, line 2 the X-FreshBooks-Hmac-SHA256 value, the rest the form body.
// Invariants: nothing throws; the signed text is pure ASCII (ensure_ascii) and, when every field is valid
// UTF-8, is a JSON object whose members decode to exactly the form's fields (the last of a repeated name);
// the signature is 44 characters of base64; ParseForm and the signature are deterministic.
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "freshbooks_translate.hpp"
#include "fuzz_util.hpp"
#include "mlc/crypto.hpp"

namespace {

namespace fb = mlc::plugins::freshbooks;

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto [verifier, rest] = mlc::fuzz::SplitOnce(mlc::fuzz::AsText(data, size), "\n");
  const auto [header, body] = mlc::fuzz::SplitOnce(rest, "\n");

  const auto fields = fb::ParseForm(body);
  MLC_FUZZ_CHECK(fields == fb::ParseForm(body));
  const std::string dumped = fb::PythonJsonDumps(fields);
  for (char c : dumped) MLC_FUZZ_CHECK(static_cast<unsigned char>(c) < 0x80);

  bool all_utf8 = true;
  std::map<std::string, std::string> last;
  for (const auto& [k, v] : fields) {
    all_utf8 = all_utf8 && mlc::fuzz::IsUtf8(k) && mlc::fuzz::IsUtf8(v);
    last[k] = v;
  }
  if (all_utf8) {
    const nlohmann::json doc = nlohmann::json::parse(dumped, nullptr, /*allow_exceptions=*/false);
    MLC_FUZZ_CHECK(doc.is_object());
    MLC_FUZZ_CHECK(doc.size() == last.size());
    for (const auto& [k, v] : last) {
      auto it = doc.find(k);
      MLC_FUZZ_CHECK(it != doc.end() && it->is_string() && it->get<std::string>() == v);
    }
  }

  const std::string signature = fb::WebhookSignature(verifier, fields);
  MLC_FUZZ_CHECK(signature.size() == 44);
  MLC_FUZZ_CHECK(signature == fb::WebhookSignature(verifier, fields));
  // The plugin's comparison: a match only for the exact value.
  const bool matches = mlc::crypto::ConstantTimeEqual(signature, header);
  MLC_FUZZ_CHECK(matches == (signature == header));

  for (const auto& [k, v] : fields) {
    if (k == "name") {
      const std::string stream = fb::StreamForEvent(v);
      MLC_FUZZ_CHECK(stream.empty() || stream == "bills" || stream == "vendors" ||
                     stream == "expense_categories");
    }
  }
  return 0;
}
