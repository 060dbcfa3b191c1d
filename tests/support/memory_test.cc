#include "support/memory.h"

#include <stdint.h>

#include <memory>

#include "gtest/gtest.h"

namespace mk {
namespace {

TEST(Memory, StrEqComparesWholeStrings) {
  EXPECT_TRUE(str_eq("", ""));
  EXPECT_TRUE(str_eq("printk", "printk"));
  EXPECT_FALSE(str_eq("printk", "printf"));
  EXPECT_FALSE(str_eq("print", "printk"));  // a prefix is not equal
  EXPECT_FALSE(str_eq("printk", "print"));
  EXPECT_FALSE(str_eq("", "a"));
}

TEST(Memory, StrEqReadsNoFurtherThanTheShorterString) {
  // Exactly-sized heap buffers: under ASan, a read past the end of the shorter
  // one is an error, not luck.
  std::unique_ptr<char[]> shorter(new char[3]{'a', 'b', '\0'});
  std::unique_ptr<char[]> longer(new char[7]{'a', 'b', 'c', 'd', 'e', 'f', '\0'});
  EXPECT_FALSE(str_eq(longer.get(), shorter.get()));
  EXPECT_FALSE(str_eq(shorter.get(), longer.get()));
  std::unique_ptr<char[]> other(new char[3]{'a', 'x', '\0'});
  EXPECT_FALSE(str_eq(longer.get(), other.get()));
  std::unique_ptr<char[]> same(new char[3]{'a', 'b', '\0'});
  EXPECT_TRUE(str_eq(shorter.get(), same.get()));
}

TEST(Memory, Wrappers) {
  uint8_t a[8] = {1, 2, 3, 4, 5, 6, 7, 8};
  uint8_t b[8] = {};
  mk_memcpy(b, a, sizeof a);
  EXPECT_EQ(mk_memcmp(a, b, sizeof a), 0);
  mk_memmove(a + 1, a, 4);  // overlapping
  const uint8_t moved[8] = {1, 1, 2, 3, 4, 6, 7, 8};
  EXPECT_EQ(mk_memcmp(a, moved, sizeof a), 0);
  mk_memset(b, 0xee, 3);
  EXPECT_EQ(b[2], 0xee);
  EXPECT_EQ(b[3], 4);
  EXPECT_LT(mk_memcmp("abc", "abd", 3), 0);
  EXPECT_EQ(mk_strlen("modkit"), 6u);
}

}  // namespace
}  // namespace mk
