// Webhook router and the store-backed sink (see router.hpp).
#include "webhooks/router.hpp"

#include <algorithm>
#include <chrono>
#include <exception>
#include <utility>

#include <openssl/evp.h>

#include "core/log.hpp"
#include "core/redact.hpp"
#include "store/store.hpp"
#include "webhooks/metrics.hpp"

namespace mlc::webhooks {
namespace {

constexpr size_t kMaxEvents = 10000;
constexpr size_t kMaxIdBytes = 512;
constexpr size_t kMaxConnectionName = 128;
constexpr size_t kMaxLoggedMessage = 200;
constexpr const char* kUnknownLabel = "_unknown";

// Replaces every byte sequence that is not well-formed UTF-8 with U+FFFD.
std::string SanitizeUtf8(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    size_t len = 0;
    uint32_t cp = 0;
    if (c < 0x80) {
      out += static_cast<char>(c);
      ++i;
      continue;
    } else if ((c & 0xE0) == 0xC0) {
      len = 2;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      len = 3;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      len = 4;
      cp = c & 0x07;
    }
    bool ok = len > 0 && i + len <= s.size();
    for (size_t k = 1; ok && k < len; ++k) {
      const auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80) ok = false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    // Overlong forms, surrogates and values past U+10FFFF are not UTF-8 either.
    if (ok && ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
               (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF)) {
      ok = false;
    }
    if (ok) {
      out.append(s.substr(i, len));
      i += len;
    } else {
      out += "\xEF\xBF\xBD";
      ++i;
    }
  }
  return out;
}

bool IsConnectionName(std::string_view s) {
  if (s.empty() || s.size() > kMaxConnectionName) return false;
  for (char c : s) {
    const bool ok =
        (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

bool HasLineBreak(std::string_view s) {
  return s.find_first_of(std::string_view("\r\n\0", 3)) != std::string_view::npos;
}

std::string ShortMessage(const Status& s) {
  std::string m = redact::RedactText(s.message());
  if (m.size() > kMaxLoggedMessage) m = m.substr(0, kMaxLoggedMessage) + "...";
  return m;
}

Result<std::optional<std::string>> OptionalString(const nlohmann::json& obj, const char* key, size_t index) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return std::optional<std::string>();
  if (!it->is_string()) {
    return Status::Error("plugin returned a malformed webhook reply: events[" + std::to_string(index) + "]." +
                         key + " is not a string");
  }
  return std::optional<std::string>(it->get<std::string>());
}

}  // namespace

nlohmann::json WebhookRequest::ToPluginRequest() const {
  nlohmann::json q = nlohmann::json::object();
  for (const auto& [k, v] : query) q[SanitizeUtf8(k)] = SanitizeUtf8(v);
  nlohmann::json h = nlohmann::json::object();
  for (const auto& [k, v] : headers) h[SanitizeUtf8(k)] = SanitizeUtf8(v);
  return {{"method", SanitizeUtf8(method)},
          {"path", SanitizeUtf8(path)},
          {"query", std::move(q)},
          {"headers", std::move(h)},
          {"received_at_ms", received_at_ms}};
}

Result<PluginWebhookOut> ParsePluginWebhookOut(const nlohmann::json& out) {
  const std::string bad = "plugin returned a malformed webhook reply: ";
  if (!out.is_object()) return Status::Error(bad + "not a JSON object");
  PluginWebhookOut parsed;
  if (auto it = out.find("reply"); it != out.end() && !it->is_null()) {
    if (!it->is_object()) return Status::Error(bad + "reply is not an object");
    WebhookReply reply;
    auto status = it->find("status");
    if (status != it->end()) {
      if (!status->is_number_integer() || status->get<int64_t>() < 200 || status->get<int64_t>() > 599) {
        return Status::Error(bad + "reply.status is not an integer in 200..599");
      }
      reply.status = static_cast<int>(status->get<int64_t>());
    }
    if (auto ct = it->find("content_type"); ct != it->end() && !ct->is_null()) {
      if (!ct->is_string() || HasLineBreak(ct->get<std::string>())) {
        return Status::Error(bad + "reply.content_type is not a one-line string");
      }
      if (!ct->get<std::string>().empty()) reply.content_type = ct->get<std::string>();
    }
    if (auto body = it->find("body"); body != it->end() && !body->is_null()) {
      if (!body->is_string()) return Status::Error(bad + "reply.body is not a string");
      reply.body = body->get<std::string>();
    }
    parsed.reply = std::move(reply);
  }
  auto events = out.find("events");
  if (events == out.end() || events->is_null()) return parsed;
  if (!events->is_array()) return Status::Error(bad + "events is not an array");
  if (events->size() > kMaxEvents) {
    return Status::Error(bad + "more than " + std::to_string(kMaxEvents) + " events in one delivery");
  }
  for (size_t i = 0; i < events->size(); ++i) {
    const nlohmann::json& e = (*events)[i];
    const std::string where = "events[" + std::to_string(i) + "]";
    if (!e.is_object()) return Status::Error(bad + where + " is not an object");
    PluginWebhookEvent ev;
    auto type = e.find("type");
    if (type == e.end() || !type->is_string() || type->get<std::string>().empty()) {
      return Status::Error(bad + where + ".type is missing or not a non-empty string");
    }
    ev.type = type->get<std::string>();
    MLC_ASSIGN_OR_RETURN(std::optional<std::string> id, OptionalString(e, "id", i));
    ev.id = id.value_or("");
    if (ev.id.size() > kMaxIdBytes) {
      return Status::Error(bad + where + ".id is longer than " + std::to_string(kMaxIdBytes) + " bytes");
    }
    MLC_ASSIGN_OR_RETURN(ev.stream, OptionalString(e, "stream", i));
    MLC_ASSIGN_OR_RETURN(ev.source_id, OptionalString(e, "source_id", i));
    if (auto p = e.find("payload"); p != e.end() && !p->is_null()) {
      ev.payload_json = p->dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    }
    parsed.events.push_back(std::move(ev));
  }
  return parsed;
}

std::string BodyDigestId(std::string_view body) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_Digest(body.data(), body.size(), digest, &len, EVP_sha256(), nullptr) != 1) len = 0;
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "sha256:";
  for (unsigned int i = 0; i < len; ++i) {
    out += kHex[digest[i] >> 4];
    out += kHex[digest[i] & 0xF];
  }
  return out;
}

// ---- StoreWebhookSink ----

StoreWebhookSink::StoreWebhookSink(store::Store* store, PluginWebhookFn plugin, CommitCallback on_commit)
    : store_(store), plugin_(std::move(plugin)), on_commit_(std::move(on_commit)) {}

Result<WebhookOutcome> StoreWebhookSink::Handle(const std::string& connection,
                                                const WebhookRequest& request) {
  if (!plugin_) return Status::Error("webhook sink has no plugin to verify with");
  MLC_ASSIGN_OR_RETURN(nlohmann::json out, plugin_(connection, request.ToPluginRequest(), request.body));
  MLC_ASSIGN_OR_RETURN(PluginWebhookOut parsed, ParsePluginWebhookOut(out));

  WebhookOutcome outcome;
  outcome.events = parsed.events.size();
  outcome.reply = std::move(parsed.reply);
  if (parsed.events.empty()) return outcome;  // a handshake, or a notification with nothing to fetch

  // Group by deduplication id, in order of first appearance.
  std::vector<std::pair<std::string, std::vector<const PluginWebhookEvent*>>> groups;
  std::string digest;
  for (const PluginWebhookEvent& ev : parsed.events) {
    std::string id = ev.id;
    if (id.empty()) {
      if (digest.empty()) digest = BodyDigestId(request.body);
      id = digest;
    }
    auto it = std::find_if(groups.begin(), groups.end(), [&](const auto& g) { return g.first == id; });
    if (it == groups.end()) {
      groups.emplace_back(std::move(id), std::vector<const PluginWebhookEvent*>{&ev});
    } else {
      it->second.push_back(&ev);
    }
  }
  for (const auto& g : groups) outcome.webhook_ids.push_back(g.first);

  const int64_t received_at = request.received_at_ms > 0
                                  ? request.received_at_ms
                                  : std::chrono::duration_cast<std::chrono::milliseconds>(
                                        std::chrono::system_clock::now().time_since_epoch())
                                        .count();
  std::vector<RecordedEvent> recorded;
  auto opt = [](const std::optional<std::string>& v) -> store::Value {
    if (v) return *v;
    return nullptr;
  };
  Status s = store_->Transaction([&](store::Tx& tx) -> Status {
    recorded.clear();
    for (const auto& [id, events] : groups) {
      int64_t changes = 0;
      MLC_RETURN_IF_ERROR(
          tx.Exec("INSERT INTO webhook_seen (connection, webhook_id, received_at) VALUES ($1, $2, $3) "
                  "ON CONFLICT (connection, webhook_id) DO NOTHING",
                  {connection, id, received_at}, &changes));
      if (changes == 0) continue;  // seen before: a replay of this id
      for (size_t i = 0; i < events.size(); ++i) {
        const PluginWebhookEvent& ev = *events[i];
        MLC_RETURN_IF_ERROR(
            tx.Exec("INSERT INTO webhook_events (connection, webhook_id, event_index, type, stream, "
                    "source_id, payload, "
                    "received_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                    {connection, id, static_cast<int64_t>(i), ev.type, opt(ev.stream), opt(ev.source_id),
                     opt(ev.payload_json), received_at}));
        recorded.push_back({connection, id, static_cast<int64_t>(i), ev.type, ev.stream.value_or(""),
                            ev.source_id.value_or("")});
      }
    }
    return Status::Ok();
  });
  if (!s.ok()) return s.Wrap("recording webhook events");
  outcome.accepted = recorded.size();
  outcome.duplicate = recorded.empty();
  if (!recorded.empty() && on_commit_) {
    try {
      on_commit_(connection, recorded);
    } catch (const std::exception& e) {
      Log().error("webhook {}: commit callback threw: {}", connection, redact::RedactText(e.what()));
    } catch (...) {
      Log().error("webhook {}: commit callback threw", connection);
    }
  }
  return outcome;
}

// ---- WebhookRouter ----

struct WebhookRouter::Impl {
  SinkLookup lookup;
  WebhookRouterOptions options;
  metrics::CounterFamily* requests = nullptr;
  metrics::CounterFamily* accepted = nullptr;
  metrics::HistogramFamily* duration = nullptr;

  void Record(const std::string& label, const char* outcome, size_t n_accepted, double seconds) {
    if (requests) requests->WithLabels({label, outcome}).Inc();
    if (accepted && n_accepted > 0) accepted->WithLabels({label}).Inc(static_cast<double>(n_accepted));
    if (duration) duration->WithLabels({label}).Observe(seconds);
  }

  Response Handle(const Request& request);
};

WebhookRouter::WebhookRouter(SinkLookup lookup, WebhookRouterOptions options)
    : impl_(std::make_shared<Impl>()) {
  impl_->lookup = std::move(lookup);
  impl_->options = std::move(options);
  if (impl_->options.path_prefix.empty() || impl_->options.path_prefix.back() != '/') {
    impl_->options.path_prefix += '/';
  }
  if (metrics::Registry* reg = impl_->options.metrics) {
    auto requests = reg->AddCounter("mlc_webhook_requests_total",
                                    "Webhook requests by connection and outcome.", {"connection", "outcome"});
    auto accepted = reg->AddCounter("mlc_webhook_events_accepted_total",
                                    "Webhook events durably recorded, by connection.", {"connection"});
    auto duration = reg->AddHistogram("mlc_webhook_request_duration_seconds",
                                      "Time to verify and record a webhook request, by connection.",
                                      metrics::DefaultLatencyBuckets(), {"connection"});
    if (requests.ok()) impl_->requests = *requests;
    if (accepted.ok()) impl_->accepted = *accepted;
    if (duration.ok()) impl_->duration = *duration;
    if (!requests.ok() || !accepted.ok() || !duration.ok()) {
      Log().error("webhooks: metrics could not be registered (a metric of the same name exists)");
    }
  }
}

WebhookRouter::~WebhookRouter() = default;

void WebhookRouter::Mount(HttpServer& server) {
  std::shared_ptr<Impl> impl = impl_;
  auto handler = [impl](const Request& req, Responder responder) { responder.Send(impl->Handle(req)); };
  server.Route("POST", impl_->options.path_prefix, handler);
  server.Route("GET", impl_->options.path_prefix, handler);
}

Response WebhookRouter::Handle(const Request& request) { return impl_->Handle(request); }

Response WebhookRouter::Impl::Handle(const Request& request) {
  Impl& impl = *this;
  const auto start = std::chrono::steady_clock::now();
  auto elapsed = [&start] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  };
  const std::string& prefix = impl.options.path_prefix;
  const std::string_view name =
      request.path.size() > prefix.size() && request.path.compare(0, prefix.size(), prefix) == 0
          ? std::string_view(request.path).substr(prefix.size())
          : std::string_view();
  std::shared_ptr<WebhookSink> sink;
  const std::string connection(IsConnectionName(name) ? name : std::string_view());
  if (!connection.empty() && impl.lookup) sink = impl.lookup(connection);
  if (!sink) {
    impl.Record(kUnknownLabel, "unknown_connection", 0, elapsed());
    Log().info("webhook: request for an unknown connection refused (404)");
    return Response::Json(404, {{"error", "unknown connection"}});
  }

  WebhookRequest wr{request.method,  request.path, request.query,
                    request.headers, request.body, request.received_at_ms};
  Result<WebhookOutcome> result = Status::Error("webhook sink threw");
  try {
    result = sink->Handle(connection, wr);
  } catch (const std::exception& e) {
    result = Status::Error(std::string("webhook sink threw: ") + e.what());
  } catch (...) {
  }

  Response response;
  const char* outcome = "error";
  size_t accepted = 0;
  if (result.ok()) {
    const WebhookOutcome& o = *result;
    accepted = o.accepted;
    if (o.duplicate) {
      outcome = "duplicate";
      response =
          Response::Json(409, {{"error", "duplicate"}, {"message", "this webhook was already received"}});
    } else if (o.reply) {
      outcome = o.events > 0 ? "accepted" : "handshake";
      response.status = o.reply->status;
      response.content_type = o.reply->content_type;
      response.body = o.reply->body;
    } else {
      outcome = "accepted";
      response = Response::Json(200, {{"accepted", o.accepted}});
    }
    std::string ids;
    for (size_t i = 0; i < o.webhook_ids.size() && i < 5; ++i) ids += (i ? ", " : "") + o.webhook_ids[i];
    if (o.webhook_ids.size() > 5) ids += ", ...";
    Log().info("webhook {}: {} ({} of {} events recorded{}{}) -> {}", connection, outcome, o.accepted,
               o.events, ids.empty() ? "" : "; ids ", redact::RedactText(ids), response.status);
  } else {
    const Status& s = result.status();
    switch (s.code()) {
      case Code::kAuth:
        outcome = "unauthorized";
        response = Response::Json(401, {{"error", "unauthorized"}});
        break;
      case Code::kInvalid:
        outcome = "invalid";
        response = Response::Json(400, {{"error", "invalid"},
                                        {"message",
                                         "the request was malformed, stale or outside the "
                                         "accepted time window"}});
        break;
      case Code::kRetry:
      case Code::kUncertain:  // docs/abi.md: outside write, UNCERTAIN is handled like RETRY
        outcome = "retry";
        response = Response::Json(503, {{"error", "unavailable"}, {"message", "try again later"}});
        response.headers.emplace_back("Retry-After", std::to_string(impl.options.retry_after_seconds));
        break;
      case Code::kNotFound:
        outcome = "unknown_connection";
        response = Response::Json(404, {{"error", "unknown connection"}});
        break;
      default:
        outcome = "error";
        response = Response::Json(500, {{"error", "internal"}});
        break;
    }
    Log().warn("webhook {}: {} -> {}: {}", connection, outcome, response.status, ShortMessage(s));
  }
  impl.Record(connection, outcome, accepted, elapsed());
  return response;
}

}  // namespace mlc::webhooks
