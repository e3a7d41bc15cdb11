// Prometheus registry and text exposition (see metrics.hpp).
#include "webhooks/metrics.hpp"

#include <algorithm>
#include <cmath>
#include <utility>

#include <fmt/format.h>

namespace mlc::metrics {
namespace {

enum Kind { kCounter = 0, kGauge = 1, kHistogram = 2 };

const char* KindName(int kind) {
  switch (kind) {
    case kCounter:
      return "counter";
    case kGauge:
      return "gauge";
    default:
      return "histogram";
  }
}

bool IsMetricName(std::string_view n) {
  if (n.empty()) return false;
  for (size_t i = 0; i < n.size(); ++i) {
    const char c = n[i];
    const bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':';
    if (!alpha && !(i > 0 && c >= '0' && c <= '9')) return false;
  }
  return true;
}

bool IsLabelName(std::string_view n) {
  if (n.empty() || n.substr(0, 2) == "__") return false;
  for (size_t i = 0; i < n.size(); ++i) {
    const char c = n[i];
    const bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
    if (!alpha && !(i > 0 && c >= '0' && c <= '9')) return false;
  }
  return true;
}

// Lock-free add on an atomic double (fetch_add for floating point is not available everywhere).
void AtomicAdd(std::atomic<double>& a, double by) {
  double cur = a.load(std::memory_order_relaxed);
  while (!a.compare_exchange_weak(cur, cur + by, std::memory_order_relaxed)) {
  }
}

// `{a="x",b="y"}` (or "" without labels); `extra` appends one more pair (histograms' le).
std::string LabelText(const std::vector<std::string>& names, const LabelValues& values,
                      std::string_view extra_name = {}, std::string_view extra_value = {}) {
  if (names.empty() && extra_name.empty()) return {};
  std::string out = "{";
  for (size_t i = 0; i < names.size(); ++i) {
    if (i) out += ',';
    out += names[i];
    out += "=\"";
    out += EscapeLabelValue(values[i]);
    out += '"';
  }
  if (!extra_name.empty()) {
    if (!names.empty()) out += ',';
    out.append(extra_name).append("=\"").append(extra_value).append("\"");
  }
  out += '}';
  return out;
}

}  // namespace

std::string EscapeLabelValue(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  for (char c : v) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string EscapeHelp(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  for (char c : v) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string FormatValue(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  return fmt::format("{}", v);
}

void Counter::Inc(double by) {
  if (!(by > 0)) return;  // also drops NaN
  AtomicAdd(value_, by);
}

void Gauge::Add(double by) { AtomicAdd(value_, by); }

Histogram::Histogram(const std::vector<double>& upper_bounds)
    : bounds_(upper_bounds), counts_(new std::atomic<uint64_t>[upper_bounds.size() + 1]) {
  for (size_t i = 0; i <= bounds_.size(); ++i) counts_[i].store(0, std::memory_order_relaxed);
}

void Histogram::Observe(double v) {
  // Buckets are upper-inclusive (le): the first bound >= v.
  const size_t i = static_cast<size_t>(std::lower_bound(bounds_.begin(), bounds_.end(), v) - bounds_.begin());
  counts_[i].fetch_add(1, std::memory_order_relaxed);
  AtomicAdd(sum_, v);
}

Histogram::Snapshot Histogram::Read() const {
  Snapshot s;
  s.cumulative.resize(bounds_.size() + 1);
  uint64_t running = 0;
  for (size_t i = 0; i <= bounds_.size(); ++i) {
    running += counts_[i].load(std::memory_order_relaxed);
    s.cumulative[i] = running;
  }
  s.sum = sum_.load(std::memory_order_relaxed);
  return s;
}

const std::vector<double>& DefaultLatencyBuckets() {
  static const std::vector<double> kBuckets = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
  return kBuckets;
}

struct Registry::Entry {
  int kind = kCounter;
  std::string help;
  std::vector<std::string> label_names;
  std::vector<double> bounds;  // histograms
  std::unique_ptr<CounterFamily> counters;
  std::unique_ptr<GaugeFamily> gauges;
  std::unique_ptr<HistogramFamily> histograms;
};

Registry::Registry() = default;
Registry::~Registry() = default;

Result<Registry::Entry*> Registry::AddEntry(std::string_view name, std::string_view help, int kind,
                                            const std::vector<std::string>& label_names,
                                            const std::vector<double>* bounds) {
  if (!IsMetricName(name)) return Status::Invalid("metrics: invalid metric name '" + std::string(name) + "'");
  for (const std::string& l : label_names) {
    if (!IsLabelName(l)) {
      return Status::Invalid("metrics: " + std::string(name) + ": invalid label name '" + l + "'");
    }
    if (kind == kHistogram && l == "le") {
      return Status::Invalid("metrics: " + std::string(name) + ": a histogram may not have a label 'le'");
    }
  }
  for (size_t i = 0; i < label_names.size(); ++i) {
    for (size_t j = i + 1; j < label_names.size(); ++j) {
      if (label_names[i] == label_names[j]) {
        return Status::Invalid("metrics: " + std::string(name) + ": label '" + label_names[i] + "' repeated");
      }
    }
  }
  if (bounds) {
    if (bounds->empty()) return Status::Invalid("metrics: " + std::string(name) + ": no histogram buckets");
    for (size_t i = 0; i < bounds->size(); ++i) {
      if (!std::isfinite((*bounds)[i]) || (i > 0 && (*bounds)[i] <= (*bounds)[i - 1])) {
        return Status::Invalid("metrics: " + std::string(name) +
                               ": histogram buckets must be finite and strictly increasing");
      }
    }
  }
  std::lock_guard lock(mu_);
  auto it = entries_.find(name);
  if (it != entries_.end()) {
    Entry* e = it->second.get();
    if (e->kind != kind || e->label_names != label_names || (bounds && e->bounds != *bounds)) {
      return Status::Invalid("metrics: " + std::string(name) + " is already registered as a " +
                             KindName(e->kind) + " with other labels or buckets");
    }
    return e;
  }
  auto e = std::make_unique<Entry>();
  e->kind = kind;
  e->help = std::string(help);
  e->label_names = label_names;
  if (bounds) e->bounds = *bounds;
  switch (kind) {
    case kCounter:
      e->counters.reset(new CounterFamily(label_names, [] { return std::make_unique<Counter>(); }));
      break;
    case kGauge:
      e->gauges.reset(new GaugeFamily(label_names, [] { return std::make_unique<Gauge>(); }));
      break;
    default: {
      std::vector<double> b = e->bounds;
      e->histograms.reset(new HistogramFamily(label_names, [b] { return std::make_unique<Histogram>(b); }));
      break;
    }
  }
  Entry* raw = e.get();
  entries_.emplace(std::string(name), std::move(e));
  return raw;
}

Result<CounterFamily*> Registry::AddCounter(std::string_view name, std::string_view help,
                                            std::vector<std::string> label_names) {
  MLC_ASSIGN_OR_RETURN(Entry * e, AddEntry(name, help, kCounter, label_names, nullptr));
  return e->counters.get();
}

Result<GaugeFamily*> Registry::AddGauge(std::string_view name, std::string_view help,
                                        std::vector<std::string> label_names) {
  MLC_ASSIGN_OR_RETURN(Entry * e, AddEntry(name, help, kGauge, label_names, nullptr));
  return e->gauges.get();
}

Result<HistogramFamily*> Registry::AddHistogram(std::string_view name, std::string_view help,
                                                std::vector<double> upper_bounds,
                                                std::vector<std::string> label_names) {
  MLC_ASSIGN_OR_RETURN(Entry * e, AddEntry(name, help, kHistogram, label_names, &upper_bounds));
  return e->histograms.get();
}

void Registry::AddCollectHook(std::function<void()> hook) {
  std::lock_guard lock(mu_);
  hooks_.push_back(std::move(hook));
}

std::string Registry::Render() const {
  std::vector<std::function<void()>> hooks;
  {
    std::lock_guard lock(mu_);
    hooks = hooks_;
  }
  // Hooks run without the registry lock: they may register or update series.
  for (const auto& h : hooks) h();

  std::string out;
  std::lock_guard lock(mu_);
  for (const auto& [name, e] : entries_) {
    out += "# HELP " + name + " " + EscapeHelp(e->help) + "\n";
    out += "# TYPE " + name + " " + KindName(e->kind) + "\n";
    if (e->kind == kCounter) {
      std::lock_guard flock(e->counters->mu_);
      for (const auto& [values, c] : e->counters->series_) {
        out += name + LabelText(e->label_names, values) + " " + FormatValue(c->Value()) + "\n";
      }
    } else if (e->kind == kGauge) {
      std::lock_guard flock(e->gauges->mu_);
      for (const auto& [values, g] : e->gauges->series_) {
        out += name + LabelText(e->label_names, values) + " " + FormatValue(g->Value()) + "\n";
      }
    } else {
      std::lock_guard flock(e->histograms->mu_);
      for (const auto& [values, h] : e->histograms->series_) {
        const Histogram::Snapshot s = h->Read();
        for (size_t i = 0; i <= e->bounds.size(); ++i) {
          const std::string le = i < e->bounds.size() ? FormatValue(e->bounds[i]) : "+Inf";
          out += name + "_bucket" + LabelText(e->label_names, values, "le", le) + " " +
                 std::to_string(s.cumulative[i]) + "\n";
        }
        out += name + "_sum" + LabelText(e->label_names, values) + " " + FormatValue(s.sum) + "\n";
        out += name + "_count" + LabelText(e->label_names, values) + " " +
               std::to_string(s.cumulative.back()) + "\n";
      }
    }
  }
  return out;
}

}  // namespace mlc::metrics
