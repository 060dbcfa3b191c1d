// SlabPool<T, N>: small fixed-size records carved from slabs of N (N chosen so
// that a slab with malloc's header fills one page), so that a thousand loaded
// files cost a thousand records and no malloc header each. Free records are
// chained through their first pointer-sized word, which is the pool's while
// a record is free and its owner's while taken. Slabs are never given back
// (a record may be taken again at any time). Not thread-safe: the owner
// serialises.
#pragma once

#include <stddef.h>
#include <string.h>

#include <memory>
#include <new>
#include <type_traits>
#include <vector>

namespace mk::hosted {

template <class T, size_t N>
class SlabPool {
  static_assert(std::is_trivially_copyable_v<T> && sizeof(T) >= sizeof(void*));

 public:
  // A free record (its contents unspecified), or nullptr when out of memory.
  T* take() {
    if (free_ == nullptr) {
      std::unique_ptr<T[]> slab(new (std::nothrow) T[N]);
      if (slab == nullptr) return nullptr;
      try {
        slabs_.push_back(std::move(slab));
      } catch (const std::bad_alloc&) {
        return nullptr;
      }
      for (size_t i = N; i > 0; --i)
        give(&slabs_.back()[i - 1]);
    }
    T* t = free_;
    memcpy(&free_, static_cast<void*>(t), sizeof free_);
    return t;
  }
  // Never fails.
  void give(T* t) {
    memcpy(static_cast<void*>(t), &free_, sizeof free_);
    free_ = t;
  }

 private:
  std::vector<std::unique_ptr<T[]>> slabs_;
  T* free_ = nullptr;
};

}  // namespace mk::hosted
