// Method + path-prefix routing (see RouteTable in http_server.hpp); kept out of the Beast translation unit.
#include <algorithm>
#include <mutex>
#include <shared_mutex>

#include "webhooks/http_server.hpp"

namespace mlc::webhooks {
namespace {

bool PrefixMatches(const std::string& prefix, std::string_view path) {
  if (!prefix.empty() && prefix.back() == '/') return path.substr(0, prefix.size()) == prefix;
  if (path.substr(0, prefix.size()) != prefix) return false;
  return path.size() == prefix.size() || path[prefix.size()] == '/';
}

}  // namespace

struct RouteTable::Impl {
  struct Entry {
    std::string method;
    std::string prefix;
    Handler handler;
    RouteOptions options;
  };
  mutable std::shared_mutex mu;
  std::vector<Entry> entries;
};

RouteTable::RouteTable() : impl_(std::make_unique<Impl>()) {}
RouteTable::~RouteTable() = default;

void RouteTable::Add(std::string method, std::string path_prefix, Handler handler, RouteOptions options) {
  std::unique_lock lock(impl_->mu);
  for (Impl::Entry& e : impl_->entries) {
    if (e.method == method && e.prefix == path_prefix) {
      e.handler = std::move(handler);
      e.options = options;
      return;
    }
  }
  impl_->entries.push_back({std::move(method), std::move(path_prefix), std::move(handler), options});
}

RouteMatch RouteTable::Find(std::string_view method, std::string_view path) const {
  RouteMatch m;
  const Impl::Entry* best = nullptr;
  std::vector<std::string> allow;
  std::shared_lock lock(impl_->mu);
  for (const Impl::Entry& e : impl_->entries) {
    if (!PrefixMatches(e.prefix, path)) continue;
    if (e.method == method || e.method == "*") {
      if (!best || e.prefix.size() > best->prefix.size()) best = &e;
    } else if (std::find(allow.begin(), allow.end(), e.method) == allow.end()) {
      allow.push_back(e.method);
    }
  }
  if (best) {
    m.handler = best->handler;
    m.options = best->options;
    return m;
  }
  std::sort(allow.begin(), allow.end());
  for (const auto& a : allow) m.allow += (m.allow.empty() ? "" : ", ") + a;
  return m;
}

}  // namespace mlc::webhooks
