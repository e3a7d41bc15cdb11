// When things run: Scheduler fires pipeline polls on their schedules ("every 15m" or cron, see
// config/schedule.hpp), on demand (Trigger: a webhook arrived, an operator asked) and periodic host hooks
// (token keep-alives, expiry alerts, webhook subscription renewals — the auth and webhook modules provide
// the work). SyncService puts a Scheduler and an Engine's background workers together for `mlc serve`.
//
//   SyncService service(engine);
//   service.AddPeriodic("keepalive:brex", std::chrono::hours(24), [&] { (void)tokens.KeepAlive("brex"); });
//   MLC_RETURN_IF_ERROR(service.Start());
//   ... webhook sink callback: service.OnWebhookEvents("brex", events);
//   service.Stop();
//
// A pipeline never polls twice at once: a trigger that arrives during its poll makes one more poll after it.
// Fires run on short-lived threads (one per running poll or hook), so a slow vendor delays only its own
// pipeline.
//
// Ownership: SyncService borrows the Engine. Thread safety: Trigger, OnWebhookEvents and RunDue may be
// called from any thread; Add* before Start; Start/Stop from one thread.
#ifndef MLC_HOST_ENGINE_SCHEDULER_HPP_
#define MLC_HOST_ENGINE_SCHEDULER_HPP_

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "config/schedule.hpp"
#include "engine/audit.hpp"
#include "engine/engine.hpp"
#include "mlc/status.hpp"

namespace mlc::engine {

class Scheduler {
 public:
  using TimePoint = config::TimePoint;
  // Called to poll a pipeline (on a fire thread); `actor` says why (scheduler or webhook/operator trigger).
  using PollFn = std::function<void(const std::string& pipeline, Actor actor)>;

  explicit Scheduler(PollFn poll, std::function<TimePoint()> now = {});
  ~Scheduler();
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

  // `schedule`: "every <N>(s|m|h|d)", a cron expression, or empty (polls only when triggered). `last_run`:
  // when the pipeline last polled; nullopt: never, so it is due at once. Invalid for a bad schedule.
  Status AddPipeline(const std::string& pipeline, const std::string& schedule,
                     std::optional<TimePoint> last_run);
  // Runs `fn` every `interval` (first run one interval from now, or at once with run_now).
  void AddPeriodic(const std::string& name, std::chrono::milliseconds interval, std::function<void()> fn,
                   bool run_now = false);

  // Poll `pipeline` as soon as possible (coalesced with a poll already waiting). Unknown names are ignored.
  void Trigger(const std::string& pipeline, Actor actor = Actor::kWebhook);

  void Start();
  void Stop();  // waits for running fires

  // Starts everything due at `now` (on fire threads) and returns its names ("poll:P", "hook:N"). The
  // background loop calls this; tests call it directly without Start().
  std::vector<std::string> RunDue(TimePoint now);
  // When the next scheduled item falls due (nullopt: nothing scheduled).
  std::optional<TimePoint> NextDue() const;
  // Waits until no fire is running (tests).
  void WaitIdle();

 private:
  struct PipelineEntry {
    std::optional<config::Schedule> schedule;
    std::optional<TimePoint> next;  // nullopt: only on trigger
    bool triggered = false;
    Actor trigger_actor = Actor::kWebhook;
    bool running = false;
  };
  struct Hook {
    std::chrono::milliseconds interval;
    std::function<void()> fn;
    TimePoint next;
    bool running = false;
  };
  void Loop();
  void Launch(std::function<void()> fn);  // caller holds mu_
  TimePoint Now() const;

  PollFn poll_;
  std::function<TimePoint()> now_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::string, PipelineEntry> pipelines_;
  std::map<std::string, Hook> hooks_;
  bool stopping_ = false;
  int running_ = 0;
  struct Fire {
    std::thread thread;
    std::shared_ptr<std::atomic<bool>> done;
  };
  std::mutex fires_mu_;  // guards fires_; taken after mu_, never before it
  std::vector<Fire> fires_;
  std::thread loop_;
};

class SyncService {
 public:
  explicit SyncService(Engine& engine);
  ~SyncService();

  void AddPeriodic(const std::string& name, std::chrono::milliseconds interval, std::function<void()> fn,
                   bool run_now = false);
  // Registers every enabled pipeline with the scheduler (last run = its cursors' last save). Start() does
  // it when it has not been done.
  Status Prepare();
  // Starts the scheduler and the engine's workers.
  Status Start();
  void Stop();

  void Trigger(const std::string& pipeline, Actor actor = Actor::kOperator);
  // Events a plugin's webhook produced for `connection` ({"id", "type", "stream"?, "source_id"?,
  // "payload"?}). For each enabled pipeline reading from that connection: payloads that are canonical
  // records (an object with source.id) are stored as arrivals at once; every other event triggers a poll.
  // Returns how many records arrived.
  Result<int64_t> OnWebhookEvents(std::string_view connection, const nlohmann::json& events);

  Scheduler& scheduler() { return scheduler_; }

 private:
  Engine& engine_;
  Scheduler scheduler_;
  bool prepared_ = false;
  bool started_ = false;
};

}  // namespace mlc::engine

#endif  // MLC_HOST_ENGINE_SCHEDULER_HPP_
