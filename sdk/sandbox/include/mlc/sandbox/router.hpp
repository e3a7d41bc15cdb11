// Method + path-pattern routing for emulators: "/v1/vendors/{id}" captures one path segment as "id".
//
//   Router r;
//   r.Add("GET", "/v1/vendors/{id}", [](Request& req) { return Lookup(req.Param("id")); });
//   Router::Match m = r.Find("GET", "/v1/vendors/vendor_1");   // m.route != nullptr, params {"id": ...}
//
// When several patterns match a path, the one with more literal segments wins ("/v1/webhooks/secrets"
// beats "/v1/webhooks/{id}"); ties go to the earlier registration.
//
// Thread safety: Add before serving; Find may then be called from any thread.
#ifndef MLC_SANDBOX_ROUTER_HPP_
#define MLC_SANDBOX_ROUTER_HPP_

#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "mlc/sandbox/http.hpp"

namespace mlc::sandbox {

using Handler = std::function<Response(Request&)>;

// A path pattern split into segments; "{name}" segments capture.
class PathPattern {
 public:
  explicit PathPattern(std::string_view pattern);
  // True when `path` (not decoded) matches; captures are decoded into `params` when non-null.
  bool Matches(std::string_view path, std::map<std::string, std::string>* params = nullptr) const;
  int literal_segments() const { return literals_; }
  const std::string& text() const { return text_; }

 private:
  std::string text_;
  std::vector<std::string> segments_;
  int literals_ = 0;
};

class Router {
 public:
  struct Route {
    std::string method;  // "GET"; "*" matches any method
    PathPattern pattern;
    Handler handler;
    std::string key;  // "GET /v1/vendors/{id}"
  };
  struct Match {
    const Route* route = nullptr;  // null when nothing matched this method
    bool path_known = false;       // some route matched the path with another method (-> 405)
    std::map<std::string, std::string> params;
  };

  void Add(std::string method, std::string_view pattern, Handler handler);
  Match Find(std::string_view method, std::string_view path) const;
  const std::vector<Route>& routes() const { return routes_; }

 private:
  std::vector<Route> routes_;
};

}  // namespace mlc::sandbox

#endif  // MLC_SANDBOX_ROUTER_HPP_
