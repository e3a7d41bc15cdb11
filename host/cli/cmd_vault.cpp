// `mlc vault put|get|list|delete|rotate-key|keygen`: managing the secret vault from the command line.
// Values travel only through stdin (put) and stdout (get, on explicit request); never through argv.
#include <termios.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <iostream>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "cli/commands.hpp"
#include "config/config.hpp"
#include "core/redact.hpp"
#include "store/store.hpp"
#include "vault/vault.hpp"

namespace mlc::cli {

namespace {

struct VaultOptions {
  std::string store_path;  // --store
  std::string key_file;    // --key-file
  std::string connection;
  std::string field;
  bool json = false;
  std::string new_key_file;
  std::string new_key_env;
  std::string keygen_path;
};

// Where the store and the key come from: flags first, then the configuration, then $MLC_MASTER_KEY.
struct Sources {
  std::string store_path;
  std::string synchronous = "FULL";
  std::string key_file;  // empty: $MLC_MASTER_KEY
};

// Error output goes through the redactor as a last line of defence.
void PrintError(std::string_view message) {
  std::cerr << "mlc vault: " << redact::RedactText(message) << "\n";
}

// Exit code for a failed vault or store operation.
int ExitFor(const Status& s) {
  if (s.code() == Code::kAuth) return kExitVault;  // wrong key, or a row that does not authenticate
  if (s.code() == Code::kNotFound) return kExitFailed;
  return kExitStore;
}

int ResolveSources(const GlobalOptions& g, const VaultOptions& v, bool need_store, bool need_key,
                   Sources* out) {
  out->store_path = v.store_path;
  out->key_file = v.key_file;
  const bool store_missing = need_store && out->store_path.empty();
  const bool key_from_config = need_key && out->key_file.empty() && !g.config_path.empty();
  if (store_missing && g.config_path.empty()) {
    PrintError("no store given: pass --store PATH, or --config FILE (or set MLC_CONFIG)");
    return kExitConfig;
  }
  if (store_missing || key_from_config) {
    config::LoadResult loaded = config::LoadConfig(g.config_path);
    if (!loaded.ok()) {
      for (const auto& e : loaded.errors) PrintError(e.ToString());
      return kExitConfig;
    }
    if (store_missing) {
      out->store_path = loaded.config.store_path;
      out->synchronous = loaded.config.store_synchronous;
    }
    if (key_from_config) out->key_file = loaded.config.vault_key_file;
  }
  return kExitOk;
}

int OpenStore(const Sources& src, std::unique_ptr<store::Store>* out) {
  auto store = store::Store::Open({.path = src.store_path, .synchronous = src.synchronous});
  if (!store.ok()) {
    PrintError(store.status().message());
    return kExitStore;
  }
  *out = std::move(store).value();
  return kExitOk;
}

// Loads the current key and opens the vault over an already opened store.
int OpenVault(const Sources& src, store::Store& store, std::unique_ptr<vault::Vault>* out) {
  auto key = vault::LoadMasterKey(src.key_file);
  if (!key.ok()) {
    PrintError(key.status().message());
    return kExitVault;
  }
  auto v = vault::Vault::Open(store, std::move(key).value());
  if (!v.ok()) {
    PrintError(v.status().message());
    return ExitFor(v.status());
  }
  *out = std::make_unique<vault::Vault>(std::move(v).value());
  return kExitOk;
}

int OpenAll(const GlobalOptions& g, const VaultOptions& o, std::unique_ptr<store::Store>* store,
            std::unique_ptr<vault::Vault>* v) {
  Sources src;
  if (int rc = ResolveSources(g, o, /*need_store=*/true, /*need_key=*/true, &src); rc != kExitOk) return rc;
  if (int rc = OpenStore(src, store); rc != kExitOk) return rc;
  return OpenVault(src, **store, v);
}

// Reads the secret from stdin: everything when piped; one line with echo off from a terminal.
std::string ReadSecretFromStdin(const VaultOptions& o) {
  std::string value;
  if (::isatty(STDIN_FILENO)) {
    std::cerr << "Value for " << o.connection << "/" << o.field << " (input hidden): " << std::flush;
    termios saved{};
    const bool have_tty = ::tcgetattr(STDIN_FILENO, &saved) == 0;
    if (have_tty) {
      termios quiet = saved;
      quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
      ::tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
    }
    std::getline(std::cin, value);
    if (have_tty) ::tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved);
    std::cerr << "\n";
    return value;
  }
  value.reserve(4096);
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, stdin)) > 0) value.append(buf, n);
  OPENSSL_cleanse(buf, sizeof buf);
  // One trailing newline is what `echo` and here-strings add; it is not part of the secret.
  if (!value.empty() && value.back() == '\n') {
    value.pop_back();
    if (!value.empty() && value.back() == '\r') value.pop_back();
  }
  return value;
}

int RunPut(const GlobalOptions& g, const VaultOptions& o) {
  std::unique_ptr<store::Store> store;
  std::unique_ptr<vault::Vault> v;
  if (int rc = OpenAll(g, o, &store, &v); rc != kExitOk) return rc;
  std::string value = ReadSecretFromStdin(o);
  if (value.empty()) {
    PrintError("refusing to store an empty secret (the value is read from stdin)");
    return kExitFailed;
  }
  Status s = v->Put(o.connection, o.field, value);
  OPENSSL_cleanse(value.data(), value.size());
  if (!s.ok()) {
    PrintError(s.message());
    return s.code() == Code::kInvalid ? kExitFailed : ExitFor(s);
  }
  std::cout << "stored " << o.connection << "/" << o.field << " (key id " << v->key_id() << ")\n";
  return kExitOk;
}

int RunGet(const GlobalOptions& g, const VaultOptions& o) {
  std::unique_ptr<store::Store> store;
  std::unique_ptr<vault::Vault> v;
  if (int rc = OpenAll(g, o, &store, &v); rc != kExitOk) return rc;
  auto value = v->Get(o.connection, o.field);
  if (!value.ok()) {
    PrintError(value.status().message());
    return ExitFor(value.status());
  }
  // The one place a secret is printed: the operator asked for it by name.
  std::fwrite(value->data(), 1, value->size(), stdout);
  std::fputc('\n', stdout);
  std::fflush(stdout);
  OPENSSL_cleanse(value->data(), value->size());
  return kExitOk;
}

int RunDelete(const GlobalOptions& g, const VaultOptions& o) {
  std::unique_ptr<store::Store> store;
  std::unique_ptr<vault::Vault> v;
  if (int rc = OpenAll(g, o, &store, &v); rc != kExitOk) return rc;
  if (Status s = v->Delete(o.connection, o.field); !s.ok()) {
    PrintError(s.message());
    return ExitFor(s);
  }
  std::cout << "deleted " << o.connection << "/" << o.field << "\n";
  return kExitOk;
}

std::string IsoTime(int64_t ms) {
  const std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  ::gmtime_r(&secs, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

// Names, dates and key ids only: listing needs no key and opens no secret.
int RunList(const GlobalOptions& g, const VaultOptions& o) {
  Sources src;
  if (int rc = ResolveSources(g, o, /*need_store=*/true, /*need_key=*/false, &src); rc != kExitOk) return rc;
  std::unique_ptr<store::Store> store;
  if (int rc = OpenStore(src, &store); rc != kExitOk) return rc;
  auto entries = vault::ListEntries(*store);
  if (!entries.ok()) {
    PrintError(entries.status().message());
    return kExitStore;
  }
  if (o.json) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& e : *entries) {
      out.push_back({{"connection", e.connection},
                     {"field", e.field},
                     {"updated_at", IsoTime(e.updated_at_ms)},
                     {"key_id", e.key_id}});
    }
    std::cout << out.dump(2) << "\n";
    return kExitOk;
  }
  if (entries->empty()) {
    std::cout << "no secrets in the vault\n";
    return kExitOk;
  }
  size_t wc = 10, wf = 5;
  for (const auto& e : *entries) {
    wc = std::max(wc, e.connection.size());
    wf = std::max(wf, e.field.size());
  }
  auto pad = [](const std::string& s, size_t w) { return s + std::string(w - s.size() + 2, ' '); };
  std::cout << pad("CONNECTION", wc) << pad("FIELD", wf) << pad("UPDATED", 20) << "KEY ID\n";
  for (const auto& e : *entries) {
    std::cout << pad(e.connection, wc) << pad(e.field, wf) << pad(IsoTime(e.updated_at_ms), 20) << e.key_id
              << "\n";
  }
  return kExitOk;
}

int RunRotate(const GlobalOptions& g, const VaultOptions& o) {
  if (o.new_key_file.empty() && o.new_key_env.empty()) {
    PrintError("rotate-key needs the new key: --new-key-file FILE or --new-key-env VAR");
    return kExitUsage;
  }
  auto new_key = o.new_key_file.empty() ? vault::LoadMasterKeyFromEnv(o.new_key_env)
                                        : vault::LoadMasterKey(o.new_key_file);
  if (!new_key.ok()) {
    PrintError("new key: " + new_key.status().message());
    return kExitVault;
  }
  std::unique_ptr<store::Store> store;
  std::unique_ptr<vault::Vault> v;
  if (int rc = OpenAll(g, o, &store, &v); rc != kExitOk) return rc;
  const std::string old_id = v->key_id();
  auto count = v->RotateKey(*new_key);
  if (!count.ok()) {
    PrintError(count.status().message());
    return ExitFor(count.status());
  }
  std::cout << "re-encrypted " << *count << " secret" << (*count == 1 ? "" : "s") << " from key id " << old_id
            << " to key id " << new_key->id() << "\n"
            << "the old key no longer opens them: point [vault] key_file or MLC_MASTER_KEY at the new key\n";
  return kExitOk;
}

int RunKeygen(const VaultOptions& o) {
  const vault::MasterKey key = vault::GenerateMasterKey();
  if (Status s = vault::WriteKeyFile(o.keygen_path, key); !s.ok()) {
    PrintError(s.message());
    return kExitFailed;
  }
  std::cout << "wrote a new vault master key to " << o.keygen_path << " (mode 0600, key id " << key.id()
            << ")\n";
  return kExitOk;
}

void AddSourceFlags(CLI::App* cmd, VaultOptions& o, bool with_key) {
  cmd->add_option("--store", o.store_path, "Store database path (default: the config's [store] path)");
  if (with_key) {
    cmd->add_option("--key-file", o.key_file,
                    "Master key file (default: the config's [vault] key_file, else $MLC_MASTER_KEY)");
  }
}

void AddEntryArgs(CLI::App* cmd, VaultOptions& o) {
  cmd->add_option("connection", o.connection, "Connection name")->required();
  cmd->add_option("field", o.field, "Secret field name (e.g. token, client_secret)")->required();
}

}  // namespace

void RegisterVaultCommands(CLI::App& app, GlobalOptions& opts) {
  auto o = std::make_shared<VaultOptions>();
  CLI::App* vault = app.add_subcommand("vault", "Store, read and rotate connection secrets (AES-256-GCM)");
  vault->require_subcommand(1);

  CLI::App* put =
      vault->add_subcommand("put", "Store a secret read from stdin (one trailing newline is dropped)");
  AddEntryArgs(put, *o);
  AddSourceFlags(put, *o, true);
  put->callback([&opts, o] { opts.exit_code = RunPut(opts, *o); });

  CLI::App* get = vault->add_subcommand("get", "Print a secret's value to stdout");
  AddEntryArgs(get, *o);
  AddSourceFlags(get, *o, true);
  get->callback([&opts, o] { opts.exit_code = RunGet(opts, *o); });

  CLI::App* del = vault->add_subcommand("delete", "Remove a secret");
  AddEntryArgs(del, *o);
  AddSourceFlags(del, *o, true);
  del->callback([&opts, o] { opts.exit_code = RunDelete(opts, *o); });

  CLI::App* list =
      vault->add_subcommand("list", "List stored secrets: names, dates and key ids, never values");
  list->add_flag("--json", o->json, "Print JSON");
  AddSourceFlags(list, *o, false);
  list->callback([&opts, o] { opts.exit_code = RunList(opts, *o); });

  CLI::App* rotate = vault->add_subcommand(
      "rotate-key", "Re-encrypt every secret under a new master key, in one transaction");
  auto* nf = rotate->add_option("--new-key-file", o->new_key_file, "File holding the new key (mode 0600)");
  auto* ne = rotate->add_option("--new-key-env", o->new_key_env,
                                "Environment variable holding the new key (base64 of 32 bytes)");
  nf->excludes(ne);
  AddSourceFlags(rotate, *o, true);
  rotate->callback([&opts, o] { opts.exit_code = RunRotate(opts, *o); });

  CLI::App* keygen = vault->add_subcommand("keygen", "Write a new random master key to FILE (mode 0600)");
  keygen->add_option("file", o->keygen_path, "Key file to create; an existing file is never overwritten")
      ->required();
  keygen->callback([&opts, o] { opts.exit_code = RunKeygen(*o); });
}

}  // namespace mlc::cli
