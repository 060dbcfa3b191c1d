#include "support/name_hash.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <memory>
#include <set>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace mk {
namespace {

// Lengths 0 to 40 cover every path: 1-3 bytes, 4-7 (two overlapping 4-byte
// loads), exactly one word, and every remainder after one to four words.
constexpr size_t kMaxLen = 40;

std::string Name(size_t n) {
  std::string s;
  for (size_t i = 0; i < n; ++i)
    s += static_cast<char>('a' + (i * 7) % 26);
  return s;
}

// A heap copy of exactly n bytes, no NUL: under ASan a read of byte n is an
// error, not luck.
std::unique_ptr<char[]> Exact(const std::string& s) {
  std::unique_ptr<char[]> p(new char[s.size() == 0 ? 1 : s.size()]);
  memcpy(p.get(), s.data(), s.size());
  return p;
}

TEST(NameHash, OfACStringIsTheHashOfItsBytes) {
  for (size_t n = 0; n <= kMaxLen; ++n) {
    std::string s = Name(n);
    EXPECT_EQ(name_hash(s.c_str()), name_hash(s.data(), n)) << n;
  }
}

TEST(NameHash, ReadsOnlyTheNamesBytes) {
  for (size_t n = 0; n <= kMaxLen; ++n) {
    std::string s = Name(n);
    std::unique_ptr<char[]> exact = Exact(s);
    // The same bytes followed by others: what lies past n must not count.
    std::string padded = s + "XXXXXXXX";
    EXPECT_EQ(name_hash(exact.get(), n), name_hash(padded.data(), n)) << n;
  }
}

// Every byte of every name counts, at every position and in every bit,
// the top bit of a byte included (UTF-8 names): changing any one byte, or
// a pair of top bits one word apart, changes the hash.
TEST(NameHash, EveryByteAndBitCounts) {
  for (size_t n = 1; n <= kMaxLen; ++n) {
    std::string s = Name(n);
    uint32_t h = name_hash(s.data(), n);
    for (size_t i = 0; i < n; ++i) {
      for (int bit = 0; bit < 8; ++bit) {
        std::string t = s;
        t[i] = static_cast<char>(t[i] ^ (1 << bit));
        EXPECT_NE(name_hash(t.data(), n), h) << "length " << n << ", byte " << i << ", bit " << bit;
      }
      if (i + 8 < n) {
        std::string t = s;
        t[i] = static_cast<char>(t[i] ^ 0x80);
        t[i + 8] = static_cast<char>(t[i + 8] ^ 0x80);
        EXPECT_NE(name_hash(t.data(), n), h)
            << "length " << n << ", bytes " << i << " and " << i + 8;
      }
    }
  }
}

// The length is part of the hash: names of NULs, and each prefix of one
// name, all differ.
TEST(NameHash, LengthCounts) {
  std::set<uint32_t> seen;
  std::string zeros(kMaxLen, '\0');
  for (size_t n = 0; n <= kMaxLen; ++n)
    EXPECT_TRUE(seen.insert(name_hash(zeros.data(), n)).second) << n;
  seen.clear();
  std::string s = Name(kMaxLen);
  for (size_t n = 0; n <= kMaxLen; ++n)
    EXPECT_TRUE(seen.insert(name_hash(s.data(), n)).second) << n;
}

// Spread: numbered names (the kind modules are full of) fall evenly into
// 1,024 buckets by the hash's low bits and by its high bits.
TEST(NameHash, NumberedNamesSpreadEvenly) {
  constexpr int kNames = 20000;
  constexpr int kBuckets = 1024;
  for (const char* pattern : {"sym_%d", "m%08x_init", "drv_%d_probe_callback_of_a_long_name"}) {
    std::vector<int> low(kBuckets), high(kBuckets);
    for (int i = 0; i < kNames; ++i) {
      char buf[64];
      snprintf(buf, sizeof buf, pattern, i);
      uint32_t h = name_hash(buf);
      ++low[h % kBuckets];
      ++high[h >> 22];
    }
    // About 19.5 per bucket; a uniform hash puts at most about 40 in any.
    for (int b = 0; b < kBuckets; ++b) {
      EXPECT_LT(low[b], 45) << pattern << ", low bits " << b;
      EXPECT_LT(high[b], 45) << pattern << ", high bits " << b;
      EXPECT_GT(low[b], 3) << pattern << ", low bits " << b;
      EXPECT_GT(high[b], 3) << pattern << ", high bits " << b;
    }
  }
}

TEST(NamesEqual, ComparesExactlyNBytes) {
  for (size_t n = 0; n <= kMaxLen; ++n) {
    std::string s = Name(n);
    std::unique_ptr<char[]> a = Exact(s), b = Exact(s);
    EXPECT_TRUE(names_equal(a.get(), b.get(), n)) << n;
    for (size_t i = 0; i < n; ++i) {
      std::string t = s;
      t[i] = static_cast<char>(t[i] ^ 0x80);
      std::unique_ptr<char[]> c = Exact(t);
      EXPECT_FALSE(names_equal(a.get(), c.get(), n)) << "length " << n << ", byte " << i;
      EXPECT_FALSE(names_equal(c.get(), a.get(), n)) << "length " << n << ", byte " << i;
      t[i] = static_cast<char>(s[i] ^ 0x01);
      c = Exact(t);
      EXPECT_FALSE(names_equal(a.get(), c.get(), n)) << "length " << n << ", byte " << i;
    }
  }
}

TEST(NamesEqual, IgnoresWhatFollows) {
  // Equal first n bytes are equal names however the buffers go on.
  EXPECT_TRUE(names_equal("printk_x", "printk_y", 7));
  EXPECT_TRUE(names_equal("abcdefghijklmnopq1", "abcdefghijklmnopq2", 17));
  EXPECT_FALSE(names_equal("abcdefghijklmnopq1", "abcdefghijklmnopq2", 18));
  EXPECT_TRUE(names_equal("", "x", 0));
}

}  // namespace
}  // namespace mk
