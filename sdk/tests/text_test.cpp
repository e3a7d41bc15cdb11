// Tests of mlc/text.hpp: ASCII case folding, percent and form encoding against RFC 3986 / WHATWG
// application/x-www-form-urlencoded examples, and the hex/base64 names crypto.hpp re-exports.
#include "mlc/text.hpp"

#include <string>

#include <gtest/gtest.h>

#include "mlc/crypto.hpp"

namespace mlc::text {
namespace {

TEST(TextCaseTest, FoldsOnlyAsciiLetters) {
  EXPECT_EQ(AsciiLower("Webhook-Signature"), "webhook-signature");
  EXPECT_EQ(AsciiUpper("usd eur"), "USD EUR");
  // UTF-8 bytes and punctuation pass through untouched ("É" is C3 89).
  EXPECT_EQ(AsciiLower("\xC3\x89T\xC3\xA9@[`{"), "\xC3\x89t\xC3\xA9@[`{");
  EXPECT_EQ(AsciiUpper("\xC3\xA9z"), "\xC3\xA9Z");
  static_assert(AsciiLower('Q') == 'q' && AsciiUpper('q') == 'Q' && AsciiLower('@') == '@');
}

TEST(TextCaseTest, ComparesIgnoringAsciiCase) {
  EXPECT_TRUE(EqualsIgnoreCase("Content-Type", "content-TYPE"));
  EXPECT_FALSE(EqualsIgnoreCase("Content-Type", "Content-Typ"));
  EXPECT_FALSE(EqualsIgnoreCase("\xC3\x89", "\xC3\xA9"));  // no Unicode folding
  EXPECT_TRUE(ContainsIgnoreCase("Office SUPPLIES", "supplies"));
  EXPECT_TRUE(ContainsIgnoreCase("abc", ""));
  EXPECT_TRUE(ContainsIgnoreCase("", ""));
  EXPECT_FALSE(ContainsIgnoreCase("ab", "abc"));
}

TEST(TextPercentTest, EncodesAllButUnreserved) {
  // RFC 3986 section 2.3: ALPHA DIGIT - . _ ~ stay; everything else as upper-case %XX.
  EXPECT_EQ(PercentEncode("AZaz09-._~"), "AZaz09-._~");
  EXPECT_EQ(PercentEncode("a b&c=d/e?f+g%"), "a%20b%26c%3Dd%2Fe%3Ff%2Bg%25");
  EXPECT_EQ(PercentEncode("caf\xC3\xA9"), "caf%C3%A9");
  EXPECT_EQ(PercentEncode(std::string("\0\xff", 2)), "%00%FF");
}

TEST(TextPercentTest, DecodesLeniently) {
  EXPECT_EQ(PercentDecode("caf%C3%a9+au+lait"), "caf\xC3\xA9 au lait");
  EXPECT_EQ(PercentDecode("a+b", /*plus_is_space=*/false), "a+b");
  // Malformed escapes stay literal rather than failing the whole body.
  EXPECT_EQ(PercentDecode("100%"), "100%");
  EXPECT_EQ(PercentDecode("%4"), "%4");
  EXPECT_EQ(PercentDecode("%zz%41"), "%zzA");
  EXPECT_EQ(PercentDecode("%41"), "A");
}

TEST(TextFormTest, ParsesInOrderKeepingRepeats) {
  // The WHATWG URL standard's example body, plus the edge cases vendors' forms produce.
  const FormFields fields = ParseForm("name=invoice.create&object_id=1234567&a=%26%3D&a=2&&flag&=v&k=");
  const FormFields want = {{"name", "invoice.create"},
                           {"object_id", "1234567"},
                           {"a", "&="},
                           {"a", "2"},
                           {"flag", ""},
                           {"", "v"},
                           {"k", ""}};
  EXPECT_EQ(fields, want);
  EXPECT_TRUE(ParseForm("").empty());
  EXPECT_EQ(ParseForm("x=a=b"), (FormFields{{"x", "a=b"}}));
}

TEST(TextFormTest, EncodeRoundTrips) {
  const FormFields fields = {{"updated_after", "2025-01-01T00:00:00Z"}, {"expand[]", "a b"}, {"e", ""}};
  const std::string encoded = EncodeForm(fields);
  EXPECT_EQ(encoded, "updated_after=2025-01-01T00%3A00%3A00Z&expand%5B%5D=a%20b&e=");
  EXPECT_EQ(ParseForm(encoded), fields);
  EXPECT_EQ(EncodeForm({}), "");
}

TEST(TextHexTest, EncodesAndDecodes) {
  EXPECT_EQ(HexEncode(std::string("\x00\x7f\xab\xff", 4)), "007fabff");
  EXPECT_EQ(HexDecode("007FabfF").value(), std::string("\x00\x7f\xab\xff", 4));
  EXPECT_FALSE(HexDecode("abc").ok());
  EXPECT_FALSE(HexDecode("zz").ok());
  static_assert(HexDigitValue('f') == 15 && HexDigitValue('F') == 15 && HexDigitValue('g') == -1);
}

TEST(TextBase64Test, Rfc4648Vectors) {
  // RFC 4648 section 10.
  const char* kPlain[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
  const char* kCoded[] = {"", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"};
  for (size_t i = 0; i < 7; ++i) {
    EXPECT_EQ(Base64Encode(kPlain[i]), kCoded[i]);
    EXPECT_EQ(Base64Decode(kCoded[i]).value(), kPlain[i]);
  }
  EXPECT_EQ(Base64Encode("\xfb\xff", Base64Alphabet::kUrlSafe), "-_8");
  EXPECT_FALSE(Base64Decode("Zg=").ok());
  EXPECT_FALSE(Base64Decode("Zh==").ok());  // non-zero trailing bits
}

TEST(TextBase64Test, CryptoReexportsTheSameFunctions) {
  EXPECT_EQ(crypto::Base64Encode("foob"), Base64Encode("foob"));
  EXPECT_EQ(crypto::HexEncode("\x01"), "01");
  EXPECT_EQ(crypto::Base64Decode("-_8", crypto::Base64Alphabet::kUrlSafe).value(), "\xfb\xff");
}

}  // namespace
}  // namespace mlc::text
