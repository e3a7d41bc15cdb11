// The ceiling of the Brex -> FreshBooks backfill: the work of the flow done by a minimal loop straight
// against the emulators — the same vendor calls the host needs for each record, no store, no journal, no
// mapping, no audit, no retries. One reader pages Brex like the plugin does (records, then each record's
// expense, its card once, its receipt), and `workers` writers upload the receipt, create the FreshBooks
// expense and report export results to Brex in batches of `ack_batch`. What it achieves is the most the
// emulators and this machine allow the flow; `ratio` in mlc-bench is the host's share of it.
//
// Thread safety: RunCeiling starts and joins its own threads.
#ifndef MLC_BENCH_FLOW_CEILING_HPP_
#define MLC_BENCH_FLOW_CEILING_HPP_

#include <cstdint>
#include <string>

#include "mlc/status.hpp"

namespace mlc::bench {

struct CeilingOptions {
  std::string brex_base_url{};
  std::string brex_token{};
  std::string freshbooks_base_url{};  // API base (api_base_url of the emulator's announcement)
  std::string freshbooks_auth_url{};  // where /auth/oauth/token lives
  std::string client_id{};
  std::string client_secret{};
  std::string refresh_token{};
  int workers = 8;
  int page_size = 100;  // the host's default page size
  int ack_batch = 100;  // records per export-results request
};

struct CeilingResult {
  int64_t records = 0;   // expense records read
  int64_t created = 0;   // FreshBooks expenses created
  int64_t receipts = 0;  // receipts downloaded and uploaded
  int64_t vendors = 0;   // bill vendors created for Brex vendors FreshBooks lacked
  int64_t acked = 0;     // records reported exported
  double wall_s = 0;
};

Result<CeilingResult> RunCeiling(const CeilingOptions& options);

}  // namespace mlc::bench

#endif  // MLC_BENCH_FLOW_CEILING_HPP_
