#include "hosted/page_memory.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdio>
#include <vector>

namespace mk::hosted {
namespace {

constexpr uintptr_t kLowest = 0x10000;              // below: mmap_min_addr
constexpr uintptr_t kHighest = 0x7ffffffff000;      // top of the 47-bit user space
constexpr uintptr_t kGranule = uintptr_t{2} << 20;  // chunks land on 2 MiB boundaries

struct Range {
  uintptr_t lo, hi;
};

// The address space in use, from /proc/self/maps, sorted by address.
std::vector<Range> used_ranges() {
  std::vector<Range> out;
  FILE* f = fopen("/proc/self/maps", "re");
  if (f == nullptr) return out;
  unsigned long lo = 0, hi = 0;
  char line[512];
  while (fgets(line, sizeof line, f) != nullptr) {
    if (sscanf(line, "%lx-%lx", &lo, &hi) == 2) out.push_back({lo, hi});
  }
  fclose(f);
  return out;
}

// Candidate base addresses inside [lo, hi - size], nearest the middle first.
std::vector<uintptr_t> candidates(uintptr_t lo, uintptr_t hi, size_t size) {
  std::vector<uintptr_t> out;
  if (lo < kLowest) lo = kLowest;
  if (hi > kHighest) hi = kHighest;
  if (lo >= hi || size > hi - lo) return out;
  uintptr_t mid = lo + (hi - lo) / 2;
  std::vector<Range> used = used_ranges();
  uintptr_t gap_lo = lo;
  auto consider = [&](uintptr_t glo, uintptr_t ghi) {
    // Keep one granule of distance from neighbours: room for them to grow.
    glo = (glo + 2 * kGranule - 1) & ~(kGranule - 1);
    if (ghi < kGranule) return;
    ghi -= kGranule;
    if (glo < lo) glo = (lo + kGranule - 1) & ~(kGranule - 1);
    if (ghi > hi) ghi = hi;
    if (glo >= ghi || size > ghi - glo) return;
    uintptr_t want = mid > size / 2 ? mid - size / 2 : glo;
    want &= ~(kGranule - 1);
    if (want < glo) want = glo;
    if (want > ghi - size) want = (ghi - size) & ~(kGranule - 1);
    if (want < glo) return;
    out.push_back(want);
  };
  for (const Range& r : used) {
    if (r.lo > gap_lo) consider(gap_lo, r.lo);
    if (r.hi > gap_lo) gap_lo = r.hi;
  }
  consider(gap_lo, hi);
  auto dist = [mid](uintptr_t a) { return a > mid ? a - mid : mid - a; };
  for (size_t i = 1; i < out.size(); ++i)
    for (size_t j = i; j > 0 && dist(out[j]) < dist(out[j - 1]); --j)
      std::swap(out[j], out[j - 1]);
  return out;
}

}  // namespace

size_t LinuxPageMemory::page_size() const {
  return static_cast<size_t>(sysconf(_SC_PAGESIZE));
}

Result<Mapping> LinuxPageMemory::map(uintptr_t lo, uintptr_t hi, size_t size, Prot prot) {
  int fd = -1;
  if (prot != Prot::kReadWrite) {
    fd = memfd_create(prot == Prot::kReadExec ? "modkit-text" : "modkit-rodata", MFD_CLOEXEC);
    if (fd < 0) return Error(Errc::kNoMemory, "memfd_create: %s", strerror(errno));
    if (ftruncate(fd, static_cast<off_t>(size)) != 0) {
      int e = errno;
      close(fd);
      return Error(Errc::kNoMemory, "ftruncate of a 0x%zx-byte memfd: %s", size, strerror(e));
    }
  }
  int view = prot == Prot::kReadExec ? PROT_READ | PROT_EXEC
             : prot == Prot::kRead   ? PROT_READ
                                     : PROT_READ | PROT_WRITE;
  // The executing view of code maps the memfd privately: it shows what the
  // alias writes (the same page-cache pages) until something writes to it
  // through ptrace, as a debugger inserting a breakpoint does. A shared view
  // would refuse that write (the kernel lets ptrace write a read-only
  // mapping only by copy-on-write) and gdb's breakpoints in module code
  // would never trigger. A page a debugger wrote becomes this process's own
  // copy: HostRuntime::sync_code drops such copies from the pages each
  // new file is written to, before the debugger hears of the file.
  int shared = prot == Prot::kReadExec ? MAP_PRIVATE : MAP_SHARED;
  int flags = MAP_FIXED_NOREPLACE | (fd >= 0 ? shared : MAP_PRIVATE | MAP_ANONYMOUS);
  // Exactly at `at` or MAP_FAILED. A kernel before 4.17, which does not know
  // MAP_FIXED_NOREPLACE, takes the address as a hint and may map elsewhere,
  // outside the window (qemu-user 7.2 did, under make test-cross): such a
  // mapping is undone.
  auto map_at = [&](uintptr_t at) {
    void* p = mmap(reinterpret_cast<void*>(at), size, view, flags, fd, 0);
    if (p != MAP_FAILED && reinterpret_cast<uintptr_t>(p) != at) {
      munmap(p, size);
      p = MAP_FAILED;
    }
    return p;
  };
  void* base = MAP_FAILED;
  // Chunks tend to follow each other: try right after the last one before
  // paying for a scan of /proc/self/maps (which has tens of thousands of lines
  // in a process with many libraries).
  uintptr_t guess = (next_ + kGranule - 1) & ~(kGranule - 1);
  if (guess >= lo && guess >= kLowest && guess < hi && size <= hi - guess) base = map_at(guess);
  for (int attempt = 0; attempt < 4 && base == MAP_FAILED; ++attempt) {
    for (uintptr_t at : candidates(lo, hi, size)) {
      base = map_at(at);
      if (base != MAP_FAILED) break;
    }
  }
  if (base == MAP_FAILED) {
    if (fd >= 0) close(fd);
    return Error(Errc::kNoMemory, "no free 0x%zx bytes of address space in [%#lx, %#lx)", size,
                 static_cast<unsigned long>(lo), static_cast<unsigned long>(hi));
  }
  Mapping m;
  m.base = reinterpret_cast<uintptr_t>(base);
  next_ = m.base + size;
  m.alias = m.base;
  m.size = size;
  if (fd >= 0) {
    void* alias = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    int e = errno;
    close(fd);
    if (alias == MAP_FAILED) {
      munmap(base, size);
      return Error(Errc::kNoMemory, "mapping the writable alias: %s", strerror(e));
    }
    m.alias = reinterpret_cast<uintptr_t>(alias);
  }
  return m;
}

void LinuxPageMemory::prefault(const Mapping& m, size_t offset, size_t len) {
  if (offset > m.size || len > m.size - offset || len == 0) return;
  // Write first: the alias allocates the memfd's pages (or the anonymous
  // ones of a read-write mapping, whose alias is its base)...
  if (populate_ok_ &&
      madvise(reinterpret_cast<void*>(m.alias + offset), len, MADV_POPULATE_WRITE) != 0 &&
      errno == EINVAL)
    populate_ok_ = false;  // an older kernel: let the pages fault in
  // ...then the executing or read-only view maps those same pages.
  if (populate_ok_ && m.base != m.alias)
    (void)madvise(reinterpret_cast<void*>(m.base + offset), len, MADV_POPULATE_READ);
}

void LinuxPageMemory::unmap(const Mapping& m) {
  munmap(reinterpret_cast<void*>(m.base), m.size);
  if (m.alias != m.base) munmap(reinterpret_cast<void*>(m.alias), m.size);
}

}  // namespace mk::hosted
