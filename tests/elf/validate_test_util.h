// Shared pieces of the elf::validate() tests: a fake machine table (the real
// x86_64 one lives in src/arch and is not a dependency of this layer), a
// counting allocator, the "standard" object most tests break one thing of,
// and ExpectError, which asserts the exact category and message.
#pragma once

#include <stdint.h>

#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "elf/validate.h"
#include "util/elf_builder.h"

namespace mk::test {

// x86_64 as far as the validator needs it: names, widths, TLS.
extern const elf::MachineRules kFakeX86_64;
// An aarch64 that knows only R_AARCH64_ABS64 (257, width 8).
extern const elf::MachineRules kFakeAarch64;
const elf::MachineRules* FakeMachines(uint16_t machine);

// Relocation types of the fake x86_64 table.
enum : uint32_t {
  R_NONE = 0,
  R_64 = 1,
  R_PC32 = 2,
  R_PLT32 = 4,
  R_GOTPCREL = 9,
  R_32 = 10,
  R_32S = 11,
  R_TLSGD = 19,
  R_PC64 = 24,
  R_GOTPCRELX = 41,
  R_REX_GOTPCRELX = 42,
};

// malloc-backed; counts live allocations; optionally fails allocation number
// `fail_at` (0-based) and every one after it.
class TestAllocator : public Allocator {
 public:
  explicit TestAllocator(long fail_at = -1) : fail_at_(fail_at) {}
  void* allocate(size_t size, size_t align) override;
  void deallocate(void* p, size_t size, size_t align) override;
  long live() const { return live_; }
  long count() const { return count_; }

 private:
  long fail_at_;
  long live_ = 0;
  long count_ = 0;
};

// The input as the kernel would see it: a fresh buffer of exactly its size,
// at an odd address (no alignment is assumed; ASan sees any over-read).
class InputCopy {
 public:
  explicit InputCopy(const std::vector<uint8_t>& bytes);
  ~InputCopy() { delete[] buffer_; }
  InputCopy(const InputCopy&) = delete;
  InputCopy& operator=(const InputCopy&) = delete;
  ByteView view() const { return ByteView(buffer_ + 1, size_); }

 private:
  uint8_t* buffer_;
  size_t size_;
};

// The standard object:
//   sections 1 .text (AX, 32 bytes), 2 .data (WA, 16), 3 .bss (NOBITS WA, 32),
//   4 .rela.text, 5 .symtab, 6 .strtab, 7 .shstrtab
//   symbols 1 file.c (FILE, local, ABS), 2 "" (SECTION .text, local),
//   3 helper (FUNC local .text+0 size 8), 4 main (FUNC global .text+16 size 16),
//   5 counter (OBJECT global .data+0 size 8), 6 printk (undefined global)
//   relocations 0 PLT32 .text+4 printk-4, 1 PC32 .text+20 counter-4,
//   2 R_X86_64_64 .text+24 helper
struct Std {
  static constexpr uint32_t kText = 1, kData = 2, kBss = 3, kRelaText = 4, kSymtab = 5, kStrtab = 6,
                            kShstrtab = 7, kSections = 8;
  static constexpr uint32_t kFile = 1, kTextSym = 2, kHelper = 3, kMain = 4, kCounter = 5,
                            kPrintk = 6, kSymbols = 7;
};
ElfBuilder StandardBuilder();
Image StandardObject();

// Validates bytes with the fake machines and a fresh TestAllocator; expects
// success. Checks nothing leaks afterwards.
void ExpectValid(const std::vector<uint8_t>& bytes);

// Validates bytes; expects failure with exactly this category and message,
// and no allocation left behind.
void ExpectErrorImpl(const std::vector<uint8_t>& bytes, Errc code, const std::string& message);

}  // namespace mk::test

// ExpectError(bytes or Image, Errc, "message"): the failure points at the caller's line.
#define ExpectError(bytes, code, message)                                   \
  do {                                                                      \
    SCOPED_TRACE("ExpectError");                                            \
    ::mk::test::ExpectErrorImpl(::mk::test::BytesOf(bytes), code, message); \
  } while (0)
#define ExpectValidObject(bytes)                         \
  do {                                                   \
    SCOPED_TRACE("ExpectValidObject");                   \
    ::mk::test::ExpectValid(::mk::test::BytesOf(bytes)); \
  } while (0)

namespace mk::test {
inline const std::vector<uint8_t>& BytesOf(const std::vector<uint8_t>& b) {
  return b;
}
inline const std::vector<uint8_t>& BytesOf(const Image& img) {
  return img.bytes;
}
}  // namespace mk::test
