// Configuration loading: TOML (toml++) to Config, collecting every structural error with its position.
#include "config/config.hpp"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include <toml++/toml.h>

#include "config/schedule.hpp"

namespace mlc::config {

std::string Location::ToString() const {
  if (line <= 0) return file;
  return file + ":" + std::to_string(line) + ":" + std::to_string(column);
}

namespace {

Location LookUp(const std::map<std::string, Location>& locations, std::string pointer,
                const Location& fallback) {
  while (true) {
    if (auto it = locations.find(pointer); it != locations.end()) return it->second;
    size_t slash = pointer.rfind('/');
    if (slash == std::string::npos || pointer.empty()) return fallback;
    pointer.resize(slash);
  }
}

}  // namespace

Location Connection::LocationOf(const std::string& pointer) const {
  return LookUp(locations, pointer, where);
}
Location Pipeline::LocationOf(const std::string& pointer) const { return LookUp(locations, pointer, where); }

namespace {

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

int EditDistance(std::string_view a, std::string_view b) {
  std::vector<int> prev(b.size() + 1);
  std::vector<int> cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = static_cast<int>(j);
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = static_cast<int>(i);
    for (size_t j = 1; j <= b.size(); ++j) {
      int subst = prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, subst});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

// JSON Pointer escaping of one reference token (RFC 6901).
std::string PointerToken(std::string_view key) {
  std::string out;
  for (char c : key) {
    if (c == '~') {
      out += "~0";
    } else if (c == '/') {
      out += "~1";
    } else {
      out += c;
    }
  }
  return out;
}

bool IsPlainName(std::string_view s) {
  if (s.empty()) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-';
  });
}

bool IsEnvVarName(std::string_view s) {
  if (s.empty() || std::isdigit(static_cast<unsigned char>(s[0]))) return false;
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; });
}

std::string Quoted(std::string_view s) { return "\"" + std::string(s) + "\""; }

std::string TypeName(const toml::node& n) {
  switch (n.type()) {
    case toml::node_type::table:
      return "a table";
    case toml::node_type::array:
      return "an array";
    case toml::node_type::string:
      return "a string";
    case toml::node_type::integer:
      return "an integer";
    case toml::node_type::floating_point:
      return "a float";
    case toml::node_type::boolean:
      return "a boolean";
    case toml::node_type::date:
      return "a date";
    case toml::node_type::time:
      return "a time";
    case toml::node_type::date_time:
      return "a date-time";
    case toml::node_type::none:
      break;
  }
  return "nothing";
}

std::string DidYouMean(std::string_view name, const std::vector<std::string>& candidates) {
  std::optional<std::string> best = ClosestMatch(name, candidates);
  return best ? "; did you mean " + Quoted(*best) + "?" : "";
}

// One parse of one file. Keeps the file name for messages and the list of errors found so far.
class Parser {
 public:
  explicit Parser(std::string file) : file_(std::move(file)) {}

  Location Loc(const toml::source_region& r) const {
    return Location{file_, static_cast<int>(r.begin.line), static_cast<int>(r.begin.column)};
  }
  void Error(const toml::source_region& r, std::string message) {
    errors_.push_back(ConfigError{Loc(r), std::move(message)});
  }
  void Error(const Location& where, std::string message) {
    errors_.push_back(ConfigError{where, std::move(message)});
  }
  std::vector<ConfigError> TakeErrors() { return std::move(errors_); }

  // Reports keys of `t` that are not in `allowed`, with a suggestion.
  void CheckKeys(const toml::table& t, const std::vector<std::string>& allowed, const std::string& context) {
    for (auto&& [k, v] : t) {
      if (std::find(allowed.begin(), allowed.end(), k.str()) != allowed.end()) continue;
      Error(k.source(), "unknown key " + Quoted(k.str()) + " in " + context + DidYouMean(k.str(), allowed));
    }
  }

  // Typed getters: nullopt (with an error) when present with the wrong type, nullopt (silently) when
  // absent unless `required`. `path` is the dotted name used in messages.
  std::optional<std::string> String(const toml::table& t, std::string_view key, const std::string& path,
                                    const toml::source_region& table_src, bool required = false) {
    const toml::node* n = t.get(key);
    if (n == nullptr) {
      if (required) Error(table_src, path + " is required (a string)");
      return std::nullopt;
    }
    if (!n->is_string()) {
      Error(n->source(), path + " must be a string, not " + TypeName(*n));
      return std::nullopt;
    }
    return n->as_string()->get();
  }

  std::optional<int64_t> Integer(const toml::table& t, std::string_view key, const std::string& path) {
    const toml::node* n = t.get(key);
    if (n == nullptr) return std::nullopt;
    if (!n->is_integer()) {
      Error(n->source(), path + " must be an integer, not " + TypeName(*n));
      return std::nullopt;
    }
    return n->as_integer()->get();
  }

  std::optional<bool> Boolean(const toml::table& t, std::string_view key, const std::string& path) {
    const toml::node* n = t.get(key);
    if (n == nullptr) return std::nullopt;
    if (!n->is_boolean()) {
      Error(n->source(), path + " must be true or false, not " + TypeName(*n));
      return std::nullopt;
    }
    return n->as_boolean()->get();
  }

  const toml::table* Table(const toml::table& t, std::string_view key, const std::string& path) {
    const toml::node* n = t.get(key);
    if (n == nullptr) return nullptr;
    if (!n->is_table()) {
      Error(n->source(), path + " must be a table, not " + TypeName(*n));
      return nullptr;
    }
    return n->as_table();
  }

  // Converts a TOML settings/options tree to JSON. String values under secret-looking keys are reported
  // and left out, so an inline secret never travels further than this parser.
  nlohmann::json ToJson(const toml::node& n, const std::string& path, const std::string& pointer,
                        std::map<std::string, Location>& locations, bool options) {
    locations[pointer] = Loc(n.source());
    if (const toml::table* t = n.as_table()) {
      nlohmann::json obj = nlohmann::json::object();
      for (auto&& [k, v] : *t) {
        std::string key(k.str());
        std::string child_path = path + "." + key;
        if (v.is_string() && LooksLikeSecretName(key)) {
          if (options) {
            Error(v.source(), child_path +
                                  ": pipeline options must not hold secrets; keep them in a connection's "
                                  "secrets table and store them with `mlc vault put`");
          } else {
            Error(v.source(), child_path + ": secrets must not be written inline; use secrets = { " + key +
                                  " = \"vault\" } and `mlc vault put`");
          }
          continue;
        }
        obj[key] = ToJson(v, child_path, pointer + "/" + PointerToken(key), locations, options);
      }
      return obj;
    }
    if (const toml::array* a = n.as_array()) {
      nlohmann::json arr = nlohmann::json::array();
      size_t i = 0;
      for (const toml::node& e : *a) {
        arr.push_back(ToJson(e, path + "[" + std::to_string(i) + "]", pointer + "/" + std::to_string(i),
                             locations, options));
        ++i;
      }
      return arr;
    }
    if (const auto* s = n.as_string()) return s->get();
    if (const auto* i = n.as_integer()) return i->get();
    if (const auto* b = n.as_boolean()) return b->get();
    if (const auto* f = n.as_floating_point()) {
      if (!std::isfinite(f->get())) {
        Error(n.source(), path + " must be a finite number");
        return nullptr;
      }
      return f->get();
    }
    // Dates and times become their ISO 8601 text.
    std::ostringstream text;
    if (const auto* d = n.as_date()) text << d->get();
    if (const auto* t = n.as_time()) text << t->get();
    if (const auto* dt = n.as_date_time()) text << dt->get();
    return text.str();
  }

 private:
  std::string file_;
  std::vector<ConfigError> errors_;
};

std::string ResolvePath(const std::string& dir, const std::string& p) {
  if (p.empty() || p == ":memory:") return p;  // SQLite's in-memory database is not a file
  std::filesystem::path path(p);
  if (!path.is_absolute()) path = std::filesystem::path(dir) / path;
  std::string out = path.lexically_normal().string();
  if (out.size() > 1 && out.back() == '/') out.pop_back();  // "plugins/" and "plugins" are one folder
  return out;
}

const std::vector<std::string> kSections = {"host", "store", "vault", "connections", "pipelines"};
const std::vector<std::string> kHostKeys = {"plugin_dirs", "listen", "public_url", "log_level"};
const std::vector<std::string> kStoreKeys = {"path", "synchronous"};
const std::vector<std::string> kVaultKeys = {"key_file"};
const std::vector<std::string> kConnectionKeys = {"plugin", "settings", "secrets", "rate_limits",
                                                  "concurrency"};
const std::vector<std::string> kPipelineKeys = {"source",  "target",   "objects", "schedule",
                                                "enabled", "mappings", "options"};
const std::vector<std::string> kRateLimitKeys = {"requests", "per_seconds"};
const std::vector<std::string> kLogLevels = {"trace", "debug", "info", "warn", "error", "off"};
const std::vector<std::string> kSynchronousModes = {"OFF", "NORMAL", "FULL", "EXTRA"};

void ParseHost(Parser& p, const toml::table& t, Config& c) {
  p.CheckKeys(t, kHostKeys, "[host]");
  if (const toml::node* n = t.get("plugin_dirs")) {
    if (const toml::array* a = n->as_array()) {
      for (const toml::node& e : *a) {
        if (const auto* s = e.as_string()) {
          if (s->get().empty()) {
            p.Error(e.source(), "host.plugin_dirs entries must not be empty");
          } else if (std::string dir = ResolvePath(c.dir, s->get());
                     std::find(c.plugin_dirs.begin(), c.plugin_dirs.end(), dir) != c.plugin_dirs.end()) {
            p.Error(e.source(), "host.plugin_dirs lists " + Quoted(dir) + " more than once");
          } else {
            c.plugin_dirs.push_back(std::move(dir));
          }
        } else {
          p.Error(e.source(), "host.plugin_dirs entries must be strings, not " + TypeName(e));
        }
      }
    } else {
      p.Error(n->source(), "host.plugin_dirs must be an array of strings, not " + TypeName(*n));
    }
  }
  if (auto v = p.String(t, "listen", "host.listen", t.source())) {
    size_t colon = v->rfind(':');
    std::string port = colon == std::string::npos ? "" : v->substr(colon + 1);
    bool port_ok = !port.empty() && port.size() <= 5 &&
                   std::all_of(port.begin(), port.end(), [](char ch) { return ch >= '0' && ch <= '9'; }) &&
                   std::stoi(port) <= 65535;
    if (colon == 0 || colon == std::string::npos || !port_ok) {
      p.Error(t.get("listen")->source(), "host.listen must be HOST:PORT (e.g. \"127.0.0.1:8080\")");
    } else {
      c.listen = *v;
    }
  }
  if (auto v = p.String(t, "public_url", "host.public_url", t.source())) {
    if (v->rfind("https://", 0) != 0 && v->rfind("http://", 0) != 0) {
      p.Error(t.get("public_url")->source(), "host.public_url must start with https:// or http://");
    } else {
      c.public_url = *v;
    }
  }
  if (auto v = p.String(t, "log_level", "host.log_level", t.source())) {
    if (std::find(kLogLevels.begin(), kLogLevels.end(), *v) == kLogLevels.end()) {
      p.Error(
          t.get("log_level")->source(),
          "host.log_level must be one of trace, debug, info, warn, error, off" + DidYouMean(*v, kLogLevels));
    } else {
      c.log_level = *v;
    }
  }
}

void ParseStore(Parser& p, const toml::table& t, Config& c) {
  p.CheckKeys(t, kStoreKeys, "[store]");
  if (auto v = p.String(t, "path", "store.path", t.source())) {
    if (v->empty()) {
      p.Error(t.get("path")->source(), "store.path must not be empty");
    } else {
      c.store_path = *v;
    }
  }
  if (auto v = p.String(t, "synchronous", "store.synchronous", t.source())) {
    std::string upper(*v);
    for (char& ch : upper) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
    if (std::find(kSynchronousModes.begin(), kSynchronousModes.end(), upper) == kSynchronousModes.end()) {
      p.Error(t.get("synchronous")->source(), "store.synchronous must be one of OFF, NORMAL, FULL, EXTRA");
    } else {
      c.store_synchronous = upper;
    }
  }
}

void ParseVault(Parser& p, const toml::table& t, Config& c) {
  p.CheckKeys(t, kVaultKeys, "[vault]");
  if (auto v = p.String(t, "key_file", "vault.key_file", t.source())) c.vault_key_file = *v;
}

// "vault", "vault:CONNECTION/FIELD" or "env:NAME". The value is never echoed: it may be a pasted secret.
void ParseSecrets(Parser& p, const toml::table& t, const std::string& path, Connection& conn) {
  for (auto&& [k, v] : t) {
    std::string field(k.str());
    std::string where = path + "." + field;
    conn.locations["/secrets/" + PointerToken(field)] = p.Loc(v.source());
    static const char* kForms = "must be \"vault\", \"vault:CONNECTION/FIELD\" or \"env:VARIABLE\"";
    if (!v.is_string()) {
      p.Error(v.source(), where + " " + kForms + ", not " + TypeName(v));
      continue;
    }
    const std::string& s = v.as_string()->get();
    SecretRef ref;
    ref.where = p.Loc(v.source());
    if (s == "vault") {
      ref.kind = SecretRef::Kind::kVault;
      ref.connection = conn.name;
      ref.field = field;
    } else if (s.rfind("vault:", 0) == 0) {
      std::string rest = s.substr(6);
      size_t slash = rest.find('/');
      if (slash == std::string::npos || !IsPlainName(rest.substr(0, slash)) || slash + 1 == rest.size()) {
        p.Error(v.source(), where + " " + kForms + " (a vault: reference needs CONNECTION/FIELD)");
        continue;
      }
      ref.kind = SecretRef::Kind::kVault;
      ref.connection = rest.substr(0, slash);
      ref.field = rest.substr(slash + 1);
    } else if (s.rfind("env:", 0) == 0) {
      std::string name = s.substr(4);
      if (!IsEnvVarName(name)) {
        p.Error(v.source(), where + " " + kForms +
                                " (an env: reference needs a variable name of letters, "
                                "digits and '_')");
        continue;
      }
      ref.kind = SecretRef::Kind::kEnv;
      ref.env_var = name;
    } else {
      p.Error(v.source(),
              where + " " + kForms +
                  "; the value itself belongs in the vault (`mlc vault put`), never in this file");
      continue;
    }
    conn.secrets[field] = std::move(ref);
  }
}

void ParseRateLimits(Parser& p, const toml::node& n, const std::string& path, Connection& conn) {
  const toml::array* a = n.as_array();
  if (a == nullptr) {
    p.Error(n.source(),
            path + " must be an array of { requests = N, per_seconds = S } tables, not " + TypeName(n));
    return;
  }
  size_t i = 0;
  for (const toml::node& e : *a) {
    std::string item = path + "[" + std::to_string(i) + "]";
    std::string pointer = "/rate_limits/" + std::to_string(i);
    ++i;
    conn.locations[pointer] = p.Loc(e.source());
    const toml::table* t = e.as_table();
    if (t == nullptr) {
      p.Error(e.source(), item + " must be a table { requests = N, per_seconds = S }, not " + TypeName(e));
      continue;
    }
    p.CheckKeys(*t, kRateLimitKeys, item);
    RateLimit limit;
    bool ok = true;
    for (const char* key : {"requests", "per_seconds"}) {
      const toml::node* f = t->get(key);
      if (f == nullptr) {
        p.Error(e.source(), item + "." + key + " is required (a positive integer)");
        ok = false;
        continue;
      }
      conn.locations[pointer + "/" + key] = p.Loc(f->source());
      std::optional<int64_t> v = p.Integer(*t, key, item + "." + key);
      if (!v) {
        ok = false;
      } else if (*v <= 0) {
        p.Error(f->source(), item + "." + key + " must be a positive integer, not " + std::to_string(*v));
        ok = false;
      } else {
        (std::string_view(key) == "requests" ? limit.requests : limit.per_seconds) = *v;
      }
    }
    if (ok) conn.rate_limits.push_back(limit);
  }
}

void ParseConnection(Parser& p, const std::string& name, const toml::table& t, Connection& conn) {
  std::string path = "connections." + name;
  conn.name = name;
  conn.where = p.Loc(t.source());
  p.CheckKeys(t, kConnectionKeys, "[" + path + "]");
  for (auto&& [k, v] : t) conn.locations["/" + PointerToken(k.str())] = p.Loc(v.source());
  if (auto v = p.String(t, "plugin", path + ".plugin", t.source(), /*required=*/true)) {
    if (v->empty()) {
      p.Error(t.get("plugin")->source(), path + ".plugin must not be empty");
    } else {
      conn.plugin = *v;
    }
  }
  if (const toml::table* s = p.Table(t, "settings", path + ".settings")) {
    conn.settings = p.ToJson(*s, path + ".settings", "/settings", conn.locations, /*options=*/false);
  }
  if (const toml::table* s = p.Table(t, "secrets", path + ".secrets")) {
    ParseSecrets(p, *s, path + ".secrets", conn);
  }
  if (const toml::node* n = t.get("rate_limits")) ParseRateLimits(p, *n, path + ".rate_limits", conn);
  if (auto v = p.Integer(t, "concurrency", path + ".concurrency")) {
    if (*v < 1 || *v > 1024) {
      p.Error(t.get("concurrency")->source(),
              path + ".concurrency must be between 1 and 1024, not " + std::to_string(*v));
    } else {
      conn.concurrency = static_cast<int>(*v);
    }
  }
}

void ParsePipeline(Parser& p, const std::string& name, const toml::table& t, Pipeline& pipe) {
  std::string path = "pipelines." + name;
  pipe.name = name;
  pipe.where = p.Loc(t.source());
  p.CheckKeys(t, kPipelineKeys, "[" + path + "]");
  for (auto&& [k, v] : t) pipe.locations["/" + PointerToken(k.str())] = p.Loc(v.source());
  if (auto v = p.String(t, "source", path + ".source", t.source(), /*required=*/true)) pipe.source = *v;
  if (auto v = p.String(t, "target", path + ".target", t.source(), /*required=*/true)) pipe.target = *v;

  if (const toml::node* n = t.get("objects")) {
    const toml::array* a = n->as_array();
    if (a == nullptr) {
      p.Error(n->source(), path + ".objects must be an array of strings, not " + TypeName(*n));
    } else if (a->empty()) {
      p.Error(n->source(), path + ".objects must name at least one object (e.g. [\"expense\"])");
    } else {
      for (const toml::node& e : *a) {
        const auto* s = e.as_string();
        if (s == nullptr) {
          p.Error(e.source(), path + ".objects entries must be strings, not " + TypeName(e));
        } else if (s->get().empty()) {
          p.Error(e.source(), path + ".objects entries must not be empty");
        } else if (std::find(pipe.objects.begin(), pipe.objects.end(), s->get()) != pipe.objects.end()) {
          p.Error(e.source(), path + ".objects lists " + Quoted(s->get()) + " more than once");
        } else {
          // Indexed like Pipeline::objects (invalid entries are skipped), so checks can point at them.
          pipe.locations["/objects/" + std::to_string(pipe.objects.size())] = p.Loc(e.source());
          pipe.objects.push_back(s->get());
        }
      }
    }
  } else {
    p.Error(t.source(), path + ".objects is required (e.g. objects = [\"expense\"])");
  }

  if (auto v = p.String(t, "schedule", path + ".schedule", t.source())) {
    if (!v->empty()) {
      Result<Schedule> s = Schedule::Parse(*v);
      if (!s.ok()) {
        p.Error(t.get("schedule")->source(), path + ".schedule: " + s.status().message());
      } else {
        pipe.schedule = s->text();
      }
    }
  }
  if (auto v = p.Boolean(t, "enabled", path + ".enabled")) pipe.enabled = *v;

  if (const toml::table* m = p.Table(t, "mappings", path + ".mappings")) {
    for (auto&& [k, v] : *m) {
      std::string table_name(k.str());
      std::string table_path = path + ".mappings." + table_name;
      std::string pointer = "/mappings/" + PointerToken(table_name);
      pipe.locations[pointer] = p.Loc(v.source());
      const toml::table* entries = v.as_table();
      if (entries == nullptr) {
        p.Error(v.source(),
                table_path + " must be a table of \"source value\" = \"target value\", not " + TypeName(v));
        continue;
      }
      auto& table = pipe.mappings[table_name];
      for (auto&& [from, to] : *entries) {
        pipe.locations[pointer + "/" + PointerToken(from.str())] = p.Loc(to.source());
        // Target ids are often numeric; an integer is taken as its decimal text.
        if (const auto* s = to.as_string()) {
          table[std::string(from.str())] = s->get();
        } else if (const auto* i = to.as_integer()) {
          table[std::string(from.str())] = std::to_string(i->get());
        } else {
          p.Error(to.source(), table_path + "." + std::string(from.str()) +
                                   " must be a string (or an integer id), not " + TypeName(to));
        }
      }
    }
  }
  if (const toml::table* o = p.Table(t, "options", path + ".options")) {
    pipe.options = p.ToJson(*o, path + ".options", "/options", pipe.locations, /*options=*/true);
  }
}

}  // namespace

bool LooksLikeSecretName(std::string_view key) {
  // Normalise camelCase and dashes to snake_case: partnerUserSecret -> partner_user_secret.
  std::string n;
  for (size_t i = 0; i < key.size(); ++i) {
    char c = key[i];
    if (std::isupper(static_cast<unsigned char>(c))) {
      bool after_lower = i > 0 && (std::islower(static_cast<unsigned char>(key[i - 1])) ||
                                   std::isdigit(static_cast<unsigned char>(key[i - 1])));
      if (after_lower) n += '_';
      n += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    } else {
      n += c == '-' ? '_' : c;
    }
  }
  static const std::set<std::string> kExact = {
      "token",         "secret",      "password",           "passwd",
      "api_key",       "apikey",      "client_secret",      "access_token",
      "refresh_token", "private_key", "partner_user_secret"};
  if (kExact.count(n) != 0) return true;
  auto ends_with = [&n](std::string_view suffix) {
    return n.size() > suffix.size() && n.compare(n.size() - suffix.size(), suffix.size(), suffix) == 0;
  };
  return ends_with("_secret") || ends_with("_token") || ends_with("_password") || ends_with("_api_key");
}

std::optional<std::string> ClosestMatch(std::string_view name, const std::vector<std::string>& candidates,
                                        int max_distance) {
  std::optional<std::string> best;
  int best_distance = max_distance + 1;
  std::string lower_name = Lower(name);
  for (const std::string& c : candidates) {
    int d = EditDistance(lower_name, Lower(c));
    if (d < best_distance) {
      best_distance = d;
      best = c;
    }
  }
  return best;
}

LoadResult ParseConfig(const std::string& toml_text, const std::string& path_for_messages) {
  LoadResult result;
  Config& c = result.config;
  std::error_code ec;
  std::filesystem::path abs = std::filesystem::absolute(path_for_messages, ec);
  if (ec) abs = std::filesystem::path(path_for_messages);
  abs = abs.lexically_normal();
  c.path = abs.string();
  c.dir = abs.parent_path().string();

  Parser p(path_for_messages);
  toml::table root;
  try {
    root = toml::parse(std::string_view(toml_text), std::string_view(path_for_messages));
  } catch (const toml::parse_error& e) {
    p.Error(e.source(), "TOML syntax error: " + std::string(e.description()));
    result.errors = p.TakeErrors();
    return result;
  }

  for (auto&& [k, v] : root) {
    std::string key(k.str());
    if (std::find(kSections.begin(), kSections.end(), key) == kSections.end()) {
      if (v.is_table()) {
        std::optional<std::string> best = ClosestMatch(key, kSections);
        p.Error(k.source(), "unknown section [" + key + "]" +
                                (best ? "; did you mean [" + *best + "]?" : "") +
                                " (sections: host, store, vault, connections, pipelines)");
      } else {
        p.Error(k.source(), "unknown top-level key " + Quoted(key) + DidYouMean(key, kSections) +
                                " (settings belong in a section such as [host])");
      }
    }
  }

  if (const toml::table* t = p.Table(root, "host", "host")) ParseHost(p, *t, c);
  if (const toml::table* t = p.Table(root, "store", "store")) ParseStore(p, *t, c);
  if (const toml::table* t = p.Table(root, "vault", "vault")) ParseVault(p, *t, c);

  if (const toml::table* connections = p.Table(root, "connections", "connections")) {
    for (auto&& [k, v] : *connections) {
      std::string name(k.str());
      if (!IsPlainName(name)) {
        p.Error(k.source(),
                "connection name " + Quoted(name) + " may contain only letters, digits, '_' and '-'");
        continue;
      }
      const toml::table* t = v.as_table();
      if (t == nullptr) {
        p.Error(v.source(),
                "connections." + name + " must be a table ([connections." + name + "]), not " + TypeName(v));
        continue;
      }
      ParseConnection(p, name, *t, c.connections[name]);
    }
  }

  std::vector<std::string> connection_names;
  for (const auto& [name, conn] : c.connections) connection_names.push_back(name);
  auto list_connections = [&connection_names]() {
    if (connection_names.empty()) return std::string(" (no connections are configured)");
    std::string s = " (connections: ";
    for (size_t i = 0; i < connection_names.size(); ++i) s += (i ? ", " : "") + connection_names[i];
    return s + ")";
  };

  // A vault reference to another connection must name one that exists.
  for (const auto& [name, conn] : c.connections) {
    for (const auto& [field, ref] : conn.secrets) {
      if (ref.kind == SecretRef::Kind::kVault && c.connections.count(ref.connection) == 0) {
        p.Error(ref.where, "connections." + name + ".secrets." + field +
                               " refers to the vault of connection " + Quoted(ref.connection) +
                               ", which is not configured" + DidYouMean(ref.connection, connection_names));
      }
    }
  }

  if (const toml::table* pipelines = p.Table(root, "pipelines", "pipelines")) {
    for (auto&& [k, v] : *pipelines) {
      std::string name(k.str());
      if (!IsPlainName(name)) {
        p.Error(k.source(),
                "pipeline name " + Quoted(name) + " may contain only letters, digits, '_' and '-'");
        continue;
      }
      const toml::table* t = v.as_table();
      if (t == nullptr) {
        p.Error(v.source(),
                "pipelines." + name + " must be a table ([pipelines." + name + "]), not " + TypeName(v));
        continue;
      }
      Pipeline& pipe = c.pipelines[name];
      ParsePipeline(p, name, *t, pipe);
      for (const char* role : {"source", "target"}) {
        const std::string& conn = std::string_view(role) == "source" ? pipe.source : pipe.target;
        if (!conn.empty() && c.connections.count(conn) == 0) {
          p.Error(t->get(role)->source(), "pipelines." + name + "." + role + ": no connection named " +
                                              Quoted(conn) + DidYouMean(conn, connection_names) +
                                              list_connections());
        }
      }
      if (!pipe.source.empty() && pipe.source == pipe.target) {
        p.Error(t->get("target")->source(),
                "pipelines." + name + ": source and target are the same connection " + Quoted(pipe.source));
      }
    }
  }

  c.store_path = ResolvePath(c.dir, c.store_path);
  c.vault_key_file = ResolvePath(c.dir, c.vault_key_file);

  result.errors = p.TakeErrors();
  std::stable_sort(result.errors.begin(), result.errors.end(),
                   [](const ConfigError& a, const ConfigError& b) {
                     return std::pair(a.where.line, a.where.column) < std::pair(b.where.line, b.where.column);
                   });
  return result;
}

LoadResult LoadConfig(const std::string& path) {
  auto unreadable = [&path](const std::string& why) {
    LoadResult r;
    r.config.path = path;
    r.errors.push_back(ConfigError{Location{path, 0, 0}, "cannot read configuration file: " + why});
    return r;
  };
  std::error_code ec;
  std::filesystem::file_status st = std::filesystem::status(path, ec);
  if (ec || !std::filesystem::exists(st)) {
    return unreadable(ec && ec != std::errc::no_such_file_or_directory ? ec.message() : "no such file");
  }
  if (std::filesystem::is_directory(st)) return unreadable("it is a directory");
  std::ifstream in(path, std::ios::binary);
  if (!in) return unreadable(std::strerror(errno));
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return unreadable("read failed");
  return ParseConfig(text.str(), path);
}

}  // namespace mlc::config
