// The webhook router: `POST|GET /webhooks/<connection>` -> the connection's WebhookSink (plugin verification,
// replay protection, durable recording) -> an HTTP answer for the vendor. Also StoreWebhookSink, the generic
// durable sink over the store's webhook_seen / webhook_events tables.
//
//   auto sink = std::make_shared<StoreWebhookSink>(store, [&](const std::string& conn, const nlohmann::json&
//   req,
//                                                             std::string_view body) {
//     return instances.at(conn)->Webhook(req, body);   // PluginInstance::Webhook
//   }, [&](const std::string& conn, const auto& events) { engine.PullSoon(conn); });
//   WebhookRouter router([&](const std::string& conn) { return known(conn) ? sink : nullptr; },
//                        {.metrics = &registry});
//   router.Mount(server);
//
// HTTP answers (docs/abi.md, `webhook`): events newly recorded -> 200 {"accepted": n} (or the plugin's reply,
// e.g. a handshake echo, passed through as is); every event already recorded (a replay) -> 409 and nothing
// written; AUTH -> 401; INVALID (stale, malformed) -> 400; RETRY -> 503 with Retry-After; unknown connection
// -> 404; anything else -> 500. Answers never contain the request body, headers or secrets, and neither do
// the log lines.
//
// Ownership: the router keeps the lookup and options in shared state captured by the routes it mounts, so it
// may be destroyed before the server. StoreWebhookSink borrows the Store, which must outlive it.
// Thread safety: WebhookRouter::Handle and StoreWebhookSink::Handle may be called from any number of threads
// at once; the sink's callables must allow that too.
#ifndef MLC_HOST_WEBHOOKS_ROUTER_HPP_
#define MLC_HOST_WEBHOOKS_ROUTER_HPP_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "mlc/status.hpp"
#include "webhooks/http_server.hpp"

namespace mlc::store {
class Store;
}
namespace mlc::metrics {
class Registry;
}

namespace mlc::webhooks {

// One inbound webhook request, as handed to a sink.
struct WebhookRequest {
  std::string method;
  std::string path;
  std::map<std::string, std::string> query;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;                            // raw bytes as received
  int64_t received_at_ms = 0;

  // The plugin `webhook` op's request document: {method, path, query, headers, received_at_ms}. Text that
  // is not valid UTF-8 is replaced (U+FFFD) so the document always serialises; the body goes separately.
  nlohmann::json ToPluginRequest() const;
};

// What the vendor must receive instead of the default answer (a handshake or validation echo).
struct WebhookReply {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body{};
};

struct WebhookOutcome {
  size_t events = 0;    // events the plugin reported
  size_t accepted = 0;  // events newly and durably recorded by this call
  // True when the plugin reported events and every one of them had been recorded before (a replay).
  bool duplicate = false;
  std::optional<WebhookReply> reply{};
  std::vector<std::string> webhook_ids{};  // deduplication ids of this delivery (for logs)
};

// The engine's side of a webhook: verify through the plugin, deduplicate, record durably, then return.
class WebhookSink {
 public:
  virtual ~WebhookSink() = default;
  // Returns only after new events are committed. Error codes: Auth (forged or unsigned), Invalid (stale or
  // malformed), Retry (try again later), NotFound (no such connection), anything else is an internal error.
  virtual Result<WebhookOutcome> Handle(const std::string& connection, const WebhookRequest& request) = 0;
};

// The sink for a connection, or nullptr when there is no such connection (-> 404).
using SinkLookup = std::function<std::shared_ptr<WebhookSink>(const std::string& connection)>;

struct WebhookRouterOptions {
  std::string path_prefix = "/webhooks/";  // must end in '/'
  int retry_after_seconds = 5;             // Retry-After on 503
  // Optional: mlc_webhook_requests_total{connection,outcome}, mlc_webhook_events_accepted_total{connection},
  // mlc_webhook_request_duration_seconds{connection}. Unknown connections are labelled "_unknown" so a
  // scanner cannot grow the label set. Must outlive the router.
  metrics::Registry* metrics = nullptr;
};

class WebhookRouter {
 public:
  explicit WebhookRouter(SinkLookup lookup, WebhookRouterOptions options = {});
  ~WebhookRouter();

  // Registers POST and GET on options.path_prefix (GET: vendors whose validation handshake is a GET).
  void Mount(HttpServer& server);

  // The answer to one request (what the mounted handler sends). Blocks while the sink records.
  Response Handle(const Request& request);

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

// ---- The default durable sink ----

// Calls the plugin's webhook op for `connection`: returns its out document, or its status as an error.
using PluginWebhookFn = std::function<Result<nlohmann::json>(
    const std::string& connection, const nlohmann::json& request, std::string_view body)>;

// One event as recorded in webhook_events.
struct RecordedEvent {
  std::string connection;
  std::string webhook_id;
  int64_t event_index = 0;
  std::string type;
  std::string stream;     // "" when the plugin gave none
  std::string source_id;  // "" when the plugin gave none
};

// Called after a commit that recorded at least one event (on the request's thread; keep it short: e.g.
// wake the engine to pull at once). Exceptions are caught and logged.
using CommitCallback =
    std::function<void(const std::string& connection, const std::vector<RecordedEvent>& events)>;

// A plugin's `webhook` out document, validated.
struct PluginWebhookEvent {
  std::string id;  // may be empty: the body's SHA-256 stands in
  std::string type;
  std::optional<std::string> stream;
  std::optional<std::string> source_id;
  std::optional<std::string> payload_json;  // serialised
};
struct PluginWebhookOut {
  std::optional<WebhookReply> reply{};
  std::vector<PluginWebhookEvent> events;
};
// Errors (Status::Error, naming the offending field): not an object, events not an array of objects, an
// event without a non-empty string "type", a non-string id/stream/source_id, an id over 512 bytes, more than
// 10,000 events, a reply with a status outside 200..599 or a content type with a line break.
Result<PluginWebhookOut> ParsePluginWebhookOut(const nlohmann::json& out);

// "sha256:<hex>" of `body`: the deduplication id of events the plugin gave no id.
std::string BodyDigestId(std::string_view body);

// Records a delivery's events in webhook_events, deduplicated per (connection, id) through webhook_seen, in
// one transaction: a replay, or a concurrent duplicate delivery, inserts nothing. Events are grouped by id
// (event_index numbers them within an id); an id already seen contributes nothing.
class StoreWebhookSink : public WebhookSink {
 public:
  StoreWebhookSink(store::Store* store, PluginWebhookFn plugin, CommitCallback on_commit = {});
  Result<WebhookOutcome> Handle(const std::string& connection, const WebhookRequest& request) override;

 private:
  store::Store* store_;
  PluginWebhookFn plugin_;
  CommitCallback on_commit_;
};

}  // namespace mlc::webhooks

#endif  // MLC_HOST_WEBHOOKS_ROUTER_HPP_
