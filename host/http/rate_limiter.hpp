// Client-side rate limits per connection: several "N requests per W" windows plus a concurrency cap, shared
// by every instance of a connection through RateLimiterRegistry.
//
//   mlc::http::RateLimiterRegistry registry;
//   auto limiter = registry.Get("expensify-main", {.windows = {{5, 10s}, {20, 60s}}});  // Result<shared_ptr>
//   {
//     auto permit = (*limiter)->Acquire();  // blocks until every window and the concurrency cap allow it
//     ... send exactly one request, read its response ...
//   }                                       // permit released: the request's tokens start their cooldown
//   (*limiter)->Penalize(30s);              // after a 429: everyone on this connection pauses
//
// Algorithm (why the server never sees more than N in any W-second window). A classic token bucket of
// capacity N refilling at N/W lets 2N through in one window after an idle period (N from the full bucket,
// N more refilled during the window). Instead each window holds exactly N tokens, and a token that was used
// becomes usable again only W after the request that used it *finished* (the permit was released). A server
// receives a request somewhere between our grant and our release, so two requests sharing a token reach the
// server at least W apart; with N tokens no half-open interval of length W can contain more than N arrivals,
// whatever the latency, and whether the server counts with a sliding log, fixed windows (a weaker rule) or
// its own bucket of N refilling N/W (which allows k*N in any interval shorter than k*W; we send at most
// that). The cost is throughput lost to latency: N requests per (W + response time), not per W. A request
// abandoned by the client (timeout) may in theory reach the server after release; we accept that.
//
// Ownership: permits point at their limiter, which must outlive them (the registry hands out shared_ptrs).
// Thread safety: all methods may be called from any thread. Waiters are served first come, first served.
#ifndef MLC_HOST_HTTP_RATE_LIMITER_HPP_
#define MLC_HOST_HTTP_RATE_LIMITER_HPP_

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <queue>
#include <string>
#include <utility>
#include <vector>

#include "http/clock.hpp"
#include "mlc/status.hpp"

namespace mlc::http {

// At most `max_requests` requests in any `window`.
struct RateWindow {
  int64_t max_requests = 0;
  Duration window{0};
};

struct RateLimitConfig {
  std::vector<RateWindow> windows{};
  int max_concurrent = 0;  // requests in flight at once; 0 = no cap
};

class RateLimiter {
 public:
  // Holds one request's share of the limits; releasing it (destructor or Release) frees the concurrency slot
  // and starts the W-long cooldown of the tokens it took. Move-only.
  class Permit {
   public:
    Permit() = default;
    Permit(Permit&& other) noexcept : limiter_(std::exchange(other.limiter_, nullptr)) {}
    Permit& operator=(Permit&& other) noexcept;
    Permit(const Permit&) = delete;
    Permit& operator=(const Permit&) = delete;
    ~Permit() { Release(); }

    void Release();
    bool held() const { return limiter_ != nullptr; }

   private:
    friend class RateLimiter;
    explicit Permit(RateLimiter* limiter) : limiter_(limiter) {}
    RateLimiter* limiter_ = nullptr;
  };

  // INVALID unless every window has max_requests >= 1 and a positive window, and max_concurrent >= 0.
  static Status Validate(const RateLimitConfig& config);

  // `config` must be valid (see Validate; invalid windows are ignored). Clock and sleeper must outlive this.
  explicit RateLimiter(RateLimitConfig config, Clock* clock = &DefaultClock(),
                       Sleeper* sleeper = &DefaultClock());
  RateLimiter(const RateLimiter&) = delete;
  RateLimiter& operator=(const RateLimiter&) = delete;

  // Blocks until this request may be sent, then returns its permit.
  Permit Acquire();

  // Never blocks. Returns a permit, or nullopt and (when `wait` is given) how long until one could be
  // available: a duration when only time stands in the way, Duration::max() when the request must wait for
  // another request to finish (concurrency cap, or all N tokens of a window in flight). Fails whenever
  // others are already queued in Acquire, to keep their turn.
  std::optional<Permit> TryAcquire(Duration* wait = nullptr);

  // Nobody on this limiter gets a permit for `d` from now (extends, never shortens, an existing pause).
  void Penalize(Duration d);

  SteadyTime paused_until() const;
  Duration PausedFor() const;  // time left of the current pause on this limiter's clock; zero when none
  int in_flight() const;
  const RateLimitConfig& config() const { return config_; }

 private:
  struct WindowState {
    Duration length;
    // When each used token not in flight is usable again (its request's end + length; a min-heap).
    // Tokens never used are only counted, so memory follows the requests actually made, not N: a
    // 10,000,000-per-minute window costs nothing until it is used. unused + heap = N - tokens in flight.
    std::priority_queue<SteadyTime, std::vector<SteadyTime>, std::greater<>> ready_at;
    int64_t unused = 0;
  };

  // With mu_ held: takes the tokens if everything allows it now, else sets *wait as in TryAcquire.
  bool TryTakeLocked(SteadyTime now, Duration* wait);
  void Release();

  const RateLimitConfig config_;
  Clock* const clock_;
  Sleeper* const sleeper_;

  mutable std::mutex mu_;
  std::condition_variable released_or_turn_;  // signalled on every release and whenever the queue moves
  std::vector<WindowState> windows_;
  int in_flight_ = 0;
  SteadyTime paused_until_{};
  uint64_t next_ticket_ = 0;  // FIFO order of Acquire callers
  uint64_t serving_ = 0;
};

// One shared limiter per connection name, so all instances of a connection draw from the same limits.
// Thread safety: any thread.
class RateLimiterRegistry {
 public:
  explicit RateLimiterRegistry(Clock* clock = &DefaultClock(), Sleeper* sleeper = &DefaultClock());

  // The limiter for `connection`, created from `config` on first use. Later calls return the same limiter
  // and ignore their `config` (the first one wins; Remove it to apply a changed configuration).
  // INVALID when a limiter would have to be created from an invalid config.
  Result<std::shared_ptr<RateLimiter>> Get(const std::string& connection, const RateLimitConfig& config);

  // The existing limiter, or nullptr.
  std::shared_ptr<RateLimiter> Find(const std::string& connection) const;

  // Forgets the connection's limiter; holders of the old shared_ptr keep using it until they drop it.
  void Remove(const std::string& connection);

 private:
  Clock* const clock_;
  Sleeper* const sleeper_;
  mutable std::mutex mu_;
  std::map<std::string, std::shared_ptr<RateLimiter>> limiters_;
};

}  // namespace mlc::http

#endif  // MLC_HOST_HTTP_RATE_LIMITER_HPP_
