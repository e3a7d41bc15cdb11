// Version of the host and the ABI it serves.
#ifndef MLC_HOST_CORE_VERSION_HPP_
#define MLC_HOST_CORE_VERSION_HPP_

#include "mlc/plugin.h"

namespace mlc {
inline constexpr const char* kHostVersion = "0.1.0";
inline constexpr unsigned kHostAbiMajor = MLC_ABI_VERSION_MAJOR;
inline constexpr unsigned kHostAbiMinor = MLC_ABI_VERSION_MINOR;
}  // namespace mlc

#endif  // MLC_HOST_CORE_VERSION_HPP_
