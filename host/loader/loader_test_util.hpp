// Helpers shared by the loader tests: fixture plugin paths and throwaway plugin directories.
// Test-only; each helper is used from the test's own thread.
#ifndef MLC_HOST_LOADER_LOADER_TEST_UTIL_HPP_
#define MLC_HOST_LOADER_LOADER_TEST_UTIL_HPP_

#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <sstream>
#include <string>

#include <gtest/gtest.h>

namespace mlc::loader::testing {

// A fixture plugin built by host/loader/CMakeLists.txt, e.g. FixturePath("good.so").
inline std::string FixturePath(const std::string& file) {
  return (std::filesystem::path(MLC_LOADER_FIXTURE_DIR) / file).string();
}

inline std::string ReadBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

inline void WriteBytes(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  ASSERT_TRUE(out.good()) << path;
}

// A fresh directory, removed with everything in it when the object goes away.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "mlc-loader-test-XXXXXX").string();
    char* made = ::mkdtemp(tmpl.data());
    EXPECT_NE(made, nullptr);
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  std::string File(const std::string& name) const { return (std::filesystem::path(path_) / name).string(); }

  // Copies fixtures in under their own names (or `as` when given).
  void Add(const std::string& fixture, const std::string& as = "") const {
    std::filesystem::copy_file(FixturePath(fixture), File(as.empty() ? fixture : as),
                               std::filesystem::copy_options::overwrite_existing);
  }
  void Add(std::initializer_list<const char*> fixtures) const {
    for (const char* f : fixtures) Add(f);
  }

 private:
  std::string path_;
};

}  // namespace mlc::loader::testing

#endif  // MLC_HOST_LOADER_LOADER_TEST_UTIL_HPP_
