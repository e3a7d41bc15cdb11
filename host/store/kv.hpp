// Typed helpers over the core tables (kv_state, blobs) that back the plugin services state_* and blob_*.
//
//   MLC_RETURN_IF_ERROR(mlc::store::KvPut(*store, "conn:brex", "account_id", "acc_1"));
//   MLC_ASSIGN_OR_RETURN(auto id, mlc::store::BlobPut(*store, "application/pdf", pdf_bytes));
//
// Thread safety: free functions; safe from any thread as the Executor is (a Store: any; a Tx: the thread
// running its Transaction callback).
#ifndef MLC_HOST_STORE_KV_HPP_
#define MLC_HOST_STORE_KV_HPP_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "mlc/status.hpp"
#include "store/store.hpp"

namespace mlc::store {

// Milliseconds since the Unix epoch on the system clock; the default timestamp of the writers below.
int64_t NowMs();

// The value stored under (scope, key), or std::nullopt when there is none.
Result<std::optional<std::string>> KvGet(Executor& db, std::string_view scope, std::string_view key);
// Inserts or replaces the value under (scope, key).
Status KvPut(Executor& db, std::string_view scope, std::string_view key, std::string_view value,
             std::optional<int64_t> now_ms = std::nullopt);
// Removes (scope, key); removing a missing key is OK.
Status KvDelete(Executor& db, std::string_view scope, std::string_view key);

// "sha256:<64 lowercase hex>" of `bytes` (OpenSSL EVP).
Result<std::string> BlobId(std::string_view bytes);

// Stores `bytes` and returns its content address. Idempotent: the same bytes give the same id and are
// stored once (the first content type wins).
Result<std::string> BlobPut(Executor& db, std::string_view content_type, std::string_view bytes,
                            std::optional<int64_t> now_ms = std::nullopt);

struct Blob {
  std::string content_type;
  std::string data;
};
// The blob with `id`, or std::nullopt when there is none.
Result<std::optional<Blob>> BlobGet(Executor& db, std::string_view id);

}  // namespace mlc::store

#endif  // MLC_HOST_STORE_KV_HPP_
