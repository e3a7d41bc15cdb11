// Fuzz target `webhook_out`: the host's side of a plugin's `webhook` op (host/webhooks/router.hpp):
// ParsePluginWebhookOut on the plugin's out document (parsed with ParseExact, as the loader does), plus
// WebhookRequest::ToPluginRequest and BodyDigestId on arbitrary request bytes.
// Input: the out document. Invariants: nothing throws; an accepted document keeps the documented limits
// (at most 10,000 events, each with a non-empty type and an id of at most 512 bytes, reply status 200..599,
// a one-line content type) and its payloads re-parse; a request built from arbitrary bytes (method, path,
// a query and a header from the input) always serialises strictly (invalid UTF-8 replaced).
#include <cstdint>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "fuzz_util.hpp"
#include "mlc/json.hpp"
#include "webhooks/router.hpp"

namespace {

namespace wh = mlc::webhooks;

bool StrictDumps(const nlohmann::json& doc) {
  try {
    (void)doc.dump();
    return true;
  } catch (const std::exception&) {
    return false;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text = mlc::fuzz::AsText(data, size);

  // Arbitrary bytes into every text field of a request: the document must still serialise.
  wh::WebhookRequest request;
  const auto [first, rest] = mlc::fuzz::SplitOnce(text, "\n");
  request.method = std::string(first.substr(0, 16));
  request.path = std::string(first);
  request.query[std::string(first)] = std::string(rest.substr(0, 256));
  request.headers[std::string(rest.substr(0, 64))] = std::string(first);
  request.body = std::string(text);
  MLC_FUZZ_CHECK(StrictDumps(request.ToPluginRequest()));
  const std::string digest = wh::BodyDigestId(text);
  MLC_FUZZ_CHECK(digest.size() == 7 + 64 && digest.rfind("sha256:", 0) == 0);

  auto doc = mlc::json::ParseExact(text);
  if (!doc.ok()) return 0;
  auto out = wh::ParsePluginWebhookOut(*doc);
  if (!out.ok()) {
    MLC_FUZZ_CHECK(!out.status().message().empty());
    return 0;
  }
  MLC_FUZZ_CHECK(out->events.size() <= 10000);
  if (out->reply) {
    MLC_FUZZ_CHECK(out->reply->status >= 200 && out->reply->status <= 599);
    MLC_FUZZ_CHECK(out->reply->content_type.find_first_of(std::string_view("\r\n\0", 3)) ==
                   std::string::npos);
  }
  for (const wh::PluginWebhookEvent& e : out->events) {
    MLC_FUZZ_CHECK(!e.type.empty());
    MLC_FUZZ_CHECK(e.id.size() <= 512);
    if (e.payload_json) MLC_FUZZ_CHECK(mlc::json::Parse(*e.payload_json).ok());
  }
  return 0;
}
