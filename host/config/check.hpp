// Configuration checks that need the plugins' manifests: plugin names, settings against each plugin's
// settings schema, required secrets, and whether a pipeline's connections can read and write its objects.
//
//   auto loaded = mlc::config::LoadConfig(path);
//   std::map<std::string, nlohmann::json> manifests = ...;   // by manifest "name"
//   for (auto& e : mlc::config::CheckAgainstPlugins(loaded.config, manifests)) std::cerr << e.ToString();
//
// Manifest fields read (sdk/schemas/manifest.schema.json; absent ones are not checked): "settings_schema"
// (properties marked "x-secret": true must not be given inline), "secrets" ([{"name", "required"}]),
// "roles" (["source", "target"]; when absent, a plugin with streams counts as a source and one with
// writes as a target), "streams" ([{"object", ...}]) and "writes" ([{"object", ...}]).
//
// Thread safety: a pure function of its arguments.
#ifndef MLC_HOST_CONFIG_CHECK_HPP_
#define MLC_HOST_CONFIG_CHECK_HPP_

#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "config/config.hpp"

namespace mlc::config {

// Every problem found, each located at the connection's or pipeline's table (or the offending value
// inside it), sorted by position. Connections whose plugin is empty (already reported by LoadConfig) and
// pipelines naming unknown connections are skipped.
std::vector<ConfigError> CheckAgainstPlugins(
    const Config& config, const std::map<std::string, nlohmann::json>& manifests_by_plugin_name);

// The objects a manifest can read (source side) and write (target side), and its roles, as interpreted
// above. Exposed so `mlc plugins inspect` and the engine read manifests the same way.
std::vector<std::string> ManifestReadableObjects(const nlohmann::json& manifest);
std::vector<std::string> ManifestWritableObjects(const nlohmann::json& manifest);
bool ManifestHasRole(const nlohmann::json& manifest, const std::string& role);

}  // namespace mlc::config

#endif  // MLC_HOST_CONFIG_CHECK_HPP_
