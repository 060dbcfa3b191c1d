// Vec<T>: a growable array whose growth can fail. There is no push_back that
// cannot fail: push() returns false when the allocator says no, and the
// vector is unchanged. Elements move when the buffer grows, so do not keep
// pointers into a Vec across a push.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include <new>
#include <type_traits>
#include <utility>

#include "support/allocator.h"
#include "support/memory.h"

namespace mk {

template <class T>
class Vec {
 public:
  explicit Vec(Allocator& a) : alloc_(&a) {}
  Vec(Vec&& o) : alloc_(o.alloc_), data_(o.data_), size_(o.size_), cap_(o.cap_) {
    o.data_ = nullptr;
    o.size_ = o.cap_ = 0;
  }
  Vec& operator=(Vec&& o) {
    if (this != &o) {
      release();
      alloc_ = o.alloc_;
      data_ = o.data_;
      size_ = o.size_;
      cap_ = o.cap_;
      o.data_ = nullptr;
      o.size_ = o.cap_ = 0;
    }
    return *this;
  }
  Vec(const Vec&) = delete;
  Vec& operator=(const Vec&) = delete;
  ~Vec() { release(); }

  [[nodiscard]] bool reserve(size_t n) {
    if (n <= cap_) return true;
    if (n > SIZE_MAX / sizeof(T)) return false;
    T* fresh = static_cast<T*>(alloc_->allocate(n * sizeof(T), alignof(T)));
    if (fresh == nullptr) return false;
    for (size_t i = 0; i < size_; ++i) {
      new (&fresh[i]) T(std::move(data_[i]));
      data_[i].~T();
    }
    if (data_ != nullptr) alloc_->deallocate(data_, cap_ * sizeof(T), alignof(T));
    data_ = fresh;
    cap_ = n;
    return true;
  }

  [[nodiscard]] bool push(T v) {
    if (size_ == cap_ && !reserve(cap_ < 4 ? 4 : cap_ * 2)) return false;
    new (&data_[size_]) T(std::move(v));
    ++size_;
    return true;
  }

  // The reserved room past the elements, for a loop that writes elements
  // there itself and then takes them in with adopt(): its stores, through
  // a local pointer, do not make the compiler reload size_ at every push()
  // (they may alias it). Only for trivially copyable T.
  T* room() {
    static_assert(std::is_trivially_copyable_v<T>, "room() is for plain records");
    return data_ + size_;
  }
  // The first n elements (n <= capacity) are the Vec's: those past the old
  // size were written through room().
  void adopt(size_t n) {
    static_assert(std::is_trivially_copyable_v<T>, "adopt() is for plain records");
    size_ = n;
  }

  // Grows to n elements, value-initialising the new ones.
  [[nodiscard]] bool resize(size_t n) {
    if (n > cap_ && !reserve(n)) return false;
    T* d = data_;  // a local: the stores below cannot change it, so loops vectorise
    if constexpr (std::is_trivially_default_constructible_v<T>) {
      // Value-initialising a trivial T is zeroing it: one memset, where an
      // element-by-element loop over a byte buffer showed in the profile.
      if (n > size_) mk_memset(d + size_, 0, (n - size_) * sizeof(T));
    } else {
      for (size_t i = size_; i < n; ++i)
        new (&d[i]) T();
    }
    for (size_t i = n; i < size_; ++i)
      d[i].~T();
    size_ = n;
    return true;
  }

  void pop() { data_[--size_].~T(); }
  void clear() {
    for (size_t i = 0; i < size_; ++i)
      data_[i].~T();
    size_ = 0;
  }
  // Removes element i by moving the last one into its place (order not kept).
  void swap_remove(size_t i) {
    if (i + 1 != size_) data_[i] = std::move(data_[size_ - 1]);
    pop();
  }
  // Removes element i keeping order.
  void erase(size_t i) {
    for (size_t j = i; j + 1 < size_; ++j)
      data_[j] = std::move(data_[j + 1]);
    pop();
  }

  T& operator[](size_t i) { return data_[i]; }
  const T& operator[](size_t i) const { return data_[i]; }
  T& back() { return data_[size_ - 1]; }
  T* begin() { return data_; }
  T* end() { return data_ + size_; }
  const T* begin() const { return data_; }
  const T* end() const { return data_ + size_; }
  T* data() { return data_; }
  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  Allocator& allocator() const { return *alloc_; }

 private:
  void release() {
    clear();
    if (data_ != nullptr) alloc_->deallocate(data_, cap_ * sizeof(T), alignof(T));
    data_ = nullptr;
    cap_ = 0;
  }

  Allocator* alloc_;
  T* data_ = nullptr;
  size_t size_ = 0;
  size_t cap_ = 0;
};

}  // namespace mk
