// Arena: where module images live. Sections of all loaded files are packed by
// permission class into shared chunks (a few MiB each, mapped once through
// PageMemory), so loading a module costs no mapping of its own, and freed
// space is reused by the next load.
//
// Text and read-only chunks are dual-mapped (PageMemory's contract): code runs
// at `base`, which is never writable, and the linker writes through `alias`.
// So no page is ever writable and executable at once, and nothing needs an
// mprotect per load.
//
// Windows: a load that must stay within +-2 GiB of some address (PC32 data
// references) or in the low 2 GiB (absolute 32-bit relocations) asks for its
// blocks inside a Window; chunks are mapped inside the window they serve.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "platform/page_memory.h"
#include "support/allocator.h"
#include "support/result.h"
#include "support/vector.h"

namespace mk::link {

enum class Class : uint8_t {
  kText,      // executable
  kRodata,    // read-only after linking (rodata, GOT, eh_frame)
  kData,      // writable (data, bss, COMMON)
  kInitText,  // executable, released once the file's init has run
};
inline constexpr int kClassCount = 4;

const char* class_name(Class c);

struct Window {
  uintptr_t lo = 0;
  uintptr_t hi = 0;  // exclusive
  bool contains(uintptr_t base, size_t size) const {
    return base >= lo && base <= hi && size <= hi - base;
  }
};

struct Chunk;

inline constexpr uint32_t kNoChunk = UINT32_MAX;

// A block of one class: the arena's, or a Placer's. Every linked file keeps
// one per class, so it is 16 bytes: the writable view of its bytes is not
// kept but derived (Arena::alias), and its chunk is an index.
struct Block {
  uintptr_t base = 0;         // executing address
  uint32_t size = 0;          // Arena::allocate refuses blocks of 4 GiB or more
  uint32_t chunk = kNoChunk;  // the arena chunk holding it; kNoChunk: empty, or not the arena's
};
static_assert(sizeof(Block) == 16);

struct ArenaStats {
  size_t used = 0;    // bytes handed out in blocks
  size_t mapped = 0;  // bytes mapped in chunks
  size_t chunks = 0;
};

class Arena {
 public:
  static constexpr size_t kDefaultChunk = size_t{4} << 20;

  Arena(PageMemory& pages, Allocator& alloc, size_t chunk_size = kDefaultChunk);
  ~Arena();
  Arena(const Arena&) = delete;
  Arena& operator=(const Arena&) = delete;

  // A block of `size` bytes at `align` (power of two) for class c, with every
  // byte inside w. Size 0 yields an empty block that needs no free().
  [[nodiscard]] Result<Block> allocate(const Window& w, Class c, size_t size, size_t align);
  void free(const Block& b);
  // Gives the bytes of b beyond its first `size` back to the arena (size at
  // most b.size); b keeps its base, and becomes empty at size 0. For a block
  // of this arena only (not a Placer's).
  void shrink(Block& b, size_t size);
  // Where the bytes of one of this arena's blocks are written (the same
  // address as base for data, whose one view is writable); 0 for an empty
  // block.
  uintptr_t alias(const Block& b) const;

  ArenaStats stats() const;
  PageMemory& pages() { return pages_; }

 private:
  Result<Chunk*> grow(const Window& w, Class c, size_t size, size_t align);

  PageMemory& pages_;
  Allocator& alloc_;
  size_t chunk_size_;
  Vec<Chunk*> chunks_;
  size_t used_ = 0;
  Chunk* last_[kClassCount] = {};  // per class: the chunk that served it last
};

}  // namespace mk::link
