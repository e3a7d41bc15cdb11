// Identities the engine derives (job ids, idempotency keys, lease owners) and the instant parsing and
// formatting its CLI and audit trail use.
//
//   std::string id = mlc::engine::JobId("brex_to_fb", "expense", "exp_1", "3");   // 64 hex digits
//   std::string key = mlc::engine::IdempotencyKey(id);                           // "mlc-" + 30 hex digits
//   MLC_ASSIGN_OR_RETURN(int64_t ms, mlc::engine::ParseInstant("2024-03-01"));
//
// Thread safety: pure functions, except ThisLeaseOwner (computed once, then read-only).
#ifndef MLC_HOST_ENGINE_IDS_HPP_
#define MLC_HOST_ENGINE_IDS_HPP_

#include <cstdint>
#include <string>
#include <string_view>

#include "mlc/status.hpp"

namespace mlc::engine {

// Lower-case hex SHA-256 of `pipeline|object_type|source_id|source_version`: the same record always makes
// the same job, however it arrived.
std::string JobId(std::string_view pipeline, std::string_view object_type, std::string_view source_id,
                  std::string_view source_version);

// The idempotency key (or marker) a job's target write carries: "mlc-" plus the first 30 hex digits of the
// job id (120 bits). 34 characters, so it fits marker fields as short as 35 (Business Central's
// vendorInvoiceNumber).
std::string IdempotencyKey(std::string_view job_id);

// This process's lease owner name, "<hostname>:<pid>:<8 random hex>", fixed for the process lifetime.
const std::string& ThisLeaseOwner();

// True when `owner` names a process on this host that no longer runs (its pid is gone, or it is our pid
// with another random tag: an earlier process that had the same pid). Such leases can be taken over at
// once instead of waiting for them to expire. False whenever that cannot be known.
bool LeaseOwnerIsGone(std::string_view owner);

// "2024-03-01" (midnight UTC) or RFC 3339 ("2024-03-01T10:00:00Z", "...T10:00:00.250+02:00") ->
// milliseconds since the epoch. Invalid with the text it could not read.
Result<int64_t> ParseInstant(std::string_view text);

// True when `text` is a bare date (YYYY-MM-DD).
bool IsBareDate(std::string_view text);

// Milliseconds since the epoch -> "2024-03-01T10:00:00.250Z" (always milliseconds, always UTC).
std::string FormatInstantMs(int64_t ms);

// Milliseconds since the epoch -> "2024-03-01T10:00:00Z" (whole seconds, rounded down).
std::string FormatInstantSeconds(int64_t ms);

// Milliseconds since the epoch on the system clock.
int64_t SystemNowMs();

}  // namespace mlc::engine

#endif  // MLC_HOST_ENGINE_IDS_HPP_
