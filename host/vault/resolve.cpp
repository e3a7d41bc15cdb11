// Secret reference resolution: vault entries and environment variables.
#include "vault/resolve.hpp"

#include <cstdlib>

#include "core/redact.hpp"

namespace mlc::vault {
namespace {

std::string Where(const config::SecretRef& ref) {
  return ref.where.file.empty() ? std::string() : " (configured at " + ref.where.ToString() + ")";
}

}  // namespace

Result<std::string> ResolveSecret(const config::SecretRef& ref, Vault* vault) {
  switch (ref.kind) {
    case config::SecretRef::Kind::kEnv: {
      if (ref.env_var.empty())
        return Status::Invalid("secret reference names no environment variable" + Where(ref));
      const char* value = std::getenv(ref.env_var.c_str());
      if (value == nullptr) {
        return Status::Invalid("environment variable " + ref.env_var + " is not set" + Where(ref));
      }
      if (*value == '\0')
        return Status::Invalid("environment variable " + ref.env_var + " is empty" + Where(ref));
      std::string out(value);
      redact::RegisterSecret(out);
      return out;
    }
    case config::SecretRef::Kind::kVault: {
      const std::string name = ref.connection + "/" + ref.field;
      if (ref.connection.empty() || ref.field.empty()) {
        return Status::Invalid("secret reference vault:" + name + " needs both a connection and a field" +
                               Where(ref));
      }
      if (vault == nullptr) {
        return Status::Invalid("secret vault:" + name + Where(ref) +
                               " needs the vault, but no master key is configured (set MLC_MASTER_KEY or "
                               "[vault] key_file)");
      }
      auto value = vault->Get(ref.connection, ref.field);
      if (!value.ok()) return value.status().Wrap("secret vault:" + name + Where(ref));
      return value;  // Get registered it with the redactor
    }
  }
  return Status::Invalid("unknown secret reference kind" + Where(ref));
}

}  // namespace mlc::vault
