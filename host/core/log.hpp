// Process-wide logging for the host: one spdlog logger writing to stderr.
//
// Every line passes through the redactor (core/redact.hpp) before it is written, so a secret that reaches a
// log call by mistake is masked. Plugins log through mlc_host_api.log, which lands here too.
//
// Thread safety: all functions may be called from any thread after InitLogging.
#ifndef MLC_HOST_CORE_LOG_HPP_
#define MLC_HOST_CORE_LOG_HPP_

#include <string_view>

#include <spdlog/spdlog.h>

namespace mlc {

// Levels accepted by --log-level and [log] level: trace, debug, info, warn, error, off.
void InitLogging(std::string_view level = "info");

// The host logger ("mlc"); usable before InitLogging too (level info until then), always redacted.
spdlog::logger& Log();

}  // namespace mlc

#endif  // MLC_HOST_CORE_LOG_HPP_
