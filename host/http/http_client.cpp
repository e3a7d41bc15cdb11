// libcurl implementation of HttpClient: per-thread easy handles, request validation, the retry loop and its
// classification of failures (see http_client.hpp for the rules).
#include "http/http_client.hpp"

#include <curl/curl.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <random>

#include "core/log.hpp"
#include "core/redact.hpp"

namespace mlc::http {
namespace {

std::string ToLower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n')) {
    s.remove_suffix(1);
  }
  return s;
}

// RFC 9110 token characters (method and header names).
bool IsToken(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (std::isalnum(u)) continue;
    if (std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos) continue;
    return false;
  }
  return true;
}

bool HasLineBreakOrNul(std::string_view s) {
  return s.find_first_of(std::string_view("\r\n\0", 3)) != s.npos;
}

void InitCurlOnce() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

struct EasyDeleter {
  void operator()(CURL* h) const { curl_easy_cleanup(h); }
};
struct SlistDeleter {
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};
struct MimeDeleter {
  void operator()(curl_mime* m) const { curl_mime_free(m); }
};

// The calling thread's easy handle; it keeps its connection cache across requests.
CURL* ThreadHandle() {
  thread_local std::unique_ptr<CURL, EasyDeleter> handle(curl_easy_init());
  return handle.get();
}

double UniformFromThreadRng() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  return std::uniform_real_distribution<double>(0.0, 1.0)(rng);
}

size_t WriteBody(char* data, size_t size, size_t nmemb, void* user) {
  static_cast<std::string*>(user)->append(data, size * nmemb);
  return size * nmemb;
}

// Collects the headers of the final response: a new status line (after 1xx or on curl's own retry) starts
// over; obsolete folded lines continue the previous header.
struct HeaderSink {
  std::map<std::string, std::string> headers;
  std::string last_name;
};

size_t WriteHeader(char* data, size_t size, size_t nmemb, void* user) {
  auto* sink = static_cast<HeaderSink*>(user);
  const size_t n = size * nmemb;
  std::string_view line(data, n);
  if (line.rfind("HTTP/", 0) == 0) {
    sink->headers.clear();
    sink->last_name.clear();
    return n;
  }
  if (!line.empty() && (line.front() == ' ' || line.front() == '\t')) {
    auto it = sink->headers.find(sink->last_name);
    if (it != sink->headers.end()) it->second.append(" ").append(Trim(line));
    return n;
  }
  const size_t colon = line.find(':');
  if (colon == std::string_view::npos) return n;  // the blank line ending the block, or junk
  std::string name = ToLower(Trim(line.substr(0, colon)));
  if (name.empty()) return n;
  std::string_view value = Trim(line.substr(colon + 1));
  auto [it, inserted] = sink->headers.try_emplace(name, value);
  if (!inserted) it->second.append(", ").append(value);
  sink->last_name = std::move(name);
  return n;
}

bool Contains(const std::vector<int>& v, int x) { return std::find(v.begin(), v.end(), x) != v.end(); }

std::string Seconds(Duration d) {
  const double s = std::chrono::duration<double>(d).count();
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.3g s", s);
  return buf;
}

Status ValidateRequest(const HttpRequest& r) {
  if (!IsToken(r.method)) return Status::Invalid("HTTP method is empty or not a token");
  if (r.url.empty()) return Status::Invalid("request URL is empty");
  if (HasLineBreakOrNul(r.url) || r.url.find(' ') != std::string::npos) {
    return Status::Invalid("request URL contains spaces, line breaks or NUL");
  }
  const std::string scheme = ToLower(r.url.substr(0, r.url.find("://")));
  if (r.url.find("://") == std::string::npos || (scheme != "http" && scheme != "https")) {
    return Status::Invalid("request URL must be absolute http:// or https://");
  }
  for (const auto& [name, value] : r.headers) {
    if (!IsToken(name))
      return Status::Invalid("header name '" + redact::RedactText(name) + "' is not a token");
    // The value is never quoted: it may be a secret.
    if (HasLineBreakOrNul(value))
      return Status::Invalid("value of header '" + name + "' contains CR, LF or NUL");
  }
  if (!r.idempotency_key.empty()) {
    if (!IsToken(r.idempotency_header)) return Status::Invalid("idempotency header name is not a token");
    if (HasLineBreakOrNul(r.idempotency_key))
      return Status::Invalid("idempotency key contains CR, LF or NUL");
  }
  for (const MultipartPart& p : r.multipart) {
    if (p.name.empty()) return Status::Invalid("multipart part without a name");
    if (HasLineBreakOrNul(p.name) || HasLineBreakOrNul(p.filename) || HasLineBreakOrNul(p.content_type)) {
      return Status::Invalid("multipart part '" + redact::RedactText(p.name) +
                             "' has CR, LF or NUL in its name, "
                             "filename or content type");
    }
  }
  return Status::Ok();
}

// What one attempt produced.
struct Attempt {
  CURLcode code = CURLE_OK;
  std::string error_text;    // curl's message, redacted
  bool before_send = false;  // the failure happened before any request byte could have left
  HttpResponse response;
};

// Whether a transport failure left the request unsent. Connect-phase failures are; a timeout is only when
// the transfer phase never began (curl's pre-transfer timer stays at zero).
bool FailedBeforeSend(CURL* h, CURLcode code) {
  switch (code) {
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_CONNECT:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_PROXY:
    case CURLE_URL_MALFORMAT:
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_BAD_FUNCTION_ARGUMENT:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CERTPROBLEM:
      return true;
    case CURLE_OPERATION_TIMEDOUT: {
      curl_off_t pretransfer_us = 0;
      curl_easy_getinfo(h, CURLINFO_PRETRANSFER_TIME_T, &pretransfer_us);
      return pretransfer_us == 0;
    }
    default:
      return false;
  }
}

bool IsTransient(CURLcode code) {
  switch (code) {
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_CONNECT:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    case CURLE_HTTP3:
    case CURLE_PROXY:
      return true;
    default:
      return false;
  }
}

Attempt PerformOnce(CURL* h, const HttpRequest& r, const HttpClient::Options& options, curl_slist* headers,
                    bool fresh_connection) {
  Attempt out;
  curl_easy_reset(h);  // keeps live connections, DNS and TLS session caches
  char errbuf[CURL_ERROR_SIZE];
  errbuf[0] = '\0';
  HeaderSink header_sink;
  std::unique_ptr<curl_mime, MimeDeleter> mime;

  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(h, CURLOPT_URL, r.url.c_str());
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
  if (!options.ca_file.empty()) curl_easy_setopt(h, CURLOPT_CAINFO, options.ca_file.c_str());
  curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
  curl_easy_setopt(h, CURLOPT_SUPPRESS_CONNECT_HEADERS, 1L);
  curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, "");  // any encoding libcurl can decode
  curl_easy_setopt(h, CURLOPT_USERAGENT, options.user_agent.c_str());
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(r.connect_timeout.count()));
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, static_cast<long>(r.total_timeout.count()));
  if (fresh_connection) curl_easy_setopt(h, CURLOPT_FRESH_CONNECT, 1L);
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, &WriteBody);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &out.response.body);
  curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, &WriteHeader);
  curl_easy_setopt(h, CURLOPT_HEADERDATA, &header_sink);

  if (!r.multipart.empty()) {
    mime.reset(curl_mime_init(h));
    for (const MultipartPart& p : r.multipart) {
      curl_mimepart* part = curl_mime_addpart(mime.get());
      curl_mime_name(part, p.name.c_str());
      curl_mime_data(part, p.data.data(), p.data.size());
      if (!p.filename.empty()) curl_mime_filename(part, p.filename.c_str());
      if (!p.content_type.empty()) curl_mime_type(part, p.content_type.c_str());
    }
    curl_easy_setopt(h, CURLOPT_MIMEPOST, mime.get());
    if (r.method != "POST") curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, r.method.c_str());
  } else if (r.method == "GET" && r.body.empty()) {
    curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
  } else if (r.method == "HEAD") {
    curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
  } else if (r.method == "POST" || r.method == "PUT" || r.method == "PATCH" || !r.body.empty()) {
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(r.body.size()));
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, r.body.data());
    if (r.method != "POST") curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, r.method.c_str());
  } else {
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, r.method.c_str());
  }

  out.code = curl_easy_perform(h);
  if (out.code == CURLE_OK) {
    long status = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    out.response.status = static_cast<int>(status);
    out.response.headers = std::move(header_sink.headers);
  } else {
    out.error_text = redact::RedactText(errbuf[0] != '\0' ? errbuf : curl_easy_strerror(out.code));
    out.before_send = FailedBeforeSend(h, out.code);
  }
  // The handle must not keep pointers into this frame or into the request.
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, nullptr);
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, nullptr);
  curl_easy_setopt(h, CURLOPT_MIMEPOST, nullptr);
  return out;
}

const char* FormatName(HintFormat format) {
  switch (format) {
    case HintFormat::kRetryAfter:
      return "delta-seconds or an HTTP-date";
    case HintFormat::kSeconds:
      return "seconds";
    case HintFormat::kEpoch:
      return "a Unix time in seconds";
    case HintFormat::kHttpDate:
      return "an HTTP-date";
    case HintFormat::kAuto:
      return "seconds or a Unix time";
  }
  return "?";
}

// A header value as it may appear in a debug line: bounded, one line, redacted.
std::string ValueForLog(std::string_view v) {
  std::string out = redact::RedactText(v.substr(0, 64));
  for (char& c : out) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
  }
  if (v.size() > 64) out += "...";
  return out;
}

// The longest wait a response's hint headers ask for, if any. Values that do not parse are logged (debug)
// and ignored, so the caller falls back to its backoff.
std::optional<Duration> RetryHint(const HttpResponse& res, const RetryPolicy& policy, WallTime now,
                                  std::string_view what) {
  std::optional<Duration> hint;
  auto consider = [&](std::string_view name, HintFormat format) {
    const std::string* v = res.Header(name);
    if (v == nullptr) return;
    const std::optional<Duration> d = ParseHint(*v, format, now);
    if (!d) {
      Log().debug("http: {}: ignoring {} header '{}': not {}; using the backoff delay", what, name,
                  ValueForLog(*v), FormatName(format));
      return;
    }
    if (!hint || *d > *hint) hint = d;
  };
  consider("retry-after", HintFormat::kRetryAfter);
  for (const std::string& name : policy.extra_retry_headers) consider(name, HintFormat::kAuto);
  for (const HintHeader& h : policy.hint_headers) consider(h.name, h.format);
  return hint;
}

}  // namespace

bool HttpRequest::IsIdempotent() const {
  if (idempotent.has_value()) return *idempotent;
  if (!idempotency_key.empty()) return true;
  for (std::string_view m : {"GET", "HEAD", "PUT", "DELETE", "OPTIONS", "TRACE"}) {
    if (EqualsIgnoreCase(method, m)) return true;
  }
  return false;
}

const std::string* HttpResponse::Header(std::string_view name) const {
  auto it = headers.find(ToLower(name));
  return it == headers.end() ? nullptr : &it->second;
}

Duration BackoffDelay(const RetryPolicy& policy, int retry_index) {
  const double base = static_cast<double>(std::max(policy.base_delay, Duration::zero()).count());
  const double cap = static_cast<double>(std::max(policy.max_delay, Duration::zero()).count());
  // 2^index overflows nothing in double; the cap bounds it.
  const double ceiling = std::min(cap, base * std::ldexp(1.0, std::clamp(retry_index, 0, 1000)));
  double u = policy.random ? policy.random() : UniformFromThreadRng();
  u = std::clamp(u, 0.0, 1.0);
  return Duration(static_cast<Duration::rep>(u * ceiling));
}

namespace {

// Seconds as written in a header ("120", "1.5") -> duration, saturating at ~100 years.
std::optional<double> ParseSeconds(std::string_view s, bool allow_fraction) {
  s = Trim(s);
  if (s.empty()) return std::nullopt;
  size_t dots = 0;
  for (char c : s) {
    if (c == '.') {
      ++dots;
    } else if (!std::isdigit(static_cast<unsigned char>(c))) {
      return std::nullopt;
    }
  }
  if (dots > (allow_fraction ? 1u : 0u) || s.front() == '.' || s.back() == '.') return std::nullopt;
  return std::strtod(std::string(s).c_str(), nullptr);
}

Duration FromSeconds(double s) {
  constexpr double kMax = 100.0 * 365 * 24 * 3600;
  return std::chrono::duration_cast<Duration>(std::chrono::duration<double>(std::clamp(s, 0.0, kMax)));
}

// Wait until the absolute Unix time `epoch_seconds`, computed in double so that dates centuries ahead
// saturate (FromSeconds) instead of overflowing a nanosecond time point.
Duration UntilEpoch(double epoch_seconds, WallTime now) {
  return FromSeconds(epoch_seconds - std::chrono::duration<double>(now.time_since_epoch()).count());
}

// Reads an HTTP-date field by field (curl_getdate would accept far more than RFC 9110 allows).
class DateCursor {
 public:
  explicit DateCursor(std::string_view s) : s_(s) {}
  bool Literal(std::string_view lit) {
    if (s_.substr(pos_, lit.size()) != lit) return false;
    pos_ += lit.size();
    return true;
  }
  // Exactly `n` digits (`n` 2 with `space_pad`: also " 6" as asctime writes single-digit days).
  bool Digits(int n, int* out, bool space_pad = false) {
    int v = 0;
    for (int i = 0; i < n; ++i) {
      if (pos_ >= s_.size()) return false;
      const char c = s_[pos_];
      if (space_pad && i == 0 && c == ' ') {
        ++pos_;
        continue;
      }
      if (c < '0' || c > '9') return false;
      v = v * 10 + (c - '0');
      ++pos_;
    }
    *out = v;
    return true;
  }
  // One of `names`; its index.
  template <size_t N>
  bool Name(const std::array<std::string_view, N>& names, int* index) {
    for (size_t i = 0; i < N; ++i) {
      if (Literal(names[i])) {
        *index = static_cast<int>(i);
        return true;
      }
    }
    return false;
  }
  bool Time(int* h, int* m, int* sec) {
    return Digits(2, h) && Literal(":") && Digits(2, m) && Literal(":") && Digits(2, sec);
  }
  bool AtEnd() const { return pos_ == s_.size(); }

 private:
  std::string_view s_;
  size_t pos_ = 0;
};

constexpr std::array<std::string_view, 7> kDays = {"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"};
constexpr std::array<std::string_view, 7> kLongDays = {"Monday", "Tuesday",  "Wednesday", "Thursday",
                                                       "Friday", "Saturday", "Sunday"};
constexpr std::array<std::string_view, 12> kMonths = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                      "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

int64_t DaysFromCivil(int64_t y, int m, int d) {  // proleptic Gregorian, 1970-01-01 = 0
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const int64_t yoe = y - era * 400;
  const int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

int DaysInMonth(int year, int month) {
  static constexpr int kDaysIn[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  return month == 2 && leap ? 29 : kDaysIn[month - 1];
}

}  // namespace

std::optional<int64_t> ParseHttpDate(std::string_view value) {
  const std::string_view text = Trim(value);
  int wd = 0, day = 0, month = 0, year = 0, h = 0, m = 0, sec = 0;
  bool ok = false;
  {  // IMF-fixdate
    DateCursor c(text);
    ok = c.Name(kDays, &wd) && c.Literal(", ") && c.Digits(2, &day) && c.Literal(" ") &&
         c.Name(kMonths, &month) && c.Literal(" ") && c.Digits(4, &year) && c.Literal(" ") &&
         c.Time(&h, &m, &sec) && c.Literal(" GMT") && c.AtEnd();
  }
  if (!ok) {  // RFC 850, two-digit year
    DateCursor c(text);
    ok = c.Name(kLongDays, &wd) && c.Literal(", ") && c.Digits(2, &day) && c.Literal("-") &&
         c.Name(kMonths, &month) && c.Literal("-") && c.Digits(2, &year) && c.Literal(" ") &&
         c.Time(&h, &m, &sec) && c.Literal(" GMT") && c.AtEnd();
    // RFC 9110: a two-digit year more than 50 years ahead means the past century; relative to now that
    // is 1970..2069 for any date a server sends today.
    if (ok) year += year < 70 ? 2000 : 1900;
  }
  if (!ok) {  // asctime
    DateCursor c(text);
    ok = c.Name(kDays, &wd) && c.Literal(" ") && c.Name(kMonths, &month) && c.Literal(" ") &&
         c.Digits(2, &day, /*space_pad=*/true) && c.Literal(" ") && c.Time(&h, &m, &sec) && c.Literal(" ") &&
         c.Digits(4, &year) && c.AtEnd();
  }
  if (!ok) return std::nullopt;
  ++month;
  if (day < 1 || day > DaysInMonth(year, month) || h > 23 || m > 59 || sec > 60) return std::nullopt;
  return DaysFromCivil(year, month, day) * 86400 + h * 3600 + m * 60 + std::min(sec, 59);
}

std::optional<HintFormat> HintFormatForResetKind(std::string_view reset_kind) {
  if (reset_kind == "seconds") return HintFormat::kSeconds;
  if (reset_kind == "epoch") return HintFormat::kEpoch;
  if (reset_kind == "http_date") return HintFormat::kHttpDate;
  return std::nullopt;
}

std::optional<Duration> ParseRetryAfter(std::string_view value, WallTime now) {
  if (auto s = ParseSeconds(value, /*allow_fraction=*/true)) return FromSeconds(*s);
  const std::optional<int64_t> t = ParseHttpDate(value);
  if (!t) return std::nullopt;
  return UntilEpoch(static_cast<double>(*t), now);
}

std::optional<Duration> ParseHint(std::string_view value, HintFormat format, WallTime now) {
  switch (format) {
    case HintFormat::kRetryAfter:
      return ParseRetryAfter(value, now);
    case HintFormat::kSeconds: {
      auto s = ParseSeconds(value, /*allow_fraction=*/true);
      if (!s) return std::nullopt;
      return FromSeconds(*s);
    }
    case HintFormat::kEpoch: {
      auto s = ParseSeconds(value, /*allow_fraction=*/true);
      if (!s) return std::nullopt;
      return UntilEpoch(*s, now);
    }
    case HintFormat::kHttpDate: {
      const std::optional<int64_t> t = ParseHttpDate(value);
      if (!t) return std::nullopt;
      return UntilEpoch(static_cast<double>(*t), now);
    }
    case HintFormat::kAuto:
      return ParseResetHint(value, now);
  }
  return std::nullopt;
}

std::optional<Duration> ParseResetHint(std::string_view value, WallTime now) {
  auto s = ParseSeconds(value, /*allow_fraction=*/true);
  if (!s) return std::nullopt;
  constexpr double kTenYears = 10.0 * 365 * 24 * 3600;
  if (*s > kTenYears) return UntilEpoch(*s, now);  // an absolute Unix time
  return FromSeconds(*s);
}

std::string UrlForMessages(std::string_view url) {
  const size_t scheme_end = url.find("://");
  std::string_view scheme;
  std::string_view rest = url;
  if (scheme_end != std::string_view::npos) {
    scheme = url.substr(0, scheme_end + 3);
    rest = url.substr(scheme_end + 3);
  }
  rest = rest.substr(0, rest.find_first_of("?#"));
  const size_t path_start = rest.find('/');
  std::string_view authority = rest.substr(0, path_start);
  const std::string_view path = path_start == std::string_view::npos ? "" : rest.substr(path_start);
  const size_t at = authority.rfind('@');
  if (at != std::string_view::npos) authority = authority.substr(at + 1);
  std::string out;
  out.append(scheme).append(authority).append(path);
  return out;
}

HttpClient::HttpClient() : HttpClient(Options{}) {}

HttpClient::HttpClient(Options options) : options_(std::move(options)) { InitCurlOnce(); }

Result<HttpResponse> HttpClient::Send(const HttpRequest& request, const RetryPolicy& policy,
                                      RateLimiter* limiter) const {
  const std::string what = request.method + " " + UrlForMessages(request.url);
  if (Status s = ValidateRequest(request); !s.ok()) return s.Wrap(what);
  CURL* h = ThreadHandle();
  if (h == nullptr) return Status::Error(what + ": libcurl could not create a handle");

  Clock* clock = policy.clock != nullptr ? policy.clock : &DefaultClock();
  Sleeper* sleeper = policy.sleeper != nullptr ? policy.sleeper : &DefaultClock();
  const bool idempotent = request.IsIdempotent();
  const int max_attempts = std::max(policy.max_attempts, 1);

  std::unique_ptr<curl_slist, SlistDeleter> headers;
  auto add_header = [&](const std::string& line) {
    curl_slist* next = curl_slist_append(headers.get(), line.c_str());
    if (next == nullptr) return false;
    (void)headers.release();  // `next` is the same list, grown
    headers.reset(next);
    return true;
  };
  bool has_expect = false;
  bool has_key_header = false;
  for (const auto& [name, value] : request.headers) {
    has_expect |= EqualsIgnoreCase(name, "expect");
    has_key_header |= EqualsIgnoreCase(name, request.idempotency_header);
    // "Name;" is libcurl's spelling of a header with an empty value ("Name:" would remove it).
    if (!add_header(value.empty() ? name + ";" : name + ": " + value)) {
      return Status::Error(what + ": out of memory building headers");
    }
  }
  if (!request.idempotency_key.empty() && !has_key_header &&
      !add_header(request.idempotency_header + ": " + request.idempotency_key)) {
    return Status::Error(what + ": out of memory building headers");
  }
  if (!has_expect && !add_header("Expect:")) return Status::Error(what + ": out of memory building headers");

  const SteadyTime start = clock->Now();
  std::string last_failure;
  for (int attempt = 0; attempt < max_attempts; ++attempt) {
    RateLimiter::Permit permit;
    if (limiter != nullptr) {
      // A connection paused (after a 429) for longer than this request's budget answers RETRY at once
      // instead of holding the caller; window waits are bounded by the window and simply block.
      const Duration paused = limiter->PausedFor();
      if (paused > policy.max_total - (clock->Now() - start)) {
        return Status::Retry(what + ": the connection is paused by its rate limit for " + Seconds(paused) +
                             ", more than the retry budget has left");
      }
      permit = limiter->Acquire();
    }
    // Non-idempotent requests must never ride a reused connection: libcurl would replay them on its own.
    Attempt a = PerformOnce(h, request, options_, headers.get(), /*fresh_connection=*/!idempotent);
    permit.Release();

    Duration delay{};
    if (a.code == CURLE_OK) {
      const int status = a.response.status;
      const bool refused = Contains(policy.refused_statuses, status);
      const bool retryable = refused || (idempotent && Contains(policy.retry_statuses, status));
      if (!retryable) return std::move(a.response);
      last_failure = "HTTP " + std::to_string(status);
      const std::optional<Duration> hint = RetryHint(a.response, policy, clock->WallNow(), what);
      delay = BackoffDelay(policy, attempt);
      if (hint) delay = std::max(delay, *hint);
      // The whole connection is over its limit (or the server asked everyone to wait): pause all callers.
      if (limiter != nullptr && (status == 429 || hint)) limiter->Penalize(std::min(delay, policy.max_pause));
      if (hint && *hint > policy.max_total - (clock->Now() - start)) {
        return Status::Retry(what + ": " + last_failure + "; the server asks to wait " + Seconds(*hint) +
                             ", more than the retry budget has left");
      }
    } else {
      last_failure = a.error_text;
      if (!a.before_send && !idempotent) {
        return Status::Uncertain(what + ": " + a.error_text +
                                 " (the request may have reached the server; not repeated)");
      }
      if (!IsTransient(a.code)) {
        const bool bad_request = a.code == CURLE_URL_MALFORMAT || a.code == CURLE_UNSUPPORTED_PROTOCOL;
        return Status(bad_request ? Code::kInvalid : Code::kError, what + ": " + a.error_text);
      }
      delay = BackoffDelay(policy, attempt);
    }

    if (attempt + 1 >= max_attempts) break;
    const Duration remaining = policy.max_total - (clock->Now() - start);
    if (delay > remaining) {
      return Status::Retry(what + ": " + last_failure + "; retry budget exhausted after " +
                           std::to_string(attempt + 1) + " attempt(s)");
    }
    Log().debug("http: {}: {}; retrying in {} (attempt {} of {})", what, last_failure, Seconds(delay),
                attempt + 2, max_attempts);
    sleeper->SleepFor(delay);
  }
  return Status::Retry(what + ": " + last_failure + " (gave up after " + std::to_string(max_attempts) +
                       " attempt(s))");
}

}  // namespace mlc::http
