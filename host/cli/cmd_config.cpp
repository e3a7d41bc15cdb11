// `mlc config ...`: checks the configuration file against its own rules and the installed plugins
// (whose manifests are read from the files; no plugin code runs).
#include <algorithm>
#include <filesystem>
#include <iostream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli/commands.hpp"
#include "config/check.hpp"
#include "config/config.hpp"
#include "loader/loader.hpp"

namespace mlc::cli {
namespace {

struct Warning {
  std::string path;  // plugin file or directory ("" when it concerns loading as a whole)
  std::string message;
  std::string ToString() const { return (path.empty() ? "" : path + ": ") + "warning: " + message; }
};

// Reads the manifest of every `*.so` in `dirs` and vets it as the loader does before running any plugin
// code (loader.hpp gates 1-4: a readable manifest, the manifest schema, the ABI major, a unique name),
// without loading a library. Refused files become warnings.
std::map<std::string, nlohmann::json> InspectPlugins(const std::vector<std::string>& dirs,
                                                     std::vector<Warning>& warnings) {
  namespace fs = std::filesystem;
  std::map<std::string, nlohmann::json> manifests;
  std::map<std::string, std::string> found_in;  // plugin name -> file
  const std::string schema_path = loader::DefaultManifestSchemaPath();
  std::error_code ec;
  if (!fs::is_regular_file(schema_path, ec)) {
    warnings.push_back({"", "cannot vet plugins: manifest schema " + schema_path + " not found"});
    return manifests;
  }
  for (const std::string& dir : dirs) {
    if (!fs::is_directory(dir, ec)) {
      warnings.push_back({dir, fs::exists(dir, ec) ? "plugin directory is not a directory"
                                                   : "plugin directory does not exist"});
      continue;
    }
    std::vector<fs::path> files;
    for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
      if (it->path().extension() == ".so") files.push_back(it->path());
    }
    if (ec) {
      warnings.push_back({dir, "cannot list plugin directory: " + ec.message()});
      continue;
    }
    std::sort(files.begin(), files.end(), [](const fs::path& a, const fs::path& b) {
      return a.filename().string() < b.filename().string();
    });
    for (const fs::path& file : files) {
      const std::string path = file.string();
      auto refuse = [&](const std::string& why) { warnings.push_back({path, "plugin refused: " + why}); };
      Result<nlohmann::json> manifest = loader::PluginRegistry::InspectFile(path);
      if (!manifest.ok()) {
        refuse(manifest.status().message());
        continue;
      }
      if (auto vetted = loader::VetManifest(*manifest, schema_path); !vetted.ok()) {
        refuse(vetted.status().message());
        continue;
      } else {
        *manifest = std::move(vetted->manifest);
      }
      Result<std::pair<uint32_t, uint32_t>> abi = loader::ManifestAbi(*manifest);
      if (!abi.ok()) {
        refuse(abi.status().message());
        continue;
      }
      if (abi->first != MLC_ABI_VERSION_MAJOR) {
        refuse("manifest declares ABI " + std::to_string(abi->first) + "." + std::to_string(abi->second) +
               " but this host serves ABI " + std::to_string(MLC_ABI_VERSION_MAJOR) + "." +
               std::to_string(MLC_ABI_VERSION_MINOR));
        continue;
      }
      const std::string name = manifest->value("name", "");
      if (auto earlier = found_in.find(name); earlier != found_in.end()) {
        refuse("duplicate plugin name '" + name + "' (already found in " + earlier->second + ")");
        continue;
      }
      found_in[name] = path;
      manifests[name] = std::move(manifest).value();
    }
  }
  return manifests;
}

int RunConfigCheck(const GlobalOptions& opts, bool as_json) {
  if (opts.config_path.empty()) {
    std::cerr << "mlc config check: no configuration file given; use --config FILE or set MLC_CONFIG\n";
    return kExitUsage;
  }
  config::LoadResult loaded = config::LoadConfig(opts.config_path);
  std::vector<config::ConfigError> errors = loaded.errors;
  std::vector<Warning> warnings;

  // A file that could not be read has nothing to check against plugins.
  bool readable = errors.empty() || errors.front().where.line > 0;
  if (readable) {
    std::map<std::string, nlohmann::json> manifests = InspectPlugins(loaded.config.plugin_dirs, warnings);
    for (auto& e : config::CheckAgainstPlugins(loaded.config, manifests)) errors.push_back(std::move(e));
  }
  std::stable_sort(errors.begin(), errors.end(),
                   [](const config::ConfigError& a, const config::ConfigError& b) {
                     return std::pair(a.where.line, a.where.column) < std::pair(b.where.line, b.where.column);
                   });

  const size_t connections = loaded.config.connections.size();
  const size_t pipelines = loaded.config.pipelines.size();
  if (as_json) {
    nlohmann::json out = {
        {"ok", errors.empty()},   {"file", opts.config_path},          {"connections", connections},
        {"pipelines", pipelines}, {"errors", nlohmann::json::array()}, {"warnings", nlohmann::json::array()}};
    for (const auto& e : errors) {
      out["errors"].push_back({{"file", e.where.file},
                               {"line", e.where.line},
                               {"column", e.where.column},
                               {"message", e.message}});
    }
    for (const auto& w : warnings) out["warnings"].push_back({{"path", w.path}, {"message", w.message}});
    std::cout << out.dump(2) << "\n";
  } else {
    for (const auto& w : warnings) std::cerr << w.ToString() << "\n";
    for (const auto& e : errors) std::cerr << e.ToString() << "\n";
    if (errors.empty()) {
      std::cout << "ok: " << connections << " connections, " << pipelines << " pipelines\n";
    } else {
      std::cerr << errors.size() << (errors.size() == 1 ? " error" : " errors") << " in " << opts.config_path
                << "\n";
    }
  }
  return errors.empty() ? kExitOk : kExitConfig;
}

}  // namespace

void RegisterConfigCommands(CLI::App& app, GlobalOptions& opts) {
  CLI::App* group = app.add_subcommand("config", "Check the configuration file");
  group->require_subcommand(1);

  CLI::App* check = group->add_subcommand(
      "check",
      "Validate the configuration (--config or $MLC_CONFIG) and check it against the plugins in its\n"
      "plugin_dirs. Prints FILE:LINE:COL: message for every problem; exit 3 when there is any.");
  auto as_json = std::make_shared<bool>(false);
  check->add_flag("--json", *as_json, "Print the result as JSON on stdout");
  check->callback([&opts, as_json] { opts.exit_code = RunConfigCheck(opts, *as_json); });
}

}  // namespace mlc::cli
