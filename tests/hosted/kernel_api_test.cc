// Tests of the C++ embedding API (include/modkit/modkit.hpp, hosted/kernel.cc)
// with modules compiled at test time by gcc and clang: load, call, look up,
// unload; ten thousand cycles that must leave the arena and the address space
// exactly as they were; no page writable and executable at once; errors with
// their exact category and message.
#include <gtest/gtest.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/stat.h>

#include <fstream>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "hosted/proc_maps.h"
#include "hosted/signing_key.h"
#include "link/toolchain.h"
#include "modkit/modkit.hpp"

namespace modkit {
namespace {

using mk::test::Compiler;
using mk::test::Scratch;

std::string Hex(uint64_t v) {
  char buf[32];
  snprintf(buf, sizeof buf, "0x%lx", static_cast<unsigned long>(v));
  return buf;
}

const char* ErrcName(Errc c) {
  static const char* const names[] = {"kMalformed", "kUnsupported", "kRange",     "kUnresolved",
                                      "kDuplicate", "kNoMemory",    "kNotFound",  "kBusy",
                                      "kInvalid",   "kIo",          "kPermission"};
  return names[static_cast<int>(c)];
}

#define EXPECT_API_ERROR(err, errc, text)               \
  do {                                                  \
    EXPECT_STREQ(ErrcName((err).code), ErrcName(errc)); \
    EXPECT_EQ((err).message, std::string(text));        \
  } while (0)

// What modules see of the host.
std::string g_printed;
extern "C" int HostPrintf(const char* fmt, ...) {
  char buf[512];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  g_printed += buf;
  return n;
}
extern "C" {
int kernel_ticks = 0;
int module_ctors = 0;
int module_dtors = 0;
}

void ExportHost(Kernel& k) {
  ASSERT_TRUE(k.export_symbol("kprintf", reinterpret_cast<void*>(&HostPrintf)));
  ASSERT_TRUE(k.export_symbol("kernel_ticks", &kernel_ticks, sizeof kernel_ticks, false));
  ASSERT_TRUE(k.export_symbol("module_ctors", &module_ctors, sizeof module_ctors, false));
  ASSERT_TRUE(k.export_symbol("module_dtors", &module_dtors, sizeof module_dtors, false));
}

const char* const kHello = R"(
extern int kprintf(const char *fmt, ...);
extern int kernel_ticks;
extern int module_ctors, module_dtors;
static const char greeting[] = "hello";
static int calls;
int counter = 5;
static int helper(int v) { return v * 2; }
__attribute__((visibility("hidden"))) int hidden_fn(void) { return 1; }
int hello(int v) {
  ++calls;
  kernel_ticks += v;
  return kprintf("%s %d %d\n", greeting, helper(v), calls);
}
__attribute__((constructor)) static void init(void) { ++module_ctors; }
__attribute__((destructor)) static void fini(void) { ++module_dtors; }
)";

class KernelApiTest : public ::testing::TestWithParam<Compiler> {
 protected:
  const Compiler& cc() const { return GetParam(); }
  std::string Hello(const std::vector<std::string>& flags = {}) {
    return scratch.Compile(cc(), "hello.c", kHello, flags);
  }
  Scratch scratch;
};

TEST_P(KernelApiTest, LoadCallLookUpUnload) {
  std::string obj = Hello();
  ASSERT_FALSE(obj.empty());
  Kernel k;
  ExportHost(k);
  EXPECT_EQ(k.arena_used(), 0u);
  module_ctors = module_dtors = 0;
  kernel_ticks = 0;
  g_printed.clear();
  Error err;
  File* f = k.load(obj, &err);
  ASSERT_NE(f, nullptr) << err.message;
  EXPECT_EQ(k.files(), 1u);
  EXPECT_GT(k.arena_used(), 0u);
  EXPECT_EQ(module_ctors, 1);
  auto hello = reinterpret_cast<int (*)(int)>(k.symbol(f, "hello"));
  ASSERT_NE(hello, nullptr);
  EXPECT_EQ(hello(21), 11);  // what kprintf returned: strlen("hello 42 1\n")
  EXPECT_EQ(hello(1), 10);
  EXPECT_EQ(g_printed, "hello 42 1\nhello 2 2\n");
  EXPECT_EQ(kernel_ticks, 22);
  int* counter = static_cast<int*>(k.symbol(f, "counter"));
  ASSERT_NE(counter, nullptr);
  EXPECT_EQ(*counter, 5);
  k.unload(f);
  EXPECT_EQ(module_dtors, 1);
  EXPECT_EQ(k.files(), 0u);
  EXPECT_EQ(k.arena_used(), 0u);
}

// symbol() finds what the file exports: globals, not statics or hidden ones.
TEST_P(KernelApiTest, SymbolFindsGlobalsOnly) {
  std::string obj = Hello({"-O0"});
  ASSERT_FALSE(obj.empty());
  Kernel k;
  ExportHost(k);
  File* f = k.load(obj);
  ASSERT_NE(f, nullptr);
  EXPECT_NE(k.symbol(f, "hello"), nullptr);
  EXPECT_NE(k.symbol(f, "counter"), nullptr);
  EXPECT_EQ(k.symbol(f, "helper"), nullptr) << "a static function";
  EXPECT_EQ(k.symbol(f, "calls"), nullptr) << "a static variable";
  EXPECT_EQ(k.symbol(f, "greeting"), nullptr) << "a static constant";
  EXPECT_EQ(k.symbol(f, "hidden_fn"), nullptr) << "a hidden symbol";
  EXPECT_EQ(k.symbol(f, "kprintf"), nullptr) << "an import is not the file's";
  EXPECT_EQ(k.symbol(f, "init"), nullptr);
  EXPECT_EQ(k.symbol(f, "no_such_symbol"), nullptr);
  EXPECT_EQ(k.symbol(f, ""), nullptr);
}

TEST_P(KernelApiTest, LoadMemoryAndLoadObjects) {
  std::string a = scratch.Compile(
      cc(), "a.c", "extern int b_value(void);\nint a_value(void) { return b_value() + 1; }\n");
  std::string b = scratch.Compile(cc(), "b.c", "int b_value(void) { return 41; }\n");
  ASSERT_FALSE(a.empty() || b.empty());
  Kernel k;
  File* f = k.load_objects({a, b});
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(reinterpret_cast<int (*)()>(k.symbol(f, "a_value"))(), 42);
  EXPECT_EQ(reinterpret_cast<int (*)()>(k.symbol(f, "b_value"))(), 41);
  std::vector<uint8_t> bytes = mk::test::ReadBytes(b);
  File* g = k.load_memory(bytes.data(), bytes.size(), "b-in-memory");
  ASSERT_NE(g, nullptr);
  bytes.assign(bytes.size(), 0);  // the file no longer needs the input
  EXPECT_EQ(reinterpret_cast<int (*)()>(k.symbol(g, "b_value"))(), 41);
  EXPECT_EQ(k.files(), 2u);
  // Separate files: a alone does not see b's definition.
  Error err;
  EXPECT_EQ(k.load(a, &err), nullptr);
  EXPECT_API_ERROR(err, Errc::kUnresolved,
                   "undefined symbol `b_value' (referenced from " + a + " .text+" +
                       Hex(mk::test::FirstRelocationTo(a, ".text", "b_value")) + ")");
  k.unload(g);
  k.unload(f);
  EXPECT_EQ(k.arena_used(), 0u);
}

int g_notes[4];
extern "C" void Note(int what) {
  ++g_notes[what];
}

// The issue's test: one module loaded and unloaded ten thousand times leaves
// the arena exactly where it started, and maps nothing new.
TEST_P(KernelApiTest, TenThousandLoadUnloadCyclesLeaveNothingBehind) {
  // Text, rodata, data, bss, .eh_frame, a constructor and a C++ static
  // destructor (through __cxa_atexit and __dso_handle), an exception.
  std::string obj = scratch.Compile(cc(), "cycle.cc", R"(
#include <stdexcept>
extern "C" void note(int what);
namespace {
struct Obj { Obj() { note(1); } ~Obj() { note(2); } } global_obj;
int table[256] = {1, 2, 3};
int zeroed[1024];
const char text[] = "some read-only data";
}
extern "C" int work(int v) {
  try {
    if (v % 100 == 0) throw std::runtime_error(text);
  } catch (const std::exception &) {
    note(3);
  }
  zeroed[v & 1023] += 1;
  return table[v & 255] + v + zeroed[v & 1023] - 1;
}
)",
                                    {"-O2"});
  ASSERT_FALSE(obj.empty());
  Kernel k(Options{.host_symbols = true});
  ASSERT_TRUE(k.export_symbol("note", reinterpret_cast<void*>(&Note)));
  g_notes[1] = g_notes[2] = g_notes[3] = 0;
  // The first cycle maps the arena's chunks; they stay for the next loads.
  File* first = k.load(obj);
  ASSERT_NE(first, nullptr);
  k.unload(first);
  const size_t start_used = k.arena_used();
  EXPECT_EQ(start_used, 0u);
  const size_t start_maps = mk::test::ReadMaps().size();
  const size_t start_memfd_maps = mk::test::MemfdMappings();
  EXPECT_GT(start_memfd_maps, 0u);
  const size_t start_fds = mk::test::OpenDescriptors();
  constexpr int kCycles = 10000;
  for (int i = 0; i < kCycles; ++i) {
    Error err;
    File* f = k.load(obj, &err);
    ASSERT_NE(f, nullptr) << "cycle " << i << ": " << err.message;
    auto work = reinterpret_cast<int (*)(int)>(k.symbol(f, "work"));
    ASSERT_EQ(work(i), (i & 255) < 3 ? i + (i & 255) + 1 : i) << "cycle " << i;
    k.unload(f);
    ASSERT_EQ(k.arena_used(), start_used) << "cycle " << i;
  }
  EXPECT_EQ(k.files(), 0u);
  EXPECT_EQ(g_notes[1], kCycles + 1) << "constructors";
  EXPECT_EQ(g_notes[2], kCycles + 1) << "destructors";
  EXPECT_EQ(g_notes[3], kCycles / 100) << "exceptions caught";
  EXPECT_EQ(mk::test::MemfdMappings(), start_memfd_maps) << "the arena mapped more";
  if (!mk::test::kSanitized) {
    EXPECT_EQ(mk::test::ReadMaps().size(), start_maps) << "the address space grew";
  }
  EXPECT_EQ(mk::test::OpenDescriptors(), start_fds);
}

// Files are packed into shared chunks: loading many costs no mapping each.
TEST_P(KernelApiTest, ManyLoadedFilesShareAFewMappings) {
  std::string obj = Hello();
  ASSERT_FALSE(obj.empty());
  Kernel k;
  ExportHost(k);
  std::vector<File*> files;
  constexpr int kFiles = 500;
  for (int i = 0; i < kFiles; ++i) {
    File* f = k.load(obj);
    ASSERT_NE(f, nullptr);
    files.push_back(f);
  }
  EXPECT_EQ(k.files(), static_cast<size_t>(kFiles));
  // Text and rodata: one chunk each, two views each (a few more if the
  // kernel splits a view's entry).
  EXPECT_LE(mk::test::MemfdMappings(), 8u);
  // Each file has its own data.
  int* c0 = static_cast<int*>(k.symbol(files[0], "counter"));
  int* c1 = static_cast<int*>(k.symbol(files[kFiles - 1], "counter"));
  ASSERT_NE(c0, c1);
  *c0 = 99;
  EXPECT_EQ(*c1, 5);
  const size_t per_file = k.arena_used() / kFiles;
  for (size_t i = 0; i < files.size(); i += 2)
    k.unload(files[i]);
  EXPECT_EQ(k.arena_used(), per_file * (kFiles / 2));
  for (size_t i = 1; i < files.size(); i += 2)
    k.unload(files[i]);
  EXPECT_EQ(k.arena_used(), 0u);
}

// File records come from the Kernel's slabs (hosted/kernel.cc): more files
// than one slab holds load, each with its own record; an unloaded file's
// record serves a later load, and unloading it a second time (before any
// load reuses it) changes nothing.
TEST_P(KernelApiTest, FileRecordsAreReusedAndASecondUnloadIsRefused) {
  std::string obj = Hello();
  ASSERT_FALSE(obj.empty());
  Kernel k;
  ExportHost(k);
  constexpr int kFiles = 400;  // more than two slabs of 170
  std::vector<File*> files;
  for (int i = 0; i < kFiles; ++i) {
    File* f = k.load(obj);
    ASSERT_NE(f, nullptr);
    files.push_back(f);
  }
  std::set<File*> distinct(files.begin(), files.end());
  EXPECT_EQ(distinct.size(), files.size());
  std::set<File*> freed;
  for (size_t i = 0; i < files.size(); i += 2) {
    k.unload(files[i]);
    freed.insert(files[i]);
  }
  EXPECT_EQ(k.files(), static_cast<size_t>(kFiles / 2));
  const size_t arena = k.arena_used();
  k.unload(files[0]);  // already unloaded: refused
  k.unload(files[kFiles - 2]);
  EXPECT_EQ(k.files(), static_cast<size_t>(kFiles / 2));
  EXPECT_EQ(k.arena_used(), arena);
  for (size_t i = 1; i < files.size(); i += 2)
    ASSERT_NE(k.symbol(files[i], "hello"), nullptr) << i;
  for (int i = 0; i < kFiles / 2; ++i) {
    File* f = k.load(obj);
    ASSERT_NE(f, nullptr);
    EXPECT_EQ(freed.count(f), 1u) << "a load took a new record while " << freed.size()
                                  << " were free";
    freed.erase(f);
    EXPECT_NE(k.symbol(f, "hello"), nullptr);
    files[2 * static_cast<size_t>(i)] = f;
  }
  EXPECT_EQ(k.files(), static_cast<size_t>(kFiles));
  for (File* f : files)
    k.unload(f);
  EXPECT_EQ(k.files(), 0u);
  EXPECT_EQ(k.arena_used(), 0u);
}

// No page is ever writable and executable at once, whatever was loaded.
TEST_P(KernelApiTest, NoPageIsWritableAndExecutable) {
  ASSERT_TRUE(mk::test::WritableAndExecutable().empty()) << "before any load";
  std::vector<std::string> objs = {Hello(),
                                   scratch.Compile(cc(), "pic.c", kHello, {"-fPIC", "-O2"}),
                                   scratch.Compile(cc(), "nopic.c", R"(
static int table[4] = {1, 2, 3, 4};
int *get_table(void) { return table; }
)",
                                                   {"-fno-pic"}),
                                   scratch.Compile(cc(), "cxx.cc", R"(
#include <string>
std::string make(int n) { return std::string(n, 'x'); }
)")};
  Kernel k(Options{.host_symbols = true});
  ExportHost(k);
  std::vector<File*> files;
  for (const std::string& o : objs) {
    ASSERT_FALSE(o.empty());
    Error err;
    File* f = k.load(o, &err);
    ASSERT_NE(f, nullptr) << err.message;
    files.push_back(f);
  }
  for (const mk::test::MapsEntry& e : mk::test::WritableAndExecutable())
    ADD_FAILURE() << "writable and executable: " << e.line;
  // Module code runs from a mapping that is executable and not writable.
  uintptr_t code = reinterpret_cast<uintptr_t>(k.symbol(files[0], "hello"));
  bool found = false;
  for (const mk::test::MapsEntry& e : mk::test::ReadMaps()) {
    if (code >= e.lo && code < e.hi) {
      found = true;
      EXPECT_EQ(e.perms.substr(0, 3), "r-x") << e.line;
    }
  }
  EXPECT_TRUE(found);
  // Module data is writable and not executable.
  uintptr_t data = reinterpret_cast<uintptr_t>(k.symbol(files[0], "counter"));
  for (const mk::test::MapsEntry& e : mk::test::ReadMaps()) {
    if (data >= e.lo && data < e.hi) {
      EXPECT_EQ(e.perms.substr(0, 3), "rw-") << e.line;
    }
  }
  for (File* f : files)
    k.unload(f);
  EXPECT_TRUE(mk::test::WritableAndExecutable().empty());
}

TEST_P(KernelApiTest, UnresolvedSymbolsAreReportedThroughLoadOptions) {
  std::string obj = scratch.Compile(cc(), "missing.c", R"(
extern int gone_a(void); extern int gone_b;
int f(void) { return gone_a() + gone_b + gone_a(); }
)");
  ASSERT_FALSE(obj.empty());
  Kernel k;
  struct Seen {
    std::vector<std::string> lines;
  } seen;
  LoadOptions opts;
  opts.ctx = &seen;
  opts.on_unresolved = [](void* ctx, const char* name, const char* object, const char* section,
                          unsigned long offset) {
    static_cast<Seen*>(ctx)->lines.push_back(std::string(name) + " " + object + " " + section +
                                             "+" + Hex(offset));
  };
  const size_t used = k.arena_used();
  Error err;
  EXPECT_EQ(k.load(obj, &err, opts), nullptr);
  uint64_t a = mk::test::FirstRelocationTo(obj, ".text", "gone_a");
  uint64_t b = mk::test::FirstRelocationTo(obj, ".text", "gone_b");
  ASSERT_LT(a, b);
  EXPECT_EQ(seen.lines, (std::vector<std::string>{"gone_a " + obj + " .text+" + Hex(a),
                                                  "gone_b " + obj + " .text+" + Hex(b)}));
  EXPECT_API_ERROR(
      err, Errc::kUnresolved,
      "2 undefined symbols, the first `gone_a' (referenced from " + obj + " .text+" + Hex(a) + ")");
  EXPECT_EQ(k.files(), 0u);
  EXPECT_EQ(k.arena_used(), used);
}

TEST_P(KernelApiTest, HostSymbolsAreVisibleOnlyWhenAsked) {
  std::string obj = scratch.Compile(cc(), "libc.c", R"(
#include <string.h>
#include <stdio.h>
int measure(const char *s) { char buf[64]; snprintf(buf, sizeof buf, "<%s>", s); return (int)strlen(buf); }
)",
                                    {"-O0"});
  ASSERT_FALSE(obj.empty());
  {
    Kernel k;
    Error err;
    EXPECT_EQ(k.load(obj, &err), nullptr);
    EXPECT_EQ(err.code, Errc::kUnresolved);
    EXPECT_NE(err.message.find("undefined symbols, the first `"), std::string::npos) << err.message;
  }
  Kernel k(Options{.host_symbols = true});
  File* f = k.load(obj);
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(reinterpret_cast<int (*)(const char*)>(k.symbol(f, "measure"))("abc"), 5);
}

extern "C" void HostThrow() {
  throw std::invalid_argument("host says no");
}

TEST_P(KernelApiTest, ExceptionsCrossTheApiBoundary) {
  std::string obj = scratch.Compile(cc(), "ex.cc", R"(
#include <stdexcept>
extern "C" void host_throw();
extern "C" void module_throw(int v) { if (v) throw std::out_of_range("module says no"); }
extern "C" int module_catch() { try { host_throw(); } catch (const std::invalid_argument &) { return 1; } return 0; }
)");
  ASSERT_FALSE(obj.empty());
  Kernel k(Options{.host_symbols = true});
  ASSERT_TRUE(k.export_symbol("host_throw", reinterpret_cast<void*>(&HostThrow)));
  File* f = k.load(obj);
  ASSERT_NE(f, nullptr);
  try {
    reinterpret_cast<void (*)(int)>(k.symbol(f, "module_throw"))(1);
    ADD_FAILURE() << "no exception";
  } catch (const std::out_of_range& e) {
    EXPECT_STREQ(e.what(), "module says no");
  }
  EXPECT_EQ(reinterpret_cast<int (*)()>(k.symbol(f, "module_catch"))(), 1);
}

TEST_P(KernelApiTest, ConstructorsAndDestructorsOnRequest) {
  std::string obj = Hello();
  ASSERT_FALSE(obj.empty());
  Kernel k;
  ExportHost(k);
  module_ctors = module_dtors = 0;
  LoadOptions opts;
  opts.run_constructors = false;
  File* f = k.load(obj, nullptr, opts);
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(module_ctors, 0);
  k.run_constructors(f, 0, nullptr, nullptr);
  k.run_constructors(f, 0, nullptr, nullptr);
  EXPECT_EQ(module_ctors, 1);
  k.run_destructors(f);
  EXPECT_EQ(module_dtors, 1);
  k.unload(f);  // destructors already ran: not again
  EXPECT_EQ(module_dtors, 1);
}

TEST_P(KernelApiTest, DestroyingTheKernelUnloadsItsFiles) {
  std::string obj = Hello();
  ASSERT_FALSE(obj.empty());
  module_ctors = module_dtors = 0;
  {
    Kernel k;
    ExportHost(k);
    ASSERT_NE(k.load(obj), nullptr);
    ASSERT_NE(k.load(obj), nullptr);
    EXPECT_EQ(module_ctors, 2);
  }
  EXPECT_EQ(module_dtors, 2);
}

// lookup(): one kernel-wide answer by name, as dlsym(RTLD_DEFAULT): kernel
// exports first, then the earliest loaded file; hidden and static symbols
// never; an unload hands a name to the next definer and takes the rest away.
TEST_P(KernelApiTest, LookupFindsKernelExportsAndEveryFilesGlobals) {
  Scratch s;
  auto build = [&](const char* name, const std::string& src) {
    std::string obj = s.Compile(cc(), name, src);
    EXPECT_FALSE(obj.empty());
    return obj;
  };
  std::string a = build("a.c",
                        "int shared = 1; int only_a(void) { return 10; }\n"
                        "static int hid(void) { return 0; } int use_hid(void) { return hid(); }\n"
                        "__attribute__((visibility(\"hidden\"))) int hidden_a = 3;\n");
  std::string b = build("b.c", "int shared = 2; int only_b(void) { return 20; }\n");
  std::string c = build("c.c", "int shared = 3; int kernel_ticks = 4;\n");
  Kernel k;
  ExportHost(k);
  EXPECT_EQ(k.lookup("kernel_ticks"), &kernel_ticks);
  EXPECT_EQ(k.lookup("shared"), nullptr);
  File* fa = k.load(a);
  File* fb = k.load(b);
  ASSERT_NE(fa, nullptr);
  ASSERT_NE(fb, nullptr);
  EXPECT_EQ(k.lookup("shared"), k.symbol(fa, "shared"));
  EXPECT_EQ(k.lookup("only_a"), k.symbol(fa, "only_a"));
  EXPECT_EQ(k.lookup("only_b"), k.symbol(fb, "only_b"));
  EXPECT_EQ(k.lookup("hid"), nullptr) << "a static function";
  EXPECT_EQ(k.lookup("hidden_a"), nullptr) << "a hidden symbol";
  EXPECT_EQ(k.lookup("no_such_symbol"), nullptr);
  File* fc = k.load(c);
  ASSERT_NE(fc, nullptr);
  EXPECT_EQ(k.lookup("kernel_ticks"), &kernel_ticks) << "the kernel's export comes first";
  EXPECT_EQ(k.lookup("shared"), k.symbol(fa, "shared")) << "the earliest loaded comes first";
  k.unload(fa);
  EXPECT_EQ(k.lookup("only_a"), nullptr);
  EXPECT_EQ(k.lookup("shared"), k.symbol(fb, "shared")) << "handed to the next loaded";
  k.unload(fb);
  EXPECT_EQ(k.lookup("shared"), k.symbol(fc, "shared"));
  EXPECT_EQ(k.lookup("only_b"), nullptr);
  // A file loaded again after the others comes last.
  fa = k.load(a);
  ASSERT_NE(fa, nullptr);
  EXPECT_EQ(k.lookup("shared"), k.symbol(fc, "shared"));
  EXPECT_EQ(k.lookup("only_a"), k.symbol(fa, "only_a"));
  k.unload(fc);
  EXPECT_EQ(k.lookup("shared"), k.symbol(fa, "shared"));
  EXPECT_EQ(k.lookup("kernel_ticks"), &kernel_ticks);
  k.unload(fa);
  EXPECT_EQ(k.lookup("shared"), nullptr);
  EXPECT_EQ(k.lookup("only_a"), nullptr);
}

// Files loaded and unloaded between lookups (never indexed) leave nothing;
// an export added after a file defines the name takes it over, and the
// file's unload leaves the export.
TEST_P(KernelApiTest, LookupFollowsLoadsUnloadsAndLateExports) {
  Scratch s;
  std::string a = s.Compile(cc(), "a.c", "int late = 1; int fa_fn(void) { return 1; }\n");
  ASSERT_FALSE(a.empty());
  Kernel k;
  for (int i = 0; i < 3; ++i) {
    File* f = k.load(a);
    ASSERT_NE(f, nullptr);
    k.unload(f);
  }
  EXPECT_EQ(k.lookup("fa_fn"), nullptr);
  File* f = k.load(a);
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(k.lookup("late"), k.symbol(f, "late"));
  static int mine = 7;
  ASSERT_TRUE(k.export_symbol("late", &mine, sizeof mine, false));
  EXPECT_EQ(k.lookup("late"), &mine);
  k.unload(f);
  EXPECT_EQ(k.lookup("late"), &mine);
  EXPECT_EQ(k.lookup("fa_fn"), nullptr);
}

// lookup() hashes and compares names a word at a time: names that are
// prefixes of one another, with lengths on both sides of 4, 8 and 16 bytes,
// each find their own definition; one byte more or less finds nothing, and
// so does a name with a NUL inside (it is no symbol's name, though its C
// string prefix is).
TEST_P(KernelApiTest, LookupComparesWholeNamesOfEveryLength) {
  const std::string base = "abcdefghijklmnopqrstuvwxyz";
  const size_t lengths[] = {1, 3, 4, 5, 7, 8, 9, 15, 16, 17, 24, 25};
  std::string src;
  for (size_t n : lengths)
    src += "int " + base.substr(0, n) + " = " + std::to_string(n) + ";\n";
  Scratch s;
  std::string obj = s.Compile(cc(), "names.c", src);
  ASSERT_FALSE(obj.empty());
  Kernel k;
  File* f = k.load(obj);
  ASSERT_NE(f, nullptr);
  for (size_t n : lengths) {
    std::string name = base.substr(0, n);
    int* v = static_cast<int*>(k.lookup(name));
    ASSERT_NE(v, nullptr) << name;
    EXPECT_EQ(*v, static_cast<int>(n)) << name;
    EXPECT_EQ(v, k.symbol(f, name)) << name;
    std::string other = name;
    other.back() = 'Z';
    EXPECT_EQ(k.lookup(other), nullptr) << other;
    EXPECT_EQ(k.lookup(name + "_"), nullptr) << name << "_";
  }
  EXPECT_EQ(k.lookup("ab"), nullptr);  // between defined lengths 1 and 3
  EXPECT_EQ(k.lookup(""), nullptr);
  EXPECT_EQ(k.lookup(std::string("abcd\0efgh", 9)), nullptr);
  EXPECT_EQ(k.lookup(std::string("abcd\0", 5)), nullptr);
  EXPECT_NE(k.lookup(std::string("abcd", 4)), nullptr);
}

INSTANTIATE_TEST_SUITE_P(Compilers, KernelApiTest, ::testing::ValuesIn(mk::test::AllCompilers()),
                         [](const auto& p) { return std::string(p.param.label); });

TEST(KernelApiErrors, ExportOfATakenNameIsRefused) {
  Kernel k;
  static int one = 1, two = 2;
  EXPECT_TRUE(k.export_symbol("value", &one, sizeof one, false));
  EXPECT_FALSE(k.export_symbol("value", &two, sizeof two, false));
  Scratch s;
  std::string obj =
      s.Compile(mk::test::kGcc, "v.c", "extern int value;\nint get(void) { return value; }\n");
  File* f = k.load(obj);
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(reinterpret_cast<int (*)()>(k.symbol(f, "get"))(), 1);
}

// Modules name imports as C strings: a name with a NUL inside could never
// be resolved, and must not pose as its prefix.
TEST(KernelApiErrors, ExportOfANameWithANulIsRefused) {
  Kernel k;
  static int one = 1, two = 2;
  EXPECT_FALSE(k.export_symbol(std::string("value\0x", 7), &two, sizeof two, false));
  EXPECT_EQ(k.lookup("value"), nullptr);
  EXPECT_TRUE(k.export_symbol("value", &one, sizeof one, false));
  EXPECT_FALSE(k.export_symbol(std::string("value\0x", 7), &two, sizeof two, false));
  EXPECT_EQ(k.lookup("value"), &one);
}

// Kernel exports are found by the linker's hash among many: every one of a
// thousand resolves to its own address, and an unexported name stays
// undefined.
TEST(KernelApiErrors, EveryKernelExportResolvesToItsOwnAddress) {
  Kernel k;
  static int cells[1000];
  for (int i = 0; i < 1000; ++i)
    ASSERT_TRUE(k.export_symbol("cell_" + std::to_string(i), &cells[i], sizeof cells[i], false));
  std::string src;
  for (int i = 0; i < 1000; i += 37)
    src += "extern int cell_" + std::to_string(i) + ";\n";
  src += "int* at(int i) {\n  switch (i) {\n";
  for (int i = 0; i < 1000; i += 37)
    src += "    case " + std::to_string(i) + ": return &cell_" + std::to_string(i) + ";\n";
  src += "  }\n  return 0;\n}\n";
  Scratch s;
  std::string obj = s.Compile(mk::test::kGcc, "cells.c", src);
  ASSERT_FALSE(obj.empty());
  File* f = k.load(obj);
  ASSERT_NE(f, nullptr);
  auto at = reinterpret_cast<int* (*)(int)>(k.symbol(f, "at"));
  for (int i = 0; i < 1000; i += 37)
    EXPECT_EQ(at(i), &cells[i]) << i;
  std::string other = s.Compile(mk::test::kGcc, "other.c",
                                "extern int cell_1000;\nint* at2(void) { return &cell_1000; }\n");
  Error err;
  EXPECT_EQ(k.load(other, &err), nullptr);
  EXPECT_EQ(err.code, Errc::kUnresolved);
}

// A file is read whole, however large (several reads), and an empty one is
// refused by the validator, not read past.
TEST(KernelApiErrors, FilesAreReadWhole) {
  Scratch s;
  std::string src = "static const char pad[3 << 20] = {1};\nint first(void) { return pad[0]; }\n";
  std::string obj = s.Compile(mk::test::kGcc, "big.c", src);
  ASSERT_FALSE(obj.empty());
  Kernel k;
  File* f = k.load(obj);
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(reinterpret_cast<int (*)()>(k.symbol(f, "first"))(), 1);
  std::string empty = s.Write("empty.ko", "");
  Error err;
  EXPECT_EQ(k.load(empty, &err), nullptr);
  EXPECT_API_ERROR(err, Errc::kMalformed,
                   empty + ": ELF header: file size 0x0 is smaller than an ELF header (0x40)");
}

TEST(KernelApiErrors, MissingFileIsIo) {
  Kernel k;
  Error err;
  EXPECT_EQ(k.load("/nonexistent/dir/mod.ko", &err), nullptr);
  EXPECT_API_ERROR(err, Errc::kIo, "/nonexistent/dir/mod.ko: No such file or directory");
  EXPECT_EQ(k.load_objects({"/nonexistent/a.o"}, &err), nullptr);
  EXPECT_API_ERROR(err, Errc::kIo, "/nonexistent/a.o: No such file or directory");
}

TEST(KernelApiErrors, DirectoryIsNotARegularFile) {
  Scratch s;
  Kernel k;
  Error err;
  EXPECT_EQ(k.load(s.dir(), &err), nullptr);
  EXPECT_API_ERROR(err, Errc::kIo, s.dir() + ": not a regular file");
}

TEST(KernelApiErrors, NotAnElfFileIsMalformedAndNamesTheFile) {
  Scratch s;
  std::string path =
      s.Write("text.ko", std::string("this is not an ELF file") + std::string(100, '.'));
  Kernel k;
  Error err;
  EXPECT_EQ(k.load(path, &err), nullptr);
  EXPECT_API_ERROR(err, Errc::kMalformed,
                   path +
                       ": ELF header: bad magic 0x74 0x68 0x69 0x73 at 0x0 (expected 0x7f 0x45 "
                       "0x4c 0x46)");
  EXPECT_EQ(k.load_memory("\x7f"
                          "ELF",
                          4, "tiny", &err),
            nullptr);
  EXPECT_API_ERROR(err, Errc::kMalformed,
                   "tiny: ELF header: file size 0x4 is smaller than an ELF header (0x40)");
  EXPECT_EQ(k.files(), 0u);
  EXPECT_EQ(k.arena_used(), 0u);
}

// A failed load in the middle of loaded files changes nothing.
TEST(KernelApiErrors, FailedLoadLeavesStateUnchanged) {
  Scratch s;
  std::string good = s.Compile(mk::test::kGcc, "good.c", "int good(void) { return 1; }\n");
  std::string bad = s.Compile(
      mk::test::kGcc, "bad.c",
      "extern int nope(void);\nint data[64] = {1};\nint bad(void) { return nope() + data[0]; }\n");
  Kernel k;
  File* f = k.load(good);
  ASSERT_NE(f, nullptr);
  size_t used = k.arena_used();
  for (int i = 0; i < 100; ++i) {
    Error err;
    ASSERT_EQ(k.load(bad, &err), nullptr);
    ASSERT_EQ(err.code, Errc::kUnresolved);
    ASSERT_EQ(k.files(), 1u);
    ASSERT_EQ(k.arena_used(), used);
  }
  EXPECT_EQ(reinterpret_cast<int (*)()>(k.symbol(f, "good"))(), 1);
}

// Options::signature_policy: the same checks as the hosted kernel's
// (tests/hosted/signature_verifier_test.cc has every bad case), through the API.
TEST(KernelApiSignatures, EnforceWarnAndABadKeyFile) {
  Scratch s;
  std::string plain = s.Compile(mk::test::kGcc, "m.c", "int answer(void) { return 42; }\n");
  std::string err;
  ASSERT_TRUE(mk::hosted::generate_key_pair(s.path("k"), &err)) << err;
  mk::hosted::SecretKey key;
  ASSERT_TRUE(mk::hosted::read_secret_key(s.path("k"), &key, &err)) << err;
  std::vector<uint8_t> bytes = mk::test::ReadBytes(plain);
  std::vector<uint8_t> trailer = mk::hosted::sign_module(bytes, key);
  bytes.insert(bytes.end(), trailer.begin(), trailer.end());

  Options o;
  o.signature_policy = SignaturePolicy::kEnforce;
  o.trusted_keys = {s.path("k.pub")};
  Kernel k(o);
  Error e;
  EXPECT_EQ(k.load(plain, &e), nullptr);
  EXPECT_API_ERROR(e, Errc::kPermission,
                   plain +
                       ": refused by signature_policy enforce: not signed: the file does not end "
                       "in a signature trailer (sign it with `modkit sign --key KEY FILE`)");
  File* f = k.load_memory(bytes.data(), bytes.size(), "signed.ko", &e);
  ASSERT_NE(f, nullptr) << e.message;
  EXPECT_EQ(reinterpret_cast<int (*)()>(k.symbol(f, "answer"))(), 42);
  bytes[100] ^= 1;
  EXPECT_EQ(k.load_memory(bytes.data(), bytes.size(), "flipped.ko", &e), nullptr);
  EXPECT_EQ(e.message.rfind("flipped.ko: refused by signature_policy enforce: bad signature: ", 0),
            0u)
      << e.message;
  EXPECT_FALSE(k.set_signature_policy(SignaturePolicy::kOff, &e));
  EXPECT_API_ERROR(e, Errc::kPermission,
                   "signature_policy is enforce and cannot be lowered to off while the kernel "
                   "runs; change the configuration and restart");
  EXPECT_EQ(k.files(), 1u);

  // warn: loads, and says why through the log callback.
  std::vector<std::string> lines;
  Options w;
  w.signature_policy = SignaturePolicy::kWarn;
  w.log = [](void* ctx, const char* line) {
    static_cast<std::vector<std::string>*>(ctx)->push_back(line);
  };
  w.log_ctx = &lines;
  Kernel kw(w);
  EXPECT_NE(kw.load(plain, &e), nullptr) << e.message;
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0], plain +
                          ": signature not accepted, loading anyway (signature_policy warn): not "
                          "signed: the file does not end in a signature trailer (sign it with "
                          "`modkit sign --key KEY FILE`)");

  // A trusted key that cannot be read: every load fails, naming it.
  Options bad = o;
  bad.trusted_keys = {s.path("missing.pub")};
  Kernel kb(bad);
  EXPECT_EQ(kb.load(plain, &e), nullptr);
  EXPECT_API_ERROR(e, Errc::kInvalid,
                   "trusted key " + s.path("missing.pub") + ": No such file or directory");
}

}  // namespace
}  // namespace modkit
