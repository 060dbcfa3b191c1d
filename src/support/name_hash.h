// Hashing and comparing symbol names a machine word at a time.
//
// Both work on a name whose length is known, and never read a byte outside
// [s, s + n): every load is an 8-, 4-, 2- or 1-byte copy inside that range
// (the last word of a name overlaps the one before it instead of reading
// past the end), so a name at the very end of a page or an allocation is
// safe, and ASan sees no read past the NUL. Callers that have only a C
// string take its length with mk_strlen() first (the host's strlen reads
// 16 or 32 bytes a step within the page, and ASan knows its contract).
//
// The hash values exist only in memory, at run time: nothing stored in a
// file, a hint or a signature depends on them, and they differ between
// byte orders (loads are native). Equal names always hash equal; a name's
// length is part of its hash.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "support/memory.h"

namespace mk {

namespace name_detail {

inline uint64_t load8(const char* p) {
  uint64_t v;
  __builtin_memcpy(&v, p, 8);
  return v;
}
inline uint32_t load4(const char* p) {
  uint32_t v;
  __builtin_memcpy(&v, p, 4);
  return v;
}
inline uint16_t load2(const char* p) {
  uint16_t v;
  __builtin_memcpy(&v, p, 2);
  return v;
}

// The 128-bit product's halves folded together: every input bit reaches
// every output bit, which one 64-bit multiply (low bits never see high
// ones) does not.
inline uint64_t fold_mul(uint64_t a, uint64_t b) {
  unsigned __int128 p = static_cast<unsigned __int128>(a) * b;
  return static_cast<uint64_t>(p) ^ static_cast<uint64_t>(p >> 64);
}

constexpr uint64_t kSeed = 0x243f6a8885a308d3u;  // the first digits of pi
constexpr uint64_t kStep = 0x9e3779b97f4a7c15u;  // 2^64 / the golden ratio
constexpr uint64_t kLast = 0xd6e8feb86659fd93u;

}  // namespace name_detail

// The hash of the n bytes at s. Names of 8 bytes or more cost one multiply
// per 8 bytes (the last step takes the last 8 bytes, overlapping the
// previous step's); shorter names take one step from two overlapping 4-byte
// loads, or from their first, middle and last byte.
inline uint32_t name_hash(const char* s, size_t n) {
  using namespace name_detail;
  uint64_t h = kSeed ^ n;
  if (n >= 8) {
    const char* last = s + n - 8;
    for (; s < last; s += 8)
      h = fold_mul(h ^ load8(s), kStep);
    h = fold_mul(h ^ load8(last), kStep);
  } else if (n >= 4) {
    uint64_t w = load4(s) | static_cast<uint64_t>(load4(s + n - 4)) << 32;
    h = fold_mul(h ^ w, kStep);
  } else if (n > 0) {
    uint64_t w = static_cast<uint8_t>(s[0]) |
                 static_cast<uint64_t>(static_cast<uint8_t>(s[n / 2])) << 8 |
                 static_cast<uint64_t>(static_cast<uint8_t>(s[n - 1])) << 16;
    h = fold_mul(h ^ w, kStep);
  }
  h = fold_mul(h, kLast);
  return static_cast<uint32_t>(h ^ (h >> 32));
}

// The hash of a NUL-terminated name: name_hash(s, mk_strlen(s)).
inline uint32_t name_hash(const char* s) {
  return name_hash(s, mk_strlen(s));
}

// Whether the first n bytes of a and b are equal; both must have n readable
// bytes (callers compare names whose lengths they know to be n). A word at
// a time, the last word overlapping the one before it.
inline bool names_equal(const char* a, const char* b, size_t n) {
  using namespace name_detail;
  if (n >= 8) {
    size_t i = 0;
    for (; i + 8 < n; i += 8)
      if (load8(a + i) != load8(b + i)) return false;
    return load8(a + n - 8) == load8(b + n - 8);
  }
  if (n >= 4) return load4(a) == load4(b) && load4(a + n - 4) == load4(b + n - 4);
  if (n >= 2) return load2(a) == load2(b) && a[n - 1] == b[n - 1];
  return n == 0 || a[0] == b[0];
}

}  // namespace mk
