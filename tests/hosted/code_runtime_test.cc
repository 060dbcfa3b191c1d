// Tests of hosted/code_runtime.h's sync_code(): code written through the
// alias is what runs at the executing view, even over a page a debugger
// copied (as ptrace does when it writes a breakpoint), and pages are left
// mapped (or mapped in one request) so that calls into new code do not
// fault page by page. And its unwinder registration: an .eh_frame is found
// by the unwinder once registered, and no longer once deregistered. And
// page_states(): both ways of asking pagemap (PAGEMAP_SCAN, and reading the
// entries, which a kernel before 6.7 forces) tell copies and absent pages
// alike, and sync_code works with either.
#include "hosted/code_runtime.h"

#include <errno.h>
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

// Over both ways sync_code can ask pagemap about a large range.
class SyncCodeTest : public ::testing::TestWithParam<PagemapQuery> {
 protected:
  // Enough for a range sync_code checks through pagemap rather than by
  // comparing bytes (over 16 KiB).
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
  HostRuntime runtime{GetParam()};
  const size_t page = pages.page_size();
  Mapping map;
};

INSTANTIATE_TEST_SUITE_P(Pagemap, SyncCodeTest,
                         ::testing::Values(PagemapQuery::kScan, PagemapQuery::kRead),
                         [](const ::testing::TestParamInfo<PagemapQuery>& p) {
                           return p.param == PagemapQuery::kScan ? "Scan" : "Read";
                         });

TEST_P(SyncCodeTest, FreshCodeRunsAndIsMappedWithoutFaults) {
  WriteReturn(map.alias + page + 16, 1);
  runtime.sync_code(map.base + page + 16, 6, map.alias + page + 16);
  EXPECT_TRUE(Resident(map.base + page, page)) << "sync_code left the new page unmapped";
  long before = MinorFaults();
  EXPECT_EQ(Call(map.base + page + 16), 1);
  EXPECT_EQ(MinorFaults(), before);
}

TEST_P(SyncCodeTest, RewrittenCodeRunsAndStaysMapped) {
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

TEST_P(SyncCodeTest, PageADebuggerCopiedIsDroppedForTheNewCode) {
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

TEST_P(SyncCodeTest, LargeRangeDropsOnlyWhatADebuggerCopied) {
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

TEST_P(SyncCodeTest, LargeFreshRangeIsMappedInOneGo) {
  const size_t size = kPages * page;
  for (size_t i = 0; i < kPages; ++i)
    WriteReturn(map.alias + i * page, static_cast<uint32_t>(i));
  runtime.sync_code(map.base, size, map.alias);
  long before = MinorFaults();
  for (size_t i = 0; i < kPages; ++i)
    EXPECT_EQ(Call(map.base + i * page), static_cast<int>(i));
  EXPECT_EQ(MinorFaults(), before) << "pages of the executing view were left to fault in";
}

TEST_P(SyncCodeTest, AForkedChildSeesItsOwnPages) {
  // pagemap is per process: a child (as the benchmark's and the tests'
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

// page_states() over an executing view in known states, asked both ways.
class PageStatesTest : public ::testing::Test {
 protected:
  static constexpr size_t kPages = 40;  // enough runs to fill PAGEMAP_SCAN's vector of 8 twice

  void SetUp() override {
#if !defined(__x86_64__)
    GTEST_SKIP() << "x86_64 only (qemu-user's /proc/self/pagemap describes the emulator)";
#endif
    fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
    ASSERT_GE(fd, 0);
    Result<Mapping> m = pages.map(0, UINTPTR_MAX, kPages * page, Prot::kReadExec);
    ASSERT_TRUE(m.ok()) << m.error().message();
    map = m.value();
    lo = map.base;
    hi = map.base + map.size;
    // The alias has the memfd's pages; the executing view maps none yet.
    ASSERT_EQ(madvise(reinterpret_cast<void*>(map.alias), map.size, MADV_POPULATE_WRITE), 0);
    PageStates probe = page_states(fd, lo, hi, PagemapQuery::kScan);
    if (!probe.known && errno == ENOTTY) scan_missing = true;
  }
  void TearDown() override {
    if (map.size != 0) pages.unmap(map);
    if (fd >= 0) close(fd);
  }

  // Both ways agree, and say this.
  void Expect(bool copied, bool absent, const char* what) {
    for (PagemapQuery q : {PagemapQuery::kScan, PagemapQuery::kRead}) {
      if (q == PagemapQuery::kScan && scan_missing) continue;
      const char* how = q == PagemapQuery::kScan ? "scan" : "read";
      PageStates st = page_states(fd, lo, hi, q);
      EXPECT_TRUE(st.known) << what << " (" << how << ")";
      EXPECT_EQ(st.copied, copied) << what << " (" << how << ")";
      EXPECT_EQ(st.absent, absent) << what << " (" << how << ")";
    }
  }
  void Populate() {
    ASSERT_EQ(madvise(reinterpret_cast<void*>(map.base), map.size, MADV_POPULATE_READ), 0);
  }
  void Drop(size_t first, size_t n) {
    ASSERT_EQ(madvise(reinterpret_cast<void*>(map.base + first * page), n * page, MADV_DONTNEED),
              0);
  }

  LinuxPageMemory pages;
  const size_t page = pages.page_size();
  Mapping map;
  int fd = -1;
  uintptr_t lo = 0, hi = 0;
  bool scan_missing = false;  // a kernel before 6.7: only the read is checked
};

TEST_F(PageStatesTest, FreshPopulatedCopiedAndDropped) {
  Expect(false, true, "fresh");
  Populate();
  Expect(false, false, "populated");
  DebuggerWrites(map.base + 5 * page + 3, 0xcc);
  Expect(true, false, "one page copied");
  Drop(5, 1);
  Expect(false, true, "the copy dropped");
  Populate();
  Expect(false, false, "populated again");
}

TEST_F(PageStatesTest, ACopyAfterManyAbsentRunsIsFound) {
  // Every other page absent: 20 runs, more than one PAGEMAP_SCAN call
  // reports, and the copy only in the last page.
  Populate();
  for (size_t i = 0; i < kPages; i += 2)
    Drop(i, 1);
  Expect(false, true, "every other page absent");
  DebuggerWrites(map.base + (kPages - 1) * page, 0xcc);
  Expect(true, true, "and the last page copied");
}

TEST_F(PageStatesTest, PartOfTheViewIsAskedAbout) {
  Populate();
  DebuggerWrites(map.base + 2 * page, 0xcc);
  Drop(7, 1);
  lo = map.base + 3 * page;
  hi = map.base + 7 * page;
  Expect(false, false, "the pages between the copy and the absent page");
  hi = map.base + 8 * page;
  Expect(false, true, "up to the absent page");
  lo = map.base + 2 * page;
  Expect(true, true, "from the copy");
}

TEST_F(PageStatesTest, ADescriptorThatIsNotPagemapIsNoAnswer) {
  // What a kernel without PAGEMAP_SCAN answers (sync_code then reads the
  // entries): ENOTTY, and nothing known.
  int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
  ASSERT_GE(null, 0);
  errno = 0;
  PageStates st = page_states(null, lo, hi, PagemapQuery::kScan);
  EXPECT_EQ(errno, ENOTTY);
  EXPECT_FALSE(st.known);
  close(null);
  EXPECT_FALSE(page_states(-1, lo, hi, PagemapQuery::kScan).known);
  EXPECT_FALSE(page_states(-1, lo, hi, PagemapQuery::kRead).known);
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
