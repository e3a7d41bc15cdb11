// Path-pattern routing for the sandbox kit.
#include "mlc/sandbox/router.hpp"

namespace mlc::sandbox {

namespace {
std::vector<std::string_view> SplitPath(std::string_view path) {
  std::vector<std::string_view> out;
  size_t pos = 0;
  if (!path.empty() && path.front() == '/') pos = 1;
  while (pos <= path.size()) {
    size_t slash = path.find('/', pos);
    if (slash == std::string_view::npos) slash = path.size();
    out.push_back(path.substr(pos, slash - pos));
    pos = slash + 1;
  }
  return out;
}

bool IsCapture(std::string_view seg) { return seg.size() > 2 && seg.front() == '{' && seg.back() == '}'; }
}  // namespace

PathPattern::PathPattern(std::string_view pattern) : text_(pattern) {
  for (std::string_view seg : SplitPath(pattern)) {
    segments_.emplace_back(seg);
    if (!IsCapture(seg)) ++literals_;
  }
}

bool PathPattern::Matches(std::string_view path, std::map<std::string, std::string>* params) const {
  const std::vector<std::string_view> parts = SplitPath(path);
  if (parts.size() != segments_.size()) return false;
  std::map<std::string, std::string> captured;
  for (size_t i = 0; i < parts.size(); ++i) {
    const std::string& seg = segments_[i];
    if (IsCapture(seg)) {
      if (parts[i].empty()) return false;
      captured[seg.substr(1, seg.size() - 2)] = UrlDecode(parts[i], /*plus_is_space=*/false);
    } else if (seg != parts[i]) {
      return false;
    }
  }
  if (params) *params = std::move(captured);
  return true;
}

void Router::Add(std::string method, std::string_view pattern, Handler handler) {
  std::string key = method + " " + std::string(pattern);
  routes_.push_back(Route{std::move(method), PathPattern(pattern), std::move(handler), std::move(key)});
}

Router::Match Router::Find(std::string_view method, std::string_view path) const {
  Match best;
  int best_literals = -1;
  for (const Route& r : routes_) {
    std::map<std::string, std::string> params;
    if (!r.pattern.Matches(path, &params)) continue;
    if (r.method != "*" && r.method != method) {
      best.path_known = true;
      continue;
    }
    if (r.pattern.literal_segments() > best_literals) {
      best_literals = r.pattern.literal_segments();
      best.route = &r;
      best.params = std::move(params);
    }
  }
  return best;
}

}  // namespace mlc::sandbox
