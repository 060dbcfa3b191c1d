// Tests of link/resolver.h and the linker's symbol resolution: what a file's
// undefined symbols become (its own definitions, the resolver's exports, 0
// for weak ones) and how the ones nothing provides are reported. Objects are
// compiled at test time by gcc and clang; readelf says where the compiler put
// each relocation, so the error's section+offset are checked exactly.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "link/link_harness.h"
#include "util/host_code.h"

namespace mk::test {
namespace {

using link::LinkerFile;
using link::LinkRequest;

struct Flags {
  const char* label;
  std::vector<std::string> flags;
};
void PrintTo(const Flags& f, std::ostream* os) {
  *os << f.label;
}
const std::vector<Flags>& FlagSets() {
  static const std::vector<Flags> sets{
      {"default_O0", {"-O0"}},           {"default_O2", {"-O2"}},
      {"fpic_O0", {"-O0", "-fPIC"}},     {"fpic_O2", {"-O2", "-fPIC"}},
      {"nopic_O0", {"-O0", "-fno-pic"}}, {"nopic_O2", {"-O2", "-fno-pic"}},
  };
  return sets;
}

using Param = std::tuple<Compiler, Flags>;

class ResolveTest : public ::testing::TestWithParam<Param> {
 protected:
  const Compiler& cc() const { return std::get<0>(GetParam()); }
  const std::vector<std::string>& flags() const { return std::get<1>(GetParam()).flags; }
  std::string Compile(const std::string& name, const std::string& text) {
    return scratch.Compile(cc(), name, text, flags());
  }
  Scratch scratch;
};

std::string ParamName(const ::testing::TestParamInfo<Param>& p) {
  return std::string(std::get<0>(p.param).label) + "_" + std::get<1>(p.param).label;
}

struct Reported {
  std::string name, object, section;
  uint64_t offset;
};

void Record(void* ctx, const link::Unresolved& u) {
  static_cast<std::vector<Reported>*>(ctx)->push_back({u.name, u.object, u.section, u.offset});
}

std::string Hex(uint64_t v) {
  char buf[32];
  snprintf(buf, sizeof buf, "0x%lx", static_cast<unsigned long>(v));
  return buf;
}

const char* const kThreeMissing = R"(
extern int missing_a(int);
extern int missing_b;
extern void missing_c(void);
int f1(void) { return missing_a(1) + missing_b; }
int f2(void) { missing_c(); return missing_a(2); }
int f3(void) { return missing_b * 2; }
)";

// Every strong undefined symbol is reported once, with where it is first
// used; the error names the first and counts them all.
TEST_P(ResolveTest, AllUndefinedSymbolsAreListedOnceAndTheFirstIsNamed) {
  std::string obj = Compile("three.c", kThreeMissing);
  ASSERT_FALSE(obj.empty());
  LinkHarness h;
  std::vector<Reported> seen;
  LinkRequest req;
  req.on_unresolved = &Record;
  req.ctx = &seen;
  Result<LinkerFile*> f = h.Link({obj}, req);

  ASSERT_EQ(seen.size(), 3u);
  std::vector<std::string> names;
  for (const Reported& r : seen) {
    names.push_back(r.name);
    EXPECT_EQ(r.object, obj);
    EXPECT_EQ(r.section, ".text");
    EXPECT_EQ(r.offset, FirstRelocationTo(obj, ".text", r.name)) << r.name;
  }
  std::sort(names.begin(), names.end());
  EXPECT_EQ(names, (std::vector<std::string>{"missing_a", "missing_b", "missing_c"}));
  const Reported& first = seen[0];
  for (const Reported& r : seen)
    EXPECT_LE(first.offset, r.offset) << "reported out of order";
  EXPECT_LINK_ERROR(f, Errc::kUnresolved,
                    "3 undefined symbols, the first `" + first.name + "' (referenced from " + obj +
                        " .text+" + Hex(first.offset) + ")");
  EXPECT_EQ(h.used(), 0u);
  EXPECT_TRUE(h.files.empty());
}

TEST_P(ResolveTest, OneUndefinedSymbolIsNamedWithSectionAndOffset) {
  std::string obj = Compile("one.c", R"(
static int counter;
int bump(void) { return ++counter; }
extern int printk(const char*, ...);
int hello(void) { bump(); return printk("hello %d\n", counter); }
)");
  ASSERT_FALSE(obj.empty());
  LinkHarness h(nullptr, /*host_symbols=*/false);
  Result<LinkerFile*> f = h.Link({obj});
  uint64_t off = FirstRelocationTo(obj, ".text", "printk");
  ASSERT_NE(off, UINT64_MAX);
  EXPECT_LINK_ERROR(
      f, Errc::kUnresolved,
      "undefined symbol `printk' (referenced from " + obj + " .text+" + Hex(off) + ")");
  EXPECT_EQ(h.resolve_calls["printk"], 1);
}

// Two objects that both use an undefined name: the name is one symbol of
// the file, so it is reported once and the resolver is asked once (its
// contract: "called once per distinct undefined name of a link").
TEST_P(ResolveTest, NameUndefinedInTwoObjectsIsResolvedAndReportedOnce) {
  std::string a = Compile("a.c", R"(
extern int host_twice(int); extern int missing_x(void);
int a_fn(void) { return host_twice(missing_x()); }
)");
  std::string b = Compile("b.c", R"(
extern int host_twice(int); extern int missing_x(void);
int b_fn(void) { return host_twice(3) + missing_x(); }
)");
  ASSERT_FALSE(a.empty() || b.empty());
  LinkHarness h(nullptr, false);
  h.Export("host_twice", reinterpret_cast<void*>(+[](int v) { return 2 * v; }));
  std::vector<Reported> seen;
  LinkRequest req;
  req.on_unresolved = &Record;
  req.ctx = &seen;
  Result<LinkerFile*> f = h.Link({a, b}, req);
  ASSERT_FALSE(f.ok());
  ASSERT_EQ(seen.size(), 1u) << "missing_x reported " << seen.size() << " times";
  EXPECT_EQ(seen[0].name, "missing_x");
  EXPECT_EQ(seen[0].object, a);
  EXPECT_EQ(h.resolve_calls["host_twice"], 1);
  EXPECT_EQ(h.resolve_calls["missing_x"], 1);
  EXPECT_LINK_ERROR(f, Errc::kUnresolved,
                    "undefined symbol `missing_x' (referenced from " + a + " .text+" +
                        Hex(FirstRelocationTo(a, ".text", "missing_x")) + ")");
}

// More imports than the table of outside names is first sized for (32):
// every name is asked once and each reference reads its own export, across
// the table's growth. Names beginning with '_' like the linker's own
// (_GLOBAL_OFFSET_TABLE_, __dso_handle) are ordinary imports.
TEST(Resolve, ManyImportsEachResolveOnceToTheirOwnExport) {
  constexpr int kImports = 100;
  static int cells[kImports];
  auto name = [](int i) { return (i % 2 ? "_cell_" : "cell_") + std::to_string(i); };
  // One reader per import, compiled the default way (position-independent).
  std::string src;
  for (int i = 0; i < kImports; ++i)
    src += "extern int " + name(i) + ";\nint get_" + std::to_string(i) + "(void) { return " +
           name(i) + "; }\n";
  Scratch scratch;
  std::string obj = scratch.Compile(kGcc, "many.c", src);
  ASSERT_FALSE(obj.empty());
  LinkHarness h(nullptr, /*host_symbols=*/false);
  for (int i = 0; i < kImports; ++i) {
    cells[i] = 7 * i + 1;
    h.Export(name(i), &cells[i], elf::STT_OBJECT, sizeof cells[i]);
  }
  LinkerFile* f = h.MustLink({obj});
  ASSERT_NE(f, nullptr);
  for (int i = 0; i < kImports; ++i) {
    auto get = h.Sym<int (*)()>(f, ("get_" + std::to_string(i)).c_str());
    ASSERT_NE(get, nullptr);
    EXPECT_EQ(get(), 7 * i + 1) << name(i);
    EXPECT_EQ(h.resolve_calls[name(i)], 1) << name(i);
  }
}

TEST_P(ResolveTest, WeakUndefinedResolvesToZero) {
  std::string obj = Compile("weak.c", R"(
extern int weak_fn(void) __attribute__((weak));
extern int weak_data __attribute__((weak));
int has_weak_fn(void) { return &weak_fn != 0; }
int has_weak_data(void) { return &weak_data != 0; }
int call_if_there(void) { return weak_fn ? weak_fn() : -1; }
)");
  ASSERT_FALSE(obj.empty());
  LinkHarness h(nullptr, false);
  LinkerFile* f = h.MustLink({obj});
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(h.Sym<int (*)()>(f, "has_weak_fn")(), 0);
  EXPECT_EQ(h.Sym<int (*)()>(f, "has_weak_data")(), 0);
  EXPECT_EQ(h.Sym<int (*)()>(f, "call_if_there")(), -1);
}

int g_weak_data = 5;
int WeakFnImpl() {
  return 77;
}

TEST_P(ResolveTest, WeakUndefinedTakesAnExportWhenThereIsOne) {
  std::string obj = Compile("weak.c", R"(
extern int weak_fn(void) __attribute__((weak));
extern int weak_data __attribute__((weak));
int call_if_there(void) { return weak_fn ? weak_fn() : -1; }
int read_if_there(void) { return &weak_data ? weak_data : -1; }
)");
  ASSERT_FALSE(obj.empty());
  LinkHarness h(nullptr, false);
  h.Export("weak_fn", reinterpret_cast<void*>(&WeakFnImpl));
  h.Export("weak_data", &g_weak_data, elf::STT_OBJECT, sizeof g_weak_data);
  // -fno-pic code takes the address with a 32-bit absolute relocation
  // (x86_64's R_X86_64_32; riscv64's medlow code model: lui's R_RISCV_HI20):
  // a host object above 2 GiB cannot be reached that way from anywhere.
  // (aarch64's -fno-pic uses ADRP, which reaches it.)
  for (const char* type : {"R_X86_64_32", "R_RISCV_HI20"}) {
    uint64_t abs32 = FirstRelocationTo(obj, ".text", "weak_data", type);
    if (abs32 == UINT64_MAX) continue;
    EXPECT_LINK_ERROR(h.Link({obj}), Errc::kRange,
                      obj + ": " + type + " at .text+" + Hex(abs32) + " needs `weak_data' (at " +
                          Hex(reinterpret_cast<uintptr_t>(&g_weak_data)) +
                          ") in the low 2 GiB, and it is writable data that cannot be copied "
                          "there; rebuild the module with -fPIC");
    return;
  }
  LinkerFile* f = h.MustLink({obj});
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(h.Sym<int (*)()>(f, "call_if_there")(), 77);
  EXPECT_EQ(h.Sym<int (*)()>(f, "read_if_there")(), 5);
}

// A file's own definition wins over an export of the same name, and the
// resolver is never asked about names the file defines.
TEST_P(ResolveTest, OwnDefinitionsWinAndAreNotLookedUp) {
  std::string a = Compile("a.c", R"(
int helper(int v) { return v + 1; }
extern int shared_value;
int use_helper(void) { return helper(41) + shared_value; }
)");
  std::string b = Compile("b.c", "int shared_value = 100;\n");
  ASSERT_FALSE(a.empty() || b.empty());
  LinkHarness h(nullptr, false);
  static int wrong_value = -1000;
  h.Export("helper", reinterpret_cast<void*>(+[](int) { return -1; }));
  h.Export("shared_value", &wrong_value, elf::STT_OBJECT, 4);
  LinkerFile* f = h.MustLink({a, b});
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(h.Sym<int (*)()>(f, "use_helper")(), 142);
  EXPECT_EQ(h.resolve_calls.count("helper"), 0u);
  EXPECT_EQ(h.resolve_calls.count("shared_value"), 0u);
}

INSTANTIATE_TEST_SUITE_P(Compilers, ResolveTest,
                         ::testing::Combine(::testing::ValuesIn(AllCompilers()),
                                            ::testing::ValuesIn(FlagSets())),
                         ParamName);

// An undefined _GLOBAL_OFFSET_TABLE_ that nothing relocates against (as
// some assemblers and ld -r leave behind) is not an unresolved symbol.
TEST(GlobalOffsetTable, UnusedUndefinedIsFine) {
  MK_X86_64_ONLY();
  Scratch s;
  std::string obj = s.Compile(kGcc, "got.s", R"(
        .globl _GLOBAL_OFFSET_TABLE_
        .text
        .globl answer
        .type answer, @function
answer: movl $42, %eax
        ret
)");
  ASSERT_FALSE(obj.empty());
  LinkHarness h(nullptr, false);
  LinkerFile* f = h.MustLink({obj});
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(h.Sym<int (*)()>(f, "answer")(), 42);
  EXPECT_EQ(h.resolve_calls.count("_GLOBAL_OFFSET_TABLE_"), 0u);
}

int g_large_value = 30;
int LargeAdd(int a, int b) {
  return a + b;
}

// Large-model PIC code does use it (GOTPC64, GOT64, PLTOFF64, GOTOFF64): the
// linker provides the file's own GOT.
TEST(GlobalOffsetTable, LargeModelCodeUsesTheFilesGot) {
  MK_X86_64_ONLY();
  for (const Compiler& c : AllCompilers()) {
    Scratch s;
    std::string obj = s.Compile(c, "large.c", R"(
extern int host_value;
extern int host_add(int, int);
static int local_data = 5;
int *local_ptr(void) { return &local_data; }
int use(void) { return host_add(host_value, local_data); }
)",
                                {"-O2", "-mcmodel=large", "-fPIC"});
    ASSERT_FALSE(obj.empty());
    LinkHarness h(nullptr, false);
    h.Export("host_value", &g_large_value, elf::STT_OBJECT, 4);
    h.Export("host_add", reinterpret_cast<void*>(&LargeAdd));
    LinkerFile* f = h.MustLink({obj});
    ASSERT_NE(f, nullptr) << c.label;
    EXPECT_EQ(h.Sym<int (*)()>(f, "use")(), 35) << c.label;
    *h.Sym<int* (*)()>(f, "local_ptr")() = 6;
    EXPECT_EQ(h.Sym<int (*)()>(f, "use")(), 36) << c.label;
  }
}

}  // namespace
}  // namespace mk::test
