#include "support/scratch.h"

#include <stdint.h>
#include <string.h>

#include <vector>

#include "gtest/gtest.h"
#include "support/test_allocator.h"
#include "support/vector.h"

namespace mk {
namespace {

using mk::testing::TestAllocator;

bool aligned(const void* p, size_t a) {
  return reinterpret_cast<uintptr_t>(p) % a == 0;
}

TEST(Scratch, HandsOutAlignedDisjointMemoryFromOneChunk) {
  TestAllocator backing;
  Scratch s(backing);
  std::vector<uint8_t*> got;
  for (size_t align : {1, 2, 8, 16, 64, 4, 32}) {
    auto* p = static_cast<uint8_t*>(s.allocate(24, align));
    ASSERT_NE(p, nullptr);
    EXPECT_TRUE(aligned(p, align)) << align;
    memset(p, static_cast<int>(align), 24);
    got.push_back(p);
  }
  for (size_t i = 0; i < got.size(); ++i)
    for (size_t j = i + 1; j < got.size(); ++j)
      EXPECT_TRUE(got[i] + 24 <= got[j] || got[j] + 24 <= got[i]) << i << " overlaps " << j;
  EXPECT_EQ(backing.allocations(), 1u);
  EXPECT_EQ(s.held(), Scratch::kFirstChunk);
}

TEST(Scratch, ARequestLargerThanAChunkGetsAChunkOfItsOwn) {
  TestAllocator backing;
  Scratch s(backing);
  ASSERT_NE(s.allocate(16, 8), nullptr);
  void* big = s.allocate(100000, 64);
  ASSERT_NE(big, nullptr);
  EXPECT_TRUE(aligned(big, 64));
  memset(big, 0xab, 100000);
  EXPECT_EQ(backing.allocations(), 2u);
  EXPECT_GE(s.held(), Scratch::kFirstChunk + 100000);
}

TEST(Scratch, OnlyTheLastAllocationIsGivenBackBeforeRelease) {
  TestAllocator backing;
  Scratch s(backing);
  void* a = s.allocate(32, 8);
  void* b = s.allocate(32, 8);
  s.deallocate(a, 32, 8);  // not the top: no effect
  EXPECT_NE(s.allocate(32, 8), a);
  void* c = s.allocate(32, 8);
  s.deallocate(c, 32, 8);  // the top: its bytes come back at once
  EXPECT_EQ(s.allocate(32, 8), c);
  (void)b;
}

TEST(Scratch, ReleaseRewindsToTheMarkAndNestedMarksUnwindInOrder) {
  TestAllocator backing;
  Scratch s(backing);
  Scratch::Mark outer = s.mark();
  void* a = s.allocate(100, 8);
  Scratch::Mark inner = s.mark();
  void* b = s.allocate(5000, 8);  // into a second chunk
  ASSERT_NE(b, nullptr);
  memset(a, 1, 100);
  s.release(inner);
  // The outer operation's memory is intact, and the inner's is reused.
  EXPECT_EQ(static_cast<uint8_t*>(a)[99], 1);
  EXPECT_EQ(s.allocate(5000, 8), b);
  s.release(outer);
  EXPECT_EQ(s.allocate(100, 8), a);
  const size_t calls = backing.allocations();
  s.release(outer);
  for (int k = 0; k < 3; ++k) {
    Scratch::Mark m = s.mark();
    ASSERT_NE(s.allocate(100, 8), nullptr);
    ASSERT_NE(s.allocate(5000, 8), nullptr);
    s.release(m);
  }
  EXPECT_EQ(backing.allocations(), calls) << "a warm scratch calls the backing allocator";
}

TEST(Scratch, KeepsAtMostKeepBytesAcrossOperations) {
  TestAllocator backing;
  Scratch s(backing);
  Scratch::Mark m = s.mark();
  for (int k = 0; k < 40; ++k)
    ASSERT_NE(s.allocate(64 * 1024, 16), nullptr);  // 2.5 MiB in all
  EXPECT_GT(s.held(), Scratch::kKeep);
  s.release(m);
  EXPECT_LE(s.held(), Scratch::kKeep);
  EXPECT_GT(s.held(), 0u);
  EXPECT_EQ(backing.live_bytes(), s.held());
}

TEST(Scratch, FailsCleanlyWhenTheBackingAllocatorDoes) {
  TestAllocator backing(1);
  Scratch s(backing);
  ASSERT_NE(s.allocate(64, 8), nullptr);
  EXPECT_EQ(s.allocate(Scratch::kFirstChunk, 8), nullptr);
  EXPECT_NE(s.allocate(64, 8), nullptr) << "what is left of the chunk still serves";
  EXPECT_EQ(s.allocate(SIZE_MAX - 8, 8), nullptr);
  backing.never_fail();
  EXPECT_NE(s.allocate(Scratch::kFirstChunk, 8), nullptr);
}

TEST(Scratch, GivesEveryChunkBackWhenDestroyed) {
  TestAllocator backing;
  {
    Scratch s(backing);
    for (int k = 0; k < 10; ++k)
      ASSERT_NE(s.allocate(3000, 8), nullptr);
    EXPECT_GT(backing.live_allocations(), 1u);
  }
  EXPECT_EQ(backing.live_allocations(), 0u);  // TestAllocator also checks this
}

TEST(Scratch, BacksAVecThatGrows) {
  TestAllocator backing;
  Scratch s(backing);
  Scratch::Mark m = s.mark();
  {
    Vec<uint64_t> v(s);
    for (uint64_t k = 0; k < 10000; ++k)
      ASSERT_TRUE(v.push(k));
    for (uint64_t k = 0; k < 10000; ++k)
      ASSERT_EQ(v[k], k);
  }
  s.release(m);
  EXPECT_LE(s.held(), Scratch::kKeep);
}

TEST(ScratchScope, ReleasesWhatWasTakenWithinIt) {
  TestAllocator backing;
  Scratch s(backing);
  void* before = s.allocate(16, 8);
  void* inside = nullptr;
  {
    ScratchScope scope(s);
    inside = s.allocate(16, 8);
    ASSERT_NE(inside, nullptr);
  }
  EXPECT_EQ(s.allocate(16, 8), inside) << "the scope's bytes are free again";
  EXPECT_NE(before, inside);
}

}  // namespace
}  // namespace mk
