#include "support/type_cache.h"

#include <stdint.h>

#include "gtest/gtest.h"

namespace mk {
namespace {

// A lookup that counts its calls and knows the even types below 1000.
struct Shape {
  uint32_t type;
};
Shape g_shapes[1000];
int g_calls = 0;

const Shape* even_shape(uint32_t type) {
  ++g_calls;
  if (type >= 1000 || type % 2 != 0) return nullptr;
  g_shapes[type].type = type;
  return &g_shapes[type];
}

class TypeCacheTest : public ::testing::Test {
 protected:
  void SetUp() override { g_calls = 0; }
};

TEST_F(TypeCacheTest, LooksEachTypeUpOnce) {
  TypeCache<Shape> cache(even_shape);
  for (int round = 0; round < 100; ++round)
    for (uint32_t type : {2u, 4u, 10u, 42u}) {
      const Shape* s = cache.get(type);
      ASSERT_NE(s, nullptr);
      EXPECT_EQ(s->type, type);
    }
  EXPECT_EQ(g_calls, 4);
}

TEST_F(TypeCacheTest, RemembersUnknownTypesToo) {
  TypeCache<Shape> cache(even_shape);
  EXPECT_EQ(cache.get(3), nullptr);
  EXPECT_EQ(cache.get(3), nullptr);
  EXPECT_EQ(cache.get(0xffffffffu), nullptr);
  EXPECT_EQ(cache.get(0xffffffffu), nullptr);
  EXPECT_EQ(g_calls, 2);
}

TEST(EmptyTypeTags, NoEmptySlotPassesForATypeItServes) {
  // Slot i serves the types whose low bits are i: its empty tag must not be
  // one of them (every memo by type starts from these tags).
  for (uint32_t i = 0; i < kTypeSlots; ++i)
    EXPECT_NE(kEmptyTypeTags.tags[i] & (kTypeSlots - 1), i) << "slot " << i;
}

TEST_F(TypeCacheTest, ZeroIsATypeLikeAnyOther) {
  // A fresh slot must not pass for type 0 already looked up.
  TypeCache<Shape> cache(even_shape);
  ASSERT_NE(cache.get(0), nullptr);
  EXPECT_EQ(cache.get(0)->type, 0u);
  EXPECT_EQ(g_calls, 1);
}

TEST_F(TypeCacheTest, TypesSharingASlotStayCorrect) {
  // 2 and 2 + 64 * k map to the same slot: each answer is still its own.
  TypeCache<Shape> cache(even_shape);
  for (int round = 0; round < 3; ++round)
    for (uint32_t type : {2u, 66u, 130u, 258u}) {
      const Shape* s = cache.get(type);
      ASSERT_NE(s, nullptr);
      EXPECT_EQ(s->type, type);
    }
  EXPECT_EQ(g_calls, 12);  // they evict each other: looked up every time, never wrong
}

}  // namespace
}  // namespace mk
