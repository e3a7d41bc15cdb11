// Tests of mlc/crypto.hpp against published vectors: FIPS 180-4 examples (SHA-256), RFC 4231 (HMAC-SHA256),
// RFC 4648 section 10 (base64).
#include "mlc/crypto.hpp"

#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace mlc::crypto {
namespace {

std::string Unhex(std::string_view hex) { return HexDecode(hex).value(); }

TEST(Sha256Test, FipsVectors) {
  EXPECT_EQ(HexEncode(Sha256Digest("")), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(HexEncode(Sha256Digest("abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(HexEncode(Sha256Digest("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  EXPECT_EQ(HexEncode(Sha256Digest(
                "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmn"
                "opqrlmnopqrsmnopqrstnopqrstu")),
            "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1");
  EXPECT_EQ(HexEncode(Sha256Digest(std::string(1000000, 'a'))),
            "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST(Sha256Test, IncrementalUpdatesMatchOneShotAtEveryBlockBoundary) {
  std::string data;
  for (int i = 0; i < 300; ++i) data.push_back(static_cast<char>(i * 7));
  for (size_t len : {0u, 1u, 55u, 56u, 63u, 64u, 65u, 119u, 120u, 128u, 300u}) {
    const std::string msg = data.substr(0, len);
    const std::string expected = Sha256Digest(msg);
    for (size_t split : {size_t{0}, size_t{1}, len / 2, len}) {
      if (split > len) continue;
      Sha256 h;
      h.Update(msg.substr(0, split));
      h.Update(msg.substr(split));
      EXPECT_EQ(h.Finish(), expected) << "len " << len << " split " << split;
    }
  }
  Sha256 reused;
  reused.Update("garbage");
  (void)reused.Finish();
  reused.Reset();
  reused.Update("abc");
  EXPECT_EQ(HexEncode(reused.Finish()), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

struct HmacCase {
  std::string key;
  std::string data;
  std::string mac_hex;  // may be a truncated prefix (test case 5)
};

TEST(HmacSha256Test, Rfc4231Vectors) {
  const std::vector<HmacCase> cases = {
      {std::string(20, '\x0b'), "Hi There",
       "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"},
      {"Jefe", "what do ya want for nothing?",
       "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"},
      {std::string(20, '\xaa'), std::string(50, '\xdd'),
       "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe"},
      {Unhex("0102030405060708090a0b0c0d0e0f10111213141516171819"), std::string(50, '\xcd'),
       "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b"},
      {std::string(20, '\x0c'), "Test With Truncation", "a3b6167473100ee06e0c796c2955552b"},
      {std::string(131, '\xaa'), "Test Using Larger Than Block-Size Key - Hash Key First",
       "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"},
      {std::string(131, '\xaa'),
       "This is a test using a larger than block-size key and a larger than block-size data. The key needs "
       "to be "
       "hashed before being used by the HMAC algorithm.",
       "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2"},
  };
  int n = 1;
  for (const HmacCase& c : cases) {
    const std::string mac = HexEncode(HmacSha256(c.key, c.data));
    EXPECT_EQ(mac.substr(0, c.mac_hex.size()), c.mac_hex) << "RFC 4231 test case " << n;
    ++n;
  }
}

TEST(HmacSha256Test, ExactlyBlockSizedKeyIsUsedAsIs) {
  // A 64-byte key is not hashed; a 65-byte one is. Both must differ from each other and be stable.
  const std::string k64(64, 'k');
  const std::string k65(65, 'k');
  EXPECT_NE(HmacSha256(k64, "m"), HmacSha256(k65, "m"));
  EXPECT_EQ(HmacSha256(k65, "m"), HmacSha256(Sha256Digest(k65), "m"));
  EXPECT_NE(HmacSha256(k64, "m"), HmacSha256(Sha256Digest(k64), "m"));
}

TEST(ConstantTimeEqualTest, ComparesWholeStrings) {
  EXPECT_TRUE(ConstantTimeEqual("", ""));
  EXPECT_TRUE(ConstantTimeEqual("abc", "abc"));
  EXPECT_FALSE(ConstantTimeEqual("abc", "abd"));
  EXPECT_FALSE(ConstantTimeEqual("abc", "Abc"));
  EXPECT_FALSE(ConstantTimeEqual("abc", "abcd"));
  EXPECT_FALSE(ConstantTimeEqual("abc", ""));
  EXPECT_FALSE(ConstantTimeEqual(std::string("a\0b", 3), std::string("a\0c", 3)));
}

TEST(HexTest, EncodesLowerCaseAndDecodesEitherCase) {
  EXPECT_EQ(HexEncode(std::string("\x00\x01\xab\xff", 4)), "0001abff");
  EXPECT_EQ(HexDecode("0001ABff").value(), std::string("\x00\x01\xab\xff", 4));
  EXPECT_EQ(HexDecode("").value(), "");
  EXPECT_FALSE(HexDecode("abc").ok());
  EXPECT_FALSE(HexDecode("zz").ok());
  EXPECT_FALSE(HexDecode("0g").ok());
  EXPECT_EQ(HexDecode("0g").status().code(), Code::kInvalid);
}

TEST(Base64Test, Rfc4648Vectors) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"", ""},
      {"f", "Zg=="},
      {"fo", "Zm8="},
      {"foo", "Zm9v"},
      {"foob", "Zm9vYg=="},
      {"fooba", "Zm9vYmE="},
      {"foobar", "Zm9vYmFy"},
  };
  for (const auto& [plain, encoded] : cases) {
    EXPECT_EQ(Base64Encode(plain), encoded);
    EXPECT_EQ(Base64Decode(encoded).value(), plain);
  }
}

TEST(Base64Test, UrlSafeAlphabetHasNoPaddingAndItsOwnCharacters) {
  const std::string bytes("\xfb\xff\xbf", 3);
  EXPECT_EQ(Base64Encode(bytes), "+/+/");
  EXPECT_EQ(Base64Encode(bytes, Base64Alphabet::kUrlSafe), "-_-_");
  EXPECT_EQ(Base64Decode("-_-_", Base64Alphabet::kUrlSafe).value(), bytes);
  EXPECT_FALSE(Base64Decode("-_-_").ok());
  EXPECT_FALSE(Base64Decode("+/+/", Base64Alphabet::kUrlSafe).ok());
  EXPECT_EQ(Base64Encode("f", Base64Alphabet::kUrlSafe), "Zg");
  EXPECT_EQ(Base64Decode("Zg", Base64Alphabet::kUrlSafe).value(), "f");
}

TEST(Base64Test, RoundTripsEveryLengthAndByteValue) {
  std::string data;
  for (int i = 0; i < 256; ++i) data.push_back(static_cast<char>(i));
  for (size_t len = 0; len <= data.size(); ++len) {
    const std::string msg = data.substr(data.size() - len);
    for (auto alphabet : {Base64Alphabet::kStandard, Base64Alphabet::kUrlSafe}) {
      auto back = Base64Decode(Base64Encode(msg, alphabet), alphabet);
      ASSERT_TRUE(back.ok()) << len;
      ASSERT_EQ(*back, msg) << len;
    }
  }
}

TEST(Base64Test, RejectsMalformedText) {
  for (const char* bad : {"Z", "Zm9vY", "Zg=", "Zg===", "Z===", "====", "Zm9v=", "Zm 9v", "Zm9v\n", "Zm=v",
                          "Zh==", "Zm9=", "!!!!"}) {
    auto r = Base64Decode(bad);
    EXPECT_FALSE(r.ok()) << "accepted '" << bad << "' as '" << r.value_or("") << "'";
    if (!r.ok()) {
      EXPECT_EQ(r.status().code(), Code::kInvalid);
    }
  }
  // Unpadded standard base64 is accepted (padding is optional, but must be right when present).
  EXPECT_EQ(Base64Decode("Zg").value(), "f");
}

}  // namespace
}  // namespace mlc::crypto
