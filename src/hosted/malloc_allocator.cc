#include "hosted/malloc_allocator.h"

#include <stdlib.h>
#include <sys/mman.h>

namespace mk::hosted {

namespace {

// A kernel's heap lives in its direct map, which is mapped with large pages;
// the core's big tables (the export index's slots and records, a file's
// symbol table) are laid out for that. Here, an allocation of 2 MiB or more
// is aligned to 2 MiB and offered to transparent huge pages, so a lookup in a
// million-export index does not also pay a TLB miss per table it touches.
constexpr size_t kLargePage = 2 * 1024 * 1024;

}  // namespace

void* MallocAllocator::allocate(size_t size, size_t align) {
  if (size == 0) size = 1;
  if (size >= kLargePage) {
    size_t rounded = (size + kLargePage - 1) & ~(kLargePage - 1);
    void* p = nullptr;
    if (rounded < size || posix_memalign(&p, kLargePage, rounded) != 0) return nullptr;
    (void)madvise(p, rounded, MADV_HUGEPAGE);  // advice only: 4 KiB pages still work
    return p;
  }
  if (align <= alignof(max_align_t)) return malloc(size);
  void* p = nullptr;
  return posix_memalign(&p, align, size) == 0 ? p : nullptr;
}

void MallocAllocator::deallocate(void* p, size_t, size_t) {
  free(p);
}

}  // namespace mk::hosted
