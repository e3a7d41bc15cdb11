// Vault implementation: master key loading, AES-256-GCM sealing with OpenSSL EVP, and the vault_secrets
// table (migration 2 in store/migrations.cpp).
#include "vault/vault.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <shared_mutex>
#include <utility>

#include "core/redact.hpp"
#include "mlc/crypto.hpp"
#include "store/kv.hpp"

namespace mlc::vault {
namespace {

constexpr size_t kNonceSize = 12;  // 96-bit GCM nonce
constexpr size_t kTagSize = 16;    // 128-bit GCM tag
constexpr size_t kMaxNameSize = 200;
constexpr size_t kMaxValueSize = 1 << 20;
constexpr size_t kMaxKeyFileSize = 4096;
// Prefix of the associated data; a later format gets a new prefix, so old and new rows never mix.
constexpr std::string_view kAdPrefix("mlc-vault-v1\0", 13);

// A std::string whose bytes are wiped when it goes away: for decrypted values and key text in transit.
struct WipedString {
  std::string s;
  ~WipedString() {
    if (!s.empty()) OPENSSL_cleanse(s.data(), s.size());
  }
};

std::string_view TrimSpace(std::string_view s) {
  auto space = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; };
  while (!s.empty() && space(s.front())) s.remove_prefix(1);
  while (!s.empty() && space(s.back())) s.remove_suffix(1);
  return s;
}

std::string Octal(mode_t mode) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "%04o", static_cast<unsigned>(mode & 07777));
  return buf;
}

std::string EntryName(std::string_view connection, std::string_view field) {
  return std::string(connection) + "/" + std::string(field);
}

Status CheckName(std::string_view what, std::string_view name) {
  if (name.empty()) return Status::Invalid(std::string("vault: ") + std::string(what) + " name is empty");
  if (name.size() > kMaxNameSize) {
    return Status::Invalid("vault: " + std::string(what) + " name is longer than " +
                           std::to_string(kMaxNameSize) + " bytes");
  }
  if (name.find('\0') != std::string_view::npos) {
    return Status::Invalid("vault: " + std::string(what) + " name contains a NUL byte");
  }
  return Status::Ok();
}

std::string AssociatedData(std::string_view connection, std::string_view field) {
  std::string ad(kAdPrefix);
  ad.append(connection).append(1, '\0').append(field);
  return ad;
}

Status KeyMismatch(std::string_view stored_id, std::string_view given_id) {
  return Status::Auth("vault master key does not match the key these secrets were written with (key id " +
                      std::string(stored_id) + ", given " + std::string(given_id) + ")");
}

struct CipherCtxFree {
  void operator()(EVP_CIPHER_CTX* ctx) const { EVP_CIPHER_CTX_free(ctx); }
};
using CipherCtx = std::unique_ptr<EVP_CIPHER_CTX, CipherCtxFree>;

struct Sealed {
  std::string nonce;
  std::string ciphertext;  // encrypted value followed by the tag
};

Result<Sealed> Seal(const MasterKey& key, std::string_view connection, std::string_view field,
                    std::string_view value) {
  Sealed out;
  out.nonce.resize(kNonceSize);
  if (RAND_bytes(reinterpret_cast<unsigned char*>(out.nonce.data()), kNonceSize) != 1) {
    return Status::Error("vault: the system random generator failed; nothing was written");
  }
  const std::string ad = AssociatedData(connection, field);
  CipherCtx ctx(EVP_CIPHER_CTX_new());
  out.ciphertext.resize(value.size() + kTagSize);
  auto* ct = reinterpret_cast<unsigned char*>(out.ciphertext.data());
  int len = 0;
  int total = 0;
  const bool ok =
      ctx && EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, nullptr, nullptr) == 1 &&
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_IVLEN, kNonceSize, nullptr) == 1 &&
      EVP_EncryptInit_ex(ctx.get(), nullptr, nullptr, key.data(),
                         reinterpret_cast<const unsigned char*>(out.nonce.data())) == 1 &&
      EVP_EncryptUpdate(ctx.get(), nullptr, &len, reinterpret_cast<const unsigned char*>(ad.data()),
                        static_cast<int>(ad.size())) == 1 &&
      EVP_EncryptUpdate(ctx.get(), ct, &len, reinterpret_cast<const unsigned char*>(value.data()),
                        static_cast<int>(value.size())) == 1 &&
      (total = len, EVP_EncryptFinal_ex(ctx.get(), ct + total, &len) == 1) &&
      (total += len, static_cast<size_t>(total) == value.size()) &&
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, kTagSize, ct + value.size()) == 1;
  if (!ok) return Status::Error("vault: encryption failed (OpenSSL); nothing was written");
  return out;
}

// Opens a sealed value into `plain` (the caller's wiped buffer); on failure `plain` holds nothing.
Status Unseal(const MasterKey& key, std::string_view connection, std::string_view field,
              std::string_view nonce, std::string_view ciphertext, WipedString& plain) {
  const std::string name = EntryName(connection, field);
  if (nonce.size() != kNonceSize || ciphertext.size() < kTagSize) {
    return Status::Auth("vault: secret " + name + " is malformed (nonce or ciphertext has the wrong length)");
  }
  const size_t n = ciphertext.size() - kTagSize;
  const std::string ad = AssociatedData(connection, field);
  std::string tag(ciphertext.substr(n));
  plain.s.assign(n, '\0');
  auto* out = reinterpret_cast<unsigned char*>(plain.s.data());
  CipherCtx ctx(EVP_CIPHER_CTX_new());
  int len = 0;
  int final_len = 0;
  const bool setup =
      ctx && EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, nullptr, nullptr) == 1 &&
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_IVLEN, kNonceSize, nullptr) == 1 &&
      EVP_DecryptInit_ex(ctx.get(), nullptr, nullptr, key.data(),
                         reinterpret_cast<const unsigned char*>(nonce.data())) == 1 &&
      EVP_DecryptUpdate(ctx.get(), nullptr, &len, reinterpret_cast<const unsigned char*>(ad.data()),
                        static_cast<int>(ad.size())) == 1 &&
      EVP_DecryptUpdate(ctx.get(), out, &len, reinterpret_cast<const unsigned char*>(ciphertext.data()),
                        static_cast<int>(n)) == 1 &&
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, kTagSize, tag.data()) == 1;
  const bool authentic = setup && EVP_DecryptFinal_ex(ctx.get(), out + len, &final_len) == 1 &&
                         static_cast<size_t>(len + final_len) == n;
  if (!authentic) {
    // GCM decrypts before it verifies: wipe the unverified bytes.
    OPENSSL_cleanse(plain.s.data(), plain.s.size());
    plain.s.clear();
    if (!setup) return Status::Error("vault: decryption of " + name + " failed (OpenSSL)");
    return Status::Auth("vault: secret " + name +
                        " failed authentication: it was modified, copied from another entry, or corrupted");
  }
  return Status::Ok();
}

}  // namespace

// ---- MasterKey ----

Result<MasterKey> MasterKey::FromBytes(std::string_view raw) {
  if (raw.size() != kSize) {
    return Status::Invalid("a vault master key is exactly 32 bytes, got " + std::to_string(raw.size()));
  }
  MasterKey key;
  std::memcpy(key.bytes_.data(), raw.data(), kSize);
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int digest_len = 0;
  if (EVP_Digest(key.bytes_.data(), kSize, digest, &digest_len, EVP_sha256(), nullptr) != 1 ||
      digest_len < 8) {
    return Status::Error("vault: SHA-256 failed (OpenSSL)");
  }
  static constexpr char kHex[] = "0123456789abcdef";
  for (int i = 0; i < 8; ++i) {
    key.id_ += kHex[digest[i] >> 4];
    key.id_ += kHex[digest[i] & 0xf];
  }
  OPENSSL_cleanse(digest, sizeof digest);
  return key;
}

Result<MasterKey> MasterKey::FromBase64(std::string_view text) {
  auto decoded = crypto::Base64Decode(TrimSpace(text));
  if (!decoded.ok()) {
    return Status::Invalid("not valid base64 (expected the standard base64 of 32 bytes)");
  }
  WipedString raw{std::move(decoded).value()};
  if (raw.s.size() != kSize) {
    return Status::Invalid("base64 decodes to " + std::to_string(raw.s.size()) +
                           " bytes; a vault master key is exactly 32 bytes");
  }
  return FromBytes(raw.s);
}

MasterKey::MasterKey(const MasterKey& other) : bytes_(other.bytes_), id_(other.id_) {}

MasterKey& MasterKey::operator=(const MasterKey& other) {
  if (this != &other) {
    bytes_ = other.bytes_;
    id_ = other.id_;
  }
  return *this;
}

MasterKey::MasterKey(MasterKey&& other) noexcept : bytes_(other.bytes_), id_(std::move(other.id_)) {
  other.Wipe();
}

MasterKey& MasterKey::operator=(MasterKey&& other) noexcept {
  if (this != &other) {
    bytes_ = other.bytes_;
    id_ = std::move(other.id_);
    other.Wipe();
  }
  return *this;
}

MasterKey::~MasterKey() { Wipe(); }

void MasterKey::Wipe() { OPENSSL_cleanse(bytes_.data(), bytes_.size()); }

std::string MasterKey::ToBase64() const {
  return crypto::Base64Encode(std::string_view(reinterpret_cast<const char*>(bytes_.data()), bytes_.size()));
}

// ---- Loading and generating keys ----

Result<MasterKey> LoadMasterKeyFromEnv(const std::string& name) {
  const char* value = std::getenv(name.c_str());
  if (value == nullptr || *value == '\0') {
    return Status::NotFound("no vault master key: $" + name + " is not set");
  }
  auto key = MasterKey::FromBase64(value);
  if (!key.ok()) return key.status().Wrap("$" + name);
  return key;
}

Result<MasterKey> LoadMasterKey(const std::string& key_file) {
  if (key_file.empty()) {
    auto key = LoadMasterKeyFromEnv("MLC_MASTER_KEY");
    if (!key.ok() && key.status().code() == Code::kNotFound) {
      return Status::NotFound(
          "no vault master key: set MLC_MASTER_KEY to the base64 of 32 random bytes, or set [vault] key_file "
          "(create one with `mlc vault keygen FILE`)");
    }
    return key;
  }
  const std::string where = "vault key file " + key_file;
  const int fd = ::open(key_file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Status::Invalid(where + ": cannot open: " + std::strerror(errno));
  // Checks run on the opened file, so what is checked is what is read.
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    const int err = errno;
    ::close(fd);
    return Status::Invalid(where + ": cannot stat: " + std::strerror(err));
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    return Status::Invalid(where + " is not a regular file");
  }
  if (st.st_uid != ::geteuid()) {
    ::close(fd);
    return Status::Invalid(where + " is owned by uid " + std::to_string(st.st_uid) +
                           ", not by the current user (uid " + std::to_string(::geteuid()) + ")");
  }
  if ((st.st_mode & 077) != 0) {
    ::close(fd);
    return Status::Invalid(where + " has mode " + Octal(st.st_mode) +
                           ": it must not be accessible by group or others (chmod 600 " + key_file + ")");
  }
  WipedString contents;
  contents.s.resize(kMaxKeyFileSize + 1);
  size_t got = 0;
  while (got < contents.s.size()) {
    const ssize_t n = ::read(fd, contents.s.data() + got, contents.s.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int err = errno;
      ::close(fd);
      return Status::Invalid(where + ": read failed: " + std::strerror(err));
    }
    if (n == 0) break;
    got += static_cast<size_t>(n);
  }
  ::close(fd);
  if (got > kMaxKeyFileSize) return Status::Invalid(where + " is too large to be a key file");
  const std::string_view data(contents.s.data(), got);
  // Exactly 32 bytes: the raw key. Anything else is base64 text (44 characters for 32 bytes).
  auto key = data.size() == MasterKey::kSize ? MasterKey::FromBytes(data) : MasterKey::FromBase64(data);
  if (!key.ok()) {
    return Status::Invalid(where + ": " + key.status().message() +
                           " (a key file holds 32 raw bytes or their base64 text)");
  }
  return key;
}

MasterKey GenerateMasterKey() {
  std::array<unsigned char, MasterKey::kSize> raw{};
  if (RAND_bytes(raw.data(), static_cast<int>(raw.size())) != 1) {
    // Without randomness no key can be made safely; continuing would be worse than stopping.
    std::fputs("mlc: fatal: the system random generator failed\n", stderr);
    std::abort();
  }
  auto key = MasterKey::FromBytes(std::string_view(reinterpret_cast<const char*>(raw.data()), raw.size()));
  OPENSSL_cleanse(raw.data(), raw.size());
  if (!key.ok()) {
    std::fputs("mlc: fatal: cannot derive a key id (OpenSSL)\n", stderr);
    std::abort();
  }
  return std::move(key).value();
}

Status WriteKeyFile(const std::string& path, const MasterKey& key) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) {
    if (errno == EEXIST) return Status::Invalid("refusing to overwrite existing file " + path);
    return Status::Invalid("cannot create key file " + path + ": " + std::strerror(errno));
  }
  // Moved, never copied, into the wiped buffer; the newline is written separately so the key text is
  // never reallocated (which would leave a copy behind in freed memory).
  WipedString text{
      crypto::Base64Encode(std::string_view(reinterpret_cast<const char*>(key.data()), MasterKey::kSize))};
  // The umask can only remove bits from 0600, but make the mode exact anyway.
  bool ok = ::fchmod(fd, 0600) == 0;
  size_t done = 0;
  while (ok && done < text.s.size()) {
    const ssize_t n = ::write(fd, text.s.data() + done, text.s.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      ok = false;
      break;
    }
    done += static_cast<size_t>(n);
  }
  ok = ok && ::write(fd, "\n", 1) == 1;
  ok = ok && ::fsync(fd) == 0;
  const int err = errno;
  ok = (::close(fd) == 0) && ok;
  if (!ok) {
    ::unlink(path.c_str());
    return Status::Error("cannot write key file " + path + ": " + std::strerror(err));
  }
  return Status::Ok();
}

// ---- Vault ----

// Lock order: rotate_mu, then the store (its mutex and SQLite's write lock), then mu. `mu` is held only
// around CPU work on the key (sealing, opening, the swap), never while waiting for the store, so a Put
// inside a caller's open transaction and a concurrent RotateKey cannot deadlock.
struct Vault::State {
  State(store::Store* s, MasterKey k) : store(s), key(std::move(k)) {}
  store::Store* store;
  MasterKey key;
  // Shared while a value is sealed or opened; exclusive while RotateKey swaps the key.
  mutable std::shared_mutex mu;
  std::mutex rotate_mu;  // one rotation at a time
};

Result<std::vector<Entry>> ListEntries(store::Executor& db) {
  MLC_ASSIGN_OR_RETURN(auto rows, db.Query("SELECT connection, field, updated_at, key_id FROM vault_secrets "
                                           "ORDER BY connection, field"));
  std::vector<Entry> out;
  out.reserve(rows.size());
  for (const auto& row : rows) out.push_back({row.Text(0), row.Text(1), row.Int(2), row.Text(3)});
  return out;
}

Vault::Vault(std::unique_ptr<State> state) : state_(std::move(state)) {}
Vault::Vault(Vault&&) noexcept = default;
Vault& Vault::operator=(Vault&&) noexcept = default;
Vault::~Vault() = default;

Result<Vault> Vault::Open(store::Store& store, MasterKey key) {
  MLC_ASSIGN_OR_RETURN(auto rows, store.Query("SELECT DISTINCT key_id FROM vault_secrets ORDER BY key_id"));
  for (const auto& row : rows) {
    if (row.Text(0) != key.id()) return KeyMismatch(row.Text(0), key.id());
  }
  auto state = std::make_unique<State>(&store, std::move(key));
  return Vault(std::move(state));
}

std::string Vault::key_id() const {
  std::shared_lock lock(state_->mu);
  return state_->key.id();
}

namespace {

Status CheckEntry(std::string_view connection, std::string_view field, std::string_view value) {
  MLC_RETURN_IF_ERROR(CheckName("connection", connection));
  MLC_RETURN_IF_ERROR(CheckName("field", field));
  if (value.empty())
    return Status::Invalid("vault: refusing to store an empty value for " + EntryName(connection, field));
  if (value.size() > kMaxValueSize) {
    return Status::Invalid("vault: value for " + EntryName(connection, field) + " is larger than 1 MiB");
  }
  return Status::Ok();
}

}  // namespace

Status Vault::Put(std::string_view connection, std::string_view field, std::string_view value) {
  MLC_RETURN_IF_ERROR(CheckEntry(connection, field, value));
  Status status =
      state_->store->Transaction([&](store::Tx& tx) -> Status { return Put(tx, connection, field, value); });
  if (status.ok() || status.code() == Code::kAuth) return status;
  return status.Wrap("vault: storing " + EntryName(connection, field));
}

Status Vault::Put(store::Executor& tx, std::string_view connection, std::string_view field,
                  std::string_view value) {
  MLC_RETURN_IF_ERROR(CheckEntry(connection, field, value));
  redact::RegisterSecret(value);
  std::string key_id;
  Sealed sealed;
  {
    // Only the sealing holds the key lock: the statements below may wait for the store (see State).
    std::shared_lock lock(state_->mu);
    MLC_ASSIGN_OR_RETURN(sealed, Seal(state_->key, connection, field, value));
    key_id = state_->key.id();
  }
  // Another process may have rotated the key since Open: never mix rows sealed by different keys.
  MLC_ASSIGN_OR_RETURN(auto other,
                       tx.QueryOne("SELECT key_id FROM vault_secrets WHERE key_id <> $1 LIMIT 1", {key_id}));
  if (other) return KeyMismatch(other->Text(0), key_id);
  return tx.Exec(
      "INSERT INTO vault_secrets (connection, field, key_id, nonce, ciphertext, updated_at) "
      "VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (connection, field) DO UPDATE SET "
      "key_id = excluded.key_id, nonce = excluded.nonce, ciphertext = excluded.ciphertext, "
      "updated_at = excluded.updated_at",
      {std::string(connection), std::string(field), key_id, store::Bytes{std::move(sealed.nonce)},
       store::Bytes{std::move(sealed.ciphertext)}, store::NowMs()});
}

Result<std::string> Vault::Get(std::string_view connection, std::string_view field) {
  // The row is read without the key lock (see State). A rotation in this process that commits between the
  // read and the open leaves a row sealed by the old key: read it again, it has been re-sealed by then.
  for (int attempt = 0;; ++attempt) {
    MLC_ASSIGN_OR_RETURN(auto row,
                         state_->store->QueryOne("SELECT key_id, nonce, ciphertext FROM vault_secrets "
                                                 "WHERE connection = $1 AND field = $2",
                                                 {std::string(connection), std::string(field)}));
    if (!row) return Status::NotFound("no vault secret " + EntryName(connection, field));
    const std::string key_id = row->Text(0);
    std::shared_lock lock(state_->mu);
    if (key_id != state_->key.id()) {
      if (attempt < 2) continue;
      return KeyMismatch(key_id, state_->key.id());
    }
    WipedString value;
    MLC_RETURN_IF_ERROR(Unseal(state_->key, connection, field, row->Text(1), row->Text(2), value));
    redact::RegisterSecret(value.s);
    return std::string(value.s);
  }
}

Result<std::vector<Entry>> Vault::List() { return ListEntries(*state_->store); }

Status Vault::Delete(std::string_view connection, std::string_view field) {
  int64_t changes = 0;
  MLC_RETURN_IF_ERROR(state_->store->Exec("DELETE FROM vault_secrets WHERE connection = $1 AND field = $2",
                                          {std::string(connection), std::string(field)}, &changes));
  if (changes == 0) return Status::NotFound("no vault secret " + EntryName(connection, field));
  return Status::Ok();
}

Result<int64_t> Vault::RotateKey(const MasterKey& new_key) {
  std::lock_guard rotate(state_->rotate_mu);
  // Only RotateKey changes the key, and rotate_mu is held: reading it here needs no lock.
  const MasterKey old_key = state_->key;
  // Taken inside the transaction, after the re-sealed rows are written, and held until the swap is final.
  // A Put of this vault runs inside a transaction of the same database, so it runs wholly before this one
  // (its row is re-sealed below) or wholly after the swap (it seals with the new key).
  std::unique_lock<std::shared_mutex> swap(state_->mu, std::defer_lock);
  int64_t count = 0;
  Status status = state_->store->Transaction([&](store::Tx& tx) -> Status {
    MLC_ASSIGN_OR_RETURN(auto rows, tx.Query("SELECT connection, field, key_id, nonce, ciphertext "
                                             "FROM vault_secrets ORDER BY connection, field"));
    for (const auto& row : rows) {
      const std::string connection = row.Text(0);
      const std::string field = row.Text(1);
      if (row.Text(2) != old_key.id()) return KeyMismatch(row.Text(2), old_key.id());
      WipedString value;
      MLC_RETURN_IF_ERROR(Unseal(old_key, connection, field, row.Text(3), row.Text(4), value));
      redact::RegisterSecret(value.s);
      MLC_ASSIGN_OR_RETURN(Sealed sealed, Seal(new_key, connection, field, value.s));
      // updated_at stays: it dates the value, which has not changed.
      MLC_RETURN_IF_ERROR(
          tx.Exec("UPDATE vault_secrets SET key_id = $1, nonce = $2, ciphertext = $3 WHERE connection = $4 "
                  "AND field = $5",
                  {new_key.id(), store::Bytes{std::move(sealed.nonce)},
                   store::Bytes{std::move(sealed.ciphertext)}, connection, field}));
      ++count;
    }
    // Swapped before COMMIT, while this thread still holds the store: no Put of this process can run
    // between the commit and the swap and seal a row with the retired key.
    swap.lock();
    state_->key = new_key;
    return Status::Ok();
  });
  if (!status.ok()) {
    if (swap.owns_lock()) state_->key = old_key;  // the commit failed: the rows still use the old key
    return status.Wrap("vault: key rotation rolled back, nothing was changed");
  }
  return count;
}

}  // namespace mlc::vault
