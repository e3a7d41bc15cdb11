// Tests for the sandbox kit's multipart/form-data parser and encoder.
#include "mlc/sandbox/multipart.hpp"

#include <gtest/gtest.h>

namespace mlc::sandbox {
namespace {

TEST(MultipartTest, RoundTripsBinaryFilesAndFields) {
  std::string png("\x89PNG\r\n\x1a\n\0\0\r\n--x", 16);
  auto [content_type, body] =
      EncodeMultipart({{"content", "receipt \"1\".png", "image/png", png}, {"note", "", "", "hello"}});
  auto parts = ParseMultipart(content_type, body);
  ASSERT_TRUE(parts.ok()) << parts.status().ToString();
  ASSERT_EQ(parts->size(), 2u);
  const MultipartPart* file = FindPart(*parts, "content");
  ASSERT_NE(file, nullptr);
  EXPECT_EQ(file->filename, "receipt \"1\".png");
  EXPECT_EQ(file->content_type, "image/png");
  EXPECT_EQ(file->body, png);
  ASSERT_NE(FindPart(*parts, "note"), nullptr);
  EXPECT_EQ(FindPart(*parts, "note")->body, "hello");
  EXPECT_EQ(FindPart(*parts, "missing"), nullptr);
}

TEST(MultipartTest, ParsesWhatCurlSends) {
  const std::string body =
      "preamble\r\n"
      "--------------------------d74496d66958873e\r\n"
      "Content-Disposition: form-data; name=\"client_id\"\r\n"
      "\r\n"
      "abc\r\n"
      "--------------------------d74496d66958873e\r\n"
      "Content-Disposition: form-data; name=content; filename=r.txt\r\n"
      "Content-Type: text/plain\r\n"
      "\r\n"
      "line1\r\nline2\r\n"
      "--------------------------d74496d66958873e--\r\n";
  auto parts = ParseMultipart("Multipart/Form-Data; boundary=------------------------d74496d66958873e", body);
  ASSERT_TRUE(parts.ok()) << parts.status().ToString();
  ASSERT_EQ(parts->size(), 2u);
  EXPECT_EQ((*parts)[0].name, "client_id");
  EXPECT_EQ((*parts)[0].body, "abc");
  EXPECT_EQ((*parts)[1].filename, "r.txt");
  EXPECT_EQ((*parts)[1].body, "line1\r\nline2");
}

TEST(MultipartTest, RejectsMalformedBodies) {
  EXPECT_FALSE(ParseMultipart("application/json", "{}").ok());
  EXPECT_FALSE(ParseMultipart("multipart/form-data", "--x\r\n").ok());  // no boundary parameter
  EXPECT_FALSE(ParseMultipart("multipart/form-data; boundary=x", "no delimiter here").ok());
  // Not terminated.
  EXPECT_FALSE(ParseMultipart("multipart/form-data; boundary=x",
                              "--x\r\nContent-Disposition: form-data; name=a\r\n\r\nv")
                   .ok());
  // A part without a field name.
  EXPECT_FALSE(
      ParseMultipart("multipart/form-data; boundary=x", "--x\r\nContent-Type: text/plain\r\n\r\nv\r\n--x--")
          .ok());
  EXPECT_TRUE(IsMultipartFormData("multipart/form-data; boundary=a"));
  EXPECT_FALSE(IsMultipartFormData("multipart/mixed; boundary=a"));
}

}  // namespace
}  // namespace mlc::sandbox
