#include "hosted/code_runtime.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <mutex>

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

// Whether every page of the executing view under [begin, begin + size) is
// the memfd's page that the alias (at `written`) writes, rather than this
// process's own copy. One byte of the range in each page is flipped through
// the alias and must flip in the executing view too: a copy does not
// follow, whatever bytes it holds; a page not mapped yet is mapped from the
// memfd by the read (with its neighbours: fault-around), and follows. The
// bytes are the new file's, which nothing runs yet, and each is put back
// (flipped twice). The fences order the accesses to one byte through its
// two addresses (the data caches are physically tagged): the linker's
// writes before the first reads, the first flips before the second reads.
bool follows_alias(uintptr_t begin, size_t size, uintptr_t written, uintptr_t page) {
  const uintptr_t end = begin + size;
  bool follows = true;
  for (int flip = 0; flip < 2; ++flip) {
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    for (uintptr_t at = begin; at < end; at = (at | (page - 1)) + 1) {
      auto* w = reinterpret_cast<volatile uint8_t*>(written + (at - begin));
      const uint8_t v = *w;
      follows &= *reinterpret_cast<const volatile uint8_t*>(at) == v;
      *w = static_cast<uint8_t>(~v);
    }
  }
  return follows;
}

}  // namespace

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
  } else if (written != begin && !follows_alias(begin, size, written, page)) {  // one view: no copy
    // The executing view is a private mapping of what the alias writes
    // (hosted/page_memory.cc), so that a debugger can insert breakpoints.
    // A page a debugger wrote is this process's own copy, blind to what
    // was just written into the same page: drop the range's pages, so that
    // they read through to the memfd again, and map them back in one
    // request. The debugger puts its breakpoints back when it stops for
    // the file's registration (register_debug). Without a debugger this
    // costs one probe of a byte per page and no system call (pagemap, which
    // tells copies too, took 1.2 us for the 17 pages of a typical file:
    // a read of their entries, or PAGEMAP_SCAN, alike).
    madvise(at, hi - lo, MADV_DONTNEED);
    (void)madvise(at, hi - lo, MADV_POPULATE_READ);
  }
  // Data cache clean and instruction cache invalidate by address where the
  // machine needs them (aarch64, riscv64); nothing on x86_64. By the
  // executing address, once it maps the memfd's pages: the caches see the
  // alias's writes there too.
  __builtin___clear_cache(reinterpret_cast<char*>(begin), reinterpret_cast<char*>(begin + size));
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
