// Keeps the ABI's bookkeeping honest: the header's minor has its row in docs/abi.md, and every plugin in
// the tree declares in its manifest the version of the header it is compiled against.
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>

#include <gtest/gtest.h>

#include "mlc/plugin.h"

namespace {

std::string ReadFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

const std::string kHeaderAbi =
    std::to_string(MLC_ABI_VERSION_MAJOR) + "." + std::to_string(MLC_ABI_VERSION_MINOR);

TEST(AbiVersionTest, EveryMinorUpToTheHeadersHasARowInTheAbiDoc) {
  const std::string doc = ReadFile(std::filesystem::path(MLC_SOURCE_DIR) / "docs" / "abi.md");
  ASSERT_FALSE(doc.empty());
  for (unsigned minor = 0; minor <= MLC_ABI_VERSION_MINOR; ++minor) {
    const std::string row =
        "\n| " + std::to_string(MLC_ABI_VERSION_MAJOR) + "." + std::to_string(minor) + " | ";
    EXPECT_NE(doc.find(row), std::string::npos)
        << "docs/abi.md has no versioning row for ABI " << MLC_ABI_VERSION_MAJOR << "." << minor;
  }
  EXPECT_NE(doc.find("This page describes " + kHeaderAbi + "."), std::string::npos);
}

// The manifests are hand-written literals; the table's version comes from the header. A plugin that
// raised one and not the other is caught here before the harness sees it.
TEST(AbiVersionTest, InTreePluginManifestsDeclareTheHeadersVersion) {
  const std::regex abi_member(R"re("abi"\s*:\s*"([0-9]+\.[0-9]+)")re");
  int seen = 0;
  for (const char* dir : {"plugins", "sdk/template"}) {
    for (const auto& entry :
         std::filesystem::recursive_directory_iterator(std::filesystem::path(MLC_SOURCE_DIR) / dir)) {
      const std::string name = entry.path().filename().string();
      if (!entry.is_regular_file() || !name.ends_with("_plugin.cpp")) continue;
      const std::string text = ReadFile(entry.path());
      std::smatch m;
      if (!std::regex_search(text, m, abi_member)) continue;
      ++seen;
      EXPECT_EQ(m[1].str(), kHeaderAbi) << entry.path();
    }
  }
  EXPECT_GE(seen, 3);  // brex, freshbooks, the template at least
}

}  // namespace
