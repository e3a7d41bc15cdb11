// The plugin registry: finds connector plugins in directories, vets them, and keeps them loaded.
//
// Each `*.so` in a configured directory (sorted by file name, not recursive) goes through these gates;
// the first one it fails refuses it with a one-line reason, which is logged and reported, and loading
// continues with the next file:
//   before any plugin code runs (manifest read from the file, see manifest_reader.hpp)
//     1. the file is a shared library of this platform with an `mlc_manifest` section holding JSON
//     2. the manifest passes sdk/schemas/manifest.schema.json and CheckManifestConsistency
//     3. the manifest's `abi` major equals the host's (so it also equals the table's, checked in 6)
//     4. no plugin loaded earlier has the same manifest `name`
//   after loading it with Boost.DLL (static initialisers run here)
//     5. it exports `mlc_plugin_entry`, which returns a table for this host's ABI version (not NULL)
//     6. the table's ABI major equals the host's; a higher minor is fine
//     7. the table is at least as large as the v1.0 table and open, close and check are set
//
//   mlc::loader::PluginRegistry registry;
//   auto report = registry.LoadDirectories({"/opt/mlc/plugins"});   // schema from
//   DefaultManifestSchemaPath() for (const auto& r : report.refused) std::cerr << r.path << ": " << r.reason
//   << "\n"; if (auto brex = registry.Find("brex")) { ... PluginInstance::Open(brex, ...) ... }
//
// Ownership: the registry owns each LoadedPlugin through a shared_ptr; a PluginInstance holds another,
// so a library stays mapped until the registry and every instance of it are gone.
// Thread safety: load from one thread at startup; afterwards Find/plugins may be called from any thread
// as long as no LoadDirectories call runs concurrently. LoadedPlugin is immutable once published.
#ifndef MLC_HOST_LOADER_LOADER_HPP_
#define MLC_HOST_LOADER_LOADER_HPP_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "mlc/plugin.h"
#include "mlc/status.hpp"

namespace mlc::loader {

// The smallest plugin table a v1.x host accepts: everything up to and including auth_resolve.
inline constexpr size_t kMinPluginTableSize = offsetof(mlc_plugin_api, auth_resolve) + sizeof(mlc_op_fn);

struct Refusal {
  std::string path;    // the file (or directory) refused
  std::string reason;  // one line, e.g. "missing entry symbol mlc_plugin_entry"
};

// Keeps one plugin's code mapped (Boost.DLL behind it, so this header pulls in none of Boost). Copies share
// the mapping; it is unmapped when the last copy goes.
class LoadedLibrary {
 public:
  LoadedLibrary();
  bool is_loaded() const;

 private:
  friend class PluginRegistry;
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

struct LoadedPlugin {
  std::string path;                     // the file it was loaded from
  nlohmann::json manifest;              // as embedded in the file, schema-valid
  std::string name;                     // manifest "name", unique within a registry
  std::string version;                  // manifest "version"
  std::string vendor;                   // manifest "vendor" (display form; may be empty)
  const mlc_plugin_api* api = nullptr;  // the plugin's static table; valid while `library` is loaded
  uint32_t abi_version = 0;             // api->abi_version, (major << 16) | minor
  // Manifest members (JSON Pointers) from a later ABI minor than this host's, dropped from `manifest`.
  std::vector<std::string> ignored_members;
  LoadedLibrary library;  // keeps the code mapped
};

struct LoadReport {
  // Not OK when loading could not start at all (the manifest schema is missing or invalid); nothing is
  // loaded then, because no manifest could be vetted.
  Status status;
  std::vector<std::shared_ptr<const LoadedPlugin>> loaded;  // in load order
  std::vector<Refusal> refused;
};

class PluginRegistry {
 public:
  PluginRegistry() = default;
  PluginRegistry(const PluginRegistry&) = delete;
  PluginRegistry& operator=(const PluginRegistry&) = delete;

  // Loads every `*.so` directly inside each of `dirs`, in order, vetting manifests against the JSON
  // Schema at `manifest_schema_path` (empty: DefaultManifestSchemaPath()). A directory that does not
  // exist is reported as a refusal. May be called again; names stay unique across calls.
  LoadReport LoadDirectories(const std::vector<std::string>& dirs,
                             const std::string& manifest_schema_path = "");

  // The loaded plugin whose manifest name is `name`, or nullptr.
  std::shared_ptr<const LoadedPlugin> Find(std::string_view name) const;

  // Every loaded plugin in load order.
  const std::vector<std::shared_ptr<const LoadedPlugin>>& plugins() const { return plugins_; }

  // The manifest of the plugin file at `path`, read without loading it or running any of its code.
  // Fails with the same one-line reasons the loader gives for files that are not plugins.
  static Result<nlohmann::json> InspectFile(const std::string& path);

 private:
  std::vector<std::shared_ptr<const LoadedPlugin>> plugins_;
};

// Where the manifest schema is: $MLC_SCHEMA_DIR/manifest.schema.json when that variable is set, else
// the SDK's schema folder compiled in as MLC_SDK_SCHEMA_DIR (the source tree for build-tree binaries).
std::string DefaultManifestSchemaPath();

// The manifest rules the schema cannot express: settings_schema compiles with the host's validator,
// auth.secret_fields and auth.inline_fields name declared secrets, stream names are unique, and
// reference_data names declared streams. OK, or Invalid with the first problem.
Status CheckManifestConsistency(const nlohmann::json& manifest);

// Validates `manifest` against the schema file at `schema_path`, then CheckManifestConsistency (OK, or
// Invalid with a one-line reason starting "manifest ...").
Status ValidateManifest(const nlohmann::json& manifest, const std::string& schema_path);

// A manifest as this host vets it (see VetManifest).
struct VettedManifest {
  nlohmann::json manifest;                   // what the host uses: unknown later-minor members removed
  std::vector<std::string> ignored_members;  // those members, as JSON Pointers ("/streams/0/x")
};

// The host's rule, used by the loader, `mlc plugins inspect` and `mlc config check`: the schema and
// CheckManifestConsistency as ValidateManifest, except that a manifest declaring a newer minor of this
// major may carry members this host does not know; they are dropped and named instead of refusing the
// plugin (docs/abi.md, "Versioning"). ValidateManifest stays strict: the harness holds a plugin to the
// SDK it was built with.
Result<VettedManifest> VetManifest(nlohmann::json manifest, const std::string& schema_path);

// The manifest's "abi" as (major, minor). Accepts "MAJOR.MINOR" (as the schema prescribes) and, for
// robustness, a bare integer major.
Result<std::pair<uint32_t, uint32_t>> ManifestAbi(const nlohmann::json& manifest);

// The manifest's vendor as display text ("" when absent).
std::string ManifestVendor(const nlohmann::json& manifest);

}  // namespace mlc::loader

#endif  // MLC_HOST_LOADER_LOADER_HPP_
