#include "support/format.h"

#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <string>

#include "gtest/gtest.h"

namespace mk {
namespace {

// Formats into a roomy buffer and returns the text, checking that the return
// value is the length of what was written. Goes through vformat, which has no
// format attribute, so the tests can pass deliberately unsupported formats.
std::string fmt(const char* f, ...) {
  char buf[256];
  memset(buf, 'X', sizeof buf);
  va_list ap;
  va_start(ap, f);
  size_t n = vformat(buf, sizeof buf, f, ap);
  va_end(ap);
  EXPECT_EQ(n, strlen(buf));
  return std::string(buf, n);
}

TEST(Format, PlainText) {
  EXPECT_EQ(fmt("plain text"), "plain text");
  EXPECT_EQ(fmt(""), "");
}

TEST(Format, Strings) {
  EXPECT_EQ(fmt("[%s]", "abc"), "[abc]");
  EXPECT_EQ(fmt("[%s]", ""), "[]");
  EXPECT_EQ(fmt("[%s]", static_cast<const char*>(nullptr)), "[(null)]");
  EXPECT_EQ(fmt("%s=%s", "key", "value"), "key=value");
}

TEST(Format, PrecisionStringStopsAtPrecisionOrNul) {
  EXPECT_EQ(fmt("[%.*s]", 3, "abcdef"), "[abc]");
  EXPECT_EQ(fmt("[%.*s]", 10, "abc"), "[abc]");
  EXPECT_EQ(fmt("[%.*s]", 0, "abc"), "[]");
  EXPECT_EQ(fmt("[%.*s]", -1, "abc"), "[abc]");  // negative: as if none was given
  // The precision is what makes a string without a NUL safe to print: nothing
  // past the first 4 bytes may be read.
  const char no_nul[4] = {'e', 'l', 'f', '!'};
  EXPECT_EQ(fmt("[%.*s]", 4, no_nul), "[elf!]");
}

TEST(Format, SignedDecimal) {
  EXPECT_EQ(fmt("%d", 0), "0");
  EXPECT_EQ(fmt("%d", 42), "42");
  EXPECT_EQ(fmt("%i", -42), "-42");
  EXPECT_EQ(fmt("%d", INT_MAX), "2147483647");
  EXPECT_EQ(fmt("%d", INT_MIN), "-2147483648");
  EXPECT_EQ(fmt("%ld", static_cast<long>(INT64_MAX)), "9223372036854775807");
  EXPECT_EQ(fmt("%ld", static_cast<long>(INT64_MIN)), "-9223372036854775808");
  EXPECT_EQ(fmt("%ld", -1L), "-1");
}

TEST(Format, UnsignedDecimal) {
  EXPECT_EQ(fmt("%u", 0u), "0");
  EXPECT_EQ(fmt("%u", UINT_MAX), "4294967295");
  EXPECT_EQ(fmt("%lu", static_cast<unsigned long>(UINT64_MAX)), "18446744073709551615");
  EXPECT_EQ(fmt("%zu", SIZE_MAX), "18446744073709551615");
  EXPECT_EQ(fmt("%zu", size_t{7}), "7");
}

TEST(Format, Hex) {
  EXPECT_EQ(fmt("%x", 0u), "0");
  EXPECT_EQ(fmt("%x", 0xdeadbeefu), "deadbeef");
  EXPECT_EQ(fmt("%#x", 0x1cu), "0x1c");
  EXPECT_EQ(fmt("%#x", 0u), "0x0");
  EXPECT_EQ(fmt("%lx", static_cast<unsigned long>(UINT64_MAX)), "ffffffffffffffff");
  EXPECT_EQ(fmt("%#lx", 0x100000004UL), "0x100000004");
  EXPECT_EQ(fmt("%zx", size_t{255}), "ff");
  EXPECT_EQ(fmt("%#zx", size_t{4096}), "0x1000");
}

TEST(Format, CharPercentPointer) {
  EXPECT_EQ(fmt("%c%c", 'o', 'k'), "ok");
  EXPECT_EQ(fmt("100%%"), "100%");
  EXPECT_EQ(fmt("%p", static_cast<void*>(nullptr)), "0x0");
  int x = 0;
  char expect[64];
  snprintf(expect, sizeof expect, "0x%lx",
           static_cast<unsigned long>(reinterpret_cast<uintptr_t>(&x)));
  EXPECT_EQ(fmt("%p", static_cast<void*>(&x)), expect);
}

TEST(Format, ArgumentsStayInStep) {
  EXPECT_EQ(fmt("%s at %s+%#lx: %d/%u %c", "R_X86_64_PC32", ".text", 0x1cUL, -5, 7u, '!'),
            "R_X86_64_PC32 at .text+0x1c: -5/7 !");
}

TEST(Format, UnknownConversionsPrintThemselves) {
  // An unsupported conversion consumes no argument, so what follows stays right.
  EXPECT_EQ(fmt("%q|%d", 3), "%q|3");
  EXPECT_EQ(fmt("%5d|%d", 3), "%5d|3");
  EXPECT_EQ(fmt("%f"), "%f");
}

TEST(Format, LonePercentAtEnd) {
  EXPECT_EQ(fmt("50%"), "50%");
  EXPECT_EQ(fmt("%"), "%");
}

// Truncation: at most cap bytes including the NUL, nothing written past cap,
// the return value is what was actually written.
TEST(Format, TruncatesAtCapacity) {
  char buf[16];
  memset(buf, 'X', sizeof buf);
  EXPECT_EQ(format(buf, 6, "hello world"), 5u);
  EXPECT_STREQ(buf, "hello");
  EXPECT_EQ(buf[6], 'X');

  memset(buf, 'X', sizeof buf);
  EXPECT_EQ(format(buf, 6, "hello"), 5u);  // exact fit
  EXPECT_STREQ(buf, "hello");
  EXPECT_EQ(buf[6], 'X');

  memset(buf, 'X', sizeof buf);
  EXPECT_EQ(format(buf, 5, "hello"), 4u);  // one short
  EXPECT_STREQ(buf, "hell");
  EXPECT_EQ(buf[5], 'X');
}

TEST(Format, TruncatesInsideAConversion) {
  char buf[16];
  memset(buf, 'X', sizeof buf);
  EXPECT_EQ(format(buf, 5, "n=%lu", 123456789UL), 4u);
  EXPECT_STREQ(buf, "n=12");
  EXPECT_EQ(buf[5], 'X');

  memset(buf, 'X', sizeof buf);
  EXPECT_EQ(format(buf, 4, "%#x", 0xabcdu), 3u);
  EXPECT_STREQ(buf, "0xa");

  memset(buf, 'X', sizeof buf);
  EXPECT_EQ(format(buf, 3, "%s", "symbol"), 2u);
  EXPECT_STREQ(buf, "sy");
  EXPECT_EQ(buf[3], 'X');
}

TEST(Format, CapacityOneWritesOnlyNul) {
  char buf[4] = {'X', 'X', 'X', 'X'};
  EXPECT_EQ(format(buf, 1, "abc %d", 5), 0u);
  EXPECT_EQ(buf[0], '\0');
  EXPECT_EQ(buf[1], 'X');
}

TEST(Format, CapacityZeroWritesNothing) {
  char buf[4] = {'X', 'X', 'X', 'X'};
  EXPECT_EQ(format(buf, 0, "abc"), 0u);
  EXPECT_EQ(buf[0], 'X');
}

size_t via_vformat(char* buf, size_t cap, const char* f, ...) {
  va_list ap;
  va_start(ap, f);
  size_t n = vformat(buf, cap, f, ap);
  va_end(ap);
  return n;
}

TEST(Format, VformatTakesAVaList) {
  char buf[32];
  EXPECT_EQ(via_vformat(buf, sizeof buf, "%s:%d", "line", 12), 7u);
  EXPECT_STREQ(buf, "line:12");
}

}  // namespace
}  // namespace mk
