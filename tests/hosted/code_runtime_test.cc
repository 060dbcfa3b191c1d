// Tests of hosted/code_runtime.h's sync_code(): code written through the
// alias is what runs at the executing view, even over a page a debugger
// copied (as ptrace does when it writes a breakpoint), whatever the copy
// holds and wherever in the range it lies; the bytes sync_code probes are
// left as written; and pages are left mapped so that calls into new code do
// not fault page by page. And its unwinder registration: an .eh_frame is found
// by the unwinder once registered, and no longer once deregistered.
#include "hosted/code_runtime.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <vector>

#include "hosted/page_memory.h"

namespace mk::hosted {
namespace {

// mov $imm32, %eax; ret
void WriteReturn(uintptr_t at, uint32_t imm) {
  uint8_t code[6] = {0xb8, 0, 0, 0, 0, 0xc3};
  memcpy(code + 1, &imm, 4);
  memcpy(reinterpret_cast<void*>(at), code, sizeof code);
}

int Call(uintptr_t at) {
  return reinterpret_cast<int (*)()>(at)();
}

long MinorFaults() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_minflt;
}

// What a debugger's breakpoint does: a forced write to the executing view
// (ptrace and /proc/PID/mem alike), which makes the page this process's own
// copy.
void DebuggerWrites(uintptr_t at, uint8_t byte) {
  int fd = open("/proc/self/mem", O_RDWR | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(pwrite(fd, &byte, 1, static_cast<off_t>(at)), 1);
  close(fd);
}

bool Resident(uintptr_t at, size_t page) {
  unsigned char v = 0;
  EXPECT_EQ(mincore(reinterpret_cast<void*>(at & ~(page - 1)), page, &v), 0);
  return (v & 1) != 0;
}

class SyncCodeTest : public ::testing::Test {
 protected:
  // A file's text over several pages (sync_code probes each).
  static constexpr size_t kPages = 8;

  void SetUp() override {
#if !defined(__x86_64__)
    // Not ported: the tests patch an x86_64 instruction's immediate byte as a
    // debugger would, and count page faults (which qemu-user does not).
    GTEST_SKIP() << "x86_64 only (patches x86_64 instruction bytes)";
#endif
    Result<Mapping> m = pages.map(0, UINTPTR_MAX, kPages * page, Prot::kReadExec);
    ASSERT_TRUE(m.ok()) << m.error().message();
    map = m.value();
  }
  void TearDown() override {
    if (map.size != 0) pages.unmap(map);  // nothing was mapped when SetUp skipped
  }

  LinuxPageMemory pages;
  HostRuntime runtime;
  const size_t page = pages.page_size();
  Mapping map;
};

TEST_F(SyncCodeTest, FreshCodeRunsAndIsMappedWithoutFaults) {
  WriteReturn(map.alias + page + 16, 1);
  runtime.sync_code(map.base + page + 16, 6, map.alias + page + 16);
  EXPECT_TRUE(Resident(map.base + page, page)) << "sync_code left the new page unmapped";
  long before = MinorFaults();
  EXPECT_EQ(Call(map.base + page + 16), 1);
  EXPECT_EQ(MinorFaults(), before);
}

TEST_F(SyncCodeTest, RewrittenCodeRunsAndStaysMapped) {
  WriteReturn(map.alias, 1);
  runtime.sync_code(map.base, 6, map.alias);
  EXPECT_EQ(Call(map.base), 1);
  // Unloaded and loaded again at the same place: the page is the memfd's
  // page already, nothing to drop or map.
  WriteReturn(map.alias, 2);
  runtime.sync_code(map.base, 6, map.alias);
  long before = MinorFaults();
  EXPECT_EQ(Call(map.base), 2);
  EXPECT_EQ(MinorFaults(), before) << "a page nobody copied was dropped";
}

TEST_F(SyncCodeTest, PageADebuggerCopiedIsDroppedForTheNewCode) {
  WriteReturn(map.alias, 1);
  runtime.sync_code(map.base, 6, map.alias);
  ASSERT_EQ(Call(map.base), 1);
  DebuggerWrites(map.base + 1, 7);
  ASSERT_EQ(Call(map.base), 7);
  // The alias does not see the copy, and the copy does not see the alias...
  WriteReturn(map.alias, 3);
  ASSERT_EQ(Call(map.base), 7);
  // ...until sync_code drops it.
  runtime.sync_code(map.base, 6, map.alias);
  EXPECT_EQ(Call(map.base), 3);
}

TEST_F(SyncCodeTest, LargeRangeDropsOnlyWhatADebuggerCopied) {
  // A file's text over all the pages; a debugger copied the third one.
  const size_t size = kPages * page;
  for (size_t i = 0; i < kPages; ++i)
    WriteReturn(map.alias + i * page, static_cast<uint32_t>(i));
  runtime.sync_code(map.base, size, map.alias);
  for (size_t i = 0; i < kPages; ++i)
    ASSERT_EQ(Call(map.base + i * page), static_cast<int>(i));
  DebuggerWrites(map.base + 2 * page + 1, 99);
  ASSERT_EQ(Call(map.base + 2 * page), 99);
  // New code everywhere: the copied page shows it after sync_code...
  for (size_t i = 0; i < kPages; ++i)
    WriteReturn(map.alias + i * page, static_cast<uint32_t>(100 + i));
  runtime.sync_code(map.base, size, map.alias);
  for (size_t i = 0; i < kPages; ++i)
    EXPECT_EQ(Call(map.base + i * page), static_cast<int>(100 + i)) << "page " << i;
  // ...and once nothing is copied, nothing is dropped.
  runtime.sync_code(map.base, size, map.alias);
  long before = MinorFaults();
  for (size_t i = 0; i < kPages; ++i)
    EXPECT_EQ(Call(map.base + i * page), static_cast<int>(100 + i));
  EXPECT_EQ(MinorFaults(), before);
}

TEST_F(SyncCodeTest, LargeFreshRangeIsMappedBeforeItRuns) {
  const size_t size = kPages * page;
  for (size_t i = 0; i < kPages; ++i)
    WriteReturn(map.alias + i * page, static_cast<uint32_t>(i));
  runtime.sync_code(map.base, size, map.alias);
  long before = MinorFaults();
  for (size_t i = 0; i < kPages; ++i)
    EXPECT_EQ(Call(map.base + i * page), static_cast<int>(i));
  EXPECT_EQ(MinorFaults(), before) << "pages of the executing view were left to fault in";
}

TEST_F(SyncCodeTest, AForkedChildSeesItsOwnPages) {
  // Copies are per process: a child (as the benchmark's and the tests'
  // helpers fork) must not judge its pages by its parent's.
  const size_t size = kPages * page;
  for (size_t i = 0; i < kPages; ++i)
    WriteReturn(map.alias + i * page, static_cast<uint32_t>(i));
  runtime.sync_code(map.base, size, map.alias);
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    // The child's own copy of a page (what a debugger of the child does).
    DebuggerWrites(map.base + page + 1, 55);
    for (size_t i = 0; i < kPages; ++i)
      WriteReturn(map.alias + i * page, static_cast<uint32_t>(200 + i));
    runtime.sync_code(map.base, size, map.alias);
    _exit(Call(map.base + page) == 201 ? 0 : 1);
  }
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

// Whether the executing view at x shows what the alias writes at w now
// (a byte flipped there, then put back).
bool Follows(uintptr_t x, uintptr_t w) {
  auto* a = reinterpret_cast<volatile uint8_t*>(w);
  const uint8_t v = *a;
  *a = static_cast<uint8_t>(v ^ 0x5a);
  __atomic_thread_fence(__ATOMIC_SEQ_CST);
  bool follows = *reinterpret_cast<const volatile uint8_t*>(x) == (v ^ 0x5a);
  *a = v;
  return follows;
}

TEST_F(SyncCodeTest, ACopyHoldingTheNewBytesIsDroppedToo) {
  // The copy's bytes are what is written next: comparing bytes could not
  // tell it from the memfd's page, yet it would miss every later write.
  WriteReturn(map.alias + page, 1);
  runtime.sync_code(map.base + page, 6, map.alias + page);
  DebuggerWrites(map.base + page + 5, 0xc3);  // the byte that is there already
  ASSERT_FALSE(Follows(map.base + page + 100, map.alias + page + 100));
  WriteReturn(map.alias + page, 1);
  runtime.sync_code(map.base + page, 6, map.alias + page);
  EXPECT_TRUE(Follows(map.base + page + 100, map.alias + page + 100));
  EXPECT_EQ(Call(map.base + page), 1);
}

TEST_F(SyncCodeTest, ACopyHoldingTheFlippedByteIsDroppedToo) {
  // The copy holds, where sync_code probes (the range's first byte), the
  // byte flipped: it matches the alias once the alias is flipped.
  WriteReturn(map.alias + page, 1);
  runtime.sync_code(map.base + page, 6, map.alias + page);
  DebuggerWrites(map.base + page, static_cast<uint8_t>(~0xb8));
  ASSERT_FALSE(Follows(map.base + page + 100, map.alias + page + 100));
  WriteReturn(map.alias + page, 2);
  runtime.sync_code(map.base + page, 6, map.alias + page);
  EXPECT_TRUE(Follows(map.base + page + 100, map.alias + page + 100));
  EXPECT_EQ(Call(map.base + page), 2);
}

TEST_F(SyncCodeTest, ACopyAnywhereInAnUnalignedRangeIsDropped) {
  // The range starts and ends inside pages: the first and last are probed
  // through the range's bytes there.
  const uintptr_t begin = map.base + 100, end = map.base + kPages * page - 100;
  const uintptr_t delta = map.alias - map.base;
  for (size_t i = 0; i < kPages; ++i) {
    const uintptr_t code = i == 0 ? begin : map.base + i * page;
    WriteReturn(code + delta, static_cast<uint32_t>(i));
    runtime.sync_code(begin, end - begin, begin + delta);
    DebuggerWrites(code + 1, 99);
    ASSERT_EQ(Call(code), 99) << "page " << i;
    WriteReturn(code + delta, static_cast<uint32_t>(300 + i));
    runtime.sync_code(begin, end - begin, begin + delta);
    EXPECT_EQ(Call(code), static_cast<int>(300 + i)) << "page " << i;
    for (size_t k = 0; k < kPages; ++k)
      EXPECT_TRUE(Follows(map.base + k * page + 200, map.alias + k * page + 200))
          << "page " << k << " after a copy of page " << i;
  }
}

TEST_F(SyncCodeTest, ProbedBytesAreLeftAsWritten) {
  // Every byte of the range (the probes flip some and put them back), with
  // nothing copied and with a copy dropped.
  const uintptr_t begin = map.base + 7, size = kPages * page - 20;
  const uintptr_t written = map.alias + 7;
  std::vector<uint8_t> bytes(size);
  for (size_t i = 0; i < size; ++i)
    bytes[i] = static_cast<uint8_t>(i * 131 + 17);
  for (bool copied : {false, true}) {
    memcpy(reinterpret_cast<void*>(written), bytes.data(), size);
    if (copied) DebuggerWrites(map.base + 3 * page, 0xcc);
    runtime.sync_code(begin, size, written);
    EXPECT_EQ(memcmp(reinterpret_cast<const void*>(written), bytes.data(), size), 0) << copied;
    EXPECT_EQ(memcmp(reinterpret_cast<const void*>(begin), bytes.data(), size), 0) << copied;
  }
}

TEST(SyncCode, OneViewIsLeftAlone) {
  // Memory that is its own alias (written where it runs): nothing to probe.
  LinuxPageMemory pages;
  Result<Mapping> m = pages.map(0, UINTPTR_MAX, pages.page_size(), Prot::kReadWrite);
  ASSERT_TRUE(m.ok()) << m.error().message();
  memset(reinterpret_cast<void*>(m.value().base), 0x42, 64);
  HostRuntime runtime;
  runtime.sync_code(m.value().base, 64, m.value().base);
  EXPECT_EQ(*reinterpret_cast<const uint8_t*>(m.value().base + 63), 0x42);
  pages.unmap(m.value());
}

// libgcc's lookup of the FDE covering a pc (what every unwind starts with);
// bases is its struct dwarf_eh_bases: tbase, dbase, func.
extern "C" const void* _Unwind_Find_FDE(void* pc, void* bases[3]);

// An .eh_frame of one CIE ("zR", absolute FDE pointers) and one FDE covering
// [begin, begin + 16), then the zero terminator: 60 bytes.
std::vector<uint8_t> EhFrame(uint64_t begin) {
  std::vector<uint8_t> f(60, 0);  // DW_CFA_nop pads both records
  auto put32 = [&](size_t at, uint32_t v) { memcpy(f.data() + at, &v, 4); };
  put32(0, 20);                                                  // CIE: length; id 0
  const uint8_t cie[] = {1, 'z', 'R', 0, 1, 0x78, 16, 1, 0x00};  // version .. FDE encoding
  memcpy(f.data() + 8, cie, sizeof cie);
  put32(24, 28);  // FDE: length
  put32(28, 28);  // its CIE, this many bytes back
  memcpy(f.data() + 32, &begin, 8);
  uint64_t range = 16;
  memcpy(f.data() + 40, &range, 8);  // augmentation length 0 at 48, nops, terminator at 56
  return f;
}

// More frames than one slab of the runtime's unwinder records holds: each
// is found while registered, none after, and deregistering gives every
// record back (ASan: nothing leaks, nothing is used after).
TEST(UnwindRegistration, ManyFramesAreFoundWhileRegisteredOnly) {
  HostRuntime runtime;
  constexpr uint64_t kBase = 0x10000;  // never mapped: only the registrations cover it
  std::vector<std::vector<uint8_t>> frames;
  for (int round = 0; round < 2; ++round) {
    frames.clear();
    for (uint64_t i = 0; i < 150; ++i)
      frames.push_back(EhFrame(kBase + i * 0x100));
    for (const std::vector<uint8_t>& f : frames)
      ASSERT_TRUE(runtime.register_eh_frame(reinterpret_cast<uintptr_t>(f.data()), f.size()));
    for (uint64_t i = 0; i < frames.size(); ++i) {
      void* bases[3] = {};
      void* pc = reinterpret_cast<void*>(kBase + i * 0x100 + 8);
      ASSERT_NE(_Unwind_Find_FDE(pc, bases), nullptr) << i;
      EXPECT_EQ(bases[2], reinterpret_cast<void*>(kBase + i * 0x100)) << i;
    }
    for (const std::vector<uint8_t>& f : frames)
      runtime.deregister_eh_frame(reinterpret_cast<uintptr_t>(f.data()));
    for (uint64_t i = 0; i < frames.size(); ++i) {
      void* bases[3] = {};
      EXPECT_EQ(_Unwind_Find_FDE(reinterpret_cast<void*>(kBase + i * 0x100 + 8), bases), nullptr);
    }
  }
  // An .eh_frame that is only its terminator registers nothing.
  std::vector<uint8_t> empty(4, 0);
  EXPECT_TRUE(runtime.register_eh_frame(reinterpret_cast<uintptr_t>(empty.data()), 4));
  runtime.deregister_eh_frame(reinterpret_cast<uintptr_t>(empty.data()));
}

}  // namespace
}  // namespace mk::hosted
