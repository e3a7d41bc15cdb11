// FreshBooks emulator: receipt upload (multipart "content" -> jwt), the jwt in an expense's attachment,
// and the bytes coming back unchanged through the API and the /_sandbox objects.
#include "freshbooks_test_util.hpp"
#include "mlc/sandbox/crypto.hpp"
#include "mlc/sandbox/multipart.hpp"

namespace mlc::sandbox::freshbooks::testing {
namespace {

class FreshBooksUploadsTest : public FreshBooksTest {
 protected:
  // A small PNG-looking receipt with every byte value in it.
  static std::string Receipt() {
    std::string bytes("\x89PNG\r\n\x1a\n", 8);
    for (int i = 0; i < 512; ++i) bytes.push_back(static_cast<char>(i % 256));
    return bytes;
  }
  HttpResponse Upload(const std::string& kind, const std::vector<MultipartPart>& parts, bool auth = true) {
    auto [content_type, body] = EncodeMultipart(parts);
    return Call("POST", "/uploads/account/" + account_ + "/" + kind, body, {{"Content-Type", content_type}},
                auth);
  }
};

TEST_F(FreshBooksUploadsTest, UploadedReceiptAttachesToAnExpenseByteForByte) {
  Start(5);
  const std::string bytes = Receipt();
  // No declared type: the emulator recognises the PNG signature.
  HttpResponse up = Upload("attachments", {{"content", "receipt.png", "", bytes}});
  ASSERT_EQ(up.status, 200) << up.body;
  auto a = up.Json()->at("attachment");
  const std::string jwt = a["jwt"];
  EXPECT_EQ(a["public_id"], jwt);
  EXPECT_EQ(a["media_type"], "image/png");
  EXPECT_EQ(a["filename"].get<std::string>().rfind("upload-", 0), 0u);
  EXPECT_EQ(std::count(jwt.begin(), jwt.end(), '.'), 2);  // header.payload.signature
  EXPECT_EQ(a["uuid"].get<std::string>().size(), 36u);

  auto body = ValidExpense("with receipt");
  body["expense"]["attachment"] = {{"jwt", jwt}, {"media_type", "image/png"}, {"expenseid", nullptr}};
  auto e = Result(CallJson("POST", Acct("expenses/expenses?include%5B%5D=attachment"), body))["expense"];
  EXPECT_EQ(e["has_receipt"], true);
  EXPECT_EQ(e["attachment"]["jwt"], jwt);
  EXPECT_EQ(e["attachment"]["media_type"], "image/png");
  EXPECT_EQ(e["attachment"]["id"], e["attachment"]["attachmentid"]);

  HttpResponse down = Call("GET", "/uploads/attachments/" + jwt);
  ASSERT_EQ(down.status, 200);
  EXPECT_EQ(down.body, bytes);
  EXPECT_EQ(down.Header("Content-Type"), "image/png");

  auto objects = Objects("attachments");
  ASSERT_EQ(objects.size(), 1u);
  EXPECT_EQ(objects[0]["jwt"], jwt);
  EXPECT_EQ(objects[0]["original_filename"], "receipt.png");
  EXPECT_EQ(Base64Decode(objects[0]["content_base64"].get<std::string>()).value_or(""), bytes);
  EXPECT_EQ(objects[0]["sha256"], HexEncode(Sha256(bytes)));

  // Removing the attachment clears has_receipt.
  auto cleared = Result(CallJson("PUT", Acct("expenses/expenses/" + std::to_string(e["id"].get<int64_t>())),
                                 {{"expense", {{"attachment", nullptr}}}}))["expense"];
  EXPECT_EQ(cleared["has_receipt"], false);
}

TEST_F(FreshBooksUploadsTest, DeclaredTypesAndImages) {
  Start(5);
  HttpResponse pdf = Upload("attachments", {{"content", "invoice.pdf", "application/pdf", "%PDF-1.4 test"}});
  ASSERT_EQ(pdf.status, 200);
  EXPECT_EQ(pdf.Json()->at("attachment")["media_type"], "application/pdf");
  HttpResponse image = Upload("images", {{"content", "logo.jpg", "image/jpeg", "\xFF\xD8\xFF\xE0 jpeg"}});
  ASSERT_EQ(image.status, 200) << image.body;
  const std::string jwt = image.Json()->at("image")["jwt"];
  EXPECT_EQ(image.Json()->at("link"), base_ + "/uploads/images/" + jwt);
  EXPECT_EQ(Call("GET", "/uploads/images/" + jwt).status, 200);
  EXPECT_EQ(Call("GET", "/uploads/attachments/" + jwt).status, 404);  // an image is not an attachment
  EXPECT_EQ(Upload("images", {{"content", "notes.pdf", "application/pdf", "%PDF-1.4"}}).status, 422);
}

TEST_F(FreshBooksUploadsTest, BadUploadsGetTheUploadsErrorShape) {
  Start(5);
  HttpResponse not_multipart = CallJson("POST", "/uploads/account/" + account_ + "/attachments", {{"a", 1}});
  EXPECT_EQ(not_multipart.status, 400);
  EXPECT_TRUE(not_multipart.Json()->contains("error"));
  HttpResponse wrong_field = Upload("attachments", {{"file", "r.png", "image/png", "x"}});
  EXPECT_EQ(wrong_field.status, 400);
  EXPECT_EQ(Upload("attachments", {{"content", "empty.png", "image/png", ""}}).status, 422);
  HttpResponse missing = Call("GET", "/uploads/attachments/no.such.jwt");
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(*missing.Json(), (nlohmann::json{{"error", "File not found"}}));
  EXPECT_EQ(Upload("attachments", {{"content", "r.png", "image/png", "x"}}, /*auth=*/false).status, 401);
  HttpResponse foreign = Call("POST", "/uploads/account/NOTME/attachments", "", {}, true);
  EXPECT_EQ(foreign.status, 403);
  EXPECT_TRUE(Objects("attachments").empty());
}

}  // namespace
}  // namespace mlc::sandbox::freshbooks::testing
