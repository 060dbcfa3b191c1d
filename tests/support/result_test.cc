#include "support/result.h"

#include <string.h>

#include <memory>
#include <string>

#include "gtest/gtest.h"

namespace mk {
namespace {

// A move-only value that counts live instances, so the tests can see that a
// Result constructs and destroys its value exactly once.
struct Tracked {
  static int live;
  int value;
  explicit Tracked(int v) : value(v) { ++live; }
  Tracked(Tracked&& o) : value(o.value) {
    o.value = -1;
    ++live;
  }
  Tracked(const Tracked&) = delete;
  Tracked& operator=(const Tracked&) = delete;
  ~Tracked() { --live; }
};
int Tracked::live = 0;

class ResultTest : public ::testing::Test {
 protected:
  void SetUp() override { Tracked::live = 0; }
  void TearDown() override {
    EXPECT_EQ(Tracked::live, 0) << "a value leaked or was destroyed twice";
  }
};

Result<int> parse_digit(char c) {
  if (c < '0' || c > '9') return Error(Errc::kMalformed, "not a digit: '%c'", c);
  return c - '0';
}

TEST_F(ResultTest, HoldsAValue) {
  Result<int> r = parse_digit('7');
  ASSERT_TRUE(r);
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(r.value(), 7);
  const Result<int>& cr = r;
  EXPECT_EQ(cr.value(), 7);
}

TEST_F(ResultTest, HoldsAnError) {
  Result<int> r = parse_digit('x');
  ASSERT_FALSE(r);
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), Errc::kMalformed);
  EXPECT_STREQ(r.error().message(), "not a digit: 'x'");
  r.error().prefix("arg 1: ");
  EXPECT_STREQ(r.error().message(), "arg 1: not a digit: 'x'");
}

TEST_F(ResultTest, MoveOnlyValue) {
  {
    Result<Tracked> r = Tracked(5);
    ASSERT_TRUE(r);
    EXPECT_EQ(Tracked::live, 1);
    Tracked t = std::move(r).value();
    EXPECT_EQ(t.value, 5);
    EXPECT_EQ(Tracked::live, 2);  // the moved-from one lives until r goes
  }
  EXPECT_EQ(Tracked::live, 0);
}

TEST_F(ResultTest, UniquePtrValue) {
  Result<std::unique_ptr<int>> r = std::make_unique<int>(9);
  ASSERT_TRUE(r);
  std::unique_ptr<int> p = std::move(r).value();
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(*p, 9);
  EXPECT_EQ(r.value(), nullptr);
}

TEST_F(ResultTest, ErrorResultBuildsNoValue) {
  Result<Tracked> r = Error(Errc::kNoMemory, "no memory");
  EXPECT_FALSE(r);
  EXPECT_EQ(Tracked::live, 0);
}

TEST_F(ResultTest, MoveConstructionKeepsValueOrError) {
  Result<Tracked> a = Tracked(3);
  Result<Tracked> b(std::move(a));
  ASSERT_TRUE(b);
  EXPECT_EQ(b.value().value, 3);

  Result<Tracked> e = Error(Errc::kBusy, "busy %d", 2);
  Result<Tracked> f(std::move(e));
  ASSERT_FALSE(f);
  EXPECT_EQ(f.error().code(), Errc::kBusy);
  EXPECT_STREQ(f.error().message(), "busy 2");
}

TEST_F(ResultTest, VoidResult) {
  Result<void> ok = Ok();
  EXPECT_TRUE(ok);
  ok.value();  // exists, does nothing
  Result<void> bad = Error(Errc::kPermission, "signature required");
  EXPECT_FALSE(bad);
  EXPECT_EQ(bad.error().code(), Errc::kPermission);
  Result<void> moved(std::move(bad));
  EXPECT_FALSE(moved);
  EXPECT_STREQ(moved.error().message(), "signature required");
}

// MK_TRY: the value on success, an early return of the error otherwise.

int g_reached = 0;

Result<int> sum_digits(const char* s) {
  int total = 0;
  for (; *s != '\0'; ++s)
    total += MK_TRY(parse_digit(*s));
  ++g_reached;
  return total;
}

TEST_F(ResultTest, TryReturnsValueOnSuccess) {
  g_reached = 0;
  Result<int> r = sum_digits("1234");
  ASSERT_TRUE(r);
  EXPECT_EQ(r.value(), 10);
  EXPECT_EQ(g_reached, 1);
}

TEST_F(ResultTest, TryPropagatesTheErrorUnchangedAndStopsThere) {
  g_reached = 0;
  Result<int> r = sum_digits("12a4");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), Errc::kMalformed);
  EXPECT_STREQ(r.error().message(), "not a digit: 'a'");
  EXPECT_EQ(g_reached, 0);
}

Result<void> check_digit(char c) {
  MK_TRY(parse_digit(c));
  return Ok();
}

Result<void> check_all(const char* s) {
  for (; *s != '\0'; ++s)
    MK_TRY(check_digit(*s));
  return Ok();
}

TEST_F(ResultTest, TryFromAndIntoVoid) {
  EXPECT_TRUE(check_all("0099"));
  Result<void> r = check_all("0?9");
  ASSERT_FALSE(r);
  EXPECT_STREQ(r.error().message(), "not a digit: '?'");
}

Result<Tracked> make_tracked(int v) {
  if (v < 0) return Error(Errc::kInvalid, "negative: %d", v);
  return Tracked(v);
}

Result<int> unwrap_tracked(int v) {
  Tracked t = MK_TRY(make_tracked(v));
  return t.value * 2;
}

TEST_F(ResultTest, TryMovesMoveOnlyValues) {
  Result<int> ok = unwrap_tracked(21);
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok.value(), 42);
  Result<int> bad = unwrap_tracked(-1);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code(), Errc::kInvalid);
  EXPECT_STREQ(bad.error().message(), "negative: -1");
}

Result<std::unique_ptr<int>> boxed(int v) {
  if (v == 0) return Error(Errc::kInvalid, "zero");
  return std::make_unique<int>(v);
}

Result<std::unique_ptr<int>> reboxed(int v) {
  std::unique_ptr<int> p = MK_TRY(boxed(v));
  *p += 1;
  return p;
}

TEST_F(ResultTest, TryAcrossResultsOfMoveOnlyType) {
  Result<std::unique_ptr<int>> r = reboxed(1);
  ASSERT_TRUE(r);
  EXPECT_EQ(*r.value(), 2);
  EXPECT_FALSE(reboxed(0));
}

Result<int> with_context(const char* s) {
  Result<int> r = sum_digits(s);
  if (!r) {
    r.error().prefix("parsing \"%s\": ", s);
    return r;
  }
  return std::move(r).value();
}

TEST_F(ResultTest, CallerAddsContextToAPropagatedError) {
  Result<int> r = with_context("9x");
  ASSERT_FALSE(r);
  EXPECT_STREQ(r.error().message(), "parsing \"9x\": not a digit: 'x'");
}

}  // namespace
}  // namespace mk
