// Scratch: an Allocator for one operation's temporaries (a load's validated
// object and the linker's working tables), handed out by bumping a pointer
// through chunks taken from a backing allocator, and given back all at once
// by rewinding to a mark. A load makes a few dozen temporary allocations;
// from a warm Scratch they cost no call into the backing allocator at all.
//
// Contract:
// - allocate() as Allocator's (aligned, nullptr on failure, never throws).
// - deallocate() gives back only the most recent allocation (a vector that
//   grows and shrinks at the top); any other is a no-op: its bytes come
//   back at release().
// - mark() and release() nest: every allocation made after mark() is
//   invalid after release() of that mark, and marks are released in reverse
//   order (a load that loads its dependencies first releases theirs first).
// - Chunks stay for the next operation, up to kKeep bytes in all; beyond
//   that, a release() to the bottom gives the later chunks back.
// - One user at a time: the owner serialises (a kernel's one loader).
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "support/allocator.h"

namespace mk {

class Scratch final : public Allocator {
 public:
  static constexpr size_t kFirstChunk = 4096;       // bytes, header included
  static constexpr size_t kKeep = size_t{1} << 20;  // kept across operations

  struct Mark {
    void* chunk;  // the chunk the top was in (nullptr: before any)
    size_t used;  // its bytes in use
  };

  explicit Scratch(Allocator& backing) : backing_(backing) {}
  ~Scratch();
  Scratch(const Scratch&) = delete;
  Scratch& operator=(const Scratch&) = delete;

  void* allocate(size_t size, size_t align) override;
  void deallocate(void* p, size_t size, size_t align) override;

  Mark mark() const { return Mark{cur_, cur_ == nullptr ? 0 : cur_->used}; }
  void release(const Mark& m);

  // Bytes of chunks held (in use or kept), for tests and accounting.
  size_t held() const { return held_; }

 private:
  struct Chunk {
    Chunk* next;  // the chunk after this one (kept for reuse)
    size_t size;  // bytes, this header included
    size_t used;  // bytes from the start of the chunk, header included
  };

  // Moves the top into the next kept chunk that has `need` bytes free, or
  // a new one; false when the backing allocator fails.
  bool advance(size_t size, size_t align);
  void poison(Chunk* c) const;

  Allocator& backing_;
  Chunk* first_ = nullptr;
  Chunk* cur_ = nullptr;  // the chunk the top is in
  size_t held_ = 0;
  void* last_ = nullptr;  // the most recent allocation (deallocate's one case)
};

// Releases, when it goes out of scope, everything taken from a Scratch
// since it was made: declare it before the temporaries it outlives.
class ScratchScope {
 public:
  explicit ScratchScope(Scratch& s) : s_(s), m_(s.mark()) {}
  ~ScratchScope() { s_.release(m_); }
  ScratchScope(const ScratchScope&) = delete;
  ScratchScope& operator=(const ScratchScope&) = delete;

 private:
  Scratch& s_;
  Scratch::Mark m_;
};

}  // namespace mk
