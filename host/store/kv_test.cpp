// Tests for the kv_state / blobs helpers: round trips, upserts, content addressing.
#include "store/kv.hpp"

#include <gtest/gtest.h>

#include "store/test_util.hpp"

namespace mlc::store {
namespace {

class KvTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto store = Store::Open({.path = dir_.File("mlc.db"), .synchronous = "NORMAL"});
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    store_ = std::move(store).value();
  }
  testing::TempDir dir_;
  std::unique_ptr<Store> store_;
};

TEST_F(KvTest, GetMissingIsNullopt) {
  auto v = KvGet(*store_, "conn:brex", "cursor");
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_FALSE(v->has_value());
}

TEST_F(KvTest, PutGetOverwriteAndScopes) {
  ASSERT_TRUE(KvPut(*store_, "conn:brex", "cursor", "abc", 1000).ok());
  ASSERT_TRUE(KvPut(*store_, "conn:zoho", "cursor", "other").ok());
  auto v = KvGet(*store_, "conn:brex", "cursor");
  ASSERT_TRUE(v.ok());
  ASSERT_TRUE(v->has_value());
  EXPECT_EQ(**v, "abc");

  ASSERT_TRUE(KvPut(*store_, "conn:brex", "cursor", "def", 2000).ok());
  v = KvGet(*store_, "conn:brex", "cursor");
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->value_or(""), "def");
  auto row =
      store_->QueryOne("SELECT count(*), max(updated_at) FROM kv_state WHERE scope = $1", {"conn:brex"});
  ASSERT_TRUE(row.ok());
  EXPECT_EQ((*row)->Int(0), 1);
  EXPECT_EQ((*row)->Int(1), 2000);

  auto other = KvGet(*store_, "conn:zoho", "cursor");
  ASSERT_TRUE(other.ok());
  EXPECT_EQ(other->value_or(""), "other");

  // The empty string is a value, distinct from "missing".
  ASSERT_TRUE(KvPut(*store_, "conn:brex", "empty", "").ok());
  auto empty = KvGet(*store_, "conn:brex", "empty");
  ASSERT_TRUE(empty.ok());
  ASSERT_TRUE(empty->has_value());
  EXPECT_EQ(**empty, "");

  ASSERT_TRUE(KvDelete(*store_, "conn:brex", "cursor").ok());
  ASSERT_TRUE(KvDelete(*store_, "conn:brex", "never-set").ok());
  v = KvGet(*store_, "conn:brex", "cursor");
  ASSERT_TRUE(v.ok());
  EXPECT_FALSE(v->has_value());
}

TEST_F(KvTest, WorksInsideTransaction) {
  Status s = store_->Transaction([](Tx& tx) -> Status {
    MLC_RETURN_IF_ERROR(KvPut(tx, "s", "k", "v"));
    MLC_ASSIGN_OR_RETURN(auto v, KvGet(tx, "s", "k"));
    if (v != std::optional<std::string>("v")) return Status::Error("not visible in tx");
    return Status::Invalid("roll back");
  });
  EXPECT_EQ(s.code(), Code::kInvalid);
  auto v = KvGet(*store_, "s", "k");
  ASSERT_TRUE(v.ok());
  EXPECT_FALSE(v->has_value());
}

TEST(BlobIdTest, KnownSha256) {
  auto empty = BlobId("");
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(*empty, "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  auto abc = BlobId("abc");
  ASSERT_TRUE(abc.ok());
  EXPECT_EQ(*abc, "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST_F(KvTest, BlobRoundTripAndContentAddressing) {
  const std::string pdf = std::string("%PDF-1.4\0\x01\x02\xff", 13) + std::string(70000, 'r');
  auto id = BlobPut(*store_, "application/pdf", pdf);
  ASSERT_TRUE(id.ok()) << id.status().ToString();
  EXPECT_EQ(id->rfind("sha256:", 0), 0u);
  EXPECT_EQ(id->size(), 7u + 64u);

  // Same bytes, same id, stored once (idempotent; first content type kept).
  auto again = BlobPut(*store_, "application/octet-stream", pdf);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, *id);
  auto count = store_->QueryOne("SELECT count(*), max(size) FROM blobs");
  ASSERT_TRUE(count.ok());
  EXPECT_EQ((*count)->Int(0), 1);
  EXPECT_EQ((*count)->Int(1), static_cast<int64_t>(pdf.size()));

  // Different bytes, different id.
  auto other = BlobPut(*store_, "image/png", pdf + "!");
  ASSERT_TRUE(other.ok());
  EXPECT_NE(*other, *id);

  auto blob = BlobGet(*store_, *id);
  ASSERT_TRUE(blob.ok()) << blob.status().ToString();
  ASSERT_TRUE(blob->has_value());
  EXPECT_EQ((*blob)->content_type, "application/pdf");
  EXPECT_TRUE((*blob)->data == pdf);

  auto empty_id = BlobPut(*store_, "text/plain", "");
  ASSERT_TRUE(empty_id.ok()) << empty_id.status().ToString();
  auto empty = BlobGet(*store_, *empty_id);
  ASSERT_TRUE(empty.ok());
  ASSERT_TRUE(empty->has_value());
  EXPECT_EQ((*empty)->data, "");

  auto missing = BlobGet(*store_, "sha256:0000");
  ASSERT_TRUE(missing.ok());
  EXPECT_FALSE(missing->has_value());
}

TEST_F(KvTest, ConnectionsStateRejectsUnknownStatus) {
  EXPECT_TRUE(store_
                  ->Exec("INSERT INTO connections_state (connection, status, message, updated_at) "
                         "VALUES ($1, $2, $3, $4)",
                         {"brex", "needs_reauth", nullptr, int64_t{1}})
                  .ok());
  EXPECT_EQ(store_
                ->Exec("INSERT INTO connections_state (connection, status, message, updated_at) "
                       "VALUES ($1, $2, $3, $4)",
                       {"zoho", "sleepy", nullptr, int64_t{1}})
                .code(),
            Code::kInvalid);
}

}  // namespace
}  // namespace mlc::store
