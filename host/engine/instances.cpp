// StoreHostContext and StoreInstanceFactory: plugin instances whose host services live in the store.
#include "engine/instances.hpp"

#include <algorithm>

#include "core/log.hpp"
#include "core/redact.hpp"
#include "engine/ids.hpp"
#include "store/kv.hpp"

namespace mlc::engine {
namespace {

Code Fail(const Status& s, std::string* err) {
  *err = s.message();
  return s.code();
}

}  // namespace

StoreHostContext::StoreHostContext(store::Store& store, std::string connection,
                                   std::map<std::string, std::string> secrets)
    : store_(store),
      connection_(std::move(connection)),
      scope_("conn:" + connection_),
      secrets_(secrets.begin(), secrets.end()) {
  for (const auto& [name, value] : secrets_) redact::RegisterSecret(value);
}

StoreHostContext::StoreHostContext(store::Store& store, std::string connection,
                                   std::map<std::string, std::string> secrets, vault::Vault* vault,
                                   std::vector<std::string> writable_secrets)
    : store_(store),
      connection_(std::move(connection)),
      scope_("conn:" + connection_),
      secrets_(secrets.begin(), secrets.end()),
      vault_(vault),
      writable_secrets_(std::move(writable_secrets)) {
  for (const auto& [name, value] : secrets_) redact::RegisterSecret(value);
}

Code StoreHostContext::SecretPut(std::string_view name, std::string_view value, std::string* err) {
  // No "secret_put:" prefix: the redactor masks whatever follows a secret-like word and a colon.
  const std::string what = "cannot store secret '" + std::string(name) + "' for connection " + connection_;
  if (name.empty()) return Fail(Status::Invalid("cannot store a secret with an empty name"), err);
  if (vault_ == nullptr) {
    return Fail(Status::Invalid(what + ": it needs the vault, but this host context has none (no master key "
                                       "configured)"),
                err);
  }
  if (std::find(writable_secrets_.begin(), writable_secrets_.end(), name) == writable_secrets_.end()) {
    return Fail(Status::Invalid(what + ": it is not declared under 'secrets' in the plugin's manifest"), err);
  }
  // A fixed secret was given by whoever set this context up; a plugin does not overwrite it.
  if (secrets_.find(name) != secrets_.end()) {
    return Fail(Status::Invalid(what + ": it is fixed by the host's configuration; cannot be written"), err);
  }
  // Vault::Put: one transaction, sealed, and the value registered with the redactor.
  if (Status s = vault_->Put(connection_, name, value); !s.ok()) return Fail(s.Wrap(what), err);
  return Code::kOk;
}

Code StoreHostContext::Http(std::string_view, std::string_view, std::string*, std::string*,
                            std::string* err) {
  return Fail(Status::Error("connection " + connection_ + " has no HTTP service in this host context"), err);
}

Code StoreHostContext::SecretGet(std::string_view name, std::string* out, std::string* err) {
  auto it = secrets_.find(name);
  if (it != secrets_.end()) {
    *out = it->second;
    return Code::kOk;
  }
  // Secrets the plugin stored with SecretPut.
  if (vault_ != nullptr &&
      std::find(writable_secrets_.begin(), writable_secrets_.end(), name) != writable_secrets_.end()) {
    auto v = vault_->Get(connection_, name);
    if (v.ok()) {
      *out = std::move(*v);
      return Code::kOk;
    }
    if (v.status().code() != Code::kNotFound) return Fail(v.status(), err);
  }
  return Fail(Status::NotFound("no secret '" + std::string(name) + "'"), err);
}

Code StoreHostContext::StateGet(std::string_view key, std::string* out, std::string* err) {
  if (key.empty()) return Fail(Status::Invalid("state key is empty"), err);
  auto v = store::KvGet(store_, scope_, key);
  if (!v.ok()) return Fail(v.status(), err);
  if (!*v) return Fail(Status::NotFound("no state '" + std::string(key) + "'"), err);
  *out = std::move(**v);
  return Code::kOk;
}

Code StoreHostContext::StatePut(std::string_view key, std::string_view value, std::string* err) {
  if (key.empty()) return Fail(Status::Invalid("state key is empty"), err);
  Status s = store::KvPut(store_, scope_, key, value, SystemNowMs());
  return s.ok() ? Code::kOk : Fail(s, err);
}

Code StoreHostContext::BlobPut(std::string_view content_type, std::string_view bytes, std::string* id_out,
                               std::string* err) {
  auto id = store::BlobPut(store_, content_type.empty() ? "application/octet-stream" : content_type, bytes,
                           SystemNowMs());
  if (!id.ok()) return Fail(id.status(), err);
  *id_out = std::move(*id);
  return Code::kOk;
}

Code StoreHostContext::BlobGet(std::string_view id, std::string* out, std::string* content_type_out,
                               std::string* err) {
  auto blob = store::BlobGet(store_, id);
  if (!blob.ok()) return Fail(blob.status(), err);
  if (!*blob) return Fail(Status::NotFound("no blob " + std::string(id)), err);
  *out = std::move((*blob)->data);
  *content_type_out = std::move((*blob)->content_type);
  return Code::kOk;
}

void StoreHostContext::Log(int32_t level, std::string_view message) {
  const std::string line = "[" + connection_ + "] " + redact::RedactText(message);
  switch (level) {
    case MLC_LOG_DEBUG:
      mlc::Log().debug("{}", line);
      break;
    case MLC_LOG_INFO:
      mlc::Log().info("{}", line);
      break;
    case MLC_LOG_WARN:
      mlc::Log().warn("{}", line);
      break;
    default:
      mlc::Log().error("{}", line);
      break;
  }
}

int64_t StoreHostContext::NowMs() { return SystemNowMs(); }

Status StoreInstanceFactory::AddConnection(const std::string& name,
                                           std::shared_ptr<const loader::LoadedPlugin> plugin,
                                           nlohmann::json settings,
                                           std::map<std::string, std::string> secrets,
                                           std::optional<int> concurrency) {
  if (!plugin) return Status::Invalid("connection " + name + ": no plugin");
  if (name.empty()) return Status::Invalid("connection name is empty");
  std::lock_guard lock(mu_);
  Entry e;
  e.plugin = std::move(plugin);
  e.settings = std::move(settings);
  e.concurrency = concurrency;
  std::vector<std::string> declared;
  if (auto it = e.plugin->manifest.find("secrets"); it != e.plugin->manifest.end() && it->is_array()) {
    for (const auto& s : *it) {
      if (s.is_object() && s.contains("name") && s["name"].is_string())
        declared.push_back(s["name"].get<std::string>());
    }
  }
  e.context =
      std::make_unique<StoreHostContext>(store_, name, std::move(secrets), vault_, std::move(declared));
  entries_[name] = std::move(e);
  return Status::Ok();
}

Result<const StoreInstanceFactory::Entry*> StoreInstanceFactory::Find(std::string_view connection) const {
  std::lock_guard lock(mu_);
  auto it = entries_.find(connection);
  if (it == entries_.end())
    return Status::NotFound("connection " + std::string(connection) + " is not configured");
  return &it->second;
}

Result<std::unique_ptr<loader::PluginInstance>> StoreInstanceFactory::Open(std::string_view connection) {
  MLC_ASSIGN_OR_RETURN(const Entry* e, Find(connection));
  return loader::PluginInstance::Open(e->plugin, e->context.get(), e->settings);
}

Result<nlohmann::json> StoreInstanceFactory::Manifest(std::string_view connection) {
  MLC_ASSIGN_OR_RETURN(const Entry* e, Find(connection));
  return e->plugin->manifest;
}

Status StoreInstanceFactory::ReportAuthFailure(std::string_view connection, std::string_view message) {
  return SetConnectionStatus(store_, connection, "needs_reauth", message, SystemNowMs());
}

std::optional<int> StoreInstanceFactory::Concurrency(std::string_view connection) {
  auto e = Find(connection);
  if (!e.ok()) return std::nullopt;
  return (*e)->concurrency;
}

Status SetConnectionStatus(store::Executor& db, std::string_view connection, std::string_view status,
                           std::string_view message, int64_t now_ms) {
  return db.Exec(
      "INSERT INTO connections_state (connection, status, message, updated_at) VALUES ($1, $2, $3, $4) "
      "ON CONFLICT (connection) DO UPDATE SET status = excluded.status, message = excluded.message, "
      "updated_at = excluded.updated_at",
      {std::string(connection), std::string(status), redact::RedactText(message), now_ms});
}

}  // namespace mlc::engine
