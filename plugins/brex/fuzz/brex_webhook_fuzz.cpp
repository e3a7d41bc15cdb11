// Fuzz target `brex_webhook`: the Brex plugin's Standard Webhooks verification and event parsing
// (plugins/brex/src/brex_translate.hpp VerifyWebhook, SignWebhook, WebhookEvents).
// Input: header lines "name: value" (names lower-cased, as the router hands them over), a blank line, then
// the body. Two pseudo-headers steer the run: "x-fuzz-secret" (repeatable; the verification secrets,
// default one fixed whsec_ secret) and "x-fuzz-now" (receipt time in ms; default the webhook-timestamp).
// Invariants: nothing throws; a delivery re-signed with the first secret verifies (when id, timestamp and
// secrets are well-formed) and stops verifying once one body byte changes; WebhookEvents returns either an
// error or a non-empty array of events carrying the delivery id and a non-empty type.
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "brex_translate.hpp"
#include "fuzz_util.hpp"
#include "mlc/text.hpp"

namespace {

namespace brex = mlc::plugins::brex;
using mlc::Code;

constexpr char kDefaultSecret[] = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

bool AllDigits(std::string_view s, size_t max) {
  if (s.empty() || s.size() > max) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto [head, body] = mlc::fuzz::SplitOnce(mlc::fuzz::AsText(data, size), "\n\n");
  std::map<std::string, std::string> headers;
  std::vector<std::string> secrets;
  std::string now_text;
  for (std::string_view line : mlc::fuzz::Lines(head)) {
    const auto [name, value] = mlc::fuzz::SplitOnce(line, ": ");
    const std::string key = mlc::text::AsciiLower(name);
    if (key == "x-fuzz-secret") {
      secrets.emplace_back(value);
    } else if (key == "x-fuzz-now") {
      now_text = std::string(value);
    } else {
      headers[key] = std::string(value);
    }
  }
  if (secrets.empty()) secrets.emplace_back(kDefaultSecret);

  auto header = [&](const char* name, const char* svix) -> std::string {
    for (const char* n : {name, svix}) {
      if (auto it = headers.find(n); it != headers.end() && !it->second.empty()) return it->second;
    }
    return "";
  };
  const std::string id = header("webhook-id", "svix-id");
  const std::string timestamp = header("webhook-timestamp", "svix-timestamp");
  int64_t now_ms = 0;
  if (AllDigits(now_text, 12)) {
    now_ms = std::stoll(now_text);
  } else if (AllDigits(timestamp, 12)) {
    now_ms = std::stoll(timestamp) * 1000;
  }

  // As received: any outcome, but a clear one.
  const mlc::Status as_received = brex::VerifyWebhook(headers, body, secrets, now_ms, 300);
  MLC_FUZZ_CHECK(as_received.ok() || !as_received.message().empty());

  // Re-signed with the first secret, at its own time: must verify, and a changed body must not.
  if (!id.empty() && AllDigits(timestamp, 12)) {
    const int64_t ts = std::stoll(timestamp);
    bool secrets_valid = true;
    for (const std::string& s : secrets)
      secrets_valid = secrets_valid && brex::SignWebhook(s, id, ts, "").ok();
    auto signature = brex::SignWebhook(secrets[0], id, ts, body);
    if (secrets_valid) MLC_FUZZ_CHECK(signature.ok());
    if (secrets_valid && signature.ok()) {
      std::map<std::string, std::string> signed_headers = headers;
      signed_headers.erase("svix-signature");
      signed_headers["webhook-signature"] = "v0,AAAA " + *signature;  // unknown versions are skipped
      MLC_FUZZ_CHECK(brex::VerifyWebhook(signed_headers, body, secrets, ts * 1000, 300).ok());
      std::string tampered(body);
      tampered.push_back('x');
      MLC_FUZZ_CHECK(brex::VerifyWebhook(signed_headers, tampered, secrets, ts * 1000, 300).code() ==
                     Code::kAuth);
      // A receipt far outside the tolerance is stale even with a good signature.
      MLC_FUZZ_CHECK(brex::VerifyWebhook(signed_headers, body, secrets, (ts + 301) * 1000, 300).code() ==
                     Code::kInvalid);
    }
  }

  auto events = brex::WebhookEvents(id, body);
  if (events.ok()) {
    MLC_FUZZ_CHECK(events->is_array() && !events->empty());
    for (const nlohmann::json& e : *events) {
      MLC_FUZZ_CHECK(e.is_object() && e.value("id", std::string("?")) == id);
      MLC_FUZZ_CHECK(e.contains("type") && e["type"].is_string() && !e["type"].get<std::string>().empty());
      if (e.contains("source_id")) MLC_FUZZ_CHECK(e["source_id"].is_string());
      (void)e.dump();  // strict: every string in an event is valid UTF-8
    }
  } else {
    MLC_FUZZ_CHECK(events.status().code() == Code::kInvalid);
  }
  return 0;
}
