#include "support/vector.h"

#include <stdint.h>

#include <vector>

#include "gtest/gtest.h"
#include "support/test_allocator.h"

namespace mk {
namespace {

using mk::testing::TestAllocator;

// A move-only element that counts live instances, so the tests see every
// construction matched by exactly one destruction.
struct Item {
  static int live;
  int v;
  Item() : v(0) { ++live; }
  explicit Item(int x) : v(x) { ++live; }
  Item(Item&& o) : v(o.v) {
    o.v = -1;
    ++live;
  }
  Item& operator=(Item&& o) {
    v = o.v;
    o.v = -1;
    return *this;
  }
  Item(const Item&) = delete;
  Item& operator=(const Item&) = delete;
  ~Item() { --live; }
};
int Item::live = 0;

class VecTest : public ::testing::Test {
 protected:
  void SetUp() override { Item::live = 0; }
  void TearDown() override {
    EXPECT_EQ(Item::live, 0) << "elements leaked or were destroyed twice";
    EXPECT_EQ(alloc_.live_bytes(), 0u);
  }

  static std::vector<int> values(const Vec<Item>& v) {
    std::vector<int> out;
    for (const Item& it : v)
      out.push_back(it.v);
    return out;
  }
  static std::vector<int> values(const Vec<int>& v) { return std::vector<int>(v.begin(), v.end()); }

  bool fill(Vec<Item>& v, int n) {
    for (int i = 0; i < n; ++i)
      if (!v.push(Item(i))) return false;
    return true;
  }

  TestAllocator alloc_;
};

TEST_F(VecTest, StartsEmptyWithoutAllocating) {
  Vec<int> v(alloc_);
  EXPECT_TRUE(v.empty());
  EXPECT_EQ(v.size(), 0u);
  EXPECT_EQ(v.begin(), v.end());
  EXPECT_EQ(alloc_.attempts(), 0u);
  EXPECT_EQ(&v.allocator(), &alloc_);
}

TEST_F(VecTest, PushGrowsGeometrically) {
  {
    Vec<Item> v(alloc_);
    ASSERT_TRUE(fill(v, 4));
    EXPECT_EQ(alloc_.allocations(), 1u);  // first buffer holds 4
    EXPECT_EQ(alloc_.live_bytes(), 4 * sizeof(Item));
    ASSERT_TRUE(v.push(Item(4)));
    EXPECT_EQ(alloc_.allocations(), 2u);  // then doubles, and the old buffer goes
    EXPECT_EQ(alloc_.live_allocations(), 1u);
    EXPECT_EQ(alloc_.live_bytes(), 8 * sizeof(Item));
    EXPECT_EQ(values(v), (std::vector<int>{0, 1, 2, 3, 4}));
    EXPECT_EQ(v.back().v, 4);
    EXPECT_EQ(Item::live, 5);
  }
  EXPECT_EQ(alloc_.live_allocations(), 0u);
}

TEST_F(VecTest, FailedPushLeavesVectorUnchanged) {
  Vec<Item> v(alloc_);
  ASSERT_TRUE(fill(v, 4));
  Item* before = v.data();
  alloc_.fail_after(0);
  EXPECT_FALSE(v.push(Item(99)));
  EXPECT_EQ(alloc_.failures(), 1u);
  EXPECT_EQ(v.size(), 4u);
  EXPECT_EQ(v.data(), before);
  EXPECT_EQ(values(v), (std::vector<int>{0, 1, 2, 3}));
  EXPECT_EQ(Item::live, 4);  // the rejected element was destroyed, nothing else
  EXPECT_EQ(alloc_.live_bytes(), 4 * sizeof(Item));

  alloc_.never_fail();
  ASSERT_TRUE(v.push(Item(4)));  // and it still works afterwards
  EXPECT_EQ(values(v), (std::vector<int>{0, 1, 2, 3, 4}));
}

TEST_F(VecTest, FirstPushCanFail) {
  alloc_.fail_after(0);
  Vec<Item> v(alloc_);
  EXPECT_FALSE(v.push(Item(1)));
  EXPECT_TRUE(v.empty());
  EXPECT_EQ(v.data(), nullptr);
  EXPECT_EQ(alloc_.live_allocations(), 0u);
}

TEST_F(VecTest, FailsAfterNAllocations) {
  alloc_.fail_after(2);  // room for 4, then 8, then no more
  Vec<int> v(alloc_);
  int pushed = 0;
  while (v.push(pushed))
    ++pushed;
  EXPECT_EQ(pushed, 8);
  EXPECT_EQ(v.size(), 8u);
  EXPECT_EQ(alloc_.allocations(), 2u);
  EXPECT_EQ(alloc_.live_bytes(), 8 * sizeof(int));
  for (int i = 0; i < 8; ++i)
    EXPECT_EQ(v[i], i);
}

TEST_F(VecTest, Reserve) {
  Vec<Item> v(alloc_);
  ASSERT_TRUE(v.reserve(10));
  EXPECT_EQ(alloc_.live_bytes(), 10 * sizeof(Item));
  EXPECT_TRUE(v.empty());
  ASSERT_TRUE(fill(v, 10));
  EXPECT_EQ(alloc_.allocations(), 1u);  // no growth needed up to 10
  ASSERT_TRUE(v.reserve(5));            // smaller: nothing happens
  EXPECT_EQ(alloc_.allocations(), 1u);
}

TEST_F(VecTest, FailedReserveLeavesVectorUnchanged) {
  Vec<Item> v(alloc_);
  ASSERT_TRUE(fill(v, 3));
  Item* before = v.data();
  alloc_.fail_after(0);
  EXPECT_FALSE(v.reserve(100));
  EXPECT_EQ(v.data(), before);
  EXPECT_EQ(values(v), (std::vector<int>{0, 1, 2}));
  EXPECT_EQ(alloc_.live_bytes(), 4 * sizeof(Item));
}

TEST_F(VecTest, ReserveRefusesSizesThatOverflow) {
  Vec<uint64_t> v(alloc_);
  EXPECT_FALSE(v.reserve(SIZE_MAX / sizeof(uint64_t) + 1));  // n * 8 would wrap
  EXPECT_FALSE(v.reserve(SIZE_MAX));
  EXPECT_EQ(alloc_.attempts(), 0u);  // refused before asking the allocator
  EXPECT_TRUE(v.empty());
}

TEST_F(VecTest, ResizeGrowsWithValueInitialisedElements) {
  Vec<int> v(alloc_);
  ASSERT_TRUE(v.push(7));
  ASSERT_TRUE(v.resize(5));
  EXPECT_EQ(values(v), (std::vector<int>{7, 0, 0, 0, 0}));
  ASSERT_TRUE(v.resize(2));
  EXPECT_EQ(values(v), (std::vector<int>{7, 0}));
  ASSERT_TRUE(v.resize(0));
  EXPECT_TRUE(v.empty());
}

TEST_F(VecTest, ResizeShrinkDestroysElements) {
  Vec<Item> v(alloc_);
  ASSERT_TRUE(v.resize(6));
  EXPECT_EQ(Item::live, 6);
  ASSERT_TRUE(v.resize(2));
  EXPECT_EQ(Item::live, 2);
  EXPECT_EQ(v.size(), 2u);
}

TEST_F(VecTest, FailedResizeLeavesVectorUnchanged) {
  Vec<Item> v(alloc_);
  ASSERT_TRUE(fill(v, 4));
  alloc_.fail_after(0);
  EXPECT_FALSE(v.resize(9));
  EXPECT_EQ(values(v), (std::vector<int>{0, 1, 2, 3}));
  EXPECT_EQ(Item::live, 4);
  ASSERT_TRUE(v.resize(3));  // shrinking needs no memory
  EXPECT_EQ(values(v), (std::vector<int>{0, 1, 2}));
}

TEST_F(VecTest, EraseKeepsOrder) {
  Vec<Item> v(alloc_);
  ASSERT_TRUE(fill(v, 5));
  v.erase(1);
  EXPECT_EQ(values(v), (std::vector<int>{0, 2, 3, 4}));
  v.erase(0);
  EXPECT_EQ(values(v), (std::vector<int>{2, 3, 4}));
  v.erase(2);  // the last one
  EXPECT_EQ(values(v), (std::vector<int>{2, 3}));
  EXPECT_EQ(Item::live, 2);
  v.erase(0);
  v.erase(0);
  EXPECT_TRUE(v.empty());
  EXPECT_EQ(Item::live, 0);
}

TEST_F(VecTest, SwapRemoveMovesTheLastIn) {
  Vec<Item> v(alloc_);
  ASSERT_TRUE(fill(v, 5));
  v.swap_remove(1);
  EXPECT_EQ(values(v), (std::vector<int>{0, 4, 2, 3}));
  v.swap_remove(3);  // the last one: just removed
  EXPECT_EQ(values(v), (std::vector<int>{0, 4, 2}));
  v.swap_remove(0);
  EXPECT_EQ(values(v), (std::vector<int>{2, 4}));
  EXPECT_EQ(Item::live, 2);
  v.swap_remove(1);
  v.swap_remove(0);
  EXPECT_TRUE(v.empty());
  EXPECT_EQ(Item::live, 0);
}

TEST_F(VecTest, PopAndClear) {
  Vec<Item> v(alloc_);
  ASSERT_TRUE(fill(v, 3));
  v.pop();
  EXPECT_EQ(values(v), (std::vector<int>{0, 1}));
  EXPECT_EQ(Item::live, 2);
  v.clear();
  EXPECT_TRUE(v.empty());
  EXPECT_EQ(Item::live, 0);
  EXPECT_EQ(alloc_.live_allocations(), 1u);  // clear keeps the buffer
  ASSERT_TRUE(v.push(Item(8)));
  EXPECT_EQ(alloc_.allocations(), 1u);
}

TEST_F(VecTest, IndexingAndIteration) {
  Vec<int> v(alloc_);
  for (int i = 0; i < 6; ++i)
    ASSERT_TRUE(v.push(i * i));
  v[2] = 40;
  const Vec<int>& cv = v;
  EXPECT_EQ(cv[2], 40);
  int sum = 0;
  for (int x : cv)
    sum += x;
  EXPECT_EQ(sum, 0 + 1 + 40 + 9 + 16 + 25);
  EXPECT_EQ(v.end() - v.begin(), 6);
}

// A loop may write plain records into the reserved room itself and hand
// them over with adopt(): the Vec then holds exactly those, in its one
// allocation, and a later push() goes on after them.
TEST_F(VecTest, RoomWrittenInPlaceIsAdopted) {
  struct Plain {
    uint64_t a;
    uint32_t b;
  };
  Vec<Plain> v(alloc_);
  ASSERT_TRUE(v.push(Plain{7, 7}));
  ASSERT_TRUE(v.reserve(5));
  Plain* room = v.room();
  EXPECT_EQ(room, v.begin() + 1) << "the room starts after the elements";
  for (uint32_t i = 0; i < 3; ++i)
    room[i] = Plain{i * 10u, i};
  EXPECT_EQ(v.size(), 1u) << "written room is not the Vec's until adopted";
  v.adopt(4);
  ASSERT_EQ(v.size(), 4u);
  EXPECT_EQ(v[0].a, 7u);
  for (uint32_t i = 0; i < 3; ++i) {
    EXPECT_EQ(v[i + 1].a, i * 10u);
    EXPECT_EQ(v[i + 1].b, i);
  }
  ASSERT_TRUE(v.push(Plain{99, 9}));
  EXPECT_EQ(v[4].a, 99u);
  EXPECT_EQ(alloc_.allocations(), 2u) << "the push after adopt() fits the reserved room";
}

TEST_F(VecTest, MoveConstructionTransfersTheBuffer) {
  Vec<Item> a(alloc_);
  ASSERT_TRUE(fill(a, 3));
  Item* buf = a.data();
  Vec<Item> b(std::move(a));
  EXPECT_EQ(b.data(), buf);
  EXPECT_EQ(values(b), (std::vector<int>{0, 1, 2}));
  EXPECT_TRUE(a.empty());  // NOLINT: the moved-from vector is empty and usable
  EXPECT_EQ(a.data(), nullptr);
  ASSERT_TRUE(a.push(Item(5)));
  EXPECT_EQ(alloc_.live_allocations(), 2u);
}

TEST_F(VecTest, MoveAssignmentReleasesTheOldBuffer) {
  TestAllocator other;
  {
    Vec<Item> a(alloc_);
    ASSERT_TRUE(fill(a, 3));
    Vec<Item> b(other);
    ASSERT_TRUE(fill(b, 5));
    b = std::move(a);
    EXPECT_EQ(other.live_bytes(), 0u);  // b's old elements and buffer are gone
    EXPECT_EQ(&b.allocator(), &alloc_);
    EXPECT_EQ(values(b), (std::vector<int>{0, 1, 2}));
    EXPECT_TRUE(a.empty());  // NOLINT
    EXPECT_EQ(Item::live, 3);
    Vec<Item>& self = b;
    b = std::move(self);  // self-move leaves it alone
    EXPECT_EQ(values(b), (std::vector<int>{0, 1, 2}));
  }
  EXPECT_EQ(alloc_.live_bytes(), 0u);
}

// Every prefix of a sequence of pushes can be cut by a failing allocator; after
// each failure the vector still holds exactly what was pushed and nothing leaks.
TEST_F(VecTest, FailureAtEveryAllocationLeaksNothing) {
  for (size_t budget = 0; budget < 6; ++budget) {
    TestAllocator a(budget);
    {
      Vec<Item> v(a);
      int pushed = 0;
      while (pushed < 100 && v.push(Item(pushed)))
        ++pushed;
      ASSERT_EQ(v.size(), static_cast<size_t>(pushed));
      for (int i = 0; i < pushed; ++i)
        ASSERT_EQ(v[i].v, i);
      EXPECT_EQ(Item::live, pushed);
      EXPECT_LT(pushed, 100);  // budget 5 holds 64 elements at most
      EXPECT_EQ(a.failures(), 1u);
    }
    EXPECT_EQ(a.live_bytes(), 0u) << "budget " << budget;
    EXPECT_EQ(Item::live, 0);
  }
}

}  // namespace
}  // namespace mk
