// Child processes for tests: run a binary to completion with captured output, or keep one running and
// read its output line by line (e.g. wait for "ready", then send SIGTERM).
//
//   mlc::testing::ProcessOptions options;
//   options.env = {{"MLC_CONFIG", path}};
//   auto r = mlc::testing::RunProcess({MLC_BINARY, "config", "check"}, options);
//   EXPECT_EQ(r.exit_code, 3);
//
//   mlc::testing::ChildProcess host({MLC_BINARY, "serve", "--config", path});
//   ASSERT_TRUE(host.WaitForOutput("ready", std::chrono::seconds(10)));
//   host.Signal(SIGTERM);
//   EXPECT_EQ(host.Wait(), 0);
//
// Thread safety: a ChildProcess is used from one thread.
#ifndef MLC_TESTS_SUPPORT_SUBPROCESS_HPP_
#define MLC_TESTS_SUPPORT_SUBPROCESS_HPP_

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace mlc::testing {

struct ProcessOptions {
  std::string stdin_data;                     // written to the child's stdin, which is then closed
  std::map<std::string, std::string> env;     // set (or, with an empty value, unset) over the parent's
  std::string cwd;                            // empty: inherit
  std::chrono::milliseconds timeout{60'000};  // RunProcess kills the child (SIGKILL) after this
  // Non-empty: the child's stdout and stderr are appended to this file instead of pipes, so a long-lived
  // child that logs a lot never blocks on a full pipe; out() then holds the file's new content as read.
  std::string output_path;
};

struct ProcessResult {
  int exit_code = -1;  // exit status, or 128 + signal number when killed by a signal
  std::string out;
  std::string err;
  bool timed_out = false;
  // What the child used (from wait4): CPU seconds and peak resident memory. Zero when it was not reaped.
  double user_cpu_s = 0;
  double system_cpu_s = 0;
  int64_t max_rss_kb = 0;
};

// Runs argv[0] (a path) with arguments to completion.
ProcessResult RunProcess(const std::vector<std::string>& argv, const ProcessOptions& options = {});

class ChildProcess {
 public:
  explicit ChildProcess(const std::vector<std::string>& argv, const ProcessOptions& options = {});
  ~ChildProcess();  // SIGKILLs and reaps a child still running
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  bool started() const { return pid_ > 0; }
  pid_t pid() const { return pid_; }

  // Reads output until `needle` appears in stdout or stderr (true) or the time runs out (false).
  bool WaitForOutput(const std::string& needle, std::chrono::milliseconds timeout);
  void Signal(int signo);
  // Waits for exit (reading remaining output); returns the exit code (128 + signal when signalled),
  // or nullopt when `timeout` passes first.
  std::optional<int> Wait(std::chrono::milliseconds timeout = std::chrono::seconds(30));

  const std::string& out() const { return out_; }
  const std::string& err() const { return err_; }
  // After Wait() returned an exit code: the child's CPU time and peak RSS.
  double user_cpu_s() const { return user_cpu_s_; }
  double system_cpu_s() const { return system_cpu_s_; }
  int64_t max_rss_kb() const { return max_rss_kb_; }

 private:
  void Pump(std::chrono::milliseconds timeout);  // reads what is available within timeout

  pid_t pid_ = -1;
  std::string output_path_;  // ProcessOptions::output_path
  int64_t output_offset_ = 0;
  int out_fd_ = -1;
  int err_fd_ = -1;
  std::string out_;
  std::string err_;
  std::optional<int> exit_code_;
  double user_cpu_s_ = 0;
  double system_cpu_s_ = 0;
  int64_t max_rss_kb_ = 0;
};

}  // namespace mlc::testing

#endif  // MLC_TESTS_SUPPORT_SUBPROCESS_HPP_
