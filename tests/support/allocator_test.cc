#include "support/allocator.h"

#include <stdint.h>

#include "gtest/gtest.h"
#include "support/test_allocator.h"

namespace mk {
namespace {

using mk::testing::TestAllocator;

struct alignas(32) Node {
  static int live;
  int a;
  int b;
  Node(int x, int y) : a(x), b(y) { ++live; }
  ~Node() { --live; }
};
int Node::live = 0;

TEST(Allocator, MakeConstructsInAllocatedMemory) {
  TestAllocator alloc;
  Node::live = 0;
  Node* n = make<Node>(alloc, 3, 4);
  ASSERT_NE(n, nullptr);
  EXPECT_EQ(n->a, 3);
  EXPECT_EQ(n->b, 4);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(n) % alignof(Node), 0u);
  EXPECT_EQ(alloc.live_bytes(), sizeof(Node));
  EXPECT_EQ(Node::live, 1);
  destroy(alloc, n);
  EXPECT_EQ(Node::live, 0);
  EXPECT_EQ(alloc.live_bytes(), 0u);
}

TEST(Allocator, MakeReturnsNullWhenAllocationFails) {
  TestAllocator alloc(0);
  Node::live = 0;
  EXPECT_EQ(make<Node>(alloc, 1, 2), nullptr);
  EXPECT_EQ(Node::live, 0);  // no constructor ran
  EXPECT_EQ(alloc.failures(), 1u);
}

TEST(Allocator, DestroyOfNullDoesNothing) {
  TestAllocator alloc;
  destroy<Node>(alloc, nullptr);
  EXPECT_EQ(alloc.attempts(), 0u);
}

}  // namespace
}  // namespace mk
