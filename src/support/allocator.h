// Allocator: how the core gets memory for its own bookkeeping. Injected by the
// embedding kernel (malloc hosted, a kernel heap elsewhere, a failing one in
// fault-injection tests). Module images do not come from here: they come from
// the platform's PageMemory through the link layer's Arena.
//
// Contract: allocate() returns memory aligned to `align` (a power of two, at
// most 64) or nullptr; it never throws and never aborts. deallocate() takes
// exactly the pointer, size and alignment that allocate() was given.
#pragma once

#include <stddef.h>

#include <new>
#include <utility>

namespace mk {

class Allocator {
 public:
  virtual void* allocate(size_t size, size_t align) = 0;
  virtual void deallocate(void* p, size_t size, size_t align) = 0;

 protected:
  ~Allocator() = default;
};

// Constructs a T in memory from `a`; nullptr when allocation fails.
template <class T, class... Args>
T* make(Allocator& a, Args&&... args) {
  void* p = a.allocate(sizeof(T), alignof(T));
  if (p == nullptr) return nullptr;
  return new (p) T(std::forward<Args>(args)...);
}

template <class T>
void destroy(Allocator& a, T* p) {
  if (p == nullptr) return;
  p->~T();
  a.deallocate(p, sizeof(T), alignof(T));
}

}  // namespace mk
