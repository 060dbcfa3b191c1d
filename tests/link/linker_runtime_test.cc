// Tests of link/linker.h, the phases that run code: constructors and
// destructors (.init_array/.fini_array with priorities, .ctors/.dtors) in the
// order a natively linked program runs them, __dso_handle and C++ static
// destructors at unlink, exceptions through .eh_frame registration, and
// init-only text released once constructors have run.
#include <gtest/gtest.h>

#include <stdexcept>
#include <string>
#include <vector>

#include "link/link_harness.h"

namespace mk::test {
namespace {

using link::Class;
using link::LinkerFile;
using link::LinkRequest;

std::vector<std::string> g_trace;
extern "C" void RecordTrace(const char* s) {
  g_trace.push_back(s);
}

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> out;
  size_t at = 0;
  while (at < text.size()) {
    size_t nl = text.find('\n', at);
    if (nl == std::string::npos) nl = text.size();
    out.push_back(text.substr(at, nl - at));
    at = nl + 1;
  }
  return out;
}

class RuntimeTest : public ::testing::TestWithParam<Compiler> {
 protected:
  const Compiler& cc() const { return GetParam(); }
  Scratch scratch;
};

// ---------------------------------------------------------------------------
// Constructor and destructor order

const char* const kCtorsA = R"(
extern void record(const char *);
__attribute__((constructor(101))) static void a_c101(void) { record("a ctor 101"); }
__attribute__((constructor(300))) static void a_c300(void) { record("a ctor 300"); }
__attribute__((constructor)) static void a_c1(void) { record("a ctor plain 1"); }
__attribute__((constructor)) static void a_c2(void) { record("a ctor plain 2"); }
__attribute__((destructor(101))) static void a_d101(void) { record("a dtor 101"); }
__attribute__((destructor(300))) static void a_d300(void) { record("a dtor 300"); }
__attribute__((destructor)) static void a_d1(void) { record("a dtor plain 1"); }
__attribute__((destructor)) static void a_d2(void) { record("a dtor plain 2"); }
)";

const char* const kCtorsB = R"(
extern void record(const char *);
__attribute__((constructor(200))) static void b_c200(void) { record("b ctor 200"); }
__attribute__((constructor(101))) static void b_c101(void) { record("b ctor 101"); }
__attribute__((constructor)) static void b_c1(void) { record("b ctor plain"); }
__attribute__((destructor(200))) static void b_d200(void) { record("b dtor 200"); }
__attribute__((destructor(101))) static void b_d101(void) { record("b dtor 101"); }
__attribute__((destructor)) static void b_d1(void) { record("b dtor plain"); }
)";

// The old style: .ctors/.dtors tables, run last entry first.
const char* const kCtorsOld = R"(
extern void record(const char *);
static void c1(void) { record("ctors entry 1"); }
static void c2(void) { record("ctors entry 2"); }
static void c3(void) { record("ctors.65000 entry"); }
static void d1(void) { record("dtors entry 1"); }
static void d2(void) { record("dtors entry 2"); }
static void d3(void) { record("dtors.65000 entry"); }
__attribute__((section(".ctors"), used)) static void (*ctors[])(void) = {c1, c2};
__attribute__((section(".dtors"), used)) static void (*dtors[])(void) = {d1, d2};
__attribute__((section(".ctors.65000"), used)) static void (*ctors_p[])(void) = {c3};
__attribute__((section(".dtors.65000"), used)) static void (*dtors_p[])(void) = {d3};
)";

const char* const kNativeMain = R"(
#include <stdio.h>
void record(const char *s) { printf("%s\n", s); }
int main(void) { record("main"); return 0; }
)";

// The oracle: the same objects linked natively, run; then through modkit.
void ExpectSameOrderAsNative(Scratch& scratch, const Compiler& cc,
                             const std::vector<std::pair<std::string, const char*>>& sources) {
  std::vector<std::string> objects, native_inputs;
  for (const auto& [name, text] : sources) {
    objects.push_back(scratch.Compile(cc, name, text));
    ASSERT_FALSE(objects.back().empty());
  }
  native_inputs = objects;
  native_inputs.push_back(scratch.Compile(cc, "main.c", kNativeMain));
  std::string exe = scratch.LinkNative(cc, "native", native_inputs);
  ASSERT_FALSE(exe.empty());
  RunResult native = Run(Quote(exe));
  ASSERT_EQ(native.status, 0) << native.output;
  std::vector<std::string> want = Lines(native.output);

  LinkHarness h;
  h.Export("record", reinterpret_cast<void*>(&RecordTrace));
  g_trace.clear();
  LinkerFile* f = h.MustLink(objects);
  ASSERT_NE(f, nullptr);
  g_trace.push_back("main");
  h.Unlink(f);
  EXPECT_EQ(g_trace, want);
}

TEST_P(RuntimeTest, InitAndFiniArraysRunInNativeOrder) {
  ExpectSameOrderAsNative(scratch, cc(), {{"a.c", kCtorsA}, {"b.c", kCtorsB}});
}

TEST_P(RuntimeTest, CtorsAndDtorsSectionsRunInNativeOrder) {
  ExpectSameOrderAsNative(scratch, cc(), {{"old.c", kCtorsOld}});
}

TEST_P(RuntimeTest, MixedStylesAcrossObjectsRunInNativeOrder) {
  ExpectSameOrderAsNative(scratch, cc(),
                          {{"a.c", kCtorsA}, {"old.c", kCtorsOld}, {"b.c", kCtorsB}});
}

TEST_P(RuntimeTest, ConstructorsGetArgcArgvEnvp) {
  std::string obj = scratch.Compile(cc(), "args.c", R"(
static int seen_argc; static char **seen_argv; static char **seen_envp;
__attribute__((constructor)) static void init(int argc, char **argv, char **envp) {
  seen_argc = argc; seen_argv = argv; seen_envp = envp;
}
int get_argc(void) { return seen_argc; }
char **get_argv(void) { return seen_argv; }
char **get_envp(void) { return seen_envp; }
)");
  ASSERT_FALSE(obj.empty());
  LinkHarness h;
  char a0[] = "prog", a1[] = "arg";
  char* argv[] = {a0, a1, nullptr};
  char e0[] = "K=V";
  char* envp[] = {e0, nullptr};
  LinkRequest req;
  req.argc = 2;
  req.argv = argv;
  req.envp = envp;
  LinkerFile* f = h.MustLink({obj}, req);
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(h.Sym<int (*)()>(f, "get_argc")(), 2);
  EXPECT_EQ(h.Sym<char** (*)()>(f, "get_argv")(), argv);
  EXPECT_EQ(h.Sym<char** (*)()>(f, "get_envp")(), envp);
}

TEST_P(RuntimeTest, DeferredConstructorsRunOnceWhenAsked) {
  std::string obj = scratch.Compile(cc(), "late.c", R"(
extern void record(const char *);
__attribute__((constructor)) static void init(void) { record("init"); }
__attribute__((destructor)) static void fini(void) { record("fini"); }
)");
  ASSERT_FALSE(obj.empty());
  LinkHarness h;
  h.Export("record", reinterpret_cast<void*>(&RecordTrace));
  g_trace.clear();
  LinkRequest req;
  req.run_constructors = false;
  LinkerFile* f = h.MustLink({obj}, req);
  ASSERT_NE(f, nullptr);
  EXPECT_TRUE(g_trace.empty());
  EXPECT_FALSE(f->initialized);
  h.linker.run_constructors(*f, 0, nullptr, nullptr);
  h.linker.run_constructors(*f, 0, nullptr, nullptr);
  EXPECT_EQ(g_trace, (std::vector<std::string>{"init"}));
  h.Unlink(f);
  EXPECT_EQ(g_trace, (std::vector<std::string>{"init", "fini"}));
  // Never initialized: never finalized either.
  g_trace.clear();
  f = h.MustLink({obj}, req);
  h.Unlink(f);
  EXPECT_TRUE(g_trace.empty());
}

// ---------------------------------------------------------------------------
// __dso_handle and C++ static destructors

TEST_P(RuntimeTest, DsoHandleIsDistinctPerFileAndInItsData) {
  std::string obj = scratch.Compile(cc(), "dso.c", R"(
extern void *__dso_handle;
void *dso(void) { return &__dso_handle; }
)");
  std::string none = scratch.Compile(cc(), "none.c", "int nothing(void) { return 0; }\n");
  ASSERT_FALSE(obj.empty() || none.empty());
  LinkHarness h;
  LinkerFile* f1 = h.MustLink({obj});
  LinkerFile* f2 = h.MustLink({obj});
  LinkerFile* f3 = h.MustLink({none});
  ASSERT_TRUE(f1 && f2 && f3);
  uintptr_t d1 = reinterpret_cast<uintptr_t>(h.Sym<void* (*)()>(f1, "dso")());
  uintptr_t d2 = reinterpret_cast<uintptr_t>(h.Sym<void* (*)()>(f2, "dso")());
  EXPECT_NE(d1, d2);
  EXPECT_EQ(d1, f1->dso_handle());
  EXPECT_EQ(d2, f2->dso_handle());
  const link::Block& data = f1->blocks[static_cast<int>(Class::kData)];
  EXPECT_GE(d1, data.base);
  EXPECT_LE(d1 + 8, data.base + data.size);
  EXPECT_EQ(f3->dso_handle(), 0u);
}

extern "C" {
int ctor_log = 0;
int dtor_log = 0;
}

std::string TrackerSource(int first, int second, int local) {
  return R"(
extern "C" int ctor_log, dtor_log;
namespace {
struct Tracker {
  int id;
  explicit Tracker(int i) : id(i) { ctor_log = ctor_log * 10 + i; }
  ~Tracker() { dtor_log = dtor_log * 10 + id; }
};
Tracker first()" +
         std::to_string(first) + R"();
Tracker second()" +
         std::to_string(second) + R"();
}
extern "C" int touch() { static Tracker t()" +
         std::to_string(local) + R"(); return t.id; }
)";
}

TEST_P(RuntimeTest, CxxStaticDestructorsRunAtUnlinkInReverse) {
  for (const char* pic : {"-fPIE", "-fPIC"}) {
    SCOPED_TRACE(pic);
    std::string a =
        scratch.Compile(cc(), std::string("a") + pic + ".cc", TrackerSource(1, 2, 3), {pic});
    std::string b =
        scratch.Compile(cc(), std::string("b") + pic + ".cc", TrackerSource(4, 5, 6), {pic});
    ASSERT_FALSE(a.empty() || b.empty());
    LinkHarness h;
    h.Export("ctor_log", &ctor_log, elf::STT_OBJECT, sizeof ctor_log);
    h.Export("dtor_log", &dtor_log, elf::STT_OBJECT, sizeof dtor_log);
    ctor_log = dtor_log = 0;
    LinkerFile* fa = h.MustLink({a});
    LinkerFile* fb = h.MustLink({b});
    ASSERT_TRUE(fa && fb);
    EXPECT_EQ(ctor_log, 1245);
    EXPECT_EQ(h.Sym<int (*)()>(fa, "touch")(), 3);  // a function-local static, built now
    EXPECT_EQ(ctor_log, 12453);
    EXPECT_EQ(dtor_log, 0);
    h.Unlink(fa);  // only a's objects die, the last built first
    EXPECT_EQ(dtor_log, 321);
    h.Unlink(fb);
    EXPECT_EQ(dtor_log, 32154);
  }
}

// ---------------------------------------------------------------------------
// Exceptions

const char* const kThrowHeader = R"(
#include <stdexcept>
#include <string>
struct ModError : std::runtime_error {
  int code;
  ModError(const char *w, int c) : std::runtime_error(w), code(c) {}
};
inline void inline_thrower(int code) { throw ModError("inline", code); }
)";

const char* const kThrowA = R"(
extern "C" void note_cleanup();
namespace {
struct Guard { ~Guard() { note_cleanup(); } };
void thrower(int n) { Guard g; if (n == 0) throw ModError("deep", 7); thrower(n - 1); }
}
extern "C" int catch_inside() {
  try { thrower(5); } catch (const ModError &e) { return e.code; }
  return -1;
}
extern "C" void throw_out(int code) { throw std::runtime_error("from module " + std::to_string(code)); }
extern "C" void throw_custom() { Guard g; thrower(3); }
extern "C" void host_throws();
extern "C" int catch_host() {
  try { host_throws(); } catch (const std::logic_error &e) { return 1; }
  return 0;
}
extern "C" void pass_host_through() { Guard g; host_throws(); }
extern "C" void throw_inline_a() { inline_thrower(11); }
)";

const char* const kThrowB = R"(
extern "C" void throw_inline_b() { inline_thrower(12); }
extern "C" int catch_inline_b() {
  try { inline_thrower(13); } catch (const ModError &e) { return e.code; }
  return -1;
}
)";

// A function, not data: default (PIE) code reads imported data PC-relatively,
// and libstdc++'s typeinfo (which it also reads so) is too far from this
// executable's data for one placement to reach both.
int cleanups = 0;
extern "C" {
void NoteCleanup() {
  ++cleanups;
}
void HostThrows() {
  throw std::logic_error("from the host");
}
}

TEST_P(RuntimeTest, ExceptionsUnwindThroughModuleAndHost) {
  for (const char* opt : {"-O0", "-O2"}) {
    SCOPED_TRACE(opt);
    std::string a = scratch.Compile(cc(), std::string("a") + opt + ".cc",
                                    std::string(kThrowHeader) + kThrowA, {opt});
    std::string b = scratch.Compile(cc(), std::string("b") + opt + ".cc",
                                    std::string(kThrowHeader) + kThrowB, {opt});
    ASSERT_FALSE(a.empty() || b.empty());
    LinkHarness h;
    h.Export("note_cleanup", reinterpret_cast<void*>(&NoteCleanup));
    h.Export("host_throws", reinterpret_cast<void*>(&HostThrows));
    // Load and unload repeatedly: each load registers .eh_frame, each unload
    // must deregister it before the memory is reused.
    for (int round = 0; round < 20; ++round) {
      LinkerFile* f = h.MustLink({a, b});
      ASSERT_NE(f, nullptr);
      cleanups = 0;
      // Thrown and caught inside the module, six frames deep.
      EXPECT_EQ(h.Sym<int (*)()>(f, "catch_inside")(), 7);
      EXPECT_EQ(cleanups, 6);
      // Thrown by the module, caught by the host.
      try {
        h.Sym<void (*)(int)>(f, "throw_out")(round);
        ADD_FAILURE() << "no exception";
      } catch (const std::runtime_error& e) {
        EXPECT_EQ(std::string(e.what()), "from module " + std::to_string(round));
      }
      // A module-defined type, caught by the host through its base class.
      cleanups = 0;
      try {
        h.Sym<void (*)()>(f, "throw_custom")();
        ADD_FAILURE() << "no exception";
      } catch (const std::exception& e) {
        EXPECT_STREQ(e.what(), "deep");
      }
      EXPECT_EQ(cleanups, 5);
      // Thrown by the host, through module frames, caught by the module or host.
      EXPECT_EQ(h.Sym<int (*)()>(f, "catch_host")(), 1);
      cleanups = 0;
      EXPECT_THROW(h.Sym<void (*)()>(f, "pass_host_through")(), std::logic_error);
      EXPECT_EQ(cleanups, 1);
      // Thrown from the COMDAT inline function kept from a.o, called from
      // both objects (b.o's copy, and its unwind entry, were discarded).
      try {
        h.Sym<void (*)()>(f, "throw_inline_b")();
        ADD_FAILURE() << "no exception";
      } catch (const std::runtime_error& e) {
        EXPECT_STREQ(e.what(), "inline");
      }
      EXPECT_EQ(h.Sym<int (*)()>(f, "catch_inline_b")(), 13);
      EXPECT_THROW(h.Sym<void (*)()>(f, "throw_inline_a")(), std::runtime_error);
      h.Unlink(f);
    }
  }
}

// ---------------------------------------------------------------------------
// Init-only text

TEST_P(RuntimeTest, InitTextIsReleasedAfterConstructors) {
  std::string obj = scratch.Compile(cc(), "init.c", R"(
__attribute__((section(".init.text"), noinline)) static int compute(int x) { return 6 * x; }
static int value;
__attribute__((constructor, section(".init.text"))) static void setup(void) { value = compute(7); }
int get_value(void) { return value; }
)");
  ASSERT_FALSE(obj.empty());
  LinkHarness h;
  // Deferred constructors: the init text is there until they run.
  LinkRequest req;
  req.run_constructors = false;
  size_t before = h.used();
  LinkerFile* f = h.MustLink({obj}, req);
  ASSERT_NE(f, nullptr);
  const link::Block init = f->blocks[static_cast<int>(Class::kInitText)];
  ASSERT_GT(init.size, 0u);
  size_t linked = h.used();
  EXPECT_EQ(linked - before, f->memory());
  h.linker.run_constructors(*f, 0, nullptr, nullptr);
  EXPECT_EQ(h.Sym<int (*)()>(f, "get_value")(), 42);
  EXPECT_EQ(h.used(), linked - init.size);
  EXPECT_EQ(f->blocks[static_cast<int>(Class::kInitText)].size, 0u);
  EXPECT_EQ(f->memory(), linked - before - init.size);
  // With constructors run by link(), the file never holds it afterwards.
  LinkerFile* g = h.MustLink({obj});
  ASSERT_NE(g, nullptr);
  EXPECT_EQ(h.Sym<int (*)()>(g, "get_value")(), 42);
  EXPECT_EQ(g->blocks[static_cast<int>(Class::kInitText)].size, 0u);
  EXPECT_EQ(h.used(), linked - init.size + g->memory());
  h.Unlink(g);
  h.Unlink(f);
  EXPECT_EQ(h.used(), before);
}

// .preinit_array runs before every constructor, as in a program.
TEST_P(RuntimeTest, PreinitArrayRunsBeforeConstructors) {
  std::string obj = scratch.Compile(cc(), "preinit.c", R"(
extern void record(const char *);
static void early(void) { record("preinit"); }
__attribute__((constructor(101))) static void ctor(void) { record("ctor 101"); }
static void (*const preinit[])(void) __attribute__((section(".preinit_array"), used)) = {early};
)");
  ASSERT_FALSE(obj.empty());
  LinkHarness h;
  h.Export("record", reinterpret_cast<void*>(&RecordTrace));
  g_trace.clear();
  LinkerFile* f = h.MustLink({obj});
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(g_trace, (std::vector<std::string>{"preinit", "ctor 101"}));
  h.Unlink(f);
}

// Once init-only text is released, its symbols are no longer looked up: their
// addresses may already belong to the next file.
TEST_P(RuntimeTest, InitOnlySymbolsAreNotFoundAfterRelease) {
  std::string obj = scratch.Compile(cc(), "initsym.c", R"(
static int value;
__attribute__((section(".init.text"), noinline)) int init_helper(void) { return 42; }
__attribute__((constructor)) static void setup(void) { value = init_helper(); }
int get_value(void) { return value; }
)");
  ASSERT_FALSE(obj.empty());
  LinkHarness h;
  LinkerFile* f = h.MustLink({obj});
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(h.Sym<int (*)()>(f, "get_value")(), 42);
  EXPECT_EQ(f->find("init_helper"), nullptr);
  EXPECT_NE(f->find("get_value"), nullptr);
  h.Unlink(f);
}

// A default (PIE) C++ module that reads data of the host program and throws
// a library exception: the program's data and libstdc++'s typeinfo are more
// than 2 GiB apart, so the typeinfo (read-only) is copied into the module.
int g_host_counter = 0;

TEST_P(RuntimeTest, PieModuleReadsHostDataAndThrowsLibraryExceptions) {
  std::string obj = scratch.Compile(cc(), "spread.cc", R"(
#include <stdexcept>
extern int host_counter;
extern "C" int bump(void) {
  ++host_counter;
  try {
    throw std::runtime_error("spread");
  } catch (const std::exception& e) {
    return host_counter * 10 + (e.what()[0] == 's');
  }
}
)");
  ASSERT_FALSE(obj.empty());
  LinkHarness h;
  h.Export("host_counter", &g_host_counter, elf::STT_OBJECT, sizeof g_host_counter);
  g_host_counter = 4;
  LinkerFile* f = h.MustLink({obj});
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(h.Sym<int (*)()>(f, "bump")(), 51);
  EXPECT_EQ(g_host_counter, 5);
  h.Unlink(f);
}

INSTANTIATE_TEST_SUITE_P(Compilers, RuntimeTest, ::testing::ValuesIn(AllCompilers()),
                         [](const auto& p) { return std::string(p.param.label); });

}  // namespace
}  // namespace mk::test
