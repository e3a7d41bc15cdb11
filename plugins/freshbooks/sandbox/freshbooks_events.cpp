// FreshBooks event callbacks (webhooks): callbacks CRUD under /events/account/{account_id}/events/callbacks,
// the verifier handshake, verify/resend, signed form-encoded deliveries to verified callbacks only, and the
// changes POST /_sandbox/events makes happen.
#include <algorithm>

#include "freshbooks_internal.hpp"

namespace mlc::sandbox::freshbooks {

namespace {

// Event names (PD-FB constants, matching FB-DOCS' list); a parent name subscribes to all its children.
const std::set<std::string>& KnownEvents() {
  static const std::set<std::string> kEvents = [] {
    std::set<std::string> out;
    for (const char* parent :
         {"bill", "bill_vendor", "category", "client", "credit_note", "estimate", "expense", "invoice",
          "item", "payment", "project", "recurring", "service", "tax", "time_entry"}) {
      out.insert(parent);
      for (const char* action : {"create", "update", "delete"})
        out.insert(std::string(parent) + "." + action);
    }
    out.insert("estimate.sendByEmail");
    out.insert("invoice.sendByEmail");
    return out;
  }();
  return kEvents;
}

bool Subscribed(const std::string& callback_event, const std::string& name) {
  if (callback_event == name) return true;
  return name.size() > callback_event.size() && name.compare(0, callback_event.size(), callback_event) == 0 &&
         name[callback_event.size()] == '.';
}

bool ValidUri(const std::string& uri) {
  for (const char* scheme : {"http://", "https://"}) {
    const std::string s(scheme);
    if (uri.rfind(s, 0) == 0) {
      const std::string rest = uri.substr(s.size());
      const std::string host = rest.substr(0, rest.find_first_of("/?#"));
      return !host.empty() && host.find(' ') == std::string::npos;
    }
  }
  return false;
}

// FB-PY create_callback_response__validation_error.json: HTTP 400 carrying errno 422.
constexpr std::string_view kSemanticError =
    "The request was well-formed but was unable to be followed due to semantic errors.";

}  // namespace

nlohmann::json FreshBooksEmulator::RenderCallback(const Callback& cb) const {
  return {{"callbackid", cb.id},
          {"verified", cb.verified},
          {"uri", cb.uri},
          {"event", cb.event},
          {"updated_at", FormatRfc3339(cb.updated)}};
}

ParamList FreshBooksEmulator::EventFields(const std::string& name, int64_t object_id) const {
  // The documented order (FB-PY/FB-PHP docs); the signature covers the fields in the order sent.
  return {{"name", name},
          {"object_id", std::to_string(object_id)},
          {"account_id", identity_.account_id},
          {"business_id", std::to_string(identity_.business_id)},
          {"identity_id", std::to_string(identity_.identity_id)},
          {"user_id", std::to_string(identity_.user_id)}};
}

void FreshBooksEmulator::EmitLocked(const std::string& name, int64_t object_id) {
  ++events_emitted_;
  if (!ctx_) return;
  for (const auto& [id, cb] : callbacks_) {
    if (!cb.verified || !Subscribed(cb.event, name)) continue;
    const ParamList fields = EventFields(name, object_id);
    WebhookMessage m;
    m.url = cb.uri;
    m.body = EncodeQueryString(fields);
    m.event_type = name;
    m.content_type = "application/x-www-form-urlencoded";
    // No timestamp in the signed text, so the signature is fixed when the event is queued.
    m.headers = {{"X-FreshBooks-Hmac-SHA256", WebhookSignature(cb.verifier, fields)}};
    ctx_->webhooks.Enqueue(std::move(m));
  }
}

void FreshBooksEmulator::SendVerificationLocked(const Callback& cb) {
  if (!ctx_) return;
  // FB-DOCS: the first POST carries the verification code and the callback's id (FB-PHP reads `verifier`
  // and `object_id`). The `name` value is [UNCONFIRMED]; callback.verify as the brief asks.
  ParamList fields = {
      {"name", "callback.verify"}, {"object_id", std::to_string(cb.id)}, {"verifier", cb.verifier}};
  for (const auto& f : EventFields("callback.verify", cb.id)) {
    if (f.first != "name" && f.first != "object_id") fields.push_back(f);
  }
  WebhookMessage m;
  m.url = cb.uri;
  m.body = EncodeQueryString(fields);
  m.event_type = "callback.verify";
  m.content_type = "application/x-www-form-urlencoded";
  if (settings_.sign_verification)
    m.headers = {{"X-FreshBooks-Hmac-SHA256", WebhookSignature(cb.verifier, fields)}};
  ctx_->webhooks.Enqueue(std::move(m));
}

void FreshBooksEmulator::InstallCallbacks(Router& router) {
  const std::string base = "/events/account/{account_id}/events/callbacks";
  auto body_of = [](const Request& req, nlohmann::json* out, std::vector<std::string>* details) {
    auto doc = req.JsonBody();
    if (!doc.ok() || !doc->is_object()) {
      details->push_back("body: Input should be a valid JSON object");
      return false;
    }
    if (!doc->contains("callback") || !(*doc)["callback"].is_object()) {
      details->push_back("callback: Field required");
      return false;
    }
    *out = (*doc)["callback"];
    return true;
  };
  auto check_fields = [](const nlohmann::json& in, bool create, std::vector<std::string>* details) {
    if (in.contains("event") || create) {
      if (!in.contains("event") || in["event"].is_null()) {
        details->push_back("event: Field required");
      } else if (!in["event"].is_string() || !KnownEvents().count(in["event"].get<std::string>())) {
        details->push_back("event: Value error, Unrecognized event.");
      }
    }
    if (in.contains("uri") || create) {
      if (!in.contains("uri") || in["uri"].is_null()) {
        details->push_back("uri: Field required");
      } else if (!in["uri"].is_string() || !ValidUri(in["uri"].get<std::string>())) {
        details->push_back("uri: Input should be a valid URL, relative URL without a base");
      }
    }
  };

  router.Add(
      "GET", base, Guard(Family::kEvents, [this](Request& req, const TokenGrant&) {
        int64_t page = 1, per_page = 15;
        std::vector<std::string> details;
        std::string event_filter, uri_filter;
        for (const auto& [k, v] : req.query) {
          const bool digits = !v.empty() && v.size() < 10 &&
                              std::all_of(v.begin(), v.end(), [](char c) { return c >= '0' && c <= '9'; });
          if (k == "page") {
            digits ? (void)(page = std::max<int64_t>(1, std::stoll(v)))
                   : details.push_back("page: Input should be a valid integer");
          } else if (k == "per_page") {
            (digits && std::stoll(v) > 0) ? (void)(per_page = std::min<int64_t>(100, std::stoll(v)))
                                          : details.push_back("per_page: Input should be a valid integer");
          } else if (k == "search[event]") {
            event_filter = v;
          } else if (k == "search[uri]") {
            uri_filter = v;
          } else if (k.rfind("search[", 0) == 0) {
            details.push_back(k + ": Unknown filter");
          }
        }
        if (!details.empty()) return EventsError(400, 422, kSemanticError, details);
        std::lock_guard lock(mu_);
        std::vector<const Callback*> picked;
        for (const auto& [id, cb] : callbacks_) {
          // FB-DOCS: the event filter "Matches event and parent event".
          if (!event_filter.empty() && !Subscribed(cb.event, event_filter)) continue;
          if (!uri_filter.empty() && cb.uri != uri_filter) continue;
          picked.push_back(&cb);
        }
        const int64_t total = static_cast<int64_t>(picked.size());
        nlohmann::json items = nlohmann::json::array();
        for (int64_t i = (page - 1) * per_page; i < total && i < page * per_page; ++i) {
          items.push_back(RenderCallback(*picked[static_cast<size_t>(i)]));
        }
        return Response::Json(200, {{"response",
                                     {{"result",
                                       {{"callbacks", items},
                                        {"page", page},
                                        {"pages", (total + per_page - 1) / per_page},
                                        {"per_page", per_page},
                                        {"total", total}}}}}});
      }));

  router.Add("POST", base,
             Guard(Family::kEvents, [this, body_of, check_fields](Request& req, const TokenGrant&) {
               nlohmann::json in;
               std::vector<std::string> details;
               if (body_of(req, &in, &details)) check_fields(in, true, &details);
               if (!details.empty()) return EventsError(400, 422, kSemanticError, details);
               std::lock_guard lock(mu_);
               Callback cb;
               cb.id = NextId("callbacks");
               cb.event = in["event"].get<std::string>();
               cb.uri = in["uri"].get<std::string>();
               cb.verifier = rng_.Base62(32);
               cb.updated = Now();
               callbacks_[cb.id] = cb;
               SendVerificationLocked(cb);
               return Response::Json(200, {{"response", {{"result", {{"callback", RenderCallback(cb)}}}}}});
             }));

  router.Add(
      "GET", base + "/{id}", Guard(Family::kEvents, [this](Request& req, const TokenGrant&) {
        std::lock_guard lock(mu_);
        auto id = AsId(nlohmann::json(req.Param("id")));
        auto it = id ? callbacks_.find(*id) : callbacks_.end();
        if (it == callbacks_.end()) return EventsError(404, 404, "Requested resource could not be found.");
        return Response::Json(200, {{"response", {{"result", {{"callback", RenderCallback(it->second)}}}}}});
      }));

  router.Add("PUT", base + "/{id}",
             Guard(Family::kEvents, [this, body_of, check_fields](Request& req, const TokenGrant&) {
               std::lock_guard lock(mu_);
               auto id = AsId(nlohmann::json(req.Param("id")));
               auto it = id ? callbacks_.find(*id) : callbacks_.end();
               if (it == callbacks_.end())
                 return EventsError(404, 404, "Requested resource could not be found.");
               nlohmann::json in;
               std::vector<std::string> details;
               if (body_of(req, &in, &details)) check_fields(in, false, &details);
               Callback& cb = it->second;
               // Verify: {"callback": {"verifier": "<code>"}} (FB-PY verify; FB-POSTMAN adds callback_id).
               if (details.empty() && in.contains("verifier")) {
                 if (!in["verifier"].is_string() || in["verifier"].get<std::string>() != cb.verifier) {
                   details.push_back("verifier: Value error, Invalid verifier.");
                 }
               }
               if (details.empty() && in.contains("resend") && !in["resend"].is_boolean()) {
                 details.push_back("resend: Input should be a valid boolean");
               }
               if (!details.empty()) return EventsError(400, 422, kSemanticError, details);
               bool resend = in.contains("resend") && in["resend"].get<bool>();
               if (in.contains("event")) cb.event = in["event"].get<std::string>();
               if (in.contains("uri") && in["uri"].get<std::string>() != cb.uri) {
                 // A new address has to prove itself again with a new code.
                 cb.uri = in["uri"].get<std::string>();
                 cb.verified = false;
                 cb.verifier = rng_.Base62(32);
                 resend = true;
               }
               if (in.contains("verifier")) cb.verified = true;
               cb.updated = Now();
               if (resend) SendVerificationLocked(cb);
               return Response::Json(200, {{"response", {{"result", {{"callback", RenderCallback(cb)}}}}}});
             }));

  router.Add("DELETE", base + "/{id}", Guard(Family::kEvents, [this](Request& req, const TokenGrant&) {
               std::lock_guard lock(mu_);
               auto id = AsId(nlohmann::json(req.Param("id")));
               auto it = id ? callbacks_.find(*id) : callbacks_.end();
               if (it == callbacks_.end())
                 return EventsError(404, 404, "Requested resource could not be found.");
               callbacks_.erase(it);
               return Response::Empty(204);  // FB-PY tests: delete answers 204
             }));
}

Result<nlohmann::json> FreshBooksEmulator::MakeChangesLocked(const std::string& type, int64_t count) {
  const size_t dot = type.find('.');
  const std::string object = type.substr(0, dot);
  const std::string action = dot == std::string::npos ? "" : type.substr(dot + 1);
  static const std::map<std::string, std::string> kStores = {
      {"expense", "expenses"}, {"bill", "bills"}, {"bill_vendor", "bill_vendors"}, {"payment", "payments"}};
  auto store_it = kStores.find(object);
  if (store_it == kStores.end() || (action != "create" && action != "update" && action != "delete") ||
      (object == "payment" && action != "create")) {
    return Status::NotFound("unknown freshbooks event type '" + type +
                            "'; use expense|bill|bill_vendor.create|update|delete, payment.create or "
                            "errors_with_http_200");
  }
  std::map<int64_t, Record>& store = object == "expense"   ? expenses_
                                     : object == "bill"    ? bills_
                                     : object == "payment" ? payments_
                                                           : vendors_;
  const int64_t today = *ParseCivilDate(Today());
  const auto before = ctx_ ? ctx_->webhooks.Deliveries().size() : 0;
  nlohmann::json ids = nlohmann::json::array();
  for (int64_t n = 0; n < count; ++n) {
    std::vector<FieldError> errors;
    if (action == "create") {
      Record r;
      if (object == "expense") {
        ApplyExpense(RandomExpenseInput(events_rng_, today), nullptr, &r, &errors);
      } else if (object == "bill") {
        ApplyBill(RandomBillInput(events_rng_, today), nullptr, &r, &errors);
      } else if (object == "bill_vendor") {
        ApplyVendor(RandomVendorInput(events_rng_, "Vendor " + events_rng_.UpperAlnum(6)), nullptr, &r,
                    &errors);
      } else {
        ApplyPayment(RandomPaymentInput(events_rng_, today), nullptr, &r, &errors);
      }
      if (!errors.empty())
        return Status::Error("generated " + object + " was rejected: " + errors.front().message);
      r.id = NextId(store_it->second);
      r.created = r.updated = Now();
      store[r.id] = r;
      if (object == "expense") IndexExpense(r);
      EmitLocked(type, r.id);
      ids.push_back(r.id);
      continue;
    }
    std::vector<int64_t> live;
    for (const auto& [id, r] : store) {
      if (r.vis_state != kDeleted) live.push_back(id);
    }
    if (live.empty()) return Status::Invalid("no live " + object + " left to " + action);
    Record& r =
        store[live[static_cast<size_t>(events_rng_.Uniform(0, static_cast<int64_t>(live.size()) - 1))]];
    if (action == "delete") {
      r.vis_state = kDeleted;
    } else {
      Record out = r;
      if (object == "expense") {
        ApplyExpense({{"notes", (r.data["notes"].is_string() ? r.data["notes"].get<std::string>() : "") +
                                    " (edited)"}},
                     &r, &out, &errors);
      } else if (object == "bill") {
        ApplyBill({{"due_offset_days", events_rng_.Uniform(15, 60)}}, &r, &out, &errors);
      } else {
        ApplyVendor({{"phone", "415555" + events_rng_.Digits(4)}}, &r, &out, &errors);
      }
      if (!errors.empty()) return Status::Error("generated update was rejected: " + errors.front().message);
      r = out;
    }
    r.updated = Now();
    if (object == "expense") IndexExpense(r);
    EmitLocked(type, r.id);
    ids.push_back(r.id);
  }
  const auto after = ctx_ ? ctx_->webhooks.Deliveries().size() : 0;
  return nlohmann::json{
      {"type", type}, {"count", count}, {"object_ids", ids}, {"deliveries_queued", after - before}};
}

}  // namespace mlc::sandbox::freshbooks
