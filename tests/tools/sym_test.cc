// End-to-end tests of `modkit sym`: the built tool boots a kernel in its own
// process, loads modules compiled at test time and answers symbol and
// address queries (text and JSON) or writes the ksyms image, which nm reads.
#include <stdio.h>
#include <stdlib.h>

#include <string>

#include "gtest/gtest.h"
#include "link/toolchain.h"

namespace mk::test {
namespace {

// The shell (mk::test::Run; a fixture's own Run() would hide it).
RunResult Sh(const std::string& command) {
  return ::mk::test::Run(command);
}

std::string FromEnv(const char* name, const char* fallback) {
  const char* v = getenv(name);
  return v != nullptr && *v != '\0' ? v : fallback;
}

std::string Modkit() {
  return Quote(FromEnv("MODKIT_BINARY_DIR", MODKIT_SYM_BINARY_DIR) + "/tools/modkit/modkit");
}

const char kEcho[] = R"(#include <modkit/module.h>
static int echo_count;
static int echo_bump(int x) { return x + echo_count++; }
int echo_write(int x) { return echo_bump(x) * 2; }
MODKIT_MODULE(echo, 3, NULL, NULL);
MODKIT_EXPORT(echo, echo_write);
)";

class SymTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string sdk = "-I" + FromEnv("MODKIT_SOURCE_DIR", MODKIT_SYM_SOURCE_DIR) + "/sdk/include";
    std::string obj = scratch_.Compile(kGcc, "echo.c", kEcho, {"-O0", sdk});
    ASSERT_FALSE(obj.empty());
    ko_ = scratch_.path("echo.ko");
    ASSERT_EQ(Sh("cp " + Quote(obj) + " " + Quote(ko_)).status, 0);
  }
  std::string Sym(const std::string& args) {
    RunResult r = Sh(Modkit() + " sym --load " + Quote(ko_) + " " + args);
    status_ = r.status;
    return r.output;
  }

  Scratch scratch_;
  std::string ko_;
  int status_ = -1;
};

TEST_F(SymTest, WritesTheKsymsImage) {
  std::string image = scratch_.path("ksyms");
  std::string out = Sym("--ksyms " + Quote(image));
  ASSERT_EQ(status_, 0) << out;
  RunResult nm = Sh("nm " + Quote(image));
  EXPECT_EQ(nm.status, 0);
  EXPECT_NE(nm.output.find(" T echo_write\n"), std::string::npos) << nm.output;
  EXPECT_NE(nm.output.find(" t echo_bump\n"), std::string::npos) << nm.output;
  EXPECT_NE(nm.output.find(" A mk_printf\n"), std::string::npos) << nm.output;
  EXPECT_EQ(nm.output.find("warning"), std::string::npos) << nm.output;
}

TEST_F(SymTest, NameQueryInTextAndJson) {
  std::string out = Sym("echo_write");
  EXPECT_EQ(status_, 0) << out;
  EXPECT_NE(out.find(" func   global echo_write [echo] exported\n"), std::string::npos) << out;
  out = Sym("--json echo_bump");
  EXPECT_EQ(status_, 0) << out;
  EXPECT_NE(out.find("\"name\": \"echo_bump\""), std::string::npos) << out;
  EXPECT_NE(out.find("\"bind\": \"local\""), std::string::npos) << out;
  EXPECT_NE(out.find("\"module\": \"echo\""), std::string::npos) << out;
  EXPECT_NE(out.find("\"exported\": false"), std::string::npos) << out;
  out = Sym("--json mk_printf");
  EXPECT_NE(out.find("\"file\": \"kernel\""), std::string::npos) << out;
}

TEST_F(SymTest, UnknownNameExitsOne) {
  std::string out = Sym("no_such_symbol");
  EXPECT_EQ(status_, 1);
  EXPECT_NE(out.find("modkit sym: no symbol `no_such_symbol'"), std::string::npos) << out;
  out = Sym("--json no_such_symbol");
  EXPECT_EQ(status_, 1);
  EXPECT_EQ(out, "[]\n");
}

TEST_F(SymTest, UsageErrorsExitTwo) {
  std::string out = Sym("");
  EXPECT_EQ(status_, 2);
  EXPECT_NE(out.find("give exactly one of NAME, --addr ADDR or --ksyms OUT"), std::string::npos);
  out = Sym("echo_write --addr 0x10");
  EXPECT_EQ(status_, 2);
  out = Sym("--addr nonsense");
  EXPECT_EQ(status_, 2);
  EXPECT_NE(out.find("`nonsense' is not an address"), std::string::npos) << out;
}

TEST_F(SymTest, AddressQueryNamesTheModuleAndNearestSymbol) {
  // Placement follows the process's layout: without address randomisation
  // two runs place the module alike, so one run's address means the same
  // in the next.
  if (Sh("setarch $(uname -m) -R true").status != 0)
    GTEST_SKIP() << "setarch -R (personality) is not permitted here";
  std::string prefix = "setarch $(uname -m) -R ";
  RunResult r = Sh(prefix + Modkit() + " sym --load " + Quote(ko_) + " --json echo_write");
  ASSERT_EQ(r.status, 0) << r.output;
  size_t at = r.output.find("\"address\": \"");
  ASSERT_NE(at, std::string::npos) << r.output;
  uint64_t addr = std::stoull(r.output.substr(at + 12, 18), nullptr, 16);
  char arg[32];
  snprintf(arg, sizeof arg, "%#lx", static_cast<unsigned long>(addr + 3));
  r = Sh(prefix + Modkit() + " sym --load " + Quote(ko_) + " --addr " + arg);
  EXPECT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find(" echo_write+0x3 [echo] section .text file "), std::string::npos)
      << r.output;
  r = Sh(prefix + Modkit() + " sym --load " + Quote(ko_) + " --json --addr " + arg);
  EXPECT_NE(r.output.find("\"symbol\": \"echo_write\", \"offset\": 3"), std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find("\"in_module\": true"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace mk::test
