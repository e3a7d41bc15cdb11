// Host logging setup: one stderr logger whose sink passes every message through the redactor.
#include "core/log.hpp"

#include <memory>
#include <mutex>
#include <string>

#include <spdlog/sinks/sink.h>
#include <spdlog/sinks/stdout_sinks.h>

#include "core/redact.hpp"

namespace mlc {

namespace {

// Wraps a sink and masks secrets in each message before the wrapped sink formats it. Done at the sink
// (not with a pattern flag) so a later set_pattern cannot drop the redaction.
class RedactingSink final : public spdlog::sinks::sink {
 public:
  explicit RedactingSink(std::shared_ptr<spdlog::sinks::sink> inner) : inner_(std::move(inner)) {}

  void log(const spdlog::details::log_msg& msg) override {
    const std::string_view payload(msg.payload.data(), msg.payload.size());
    const std::string redacted = redact::RedactText(payload);
    if (redacted == payload) {
      inner_->log(msg);
      return;
    }
    spdlog::details::log_msg copy = msg;
    copy.payload = spdlog::string_view_t(redacted.data(), redacted.size());
    inner_->log(copy);
  }
  void flush() override { inner_->flush(); }
  void set_pattern(const std::string& pattern) override { inner_->set_pattern(pattern); }
  void set_formatter(std::unique_ptr<spdlog::formatter> formatter) override {
    inner_->set_formatter(std::move(formatter));
  }

 private:
  std::shared_ptr<spdlog::sinks::sink> inner_;
};

std::shared_ptr<spdlog::logger> CreateLogger() {
  auto sink = std::make_shared<RedactingSink>(std::make_shared<spdlog::sinks::stderr_sink_mt>());
  auto logger = std::make_shared<spdlog::logger>("mlc", std::move(sink));
  logger->set_pattern("%Y-%m-%dT%H:%M:%S.%eZ %^%-5l%$ %v", spdlog::pattern_time_type::utc);
  logger->set_level(spdlog::level::info);
  // Code that logs through spdlog's free functions is redacted too.
  spdlog::set_default_logger(logger);
  return logger;
}

// Created on first use, so a log call made before InitLogging is redacted as well; never destroyed, so
// logging during static destruction stays valid.
spdlog::logger& Logger() {
  static auto* logger = new std::shared_ptr<spdlog::logger>(CreateLogger());
  return **logger;
}

}  // namespace

void InitLogging(std::string_view level) { Logger().set_level(spdlog::level::from_str(std::string(level))); }

spdlog::logger& Log() { return Logger(); }

}  // namespace mlc
