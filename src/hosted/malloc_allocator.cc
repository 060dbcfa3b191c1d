#include "hosted/malloc_allocator.h"

#include <stdlib.h>

namespace mk::hosted {

void* MallocAllocator::allocate(size_t size, size_t align) {
  if (size == 0) size = 1;
  if (align <= alignof(max_align_t)) return malloc(size);
  void* p = nullptr;
  return posix_memalign(&p, align, size) == 0 ? p : nullptr;
}

void MallocAllocator::deallocate(void* p, size_t, size_t) {
  free(p);
}

}  // namespace mk::hosted
