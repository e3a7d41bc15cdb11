// Plugin-dependent configuration checks: the configuration read against the plugins' manifests.
#include "config/check.hpp"

#include <algorithm>
#include <set>

#include "jsonschema/validator.hpp"

namespace mlc::config {
namespace {

std::string Quoted(const std::string& s) { return "\"" + s + "\""; }

std::string JoinOrNone(const std::vector<std::string>& items, const std::string& none) {
  if (items.empty()) return none;
  std::string s;
  for (size_t i = 0; i < items.size(); ++i) s += (i ? ", " : "") + items[i];
  return s;
}

// The "object" of each entry of the manifest array `key` ("streams" or "writes"), without repeats.
std::vector<std::string> ObjectNames(const nlohmann::json& manifest, const char* key) {
  std::vector<std::string> names;
  auto it = manifest.find(key);
  if (it == manifest.end() || !it->is_array()) return names;
  for (const auto& e : *it) {
    if (!e.is_object()) continue;
    auto o = e.find("object");
    if (o == e.end() || !o->is_string()) continue;
    std::string n = o->get<std::string>();
    if (std::find(names.begin(), names.end(), n) == names.end()) names.push_back(n);
  }
  return names;
}

struct DeclaredSecret {
  std::string name;
  bool required = false;
};

// The manifest's "secrets" entries; `declared` says whether the manifest has the list at all.
std::vector<DeclaredSecret> DeclaredSecrets(const nlohmann::json& manifest, bool& declared) {
  std::vector<DeclaredSecret> out;
  auto it = manifest.find("secrets");
  declared = it != manifest.end() && it->is_array();
  if (!declared) return out;
  for (const auto& e : *it) {
    if (!e.is_object()) continue;
    auto n = e.find("name");
    if (n == e.end() || !n->is_string()) continue;
    auto r = e.find("required");
    out.push_back({n->get<std::string>(), r != e.end() && r->is_boolean() && r->get<bool>()});
  }
  return out;
}

// JSON Pointers (relative to the settings object) of properties the schema marks "x-secret": true.
void CollectSecretPointers(const nlohmann::json& schema, const std::string& prefix,
                           std::vector<std::string>& out, int depth = 0) {
  if (!schema.is_object() || depth > 16) return;
  auto props = schema.find("properties");
  if (props == schema.end() || !props->is_object()) return;
  for (const auto& [name, sub] : props->items()) {
    std::string token;
    for (char c : name)
      token += c == '~' ? std::string("~0") : c == '/' ? std::string("~1") : std::string(1, c);
    std::string pointer = prefix + "/" + token;
    if (!sub.is_object()) continue;
    if (auto s = sub.find("x-secret"); s != sub.end() && s->is_boolean() && s->get<bool>()) {
      out.push_back(pointer);
    }
    CollectSecretPointers(sub, pointer, out, depth + 1);
  }
}

// "/a/b~1c" -> ".a.b/c" for messages.
std::string PointerToDotted(const std::string& pointer) {
  std::string out;
  for (size_t i = 0; i < pointer.size(); ++i) {
    if (pointer[i] == '/') {
      out += '.';
    } else if (pointer[i] == '~' && i + 1 < pointer.size()) {
      out += pointer[i + 1] == '1' ? '/' : '~';
      ++i;
    } else {
      out += pointer[i];
    }
  }
  return out;
}

bool IsUnder(const std::string& path, const std::string& prefix) {
  return path == prefix || (path.size() > prefix.size() && path.compare(0, prefix.size(), prefix) == 0 &&
                            path[prefix.size()] == '/');
}

void CheckConnection(const Connection& conn, const nlohmann::json& manifest,
                     std::vector<ConfigError>& errors) {
  const std::string path = "connections." + conn.name;

  // Settings against the plugin's schema. Fields the schema marks secret are reported once, here, and
  // schema errors at or under them are dropped so no message can echo a secret's value.
  std::vector<std::string> secret_pointers;
  auto schema = manifest.find("settings_schema");
  if (schema != manifest.end()) CollectSecretPointers(*schema, "", secret_pointers);
  std::vector<std::string> inline_secrets;
  for (const std::string& p : secret_pointers) {
    nlohmann::json::json_pointer jp(p);
    if (!conn.settings.contains(jp)) continue;
    inline_secrets.push_back(p);
    std::string field = PointerToDotted(p).substr(1);
    errors.push_back({conn.LocationOf("/settings" + p),
                      path + ".settings." + field + ": plugin " + Quoted(conn.plugin) +
                          " marks this field secret; secrets must not be written inline; use secrets = { " +
                          field + " = \"vault\" } and `mlc vault put`"});
  }
  if (schema != manifest.end()) {
    jsonschema::Validator validator(*schema);
    if (!validator.status().ok()) {
      errors.push_back({conn.LocationOf("/plugin"), path + ": plugin " + Quoted(conn.plugin) +
                                                        " has a settings_schema that cannot be used (" +
                                                        validator.status().message() + ")"});
    } else {
      for (const jsonschema::ValidationError& e : validator.Validate(conn.settings)) {
        bool secret = std::any_of(inline_secrets.begin(), inline_secrets.end(),
                                  [&e](const std::string& p) { return IsUnder(e.instance_path, p); });
        if (secret) continue;
        errors.push_back({conn.LocationOf("/settings" + e.instance_path),
                          path + ".settings" + PointerToDotted(e.instance_path) + ": " + e.message});
      }
    }
  }

  // Secrets: every required one referenced, every referenced one declared.
  bool declared = false;
  std::vector<DeclaredSecret> secrets = DeclaredSecrets(manifest, declared);
  if (!declared) return;
  std::vector<std::string> names;
  for (const DeclaredSecret& s : secrets) {
    names.push_back(s.name);
    if (s.required && conn.secrets.count(s.name) == 0) {
      errors.push_back({conn.where, path + ": plugin " + Quoted(conn.plugin) + " requires the secret " +
                                        Quoted(s.name) + "; add secrets = { " + s.name +
                                        " = \"vault\" } and store it with `mlc vault put`"});
    }
  }
  for (const auto& [field, ref] : conn.secrets) {
    if (std::find(names.begin(), names.end(), field) != names.end()) continue;
    std::optional<std::string> best = ClosestMatch(field, names);
    errors.push_back({ref.where, path + ".secrets." + field + ": plugin " + Quoted(conn.plugin) +
                                     " has no secret named " + Quoted(field) +
                                     (best ? "; did you mean " + Quoted(*best) + "?" : "") +
                                     " (it declares: " + JoinOrNone(names, "none") + ")"});
  }
}

}  // namespace

std::vector<std::string> ManifestReadableObjects(const nlohmann::json& manifest) {
  return ObjectNames(manifest, "streams");
}

std::vector<std::string> ManifestWritableObjects(const nlohmann::json& manifest) {
  return ObjectNames(manifest, "writes");
}

bool ManifestHasRole(const nlohmann::json& manifest, const std::string& role) {
  auto roles = manifest.find("roles");
  if (roles != manifest.end() && roles->is_array()) {
    return std::any_of(roles->begin(), roles->end(), [&role](const nlohmann::json& r) {
      return r.is_string() && r.get<std::string>() == role;
    });
  }
  if (role == "source") return !ManifestReadableObjects(manifest).empty();
  if (role == "target") return !ManifestWritableObjects(manifest).empty();
  return false;
}

std::vector<ConfigError> CheckAgainstPlugins(
    const Config& config, const std::map<std::string, nlohmann::json>& manifests_by_plugin_name) {
  std::vector<ConfigError> errors;
  std::vector<std::string> available;
  for (const auto& [name, m] : manifests_by_plugin_name) available.push_back(name);

  for (const auto& [name, conn] : config.connections) {
    if (conn.plugin.empty()) continue;
    auto it = manifests_by_plugin_name.find(conn.plugin);
    if (it == manifests_by_plugin_name.end()) {
      std::optional<std::string> best = ClosestMatch(conn.plugin, available);
      errors.push_back({conn.LocationOf("/plugin"),
                        "connections." + name + ".plugin: unknown plugin " + Quoted(conn.plugin) +
                            (best ? "; did you mean " + Quoted(*best) + "?" : "") +
                            " (available: " + JoinOrNone(available, "none; check [host] plugin_dirs") + ")"});
      continue;
    }
    CheckConnection(conn, it->second, errors);
  }

  for (const auto& [name, pipe] : config.pipelines) {
    const std::string path = "pipelines." + name;
    struct Side {
      const std::string& connection;
      const char* key;
      const char* role;
      const char* verb;
    };
    for (const Side& side :
         {Side{pipe.source, "source", "source", "read"}, Side{pipe.target, "target", "target", "written"}}) {
      auto conn = config.connections.find(side.connection);
      if (conn == config.connections.end() || conn->second.plugin.empty())
        continue;  // reported by LoadConfig
      auto manifest = manifests_by_plugin_name.find(conn->second.plugin);
      if (manifest == manifests_by_plugin_name.end()) continue;  // reported above
      const std::string plugin = Quoted(conn->second.plugin);
      if (!ManifestHasRole(manifest->second, side.role)) {
        errors.push_back({pipe.LocationOf(std::string("/") + side.key),
                          path + "." + side.key + ": connection " + Quoted(side.connection) +
                              " uses plugin " + plugin + ", which cannot be a " + side.role});
        continue;
      }
      std::vector<std::string> supported = std::string_view(side.role) == "source"
                                               ? ManifestReadableObjects(manifest->second)
                                               : ManifestWritableObjects(manifest->second);
      for (size_t i = 0; i < pipe.objects.size(); ++i) {
        const std::string& object = pipe.objects[i];
        if (std::find(supported.begin(), supported.end(), object) != supported.end()) continue;
        std::optional<std::string> best = ClosestMatch(object, supported);
        errors.push_back({pipe.LocationOf("/objects/" + std::to_string(i)),
                          path + ".objects: " + Quoted(object) + " cannot be " + side.verb +
                              " by connection " + Quoted(side.connection) + " (plugin " + plugin + ")" +
                              (best ? "; did you mean " + Quoted(*best) + "?" : "") +
                              " (it supports: " + JoinOrNone(supported, "none") + ")"});
      }
    }
  }

  std::stable_sort(errors.begin(), errors.end(), [](const ConfigError& a, const ConfigError& b) {
    return std::pair(a.where.line, a.where.column) < std::pair(b.where.line, b.where.column);
  });
  return errors;
}

}  // namespace mlc::config
