// Result<T>: a value or an Error. Every fallible call in the core returns one,
// and it must be looked at ([[nodiscard]]). MK_TRY propagates an error to the
// caller, the way `?` does in Rust and TRY() in SerenityOS.
//
//   Result<Section*> find(...);
//   Section* s = MK_TRY(find(...));
//
// Result<void> carries no value; Ok() builds a successful one.
#pragma once

#include <new>
#include <type_traits>
#include <utility>

#include "support/error.h"

namespace mk {

struct OkTag {};
inline constexpr OkTag Ok() { return {}; }

template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : ok_(true) { new (&value_) T(std::move(value)); }  // NOLINT: implicit by design
  Result(Error error) : ok_(false) { new (&error_) Error(error); }     // NOLINT
  Result(Result&& other) : ok_(other.ok_) {
    if (ok_)
      new (&value_) T(std::move(other.value_));
    else
      new (&error_) Error(other.error_);
  }
  Result(const Result&) = delete;
  Result& operator=(const Result&) = delete;
  ~Result() {
    if (ok_) value_.~T();
  }

  explicit operator bool() const { return ok_; }
  bool ok() const { return ok_; }
  T& value() & { return value_; }
  const T& value() const& { return value_; }
  T&& value() && { return std::move(value_); }
  const Error& error() const { return error_; }
  Error& error() { return error_; }

 private:
  bool ok_;
  union {
    T value_;
    Error error_;
  };
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result(OkTag) : ok_(true) {}                                        // NOLINT
  Result(Error error) : ok_(false) { new (&error_) Error(error); }  // NOLINT
  Result(Result&& other) : ok_(other.ok_) {
    if (!ok_) new (&error_) Error(other.error_);
  }
  Result(const Result&) = delete;
  Result& operator=(const Result&) = delete;

  explicit operator bool() const { return ok_; }
  bool ok() const { return ok_; }
  void value() const {}
  const Error& error() const { return error_; }
  Error& error() { return error_; }

 private:
  bool ok_;
  union {  // not built on success: an Ok costs one byte, not a message buffer
    Error error_;
  };
};

}  // namespace mk

// Evaluates to the value of a Result, or returns its Error from the enclosing
// function. (A GNU statement expression: both gcc and clang have it.)
#define MK_TRY(expr)                                  \
  ({                                                  \
    auto&& mk_try_result_ = (expr);                   \
    if (!mk_try_result_) return mk_try_result_.error(); \
    std::move(mk_try_result_).value();                \
  })
