// A small Prometheus metrics registry: counters, gauges and fixed-bucket histograms with labels, rendered
// in the Prometheus text exposition format (version 0.0.4) for GET /metrics.
//
//   metrics::Registry registry;
//   MLC_ASSIGN_OR_RETURN(auto* requests, registry.AddCounter("mlc_webhook_requests_total",
//                                                           "Webhook requests.", {"connection", "outcome"}));
//   requests->WithLabels({"brex", "accepted"}).Inc();
//   std::string text = registry.Render();
//
// Ownership: the Registry owns every family and series; the pointers and references it hands out stay valid
// for the Registry's lifetime (series are never removed).
// Thread safety: every method of Registry, the families and the series may be called from any thread.
// Updates to a series are lock-free atomics; creating a series or rendering takes the family's mutex.
#ifndef MLC_HOST_WEBHOOKS_METRICS_HPP_
#define MLC_HOST_WEBHOOKS_METRICS_HPP_

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "mlc/status.hpp"

namespace mlc::metrics {

// Label values in the order of the family's label names.
using LabelValues = std::vector<std::string>;

// A monotonically increasing value.
class Counter {
 public:
  void Inc(double by = 1.0);  // negative `by` is ignored: counters never go down
  double Value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0.0};
};

// A value that goes up and down.
class Gauge {
 public:
  void Set(double v) { value_.store(v, std::memory_order_relaxed); }
  void Add(double by);
  double Value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0.0};
};

// Observations counted into fixed upper-bound buckets (plus the implicit +Inf), with their sum.
class Histogram {
 public:
  explicit Histogram(const std::vector<double>& upper_bounds);
  void Observe(double v);

  struct Snapshot {
    std::vector<uint64_t> cumulative;  // one per bound, then +Inf (== count)
    double sum = 0;
  };
  Snapshot Read() const;

 private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<uint64_t>[]> counts_;  // bounds_.size() + 1 (the +Inf bucket)
  std::atomic<double> sum_{0.0};
};

// A metric name with its help text, label names, and one series per distinct label value list.
template <typename Series>
class Family {
 public:
  // The series for `values` (created on first use). `values` should have one entry per label name; missing
  // values are treated as "" and extra ones are ignored.
  Series& WithLabels(const LabelValues& values = {});

 private:
  friend class Registry;
  using Factory = std::function<std::unique_ptr<Series>()>;
  Family(std::vector<std::string> label_names, Factory factory)
      : label_names_(std::move(label_names)), factory_(std::move(factory)) {}
  std::vector<std::string> label_names_;
  Factory factory_;
  mutable std::mutex mu_;
  std::map<LabelValues, std::unique_ptr<Series>> series_;
};

using CounterFamily = Family<Counter>;
using GaugeFamily = Family<Gauge>;
using HistogramFamily = Family<Histogram>;

// Default latency buckets, in seconds.
const std::vector<double>& DefaultLatencyBuckets();

class Registry {
 public:
  Registry();
  ~Registry();
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  // Registers a family (or returns the existing one when name, kind and label names match; help text of the
  // first registration wins). Invalid: a malformed metric or label name ([a-zA-Z_:][a-zA-Z0-9_:]* and
  // [a-zA-Z_][a-zA-Z0-9_]*, no "__" prefix, no "le" label on histograms), the name registered with another
  // kind or other labels, or histogram bounds that are empty, not finite or not strictly increasing.
  Result<CounterFamily*> AddCounter(std::string_view name, std::string_view help,
                                    std::vector<std::string> label_names = {});
  Result<GaugeFamily*> AddGauge(std::string_view name, std::string_view help,
                                std::vector<std::string> label_names = {});
  Result<HistogramFamily*> AddHistogram(std::string_view name, std::string_view help,
                                        std::vector<double> upper_bounds,
                                        std::vector<std::string> label_names = {});

  // Runs before every Render (e.g. to sample a gauge from elsewhere). Must not call AddCollectHook.
  void AddCollectHook(std::function<void()> hook);

  // The whole registry in text exposition format: families sorted by name, series by label values.
  std::string Render() const;

 private:
  struct Entry;
  Result<Entry*> AddEntry(std::string_view name, std::string_view help, int kind,
                          const std::vector<std::string>& label_names, const std::vector<double>* bounds);

  mutable std::mutex mu_;
  std::map<std::string, std::unique_ptr<Entry>, std::less<>> entries_;
  std::vector<std::function<void()>> hooks_;
};

// Escaping used by the text format (exposed for tests): label values escape \, " and newline; help text
// escapes \ and newline.
std::string EscapeLabelValue(std::string_view v);
std::string EscapeHelp(std::string_view v);
// A sample value as the text format writes it: shortest round-trip decimal, "+Inf", "-Inf", "NaN".
std::string FormatValue(double v);

template <typename Series>
Series& Family<Series>::WithLabels(const LabelValues& values) {
  LabelValues key(label_names_.size());
  for (size_t i = 0; i < key.size() && i < values.size(); ++i) key[i] = values[i];
  std::lock_guard lock(mu_);
  auto it = series_.find(key);
  if (it == series_.end()) it = series_.emplace(std::move(key), factory_()).first;
  return *it->second;
}

}  // namespace mlc::metrics

#endif  // MLC_HOST_WEBHOOKS_METRICS_HPP_
