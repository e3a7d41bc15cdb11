// Deterministic seed data for emulators: a portable seeded RNG and realistic agency spend.
//
// The same seed gives the same data on every platform and standard library (std:: distributions are not
// portable, so the RNG does its own range reduction). The agency lists cover what a creative/media agency
// spends on: software, travel, ads (often rebilled to clients), meals and office supplies.
//
//   SeededRng rng(42);
//   const Merchant& m = rng.Pick(AgencyMerchants());
//   std::string descriptor = CardDescriptor(m, rng);    // "AMZN Mktp US*2K4LR0QX2"
//   int64_t cents = m.RandomAmountCents(rng);
//
// Thread safety: SeededRng is not thread-safe (one per owner); the lists are immutable.
#ifndef MLC_SANDBOX_SEED_HPP_
#define MLC_SANDBOX_SEED_HPP_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace mlc::sandbox {

class SeededRng {
 public:
  explicit SeededRng(uint64_t seed);

  uint64_t Next();                          // 64 random bits (xoshiro256**)
  int64_t Uniform(int64_t lo, int64_t hi);  // inclusive on both ends; lo <= hi
  double Unit();                            // [0, 1)
  bool Chance(double p);                    // true with probability p
  std::string Alnum(size_t n);              // lower-case letters and digits
  std::string UpperAlnum(size_t n);         // upper-case letters and digits
  std::string Digits(size_t n);
  std::string Base62(size_t n);
  std::string Bytes(size_t n);
  // prefix + n lower-case alphanumerics: Id("expense_", 25).
  std::string Id(std::string_view prefix, size_t n = 25) { return std::string(prefix) + Alnum(n); }

  template <typename T>
  const T& Pick(const std::vector<T>& items) {
    return items[static_cast<size_t>(Uniform(0, static_cast<int64_t>(items.size()) - 1))];
  }

 private:
  uint64_t s_[4];
};

enum class SpendKind { kSoftware, kCloud, kAirfare, kRideshare, kLodging, kAds, kMeals, kOffice };
std::string_view SpendKindName(SpendKind kind);  // "software", "cloud", "travel.air", ...

struct Merchant {
  std::string name;  // "GitHub"
  SpendKind kind;
  std::string mcc;                  // ISO 18245 four digits
  std::string category;             // Brex-style expense category: "RECURRING_SOFTWARE_AND_SAAS"
  std::string descriptor_template;  // '#' -> digit, '@' -> upper-case alphanumeric
  int64_t min_cents = 100;
  int64_t max_cents = 10000;
  bool recurring = false;  // monthly subscription: one charge of a stable amount
  std::string city;        // merchant city in the card descriptor's style

  int64_t RandomAmountCents(SeededRng& rng) const;
};

// Software (AWS, GitHub, Figma, Slack, Google Workspace, Adobe, Notion, Zoom), travel (Delta, United,
// Uber, Lyft, Marriott, Hilton), ads (Meta/Facebook, Google Ads, LinkedIn), meals and office supplies.
const std::vector<Merchant>& AgencyMerchants();
// Card-network style descriptor: "SQ *BLUE BOTTLE COFFEE", "FACEBK *ADS 7J3KQ2".
std::string CardDescriptor(const Merchant& merchant, SeededRng& rng);

struct Person {
  std::string first_name;
  std::string last_name;
  std::string department;  // "Creative", "Media", "Client Services", "Operations"
  std::string title;
};
const std::vector<Person>& AgencyPeople();
// AP vendors an agency pays by transfer/bill: freelancers, production houses, printers, landlords.
const std::vector<std::string>& AgencyVendorNames();
// The agency's clients (a custom dimension on spend: who to rebill).
const std::vector<std::string>& AgencyClients();

}  // namespace mlc::sandbox

#endif  // MLC_SANDBOX_SEED_HPP_
