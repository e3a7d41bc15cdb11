// Reads a plugin's manifest straight from its ELF file, without loading the library or running any of
// its code (no dlopen, so no static initialisers run).
//
//   MLC_ASSIGN_OR_RETURN(nlohmann::json manifest, mlc::loader::ReadManifest("/opt/mlc/plugins/brex.so"));
//
// Every failure is Status::Invalid with a one-line reason suitable for `mlc plugins list`:
// "not a shared library", "no mlc_manifest section (not an ml-connector plugin)",
// "manifest is not valid JSON at byte 17", ... The file is treated as untrusted input: every offset
// and size taken from it is checked against the file size before use.
//
// Thread safety: free functions without shared state; may be called from any thread.
#ifndef MLC_HOST_LOADER_MANIFEST_READER_HPP_
#define MLC_HOST_LOADER_MANIFEST_READER_HPP_

#include <cstddef>
#include <string>

#include <nlohmann/json.hpp>

#include "mlc/status.hpp"

namespace mlc::loader {

// Largest manifest accepted; real manifests are a few KiB.
inline constexpr size_t kMaxManifestBytes = 1u << 20;

// The raw bytes of the MLC_MANIFEST_SECTION section of the shared library at `path`, without trailing
// NUL bytes (the C string literal's terminator and any alignment padding).
Result<std::string> ReadManifestBytes(const std::string& path);

// ReadManifestBytes parsed as JSON; the manifest must be a JSON object. Only syntax is checked here;
// the loader validates the content against sdk/schemas/manifest.schema.json.
Result<nlohmann::json> ReadManifest(const std::string& path);

// Parses manifest bytes (exposed for tests and for `mlc plugins inspect`).
Result<nlohmann::json> ParseManifestJson(const std::string& bytes);

}  // namespace mlc::loader

#endif  // MLC_HOST_LOADER_MANIFEST_READER_HPP_
