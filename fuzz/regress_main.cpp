// The regression driver linked into every fuzz_<name>_regress executable (the normal GCC build and CI):
// runs the target's LLVMFuzzerTestOneInput over every file of the folders (or files) named on the command
// line, so the seed corpus and every past finding stay tested without clang or libFuzzer.
//
//   fuzz_money_regress fuzz/corpus/money fuzz/regressions/money
//
// A folder that does not exist is skipped (regressions/<name>/ appears with the first finding); a target that
// crashes or aborts fails the test, naming the file it was running on stderr first.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <system_error>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace {

bool RunFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    std::fprintf(stderr, "cannot read %s\n", path.c_str());
    return false;
  }
  const std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::fprintf(stderr, "running %s (%zu bytes)\n", path.c_str(), bytes.size());
  // A copy in a buffer of its own size, so ASan (when on) catches reads past the end as libFuzzer would.
  std::vector<uint8_t> data(bytes.begin(), bytes.end());
  LLVMFuzzerTestOneInput(data.empty() ? nullptr : data.data(), data.size());
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  size_t ran = 0;
  bool ok = true;
  for (int i = 1; i < argc; ++i) {
    const std::filesystem::path arg(argv[i]);
    std::error_code ec;
    if (std::filesystem::is_directory(arg, ec)) {
      std::vector<std::filesystem::path> files;
      for (const auto& entry : std::filesystem::directory_iterator(arg, ec)) {
        if (entry.is_regular_file(ec) && entry.path().filename().string().rfind('.', 0) != 0) {
          files.push_back(entry.path());
        }
      }
      std::sort(files.begin(), files.end());  // a stable order makes a failure easy to reproduce
      for (const auto& f : files) {
        ok = RunFile(f) && ok;
        ++ran;
      }
    } else if (std::filesystem::is_regular_file(arg, ec)) {
      ok = RunFile(arg) && ok;
      ++ran;
    } else {
      std::fprintf(stderr, "skipping %s: no such file or folder\n", argv[i]);
    }
  }
  std::printf("%zu inputs ran without a finding\n", ran);
  if (ran == 0) {
    std::fprintf(stderr, "no inputs found: the seed corpus folder is missing\n");
    return 1;
  }
  return ok ? 0 : 1;
}
