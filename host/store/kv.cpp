// kv_state and blobs helpers: upserts with $N parameters and SHA-256 content addressing.
#include "store/kv.hpp"

#include <openssl/evp.h>

#include <chrono>
#include <memory>

namespace mlc::store {

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

Result<std::optional<std::string>> KvGet(Executor& db, std::string_view scope, std::string_view key) {
  MLC_ASSIGN_OR_RETURN(auto row, db.QueryOne("SELECT value FROM kv_state WHERE scope = $1 AND key = $2",
                                             {std::string(scope), std::string(key)}));
  if (!row) return std::optional<std::string>();
  return row->OptText(0);
}

Status KvPut(Executor& db, std::string_view scope, std::string_view key, std::string_view value,
             std::optional<int64_t> now_ms) {
  return db.Exec(
      "INSERT INTO kv_state (scope, key, value, updated_at) VALUES ($1, $2, $3, $4) "
      "ON CONFLICT (scope, key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
      {std::string(scope), std::string(key), std::string(value), now_ms.value_or(NowMs())});
}

Status KvDelete(Executor& db, std::string_view scope, std::string_view key) {
  return db.Exec("DELETE FROM kv_state WHERE scope = $1 AND key = $2",
                 {std::string(scope), std::string(key)});
}

Result<std::string> BlobId(std::string_view bytes) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
  if (!ctx || EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr) != 1 ||
      EVP_DigestUpdate(ctx.get(), bytes.data(), bytes.size()) != 1 ||
      EVP_DigestFinal_ex(ctx.get(), digest, &len) != 1) {
    return Status::Error("store: SHA-256 failed");
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string id = "sha256:";
  id.reserve(7 + 2 * len);
  for (unsigned int i = 0; i < len; ++i) {
    id += kHex[digest[i] >> 4];
    id += kHex[digest[i] & 0xf];
  }
  return id;
}

Result<std::string> BlobPut(Executor& db, std::string_view content_type, std::string_view bytes,
                            std::optional<int64_t> now_ms) {
  MLC_ASSIGN_OR_RETURN(std::string id, BlobId(bytes));
  MLC_RETURN_IF_ERROR(
      db.Exec("INSERT INTO blobs (id, content_type, size, data, created_at) VALUES ($1, $2, $3, $4, $5) "
              "ON CONFLICT (id) DO NOTHING",
              {id, std::string(content_type), static_cast<int64_t>(bytes.size()), Bytes{std::string(bytes)},
               now_ms.value_or(NowMs())}));
  return id;
}

Result<std::optional<Blob>> BlobGet(Executor& db, std::string_view id) {
  MLC_ASSIGN_OR_RETURN(auto row,
                       db.QueryOne("SELECT content_type, data FROM blobs WHERE id = $1", {std::string(id)}));
  if (!row) return std::optional<Blob>();
  return std::optional<Blob>(Blob{row->Text(0), row->Text(1)});
}

}  // namespace mlc::store
