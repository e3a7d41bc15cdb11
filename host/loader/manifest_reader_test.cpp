// Tests for the ELF manifest reader: real fixture plugins, and damaged copies of them.
#include "loader/manifest_reader.hpp"

#include <dlfcn.h>

#include <cstdint>
#include <cstring>
#include <random>
#include <string>

#include <gtest/gtest.h>

#include "loader/loader_test_util.hpp"

namespace mlc::loader {
namespace {

using testing::FixturePath;
using testing::ReadBytes;
using testing::TempDir;
using testing::WriteBytes;

uint64_t Le(const std::string& b, size_t off, size_t width) {
  uint64_t v = 0;
  for (size_t i = 0; i < width; ++i) v |= uint64_t{static_cast<uint8_t>(b[off + i])} << (8 * i);
  return v;
}
void PutLe(std::string* b, size_t off, size_t width, uint64_t v) {
  for (size_t i = 0; i < width; ++i) (*b)[off + i] = static_cast<char>((v >> (8 * i)) & 0xFF);
}

// Writes `bytes` to a file in `dir` and returns the reader's verdict on it.
Result<std::string> ReadPatched(const TempDir& dir, const std::string& bytes) {
  std::string path = dir.File("patched.so");
  WriteBytes(path, bytes);
  return ReadManifestBytes(path);
}

std::string ReasonFor(const Result<std::string>& r) {
  return r.ok() ? std::string("(ok)") : r.status().message();
}

TEST(ManifestReaderTest, ReadsTheGoodFixturesManifest) {
  auto manifest = ReadManifest(FixturePath("good.so"));
  ASSERT_TRUE(manifest.ok()) << manifest.status().ToString();
  EXPECT_EQ((*manifest)["name"], "fixture_good");
  EXPECT_EQ((*manifest)["version"], "1.2.3");
  EXPECT_EQ((*manifest)["abi"], "1.0");
}

TEST(ManifestReaderTest, StripsTrailingNulsOnly) {
  auto bytes = ReadManifestBytes(FixturePath("good.so"));
  ASSERT_TRUE(bytes.ok()) << bytes.status().ToString();
  ASSERT_FALSE(bytes->empty());
  EXPECT_EQ(bytes->front(), '{');
  EXPECT_EQ(bytes->back(), '}');
  EXPECT_EQ(bytes->find('\0'), std::string::npos);
}

TEST(ManifestReaderTest, ReadsTheClangBuiltFixture) {
#if MLC_LOADER_HAVE_CLANG_FIXTURE
  auto manifest = ReadManifest(FixturePath("clang_plugin.so"));
  ASSERT_TRUE(manifest.ok()) << manifest.status().ToString();
  EXPECT_EQ((*manifest)["name"], "fixture_clang");
#else
  GTEST_SKIP() << "clang++ was not found at configure time";
#endif
}

TEST(ManifestReaderTest, RunsNoPluginCode) {
  // A private copy, so no other test can have mapped this very file.
  TempDir dir;
  dir.Add("good.so", "never_loaded.so");
  auto manifest = ReadManifest(dir.File("never_loaded.so"));
  ASSERT_TRUE(manifest.ok()) << manifest.status().ToString();
  // RTLD_NOLOAD only answers whether the library is already mapped; it never loads it.
  void* handle = ::dlopen(dir.File("never_loaded.so").c_str(), RTLD_NOW | RTLD_NOLOAD);
  EXPECT_EQ(handle, nullptr) << "reading the manifest mapped the library";
  if (handle != nullptr) ::dlclose(handle);
}

TEST(ManifestReaderTest, PluginWithoutManifestSection) {
  auto r = ReadManifestBytes(FixturePath("no_manifest.so"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kInvalid);
  EXPECT_EQ(r.status().message(), "no mlc_manifest section (not an ml-connector plugin)");
}

TEST(ManifestReaderTest, ManifestThatIsNotJson) {
  auto bytes = ReadManifestBytes(FixturePath("invalid_json.so"));
  ASSERT_TRUE(bytes.ok()) << bytes.status().ToString();
  auto r = ReadManifest(FixturePath("invalid_json.so"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message().rfind("manifest is not valid JSON at byte ", 0), 0u) << r.status().message();
}

TEST(ManifestReaderTest, ParseManifestJsonReportsTheByte) {
  auto r = ParseManifestJson("{\"name\": x}");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "manifest is not valid JSON at byte 10");
  auto not_object = ParseManifestJson("[1, 2]");
  ASSERT_FALSE(not_object.ok());
  EXPECT_EQ(not_object.status().message(), "manifest is not a JSON object");
  auto ok = ParseManifestJson("{\"name\": \"x\"}");
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ((*ok)["name"], "x");
}

TEST(ManifestReaderTest, GarbageFile) {
  auto r = ReadManifestBytes(FixturePath("garbage.so"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "not a shared library");
}

TEST(ManifestReaderTest, EmptyFile) {
  TempDir dir;
  WriteBytes(dir.File("empty.so"), "");
  auto r = ReadManifestBytes(dir.File("empty.so"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "empty file, not a shared library");
}

TEST(ManifestReaderTest, Directory) {
  TempDir dir;
  std::filesystem::create_directory(dir.File("looks_like.so"));
  auto r = ReadManifestBytes(dir.File("looks_like.so"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "is a directory, not a shared library");
}

TEST(ManifestReaderTest, MissingFile) {
  TempDir dir;
  auto r = ReadManifestBytes(dir.File("absent.so"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "no such file");
}

TEST(ManifestReaderTest, TextFileIsNotALibrary) {
  TempDir dir;
  WriteBytes(dir.File("notes.so"), "just some text, not ELF at all\n");
  auto r = ReadManifestBytes(dir.File("notes.so"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "not a shared library");
}

TEST(ManifestReaderTest, TruncatedInsideTheElfHeader) {
  TempDir dir;
  std::string good = ReadBytes(FixturePath("good.so"));
  auto r = ReadPatched(dir, good.substr(0, 40));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(ReasonFor(r), "truncated ELF header");
}

TEST(ManifestReaderTest, TruncatedBeforeTheSectionHeaders) {
  TempDir dir;
  std::string good = ReadBytes(FixturePath("good.so"));
  // Section headers sit at the end of the file; cut halfway through the file.
  ASSERT_GT(Le(good, 40, 8), good.size() / 2);
  auto r = ReadPatched(dir, good.substr(0, good.size() / 2));
  EXPECT_EQ(ReasonFor(r), "truncated ELF file: section header table extends beyond the end of the file");
  // One byte short is enough.
  auto r2 = ReadPatched(dir, good.substr(0, good.size() - 1));
  EXPECT_EQ(ReasonFor(r2), "truncated ELF file: section header table extends beyond the end of the file");
}

TEST(ManifestReaderTest, DamagedHeaderFields) {
  TempDir dir;
  const std::string good = ReadBytes(FixturePath("good.so"));
  // "too many sections" below relies on 0xFFFE section headers not fitting in the file.
  ASSERT_LT(good.size(), size_t{0xFFFE} * 64);
  struct Case {
    const char* what;
    size_t offset;
    size_t width;
    uint64_t value;
    const char* reason;
  };
  const Case cases[] = {
      {"32-bit class", 4, 1, 1, "not a 64-bit ELF file"},
      {"big-endian", 5, 1, 2, "not a little-endian ELF file"},
      {"object file", 16, 2, 1, "not a shared library (ELF type REL, an object file)"},
      {"executable", 16, 2, 2, "not a shared library (ELF type EXEC, an executable)"},
      {"other CPU", 18, 2, 40, "built for another CPU architecture (ELF machine 40)"},
      {"no section table", 40, 8, 0, "ELF file has no section header table"},
      {"section table far away", 40, 8, uint64_t{1} << 62,
       "truncated ELF file: section header table extends beyond the end of the file"},
      {"section table offset overflow", 40, 8, ~uint64_t{0},
       "truncated ELF file: section header table extends beyond the end of the file"},
      {"tiny section entry", 58, 2, 8, "corrupt ELF file: section header size 8"},
      {"too many sections", 60, 2, 0xFFFE,
       "truncated ELF file: section header table extends beyond the end of the file"},
      {"name table index", 62, 2, 0xFFF0, "corrupt ELF file: section name table index out of range"},
  };
  for (const Case& c : cases) {
    std::string bytes = good;
    PutLe(&bytes, c.offset, c.width, c.value);
    EXPECT_EQ(ReasonFor(ReadPatched(dir, bytes)), c.reason) << c.what;
  }
}

// Offset of the section header whose name is `name`, found the same way the reader does.
size_t FindSectionHeader(const std::string& elf, const std::string& name) {
  uint64_t shoff = Le(elf, 40, 8), shentsize = Le(elf, 58, 2), shnum = Le(elf, 60, 2),
           shstrndx = Le(elf, 62, 2);
  size_t names_hdr = shoff + shstrndx * shentsize;
  uint64_t names_off = Le(elf, names_hdr + 24, 8);
  for (uint64_t i = 0; i < shnum; ++i) {
    size_t hdr = shoff + i * shentsize;
    uint64_t name_off = Le(elf, hdr, 4);
    if (std::strcmp(elf.c_str() + names_off + name_off, name.c_str()) == 0) return hdr;
  }
  return std::string::npos;
}

TEST(ManifestReaderTest, DamagedManifestSection) {
  TempDir dir;
  const std::string good = ReadBytes(FixturePath("good.so"));
  const size_t hdr = FindSectionHeader(good, "mlc_manifest");
  ASSERT_NE(hdr, std::string::npos);

  std::string beyond = good;
  PutLe(&beyond, hdr + 24, 8, good.size() - 4);  // sh_offset: starts 4 bytes before EOF
  EXPECT_EQ(ReasonFor(ReadPatched(dir, beyond)),
            "truncated ELF file: mlc_manifest section extends beyond the end of the file");

  std::string huge = good;
  PutLe(&huge, hdr + 32, 8, uint64_t{1} << 40);  // sh_size
  EXPECT_EQ(ReasonFor(ReadPatched(dir, huge)), "mlc_manifest section is larger than 1048576 bytes");

  std::string nobits = good;
  PutLe(&nobits, hdr + 4, 4, 8);  // sh_type = SHT_NOBITS
  EXPECT_EQ(ReasonFor(ReadPatched(dir, nobits)), "mlc_manifest section has no contents");

  std::string bad_name = good;
  PutLe(&bad_name, hdr, 4, 0xFFFFFFF0u);  // sh_name far outside the name table
  EXPECT_EQ(ReasonFor(ReadPatched(dir, bad_name)), "corrupt ELF file: section name offset out of range");

  // Zero the manifest's bytes: only NULs remain.
  std::string empty = good;
  uint64_t off = Le(good, hdr + 24, 8), size = Le(good, hdr + 32, 8);
  std::memset(empty.data() + off, 0, size);
  EXPECT_EQ(ReasonFor(ReadPatched(dir, empty)), "mlc_manifest section is empty");

  // A NUL in the middle: two manifests merged into one section.
  std::string two = good;
  two[off + 3] = '\0';
  EXPECT_EQ(ReasonFor(ReadPatched(dir, two)),
            "mlc_manifest section holds more than one manifest (NUL at byte 3)");

  // Renaming the section makes the file an ordinary library.
  std::string renamed = good;
  size_t names_off = Le(good, Le(good, 40, 8) + Le(good, 62, 2) * Le(good, 58, 2) + 24, 8);
  renamed[names_off + Le(good, hdr, 4)] = 'x';
  EXPECT_EQ(ReasonFor(ReadPatched(dir, renamed)), "no mlc_manifest section (not an ml-connector plugin)");
}

TEST(ManifestReaderTest, RandomCorruptionNeverCrashes) {
  TempDir dir;
  const std::string good = ReadBytes(FixturePath("good.so"));
  const uint64_t shoff = Le(good, 40, 8);
  std::mt19937_64 rng(20240611);  // fixed seed: failures are reproducible
  int rejected = 0;
  for (int round = 0; round < 200; ++round) {
    std::string bytes = good;
    // Flip bytes in the ELF header and in the section header table, where the offsets live.
    for (int i = 0; i < 8; ++i) {
      size_t at = (i % 2 == 0) ? rng() % 64 : shoff + rng() % (good.size() - shoff);
      bytes[at] = static_cast<char>(rng());
    }
    auto r = ReadPatched(dir, bytes);
    if (!r.ok()) {
      ++rejected;
      EXPECT_EQ(r.status().code(), Code::kInvalid);
      EXPECT_FALSE(r.status().message().empty());
      EXPECT_EQ(r.status().message().find('\n'), std::string::npos) << "reasons are one line";
    } else {
      EXPECT_LE(r->size(), kMaxManifestBytes);
    }
  }
  EXPECT_GT(rejected, 0);
}

}  // namespace
}  // namespace mlc::loader
