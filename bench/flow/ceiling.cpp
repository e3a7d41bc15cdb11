// The minimal Brex -> FreshBooks loop behind ceiling_records_per_s (see ceiling.hpp).
#include "ceiling.hpp"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "curl_client.hpp"

namespace mlc::bench {
namespace {

using nlohmann::json;
using Headers = std::vector<std::pair<std::string, std::string>>;

// Record types the brex plugin turns into expenses (card and reimbursement posts and refunds).
bool IsExpenseType(const std::string& type) {
  static const std::set<std::string> kTypes = {"CARD_EXPENSE_POST", "CARD_EXPENSE_REFUND",
                                               "REIMBURSEMENT_EXPENSE_POST", "REIMBURSEMENT_EXPENSE_APPROVAL",
                                               "REIMBURSEMENT_EXPENSE_MONEY_MOVEMENT_REFUND"};
  return kTypes.count(type) > 0;
}

Result<json> JsonCall(CurlClient& client, const std::string& method, const std::string& url,
                      const Headers& headers, const std::string& body = {},
                      const MultipartFile* file = nullptr) {
  MLC_ASSIGN_OR_RETURN(CurlResponse r, client.Send(method, url, headers, body, file));
  if (r.status < 200 || r.status >= 300) {
    return Status::Error(method + " " + url + ": HTTP " + std::to_string(r.status) + ": " +
                         r.body.substr(0, 200));
  }
  json doc = json::parse(r.body, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) return Status::Error(method + " " + url + ": the answer is not JSON");
  return doc;
}

const json& At(const json& doc, std::initializer_list<const char*> path) {
  static const json kNull;
  const json* at = &doc;
  for (const char* key : path) {
    if (!at->is_object() || !at->contains(key)) return kNull;
    at = &(*at)[key];
  }
  return *at;
}

std::string Text(const json& v) { return v.is_string() ? v.get<std::string>() : v.is_null() ? "" : v.dump(); }

// One record on its way from the reader to a writer.
struct Item {
  std::string record_id;
  std::string amount;  // decimal text exactly as Brex sent it
  std::string currency;
  std::string date;  // YYYY-MM-DD
  std::string vendor;
  std::string memo;
  std::optional<MultipartFile> receipt;
};

class Queue {
 public:
  void Push(Item item) {
    {
      std::lock_guard lock(mu_);
      items_.push_back(std::move(item));
    }
    cv_.notify_one();
  }
  void Close() {
    {
      std::lock_guard lock(mu_);
      closed_ = true;
    }
    cv_.notify_all();
  }
  std::optional<Item> Pop() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return closed_ || !items_.empty(); });
    if (items_.empty()) return std::nullopt;
    Item item = std::move(items_.front());
    items_.pop_front();
    return item;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Item> items_;
  bool closed_ = false;
};

}  // namespace

Result<CeilingResult> RunCeiling(const CeilingOptions& o) {
  CeilingResult result;
  const auto started = std::chrono::steady_clock::now();
  const Headers brex = {{"Authorization", "Bearer " + o.brex_token}};
  CurlClient main;

  // FreshBooks: an access token (refresh grant), the account, a category and the bill vendors it has.
  const std::string form = "grant_type=refresh_token&refresh_token=" + CurlClient::Escape(o.refresh_token) +
                           "&client_id=" + CurlClient::Escape(o.client_id) +
                           "&client_secret=" + CurlClient::Escape(o.client_secret);
  MLC_ASSIGN_OR_RETURN(json token, JsonCall(main, "POST", o.freshbooks_auth_url + "/auth/oauth/token",
                                            {{"Content-Type", "application/x-www-form-urlencoded"}}, form));
  const Headers fb = {{"Authorization", "Bearer " + Text(At(token, {"access_token"}))},
                      {"Content-Type", "application/json"}};
  MLC_ASSIGN_OR_RETURN(json me, JsonCall(main, "GET", o.freshbooks_base_url + "/auth/api/v1/users/me", fb));
  std::string account;
  for (const json& m : At(me, {"response", "business_memberships"})) {
    account = Text(At(m, {"business", "account_id"}));
    if (!account.empty()) break;
  }
  if (account.empty()) return Status::Error("users/me names no account");
  // The authorising user's staff id, as the plugin sends it (users/me roles[].userid of the account).
  json staff_id;
  for (const json& r : At(me, {"response", "roles"})) {
    if (r.is_object() && Text(At(r, {"accountid"})) == account && Text(At(r, {"role"})) != "client" &&
        At(r, {"userid"}).is_number_integer()) {
      staff_id = At(r, {"userid"});
      break;
    }
  }
  if (staff_id.is_null()) return Status::Error("users/me names no staff role on the account");
  const std::string api = o.freshbooks_base_url + "/accounting/account/" + account;
  MLC_ASSIGN_OR_RETURN(json cats,
                       JsonCall(main, "GET", api + "/expenses/categories?page=1&per_page=100", fb));
  const json& categories = At(cats, {"response", "result", "categories"});
  if (!categories.is_array() || categories.empty())
    return Status::Error("FreshBooks has no expense category");
  const std::string category =
      Text(categories[0].contains("id") ? categories[0]["id"] : categories[0]["categoryid"]);

  // Vendors: Brex's vendors that FreshBooks does not have yet become bill vendors.
  std::set<std::string> fb_vendors;
  for (int page = 1;; ++page) {
    MLC_ASSIGN_OR_RETURN(json doc, JsonCall(main, "GET",
                                            api + "/bill_vendors/bill_vendors?page=" + std::to_string(page) +
                                                "&per_page=" + std::to_string(o.page_size),
                                            fb));
    const json& vendors = At(doc, {"response", "result", "bill_vendors"});
    if (!vendors.is_array()) return Status::Error("GET bill_vendors: no bill_vendors array");
    for (const json& v : vendors) fb_vendors.insert(Text(At(v, {"vendor_name"})));
    const json& pages = At(doc, {"response", "result", "pages"});
    if (!pages.is_number_integer() || page >= pages.get<int>()) break;
  }
  std::string cursor;
  do {
    std::string url = o.brex_base_url + "/v1/vendors?limit=" + std::to_string(o.page_size);
    if (!cursor.empty()) url += "&cursor=" + CurlClient::Escape(cursor);
    MLC_ASSIGN_OR_RETURN(json page, JsonCall(main, "GET", url, brex));
    const json& items = At(page, {"items"});
    if (!items.is_array()) return Status::Error("GET /v1/vendors: no items array");
    for (const json& v : items) {
      const std::string name = Text(At(v, {"company_name"}));
      if (name.empty() || fb_vendors.count(name)) continue;
      MLC_RETURN_IF_ERROR(JsonCall(main, "POST", api + "/bill_vendors/bill_vendors", fb,
                                   json{{"bill_vendor", {{"vendor_name", name}}}}.dump())
                              .status());
      fb_vendors.insert(name);
      ++result.vendors;
    }
    cursor = Text(At(page, {"next_cursor"}));
  } while (!cursor.empty());

  // Writers: receipt upload, expense, export results in batches.
  Queue queue;
  std::mutex mu;
  Status first_error;
  std::atomic<int64_t> created{0}, receipts{0}, acked{0};
  auto fail = [&](const Status& s) {
    std::lock_guard lock(mu);
    if (first_error.ok()) first_error = s;
  };
  auto report = [&](CurlClient& client, const std::vector<std::string>& ids) {
    if (ids.empty()) return;
    json results = json::array();
    for (const auto& id : ids) {
      results.push_back(
          {{"accounting_record_id", id},
           {"success", {{"reference_id", nullptr}, {"deep_link_url", "https://example.invalid/"}}}});
    }
    auto r = JsonCall(client, "POST", o.brex_base_url + "/v3/accounting/records/export-results",
                      {brex[0], {"Content-Type", "application/json"}}, json{{"results", results}}.dump());
    if (!r.ok()) return fail(r.status());
    acked += static_cast<int64_t>(ids.size());
  };
  std::vector<std::thread> writers;
  for (int i = 0; i < std::max(1, o.workers); ++i) {
    writers.emplace_back([&] {
      CurlClient client;
      std::vector<std::string> batch;
      while (auto item = queue.Pop()) {
        json expense = {{"amount", {{"amount", item->amount}, {"code", item->currency}}},
                        {"categoryid", category},
                        {"staffid", staff_id},
                        {"date", item->date},
                        {"vendor", item->vendor},
                        {"notes", item->memo + "\nmlc:" + item->record_id}};
        if (item->receipt) {
          auto up =
              JsonCall(client, "POST", o.freshbooks_base_url + "/uploads/account/" + account + "/attachments",
                       {fb[0]}, {}, &*item->receipt);
          if (!up.ok()) return fail(up.status());
          const json& attachment = At(*up, {"response", "result", "attachment"}).is_object()
                                       ? At(*up, {"response", "result", "attachment"})
                                       : At(*up, {"attachment"});
          expense["attachment"] = {{"jwt", At(attachment, {"jwt"})},
                                   {"media_type", Text(At(attachment, {"media_type"}))}};
          ++receipts;
        }
        auto made =
            JsonCall(client, "POST", api + "/expenses/expenses", fb, json{{"expense", expense}}.dump());
        if (!made.ok()) return fail(made.status());
        ++created;
        batch.push_back(item->record_id);
        if (static_cast<int>(batch.size()) >= o.ack_batch) {
          report(client, batch);
          batch.clear();
        }
      }
      report(client, batch);
    });
  }

  // The reader: ready records page by page, each record's expense, each card once, each receipt.
  std::map<std::string, bool> cards;  // card id -> read
  cursor.clear();
  Status read_status;
  do {
    std::string url = o.brex_base_url + "/v3/accounting/records?review_status=READY_FOR_EXPORT&limit=" +
                      std::to_string(o.page_size);
    if (!cursor.empty()) url += "&cursor=" + CurlClient::Escape(cursor);
    auto page = JsonCall(main, "GET", url, brex);
    if (!page.ok()) {
      read_status = page.status();
      break;
    }
    const json& items = At(*page, {"items"});
    if (!items.is_array()) {
      read_status = Status::Error("GET /v3/accounting/records: no items array");
      break;
    }
    for (const json& r : items) {
      if (!IsExpenseType(Text(At(r, {"type"})))) continue;
      Item item;
      item.record_id = Text(At(r, {"id"}));
      item.amount = At(r, {"amount", "amount"}).dump();
      item.currency = Text(At(r, {"amount", "currency"}));
      item.date = Text(At(r, {"posted_at"})).substr(0, 10);
      item.memo = Text(At(r, {"memo"}));
      const std::string expense_id = Text(At(r, {"source_id"}));
      if (!expense_id.empty()) {
        auto e = JsonCall(main, "GET",
                          o.brex_base_url + "/v1/expenses/" + CurlClient::Escape(expense_id) +
                              "?expand%5B%5D=merchant&expand%5B%5D=payment&load_custom_fields=true",
                          brex);
        if (!e.ok()) {
          read_status = e.status();
          break;
        }
        item.vendor = Text(At(*e, {"merchant", "raw_descriptor"}));
        const json& instrument = At(*e, {"payment", "payment_instrument"});
        const std::string card = Text(At(instrument, {"id"}));
        if (At(instrument, {"type"}) == "CARD" && !card.empty() && !cards.count(card)) {
          cards[card] = true;
          (void)main.Send("GET", o.brex_base_url + "/v2/cards/" + card, brex);
        }
      }
      const json& rc = At(r, {"receipts"});
      if (rc.is_array() && !rc.empty() && At(rc[0], {"download_uris"}).is_array() &&
          !rc[0]["download_uris"].empty()) {
        auto bytes = main.Send("GET", Text(rc[0]["download_uris"][0]));
        if (!bytes.ok() || bytes->status != 200) {
          read_status = bytes.ok() ? Status::Error("receipt download: HTTP " + std::to_string(bytes->status))
                                   : bytes.status();
          break;
        }
        item.receipt = MultipartFile{"content", Text(At(rc[0], {"id"})) + ".pdf", std::move(bytes->body)};
      }
      ++result.records;
      queue.Push(std::move(item));
    }
    if (!read_status.ok()) break;
    cursor = At(*page, {"has_next_page"}) == true ? Text(At(*page, {"next_cursor"})) : "";
  } while (!cursor.empty());
  queue.Close();
  for (auto& t : writers) t.join();
  result.wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  MLC_RETURN_IF_ERROR(read_status);
  MLC_RETURN_IF_ERROR(first_error);
  result.created = created;
  result.receipts = receipts;
  result.acked = acked;
  return result;
}

}  // namespace mlc::bench
