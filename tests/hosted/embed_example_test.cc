// Runs the embedding example (examples/embed, built by CMake) on its module
// (examples/embed/hello_module.c) compiled now with gcc and clang, and checks
// what it prints; and its errors.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <string>

#include "link/toolchain.h"

namespace {

using mk::test::Quote;

using mk::test::RunResult;
using mk::test::Scratch;

std::string Env(const char* name, const char* fallback) {
  const char* v = getenv(name);
  return v != nullptr && *v != '\0' ? v : fallback;
}

std::string EmbedPath() {
  return MODKIT_EMBED_PATH;
}
std::string ModuleSource() {
  return Env("MODKIT_SOURCE_DIR", MODKIT_SOURCE_FALLBACK) + "/examples/embed/hello_module.c";
}

std::string ReadText(const std::string& path) {
  std::vector<uint8_t> b = mk::test::ReadBytes(path);
  return std::string(b.begin(), b.end());
}

class EmbedExample : public ::testing::TestWithParam<mk::test::Compiler> {};

TEST_P(EmbedExample, LoadsCallsAndUnloadsTheModule) {
  for (const char* flags : {"", "-O2", "-fPIC"}) {
    SCOPED_TRACE(flags);
    Scratch s;
    std::string src = ReadText(ModuleSource());
    ASSERT_FALSE(src.empty()) << ModuleSource();
    std::string obj =
        s.Compile(GetParam(), "hello_module.c", src,
                  *flags ? std::vector<std::string>{flags} : std::vector<std::string>{});
    ASSERT_FALSE(obj.empty());
    RunResult r = mk::test::Run(Quote(EmbedPath()) + " " + Quote(obj));
    EXPECT_EQ(r.status, 0) << r.output;
    // The arena's size depends on the compiler; the rest is exact.
    std::string out = r.output;
    size_t open = out.find(" (");
    size_t close = out.find(" bytes of module memory)\n");
    ASSERT_NE(open, std::string::npos) << out;
    ASSERT_NE(close, std::string::npos) << out;
    EXPECT_GT(std::stoul(out.substr(open + 2, close - open - 2)), 0u);
    out.replace(open, close - open, " (N");
    EXPECT_EQ(out,
              "[kernel] hello_module: loaded into embed v1\n"
              "loaded " +
                  obj +
                  " (N bytes of module memory)\n"
                  "[kernel] hello_module: hello, 42\n"
                  "[kernel] hello_module: bonjour, 43\n"
                  "[kernel] hello_module: hallo, 44\n"
                  "module_entry(42) returned 0; kernel_info.entries = 1\n"
                  "[kernel] hello_module: unloading after 1 call(s)\n"
                  "unloaded (0 bytes of module memory)\n");
  }
}

INSTANTIATE_TEST_SUITE_P(Compilers, EmbedExample, ::testing::ValuesIn(mk::test::AllCompilers()),
                         [](const auto& p) { return std::string(p.param.label); });

TEST(EmbedExampleErrors, Usage) {
  RunResult r = mk::test::Run(Quote(EmbedPath()));
  EXPECT_EQ(r.status, 2);
  EXPECT_EQ(r.output, "usage: " + EmbedPath() + " MODULE.o\n");
}

TEST(EmbedExampleErrors, MissingModule) {
  RunResult r = mk::test::Run(Quote(EmbedPath()) + " /nonexistent/hello.o");
  EXPECT_EQ(r.status, 1);
  EXPECT_EQ(r.output, "embed: /nonexistent/hello.o: No such file or directory\n");
}

TEST(EmbedExampleErrors, ModuleWithoutEntry) {
  Scratch s;
  std::string obj = s.Compile(mk::test::kGcc, "noentry.c", "int other(void) { return 0; }\n");
  RunResult r = mk::test::Run(Quote(EmbedPath()) + " " + Quote(obj));
  EXPECT_EQ(r.status, 1);
  EXPECT_EQ(r.output, "embed: " + obj + " defines no module_entry\n");
}

TEST(EmbedExampleErrors, ModuleNeedingWhatTheKernelDoesNotExport) {
  Scratch s;
  std::string obj = s.Compile(
      mk::test::kGcc, "needs.c",
      "extern int printk(const char *);\nint module_entry(int a) { return printk(\"x\"); }\n");
  RunResult r = mk::test::Run(Quote(EmbedPath()) + " " + Quote(obj));
  EXPECT_EQ(r.status, 1);
  char off[32];
  snprintf(off, sizeof off, "0x%lx",
           static_cast<unsigned long>(mk::test::FirstRelocationTo(obj, ".text", "printk")));
  EXPECT_EQ(r.output,
            "embed: undefined symbol `printk' (referenced from " + obj + " .text+" + off + ")\n");
}

TEST(EmbedExampleErrors, FailingEntryIsExitStatus3) {
  Scratch s;
  std::string obj =
      s.Compile(mk::test::kGcc, "fails.c", "int module_entry(int a) { return -a; }\n");
  RunResult r = mk::test::Run(Quote(EmbedPath()) + " " + Quote(obj));
  EXPECT_EQ(r.status, 3) << r.output;
  EXPECT_NE(r.output.find("module_entry(42) returned -42;"), std::string::npos) << r.output;
}

}  // namespace
