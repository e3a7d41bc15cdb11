// `mlc connect CONNECTION`: authorizes a connection. Browser-consent kinds print the authorize URL, catch
// the redirect on a loopback listener (/oauth/callback), exchange the code, run the plugin's auth_resolve
// and show the account; other kinds verify their credentials with the plugin's check().
#include <algorithm>
#include <chrono>
#include <iostream>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <nlohmann/json.hpp>

#include "auth/auth_spec.hpp"
#include "auth/auth_state.hpp"
#include "cli/commands.hpp"
#include "config/config.hpp"
#include "core/log.hpp"
#include "core/redact.hpp"
#include "loader/loader.hpp"
#include "runtime/connection_context.hpp"
#include "store/store.hpp"
#include "vault/vault.hpp"

namespace mlc::cli {

namespace {

// The OAuth scopes to ask `connection` for (ABI 1.2 per-stream / per-write `scopes` in the manifest):
// auth.scopes that no stream or write declares (always needed, e.g. FreshBooks' user:profile:read), plus
// the declared scopes of what the configured pipelines use: the streams of the objects a pipeline reads
// from this connection, the writes of the objects it writes to it, and the reference_data streams the host
// reads from a target. nullopt when the manifest declares none (then auth.scopes is asked for as it is) or
// when no pipeline uses the connection (nothing to derive from: everything is asked for).
std::optional<std::vector<std::string>> NeededScopes(const config::Config& cfg, const std::string& connection,
                                                     const nlohmann::json& manifest) {
  auto scopes_of = [](const nlohmann::json& item) {
    std::vector<std::string> out;
    if (item.is_object() && item.contains("scopes") && item["scopes"].is_array()) {
      for (const auto& s : item["scopes"]) {
        if (s.is_string()) out.push_back(s.get<std::string>());
      }
    }
    return out;
  };
  const nlohmann::json streams = manifest.value("streams", nlohmann::json::array());
  const nlohmann::json writes = manifest.value("writes", nlohmann::json::array());
  std::set<std::string> declared;
  for (const auto* list : {&streams, &writes}) {
    for (const auto& item : *list) {
      for (auto& s : scopes_of(item)) declared.insert(s);
    }
  }
  if (declared.empty()) return std::nullopt;
  std::set<std::string> used;
  bool any_pipeline = false;
  const nlohmann::json refs = manifest.value("reference_data", nlohmann::json::array());
  for (const auto& [name, p] : cfg.pipelines) {
    const bool source = p.source == connection, target = p.target == connection;
    if (!source && !target) continue;
    any_pipeline = true;
    auto wants = [&](const nlohmann::json& item) {
      const std::string object = item.value("object", "");
      return std::find(p.objects.begin(), p.objects.end(), object) != p.objects.end();
    };
    for (const auto& st : streams) {
      const bool reference =
          target && std::find(refs.begin(), refs.end(), st.value("name", "")) != refs.end();
      if ((source && wants(st)) || reference) {
        for (auto& s : scopes_of(st)) used.insert(s);
      }
    }
    if (target) {
      for (const auto& w : writes) {
        if (wants(w)) {
          for (auto& s : scopes_of(w)) used.insert(s);
        }
      }
    }
  }
  if (!any_pipeline) return std::nullopt;
  std::vector<std::string> out;
  const nlohmann::json all = manifest.contains("auth")
                                 ? manifest["auth"].value("scopes", nlohmann::json::array())
                                 : nlohmann::json::array();
  for (const auto& s : all) {
    if (!s.is_string()) continue;
    const std::string scope = s.get<std::string>();
    if (!declared.count(scope) || used.count(scope)) out.push_back(scope);
    used.erase(scope);
  }
  for (const auto& s : used) out.push_back(s);  // declared by a stream or write but missing in auth.scopes
  return out;
}

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;

struct ConnectOptions {
  std::string connection;
  std::string listen = "127.0.0.1:8765";
  std::string redirect_uri;
  bool no_wait = false;
  std::string code;
  std::string state;
  int timeout_s = 300;
};

void PrintError(std::string_view message) {
  std::cerr << "mlc connect: " << redact::RedactText(message) << "\n";
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string QueryDecode(std::string_view v) {
  std::string out;
  for (size_t i = 0; i < v.size(); ++i) {
    if (v[i] == '+') {
      out += ' ';
    } else if (v[i] == '%' && i + 2 < v.size() && HexValue(v[i + 1]) >= 0 && HexValue(v[i + 2]) >= 0) {
      out += static_cast<char>(HexValue(v[i + 1]) * 16 + HexValue(v[i + 2]));
      i += 2;
    } else {
      out += v[i];
    }
  }
  return out;
}

std::map<std::string, std::string> ParseQuery(std::string_view q) {
  std::map<std::string, std::string> out;
  size_t start = 0;
  while (start < q.size()) {
    size_t amp = q.find('&', start);
    if (amp == std::string_view::npos) amp = q.size();
    std::string_view seg = q.substr(start, amp - start);
    const size_t eq = seg.find('=');
    if (!seg.empty()) {
      out[QueryDecode(seg.substr(0, eq))] =
          eq == std::string_view::npos ? "" : QueryDecode(seg.substr(eq + 1));
    }
    start = amp + 1;
  }
  return out;
}

// What the browser brought back to the redirect URI.
struct Callback {
  std::string code;
  std::string error;  // OAuth error (e.g. access_denied) with its description
};

// A one-shot loopback HTTP listener for the OAuth redirect. Answers every request; stops after the first
// /oauth/callback request that carries the expected state.
class CallbackListener {
 public:
  Status Bind(const std::string& listen) {
    const size_t colon = listen.rfind(':');
    if (colon == std::string::npos) return Status::Invalid("--listen must be HOST:PORT, e.g. 127.0.0.1:8765");
    boost::system::error_code ec;
    const auto address = asio::ip::make_address(listen.substr(0, colon), ec);
    if (ec) return Status::Invalid("--listen: '" + listen.substr(0, colon) + "' is not an IP address");
    int port = -1;
    try {
      port = std::stoi(listen.substr(colon + 1));
    } catch (const std::exception&) {
    }
    if (port < 0 || port > 65535) return Status::Invalid("--listen: bad port in '" + listen + "'");
    acceptor_.open(address.is_v6() ? tcp::v6() : tcp::v4(), ec);
    if (!ec) acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) acceptor_.bind(tcp::endpoint(address, static_cast<uint16_t>(port)), ec);
    if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) return Status::Error("cannot listen on " + listen + ": " + ec.message());
    host_ = address.is_v6() ? "[" + address.to_string() + "]" : address.to_string();
    return Status::Ok();
  }
  std::string CallbackUrl() const {
    return "http://" + host_ + ":" + std::to_string(acceptor_.local_endpoint().port()) + "/oauth/callback";
  }

  // Serves until the callback arrives or `timeout` passes (nullopt).
  std::optional<Callback> Wait(const std::string& state, std::chrono::seconds timeout) {
    expected_state_ = state;
    Accept();
    io_.run_for(timeout);
    return result_;
  }

 private:
  void Accept() {
    acceptor_.async_accept([this](boost::system::error_code ec, tcp::socket socket) {
      if (ec) return;
      auto stream = std::make_shared<beast::tcp_stream>(std::move(socket));
      auto buffer = std::make_shared<beast::flat_buffer>();
      auto req = std::make_shared<bhttp::request<bhttp::string_body>>();
      stream->expires_after(std::chrono::seconds(10));
      bhttp::async_read(*stream, *buffer, *req,
                        [this, stream, buffer, req](boost::system::error_code rec, size_t) {
                          if (rec) return;
                          Answer(stream, *req);
                        });
      if (!result_) Accept();
    });
  }

  void Answer(const std::shared_ptr<beast::tcp_stream>& stream,
              const bhttp::request<bhttp::string_body>& req) {
    const std::string target(req.target());
    const size_t qpos = target.find('?');
    const std::string path = target.substr(0, qpos);
    auto res = std::make_shared<bhttp::response<bhttp::string_body>>(bhttp::status::ok, req.version());
    res->set(bhttp::field::content_type, "text/html; charset=utf-8");
    res->keep_alive(false);
    bool done = false;
    if (path != "/oauth/callback") {
      res->result(bhttp::status::not_found);
      res->body() = "<p>Not found.</p>";
    } else {
      auto q = ParseQuery(qpos == std::string::npos ? std::string_view()
                                                    : std::string_view(target).substr(qpos + 1));
      if (q["state"] != expected_state_) {
        res->result(bhttp::status::bad_request);
        res->body() = "<p>This authorization response does not belong to the pending request.</p>";
      } else if (!q["error"].empty()) {
        result_ =
            Callback{"", q["error"] + (q["error_description"].empty() ? "" : ": " + q["error_description"])};
        res->body() = "<p>Authorization was not granted. You can close this window.</p>";
        done = true;
      } else if (q["code"].empty()) {
        res->result(bhttp::status::bad_request);
        res->body() = "<p>The authorization response carries no code.</p>";
      } else {
        result_ = Callback{q["code"], ""};
        redact::RegisterSecret(result_->code);
        res->body() = "<p>Authorized. You can close this window and return to the terminal.</p>";
        done = true;
      }
    }
    res->prepare_payload();
    bhttp::async_write(*stream, *res, [this, stream, res, done](boost::system::error_code, size_t) {
      beast::error_code ignored;
      stream->socket().shutdown(tcp::socket::shutdown_both, ignored);
      if (done) io_.stop();
    });
  }

  asio::io_context io_;
  tcp::acceptor acceptor_{io_};
  std::string host_;
  std::string expected_state_;
  std::optional<Callback> result_;
};

// Opens an instance (token + auth_resolve) and runs check(); prints the account.
int VerifyAndShow(runtime::ConnectionRuntime& rt, const std::string& name, const auth::AuthSpec& spec) {
  auto inst = rt.OpenInstance(name);
  if (!inst.ok()) {
    PrintError(inst.status().ToString());
    return kExitFailed;
  }
  auto check = (*inst)->Check();
  if (!check.ok()) {
    PrintError("check failed: " + check.status().ToString());
    return kExitFailed;
  }
  if (Status s = auth::SetConnectionStatus(rt.store(), name, "ok", "", rt.tokens().NowMs()); !s.ok()) {
    PrintError(s.message());
  }
  std::cout << "Connected " << name << " (" << auth::AuthKindName(spec.kind) << ").\n";
  nlohmann::json account = check->is_object() ? check->value("account", nlohmann::json()) : nlohmann::json();
  if (!account.is_null()) std::cout << "Account: " << redact::RedactText(account.dump()) << "\n";
  if (auto base = rt.tokens().BaseUrl(name); base.ok()) std::cout << "Base URL: " << *base << "\n";
  return kExitOk;
}

int RunConnect(const GlobalOptions& opts, const ConnectOptions& co) {
  if (opts.config_path.empty()) {
    PrintError("no configuration: pass --config FILE or set MLC_CONFIG");
    return kExitUsage;
  }
  config::LoadResult loaded = config::LoadConfig(opts.config_path);
  if (!loaded.ok()) {
    for (const auto& e : loaded.errors) PrintError(e.ToString());
    return kExitConfig;
  }
  const config::Config& cfg = loaded.config;
  auto conn_it = cfg.connections.find(co.connection);
  if (conn_it == cfg.connections.end()) {
    PrintError("no connection named '" + co.connection + "' in " + cfg.path);
    return kExitConfig;
  }
  const config::Connection& conn = conn_it->second;

  loader::PluginRegistry registry;
  loader::LoadReport report = registry.LoadDirectories(cfg.plugin_dirs);
  if (!report.status.ok()) {
    PrintError("cannot load plugins: " + report.status.message());
    return kExitFailed;
  }
  auto plugin = registry.Find(conn.plugin);
  if (!plugin) {
    PrintError("plugin '" + conn.plugin + "' of connection " + conn.name + " is not loaded");
    for (const auto& r : report.refused) PrintError("refused " + r.path + ": " + r.reason);
    return kExitConfig;
  }
  // Ask for exactly the scopes the configured pipelines need: a missing one is a 403 on first use, and
  // reconnecting must fix that, so the set is derived afresh on every connect.
  if (auto needed = NeededScopes(cfg, conn.name, plugin->manifest);
      needed && plugin->manifest.contains("auth")) {
    auto patched = std::make_shared<loader::LoadedPlugin>(*plugin);
    patched->manifest["auth"]["scopes"] = *needed;
    plugin = std::move(patched);
  }
  auto spec = auth::AuthSpec::FromManifest(plugin->manifest);
  if (!spec.ok()) {
    PrintError(spec.status().message());
    return kExitFailed;
  }

  auto store = store::Store::Open({.path = cfg.store_path, .synchronous = cfg.store_synchronous});
  if (!store.ok()) {
    PrintError(store.status().message());
    return kExitStore;
  }
  // The vault is needed to keep tokens, and for any secret referenced as "vault".
  bool needs_vault = auth::UsesTokenEndpoint(spec->kind);
  for (const auto& [field, ref] : conn.secrets)
    needs_vault = needs_vault || ref.kind == config::SecretRef::Kind::kVault;
  std::unique_ptr<vault::Vault> vault;
  if (auto key = vault::LoadMasterKey(cfg.vault_key_file); key.ok()) {
    auto v = vault::Vault::Open(**store, std::move(key).value());
    if (!v.ok()) {
      PrintError(v.status().message());
      return kExitVault;
    }
    vault = std::make_unique<vault::Vault>(std::move(v).value());
  } else if (needs_vault) {
    PrintError(key.status().message());
    return kExitVault;
  }

  runtime::ConnectionRuntime rt(**store, vault.get(), {});
  if (Status s = rt.AddConnection(conn, plugin); !s.ok()) {
    PrintError(s.message());
    return kExitConfig;
  }
  const bool consent = spec->kind == auth::AuthKind::kOAuth2AuthorizationCode ||
                       (spec->kind == auth::AuthKind::kOAuth2Refresh && !spec->authorize_url.empty());
  if (!consent) {
    // Replaced secrets get a fresh chance; check() then proves they work.
    if (Status s = rt.tokens().ClearNeedsReauth(conn.name); !s.ok()) PrintError(s.message());
    return VerifyAndShow(rt, conn.name, *spec);
  }

  std::string code = co.code;
  std::string state = co.state;
  if (code.empty()) {
    CallbackListener listener;
    if (!co.no_wait) {
      if (Status s = listener.Bind(co.listen); !s.ok()) {
        PrintError(s.message());
        return s.code() == Code::kInvalid ? kExitUsage : kExitFailed;
      }
    }
    const std::string redirect = !co.redirect_uri.empty() ? co.redirect_uri
                                 : co.no_wait             ? "http://" + co.listen + "/oauth/callback"
                                                          : listener.CallbackUrl();
    auto start = rt.tokens().BeginAuthorization(conn.name, redirect);
    if (!start.ok()) {
      PrintError(start.status().message());
      return kExitFailed;
    }
    std::cout << "Open this URL in a browser to authorize " << conn.name << ":\n\n  " << start->url << "\n\n";
    if (co.no_wait) {
      std::cout << "After approving, copy `code` and `state` from the page you are sent to and run:\n"
                << "  mlc connect " << conn.name << " --code CODE --state " << start->state << "\n";
      return kExitOk;
    }
    std::cout << "Waiting for the browser to return to " << redirect << " (up to " << co.timeout_s
              << " s)...\n"
              << std::flush;
    auto cb = listener.Wait(start->state, std::chrono::seconds(co.timeout_s));
    if (!cb) {
      PrintError("no authorization arrived within " + std::to_string(co.timeout_s) + " s; run `mlc connect " +
                 conn.name + "` again");
      return kExitFailed;
    }
    if (!cb->error.empty()) {
      PrintError("authorization was refused: " + cb->error);
      return kExitFailed;
    }
    code = cb->code;
    state = start->state;
  } else {
    redact::RegisterSecret(code);
  }
  auto token = rt.tokens().CompleteAuthorization(conn.name, code, state);
  if (!token.ok()) {
    PrintError(token.status().message());
    return kExitFailed;
  }
  return VerifyAndShow(rt, conn.name, *spec);
}

}  // namespace

void RegisterConnectCommand(CLI::App& app, GlobalOptions& opts) {
  auto co = std::make_shared<ConnectOptions>();
  CLI::App* cmd = app.add_subcommand(
      "connect", "Authorize a connection (browser consent for OAuth; otherwise verify its credentials)");
  cmd->add_option("connection", co->connection, "Connection name from the configuration")->required();
  cmd->add_option("--listen", co->listen,
                  "Loopback address for the OAuth redirect listener (HOST:PORT; port 0 = any)");
  cmd->add_option(
      "--redirect-uri", co->redirect_uri,
      "Redirect URI registered with the vendor, when it differs from http://LISTEN/oauth/callback");
  cmd->add_flag("--no-wait", co->no_wait,
                "Print the authorize URL and exit; finish later with --code/--state");
  cmd->add_option("--code", co->code, "Authorization code from the redirect (with --state)");
  cmd->add_option("--state", co->state, "State from the redirect (with --code)");
  cmd->add_option("--timeout", co->timeout_s, "Seconds to wait for the browser")->check(CLI::PositiveNumber);
  // The paste-the-code path for vendors that only redirect to HTTPS (FreshBooks): register an HTTPS URI,
  // run with --redirect-uri URI --no-wait, approve, and paste the address the browser was sent to.
  auto redirected = std::make_shared<std::string>();
  cmd->add_option("--redirected-to", *redirected,
                  "The address the browser was sent to after approving (takes code and state from it)");
  cmd->callback([&opts, co, redirected] {
    if (!redirected->empty()) {
      if (!co->code.empty() || !co->state.empty()) {
        PrintError("--redirected-to replaces --code/--state");
        opts.exit_code = kExitUsage;
        return;
      }
      const size_t q = redirected->find('?');
      std::string query = q == std::string::npos ? "" : redirected->substr(q + 1);
      if (const size_t hash = query.find('#'); hash != std::string::npos) query.resize(hash);
      for (const auto& [k, v] : ParseQuery(query)) {
        if (k == "code") co->code = v;
        if (k == "state") co->state = v;
        if (k == "error") {
          PrintError("authorization was refused: " + v);
          opts.exit_code = kExitFailed;
          return;
        }
      }
      if (co->code.empty() || co->state.empty()) {
        PrintError("--redirected-to: the address has no code and state");
        opts.exit_code = kExitUsage;
        return;
      }
    }
    if (co->code.empty() != co->state.empty()) {
      PrintError("--code and --state go together");
      opts.exit_code = kExitUsage;
      return;
    }
    opts.exit_code = RunConnect(opts, *co);
  });
}

}  // namespace mlc::cli
