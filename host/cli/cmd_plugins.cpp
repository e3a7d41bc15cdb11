// `mlc plugins list` and `mlc plugins inspect`: which plugins the host loads, why others are refused,
// and what a plugin file declares (read from the file without running its code).
#include <filesystem>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include <boost/dll/runtime_symbol_info.hpp>
#include <nlohmann/json.hpp>

#include "cli/commands.hpp"
#include "config/check.hpp"
#include "config/config.hpp"
#include "loader/loader.hpp"

namespace mlc::cli {

namespace {

struct PluginsOptions {
  std::vector<std::string> plugin_dirs;
  bool json = false;
  std::string file;
};

// <dir of the mlc binary>/../plugins: where the build tree and the install layout put plugins.
std::string DefaultPluginDir() {
  boost::dll::fs::error_code ec;
  boost::dll::fs::path exe = boost::dll::program_location(ec);
  if (ec || exe.empty()) return "plugins";
  return (std::filesystem::path(exe.string()).parent_path().parent_path() / "plugins").string();
}

std::vector<std::string> Roles(const nlohmann::json& manifest) {
  std::vector<std::string> roles;
  for (const char* role : {"source", "target"}) {
    if (config::ManifestHasRole(manifest, role)) roles.emplace_back(role);
  }
  return roles;
}

std::string Join(const std::vector<std::string>& items, const char* sep) {
  std::string out;
  for (const auto& item : items) {
    if (!out.empty()) out += sep;
    out += item;
  }
  return out;
}

// A manifest member for display: strings as they are, anything else as JSON, "-" when absent.
std::string Text(const nlohmann::json& manifest, const char* key) {
  auto it = manifest.find(key);
  if (it == manifest.end()) return "-";
  return it->is_string() ? it->get<std::string>() : it->dump();
}

std::string AbiText(uint32_t v) {
  return std::to_string(MLC_ABI_MAJOR(v)) + "." + std::to_string(MLC_ABI_MINOR(v));
}

std::string ManifestAbiText(const nlohmann::json& manifest) {
  auto abi = loader::ManifestAbi(manifest);
  return abi.ok() ? std::to_string(abi->first) + "." + std::to_string(abi->second) : "?";
}

// Plugin directories: --plugin-dir, else the config's plugin_dirs, else the default next to the binary.
// Returns false (after printing why) when a given config cannot be loaded.
bool ResolvePluginDirs(const PluginsOptions& o, const GlobalOptions& opts, std::vector<std::string>* dirs) {
  if (!o.plugin_dirs.empty()) {
    *dirs = o.plugin_dirs;
    return true;
  }
  if (!opts.config_path.empty()) {
    config::LoadResult loaded = config::LoadConfig(opts.config_path);
    if (!loaded.ok()) {
      for (const auto& e : loaded.errors) std::cerr << "mlc: " << e.ToString() << "\n";
      return false;
    }
    if (!loaded.config.plugin_dirs.empty()) {
      *dirs = loaded.config.plugin_dirs;
      return true;
    }
  }
  *dirs = {DefaultPluginDir()};
  return true;
}

int RunList(const PluginsOptions& o, const GlobalOptions& opts) {
  std::vector<std::string> dirs;
  if (!ResolvePluginDirs(o, opts, &dirs)) return kExitConfig;

  loader::PluginRegistry registry;
  loader::LoadReport report = registry.LoadDirectories(dirs);
  if (!report.status.ok()) {
    std::cerr << "mlc: plugins list: " << report.status.message() << "\n";
    return kExitFailed;
  }

  if (o.json) {
    nlohmann::json doc = {{"plugins", nlohmann::json::array()}, {"refused", nlohmann::json::array()}};
    for (const auto& p : report.loaded) {
      doc["plugins"].push_back({{"name", p->name},
                                {"version", p->version},
                                {"vendor", p->vendor},
                                {"abi", AbiText(p->abi_version)},
                                {"roles", Roles(p->manifest)},
                                {"path", p->path},
                                {"manifest", p->manifest}});
    }
    for (const auto& r : report.refused) doc["refused"].push_back({{"path", r.path}, {"reason", r.reason}});
    std::cout << doc.dump(2) << "\n";
  } else {
    std::cout << "Plugin directories: " << Join(dirs, ", ") << "\n";
    std::cout << "Loaded " << report.loaded.size() << " plugin(s)\n";
    for (const auto& p : report.loaded) {
      std::vector<std::string> roles = Roles(p->manifest);
      std::cout << "  " << p->name << " " << p->version
                << "  vendor: " << (p->vendor.empty() ? "-" : p->vendor) << "  ABI "
                << AbiText(p->abi_version) << "  roles: " << (roles.empty() ? "-" : Join(roles, ","))
                << "\n    " << p->path << "\n";
    }
    if (!report.refused.empty()) {
      std::cout << "Refused " << report.refused.size() << " file(s)\n";
      for (const auto& r : report.refused) std::cout << "  " << r.path << ": " << r.reason << "\n";
    }
  }
  return report.refused.empty() ? kExitOk : kExitFailed;
}

int RunInspect(const PluginsOptions& o) {
  auto manifest = loader::PluginRegistry::InspectFile(o.file);
  if (!manifest.ok()) {
    std::cerr << "mlc: " << o.file << ": " << manifest.status().message() << "\n";
    return kExitFailed;
  }
  // Manifest problems are reported, but the manifest is still shown: that is what one inspects it for.
  const std::string schema_path = loader::DefaultManifestSchemaPath();
  std::string problem;
  std::vector<std::string> ignored;
  bool checked = std::filesystem::exists(schema_path);
  if (checked) {
    auto vetted = loader::VetManifest(*manifest, schema_path);
    if (!vetted.ok()) problem = vetted.status().message();
    if (vetted.ok()) ignored = vetted->ignored_members;
    for (const std::string& member : ignored) {
      std::cerr << "mlc: warning: manifest member " << member
                << " is from a later ABI minor than this host's; ignored\n";
    }
  } else {
    std::cerr << "mlc: warning: manifest schema not found at " << schema_path
              << " (set MLC_SCHEMA_DIR); manifest not validated\n";
  }

  if (o.json) {
    nlohmann::json doc = {{"path", o.file}, {"manifest", *manifest}};
    doc["schema_valid"] = checked ? nlohmann::json(problem.empty()) : nlohmann::json(nullptr);
    if (!problem.empty()) doc["schema_error"] = problem;
    if (!ignored.empty()) doc["ignored_members"] = ignored;
    std::cout << doc.dump(2) << "\n";
  } else {
    const nlohmann::json& m = *manifest;
    std::vector<std::string> roles = Roles(m);
    std::cout << "file:     " << o.file << "\n"
              << "name:     " << Text(m, "name") << "\n"
              << "version:  " << Text(m, "version") << "\n"
              << "vendor:   " << loader::ManifestVendor(m) << "\n"
              << "abi:      " << ManifestAbiText(m) << "\n"
              << "roles:    " << (roles.empty() ? "-" : Join(roles, ", ")) << "\n"
              << "schema:   "
              << (!checked          ? "not checked"
                  : problem.empty() ? "valid"
                                    : problem)
              << "\n"
              << "manifest:\n"
              << m.dump(2) << "\n";
  }
  if (!problem.empty()) {
    std::cerr << "mlc: " << o.file << ": " << problem << "\n";
    return kExitFailed;
  }
  return kExitOk;
}

}  // namespace

void RegisterPluginsCommands(CLI::App& app, GlobalOptions& opts) {
  auto o = std::make_shared<PluginsOptions>();
  CLI::App* plugins = app.add_subcommand("plugins", "List and inspect connector plugins");
  plugins->require_subcommand(1);

  CLI::App* list = plugins->add_subcommand(
      "list",
      "Load the plugins in the plugin directories and show each one, and every refused file with the "
      "reason. Exits 1 when any file was refused.");
  list->add_option("--plugin-dir", o->plugin_dirs,
                   "Plugin directory (repeatable); default: the config's plugin_dirs, else "
                   "<dir of mlc>/../plugins");
  list->add_flag("--json", o->json,
                 "Print JSON: {\"plugins\": [...], \"refused\": [{\"path\", \"reason\"}]}");
  list->callback([o, &opts] { opts.exit_code = RunList(*o, opts); });

  CLI::App* inspect = plugins->add_subcommand(
      "inspect",
      "Show a plugin file's manifest, read from the file without running any of its code. Exits 1 when "
      "the file is not a plugin or its manifest fails the schema.");
  inspect->add_option("FILE", o->file, "The plugin shared library")->required();
  inspect->add_flag("--json", o->json, "Print JSON: {\"path\", \"manifest\", \"schema_valid\"}");
  inspect->callback([o, &opts] { opts.exit_code = RunInspect(*o); });
}

}  // namespace mlc::cli
