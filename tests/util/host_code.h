// Machine code of `int f(void) { return VALUE; }` for the machine the test
// runs on (x86_64, aarch64 or riscv64), for tests that write code into memory
// and run it. Position-independent; at most kReturnCodeMax bytes.
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <gtest/gtest.h>

namespace mk::test {

inline constexpr size_t kReturnCodeMax = 12;

// True when the test runs under qemu-user (scripts/cross.sh sets
// MODKIT_QEMU_USER=1): timings mean nothing there, and qemu-user ignores
// madvise and does not count page faults as the kernel does.
inline bool UnderQemuUser() {
  return getenv("MODKIT_QEMU_USER") != nullptr;
}

// Writes the code at `at` (through whatever view is writable) and returns its
// size. The caller makes it executable and, on aarch64 and riscv64, coherent
// with the instruction cache before running it.
inline size_t WriteReturnCode(void* at, uint32_t value) {
#if defined(__x86_64__)
  uint8_t code[6] = {0xb8, 0, 0, 0, 0, 0xc3};  // mov $value, %eax; ret
  memcpy(code + 1, &value, 4);
#elif defined(__aarch64__)
  const uint32_t code[3] = {
      0x52800000u | ((value & 0xffff) << 5),  // movz w0, #lo16
      0x72a00000u | ((value >> 16) << 5),     // movk w0, #hi16, lsl #16
      0xd65f03c0u,                            // ret
  };
#elif defined(__riscv) && __riscv_xlen == 64
  // lui a0, hi20; addiw a0, a0, lo12; ret: hi20 is rounded so that the
  // sign-extended lo12 brings the sum back to value.
  uint32_t hi = (value + 0x800) & 0xfffff000u, lo = (value - hi) & 0xfff;
  const uint32_t code[3] = {
      hi | (10u << 7) | 0x37,                        // lui a0, hi20
      (lo << 20) | (10u << 15) | (10u << 7) | 0x1b,  // addiw a0, a0, lo12
      0x00008067u,                                   // ret (jalr x0, 0(ra))
  };
#else
#error "WriteReturnCode: no code for this machine"
#endif
  memcpy(at, code, sizeof code);
  return sizeof code;
}

// First statement of a test of x86_64's own code generation (its assembly,
// -fno-pic's 32-bit absolute relocations, -mcmodel=large with -fPIC): on
// another machine the test skips (tests/cross has that machine's cases).
#if defined(__x86_64__)
#define MK_X86_64_ONLY() \
  do {                   \
  } while (0)
#else
#define MK_X86_64_ONLY() \
  GTEST_SKIP() << "x86_64 code generation; tests/cross has this machine's cases"
#endif

}  // namespace mk::test
