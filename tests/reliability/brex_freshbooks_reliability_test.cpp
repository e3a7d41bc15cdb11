// The reliability suite (ctest label reliability, docs/reliability.md): the Brex -> FreshBooks flow with the
// real `mlc` binary, plugins and emulators, under crashes (SIGKILL at random points), vendor fault mixes,
// abusive webhook traffic and access-token expiry with 64 workers. Every verdict comes from the vendors'
// own state through the flow kit's CheckExactlyOnce, never from timings.
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <deque>
#include <fstream>
#include <iostream>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "flowkit/brex_freshbooks.hpp"
#include "store/store.hpp"
#include "support/subprocess.hpp"
#include "support/temp_dir.hpp"
#include "webhooks/test_client.hpp"

namespace mlc::flowkit {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;
using webhooks::testing::BuildRequest;
using webhooks::testing::Headers;
using webhooks::testing::Http;
using webhooks::testing::RawConnection;

// The random seed of a test: MLC_RELIABILITY_SEED when set (to replay a failure), else a fresh one. It is
// printed and recorded as a test property so a failing run names it.
uint64_t TestSeed() {
  const char* env = std::getenv("MLC_RELIABILITY_SEED");
  const uint64_t seed = env && *env ? std::strtoull(env, nullptr, 10) : std::random_device{}();
  std::cout << "[ reliability ] seed " << seed << " (replay: MLC_RELIABILITY_SEED=" << seed << ")"
            << std::endl;
  ::testing::Test::RecordProperty("seed", std::to_string(seed));
  return seed;
}

int64_t CountIf(const std::vector<JobRow>& rows, const std::string& object_type, const std::string& state) {
  return std::count_if(rows.begin(), rows.end(), [&](const JobRow& r) {
    return (object_type.empty() || r.object_type == object_type) && (state.empty() || r.state == state);
  });
}

// Standard Webhooks signature ("v1," + base64 HMAC-SHA256 over "id.timestamp.body" with the whsec_ key).
std::string Base64(const unsigned char* data, size_t n) {
  std::string out(4 * ((n + 2) / 3) + 1, '\0');
  const int len = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), data, static_cast<int>(n));
  out.resize(static_cast<size_t>(len));
  return out;
}

std::string SignStandardWebhook(const std::string& secret, const std::string& id, int64_t ts,
                                const std::string& body) {
  std::string b64 = secret.rfind("whsec_", 0) == 0 ? secret.substr(6) : secret;
  std::string key(b64.size(), '\0');
  const int klen =
      EVP_DecodeBlock(reinterpret_cast<unsigned char*>(key.data()),
                      reinterpret_cast<const unsigned char*>(b64.data()), static_cast<int>(b64.size()));
  // EVP_DecodeBlock counts '=' padding as zero bytes; drop them.
  size_t pad = 0;
  for (auto it = b64.rbegin(); it != b64.rend() && *it == '='; ++it) ++pad;
  key.resize(klen > 0 ? static_cast<size_t>(klen) - pad : 0);
  const std::string content = id + "." + std::to_string(ts) + "." + body;
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(content.data()), content.size(), mac, &len);
  return "v1," + Base64(mac, len);
}

int64_t UnixNow() {
  return std::chrono::duration_cast<seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

Headers WebhookHeaders(const std::string& secret, const std::string& id, int64_t ts,
                       const std::string& body) {
  return {{"Content-Type", "application/json"},
          {"webhook-id", id},
          {"webhook-timestamp", std::to_string(ts)},
          {"webhook-signature", SignStandardWebhook(secret, id, ts, body)}};
}

class Reliability : public ::testing::Test {
 protected:
  BrexFreshbooksFlow* Make(FlowOptions options) {
    options.workdir = dir_.path();
    // No vendor review band: a merchant is matched only when certain, else its cleaned name is the vendor,
    // so every record can land (as in tests/flows).
    for (const char* key : {"auto_accept", "review_floor"}) {
      if (!options.pipeline_options.contains(key)) options.pipeline_options[key] = 0.99;
    }
    auto flow = BrexFreshbooksFlow::Create(Paths::OfThisBuild(), options);
    EXPECT_TRUE(flow.ok()) << flow.status().message();
    if (!flow.ok()) return nullptr;
    flow_ = std::move(*flow);
    return flow_.get();
  }

  void ExpectExactlyOnce(const BrexFreshbooksFlow& flow) {
    auto report = flow.CheckExactlyOnce();
    ASSERT_TRUE(report.ok()) << report.status().message();
    EXPECT_TRUE(report->ok()) << report->Describe();
    EXPECT_EQ(report->flow_expenses, report->succeeded_expense_jobs);
  }

  // Every job of the pipeline succeeded (nothing dead, in review, pending or uncertain).
  void ExpectAllSucceeded(const BrexFreshbooksFlow& flow, int64_t expected_expenses) {
    auto rows = flow.JobRows();
    ASSERT_TRUE(rows.ok()) << rows.status().message();
    EXPECT_EQ(CountIf(*rows, "", "succeeded"), static_cast<int64_t>(rows->size()));
    EXPECT_EQ(CountIf(*rows, "expense", "succeeded"), expected_expenses);
  }

  int64_t ReadyRecords(const BrexFreshbooksFlow& flow) {
    auto records = flow.BrexRecords();
    EXPECT_TRUE(records.ok());
    if (!records.ok()) return -1;
    return std::count_if(records->begin(), records->end(), [](const json& r) {
      return r.value("review_status", std::string()) == "READY_FOR_EXPORT";
    });
  }

  // On failure: the host's last words and where the jobs stand (CI logs are all there is).
  void TearDown() override {
    if (!HasFailure()) return;
    for (const char* name : {"host.log", "sync-once.log"}) {
      std::ifstream log(dir_.File(name));
      std::string line;
      std::deque<std::string> tail;
      while (std::getline(log, line)) {
        tail.push_back(line);
        if (tail.size() > 60) tail.pop_front();
      }
      if (tail.empty()) continue;
      std::cerr << "---- last lines of " << name << " ----\n";
      for (const auto& l : tail) std::cerr << l << "\n";
    }
    std::ifstream db_probe(dir_.File("mlc.db"));
    if (!db_probe) return;
    auto store =
        store::Store::Open({.path = dir_.File("mlc.db"), .synchronous = "NORMAL", .read_only = true});
    if (!store.ok()) return;
    auto rows = (*store)->Query(
        "SELECT state, attempts, COALESCE(last_error, ''), COALESCE(review_kind, ''), COUNT(*) FROM jobs "
        "GROUP BY 1, 2, 3, 4 ORDER BY 5 DESC LIMIT 15");
    if (!rows.ok()) return;
    std::cerr << "---- jobs: state | attempts | last error | review kind | count ----\n";
    for (const auto& r : *rows) {
      std::cerr << r.Text(0) << " | " << r.Int(1) << " | " << r.Text(2).substr(0, 200) << " | " << r.Text(3)
                << " | " << r.Int(4) << "\n";
    }
  }

  testing::TempDir dir_;
  std::unique_ptr<BrexFreshbooksFlow> flow_;
};

// ---- crash loop ---------------------------------------------------------------------------------------

// 2,000 records; the host (`mlc serve`, and every fifth time a `mlc sync --once`) is SIGKILLed at a random
// point 50-600 ms after it is up, 50 times; then one clean run must land every record exactly once.
TEST_F(Reliability, CrashLoopSigkillAtRandomPointsLandsEveryRecordOnce) {
  constexpr int kRecords = 2000;
  constexpr int kIterations = 50;
  std::mt19937 rng(static_cast<uint32_t>(TestSeed()));
  FlowOptions o;
  o.brex_records = kRecords;
  o.webhooks = false;
  o.schedule = "every 1s";
  o.rate_per_minute = 600000;
  o.workers = 8;
  // Receipts on a fifth of the records: the blob path (download, upload, attach) is killed too.
  o.brex_options = {
      {"ready_ratio", 1.0}, {"exported_ratio", 0.0}, {"unknown_gl_ratio", 0.0}, {"receipt_ratio", 0.2}};
  o.pipeline_options = {{"lease_s", 2}, {"retry_base_ms", 100}, {"retry_cap_ms", 1000}};
  auto flow = Make(o);
  ASSERT_TRUE(flow);
  const int64_t ready = ReadyRecords(*flow);
  ASSERT_EQ(ready, kRecords);

  const Paths paths = Paths::OfThisBuild();
  for (int i = 0; i < kIterations; ++i) {
    const int delay_ms = 50 + static_cast<int>(rng() % 551);
    if (i % 5 == 4) {
      // A one-shot sync an operator started, killed the same way.
      testing::ProcessOptions po;
      po.env = flow->env();
      po.output_path = dir_.File("sync-once.log");
      testing::ChildProcess sync({paths.mlc, "--config", flow->config_path(), "sync", kPipeline, "--once"},
                                 po);
      ASSERT_TRUE(sync.started());
      std::this_thread::sleep_for(milliseconds(delay_ms));
      sync.Signal(SIGKILL);
      ASSERT_TRUE(sync.Wait(seconds(10)).has_value());
    } else {
      ASSERT_TRUE(flow->StartHost().ok()) << "iteration " << i;
      std::this_thread::sleep_for(milliseconds(delay_ms));
      flow->host().Kill();
    }
    if (i % 10 == 9) {
      auto jobs = flow->Jobs();
      if (jobs.ok()) {
        std::cout << "[ reliability ] after kill " << i + 1 << ": " << json(jobs->by_state).dump()
                  << std::endl;
      }
    }
  }
  ASSERT_TRUE(flow->StartHost().ok());
  ASSERT_TRUE(flow->WaitSettled(minutes(10), kRecords).ok());
  auto code = flow->host().Stop();
  ASSERT_TRUE(code.ok()) << code.status().message();
  ExpectAllSucceeded(*flow, kRecords);
  ExpectExactlyOnce(*flow);
}

// ---- fault soak ---------------------------------------------------------------------------------------

struct FaultMix {
  std::string name;
  json brex;                                    // fault spec of the Brex emulator (sdk/sandbox/faults.cpp)
  json freshbooks;                              // and of FreshBooks
  std::vector<std::string> expect_fault_kinds;  // stats.faults keys that must have fired
  int records = 300;
};

// gtest prints a parameter in test listings: the mix's name, not its bytes.
void PrintTo(const FaultMix& mix, std::ostream* os) { *os << mix.name; }

const char* kExpenseCreate = "POST /accounting/account/{account_id}/expenses/expenses";
const char* kVendorCreate = "POST /accounting/account/{account_id}/bill_vendors/bill_vendors";
const char* kExportResults = "POST /v3/accounting/records/export-results";

std::vector<FaultMix> FaultMixes() {
  // commit_then_drop is only ever set on write routes: on the FreshBooks token route it would rotate the
  // refresh token and lose the new one, which no client can recover from without re-authorisation.
  const json drop = {{"commit_then_drop", 0.25}, {"rate_5xx", 0.05}};
  return {
      // Every 429 pauses the whole connection for its Retry-After (1 s), so this mix is bounded by pause
      // time, not work: fewer records keep it near a minute and a half.
      {"Throttled", {{"global", {{"rate_429", 0.25}}}}, {{"global", {{"rate_429", 0.25}}}}, {"429"}, 100},
      {"FlakyNetwork",
       {{"global", {{"rate_5xx", 0.1}, {"reset", 0.1}, {"latency_ms", 20}}}},
       {{"global", {{"rate_5xx", 0.1}, {"reset", 0.1}, {"latency_ms", 20}}}},
       {"reset"}},
      {"CommitThenDrop",
       {{"global", {{"rate_5xx", 0.05}}}, {"routes", {{kExportResults, drop}}}},
       {{"global", {{"rate_5xx", 0.05}}}, {"routes", {{kExpenseCreate, drop}, {kVendorCreate, drop}}}},
       {"commit_then_drop"}},
  };
}

class FaultSoak : public Reliability, public ::testing::WithParamInterface<FaultMix> {};

TEST_P(FaultSoak, EveryRecordLandsOnceWithBothVendorsFaulty) {
  const FaultMix& mix = GetParam();
  const int kRecords = mix.records;
  FlowOptions o;
  o.brex_records = kRecords;
  o.seed = 300 + mix.name.size();
  o.webhooks = false;
  o.rate_per_minute = 600000;
  o.workers = 8;
  o.brex_options = {
      {"ready_ratio", 1.0}, {"exported_ratio", 0.0}, {"unknown_gl_ratio", 0.0}, {"receipt_ratio", 0.3}};
  o.pipeline_options = {{"retry_base_ms", 50}, {"retry_cap_ms", 1000}, {"max_attempts", 200}};
  auto flow = Make(o);
  ASSERT_TRUE(flow);
  ASSERT_TRUE(flow->brex().SetFaults(mix.brex).ok());
  ASSERT_TRUE(flow->freshbooks().SetFaults(mix.freshbooks).ok());
  auto r = flow->Mlc({"sync", kPipeline, "--once", "--retry-wait", "600"});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  ASSERT_TRUE(flow->brex().ClearFaults().ok());
  ASSERT_TRUE(flow->freshbooks().ClearFaults().ok());
  ExpectAllSucceeded(*flow, kRecords);
  ExpectExactlyOnce(*flow);

  // The faults really happened, on both sides.
  auto bstats = flow->brex().Stats();
  auto fstats = flow->freshbooks().Stats();
  ASSERT_TRUE(bstats.ok() && fstats.ok());
  auto injected = [](const json& stats) {
    int64_t n = stats.value("responses_429", int64_t{0});
    const json faults = stats.value("faults", json::object());
    for (const auto& [kind, count] : faults.items()) n += count.get<int64_t>();
    return n;
  };
  EXPECT_GT(injected(*bstats), 0) << bstats->dump();
  EXPECT_GT(injected(*fstats), 0) << fstats->dump();
  for (const auto& kind : mix.expect_fault_kinds) {
    EXPECT_GT(fstats->value("faults", json::object()).value(kind, 0), 0) << kind << ": " << fstats->dump();
  }
  std::cout << "[ reliability ] " << mix.name << ": brex faults " << bstats->value("faults", json()).dump()
            << ", 429s " << bstats->value("responses_429", 0) << "; freshbooks faults "
            << fstats->value("faults", json()).dump() << ", 429s " << fstats->value("responses_429", 0)
            << std::endl;
}

INSTANTIATE_TEST_SUITE_P(Mixes, FaultSoak, ::testing::ValuesIn(FaultMixes()),
                         [](const ::testing::TestParamInfo<FaultMix>& info) { return info.param.name; });

// ---- webhook abuse ------------------------------------------------------------------------------------

// Legitimate signed deliveries from Brex while other threads send forged, unsigned, stale, replayed,
// oversize and malformed requests, and slow clients hold connections open.
TEST_F(Reliability, WebhookAbuseLeavesOnlyLegitimateEventsAndEveryRecordLandsOnce) {
  std::mt19937 rng(static_cast<uint32_t>(TestSeed()));
  FlowOptions o;
  o.brex_records = 400;
  o.rate_per_minute = 600000;
  o.workers = 8;
  o.brex_options = {
      {"ready_ratio", 0.0}, {"exported_ratio", 0.0}, {"unknown_gl_ratio", 0.0}, {"receipt_ratio", 0.2}};
  auto flow = Make(o);
  ASSERT_TRUE(flow);
  ASSERT_TRUE(flow->StartHost().ok());
  const uint16_t port = static_cast<uint16_t>(flow->host().port());
  ASSERT_GT(port, 0);
  const std::string path = "/webhooks/brex";
  auto secrets = flow->brex().Call(
      "GET", "/v1/webhooks/secrets", nullptr,
      {{"Authorization", "Bearer " + flow->brex().credentials().value("user_token", std::string())}});
  ASSERT_TRUE(secrets.ok() && secrets->is_array() && !secrets->empty());
  const std::string secret = (*secrets)[0].value("secret", std::string());

  // One legitimate delivery to replay later.
  auto first = flow->MarkReady(10);
  ASSERT_TRUE(first.ok()) << first.status().message();
  ASSERT_TRUE(flow->brex().FlushWebhooks(seconds(30)).ok());
  auto deliveries = flow->brex().Objects("webhook_deliveries");
  ASSERT_TRUE(deliveries.ok() && deliveries->is_array() && !deliveries->empty());
  const json captured = deliveries->front();
  ASSERT_EQ(captured.value("state", std::string()), "delivered") << captured.dump();
  const std::string replay_id = captured.value("id", std::string());
  const std::string legit_body = captured.value("body", std::string());
  ASSERT_FALSE(replay_id.empty() || legit_body.empty());

  std::mutex mu;
  std::vector<std::string> wrong;   // abusive requests that did not get what they should
  std::map<std::string, int> sent;  // abusive requests by kind
  auto expect_status = [&](const std::string& kind, int got, int want) {
    std::lock_guard lock(mu);
    ++sent[kind];
    if (got != want)
      wrong.push_back(kind + ": status " + std::to_string(got) + ", want " + std::to_string(want));
  };
  std::atomic<bool> legit_done{false};
  std::atomic<bool> slow_done{false};  // abuse goes on as long as the slow clients hold connections
  std::atomic<int> abuse_seq{0};

  std::vector<std::string> legit_ids = *first;
  std::thread legit([&] {
    for (int batch = 0; batch < 10; ++batch) {
      auto ids = flow->MarkReady(20);
      if (ids.ok()) legit_ids.insert(legit_ids.end(), ids->begin(), ids->end());
      std::this_thread::sleep_for(milliseconds(1000));
    }
    legit_done = true;
  });

  auto abuser = [&](uint32_t thread_seed) {
    std::mt19937 local(thread_seed);
    int rounds = 0;
    while (!legit_done || !slow_done || rounds < 5) {
      ++rounds;
      std::this_thread::sleep_for(milliseconds(5));
      const std::string id = "abuse-" + std::to_string(abuse_seq.fetch_add(1));
      const int64_t now = UnixNow();
      switch (local() % 6) {
        case 0: {  // forged: signed with a key that is not Brex's
          Headers h = WebhookHeaders(
              "whsec_" + Base64(reinterpret_cast<const unsigned char*>("not-the-key-0123456789ab"), 24), id,
              now, legit_body);
          expect_status("forged", Http(port, "POST", path, legit_body, h).status, 401);
          break;
        }
        case 1: {  // unsigned
          Headers h = {{"Content-Type", "application/json"},
                       {"webhook-id", id},
                       {"webhook-timestamp", std::to_string(now)}};
          expect_status("unsigned", Http(port, "POST", path, legit_body, h).status, 401);
          break;
        }
        case 2:  // stale: correctly signed an hour ago
          expect_status(
              "stale",
              Http(port, "POST", path, legit_body, WebhookHeaders(secret, id, now - 3600, legit_body)).status,
              400);
          break;
        case 3:  // replay of the captured delivery, freshly signed with its id
          expect_status(
              "replayed",
              Http(port, "POST", path, legit_body, WebhookHeaders(secret, replay_id, now, legit_body)).status,
              409);
          break;
        case 4: {  // malformed JSON, correctly signed
          const std::string bad = "{\"type\": \"ACCOUNTING_RECORD_READY_FOR_EXPORT\", \"record_ids\": [";
          expect_status("malformed",
                        Http(port, "POST", path, bad, WebhookHeaders(secret, id, now, bad)).status, 400);
          break;
        }
        default: {  // oversize: declares 4 MiB; the server answers from the header alone
          RawConnection c(port);
          std::string head = "POST " + path +
                             " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                             "webhook-id: " +
                             id + "\r\nwebhook-timestamp: " + std::to_string(now) +
                             "\r\nwebhook-signature: v1,AAAA\r\nContent-Length: 4194304\r\n\r\n";
          (void)c.Send(head + std::string(16384, ' '));
          auto res = c.ReadResponse();
          expect_status("oversize", res ? res->status : 0, 413);
          break;
        }
      }
    }
  };

  // Slow clients: header dribblers (one byte every 250 ms, never finishing) and body stallers (headers,
  // then a part of the declared body, then nothing). The server must close both (header_timeout 10 s,
  // io_timeout 30 s by default) and keep answering everyone else meanwhile.
  std::atomic<int> dribblers_closed{0};
  std::atomic<int> stallers_closed{0};
  std::atomic<int> health_ok{0};
  std::atomic<int> health_checked{0};
  constexpr int kDribblers = 4;
  constexpr int kStallers = 4;
  std::thread slow([&] {
    std::vector<RawConnection> dribblers;
    std::vector<RawConnection> stallers;
    for (int i = 0; i < kDribblers; ++i) {
      dribblers.emplace_back(port);
      (void)dribblers.back().Send("POST " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\n");
    }
    for (int i = 0; i < kStallers; ++i) {
      stallers.emplace_back(port);
      const std::string body = legit_body + std::string(200, ' ');
      const auto h = WebhookHeaders(secret, "abuse-stall-" + std::to_string(i), UnixNow(), body);
      std::string req = BuildRequest("POST", path, body, h);
      (void)stallers.back().Send(req.substr(0, req.size() - 100));  // the last 100 body bytes never come
    }
    std::vector<bool> open(kDribblers, true);
    const auto start = std::chrono::steady_clock::now();
    int tick = 0;
    while (std::chrono::steady_clock::now() - start < seconds(45)) {
      bool any_open = false;
      for (int i = 0; i < kDribblers; ++i) {
        if (!open[i]) continue;
        if (dribblers[i].WaitClosed(milliseconds(250 / kDribblers)) || !dribblers[i].Send("X")) {
          open[i] = false;
          ++dribblers_closed;
        } else {
          any_open = true;
        }
      }
      // While the slow clients hold their connections, health checks still answer.
      if (++tick % 8 == 0 && any_open) {
        ++health_checked;
        if (Http(port, "GET", "/healthz").status == 200) ++health_ok;
      }
      if (!any_open) break;
    }
    for (auto& s : stallers) stallers_closed += s.WaitClosed(seconds(45)) ? 1 : 0;
    slow_done = true;
  });

  std::vector<std::thread> abusers;
  for (int t = 0; t < 3; ++t) abusers.emplace_back(abuser, static_cast<uint32_t>(rng()));
  legit.join();
  for (auto& t : abusers) t.join();
  slow.join();

  {
    std::lock_guard lock(mu);
    std::string summary;
    for (const auto& [kind, n] : sent) summary += kind + "=" + std::to_string(n) + " ";
    std::cout << "[ reliability ] abusive requests: " << summary << std::endl;
    EXPECT_TRUE(wrong.empty()) << wrong.size() << " wrong answers, first: " << wrong.front();
    for (const char* kind : {"forged", "unsigned", "stale", "replayed", "malformed", "oversize"})
      EXPECT_GT(sent[kind], 0) << kind;
  }
  EXPECT_EQ(dribblers_closed.load(), kDribblers) << "header dribblers were not disconnected";
  EXPECT_EQ(stallers_closed.load(), kStallers) << "body stallers were not disconnected";
  EXPECT_GT(health_checked.load(), 0);
  EXPECT_EQ(health_ok.load(), health_checked.load()) << "/healthz failed while slow clients held connections";
  EXPECT_EQ(Http(port, "GET", "/healthz").status, 200);

  const int64_t legit_count = static_cast<int64_t>(legit_ids.size());
  ASSERT_EQ(legit_count, 210);
  ASSERT_TRUE(flow->brex().FlushWebhooks(seconds(60)).ok());
  ASSERT_TRUE(flow->WaitSettled(minutes(5), legit_count).ok());
  ASSERT_TRUE(flow->host().Stop().ok());
  ExpectAllSucceeded(*flow, legit_count);
  ExpectExactlyOnce(*flow);
  auto records = flow->BrexRecords();
  ASSERT_TRUE(records.ok());
  for (const auto& id : legit_ids) {
    const json* rec = FindRecord(*records, id);
    ASSERT_NE(rec, nullptr) << id;
    EXPECT_EQ(rec->value("review_status", std::string()), "EXPORTED") << id;
  }

  // The host recorded events only from Brex's own deliveries.
  auto all = flow->brex().Objects("webhook_deliveries");
  ASSERT_TRUE(all.ok());
  std::set<std::string> brex_ids;
  for (const auto& d : *all) {
    brex_ids.insert(d.value("id", std::string()));
    // Abuse never crowded out Brex: each of its deliveries was accepted in the end.
    EXPECT_EQ(d.value("state", std::string()), "delivered") << d.dump().substr(0, 300);
  }
  auto store = store::Store::Open({.path = dir_.File("mlc.db"), .synchronous = "NORMAL", .read_only = true});
  ASSERT_TRUE(store.ok()) << store.status().message();
  auto events = (*store)->Query("SELECT DISTINCT connection, webhook_id FROM webhook_events");
  ASSERT_TRUE(events.ok()) << events.status().message();
  EXPECT_FALSE(events->empty());
  for (const auto& row : *events) {
    EXPECT_EQ(row.Text(0), "brex");
    EXPECT_TRUE(brex_ids.count(row.Text(1))) << "event from a delivery Brex never sent: " << row.Text(1);
  }
}

// ---- token rotation under 64 workers ------------------------------------------------------------------

// FreshBooks access tokens (12 h) expire again and again (the emulator's clock jumps 13 h), once while the
// 64 workers are idle and all hit the expired token together, once while they are busy. Refresh tokens
// rotate on every use: one refresh per expiry, never a second use of a rotated refresh token.
TEST_F(Reliability, TokenRotationUnder64WorkersRefreshesOncePerExpiry) {
  FlowOptions o;
  o.brex_records = 1100;
  o.webhooks = false;
  o.schedule = "every 1s";
  o.workers = 64;
  o.rate_per_minute = 600000;
  o.brex_options = {
      {"ready_ratio", 0.0}, {"exported_ratio", 0.0}, {"unknown_gl_ratio", 0.0}, {"receipt_ratio", 0.2}};
  auto flow = Make(o);
  ASSERT_TRUE(flow);
  // Requests take a while, so many workers are inside a FreshBooks call when the token expires.
  ASSERT_TRUE(flow->freshbooks().SetFaults({{"global", {{"latency_ms", 30}}}}).ok());
  ASSERT_TRUE(flow->StartHost().ok());

  auto token_stats = [&]() -> std::pair<int64_t, int64_t> {  // {grants served, token requests}
    auto s = flow->freshbooks().Stats();
    if (!s.ok()) return {-1, -1};
    int64_t requests = 0;
    const json by_route = s->value("requests", json::object());
    const json outcomes = by_route.value("POST /auth/oauth/token", json::object());
    for (const auto& [outcome, n] : outcomes.items()) requests += n.get<int64_t>();
    return {s->value("tokens", json::object()).value("refreshed", int64_t{-1}), requests};
  };
  int64_t total = 0;
  auto run_batch = [&](int n) {
    auto ids = flow->MarkReady(n);
    ASSERT_TRUE(ids.ok()) << ids.status().message();
    ASSERT_EQ(static_cast<int>(ids->size()), n);
    total += n;
  };

  // Warm-up: the host's first access token.
  run_batch(60);
  ASSERT_TRUE(flow->WaitSettled(minutes(3), total).ok());
  const auto [grants0, requests0] = token_stats();
  ASSERT_GE(grants0, 1);

  int expiries = 0;
  int mid_run = 0;
  for (int round = 0; round < 6; ++round) {
    const int64_t before = token_stats().first;
    if (round % 2 == 0) {
      // Idle: the next batch's workers all start on an expired token.
      ASSERT_TRUE(flow->freshbooks().Post("/_sandbox/clock", {{"advance_s", 13 * 3600}}).ok());
      ++expiries;
      run_batch(150);
    } else {
      // Busy: expire the token once the batch's jobs are being worked on.
      const int64_t settled_before = total;
      run_batch(150);
      for (int i = 0; i < 300; ++i) {
        auto rows = flow->JobRows();
        if (rows.ok() && CountIf(*rows, "expense", "") > settled_before) break;
        std::this_thread::sleep_for(milliseconds(20));
      }
      ASSERT_TRUE(flow->freshbooks().Post("/_sandbox/clock", {{"advance_s", 13 * 3600}}).ok());
      ++expiries;
      auto rows = flow->JobRows();
      if (rows.ok() && CountIf(*rows, "expense", "succeeded") < total) ++mid_run;
    }
    ASSERT_TRUE(flow->WaitSettled(minutes(3), total).ok()) << "round " << round;
    // A batch that finished its FreshBooks calls before the clock jumped has not seen the expiry yet:
    // a small batch makes sure it is seen before the next jump (two jumps must not merge into one).
    if (token_stats().first == before) {
      run_batch(10);
      ASSERT_TRUE(flow->WaitSettled(minutes(3), total).ok());
    }
    const int64_t after = token_stats().first;
    EXPECT_EQ(after - before, 1) << "round " << round << ": refresh grants for one expiry";
  }
  const auto [grants, requests] = token_stats();
  std::cout << "[ reliability ] " << expiries << " expiries (" << mid_run << " with jobs running), "
            << grants - grants0 << " refresh grants, " << requests - requests0 << " token requests"
            << std::endl;
  EXPECT_EQ(grants - grants0, expiries) << "one refresh per expiry";
  EXPECT_EQ(requests - requests0, expiries) << "no token request beyond the one grant per expiry";
  // Each refresh token was used at most once and every use was a successful grant (a reused rotated token
  // would show as a used token without a grant, and as a token request beyond the grants above).
  auto tokens = flow->freshbooks().Objects("tokens");
  ASSERT_TRUE(tokens.ok());
  const json counters = tokens->value("counters", json::object());
  int64_t used = 0;
  for (const auto& t : tokens->value("refresh_tokens", json::array())) used += t.value("used", false) ? 1 : 0;
  EXPECT_EQ(used, counters.value("refreshed", int64_t{-1})) << counters.dump();
  // Access tokens refused as expired: at most one in-flight request per worker per expiry.
  EXPECT_LE(counters.value("rejected", int64_t{0}), int64_t{expiries} * o.workers) << counters.dump();
  std::cout << "[ reliability ] FreshBooks token counters " << counters.dump() << std::endl;
  ASSERT_TRUE(flow->host().Stop().ok());
  ExpectAllSucceeded(*flow, total);
  ExpectExactlyOnce(*flow);
}

}  // namespace
}  // namespace mlc::flowkit
