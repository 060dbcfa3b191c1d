#include "support/scratch.h"

#if defined(__SANITIZE_ADDRESS__)
#define MK_SCRATCH_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define MK_SCRATCH_ASAN 1
#endif
#endif
#ifdef MK_SCRATCH_ASAN
#include <sanitizer/asan_interface.h>
#endif

namespace mk {

namespace {

constexpr size_t kChunkAlign = 64;  // the most allocate() may be asked for
constexpr size_t kHeader = 64;      // sizeof(Chunk), rounded up to kChunkAlign

// Under ASan, bytes not handed out are poisoned: a temporary read or
// written past its end is reported as it would be with the backing
// allocator's own blocks.
void poison_range(const void* p, size_t n) {
#ifdef MK_SCRATCH_ASAN
  __asan_poison_memory_region(p, n);
#else
  (void)p, (void)n;
#endif
}

void unpoison_range(const void* p, size_t n) {
#ifdef MK_SCRATCH_ASAN
  __asan_unpoison_memory_region(p, n);
#else
  (void)p, (void)n;
#endif
}

}  // namespace

Scratch::~Scratch() {
  for (Chunk* c = first_; c != nullptr;) {
    Chunk* next = c->next;
    unpoison_range(c, c->size);
    backing_.deallocate(c, c->size, kChunkAlign);
    c = next;
  }
}

void Scratch::poison(Chunk* c) const {
  poison_range(reinterpret_cast<uint8_t*>(c) + c->used, c->size - c->used);
}

void* Scratch::allocate(size_t size, size_t align) {
  static_assert(sizeof(Chunk) <= kHeader);
  for (int attempt = 0; attempt < 2; ++attempt) {
    if (cur_ != nullptr) {
      const uintptr_t base = reinterpret_cast<uintptr_t>(cur_);
      const uintptr_t top = base + cur_->used;
      const uintptr_t at = (top + align - 1) & ~(uintptr_t{align} - 1);
      const size_t off = at - base;
      if (off <= cur_->size && size <= cur_->size - off) {
        cur_->used = off + size;
        void* p = reinterpret_cast<void*>(at);
        unpoison_range(p, size);
        last_ = p;
        return p;
      }
    }
    if (attempt == 0 && !advance(size, align)) return nullptr;
  }
  return nullptr;  // not reached: advance() made room
}

bool Scratch::advance(size_t size, size_t align) {
  // What a chunk needs to hold this allocation wherever its top is.
  if (size > SIZE_MAX / 2 - kHeader - align) return false;
  const size_t need = kHeader + align + size;
  Chunk* prev = cur_;
  Chunk* next = prev == nullptr ? first_ : prev->next;
  // Kept chunks too small for this are given back: the ones after the top
  // are free, and a bigger one takes their place.
  while (next != nullptr && next->size < need) {
    Chunk* after = next->next;
    held_ -= next->size;
    unpoison_range(next, next->size);
    backing_.deallocate(next, next->size, kChunkAlign);
    next = after;
    if (prev == nullptr)
      first_ = next;
    else
      prev->next = next;
  }
  if (next == nullptr) {
    size_t bytes = prev == nullptr ? kFirstChunk : prev->size * 2;
    if (bytes < need) bytes = need;
    void* mem = backing_.allocate(bytes, kChunkAlign);
    if (mem == nullptr) return false;
    next = static_cast<Chunk*>(mem);
    next->next = nullptr;
    next->size = bytes;
    held_ += bytes;
    if (prev == nullptr)
      first_ = next;
    else
      prev->next = next;
  }
  next->used = kHeader;
  poison(next);
  cur_ = next;
  return true;
}

void Scratch::deallocate(void* p, size_t size, size_t) {
  if (p == nullptr || p != last_ || cur_ == nullptr) return;
  const uintptr_t base = reinterpret_cast<uintptr_t>(cur_);
  const uintptr_t at = reinterpret_cast<uintptr_t>(p);
  if (at + size != base + cur_->used) return;
  cur_->used = at - base;
  last_ = nullptr;
  poison(cur_);
}

void Scratch::release(const Mark& m) {
  last_ = nullptr;
  Chunk* keep = static_cast<Chunk*>(m.chunk);
  Chunk* later = keep == nullptr ? first_ : keep->next;
  if (keep != nullptr) {
    keep->used = m.used;
    poison(keep);
  }
  for (Chunk* c = later; c != nullptr; c = c->next) {
    c->used = kHeader;
    poison(c);
  }
  cur_ = keep != nullptr ? keep : first_;
  const bool bottom = keep == nullptr || (keep == first_ && m.used == kHeader);
  if (!bottom) return;
  // Back to the bottom (nothing in use): keep the first chunks up to kKeep
  // bytes, give the rest back.
  size_t kept = 0;
  Chunk* prev = nullptr;
  for (Chunk* c = first_; c != nullptr;) {
    Chunk* next = c->next;
    if (kept + c->size > kKeep) {
      if (prev == nullptr)
        first_ = next;
      else
        prev->next = next;
      held_ -= c->size;
      unpoison_range(c, c->size);
      backing_.deallocate(c, c->size, kChunkAlign);
    } else {
      kept += c->size;
      prev = c;
    }
    c = next;
  }
  cur_ = first_;
}

}  // namespace mk
