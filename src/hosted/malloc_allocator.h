// MallocAllocator: the core's Allocator on top of the C library's heap.
#pragma once

#include "support/allocator.h"

namespace mk::hosted {

class MallocAllocator final : public Allocator {
 public:
  void* allocate(size_t size, size_t align) override;
  void deallocate(void* p, size_t size, size_t align) override;
};

}  // namespace mk::hosted
