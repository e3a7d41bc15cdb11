// Scheduler (schedules, triggers, periodic hooks) and SyncService (scheduler + engine workers + webhooks).
#include "engine/scheduler.hpp"

#include <algorithm>
#include <atomic>
#include <set>

#include "core/log.hpp"
#include "engine/ids.hpp"

namespace mlc::engine {

Scheduler::Scheduler(PollFn poll, std::function<TimePoint()> now)
    : poll_(std::move(poll)), now_(std::move(now)) {}

Scheduler::~Scheduler() { Stop(); }

Scheduler::TimePoint Scheduler::Now() const { return now_ ? now_() : std::chrono::system_clock::now(); }

Status Scheduler::AddPipeline(const std::string& pipeline, const std::string& schedule,
                              std::optional<TimePoint> last_run) {
  PipelineEntry e;
  if (!schedule.empty()) {
    auto parsed = config::Schedule::Parse(schedule);
    if (!parsed.ok()) return parsed.status().Wrap("pipeline " + pipeline + " schedule");
    e.schedule = *parsed;
    e.next = last_run ? e.schedule->NextAfter(*last_run) : Now();
  }
  std::lock_guard lock(mu_);
  pipelines_[pipeline] = std::move(e);
  cv_.notify_all();
  return Status::Ok();
}

void Scheduler::AddPeriodic(const std::string& name, std::chrono::milliseconds interval,
                            std::function<void()> fn, bool run_now) {
  std::lock_guard lock(mu_);
  const auto every = std::max(interval, std::chrono::milliseconds(1));
  hooks_[name] = Hook{every, std::move(fn), run_now ? Now() : Now() + every, false};
  cv_.notify_all();
}

void Scheduler::Trigger(const std::string& pipeline, Actor actor) {
  std::lock_guard lock(mu_);
  auto it = pipelines_.find(pipeline);
  if (it == pipelines_.end()) return;
  it->second.triggered = true;
  it->second.trigger_actor = actor;
  cv_.notify_all();
}

void Scheduler::Launch(std::function<void()> fn) {
  ++running_;
  auto done = std::make_shared<std::atomic<bool>>(false);
  std::thread t([this, fn = std::move(fn), done] {
    fn();
    {
      std::lock_guard lock(mu_);
      --running_;
      cv_.notify_all();
    }
    done->store(true);
  });
  std::lock_guard lock(fires_mu_);
  fires_.push_back(Fire{std::move(t), done});
}

std::vector<std::string> Scheduler::RunDue(TimePoint now) {
  std::vector<std::string> started;
  std::lock_guard lock(mu_);
  if (stopping_) return started;
  for (auto& [name, e] : pipelines_) {
    const bool scheduled = e.next && *e.next <= now;
    if ((!scheduled && !e.triggered) || e.running) continue;
    const Actor actor = e.triggered ? e.trigger_actor : Actor::kScheduler;
    e.triggered = false;
    if (scheduled) e.next = e.schedule->NextAfter(now);
    e.running = true;
    started.push_back("poll:" + name);
    Launch([this, name = name, actor] {
      try {
        poll_(name, actor);
      } catch (const std::exception& ex) {
        Log().error("pipeline {}: poll failed: {}", name, ex.what());
      }
      std::lock_guard l(mu_);
      pipelines_[name].running = false;
      cv_.notify_all();  // a trigger that came in meanwhile runs next
    });
  }
  for (auto& [name, h] : hooks_) {
    if (h.next > now || h.running) continue;
    h.next = now + h.interval;
    h.running = true;
    started.push_back("hook:" + name);
    Launch([this, name = name, fn = h.fn] {
      try {
        fn();
      } catch (const std::exception& ex) {
        Log().error("periodic task {} failed: {}", name, ex.what());
      }
      std::lock_guard l(mu_);
      hooks_[name].running = false;
    });
  }
  return started;
}

std::optional<Scheduler::TimePoint> Scheduler::NextDue() const {
  std::lock_guard lock(mu_);
  std::optional<TimePoint> next;
  for (const auto& [name, e] : pipelines_) {
    if (e.next && (!next || *e.next < *next)) next = e.next;
  }
  for (const auto& [name, h] : hooks_) {
    if (!next || h.next < *next) next = h.next;
  }
  return next;
}

void Scheduler::WaitIdle() {
  std::unique_lock lock(mu_);
  cv_.wait(lock, [&] { return running_ == 0; });
}

void Scheduler::Loop() {
  for (;;) {
    RunDue(Now());
    // Join fire threads that have finished.
    {
      std::lock_guard fl(fires_mu_);
      for (auto it = fires_.begin(); it != fires_.end();) {
        if (it->done->load()) {
          it->thread.join();
          it = fires_.erase(it);
        } else {
          ++it;
        }
      }
    }
    std::unique_lock lock(mu_);
    if (stopping_) return;
    auto wake = Now() + std::chrono::seconds(30);
    for (const auto& [name, e] : pipelines_) {
      if (e.triggered && !e.running) wake = Now();
      if (e.next && *e.next < wake) wake = *e.next;
    }
    for (const auto& [name, h] : hooks_) wake = std::min(wake, h.next);
    // Wake for triggers, for a running fire finishing (its trigger may be waiting), or when something is due.
    cv_.wait_until(lock, wake, [&] {
      if (stopping_) return true;
      for (const auto& [name, e] : pipelines_) {
        if (e.triggered && !e.running) return true;
      }
      return false;
    });
    if (stopping_) return;
  }
}

void Scheduler::Start() {
  std::lock_guard lock(mu_);
  if (loop_.joinable()) return;
  stopping_ = false;
  loop_ = std::thread([this] { Loop(); });
}

void Scheduler::Stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
    cv_.notify_all();
  }
  if (loop_.joinable()) loop_.join();
  std::vector<Fire> fires;
  {
    std::lock_guard fl(fires_mu_);
    fires.swap(fires_);
  }
  for (auto& f : fires) f.thread.join();
  std::lock_guard lock(mu_);
  stopping_ = false;
}

// ---- SyncService ----

SyncService::SyncService(Engine& engine)
    : engine_(engine), scheduler_([this](const std::string& pipeline, Actor actor) {
        PollOptions options;
        options.actor = actor;
        auto polled = engine_.Poll(pipeline, options);
        if (!polled.ok()) {
          Log().warn("pipeline {}: poll failed: {}", pipeline, polled.status().ToString());
          return;
        }
        if (polled->arrived > 0) {
          Log().info("pipeline {}: {} record(s) arrived ({} read)", pipeline, polled->arrived,
                     polled->records);
        }
      }) {}

SyncService::~SyncService() { Stop(); }

void SyncService::AddPeriodic(const std::string& name, std::chrono::milliseconds interval,
                              std::function<void()> fn, bool run_now) {
  scheduler_.AddPeriodic(name, interval, std::move(fn), run_now);
}

Status SyncService::Prepare() {
  if (prepared_) return Status::Ok();
  for (const auto& name : engine_.pipelines()) {
    MLC_ASSIGN_OR_RETURN(PipelineSpec spec, engine_.Pipeline(name));
    if (!spec.enabled) continue;
    MLC_ASSIGN_OR_RETURN(auto row, engine_.store().QueryOne(
                                       "SELECT MAX(updated_at) FROM cursors WHERE pipeline = $1", {name}));
    std::optional<config::TimePoint> last;
    if (row && !row->IsNull(0)) last = config::TimePoint(std::chrono::milliseconds(row->Int(0)));
    MLC_RETURN_IF_ERROR(scheduler_.AddPipeline(name, spec.schedule, last));
  }
  prepared_ = true;
  return Status::Ok();
}

Status SyncService::Start() {
  if (started_) return Status::Ok();
  MLC_RETURN_IF_ERROR(Prepare());
  engine_.StartWorkers();
  scheduler_.Start();
  started_ = true;
  return Status::Ok();
}

void SyncService::Stop() {
  if (!started_) return;
  scheduler_.Stop();
  engine_.StopWorkers();
  started_ = false;
}

void SyncService::Trigger(const std::string& pipeline, Actor actor) { scheduler_.Trigger(pipeline, actor); }

Result<int64_t> SyncService::OnWebhookEvents(std::string_view connection, const nlohmann::json& events) {
  if (!events.is_array()) return Status::Invalid("webhook events must be an array");
  int64_t arrived = 0;
  Status first_error;
  for (const auto& name : engine_.pipelines()) {
    MLC_ASSIGN_OR_RETURN(PipelineSpec spec, engine_.Pipeline(name));
    if (!spec.enabled || spec.source != connection) continue;
    std::map<std::string, std::vector<nlohmann::json>> records;  // object type -> records
    bool pull = false;
    for (const auto& event : events) {
      const nlohmann::json payload =
          event.is_object() ? event.value("payload", nlohmann::json()) : nlohmann::json();
      const bool is_record = payload.is_object() && payload.contains("source") &&
                             payload["source"].is_object() && payload["source"].contains("id");
      const std::string type = is_record ? payload.value("type", std::string()) : std::string();
      if (is_record && std::find(spec.objects.begin(), spec.objects.end(), type) != spec.objects.end()) {
        records[type].push_back(payload);
      } else {
        pull = true;  // the event names a change; the record comes through the normal read path
      }
    }
    for (auto& [type, batch] : records) {
      auto r = engine_.Ingest(name, type, batch, Actor::kWebhook);
      if (r.ok()) {
        arrived += r->arrived;
      } else if (first_error.ok()) {
        first_error = r.status();
      }
    }
    if (pull) scheduler_.Trigger(name, Actor::kWebhook);
  }
  if (!first_error.ok()) return first_error;
  return arrived;
}

}  // namespace mlc::engine
