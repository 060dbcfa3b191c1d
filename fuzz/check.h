// What every fuzzer of fuzz/ shares: FUZZ_CHECK, which turns a broken
// property into abort() with a message (libFuzzer reports it as a finding and
// keeps the input), and FuzzInput, a reader of the fuzz bytes for the
// harnesses that build a structure or play a sequence from them.
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <string>

#define FUZZ_CHECK(cond, ...)                                                           \
  do {                                                                                  \
    if (!(cond)) {                                                                      \
      fprintf(stderr, "\nproperty broken at %s:%d: %s\n  ", __FILE__, __LINE__, #cond); \
      fprintf(stderr, __VA_ARGS__);                                                     \
      fputc('\n', stderr);                                                              \
      abort();                                                                          \
    }                                                                                   \
  } while (0)

namespace mk::fuzz {

// Consumes the input from the front; past the end every read is 0, so any
// input is a complete program of choices.
class FuzzInput {
 public:
  FuzzInput(const uint8_t* data, size_t size) : p_(data), left_(size) {}

  bool empty() const { return left_ == 0; }
  size_t left() const { return left_; }

  template <class T>
  T take() {
    T v{};
    size_t n = sizeof v < left_ ? sizeof v : left_;
    memcpy(&v, p_, n);
    p_ += n;
    left_ -= n;
    return v;
  }
  uint8_t byte() { return take<uint8_t>(); }
  // A value in [0, n); n > 0.
  uint32_t below(uint32_t n) { return take<uint32_t>() % n; }
  // Up to max bytes as a string (a length byte first).
  std::string text(size_t max) {
    size_t n = byte() % (max + 1);
    if (n > left_) n = left_;
    std::string s(reinterpret_cast<const char*>(p_), n);
    p_ += n;
    left_ -= n;
    return s;
  }

 private:
  const uint8_t* p_;
  size_t left_;
};

}  // namespace mk::fuzz
