// Tests of hosted/page_memory.h: LinuxPageMemory places mappings inside the
// requested window, dual-maps read-only and executable memory from one memfd
// (the executing view never writable, the alias never executable), and
// unmaps both views. /proc/self/maps is the witness.
#include "hosted/page_memory.h"

#include <gtest/gtest.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>

#include <vector>

#include "hosted/proc_maps.h"
#include "util/host_code.h"

namespace mk::hosted {
namespace {

using test::MapsEntry;
using test::ReadMaps;

// The /proc/self/maps entries covering [lo, hi).
std::vector<MapsEntry> Covering(uintptr_t lo, uintptr_t hi) {
  std::vector<MapsEntry> out;
  for (const MapsEntry& e : ReadMaps())
    if (e.lo < hi && lo < e.hi) out.push_back(e);
  return out;
}

// The permissions ("r-xs"...) of every byte of [lo, lo+size), or "" if
// they are not all the same or some byte is unmapped.
std::string PermsOf(uintptr_t lo, size_t size) {
  std::string perms;
  uintptr_t at = lo;
  for (const MapsEntry& e : Covering(lo, lo + size)) {
    if (e.lo > at) return "";
    if (!perms.empty() && perms != e.perms) return "";
    perms = e.perms;
    at = e.hi;
  }
  return at >= lo + size ? perms : "";
}

class PageMemoryTest : public ::testing::Test {
 protected:
  Mapping Map(uintptr_t lo, uintptr_t hi, size_t size, Prot prot) {
    Result<Mapping> m = pages.map(lo, hi, size, prot);
    EXPECT_TRUE(m.ok()) << m.error().message();
    return m.ok() ? m.value() : Mapping{};
  }
  LinuxPageMemory pages;
  const size_t page = pages.page_size();
};

TEST_F(PageMemoryTest, PageSizeIsTheSystems) {
  EXPECT_EQ(page, static_cast<size_t>(sysconf(_SC_PAGESIZE)));
}

TEST_F(PageMemoryTest, ReadWriteIsOneZeroedWritableMapping) {
  Mapping m = Map(0, UINTPTR_MAX, 16 * page, Prot::kReadWrite);
  ASSERT_NE(m.base, 0u);
  EXPECT_EQ(m.alias, m.base);
  EXPECT_EQ(m.size, 16 * page);
  auto* bytes = reinterpret_cast<uint8_t*>(m.base);
  for (size_t i = 0; i < m.size; i += 97)
    ASSERT_EQ(bytes[i], 0);
  memset(bytes, 0xab, m.size);
  EXPECT_EQ(PermsOf(m.base, m.size), "rw-p");
  pages.unmap(m);
  EXPECT_TRUE(Covering(m.base, m.base + m.size).empty());
}

TEST_F(PageMemoryTest, ExecutableMemoryIsDualMapped) {
  Mapping m = Map(0, UINTPTR_MAX, 4 * page, Prot::kReadExec);
  ASSERT_NE(m.base, 0u);
  ASSERT_NE(m.alias, m.base);
  // Written through the alias, visible (and runnable) at the base.
  uint8_t code[test::kReturnCodeMax];
  size_t n = test::WriteReturnCode(code, 7);
  memcpy(reinterpret_cast<void*>(m.alias + page), code, n);
  EXPECT_EQ(memcmp(reinterpret_cast<void*>(m.base + page), code, n), 0);
  __builtin___clear_cache(reinterpret_cast<char*>(m.base + page),
                          reinterpret_cast<char*>(m.base + page + n));
  EXPECT_EQ(reinterpret_cast<int (*)()>(m.base + page)(), 7);
  // The base is never writable, the alias never executable.
  // (Private, so that a debugger's breakpoint, written by ptrace, takes.)
  EXPECT_EQ(PermsOf(m.base, m.size), "r-xp");
  EXPECT_EQ(PermsOf(m.alias, m.size), "rw-s");
  pages.unmap(m);
  EXPECT_TRUE(Covering(m.base, m.base + m.size).empty());
  EXPECT_TRUE(Covering(m.alias, m.alias + m.size).empty());
}

TEST_F(PageMemoryTest, ReadOnlyMemoryIsDualMapped) {
  Mapping m = Map(0, UINTPTR_MAX, 2 * page, Prot::kRead);
  ASSERT_NE(m.alias, m.base);
  strcpy(reinterpret_cast<char*>(m.alias), "constant");
  EXPECT_STREQ(reinterpret_cast<const char*>(m.base), "constant");
  EXPECT_EQ(PermsOf(m.base, m.size), "r--s");
  EXPECT_EQ(PermsOf(m.alias, m.size), "rw-s");
  pages.unmap(m);
}

TEST_F(PageMemoryTest, MappingLandsInsideTheWindow) {
  struct Case {
    uintptr_t lo, hi;
  };
  const Case cases[] = {
      {0x10000, 0x80000000},                 // the low 2 GiB
      {0x200000000000, 0x200080000000},      // far from everything
      {0x10000000, 0x10000000 + (8 << 20)},  // tight: 8 MiB for 1 MiB
  };
  for (const Case& c : cases) {
    for (Prot prot : {Prot::kReadWrite, Prot::kReadExec, Prot::kRead}) {
      Mapping m = Map(c.lo, c.hi, 1 << 20, prot);
      EXPECT_GE(m.base, c.lo);
      EXPECT_LE(m.base + m.size, c.hi);
      EXPECT_FALSE(PermsOf(m.base, m.size).empty());
      pages.unmap(m);
    }
  }
}

TEST_F(PageMemoryTest, WindowNearAnAddressPrefersItsMiddle) {
  // Within +-2 GiB of this test's own code, as the linker asks.
  uintptr_t anchor = reinterpret_cast<uintptr_t>(&ReadMaps);
  uintptr_t lo = anchor - (uintptr_t{1} << 30), hi = anchor + (uintptr_t{1} << 30);
  Mapping m = Map(lo, hi, 4 << 20, Prot::kReadExec);
  EXPECT_GE(m.base, lo);
  EXPECT_LE(m.base + m.size, hi);
  pages.unmap(m);
}

TEST_F(PageMemoryTest, WindowWithNoRoomIsNoMemory) {
  // This test's own code occupies the whole window.
  uintptr_t code = reinterpret_cast<uintptr_t>(&ReadMaps) & ~(uintptr_t{page} - 1);
  Result<Mapping> m = pages.map(code, code + page, page, Prot::kReadExec);
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.error().code(), Errc::kNoMemory);
  char want[128];
  snprintf(want, sizeof want, "no free 0x%zx bytes of address space in [%#lx, %#lx)", page,
           static_cast<unsigned long>(code), static_cast<unsigned long>(code + page));
  EXPECT_STREQ(m.error().message(), want);
  // A window smaller than the request.
  Result<Mapping> small = pages.map(0x40000000, 0x40000000 + page, 2 * page, Prot::kReadWrite);
  ASSERT_FALSE(small.ok());
  EXPECT_EQ(small.error().code(), Errc::kNoMemory);
}

TEST_F(PageMemoryTest, MapUnmapDoesNotLeakMappingsOrDescriptors) {
  // Warm up whatever the first call allocates (stdio buffers, ...).
  pages.unmap(Map(0, UINTPTR_MAX, page, Prot::kReadExec));
  size_t maps = ReadMaps().size();
  size_t fds = test::OpenDescriptors();
  for (int i = 0; i < 200; ++i) {
    Mapping a = Map(0, UINTPTR_MAX, 4 * page, Prot::kReadExec);
    Mapping b = Map(0, UINTPTR_MAX, 4 * page, Prot::kRead);
    Mapping c = Map(0, UINTPTR_MAX, 4 * page, Prot::kReadWrite);
    pages.unmap(c);
    pages.unmap(b);
    pages.unmap(a);
  }
  if (!test::kSanitized) EXPECT_EQ(ReadMaps().size(), maps);
  EXPECT_EQ(test::MemfdMappings(), 0u);
  EXPECT_EQ(test::OpenDescriptors(), fds) << "memfd descriptors leaked";
}

// Whether each page of [lo, lo + n pages) is mapped (mincore).
std::vector<bool> Resident(uintptr_t lo, size_t pages, size_t page) {
  std::vector<unsigned char> v(pages);
  EXPECT_EQ(mincore(reinterpret_cast<void*>(lo), pages * page, v.data()), 0);
  std::vector<bool> out;
  for (unsigned char c : v)
    out.push_back((c & 1) != 0);
  return out;
}

// Minor page faults of this process so far.
long MinorFaults() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_minflt;
}

TEST_F(PageMemoryTest, PrefaultMakesFreshPagesPresentInBothViews) {
  if (test::UnderQemuUser()) GTEST_SKIP() << "qemu-user ignores madvise(MADV_POPULATE_*)";
  for (Prot prot : {Prot::kReadExec, Prot::kRead, Prot::kReadWrite}) {
    Mapping m = Map(0, UINTPTR_MAX, 8 * page, prot);
    pages.prefault(m, 2 * page, 3 * page);
    std::vector<bool> want = {false, false, true, true, true, false, false, false};
    EXPECT_EQ(Resident(m.alias, 8, page), want) << "alias, prot " << static_cast<int>(prot);
    // Zero-filled still, and touching the prefaulted pages through either
    // view faults no more.
    long before = MinorFaults();
    for (size_t i = 2; i < 5; ++i) {
      EXPECT_EQ(reinterpret_cast<volatile uint8_t*>(m.base)[i * page], 0);
      reinterpret_cast<volatile uint8_t*>(m.alias)[i * page + 1] = 1;
    }
    // (A sanitizer's checks of these accesses fault in shadow pages of its own.)
    if (!test::kSanitized) {
      EXPECT_EQ(MinorFaults(), before) << "prot " << static_cast<int>(prot);
    }
    pages.unmap(m);
  }
}

TEST_F(PageMemoryTest, PrefaultOutsideTheMappingDoesNothing) {
  Mapping m = Map(0, UINTPTR_MAX, 2 * page, Prot::kReadExec);
  pages.prefault(m, 2 * page, page);
  pages.prefault(m, page, 2 * page);
  pages.prefault(m, 0, 0);
  EXPECT_EQ(Resident(m.alias, 2, page), std::vector<bool>({false, false}));
  pages.unmap(m);
}

}  // namespace
}  // namespace mk::hosted
