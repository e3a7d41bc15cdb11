// Configuration: the TOML file that names plugin directories, the store, the vault key, connections
// and pipelines.
//
// A connection pairs a plugin with its settings (validated against the plugin's settings schema) and
// references to its secrets. Secrets are never written inline: each is "vault" (this connection's vault
// entry of the same name), "vault:CONNECTION/FIELD", or "env:VARIABLE".
//
//   [host]
//   plugin_dirs = ["plugins"]          # relative paths are relative to this file's folder
//   listen = "127.0.0.1:8080"          # webhook router and admin API
//   public_url = "https://mlc.example.com"
//   log_level = "info"
//
//   [store]
//   path = "mlc.db"
//   synchronous = "FULL"
//
//   [vault]
//   key_file = "/etc/mlc/master.key"   # or $MLC_MASTER_KEY (base64 of 32 bytes)
//
//   [connections.brex]
//   plugin = "brex"
//   settings = { environment = "production" }
//   secrets = { token = "vault" }
//   rate_limits = [{ requests = 1000, per_seconds = 60 }]   # optional override of the manifest
//   concurrency = 4                                        # optional
//
//   [pipelines.brex_to_freshbooks]
//   source = "brex"
//   target = "freshbooks"
//   objects = ["expense"]
//   schedule = "every 15m"             # or a 5-field cron expression
//   enabled = true
//   [pipelines.brex_to_freshbooks.mappings.gl_account]
//   "6100" = "Software"
//   [pipelines.brex_to_freshbooks.options]
//   auto_accept = 0.92
//
// Thread safety: a Config is a plain value; load once, then share read-only.
#ifndef MLC_HOST_CONFIG_CONFIG_HPP_
#define MLC_HOST_CONFIG_CONFIG_HPP_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "mlc/status.hpp"

namespace mlc::config {

// Where a configuration value came from, for error messages ("mlc.toml:12:3"). Line and column are
// 1-based; line 0 means the file as a whole (it could not be read) and prints as just the file name.
struct Location {
  std::string file;
  int line = 0;
  int column = 0;
  std::string ToString() const;
};

struct ConfigError {
  Location where;
  std::string message;
  std::string ToString() const { return where.ToString() + ": " + message; }
};

struct SecretRef {
  enum class Kind { kVault, kEnv } kind = Kind::kVault;
  std::string connection;  // kVault: whose vault entry (defaults to the owning connection)
  std::string field;       // kVault: the entry's field name
  std::string env_var;     // kEnv: variable name
  Location where;
};

struct RateLimit {
  int64_t requests = 0;
  int64_t per_seconds = 0;
};

struct Connection {
  std::string name;
  std::string plugin;
  nlohmann::json settings = nlohmann::json::object();
  std::map<std::string, SecretRef> secrets;  // by field name
  std::vector<RateLimit> rate_limits;        // empty: use the manifest's
  std::optional<int> concurrency;            // empty: use the manifest's
  Location where;
  // Where each value inside this connection's table was written, by JSON Pointer relative to the table
  // ("/plugin", "/settings/environment", "/secrets/token", "/rate_limits/0/requests").
  std::map<std::string, Location> locations;
  // The location of `pointer`, or of its nearest recorded parent, or `where`.
  Location LocationOf(const std::string& pointer) const;
};

struct Pipeline {
  std::string name;
  std::string source;  // connection name
  std::string target;  // connection name
  std::vector<std::string> objects;
  std::string schedule;  // "every 15m", "every 30s", or a 5-field cron expression; empty: manual only
  bool enabled = true;
  // Mapping tables by name (gl_account, category, dimension:<name>, ...): source value -> target value.
  std::map<std::string, std::map<std::string, std::string>> mappings;
  nlohmann::json options = nlohmann::json::object();
  Location where;
  // As Connection::locations ("/source", "/options/auto_accept"); "/objects/N" is objects[N].
  std::map<std::string, Location> locations;
  Location LocationOf(const std::string& pointer) const;
};

struct Config {
  std::string path;  // the file this came from (absolute)
  std::string dir;   // its folder; relative paths below are already resolved against it
  std::vector<std::string> plugin_dirs;
  std::string listen = "127.0.0.1:8080";
  std::string public_url;
  std::string log_level = "info";
  std::string store_path = "mlc.db";
  std::string store_synchronous = "FULL";
  std::string vault_key_file;  // empty: $MLC_MASTER_KEY
  std::map<std::string, Connection> connections;
  std::map<std::string, Pipeline> pipelines;
};

// Parses and validates the file's structure (types, required keys, unknown keys, references between
// pipelines and connections, inline secrets). Returns every error found, each with file:line:column.
// Plugin-dependent checks (plugin exists, settings match its schema) are done by CheckAgainstPlugins.
struct LoadResult {
  Config config;
  std::vector<ConfigError> errors;
  bool ok() const { return errors.empty(); }
};
// Reads `path` and parses it. An unreadable file gives one error at line 0. Errors are sorted by position.
LoadResult LoadConfig(const std::string& path);
// Parses `toml_text` as if read from `path_for_messages`: messages name that path, and relative paths
// are resolved against its folder (made absolute against the working directory).
LoadResult ParseConfig(const std::string& toml_text, const std::string& path_for_messages);

// True when a settings key's name says its value is a secret (token, secret, password, api_key,
// client_secret, access_token, refresh_token, partner_user_secret, private_key, or a name ending in
// _secret, _token, _password or _api_key; camelCase and '-' are normalised first, so partnerUserSecret
// counts). Such keys must not carry string values inline.
bool LooksLikeSecretName(std::string_view key);

// The candidate closest to `name` by edit distance (case-insensitive) when that distance is at most
// `max_distance`; empty otherwise. Used for "did you mean" hints.
std::optional<std::string> ClosestMatch(std::string_view name, const std::vector<std::string>& candidates,
                                        int max_distance = 2);

}  // namespace mlc::config

#endif  // MLC_HOST_CONFIG_CONFIG_HPP_
