// Checked arithmetic and range tests that cannot overflow. Every bound derived
// from untrusted input goes through these.
//
// The range rule is `off <= size && len <= size - off`, never `off + len <= size`.
#pragma once

#include <stddef.h>
#include <stdint.h>

namespace mk {

// True when [off, off + len) lies inside [0, size).
constexpr bool in_range(uint64_t off, uint64_t len, uint64_t size) {
  return off <= size && len <= size - off;
}

// True when count elements of elem_size bytes at off lie inside [0, size).
constexpr bool array_in_range(uint64_t off, uint64_t count, uint64_t elem_size, uint64_t size) {
  if (!in_range(off, 0, size)) return false;
  if (elem_size == 0) return true;
  return count <= (size - off) / elem_size;
}

template <class T>
[[nodiscard]] constexpr bool add_overflow(T a, T b, T* out) {
  return __builtin_add_overflow(a, b, out);
}

template <class T>
[[nodiscard]] constexpr bool mul_overflow(T a, T b, T* out) {
  return __builtin_mul_overflow(a, b, out);
}

constexpr bool is_pow2(uint64_t v) { return v != 0 && (v & (v - 1)) == 0; }

// Rounds v up to a multiple of align (a power of two). False on overflow.
[[nodiscard]] constexpr bool align_up(uint64_t v, uint64_t align, uint64_t* out) {
  uint64_t mask = align - 1;
  if (v > UINT64_MAX - mask) return false;
  *out = (v + mask) & ~mask;
  return true;
}

constexpr uint64_t align_down(uint64_t v, uint64_t align) { return v & ~(align - 1); }

// Does a signed value fit in `bits` bits (two's complement)?
constexpr bool fits_signed(int64_t v, unsigned bits) {
  if (bits >= 64) return true;
  int64_t lo = -(int64_t{1} << (bits - 1));
  int64_t hi = (int64_t{1} << (bits - 1)) - 1;
  return v >= lo && v <= hi;
}

// Does an unsigned value fit in `bits` bits?
constexpr bool fits_unsigned(uint64_t v, unsigned bits) {
  return bits >= 64 || v <= ((uint64_t{1} << bits) - 1);
}

// Sign-extends the low `bits` bits of v.
constexpr int64_t sign_extend(uint64_t v, unsigned bits) {
  if (bits >= 64) return static_cast<int64_t>(v);
  uint64_t m = uint64_t{1} << (bits - 1);
  v &= (uint64_t{1} << bits) - 1;
  return static_cast<int64_t>((v ^ m) - m);
}

}  // namespace mk
