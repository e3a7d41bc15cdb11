// Child processes for tests (posix_spawn + pipes + poll).
#include "support/subprocess.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <thread>

extern char** environ;

namespace mlc::testing {

namespace {

using Clock = std::chrono::steady_clock;

std::vector<std::string> BuildEnv(const std::map<std::string, std::string>& overrides) {
  std::map<std::string, std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    std::string kv(*e);
    const size_t eq = kv.find('=');
    if (eq != std::string::npos) env[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  for (const auto& [k, v] : overrides) {
    if (v.empty()) {
      env.erase(k);
    } else {
      env[k] = v;
    }
  }
  std::vector<std::string> out;
  for (const auto& [k, v] : env) out.push_back(k + "=" + v);
  return out;
}

int DecodeStatus(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

// Spawns argv with stdin from a pipe filled with `stdin_data`, stdout/stderr to pipes.
pid_t Spawn(const std::vector<std::string>& argv, const ProcessOptions& options, int* out_fd, int* err_fd) {
  int in_pipe[2], out_pipe[2], err_pipe[2];
  if (!options.output_path.empty()) {
    // Both streams into one file: opened twice (not pipes), so the "pipe" ends below are the file.
    out_pipe[0] = -1;
    err_pipe[0] = -1;
    out_pipe[1] = ::open(options.output_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    err_pipe[1] = out_pipe[1] < 0 ? -1 : ::dup(out_pipe[1]);
    if (out_pipe[1] < 0 || err_pipe[1] < 0 || ::pipe2(in_pipe, O_CLOEXEC) != 0) {
      if (out_pipe[1] >= 0) ::close(out_pipe[1]);
      if (err_pipe[1] >= 0) ::close(err_pipe[1]);
      return -1;
    }
  } else if (::pipe2(in_pipe, O_CLOEXEC) != 0 || ::pipe2(out_pipe, O_CLOEXEC) != 0 ||
             ::pipe2(err_pipe, O_CLOEXEC) != 0) {
    return -1;
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, in_pipe[0], 0);
  posix_spawn_file_actions_adddup2(&actions, out_pipe[1], 1);
  posix_spawn_file_actions_adddup2(&actions, err_pipe[1], 2);
  if (!options.cwd.empty()) posix_spawn_file_actions_addchdir_np(&actions, options.cwd.c_str());

  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  std::vector<std::string> env_strings = BuildEnv(options.env);
  std::vector<char*> envp;
  for (auto& e : env_strings) envp.push_back(e.data());
  envp.push_back(nullptr);

  pid_t pid = -1;
  const int rc = ::posix_spawn(&pid, argv.at(0).c_str(), &actions, nullptr, args.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  ::close(in_pipe[0]);
  ::close(out_pipe[1]);
  ::close(err_pipe[1]);
  if (rc != 0) {
    ::close(in_pipe[1]);
    if (out_pipe[0] >= 0) ::close(out_pipe[0]);
    if (err_pipe[0] >= 0) ::close(err_pipe[0]);
    return -1;
  }
  // Feed stdin from a thread so a child that does not read it cannot block us.
  std::thread([fd = in_pipe[1], data = options.stdin_data] {
    ::signal(SIGPIPE, SIG_IGN);
    size_t off = 0;
    while (off < data.size()) {
      const ssize_t n = ::write(fd, data.data() + off, data.size() - off);
      if (n <= 0) break;
      off += static_cast<size_t>(n);
    }
    ::close(fd);
  }).detach();
  *out_fd = out_pipe[0];
  *err_fd = err_pipe[0];
  return pid;
}

}  // namespace

ChildProcess::ChildProcess(const std::vector<std::string>& argv, const ProcessOptions& options)
    : output_path_(options.output_path) {
  pid_ = Spawn(argv, options, &out_fd_, &err_fd_);
}

ChildProcess::~ChildProcess() {
  if (pid_ > 0 && !exit_code_) {
    ::kill(pid_, SIGKILL);
    int status = 0;
    ::waitpid(pid_, &status, 0);
  }
  if (out_fd_ >= 0) ::close(out_fd_);
  if (err_fd_ >= 0) ::close(err_fd_);
}

void ChildProcess::Pump(std::chrono::milliseconds timeout) {
  if (!output_path_.empty()) {
    // Output goes to a file: read what was appended since last time, else wait a little.
    const int fd = ::open(output_path_.c_str(), O_RDONLY | O_CLOEXEC);
    size_t got_total = 0;
    if (fd >= 0) {
      char buf[8192];
      ssize_t got = 0;
      while ((got = ::pread(fd, buf, sizeof buf, output_offset_)) > 0) {
        out_.append(buf, static_cast<size_t>(got));
        output_offset_ += got;
        got_total += static_cast<size_t>(got);
      }
      ::close(fd);
    }
    if (got_total == 0) std::this_thread::sleep_for(std::min(timeout, std::chrono::milliseconds(20)));
    return;
  }
  pollfd fds[2] = {{out_fd_, POLLIN, 0}, {err_fd_, POLLIN, 0}};
  const int n = ::poll(fds, 2, static_cast<int>(timeout.count()));
  if (n <= 0) return;
  char buf[8192];
  for (int i = 0; i < 2; ++i) {
    if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
    const ssize_t got = ::read(fds[i].fd, buf, sizeof buf);
    if (got > 0) {
      (i == 0 ? out_ : err_).append(buf, static_cast<size_t>(got));
    } else {
      ::close(fds[i].fd);
      (i == 0 ? out_fd_ : err_fd_) = -1;
    }
  }
}

bool ChildProcess::WaitForOutput(const std::string& needle, std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  while (true) {
    if (out_.find(needle) != std::string::npos || err_.find(needle) != std::string::npos) return true;
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0 || (out_fd_ < 0 && err_fd_ < 0 && output_path_.empty())) return false;
    Pump(std::min(left, std::chrono::milliseconds(100)));
  }
}

void ChildProcess::Signal(int signo) {
  if (pid_ > 0 && !exit_code_) ::kill(pid_, signo);
}

std::optional<int> ChildProcess::Wait(std::chrono::milliseconds timeout) {
  if (exit_code_) return exit_code_;
  if (pid_ <= 0) return std::nullopt;
  const auto deadline = Clock::now() + timeout;
  while (true) {
    int status = 0;
    struct rusage usage {};
    const pid_t r = ::wait4(pid_, &status, WNOHANG, &usage);
    if (r == pid_) {
      exit_code_ = DecodeStatus(status);
      user_cpu_s_ = static_cast<double>(usage.ru_utime.tv_sec) + usage.ru_utime.tv_usec / 1e6;
      system_cpu_s_ = static_cast<double>(usage.ru_stime.tv_sec) + usage.ru_stime.tv_usec / 1e6;
      max_rss_kb_ = usage.ru_maxrss;  // Linux: kilobytes
      while (out_fd_ >= 0 || err_fd_ >= 0) Pump(std::chrono::milliseconds(100));
      if (!output_path_.empty()) Pump(std::chrono::milliseconds(0));
      return exit_code_;
    }
    if (Clock::now() >= deadline) return std::nullopt;
    if (out_fd_ >= 0 || err_fd_ >= 0) {
      Pump(std::chrono::milliseconds(20));
    } else {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }
}

ProcessResult RunProcess(const std::vector<std::string>& argv, const ProcessOptions& options) {
  ProcessResult result;
  ChildProcess child(argv, options);
  if (!child.started()) {
    result.err = "cannot start " + argv.at(0) + ": " + std::strerror(errno);
    return result;
  }
  std::optional<int> code = child.Wait(options.timeout);
  if (!code) {
    result.timed_out = true;
    child.Signal(SIGKILL);
    code = child.Wait(std::chrono::seconds(10));
  }
  result.exit_code = code.value_or(-1);
  result.out = child.out();
  result.err = child.err();
  result.user_cpu_s = child.user_cpu_s();
  result.system_cpu_s = child.system_cpu_s();
  result.max_rss_kb = child.max_rss_kb();
  return result;
}

}  // namespace mlc::testing
