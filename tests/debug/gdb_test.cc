// gdb on module code, as a person would use it: `gdb -batch` runs a program
// that loads a module built with -g through the embedding API or the
// registry, and a program run with `modkit exec`; the breakpoint set by the
// function's name is hit, `bt` names the module's frames and `list` prints
// the module's source. Skipped where gdb is absent, and under qemu-user
// (make test-cross), where the program gdb would trace is qemu's guest.
#include <gtest/gtest.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "link/toolchain.h"
#include "util/host_code.h"

namespace {

using mk::test::Compiler;
using mk::test::Quote;
using mk::test::Run;
using mk::test::Scratch;

constexpr const char* kModule = R"(/* a module under the debugger */
int mod_leaf(int x) {
  int y = x * 7; /* LEAF-LINE */
  return y + 1;
}

int mod_middle(int x) {
  return mod_leaf(x + 1) * 2; /* MIDDLE-LINE */
}

int mod_entry(int x) {
  return mod_middle(x) + 3;
}
)";

// mod_entry(5) = (mod_leaf(6) * 2) + 3 = ((42 + 1) * 2) + 3
constexpr const char* kResult = "result 89";

// Why the debugger tests cannot run here; empty when they can.
std::string WhyNoGdb() {
  // Under qemu-user the programs gdb starts are guest programs run by a
  // qemu-<arch> process (binfmt_misc): ptrace sees qemu's own x86_64 code,
  // not the module's, so no breakpoint in module code can be hit.
  if (mk::test::UnderQemuUser())
    return "under qemu-user gdb can only trace qemu itself, not the guest program";
  if (Run("command -v gdb").status != 0) return "gdb is not installed: the debugger tests need it";
  return {};
}

std::string Gdb(const std::vector<std::string>& commands, const std::string& program_args) {
  // LeakSanitizer cannot run under ptrace: sanitizer builds of the programs
  // would fail at exit.
  std::string cmd = "ASAN_OPTIONS=detect_leaks=0 gdb -batch -nx";
  cmd += " -ex 'set debuginfod enabled off' -ex 'set confirm off'";
  for (const std::string& c : commands)
    cmd += " -ex " + Quote(c);
  cmd += " --args " + program_args + " </dev/null";
  return Run(cmd).output;
}

void ExpectModuleFrames(const std::string& out) {
  EXPECT_NE(out.find("Breakpoint 1, mod_leaf (x=6) at "), std::string::npos) << out;
  // bt: the module's three frames by name, with their source files, then the host's.
  size_t leaf = out.find("#0  mod_leaf (x=6) at ");
  size_t middle = out.find(" in mod_middle (x=5) at ");
  size_t entry = out.find(" in mod_entry (x=5) at ");
  EXPECT_NE(leaf, std::string::npos) << out;
  EXPECT_NE(middle, std::string::npos) << out;
  EXPECT_NE(entry, std::string::npos) << out;
  EXPECT_LT(leaf, middle);
  EXPECT_LT(middle, entry);
  EXPECT_NE(out.find("mod.c:3"), std::string::npos) << out;
  EXPECT_NE(out.find("mod.c:8"), std::string::npos) << out;  // mod_middle's call
  // list: the module's own source around the stop.
  EXPECT_NE(out.find("3\t  int y = x * 7; /* LEAF-LINE */"), std::string::npos) << out;
  EXPECT_NE(out.find(kResult), std::string::npos) << out;
  EXPECT_NE(out.find("exited normally"), std::string::npos) << out;
}

struct Case {
  const Compiler* compiler;
  const char* mode;  // debug_host's: kernel (embedding API) or system (registry)
};

class GdbTest : public ::testing::TestWithParam<Case> {
 protected:
  void SetUp() override {
    if (std::string why = WhyNoGdb(); !why.empty()) GTEST_SKIP() << why;
    object_ = scratch_.Compile(*GetParam().compiler, "mod.c", kModule, {"-g", "-O0"});
    ASSERT_FALSE(object_.empty());
  }
  std::string HostArgs() const {
    return Quote(DEBUG_HOST_PATH) + " " + GetParam().mode + " " + Quote(object_) + " mod_entry 5";
  }

  Scratch scratch_;
  std::string object_;
};

TEST_P(GdbTest, PendingBreakpointByNameIsHitWithModuleFramesAndSource) {
  std::string out = Gdb(
      {"set breakpoint pending on", "break mod_leaf", "run", "bt", "list", "continue"}, HostArgs());
  ExpectModuleFrames(out);
  EXPECT_EQ(out.find("warning: "), std::string::npos) << out;
}

TEST_P(GdbTest, BreakpointSetOnceTheModuleIsLoaded) {
  std::string out = Gdb({"break host_loaded", "run", "delete 1", "break mod_leaf", "continue", "bt",
                         "list", "continue"},
                        HostArgs());
  EXPECT_NE(out.find("Breakpoint 2 at 0x"), std::string::npos) << out;
  EXPECT_NE(out.find("file " + object_.substr(0, object_.size() - 2)), std::string::npos) << out;
  EXPECT_NE(out.find("Breakpoint 2, mod_leaf (x=6) at "), std::string::npos) << out;
  EXPECT_NE(out.find(" in mod_entry (x=5) at "), std::string::npos) << out;
  EXPECT_NE(out.find("3\t  int y = x * 7; /* LEAF-LINE */"), std::string::npos) << out;
  EXPECT_NE(out.find(kResult), std::string::npos) << out;
}

// A breakpoint makes the page it is in the process's own copy (the executing
// view is a private mapping): a module loaded afterwards into the same page
// must still run its own code there, and gdb still stops at the breakpoint.
TEST_P(GdbTest, ModuleLoadedBesideABreakpointRuns) {
  std::string second =
      scratch_.Compile(*GetParam().compiler, "second.c",
                       "int second_entry(int x) { return x * 100 + 7; }\n", {"-g", "-O0"});
  ASSERT_FALSE(second.empty());
  std::string out =
      Gdb({"set breakpoint pending on", "break mod_leaf", "run", "continue", "continue"},
          HostArgs() + " " + Quote(second) + " second_entry");
  EXPECT_NE(out.find("Breakpoint 1, mod_leaf (x=6) at "), std::string::npos) << out;
  EXPECT_NE(out.find(kResult), std::string::npos) << out;
  EXPECT_NE(out.find("result 507"), std::string::npos) << out;  // second_entry(5)
  EXPECT_NE(out.find("exited normally"), std::string::npos) << out;
  // Both in one page: the case this is about.
  size_t a = out.find("loaded at 0x"), b = out.find("loaded at 0x", a + 1);
  ASSERT_NE(b, std::string::npos) << out;
  uint64_t fa = std::stoull(out.substr(a + 10, 18), nullptr, 16);
  uint64_t fb = std::stoull(out.substr(b + 10, 18), nullptr, 16);
  EXPECT_EQ(fa / 4096, fb / 4096) << std::hex << fa << " " << fb;
}

TEST_P(GdbTest, UnloadedModuleIsGoneFromTheDebugger) {
  // After the unload, gdb no longer knows the module's functions.
  std::string out = Gdb({"break _exit", "run", "info functions mod_"}, HostArgs());
  EXPECT_NE(out.find(kResult), std::string::npos) << out;
  EXPECT_EQ(out.find("mod_leaf"), std::string::npos) << out;
}

// A debugger that attaches to a process that loaded the module before
// (gdb -p) finds it in the JIT list: the registration never depended on a
// debugger being there at load time.
TEST_P(GdbTest, DebuggerAttachingLaterSeesTheModule) {
  std::string go = scratch_.path("go"), log = scratch_.path("host.log");
  // LeakSanitizer cannot run under ptrace: a sanitizer build of the host,
  // traced from the middle of its life, would fail at exit.
  mk::test::RunResult start =
      mk::test::Run("ASAN_OPTIONS=detect_leaks=0 DEBUG_HOST_GO=" + Quote(go) + " " + HostArgs() +
                    " >" + Quote(log) + " 2>&1 </dev/null & echo $!");
  ASSERT_EQ(start.status, 0) << start.output;
  std::string pid = start.output.substr(0, start.output.find('\n'));
  std::string waiting;
  for (int i = 0; i < 1000 && waiting.empty(); ++i) {  // up to 10 s on a loaded machine
    waiting = mk::test::Run("grep -m1 '^waiting ' " + Quote(log)).output;
    if (waiting.empty()) usleep(10 * 1000);
  }
  ASSERT_EQ(waiting, "waiting " + pid + "\n") << mk::test::Run("cat " + Quote(log)).output;
  std::string cmd = "ASAN_OPTIONS=detect_leaks=0 gdb -batch -nx -p " + pid +
                    " -ex 'set debuginfod enabled off' -ex 'set confirm off'"
                    " -ex 'break mod_leaf' -ex " +
                    Quote("shell touch " + Quote(go)) +
                    " -ex continue -ex bt -ex continue </dev/null";
  std::string out = mk::test::Run(cmd).output;
  mk::test::Run("touch " + Quote(go));  // whatever gdb did, the host must not wait forever
  EXPECT_NE(out.find("Breakpoint 1 at 0x"), std::string::npos) << out;
  EXPECT_NE(out.find("Breakpoint 1, mod_leaf (x=6) at "), std::string::npos) << out;
  size_t leaf = out.find("#0  mod_leaf (x=6) at ");
  size_t entry = out.find(" in mod_entry (x=5) at ");
  EXPECT_NE(leaf, std::string::npos) << out;
  EXPECT_NE(entry, std::string::npos) << out;
  EXPECT_LT(leaf, entry);
  EXPECT_NE(out.find("exited normally"), std::string::npos) << out;
}

// Without debug info the object carries only symbols and .eh_frame: a
// breakpoint by name is hit and `bt` names every module frame, through
// optimised code without frame pointers (gdb unwinds with the CFI).
TEST_P(GdbTest, ModuleWithoutDebugInfoHasSymbolsAndFrames) {
  std::string plain = scratch_.Compile(*GetParam().compiler, "plain.c", R"(
__attribute__((noinline)) int nd_leaf(int x) {
  __asm__ volatile("" : "+r"(x));
  return x * 7 + 1;
}
__attribute__((noinline)) int nd_middle(int x) {
  return nd_leaf(x + 1) * 2;
}
int nd_entry(int x) {
  return nd_middle(x) + 3;
}
)",
                                       {"-O2", "-fomit-frame-pointer"});
  ASSERT_FALSE(plain.empty());
  std::string out =
      Gdb({"set breakpoint pending on", "break nd_leaf", "run", "bt", "continue"},
          Quote(DEBUG_HOST_PATH) + " " + GetParam().mode + " " + Quote(plain) + " nd_entry 5");
  EXPECT_NE(out.find("Breakpoint 1, 0x"), std::string::npos) << out;
  size_t leaf = out.find("#0  0x"), middle = out.find(" in nd_middle ()"),
         entry = out.find(" in nd_entry ()");
  EXPECT_NE(out.find(" in nd_leaf ()"), std::string::npos) << out;
  EXPECT_NE(leaf, std::string::npos) << out;
  EXPECT_NE(middle, std::string::npos) << out;
  EXPECT_NE(entry, std::string::npos) << out;
  EXPECT_LT(leaf, middle);
  EXPECT_LT(middle, entry);
  EXPECT_NE(out.find(kResult), std::string::npos) << out;  // the same arithmetic
  EXPECT_NE(out.find("exited normally"), std::string::npos) << out;
}

INSTANTIATE_TEST_SUITE_P(Hosts, GdbTest,
                         ::testing::Values(Case{&mk::test::kGcc, "kernel"},
                                           Case{&mk::test::kGcc, "system"},
                                           Case{&mk::test::kClang, "kernel"},
                                           Case{&mk::test::kClang, "system"}),
                         [](const auto& info) {
                           return std::string(info.param.compiler->label) + "_" + info.param.mode;
                         });

#ifdef MODKIT_TOOL_PATH
constexpr const char* kProgram = R"(#include <stdio.h>
static int square(int v) {
  return v * v; /* SQUARE-LINE */
}

int prog_work(int n) {
  int s = 0;
  for (int i = 0; i < n; ++i)
    s += square(i);
  return s;
}

int main(int argc, char** argv) {
  printf("sum %d\n", prog_work(argc + 3));
  return 0;
}
)";

TEST(GdbExecTest, ModkitExecProgramUnderGdb) {
  if (std::string why = WhyNoGdb(); !why.empty()) GTEST_SKIP() << why;
  for (const Compiler* c : {&mk::test::kGcc, &mk::test::kClang}) {
    SCOPED_TRACE(c->label);
    Scratch scratch;
    std::string obj = scratch.Compile(*c, "prog.c", kProgram, {"-g", "-O0"});
    ASSERT_FALSE(obj.empty());
    std::string out = Gdb(
        {"set breakpoint pending on", "break square", "run", "bt", "list", "delete", "continue"},
        Quote(MODKIT_TOOL_PATH) + " exec " + Quote(obj));
    EXPECT_NE(out.find("Breakpoint 1, square (v=0) at "), std::string::npos) << out;
    size_t sq = out.find("#0  square (v=0) at ");
    size_t work = out.find(" in prog_work (n=4) at ");
    size_t main_frame = out.find(" in main (argc=1, argv=");
    EXPECT_NE(sq, std::string::npos) << out;
    EXPECT_NE(work, std::string::npos) << out;
    EXPECT_NE(main_frame, std::string::npos) << out;
    EXPECT_LT(sq, work);
    EXPECT_LT(work, main_frame);
    EXPECT_NE(out.find("3\t  return v * v; /* SQUARE-LINE */"), std::string::npos) << out;
    EXPECT_NE(out.find("sum 14"), std::string::npos) << out;  // 0 + 1 + 4 + 9
    EXPECT_NE(out.find("exited normally"), std::string::npos) << out;
  }
}
#endif

}  // namespace
