// Test support: captures every line sent to the host logger, before redaction, so tests can prove that no
// secret is ever handed to the logger at all.
#ifndef MLC_HOST_AUTH_TESTDATA_LOG_CAPTURE_HPP_
#define MLC_HOST_AUTH_TESTDATA_LOG_CAPTURE_HPP_

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <spdlog/sinks/base_sink.h>

#include "core/log.hpp"

namespace mlc::auth::testdata {

class CaptureSink final : public spdlog::sinks::base_sink<std::mutex> {
 public:
  std::vector<std::string> Lines() {
    std::lock_guard lock(lines_mu_);
    return lines_;
  }

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    std::lock_guard lock(lines_mu_);
    lines_.emplace_back(msg.payload.data(), msg.payload.size());
  }
  void flush_() override {}

 private:
  std::mutex lines_mu_;
  std::vector<std::string> lines_;
};

// Installs the capture sink once per process (before any test thread logs) and returns it.
inline std::shared_ptr<CaptureSink> LogCapture() {
  static std::shared_ptr<CaptureSink> sink = [] {
    auto s = std::make_shared<CaptureSink>();
    mlc::Log().sinks().push_back(s);
    mlc::Log().set_level(spdlog::level::debug);
    return s;
  }();
  return sink;
}

}  // namespace mlc::auth::testdata

#endif  // MLC_HOST_AUTH_TESTDATA_LOG_CAPTURE_HPP_
