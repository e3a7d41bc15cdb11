// The Brex API emulator for mlc-sandbox and tests (facts from shared/vendor-notes/brex.md).
//
//   mlc::sandbox::EmulatorRegistry registry;
//   mlc::sandbox::brex::RegisterBrexEmulator(registry);        // name "brex"
//   auto server = SandboxServer::Start(MakeBrexEmulator(options), options);
//
// Credentials (SandboxServer::Announcement()["credentials"]): user_token (bxt_), revoked_user_token,
// oauth {client_id, client_secret, authorize_url, token_url, revoke_url}, company_id, cash_account_id.
// Vendor options (EmulatorOptions::vendor, JSON; every key optional, unknown keys rejected) make the
// behaviours the notes leave unconfirmed configurable; see BrexOptions in brex_model.hpp.
//
// Thread safety: the emulator guards its state with one mutex; handlers run on the server's threads.
#ifndef MLC_PLUGINS_BREX_SANDBOX_BREX_EMULATOR_HPP_
#define MLC_PLUGINS_BREX_SANDBOX_BREX_EMULATOR_HPP_

#include <memory>

#include "mlc/sandbox/emulator.hpp"

namespace mlc::sandbox::brex {

std::unique_ptr<Emulator> MakeBrexEmulator(const EmulatorOptions& options);
void RegisterBrexEmulator(EmulatorRegistry& registry);

}  // namespace mlc::sandbox::brex

#endif  // MLC_PLUGINS_BREX_SANDBOX_BREX_EMULATOR_HPP_
