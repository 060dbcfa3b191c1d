#include "support/error.h"

#include <string.h>

#include <set>
#include <string>

#include "gtest/gtest.h"

namespace mk {
namespace {

constexpr size_t kMaxLen = Error::kTextMax - 1;  // room for the NUL

TEST(Error, CarriesCategoryAndFormattedMessage) {
  Error e(Errc::kRange, "relocation %s at %s+%#x to `%s` out of range", "R_X86_64_PC32", ".text",
          0x1cu, "printk");
  EXPECT_EQ(e.code(), Errc::kRange);
  EXPECT_STREQ(e.message(), "relocation R_X86_64_PC32 at .text+0x1c to `printk` out of range");
}

TEST(Error, DefaultIsInvalidWithEmptyMessage) {
  Error e;
  EXPECT_EQ(e.code(), Errc::kInvalid);
  EXPECT_STREQ(e.message(), "");
}

TEST(Error, MessageIsCutAtCapacity) {
  std::string long_name(2 * Error::kTextMax, 'a');
  Error e(Errc::kMalformed, "name %s", long_name.c_str());
  EXPECT_EQ(strlen(e.message()), kMaxLen);
  EXPECT_EQ(std::string(e.message(), 5), "name ");
}

TEST(Error, CopiesCarryTheText) {
  Error a(Errc::kNotFound, "no module %s", "foo");
  Error b = a;
  a.prefix("changed: ");
  EXPECT_EQ(b.code(), Errc::kNotFound);
  EXPECT_STREQ(b.message(), "no module foo");
  EXPECT_STREQ(a.message(), "changed: no module foo");
}

TEST(ErrorPrefix, AddsContextInFront) {
  Error e(Errc::kUnresolved, "undefined symbol `%s`", "kmalloc");
  e.prefix("loading %s: ", "foo.ko");
  EXPECT_EQ(e.code(), Errc::kUnresolved);
  EXPECT_STREQ(e.message(), "loading foo.ko: undefined symbol `kmalloc`");
}

TEST(ErrorPrefix, Stacks) {
  Error e(Errc::kMalformed, "bad section");
  e.prefix("inner: ");
  e.prefix("outer: ");
  EXPECT_STREQ(e.message(), "outer: inner: bad section");
}

TEST(ErrorPrefix, OnEmptyMessageAndEmptyPrefix) {
  Error e(Errc::kIo, "%s", "");
  e.prefix("only prefix");
  EXPECT_STREQ(e.message(), "only prefix");
  e.prefix("%s", "");
  EXPECT_STREQ(e.message(), "only prefix");
}

TEST(ErrorPrefix, CutsTheTailWhenTooLong) {
  std::string body(kMaxLen, 'b');  // a message that fills the buffer exactly
  Error e(Errc::kMalformed, "%s", body.c_str());
  ASSERT_EQ(strlen(e.message()), kMaxLen);
  e.prefix("ctx: ");
  std::string got = e.message();
  EXPECT_EQ(got.size(), kMaxLen);
  EXPECT_EQ(got, "ctx: " + std::string(kMaxLen - 5, 'b'));
}

TEST(ErrorPrefix, PrefixOneShortOfFullKeepsOneByteOfMessage) {
  std::string head(kMaxLen - 1, 'h');
  Error e(Errc::kMalformed, "xyz");
  e.prefix("%s", head.c_str());
  EXPECT_EQ(std::string(e.message()), head + "x");
}

TEST(ErrorPrefix, PrefixThatFillsEverythingReplacesTheMessage) {
  std::string head(kMaxLen, 'h');
  Error e(Errc::kMalformed, "xyz");
  e.prefix("%s", head.c_str());
  EXPECT_EQ(std::string(e.message()), head);

  std::string longer(2 * Error::kTextMax, 'g');
  Error f(Errc::kMalformed, "xyz");
  f.prefix("%s", longer.c_str());
  EXPECT_EQ(std::string(f.message()), std::string(kMaxLen, 'g'));
}

TEST(Errc, EveryCategoryHasItsOwnName) {
  const Errc all[] = {Errc::kMalformed, Errc::kUnsupported, Errc::kRange,     Errc::kUnresolved,
                      Errc::kDuplicate, Errc::kNoMemory,    Errc::kNotFound,  Errc::kBusy,
                      Errc::kInvalid,   Errc::kIo,          Errc::kPermission};
  std::set<std::string> names;
  for (Errc c : all) {
    std::string name = errc_name(c);
    EXPECT_NE(name, "unknown");
    EXPECT_FALSE(name.empty());
    names.insert(name);
  }
  EXPECT_EQ(names.size(), sizeof all / sizeof all[0]);
  EXPECT_STREQ(errc_name(Errc::kRange), "out of range");
  EXPECT_STREQ(errc_name(Errc::kNoMemory), "out of memory");
  EXPECT_STREQ(errc_name(static_cast<Errc>(200)), "unknown");
}

}  // namespace
}  // namespace mk
