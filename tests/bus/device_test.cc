// Tests of bus/device.h: attach arguments (stored, looked up, written back,
// every bad form refused with its exact error) and a device's identity.
#include "bus/device.h"

#include <string>

#include "gtest/gtest.h"

namespace mk::bus {
namespace {

void ExpectBadArgs(const char* text, const char* message) {
  Device d;
  Result<void> r = parse_args(text, &d);
  ASSERT_FALSE(r.ok()) << text;
  EXPECT_EQ(r.error().code(), Errc::kInvalid);
  EXPECT_STREQ(r.error().message(), message);
  EXPECT_EQ(d.args_len, 0u);
}

TEST(DeviceArgs, StoredLookedUpAndWrittenBack) {
  Device d;
  ASSERT_TRUE(parse_args("size=4096 name=left,front x=y=z", &d).ok());
  EXPECT_STREQ(d.arg("size"), "4096");
  EXPECT_STREQ(d.arg("name"), "left,front");
  EXPECT_STREQ(d.arg("x"), "y=z");
  EXPECT_EQ(d.arg("siz"), nullptr);
  EXPECT_EQ(d.arg("4096"), nullptr);  // values are not keys
  char text[kArgsMax];
  d.args_text(text, sizeof text);
  EXPECT_STREQ(text, "size=4096 name=left,front x=y=z");
  d.args_text(text, 8);  // cut, still terminated
  EXPECT_STREQ(text, "size=40");

  Device empty;
  ASSERT_TRUE(parse_args("", &empty).ok());
  empty.args_text(text, sizeof text);
  EXPECT_STREQ(text, "");
  EXPECT_EQ(empty.arg("size"), nullptr);
}

TEST(DeviceArgs, BadFormsRefused) {
  ExpectBadArgs("size", "attach argument `size' is not key=value");
  ExpectBadArgs("a=1  b=2",
                "attach arguments: two spaces in a row, or a space at an end (pairs are "
                "separated by one space)");
  ExpectBadArgs(" a=1",
                "attach arguments: two spaces in a row, or a space at an end (pairs are "
                "separated by one space)");
  ExpectBadArgs("a=1 ", "attach arguments: a space at the end");
  ExpectBadArgs("9a=1", "attach argument `9a=1': key `9a' is not a C identifier");
  ExpectBadArgs("=1", "attach argument `=1': key `' is not a C identifier");
  ExpectBadArgs("a=", "attach argument `a=' has an empty value");
  ExpectBadArgs("a=\x01", "attach argument `a' has a character outside printable ASCII");
  std::string big(300, 'v');
  big = "k=" + big;
  ExpectBadArgs(big.c_str(), "attach arguments are 302 bytes, more than 255");
}

TEST(DeviceIdentity, Filled) {
  DeviceSpec s;
  s.bus = "simbus";
  s.vendor = 0x1af4;
  s.device = 0x1001;
  s.compat[0] = "acme,widget";
  s.compat[1] = "acme,base";
  s.ncompat = 2;
  s.args = "size=1";
  Device d;
  ASSERT_TRUE(fill_identity(s, &d).ok());
  EXPECT_STREQ(d.bus, "simbus");
  const char* list[module::kDeviceCompatMax];
  module::DeviceIds ids = d.ids(list);
  EXPECT_EQ(ids.vendor, 0x1af4u);
  EXPECT_EQ(ids.device, 0x1001u);
  ASSERT_EQ(ids.ncompat, 2u);
  EXPECT_STREQ(ids.compat[1], "acme,base");
  EXPECT_TRUE(module::entry_matches({module::MatchKind::kCompat, 0, 0, "acme,base"}, ids));
  EXPECT_TRUE(module::entry_matches({module::MatchKind::kIds, 0x1af4, module::kMatchAny, ""}, ids));
  EXPECT_FALSE(module::entry_matches({module::MatchKind::kIds, 0x1af4, 0x1002, ""}, ids));
  EXPECT_FALSE(module::entry_matches({module::MatchKind::kCompat, 0, 0, "acme"}, ids));
}

TEST(DeviceIdentity, BadSpecsRefused) {
  auto expect = [](const DeviceSpec& s, const char* message) {
    Device d;
    Result<void> r = fill_identity(s, &d);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code(), Errc::kInvalid);
    EXPECT_STREQ(r.error().message(), message);
  };
  DeviceSpec s;
  expect(s, "a device needs a bus");
  s.bus = "sim-bus";
  expect(s, "bus name `sim-bus' is not a C identifier");
  s.bus = "simbus";
  s.compat[0] = "acme widget";
  s.ncompat = 1;
  expect(s, "compatible string `acme widget' has a character outside [A-Za-z0-9,._+-]");
  s.ncompat = 5;
  expect(s, "5 compatible strings, more than 4");
  s.ncompat = 0;
  s.args = "x";
  expect(s, "attach argument `x' is not key=value");
}

}  // namespace
}  // namespace mk::bus
