// Seeded RNG (xoshiro256** seeded by splitmix64) and the agency spend lists for emulator seed data.
#include "mlc/sandbox/seed.hpp"

namespace mlc::sandbox {

namespace {
uint64_t SplitMix(uint64_t& x) {
  uint64_t z = (x += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}
uint64_t Rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

std::string FromAlphabet(SeededRng& rng, std::string_view alphabet, size_t n) {
  std::string out;
  out.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    out.push_back(alphabet[static_cast<size_t>(rng.Uniform(0, static_cast<int64_t>(alphabet.size()) - 1))]);
  }
  return out;
}
}  // namespace

SeededRng::SeededRng(uint64_t seed) {
  uint64_t x = seed;
  for (auto& s : s_) s = SplitMix(x);
}

uint64_t SeededRng::Next() {
  const uint64_t result = Rotl(s_[1] * 5, 7) * 9;
  const uint64_t t = s_[1] << 17;
  s_[2] ^= s_[0];
  s_[3] ^= s_[1];
  s_[1] ^= s_[2];
  s_[0] ^= s_[3];
  s_[2] ^= t;
  s_[3] = Rotl(s_[3], 45);
  return result;
}

int64_t SeededRng::Uniform(int64_t lo, int64_t hi) {
  if (hi <= lo) return lo;
  const uint64_t range = static_cast<uint64_t>(hi) - static_cast<uint64_t>(lo) + 1;
  if (range == 0) return static_cast<int64_t>(Next());  // the full 64-bit range
  // Rejection sampling keeps the result unbiased and identical on every platform.
  const uint64_t limit = UINT64_MAX - UINT64_MAX % range;
  uint64_t v;
  do {
    v = Next();
  } while (v >= limit);
  return static_cast<int64_t>(static_cast<uint64_t>(lo) + v % range);
}

double SeededRng::Unit() { return static_cast<double>(Next() >> 11) * 0x1.0p-53; }
bool SeededRng::Chance(double p) { return Unit() < p; }
std::string SeededRng::Alnum(size_t n) {
  return FromAlphabet(*this, "abcdefghijklmnopqrstuvwxyz0123456789", n);
}
std::string SeededRng::UpperAlnum(size_t n) {
  return FromAlphabet(*this, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", n);
}
std::string SeededRng::Digits(size_t n) { return FromAlphabet(*this, "0123456789", n); }
std::string SeededRng::Base62(size_t n) {
  return FromAlphabet(*this, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", n);
}
std::string SeededRng::Bytes(size_t n) {
  std::string out;
  out.reserve(n);
  for (size_t i = 0; i < n; ++i) out.push_back(static_cast<char>(Next() >> 56));
  return out;
}

std::string_view SpendKindName(SpendKind kind) {
  switch (kind) {
    case SpendKind::kSoftware:
      return "software";
    case SpendKind::kCloud:
      return "cloud";
    case SpendKind::kAirfare:
      return "travel.air";
    case SpendKind::kRideshare:
      return "travel.ground";
    case SpendKind::kLodging:
      return "travel.lodging";
    case SpendKind::kAds:
      return "ads";
    case SpendKind::kMeals:
      return "meals";
    case SpendKind::kOffice:
      return "office";
  }
  return "other";
}

int64_t Merchant::RandomAmountCents(SeededRng& rng) const {
  // Subscriptions bill the plan price; everything else varies within the merchant's usual range.
  if (recurring) return min_cents;
  return rng.Uniform(min_cents, max_cents);
}

const std::vector<Merchant>& AgencyMerchants() {
  using K = SpendKind;
  static const std::vector<Merchant> kMerchants = {
      // Software and cloud.
      {"Amazon Web Services", K::kCloud, "4816", "SERVERS", "AWS EMEA AWS.AMAZON.CO", 18400, 412000, false,
       "Seattle"},
      {"GitHub", K::kSoftware, "5734", "RECURRING_SOFTWARE_AND_SAAS", "GITHUB, INC. GITHUB.COM", 8400, 8400,
       true, "San Francisco"},
      {"Figma", K::kSoftware, "5734", "RECURRING_SOFTWARE_AND_SAAS", "FIGMA *SUBSCRIPTION @@@@@@@", 22500,
       22500, true, "San Francisco"},
      {"Slack", K::kSoftware, "7372", "RECURRING_SOFTWARE_AND_SAAS", "SLACK T0@@@@@@@@", 13125, 13125, true,
       "San Francisco"},
      {"Google Workspace", K::kSoftware, "7372", "RECURRING_SOFTWARE_AND_SAAS", "GOOGLE *GSUITE_@@@@@@@@",
       16800, 16800, true, "Mountain View"},
      {"Adobe", K::kSoftware, "5734", "RECURRING_SOFTWARE_AND_SAAS", "ADOBE  *CREATIVE CLOUD", 35994, 35994,
       true, "San Jose"},
      {"Notion", K::kSoftware, "5734", "RECURRING_SOFTWARE_AND_SAAS", "NOTION LABS, INC.", 9600, 9600, true,
       "San Francisco"},
      {"Zoom", K::kSoftware, "4814", "RECURRING_SOFTWARE_AND_SAAS", "ZOOM.US 888-799-9666", 14990, 14990,
       true, "San Jose"},
      // Travel.
      {"Delta Air Lines", K::kAirfare, "3058", "AIRLINE_EXPENSES", "DELTA AIR 006##########", 18940, 92380,
       false, "Atlanta"},
      {"United Airlines", K::kAirfare, "3000", "AIRLINE_EXPENSES", "UNITED 016##########", 16420, 88760,
       false, "Chicago"},
      {"Uber", K::kRideshare, "4121", "RIDESHARE_AND_TAXI", "UBER   *TRIP HELP.UBER.COM", 1187, 6845, false,
       "San Francisco"},
      {"Lyft", K::kRideshare, "4121", "RIDESHARE_AND_TAXI", "LYFT   *RIDE ### ####", 1024, 5920, false,
       "San Francisco"},
      {"Marriott", K::kLodging, "3509", "LODGING", "MARRIOTT NEW YORK DOWNTOWN", 28900, 131400, false,
       "New York"},
      {"Hilton", K::kLodging, "3504", "LODGING", "HILTON CHICAGO HOTEL", 24500, 98700, false, "Chicago"},
      // Advertising bought for clients.
      {"Meta", K::kAds, "7311", "ADVERTISING_AND_MARKETING", "FACEBK *ADS @@@@@@", 25000, 950000, false,
       "Menlo Park"},
      {"Google Ads", K::kAds, "7311", "ADVERTISING_AND_MARKETING", "GOOGLE *ADS##########", 40000, 1200000,
       false, "Mountain View"},
      {"LinkedIn", K::kAds, "7311", "ADVERTISING_AND_MARKETING", "LINKEDIN-#########", 30000, 480000, false,
       "Sunnyvale"},
      // Meals.
      {"Blue Bottle Coffee", K::kMeals, "5814", "RESTAURANTS", "SQ *BLUE BOTTLE COFFEE", 475, 3860, false,
       "Oakland"},
      {"Sweetgreen", K::kMeals, "5812", "RESTAURANTS", "TST* SWEETGREEN SOMA", 1395, 9850, false,
       "San Francisco"},
      {"DoorDash", K::kMeals, "5812", "FOOD_DELIVERY", "DOORDASH*@@@@@@@@", 2450, 24800, false,
       "San Francisco"},
      {"Uber Eats", K::kMeals, "5812", "FOOD_DELIVERY", "UBER   *EATS PENDING", 1875, 14200, false,
       "San Francisco"},
      {"Nopa", K::kMeals, "5812", "RESTAURANTS", "NOPA RESTAURANT", 12400, 68900, false, "San Francisco"},
      // Office.
      {"Amazon", K::kOffice, "5942", "OFFICE_SUPPLIES", "AMZN Mktp US*@@@@@@@@@", 1299, 38999, false,
       "Seattle"},
      {"Staples", K::kOffice, "5943", "OFFICE_SUPPLIES", "STAPLES 00####", 899, 21450, false, "New York"},
  };
  return kMerchants;
}

std::string CardDescriptor(const Merchant& merchant, SeededRng& rng) {
  std::string out;
  for (char c : merchant.descriptor_template) {
    if (c == '#') {
      out += rng.Digits(1);
    } else if (c == '@') {
      out += rng.UpperAlnum(1);
    } else {
      out.push_back(c);
    }
  }
  return out;
}

const std::vector<Person>& AgencyPeople() {
  static const std::vector<Person> kPeople = {
      {"Maya", "Okafor", "Client Services", "Managing Director"},
      {"Daniel", "Reyes", "Creative", "Creative Director"},
      {"Priya", "Raman", "Media", "Head of Paid Media"},
      {"Tom", "Lindqvist", "Creative", "Senior Designer"},
      {"Aisha", "Bello", "Media", "Media Buyer"},
      {"Jonas", "Keller", "Operations", "Operations Manager"},
      {"Grace", "Whitfield", "Client Services", "Account Director"},
      {"Leo", "Martins", "Strategy", "Strategist"},
  };
  return kPeople;
}

const std::vector<std::string>& AgencyVendorNames() {
  static const std::vector<std::string> kVendors = {
      "Harbor Lane Productions",  "Pixel & Pine Studio",     "Northwind Print Co",   "Lumen Casting Agency",
      "Blue Ridge Photo Co",      "Kestrel Motion Graphics", "Fieldnote Research",   "Oakline Properties LLC",
      "Signal Path Translations", "Copperleaf Catering",     "Ridgeway IT Services", "Marlow & Finch LLP",
  };
  return kVendors;
}

const std::vector<std::string>& AgencyClients() {
  static const std::vector<std::string> kClients = {
      "Acme Outdoor Co", "Northstar Bank", "Verde Foods", "Halcyon Health", "Internal",
  };
  return kClients;
}

}  // namespace mlc::sandbox
