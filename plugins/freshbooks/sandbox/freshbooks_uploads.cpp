// FreshBooks receipt uploads: POST /uploads/account/{account_id}/attachments|images takes multipart field
// "content" and answers a JWT-like token and media type (FB-PY UploadsResource, upload_*_response.json);
// GET /uploads/attachments|images/{jwt} returns the bytes.
#include <algorithm>

#include "freshbooks_internal.hpp"
#include "mlc/sandbox/crypto.hpp"
#include "mlc/sandbox/multipart.hpp"

namespace mlc::sandbox::freshbooks {

void FreshBooksEmulator::InstallUploads(Router& router) {
  for (const bool image : {false, true}) {
    const std::string kind = image ? "images" : "attachments";
    router.Add(
        "POST", "/uploads/account/{account_id}/" + kind,
        Guard(Family::kUploads, [this, image](Request& r, const TokenGrant&) { return Upload(r, image); }));
    router.Add(
        "GET", "/uploads/" + kind + "/{jwt}",
        Guard(Family::kUploads, [this, image](Request& r, const TokenGrant&) { return Download(r, image); }));
  }
}

std::string FreshBooksEmulator::MakeUploadJwt(const std::string& original_filename,
                                              const std::string& filename, size_t length) {
  // Same claims as the token in FB-POSTMAN's "Create Expense with Receipt" (account, original_filename,
  // bucket, filename, length, key), signed HS256 with an emulator key.
  const std::string header = Base64Url(R"({"typ":"JWT","alg":"HS256"})");
  const nlohmann::json claims = {{"account", identity_.business_id},
                                 {"original_filename", original_filename},
                                 {"bucket", "uploads"},
                                 {"filename", filename},
                                 {"length", length},
                                 {"key", "docs-" + std::to_string(identity_.business_id) + "/" + filename}};
  const std::string payload = Base64Url(claims.dump());
  return header + "." + payload + "." + Base64Url(HmacSha256(identity_.jwt_key, header + "." + payload));
}

Response FreshBooksEmulator::Upload(Request& req, bool image) {
  const std::string content_type = req.Header("Content-Type").value_or("");
  if (!IsMultipartFormData(content_type)) {
    return UploadsError(400, "Uploads must be sent as multipart/form-data with the file in field 'content'.");
  }
  auto parts = ParseMultipart(content_type, req.body);
  if (!parts.ok()) return UploadsError(400, parts.status().message());
  const MultipartPart* file = FindPart(*parts, "content");
  if (!file) return UploadsError(400, "Missing file field 'content'.");
  if (file->body.empty()) return UploadsError(422, "The uploaded file is empty.");
  // The part's declared type wins unless it is missing or generic; then the bytes decide.
  std::string media_type = file->content_type;
  if (media_type.empty() || media_type == "application/octet-stream") {
    const std::string sniffed = SniffMediaType(file->body);
    media_type = sniffed.empty() ? "application/octet-stream" : sniffed;
  }
  if (image && media_type.rfind("image/", 0) != 0) return UploadsError(422, "Images must be image files.");

  std::lock_guard lock(mu_);
  Attachment a;
  a.id = NextId("attachments");
  a.uuid = RandomUuid(rng_);
  a.filename = "upload-" + HexEncode(rng_.Bytes(20));
  a.original_filename = file->filename.empty() ? a.filename : file->filename;
  a.media_type = media_type;
  a.bytes = file->body;
  a.image = image;
  a.created = Now();
  a.jwt = MakeUploadJwt(a.original_filename, a.filename, a.bytes.size());
  attachments_[a.id] = a;
  attachment_by_jwt_[a.jwt] = a.id;
  const nlohmann::json body = {{"filename", a.filename},
                               {"public_id", a.jwt},
                               {"jwt", a.jwt},
                               {"media_type", a.media_type},
                               {"uuid", a.uuid}};
  if (image) {
    return Response::Json(200, {{"image", body}, {"link", ctx_->base_url + "/uploads/images/" + a.jwt}});
  }
  return Response::Json(200, {{"attachment", body}});
}

std::map<int64_t, Attachment>::const_iterator FreshBooksEmulator::FindAttachmentByJwt(
    const std::string& jwt) const {
  auto id = attachment_by_jwt_.find(jwt);
  return id == attachment_by_jwt_.end() ? attachments_.end() : attachments_.find(id->second);
}

Response FreshBooksEmulator::Download(Request& req, bool image) {
  const std::string jwt = req.Param("jwt");
  std::lock_guard lock(mu_);
  auto it = FindAttachmentByJwt(jwt);
  // FB-PY tests: {"error": "File not found"} with 404.
  if (it == attachments_.end() || it->second.image != image) return UploadsError(404, "File not found");
  return Response::Raw(200, it->second.media_type, it->second.bytes);
}

}  // namespace mlc::sandbox::freshbooks
