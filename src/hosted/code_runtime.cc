#include "hosted/code_runtime.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <atomic>
#include <memory>
#include <new>
#include <vector>

#include "hosted/gdb_jit.h"
#include "hosted/slab_pool.h"
#include "link/linker_file.h"

extern "C" {
// libgcc's unwinder: takes a .eh_frame section ending with a zero word, and
// the storage it keeps about it (its `struct object`) from the caller.
void __register_frame_info(const void* begin, void* object);
void* __deregister_frame_info(const void* begin);
// glibc: runs the __cxa_atexit handlers registered against a DSO handle.
void __cxa_finalize(void* dso);
}

namespace mk::hosted {
namespace {

// libgcc keeps one `struct object` per registered .eh_frame. Its
// __register_frame mallocs that (48 bytes, 64 with malloc's header, for every
// loaded file, scattered among the file's other allocations);
// __register_frame_info takes the caller's storage, which comes from slabs
// here: no malloc per load. The struct is six pointer-sized words
// (unwind-dw2-fde.h: pc_begin, tbase, dbase, the FDE pointer, the bit-field
// word, next), and that size is ABI: crtbegin.o of every program built with
// the frame registry reserves a static struct object of it, and glibc's
// gccframe.h declares the same six words. (A seventh word, fde_end, exists
// only with DWARF2_OBJECT_END_PTR_EXTENSION, which only Darwin defines.)
struct FrameObject {
  void* words[6];
};
static_assert(sizeof(FrameObject) == 48);

class FramePool {
 public:
  FramePool() {
    // A fork() while another thread holds mu_ would leave the child's pool
    // locked forever: hold it across the fork instead.
    pthread_atfork([] { get().mu_.lock(); }, [] { get().mu_.unlock(); },
                   [] { get().mu_.unlock(); });
  }

  // Free records are chained through their first word (libgcc owns every
  // word of a record it holds; the pool, the first word of one it does not):
  // a record costs its 48 bytes and nothing else.
  FrameObject* take() {
    std::lock_guard<std::mutex> g(mu_);
    return slabs_.take();
  }
  // Never fails.
  void give(FrameObject* ob) {
    std::lock_guard<std::mutex> g(mu_);
    slabs_.give(ob);
  }

  // One pool for the process, never destroyed: the unwinder may hold objects
  // of files still registered when static destructors run.
  static FramePool& get() {
    static FramePool* pool = new FramePool;
    return *pool;
  }

 private:
  std::mutex mu_;
  SlabPool<FrameObject, 85> slabs_;  // 4,080 bytes a slab: with malloc's header, one page
};

// libgcc registers nothing for an .eh_frame whose first word is the zero
// terminator (and deregisters nothing for it).
bool empty_eh_frame(uintptr_t begin) {
  uint32_t first = 0;
  memcpy(&first, reinterpret_cast<const void*>(begin), sizeof first);
  return first == 0;
}

}  // namespace

namespace {

// /proc/self/pagemap's entry of a page (Documentation/admin-guide/mm/pagemap.rst).
constexpr uint64_t kPmPresent = uint64_t{1} << 63, kPmSwapped = uint64_t{1} << 62,
                   kPmFile = uint64_t{1} << 61;  // a page of the file (or shared), not our copy

// The entries themselves, 64 pages a read.
PageStates read_states(int fd, uintptr_t lo, uintptr_t hi, uintptr_t page) {
  PageStates st;
  uint64_t entries[64];
  for (uintptr_t at = lo; at < hi;) {
    size_t n = (hi - at) / page < 64 ? (hi - at) / page : 64;
    ssize_t want = static_cast<ssize_t>(n * sizeof(uint64_t));
    if (pread(fd, entries, static_cast<size_t>(want), static_cast<off_t>(at / page * 8)) != want)
      return PageStates{};
    for (size_t i = 0; i < n; ++i) {
      uint64_t e = entries[i];
      if ((e & kPmSwapped) != 0 || ((e & kPmPresent) != 0 && (e & kPmFile) == 0)) st.copied = true;
      if ((e & (kPmPresent | kPmSwapped)) == 0) st.absent = true;
    }
    at += n * page;
  }
  st.known = true;
  return st;
}

// PAGEMAP_SCAN (linux/fs.h since 6.7; spelled out here for older headers).
// The kernel matches a page when (categories ^ inverted) has a bit of
// anyof_mask, and reports runs of matching pages with their categories
// (those of return_mask) merged.
struct PageRegion {
  uint64_t start, end, categories;
};
struct PmScanArg {
  uint64_t size, flags, start, end, walk_end, vec, vec_len, max_pages, category_inverted,
      category_mask, category_anyof_mask, return_mask;
};
constexpr unsigned long kPagemapScan = _IOWR('f', 16, PmScanArg);
constexpr uint64_t kIsFile = 1 << 2, kIsPresent = 1 << 3, kIsSwapped = 1 << 4;

// Asks only for the pages that are not (present and the file's): copies,
// swapped pages and absent ones, the runs a debugger or a fresh mapping
// left. In steady state there are none: one call, nothing copied out.
PageStates scan_states(int fd, uintptr_t lo, uintptr_t hi) {
  PageRegion found[8];
  PmScanArg a{};
  a.size = sizeof a;
  a.start = lo;
  a.end = hi;
  a.vec = reinterpret_cast<uintptr_t>(found);
  a.vec_len = sizeof found / sizeof found[0];
  a.category_inverted = kIsPresent | kIsFile;
  a.category_anyof_mask = kIsPresent | kIsFile;
  a.return_mask = kIsPresent | kIsFile | kIsSwapped;
  PageStates st;
  for (;;) {
    long n = ioctl(fd, kPagemapScan, &a);
    if (n < 0) return PageStates{};
    for (long i = 0; i < n; ++i) {
      if ((found[i].categories & (kIsPresent | kIsSwapped)) != 0)
        st.copied = true;  // present (so not the file's) or swapped
      else
        st.absent = true;
    }
    // A full vector may have stopped the walk: go on from where it did,
    // unless a copy already decides it.
    if (st.copied || a.walk_end >= hi) break;
    if (a.walk_end <= a.start) return PageStates{};  // no progress: not an answer
    a.start = a.walk_end;
  }
  st.known = true;
  return st;
}

}  // namespace

PageStates page_states(int fd, uintptr_t lo, uintptr_t hi, PagemapQuery query) {
  if (fd < 0) return PageStates{};
  if (query == PagemapQuery::kScan) return scan_states(fd, lo, hi);
  return read_states(fd, lo, hi, static_cast<uintptr_t>(sysconf(_SC_PAGESIZE)));
}

// Counts fork()s in this process's line: an open pagemap keeps describing
// the process that opened it, so a child must open its own.
std::atomic<unsigned> g_forks{0};

HostRuntime::HostRuntime(PagemapQuery query) : query_(query) {
  static const bool counting = [] {
    pthread_atfork(nullptr, nullptr, [] { g_forks.fetch_add(1, std::memory_order_relaxed); });
    return true;
  }();
  (void)counting;
  pagemap_forks_ = g_forks.load(std::memory_order_relaxed);
  pagemap_fd_ = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
}

HostRuntime::~HostRuntime() {
  if (pagemap_fd_ >= 0) close(pagemap_fd_);
}

int HostRuntime::pagemap() {
  unsigned forks = g_forks.load(std::memory_order_relaxed);
  if (forks == pagemap_forks_) return pagemap_fd_;
  std::lock_guard<std::mutex> g(mu_);
  if (forks != pagemap_forks_) {
    if (pagemap_fd_ >= 0) close(pagemap_fd_);
    pagemap_fd_ = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
    pagemap_forks_ = forks;
  }
  return pagemap_fd_;
}

bool HostRuntime::register_eh_frame(uintptr_t begin, size_t) {
  if (empty_eh_frame(begin)) return true;
  FrameObject* ob = FramePool::get().take();
  if (ob == nullptr) return false;  // out of memory: the linker reports the refusal
  __register_frame_info(reinterpret_cast<const void*>(begin), ob);
  return true;
}

void HostRuntime::deregister_eh_frame(uintptr_t begin) {
  if (empty_eh_frame(begin)) return;
  void* ob = __deregister_frame_info(reinterpret_cast<const void*>(begin));
  if (ob != nullptr) FramePool::get().give(static_cast<FrameObject*>(ob));
}

void HostRuntime::sync_code(uintptr_t begin, size_t size, uintptr_t written) {
  // Data cache clean and instruction cache invalidate by address where the
  // machine needs them (aarch64, riscv64); nothing on x86_64. By the
  // executing address: the caches see the alias's writes there too.
  __builtin___clear_cache(reinterpret_cast<char*>(begin), reinterpret_cast<char*>(begin + size));
  // qemu-user keeps its translation of a guest page until that page is
  // written at its own address or becomes writable: writes through the
  // alias go unseen, and code loaded where a file was unloaded would run the
  // old file's translation (its cache instructions are no-ops). Under qemu
  // (MODKIT_QEMU_USER=1, which scripts/cross.sh sets) the pages are made
  // writable-not-executable and back, which drops them. Never otherwise: the
  // pages hold other files' code, which must stay executable.
  static const bool qemu_user = [] {
    const char* v = getenv("MODKIT_QEMU_USER");
    return v != nullptr && v[0] == '1';
  }();
  const uintptr_t page = static_cast<uintptr_t>(sysconf(_SC_PAGESIZE));
  const uintptr_t lo = begin & ~(page - 1), hi = (begin + size + page - 1) & ~(page - 1);
  void* at = reinterpret_cast<void*>(lo);
  if (qemu_user) {
    if (mprotect(at, hi - lo, PROT_READ | PROT_WRITE) == 0)
      mprotect(at, hi - lo, PROT_READ | PROT_EXEC);
    return;
  }
  // The executing view is a private mapping of what the alias writes
  // (hosted/page_memory.cc), so that a debugger can insert breakpoints. A
  // page a debugger wrote is this process's own copy, blind to what was just
  // written into the same page: drop such copies, so that the page reads
  // through to the memfd again. The debugger puts its breakpoints back when
  // it stops for the file's registration (register_debug). Only when there
  // is such a copy is anything dropped, and pages not mapped yet are mapped
  // in one request rather than fault in one by one on the first calls.
  //
  // A small range is checked directly: the executing view must show what
  // was written (reading it also maps an absent page). Equal bytes in a
  // copied page are harmless: every later write into the page is checked
  // the same way. A large range asks pagemap which pages are copies or
  // absent: PAGEMAP_SCAN lists just those (1.14 us for 17 pages here, against
  // 1.25 us to read their entries, one read for up to 64). Without a
  // debugger, in steady state, this costs one compare or one system call.
  constexpr size_t kCompareLimit = 16 * 1024;
  if (size <= kCompareLimit) {
    if (memcmp(reinterpret_cast<const void*>(begin), reinterpret_cast<const void*>(written),
               size) == 0)
      return;
    madvise(at, hi - lo, MADV_DONTNEED);
    (void)madvise(at, hi - lo, MADV_POPULATE_READ);
    return;
  }
  const int fd = pagemap();
  PagemapQuery query = query_.load(std::memory_order_relaxed);
  PageStates st = page_states(fd, lo, hi, query);
  if (!st.known && query == PagemapQuery::kScan && fd >= 0) {
    // A kernel before 6.7 (ENOTTY), or an emulator that does not forward
    // the ioctl (qemu-user: ENOTTY or ENOSYS), or arguments it does not
    // take (EINVAL): read the entries, now and from now on. Any other
    // failure reads them this once.
    if (errno == ENOTTY || errno == ENOSYS || errno == EINVAL)
      query_.store(PagemapQuery::kRead, std::memory_order_relaxed);
    st = page_states(fd, lo, hi, PagemapQuery::kRead);
  }
  if (!st.known || st.copied) madvise(at, hi - lo, MADV_DONTNEED);
  if (!st.known || st.copied || st.absent) (void)madvise(at, hi - lo, MADV_POPULATE_READ);
}

void HostRuntime::finalize(uintptr_t dso_handle) {
  __cxa_finalize(reinterpret_cast<void*>(dso_handle));
}

uintptr_t HostRuntime::register_debug(const link::LinkerFile& file,
                                      const elf::ValidatedObject* const* objects, size_t count) {
  GdbJitEntry* e = build_debug_object(file, objects, count);
  if (e == nullptr) return 0;
  gdb_jit_register(e);
  return reinterpret_cast<uintptr_t>(e);
}

void HostRuntime::unregister_debug(const link::LinkerFile& file) {
  gdb_jit_unregister(reinterpret_cast<GdbJitEntry*>(file.debug));
}

}  // namespace mk::hosted
