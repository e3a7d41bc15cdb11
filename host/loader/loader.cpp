// PluginRegistry: directory scan, manifest vetting, Boost.DLL loading and plugin-table checks.
#include "loader/loader.hpp"

#include <dlfcn.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <system_error>

#include <boost/dll/shared_library.hpp>

#include "core/log.hpp"
#include "jsonschema/validator.hpp"
#include "loader/manifest_reader.hpp"

#ifndef MLC_SDK_SCHEMA_DIR
#error "MLC_SDK_SCHEMA_DIR must be defined by the build (host/loader/CMakeLists.txt)"
#endif

namespace mlc::loader {

struct LoadedLibrary::Impl {
  boost::dll::shared_library library;
};

LoadedLibrary::LoadedLibrary() : impl_(std::make_shared<Impl>()) {}
bool LoadedLibrary::is_loaded() const { return impl_->library.is_loaded(); }

namespace {

namespace fs = std::filesystem;

constexpr const char* kManifestSchemaFile = "manifest.schema.json";

std::string AbiText(uint32_t v) {
  return std::to_string(MLC_ABI_MAJOR(v)) + "." + std::to_string(MLC_ABI_MINOR(v));
}

Result<nlohmann::json> LoadJsonFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::Invalid("cannot read " + path);
  std::ostringstream text;
  text << in.rdbuf();
  nlohmann::json doc = nlohmann::json::parse(text.str(), nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) return Status::Invalid(path + " is not valid JSON");
  return doc;
}

Result<jsonschema::Validator> LoadValidator(const std::string& schema_path) {
  MLC_ASSIGN_OR_RETURN(nlohmann::json schema, LoadJsonFile(schema_path));
  jsonschema::Validator validator(std::move(schema));
  if (!validator.status().ok()) return validator.status().Wrap("manifest schema " + schema_path);
  return validator;
}

// A string member of `obj`, or "" when absent or not a string (never throws).
std::string StringMember(const nlohmann::json& obj, const char* key) {
  auto it = obj.find(key);
  return (it != obj.end() && it->is_string()) ? it->get<std::string>() : std::string();
}

// The name of the first required entry point the table leaves NULL, or nullptr when all are set.
const char* MissingRequiredFunction(const mlc_plugin_api& api) {
  if (api.open == nullptr) return "open";
  if (api.close == nullptr) return "close";
  if (api.check == nullptr) return "check";
  return nullptr;
}

// Everything after the manifest has been vetted: load the code and check the table it hands back.
// `lib` is filled in so the caller keeps the library mapped.
Result<const mlc_plugin_api*> LoadTable(const std::string& path, boost::dll::shared_library* lib) {
  boost::dll::fs::error_code ec;
  ::dlerror();  // clear any stale message so the one reported below is this load's
  lib->load(boost::dll::fs::path(path), ec,
            boost::dll::load_mode::rtld_now | boost::dll::load_mode::rtld_local);
  if (ec || !lib->is_loaded()) {
    const char* why = ::dlerror();
    std::string reason = "cannot load library";
    if (why != nullptr) reason.append(": ").append(why);
    return Status::Invalid(std::move(reason));
  }
  if (!lib->has(MLC_PLUGIN_ENTRY_SYMBOL)) {
    return Status::Invalid("missing entry symbol " MLC_PLUGIN_ENTRY_SYMBOL);
  }
  auto& entry = lib->get<const mlc_plugin_api*(uint32_t)>(MLC_PLUGIN_ENTRY_SYMBOL);
  const mlc_plugin_api* api = entry(MLC_ABI_VERSION);
  if (api == nullptr) {
    return Status::Invalid(MLC_PLUGIN_ENTRY_SYMBOL " returned NULL (plugin cannot serve host ABI " +
                           AbiText(MLC_ABI_VERSION) + ")");
  }
  if (MLC_ABI_MAJOR(api->abi_version) != MLC_ABI_VERSION_MAJOR) {
    return Status::Invalid("plugin ABI " + AbiText(api->abi_version) + " is incompatible with host ABI " +
                           AbiText(MLC_ABI_VERSION) + " (major versions differ)");
  }
  if (api->size < kMinPluginTableSize) {
    return Status::Invalid("plugin table is " + std::to_string(api->size) + " bytes, smaller than the ABI " +
                           std::to_string(MLC_ABI_VERSION_MAJOR) + ".0 table (" +
                           std::to_string(kMinPluginTableSize) + " bytes)");
  }
  if (const char* missing = MissingRequiredFunction(*api)) {
    return Status::Invalid(std::string("required function '") + missing + "' is NULL in the plugin table");
  }
  return api;
}

// The schema check as a host applies it. A manifest that declares a newer minor of this major may carry
// members added after this host was built (docs/abi.md, "Versioning"): those are dropped, named in the
// result and logged, and what is left must pass. Any other schema error refuses the plugin, and so does
// an unknown member in a manifest of this host's minor or older: this host knows every member of those,
// so the member is a mistake (a typo would otherwise silently lose a setting).
Result<VettedManifest> VetManifestWith(const jsonschema::Validator& validator, nlohmann::json manifest) {
  VettedManifest vetted;
  auto abi = ManifestAbi(manifest);
  const bool newer_minor =
      abi.ok() && abi->first == MLC_ABI_VERSION_MAJOR && abi->second > MLC_ABI_VERSION_MINOR;
  std::vector<jsonschema::ValidationError> errors = validator.Validate(manifest, 200);
  const bool only_unknown_members =
      !errors.empty() && std::all_of(errors.begin(), errors.end(), [](const jsonschema::ValidationError& e) {
        return !e.unknown_property.empty();
      });
  if (newer_minor && only_unknown_members) {
    for (const auto& e : errors) {
      const nlohmann::json::json_pointer parent(e.instance_path);
      if (!manifest.contains(parent) || !manifest[parent].is_object()) continue;
      manifest[parent].erase(e.unknown_property);
      vetted.ignored_members.push_back(e.instance_path + "/" + e.unknown_property);
    }
    errors = validator.Validate(manifest, 6);
  }
  if (!errors.empty()) {
    std::string msg;
    for (size_t i = 0; i < errors.size() && i < 5; ++i) msg += (i > 0 ? "; " : "") + errors[i].ToString();
    if (errors.size() > 5) msg += "; and more";
    if (only_unknown_members && !newer_minor && abi.ok()) {
      msg += " (the manifest declares ABI " + std::to_string(abi->first) + "." + std::to_string(abi->second) +
             ", whose members this host knows; a member from a later minor needs a later \"abi\")";
    }
    return Status::Invalid("manifest fails the schema: " + msg);
  }
  MLC_RETURN_IF_ERROR(CheckManifestConsistency(manifest));
  vetted.manifest = std::move(manifest);
  return vetted;
}

}  // namespace

std::string DefaultManifestSchemaPath() {
  const char* env = std::getenv("MLC_SCHEMA_DIR");
  std::string dir = (env != nullptr && *env != '\0') ? env : MLC_SDK_SCHEMA_DIR;
  return (fs::path(dir) / kManifestSchemaFile).string();
}

Status CheckManifestConsistency(const nlohmann::json& manifest) {
  auto member = [&](const nlohmann::json& obj, const char* key) -> const nlohmann::json* {
    if (!obj.is_object()) return nullptr;
    auto it = obj.find(key);
    return it == obj.end() ? nullptr : &*it;
  };
  auto names_of = [&](const char* list_key) {
    std::vector<std::string> names;
    const nlohmann::json* list = member(manifest, list_key);
    if (list == nullptr || !list->is_array()) return names;
    for (const auto& item : *list) {
      if (const nlohmann::json* n = member(item, "name"); n != nullptr && n->is_string()) {
        names.push_back(n->get<std::string>());
      }
    }
    return names;
  };
  auto contains = [](const std::vector<std::string>& v, const std::string& s) {
    return std::find(v.begin(), v.end(), s) != v.end();
  };

  if (const nlohmann::json* settings = member(manifest, "settings_schema")) {
    jsonschema::Validator compiled(*settings);
    if (!compiled.status().ok()) {
      return Status::Invalid("manifest settings_schema does not compile: " + compiled.status().message());
    }
  }

  const std::vector<std::string> secrets = names_of("secrets");
  if (const nlohmann::json* auth = member(manifest, "auth")) {
    if (const nlohmann::json* fields = member(*auth, "secret_fields");
        fields != nullptr && fields->is_array()) {
      for (const auto& f : *fields) {
        if (f.is_string() && !contains(secrets, f.get<std::string>())) {
          return Status::Invalid("manifest auth.secret_fields names undeclared secret '" +
                                 f.get<std::string>() + "'");
        }
      }
    }
    if (const nlohmann::json* inline_fields = member(*auth, "inline_fields");
        inline_fields != nullptr && inline_fields->is_object()) {
      for (const auto& [field, secret] : inline_fields->items()) {
        if (secret.is_string() && !contains(secrets, secret.get<std::string>())) {
          return Status::Invalid("manifest auth.inline_fields '" + field + "' names undeclared secret '" +
                                 secret.get<std::string>() + "'");
        }
      }
    }
  }

  const std::vector<std::string> streams = names_of("streams");
  for (size_t i = 0; i < streams.size(); ++i) {
    if (std::find(streams.begin(), streams.begin() + static_cast<std::ptrdiff_t>(i), streams[i]) !=
        streams.begin() + static_cast<std::ptrdiff_t>(i)) {
      return Status::Invalid("manifest declares stream '" + streams[i] + "' twice");
    }
  }
  if (const nlohmann::json* refs = member(manifest, "reference_data"); refs != nullptr && refs->is_array()) {
    for (const auto& r : *refs) {
      if (r.is_string() && !contains(streams, r.get<std::string>())) {
        return Status::Invalid("manifest reference_data names undeclared stream '" + r.get<std::string>() +
                               "'");
      }
    }
  }
  return Status::Ok();
}

Status ValidateManifest(const nlohmann::json& manifest, const std::string& schema_path) {
  MLC_ASSIGN_OR_RETURN(jsonschema::Validator validator, LoadValidator(schema_path));
  if (Status s = validator.Check(manifest); !s.ok())
    return Status::Invalid("manifest fails the schema: " + s.message());
  return CheckManifestConsistency(manifest);
}

Result<VettedManifest> VetManifest(nlohmann::json manifest, const std::string& schema_path) {
  MLC_ASSIGN_OR_RETURN(jsonschema::Validator validator, LoadValidator(schema_path));
  return VetManifestWith(validator, std::move(manifest));
}

Result<std::pair<uint32_t, uint32_t>> ManifestAbi(const nlohmann::json& manifest) {
  auto it = manifest.find("abi");
  if (it == manifest.end()) return Status::Invalid("manifest has no 'abi'");
  if (it->is_number_integer() && it->get<int64_t>() >= 0 && it->get<int64_t>() <= 0xFFFF) {
    return std::pair<uint32_t, uint32_t>{static_cast<uint32_t>(it->get<int64_t>()), 0};
  }
  if (it->is_string()) {
    const std::string& s = it->get_ref<const std::string&>();
    unsigned major = 0;
    unsigned minor = 0;
    char dot = 0;
    std::istringstream in(s);
    if ((in >> major >> dot >> minor) && dot == '.' && in.peek() == std::char_traits<char>::eof() &&
        s.find_first_not_of("0123456789.") == std::string::npos) {
      return std::pair<uint32_t, uint32_t>{major, minor};
    }
  }
  return Status::Invalid("manifest 'abi' is not \"MAJOR.MINOR\"");
}

std::string ManifestVendor(const nlohmann::json& manifest) {
  auto it = manifest.find("vendor");
  if (it == manifest.end()) return "";
  if (it->is_string()) return it->get<std::string>();
  if (it->is_object()) {
    auto name = it->find("name");
    if (name != it->end() && name->is_string()) return name->get<std::string>();
  }
  return "";
}

Result<nlohmann::json> PluginRegistry::InspectFile(const std::string& path) { return ReadManifest(path); }

std::shared_ptr<const LoadedPlugin> PluginRegistry::Find(std::string_view name) const {
  for (const auto& p : plugins_) {
    if (p->name == name) return p;
  }
  return nullptr;
}

LoadReport PluginRegistry::LoadDirectories(const std::vector<std::string>& dirs,
                                           const std::string& manifest_schema_path) {
  LoadReport report;
  const std::string schema_path =
      manifest_schema_path.empty() ? DefaultManifestSchemaPath() : manifest_schema_path;
  auto validator = LoadValidator(schema_path);
  if (!validator.ok()) {
    report.status = validator.status().Wrap("cannot vet plugins");
    Log().error("{}", report.status.message());
    return report;
  }

  auto refuse = [&](const std::string& path, std::string reason) {
    Log().warn("plugin {} refused: {}", path, reason);
    report.refused.push_back({path, std::move(reason)});
  };

  // Vets and loads one file; returns the refusal reason, or OK after publishing the plugin.
  auto load_one = [&](const std::string& path) -> Status {
    MLC_ASSIGN_OR_RETURN(nlohmann::json raw_manifest, ReadManifest(path));
    MLC_ASSIGN_OR_RETURN(VettedManifest vetted, VetManifestWith(*validator, std::move(raw_manifest)));
    nlohmann::json& manifest = vetted.manifest;
    auto plugin = std::make_shared<LoadedPlugin>();
    plugin->ignored_members = std::move(vetted.ignored_members);
    plugin->path = path;
    plugin->name = StringMember(manifest, "name");
    plugin->version = StringMember(manifest, "version");
    plugin->vendor = ManifestVendor(manifest);
    if (plugin->name.empty()) return Status::Invalid("manifest has no name");
    MLC_ASSIGN_OR_RETURN(auto abi, ManifestAbi(manifest));
    // Checked before loading, so no code of a plugin built for another major runs. The table's major
    // must equal the host's too (LoadTable), so this is also "manifest abi major == table major".
    if (abi.first != MLC_ABI_VERSION_MAJOR) {
      return Status::Invalid("manifest declares ABI " + std::to_string(abi.first) + "." +
                             std::to_string(abi.second) + " but this host serves ABI " +
                             AbiText(MLC_ABI_VERSION) + " (major versions differ)");
    }
    if (auto earlier = Find(plugin->name)) {
      return Status::Invalid("duplicate plugin name '" + plugin->name + "' (already loaded from " +
                             earlier->path + ")");
    }
    plugin->manifest = std::move(manifest);
    MLC_ASSIGN_OR_RETURN(plugin->api, LoadTable(path, &plugin->library.impl_->library));
    plugin->abi_version = plugin->api->abi_version;
    if (MLC_ABI_MINOR(plugin->abi_version) != abi.second) {
      // Harmless to the host (it reads each side by its own version), but a sign the plugin's author
      // forgot to raise one of the two; the harness fails such a plugin.
      Log().warn("plugin {}: manifest declares ABI {}.{}, its table says {}", plugin->name, abi.first,
                 abi.second, AbiText(plugin->abi_version));
    }
    for (const std::string& member : plugin->ignored_members) {
      Log().warn("plugin {}: manifest member {} is from a later ABI minor than this host's {}; ignored",
                 plugin->name, member, AbiText(MLC_ABI_VERSION));
    }
    Log().info("plugin {} {} loaded from {} (ABI {})", plugin->name, plugin->version, path,
               AbiText(plugin->abi_version));
    plugins_.push_back(plugin);
    report.loaded.push_back(std::move(plugin));
    return Status::Ok();
  };

  for (const std::string& dir : dirs) {
    std::error_code ec;
    if (!fs::is_directory(dir, ec)) {
      refuse(dir, fs::exists(dir, ec) ? "not a directory" : "plugin directory does not exist");
      continue;
    }
    std::vector<fs::path> files;
    for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
      if (it->path().extension() == ".so") files.push_back(it->path());
    }
    if (ec) {
      refuse(dir, "cannot list plugin directory: " + ec.message());
      continue;
    }
    std::sort(files.begin(), files.end(), [](const fs::path& a, const fs::path& b) {
      return a.filename().string() < b.filename().string();
    });
    for (const fs::path& file : files) {
      const std::string path = file.string();
      Status s;
      try {
        s = load_one(path);
      } catch (const std::exception& e) {
        s = Status::Error(std::string("internal error while loading: ") + e.what());
      }
      if (!s.ok()) refuse(path, s.message());
    }
  }
  return report;
}

}  // namespace mlc::loader
