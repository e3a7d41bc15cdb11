// Vault: connection secrets sealed with AES-256-GCM under one master key, stored in the `vault_secrets`
// table of the Store.
//
// Each row holds a fresh random 96-bit nonce, the ciphertext with its 128-bit tag, and the id of the
// master key that sealed it. The associated data binds a ciphertext to its (connection, field), so a row
// copied onto another fails to open instead of yielding the wrong secret. Values are never written,
// logged or put in error messages in plaintext; every value the vault reads or writes is registered with
// the redactor (core/redact.hpp).
//
//   MLC_ASSIGN_OR_RETURN(auto key, mlc::vault::LoadMasterKey(config.vault_key_file));
//   MLC_ASSIGN_OR_RETURN(auto vault, mlc::vault::Vault::Open(*store, std::move(key)));
//   MLC_RETURN_IF_ERROR(vault.Put("brex", "token", token));
//   MLC_ASSIGN_OR_RETURN(std::string token, vault.Get("brex", "token"));
//
// Ownership: a Vault refers to (does not own) the Store, which must outlive it; it owns its copy of the
// master key and wipes it when destroyed.
// Thread safety: a Vault may be used from any number of threads, and Put(tx, ...) from inside a store
// transaction on any thread. Lock order: the store first, then the vault's key lock, which is held only
// while sealing, opening or swapping the key; RotateKey swaps the key before its transaction commits, so no
// write of this process can slip in with the retired key and no Put inside a caller's transaction can
// deadlock with it. MasterKey is a value: copies are independent and each wipes itself.
#ifndef MLC_HOST_VAULT_VAULT_HPP_
#define MLC_HOST_VAULT_VAULT_HPP_

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "mlc/status.hpp"
#include "store/store.hpp"

namespace mlc::vault {

// A 256-bit AES key. Its id (first 8 bytes of SHA-256 of the key, in hex) is stored with each row, so a
// wrong key is reported as such; the id reveals nothing usable about the key.
class MasterKey {
 public:
  static constexpr size_t kSize = 32;

  // Exactly 32 raw bytes.
  static Result<MasterKey> FromBytes(std::string_view raw);
  // Standard base64 (padding optional, surrounding whitespace ignored) of exactly 32 bytes.
  static Result<MasterKey> FromBase64(std::string_view text);

  MasterKey(const MasterKey& other);
  MasterKey& operator=(const MasterKey& other);
  MasterKey(MasterKey&& other) noexcept;
  MasterKey& operator=(MasterKey&& other) noexcept;
  ~MasterKey();

  const std::string& id() const { return id_; }  // 16 hex digits
  std::string ToBase64() const;                  // for writing a key file; handle the result as a secret
  const unsigned char* data() const { return bytes_.data(); }

 private:
  MasterKey() = default;
  void Wipe();
  std::array<unsigned char, kSize> bytes_{};
  std::string id_;
};

// Reads the master key from `key_file` when it is not empty, else from $MLC_MASTER_KEY. The file holds
// either the 32 raw bytes or their base64 text; it must be a regular file owned by the current user with
// no permissions for group or others (mode & 077 == 0), otherwise it is refused with its path and mode.
// Errors never contain key material.
Result<MasterKey> LoadMasterKey(const std::string& key_file);
// Parses a key given as base64 text in an environment variable (`name` is used in error messages).
Result<MasterKey> LoadMasterKeyFromEnv(const std::string& name);
// A new random key (OpenSSL RAND_bytes). Aborts only if the system has no usable randomness.
MasterKey GenerateMasterKey();
// Writes `key` as base64 text to a new file with mode 0600; refuses to overwrite an existing file.
Status WriteKeyFile(const std::string& path, const MasterKey& key);

// A stored secret's metadata; never its value.
struct Entry {
  std::string connection;
  std::string field;
  int64_t updated_at_ms = 0;  // milliseconds since the Unix epoch
  std::string key_id;
};

// The vault's entries without opening any of them (needs no key): for `mlc vault list`.
Result<std::vector<Entry>> ListEntries(store::Executor& db);

class Vault {
 public:
  // Refuses (with "vault master key does not match the key these secrets were written with (key id X,
  // given Y)") a key other than the one the existing rows were sealed with.
  static Result<Vault> Open(store::Store& store, MasterKey key);

  Vault(Vault&&) noexcept;
  Vault& operator=(Vault&&) noexcept;
  ~Vault();

  // Seals and stores `value` (inserting or replacing) in a transaction of its own. Connection and field
  // must be non-empty, at most 200 bytes, and contain no NUL; the value must not be empty.
  Status Put(std::string_view connection, std::string_view field, std::string_view value);
  // The same, written through `tx`: the caller's open transaction (the Tx of Store::Transaction) on the
  // database this vault was opened on, so several secrets and other rows commit together or not at all.
  // Takes the vault's key lock only while sealing, so it is safe inside any transaction and concurrently
  // with RotateKey. On a non-OK result the caller should roll back (return it from the callback).
  Status Put(store::Executor& tx, std::string_view connection, std::string_view field,
             std::string_view value);
  // The value, or NotFound. A row that fails authentication (tampered, moved to another entry, corrupt)
  // is an Error that names the entry; a row sealed by another key is an Invalid naming both key ids.
  Result<std::string> Get(std::string_view connection, std::string_view field);
  Result<std::vector<Entry>> List();
  // NotFound when there is no such entry.
  Status Delete(std::string_view connection, std::string_view field);
  // Re-seals every secret under `new_key` in one transaction and from then on uses `new_key`. On any
  // failure (a row that does not open, a store error) nothing changes and the old key stays in use.
  // Returns the number of secrets re-sealed.
  Result<int64_t> RotateKey(const MasterKey& new_key);

  // The id of the key in use.
  std::string key_id() const;

 private:
  struct State;
  explicit Vault(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

}  // namespace mlc::vault

#endif  // MLC_HOST_VAULT_VAULT_HPP_
