// The only C library functions the freestanding core may call. In a kernel
// they come from the kernel's own libc; hosted, from glibc. The freestanding
// check (tests/freestanding) holds the core to exactly this list.
//
// The builtins need no declaration of the C functions: the compiler inlines
// them or emits a call to the C symbol. Declaring them here would clash with
// the C library's own declarations (glibc's are noexcept) in hosted code that
// includes both this header and <string.h>.
#pragma once

#include <stddef.h>

namespace mk {

inline void* mk_memcpy(void* d, const void* s, size_t n) {
  return __builtin_memcpy(d, s, n);
}
inline void* mk_memmove(void* d, const void* s, size_t n) {
  return __builtin_memmove(d, s, n);
}
inline void* mk_memset(void* d, int c, size_t n) {
  return __builtin_memset(d, c, n);
}
inline int mk_memcmp(const void* a, const void* b, size_t n) {
  return __builtin_memcmp(a, b, n);
}
inline size_t mk_strlen(const char* s) {
  return __builtin_strlen(s);
}

// Stops at the first difference: memcmp over strlen(a) + 1 bytes would read
// past the end of a shorter b.
inline bool str_eq(const char* a, const char* b) {
  for (; *a != '\0'; ++a, ++b)
    if (*a != *b) return false;
  return *b == '\0';
}

}  // namespace mk
