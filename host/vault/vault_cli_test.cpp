// Tests of `mlc vault ...` run as a real process: secrets go in through stdin, come out only from `get`,
// and never show up in list output, stderr or the database files.
#include <fcntl.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

extern char** environ;

namespace {

using ::testing::HasSubstr;
using ::testing::Not;

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

struct RunResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

class VaultCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (std::filesystem::temp_directory_path() / "mlc-vault-cli-XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  std::string File(const std::string& name) const { return (dir_ / name).string(); }

  // Runs `mlc args...` with `input` on stdin. The child's environment is ours without MLC_* variables,
  // plus `env`.
  RunResult Mlc(const std::vector<std::string>& args, const std::string& input = "",
                const std::map<std::string, std::string>& env = {}) {
    const std::string in_path = File("stdin"), out_path = File("stdout"), err_path = File("stderr");
    std::ofstream(in_path, std::ios::binary | std::ios::trunc) << input;
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 0, in_path.c_str(), O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&actions, 1, out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    posix_spawn_file_actions_addopen(&actions, 2, err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);

    std::vector<std::string> argv_s = {MLC_BINARY};
    argv_s.insert(argv_s.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& a : argv_s) argv.push_back(a.data());
    argv.push_back(nullptr);

    std::vector<std::string> env_s;
    for (char** e = environ; *e != nullptr; ++e) {
      if (std::strncmp(*e, "MLC_", 4) != 0) env_s.emplace_back(*e);
    }
    for (const auto& [k, v] : env) env_s.push_back(k + "=" + v);
    std::vector<char*> envp;
    for (auto& e : env_s) envp.push_back(e.data());
    envp.push_back(nullptr);

    RunResult run;
    pid_t pid = 0;
    const int rc = posix_spawn(&pid, MLC_BINARY, &actions, nullptr, argv.data(), envp.data());
    posix_spawn_file_actions_destroy(&actions);
    EXPECT_EQ(rc, 0) << "cannot start " << MLC_BINARY;
    if (rc != 0) return run;
    int status = 0;
    waitpid(pid, &status, 0);
    run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    run.out = ReadAll(out_path);
    run.err = ReadAll(err_path);
    all_stderr_ += run.err;
    return run;
  }

  // --store and --key-file for the test's database and key.
  std::vector<std::string> With(std::vector<std::string> args, const std::string& key_file) {
    args.insert(args.end(), {"--store", File("mlc.db"), "--key-file", key_file});
    return args;
  }

  std::filesystem::path dir_;
  std::string all_stderr_;
};

constexpr const char* kSecret = "CLI-CANARY-s3cr3t-9d2f71";

TEST_F(VaultCliTest, PutGetListRotateAndWrongKey) {
  const std::string key = File("master.key");
  RunResult r = Mlc({"vault", "keygen", key});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  struct stat st {};
  ASSERT_EQ(stat(key.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_THAT(r.out, HasSubstr("key id "));
  const std::string key_text = ReadAll(key);

  // keygen never overwrites.
  r = Mlc({"vault", "keygen", key});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("refusing to overwrite"));
  EXPECT_EQ(ReadAll(key), key_text);

  // put: the value comes from stdin; one trailing newline is dropped.
  r = Mlc(With({"vault", "put", "brex", "token"}, key), std::string(kSecret) + "\n");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("stored brex/token"));
  r = Mlc(With({"vault", "put", "zoho", "refresh_token"}, key), "second-CANARY-value");
  ASSERT_EQ(r.exit_code, 0) << r.err;

  // An empty value is refused and stores nothing.
  r = Mlc(With({"vault", "put", "brex", "empty"}, key), "\n");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("empty"));

  r = Mlc(With({"vault", "get", "brex", "token"}, key));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, std::string(kSecret) + "\n");

  r = Mlc(With({"vault", "get", "brex", "missing"}, key));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("no vault secret brex/missing"));

  // list: names, dates and key ids; no key needed.
  r = Mlc({"vault", "list", "--store", File("mlc.db")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("brex"));
  EXPECT_THAT(r.out, HasSubstr("refresh_token"));
  EXPECT_THAT(r.out, Not(HasSubstr("empty")));
  r = Mlc({"vault", "list", "--json", "--store", File("mlc.db")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto listed = nlohmann::json::parse(r.out);
  ASSERT_EQ(listed.size(), 2u);
  EXPECT_EQ(listed[0]["connection"], "brex");
  EXPECT_EQ(listed[0]["field"], "token");
  EXPECT_EQ(listed[0]["key_id"].get<std::string>().size(), 16u);
  EXPECT_THAT(listed[0]["updated_at"].get<std::string>(), ::testing::MatchesRegex("20[0-9-]+T[0-9:]+Z"));
  EXPECT_EQ(listed[0].size(), 4u);  // connection, field, updated_at, key_id: no value
  const std::string old_id = listed[0]["key_id"];

  // A different key: exit 5 with the clear message.
  const std::string other = File("other.key");
  ASSERT_EQ(Mlc({"vault", "keygen", other}).exit_code, 0);
  r = Mlc(With({"vault", "get", "brex", "token"}, other));
  EXPECT_EQ(r.exit_code, 5);
  EXPECT_THAT(r.err,
              HasSubstr("vault master key does not match the key these secrets were written with (key id " +
                        old_id + ", given "));
  EXPECT_EQ(r.out, "");
  r = Mlc(With({"vault", "put", "brex", "token"}, other), "would-mix-keys");
  EXPECT_EQ(r.exit_code, 5);

  // A key file readable by others: exit 5, naming the path and mode.
  const std::string loose = File("loose.key");
  std::ofstream(loose) << key_text;
  chmod(loose.c_str(), 0644);
  r = Mlc(With({"vault", "get", "brex", "token"}, loose));
  EXPECT_EQ(r.exit_code, 5);
  EXPECT_THAT(r.err, HasSubstr(loose + " has mode 0644"));

  // No key at all: exit 5.
  r = Mlc({"vault", "get", "brex", "token", "--store", File("mlc.db")});
  EXPECT_EQ(r.exit_code, 5);
  EXPECT_THAT(r.err, HasSubstr("MLC_MASTER_KEY"));

  // The key from the environment.
  const std::string key_b64 = key_text.substr(0, key_text.find('\n'));
  r = Mlc({"vault", "get", "zoho", "refresh_token", "--store", File("mlc.db")}, "",
          {{"MLC_MASTER_KEY", key_b64}});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "second-CANARY-value\n");

  // rotate-key: re-encrypts both, old key then fails, new key works.
  const std::string new_key = File("new.key");
  ASSERT_EQ(Mlc({"vault", "keygen", new_key}).exit_code, 0);
  r = Mlc(With({"vault", "rotate-key", "--new-key-file", new_key}, key));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("re-encrypted 2 secrets"));
  r = Mlc(With({"vault", "get", "brex", "token"}, key));
  EXPECT_EQ(r.exit_code, 5);
  r = Mlc(With({"vault", "get", "brex", "token"}, new_key));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, std::string(kSecret) + "\n");

  // rotate-key from an environment variable, back to the first key.
  r = Mlc(With({"vault", "rotate-key", "--new-key-env", "MLC_NEXT_KEY"}, new_key), "",
          {{"MLC_NEXT_KEY", key_b64}});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("to key id " + old_id));
  r = Mlc(With({"vault", "rotate-key"}, key));
  EXPECT_EQ(r.exit_code, 2);
  r = Mlc(With({"vault", "rotate-key", "--new-key-env", "MLC_UNSET_VAR"}, key));
  EXPECT_EQ(r.exit_code, 5);

  // delete.
  r = Mlc(With({"vault", "delete", "zoho", "refresh_token"}, key));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = Mlc(With({"vault", "get", "zoho", "refresh_token"}, key));
  EXPECT_EQ(r.exit_code, 1);

  // The secret never appeared on stderr, in list output, or in the database files.
  EXPECT_THAT(all_stderr_, Not(HasSubstr(kSecret)));
  EXPECT_THAT(all_stderr_, Not(HasSubstr("CANARY")));
  for (const std::string& f : {File("mlc.db"), File("mlc.db") + "-wal"}) {
    EXPECT_THAT(ReadAll(f), Not(HasSubstr(kSecret))) << f;
  }
}

TEST_F(VaultCliTest, StoreAndConfigProblems) {
  const std::string key = File("master.key");
  ASSERT_EQ(Mlc({"vault", "keygen", key}).exit_code, 0);

  // Not a database: exit 4.
  std::ofstream(File("junk.db")) << "this is not an sqlite database, just text that is long enough......";
  RunResult r = Mlc({"vault", "list", "--store", File("junk.db")});
  EXPECT_EQ(r.exit_code, 4);
  r = Mlc({"vault", "put", "brex", "token", "--store", File("junk.db"), "--key-file", key}, "value-123");
  EXPECT_EQ(r.exit_code, 4);

  // Neither --store nor a config: exit 3.
  r = Mlc({"vault", "list"});
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_THAT(r.err, HasSubstr("--store"));

  // Store path and key file from the configuration.
  const std::string config = File("mlc.toml");
  std::ofstream(config) << "[store]\npath = \"from-config.db\"\n\n[vault]\nkey_file = \"master.key\"\n";
  r = Mlc({"--config", config, "vault", "put", "brex", "token"}, "config-CANARY-value\n");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(std::filesystem::exists(File("from-config.db")));
  r = Mlc({"vault", "get", "brex", "token"}, "", {{"MLC_CONFIG", config}});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "config-CANARY-value\n");

  // A broken configuration: exit 3.
  std::ofstream(File("bad.toml")) << "[store\npath = ";
  r = Mlc({"--config", File("bad.toml"), "vault", "list"});
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_THAT(all_stderr_, Not(HasSubstr("CANARY")));
}

}  // namespace
