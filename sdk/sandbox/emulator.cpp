// SandboxServer (the request pipeline and the /_sandbox control API), the emulator registry and option
// loading for the sandbox kit.
#include "mlc/sandbox/emulator.hpp"

#include <algorithm>
#include <cctype>
#include <fstream>
#include <sstream>

#include "mlc/json.hpp"
#include "mlc/sandbox/server.hpp"

namespace mlc::sandbox {

EmulatorContext::EmulatorContext(const EmulatorOptions& opts)
    : options(opts), faults(opts.seed), rate_limiter(clock), webhooks(clock, &stats, opts.webhook_sender) {}

Response Emulator::TooManyRequests(const Request& req, const RateDecision& decision) const {
  Response r = ErrorResponse(req, 429, "Too many requests");
  r.status = 429;
  return r;
}

namespace {
Response ControlError(int status, std::string_view message) {
  return Response::Json(status, {{"error", message}});
}

Response ControlStatus(const Status& s) {
  switch (s.code()) {
    case Code::kNotFound:
      return ControlError(404, s.message());
    case Code::kInvalid:
      return ControlError(400, s.message());
    default:
      return ControlError(500, s.message());
  }
}

std::string Outcome(const Response& r) {
  switch (r.disposition) {
    case Response::Disposition::kReset:
      return "reset";
    case Response::Disposition::kDrop:
      return "dropped";
    case Response::Disposition::kRespond:
      break;
  }
  return std::to_string(r.status);
}
}  // namespace

Result<std::unique_ptr<SandboxServer>> SandboxServer::Start(std::unique_ptr<Emulator> emulator,
                                                            const EmulatorOptions& options) {
  if (!emulator) return Status::Invalid("no emulator to serve");
  std::unique_ptr<SandboxServer> self(new SandboxServer());
  self->context_ = std::make_unique<EmulatorContext>(options);
  self->emulator_ = std::move(emulator);
  if (!options.faults.is_null()) {
    Status s = self->context_->faults.Configure(options.faults);
    if (!s.ok()) return s.Wrap("--faults");
  }
  HttpServerOptions http_options;
  http_options.host = options.host;
  http_options.port = options.port;
  http_options.threads = options.threads;
  http_options.body_limit = options.body_limit;
  SandboxServer* raw = self.get();
  auto http = HttpServer::Create(http_options, [raw](Request& req) { return raw->Dispatch(req); });
  if (!http.ok()) return http.status();
  self->http_ = std::move(*http);
  self->context_->base_url = self->http_->base_url();

  Router& c = self->control_;
  c.Add("GET", "/_sandbox/info", [raw](Request&) {
    nlohmann::json info = raw->Announcement();
    nlohmann::json harness = raw->emulator_->HarnessInfo();
    if (harness.is_object() && !harness.empty()) info["harness"] = std::move(harness);
    return Response::Json(200, info);
  });
  c.Add("GET", "/_sandbox/stats", [raw](Request&) {
    nlohmann::json j = raw->context_->stats.ToJson();
    j["vendor"] = raw->emulator_->ExtraStats();
    const RateLimitOptions rl = raw->context_->rate_limiter.options();
    j["rate_limit"] = {{"limit", rl.limit},
                       {"window_ms", rl.window.count()},
                       {"kind", rl.kind == RateLimitOptions::Window::kFixed ? "fixed" : "sliding"}};
    return Response::Json(200, j);
  });
  c.Add("GET", "/_sandbox/faults",
        [raw](Request&) { return Response::Json(200, raw->context_->faults.ToJson()); });
  c.Add("POST", "/_sandbox/faults", [raw](Request& req) {
    nlohmann::json spec = nlohmann::json::object();
    if (!req.body.empty()) {
      auto doc = req.JsonBody();
      if (!doc.ok()) return ControlError(400, "fault spec: " + doc.status().message());
      spec = *doc;
    }
    Status s = raw->context_->faults.Configure(spec);
    if (!s.ok()) return ControlStatus(s);
    return Response::Json(200, raw->context_->faults.ToJson());
  });
  c.Add("DELETE", "/_sandbox/faults", [raw](Request&) {
    raw->context_->faults.Clear();
    return Response::Json(200, raw->context_->faults.ToJson());
  });
  c.Add("GET", "/_sandbox/objects", [raw](Request&) {
    nlohmann::json types = raw->emulator_->ObjectTypes();
    types.push_back("webhook_deliveries");
    return Response::Json(200, {{"types", types}});
  });
  c.Add("GET", "/_sandbox/objects/{type}", [raw](Request& req) {
    const std::string type = req.Param("type");
    if (type == "webhook_deliveries") return Response::Json(200, raw->context_->webhooks.ToJson());
    auto objects = raw->emulator_->Objects(type);
    if (!objects.ok()) return ControlStatus(objects.status());
    return Response::Json(200, *objects);
  });
  c.Add("POST", "/_sandbox/events", [raw](Request& req) {
    auto doc = req.JsonBody();
    if (!doc.ok()) return ControlError(400, "events: " + doc.status().message());
    if (!doc->is_object() || !doc->contains("type") || !(*doc)["type"].is_string()) {
      return ControlError(400, "events: body must be {\"type\": \"...\", \"count\": N}");
    }
    if (doc->contains("count")) {
      const auto& n = (*doc)["count"];
      if (!n.is_number_integer() || n.get<int64_t>() < 1 || n.get<int64_t>() > 100000) {
        return ControlError(400, "events: count must be an integer from 1 to 100000");
      }
    } else {
      (*doc)["count"] = 1;
    }
    auto result = raw->emulator_->TriggerEvents(*doc);
    if (!result.ok()) return ControlStatus(result.status());
    return Response::Json(200, *result);
  });
  auto clock_json = [raw] {
    const Clock& clock = raw->context_->clock;
    return nlohmann::json{{"now", FormatRfc3339(clock.Now(), true)},
                          {"now_unix", clock.NowUnix()},
                          {"offset_s", static_cast<double>(clock.Offset().count()) / 1000.0}};
  };
  c.Add("GET", "/_sandbox/clock", [clock_json](Request&) { return Response::Json(200, clock_json()); });
  c.Add("POST", "/_sandbox/clock", [raw, clock_json](Request& req) {
    auto doc = req.JsonBody();
    if (!doc.ok() || !doc->is_object()) return ControlError(400, "clock: body must be {\"advance_s\": N}");
    bool acted = false;
    if (auto it = doc->find("advance_s"); it != doc->end()) {
      if (!it->is_number()) return ControlError(400, "clock: advance_s must be a number");
      raw->context_->clock.Advance(
          std::chrono::milliseconds(static_cast<int64_t>(it->get<double>() * 1000.0)));
      acted = true;
    }
    if (auto it = doc->find("offset_s"); it != doc->end()) {
      if (!it->is_number()) return ControlError(400, "clock: offset_s must be a number");
      raw->context_->clock.SetOffset(
          std::chrono::milliseconds(static_cast<int64_t>(it->get<double>() * 1000.0)));
      acted = true;
    }
    if (!acted) return ControlError(400, "clock: expected advance_s or offset_s");
    return Response::Json(200, clock_json());
  });
  c.Add("POST", "/_sandbox/webhooks/flush", [raw](Request& req) {
    int64_t timeout_ms = 10000;
    if (!req.body.empty()) {
      auto doc = req.JsonBody();
      if (doc.ok() && doc->is_object() && doc->contains("timeout_ms") &&
          (*doc)["timeout_ms"].is_number_integer()) {
        timeout_ms = std::clamp<int64_t>((*doc)["timeout_ms"].get<int64_t>(), 0, 120000);
      }
    }
    const bool idle = raw->context_->webhooks.WaitIdle(std::chrono::milliseconds(timeout_ms));
    return Response::Json(200, {{"idle", idle}});
  });
  c.Add("POST", "/_sandbox/reset", [raw](Request&) {
    raw->emulator_->Reset();
    raw->context_->stats.Reset();
    raw->context_->faults.Clear();
    raw->context_->clock.Reset();
    raw->context_->rate_limiter.Reset();
    raw->context_->webhooks.Reset();
    return Response::Json(200, {{"reset", true}});
  });

  Status installed = self->emulator_->Install(self->routes_, *self->context_);
  if (!installed.ok()) return installed.Wrap(self->emulator_->Name() + " emulator");
  std::vector<std::string> keys;
  for (const auto& route : self->routes_.routes()) keys.push_back(route.key);
  self->context_->faults.SetKnownRoutes(std::move(keys));
  self->http_->Start();
  return self;
}

SandboxServer::~SandboxServer() { Stop(); }

void SandboxServer::Stop() {
  if (http_) http_->Stop();
}

uint16_t SandboxServer::port() const { return http_ ? http_->port() : 0; }

nlohmann::json SandboxServer::Announcement() const {
  return {{"vendor", emulator_->Name()},
          {"base_url", context_->base_url},
          {"credentials", emulator_->Credentials()}};
}

Response SandboxServer::DispatchControl(Request& req) {
  Router::Match m = control_.Find(req.method, req.path);
  if (!m.route) {
    return ControlError(m.path_known ? 405 : 404,
                        "no sandbox control endpoint " + req.method + " " + req.path);
  }
  req.params = std::move(m.params);
  req.route = m.route->key;
  return m.route->handler(req);
}

Response SandboxServer::Dispatch(Request& req) {
  if (req.path == "/_sandbox" || req.path.rfind("/_sandbox/", 0) == 0) return DispatchControl(req);

  EmulatorContext& ctx = *context_;
  Router::Match m = routes_.Find(req.method, req.path);
  std::string key;
  if (m.route) {
    key = m.route->key;
    req.params = std::move(m.params);
  } else {
    key = m.path_known ? req.method + " (method not allowed)" : "(no route)";
  }
  req.route = m.route ? key : "";

  const FaultDecision fault = ctx.faults.Decide(req.route, req.method, req.path);
  if (fault.latency_ms > 0) ctx.stats.CountFault("latency");
  Response res;
  switch (fault.kind) {
    case FaultDecision::Kind::kReset:
      ctx.stats.CountFault("reset");
      res = Response::Reset();
      break;
    case FaultDecision::Kind::k429: {
      ctx.stats.CountFault("429");
      RateDecision d;
      d.allowed = false;
      d.limit = ctx.rate_limiter.options().limit;
      d.retry_after = std::chrono::milliseconds(1000);
      res = emulator_->TooManyRequests(req, d);
      break;
    }
    case FaultDecision::Kind::k5xx:
      ctx.stats.CountFault("5xx");
      res = emulator_->ErrorResponse(req, fault.status, "Internal server error (injected)");
      res.status = fault.status;
      break;
    case FaultDecision::Kind::kNone:
    case FaultDecision::Kind::kCommitThenDrop: {
      if (!m.route) {
        res = emulator_->ErrorResponse(req, m.path_known ? 405 : 404,
                                       m.path_known ? "Method Not Allowed" : "Not Found");
        break;
      }
      std::optional<RateDecision> limited;
      if (ctx.rate_limiter.enabled()) {
        if (auto rl_key = emulator_->RateLimitKey(req)) {
          RateDecision d = ctx.rate_limiter.Admit(*rl_key);
          if (!d.allowed) limited = d;
        }
      }
      if (limited) {
        res = emulator_->TooManyRequests(req, *limited);
        break;
      }
      try {
        res = m.route->handler(req);
      } catch (const std::exception& e) {
        res = emulator_->ErrorResponse(req, 500, std::string("emulator error: ") + e.what());
      }
      if (fault.kind == FaultDecision::Kind::kCommitThenDrop) {
        // The handler's write stands; only the response is lost.
        ctx.stats.CountFault("commit_then_drop");
        res.disposition = Response::Disposition::kDrop;
      }
      break;
    }
  }
  res.delay_ms += fault.latency_ms;
  ctx.stats.CountRequest(key, Outcome(res));
  return res;
}

void EmulatorRegistry::Register(std::string name, EmulatorFactory factory) {
  std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
  factories_.insert_or_assign(std::move(name), std::move(factory));
}

Result<std::unique_ptr<Emulator>> EmulatorRegistry::Create(std::string_view name,
                                                           const EmulatorOptions& options) const {
  std::string lower(name);
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
  auto it = factories_.find(lower);
  if (it == factories_.end()) {
    std::string available;
    for (const auto& [n, f] : factories_) available += (available.empty() ? "" : ", ") + n;
    return Status::NotFound(
        "no emulator for vendor '" + std::string(name) +
        "' is built into this binary; available: " + (available.empty() ? "(none)" : available));
  }
  std::unique_ptr<Emulator> emulator = it->second(options);
  if (!emulator) return Status::Error("the " + lower + " emulator factory returned nothing");
  return emulator;
}

std::vector<std::string> EmulatorRegistry::Names() const {
  std::vector<std::string> out;
  for (const auto& [n, f] : factories_) out.push_back(n);
  return out;
}

Result<nlohmann::json> LoadJsonArgument(std::string_view value) {
  std::string text(value);
  std::string source = "inline JSON";
  if (!value.empty() && value.front() == '@') {
    source = std::string(value.substr(1));
    std::ifstream in(source, std::ios::binary);
    if (!in) return Status::Invalid("cannot read '" + source + "'");
    std::ostringstream buf;
    buf << in.rdbuf();
    text = buf.str();
  }
  auto doc = json::Parse(text);
  if (!doc.ok()) return doc.status().Wrap(source);
  return doc;
}

}  // namespace mlc::sandbox
