// Fuzz target `config`: the host's configuration parser (host/config/config.hpp ParseConfig, the
// parse-from-text entry point LoadConfig uses) and pipeline schedules (host/config/schedule.hpp).
// Input: TOML text. Invariants: nothing throws; a rejected file reports at least one error, each with a
// message, a line >= 0 and the path given, sorted by position; an accepted file's pipelines name connections
// that exist and carry schedules Schedule::Parse accepts; a schedule parsed from the first line (or the
// value of any `schedule`) fires strictly after the reference time, on a minute the expression matches.
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "config/config.hpp"
#include "config/schedule.hpp"
#include "fuzz_util.hpp"

namespace {

namespace config = mlc::config;

constexpr char kPath[] = "/fuzz/mlc.toml";

void CheckSchedule(std::string_view text) {
  if (text.size() > 200) return;
  auto schedule = config::Schedule::Parse(text);
  if (!schedule.ok()) {
    MLC_FUZZ_CHECK(!schedule.status().message().empty());
    return;
  }
  // 2025-03-09 06:59:30 UTC: a US daylight switch day, mid-minute.
  const config::TimePoint t{std::chrono::seconds(1741503570)};
  const config::TimePoint next = schedule->NextAfter(t);
  MLC_FUZZ_CHECK(next > t);
  MLC_FUZZ_CHECK(next != config::TimePoint::max());
  if (!schedule->is_interval()) {
    auto cron = config::CronExpression::Parse(schedule->text());
    MLC_FUZZ_CHECK(cron.ok());
    MLC_FUZZ_CHECK(cron->Matches(next));
    MLC_FUZZ_CHECK(next - t <= std::chrono::hours(24 * 366 * 8 + 48));
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text = mlc::fuzz::AsText(data, size);
  CheckSchedule(mlc::fuzz::SplitOnce(text, "\n").first);

  config::LoadResult result = config::ParseConfig(std::string(text), kPath);
  if (!result.ok()) {
    int last_line = -1, last_column = -1;
    for (const config::ConfigError& e : result.errors) {
      MLC_FUZZ_CHECK(!e.message.empty());
      MLC_FUZZ_CHECK(e.where.line >= 0 && e.where.column >= 0);
      MLC_FUZZ_CHECK(e.where.file.find("mlc.toml") != std::string::npos);
      MLC_FUZZ_CHECK(e.where.line > last_line ||
                     (e.where.line == last_line && e.where.column >= last_column));
      last_line = e.where.line;
      last_column = e.where.column;
      (void)e.ToString();
    }
    return 0;
  }
  const config::Config& c = result.config;
  for (const auto& [name, pipeline] : c.pipelines) {
    MLC_FUZZ_CHECK(name == pipeline.name);
    MLC_FUZZ_CHECK(c.connections.count(pipeline.source) == 1);
    MLC_FUZZ_CHECK(c.connections.count(pipeline.target) == 1);
    if (!pipeline.schedule.empty()) {
      MLC_FUZZ_CHECK(config::Schedule::Parse(pipeline.schedule).ok());
      CheckSchedule(pipeline.schedule);
    }
    (void)pipeline.LocationOf("/options/x");
  }
  for (const auto& [name, connection] : c.connections) {
    MLC_FUZZ_CHECK(name == connection.name);
    (void)connection.LocationOf("/settings/x/y");
  }
  return 0;
}
