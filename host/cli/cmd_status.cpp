// `mlc status [--json]`: every configured connection with its plugin, auth kind, health (ok, needs_reauth,
// error + message), token expiry, static-token idle expiry and open alerts. Reads the store and the plugin
// manifests only: no vault key and no plugin code are needed.
#include <algorithm>
#include <filesystem>
#include <iostream>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "auth/auth_spec.hpp"
#include "auth/auth_state.hpp"
#include "cli/commands.hpp"
#include "config/config.hpp"
#include "core/redact.hpp"
#include "loader/loader.hpp"
#include "store/store.hpp"

namespace mlc::cli {

namespace {

constexpr int64_t kMsPerDay = 24LL * 3600 * 1000;

struct StatusOptions {
  bool json = false;
};

// Manifests by plugin name, read from the files without loading them.
std::map<std::string, nlohmann::json> ReadManifests(const std::vector<std::string>& dirs) {
  std::map<std::string, nlohmann::json> out;
  for (const auto& dir : dirs) {
    std::error_code ec;
    std::vector<std::filesystem::path> files;
    for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
      if (entry.path().extension() == ".so") files.push_back(entry.path());
    }
    std::sort(files.begin(), files.end());
    for (const auto& f : files) {
      auto manifest = loader::PluginRegistry::InspectFile(f.string());
      if (!manifest.ok() || !manifest->is_object()) continue;
      const std::string name = manifest->value("name", std::string());
      if (!name.empty() && !out.count(name)) out[name] = std::move(*manifest);
    }
  }
  return out;
}

int64_t SettingDays(const nlohmann::json& settings, const char* key, int64_t fallback) {
  if (settings.is_object()) {
    auto it = settings.find(key);
    if (it != settings.end() && (it->is_number_integer() || it->is_number_unsigned())) {
      return std::max<int64_t>(0, it->get<int64_t>());
    }
  }
  return fallback;
}

int RunStatus(const GlobalOptions& opts, const StatusOptions& so) {
  if (opts.config_path.empty()) {
    std::cerr << "mlc status: no configuration: pass --config FILE or set MLC_CONFIG\n";
    return kExitUsage;
  }
  config::LoadResult loaded = config::LoadConfig(opts.config_path);
  if (!loaded.ok()) {
    for (const auto& e : loaded.errors) std::cerr << "mlc status: " << e.ToString() << "\n";
    return kExitConfig;
  }
  const config::Config& cfg = loaded.config;
  auto store = store::Store::Open({.path = cfg.store_path, .synchronous = cfg.store_synchronous});
  if (!store.ok()) {
    std::cerr << "mlc status: " << redact::RedactText(store.status().message()) << "\n";
    return kExitStore;
  }
  const auto manifests = ReadManifests(cfg.plugin_dirs);

  nlohmann::json doc = {{"connections", nlohmann::json::array()}};
  size_t open_alerts = 0;
  for (const auto& [name, conn] : cfg.connections) {
    nlohmann::json c = {{"name", name}, {"plugin", conn.plugin}};
    std::optional<auth::AuthSpec> spec;
    if (auto m = manifests.find(conn.plugin); m != manifests.end()) {
      if (auto s = auth::AuthSpec::FromManifest(m->second); s.ok()) spec = *s;
    }
    c["auth_kind"] = spec ? std::string(auth::AuthKindName(spec->kind)) : "unknown";
    auto snap = auth::ReadAuthSnapshot(**store, name);
    if (!snap.ok()) {
      std::cerr << "mlc status: " << redact::RedactText(snap.status().message()) << "\n";
      return kExitStore;
    }
    if (snap->status) {
      c["status"] = snap->status->status;
      c["message"] = snap->status->message;
      c["status_updated_at"] = auth::FormatUtc(snap->status->updated_at_ms);
    } else {
      // Nothing has used the connection yet.
      c["status"] = "unknown";
      c["message"] = spec ? "" : "plugin '" + conn.plugin + "' not found in the plugin directories";
    }
    c["token_expires_at"] = snap->access_expires_at_ms
                                ? nlohmann::json(auth::FormatUtc(*snap->access_expires_at_ms))
                                : nlohmann::json(nullptr);
    c["idle_expires_at"] = nullptr;
    c["last_used_at"] = nullptr;
    if (spec && spec->kind == auth::AuthKind::kStaticBearer) {
      const int64_t days = SettingDays(conn.settings, "idle_expiry_days", spec->idle_expiry_days);
      if (snap->last_used_ms) {
        c["last_used_at"] = auth::FormatUtc(*snap->last_used_ms);
        if (days > 0) c["idle_expires_at"] = auth::FormatUtc(*snap->last_used_ms + days * kMsPerDay);
      }
    }
    c["alerts"] = nlohmann::json::array();
    for (const auto& a : snap->alerts) {
      c["alerts"].push_back({{"kind", a.kind},
                             {"severity", a.severity},
                             {"message", a.message},
                             {"since", auth::FormatUtc(a.created_at_ms)}});
      ++open_alerts;
    }
    doc["connections"].push_back(std::move(c));
  }
  doc["open_alerts"] = open_alerts;

  if (so.json) {
    std::cout << redact::RedactText(doc.dump(2)) << "\n";
    return kExitOk;
  }
  if (doc["connections"].empty()) {
    std::cout << "No connections configured.\n";
    return kExitOk;
  }
  for (const auto& c : doc["connections"]) {
    std::string line = c["name"].get<std::string>() + "  plugin: " + c["plugin"].get<std::string>() +
                       "  auth: " + c["auth_kind"].get<std::string>() +
                       "  status: " + c["status"].get<std::string>();
    if (!c["message"].get<std::string>().empty()) line += " (" + c["message"].get<std::string>() + ")";
    std::cout << redact::RedactText(line) << "\n";
    if (c["token_expires_at"].is_string())
      std::cout << "    token expires " << c["token_expires_at"].get<std::string>() << "\n";
    if (c["idle_expires_at"].is_string()) {
      std::cout << "    static token last used " << c["last_used_at"].get<std::string>()
                << ", expires if idle until " << c["idle_expires_at"].get<std::string>() << "\n";
    }
    for (const auto& a : c["alerts"]) {
      std::cout << "    ALERT " << a["severity"].get<std::string>() << " " << a["kind"].get<std::string>()
                << " since " << a["since"].get<std::string>() << ": "
                << redact::RedactText(a["message"].get<std::string>()) << "\n";
    }
  }
  return kExitOk;
}

}  // namespace

void RegisterStatusCommand(CLI::App& app, GlobalOptions& opts) {
  auto so = std::make_shared<StatusOptions>();
  CLI::App* cmd = app.add_subcommand("status", "Show each connection's health, token expiry and open alerts");
  cmd->add_flag("--json", so->json, "Print JSON instead of text");
  cmd->callback([&opts, so] { opts.exit_code = RunStatus(opts, *so); });
}

}  // namespace mlc::cli
