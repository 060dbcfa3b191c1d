// Tests of link/arena.h: the packed, class-separated module memory.
//
// Most tests run against FakePages, a PageMemory that hands out addresses of
// a pretend address space (the Arena never touches the bytes), so they can
// place chunks exactly, count map/unmap calls and fail on demand. The last
// tests use the real LinuxPageMemory.
#include "link/arena.h"

#include <gtest/gtest.h>
#include <string.h>

#include <algorithm>
#include <map>
#include <random>
#include <vector>

#include "hosted/page_memory.h"
#include "support/test_allocator.h"
#include "util/host_code.h"

namespace mk::link {
namespace {

using mk::testing::TestAllocator;

constexpr size_t kPage = 4096;
constexpr size_t kChunk = 64 * kPage;  // small chunks keep the tests readable
constexpr uintptr_t kAliasOffset = uintptr_t{1} << 44;

// Addresses are handed out from the bottom of each requested window, each
// mapping followed by a one-page hole (so chunks are never adjacent).
class FakePages final : public PageMemory {
 public:
  struct Call {
    uintptr_t lo, hi;
    size_t size;
    Prot prot;
  };

  size_t page_size() const override { return kPage; }

  Result<Mapping> map(uintptr_t lo, uintptr_t hi, size_t size, Prot prot) override {
    calls.push_back({lo, hi, size, prot});
    if (fail) return Error(Errc::kNoMemory, "fake: no pages");
    EXPECT_EQ(size % kPage, 0u) << "map() size is not a multiple of the page size";
    uintptr_t at = std::max<uintptr_t>(lo, kPage);
    at = (at + kPage - 1) & ~(kPage - 1);
    for (const Mapping& m : live) {
      if (at < m.base + m.size + kPage && m.base < at + size + kPage) at = m.base + m.size + kPage;
    }
    if (at > hi || size > hi - at) return Error(Errc::kNoMemory, "fake: window full");
    Mapping m{at, prot == Prot::kReadWrite ? at : at + kAliasOffset, size};
    live.push_back(m);
    prot_at[at] = prot;
    return m;
  }

  void prefault(const Mapping& m, size_t offset, size_t len) override {
    EXPECT_EQ(offset % kPage, 0u) << "prefault() offset is not page-aligned";
    EXPECT_EQ(len % kPage, 0u) << "prefault() length is not a multiple of the page size";
    EXPECT_LE(offset + len, m.size) << "prefault() past the mapping";
    prefaults.push_back({m.base + offset, m.base + offset + len});
  }

  void unmap(const Mapping& m) override {
    auto it = std::find_if(live.begin(), live.end(), [&](const Mapping& x) {
      return x.base == m.base && x.alias == m.alias && x.size == m.size;
    });
    if (it == live.end()) {
      ADD_FAILURE() << "unmap of a mapping that map() did not return: " << std::hex << m.base;
      return;
    }
    live.erase(it);
    ++unmaps;
  }

  bool fail = false;
  std::vector<Call> calls;
  std::vector<std::pair<uintptr_t, uintptr_t>> prefaults;  // [lo, hi) at base
  std::vector<Mapping> live;
  std::map<uintptr_t, Prot> prot_at;  // by base
  int unmaps = 0;
};

const Window kAnywhere{0, UINTPTR_MAX};

class ArenaTest : public ::testing::Test {
 protected:
  Block Alloc(size_t size, size_t align = 1, Class c = Class::kData, Window w = kAnywhere) {
    Result<Block> b = arena.allocate(w, c, size, align);
    EXPECT_TRUE(b.ok()) << b.error().message();
    return b.ok() ? b.value() : Block{};
  }
  // The mapping a block lies in.
  const Mapping* MappingOf(const Block& b) const {
    for (const Mapping& m : pages.live)
      if (b.base >= m.base && b.base + b.size <= m.base + m.size) return &m;
    return nullptr;
  }

  TestAllocator alloc;
  FakePages pages;
  Arena arena{pages, alloc, kChunk};
};

TEST_F(ArenaTest, FirstAllocationMapsOneChunkOfTheClassProtection) {
  Block b = Alloc(100, 16, Class::kText);
  ASSERT_EQ(pages.calls.size(), 1u);
  EXPECT_EQ(pages.calls[0].size, kChunk);
  EXPECT_EQ(pages.calls[0].prot, Prot::kReadExec);
  EXPECT_EQ(b.base, pages.live[0].base);
  EXPECT_EQ(b.size, 100u);
  // Writes go through the alias, at the same offset.
  EXPECT_EQ(arena.alias(b), b.base + kAliasOffset);
  ArenaStats s = arena.stats();
  EXPECT_EQ(s.used, 100u);
  EXPECT_EQ(s.mapped, kChunk);
  EXPECT_EQ(s.chunks, 1u);
}

TEST_F(ArenaTest, FreshPagesArePrefaultedOnceWhenFirstHandedOut) {
  using Span = std::pair<uintptr_t, uintptr_t>;
  Block a = Alloc(100, 16, Class::kText);  // the chunk's first page
  ASSERT_EQ(pages.prefaults, std::vector<Span>({{a.base, a.base + kPage}}));
  Block b = Alloc(200, 16, Class::kText);  // same page: nothing new
  EXPECT_EQ(pages.prefaults.size(), 1u);
  Block c = Alloc(2 * kPage, 16, Class::kText);  // from the first page into the third
  ASSERT_EQ(pages.prefaults.size(), 2u);
  EXPECT_EQ(pages.prefaults[1], Span(a.base + kPage, a.base + 3 * kPage));
  // Space given back and handed out again is present already.
  arena.free(c);
  arena.free(b);
  Alloc(2 * kPage, 16, Class::kText);
  EXPECT_EQ(pages.prefaults.size(), 2u);
  // Every class, every chunk: a new chunk's first page is fresh again.
  Block d = Alloc(64, 8, Class::kData);
  ASSERT_EQ(pages.prefaults.size(), 3u);
  EXPECT_EQ(pages.prefaults[2], Span(d.base, d.base + kPage));
}

TEST_F(ArenaTest, EachClassGetsChunksWithItsOwnProtection) {
  Alloc(8, 8, Class::kText);
  Alloc(8, 8, Class::kRodata);
  Alloc(8, 8, Class::kData);
  ASSERT_EQ(pages.calls.size(), 3u);
  EXPECT_EQ(pages.calls[0].prot, Prot::kReadExec);
  EXPECT_EQ(pages.calls[1].prot, Prot::kRead);
  EXPECT_EQ(pages.calls[2].prot, Prot::kReadWrite);
  // Data is not dual-mapped: it is written where it runs.
  Block d = Alloc(8, 8, Class::kData);
  EXPECT_EQ(arena.alias(d), d.base);
  // Init-only text is executable too: it shares the text chunks.
  Block it = Alloc(8, 8, Class::kInitText);
  EXPECT_EQ(pages.calls.size(), 3u);
  EXPECT_EQ(MappingOf(it), &pages.live[0]);
  EXPECT_STREQ(class_name(Class::kText), "text");
  EXPECT_STREQ(class_name(Class::kRodata), "rodata");
  EXPECT_STREQ(class_name(Class::kData), "data");
  EXPECT_STREQ(class_name(Class::kInitText), "init-text");
}

TEST_F(ArenaTest, BlocksArePackedIntoOneChunk) {
  Block a = Alloc(100);
  Block b = Alloc(100);
  Block c = Alloc(100);
  EXPECT_EQ(b.base, a.base + 100);
  EXPECT_EQ(c.base, b.base + 100);
  EXPECT_EQ(arena.stats().chunks, 1u);
}

TEST_F(ArenaTest, FreedSpaceIsReusedFirstFit) {
  Block a = Alloc(256);
  Block b = Alloc(256);
  arena.free(a);
  Block c = Alloc(200);
  EXPECT_EQ(c.base, a.base);
  Block d = Alloc(56);  // exactly the rest of a's hole
  EXPECT_EQ(d.base, a.base + 200);
  Block e = Alloc(1);  // no hole left before b
  EXPECT_EQ(e.base, b.base + 256);
}

// Every order of freeing three neighbours ends in one free range: the whole
// chunk can be handed out again as one block, without a new mapping.
TEST_F(ArenaTest, FreeCoalescesInEveryOrder) {
  std::vector<int> order{0, 1, 2};
  do {
    Block blocks[3] = {Alloc(1000), Alloc(3000), Alloc(500)};
    size_t chunks = arena.stats().chunks;
    for (int i : order)
      arena.free(blocks[i]);
    EXPECT_EQ(arena.stats().used, 0u);
    Block all = Alloc(kChunk);
    EXPECT_EQ(arena.stats().chunks, chunks) << "needed a new chunk: the free ranges did not merge";
    EXPECT_EQ(all.base, pages.live[0].base);
    arena.free(all);
  } while (std::next_permutation(order.begin(), order.end()));
  EXPECT_EQ(pages.calls.size(), 1u);
}

TEST_F(ArenaTest, AlignmentIsHonouredAtBaseAndAlias) {
  Alloc(1, 1, Class::kRodata);  // misalign the next free byte
  for (size_t align : {2u, 8u, 64u, 4096u, 65536u}) {
    Block b = Alloc(24, align, Class::kRodata);
    EXPECT_EQ(b.base % align, 0u) << "align " << align;
    EXPECT_EQ(arena.alias(b) - b.base, kAliasOffset);
    Alloc(3, 1, Class::kRodata);
  }
}

TEST_F(ArenaTest, AlignmentPaddingIsFreeSpaceAgain) {
  Block a = Alloc(1);
  Block b = Alloc(64, 4096);  // leaves a hole [a+1, b)
  EXPECT_EQ(b.base, a.base + 4096);
  Block c = Alloc(4095);  // fits exactly in the hole
  EXPECT_EQ(c.base, a.base + 1);
  EXPECT_EQ(arena.stats().used, 1u + 64 + 4095);
}

TEST_F(ArenaTest, ShrinkGivesTheTailBackAndKeepsTheBase) {
  Block a = Alloc(48, 16, Class::kText);
  Block b = Alloc(16, 16, Class::kText);
  Block shrunk = a;
  arena.shrink(shrunk, 29);
  EXPECT_EQ(shrunk.base, a.base);
  EXPECT_EQ(shrunk.size, 29u);
  EXPECT_EQ(shrunk.chunk, a.chunk);
  EXPECT_EQ(arena.stats().used, 29u + 16);
  // The tail is free space again: the next block at 16 fits before b.
  Block c = Alloc(16, 16, Class::kText);
  EXPECT_EQ(c.base, a.base + 32);
  EXPECT_LE(c.base + c.size, b.base);
  // Growing is not shrinking: nothing changes.
  arena.shrink(shrunk, 100);
  EXPECT_EQ(shrunk.size, 29u);
  // Freeing the shrunk block gives back exactly what it still holds.
  arena.free(shrunk);
  arena.free(b);
  arena.free(c);
  EXPECT_EQ(arena.stats().used, 0u);
  EXPECT_EQ(Alloc(kChunk, 1, Class::kText).base, a.base) << "the free ranges did not merge";
}

TEST_F(ArenaTest, ShrinkToZeroLeavesAnEmptyBlock) {
  Block a = Alloc(64, 8, Class::kRodata);
  Block whole = a;
  arena.shrink(a, 0);
  EXPECT_EQ(a.size, 0u);
  EXPECT_EQ(a.chunk, kNoChunk);
  EXPECT_EQ(arena.stats().used, 0u);
  arena.free(a);  // nothing
  EXPECT_EQ(Alloc(64, 8, Class::kRodata).base, whole.base);
}

TEST_F(ArenaTest, ZeroSizeIsAnEmptyBlockThatNeedsNoFree) {
  Block b = Alloc(0, 4096, Class::kText);
  EXPECT_EQ(b.size, 0u);
  EXPECT_EQ(b.chunk, kNoChunk);
  EXPECT_EQ(arena.alias(b), 0u);
  EXPECT_TRUE(pages.calls.empty());
  arena.free(b);
  EXPECT_EQ(arena.stats().used, 0u);
}

TEST_F(ArenaTest, BadAlignmentIsInvalid) {
  Result<Block> b = arena.allocate(kAnywhere, Class::kData, 16, 3);
  ASSERT_FALSE(b.ok());
  EXPECT_EQ(b.error().code(), Errc::kInvalid);
  EXPECT_STREQ(b.error().message(), "arena: alignment 3 is not a power of two");
  Result<Block> z = arena.allocate(kAnywhere, Class::kData, 16, 0);
  ASSERT_FALSE(z.ok());
  EXPECT_STREQ(z.error().message(), "arena: alignment 0 is not a power of two");
  EXPECT_TRUE(pages.calls.empty());
}

TEST_F(ArenaTest, BlockLargerThanAChunkGetsItsOwnBigChunk) {
  Block small = Alloc(16);
  Block big = Alloc(3 * kChunk + 1, 8192);
  EXPECT_EQ(big.base % 8192, 0u);
  ASSERT_EQ(pages.calls.size(), 2u);
  EXPECT_GE(pages.calls[1].size, 3 * kChunk + 1);
  EXPECT_EQ(pages.calls[1].size % kPage, 0u);
  EXPECT_NE(MappingOf(big), MappingOf(small));
  EXPECT_NE(MappingOf(big), nullptr);
}

TEST_F(ArenaTest, AbsurdSizeIsNoMemoryWithoutMapping) {
  Result<Block> b = arena.allocate(kAnywhere, Class::kData, SIZE_MAX - 10, 4096);
  ASSERT_FALSE(b.ok());
  EXPECT_EQ(b.error().code(), Errc::kNoMemory);
  EXPECT_STREQ(b.error().message(), "arena: block of 0xfffffffffffffff5 bytes is too large");
  EXPECT_TRUE(pages.calls.empty());
}

TEST_F(ArenaTest, BlockLandsInsideTheRequestedWindow) {
  const Window w{0x40000000, 0x40000000 + 4 * kChunk};
  Block b = Alloc(5000, 16, Class::kText, w);
  EXPECT_TRUE(w.contains(b.base, b.size));
  ASSERT_EQ(pages.calls.size(), 1u);
  EXPECT_EQ(pages.calls[0].lo, w.lo);
  EXPECT_EQ(pages.calls[0].hi, w.hi);
}

TEST_F(ArenaTest, ChunkOutsideTheWindowIsNotUsedForIt) {
  const Window low{0x10000, 0x10000 + 4 * kChunk};
  const Window high{0x7000000000, 0x7000000000 + 4 * kChunk};
  Block a = Alloc(64, 16, Class::kText, low);
  Block b = Alloc(64, 16, Class::kText, high);  // the low chunk has room, but is outside
  EXPECT_TRUE(low.contains(a.base, a.size));
  EXPECT_TRUE(high.contains(b.base, b.size));
  EXPECT_EQ(arena.stats().chunks, 2u);
  // Back in the low window: the low chunk is reused, nothing new is mapped.
  Block c = Alloc(64, 16, Class::kText, low);
  EXPECT_EQ(c.base, a.base + 64);
  EXPECT_EQ(arena.stats().chunks, 2u);
  // A window that holds only part of a chunk does not get that chunk.
  const Window part{a.base, a.base + kChunk / 2};
  Result<Block> d = arena.allocate(part, Class::kText, 64, 16);
  if (d.ok()) {
    EXPECT_TRUE(part.contains(d.value().base, d.value().size));
    EXPECT_NE(MappingOf(d.value()), MappingOf(a));
  } else {
    EXPECT_EQ(d.error().code(), Errc::kNoMemory);
  }
  // An unconstrained request may use any chunk.
  Block e = Alloc(64, 16, Class::kText);
  EXPECT_TRUE(MappingOf(e) == MappingOf(a) || MappingOf(e) == MappingOf(b));
}

TEST_F(ArenaTest, WindowTooSmallForTheBlockIsNoMemoryWithContext) {
  const Window tiny{0x100000, 0x100000 + 2 * kPage};
  Result<Block> b = arena.allocate(tiny, Class::kRodata, 100, 8);
  ASSERT_FALSE(b.ok());
  EXPECT_EQ(b.error().code(), Errc::kNoMemory);
  EXPECT_STREQ(b.error().message(),
               "arena: mapping a rodata chunk of 0x40000 bytes in [0x100000, 0x102000): "
               "fake: window full");
  EXPECT_EQ(arena.stats().chunks, 0u);
  EXPECT_EQ(arena.stats().used, 0u);
}

TEST_F(ArenaTest, FailingPageMemoryIsCleanNoMemory) {
  Block keep = Alloc(kChunk - 8, 1, Class::kText);
  pages.fail = true;
  ArenaStats before = arena.stats();
  Result<Block> b = arena.allocate(kAnywhere, Class::kText, 64, 16);  // does not fit: must grow
  ASSERT_FALSE(b.ok());
  EXPECT_EQ(b.error().code(), Errc::kNoMemory);
  EXPECT_STREQ(b.error().message(),
               "arena: mapping a text chunk of 0x40000 bytes in [0x0, 0xffffffffffffffff): "
               "fake: no pages");
  ArenaStats after = arena.stats();
  EXPECT_EQ(after.used, before.used);
  EXPECT_EQ(after.mapped, before.mapped);
  EXPECT_EQ(after.chunks, before.chunks);
  // What still fits is still served, and the arena recovers once pages return.
  Block small = Alloc(8, 1, Class::kText);
  EXPECT_EQ(small.base, keep.base + keep.size);
  pages.fail = false;
  Block more = Alloc(64, 16, Class::kText);
  EXPECT_EQ(arena.stats().chunks, 2u);
  arena.free(more);
  arena.free(small);
  arena.free(keep);
  EXPECT_EQ(arena.stats().used, 0u);
}

TEST_F(ArenaTest, FailingBookkeepingAllocationIsCleanNoMemory) {
  alloc.fail_after(0);
  Result<Block> b = arena.allocate(kAnywhere, Class::kData, 64, 8);
  ASSERT_FALSE(b.ok());
  EXPECT_EQ(b.error().code(), Errc::kNoMemory);
  EXPECT_STREQ(b.error().message(), "arena: out of memory for chunk bookkeeping");
  EXPECT_TRUE(pages.live.empty()) << "a chunk stayed mapped after a failed grow";
  EXPECT_EQ(arena.stats().chunks, 0u);
  alloc.never_fail();
  Alloc(64, 8);
  EXPECT_EQ(arena.stats().chunks, 1u);
}

TEST_F(ArenaTest, UsedReturnsExactlyToTheStartAfterFrees) {
  Block first = Alloc(123, 8, Class::kData);
  const size_t start = arena.stats().used;
  const size_t mapped = arena.stats().mapped;
  std::vector<Block> blocks;
  for (int round = 0; round < 50; ++round) {
    for (int c = 0; c < kClassCount; ++c)
      blocks.push_back(Alloc(17 + 31 * round, size_t{1} << (round % 7), static_cast<Class>(c)));
    while (blocks.size() > 6) {
      arena.free(blocks.front());
      blocks.erase(blocks.begin());
    }
  }
  for (const Block& b : blocks)
    arena.free(b);
  EXPECT_EQ(arena.stats().used, start);
  EXPECT_EQ(arena.stats().mapped, mapped + 2 * kChunk) << "one chunk for text and one for rodata";
  arena.free(first);
  EXPECT_EQ(arena.stats().used, 0u);
}

// A long random sequence against a model: blocks never overlap, lie inside
// their class's chunks and windows, and everything freed merges back.
TEST_F(ArenaTest, RandomAllocateFreeKeepsBlocksDisjointAndMerges) {
  std::mt19937 rng(12345);
  struct Live {
    Block b;
    Class c;
  };
  std::vector<Live> live;
  size_t expect_used = 0;
  const Window windows[] = {kAnywhere, {0x100000000, 0x100000000 + 4096 * kChunk}};
  for (int step = 0; step < 4000; ++step) {
    if (live.empty() || rng() % 3 != 0) {
      Class c = static_cast<Class>(rng() % kClassCount);
      size_t size = 1 + rng() % (rng() % 8 == 0 ? 3 * kChunk / 2 : 3000);
      size_t align = size_t{1} << (rng() % 13);
      const Window& w = windows[rng() % 2];
      Result<Block> r = arena.allocate(w, c, size, align);
      ASSERT_TRUE(r.ok()) << r.error().message();
      Block b = r.value();
      ASSERT_EQ(b.base % align, 0u);
      ASSERT_TRUE(w.contains(b.base, b.size));
      const Mapping* m = MappingOf(b);
      ASSERT_NE(m, nullptr);
      Prot want = c == Class::kData     ? Prot::kReadWrite
                  : c == Class::kRodata ? Prot::kRead
                                        : Prot::kReadExec;
      ASSERT_EQ(pages.prot_at[m->base], want);
      ASSERT_EQ(arena.alias(b) - m->alias, b.base - m->base);
      for (const Live& l : live)
        ASSERT_TRUE(b.base + b.size <= l.b.base || l.b.base + l.b.size <= b.base)
            << "overlap at step " << step;
      live.push_back({b, c});
      expect_used += size;
    } else {
      size_t i = rng() % live.size();
      arena.free(live[i].b);
      expect_used -= live[i].b.size;
      live.erase(live.begin() + static_cast<long>(i));
    }
    ASSERT_EQ(arena.stats().used, expect_used);
  }
  for (const Live& l : live)
    arena.free(l.b);
  EXPECT_EQ(arena.stats().used, 0u);
  // Every chunk is one free range again: a block of its full size fits in it
  // without mapping anything new.
  size_t chunks = arena.stats().chunks;
  std::vector<Mapping> maps = pages.live;
  for (const Mapping& m : maps) {
    Window exact{m.base, m.base + m.size};
    Prot p = pages.prot_at[m.base];
    Class c = p == Prot::kReadWrite ? Class::kData
              : p == Prot::kRead    ? Class::kRodata
                                    : Class::kText;
    Result<Block> r = arena.allocate(exact, c, m.size, 1);
    ASSERT_TRUE(r.ok()) << "chunk at " << std::hex << m.base << " did not merge back";
    EXPECT_EQ(r.value().base, m.base);
  }
  EXPECT_EQ(arena.stats().chunks, chunks);
}

TEST(ArenaLifetime, DestructorUnmapsEveryChunk) {
  TestAllocator alloc;
  FakePages pages;
  {
    Arena arena(pages, alloc, kChunk);
    for (int c = 0; c < kClassCount; ++c)
      (void)arena.allocate(kAnywhere, static_cast<Class>(c), 100, 8);
    (void)arena.allocate(kAnywhere, Class::kData, 5 * kChunk, 8);
    EXPECT_EQ(pages.live.size(), 4u);
  }
  EXPECT_TRUE(pages.live.empty());
  EXPECT_EQ(pages.unmaps, 4);
}

// A block records its size in 32 bits: 4 GiB or more is refused, before
// anything is mapped.
TEST_F(ArenaTest, BlockOf4GiBIsRefused) {
  Result<Block> b = arena.allocate(kAnywhere, Class::kData, size_t{1} << 32, 8);
  ASSERT_FALSE(b.ok());
  EXPECT_EQ(b.error().code(), Errc::kNoMemory);
  EXPECT_STREQ(b.error().message(), "arena: block of 0x100000000 bytes is too large");
  EXPECT_TRUE(pages.calls.empty());
}

// With the real platform: bytes written through the alias of a text block
// are what runs at its base.
TEST(ArenaOnLinux, TextWrittenThroughAliasRunsAtBase) {
  TestAllocator alloc;
  hosted::LinuxPageMemory pages;
  Arena arena(pages, alloc);
  Result<Block> r = arena.allocate(kAnywhere, Class::kText, test::kReturnCodeMax, 16);
  ASSERT_TRUE(r.ok()) << r.error().message();
  Block b = r.value();
  EXPECT_NE(arena.alias(b), b.base);
  size_t n = test::WriteReturnCode(reinterpret_cast<void*>(arena.alias(b)), 42);
  // Never run before, so no stale instructions (even under qemu-user).
  __builtin___clear_cache(reinterpret_cast<char*>(b.base), reinterpret_cast<char*>(b.base + n));
  EXPECT_EQ(reinterpret_cast<int (*)()>(b.base)(), 42);
  arena.free(b);
  EXPECT_EQ(arena.stats().used, 0u);
}

TEST(ArenaOnLinux, WindowedChunkIsMappedInsideTheWindow) {
  TestAllocator alloc;
  hosted::LinuxPageMemory pages;
  Arena arena(pages, alloc);
  const Window low{0x10000000, 0x80000000};
  Result<Block> r = arena.allocate(low, Class::kData, 4096, 64);
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_TRUE(low.contains(r.value().base, r.value().size));
  memset(reinterpret_cast<void*>(r.value().base), 0x5a, 4096);  // data is writable in place
  arena.free(r.value());
}

}  // namespace
}  // namespace mk::link
