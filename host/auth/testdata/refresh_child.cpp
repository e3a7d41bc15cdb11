// Test helper for the crash-safety and cross-process tests: refreshes a rotating token in its own process.
//   mlc_auth_refresh_child STORE_PATH TOKEN_URL CONNECTION MODE
//   MODE kill_after_response: SIGKILLs itself once the token response arrived (before anything is stored)
//   MODE kill_inside_commit:  SIGKILLs itself with the new pair written but its transaction not committed
//   MODE wait_for_kill:       just refreshes; the test's token endpoint kills it while answering
//   MODE refresh:             just refreshes (another process of the test refreshes at the same time)
// The vault key comes from $MLC_MASTER_KEY. Exit codes: 0 got a token (the kill modes fail on that), 2 setup
// error, 3 refresh failed.
#include <csignal>
#include <cstdio>
#include <string>

#include "auth/token_manager.hpp"
#include "http/http_client.hpp"
#include "store/store.hpp"
#include "vault/vault.hpp"

int main(int argc, char** argv) {
  using namespace mlc;
  if (argc != 5) {
    std::fprintf(stderr, "usage: %s STORE_PATH TOKEN_URL CONNECTION MODE\n", argv[0]);
    return 2;
  }
  const std::string mode = argv[4];
  auto store = store::Store::Open({.path = argv[1], .synchronous = "FULL"});
  if (!store.ok()) return 2;
  auto key = vault::LoadMasterKeyFromEnv("MLC_MASTER_KEY");
  if (!key.ok()) return 2;
  auto v = vault::Vault::Open(**store, std::move(key).value());
  if (!v.ok()) return 2;
  vault::Vault vault = std::move(v).value();
  http::HttpClient client;

  auth::TokenManager::Options options;
  if (mode == "kill_after_response" || mode == "kill_inside_commit") {
    const std::string point = mode == "kill_after_response" ? "token_response_received" : "pair_written";
    options.test_hook = [point](std::string_view, std::string_view at) {
      if (at == point) std::raise(SIGKILL);
    };
  }
  auth::TokenManager tokens(**store, &vault, client, options);
  auth::ConnectionAuth conn;
  conn.name = argv[3];
  conn.spec.kind = auth::AuthKind::kOAuth2AuthorizationCode;
  conn.spec.token_url = argv[2];
  conn.spec.refresh_rotates = true;
  conn.secrets = [](std::string_view name) -> Result<std::string> {
    if (name == "client_id") return std::string("client-id-7f3a");
    if (name == "client_secret") return std::string("client-secret-9c2e41");
    return Status::NotFound("no such secret");
  };
  if (!tokens.Register(conn).ok()) return 2;
  auto token = tokens.GetAccessToken(conn.name);
  return token.ok() ? 0 : 3;
}
