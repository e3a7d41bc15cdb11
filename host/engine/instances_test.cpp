// StoreHostContext's secret_put (ABI 1.1): INVALID without a vault; with one, only declared names are
// sealed, read back through SecretGet, and never found in the database file in plaintext.
#include "engine/instances.hpp"

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "store/test_util.hpp"
#include "vault/vault.hpp"

namespace mlc::engine {
namespace {

using store::testing::TempDir;

class StoreHostContextSecretPutTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto store = store::Store::Open({.path = dir_.File("mlc.db")});
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    store_ = std::move(store).value();
  }
  TempDir dir_;
  std::unique_ptr<store::Store> store_;
};

TEST_F(StoreHostContextSecretPutTest, WithoutAVaultItIsInvalid) {
  StoreHostContext ctx(*store_, "src", {});
  std::string err;
  EXPECT_EQ(ctx.SecretPut("webhook_verifier", "whsec-engine-no-vault", &err), Code::kInvalid);
  EXPECT_NE(err.find("needs the vault"), std::string::npos) << err;
  EXPECT_EQ(err.find("whsec-engine-no-vault"), std::string::npos);
}

TEST_F(StoreHostContextSecretPutTest, WithAVaultDeclaredNamesAreSealedAndReadBack) {
  auto vault = vault::Vault::Open(*store_, vault::GenerateMasterKey());
  ASSERT_TRUE(vault.ok()) << vault.status().ToString();
  StoreHostContext ctx(*store_, "src", {{"fixed", "given-by-host"}}, &*vault, {"webhook_verifier", "fixed"});
  const std::string value = "whsec-engine-sealed-6d02";
  std::string err, out;
  ASSERT_EQ(ctx.SecretPut("webhook_verifier", value, &err), Code::kOk) << err;
  ASSERT_EQ(ctx.SecretGet("webhook_verifier", &out, &err), Code::kOk) << err;
  EXPECT_EQ(out, value);
  EXPECT_EQ(vault->Get("src", "webhook_verifier").value_or(""), value);

  EXPECT_EQ(ctx.SecretPut("undeclared", value, &err), Code::kInvalid);
  EXPECT_NE(err.find("not declared"), std::string::npos) << err;
  EXPECT_EQ(ctx.SecretPut("fixed", value, &err), Code::kInvalid);  // given by the host: not overwritten
  ASSERT_EQ(ctx.SecretGet("fixed", &out, &err), Code::kOk);
  EXPECT_EQ(out, "given-by-host");
  EXPECT_EQ(ctx.SecretGet("undeclared", &out, &err), Code::kNotFound);

  for (const std::string suffix : {"", "-wal"}) {
    EXPECT_EQ(store::testing::ReadFile(dir_.File("mlc.db") + suffix).find(value), std::string::npos)
        << "plaintext secret in mlc.db" << suffix;
  }
}

}  // namespace
}  // namespace mlc::engine
