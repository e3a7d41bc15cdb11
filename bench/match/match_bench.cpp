// Vendor-matcher benchmark: generates N vendors and N card descriptors deterministically (names from word
// lists and syllables, processor prefixes, store numbers, cities, truncation, unknown merchants), then times
// the index build plus matching. Also reports how the decisions came out against the known truth.
// Goal: 10,000 x 10,000 well under a second on 2 cores.
//
//   mlc-bench-match [--vendors 10000] [--merchants 10000] [--threads 2] [--seed 7] [--json]
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <sys/resource.h>

#include <CLI/CLI.hpp>

#include "match/matcher.hpp"
#include "match/normalize.hpp"

namespace {

using Clock = std::chrono::steady_clock;

// CPU seconds used by this process so far (all threads): the figure that does not depend on what else the
// machine is running.
double CpuSeconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

// splitmix64: the same sequence on every platform (std distributions are implementation-defined).
class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(seed) {}
  uint64_t Next() {
    uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  size_t Below(size_t n) { return static_cast<size_t>(Next() % n); }
  bool Chance(int percent) { return Below(100) < static_cast<size_t>(percent); }
  template <typename T, size_t N>
  const T& Pick(const T (&items)[N]) {
    return items[Below(N)];
  }

 private:
  uint64_t state_;
};

const char* kWords[] = {"Blue",  "Harbor",  "Summit",  "Maple",  "Cedar",   "Iron",    "Golden", "Silver",
                        "North", "Pacific", "Bright",  "Little", "Urban",   "Prairie", "Copper", "Stone",
                        "River", "Lantern", "Orchard", "Meadow", "Coastal", "Granite", "Velvet", "Crimson",
                        "Echo",  "Pioneer", "Atlas",   "Beacon", "Juniper", "Willow",  "Falcon", "Sparrow"};
const char* kIndustry[] = {"Coffee",   "Bakery",   "Studio", "Labs",      "Software",  "Media", "Consulting",
                           "Printing", "Catering", "Design", "Analytics", "Logistics", "Pizza", "Kitchen",
                           "Hotel",    "Airlines", "Travel", "Supply",    "Marketing", "Cloud", "Systems"};
const char* kSuffix[] = {"Inc.", "LLC", "Ltd", "Co.", "Corp", "GmbH"};
const char* kSyllables[] = {"zen", "tro", "va", "cal", "vix", "no",  "ra",  "li", "qu",  "ex",  "mo",  "dal",
                            "fi",  "ka",  "lu", "mer", "sa",  "tor", "vel", "yo", "bri", "gan", "pol", "sy"};
// Merchants that are not vendors come from their own vocabulary, so they never equal a vendor by accident.
const char* kOtherWords[] = {"Amber",  "Birch",  "Canyon",  "Delta", "Ember", "Fjord",  "Glacier", "Hollow",
                             "Indigo", "Jasper", "Kestrel", "Lotus", "Mesa",  "Nimbus", "Onyx",    "Pebble"};
const char* kOtherSyllables[] = {"bo", "ple", "dri", "gu",  "han", "jo",
                                 "ki", "mun", "pa",  "ros", "tu",  "wen"};
const char* kPrefixes[] = {"SQ *", "TST* ", "PAYPAL *", "SP * ", "SQ*"};
const char* kCities[] = {"SAN FRANCISCO CA", "NEW YORK NY", "AUSTIN TX", "SEATTLE WA",
                         "CHICAGO IL",       "BOSTON MA",   "DENVER CO", "PORTLAND OR"};
const char* kDetails[] = {"ORDER", "ONLINE", "SUBSCRIPTION", "STORE", "MONTHLY", "PENDING"};

std::string Brand(Rng& rng, bool other = false) {
  std::string s;
  const size_t n = 2 + rng.Below(2);
  for (size_t i = 0; i < n; ++i) s += other ? rng.Pick(kOtherSyllables) : rng.Pick(kSyllables);
  s[0] = static_cast<char>(s[0] - 'a' + 'A');
  return s;
}

std::string VendorName(Rng& rng, bool other = false) {
  std::string name;
  if (rng.Chance(60)) {
    name = Brand(rng, other);
    if (rng.Chance(50)) name += std::string(" ") + rng.Pick(kIndustry);
  } else if (other) {
    name = std::string(rng.Pick(kOtherWords)) + " " + rng.Pick(kOtherWords);
    if (rng.Chance(70)) name += std::string(" ") + rng.Pick(kIndustry);
  } else {
    name = std::string(rng.Pick(kWords)) + " " + rng.Pick(kWords);
    if (rng.Chance(70)) name += std::string(" ") + rng.Pick(kIndustry);
  }
  if (rng.Chance(40)) name += std::string(" ") + rng.Pick(kSuffix);
  return name;
}

std::string Upper(std::string s) {
  for (char& c : s) c = static_cast<char>(c >= 'a' && c <= 'z' ? c - 'a' + 'A' : c);
  return s;
}

// A card descriptor for `name` as a processor would print it.
std::string Descriptor(Rng& rng, const std::string& name) {
  std::string base = Upper(name);
  for (const char* suffix : {" INC.", " LLC", " LTD", " CO.", " CORP", " GMBH"}) {
    const std::string sfx(suffix);
    if (base.size() > sfx.size() && base.compare(base.size() - sfx.size(), sfx.size(), sfx) == 0 &&
        rng.Chance(70)) {
      base.resize(base.size() - sfx.size());
    }
  }
  std::string d;
  if (rng.Chance(30)) d += rng.Pick(kPrefixes);
  d += base;
  if (rng.Chance(15))
    d += std::string("*") + rng.Pick(kDetails) + " " + std::to_string(rng.Below(90000) + 10000);
  if (d.size() > 22 && rng.Chance(30)) d.resize(22);  // fixed-width descriptor fields
  if (rng.Chance(40)) d += " #" + std::to_string(rng.Below(9000) + 1000);
  if (rng.Chance(30)) d += std::string(" ") + rng.Pick(kCities);
  return d;
}

}  // namespace

int main(int argc, char** argv) {
  size_t vendor_count = 10000, merchant_count = 10000;
  int threads = 2;
  uint64_t seed = 7;
  bool json = false;
  size_t show_wrong = 0;
  CLI::App app{"mlc-bench-match: vendor matcher index build + matching time"};
  app.add_option("--vendors", vendor_count, "Vendors to generate");
  app.add_option("--merchants", merchant_count, "Card descriptors to generate");
  app.add_option("--threads", threads, "Matching threads")->check(CLI::Range(1, 64));
  app.add_option("--seed", seed, "Generator seed");
  app.add_flag("--json", json, "Print JSON");
  app.add_option("--show-wrong", show_wrong, "Print up to N wrong auto-matches (tuning aid)");
  CLI11_PARSE(app, argc, argv);

  // Generation (not timed).
  Rng rng(seed);
  std::vector<mlc::match::Vendor> vendors;
  std::set<std::string> seen_names;
  vendors.reserve(vendor_count);
  while (vendors.size() < vendor_count) {
    std::string name = VendorName(rng);
    if (!seen_names.insert(Upper(name)).second) continue;
    vendors.push_back({"v" + std::to_string(vendors.size()), std::move(name)});
  }
  std::vector<std::string> descriptors;
  std::vector<std::string> truth;  // vendor id, or "" for a merchant not in the vendor list
  descriptors.reserve(merchant_count);
  for (size_t i = 0; i < merchant_count; ++i) {
    if (rng.Chance(85)) {
      const auto& v = vendors[rng.Below(vendors.size())];
      descriptors.push_back(Descriptor(rng, v.name));
      truth.push_back(v.id);
    } else {
      descriptors.push_back(Descriptor(rng, VendorName(rng, /*other=*/true)));
      truth.emplace_back();
    }
  }

  auto table = mlc::match::NormalizerTable::Defaults();
  if (!table.ok()) {
    std::fprintf(stderr, "%s\n", table.status().ToString().c_str());
    return 1;
  }
  mlc::match::Matcher matcher(std::make_shared<const mlc::match::Normalizer>(std::move(*table)));

  const double cpu0 = CpuSeconds();
  const auto t0 = Clock::now();
  if (auto s = matcher.Build(vendors); !s.ok()) {
    std::fprintf(stderr, "%s\n", s.ToString().c_str());
    return 1;
  }
  const auto t1 = Clock::now();
  const auto results = matcher.MatchAll(descriptors, mlc::match::Thresholds{}, threads);
  const auto t2 = Clock::now();
  const double cpu_s = CpuSeconds() - cpu0;

  const double build_s = std::chrono::duration<double>(t1 - t0).count();
  const double match_s = std::chrono::duration<double>(t2 - t1).count();
  const double total_s = build_s + match_s;
  const double per_s = match_s > 0 ? static_cast<double>(descriptors.size()) / match_s : 0;

  size_t auto_right = 0, auto_wrong = 0, review = 0, none = 0;
  for (size_t i = 0; i < results.size(); ++i) {
    const auto& r = results[i];
    if (r.decision == mlc::match::Decision::kAuto) {
      const bool right = r.best()->vendor_id == truth[i];
      ++(right ? auto_right : auto_wrong);
      if (!right && auto_wrong <= show_wrong) {
        std::string expected = "(not a vendor)";
        for (const auto& v : vendors) {
          if (!truth[i].empty() && v.id == truth[i]) expected = v.name;
        }
        std::fprintf(stderr, "wrong auto: %-42s -> %s (%.3f, margin %.3f); truth: %s\n",
                     descriptors[i].c_str(), r.best()->vendor_name.c_str(), r.best()->score, r.margin,
                     expected.c_str());
      }
    } else {
      ++(r.decision == mlc::match::Decision::kReview ? review : none);
    }
  }

  if (json) {
    std::printf(
        "{\"match_10k_s\": %.4f, \"build_s\": %.4f, \"match_s\": %.4f, \"cpu_s\": %.4f, \"matches_per_s\": "
        "%.0f, "
        "\"vendors\": %zu, \"merchants\": %zu, \"threads\": %d, \"auto_right\": %zu, \"auto_wrong\": %zu, "
        "\"review\": %zu, \"none\": %zu}\n",
        total_s, build_s, match_s, cpu_s, per_s, vendors.size(), descriptors.size(), threads, auto_right,
        auto_wrong, review, none);
  } else {
    std::printf("vendors %zu, merchants %zu, threads %d\n", vendors.size(), descriptors.size(), threads);
    std::printf("index build   %.4f s\n", build_s);
    std::printf("matching      %.4f s  (%.0f matches/s)\n", match_s, per_s);
    std::printf("total         %.4f s  (CPU %.4f s over all threads)\n", total_s, cpu_s);
    std::printf("decisions     auto %zu (right %zu, wrong %zu), review %zu, none %zu\n",
                auto_right + auto_wrong, auto_right, auto_wrong, review, none);
    for (size_t i = 0; i < 5 && i < descriptors.size(); ++i) {
      const auto& r = results[i];
      std::printf("  e.g. %-40s -> %-6s %s\n", descriptors[i].c_str(),
                  std::string(mlc::match::DecisionName(r.decision)).c_str(),
                  r.best() ? r.best()->vendor_name.c_str() : "-");
    }
  }
  return 0;
}
