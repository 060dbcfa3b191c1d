#include "link/arena.h"

#include "support/checked.h"

namespace mk::link {

// A mapped chunk and its free ranges, sorted by address and coalesced.
struct Range {
  uintptr_t lo;
  uintptr_t hi;
};

struct Chunk {
  explicit Chunk(Allocator& a) : free(a) {}
  Mapping map;
  Prot prot = Prot::kReadWrite;
  Vec<Range> free;
  size_t free_bytes = 0;  // sum of the free ranges: lets a search skip full chunks at once
  // Pages below this address were handed out before, so they are present
  // (prefaulted, or touched): blocks above it get their fresh pages
  // prefaulted (PageMemory::prefault) when they are allocated.
  uintptr_t touched = 0;
  uint32_t index = 0;  // in Arena::chunks_ (chunks are never removed before the arena dies)
};

namespace {

Prot prot_of(Class c) {
  switch (c) {
    case Class::kText:
    case Class::kInitText:
      return Prot::kReadExec;
    case Class::kRodata:
      return Prot::kRead;
    case Class::kData:
      return Prot::kReadWrite;
  }
  return Prot::kReadWrite;
}

// First fit inside one chunk; fills *out and returns true on success.
bool take(Chunk& ch, size_t size, size_t align, uintptr_t* out) {
  for (size_t i = 0; i < ch.free.size(); ++i) {
    Range r = ch.free[i];
    uint64_t at = 0;
    if (!align_up(r.lo, align, &at) || at > r.hi || size > r.hi - at) continue;
    uintptr_t end = static_cast<uintptr_t>(at) + size;
    bool head = at > r.lo, tail = end < r.hi;
    if (head && tail) {
      // Split: keep the head in place, insert the tail after it.
      if (!ch.free.push(Range{})) return false;
      for (size_t j = ch.free.size() - 1; j > i + 1; --j)
        ch.free[j] = ch.free[j - 1];
      ch.free[i] = Range{r.lo, static_cast<uintptr_t>(at)};
      ch.free[i + 1] = Range{end, r.hi};
    } else if (head) {
      ch.free[i].hi = static_cast<uintptr_t>(at);
    } else if (tail) {
      ch.free[i].lo = end;
    } else {
      ch.free.erase(i);
    }
    *out = static_cast<uintptr_t>(at);
    return true;
  }
  return false;
}

}  // namespace

const char* class_name(Class c) {
  switch (c) {
    case Class::kText:
      return "text";
    case Class::kRodata:
      return "rodata";
    case Class::kData:
      return "data";
    case Class::kInitText:
      return "init-text";
  }
  return "?";
}

Arena::Arena(PageMemory& pages, Allocator& alloc, size_t chunk_size)
    : pages_(pages), alloc_(alloc), chunk_size_(chunk_size), chunks_(alloc) {}

Arena::~Arena() {
  for (Chunk* ch : chunks_) {
    pages_.unmap(ch->map);
    destroy(alloc_, ch);
  }
}

Result<Chunk*> Arena::grow(const Window& w, Class c, size_t size, size_t align) {
  uint64_t want = 0;
  size_t page = pages_.page_size();
  if (add_overflow<uint64_t>(size, align, &want) || !align_up(want, page, &want))
    return Error(Errc::kNoMemory, "arena: block of 0x%zx bytes is too large", size);
  if (want < chunk_size_) want = chunk_size_;
  if (!chunks_.reserve(chunks_.size() + 1))
    return Error(Errc::kNoMemory, "arena: out of memory for chunk bookkeeping");
  Chunk* ch = make<Chunk>(alloc_, alloc_);
  if (ch == nullptr || !ch->free.push(Range{})) {
    destroy(alloc_, ch);
    return Error(Errc::kNoMemory, "arena: out of memory for chunk bookkeeping");
  }
  Result<Mapping> m = pages_.map(w.lo, w.hi, static_cast<size_t>(want), prot_of(c));
  if (!m) {
    destroy(alloc_, ch);
    Error e = m.error();
    e.prefix("arena: mapping a %s chunk of 0x%lx bytes in [%#lx, %#lx): ", class_name(c),
             static_cast<uint64_t>(want), static_cast<uint64_t>(w.lo), static_cast<uint64_t>(w.hi));
    return e;
  }
  ch->map = m.value();
  ch->prot = prot_of(c);
  ch->free[0] = Range{ch->map.base, ch->map.base + ch->map.size};
  ch->free_bytes = ch->map.size;
  ch->touched = ch->map.base;
  ch->index = static_cast<uint32_t>(chunks_.size());
  (void)chunks_.push(ch);  // reserved above
  return ch;
}

Result<Block> Arena::allocate(const Window& w, Class c, size_t size, size_t align) {
  if (size == 0) return Block{};
  if (size > UINT32_MAX - 1 || chunks_.size() >= kNoChunk)
    return Error(Errc::kNoMemory, "arena: block of 0x%zx bytes is too large", size);
  if (!is_pow2(align))
    return Error(Errc::kInvalid, "arena: alignment %zu is not a power of two", align);
  Prot prot = prot_of(c);
  uintptr_t at = 0;
  Chunk* found = nullptr;
  // The chunk that served this class last is the likeliest to serve it again;
  // then first fit over the others, skipping chunks without enough free bytes.
  Chunk*& hint = last_[static_cast<int>(c)];
  auto fits_here = [&](Chunk* ch) {
    return ch->prot == prot && ch->free_bytes >= size && w.contains(ch->map.base, ch->map.size) &&
           take(*ch, size, align, &at);
  };
  if (hint != nullptr && fits_here(hint)) {
    found = hint;
  } else {
    for (Chunk* ch : chunks_) {
      if (ch != hint && fits_here(ch)) {
        found = ch;
        break;
      }
    }
  }
  if (found == nullptr) {
    found = MK_TRY(grow(w, c, size, align));
    if (!take(*found, size, align, &at))
      return Error(Errc::kNoMemory, "arena: out of memory for free-list bookkeeping");
  }
  hint = found;
  found->free_bytes -= size;
  used_ += size;
  // First use of these pages: have them present in both views at once
  // (one request per view) rather than fault in page by page as the linker
  // writes them through the alias and the module then runs or reads them.
  // First fit packs blocks from the bottom of a chunk, so one high-water
  // mark per chunk tells fresh pages from reused ones.
  const uintptr_t page = pages_.page_size();
  const uintptr_t top = (at + size + page - 1) & ~(page - 1);  // <= the chunk's page-aligned end
  if (top > found->touched) {
    pages_.prefault(found->map, found->touched - found->map.base, top - found->touched);
    found->touched = top;
  }
  return Block{at, static_cast<uint32_t>(size), found->index};
}

uintptr_t Arena::alias(const Block& b) const {
  if (b.size == 0 || b.chunk >= chunks_.size()) return 0;
  const Mapping& m = chunks_[b.chunk]->map;
  return m.alias + (b.base - m.base);
}

void Arena::free(const Block& b) {
  if (b.size == 0 || b.chunk >= chunks_.size()) return;
  Chunk& ch = *chunks_[b.chunk];
  used_ -= b.size;
  ch.free_bytes += b.size;
  uintptr_t lo = b.base, hi = b.base + b.size;
  // Find the first free range above the block, then merge with neighbours.
  size_t i = 0;
  while (i < ch.free.size() && ch.free[i].lo < lo)
    ++i;
  bool joins_prev = i > 0 && ch.free[i - 1].hi == lo;
  bool joins_next = i < ch.free.size() && ch.free[i].lo == hi;
  if (joins_prev && joins_next) {
    ch.free[i - 1].hi = ch.free[i].hi;
    ch.free.erase(i);
  } else if (joins_prev) {
    ch.free[i - 1].hi = hi;
  } else if (joins_next) {
    ch.free[i].lo = lo;
  } else if (ch.free.push(Range{})) {
    for (size_t j = ch.free.size() - 1; j > i; --j)
      ch.free[j] = ch.free[j - 1];
    ch.free[i] = Range{lo, hi};
  }
  // If the push failed the bytes stay unusable until the arena dies: a leak
  // of address space, never a double use.
}

void Arena::shrink(Block& b, size_t size) {
  if (size >= b.size) return;
  free(Block{b.base + size, static_cast<uint32_t>(b.size - size), b.chunk});
  b = size == 0 ? Block{} : Block{b.base, static_cast<uint32_t>(size), b.chunk};
}

ArenaStats Arena::stats() const {
  ArenaStats s;
  s.used = used_;
  s.chunks = chunks_.size();
  for (const Chunk* ch : chunks_)
    s.mapped += ch->map.size;
  return s;
}

}  // namespace mk::link
