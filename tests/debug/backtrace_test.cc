// Backtraces through module code: frames named "symbol+0xoff [module]" by
// the address map, host frames by dladdr; found by the unwinder through the
// .eh_frame the linker registered, with or without frame pointers.
#include "hosted/backtrace.h"

#include <dlfcn.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "hosted/system.h"
#include "link/toolchain.h"

namespace mk::hosted {
namespace {

using test::Scratch;

constexpr const char* kModule = R"(
#include <modkit/module.h>
typedef void (*callback)(void);
__attribute__((noinline)) static int bt_inner(callback cb, int x) {
  cb();
  return x + 1;
}
__attribute__((noinline)) int bt_outer(callback cb, int x) {
  return bt_inner(cb, x * 2) * 3;
}
MODKIT_MODULE(btmod, 1, 0, 0);
)";

const symtab::AddressMap* g_map = nullptr;
std::vector<std::string> g_lines;

__attribute__((noinline)) void Capture() {
  g_lines = backtrace_lines(g_map);
}

// The module's code generation: with frame pointers, or without them (the
// unwinder then needs the module's .eh_frame).
class BacktraceTest : public ::testing::TestWithParam<bool> {};

TEST_P(BacktraceTest, ModuleFramesAreNamedWithTheirModule) {
  Scratch scratch;
  std::string inc = std::string("-I") + getenv("MODKIT_SOURCE_DIR") + "/sdk/include";
  // With the .eh_frame the SDK asks for (sdk/modkit.cmake: riscv64's
  // compilers emit none by default, and the unwinder needs it either way).
  const char* unwind = "-fasynchronous-unwind-tables";
  std::string obj = scratch.Compile(
      test::kGcc, "bt.c", kModule,
      GetParam() ? std::vector<std::string>{"-O0", unwind, inc}
                 : std::vector<std::string>{"-O2", "-fomit-frame-pointer", unwind, inc});
  ASSERT_FALSE(obj.empty());
  std::vector<uint8_t> bytes = test::ReadBytes(obj);
  SystemConfig config;
  config.static_modules = false;
  System sys(config);
  ASSERT_TRUE(sys.boot());
  auto f = sys.registry().load_bytes(ByteView(bytes.data(), bytes.size()), "bt.ko");
  ASSERT_TRUE(f) << f.error().message();
  auto outer =
      reinterpret_cast<int (*)(void (*)(), int)>(f.value()->linked->find("bt_outer")->addr);

  g_map = &sys.addresses();
  g_lines.clear();
  EXPECT_EQ(outer(&Capture, 5), 33);
  std::string all;
  for (const std::string& l : g_lines)
    all += l + "\n";
  ASSERT_GE(g_lines.size(), 4u) << all;
  // #0 is Capture (the host), then the module's two frames, then this test.
  EXPECT_EQ(g_lines[0].rfind("#0 0x", 0), 0u) << all;
  EXPECT_NE(g_lines[1].find(" bt_inner+0x"), std::string::npos) << all;
  EXPECT_NE(g_lines[1].find(" [btmod]"), std::string::npos) << all;
  EXPECT_NE(g_lines[2].find(" bt_outer+0x"), std::string::npos) << all;
  EXPECT_NE(g_lines[2].find(" [btmod]"), std::string::npos) << all;
  EXPECT_EQ(g_lines[3].find("[btmod]"), std::string::npos) << all;
  ASSERT_TRUE(sys.registry().unload(f.value(), module::UnloadOptions{}));
}

INSTANTIATE_TEST_SUITE_P(Flags, BacktraceTest, ::testing::Values(true, false),
                         [](const auto& info) {
                           return std::string(info.param ? "frame_pointers" : "no_frame_pointers");
                         });

TEST(DescribeAddressTest, HostAddressesByDladdr) {
  void* fn = dlsym(RTLD_DEFAULT, "getpid");
  ASSERT_NE(fn, nullptr);
  std::string s = describe_address(nullptr, reinterpret_cast<uintptr_t>(fn) + 4);
  EXPECT_NE(s.find("+0x4 [libc.so"), std::string::npos) << s;
  EXPECT_EQ(describe_address(nullptr, 16), "0x10");
}

}  // namespace
}  // namespace mk::hosted
