// Seed data for the FreshBooks emulator: the business "Agency Co" with a FreshBooks-style expense category
// chart, journal entry and ledger accounts, ~30 bill vendors of a creative agency, and expenses, bills, bill
// payments and invoice payments, all drawn from the seed (dates start at Settings::seed_start_date).
#include <algorithm>

#include "freshbooks_internal.hpp"
#include "mlc/sandbox/crypto.hpp"

namespace mlc::sandbox::freshbooks {

namespace {

struct CategorySpec {
  std::string name;
  std::vector<std::string> children;
  bool cogs = false;
};

// FreshBooks' default expense categories (the system chart, not editable), plus the agency's own
// cost-of-goods children for rebillable media.
const std::vector<CategorySpec>& CategoryChart() {
  static const std::vector<CategorySpec> kChart = {
      {"Advertising", {}},
      {"Car & Truck Expenses", {"Gas", "Mileage", "Repairs", "Vehicle Insurance", "Vehicle Licenses"}},
      {"Contractors", {}},
      {"Education and Training", {}},
      {"Employee Benefits", {"Accident Insurance", "Health Insurance", "Life Insurance"}},
      {"Meals & Entertainment", {"Entertainment", "Restaurants/Dining"}},
      {"Office Expenses & Postage",
       {"Hardware", "Office Supplies", "Packaging", "Postage", "Printing", "Shipping & Couriers", "Software",
        "Stationery"}},
      {"Other Expenses",
       {"Bank Fees", "Business Insurance", "Commissions", "Depreciation", "Interest - Mortgage",
        "Interest - Other", "Online Services", "Reference Materials", "Repairs & Maintenance",
        "Subscriptions/Dues/Memberships", "Taxes & Licenses", "Wages"}},
      {"Personal", {}},
      {"Professional Services", {"Accounting", "Legal Fees"}},
      {"Rent or Lease", {"Equipment", "Machinery", "Office Space", "Vehicles"}},
      {"Supplies", {}},
      {"Travel", {"Airfare", "Hotel/Lodging/Accommodation", "Taxi & Parking"}},
      {"Utilities", {"Gas & Electrical", "Phone"}},
      {"Cost of Goods Sold", {"Media Buying (Rebillable)", "Production"}, true},
  };
  return kChart;
}

struct VendorSpec {
  std::string name;
  std::string category;  // what its bills are booked to
  int64_t min_cents;
  int64_t max_cents;
  bool is_1099;      // freelancers and small studios
  std::string line;  // bill line description
};

// AP vendors of a creative/media agency: the kit's list plus SaaS billed by invoice, landlords, utilities,
// media owners and research firms.
const std::vector<VendorSpec>& AgencyBillVendors() {
  static const std::vector<VendorSpec> kVendors = [] {
    std::vector<VendorSpec> v = {
        {"Harbor Lane Productions", "Production", 450000, 2400000, false, "Video production"},
        {"Pixel & Pine Studio", "Contractors", 120000, 850000, true, "Design sprint"},
        {"Northwind Print Co", "Printing", 35000, 420000, false, "Print run"},
        {"Lumen Casting Agency", "Contractors", 80000, 600000, true, "Casting session"},
        {"Blue Ridge Photo Co", "Contractors", 150000, 900000, true, "Photo shoot"},
        {"Kestrel Motion Graphics", "Contractors", 200000, 1200000, true, "Motion graphics package"},
        {"Fieldnote Research", "Professional Services", 300000, 1500000, false, "Consumer research study"},
        {"Oakline Properties LLC", "Office Space", 1850000, 1850000, false, "Monthly office rent"},
        {"Signal Path Translations", "Professional Services", 25000, 180000, true,
         "Translation and localization"},
        {"Copperleaf Catering", "Entertainment", 60000, 380000, false, "Client workshop catering"},
        {"Ridgeway IT Services", "Online Services", 90000, 450000, false, "Managed IT services"},
        {"Marlow & Finch LLP", "Legal Fees", 150000, 950000, false, "Legal review of client contracts"},
        {"Getty Images", "Subscriptions/Dues/Memberships", 49900, 249900, false, "Stock image licenses"},
        {"Shutterstock", "Subscriptions/Dues/Memberships", 29900, 129900, false, "Stock footage licenses"},
        {"WeWork", "Office Space", 65000, 240000, false, "Meeting rooms and hot desks"},
        {"Comcast Business", "Phone", 18999, 34999, false, "Business internet and phone"},
        {"PG&E", "Gas & Electrical", 42000, 135000, false, "Electricity and gas"},
        {"FedEx", "Shipping & Couriers", 4500, 68000, false, "Courier shipments"},
        {"Staples Business Advantage", "Office Supplies", 8900, 98000, false, "Office supplies"},
        {"Frame.io", "Software", 45000, 45000, false, "Review and approval seats"},
        {"Vimeo", "Software", 24000, 90000, false, "Video hosting plan"},
        {"HubSpot", "Software", 80000, 360000, false, "Marketing hub subscription"},
        {"Gusto", "Software", 14900, 52000, false, "Payroll platform"},
        {"Sprout Social", "Software", 49900, 149900, false, "Social media management"},
        {"Meltwater", "Software", 120000, 480000, false, "Media monitoring"},
        {"Cision", "Software", 95000, 390000, false, "PR distribution"},
        {"Clear Channel Outdoor", "Media Buying (Rebillable)", 900000, 6500000, false, "Billboard flight"},
        {"Spotify Advertising", "Media Buying (Rebillable)", 250000, 2200000, false, "Audio ad campaign"},
        {"Nielsen", "Professional Services", 400000, 1800000, false, "Audience measurement report"},
        {"Kantar", "Professional Services", 350000, 1600000, false, "Brand lift study"},
    };
    return v;
  }();
  return kVendors;
}

const VendorSpec* FindVendorSpec(const std::string& name) {
  for (const auto& v : AgencyBillVendors()) {
    if (v.name == name) return &v;
  }
  return nullptr;
}

std::string CategoryFor(SpendKind kind) {
  switch (kind) {
    case SpendKind::kSoftware:
      return "Software";
    case SpendKind::kCloud:
      return "Online Services";
    case SpendKind::kAirfare:
      return "Airfare";
    case SpendKind::kRideshare:
      return "Taxi & Parking";
    case SpendKind::kLodging:
      return "Hotel/Lodging/Accommodation";
    case SpendKind::kAds:
      return "Advertising";
    case SpendKind::kMeals:
      return "Restaurants/Dining";
    case SpendKind::kOffice:
      return "Office Supplies";
  }
  return "Supplies";
}

std::string Slug(const std::string& name) {
  std::string out;
  for (char c : name) {
    if (std::isalnum(static_cast<unsigned char>(c))) out.push_back(static_cast<char>(std::tolower(c)));
  }
  return out;
}

std::string Usd(int64_t cents) { return *money::FormatDecimal(cents, "USD"); }

// 09:00 Eastern on `day` plus `minutes`.
TimePoint AtEastern(int64_t day, int64_t minutes) {
  return *ParseEastern(FormatCivilDate(day) + " 09:00:00") + std::chrono::minutes(minutes);
}

}  // namespace

void FreshBooksEmulator::SeedIdentity() {
  // A separate stream so the identity does not shift when the data generators change.
  SeededRng r(options_.seed ^ 0x1D5EEDULL);
  Identity& id = identity_;
  id.account_id = r.Base62(6);
  id.business_id = r.Uniform(1000000, 9999999);
  id.business_uuid = RandomUuid(r);
  id.identity_id = r.Uniform(10000000, 99999999);
  id.identity_uuid = RandomUuid(r);
  id.membership_id = r.Uniform(100000, 999999);
  const Person& owner = AgencyPeople().front();
  id.first_name = owner.first_name;
  id.last_name = owner.last_name;
  id.email = Slug(owner.first_name) + "." + Slug(owner.last_name) + "@agencyco.example";
  id.client_id = HexEncode(r.Bytes(32));
  id.client_secret = HexEncode(r.Bytes(32));
  id.access_token = r.Base62(64);
  id.refresh_token = r.Base62(64);
  id.scope = std::string(kDefaultScope);
  id.jwt_key = r.Bytes(32);
}

nlohmann::json FreshBooksEmulator::RandomExpenseInput(SeededRng& rng, int64_t day) const {
  const Merchant& m = rng.Pick(AgencyMerchants());
  const Person& p = rng.Pick(AgencyPeople());
  const std::string client = rng.Pick(AgencyClients());
  const int64_t cents = m.RandomAmountCents(rng);
  nlohmann::json in = {
      {"amount", {{"amount", Usd(cents)}, {"code", "USD"}}},
      {"categoryid", std::to_string(CategoryIdByName(CategoryFor(m.kind)))},
      {"staffid", identity_.user_id},
      {"date", FormatCivilDate(day)},
      {"vendor", m.name},
      {"notes", CardDescriptor(m, rng) + " · " + p.first_name + " " + p.last_name + " · " + client}};
  if (m.kind == SpendKind::kMeals && rng.Chance(0.3)) {
    // NYC sales tax on meals; the amount stays tax-inclusive as card spend is.
    in["taxName1"] = "Sales Tax";
    in["taxPercent1"] = "8.875";
    in["taxAmount1"] = {{"amount", Usd(ApplyPercent(cents, "8.875"))}, {"code", "USD"}};
  }
  return in;
}

nlohmann::json FreshBooksEmulator::RandomVendorInput(SeededRng& rng, const std::string& name) const {
  static const std::vector<std::pair<std::string, std::string>> kCities = {{"San Francisco", "California"},
                                                                           {"Oakland", "California"},
                                                                           {"Los Angeles", "California"},
                                                                           {"New York", "New York"},
                                                                           {"Brooklyn", "New York"},
                                                                           {"Chicago", "Illinois"},
                                                                           {"Austin", "Texas"},
                                                                           {"Seattle", "Washington"},
                                                                           {"Portland", "Oregon"}};
  static const std::vector<std::string> kFirst = {"Jamie", "Alex",  "Morgan", "Sam",   "Taylor", "Jordan",
                                                  "Riley", "Casey", "Avery",  "Quinn", "Rowan",  "Elena"};
  static const std::vector<std::string> kLast = {"Nguyen", "Patel", "Garcia", "Kim",   "Schmidt", "Okoro",
                                                 "Rossi",  "Cohen", "Silva",  "Novak", "Brennan", "Haddad"};
  static const std::vector<std::string> kStreets = {"Market St", "Mission St", "Broadway",  "Valencia St",
                                                    "Howard St", "Folsom St",  "Grand Ave", "Lake Shore Dr"};
  const VendorSpec* spec = FindVendorSpec(name);
  const auto& city = rng.Pick(kCities);
  const std::string first = rng.Pick(kFirst);
  const std::string last = rng.Pick(kLast);
  const std::string domain = Slug(name) + ".com";
  return {{"vendor_name", name},
          {"primary_contact_first_name", first},
          {"primary_contact_last_name", last},
          {"primary_contact_email", Slug(first) + "." + Slug(last) + "@" + domain},
          {"street", std::to_string(rng.Uniform(10, 2999)) + " " + rng.Pick(kStreets)},
          {"street2", nullptr},
          {"city", city.first},
          {"province", city.second},
          {"postal_code", rng.Digits(5)},
          {"country", "United States"},
          {"account_number", rng.Digits(8)},
          {"phone", rng.Pick(std::vector<std::string>{"415", "510", "212", "718", "312", "512"}) + "555" +
                        rng.Digits(4)},
          {"website", domain},
          {"currency_code", "USD"},
          {"language", "en"},
          {"is_1099", spec ? spec->is_1099 : rng.Chance(0.3)},
          {"tax_defaults", nlohmann::json::array()}};
}

nlohmann::json FreshBooksEmulator::RandomBillInput(SeededRng& rng, int64_t day) const {
  std::vector<const Record*> live;
  for (const auto& [id, v] : vendors_) {
    if (v.vis_state != kDeleted) live.push_back(&v);
  }
  if (live.empty()) return nlohmann::json::object();  // rejected by validation: a bill needs a vendor
  const Record& vendor = *rng.Pick(live);
  const VendorSpec* spec = FindVendorSpec(vendor.data["vendor_name"].get<std::string>());
  const std::string category = spec ? spec->category : "Contractors";
  const std::string line = spec ? spec->line : "Services";
  const int64_t lo = spec ? spec->min_cents : 50000, hi = spec ? spec->max_cents : 500000;
  const std::string client = rng.Pick(AgencyClients());
  nlohmann::json lines = nlohmann::json::array();
  const int64_t n = rng.Chance(0.25) ? rng.Uniform(2, 3) : 1;
  for (int64_t i = 0; i < n; ++i) {
    lines.push_back({{"categoryid", std::to_string(CategoryIdByName(category))},
                     {"description", line + (client == "Internal" ? "" : " — " + client)},
                     {"quantity", rng.Chance(0.8) ? 1 : rng.Uniform(2, 4)},
                     {"unit_cost", {{"amount", Usd(rng.Uniform(lo, hi))}, {"code", "USD"}}},
                     {"tax_name1", nullptr},
                     {"tax_percent1", nullptr},
                     {"tax_name2", nullptr},
                     {"tax_percent2", nullptr},
                     {"compounded_tax", false}});
  }
  static const std::vector<int64_t> kTerms = {0, 15, 30, 30, 45};
  return {{"vendorid", std::to_string(vendor.id)},
          {"bill_number", rng.Chance(0.9) ? nlohmann::json("INV-" + rng.Digits(5)) : nlohmann::json()},
          {"issue_date", FormatCivilDate(day)},
          {"due_offset_days", rng.Pick(kTerms)},
          {"currency_code", "USD"},
          {"language", "en"},
          {"lines", lines},
          {"attachment", nullptr}};
}

nlohmann::json FreshBooksEmulator::RandomPaymentInput(SeededRng& rng, int64_t day) const {
  if (invoices_.empty()) return nlohmann::json::object();
  auto it = invoices_.begin();
  std::advance(it, rng.Uniform(0, static_cast<int64_t>(invoices_.size()) - 1));
  static const std::vector<std::string> kTypes = {"Check", "Bank Transfer", "ACH", "Credit Card"};
  return {{"invoiceid", it->first},
          {"amount", {{"amount", Usd(it->second.amount.minor)}, {"code", it->second.amount.currency}}},
          {"date", FormatCivilDate(day)},
          {"type", rng.Pick(kTypes)},
          {"note", "Payment for invoice " + it->second.invoice_number}};
}

void FreshBooksEmulator::SeedLocked() {
  rng_ = SeededRng(options_.seed);
  events_rng_ = SeededRng(options_.seed ^ 0xE7E17ULL);
  expenses_.clear();
  categories_.clear();
  bills_.clear();
  vendors_.clear();
  bill_payments_.clear();
  payments_.clear();
  invoices_.clear();
  journal_entry_accounts_.clear();
  ledger_accounts_.clear();
  attachments_.clear();
  attachment_by_jwt_.clear();
  callbacks_.clear();
  events_emitted_ = 0;
  // Ids look like FreshBooks' (expenses in the millions, categories around 2 million).
  next_ids_ = {{"expenses", 1825001}, {"categories", 2003101}, {"bills", 1001},   {"bill_vendors", 1},
               {"bill_payments", 1},  {"payments", 20001},     {"bill_lines", 1}, {"attachments", 8601},
               {"callbacks", 2001},   {"invoices", 100001}};
  const int64_t start = *ParseCivilDate(settings_.seed_start_date);
  const TimePoint opened = AtEastern(start - 400, 65);  // the business signed up about a year earlier

  // Expense categories: system chart, parents before children.
  for (const auto& spec : CategoryChart()) {
    Record parent;
    parent.id = NextId("categories");
    parent.data = {{"category", spec.name},
                   {"parentid", nullptr},
                   {"is_cogs", spec.cogs},
                   {"is_editable", spec.cogs},
                   {"transaction_posted", true}};
    parent.created = parent.updated = opened;
    categories_[parent.id] = parent;
    for (const auto& child : spec.children) {
      Record c;
      c.id = NextId("categories");
      c.data = {{"category", child},
                {"parentid", parent.id},
                {"is_cogs", spec.cogs},
                {"is_editable", spec.cogs},
                {"transaction_posted", rng_.Chance(0.6)}};
      c.created = c.updated = opened;
      categories_[c.id] = c;
    }
  }

  // Journal entry accounts (legacy chart; FB-NODE JournalEntryAccount.test.ts shape).
  {
    int64_t next = 3100001;
    const std::string created = FormatEastern(opened);
    auto account = [&](const std::string& name, const std::string& number, const std::string& type,
                       const std::vector<std::string>& subs) {
      const int64_t id = next++;
      nlohmann::json sub_accounts = nlohmann::json::array();
      int n = 1;
      for (const auto& s : subs) {
        const int64_t sid = next++;
        sub_accounts.push_back({{"account_sub_name", s},
                                {"account_sub_number", std::to_string(n++)},
                                {"account_type", type},
                                {"balance", "0"},
                                {"created_at", created},
                                {"currency_code", "USD"},
                                {"custom", type == "income" || type == "cost_of_goods_sold"},
                                {"id", sid},
                                {"parentid", id},
                                {"sub_accountid", sid},
                                {"transaction_posted", true}});
      }
      journal_entry_accounts_.push_back({{"account_name", name},
                                         {"account_number", number},
                                         {"account_type", type},
                                         {"accountid", id},
                                         {"balance", "0"},
                                         {"created_at", created},
                                         {"currency_code", "USD"},
                                         {"id", id},
                                         {"sub_accounts", sub_accounts}});
    };
    std::vector<std::string> expense_subs;
    for (const auto& spec : CategoryChart()) {
      if (!spec.cogs) expense_subs.push_back(spec.name);
    }
    account("Cash", "1000", "asset", {"Operating Account", "Petty Cash"});
    account("Accounts Receivable", "1200", "asset", {});
    account("Accounts Payable", "2000", "liability", {});
    account("Credit Card", "2100", "liability", {"Brex Card"});
    account("Sales Taxes Payable", "2200", "liability", {});
    account("Owner's Equity", "3000", "equity", {});
    account("Sales", "4000", "income", {"Creative Services", "Media Services"});
    account("Cost of Goods Sold", "5000", "cost_of_goods_sold", {"Media Buying (Rebillable)", "Production"});
    account("Operating Expenses", "6000", "expense", expense_subs);
  }

  // Ledger accounts (the business_uuid API).
  {
    auto add = [&](const std::string& name, const std::string& number, const std::string& type,
                   const std::string& sub_type, const std::string& system_name, const std::string& parent,
                   bool auto_created) {
      LedgerAccount a;
      a.uuid = RandomUuid(rng_);
      a.name = name;
      a.number = number;
      a.description = "";
      a.type = type;
      a.sub_type = sub_type;
      a.system_account_name = system_name;
      a.parent = parent;
      a.auto_created = auto_created;
      a.updated = opened;
      ledger_accounts_.push_back(a);
      return a.uuid;
    };
    const std::string cash = add("Cash", "1000", "asset", "Cash & Bank", "Cash", "", true);
    add("Petty Cash", "1000-1", "asset", "Cash & Bank", "Petty Cash", cash, false);
    add("Accounts Receivable", "1200", "asset", "Accounts Receivable", "Accounts Receivable", "", true);
    add("Accounts Payable", "2000", "liability", "Accounts Payable", "Accounts Payable", "", true);
    add("Brex Card", "2100", "liability", "Credit Card", "", "", false);
    add("Owner's Equity", "3000", "equity", "Equity", "Owner's Equity", "", true);
    add("Sales", "4000", "income", "Income", "Sales", "", true);
    const std::string opex = add("Operating Expenses", "6000", "expense", "Expense", "", "", true);
    int n = 1;
    for (const char* name :
         {"Advertising", "Software", "Travel", "Meals & Entertainment", "Office Expenses"}) {
      add(name, "60" + std::to_string(n++) + "0", "expense", "Expense", "", opex, false);
    }
  }

  std::vector<FieldError> errors;
  // Bill vendors.
  for (size_t i = 0; i < AgencyBillVendors().size(); ++i) {
    Record v;
    errors.clear();
    ApplyVendor(RandomVendorInput(rng_, AgencyBillVendors()[i].name), nullptr, &v, &errors);
    if (!errors.empty()) continue;
    v.id = NextId("bill_vendors");
    v.created = v.updated = AtEastern(start - 60 + static_cast<int64_t>(i), rng_.Uniform(0, 480));
    vendors_[v.id] = v;
  }

  const int64_t records = std::max(0, options_.records);
  auto sorted_days = [&](int64_t n) {
    std::vector<int64_t> days;
    for (int64_t i = 0; i < n; ++i) days.push_back(start + rng_.Uniform(0, 179));
    std::sort(days.begin(), days.end());
    return days;
  };

  // Expenses: card and out-of-pocket spend; a few deleted and archived, as a live account has.
  for (int64_t day : sorted_days(records)) {
    Record e;
    errors.clear();
    ApplyExpense(RandomExpenseInput(rng_, day), nullptr, &e, &errors);
    if (!errors.empty()) continue;
    e.id = NextId("expenses");
    e.created = AtEastern(day, rng_.Uniform(0, 600));
    e.updated = e.created + std::chrono::minutes(rng_.Uniform(0, 3 * 24 * 60));
    const double u = rng_.Unit();
    e.vis_state = u < 0.04 ? kDeleted : (u < 0.08 ? kArchived : kActive);
    expenses_[e.id] = e;
  }
  ReindexExpenses();

  // Bills, some paid in full, some in part.
  for (int64_t day : sorted_days(records / 2)) {
    Record b;
    errors.clear();
    ApplyBill(RandomBillInput(rng_, day), nullptr, &b, &errors);
    if (!errors.empty()) continue;
    b.id = NextId("bills");
    b.created = b.updated = AtEastern(day, rng_.Uniform(0, 540));
    b.vis_state = rng_.Chance(0.03) ? kDeleted : kActive;
    bills_[b.id] = b;
    if (b.vis_state == kDeleted) continue;
    const double u = rng_.Unit();
    if (u >= 0.65) continue;
    const BillTotals t = ComputeBill(b);
    const int64_t amount = u < 0.45 ? t.total : t.total / 2;
    if (amount <= 0) continue;
    const int64_t paid_day = day + rng_.Uniform(0, b.data["due_offset_days"].get<int64_t>() + 10);
    static const std::vector<std::string> kTypes = {"Bank Transfer", "ACH", "Check", "Credit Card"};
    Record p;
    errors.clear();
    ApplyBillPayment({{"billid", b.id},
                      {"amount", {{"amount", Usd(amount)}, {"code", t.currency}}},
                      {"paid_date", FormatCivilDate(paid_day)},
                      {"payment_type", rng_.Pick(kTypes)},
                      {"note", nullptr}},
                     nullptr, &p, &errors);
    if (!errors.empty()) continue;
    p.id = NextId("bill_payments");
    p.created = p.updated = AtEastern(paid_day, rng_.Uniform(0, 480));
    bill_payments_[p.id] = p;
    bills_[b.id].updated = std::max(bills_[b.id].updated, p.updated);
  }

  // Invoices (payment targets only) and the payments clients made against them.
  std::vector<std::string> clients;
  for (const auto& c : AgencyClients()) {
    if (c != "Internal") clients.push_back(c);
  }
  const int64_t invoice_count = records == 0 ? 0 : std::max<int64_t>(3, records / 5);
  for (int64_t i = 0; i < invoice_count; ++i) {
    Invoice inv;
    inv.id = NextId("invoices");
    inv.invoice_number = "000" + std::to_string(100 + i);
    const size_t client = static_cast<size_t>(rng_.Uniform(0, static_cast<int64_t>(clients.size()) - 1));
    inv.client = clients[client];
    inv.clientid = 5001 + static_cast<int64_t>(client);
    inv.amount = {rng_.Uniform(250000, 4800000), "USD"};
    invoices_[inv.id] = inv;
  }
  for (const auto& [id, inv] : invoices_) {
    if (!rng_.Chance(0.7)) continue;
    const int64_t day = start + rng_.Uniform(20, 179);
    Record p;
    errors.clear();
    ApplyPayment({{"invoiceid", id},
                  {"amount", {{"amount", Usd(inv.amount.minor)}, {"code", inv.amount.currency}}},
                  {"date", FormatCivilDate(day)},
                  {"type", rng_.Chance(0.5) ? "ACH" : "Check"},
                  {"note", "Payment for invoice " + inv.invoice_number}},
                 nullptr, &p, &errors);
    if (!errors.empty()) continue;
    p.id = NextId("payments");
    p.created = p.updated = AtEastern(day, rng_.Uniform(0, 480));
    payments_[p.id] = p;
  }

  // --webhook-url: callbacks already registered and verified, so events flow without the handshake.
  if (!options_.webhook_url.empty()) {
    for (const char* event : {"expense", "bill", "bill_vendor", "payment"}) {
      Callback cb;
      cb.id = NextId("callbacks");
      cb.event = event;
      cb.uri = options_.webhook_url;
      cb.verifier = rng_.Base62(32);
      cb.verified = true;
      cb.updated = opened;
      callbacks_[cb.id] = cb;
    }
  }
}

}  // namespace mlc::sandbox::freshbooks
