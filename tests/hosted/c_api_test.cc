// Tests of the C embedding API (include/modkit/modkit.h, hosted/c_api.cc):
// the same flow as the C++ API, and the error buffer contract: always
// NUL-terminated, truncated to fit, untouched when there is no error.
#include "modkit/modkit.h"

#include <gtest/gtest.h>
#include <stdio.h>
#include <string.h>

#include <string>
#include <vector>

#include "link/toolchain.h"

namespace {

using mk::test::Scratch;

extern "C" {
int c_api_value = 7;
int CApiTwice(int v) {
  return 2 * v;
}
}

const char* const kModule = R"(
extern int twice(int);
extern int c_api_value;
static int hits;
int entry(int v) { ++hits; return twice(v) + c_api_value; }
int hit_count(void) { return hits; }
)";

class CApiTest : public ::testing::TestWithParam<mk::test::Compiler> {
 protected:
  void SetUp() override {
    obj = scratch.Compile(GetParam(), "mod.c", kModule);
    ASSERT_FALSE(obj.empty());
    k = mk_kernel_create(0);
    ASSERT_NE(k, nullptr);
    ASSERT_EQ(mk_export(k, "twice", reinterpret_cast<void*>(&CApiTwice), 0, 1), 0);
    ASSERT_EQ(mk_export(k, "c_api_value", &c_api_value, sizeof c_api_value, 0), 0);
  }
  void TearDown() override { mk_kernel_destroy(k); }

  Scratch scratch;
  std::string obj;
  mk_kernel* k = nullptr;
};

TEST_P(CApiTest, LoadCallUnload) {
  EXPECT_EQ(mk_arena_used(k), 0u);
  char err[256] = "untouched";
  mk_file* f = mk_load_file(k, obj.c_str(), err, sizeof err);
  ASSERT_NE(f, nullptr) << err;
  EXPECT_STREQ(err, "untouched");
  EXPECT_GT(mk_arena_used(k), 0u);
  auto entry = reinterpret_cast<int (*)(int)>(mk_symbol(k, f, "entry"));
  ASSERT_NE(entry, nullptr);
  EXPECT_EQ(entry(10), 27);
  EXPECT_EQ(reinterpret_cast<int (*)()>(mk_symbol(k, f, "hit_count"))(), 1);
  EXPECT_EQ(mk_symbol(k, f, "hits"), nullptr);
  EXPECT_EQ(mk_symbol(k, f, "twice"), nullptr);
  mk_unload(k, f);
  EXPECT_EQ(mk_arena_used(k), 0u);
}

TEST_P(CApiTest, LoadFromMemory) {
  std::vector<uint8_t> bytes = mk::test::ReadBytes(obj);
  char err[256];
  mk_file* f = mk_load_memory(k, bytes.data(), bytes.size(), "mod-in-memory", err, sizeof err);
  ASSERT_NE(f, nullptr) << err;
  EXPECT_EQ(reinterpret_cast<int (*)(int)>(mk_symbol(k, f, "entry"))(1), 9);
  mk_unload(k, f);
  // A NULL name is allowed.
  f = mk_load_memory(k, bytes.data(), bytes.size(), nullptr, err, sizeof err);
  ASSERT_NE(f, nullptr) << err;
  mk_unload(k, f);
}

TEST_P(CApiTest, DuplicateExportIsMinusOne) {
  EXPECT_EQ(mk_export(k, "twice", reinterpret_cast<void*>(&CApiTwice), 0, 1), -1);
}

INSTANTIATE_TEST_SUITE_P(Compilers, CApiTest, ::testing::ValuesIn(mk::test::AllCompilers()),
                         [](const auto& p) { return std::string(p.param.label); });

class CApiErrors : public ::testing::Test {
 protected:
  void SetUp() override { k = mk_kernel_create(0); }
  void TearDown() override { mk_kernel_destroy(k); }
  mk_kernel* k = nullptr;
};

const char* const kMissingPath = "/nonexistent/modkit/module.ko";
const std::string kMissingMessage = std::string(kMissingPath) + ": No such file or directory";

TEST_F(CApiErrors, ErrorBufferGetsTheWholeMessage) {
  char err[256];
  memset(err, 'x', sizeof err);
  EXPECT_EQ(mk_load_file(k, kMissingPath, err, sizeof err), nullptr);
  EXPECT_EQ(std::string(err), kMissingMessage);
}

TEST_F(CApiErrors, ShortBufferIsTruncatedAndTerminated) {
  for (size_t len :
       {size_t{1}, size_t{2}, size_t{10}, kMissingMessage.size(), kMissingMessage.size() + 1}) {
    std::vector<char> err(len + 8, 'x');  // canaries after the buffer
    EXPECT_EQ(mk_load_file(k, kMissingPath, err.data(), len), nullptr);
    size_t n = std::min(len - 1, kMissingMessage.size());
    EXPECT_EQ(std::string(err.data()), kMissingMessage.substr(0, n)) << "len " << len;
    EXPECT_EQ(err[n], '\0');
    for (size_t i = len; i < err.size(); ++i)
      ASSERT_EQ(err[i], 'x') << "wrote past the buffer of " << len << " bytes";
  }
}

TEST_F(CApiErrors, NoBufferIsFine) {
  EXPECT_EQ(mk_load_file(k, kMissingPath, nullptr, 0), nullptr);
  EXPECT_EQ(mk_load_file(k, kMissingPath, nullptr, 100), nullptr);
  char err[4] = {'x', 'x', 'x', 'x'};
  EXPECT_EQ(mk_load_file(k, kMissingPath, err, 0), nullptr);
  EXPECT_EQ(err[0], 'x') << "errlen 0 must not be written";
}

TEST_F(CApiErrors, MalformedMemoryNamesTheObject) {
  char err[512];
  const char junk[64] = "not an object";
  EXPECT_EQ(mk_load_memory(k, junk, sizeof junk, "junk.ko", err, sizeof err), nullptr);
  EXPECT_STREQ(err,
               "junk.ko: ELF header: bad magic 0x6e 0x6f 0x74 0x20 at 0x0 (expected 0x7f 0x45 0x4c "
               "0x46)");
}

TEST_F(CApiErrors, UnresolvedSymbolIsNamed) {
  Scratch s;
  std::string obj =
      s.Compile(mk::test::kGcc, "u.c",
                "extern int printk(const char *);\nint f(void) { return printk(\"x\"); }\n");
  char err[512];
  EXPECT_EQ(mk_load_file(k, obj.c_str(), err, sizeof err), nullptr);
  char want[512];
  snprintf(want, sizeof want, "undefined symbol `printk' (referenced from %s .text+0x%lx)",
           obj.c_str(),
           static_cast<unsigned long>(mk::test::FirstRelocationTo(obj, ".text", "printk")));
  EXPECT_STREQ(err, want);
  EXPECT_EQ(mk_arena_used(k), 0u);
}

TEST_F(CApiErrors, HostSymbolsFlag) {
  Scratch s;
  std::string obj =
      s.Compile(mk::test::kGcc, "h.c",
                "#include <string.h>\nint len(const char *p) { return (int)strlen(p); }\n");
  char err[512];
  EXPECT_EQ(mk_load_file(k, obj.c_str(), err, sizeof err), nullptr);
  mk_kernel* hk = mk_kernel_create(MK_HOST_SYMBOLS);
  mk_file* f = mk_load_file(hk, obj.c_str(), err, sizeof err);
  ASSERT_NE(f, nullptr) << err;
  EXPECT_EQ(reinterpret_cast<int (*)(const char*)>(mk_symbol(hk, f, "len"))("four"), 4);
  mk_kernel_destroy(hk);  // unloads f
}

}  // namespace
