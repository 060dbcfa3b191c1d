// Issue 9's two forced cases, run on the target machine itself: this binary,
// cross-built for aarch64 or riscv64 by scripts/cross.sh and run under
// qemu-user, compiles a module with the target's compilers (gcc and clang,
// -O0 and -O2), really loads it (LinkHarness: the hosted platform) and runs
// its code.
//   - aarch64: the module calls a function more than 128 MiB away, beyond a
//     B/BL's reach; the call goes through a veneer and returns the right value;
//   - riscv64: %pcrel_hi/%pcrel_lo pairs 0x800 bytes apart (the low part is
//     -0x800, the high part carries a page) and 0x7ff apart (no carry) read
//     the right address and word.
// On any other machine the tests skip; cross_link_test.cc checks the same
// bytes on every host (nothing runs there).
#include <gtest/gtest.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "link/link_harness.h"

namespace mk::test {
namespace {

using Param = std::tuple<Compiler, const char*>;  // compiler, optimisation

class OnTarget : public ::testing::TestWithParam<Param> {
 protected:
  const Compiler& cc() const { return std::get<0>(GetParam()); }
  const char* opt() const { return std::get<1>(GetParam()); }
  Scratch scratch;
};

std::string ParamName(const ::testing::TestParamInfo<Param>& p) {
  return std::string(std::get<0>(p.param).label) + "_" + (std::get<1>(p.param) + 1);
}

#if defined(__aarch64__)
// A page of code of our own, mapped wherever the kernel likes: `far_fn`,
// which returns its argument plus 41.
class FarCode {
 public:
  FarCode() {
    size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
    void* p = mmap(nullptr, page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return;
    const uint32_t code[] = {
        0x1100a400,  // add w0, w0, #41
        0xd65f03c0,  // ret
    };
    memcpy(p, code, sizeof code);
    __builtin___clear_cache(static_cast<char*>(p), static_cast<char*>(p) + sizeof code);
    if (mprotect(p, page, PROT_READ | PROT_EXEC) != 0) {
      munmap(p, page);
      return;
    }
    addr_ = p;
    size_ = page;
  }
  ~FarCode() {
    if (addr_ != nullptr) munmap(addr_, size_);
  }
  uintptr_t addr() const { return reinterpret_cast<uintptr_t>(addr_); }

 private:
  void* addr_ = nullptr;
  size_t size_ = 0;
};

// The target of the first B or BL among a function's first instructions, or 0.
uintptr_t FirstBranchTarget(uintptr_t fn) {
  for (int i = 0; i < 16; ++i) {
    uintptr_t at = fn + 4 * static_cast<uintptr_t>(i);
    uint32_t insn;
    memcpy(&insn, reinterpret_cast<const void*>(at), 4);
    if ((insn & 0x7c000000) != 0x14000000) continue;  // B (0x14...) or BL (0x94...)
    int64_t off = static_cast<int64_t>(static_cast<uint64_t>(insn & 0x03ffffff) << 38) >> 36;
    return at + static_cast<uintptr_t>(off);
  }
  return 0;
}

uint32_t InsnAt(uintptr_t at) {
  uint32_t insn;
  memcpy(&insn, reinterpret_cast<const void*>(at), 4);
  return insn;
}
#endif

// ---------------------------------------------------------------------------
// aarch64: CALL26/JUMP26 beyond +-128 MiB.

TEST_P(OnTarget, AArch64CallBeyond128MiBRunsThroughAVeneer) {
#if !defined(__aarch64__)
  GTEST_SKIP() << "runs on aarch64 (make test-cross runs it under qemu-aarch64)";
#else
  std::string obj = scratch.Compile(cc(), "far.c", R"(
extern int far_fn(int);
int call_far(int x) { return far_fn(x) + 1; }
int tail_far(int x) { return far_fn(x); }
)",
                                    {opt()});
  ASSERT_FALSE(obj.empty());
  FarCode far;
  ASSERT_NE(far.addr(), 0u) << "mmap/mprotect of far_fn's page: " << strerror(errno);
  // The file lands within the machine's file span (+-63.5 MiB) of its home:
  // 1 GiB below far_fn, so no B/BL reaches it.
  const uintptr_t gib = uintptr_t{1} << 30;
  ASSERT_GT(far.addr(), 2 * gib);
  LinkHarness h;
  h.Export("far_fn", reinterpret_cast<void*>(far.addr()));
  link::LinkRequest req;
  req.home = far.addr() - gib;
  link::LinkerFile* f = h.MustLink({obj}, req);
  ASSERT_NE(f, nullptr);
  const link::Block& text = f->blocks[static_cast<int>(link::Class::kText)];

  for (const char* name : {"call_far", "tail_far"}) {
    SCOPED_TRACE(name);
    auto fn = h.Sym<int (*)(int)>(f, name);
    ASSERT_NE(fn, nullptr);
    uintptr_t at = reinterpret_cast<uintptr_t>(fn);
    uintptr_t dist = at > far.addr() ? at - far.addr() : far.addr() - at;
    ASSERT_GT(dist, uintptr_t{128} << 20) << "far_fn must be out of a B/BL's reach";
    // The branch goes to a veneer in the file's text (ldr x16, .+8; br x16;
    // .quad far_fn), not to far_fn.
    uintptr_t veneer = FirstBranchTarget(at);
    ASSERT_NE(veneer, 0u) << "no B/BL in " << name;
    EXPECT_GE(veneer, text.base);
    EXPECT_LT(veneer, text.base + text.size);
    EXPECT_EQ(InsnAt(veneer), 0x58000050u) << "ldr x16, .+8";
    EXPECT_EQ(InsnAt(veneer + 4), 0xd61f0200u) << "br x16";
    uint64_t literal;
    memcpy(&literal, reinterpret_cast<const void*>(veneer + 8), 8);
    EXPECT_EQ(literal, far.addr());
  }
  // And it runs: far_fn(x) is x + 41.
  EXPECT_EQ(h.Sym<int (*)(int)>(f, "call_far")(1), 43);
  EXPECT_EQ(h.Sym<int (*)(int)>(f, "tail_far")(1), 42);
#endif
}

// ---------------------------------------------------------------------------
// riscv64: the HI20/LO12 carry.

// auipc's immediate (sign-extended, shifted) and an I-type immediate.
[[maybe_unused]] int64_t UImm(uint32_t insn) {
  return static_cast<int32_t>(insn & 0xfffff000);
}
[[maybe_unused]] int64_t IImm(uint32_t insn) {
  return static_cast<int32_t>(insn) >> 20;
}

TEST_P(OnTarget, RiscV64PcrelCarryRuns) {
#if !defined(__riscv) || __riscv_xlen != 64
  GTEST_SKIP() << "runs on riscv64 (make test-cross runs it under qemu-riscv64)";
#else
  // at_800 is exactly 0x800 past load_800's auipc (so its low part is
  // -0x800 and its high part carries one page); at_7ff is 0x7ff past
  // get_7ff's (no carry). lo_first's %pcrel_lo comes before its %pcrel_hi.
  std::string obj = scratch.Compile(cc(), "carry.s", R"(
  .option norelax
  .text
  .globl load_800, get_800, get_7ff, lo_first, at_800, at_7ff
load_800:
1: auipc a0, %pcrel_hi(at_800)
  lw a0, %pcrel_lo(1b)(a0)
  ret
get_800:
3: auipc a0, %pcrel_hi(at_800)
  addi a0, a0, %pcrel_lo(3b)
  ret
  .skip 0x800 - (. - 1b)
at_800:
  .word 0x12345678
get_7ff:
2: auipc a0, %pcrel_hi(at_7ff)
  addi a0, a0, %pcrel_lo(2b)
  ret
lo_first:
  j 5f
4: addi a0, a0, %pcrel_lo(5f)
  ret
5: auipc a0, %pcrel_hi(at_7ff)
  j 4b
  .skip 0x7ff - (. - 2b)
at_7ff:
  .byte 1
)",
                                    {opt()});
  ASSERT_FALSE(obj.empty());
  LinkHarness h;
  link::LinkerFile* f = h.MustLink({obj});
  ASSERT_NE(f, nullptr);
  uintptr_t at_800 = h.Sym<uintptr_t>(f, "at_800"), at_7ff = h.Sym<uintptr_t>(f, "at_7ff");
  uintptr_t load_800 = h.Sym<uintptr_t>(f, "load_800");
  ASSERT_EQ(at_800 - load_800, 0x800u);
  uint32_t hi, lo;
  memcpy(&hi, reinterpret_cast<const void*>(load_800), 4);
  memcpy(&lo, reinterpret_cast<const void*>(load_800 + 4), 4);
  EXPECT_EQ(UImm(hi), 0x1000) << "the high part carries";
  EXPECT_EQ(IImm(lo), -0x800);

  // And they run.
  EXPECT_EQ(h.Sym<uint32_t (*)()>(f, "load_800")(), 0x12345678u);
  EXPECT_EQ(h.Sym<uintptr_t (*)()>(f, "get_7ff")(), at_7ff) << "no carry";
  EXPECT_EQ(h.Sym<uintptr_t (*)()>(f, "lo_first")(), at_7ff) << "%pcrel_lo before its %pcrel_hi";
  EXPECT_EQ(h.Sym<uintptr_t (*)()>(f, "get_800")(), at_800);
#endif
}

INSTANTIATE_TEST_SUITE_P(Compilers, OnTarget,
                         ::testing::Combine(::testing::ValuesIn(AllCompilers()),
                                            ::testing::Values("-O0", "-O2")),
                         ParamName);

}  // namespace
}  // namespace mk::test
