// Tests of module/version.h: FreeBSD's MODULE_DEPEND rule at its boundaries
// (last in range, first out of range, preferred present or not, ties).
#include "module/version.h"

#include <stdint.h>

#include <vector>

#include "gtest/gtest.h"

namespace mk::module {
namespace {

long Select(const std::vector<uint32_t>& v, uint32_t min, uint32_t preferred, uint32_t max) {
  return select_version(v.data(), v.size(), VersionRange{min, preferred, max});
}

TEST(Version, NoCandidates) {
  EXPECT_EQ(select_version(nullptr, 0, VersionRange{1, 1, 1}), -1);
}

TEST(Version, RangeBoundaries) {
  // [3, 5]: 2 and 6 are the first ones out, 3 and 5 the last ones in.
  EXPECT_EQ(Select({2}, 3, 4, 5), -1);
  EXPECT_EQ(Select({3}, 3, 4, 5), 0);
  EXPECT_EQ(Select({5}, 3, 4, 5), 0);
  EXPECT_EQ(Select({6}, 3, 4, 5), -1);
  EXPECT_EQ(Select({2, 6}, 3, 4, 5), -1);
  EXPECT_EQ(Select({6, 2, 3}, 3, 4, 5), 2);
}

TEST(Version, PreferredWhenPresent) {
  EXPECT_EQ(Select({3, 4, 5}, 3, 4, 5), 1);
  EXPECT_EQ(Select({5, 3, 4}, 3, 4, 5), 2);
  EXPECT_EQ(Select({4, 9}, 3, 4, 5), 0);
  EXPECT_EQ(Select({3, 5}, 3, 3, 5), 0);  // preferred == min
  EXPECT_EQ(Select({5, 3}, 3, 3, 5), 1);
}

TEST(Version, ElseHighestInRange) {
  EXPECT_EQ(Select({3, 5, 6}, 3, 4, 5), 1);
  EXPECT_EQ(Select({6, 3, 5, 2}, 3, 4, 5), 2);
  EXPECT_EQ(Select({3, 100}, 3, 4, 5), 0);
}

TEST(Version, TiesKeepTheFirst) {
  EXPECT_EQ(Select({5, 5}, 3, 4, 5), 0);
  EXPECT_EQ(Select({4, 5, 4}, 3, 4, 5), 0);
  EXPECT_EQ(Select({1, 5, 3, 5}, 3, 4, 5), 1);
}

TEST(Version, SinglePointRange) {
  EXPECT_EQ(Select({1, 2, 3}, 2, 2, 2), 1);
  EXPECT_EQ(Select({1, 3}, 2, 2, 2), -1);
}

TEST(Version, ExtremeValues) {
  EXPECT_EQ(Select({0}, 0, 0, 0), 0);
  EXPECT_EQ(Select({UINT32_MAX, 0}, 0, 0, UINT32_MAX), 1);
  EXPECT_EQ(Select({0, UINT32_MAX}, 0, 7, UINT32_MAX), 1);
  EXPECT_EQ(Select({UINT32_MAX - 1}, 0, 0, UINT32_MAX - 1), 0);
  EXPECT_EQ(Select({UINT32_MAX}, 0, 0, UINT32_MAX - 1), -1);
}

TEST(Version, EmptyOrOddRanges) {
  EXPECT_EQ(Select({3, 4, 5}, 5, 4, 3), -1);  // min > max: nothing is in range
  // A preferred version outside the range is not a candidate.
  EXPECT_EQ(Select({9, 3, 5}, 3, 9, 5), 2);
}

TEST(Version, BetterVersionIsTheRule) {
  VersionRange r{3, 4, 5};
  EXPECT_TRUE(better_version(4, 5, r));
  EXPECT_FALSE(better_version(5, 4, r));
  EXPECT_TRUE(better_version(5, 3, r));
  EXPECT_FALSE(better_version(3, 5, r));
  EXPECT_FALSE(better_version(4, 4, r));
  EXPECT_FALSE(better_version(6, 3, r));  // out of range never wins
  EXPECT_TRUE(better_version(3, 6, r));
  EXPECT_FALSE(better_version(2, 6, r));
  EXPECT_TRUE(r.contains(3) && r.contains(5) && !r.contains(2) && !r.contains(6));
}

}  // namespace
}  // namespace mk::module
