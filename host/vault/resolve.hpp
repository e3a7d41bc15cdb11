// Resolving a connection's secret reference from the configuration ("vault", "vault:CONN/FIELD",
// "env:VAR") to its value.
//
//   MLC_ASSIGN_OR_RETURN(std::string token, mlc::vault::ResolveSecret(conn.secrets.at("token"), &vault));
//
// The value is registered with the redactor before it is returned. Errors name the reference and where
// it was configured, never a value.
// Thread safety: as the Vault passed in (any thread); environment reads assume nobody calls setenv
// concurrently.
#ifndef MLC_HOST_VAULT_RESOLVE_HPP_
#define MLC_HOST_VAULT_RESOLVE_HPP_

#include <string>

#include "config/config.hpp"
#include "mlc/status.hpp"
#include "vault/vault.hpp"

namespace mlc::vault {

// `vault` may be null when no master key is configured; a vault reference then fails with an error that
// says how to configure one. An unset or empty environment variable is an error (Invalid).
Result<std::string> ResolveSecret(const config::SecretRef& ref, Vault* vault);

}  // namespace mlc::vault

#endif  // MLC_HOST_VAULT_RESOLVE_HPP_
