// Tests of link/linker.h: how objects become one file (COMMON, duplicates,
// COMDAT), where the file may land (placement windows, stubs), and the one
// rollback path. Objects are compiled at test time with gcc and clang.
// (Constructors, destructors, unwinding and init-only text: linker_runtime_test.cc.)
#include "link/linker.h"

#include <gtest/gtest.h>
#include <string.h>
#include <sys/mman.h>

#include <algorithm>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "link/link_harness.h"
#include "util/host_code.h"

namespace mk::test {
namespace {

using link::Class;
using link::LinkerFile;
using link::LinkRequest;

std::string Hex(uint64_t v) {
  char buf[32];
  snprintf(buf, sizeof buf, "0x%lx", static_cast<unsigned long>(v));
  return buf;
}

int FindCount(LinkerFile* f, const std::string& name) {
  int n = 0;
  for (const link::FileSymbol& s : f->symbols())
    n += name == s.name;
  return n;
}

uint64_t Distance(uint64_t a, uint64_t b) {
  return a > b ? a - b : b - a;
}

// Every byte of every block of f lies within +-2 GiB of addr.
bool WithinReach(LinkerFile* f, uint64_t addr) {
  for (const link::Block& b : f->blocks) {
    if (b.size == 0) continue;
    if (Distance(b.base, addr) >= (uint64_t{1} << 31) ||
        Distance(b.base + b.size, addr) >= (uint64_t{1} << 31))
      return false;
  }
  return true;
}

// Where f's last text section ends, as an offset in its text block.
uint64_t TextEnd(LinkerFile* f) {
  const link::Block& text = f->blocks[static_cast<int>(Class::kText)];
  uint64_t end = 0;
  for (const link::FileSection& s : f->sections())
    if (s.cls == Class::kText && s.addr + s.size - text.base > end)
      end = s.addr + s.size - text.base;
  return end;
}

class LinkerTest : public ::testing::TestWithParam<Compiler> {
 protected:
  const Compiler& cc() const { return GetParam(); }
  Scratch scratch;
};

// ---------------------------------------------------------------------------
// COMMON symbols

const char* const kDirty = R"(
char dirt[1 << 16] = { [0 ... (1 << 16) - 1] = 0x5a };
int dirty(void) { return dirt[100]; }
)";

const char* const kCommonSmall = R"(
int shared_buf[4];
int *a_buf(void) { return shared_buf; }
)";
const char* const kCommonLarge = R"(
int shared_buf[16];
int *b_buf(void) { return shared_buf; }
)";

TEST_P(LinkerTest, CommonSymbolsMergeWithTheLargerSizeAndAreZeroed) {
  std::string dirty = scratch.Compile(cc(), "dirty.c", kDirty);
  std::string a = scratch.Compile(cc(), "a.c", kCommonSmall, {"-fcommon"});
  std::string b = scratch.Compile(cc(), "b.c", kCommonLarge, {"-fcommon"});
  ASSERT_FALSE(dirty.empty() || a.empty() || b.empty());
  LinkHarness h;
  // Leave 0x5a bytes in the data chunk for the next file to land on.
  LinkerFile* d = h.MustLink({dirty});
  ASSERT_NE(d, nullptr);
  EXPECT_EQ(h.Sym<int (*)()>(d, "dirty")(), 0x5a);
  h.Unlink(d);

  for (bool small_first : {true, false}) {
    SCOPED_TRACE(small_first ? "small first" : "large first");
    LinkerFile* f =
        h.MustLink(small_first ? std::vector<std::string>{a, b} : std::vector<std::string>{b, a});
    ASSERT_NE(f, nullptr);
    int* pa = h.Sym<int* (*)()>(f, "a_buf")();
    int* pb = h.Sym<int* (*)()>(f, "b_buf")();
    EXPECT_EQ(pa, pb);
    const link::FileSymbol* s = f->find("shared_buf");
    ASSERT_NE(s, nullptr);
    EXPECT_EQ(s->size, 64u);
    EXPECT_EQ(s->addr, reinterpret_cast<uintptr_t>(pa));
    EXPECT_EQ(FindCount(f, "shared_buf"), 1) << "one definition for the merged symbol";
    EXPECT_EQ(reinterpret_cast<uintptr_t>(pa) % alignof(int), 0u);
    const link::Block& data = f->blocks[static_cast<int>(Class::kData)];
    EXPECT_GE(s->addr, data.base);
    EXPECT_LE(s->addr + 64, data.base + data.size);
    for (int i = 0; i < 16; ++i)
      EXPECT_EQ(pa[i], 0) << "shared_buf[" << i << "] not zeroed";
    pa[15] = 7;  // writable, and the whole 64 bytes are the file's
    EXPECT_EQ(pb[15], 7);
    h.Unlink(f);
  }
}

TEST_P(LinkerTest, RealDefinitionWinsOverCommon) {
  std::string a = scratch.Compile(cc(), "a.c", kCommonSmall, {"-fcommon"});
  std::string c = scratch.Compile(cc(), "c.c", "int shared_buf[8] = {11, 12};\n");
  ASSERT_FALSE(a.empty() || c.empty());
  for (bool common_first : {true, false}) {
    LinkHarness h;
    LinkerFile* f =
        h.MustLink(common_first ? std::vector<std::string>{a, c} : std::vector<std::string>{c, a});
    ASSERT_NE(f, nullptr);
    int* p = h.Sym<int* (*)()>(f, "a_buf")();
    EXPECT_EQ(p[0], 11);
    EXPECT_EQ(p[1], 12);
    EXPECT_EQ(f->find("shared_buf")->size, 32u);
  }
}

// ---------------------------------------------------------------------------
// Duplicates and COMDAT

TEST_P(LinkerTest, DuplicateStrongDefinitionNamesBothObjects) {
  std::string a = scratch.Compile(cc(), "one.c", "int dup_fn(void) { return 1; }\n");
  std::string b = scratch.Compile(cc(), "two.c", "int dup_fn(void) { return 2; }\n");
  std::string c =
      scratch.Compile(cc(), "three.c", "int dup_var = 3;\nint other(void) { return 0; }\n");
  std::string d = scratch.Compile(cc(), "four.c", "int dup_var = 4;\n");
  ASSERT_FALSE(a.empty() || b.empty() || c.empty() || d.empty());
  LinkHarness h;
  size_t live = h.alloc.live_allocations();
  EXPECT_LINK_ERROR(h.Link({a, b}), Errc::kDuplicate,
                    "symbol `dup_fn' is defined in both " + a + " and " + b);
  EXPECT_LINK_ERROR(h.Link({c, a, d}), Errc::kDuplicate,
                    "symbol `dup_var' is defined in both " + c + " and " + d);
  EXPECT_EQ(h.used(), 0u);
  EXPECT_EQ(h.alloc.live_allocations(), live);
  EXPECT_TRUE(h.files.empty());
}

TEST_P(LinkerTest, WeakDefinitionYieldsToStrongInEitherOrder) {
  std::string w = scratch.Compile(cc(), "weak.c", R"(
__attribute__((weak)) int pick(void) { return 1; }
int call_pick(void) { return pick(); }
)");
  std::string s = scratch.Compile(cc(), "strong.c", "int pick(void) { return 2; }\n");
  ASSERT_FALSE(w.empty() || s.empty());
  for (bool weak_first : {true, false}) {
    LinkHarness h;
    LinkerFile* f =
        h.MustLink(weak_first ? std::vector<std::string>{w, s} : std::vector<std::string>{s, w});
    ASSERT_NE(f, nullptr);
    EXPECT_EQ(h.Sym<int (*)()>(f, "pick")(), 2);
    EXPECT_EQ(h.Sym<int (*)()>(f, "call_pick")(), 2) << "the weak file's own call must bind too";
  }
}

const char* const kComdatHeader = R"(
inline int shared_inline(int x) {
  static int calls;  // one object for the whole file, like the function
  return x * 3 + ++calls;
}
template <class T> T twice(T v) { return v + v; }
)";

TEST_P(LinkerTest, ComdatGroupsKeepOneCopy) {
  for (const char* opt : {"-O0", "-O2"}) {
    SCOPED_TRACE(opt);
    std::string a =
        scratch.Compile(cc(), std::string("a") + opt + ".cc", std::string(kComdatHeader) + R"(
extern "C" void* a_inline() { return (void*)&shared_inline; }
extern "C" void* a_twice() { return (void*)&twice<int>; }
extern "C" int a_call(int x) { return shared_inline(x) + twice(0); }
)",
                        {opt});
    std::string b =
        scratch.Compile(cc(), std::string("b") + opt + ".cc", std::string(kComdatHeader) + R"(
extern "C" void* b_inline() { return (void*)&shared_inline; }
extern "C" void* b_twice() { return (void*)&twice<int>; }
extern "C" int b_call(int x) { return shared_inline(x) + twice(0); }
)",
                        {opt});
    ASSERT_FALSE(a.empty() || b.empty());
    LinkHarness h;
    LinkerFile* f = h.MustLink({a, b});
    ASSERT_NE(f, nullptr);
    EXPECT_EQ(h.Sym<void* (*)()>(f, "a_inline")(), h.Sym<void* (*)()>(f, "b_inline")());
    EXPECT_EQ(h.Sym<void* (*)()>(f, "a_twice")(), h.Sym<void* (*)()>(f, "b_twice")());
    EXPECT_EQ(FindCount(f, "_Z13shared_inlinei"), 1);
    EXPECT_EQ(FindCount(f, "_Z5twiceIiET_S0_"), 1);
    // The inline function's static local is one object too.
    EXPECT_EQ(h.Sym<int (*)(int)>(f, "a_call")(1), 4);
    EXPECT_EQ(h.Sym<int (*)(int)>(f, "b_call")(1), 5);
    EXPECT_EQ(h.Sym<int (*)(int)>(f, "a_call")(1), 6);
    // The kept copy is the first object's.
    uintptr_t kept = reinterpret_cast<uintptr_t>(h.Sym<void* (*)()>(f, "a_inline")());
    uint32_t owner = UINT32_MAX;
    for (const link::FileSection& s : f->sections())
      if (kept >= s.addr && kept < s.addr + s.size) owner = s.object;
    EXPECT_EQ(owner, 0u);
  }
}

INSTANTIATE_TEST_SUITE_P(Compilers, LinkerTest, ::testing::ValuesIn(AllCompilers()),
                         [](const auto& p) { return std::string(p.param.label); });

// ---------------------------------------------------------------------------
// Placement: +-2 GiB windows, the low 2 GiB, stubs.

extern "C" {
int kernel_counter = 40;
}

using PlaceParam = std::tuple<Compiler, std::string>;
class PlacementTest : public ::testing::TestWithParam<PlaceParam> {
 protected:
  const Compiler& cc() const { return std::get<0>(GetParam()); }
  std::vector<std::string> flags() const {
    const std::string& f = std::get<1>(GetParam());
    if (f.empty()) return {};
    return {f};
  }
  Scratch scratch;
};

// A far-away home: the data the file reads must still win.
constexpr uintptr_t kFarHome = 0x500000000000;

TEST_P(PlacementTest, ModuleReadingHostDataLandsWithinReachOfIt) {
  std::string obj = scratch.Compile(cc(), "counter.c", R"(
extern int kernel_counter;
int bump(void) { return ++kernel_counter; }
int *where(void) { return &kernel_counter; }
)",
                                    flags());
  ASSERT_FALSE(obj.empty());
  LinkHarness h(nullptr, false);
  h.Export("kernel_counter", &kernel_counter, elf::STT_OBJECT, sizeof kernel_counter);
  LinkRequest req;
  req.home = kFarHome;
  LinkerFile* f = h.MustLink({obj}, req);
  ASSERT_NE(f, nullptr);
  kernel_counter = 40;
  EXPECT_EQ(h.Sym<int (*)()>(f, "bump")(), 41);
  EXPECT_EQ(kernel_counter, 41);
  EXPECT_EQ(h.Sym<int* (*)()>(f, "where")(), &kernel_counter);
  bool pc_relative_data = false;
  for (const Reloc& r : Relocations(obj))
    pc_relative_data |= r.symbol == "kernel_counter" && r.type == "R_X86_64_PC32";
  if (pc_relative_data) {
    EXPECT_TRUE(WithinReach(f, reinterpret_cast<uintptr_t>(&kernel_counter)))
        << "text at " << Hex(f->blocks[0].base) << ", kernel_counter at " << &kernel_counter;
  } else {
    // Through the GOT: nothing ties the file to the data, so it goes home.
    EXPECT_TRUE(WithinReach(f, kFarHome));
  }
}

TEST_P(PlacementTest, CallToAFunctionBeyond2GiBGoesThroughAStub) {
  // A host function far from everything, returning 42, on its own page.
  // (The first free one of a few far addresses: sanitizers own some.)
  void* far = MAP_FAILED;
  for (uintptr_t at :
       {uintptr_t{0x300000000000}, uintptr_t{0x600000000000}, uintptr_t{0x100000000000}}) {
    far = mmap(reinterpret_cast<void*>(at), 4096, PROT_READ | PROT_WRITE,
               MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    if (far != MAP_FAILED) break;
  }
  ASSERT_NE(far, MAP_FAILED);
  size_t n = WriteReturnCode(far, 42);
  __builtin___clear_cache(static_cast<char*>(far), static_cast<char*>(far) + n);
  ASSERT_EQ(mprotect(far, 4096, PROT_READ | PROT_EXEC), 0);

  std::string obj = scratch.Compile(cc(), "far.c", R"(
extern int far_fn(void);
int call_far(void) { return far_fn() + 1; }
int tail_far(void) { return far_fn(); }
typedef int (*fn_t)(void);
fn_t far_ptr(void) { return far_fn; }
)",
                                    flags());
  ASSERT_FALSE(obj.empty());
  {
    LinkHarness h(nullptr, false);
    h.Export("far_fn", far, elf::STT_FUNC);
    LinkerFile* f = h.MustLink({obj});
    ASSERT_NE(f, nullptr);
    const link::Block& text = f->blocks[static_cast<int>(Class::kText)];
    EXPECT_GT(Distance(text.base, reinterpret_cast<uintptr_t>(far)), uint64_t{1} << 32)
        << "the module should not be near the far function";
    EXPECT_EQ(h.Sym<int (*)()>(f, "call_far")(), 43);
    EXPECT_EQ(h.Sym<int (*)()>(f, "tail_far")(), 42);
    EXPECT_EQ(h.Sym<int (*(*)())()>(f, "far_ptr")()(), 42);
    // The one stub (far_fn's) was taken: the text block still ends with it.
    EXPECT_GT(text.size, TextEnd(f)) << "the stub went back to the arena";
    EXPECT_LE(text.size, TextEnd(f) + 64) << "more than one stub's worth";
  }
  munmap(far, 4096);
}

int NearFn() {
  return 7;
}

// Stub sizing reserves a stub for a call to a function outside the file;
// once the file lands within reach of it, the stub goes back to the arena.
TEST_P(PlacementTest, StubsNoCallTookGoBackToTheArena) {
  std::string obj = scratch.Compile(cc(), "near.c", R"(
extern int near_fn(void);
int call_near(void) { return near_fn() + 1; }
)",
                                    flags());
  ASSERT_FALSE(obj.empty());
  LinkHarness h(nullptr, false);
  h.Export("near_fn", reinterpret_cast<const void*>(&NearFn), elf::STT_FUNC);
  LinkRequest req;
  req.home = reinterpret_cast<uintptr_t>(&NearFn);
  size_t used_before = h.arena.stats().used;
  LinkerFile* f = h.MustLink({obj}, req);
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(h.Sym<int (*)()>(f, "call_near")(), 8);
  const link::Block& text = f->blocks[static_cast<int>(Class::kText)];
  // Only the padding that aligned the stubs (at most 15 bytes on every
  // machine) may follow the code; a stub is 16 bytes or more.
  EXPECT_LT(text.size - TextEnd(f), 16u) << "the text block still holds the unused stub";
  EXPECT_EQ(h.arena.stats().used - used_before, f->memory()) << "the arena counts the trimmed size";
  // What went back leaves no hole: the next file's text starts where this
  // one's ends (a hole too small for any block would cost a free-list entry
  // per file).
  LinkerFile* g = h.MustLink({obj}, req);
  ASSERT_NE(g, nullptr);
  EXPECT_EQ(g->blocks[static_cast<int>(Class::kText)].base, text.base + text.size);
}

INSTANTIATE_TEST_SUITE_P(Compilers, PlacementTest,
                         ::testing::Combine(::testing::ValuesIn(AllCompilers()),
                                            ::testing::Values(std::string(), std::string("-fPIC"),
                                                              std::string("-O2"))),
                         [](const auto& p) {
                           std::string f = std::get<1>(p.param);
                           return std::string(std::get<0>(p.param).label) + "_" +
                                  (f.empty()      ? "default"
                                   : f == "-fPIC" ? "fpic"
                                                  : "O2");
                         });

int NoPicAdd(int a, int b) {
  return a + b;
}

class NoPicTest : public LinkerTest {};

TEST_P(NoPicTest, AbsoluteRelocationsLandInTheLow2GiB) {
  MK_X86_64_ONLY();
  for (const char* opt : {"-O0", "-O2"}) {
    SCOPED_TRACE(opt);
    std::string obj = scratch.Compile(cc(), std::string("nopic") + opt + ".c", R"(
extern int host_add(int, int);
static int table[4] = {1, 2, 3, 4};
static const char *names[] = {"zero", "one", "two"};
int *get_table(void) { return table; }
const char *name_of(int i) { return names[i]; }
int sum(void) { int s = 0; for (int i = 0; i < 4; ++i) s = host_add(s, table[i]); return s; }
int (*adder(void))(int, int) { return host_add; }
)",
                                      {"-fno-pic", opt});
    ASSERT_FALSE(obj.empty());
    bool absolute = false;
    for (const std::string& t : RelocationTypes(obj))
      absolute |= t == "R_X86_64_32" || t == "R_X86_64_32S";
    ASSERT_TRUE(absolute) << "expected -fno-pic code to use 32-bit absolute relocations";
    LinkHarness h(nullptr, false);
    h.Export("host_add", reinterpret_cast<void*>(&NoPicAdd));
    LinkerFile* f = h.MustLink({obj});
    ASSERT_NE(f, nullptr);
    uintptr_t t = reinterpret_cast<uintptr_t>(h.Sym<int* (*)()>(f, "get_table")());
    EXPECT_LT(t, 0x80000000u);
    for (const link::Block& b : f->blocks)
      EXPECT_LE(b.base + b.size, 0x80000000u);
    EXPECT_STREQ(h.Sym<const char* (*)(int)>(f, "name_of")(2), "two");
    EXPECT_EQ(h.Sym<int (*)()>(f, "sum")(), 10);
    EXPECT_EQ(h.Sym<int (*(*)())(int, int)>(f, "adder")()(2, 3), 5);
  }
}

bool IsAbs32(const std::string& type) {
  return type == "R_X86_64_32" || type == "R_X86_64_32S";
}

// The error a -fno-pic object that uses stdout (above 2 GiB) must get.
std::string ExpectedNoPicError(const std::string& obj, uint64_t stdout_addr) {
  std::string low_why;
  for (const Reloc& r : Relocations(obj)) {
    if (!IsAbs32(r.type)) continue;
    if (r.symbol == "stdout")
      return obj + ": " + r.type + " at " + r.section + "+" + Hex(r.offset) +
             " needs `stdout' (at " + Hex(stdout_addr) +
             ") in the low 2 GiB, and it is writable data that cannot be copied there; rebuild "
             "the module with -fPIC";
    if (low_why.empty()) low_why = r.symbol;
  }
  if (low_why.empty()) return "";  // no 32-bit absolute relocation at all
  return "the module has 32-bit absolute relocations (to `" + low_why +
         "') and so must lie in the low 2 GiB, but it reads `stdout' at " + Hex(stdout_addr) +
         " PC-relatively; rebuild it with -fPIC";
}

TEST_P(NoPicTest, ReadingLibcStdoutIsARangeErrorNamingItAndFPic) {
  MK_X86_64_ONLY();
  link::ResolvedSymbol out_sym;
  ASSERT_TRUE(hosted::host_symbol("stdout", &out_sym));
  ASSERT_GT(out_sym.addr, 0x80000000u);
  std::string say = scratch.Compile(cc(), "say.c", R"(
#include <stdio.h>
int say(void) { return fputs("hello from a module\n", stdout); }
)",
                                    {"-fno-pic"});
  std::string where = scratch.Compile(cc(), "where.c", R"(
#include <stdio.h>
FILE **where(void) { return &stdout; }
)",
                                      {"-fno-pic"});
  ASSERT_FALSE(say.empty() || where.empty());
  LinkHarness h;
  size_t live = h.alloc.live_allocations();

  // gcc reads stdout PC-relatively and has absolute relocations to its own
  // string; clang may read it through a 32-bit absolute address. Either way
  // the error names stdout and -fPIC; which one comes first is what the scan
  // meets first.
  EXPECT_LINK_ERROR(h.Link({say}), Errc::kRange, ExpectedNoPicError(say, out_sym.addr));
  EXPECT_EQ(h.used(), 0u);
  EXPECT_EQ(h.alloc.live_allocations(), live);
  std::string where_error = ExpectedNoPicError(where, out_sym.addr);
  if (!where_error.empty()) {
    EXPECT_LINK_ERROR(h.Link({where}), Errc::kRange, where_error);
  } else {
    // clang takes the address with a 64-bit immediate (R_X86_64_64): fine.
    LinkerFile* f = h.MustLink({where});
    ASSERT_NE(f, nullptr);
    EXPECT_EQ(reinterpret_cast<uintptr_t>(h.Sym<void* (*)()>(f, "where")()), out_sym.addr);
    h.Unlink(f);
  }
  EXPECT_EQ(h.used(), 0u);

  // The same module built with -fPIC links and runs.
  std::string pic = scratch.Compile(cc(), "say_pic.c", R"(
#include <stdio.h>
int say(void) { return fputs("", stdout); }
)",
                                    {"-fPIC"});
  LinkerFile* f = h.MustLink({pic});
  ASSERT_NE(f, nullptr);
  EXPECT_GE(h.Sym<int (*)()>(f, "say")(), 0);
}

// A -fno-pic file takes a library function's address as a 32-bit immediate:
// the file's own stub (low, like the file) is that address, the same for
// every reference in every object of the file (the role of a PLT entry).
TEST_P(NoPicTest, LibraryFunctionAddressIsOneCanonicalStub) {
  const char* const kSource = R"(
#include <string.h>
typedef size_t (*len_fn)(const char *);
len_fn NAME(void) { return strlen; }
size_t NAME_call(const char *s) { return strlen(s); }
)";
  std::string a_src = kSource, b_src = kSource;
  for (std::string* src : {&a_src, &b_src}) {
    const char* name = src == &a_src ? "addr_a" : "addr_b";
    for (size_t at; (at = src->find("NAME")) != std::string::npos;)
      src->replace(at, 4, name);
  }
  std::string a = scratch.Compile(cc(), "a.c", a_src, {"-fno-pic", "-O0", "-fno-builtin"});
  std::string b = scratch.Compile(cc(), "b.c", b_src, {"-fno-pic", "-O2", "-fno-builtin"});
  ASSERT_FALSE(a.empty() || b.empty());
  LinkHarness h;
  LinkerFile* f = h.MustLink({a, b});
  ASSERT_NE(f, nullptr);
  using LenFn = size_t (*)(const char*);
  LenFn pa = h.Sym<LenFn (*)()>(f, "addr_a")();
  LenFn pb = h.Sym<LenFn (*)()>(f, "addr_b")();
  EXPECT_EQ(pa, pb);
  EXPECT_EQ(pa("abcd"), 4u);
  EXPECT_EQ(h.Sym<size_t (*)(const char*)>(f, "addr_a_call")("hello"), 5u);
  EXPECT_EQ(h.Sym<size_t (*)(const char*)>(f, "addr_b_call")("hi"), 2u);
  bool abs32 = false;
  for (const Reloc& r : Relocations(a))
    abs32 |= r.symbol == "strlen" && IsAbs32(r.type);
  if (abs32) {
    EXPECT_LT(reinterpret_cast<uintptr_t>(pa), 0x80000000u) << "the stub lies low, like the file";
    const link::Block& text = f->blocks[static_cast<int>(Class::kText)];
    EXPECT_TRUE(reinterpret_cast<uintptr_t>(pa) >= text.base &&
                reinterpret_cast<uintptr_t>(pa) < text.base + text.size)
        << "the address is the file's stub";
  }
}

// Read-only library data a -fno-pic file reads (C++ typeinfo) is copied into
// the file; exceptions still match the library's types across the boundary.
TEST_P(NoPicTest, CxxExceptionsWorkThroughReadOnlyCopies) {
  MK_X86_64_ONLY();
  std::string obj = scratch.Compile(cc(), "ex.cc", R"(
#include <stdexcept>
extern "C" void throw_it(int v) { if (v) throw std::runtime_error("no-pic throw"); }
extern "C" int catch_it() {
  try { throw_it(1); } catch (const std::exception &e) { return 1; }
  return 0;
}
)",
                                    {"-fno-pic"});
  ASSERT_FALSE(obj.empty());
  LinkHarness h;
  LinkerFile* f = h.MustLink({obj});
  ASSERT_NE(f, nullptr);
  EXPECT_LT(reinterpret_cast<uintptr_t>(h.Sym<void*>(f, "catch_it")), 0x80000000u);
  EXPECT_EQ(h.Sym<int (*)()>(f, "catch_it")(), 1);
  try {
    h.Sym<void (*)(int)>(f, "throw_it")(1);
    ADD_FAILURE() << "no exception";
  } catch (const std::runtime_error& e) {
    EXPECT_STREQ(e.what(), "no-pic throw");
  }
}

INSTANTIATE_TEST_SUITE_P(Compilers, NoPicTest, ::testing::ValuesIn(AllCompilers()),
                         [](const auto& p) { return std::string(p.param.label); });

// ---------------------------------------------------------------------------
// Rollback: a failed link leaves nothing behind.

struct Snapshot {
  size_t used, files, live;
};
Snapshot Take(LinkHarness& h) {
  return {h.used(), h.files.size(), h.alloc.live_allocations()};
}
void ExpectUnchanged(LinkHarness& h, const Snapshot& s) {
  EXPECT_EQ(h.used(), s.used) << "arena bytes leaked";
  EXPECT_EQ(h.files.size(), s.files);
  EXPECT_EQ(h.alloc.live_allocations(), s.live) << "bookkeeping leaked";
}

class RollbackTest : public ::testing::Test {
 protected:
  void SetUp() override {
    good = scratch.Compile(kGcc, "good.c", R"(
int good_data[100] = {1};
const char good_text[] = "rodata";
int good(void) { return good_data[0]; }
)");
    ASSERT_FALSE(good.empty());
    // Something already loaded, so the arena has chunks with blocks in them.
    ASSERT_NE(h.MustLink({good}), nullptr);
  }
  Scratch scratch;
  LinkHarness h;
  std::string good;
};

TEST_F(RollbackTest, ObjectThatFailsValidation) {
  std::vector<uint8_t> bytes = ReadBytes(good);
  bytes.resize(40);
  std::string bad = scratch.path("truncated.o");
  { std::ofstream(bad, std::ios::binary).write(reinterpret_cast<char*>(bytes.data()), 40); }
  Snapshot s = Take(h);
  Result<LinkerFile*> f = h.Link({good, bad});
  ASSERT_FALSE(f.ok());
  EXPECT_EQ(f.error().code(), Errc::kMalformed);
  EXPECT_EQ(std::string(f.error().message()).rfind(bad + ": ", 0), 0u) << f.error().message();
  ExpectUnchanged(h, s);
}

TEST_F(RollbackTest, UnresolvedSymbol) {
  std::string obj = scratch.Compile(kGcc, "un.c", R"(
extern int nowhere(void);
int big[1000] = {1};
int f(void) { return nowhere() + big[0]; }
)");
  Snapshot s = Take(h);
  EXPECT_LINK_ERROR(h.Link({obj}), Errc::kUnresolved,
                    "undefined symbol `nowhere' (referenced from " + obj + " .text+" +
                        Hex(FirstRelocationTo(obj, ".text", "nowhere")) + ")");
  ExpectUnchanged(h, s);
}

// A file's sections name their input object in 16 bits: a request of more
// objects than that is refused before anything is done.
TEST_F(RollbackTest, MoreObjectsThanAFileCanName) {
  std::vector<uint8_t> bytes = ReadBytes(good);
  Result<elf::ValidatedObject> obj =
      elf::validate(ByteView(bytes.data(), bytes.size()), arch::rules_for, h.alloc);
  ASSERT_TRUE(obj.ok()) << obj.error().message();
  std::vector<const elf::ValidatedObject*> many(link::kMaxLinkObjects + 1, &obj.value());
  link::LinkRequest req;
  req.objects = many.data();
  req.count = many.size();
  Snapshot s = Take(h);
  EXPECT_LINK_ERROR(h.linker.link(req), Errc::kUnsupported,
                    "link: 65536 objects in one request; at most 65535 link into one file (a "
                    "file's sections name their object in 16 bits): link them as several files");
  ExpectUnchanged(h, s);
}

// Fails in "apply", after every block is allocated and copied.
TEST_F(RollbackTest, RelocationOverflowAtApply) {
  MK_X86_64_ONLY();
  std::string obj = scratch.Compile(kGcc, "narrow.s", R"(
        .text
        .globl fn
fn:     movl $1, %eax
        ret
        .section .rodata
        .byte 1
        .data
        .globl small
small:  .quad 1
        .short big_value
)");
  ASSERT_FALSE(obj.empty());
  h.Export("big_value", reinterpret_cast<void*>(0x123456), elf::STT_OBJECT, 4);
  Snapshot s = Take(h);
  EXPECT_LINK_ERROR(h.Link({obj}), Errc::kRange,
                    obj +
                        ": relocation R_X86_64_16 at .data+0x8 to `big_value' out of range "
                        "(value 0x123456)");
  ExpectUnchanged(h, s);
}

// Links obj, whose 32-bit word `field' a relocation of `kind' to `target'
// fills: when `fits', the word holds value's low half and the next word is
// untouched; else the link fails with the kind's range error. *field: the
// field when it was filled, else nullptr.
void ExpectFieldBoundary(LinkHarness& h, const std::string& obj, const std::string& kind,
                         const std::string& target, bool fits, uint64_t value,
                         const uint32_t** field = nullptr) {
  if (field != nullptr) *field = nullptr;
  if (!fits) {
    EXPECT_LINK_ERROR(h.Link({obj}), Errc::kRange,
                      obj + ": relocation " + kind + " at .data+0x0 to `" + target +
                          "' out of range (value " + Hex(value) +
                          "); rebuild the module with -fPIC");
    return;
  }
  LinkerFile* f = h.MustLink({obj});
  ASSERT_NE(f, nullptr);
  const uint32_t* at = h.Sym<const uint32_t*>(f, "field");
  EXPECT_EQ(at[0], static_cast<uint32_t>(value));
  EXPECT_EQ(at[1], 0x5a5a5a5au) << "the next word is untouched";
  if (field != nullptr) *field = at;
}

// apply()'s inline path checks a 32-bit field's range in one compare (the
// value biased by 2^31 for a signed field): a boundary pair per kind, the
// last value in range stored, the first out of range refused with the
// kind's error. `edge' (an export at 0x7ffffff0) plus an addend makes each
// value; the export itself fits 31 bits, so only apply() can refuse.
TEST(ApplyInline, ThirtyTwoBitFieldsStoreTheirLastValueAndRefuseTheNext) {
  MK_X86_64_ONLY();
  struct Case {
    const char* kind;
    const char* addend;  // to edge = 0x7ffffff0
    bool fits;
    uint64_t value;  // S + A
  };
  const Case cases[] = {
      {"R_X86_64_32", "0x8000000f", true, 0xffffffff},
      {"R_X86_64_32", "0x80000010", false, 0x100000000},
      {"R_X86_64_32", "-0x7ffffff0", true, 0},
      {"R_X86_64_32", "-0x7ffffff1", false, 0xffffffffffffffff},
      {"R_X86_64_32S", "0xf", true, 0x7fffffff},
      {"R_X86_64_32S", "0x10", false, 0x80000000},
      {"R_X86_64_32S", "-0xfffffff0", true, 0xffffffff80000000},
      {"R_X86_64_32S", "-0xfffffff1", false, 0xffffffff7fffffff},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(std::string(c.kind) + " + " + c.addend);
    Scratch scratch;
    std::string obj = scratch.Compile(kGcc, "field.s",
                                      std::string(R"(
        .data
        .globl field
field:  .long 0x5a5a5a5a
        .reloc field, )") + c.kind + ", edge + " +
                                          c.addend + R"(
        .long 0x5a5a5a5a
)");
    ASSERT_FALSE(obj.empty());
    LinkHarness h;
    h.Export("edge", reinterpret_cast<void*>(0x7ffffff0), elf::STT_OBJECT, 4);
    ExpectFieldBoundary(h, obj, c.kind, "edge", c.fits, c.value);
  }
}

// A relocation section whose entries' types all take one inline form runs
// a loop of that form alone (apply(): x86_64's PC32 and PLT32 share the
// signed PC-relative field, 64 the absolute word); a section that mixes
// forms takes the loop that looks up each entry's kind. The same boundary
// pair through both: `to' lies `gap' bytes past the field, so S + A - P is
// gap + addend wherever the file lands.
TEST(ApplyOneForm, PcRelativeFieldsStoreTheirLastValueAndRefuseTheNextInEitherLoop) {
  MK_X86_64_ONLY();
  struct Case {
    const char* addend;  // to `to', 0x10 past the field
    bool fits;
    uint64_t value;  // S + A - P
  };
  const Case cases[] = {
      {"0x7fffffef", true, 0x7fffffff},
      {"0x7ffffff0", false, 0x80000000},
      {"-0x80000010", true, 0xffffffff80000000},
      {"-0x80000011", false, 0xffffffff7fffffff},
  };
  for (bool mixed : {false, true}) {
    for (const Case& c : cases) {
      SCOPED_TRACE(std::string(mixed ? "mixed" : "one form") + ", to + " + c.addend);
      Scratch scratch;
      // The mixed section also holds a 64-bit word (R_X86_64_64): two forms.
      std::string obj = scratch.Compile(kGcc, "pc.s",
                                        std::string(R"(
        .data
        .globl field
field:  .long 0x5a5a5a5a
        .reloc field, R_X86_64_PC32, to + )") +
                                            c.addend +
                                            R"(
        .long 0x5a5a5a5a
)" + (mixed ? "        .quad to\n" : "        .quad 0\n") +
                                            R"(        .globl to
to:     .quad 0
)");
      ASSERT_FALSE(obj.empty());
      LinkHarness h;
      const uint32_t* field = nullptr;
      ExpectFieldBoundary(h, obj, "R_X86_64_PC32", "to", c.fits, c.value, &field);
      if (field != nullptr) {
        uint64_t word = 0;
        memcpy(&word, field + 2, 8);
        EXPECT_EQ(word, mixed ? reinterpret_cast<uintptr_t>(field) + 0x10 : 0u)
            << "the 64-bit word (mixed section) holds the address of `to'";
      }
    }
  }
}

// Fails in the last phase: the unwinder refuses the second object's
// .eh_frame after the first one's was registered.
class RefusingRuntime final : public CodeRuntime {
 public:
  bool register_eh_frame(uintptr_t begin, size_t size) override {
    registered.push_back(begin);
    if (registered.size() == refuse_at) return false;
    live.push_back(begin);
    return true;
  }
  void deregister_eh_frame(uintptr_t begin) override {
    auto it = std::find(live.begin(), live.end(), begin);
    if (it == live.end())
      ADD_FAILURE() << "deregistered " << Hex(begin) << ", which is not registered";
    else
      live.erase(it);
  }
  void finalize(uintptr_t) override {}
  size_t refuse_at = 2;
  std::vector<uintptr_t> registered, live;
};

TEST(Rollback, UnwinderRefusalUndoesEarlierRegistrations) {
  Scratch scratch;
  // Each with an .eh_frame (riscv64's gcc emits none by default).
  const std::vector<std::string> unwind{"-fasynchronous-unwind-tables"};
  std::string a = scratch.Compile(kGcc, "a.c", "int a(void) { return 1; }\n", unwind);
  std::string b = scratch.Compile(kGcc, "b.c", "int b(void) { return 2; }\n", unwind);
  ASSERT_FALSE(a.empty() || b.empty());
  RefusingRuntime rt;
  LinkHarness h(&rt);
  rt.refuse_at = 0;
  h.Unlink(h.MustLink({a}));  // the arena's chunks exist from now on
  rt.registered.clear();
  rt.refuse_at = 2;
  Snapshot s = Take(h);
  Result<LinkerFile*> f = h.Link({a, b});
  ASSERT_EQ(rt.registered.size(), 2u);
  EXPECT_LINK_ERROR(f, Errc::kInvalid,
                    b + ": the unwinder refused .eh_frame at " + Hex(rt.registered[1]));
  EXPECT_TRUE(rt.live.empty()) << "the first object's .eh_frame is still registered";
  ExpectUnchanged(h, s);
  // And a successful link registers both, unlink deregisters both.
  rt.refuse_at = 0;
  rt.registered.clear();
  LinkerFile* ok = h.MustLink({a, b});
  ASSERT_NE(ok, nullptr);
  EXPECT_EQ(rt.live.size(), 2u);
  h.Unlink(ok);
  EXPECT_TRUE(rt.live.empty());
}

// Every allocation the link makes fails in turn: each failure is a clean
// kNoMemory that leaves the arena and the heap as they were.
TEST_F(RollbackTest, EveryAllocationFailureRollsBack) {
  std::string a = scratch.Compile(kGcc, "a.c", R"(
#include <stdio.h>
extern int shared;
static int local = 3;
int use(void) { return printf("%d", shared + local); }
__attribute__((constructor)) static void init(void) { local = 4; }
)");
  std::string b =
      scratch.Compile(kGcc, "b.c", "int shared = 1;\nint other(void) { return 2; }\n", {"-fPIC"});
  ASSERT_FALSE(a.empty() || b.empty());
  Snapshot s = Take(h);
  int failures = 0;
  for (size_t n = 0;; ++n) {
    h.alloc.fail_after(n);
    Result<LinkerFile*> f = h.Link({a, b});
    h.alloc.never_fail();
    if (f.ok()) {
      h.Unlink(f.value());
      ExpectUnchanged(h, s);
      break;
    }
    ++failures;
    ASSERT_EQ(f.error().code(), Errc::kNoMemory) << "after " << n << ": " << f.error().message();
    ExpectUnchanged(h, s);
    ASSERT_LT(n, 10000u);
  }
  EXPECT_GT(failures, 10);
}

}  // namespace
}  // namespace mk::test
