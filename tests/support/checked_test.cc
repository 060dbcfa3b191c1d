#include "support/checked.h"

#include <stdint.h>

#include "gtest/gtest.h"

namespace mk {
namespace {

constexpr uint64_t kMax = UINT64_MAX;

// The helpers are constexpr; some of the boundaries are proven at compile time.
static_assert(in_range(0, 0, 0));
static_assert(!in_range(1, kMax, 10));
static_assert(fits_signed(-128, 8) && !fits_signed(128, 8));
static_assert(sign_extend(0x80, 8) == -128);

TEST(InRange, EmptyRanges) {
  EXPECT_TRUE(in_range(0, 0, 0));
  EXPECT_TRUE(in_range(16, 0, 16));  // empty range at the very end
  EXPECT_FALSE(in_range(17, 0, 16));
  EXPECT_TRUE(in_range(kMax, 0, kMax));
}

TEST(InRange, BoundaryPairs) {
  EXPECT_TRUE(in_range(0, 16, 16));
  EXPECT_FALSE(in_range(0, 17, 16));
  EXPECT_TRUE(in_range(15, 1, 16));
  EXPECT_FALSE(in_range(15, 2, 16));
  EXPECT_FALSE(in_range(16, 1, 16));
  EXPECT_TRUE(in_range(0, kMax, kMax));
  EXPECT_TRUE(in_range(kMax - 1, 1, kMax));
  EXPECT_FALSE(in_range(kMax - 1, 2, kMax));
}

TEST(InRange, SumsThatWrapAreOutOfRange) {
  // off + len wraps to a small number: the naive `off + len <= size` says yes.
  EXPECT_FALSE(in_range(1, kMax, 10));
  EXPECT_FALSE(in_range(kMax, 1, 10));
  EXPECT_FALSE(in_range(kMax, 1, kMax));
  EXPECT_FALSE(in_range(8, kMax - 7, 16));
  EXPECT_FALSE(in_range(kMax, kMax, kMax));
}

TEST(ArrayInRange, BoundaryPairs) {
  EXPECT_TRUE(array_in_range(0, 4, 4, 16));
  EXPECT_FALSE(array_in_range(0, 5, 4, 16));
  EXPECT_TRUE(array_in_range(4, 3, 4, 16));
  EXPECT_FALSE(array_in_range(4, 4, 4, 16));
  EXPECT_TRUE(array_in_range(3, 3, 4, 16));  // a partial element does not count
  EXPECT_FALSE(array_in_range(3, 4, 4, 16));
  EXPECT_TRUE(array_in_range(16, 0, 4, 16));
  EXPECT_FALSE(array_in_range(17, 0, 4, 16));
  EXPECT_FALSE(array_in_range(16, 1, 4, 16));
}

TEST(ArrayInRange, ZeroSizedElements) {
  EXPECT_TRUE(array_in_range(0, kMax, 0, 0));
  EXPECT_TRUE(array_in_range(8, kMax, 0, 8));
  EXPECT_FALSE(array_in_range(9, 1, 0, 8));  // the offset is still checked
}

TEST(ArrayInRange, ProductsThatWrapAreOutOfRange) {
  // count * elem_size == 2^64 wraps to 0.
  EXPECT_FALSE(array_in_range(0, uint64_t{1} << 61, 8, 16));
  EXPECT_FALSE(array_in_range(0, kMax / 8 + 1, 8, 16));
  // 0x5555...56 * 3 wraps to 2.
  EXPECT_FALSE(array_in_range(0, kMax / 3 + 1, 3, 16));
  EXPECT_FALSE(array_in_range(0, kMax, kMax, kMax));
  EXPECT_TRUE(array_in_range(0, 1, kMax, kMax));
  EXPECT_TRUE(array_in_range(0, kMax, 1, kMax));
  EXPECT_FALSE(array_in_range(1, kMax, 1, kMax));
  EXPECT_TRUE(array_in_range(kMax - 64, 8, 8, kMax));
  EXPECT_FALSE(array_in_range(kMax - 63, 8, 8, kMax));
}

TEST(Overflow, Add) {
  uint64_t u = 0;
  EXPECT_FALSE(add_overflow<uint64_t>(kMax - 1, 1, &u));
  EXPECT_EQ(u, kMax);
  EXPECT_TRUE(add_overflow<uint64_t>(kMax, 1, &u));
  int32_t s = 0;
  EXPECT_FALSE(add_overflow<int32_t>(INT32_MAX - 1, 1, &s));
  EXPECT_EQ(s, INT32_MAX);
  EXPECT_TRUE(add_overflow<int32_t>(INT32_MAX, 1, &s));
  EXPECT_TRUE(add_overflow<int32_t>(INT32_MIN, -1, &s));
  EXPECT_FALSE(add_overflow<int32_t>(INT32_MIN, 0, &s));
  EXPECT_EQ(s, INT32_MIN);
}

TEST(Overflow, Mul) {
  uint64_t u = 0;
  EXPECT_FALSE(mul_overflow<uint64_t>(uint64_t{1} << 32, (uint64_t{1} << 32) - 1, &u));
  EXPECT_EQ(u, (uint64_t{1} << 63) + ((uint64_t{1} << 63) - (uint64_t{1} << 32)));
  EXPECT_TRUE(mul_overflow<uint64_t>(uint64_t{1} << 32, uint64_t{1} << 32, &u));
  EXPECT_FALSE(mul_overflow<uint64_t>(kMax, 1, &u));
  EXPECT_EQ(u, kMax);
  EXPECT_TRUE(mul_overflow<uint64_t>(kMax, 2, &u));
  EXPECT_FALSE(mul_overflow<uint64_t>(kMax, 0, &u));
  EXPECT_EQ(u, 0u);
}

TEST(Pow2, Values) {
  EXPECT_FALSE(is_pow2(0));
  EXPECT_TRUE(is_pow2(1));
  EXPECT_TRUE(is_pow2(2));
  EXPECT_FALSE(is_pow2(3));
  EXPECT_FALSE(is_pow2(6));
  EXPECT_TRUE(is_pow2(4096));
  EXPECT_TRUE(is_pow2(uint64_t{1} << 63));
  EXPECT_FALSE(is_pow2(kMax));
}

TEST(AlignUp, Values) {
  uint64_t out = 99;
  EXPECT_TRUE(align_up(0, 8, &out));
  EXPECT_EQ(out, 0u);
  EXPECT_TRUE(align_up(1, 8, &out));
  EXPECT_EQ(out, 8u);
  EXPECT_TRUE(align_up(8, 8, &out));
  EXPECT_EQ(out, 8u);
  EXPECT_TRUE(align_up(9, 8, &out));
  EXPECT_EQ(out, 16u);
  EXPECT_TRUE(align_up(4097, 4096, &out));
  EXPECT_EQ(out, 8192u);
  EXPECT_TRUE(align_up(kMax, 1, &out));
  EXPECT_EQ(out, kMax);
}

TEST(AlignUp, OverflowBoundary) {
  uint64_t out = 99;
  // 2^64 - 8 is the largest multiple of 8: the last value that aligns.
  EXPECT_TRUE(align_up(kMax - 7, 8, &out));
  EXPECT_EQ(out, kMax - 7);
  out = 99;
  EXPECT_FALSE(align_up(kMax - 6, 8, &out));
  EXPECT_EQ(out, 99u);  // untouched on failure
  EXPECT_FALSE(align_up(kMax, 8, &out));
  EXPECT_EQ(out, 99u);

  const uint64_t top = uint64_t{1} << 63;
  EXPECT_TRUE(align_up(1, top, &out));
  EXPECT_EQ(out, top);
  EXPECT_TRUE(align_up(top, top, &out));
  EXPECT_EQ(out, top);
  EXPECT_FALSE(align_up(top + 1, top, &out));
}

TEST(AlignDown, Values) {
  EXPECT_EQ(align_down(0, 8), 0u);
  EXPECT_EQ(align_down(7, 8), 0u);
  EXPECT_EQ(align_down(8, 8), 8u);
  EXPECT_EQ(align_down(15, 8), 8u);
  EXPECT_EQ(align_down(kMax, 4096), kMax - 4095);
  EXPECT_EQ(align_down(kMax, 1), kMax);
}

TEST(FitsSigned, BoundaryPairs) {
  EXPECT_TRUE(fits_signed(127, 8));
  EXPECT_FALSE(fits_signed(128, 8));
  EXPECT_TRUE(fits_signed(-128, 8));
  EXPECT_FALSE(fits_signed(-129, 8));

  EXPECT_TRUE(fits_signed(INT32_MAX, 32));
  EXPECT_FALSE(fits_signed(int64_t{INT32_MAX} + 1, 32));
  EXPECT_TRUE(fits_signed(INT32_MIN, 32));
  EXPECT_FALSE(fits_signed(int64_t{INT32_MIN} - 1, 32));

  // One bit: only 0 and -1.
  EXPECT_TRUE(fits_signed(0, 1));
  EXPECT_TRUE(fits_signed(-1, 1));
  EXPECT_FALSE(fits_signed(1, 1));
  EXPECT_FALSE(fits_signed(-2, 1));

  // aarch64 B/BL: a 26-bit word offset.
  EXPECT_TRUE(fits_signed((int64_t{1} << 25) - 1, 26));
  EXPECT_FALSE(fits_signed(int64_t{1} << 25, 26));
  EXPECT_TRUE(fits_signed(-(int64_t{1} << 25), 26));
  EXPECT_FALSE(fits_signed(-(int64_t{1} << 25) - 1, 26));

  EXPECT_TRUE(fits_signed(INT64_MAX >> 1, 63));
  EXPECT_FALSE(fits_signed((INT64_MAX >> 1) + 1, 63));
  EXPECT_TRUE(fits_signed(INT64_MIN >> 1, 63));
  EXPECT_FALSE(fits_signed((INT64_MIN >> 1) - 1, 63));

  EXPECT_TRUE(fits_signed(INT64_MAX, 64));
  EXPECT_TRUE(fits_signed(INT64_MIN, 64));
}

TEST(FitsUnsigned, BoundaryPairs) {
  EXPECT_TRUE(fits_unsigned(0, 0));
  EXPECT_FALSE(fits_unsigned(1, 0));
  EXPECT_TRUE(fits_unsigned(1, 1));
  EXPECT_FALSE(fits_unsigned(2, 1));
  EXPECT_TRUE(fits_unsigned(255, 8));
  EXPECT_FALSE(fits_unsigned(256, 8));
  EXPECT_TRUE(fits_unsigned(UINT32_MAX, 32));
  EXPECT_FALSE(fits_unsigned(uint64_t{UINT32_MAX} + 1, 32));
  EXPECT_TRUE(fits_unsigned(kMax >> 1, 63));
  EXPECT_FALSE(fits_unsigned((kMax >> 1) + 1, 63));
  EXPECT_TRUE(fits_unsigned(kMax, 64));
}

TEST(SignExtend, Values) {
  EXPECT_EQ(sign_extend(0x7f, 8), 127);
  EXPECT_EQ(sign_extend(0x80, 8), -128);
  EXPECT_EQ(sign_extend(0xff, 8), -1);
  EXPECT_EQ(sign_extend(0x100, 8), 0);  // bits above the field are ignored
  EXPECT_EQ(sign_extend(0x1ff, 8), -1);
  EXPECT_EQ(sign_extend(0, 1), 0);
  EXPECT_EQ(sign_extend(1, 1), -1);
  EXPECT_EQ(sign_extend(0x7fffffff, 32), INT32_MAX);
  EXPECT_EQ(sign_extend(0x80000000, 32), INT32_MIN);
  EXPECT_EQ(sign_extend(0xffffffff, 32), -1);
  EXPECT_EQ(sign_extend(0xffffffff00000005, 32), 5);
  EXPECT_EQ(sign_extend(uint64_t{1} << 25, 26), -(int64_t{1} << 25));
  EXPECT_EQ(sign_extend(uint64_t{1} << 62, 63), -(int64_t{1} << 62));
  EXPECT_EQ(sign_extend(uint64_t{1} << 63, 64), INT64_MIN);
  EXPECT_EQ(sign_extend(kMax, 64), -1);
}

TEST(SignExtend, RoundTripsWithFitsSigned) {
  for (unsigned bits : {8u, 12u, 21u, 26u, 32u, 33u}) {
    for (int64_t v : {int64_t{0}, int64_t{1}, int64_t{-1}, (int64_t{1} << (bits - 1)) - 1,
                      -(int64_t{1} << (bits - 1))}) {
      ASSERT_TRUE(fits_signed(v, bits));
      EXPECT_EQ(sign_extend(static_cast<uint64_t>(v), bits), v) << "bits=" << bits << " v=" << v;
    }
  }
}

}  // namespace
}  // namespace mk
