// Brex -> FreshBooks end to end: the real `mlc` binary with the real brex and freshbooks plugins against
// the two emulators over loopback HTTP (tools/flowkit). Each test checks the outcome in the vendors' own
// state: which expenses exist in FreshBooks, which Brex records are marked exported, and the host's jobs.
#include <signal.h>

#include <algorithm>
#include <deque>
#include <fstream>
#include <iostream>
#include <map>
#include <random>
#include <set>
#include <string>
#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "flowkit/brex_freshbooks.hpp"
#include "http/http_client.hpp"
#include "mlc/money.hpp"
#include "store/store.hpp"
#include "support/temp_dir.hpp"

namespace mlc::flowkit {
namespace {

using nlohmann::json;
using std::chrono::minutes;
using std::chrono::seconds;

// MarkerOf, IdText and FindRecord come from the flow kit (flowkit/brex_freshbooks.hpp).

class BrexFreshbooksE2E : public ::testing::Test {
 protected:
  // The test's flow; owned by the fixture so TearDown can still ask the emulators what happened.
  BrexFreshbooksFlow* Make(FlowOptions options) {
    options.workdir = dir_.path();
    // No vendor review band: a merchant is matched only when certain, else its cleaned name is the vendor,
    // so every record can land (vendor review has its own tests in host/engine).
    for (const char* key : {"auto_accept", "review_floor"}) {
      if (!options.pipeline_options.contains(key)) options.pipeline_options[key] = 0.99;
    }
    auto flow = BrexFreshbooksFlow::Create(Paths::OfThisBuild(), options);
    EXPECT_TRUE(flow.ok()) << flow.status().message();
    if (!flow.ok()) return nullptr;
    flow_ = std::move(*flow);
    return flow_.get();
  }

  // Every succeeded job has exactly one FreshBooks expense (found by its marker, and it is the job's target),
  // no marker appears twice, nothing else was created, the job's Brex record is exported and no record
  // waiting for export was missed (the flow kit's CheckExactlyOnce, shared with tests/reliability).
  void ExpectExactlyOnce(BrexFreshbooksFlow& flow) {
    auto report = flow.CheckExactlyOnce();
    ASSERT_TRUE(report.ok()) << report.status().message();
    EXPECT_TRUE(report->ok()) << report->Describe();
    EXPECT_EQ(report->flow_expenses, report->succeeded_expense_jobs)
        << "FreshBooks holds expenses with markers of jobs that did not succeed";
  }

  // On failure, what the host said last and where each job stands: CI logs are all there is.
  void TearDown() override {
    if (!HasFailure()) return;
    std::ifstream log(dir_.File("host.log"));
    std::string line;
    std::deque<std::string> tail;
    while (std::getline(log, line)) {
      tail.push_back(line);
      if (tail.size() > 80) tail.pop_front();
    }
    if (flow_) {
      if (auto d = flow_->brex().Objects("webhook_deliveries"); d.ok() && d->is_array()) {
        std::cerr << "---- Brex webhook deliveries (last 5 of " << d->size() << ") ----\n";
        for (size_t i = d->size() > 5 ? d->size() - 5 : 0; i < d->size(); ++i)
          std::cerr << (*d)[i].dump().substr(0, 400) << "\n";
      }
    }
    std::cerr << "---- last lines of host.log ----\n";
    for (const auto& l : tail) std::cerr << l << "\n";
    std::ifstream db_probe(dir_.File("mlc.db"));
    if (!db_probe) return;
    store::OpenOptions o{.path = dir_.File("mlc.db"), .synchronous = "NORMAL", .read_only = true};
    auto store = store::Store::Open(o);
    if (!store.ok()) return;
    auto rows = (*store)->Query(
        "SELECT state, attempts, COALESCE(last_error, ''), COALESCE(review_kind, ''), COUNT(*) FROM jobs "
        "GROUP BY 1, 2, 3, 4 ORDER BY 5 DESC LIMIT 15");
    if (!rows.ok()) return;
    std::cerr << "---- jobs: state, attempts, last error, review kind, count ----\n";
    for (const auto& r : *rows) {
      std::cerr << r.Text(0) << " | " << r.Int(1) << " | " << r.Text(2).substr(0, 200) << " | " << r.Text(3)
                << " | " << r.Int(4) << "\n";
    }
  }

  int64_t Count(const std::vector<JobRow>& rows, const std::string& state) {
    return std::count_if(rows.begin(), rows.end(), [&](const JobRow& r) { return r.state == state; });
  }
  // Expense jobs in `state` (the pipeline also aligns vendors).
  int64_t Expenses(BrexFreshbooksFlow& flow, const std::string& state) {
    auto rows = flow.JobRows();
    EXPECT_TRUE(rows.ok());
    if (!rows.ok()) return -1;
    return std::count_if(rows->begin(), rows->end(),
                         [&](const JobRow& r) { return r.object_type == "expense" && r.state == state; });
  }

  testing::TempDir dir_;
  std::unique_ptr<BrexFreshbooksFlow> flow_;
};

// No records are ready at the start; everything arrives because a webhook named it.
FlowOptions WebhookOnly() {
  FlowOptions o;
  o.brex_records = 60;
  o.brex_options = {{"ready_ratio", 0.0}, {"exported_ratio", 0.0}, {"unknown_gl_ratio", 0.0}};
  return o;
}

TEST_F(BrexFreshbooksE2E, HappyPathThroughWebhooks) {
  auto flow = Make(WebhookOnly());
  ASSERT_TRUE(flow);
  ASSERT_TRUE(flow->StartHost().ok());
  auto ids = flow->MarkReady(20);
  ASSERT_TRUE(ids.ok()) << ids.status().message();
  ASSERT_EQ(ids->size(), 20u);
  ASSERT_TRUE(flow->brex().FlushWebhooks(seconds(30)).ok());
  ASSERT_TRUE(flow->WaitSettled(minutes(3), 20).ok());
  auto rows = flow->JobRows();
  ASSERT_TRUE(rows.ok());
  int64_t expenses = 0;
  for (const auto& job : *rows) expenses += job.object_type == "expense" && job.state == "succeeded";
  EXPECT_EQ(expenses, 20);
  EXPECT_EQ(Count(*rows, "succeeded"), static_cast<int64_t>(rows->size()));
  ExpectExactlyOnce(*flow);
  // The vendor lists are aligned: every live Brex vendor is a FreshBooks bill vendor of the same name.
  auto brex_vendors = flow->brex().Objects("vendors");
  auto fb_vendors = flow->freshbooks().Objects("bill_vendors");
  ASSERT_TRUE(brex_vendors.ok() && fb_vendors.ok());
  std::set<std::string> fb_names;
  for (const auto& v : *fb_vendors) fb_names.insert(v.value("vendor_name", std::string()));
  int64_t live = 0;
  for (const auto& v : *brex_vendors) {
    if (v.value("_deleted", false)) continue;
    ++live;
    EXPECT_TRUE(fb_names.count(v.value("company_name", std::string()))) << v.dump();
  }
  EXPECT_GT(live, 0);
  auto code = flow->host().Stop();
  ASSERT_TRUE(code.ok());
  EXPECT_EQ(*code, 0);
}

TEST_F(BrexFreshbooksE2E, PollingOnlyWhenEveryWebhookIsLost) {
  FlowOptions o;
  o.brex_records = 80;
  o.webhooks = false;
  o.brex_options = {{"ready_ratio", 0.5}, {"exported_ratio", 0.0}, {"unknown_gl_ratio", 0.0}};
  auto flow = Make(o);
  ASSERT_TRUE(flow);
  auto r = flow->Mlc({"sync", kPipeline, "--once"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  auto rows = flow->JobRows();
  ASSERT_TRUE(rows.ok());
  EXPECT_GE(rows->size(), 30u);
  EXPECT_EQ(Count(*rows, "succeeded"), static_cast<int64_t>(rows->size()));
  ExpectExactlyOnce(*flow);
}

// Issue 13 items 1 and 3: `mlc connect` asks FreshBooks for exactly the scopes the pipeline uses (derived
// from the manifest's per-stream and per-write scopes; the emulator enforces them per endpoint), through
// an HTTPS redirect URI (FreshBooks registers no other kind) and the paste-the-address path. The pipeline
// then runs on that grant: it reads the chart of accounts (user:journal_entries:read) and writes expenses
// and vendors, and never needs bills or bill payments.
TEST_F(BrexFreshbooksE2E, ConnectAsksForThePipelinesScopesThroughAnHttpsRedirect) {
  FlowOptions o;
  o.brex_records = 20;
  o.webhooks = false;
  o.brex_options = {{"ready_ratio", 0.5}, {"exported_ratio", 0.0}, {"unknown_gl_ratio", 0.0}};
  auto flow = Make(o);
  ASSERT_TRUE(flow);
  const std::string redirect = "https://localhost/mlc/oauth/callback";
  auto start = flow->Mlc({"connect", "freshbooks", "--redirect-uri", redirect, "--no-wait"});
  ASSERT_EQ(start.exit_code, 0) << start.out << start.err;
  const size_t at = start.out.find(flow->freshbooks().base_url() + "/oauth/authorize?");
  ASSERT_NE(at, std::string::npos) << start.out;
  const std::string url = start.out.substr(at, start.out.find_first_of(" \n", at) - at);
  auto decode = [](const std::string& v) {
    std::string out;
    for (size_t i = 0; i < v.size(); ++i) {
      if (v[i] == '+') {
        out += ' ';
      } else if (v[i] == '%' && i + 2 < v.size()) {
        out += static_cast<char>(std::stoi(v.substr(i + 1, 2), nullptr, 16));
        i += 2;
      } else {
        out += v[i];
      }
    }
    return out;
  };
  const size_t sp = url.find("scope=");
  ASSERT_NE(sp, std::string::npos) << url;
  const std::string scope = decode(url.substr(sp + 6, url.find('&', sp) - sp - 6));
  std::set<std::string> scopes;
  for (size_t i = 0; i <= scope.size();) {
    const size_t end = std::min(scope.find(' ', i), scope.size());
    if (end > i) scopes.insert(scope.substr(i, end - i));
    i = end + 1;
  }
  EXPECT_EQ(scopes, (std::set<std::string>{"user:profile:read", "user:expenses:read", "user:expenses:write",
                                           "user:bill_vendors:read", "user:bill_vendors:write",
                                           "user:journal_entries:read"}))
      << scope;

  // The browser step: FreshBooks redirects to the registered HTTPS URI with code and state; the operator
  // pastes that address.
  http::HttpClient client;
  http::HttpRequest req;
  req.method = "GET";
  req.url = url;
  req.idempotent = true;
  auto res = client.Send(req, http::RetryPolicy{});
  ASSERT_TRUE(res.ok()) << res.status().message();
  ASSERT_EQ(res->status, 302) << res->body;
  const std::string* location = res->Header("location");
  ASSERT_NE(location, nullptr);
  ASSERT_EQ(location->rfind(redirect + "?", 0), 0u) << *location;
  auto done = flow->Mlc({"connect", "freshbooks", "--redirected-to", *location});
  ASSERT_EQ(done.exit_code, 0) << done.out << done.err;

  auto r = flow->Mlc({"sync", kPipeline, "--once"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_GT(Expenses(*flow, "succeeded"), 0);
  EXPECT_EQ(Expenses(*flow, "failed"), 0);
  ExpectExactlyOnce(*flow);
}

TEST_F(BrexFreshbooksE2E, WebhookAndPollForTheSameRecordMakeOneExpense) {
  auto flow = Make(WebhookOnly());
  ASSERT_TRUE(flow);
  ASSERT_TRUE(flow->StartHost().ok());
  auto ids = flow->MarkReady(10);
  ASSERT_TRUE(ids.ok());
  // An operator's backfill polls the same records while the webhooks are being handled.
  auto r = flow->Mlc({"sync", kPipeline, "--once"});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  ASSERT_TRUE(flow->brex().FlushWebhooks(seconds(30)).ok());
  ASSERT_TRUE(flow->WaitSettled(minutes(3), 10).ok());
  EXPECT_EQ(Expenses(*flow, "succeeded"), 10);
  ExpectExactlyOnce(*flow);
}

TEST_F(BrexFreshbooksE2E, EveryRecordLandsOnceUnder429sAnd5xx) {
  FlowOptions o;
  o.brex_records = 60;
  o.webhooks = false;
  o.brex_options = {{"ready_ratio", 0.6}, {"exported_ratio", 0.0}, {"unknown_gl_ratio", 0.0}};
  o.pipeline_options = {{"retry_base_ms", 50}, {"retry_cap_ms", 500}, {"max_attempts", 30}};
  auto flow = Make(o);
  ASSERT_TRUE(flow);
  const json faults = {{"global", {{"rate_429", 0.2}, {"rate_5xx", 0.05}}}};
  ASSERT_TRUE(flow->brex().SetFaults(faults).ok());
  ASSERT_TRUE(flow->freshbooks().SetFaults(faults).ok());
  auto r = flow->Mlc({"sync", kPipeline, "--once", "--retry-wait", "120"});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  auto rows = flow->JobRows();
  ASSERT_TRUE(rows.ok());
  EXPECT_GE(rows->size(), 30u);
  EXPECT_EQ(Count(*rows, "succeeded"), static_cast<int64_t>(rows->size()));
  ExpectExactlyOnce(*flow);
  auto stats = flow->freshbooks().Stats();
  ASSERT_TRUE(stats.ok());
  EXPECT_GT(stats->value("responses_429", 0), 0) << "the fault injection did not happen";
}

TEST_F(BrexFreshbooksE2E, CommitThenDropOnExpenseCreateIsReconciledNotDuplicated) {
  FlowOptions o;
  o.brex_records = 30;
  o.webhooks = false;
  o.brex_options = {{"ready_ratio", 0.5}, {"exported_ratio", 0.0}, {"unknown_gl_ratio", 0.0}};
  o.pipeline_options = {{"retry_base_ms", 50}, {"retry_cap_ms", 500}};
  auto flow = Make(o);
  ASSERT_TRUE(flow);
  // The first three expense creates commit in FreshBooks and then lose their connection.
  ASSERT_TRUE(flow->freshbooks()
                  .SetFaults({{"routes",
                               {{"POST /accounting/account/{account_id}/expenses/expenses",
                                 {{"commit_then_drop", 1.0}, {"count", 3}}}}}})
                  .ok());
  auto r = flow->Mlc({"sync", kPipeline, "--once", "--retry-wait", "60"});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  auto stats = flow->freshbooks().Stats();
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(stats->value("faults", json::object()).value("commit_then_drop", 0), 3);
  auto rows = flow->JobRows();
  ASSERT_TRUE(rows.ok());
  EXPECT_EQ(Count(*rows, "succeeded"), static_cast<int64_t>(rows->size()));
  ExpectExactlyOnce(*flow);
}

TEST_F(BrexFreshbooksE2E, AccessTokenExpiresAndRefreshTokenRotatesMidRun) {
  FlowOptions o;
  o.brex_records = 40;
  o.brex_options = {{"ready_ratio", 0.0}, {"exported_ratio", 0.0}, {"unknown_gl_ratio", 0.0}};
  auto flow = Make(o);
  ASSERT_TRUE(flow);
  ASSERT_TRUE(flow->StartHost().ok());
  ASSERT_TRUE(flow->MarkReady(10).ok());
  ASSERT_TRUE(flow->Mlc({"sync", kPipeline, "--once"}).exit_code == 0);
  // Thirteen hours later every FreshBooks access token has expired (they live 12 h).
  ASSERT_TRUE(flow->freshbooks().Post("/_sandbox/clock", {{"advance_s", 13 * 3600}}).ok());
  ASSERT_TRUE(flow->MarkReady(10).ok());
  ASSERT_TRUE(flow->brex().FlushWebhooks(seconds(30)).ok());
  ASSERT_TRUE(flow->WaitSettled(minutes(3), 20).ok());
  auto stats = flow->freshbooks().Stats();
  ASSERT_TRUE(stats.ok());
  EXPECT_GE(stats->value("tokens", json::object()).value("refreshed", 0), 1);
  EXPECT_EQ(Expenses(*flow, "succeeded"), 20);
  ExpectExactlyOnce(*flow);
  // The rotated refresh token was persisted: a restarted host keeps working without re-authorisation.
  ASSERT_TRUE(flow->host().Stop().ok());
  ASSERT_TRUE(flow->freshbooks().Post("/_sandbox/clock", {{"advance_s", 13 * 3600}}).ok());
  ASSERT_TRUE(flow->StartHost().ok());
  ASSERT_TRUE(flow->MarkReady(5).ok());
  ASSERT_TRUE(flow->brex().FlushWebhooks(seconds(30)).ok());
  ASSERT_TRUE(flow->WaitSettled(minutes(3), 25).ok());
  ExpectExactlyOnce(*flow);
}

TEST_F(BrexFreshbooksE2E, UnknownGlAccountGoesToReviewThenResolvesAndLands) {
  FlowOptions o;
  o.brex_records = 40;
  o.webhooks = false;
  o.brex_options = {{"ready_ratio", 0.5}, {"exported_ratio", 0.0}, {"unknown_gl_ratio", 0.5}};
  auto flow = Make(o);
  ASSERT_TRUE(flow);
  auto before = flow->FreshbooksExpenses();
  ASSERT_TRUE(before.ok());
  auto r = flow->Mlc({"sync", kPipeline, "--once"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  auto rows = flow->JobRows();
  ASSERT_TRUE(rows.ok());
  const int64_t in_review = Count(*rows, "review");
  ASSERT_GT(in_review, 0) << "the seed produced no unknown GL code";
  // Nothing was posted for the jobs in review.
  for (const auto& job : *rows) {
    if (job.state == "review") {
      EXPECT_TRUE(job.target_id.empty()) << job.id;
    }
  }
  ExpectExactlyOnce(*flow);

  auto list = flow->Mlc({"review", "list", "--json"});
  ASSERT_EQ(list.exit_code, 0) << list.err;
  json items = json::parse(list.out, nullptr, false);
  ASSERT_TRUE(items.is_array()) << list.out;
  ASSERT_FALSE(items.empty());
  // Resolve one unmapped account; the same GL code in other review items resolves with it.
  const json& first = items.front();
  const std::string id = IdText(first.value("id", json()));
  auto resolved = flow->Mlc({"review", "resolve", id, "--account", "Office Supplies"});
  ASSERT_EQ(resolved.exit_code, 0) << resolved.out << resolved.err;
  auto again = flow->Mlc({"sync", kPipeline, "--once"});
  ASSERT_EQ(again.exit_code, 0) << again.out << again.err;
  auto after = flow->JobRows();
  ASSERT_TRUE(after.ok());
  EXPECT_LT(Count(*after, "review"), in_review);
  EXPECT_GT(Count(*after, "succeeded"), Count(*rows, "succeeded"));
  ExpectExactlyOnce(*flow);
}

TEST_F(BrexFreshbooksE2E, ReceiptsArriveByteIdentical) {
  FlowOptions o;
  o.brex_records = 30;
  o.webhooks = false;
  o.brex_options = {
      {"ready_ratio", 1.0}, {"exported_ratio", 0.0}, {"unknown_gl_ratio", 0.0}, {"receipt_ratio", 1.0}};
  auto flow = Make(o);
  ASSERT_TRUE(flow);
  auto r = flow->Mlc({"sync", kPipeline, "--once"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  auto receipts = flow->brex().Objects("receipts");
  ASSERT_TRUE(receipts.ok());
  std::multiset<std::string> brex_digests;
  for (const auto& rec : *receipts) brex_digests.insert(rec.value("sha256", std::string()));
  auto attachments = flow->freshbooks().Objects("attachments");
  ASSERT_TRUE(attachments.ok());
  int64_t attached = 0;
  for (const auto& a : *attachments) {
    const std::string digest = a.value("sha256", std::string());
    if (brex_digests.count(digest) == 0) continue;  // the emulator's own seeded attachments
    ++attached;
  }
  const int64_t landed = Expenses(*flow, "succeeded");
  ASSERT_GT(landed, 0);
  EXPECT_GE(attached, landed) << "every landed expense carries its receipt, byte for byte";
  auto expenses = flow->FreshbooksExpenses();
  ASSERT_TRUE(expenses.ok());
  for (const auto& e : *expenses) {
    if (MarkerOf(e).empty()) continue;
    EXPECT_TRUE(e.value("has_receipt", false)) << e.dump();
  }
}

TEST_F(BrexFreshbooksE2E, AmountsExactToTheCentAcrossManyRecords) {
  FlowOptions o;
  o.brex_records = 1000;
  o.seed = 1234;
  o.webhooks = false;
  o.workers = 8;
  o.rate_per_minute = 60000;  // the documented limits would make this a minutes-long wait
  o.brex_options = {
      {"ready_ratio", 1.0}, {"exported_ratio", 0.0}, {"unknown_gl_ratio", 0.0}, {"receipt_ratio", 0.0}};
  auto flow = Make(o);
  ASSERT_TRUE(flow);
  auto r = flow->Mlc({"sync", kPipeline, "--once"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  auto rows = flow->JobRows();
  auto records = flow->BrexRecords();
  auto expenses = flow->FreshbooksExpenses();
  ASSERT_TRUE(rows.ok() && records.ok() && expenses.ok());
  std::map<std::string, const json*> by_id;
  for (const auto& e : *expenses) by_id[IdText(e.value("id", json()))] = &e;
  int64_t compared = 0;
  for (const auto& job : *rows) {
    if (job.state != "succeeded" || job.object_type != "expense") continue;
    const json* record = FindRecord(*records, job.source_id);
    ASSERT_NE(record, nullptr);
    ASSERT_TRUE(by_id.count(job.target_id)) << job.target_id;
    const json& fb = *by_id[job.target_id];
    // Brex: decimal dollars (a JSON number); FreshBooks: a decimal string. Both exact in cents.
    const json& bamount = record->at("amount");
    auto brex_cents = money::ParseDecimal(bamount.at("amount").dump(), bamount.value("currency", "USD"));
    auto fb_cents = money::ParseDecimal(fb.at("amount").at("amount").get<std::string>(),
                                        fb.at("amount").value("code", "USD"));
    ASSERT_TRUE(brex_cents.ok() && fb_cents.ok()) << bamount.dump() << " vs " << fb.at("amount").dump();
    EXPECT_EQ(std::llabs(*brex_cents), std::llabs(*fb_cents)) << job.source_id;
    ++compared;
  }
  EXPECT_GE(compared, 900);
}

TEST_F(BrexFreshbooksE2E, HostKilledMidSyncAndRestartedLandsEveryRecordOnce) {
  FlowOptions o;
  o.brex_records = 300;
  o.webhooks = false;
  o.schedule = "every 2s";
  o.brex_options = {{"ready_ratio", 1.0}, {"exported_ratio", 0.0}, {"unknown_gl_ratio", 0.0}};
  o.pipeline_options = {{"lease_s", 2}};
  auto flow = Make(o);
  ASSERT_TRUE(flow);
  std::mt19937 rng(42);
  for (int round = 0; round < 5; ++round) {
    ASSERT_TRUE(flow->StartHost().ok());
    std::this_thread::sleep_for(std::chrono::milliseconds(300 + rng() % 1200));
    flow->host().Kill();
  }
  ASSERT_TRUE(flow->StartHost().ok());
  ASSERT_TRUE(flow->WaitSettled(minutes(5), 300).ok());
  ASSERT_TRUE(flow->host().Stop().ok());
  auto rows = flow->JobRows();
  ASSERT_TRUE(rows.ok());
  EXPECT_EQ(Count(*rows, "succeeded"), static_cast<int64_t>(rows->size()));
  ExpectExactlyOnce(*flow);
}

TEST_F(BrexFreshbooksE2E, KilledBetweenWriteAndAckIsAckedOnRestartNotRePosted) {
  FlowOptions o;
  o.brex_records = 30;
  o.webhooks = false;
  o.schedule = "every 2s";
  o.brex_options = {{"ready_ratio", 0.5}, {"exported_ratio", 0.0}, {"unknown_gl_ratio", 0.0}};
  o.pipeline_options = {{"retry_base_ms", 200}, {"retry_cap_ms", 1000}, {"lease_s", 2}};
  auto flow = Make(o);
  ASSERT_TRUE(flow);
  auto seeded = flow->BrexRecords();
  ASSERT_TRUE(seeded.ok());
  const int64_t ready = std::count_if(seeded->begin(), seeded->end(), [](const json& r) {
    return r.value("review_status", std::string()) == "READY_FOR_EXPORT";
  });
  ASSERT_GT(ready, 5);
  // Brex refuses every export result: expenses land in FreshBooks, their acks cannot happen.
  ASSERT_TRUE(flow->brex()
                  .SetFaults({{"routes",
                               {{"POST /v3/accounting/records/export-results",
                                 {{"rate_5xx", 1.0}, {"status_5xx", 503}}}}}})
                  .ok());
  ASSERT_TRUE(flow->StartHost().ok());
  int64_t written_not_acked = 0;
  for (int i = 0; i < 600 && written_not_acked < 5; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    auto rows = flow->JobRows();
    if (!rows.ok()) continue;
    written_not_acked = 0;
    for (const auto& job : *rows)
      written_not_acked += job.object_type == "expense" && !job.target_id.empty() && !job.acked;
  }
  ASSERT_GE(written_not_acked, 5);
  flow->host().Kill();  // a crash between the FreshBooks write and the Brex ack
  auto expenses_mid = flow->FreshbooksExpenses();
  ASSERT_TRUE(expenses_mid.ok());
  ASSERT_TRUE(flow->brex().ClearFaults().ok());

  ASSERT_TRUE(flow->StartHost().ok());
  ASSERT_TRUE(flow->WaitSettled(minutes(3), ready).ok());
  auto rows = flow->JobRows();
  ASSERT_TRUE(rows.ok());
  EXPECT_EQ(Count(*rows, "succeeded"), static_cast<int64_t>(rows->size()));
  ExpectExactlyOnce(*flow);  // every record acked, none posted twice
  // What was in FreshBooks at the crash is exactly what the jobs link to now: acked later, not re-posted.
  std::map<std::string, std::string> target_by_key;
  for (const auto& job : *rows) target_by_key[job.idempotency_key] = job.target_id;
  int64_t linked = 0;
  for (const auto& e : *expenses_mid) {
    const std::string marker = MarkerOf(e);
    if (marker.empty()) continue;
    ASSERT_TRUE(target_by_key.count(marker)) << marker;
    EXPECT_EQ(target_by_key[marker], IdText(e.value("id", json())));
    ++linked;
  }
  EXPECT_GE(linked, written_not_acked);
}

}  // namespace
}  // namespace mlc::flowkit
