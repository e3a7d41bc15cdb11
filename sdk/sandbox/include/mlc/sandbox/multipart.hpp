// multipart/form-data (RFC 7578) for emulators: parsing file uploads and form posts, and building bodies in
// tests.
//
//   auto parts = ParseMultipart(req.Header("Content-Type").value_or(""), req.body);
//   if (!parts.ok()) return VendorError(400, parts.status().message());
//   const MultipartPart* file = FindPart(*parts, "content");
//
//   auto [content_type, body] = EncodeMultipart({{"content", "receipt.png", "image/png", png_bytes}});
//
// Thread safety: pure functions.
#ifndef MLC_SANDBOX_MULTIPART_HPP_
#define MLC_SANDBOX_MULTIPART_HPP_

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "mlc/status.hpp"

namespace mlc::sandbox {

struct MultipartPart {
  std::string name;          // the form field name (Content-Disposition name=)
  std::string filename;      // empty unless the part is a file (Content-Disposition filename=)
  std::string content_type;  // the part's Content-Type; empty when it had none
  std::string body;          // the raw bytes, unmodified
};

// True when `content_type` is multipart/form-data (parameters ignored, case-insensitive).
bool IsMultipartFormData(std::string_view content_type);

// Parses a multipart/form-data body. `content_type` is the request's header, which carries the boundary.
// Invalid when the type is not multipart/form-data, the boundary is missing, or the body is malformed.
Result<std::vector<MultipartPart>> ParseMultipart(std::string_view content_type, std::string_view body);

// The first part named `name`, or null.
const MultipartPart* FindPart(const std::vector<MultipartPart>& parts, std::string_view name);

// Builds a body; returns {Content-Type header value, body}. An empty `boundary` picks one that does not
// occur in any part.
std::pair<std::string, std::string> EncodeMultipart(const std::vector<MultipartPart>& parts,
                                                    std::string boundary = {});

}  // namespace mlc::sandbox

#endif  // MLC_SANDBOX_MULTIPART_HPP_
