// End-to-end tests of `modkit sym`: the built modkitd runs on a temporary
// directory, the built `modkit` loads modules compiled at test time into it
// and asks it where symbols and addresses are (text and JSON) or has it write
// its ksyms image, which nm reads. With no kernel running the verb says so
// and exits 3.
#include <stdio.h>
#include <stdlib.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "exec/process.h"
#include "gtest/gtest.h"
#include "link/toolchain.h"

namespace mk::test {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
using modkit::exec_test::Command;
using modkit::exec_test::Outcome;
using modkit::exec_test::RunProcess;
using modkit::exec_test::WriteFile;

std::string FromEnv(const char* name, const char* fallback) {
  const char* v = getenv(name);
  return v != nullptr && *v != '\0' ? v : fallback;
}

std::string BinaryDir() {
  return FromEnv("MODKIT_BINARY_DIR", MODKIT_SYM_BINARY_DIR);
}

const char kEcho[] = R"(#include <modkit/module.h>
static int echo_count;
static int echo_bump(int x) { return x + echo_count++; }
int echo_write(int x) { return echo_bump(x) * 2; }
int echo_flush(void) { return echo_count = 0; }
MODKIT_MODULE(echo, 3, NULL, NULL);
MODKIT_EXPORT(echo, echo_write);
MODKIT_EXPORT_NS(echo, ECHO_INTERNAL, echo_flush);
)";

class SymTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string sdk = "-I" + FromEnv("MODKIT_SOURCE_DIR", MODKIT_SYM_SOURCE_DIR) + "/sdk/include";
    std::string obj = scratch_.Compile(kGcc, "echo.c", kEcho, {"-O0", sdk});
    ASSERT_FALSE(obj.empty());
    ko_ = scratch_.path("echo.ko");
    fs::copy_file(obj, ko_);
    socket_ = scratch_.path("modkitd.sock");
    config_ = scratch_.path("modkitd.conf");
    WriteFile(config_, "module_path = " + scratch_.dir() + "\nsocket = " + socket_ + "\n");
  }
  void TearDown() override {
    if (started_) Mk({"shutdown"});
  }

  // modkitd, detached: ready when the starting command returns.
  void StartKernel() {
    Outcome o = Run({BinaryDir() + "/tools/modkitd/modkitd", "-c", config_});
    ASSERT_EQ(o.exit_code, 0) << o.err;
    started_ = true;
    o = Mk({"load", ko_});
    ASSERT_EQ(o.exit_code, 0) << o.err;
  }

  Outcome Run(std::vector<std::string> argv) {
    Command c;
    c.argv = std::move(argv);
    c.env = {{"MODKIT_SOCKET", socket_}, {"MODKIT_CONFIG", scratch_.path("no-such.conf")}};
    c.capture_prefix = scratch_.path("run" + std::to_string(runs_++));
    return RunProcess(c);
  }
  Outcome Mk(std::vector<std::string> args) {
    args.insert(args.begin(), BinaryDir() + "/tools/modkit/modkit");
    return Run(std::move(args));
  }
  Outcome Sym(std::vector<std::string> args) {
    args.insert(args.begin(), "sym");
    return Mk(std::move(args));
  }
  // `modkit sym --json ARGS`, parsed.
  json SymJson(std::vector<std::string> args) {
    args.insert(args.begin(), "--json");
    Outcome o = Sym(std::move(args));
    json j = json::parse(o.out, nullptr, false);
    EXPECT_FALSE(j.is_discarded()) << o.out << o.err;
    return j;
  }

  Scratch scratch_;
  std::string ko_, socket_, config_;
  bool started_ = false;
  int runs_ = 0;
};

TEST_F(SymTest, WithoutAKernelItSaysSoAndExitsThree) {
  std::string want = "modkit sym: cannot reach modkitd at " + socket_ +
                     ": no such socket (is modkitd running? give its socket with --socket or "
                     "$MODKIT_SOCKET)\n";
  for (std::vector<std::string> args : {std::vector<std::string>{"echo_write"},
                                        {"--addr", "0x1000"},
                                        {"--ksyms", scratch_.path("ksyms")},
                                        {"--json", "echo_write"}}) {
    Outcome o = Sym(args);
    EXPECT_EQ(o.exit_code, 3) << args[0];
    EXPECT_EQ(o.err, want) << args[0];
    EXPECT_EQ(o.out, "") << args[0];
  }
  EXPECT_FALSE(fs::exists(scratch_.path("ksyms")));
}

TEST_F(SymTest, NameQueryInTextAndJson) {
  StartKernel();
  Outcome o = Sym({"echo_write"});
  EXPECT_EQ(o.exit_code, 0) << o.err;
  EXPECT_EQ(o.err, "");
  EXPECT_NE(o.out.find(" func   global echo_write [echo] exported\n"), std::string::npos) << o.out;

  json j = SymJson({"echo_bump"});
  ASSERT_EQ(j.size(), 1u) << j.dump();
  EXPECT_EQ(j[0]["name"], "echo_bump");
  EXPECT_EQ(j[0]["bind"], "local");
  EXPECT_EQ(j[0]["type"], "func");
  EXPECT_EQ(j[0]["module"], "echo");
  EXPECT_EQ(j[0]["file"], ko_);
  EXPECT_EQ(j[0]["exported"], false);
  EXPECT_EQ(j[0]["address"].get<std::string>().rfind("0x", 0), 0u) << j.dump();

  j = SymJson({"mk_printf"});
  ASSERT_EQ(j.size(), 1u) << j.dump();
  EXPECT_EQ(j[0]["file"], "kernel");
  EXPECT_EQ(j[0]["module"], "kernel");
  EXPECT_EQ(j[0]["exported"], true);
}

TEST_F(SymTest, ANamespacedExportShowsItsNamespace) {
  StartKernel();
  Outcome o = Sym({"echo_flush"});
  EXPECT_EQ(o.exit_code, 0) << o.err;
  EXPECT_NE(o.out.find(" echo_flush [echo] exported namespace ECHO_INTERNAL\n"), std::string::npos)
      << o.out;
  json j = SymJson({"echo_flush"});
  ASSERT_EQ(j.size(), 1u) << j.dump();
  EXPECT_EQ(j[0]["namespace"], "ECHO_INTERNAL");
  EXPECT_EQ(SymJson({"echo_write"})[0]["namespace"], "");
}

TEST_F(SymTest, UnknownNamesAndAddressesExitOne) {
  StartKernel();
  Outcome o = Sym({"no_such_symbol"});
  EXPECT_EQ(o.exit_code, 1);
  EXPECT_EQ(o.out, "");
  EXPECT_EQ(o.err, "modkit sym: no symbol `no_such_symbol' in the running kernel\n");
  o = Sym({"--json", "no_such_symbol"});
  EXPECT_EQ(o.exit_code, 1);
  EXPECT_EQ(o.out, "[]\n");
  o = Sym({"--addr", "0x10"});
  EXPECT_EQ(o.exit_code, 1);
  EXPECT_EQ(o.err, "modkit sym: 0x0000000000000010: not in the kernel or any loaded file\n");
  o = Sym({"--json", "--addr", "16"});
  EXPECT_EQ(o.exit_code, 1);
  EXPECT_EQ(json::parse(o.out), (json{{"address", "0x0000000000000010"}, {"found", false}}));
}

TEST_F(SymTest, UsageErrorsExitTwo) {
  // Before any kernel is asked.
  Outcome o = Sym({});
  EXPECT_EQ(o.exit_code, 2);
  EXPECT_EQ(o.err,
            "modkit sym: give exactly one of NAME, --addr ADDR or --ksyms OUT (see --help)\n");
  o = Sym({"echo_write", "--addr", "0x10"});
  EXPECT_EQ(o.exit_code, 2);
  o = Sym({"--addr", "nonsense"});
  EXPECT_EQ(o.exit_code, 2);
  EXPECT_EQ(o.err, "modkit sym: --addr: `nonsense' is not an address (0x... or decimal)\n");
  o = Sym({"--addr", "-5"});
  EXPECT_EQ(o.exit_code, 2);
  o = Sym({"--help"});
  EXPECT_EQ(o.exit_code, 0);
  EXPECT_NE(o.out.find("Exit status"), std::string::npos) << o.out;
  EXPECT_NE(o.out.find("Examples"), std::string::npos) << o.out;
}

TEST_F(SymTest, AddressQueryNamesTheModuleAndNearestSymbol) {
  StartKernel();
  json j = SymJson({"echo_write"});
  ASSERT_EQ(j.size(), 1u) << j.dump();
  uint64_t addr = std::stoull(j[0]["address"].get<std::string>(), nullptr, 16);
  char arg[32];
  snprintf(arg, sizeof arg, "%#lx", static_cast<unsigned long>(addr + 3));
  Outcome o = Sym({"--addr", arg});
  EXPECT_EQ(o.exit_code, 0) << o.err;
  EXPECT_NE(o.out.find(" echo_write+0x3 [echo] section .text file " + ko_ + "\n"),
            std::string::npos)
      << o.out;
  json a = SymJson({"--addr", arg});
  EXPECT_EQ(a["symbol"], "echo_write");
  EXPECT_EQ(a["offset"], 3);
  EXPECT_EQ(a["in_module"], true);
  EXPECT_EQ(a["module"], "echo");
  EXPECT_EQ(a["section"], ".text");
  // --socket beats $MODKIT_SOCKET.
  Command c;
  c.argv = {BinaryDir() + "/tools/modkit/modkit", "sym", "--socket", socket_, "echo_write"};
  c.env = {{"MODKIT_SOCKET", scratch_.path("elsewhere.sock")}};
  c.capture_prefix = scratch_.path("socket");
  EXPECT_EQ(RunProcess(c).exit_code, 0);
}

TEST_F(SymTest, TheKernelWritesItsKsymsImageCurrentAfterUnload) {
  StartKernel();
  std::string image = scratch_.path("ksyms");
  Outcome o = Sym({"--ksyms", image});
  ASSERT_EQ(o.exit_code, 0) << o.err;
  EXPECT_EQ(o.out + o.err, "");  // nothing printed on success
  Outcome nm = Run({"nm", image});
  EXPECT_EQ(nm.exit_code, 0) << nm.err;
  EXPECT_EQ(nm.err, "");
  EXPECT_NE(nm.out.find(" T echo_write\n"), std::string::npos) << nm.out;
  EXPECT_NE(nm.out.find(" t echo_bump\n"), std::string::npos) << nm.out;
  EXPECT_NE(nm.out.find(" A mk_printf\n"), std::string::npos) << nm.out;
  // The address nm reads is the one the kernel answers.
  std::string addr = SymJson({"echo_write"})[0]["address"].get<std::string>().substr(2);
  EXPECT_NE(nm.out.find(addr + " T echo_write\n"), std::string::npos) << addr << "\n" << nm.out;

  // A relative OUT is relative to the caller, not to the kernel.
  Command rel;
  rel.argv = {"sh", "-c",
              "cd " + Quote(scratch_.dir()) + " && " + Quote(BinaryDir() + "/tools/modkit/modkit") +
                  " sym --ksyms rel.ksyms --json"};
  rel.env = {{"MODKIT_SOCKET", socket_}};
  rel.capture_prefix = scratch_.path("rel");
  o = RunProcess(rel);
  ASSERT_EQ(o.exit_code, 0) << o.err;
  EXPECT_EQ(json::parse(o.out)["path"], scratch_.path("rel.ksyms"));
  EXPECT_TRUE(fs::exists(scratch_.path("rel.ksyms")));

  // After an unload the next image no longer lists the module.
  ASSERT_EQ(Mk({"unload", "echo"}).exit_code, 0);
  ASSERT_EQ(Sym({"--ksyms", image}).exit_code, 0);
  nm = Run({"nm", image});
  EXPECT_EQ(nm.exit_code, 0) << nm.err;
  EXPECT_EQ(nm.out.find("echo_write"), std::string::npos) << nm.out;
  EXPECT_NE(nm.out.find(" A mk_printf\n"), std::string::npos) << nm.out;

  // Where the kernel cannot write: refused with its reason, 1.
  o = Sym({"--ksyms", scratch_.path("no/such/dir/ksyms")});
  EXPECT_EQ(o.exit_code, 1);
  EXPECT_NE(o.err.find("modkit sym: "), std::string::npos) << o.err;
  EXPECT_NE(o.err.find(scratch_.path("no/such/dir/ksyms")), std::string::npos) << o.err;
}

}  // namespace
}  // namespace mk::test
