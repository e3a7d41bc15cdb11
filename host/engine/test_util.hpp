// Test-only helpers for the engine tests: the template plugin in a private plugin folder, reading its
// `written`/`acked` streams back, mlc configurations, and running the `mlc` binary as a child process.
#ifndef MLC_HOST_ENGINE_TEST_UTIL_HPP_
#define MLC_HOST_ENGINE_TEST_UTIL_HPP_

#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/instances.hpp"
#include "loader/loader.hpp"
#include "store/test_util.hpp"

#ifndef MLC_TEMPLATE_PLUGIN
#error "MLC_TEMPLATE_PLUGIN must name the built template.so (set by host/engine/CMakeLists.txt)"
#endif

namespace mlc::engine::testing {

using store::testing::TempDir;

// A folder holding only template.so (a symlink), so no other plugin of the build is loaded.
inline std::string TemplatePluginDir(const TempDir& dir) {
  const std::filesystem::path plugins = dir.File("plugins");
  std::filesystem::create_directories(plugins);
  std::error_code ec;
  std::filesystem::create_symlink(MLC_TEMPLATE_PLUGIN, plugins / "template.so", ec);
  return plugins.string();
}

inline std::shared_ptr<const loader::LoadedPlugin> LoadTemplate(loader::PluginRegistry& registry,
                                                                const TempDir& dir) {
  auto report = registry.LoadDirectories({TemplatePluginDir(dir)});
  if (!report.status.ok()) throw std::runtime_error("cannot load plugins: " + report.status.message());
  auto p = registry.Find("template");
  if (!p) {
    std::string why;
    for (const auto& r : report.refused) why += r.path + ": " + r.reason + "; ";
    throw std::runtime_error("template plugin not loaded: " + why);
  }
  return p;
}

// Every record of a stream of the connection's plugin (all pages).
inline std::vector<nlohmann::json> ReadAll(InstanceFactory& factory, const std::string& connection,
                                           const std::string& stream) {
  auto inst = factory.Open(connection);
  if (!inst.ok()) throw std::runtime_error("open " + connection + ": " + inst.status().ToString());
  std::vector<nlohmann::json> out;
  nlohmann::json cursor;
  for (int i = 0; i < 100000; ++i) {
    nlohmann::json req = {{"stream", stream}, {"limit", 1000}};
    if (cursor.is_string()) req["cursor"] = cursor;
    auto page = (*inst)->Read(req);
    if (!page.ok()) throw std::runtime_error("read " + stream + ": " + page.status().ToString());
    for (const auto& r : (*page)["records"]) out.push_back(r);
    if (!(*page).value("has_more", false)) break;
    cursor = (*page)["next_cursor"];
  }
  return out;
}

struct ProcessResult {
  int exit_code = -1;  // -signal when killed
  std::string out;
  std::string err;
};

// Runs `argv` (argv[0] a path) with `extra_env` added, capturing stdout and stderr.
inline ProcessResult RunProcess(const std::vector<std::string>& argv,
                                const std::map<std::string, std::string>& extra_env = {}) {
  int out_pipe[2], err_pipe[2];
  if (pipe(out_pipe) != 0 || pipe(err_pipe) != 0) throw std::runtime_error("pipe failed");
  const pid_t pid = fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    dup2(out_pipe[1], 1);
    dup2(err_pipe[1], 2);
    close(out_pipe[0]);
    close(err_pipe[0]);
    close(out_pipe[1]);
    close(err_pipe[1]);
    for (const auto& [k, v] : extra_env) setenv(k.c_str(), v.c_str(), 1);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execv(args[0], args.data());
    _exit(127);
  }
  close(out_pipe[1]);
  close(err_pipe[1]);
  ProcessResult r;
  pollfd fds[2] = {{out_pipe[0], POLLIN, 0}, {err_pipe[0], POLLIN, 0}};
  int open_fds = 2;
  char buf[4096];
  while (open_fds > 0) {
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      const ssize_t n = read(fds[i].fd, buf, sizeof buf);
      if (n <= 0) {
        close(fds[i].fd);
        fds[i].fd = -1;
        --open_fds;
      } else {
        (i == 0 ? r.out : r.err).append(buf, static_cast<size_t>(n));
      }
    }
  }
  int status = 0;
  waitpid(pid, &status, 0);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
  return r;
}

// An mlc configuration with connections `src` and `dst` (both the template plugin) and pipeline `p`.
// Each connection serialises its plugin calls: the template keeps its `written` log in one state key,
// which concurrent writers could overwrite (see sdk/template/README.md).
inline std::string WriteTemplateConfig(const TempDir& dir, const std::string& src_settings,
                                       const std::string& dst_settings, const std::string& pipeline_options) {
  TemplatePluginDir(dir);
  const std::string path = dir.File("mlc.toml");
  store::testing::WriteFile(
      path,
      "[host]\nplugin_dirs = [\"plugins\"]\n\n[store]\npath = \"mlc.db\"\n\n"
      "[connections.src]\nplugin = \"template\"\nconcurrency = 1\nsettings = " +
          src_settings +
          "\n\n[connections.dst]\nplugin = \"template\"\nconcurrency = 1\nsettings = " + dst_settings +
          "\n\n[pipelines.p]\nsource = \"src\"\ntarget = \"dst\"\nobjects = "
          "[\"expense\"]\noptions = " +
          pipeline_options + "\n");
  return path;
}

}  // namespace mlc::engine::testing

#endif  // MLC_HOST_ENGINE_TEST_UTIL_HPP_
