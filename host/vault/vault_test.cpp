// Tests for the vault: sealing round trips, nonces, wrong keys, associated-data binding, tampering, key
// files and $MLC_MASTER_KEY, rotation (including a failure midway), and no plaintext in the SQLite files.
#include "vault/vault.hpp"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "core/redact.hpp"
#include "store/store.hpp"
#include "vault/resolve.hpp"

namespace mlc::vault {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "mlc-vault-test-XXXXXX").string();
    if (mkdtemp(tmpl.data()) != nullptr) path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  std::string File(const std::string& name) const { return (path_ / name).string(); }
  bool ok() const { return !path_.empty(); }

 private:
  std::filesystem::path path_;
};

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void WriteFileWithMode(const std::string& path, const std::string& data, mode_t mode) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << data;
  ::chmod(path.c_str(), mode);
}

std::unique_ptr<store::Store> OpenStore(const std::string& path, const std::string& sync = "NORMAL") {
  auto s = store::Store::Open({.path = path, .synchronous = sync});
  EXPECT_TRUE(s.ok()) << s.status().ToString();
  return s.ok() ? std::move(s).value() : nullptr;
}

MasterKey KeyFrom(char fill) { return MasterKey::FromBytes(std::string(32, fill)).value(); }

class VaultTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(dir_.ok());
    store_ = OpenStore(dir_.File("mlc.db"));
    ASSERT_NE(store_, nullptr);
  }
  Vault OpenVault(const MasterKey& key) {
    auto v = Vault::Open(*store_, key);
    EXPECT_TRUE(v.ok()) << v.status().ToString();
    return std::move(v).value();
  }
  struct RawRow {
    std::string key_id, nonce, ciphertext;
    int64_t updated_at;
    bool operator==(const RawRow&) const = default;
  };
  std::vector<RawRow> RawRows() {
    auto rows = store_->Query(
        "SELECT key_id, nonce, ciphertext, updated_at FROM vault_secrets ORDER BY connection, field");
    EXPECT_TRUE(rows.ok());
    std::vector<RawRow> out;
    for (const auto& r : *rows) out.push_back({r.Text(0), r.Text(1), r.Text(2), r.Int(3)});
    return out;
  }

  TempDir dir_;
  std::unique_ptr<store::Store> store_;
};

TEST_F(VaultTest, RoundTrip) {
  Vault v = OpenVault(GenerateMasterKey());
  const std::string binary("tok\0en\xff-with-bytes", 18);
  ASSERT_TRUE(v.Put("brex", "token", "bxt_roundtrip123").ok());
  ASSERT_TRUE(v.Put("zoho", "refresh_token", binary).ok());
  EXPECT_EQ(v.Get("brex", "token").value(), "bxt_roundtrip123");
  EXPECT_EQ(v.Get("zoho", "refresh_token").value(), binary);

  // Overwrite replaces.
  ASSERT_TRUE(v.Put("brex", "token", "bxt_second456").ok());
  EXPECT_EQ(v.Get("brex", "token").value(), "bxt_second456");

  auto missing = v.Get("brex", "nope");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), Code::kNotFound);
  EXPECT_EQ(missing.status().message(), "no vault secret brex/nope");

  auto list = v.List();
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].connection, "brex");
  EXPECT_EQ((*list)[0].field, "token");
  EXPECT_EQ((*list)[0].key_id, v.key_id());
  EXPECT_GT((*list)[0].updated_at_ms, 1'600'000'000'000);
  EXPECT_EQ((*list)[1].connection, "zoho");

  ASSERT_TRUE(v.Delete("brex", "token").ok());
  EXPECT_EQ(v.Get("brex", "token").status().code(), Code::kNotFound);
  EXPECT_EQ(v.Delete("brex", "token").code(), Code::kNotFound);
  EXPECT_EQ(ListEntries(*store_).value().size(), 1u);
}

TEST_F(VaultTest, BadInputRefusedAndNothingStored) {
  Vault v = OpenVault(GenerateMasterKey());
  EXPECT_EQ(v.Put("brex", "token", "").code(), Code::kInvalid);
  EXPECT_EQ(v.Put("", "token", "value-123").code(), Code::kInvalid);
  EXPECT_EQ(v.Put("brex", "", "value-123").code(), Code::kInvalid);
  EXPECT_EQ(v.Put(std::string("br\0ex", 5), "token", "value-123").code(), Code::kInvalid);
  EXPECT_EQ(v.Put(std::string(201, 'c'), "token", "value-123").code(), Code::kInvalid);
  EXPECT_EQ(v.Put("brex", "token", std::string((1 << 20) + 1, 'x')).code(), Code::kInvalid);
  EXPECT_TRUE(ListEntries(*store_).value().empty());
}

TEST(VaultNonceTest, ThousandPutsThousandDistinctNonces) {
  auto store = OpenStore(":memory:");
  ASSERT_NE(store, nullptr);
  Vault v = Vault::Open(*store, GenerateMasterKey()).value();
  std::set<std::string> nonces;
  std::set<std::string> ciphertexts;
  for (int i = 0; i < 1000; ++i) {
    // Same entry, same value each time: only the nonce makes each write different.
    ASSERT_TRUE(v.Put("brex", "token", "same-value-every-time").ok());
    auto row = store->QueryOne("SELECT nonce, ciphertext FROM vault_secrets").value();
    ASSERT_TRUE(row.has_value());
    EXPECT_EQ(row->Text(0).size(), 12u);
    nonces.insert(row->Text(0));
    ciphertexts.insert(row->Text(1));
  }
  EXPECT_EQ(nonces.size(), 1000u);
  EXPECT_EQ(ciphertexts.size(), 1000u);
  EXPECT_EQ(v.Get("brex", "token").value(), "same-value-every-time");
}

TEST_F(VaultTest, WrongKeyGivesClearErrorAndNoPlaintext) {
  const MasterKey right = KeyFrom('a');
  const MasterKey wrong = KeyFrom('b');
  ASSERT_NE(right.id(), wrong.id());
  {
    Vault v = OpenVault(right);
    ASSERT_TRUE(v.Put("brex", "token", "wrong-key-canary-1").ok());
  }
  const std::string expected =
      "vault master key does not match the key these secrets were written with (key id " + right.id() +
      ", given " + wrong.id() + ")";
  auto opened = Vault::Open(*store_, wrong);
  ASSERT_FALSE(opened.ok());
  EXPECT_EQ(opened.status().code(), Code::kAuth);
  EXPECT_EQ(opened.status().message(), expected);

  // A vault opened (on an empty table) with the wrong key, reading a row written later with the right one.
  TempDir dir;
  auto store = OpenStore(dir.File("other.db"));
  Vault w = Vault::Open(*store, wrong).value();
  Vault r = Vault::Open(*store, right).value();
  ASSERT_TRUE(r.Put("brex", "token", "wrong-key-canary-2").ok());
  auto got = w.Get("brex", "token");
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.status().code(), Code::kAuth);
  EXPECT_EQ(got.status().message(), expected);
  EXPECT_THAT(got.status().message(), Not(HasSubstr("canary")));
}

TEST_F(VaultTest, CiphertextBoundToItsEntry) {
  Vault v = OpenVault(GenerateMasterKey());
  ASSERT_TRUE(v.Put("brex", "token", "brex-token-value").ok());
  ASSERT_TRUE(v.Put("zoho", "token", "zoho-token-value").ok());
  ASSERT_TRUE(v.Put("zoho", "client_secret", "zoho-client-secret").ok());
  // Move brex/token's sealed bytes onto zoho/token, and zoho/client_secret's onto brex/token.
  auto rows = store_->Query("SELECT connection, field, nonce, ciphertext FROM vault_secrets").value();
  std::map<std::string, std::pair<std::string, std::string>> sealed;
  for (const auto& r : rows) sealed[r.Text(0) + "/" + r.Text(1)] = {r.Text(2), r.Text(3)};
  auto set = [&](const char* conn, const char* field, const std::pair<std::string, std::string>& s) {
    ASSERT_TRUE(
        store_
            ->Exec(
                "UPDATE vault_secrets SET nonce = $1, ciphertext = $2 WHERE connection = $3 AND field = $4",
                {store::Bytes{s.first}, store::Bytes{s.second}, conn, field})
            .ok());
  };
  set("zoho", "token", sealed["brex/token"]);
  set("brex", "token", sealed["zoho/client_secret"]);
  for (auto [conn, field] : {std::pair{"zoho", "token"}, std::pair{"brex", "token"}}) {
    auto got = v.Get(conn, field);
    ASSERT_FALSE(got.ok()) << conn << "/" << field;
    EXPECT_EQ(got.status().code(), Code::kAuth);
    EXPECT_THAT(got.status().message(), HasSubstr("failed authentication"));
    EXPECT_THAT(got.status().message(), HasSubstr(std::string(conn) + "/" + field));
  }
  // The untouched row still opens.
  EXPECT_EQ(v.Get("zoho", "client_secret").value(), "zoho-client-secret");
}

TEST_F(VaultTest, TamperedRowsFail) {
  Vault v = OpenVault(GenerateMasterKey());
  ASSERT_TRUE(v.Put("brex", "token", "tamper-target-value").ok());
  const RawRow original = RawRows().at(0);
  const size_t ct_len = original.ciphertext.size();
  ASSERT_EQ(ct_len, std::string("tamper-target-value").size() + 16);

  struct Mutation {
    const char* what;
    std::string nonce, ciphertext;
  };
  auto flip = [](std::string s, size_t i) {
    s[i] = static_cast<char>(s[i] ^ 0x01);
    return s;
  };
  const std::vector<Mutation> mutations = {
      {"ciphertext byte", original.nonce, flip(original.ciphertext, 0)},
      {"tag byte", original.nonce, flip(original.ciphertext, ct_len - 1)},
      {"nonce byte", flip(original.nonce, 5), original.ciphertext},
      {"truncated tag", original.nonce, original.ciphertext.substr(0, ct_len - 1)},
      {"too short", original.nonce, original.ciphertext.substr(0, 10)},
      {"short nonce", original.nonce.substr(0, 11), original.ciphertext},
  };
  for (const auto& m : mutations) {
    ASSERT_TRUE(store_
                    ->Exec("UPDATE vault_secrets SET nonce = $1, ciphertext = $2",
                           {store::Bytes{m.nonce}, store::Bytes{m.ciphertext}})
                    .ok());
    auto got = v.Get("brex", "token");
    ASSERT_FALSE(got.ok()) << m.what;
    EXPECT_EQ(got.status().code(), Code::kAuth) << m.what;
    EXPECT_THAT(got.status().message(), HasSubstr("brex/token")) << m.what;
  }
  ASSERT_TRUE(store_
                  ->Exec("UPDATE vault_secrets SET nonce = $1, ciphertext = $2",
                         {store::Bytes{original.nonce}, store::Bytes{original.ciphertext}})
                  .ok());
  EXPECT_EQ(v.Get("brex", "token").value(), "tamper-target-value");
}

TEST_F(VaultTest, RotateKeyReencryptsEverything) {
  const MasterKey old_key = KeyFrom('o');
  const MasterKey new_key = KeyFrom('n');
  Vault v = OpenVault(old_key);
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(v.Put("conn" + std::to_string(i), "token", "rotate-value-" + std::to_string(i)).ok());
  }
  const auto before = RawRows();
  auto count = v.RotateKey(new_key);
  ASSERT_TRUE(count.ok()) << count.status().ToString();
  EXPECT_EQ(*count, 5);
  EXPECT_EQ(v.key_id(), new_key.id());
  const auto after = RawRows();
  ASSERT_EQ(after.size(), 5u);
  for (size_t i = 0; i < after.size(); ++i) {
    EXPECT_EQ(after[i].key_id, new_key.id());
    EXPECT_NE(after[i].nonce, before[i].nonce);
    EXPECT_NE(after[i].ciphertext, before[i].ciphertext);
    EXPECT_EQ(after[i].updated_at, before[i].updated_at);  // the value did not change
  }
  // The same Vault keeps working, with the new key.
  EXPECT_EQ(v.Get("conn3", "token").value(), "rotate-value-3");
  ASSERT_TRUE(v.Put("conn9", "token", "after-rotation").ok());
  // The old key no longer opens the vault; the new one opens every secret.
  auto with_old = Vault::Open(*store_, old_key);
  ASSERT_FALSE(with_old.ok());
  EXPECT_THAT(with_old.status().message(), HasSubstr("does not match"));
  Vault fresh = OpenVault(new_key);
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(fresh.Get("conn" + std::to_string(i), "token").value(), "rotate-value-" + std::to_string(i));
  }
  EXPECT_EQ(fresh.Get("conn9", "token").value(), "after-rotation");
}

TEST_F(VaultTest, PutAfterRotationElsewhereRefused) {
  const MasterKey old_key = KeyFrom('o');
  Vault stale = OpenVault(old_key);
  Vault rotator = OpenVault(old_key);
  ASSERT_TRUE(stale.Put("brex", "token", "before-rotation").ok());
  ASSERT_TRUE(rotator.RotateKey(KeyFrom('n')).ok());
  // `stale` still holds the old key: writing would leave rows under two keys.
  const Status s = stale.Put("zoho", "token", "written-with-old-key");
  EXPECT_EQ(s.code(), Code::kAuth);
  EXPECT_EQ(s.message(), "vault master key does not match the key these secrets were written with (key id " +
                             KeyFrom('n').id() + ", given " + old_key.id() + ")");
  EXPECT_EQ(ListEntries(*store_).value().size(), 1u);
  EXPECT_EQ(stale.Get("brex", "token").status().code(), Code::kAuth);
}

TEST_F(VaultTest, RotationFailureMidwayChangesNothing) {
  const MasterKey old_key = KeyFrom('o');
  Vault v = OpenVault(old_key);
  for (const char* conn : {"a", "b", "c", "d", "e"}) {
    ASSERT_TRUE(v.Put(conn, "token", std::string("midway-value-") + conn).ok());
  }
  // Corrupt the last row in rotation order, so the first four are re-sealed before the failure.
  auto row = store_->QueryOne("SELECT ciphertext FROM vault_secrets WHERE connection = 'e'").value();
  std::string ct = row->Text(0);
  ct[2] = static_cast<char>(ct[2] ^ 0x40);
  ASSERT_TRUE(
      store_->Exec("UPDATE vault_secrets SET ciphertext = $1 WHERE connection = 'e'", {store::Bytes{ct}})
          .ok());
  const auto before = RawRows();

  auto count = v.RotateKey(KeyFrom('n'));
  ASSERT_FALSE(count.ok());
  EXPECT_EQ(count.status().code(), Code::kAuth);
  EXPECT_THAT(count.status().message(), HasSubstr("rolled back"));
  EXPECT_THAT(count.status().message(), HasSubstr("e/token"));

  EXPECT_EQ(RawRows(), before);
  EXPECT_EQ(v.key_id(), old_key.id());
  for (const char* conn : {"a", "b", "c", "d"}) {
    EXPECT_EQ(v.Get(conn, "token").value(), std::string("midway-value-") + conn);
  }
  EXPECT_TRUE(Vault::Open(*store_, old_key).ok());
}

TEST_F(VaultTest, NoPlaintextInDatabaseOrWal) {
  const std::string secrets[] = {"CANARY-brex-bxt-7f3a9c1e", "CANARY-zoho-refresh-51d0aa42",
                                 "CANARY-expensify-partner-secret-0b8e"};
  const MasterKey key = GenerateMasterKey();
  const std::string key_b64 = key.ToBase64();
  {
    Vault v = OpenVault(key);
    ASSERT_TRUE(v.Put("brex", "token", secrets[0]).ok());
    ASSERT_TRUE(v.Put("zoho", "refresh_token", secrets[1]).ok());
    ASSERT_TRUE(v.Put("expensify", "partnerUserSecret", secrets[2]).ok());
    ASSERT_EQ(v.Get("brex", "token").value(), secrets[0]);

    const std::string db = dir_.File("mlc.db");
    auto assert_clean = [&](const char* when) {
      for (const std::string& path : {db, db + "-wal", db + "-journal"}) {
        const std::string bytes = ReadAll(path);
        for (const std::string& s : secrets) {
          EXPECT_EQ(bytes.find(s), std::string::npos) << s << " found in " << path << " " << when;
        }
        EXPECT_EQ(bytes.find(std::string(reinterpret_cast<const char*>(key.data()), 32)), std::string::npos);
        EXPECT_EQ(bytes.find(key_b64), std::string::npos);
      }
    };
    // Before a checkpoint the rows live in the WAL; after it, in the main file.
    EXPECT_FALSE(ReadAll(db + "-wal").empty());
    assert_clean("before checkpoint");
    ASSERT_TRUE(v.RotateKey(GenerateMasterKey()).ok());
    assert_clean("after rotation");
    ASSERT_TRUE(store_->Checkpoint().ok());
    assert_clean("after checkpoint");
    EXPECT_NE(ReadAll(db).find("vault_secrets"), std::string::npos);  // the file we read is the real one
  }
  store_.reset();
  const std::string db = dir_.File("mlc.db");
  for (const std::string& s : secrets) EXPECT_EQ(ReadAll(db).find(s), std::string::npos);
}

TEST_F(VaultTest, ConcurrentUseDuringRotation) {
  Vault v = OpenVault(KeyFrom('x'));
  for (int t = 0; t < 4; ++t)
    ASSERT_TRUE(v.Put("t" + std::to_string(t), "token", "concurrent-" + std::to_string(t)).ok());
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      const std::string conn = "t" + std::to_string(t);
      for (int i = 0; i < 50; ++i) {
        const std::string value = "concurrent-" + std::to_string(t) + "-" + std::to_string(i);
        if (!v.Put(conn, "token", value).ok()) failures++;
        auto got = v.Get(conn, "token");
        if (!got.ok() || *got != value) failures++;
      }
    });
  }
  for (int r = 0; r < 3; ++r) {
    if (!v.RotateKey(KeyFrom(static_cast<char>('k' + r))).ok()) failures++;
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(v.key_id(), KeyFrom('m').id());
  Vault fresh = OpenVault(KeyFrom('m'));
  EXPECT_EQ(fresh.Get("t2", "token").value(), "concurrent-2-49");
}

TEST_F(VaultTest, PutInsideACallerTransactionCommitsWithItOrNotAtAll) {
  Vault v = OpenVault(KeyFrom('p'));
  ASSERT_TRUE(v.Put("fb", "refresh_token", "old-refresh-1").ok());
  ASSERT_TRUE(v.Put("fb", "access_token", "old-access-1").ok());

  // The callback fails after both writes: neither survives.
  Status s = store_->Transaction([&](store::Tx& tx) -> Status {
    MLC_RETURN_IF_ERROR(v.Put(tx, "fb", "refresh_token", "new-refresh-2"));
    MLC_RETURN_IF_ERROR(v.Put(tx, "fb", "access_token", "new-access-2"));
    return Status::Error("caller gave up");
  });
  EXPECT_EQ(s.code(), Code::kError);
  EXPECT_EQ(v.Get("fb", "refresh_token").value(), "old-refresh-1");
  EXPECT_EQ(v.Get("fb", "access_token").value(), "old-access-1");

  // The database refuses the second write (a trigger standing in for a full disk): the first rolls back.
  ASSERT_TRUE(store_
                  ->Exec("CREATE TRIGGER refuse_access BEFORE UPDATE ON vault_secrets "
                         "WHEN NEW.field = 'access_token' BEGIN SELECT RAISE(ABORT, 'injected failure'); END")
                  .ok());
  s = store_->Transaction([&](store::Tx& tx) -> Status {
    MLC_RETURN_IF_ERROR(v.Put(tx, "fb", "refresh_token", "new-refresh-3"));
    return v.Put(tx, "fb", "access_token", "new-access-3");
  });
  EXPECT_FALSE(s.ok());
  EXPECT_THAT(s.message(), HasSubstr("injected failure"));
  EXPECT_THAT(s.message(), Not(HasSubstr("new-access-3")));
  EXPECT_EQ(v.Get("fb", "refresh_token").value(), "old-refresh-1");
  EXPECT_EQ(v.Get("fb", "access_token").value(), "old-access-1");
  ASSERT_TRUE(store_->Exec("DROP TRIGGER refuse_access").ok());

  // Both commit together, with other rows of the same transaction.
  s = store_->Transaction([&](store::Tx& tx) -> Status {
    MLC_RETURN_IF_ERROR(v.Put(tx, "fb", "refresh_token", "new-refresh-4"));
    MLC_RETURN_IF_ERROR(v.Put(tx, "fb", "access_token", "new-access-4"));
    return tx.Exec(
        "INSERT INTO kv_state (scope, key, value, updated_at) VALUES ('auth:fb', 'generation', '4', 0)");
  });
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(v.Get("fb", "refresh_token").value(), "new-refresh-4");
  EXPECT_EQ(v.Get("fb", "access_token").value(), "new-access-4");
  // Bad input inside a transaction is refused like outside one.
  s = store_->Transaction([&](store::Tx& tx) -> Status { return v.Put(tx, "fb", "", "x"); });
  EXPECT_EQ(s.code(), Code::kInvalid);
}

TEST_F(VaultTest, RotationWhileOtherThreadsCommitSecretsInTheirTransactionsLosesNothing) {
  // Lock order check: writers hold the store (a transaction) and then need the key; RotateKey holds the
  // store and then swaps the key. A deadlock would hang this test; a write sealed with the retired key
  // would fail its transaction or leave a row no key opens.
  Vault v = OpenVault(KeyFrom('a'));
  constexpr int kThreads = 4;
  constexpr int kRounds = 40;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      const std::string conn = "c" + std::to_string(t);
      for (int i = 0; i < kRounds; ++i) {
        const std::string n = std::to_string(t) + "-" + std::to_string(i);
        Status s = store_->Transaction([&](store::Tx& tx) -> Status {
          MLC_RETURN_IF_ERROR(v.Put(tx, conn, "refresh_token", "pair-refresh-" + n));
          return v.Put(tx, conn, "access_token", "pair-access-" + n);
        });
        if (!s.ok()) {
          ADD_FAILURE() << s.ToString();
          failures++;
        }
        auto got = v.Get(conn, "access_token");
        if (!got.ok() || *got != "pair-access-" + n) failures++;
      }
    });
  }
  std::thread rotator([&] {
    for (int r = 0; r < 6; ++r) {
      auto count = v.RotateKey(KeyFrom(static_cast<char>('b' + r)));
      if (!count.ok()) {
        ADD_FAILURE() << count.status().ToString();
        failures++;
      }
    }
  });
  for (auto& th : threads) th.join();
  rotator.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(v.key_id(), KeyFrom('g').id());
  // Every row opens with the final key and holds the last pair written.
  Vault fresh = OpenVault(KeyFrom('g'));
  for (int t = 0; t < kThreads; ++t) {
    const std::string conn = "c" + std::to_string(t);
    const std::string n = std::to_string(t) + "-" + std::to_string(kRounds - 1);
    EXPECT_EQ(fresh.Get(conn, "refresh_token").value(), "pair-refresh-" + n);
    EXPECT_EQ(fresh.Get(conn, "access_token").value(), "pair-access-" + n);
  }
  const auto entries = ListEntries(*store_).value();
  EXPECT_EQ(entries.size(), 2u * kThreads);
  for (const auto& e : entries) EXPECT_EQ(e.key_id, KeyFrom('g').id());
}

TEST_F(VaultTest, ReadValuesAreRegisteredWithRedactor) {
  const std::string value = "redactor-registration-check-42";
  {
    Vault v = OpenVault(KeyFrom('r'));
    ASSERT_TRUE(v.Put("brex", "token", value).ok());
  }
  redact::ForgetSecret(value);  // Put registered it; prove that Get does too
  EXPECT_EQ(redact::RedactText("v " + value), "v " + value);
  Vault v = OpenVault(KeyFrom('r'));
  ASSERT_EQ(v.Get("brex", "token").value(), value);
  EXPECT_EQ(redact::RedactText("v " + value), "v [REDACTED]");
  redact::ForgetSecret(value);
}

// ---- Master keys ----

TEST(MasterKeyTest, IdIsStableAndDistinguishesKeys) {
  const MasterKey a = KeyFrom('a');
  EXPECT_EQ(a.id().size(), 16u);
  EXPECT_EQ(a.id(), KeyFrom('a').id());
  EXPECT_NE(a.id(), KeyFrom('c').id());
  EXPECT_EQ(MasterKey::FromBase64(a.ToBase64()).value().id(), a.id());
  // SHA-256 of 32 zero bytes starts 66687aadf862bd77.
  EXPECT_EQ(MasterKey::FromBytes(std::string(32, '\0')).value().id(), "66687aadf862bd77");
  EXPECT_NE(GenerateMasterKey().id(), GenerateMasterKey().id());
  EXPECT_EQ(MasterKey::FromBytes(std::string(31, 'a')).status().code(), Code::kInvalid);
}

TEST(MasterKeyTest, KeyFileModeAndContents) {
  TempDir dir;
  ASSERT_TRUE(dir.ok());
  const MasterKey key = GenerateMasterKey();
  const std::string raw(reinterpret_cast<const char*>(key.data()), 32);
  const std::string path = dir.File("master.key");

  WriteFileWithMode(path, key.ToBase64() + "\n", 0644);
  auto refused = LoadMasterKey(path);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().message(), "vault key file " + path +
                                            " has mode 0644: it must not be accessible by group or others "
                                            "(chmod 600 " +
                                            path + ")");
  ::chmod(path.c_str(), 0640);
  EXPECT_THAT(LoadMasterKey(path).status().message(), HasSubstr("mode 0640"));
  ::chmod(path.c_str(), 0604);
  EXPECT_FALSE(LoadMasterKey(path).ok());

  ::chmod(path.c_str(), 0600);
  auto b64 = LoadMasterKey(path);
  ASSERT_TRUE(b64.ok()) << b64.status().ToString();
  EXPECT_EQ(b64->id(), key.id());
  ::chmod(path.c_str(), 0400);
  EXPECT_TRUE(LoadMasterKey(path).ok());

  const std::string raw_path = dir.File("raw.key");
  WriteFileWithMode(raw_path, raw, 0600);
  auto from_raw = LoadMasterKey(raw_path);
  ASSERT_TRUE(from_raw.ok()) << from_raw.status().ToString();
  EXPECT_EQ(from_raw->id(), key.id());

  // Bad contents: none of these messages may echo the file's bytes.
  const std::pair<const char*, std::string> bad[] = {
      {"not base64", "this is not base64 at all!!"},
      {"short base64", MasterKey::FromBytes(std::string(32, 'z')).value().ToBase64().substr(0, 40)},
      {"33 raw bytes", raw + "x"},
      {"31 raw bytes", raw.substr(0, 31)},
      {"empty", ""},
  };
  for (const auto& [what, contents] : bad) {
    const std::string p = dir.File("bad.key");
    WriteFileWithMode(p, contents, 0600);
    auto r = LoadMasterKey(p);
    ASSERT_FALSE(r.ok()) << what;
    EXPECT_THAT(r.status().message(), HasSubstr(p)) << what;
    if (!contents.empty()) {
      EXPECT_THAT(r.status().message(), Not(HasSubstr(contents))) << what;
    }
  }
  EXPECT_THAT(LoadMasterKey(dir.File("missing.key")).status().message(), HasSubstr("cannot open"));
  std::filesystem::create_directory(dir.File("adir"));
  ::chmod(dir.File("adir").c_str(), 0700);
  EXPECT_THAT(LoadMasterKey(dir.File("adir")).status().message(), HasSubstr("not a regular file"));
}

TEST(MasterKeyTest, KeyFileOwnedByAnotherUserRefused) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to chown a file to another user";
  TempDir dir;
  const std::string path = dir.File("other.key");
  WriteFileWithMode(path, GenerateMasterKey().ToBase64(), 0600);
  ASSERT_EQ(::chown(path.c_str(), 12345, 12345), 0);
  auto r = LoadMasterKey(path);
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.status().message(), HasSubstr("owned by uid 12345, not by the current user (uid 0)"));
}

TEST(MasterKeyTest, WriteKeyFileCreates0600AndNeverOverwrites) {
  TempDir dir;
  const std::string path = dir.File("new.key");
  const MasterKey key = GenerateMasterKey();
  ASSERT_TRUE(WriteKeyFile(path, key).ok());
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(LoadMasterKey(path).value().id(), key.id());
  const std::string before = ReadAll(path);
  auto again = WriteKeyFile(path, GenerateMasterKey());
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.message(), "refusing to overwrite existing file " + path);
  EXPECT_EQ(ReadAll(path), before);
}

// Sets an environment variable for the scope of a test.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    if (value) {
      ::setenv(name, value, 1);
    } else {
      ::unsetenv(name);
    }
  }
  ~ScopedEnv() {
    if (old_) {
      ::setenv(name_.c_str(), old_->c_str(), 1);
    } else {
      ::unsetenv(name_.c_str());
    }
  }

 private:
  std::string name_;
  std::optional<std::string> old_;
};

TEST(MasterKeyTest, EnvironmentVariable) {
  const MasterKey key = GenerateMasterKey();
  const std::string b64 = key.ToBase64();
  {
    ScopedEnv env("MLC_MASTER_KEY", b64.c_str());
    auto k = LoadMasterKey("");
    ASSERT_TRUE(k.ok()) << k.status().ToString();
    EXPECT_EQ(k->id(), key.id());
  }
  {
    const std::string unpadded_with_space = "  " + b64.substr(0, b64.find('=')) + "\n";
    ScopedEnv env("MLC_MASTER_KEY", unpadded_with_space.c_str());
    EXPECT_EQ(LoadMasterKey("").value().id(), key.id());
  }
  {
    ScopedEnv env("MLC_MASTER_KEY", nullptr);
    auto k = LoadMasterKey("");
    ASSERT_FALSE(k.ok());
    EXPECT_EQ(k.status().code(), Code::kNotFound);
    EXPECT_THAT(k.status().message(), HasSubstr("MLC_MASTER_KEY"));
    EXPECT_THAT(k.status().message(), HasSubstr("key_file"));
  }
  const std::string short_key = MasterKey::FromBytes(std::string(32, 'q')).value().ToBase64().substr(0, 40);
  for (const std::string& bad :
       {std::string("not*base64*value"), short_key, b64 + "AAAA", std::string("QQ=Q")}) {
    ScopedEnv env("MLC_MASTER_KEY", bad.c_str());
    auto k = LoadMasterKey("");
    ASSERT_FALSE(k.ok()) << bad;
    EXPECT_EQ(k.status().code(), Code::kInvalid);
    EXPECT_THAT(k.status().message(), HasSubstr("$MLC_MASTER_KEY"));
    EXPECT_THAT(k.status().message(), Not(HasSubstr(bad)));
  }
  {
    // An explicit key file wins over the environment.
    TempDir dir;
    const std::string path = dir.File("k");
    const MasterKey file_key = GenerateMasterKey();
    WriteFileWithMode(path, file_key.ToBase64(), 0600);
    ScopedEnv env("MLC_MASTER_KEY", b64.c_str());
    EXPECT_EQ(LoadMasterKey(path).value().id(), file_key.id());
  }
}

// ---- ResolveSecret ----

TEST_F(VaultTest, ResolveSecretFromVaultAndEnvironment) {
  Vault v = OpenVault(GenerateMasterKey());
  ASSERT_TRUE(v.Put("brex", "token", "resolve-vault-value").ok());

  config::SecretRef vref;
  vref.kind = config::SecretRef::Kind::kVault;
  vref.connection = "brex";
  vref.field = "token";
  EXPECT_EQ(ResolveSecret(vref, &v).value(), "resolve-vault-value");

  auto no_vault = ResolveSecret(vref, nullptr);
  ASSERT_FALSE(no_vault.ok());
  EXPECT_THAT(no_vault.status().message(), HasSubstr("no master key is configured"));

  vref.field = "client_secret";
  auto missing = ResolveSecret(vref, &v);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), Code::kNotFound);
  EXPECT_THAT(missing.status().message(), HasSubstr("vault:brex/client_secret"));

  config::SecretRef eref;
  eref.kind = config::SecretRef::Kind::kEnv;
  eref.env_var = "MLC_TEST_RESOLVE_SECRET";
  {
    ScopedEnv env("MLC_TEST_RESOLVE_SECRET", "resolve-env-value-77");
    EXPECT_EQ(ResolveSecret(eref, nullptr).value(), "resolve-env-value-77");
    EXPECT_EQ(redact::RedactText("x resolve-env-value-77"), "x [REDACTED]");
  }
  {
    ScopedEnv env("MLC_TEST_RESOLVE_SECRET", nullptr);
    auto r = ResolveSecret(eref, nullptr);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().message(), "environment variable MLC_TEST_RESOLVE_SECRET is not set");
  }
  {
    ScopedEnv env("MLC_TEST_RESOLVE_SECRET", "");
    EXPECT_THAT(ResolveSecret(eref, nullptr).status().message(), HasSubstr("is empty"));
  }
}

}  // namespace
}  // namespace mlc::vault
