// multipart/form-data parsing and encoding for the sandbox kit (RFC 7578 / RFC 2046 §5.1).
#include "mlc/sandbox/multipart.hpp"

#include <cctype>

#include "mlc/sandbox/http.hpp"

namespace mlc::sandbox {

namespace {

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// The value of parameter `name` in a header value like `form-data; name="content"; filename="a.png"`.
std::string HeaderParam(std::string_view value, std::string_view name) {
  size_t i = value.find(';');
  while (i != std::string_view::npos && i < value.size()) {
    ++i;  // past ';'
    const size_t key_start = i;
    while (i < value.size() && value[i] != '=' && value[i] != ';') ++i;
    const std::string_view key = Trim(value.substr(key_start, i - key_start));
    std::string parsed;
    if (i < value.size() && value[i] == '=') {
      ++i;
      while (i < value.size() && (value[i] == ' ' || value[i] == '\t')) ++i;
      if (i < value.size() && value[i] == '"') {
        // Quoted string: a backslash escapes the next character.
        for (++i; i < value.size() && value[i] != '"'; ++i) {
          if (value[i] == '\\' && i + 1 < value.size()) ++i;
          parsed.push_back(value[i]);
        }
        while (i < value.size() && value[i] != ';') ++i;
      } else {
        const size_t value_start = i;
        while (i < value.size() && value[i] != ';') ++i;
        parsed = std::string(Trim(value.substr(value_start, i - value_start)));
      }
    }
    if (EqualsIgnoreCase(key, name)) return parsed;
  }
  return {};
}

}  // namespace

bool IsMultipartFormData(std::string_view content_type) {
  const std::string_view type = Trim(content_type.substr(0, content_type.find(';')));
  return EqualsIgnoreCase(type, "multipart/form-data");
}

Result<std::vector<MultipartPart>> ParseMultipart(std::string_view content_type, std::string_view body) {
  if (!IsMultipartFormData(content_type)) return Status::Invalid("expected a multipart/form-data body");
  const std::string boundary = HeaderParam(content_type, "boundary");
  if (boundary.empty() || boundary.size() > 200)
    return Status::Invalid("multipart boundary missing or invalid");
  const std::string delimiter = "--" + boundary;

  std::vector<MultipartPart> parts;
  size_t pos = body.find(delimiter);
  if (pos == std::string_view::npos) return Status::Invalid("multipart body has no boundary line");
  // The preamble before the first delimiter is ignored (RFC 2046).
  pos += delimiter.size();
  while (true) {
    if (body.substr(pos, 2) == "--") return parts;  // close delimiter
    // Transport padding, then CRLF ends the delimiter line.
    while (pos < body.size() && (body[pos] == ' ' || body[pos] == '\t')) ++pos;
    if (body.substr(pos, 2) != "\r\n") return Status::Invalid("malformed multipart delimiter line");
    pos += 2;
    const size_t headers_end = body.find("\r\n\r\n", pos);
    const size_t next = body.find("\r\n" + delimiter, pos);
    if (next == std::string_view::npos) return Status::Invalid("multipart body is not terminated");
    MultipartPart part;
    if (headers_end != std::string_view::npos && headers_end <= next) {
      std::string_view headers = body.substr(pos, headers_end - pos);
      size_t line_start = 0;
      while (line_start <= headers.size()) {
        size_t line_end = headers.find("\r\n", line_start);
        if (line_end == std::string_view::npos) line_end = headers.size();
        const std::string_view line = headers.substr(line_start, line_end - line_start);
        const size_t colon = line.find(':');
        if (colon != std::string_view::npos) {
          const std::string_view name = Trim(line.substr(0, colon));
          const std::string_view value = Trim(line.substr(colon + 1));
          if (EqualsIgnoreCase(name, "Content-Disposition")) {
            part.name = HeaderParam(value, "name");
            part.filename = HeaderParam(value, "filename");
          } else if (EqualsIgnoreCase(name, "Content-Type")) {
            part.content_type = std::string(value);
          }
        }
        line_start = line_end + 2;
      }
      part.body = std::string(body.substr(headers_end + 4, next - (headers_end + 4)));
    } else if (body.substr(pos, 2) == "\r\n") {
      part.body = std::string(body.substr(pos + 2, next - (pos + 2)));  // a part without headers
    } else {
      return Status::Invalid("malformed multipart part headers");
    }
    if (part.name.empty()) return Status::Invalid("multipart part without a form field name");
    parts.push_back(std::move(part));
    pos = next + 2 + delimiter.size();
  }
}

const MultipartPart* FindPart(const std::vector<MultipartPart>& parts, std::string_view name) {
  for (const auto& p : parts) {
    if (p.name == name) return &p;
  }
  return nullptr;
}

std::pair<std::string, std::string> EncodeMultipart(const std::vector<MultipartPart>& parts,
                                                    std::string boundary) {
  auto occurs = [&](const std::string& b) {
    for (const auto& p : parts) {
      if (p.body.find(b) != std::string::npos) return true;
    }
    return false;
  };
  if (boundary.empty()) {
    // Deterministic and practically never inside a payload; lengthened on the rare collision.
    boundary = "mlc-sandbox-boundary-7d3f1a9c";
    while (occurs(boundary)) boundary += "x";
  }
  auto quote = [](const std::string& s) {
    std::string out;
    for (char c : s) {
      if (c == '"' || c == '\\') out.push_back('\\');
      out.push_back(c);
    }
    return out;
  };
  std::string body;
  for (const auto& p : parts) {
    body += "--" + boundary + "\r\n";
    body += "Content-Disposition: form-data; name=\"" + quote(p.name) + "\"";
    if (!p.filename.empty()) body += "; filename=\"" + quote(p.filename) + "\"";
    body += "\r\n";
    if (!p.content_type.empty()) body += "Content-Type: " + p.content_type + "\r\n";
    body += "\r\n";
    body += p.body;
    body += "\r\n";
  }
  body += "--" + boundary + "--\r\n";
  return {"multipart/form-data; boundary=" + boundary, std::move(body)};
}

}  // namespace mlc::sandbox
