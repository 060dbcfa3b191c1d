// Span<T>: a view of n elements someone else owns (a pointer and a 32-bit
// count). For tables whose size a format bounds, so that a record holding
// several of them stays small.
#pragma once

#include <stddef.h>
#include <stdint.h>

namespace mk {

template <class T>
class Span {
 public:
  Span() = default;
  Span(T* data, uint32_t size) : data_(data), size_(size) {}

  T& operator[](size_t i) const { return data_[i]; }
  T* begin() const { return data_; }
  T* end() const { return data_ + size_; }
  T* data() const { return data_; }
  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }

 private:
  T* data_ = nullptr;
  uint32_t size_ = 0;
};

}  // namespace mk
