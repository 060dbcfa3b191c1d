#include "support/bytes.h"

#include <stdint.h>
#include <string.h>

#include "gtest/gtest.h"

namespace mk {
namespace {

constexpr uint64_t kMax = UINT64_MAX;

// 16 bytes 0x00..0x0f; little-endian reads are checked against these.
class ByteViewTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (int i = 0; i < 16; ++i)
      bytes_[i] = static_cast<uint8_t>(i);
  }
  ByteView view() const { return ByteView(bytes_, sizeof bytes_); }
  uint8_t bytes_[16];
};

TEST_F(ByteViewTest, EmptyView) {
  ByteView v;
  EXPECT_TRUE(v.empty());
  EXPECT_EQ(v.size(), 0u);
  uint8_t b = 0xaa;
  EXPECT_FALSE(v.read(0, &b));
  EXPECT_EQ(b, 0xaa);
  EXPECT_TRUE(v.contains(0, 0));
  EXPECT_FALSE(v.contains(0, 1));
  EXPECT_EQ(v.cstr(0), nullptr);
  ByteView s;
  EXPECT_TRUE(v.slice(0, 0, &s));
  EXPECT_TRUE(s.empty());
}

TEST_F(ByteViewTest, ReadsLittleEndianAtAnyAlignment) {
  uint32_t w = 0;
  ASSERT_TRUE(view().read(0, &w));
  EXPECT_EQ(w, 0x03020100u);
  ASSERT_TRUE(view().read(1, &w));  // unaligned
  EXPECT_EQ(w, 0x04030201u);
  uint64_t q = 0;
  ASSERT_TRUE(view().read(3, &q));
  EXPECT_EQ(q, 0x0a09080706050403u);
}

TEST_F(ByteViewTest, ReadBoundaryPair) {
  uint32_t w = 0x11111111;
  EXPECT_TRUE(view().read(12, &w));  // the last 4 bytes
  EXPECT_EQ(w, 0x0f0e0d0cu);
  w = 0x11111111;
  EXPECT_FALSE(view().read(13, &w));  // one past
  EXPECT_EQ(w, 0x11111111u);          // untouched on failure
  EXPECT_FALSE(view().read(16, &w));
  EXPECT_FALSE(view().read(kMax, &w));
  EXPECT_FALSE(view().read(kMax - 1, &w));  // off + 4 wraps
  EXPECT_EQ(w, 0x11111111u);

  uint8_t b = 0;
  EXPECT_TRUE(view().read(15, &b));
  EXPECT_EQ(b, 15);
  EXPECT_FALSE(view().read(16, &b));
}

TEST_F(ByteViewTest, ReadsStructures) {
  struct Pair {
    uint16_t a;
    uint16_t b;
  };
  Pair p{};
  ASSERT_TRUE(view().read(2, &p));
  EXPECT_EQ(p.a, 0x0302);
  EXPECT_EQ(p.b, 0x0504);
}

TEST_F(ByteViewTest, ReadAtBoundaryPair) {
  uint32_t w = 0x11111111;
  EXPECT_TRUE(view().read_at(0, 3, &w));  // element 3 of an array at 0: bytes 12..15
  EXPECT_EQ(w, 0x0f0e0d0cu);
  EXPECT_FALSE(view().read_at(0, 4, &w));
  EXPECT_TRUE(view().read_at(4, 2, &w));  // array at 4: element 2 is bytes 12..15
  EXPECT_FALSE(view().read_at(4, 3, &w));
  EXPECT_TRUE(view().read_at(1, 2, &w));  // bytes 9..12
  EXPECT_EQ(w, 0x0c0b0a09u);
  EXPECT_FALSE(view().read_at(1, 3, &w));
}

TEST_F(ByteViewTest, ReadAtOverflow) {
  uint32_t w = 0x11111111;
  // index * 4 == 2^64 wraps to 0: must not read element 0.
  EXPECT_FALSE(view().read_at(0, kMax / 4 + 1, &w));
  // index * 4 wraps to 4.
  EXPECT_FALSE(view().read_at(0, (kMax / 4) + 2, &w));
  // off + index * 4 wraps to 0.
  EXPECT_FALSE(view().read_at(kMax - 3, 1, &w));
  EXPECT_FALSE(view().read_at(kMax, kMax, &w));
  EXPECT_EQ(w, 0x11111111u);
}

TEST_F(ByteViewTest, SliceBoundaries) {
  ByteView s;
  ASSERT_TRUE(view().slice(0, 16, &s));
  EXPECT_EQ(s.data(), bytes_);
  EXPECT_EQ(s.size(), 16u);

  ASSERT_TRUE(view().slice(16, 0, &s));  // empty slice at the end
  EXPECT_TRUE(s.empty());

  ASSERT_TRUE(view().slice(4, 8, &s));
  EXPECT_EQ(s.data(), bytes_ + 4);
  EXPECT_EQ(s.size(), 8u);

  ByteView before = s;
  EXPECT_FALSE(view().slice(4, 13, &s));
  EXPECT_FALSE(view().slice(17, 0, &s));
  EXPECT_FALSE(view().slice(1, kMax, &s));  // 1 + kMax wraps
  EXPECT_FALSE(view().slice(kMax, 1, &s));
  EXPECT_EQ(s.data(), before.data());  // untouched on failure
  EXPECT_EQ(s.size(), before.size());
}

TEST_F(ByteViewTest, SliceOffsetsAreRelativeAndBoundsShrink) {
  ByteView s;
  ASSERT_TRUE(view().slice(8, 4, &s));  // bytes 8..11
  uint32_t w = 0;
  ASSERT_TRUE(s.read(0, &w));
  EXPECT_EQ(w, 0x0b0a0908u);
  uint8_t b = 0;
  EXPECT_FALSE(s.read(4, &b));  // byte 12 is in the parent, not in the slice
  ByteView t;
  EXPECT_FALSE(s.slice(0, 5, &t));
  EXPECT_TRUE(s.contains(0, 4));
  EXPECT_FALSE(s.contains(1, 4));
}

TEST(ByteViewCstr, FindsTerminatedStrings) {
  const char text[] = "abc\0def\0";  // 9 bytes with the array's own NUL
  ByteView v(reinterpret_cast<const uint8_t*>(text), 8);
  EXPECT_STREQ(v.cstr(0), "abc");
  EXPECT_EQ(v.cstr(0), text);
  EXPECT_STREQ(v.cstr(1), "bc");
  EXPECT_STREQ(v.cstr(3), "");  // the NUL itself is an empty string
  EXPECT_STREQ(v.cstr(4), "def");
  EXPECT_STREQ(v.cstr(7), "");  // last byte
  EXPECT_EQ(v.cstr(8), nullptr);
  EXPECT_EQ(v.cstr(kMax), nullptr);
}

TEST(ByteViewCstr, UnterminatedStringIsRefused) {
  const char text[] = "abc\0defg";
  // "defg" runs to the end of the view without a NUL; the array's own NUL
  // after it lies outside the view and must not count.
  ByteView v(reinterpret_cast<const uint8_t*>(text), 8);
  EXPECT_STREQ(v.cstr(0), "abc");
  EXPECT_EQ(v.cstr(4), nullptr);
  EXPECT_EQ(v.cstr(7), nullptr);

  ByteView cut(reinterpret_cast<const uint8_t*>(text), 3);  // "abc" without its NUL
  EXPECT_EQ(cut.cstr(0), nullptr);
  EXPECT_EQ(cut.cstr(2), nullptr);
}

}  // namespace
}  // namespace mk
