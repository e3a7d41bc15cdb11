// The vendor matcher: token/trigram index, candidate selection, scoring and the decision (matcher.hpp).
#include "match/matcher.hpp"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <thread>

namespace mlc::match {

namespace {

// Weights of a descriptor's tokens by role: the merchant's own words count fully, what follows `*` less,
// where-words and filler barely (they are expected noise, not evidence against a vendor).
float RoleFactor(TokenRole role) {
  switch (role) {
    case TokenRole::kCore:
      return 1.0f;
    case TokenRole::kDetail:
      return 0.25f;
    case TokenRole::kHint:
      return 0.3f;
    case TokenRole::kLocation:
      return 0.15f;
    case TokenRole::kNoise:
      return 0.1f;
  }
  return 1.0f;
}

constexpr float kWeakFactor = 0.35f;  // generic words: services, group, airlines
constexpr double kMatchedSim = 0.85;  // a token this similar counts as present (specificity rule)
constexpr double kTieEpsilon = 1e-9;
constexpr double kOutOfOrderFactor = 0.85;  // takes a perfect word-set match below the default auto_accept

uint32_t PackTrigram(const char* p) {
  return (static_cast<uint32_t>(static_cast<unsigned char>(p[0])) << 16) |
         (static_cast<uint32_t>(static_cast<unsigned char>(p[1])) << 8) |
         static_cast<uint32_t>(static_cast<unsigned char>(p[2]));
}

// Distinct trigrams of `compact` (a name without spaces); a short string is one padded gram.
std::vector<uint32_t> Trigrams(std::string_view compact) {
  std::vector<uint32_t> out;
  if (compact.empty()) return out;
  if (compact.size() < 3) {
    char buf[3] = {0, 0, 0};
    std::memcpy(buf, compact.data(), compact.size());
    out.push_back(PackTrigram(buf));
    return out;
  }
  out.reserve(compact.size() - 2);
  for (size_t i = 0; i + 3 <= compact.size(); ++i) out.push_back(PackTrigram(compact.data() + i));
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

bool HasLetter(std::string_view s) {
  for (char c : s) {
    if ((c >= 'a' && c <= 'z') || static_cast<unsigned char>(c) >= 0x80) return true;
  }
  return false;
}

// Optimal-string-alignment distance, or max_d + 1 when it exceeds max_d. Strings are short tokens.
int BoundedEditDistance(std::string_view a, std::string_view b, int max_d) {
  const int la = static_cast<int>(a.size()), lb = static_cast<int>(b.size());
  if (std::abs(la - lb) > max_d) return max_d + 1;
  if (la > 48 || lb > 48) return max_d + 1;
  int prev2[49], prev[49], cur[49];
  for (int j = 0; j <= lb; ++j) prev[j] = j;
  for (int i = 1; i <= la; ++i) {
    cur[0] = i;
    int row_min = cur[0];
    for (int j = 1; j <= lb; ++j) {
      const int cost = a[i - 1] == b[j - 1] ? 0 : 1;
      int v = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) v = std::min(v, prev2[j - 2] + 1);
      cur[j] = v;
      row_min = std::min(row_min, v);
    }
    if (row_min > max_d) return max_d + 1;
    std::memcpy(prev2, prev, sizeof(int) * static_cast<size_t>(lb + 1));
    std::memcpy(prev, cur, sizeof(int) * static_cast<size_t>(lb + 1));
  }
  return prev[lb];
}

// Similarity of a descriptor token `m` to a vendor token `v` that are not equal. Truncation: descriptors are
// cut at a fixed width, so the last word of the name may be a prefix (`SOUTHWES`); a prefix anywhere else is
// another word (`ZENPOL CLOUD` is not Zenpolqu Cloud). Typos: one or two edits, scored low enough that a
// typo alone never reaches auto-accept.
double FuzzyTokenSim(std::string_view m, std::string_view v, bool may_be_truncated) {
  if (m.size() < 4 || v.size() < 4 || m[0] != v[0] || !HasLetter(m) || !HasLetter(v)) return 0;
  if (may_be_truncated && m.size() < v.size() && v.compare(0, m.size(), m) == 0 &&
      m.size() * 10 >= v.size() * 6) {
    return m.size() >= 6 && m.size() * 4 >= v.size() * 3 ? 0.95 : 0.9;
  }
  const size_t shorter = std::min(m.size(), v.size());
  if (shorter < 5) return 0;
  const int max_d = shorter >= 9 ? 2 : 1;
  const int d = BoundedEditDistance(m, v, max_d);
  if (d > max_d) return 0;
  return d <= 1 ? 0.85 : 0.75;
}

bool IsConcatenation(std::string_view whole, std::string_view a, std::string_view b) {
  return whole.size() == a.size() + b.size() && whole.compare(0, a.size(), a) == 0 &&
         whole.compare(a.size(), b.size(), b) == 0;
}

}  // namespace

Status Thresholds::Validate() const {
  auto bad = [](double x) { return !(x >= 0.0 && x <= 1.0); };  // also refuses NaN
  if (bad(auto_accept)) return Status::Invalid("auto_accept must be between 0 and 1");
  if (bad(review_min)) return Status::Invalid("review_min must be between 0 and 1");
  if (bad(min_margin)) return Status::Invalid("min_margin must be between 0 and 1");
  if (review_min > auto_accept) return Status::Invalid("review_min must not exceed auto_accept");
  return Status::Ok();
}

std::string_view DecisionName(Decision d) {
  switch (d) {
    case Decision::kAuto:
      return "auto";
    case Decision::kReview:
      return "review";
    case Decision::kNone:
      return "none";
  }
  return "none";
}

std::optional<Decision> DecisionFromName(std::string_view name) {
  if (name == "auto") return Decision::kAuto;
  if (name == "review") return Decision::kReview;
  if (name == "none") return Decision::kNone;
  return std::nullopt;
}

double JaroWinkler(std::string_view a, std::string_view b) {
  if (a.empty() && b.empty()) return 1.0;
  if (a.empty() || b.empty()) return 0.0;
  if (a == b) return 1.0;
  const size_t la = a.size(), lb = b.size();
  const size_t window = std::max(la, lb) / 2 > 0 ? std::max(la, lb) / 2 - 1 : 0;
  // Names are short: flags live on the stack unless a string is unusually long.
  char a_stack[128] = {}, b_stack[128] = {};
  std::vector<char> a_heap, b_heap;
  char* a_used = a_stack;
  char* b_used = b_stack;
  if (la > sizeof a_stack) {
    a_heap.assign(la, 0);
    a_used = a_heap.data();
  }
  if (lb > sizeof b_stack) {
    b_heap.assign(lb, 0);
    b_used = b_heap.data();
  }
  size_t matches = 0;
  for (size_t i = 0; i < la; ++i) {
    const size_t lo = i > window ? i - window : 0;
    const size_t hi = std::min(lb, i + window + 1);
    for (size_t j = lo; j < hi; ++j) {
      if (b_used[j] || a[i] != b[j]) continue;
      a_used[i] = b_used[j] = 1;
      ++matches;
      break;
    }
  }
  if (matches == 0) return 0.0;
  size_t transpositions = 0;
  for (size_t i = 0, j = 0; i < la; ++i) {
    if (!a_used[i]) continue;
    while (!b_used[j]) ++j;
    if (a[i] != b[j]) ++transpositions;
    ++j;
  }
  const double m = static_cast<double>(matches);
  const double jaro = (m / static_cast<double>(la) + m / static_cast<double>(lb) +
                       (m - static_cast<double>(transpositions) / 2.0) / m) /
                      3.0;
  size_t prefix = 0;
  while (prefix < 4 && prefix < la && prefix < lb && a[prefix] == b[prefix]) ++prefix;
  return jaro + static_cast<double>(prefix) * 0.1 * (1.0 - jaro);
}

// ---------------------------------------------------------------------------------------------------------

struct Matcher::Index {
  struct TokenInfo {
    std::string text;
    bool weak = false;
    std::vector<uint32_t> postings;  // vendor slots holding this token
  };
  struct Slot {
    bool live = false;
    std::string id;
    std::string name;
    std::string canonical;
    std::string strong;                   // canonical without weak words (all of it if every word is weak)
    std::vector<uint32_t> tokens;         // token ids in name order, distinct
    std::vector<uint32_t> sorted_tokens;  // the same, sorted (subset tests)
    std::vector<uint32_t> trigrams;
  };

  std::vector<TokenInfo> tokens;
  std::unordered_map<std::string, uint32_t> token_ids;
  std::unordered_map<uint32_t, std::vector<uint32_t>> trigram_postings;
  std::vector<Slot> slots;
  std::vector<uint32_t> free_slots;
  std::unordered_map<std::string, uint32_t> by_id;
  size_t live = 0;

  double Idf(size_t df) const {
    const double n = static_cast<double>(std::max<size_t>(live, 1));
    return std::log(1.0 + n / static_cast<double>(std::max<size_t>(df, 1)));
  }
  // A descriptor word no vendor has: informative, but less than a rare vendor word.
  double UnseenWeight() const { return 0.5 * std::log(1.0 + static_cast<double>(std::max<size_t>(live, 1))); }
  double VendorTokenWeight(uint32_t id) const {
    const auto& t = tokens[id];
    return Idf(t.postings.size()) * (t.weak ? kWeakFactor : 1.0);
  }

  uint32_t Intern(const std::string& text, const Normalizer& norm) {
    auto it = token_ids.find(text);
    if (it != token_ids.end()) return it->second;
    const auto id = static_cast<uint32_t>(tokens.size());
    tokens.push_back({text, norm.IsWeakWord(text), {}});
    token_ids.emplace(text, id);
    return id;
  }

  static void Erase(std::vector<uint32_t>& postings, uint32_t slot) {
    auto it = std::find(postings.begin(), postings.end(), slot);
    if (it != postings.end()) {
      *it = postings.back();
      postings.pop_back();
    }
  }

  void Insert(const Vendor& v, const Normalized& n, const Normalizer& norm) {
    uint32_t s;
    auto existing = by_id.find(v.id);
    if (existing != by_id.end()) {
      s = existing->second;
      Unlink(s);
    } else if (!free_slots.empty()) {
      s = free_slots.back();
      free_slots.pop_back();
    } else {
      s = static_cast<uint32_t>(slots.size());
      slots.emplace_back();
    }
    Slot& slot = slots[s];
    slot.live = true;
    slot.id = v.id;
    slot.name = v.name;
    slot.canonical = n.canonical;
    slot.strong.clear();
    for (const auto& t : n.tokens) {
      if (norm.IsWeakWord(t.text)) continue;
      if (!slot.strong.empty()) slot.strong += ' ';
      slot.strong += t.text;
    }
    if (slot.strong.empty()) slot.strong = n.canonical;
    slot.tokens.clear();
    for (const auto& t : n.tokens) slot.tokens.push_back(Intern(t.text, norm));
    slot.sorted_tokens = slot.tokens;
    std::sort(slot.sorted_tokens.begin(), slot.sorted_tokens.end());
    std::string compact;
    for (const auto& t : n.tokens) compact += t.text;
    slot.trigrams = Trigrams(compact);
    for (uint32_t id : slot.tokens) tokens[id].postings.push_back(s);
    for (uint32_t g : slot.trigrams) trigram_postings[g].push_back(s);
    by_id[v.id] = s;
    ++live;
  }

  // Takes a live slot out of every posting list (its id mapping is left to the caller).
  void Unlink(uint32_t s) {
    Slot& slot = slots[s];
    for (uint32_t id : slot.tokens) Erase(tokens[id].postings, s);
    for (uint32_t g : slot.trigrams) {
      auto it = trigram_postings.find(g);
      if (it == trigram_postings.end()) continue;
      Erase(it->second, s);
      if (it->second.empty()) trigram_postings.erase(it);
    }
    slot.live = false;
    --live;
  }
};

struct Matcher::Scratch {
  std::vector<float> token_acc;
  std::vector<uint8_t> token_hits;  // distinct descriptor words found in the vendor's name
  std::vector<uint16_t> trigram_acc;
  std::vector<uint8_t> touched_flag;
  std::vector<uint32_t> touched;

  void Ensure(size_t n) {
    if (token_acc.size() < n) {
      token_acc.resize(n, 0);
      token_hits.resize(n, 0);
      trigram_acc.resize(n, 0);
      touched_flag.resize(n, 0);
    }
  }
  void Touch(uint32_t s) {
    if (!touched_flag[s]) {
      touched_flag[s] = 1;
      touched.push_back(s);
    }
  }
  void Reset() {
    for (uint32_t s : touched) {
      token_acc[s] = 0;
      token_hits[s] = 0;
      trigram_acc[s] = 0;
      touched_flag[s] = 0;
    }
    touched.clear();
  }
};

Matcher::Matcher(std::shared_ptr<const Normalizer> normalizer, MatcherOptions options)
    : normalizer_(std::move(normalizer)), options_(options), index_(std::make_unique<Index>()) {
  options_.candidate_limit = std::max<size_t>(options_.candidate_limit, 1);
}

Matcher::~Matcher() = default;

std::shared_lock<std::shared_mutex> Matcher::ReadLock() const {
  { std::lock_guard pass(turnstile_); }
  return std::shared_lock(mu_);
}

std::unique_lock<std::shared_mutex> Matcher::WriteLock(std::unique_lock<std::mutex>& turnstile) const {
  turnstile = std::unique_lock(turnstile_);
  return std::unique_lock(mu_);
}

namespace {

std::string VendorWhere(size_t position, const std::string& id) {
  std::string s = "vendors[" + std::to_string(position) + "]";
  if (!id.empty()) s += " (id '" + id + "')";
  return s;
}

}  // namespace

Status Matcher::Build(const std::vector<Vendor>& vendors) {
  std::vector<Normalized> normalized;
  normalized.reserve(vendors.size());
  std::unordered_map<std::string, size_t> seen;
  for (size_t i = 0; i < vendors.size(); ++i) {
    const Vendor& v = vendors[i];
    if (v.id.empty()) return Status::Invalid(VendorWhere(i, v.id) + ": empty id");
    auto [it, inserted] = seen.emplace(v.id, i);
    if (!inserted) {
      return Status::Invalid(VendorWhere(i, v.id) + ": duplicate id (also vendors[" +
                             std::to_string(it->second) + "])");
    }
    normalized.push_back(normalizer_->Normalize(v.name, TextKind::kVendorName));
    if (normalized.back().tokens.empty()) {
      return Status::Invalid(VendorWhere(i, v.id) + ": name '" + v.name + "' has no letters or digits");
    }
  }
  auto fresh = std::make_unique<Index>();
  for (size_t i = 0; i < vendors.size(); ++i) fresh->Insert(vendors[i], normalized[i], *normalizer_);
  std::unique_lock<std::mutex> turnstile;
  auto lock = WriteLock(turnstile);
  index_.swap(fresh);
  lock.unlock();
  turnstile.unlock();
  fresh.reset();  // the old index is freed outside the lock
  return Status::Ok();
}

Status Matcher::Upsert(const Vendor& vendor) {
  if (vendor.id.empty()) return Status::Invalid("vendor: empty id");
  Normalized n = normalizer_->Normalize(vendor.name, TextKind::kVendorName);
  if (n.tokens.empty()) {
    return Status::Invalid("vendor '" + vendor.id + "': name '" + vendor.name + "' has no letters or digits");
  }
  std::unique_lock<std::mutex> turnstile;
  auto lock = WriteLock(turnstile);
  index_->Insert(vendor, n, *normalizer_);
  return Status::Ok();
}

bool Matcher::Remove(std::string_view vendor_id) {
  std::unique_lock<std::mutex> turnstile;
  auto lock = WriteLock(turnstile);
  auto it = index_->by_id.find(std::string(vendor_id));
  if (it == index_->by_id.end()) return false;
  const uint32_t s = it->second;
  index_->Unlink(s);
  index_->slots[s].id.clear();
  index_->slots[s].name.clear();
  index_->free_slots.push_back(s);
  index_->by_id.erase(it);
  return true;
}

size_t Matcher::size() const {
  auto lock = ReadLock();
  return index_->live;
}

std::optional<std::string> Matcher::VendorName(std::string_view vendor_id) const {
  auto lock = ReadLock();
  auto it = index_->by_id.find(std::string(vendor_id));
  if (it == index_->by_id.end()) return std::nullopt;
  return index_->slots[it->second].name;
}

MatchResult Matcher::Match(std::string_view descriptor, const Thresholds& thresholds) const {
  thread_local Scratch scratch;
  auto lock = ReadLock();
  return MatchLocked(descriptor, thresholds, scratch);
}

std::vector<MatchResult> Matcher::MatchAll(const std::vector<std::string>& descriptors,
                                           const Thresholds& thresholds, int threads) const {
  std::vector<MatchResult> results(descriptors.size());
  std::atomic<size_t> next{0};
  auto worker = [&] {
    Scratch scratch;
    for (size_t i = next.fetch_add(1); i < descriptors.size(); i = next.fetch_add(1)) {
      auto lock = ReadLock();
      results[i] = MatchLocked(descriptors[i], thresholds, scratch);
    }
  };
  const int extra = std::max(0, std::min(threads, 64) - 1);
  std::vector<std::thread> pool;
  pool.reserve(static_cast<size_t>(extra));
  for (int t = 0; t < extra; ++t) pool.emplace_back(worker);
  worker();
  for (auto& t : pool) t.join();
  return results;
}

MatchResult Matcher::MatchLocked(std::string_view descriptor, const Thresholds& thresholds,
                                 Scratch& scratch) const {
  const Index& index = *index_;
  MatchResult result;
  const Normalized merchant = normalizer_->Normalize(descriptor, TextKind::kDescriptor);
  result.merchant_key = merchant.canonical;
  if (merchant.canonical.empty()) {
    result.reason = "nothing left of the descriptor after normalization";
    return result;
  }
  if (index.live == 0) {
    result.reason = "no vendors";
    return result;
  }

  // Merchant tokens with their weights.
  struct MTok {
    std::string_view text;
    int64_t id;  // token id, or -1 when no vendor has it
    double weight;
    TokenRole role;
    bool weak;
  };
  std::vector<MTok> mtoks;
  mtoks.reserve(merchant.tokens.size());
  size_t last_core = merchant.tokens.size();  // the word a fixed-width field may have cut
  for (size_t i = 0; i < merchant.tokens.size(); ++i) {
    if (merchant.tokens[i].role == TokenRole::kCore) last_core = i;
  }
  double merchant_total = 0;
  for (const auto& t : merchant.tokens) {
    auto it = index.token_ids.find(t.text);
    const bool weak = normalizer_->IsWeakWord(t.text);
    MTok m{t.text, -1, 0, t.role, weak};
    double base = index.UnseenWeight();
    if (it != index.token_ids.end() && !index.tokens[it->second].postings.empty()) {
      m.id = it->second;
      base = index.Idf(index.tokens[it->second].postings.size());
    }
    m.weight = base * (weak ? kWeakFactor : 1.0) * RoleFactor(t.role);
    merchant_total += m.weight;
    mtoks.push_back(m);
  }

  // Candidates: vendors sharing a word (weighted), a run-together pair of words (`DOOR DASH`), or - for
  // descriptor words no vendor has (typos, truncation, `BLUEBOTTLE`) - character trigrams.
  scratch.Ensure(index.slots.size());
  auto add_postings = [&](const std::vector<uint32_t>& postings, float w) {
    for (uint32_t s : postings) {
      scratch.token_acc[s] += w;
      if (scratch.token_hits[s] < UINT8_MAX) ++scratch.token_hits[s];
      scratch.Touch(s);
    }
  };
  std::vector<uint32_t> mgrams;
  double unseen_total = 0;
  std::string pair;
  for (size_t i = 0; i < mtoks.size(); ++i) {
    const MTok& m = mtoks[i];
    if (m.role == TokenRole::kNoise) continue;
    if (m.id >= 0) {
      add_postings(index.tokens[static_cast<size_t>(m.id)].postings, static_cast<float>(m.weight));
    } else {
      unseen_total += m.weight;
      const auto grams = Trigrams(m.text);
      mgrams.insert(mgrams.end(), grams.begin(), grams.end());
    }
    if (i + 1 < mtoks.size() && mtoks[i + 1].role != TokenRole::kNoise) {
      pair.assign(m.text).append(mtoks[i + 1].text);
      auto it = index.token_ids.find(pair);
      if (it != index.token_ids.end()) {
        add_postings(index.tokens[it->second].postings, static_cast<float>(m.weight + mtoks[i + 1].weight));
      }
    }
  }
  std::sort(mgrams.begin(), mgrams.end());
  mgrams.erase(std::unique(mgrams.begin(), mgrams.end()), mgrams.end());
  // Trigrams held by a large share of a big vendor list say little and cost much: skip them.
  const size_t gram_cap = std::max<size_t>(256, index.live / 8);
  for (uint32_t g : mgrams) {
    auto it = index.trigram_postings.find(g);
    if (it == index.trigram_postings.end() || it->second.size() > gram_cap) continue;
    for (uint32_t s : it->second) {
      if (scratch.trigram_acc[s] < UINT16_MAX) ++scratch.trigram_acc[s];
      scratch.Touch(s);
    }
  }
  std::vector<std::pair<float, uint32_t>> ranked;
  ranked.reserve(scratch.touched.size());
  const auto mtotal = static_cast<float>(std::max(merchant_total, 1e-9));
  const float gram_share =
      mgrams.empty() ? 0.0f : static_cast<float>(unseen_total) / mtotal / static_cast<float>(mgrams.size());
  float best_cheap = 0;
  for (uint32_t s : scratch.touched) {
    // How much of the descriptor the vendor holds, plus how much of the vendor's name was found: among many
    // vendors sharing `velvet`, the one named just Velvet must make the cut.
    const float vendor_share = std::min(
        1.0f, static_cast<float>(scratch.token_hits[s]) / static_cast<float>(index.slots[s].tokens.size()));
    const float cheap =
        scratch.token_acc[s] / mtotal + 0.5f * vendor_share + gram_share * scratch.trigram_acc[s];
    best_cheap = std::max(best_cheap, cheap);
    ranked.emplace_back(cheap, s);
  }
  // Vendors far behind the leader (a shared generic word) are not worth ordering.
  std::erase_if(ranked, [&](const auto& r) { return r.first < 0.4f * best_cheap; });
  scratch.Reset();
  const size_t k = std::min(options_.candidate_limit, ranked.size());
  auto by_rank = [](const auto& a, const auto& b) {
    return a.first > b.first || (a.first == b.first && a.second < b.second);
  };
  if (k < ranked.size()) {
    std::nth_element(ranked.begin(), ranked.begin() + static_cast<long>(k), ranked.end(), by_rank);
    ranked.resize(k);
  }
  std::sort(ranked.begin(), ranked.end(), by_rank);

  // Full scores.
  struct Scored {
    uint32_t slot;
    double score;
    bool fully_matched;
    uint64_t covered;  // bit i: descriptor word i is explained by this vendor (first 64 words)
  };
  std::vector<Scored> scored;
  scored.reserve(k);
  const std::string_view merchant_form = merchant.core.empty() ? merchant.canonical : merchant.core;
  std::vector<double> sim_m(mtoks.size());
  std::vector<double> sim_v;
  std::vector<size_t> pos_v;  // the descriptor word each vendor word matched
  for (const auto& [cheap, s] : ranked) {
    const Index::Slot& slot = index.slots[s];
    const size_t nv = slot.tokens.size();
    sim_v.assign(nv, 0.0);
    pos_v.assign(nv, 0);
    std::fill(sim_m.begin(), sim_m.end(), 0.0);
    for (size_t j = 0; j < nv; ++j) {
      const uint32_t vid = slot.tokens[j];
      const std::string& vt = index.tokens[vid].text;
      for (size_t i = 0; i < mtoks.size(); ++i) {
        double sim = (mtoks[i].id == static_cast<int64_t>(vid))
                         ? 1.0
                         : FuzzyTokenSim(mtoks[i].text, vt, i == last_core);
        if (sim > sim_v[j]) {
          sim_v[j] = sim;
          pos_v[j] = i;
        }
        sim_m[i] = std::max(sim_m[i], sim);
      }
    }
    // Run-together and split words: `BLUEBOTTLE` = blue bottle, `DOOR DASH` = doordash.
    for (size_t j = 0; j + 1 < nv; ++j) {
      const std::string& a = index.tokens[slot.tokens[j]].text;
      const std::string& b = index.tokens[slot.tokens[j + 1]].text;
      for (size_t i = 0; i < mtoks.size(); ++i) {
        if (!IsConcatenation(mtoks[i].text, a, b)) continue;
        sim_v[j] = sim_v[j + 1] = sim_m[i] = 1.0;
        pos_v[j] = pos_v[j + 1] = i;
      }
    }
    for (size_t i = 0; i + 1 < mtoks.size(); ++i) {
      for (size_t j = 0; j < nv; ++j) {
        if (!IsConcatenation(index.tokens[slot.tokens[j]].text, mtoks[i].text, mtoks[i + 1].text)) continue;
        sim_v[j] = sim_m[i] = sim_m[i + 1] = 1.0;
        pos_v[j] = i;
      }
    }
    // Names keep their word order on a card: the vendor's words found out of order (`RIVER MAPLE` for Maple
    // River) make a different name that happens to share words.
    bool in_order = true;
    for (size_t j = 0, last = 0; j < nv; ++j) {
      if (sim_v[j] < kMatchedSim) continue;
      in_order = in_order && pos_v[j] >= last;
      last = pos_v[j];
    }
    // Generic words of a vendor's name (services, group, airlines) are optional once one of its distinctive
    // words is present: `FACEBK *ADS` names Meta Platforms, `UNITED` United Airlines. Not when the descriptor
    // has another generic word in their place: `WILLOW FALCON MEDIA` is not Willow Falcon Airlines.
    bool conflicting_generic = false;
    for (size_t i = 0; i < mtoks.size(); ++i) {
      conflicting_generic = conflicting_generic ||
                            (mtoks[i].role == TokenRole::kCore && mtoks[i].weak && sim_m[i] < kMatchedSim);
    }
    bool any_strong = false, strong_hit = false;
    for (size_t j = 0; j < nv; ++j) {
      if (index.tokens[slot.tokens[j]].weak) continue;
      any_strong = true;
      strong_hit = strong_hit || sim_v[j] >= kMatchedSim;
    }
    double v_total = 0, v_hit = 0, v_denominator = 0, m_hit = 0;
    bool full = true;
    for (size_t j = 0; j < nv; ++j) {
      const double w = index.VendorTokenWeight(slot.tokens[j]);
      const bool optional =
          any_strong && strong_hit && !conflicting_generic && index.tokens[slot.tokens[j]].weak;
      v_total += w;
      v_hit += w * sim_v[j];
      v_denominator += optional ? w * sim_v[j] : w;
      if (!optional) full = full && sim_v[j] >= kMatchedSim;
    }
    for (size_t i = 0; i < mtoks.size(); ++i) m_hit += mtoks[i].weight * sim_m[i];
    const double cv = v_denominator > 0 ? v_hit / v_denominator : 0;
    const double cm = merchant_total > 0 ? m_hit / merchant_total : 0;
    const double inter = (v_hit + m_hit) / 2;
    const double uni = v_total + merchant_total - inter;
    const double jac = uni > 0 ? inter / uni : 0;
    // The edit-distance measure refines scores that matter; a vendor holding under 30% of the name or the
    // descriptor is far below any threshold either way.
    const double e = std::max(cv, cm) >= 0.3 ? JaroWinkler(merchant_form, slot.strong) : 0.0;
    const double s1 = cv * (0.60 + 0.20 * cm + 0.10 * jac + 0.10 * e);
    const double s2 = cm * (0.55 + 0.25 * cv + 0.10 * jac + 0.10 * e);
    double score = std::clamp(std::max(s1, s2), 0.0, 1.0);
    if (!in_order) score *= kOutOfOrderFactor;
    if (score < 0.01) continue;
    uint64_t covered = 0;
    for (size_t i = 0; i < mtoks.size() && i < 64; ++i) {
      if (sim_m[i] >= kMatchedSim) covered |= uint64_t{1} << i;
    }
    scored.push_back({s, score, full, covered});
  }
  std::sort(scored.begin(), scored.end(), [&](const Scored& a, const Scored& b) {
    if (a.score != b.score) return a.score > b.score;
    const auto& sa = index.slots[a.slot];
    const auto& sb = index.slots[b.slot];
    return sa.name != sb.name ? sa.name < sb.name : sa.id < sb.id;
  });
  for (size_t i = 0; i < scored.size() && i < options_.report_limit; ++i) {
    const auto& slot = index.slots[scored[i].slot];
    result.candidates.push_back({slot.id, slot.name, scored[i].score});
  }
  if (scored.empty()) {
    result.reason = "no candidate vendor";
    return result;
  }

  // The decision. A candidate whose words are a strict subset of a fully matched best (Amazon under Amazon
  // Web Services, Uber under Uber Eats) does not compete with it.
  // When the name may have been cut at the field width, a vendor that explains every word the best one
  // explains is as likely (`PAYPAL *PACIFIC SILVER` could be Pacific Silver Supply): that is a tie.
  const Scored& best = scored.front();
  const auto& best_tokens = index.slots[best.slot].sorted_tokens;
  const bool may_be_truncated = merchant.name_width >= options_.truncation_width;
  const Scored* rival = nullptr;
  const Scored* truncation_rival = nullptr;
  for (size_t i = 1; i < scored.size(); ++i) {
    const auto& other = index.slots[scored[i].slot].sorted_tokens;
    const bool dominated = best.fully_matched && other.size() < best_tokens.size() &&
                           std::includes(best_tokens.begin(), best_tokens.end(), other.begin(), other.end());
    if (dominated) continue;
    if (rival == nullptr) rival = &scored[i];
    if (may_be_truncated && truncation_rival == nullptr && best.covered != 0 &&
        (scored[i].covered & best.covered) == best.covered) {
      truncation_rival = &scored[i];
    }
  }
  result.margin = truncation_rival ? 0.0 : best.score - (rival ? rival->score : 0.0);
  if (truncation_rival) rival = truncation_rival;
  char buf[160];
  if (best.score + kTieEpsilon < thresholds.review_min) {
    result.decision = Decision::kNone;
    std::snprintf(buf, sizeof buf, "best score %.3f is below review_min %.3f", best.score,
                  thresholds.review_min);
  } else if (best.score + kTieEpsilon < thresholds.auto_accept) {
    result.decision = Decision::kReview;
    std::snprintf(buf, sizeof buf, "best score %.3f is below auto_accept %.3f", best.score,
                  thresholds.auto_accept);
  } else if (result.margin + kTieEpsilon < thresholds.min_margin) {
    result.decision = Decision::kReview;
    std::snprintf(buf, sizeof buf, "ambiguous: runner-up within %.3f (needs %.3f)", result.margin,
                  thresholds.min_margin);
  } else {
    result.decision = Decision::kAuto;
    std::snprintf(buf, sizeof buf, "score %.3f, margin %.3f", best.score, result.margin);
  }
  result.reason = buf;
  if (result.decision == Decision::kReview && rival != nullptr && result.reason.rfind("ambiguous", 0) == 0) {
    result.reason += "; runner-up '" + index.slots[rival->slot].name + "'";
  }
  return result;
}

}  // namespace mlc::match
