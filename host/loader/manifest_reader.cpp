// ELF64 little-endian section lookup for the plugin manifest, bounds-checked against the file size.
#include "loader/manifest_reader.hpp"

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <optional>
#include <system_error>
#include <vector>

#include <boost/dll/library_info.hpp>

#include "core/log.hpp"

namespace mlc::loader {

namespace {

// ELF constants (from the System V gABI), spelled out so the parser does not depend on <elf.h>.
constexpr size_t kEhdrSize = 64;
constexpr size_t kShdrSize = 64;
constexpr uint8_t kElfClass64 = 2;
constexpr uint8_t kElfDataLsb = 1;
constexpr uint16_t kEtDyn = 3;
constexpr uint16_t kShnXindex = 0xFFFF;
constexpr uint32_t kShtStrtab = 3;
constexpr uint32_t kShtNobits = 8;

#if defined(__x86_64__)
constexpr uint16_t kNativeMachine = 62;  // EM_X86_64
#elif defined(__aarch64__)
constexpr uint16_t kNativeMachine = 183;  // EM_AARCH64
#elif defined(__riscv) && __riscv_xlen == 64
constexpr uint16_t kNativeMachine = 243;  // EM_RISCV
#else
#error "ml-connector's manifest reader knows no ELF machine number for this CPU"
#endif

Status Bad(std::string reason) { return Status::Invalid(std::move(reason)); }

// Little-endian field decoding; works regardless of the host's byte order.
uint64_t LoadLe(const std::string& buf, size_t off, size_t width) {
  uint64_t v = 0;
  for (size_t i = 0; i < width; ++i) {
    v |= static_cast<uint64_t>(static_cast<uint8_t>(buf[off + i])) << (8 * i);
  }
  return v;
}
uint16_t U16(const std::string& b, size_t off) { return static_cast<uint16_t>(LoadLe(b, off, 2)); }
uint32_t U32(const std::string& b, size_t off) { return static_cast<uint32_t>(LoadLe(b, off, 4)); }
uint64_t U64(const std::string& b, size_t off) { return LoadLe(b, off, 8); }

std::string ElfTypeName(uint16_t type) {
  switch (type) {
    case 0:
      return "NONE";
    case 1:
      return "REL, an object file";
    case 2:
      return "EXEC, an executable";
    case 4:
      return "CORE, a core dump";
    default:
      return std::to_string(type);
  }
}

// Random access to a file whose size is known up front; every read is checked against that size.
class BoundedFile {
 public:
  BoundedFile(const std::string& path, uint64_t size) : in_(path, std::ios::binary), size_(size) {}
  bool is_open() const { return in_.is_open(); }
  uint64_t size() const { return size_; }

  // True when [offset, offset + length) lies inside the file (overflow-safe).
  bool Contains(uint64_t offset, uint64_t length) const {
    return offset <= size_ && length <= size_ - offset;
  }

  // Reads exactly `length` bytes at `offset`; false when out of bounds or the read comes up short.
  bool Read(uint64_t offset, uint64_t length, std::string* out) {
    if (!Contains(offset, length)) return false;
    if (length > static_cast<uint64_t>(std::numeric_limits<std::streamsize>::max())) return false;
    out->assign(static_cast<size_t>(length), '\0');
    if (length == 0) return true;
    in_.clear();
    in_.seekg(static_cast<std::streamoff>(offset));
    in_.read(out->data(), static_cast<std::streamsize>(length));
    return in_.gcount() == static_cast<std::streamsize>(length);
  }

 private:
  std::ifstream in_;
  uint64_t size_;
};

struct SectionHeader {
  uint32_t name = 0;
  uint32_t type = 0;
  uint64_t offset = 0;
  uint64_t size = 0;
  uint32_t link = 0;
};

SectionHeader DecodeShdr(const std::string& table, size_t off) {
  SectionHeader s;
  s.name = U32(table, off + 0);
  s.type = U32(table, off + 4);
  s.offset = U64(table, off + 24);
  s.size = U64(table, off + 32);
  s.link = U32(table, off + 40);
  return s;
}

// Boost.DLL's own format probe: rejects anything that is not a binary format of this platform.
// It throws on garbage and on short files, so it is fenced in a try block.
Status CheckWithBoost(const std::string& path) {
  try {
    boost::dll::library_info info(boost::dll::fs::path(path), /*throw_if_not_native_format=*/true);
    (void)info;
  } catch (const std::exception& e) {
    Log().debug("library_info rejected {}: {}", path, e.what());
    return Bad("not a shared library");
  } catch (...) {
    return Bad("not a shared library");
  }
  return Status::Ok();
}

// Stats the path and opens it; one-line reasons for the common ways it is not a file at all.
Result<uint64_t> CheckRegularFile(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::file_status st = fs::status(path, ec);
  if (st.type() == fs::file_type::not_found) return Bad("no such file");
  if (ec) return Bad("cannot read file: " + ec.message());
  if (fs::is_directory(st)) return Bad("is a directory, not a shared library");
  if (!fs::is_regular_file(st)) return Bad("not a regular file");
  uint64_t size = fs::file_size(path, ec);
  if (ec) return Bad("cannot read file: " + ec.message());
  if (size == 0) return Bad("empty file, not a shared library");
  return size;
}

}  // namespace

Result<std::string> ReadManifestBytes(const std::string& path) {
  MLC_ASSIGN_OR_RETURN(uint64_t file_size, CheckRegularFile(path));
  MLC_RETURN_IF_ERROR(CheckWithBoost(path));

  BoundedFile file(path, file_size);
  if (!file.is_open()) return Bad("cannot open file for reading");

  std::string ehdr;
  if (!file.Read(0, kEhdrSize, &ehdr)) return Bad("truncated ELF header");
  if (std::memcmp(ehdr.data(),
                  "\x7f"
                  "ELF",
                  4) != 0)
    return Bad("not a shared library");
  if (static_cast<uint8_t>(ehdr[4]) != kElfClass64) return Bad("not a 64-bit ELF file");
  if (static_cast<uint8_t>(ehdr[5]) != kElfDataLsb) return Bad("not a little-endian ELF file");
  const uint16_t e_type = U16(ehdr, 16);
  if (e_type != kEtDyn) return Bad("not a shared library (ELF type " + ElfTypeName(e_type) + ")");
  const uint16_t e_machine = U16(ehdr, 18);
  if (e_machine != kNativeMachine) {
    return Bad("built for another CPU architecture (ELF machine " + std::to_string(e_machine) + ")");
  }

  const uint64_t e_shoff = U64(ehdr, 40);
  const uint16_t e_shentsize = U16(ehdr, 58);
  uint64_t shnum = U16(ehdr, 60);
  uint32_t shstrndx = U16(ehdr, 62);
  if (e_shoff == 0) return Bad("ELF file has no section header table");
  if (e_shentsize < kShdrSize) {
    return Bad("corrupt ELF file: section header size " + std::to_string(e_shentsize));
  }
  // Section 0 carries the real count and name-table index when they do not fit the header fields.
  if (shnum == 0 || shstrndx == kShnXindex) {
    std::string first;
    if (!file.Read(e_shoff, kShdrSize, &first)) {
      return Bad("truncated ELF file: section header table extends beyond the end of the file");
    }
    SectionHeader s0 = DecodeShdr(first, 0);
    if (shnum == 0) shnum = s0.size;
    if (shstrndx == kShnXindex) shstrndx = s0.link;
  }
  if (shnum == 0) return Bad("ELF file has no sections");
  // Bounded by the file size, so the multiplication cannot overflow once Contains() has passed.
  if (shnum > file_size / e_shentsize || !file.Contains(e_shoff, shnum * e_shentsize)) {
    return Bad("truncated ELF file: section header table extends beyond the end of the file");
  }
  std::string table;
  if (!file.Read(e_shoff, shnum * e_shentsize, &table)) {
    return Bad("truncated ELF file: section header table extends beyond the end of the file");
  }
  if (shstrndx >= shnum) return Bad("corrupt ELF file: section name table index out of range");

  const SectionHeader names_hdr = DecodeShdr(table, static_cast<size_t>(shstrndx) * e_shentsize);
  if (names_hdr.type != kShtStrtab) return Bad("corrupt ELF file: section name table is not a string table");
  if (names_hdr.size > kMaxManifestBytes * 16)
    return Bad("corrupt ELF file: section name table is too large");
  std::string names;
  if (!file.Read(names_hdr.offset, names_hdr.size, &names)) {
    return Bad("truncated ELF file: section name table extends beyond the end of the file");
  }

  const std::string_view wanted = MLC_MANIFEST_SECTION;
  std::optional<SectionHeader> manifest;
  for (uint64_t i = 0; i < shnum; ++i) {
    SectionHeader s = DecodeShdr(table, static_cast<size_t>(i * e_shentsize));
    if (s.name >= names.size()) return Bad("corrupt ELF file: section name offset out of range");
    // The name must be NUL-terminated inside the table; compare including the terminator.
    size_t end = names.find('\0', s.name);
    if (end == std::string::npos) return Bad("corrupt ELF file: unterminated section name");
    if (std::string_view(names).substr(s.name, end - s.name) != wanted) continue;
    if (manifest) return Bad("more than one " MLC_MANIFEST_SECTION " section");
    manifest = s;
  }
  if (!manifest) return Bad("no " MLC_MANIFEST_SECTION " section (not an ml-connector plugin)");
  if (manifest->type == kShtNobits) return Bad(MLC_MANIFEST_SECTION " section has no contents");
  if (manifest->size > kMaxManifestBytes) {
    return Bad(MLC_MANIFEST_SECTION " section is larger than " + std::to_string(kMaxManifestBytes) +
               " bytes");
  }
  std::string bytes;
  if (!file.Read(manifest->offset, manifest->size, &bytes)) {
    return Bad("truncated ELF file: " MLC_MANIFEST_SECTION " section extends beyond the end of the file");
  }
  while (!bytes.empty() && bytes.back() == '\0') bytes.pop_back();
  if (bytes.empty()) return Bad(MLC_MANIFEST_SECTION " section is empty");
  // Two MLC_PLUGIN_MANIFEST uses in one plugin leave two NUL-separated strings in the merged section.
  if (size_t nul = bytes.find('\0'); nul != std::string::npos) {
    return Bad(MLC_MANIFEST_SECTION " section holds more than one manifest (NUL at byte " +
               std::to_string(nul) + ")");
  }
  return bytes;
}

Result<nlohmann::json> ParseManifestJson(const std::string& bytes) {
  nlohmann::json doc;
  try {
    doc = nlohmann::json::parse(bytes);
  } catch (const nlohmann::json::parse_error& e) {
    return Bad("manifest is not valid JSON at byte " + std::to_string(e.byte));
  } catch (const std::exception& e) {
    return Bad(std::string("manifest is not valid JSON: ") + e.what());
  }
  if (!doc.is_object()) return Bad("manifest is not a JSON object");
  return doc;
}

Result<nlohmann::json> ReadManifest(const std::string& path) {
  MLC_ASSIGN_OR_RETURN(std::string bytes, ReadManifestBytes(path));
  return ParseManifestJson(bytes);
}

}  // namespace mlc::loader
