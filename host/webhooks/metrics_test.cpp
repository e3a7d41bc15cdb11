// Tests for the Prometheus registry: exposition format, escaping, validation, concurrent updates.
#include "webhooks/metrics.hpp"

#include <gtest/gtest.h>

#include <limits>
#include <thread>
#include <vector>

namespace mlc::metrics {
namespace {

TEST(MetricsTest, RendersCountersGaugesAndHistogramsInTextFormat) {
  Registry reg;
  auto counter = reg.AddCounter("mlc_things_total", "Things seen.", {"kind"});
  ASSERT_TRUE(counter.ok()) << counter.status().ToString();
  (*counter)->WithLabels({"a"}).Inc();
  (*counter)->WithLabels({"a"}).Inc(2);
  (*counter)->WithLabels({"b"}).Inc();
  auto gauge = reg.AddGauge("mlc_level", "Current level.");
  ASSERT_TRUE(gauge.ok());
  (*gauge)->WithLabels().Set(5);
  (*gauge)->WithLabels().Add(-1.5);
  auto hist = reg.AddHistogram("mlc_latency_seconds", "Latency.", {0.5, 1}, {"route"});
  ASSERT_TRUE(hist.ok());
  Histogram& h = (*hist)->WithLabels({"x"});
  h.Observe(0.5);  // upper bounds are inclusive
  h.Observe(0.75);
  h.Observe(3);

  EXPECT_EQ(reg.Render(),
            "# HELP mlc_latency_seconds Latency.\n"
            "# TYPE mlc_latency_seconds histogram\n"
            "mlc_latency_seconds_bucket{route=\"x\",le=\"0.5\"} 1\n"
            "mlc_latency_seconds_bucket{route=\"x\",le=\"1\"} 2\n"
            "mlc_latency_seconds_bucket{route=\"x\",le=\"+Inf\"} 3\n"
            "mlc_latency_seconds_sum{route=\"x\"} 4.25\n"
            "mlc_latency_seconds_count{route=\"x\"} 3\n"
            "# HELP mlc_level Current level.\n"
            "# TYPE mlc_level gauge\n"
            "mlc_level 3.5\n"
            "# HELP mlc_things_total Things seen.\n"
            "# TYPE mlc_things_total counter\n"
            "mlc_things_total{kind=\"a\"} 3\n"
            "mlc_things_total{kind=\"b\"} 1\n");
}

TEST(MetricsTest, EscapesLabelValuesAndHelp) {
  Registry reg;
  auto c = reg.AddCounter("mlc_x_total", "line one\nback\\slash", {"v"});
  ASSERT_TRUE(c.ok());
  (*c)->WithLabels({"a\"b\\c\nd"}).Inc();
  const std::string text = reg.Render();
  EXPECT_NE(text.find("# HELP mlc_x_total line one\\nback\\\\slash\n"), std::string::npos) << text;
  EXPECT_NE(text.find("mlc_x_total{v=\"a\\\"b\\\\c\\nd\"} 1\n"), std::string::npos) << text;
}

TEST(MetricsTest, CountersNeverDecrease) {
  Counter c;
  c.Inc(2);
  c.Inc(-5);
  c.Inc(0);
  EXPECT_EQ(c.Value(), 2);
}

TEST(MetricsTest, RefusesBadNamesAndConflictingRegistrations) {
  Registry reg;
  EXPECT_EQ(reg.AddCounter("1abc", "h").status().code(), Code::kInvalid);
  EXPECT_EQ(reg.AddCounter("a-b", "h").status().code(), Code::kInvalid);
  EXPECT_EQ(reg.AddCounter("ok_total", "h", {"__reserved"}).status().code(), Code::kInvalid);
  EXPECT_EQ(reg.AddCounter("ok_total", "h", {"a", "a"}).status().code(), Code::kInvalid);
  EXPECT_EQ(reg.AddHistogram("h_seconds", "h", {1, 0.5}).status().code(), Code::kInvalid);
  EXPECT_EQ(reg.AddHistogram("h_seconds", "h", {}).status().code(), Code::kInvalid);
  EXPECT_EQ(reg.AddHistogram("h_seconds", "h", {1}, {"le"}).status().code(), Code::kInvalid);

  auto first = reg.AddCounter("mlc_y_total", "h", {"a"});
  ASSERT_TRUE(first.ok());
  auto again = reg.AddCounter("mlc_y_total", "other help", {"a"});
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*first, *again);  // same family
  EXPECT_EQ(reg.AddGauge("mlc_y_total", "h", {"a"}).status().code(), Code::kInvalid);
  EXPECT_EQ(reg.AddCounter("mlc_y_total", "h", {"b"}).status().code(), Code::kInvalid);
}

TEST(MetricsTest, MissingLabelValuesRenderEmpty) {
  Registry reg;
  auto c = reg.AddCounter("mlc_z_total", "h", {"a", "b"});
  ASSERT_TRUE(c.ok());
  (*c)->WithLabels({"only"}).Inc();
  EXPECT_NE(reg.Render().find("mlc_z_total{a=\"only\",b=\"\"} 1\n"), std::string::npos);
}

TEST(MetricsTest, ConcurrentUpdatesAreAllCounted) {
  Registry reg;
  auto c = reg.AddCounter("mlc_hits_total", "h", {"t"});
  auto h = reg.AddHistogram("mlc_obs", "h", {1, 2});
  ASSERT_TRUE(c.ok() && h.ok());
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 5000; ++i) {
        (*c)->WithLabels({t % 2 ? "odd" : "even"}).Inc();
        (*h)->WithLabels().Observe(1.5);
        if (i % 500 == 0) (void)reg.Render();  // rendering while others update
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ((*c)->WithLabels({"odd"}).Value(), 20000);
  EXPECT_EQ((*c)->WithLabels({"even"}).Value(), 20000);
  const Histogram::Snapshot s = (*h)->WithLabels().Read();
  EXPECT_EQ(s.cumulative.back(), 40000u);
  EXPECT_EQ(s.cumulative[0], 0u);
  EXPECT_EQ(s.sum, 60000);
}

TEST(MetricsTest, CollectHooksRunBeforeRendering) {
  Registry reg;
  auto g = reg.AddGauge("mlc_sampled", "h");
  ASSERT_TRUE(g.ok());
  int calls = 0;
  reg.AddCollectHook([&] { (*g)->WithLabels().Set(++calls); });
  EXPECT_NE(reg.Render().find("mlc_sampled 1\n"), std::string::npos);
  EXPECT_NE(reg.Render().find("mlc_sampled 2\n"), std::string::npos);
}

TEST(MetricsTest, FormatsSpecialValues) {
  EXPECT_EQ(FormatValue(std::numeric_limits<double>::infinity()), "+Inf");
  EXPECT_EQ(FormatValue(-std::numeric_limits<double>::infinity()), "-Inf");
  EXPECT_EQ(FormatValue(std::numeric_limits<double>::quiet_NaN()), "NaN");
  EXPECT_EQ(FormatValue(42), "42");
  EXPECT_EQ(FormatValue(0.25), "0.25");
}

}  // namespace
}  // namespace mlc::metrics
