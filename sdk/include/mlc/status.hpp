// Status and Result<T>: how ml-connector code reports failure without exceptions.
//
// Shared by the host and by C++ plugins (header-only, no dependencies beyond the standard library). The
// codes are exactly the ABI's statuses (plugin.h), so a Status crosses the C boundary without loss.
//
//   mlc::Result<int64_t> ParseCents(std::string_view s);
//   MLC_ASSIGN_OR_RETURN(int64_t cents, ParseCents(text));
//   if (cents < 0) return mlc::Status::Invalid("negative amount");
//
// Thread safety: values; no shared state.
#ifndef MLC_STATUS_HPP_
#define MLC_STATUS_HPP_

#include <cassert>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

#include "mlc/plugin.h"

namespace mlc {

enum class Code : int32_t {
  kOk = MLC_OK,
  kRetry = MLC_RETRY,          // transient; try again later
  kError = MLC_ERROR,          // permanent for this record
  kUncertain = MLC_UNCERTAIN,  // a write may have landed; reconcile before retrying
  kAuth = MLC_AUTH,            // credentials rejected
  kInvalid = MLC_INVALID,      // bad input or configuration
  kNotFound = MLC_NOT_FOUND,
};

inline std::string_view CodeName(Code code) {
  switch (code) {
    case Code::kOk:
      return "OK";
    case Code::kRetry:
      return "RETRY";
    case Code::kError:
      return "ERROR";
    case Code::kUncertain:
      return "UNCERTAIN";
    case Code::kAuth:
      return "AUTH";
    case Code::kInvalid:
      return "INVALID";
    case Code::kNotFound:
      return "NOT_FOUND";
  }
  return "ERROR";
}

// Maps any integer from across the ABI to a Code; unknown values become kError.
inline Code CodeFromAbi(mlc_status s) {
  if (s >= MLC_OK && s <= MLC_NOT_FOUND) return static_cast<Code>(s);
  return Code::kError;
}

class [[nodiscard]] Status {
 public:
  Status() = default;  // OK
  Status(Code code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status Ok() { return {}; }
  static Status Retry(std::string m) { return {Code::kRetry, std::move(m)}; }
  static Status Error(std::string m) { return {Code::kError, std::move(m)}; }
  static Status Uncertain(std::string m) { return {Code::kUncertain, std::move(m)}; }
  static Status Auth(std::string m) { return {Code::kAuth, std::move(m)}; }
  static Status Invalid(std::string m) { return {Code::kInvalid, std::move(m)}; }
  static Status NotFound(std::string m) { return {Code::kNotFound, std::move(m)}; }

  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  const std::string& message() const { return message_; }
  mlc_status abi() const { return static_cast<mlc_status>(code_); }

  // "INVALID: amount has more decimals than USD allows"
  std::string ToString() const {
    if (ok()) return "OK";
    std::string s(CodeName(code_));
    if (!message_.empty()) s.append(": ").append(message_);
    return s;
  }

  // Prefixes context: Status::Invalid("x").Wrap("config") -> "config: x".
  Status Wrap(std::string_view context) const {
    if (ok()) return *this;
    return {code_, std::string(context) + ": " + message_};
  }

 private:
  Code code_ = Code::kOk;
  std::string message_;
};

// Either a value or a non-OK Status.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}        // NOLINT: implicit by design
  Result(Status status) : v_(std::move(status)) {  // NOLINT
    assert(!std::get<Status>(v_).ok() && "Result constructed from an OK status");
  }

  bool ok() const { return std::holds_alternative<T>(v_); }
  const Status& status() const {
    static const Status kOk;
    return ok() ? kOk : std::get<Status>(v_);
  }
  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T value_or(T fallback) const { return ok() ? std::get<T>(v_) : std::move(fallback); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace mlc

#define MLC_STATUS_CONCAT_INNER_(a, b) a##b
#define MLC_STATUS_CONCAT_(a, b) MLC_STATUS_CONCAT_INNER_(a, b)

// Returns from the enclosing function when `expr` (a Status) is not OK.
#define MLC_RETURN_IF_ERROR(expr)                      \
  do {                                                 \
    ::mlc::Status mlc_status_tmp_ = (expr);            \
    if (!mlc_status_tmp_.ok()) return mlc_status_tmp_; \
  } while (0)

// Declares `lhs` from a Result's value, or returns its Status from the enclosing function.
#define MLC_ASSIGN_OR_RETURN(lhs, expr)                        \
  auto MLC_STATUS_CONCAT_(mlc_result_, __LINE__) = (expr);     \
  if (!MLC_STATUS_CONCAT_(mlc_result_, __LINE__).ok())         \
    return MLC_STATUS_CONCAT_(mlc_result_, __LINE__).status(); \
  lhs = std::move(MLC_STATUS_CONCAT_(mlc_result_, __LINE__)).value()

#endif  // MLC_STATUS_HPP_
