// ByteView: the one door for untrusted bytes. Every read of module input goes
// through it; nothing else in the tree casts input bytes to a structure.
//
// Reads copy out (memcpy) so alignment of the input never matters, and every
// read is bounds-checked with the non-overflowing rule of checked.h. A failed
// read returns false and leaves *out untouched; the caller turns that into an
// Error with its own context (it knows which rule the read served).
#pragma once

#include <stddef.h>
#include <stdint.h>

#include <type_traits>

#include "support/checked.h"
#include "support/memory.h"

namespace mk {

class ByteView {
 public:
  constexpr ByteView() = default;
  constexpr ByteView(const uint8_t* data, size_t size) : data_(data), size_(size) {}

  constexpr const uint8_t* data() const { return data_; }
  constexpr size_t size() const { return size_; }
  constexpr bool empty() const { return size_ == 0; }

  bool contains(uint64_t off, uint64_t len) const { return in_range(off, len, size_); }

  // Copies a trivially-copyable T from offset off. Little-endian hosts only
  // (the core refuses big-endian ELF before reading anything wider than a byte).
  template <class T>
  [[nodiscard]] bool read(uint64_t off, T* out) const {
    static_assert(std::is_trivially_copyable_v<T>);
    if (!in_range(off, sizeof(T), size_)) return false;
    mk_memcpy(out, data_ + off, sizeof(T));
    return true;
  }

  // Reads element i of an array of T that starts at off.
  template <class T>
  [[nodiscard]] bool read_at(uint64_t off, uint64_t index, T* out) const {
    uint64_t rel = 0;
    if (mul_overflow<uint64_t>(index, sizeof(T), &rel)) return false;
    uint64_t at = 0;
    if (add_overflow<uint64_t>(off, rel, &at)) return false;
    return read(at, out);
  }

  // Sets *out to the sub-view [off, off + len); false, and *out untouched,
  // when that range is not inside this view.
  [[nodiscard]] bool slice(uint64_t off, uint64_t len, ByteView* out) const {
    if (!in_range(off, len, size_)) return false;
    *out = ByteView(data_ + off, static_cast<size_t>(len));
    return true;
  }

  // A NUL-terminated string starting at off that ends inside the view.
  // Returns nullptr when off is out of range or no NUL follows.
  const char* cstr(uint64_t off) const {
    if (off >= size_) return nullptr;
    for (size_t i = static_cast<size_t>(off); i < size_; ++i) {
      if (data_[i] == 0) return reinterpret_cast<const char*>(data_ + off);
    }
    return nullptr;
  }

 private:
  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
};

}  // namespace mk
