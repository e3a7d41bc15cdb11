// A temporary folder for one test, removed with everything in it when the object goes away.
#ifndef MLC_TESTS_SUPPORT_TEMP_DIR_HPP_
#define MLC_TESTS_SUPPORT_TEMP_DIR_HPP_

#include <string>

namespace mlc::testing {

class TempDir {
 public:
  TempDir();  // under $TMPDIR or /tmp; aborts the test binary if it cannot be created
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  std::string File(const std::string& name) const { return path_ + "/" + name; }
  // Writes `content` to File(name) with `mode`; returns the path.
  std::string Write(const std::string& name, const std::string& content, int mode = 0644) const;

 private:
  std::string path_;
};

}  // namespace mlc::testing

#endif  // MLC_TESTS_SUPPORT_TEMP_DIR_HPP_
