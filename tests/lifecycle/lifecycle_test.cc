// The lifecycle suite (architecture.md, "Load" and "Unload"): every scenario
// runs against the sample modules of modules/, both ways the contract says
// must behave the same:
//   dynamic  loaded from their .ko files through System and its Registry
//            (lifecycle_dynamic_test), and
//   static   the same sources linked into this program, booted by
//            System::boot() from the image's modkit_modinfo section
//            (lifecycle_static_test, built with MODKIT_LIFECYCLE_STATIC=1).
// One source, one parameterised suite; each program instantiates the mode it
// was linked for. A static module is LIVE from boot, so "load" means "is
// there". The kernel image cannot be unloaded, and the registry has no
// module-level unload of a static module: scenarios that unload a static module
// assert that refusal exactly (a gap, marked GAP below) instead of skipping.
//
// Small modules the scenarios need besides the samples (a dependency cycle,
// users of a static or dynamic chain) are compiled at test time with the SDK's
// flags and `ld -r`, into a scratch directory indexed by the real `modkit xref`.
//
// Every check is exact: the error category and message, module states, the
// number of files, the arena's bytes in use, and the log lines (events are
// logged by the modules as "<module>: <EVENT>", the registry's own lines as
// "<file>: loaded (N modules)" and so on).
#include <stdint.h>
#include <stdlib.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "elf/elf.h"
#include "gtest/gtest.h"
#include "hosted/system.h"
#include "link/toolchain.h"

#ifndef MODKIT_LIFECYCLE_STATIC
#define MODKIT_LIFECYCLE_STATIC 0
#endif

#if MODKIT_LIFECYCLE_STATIC
// The static modules' exports (modules/*.c, linked into this program).
extern "C" {
int chain_base_version(void);
int chain_mid_value(void);
int chain_top_value(void);
void veto_set_busy(int busy);
int counter_next(void);
int counter_constructions(void);
}
#endif

namespace mk::test {
namespace {

using hosted::System;
using hosted::SystemConfig;
using module::File;
using module::Module;
using module::UnloadOptions;
using module::UnloadResult;
using module::VersionRange;
using Policy = UnloadOptions::Policy;
using Clock = std::chrono::steady_clock;

enum class Mode { kDynamic, kStatic };
void PrintTo(Mode m, std::ostream* os) {
  *os << (m == Mode::kStatic ? "static" : "dynamic");
}

constexpr Mode kThisProgram = MODKIT_LIFECYCLE_STATIC ? Mode::kStatic : Mode::kDynamic;
constexpr VersionRange kAny{0, UINT32_MAX, UINT32_MAX};  // the highest there is
// GAP: unload_module of a static module unloads its file, the kernel image.
constexpr char kKernelImageRefusal[] = "kernel: the kernel image cannot be unloaded";

std::string Join(const std::vector<std::string>& lines) {
  std::string out;
  for (const std::string& l : lines)
    out += "  | " + l + "\n";
  return out;
}

// Each of `want` is a line of `log`, in this order (other lines between).
::testing::AssertionResult InOrder(const std::vector<std::string>& log,
                                   const std::vector<std::string>& want) {
  auto at = log.begin();
  for (const std::string& w : want) {
    auto it = std::find(at, log.end(), w);
    if (it == log.end()) {
      return ::testing::AssertionFailure()
             << "no line \"" << w << "\" (in this order: " << ::testing::PrintToString(want)
             << ") in the log:\n"
             << Join(log);
    }
    at = it + 1;
  }
  return ::testing::AssertionSuccess();
}

// No line of `log` contains `text`.
::testing::AssertionResult NoLineWith(const std::vector<std::string>& log,
                                      const std::string& text) {
  for (const std::string& l : log)
    if (l.find(text) != std::string::npos)
      return ::testing::AssertionFailure() << "unexpected line \"" << l << "\" in the log:\n"
                                           << Join(log);
  return ::testing::AssertionSuccess();
}

// The lines of `log` that contain `text`, in order.
std::vector<std::string> LinesWith(const std::vector<std::string>& log, const std::string& text) {
  std::vector<std::string> out;
  for (const std::string& l : log)
    if (l.find(text) != std::string::npos) out.push_back(l);
  return out;
}

template <class T>
void ExpectError(const Result<T>& r, Errc code, const std::string& message) {
  ASSERT_FALSE(r) << "expected " << errc_name(code) << ": " << message;
  EXPECT_STREQ(errc_name(r.error().code()), errc_name(code)) << r.error().message();
  EXPECT_EQ(std::string(r.error().message()), message);
}

std::vector<std::string> Words(const std::string& s) {
  std::istringstream in(s);
  std::vector<std::string> out;
  for (std::string w; in >> w;)
    out.push_back(w);
  return out;
}

class Lifecycle : public ::testing::TestWithParam<Mode> {
 protected:
  void SetUp() override {
    SystemConfig c;
    c.module_path = {MODKIT_LIFECYCLE_MODULE_DIR, scratch_.dir()};
    sys_ = std::make_unique<System>(std::move(c));
#if MODKIT_LIFECYCLE_STATIC
    // The embedder's part for static modules (symtab/export_index.h): their
    // exports must be kernel symbols before boot, or nothing can bind to them.
    const struct {
      const char* name;
      void* addr;
    } exports[] = {
        {"chain_base_version", reinterpret_cast<void*>(&chain_base_version)},
        {"chain_mid_value", reinterpret_cast<void*>(&chain_mid_value)},
        {"chain_top_value", reinterpret_cast<void*>(&chain_top_value)},
        {"veto_set_busy", reinterpret_cast<void*>(&veto_set_busy)},
        {"counter_next", reinterpret_cast<void*>(&counter_next)},
        {"counter_constructions", reinterpret_cast<void*>(&counter_constructions)},
    };
    for (const auto& e : exports) {
      Result<void> r = sys_->exports().add_kernel_symbol(e.name, reinterpret_cast<uint64_t>(e.addr),
                                                         0, elf::STT_FUNC);
      ASSERT_TRUE(r) << r.error().message();
    }
#endif
    Result<File*> k = sys_->boot();
    ASSERT_TRUE(k) << k.error().message();
    // Static: the kernel and hello.ko, which the static module `nested` loads
    // from its LOAD handler while the kernel boots.
    ASSERT_EQ(files(), is_static() ? 2u : 1u) << Join(log());
  }

  void TearDown() override {
    sys_.reset();
  }

  bool is_static() const {
    return GetParam() == Mode::kStatic;
  }
  module::Registry& reg() {
    return sys_->registry();
  }
  size_t files() {
    return reg().file_count();
  }
  size_t arena_used() {
    return sys_->arena().stats().used;
  }
  std::vector<std::string> log() {
    return sys_->log();
  }
  size_t mark() {
    return sys_->log().size();
  }
  std::vector<std::string> log_since(size_t mark) {
    std::vector<std::string> all = log();
    return std::vector<std::string>(all.begin() + static_cast<long>(std::min(mark, all.size())),
                                    all.end());
  }

  // "LIVE", "GOING", ... or "absent".
  std::string state(const char* module) {
    Module* m = reg().find_module(module);
    return m == nullptr ? "absent" : module::state_name(m->state);
  }
  // The name of the file that declares `module`, or "".
  std::string file_of(const char* module) {
    Module* m = reg().find_module(module);
    return m == nullptr ? "" : m->file->name;
  }
  std::vector<std::string> file_names() {
    std::vector<std::string> out;
    reg().for_each_file(
        [](void* ctx, const File& f) {
          static_cast<std::vector<std::string>*>(ctx)->push_back(f.name);
        },
        &out);
    return out;
  }

  // Makes module `name` LIVE the way this mode has it: dynamic, loaded by
  // name through the hints index; static, LIVE in the kernel image since boot.
  void Present(const char* name) {
    if (is_static()) {
      ASSERT_EQ(state(name), "LIVE") << name;
      ASSERT_EQ(file_of(name), "kernel") << name;
      return;
    }
    Result<File*> f = reg().load_module(name, kAny);
    ASSERT_TRUE(f) << name << ": " << f.error().message();
    ASSERT_EQ(state(name), "LIVE") << name;
  }

  Result<File*> Load(const char* name) {
    return reg().load_module(name, kAny);
  }
  Result<UnloadResult> Unload(const char* name, UnloadOptions o = {}) {
    return reg().unload_module(name, o);
  }

  // GAP: a static module cannot be unloaded by name; the request reaches the
  // kernel image and is refused before any module is asked. Its modules stay.
  void ExpectStaticUnloadRefused(const char* name, UnloadOptions o = {}) {
    size_t m0 = mark();
    ExpectError(Unload(name, o), Errc::kInvalid, kKernelImageRefusal);
    EXPECT_EQ(state(name), "LIVE");
    EXPECT_TRUE(NoLineWith(log_since(m0), "QUIESCE"));
  }

  // An export's address from the kernel's export index (dynamic modules'
  // exports, and the static ones SetUp registered).
  template <class F>
  F* Export(const char* name) {
    const symtab::ExportEntry* e = sys_->exports().find(name);
    if (e == nullptr) {
      ADD_FAILURE() << "no export " << name;
      return nullptr;
    }
    return reinterpret_cast<F*>(e->addr);
  }

  // Compiles `source` (C) into scratch/<name>.ko as modkit_add_module does
  // (the SDK's flags, `ld -r`), then re-indexes the scratch directory with
  // `modkit xref`. Returns the .ko's path.
  std::string BuildKo(const std::string& name, const std::string& source) {
    std::vector<std::string> flags = Words(MODKIT_LIFECYCLE_MODULE_FLAGS);
    flags.push_back("-O2");
    flags.push_back(std::string("-I") + MODKIT_LIFECYCLE_SDK_DIR);
    std::string obj = scratch_.Compile(kGcc, name + ".c", source, flags);
    if (obj.empty()) return "";
    std::string ko = scratch_.path(name + ".ko");
    RunResult ld =
        mk::test::Run(std::string(MODKIT_LIFECYCLE_LD) + " -r -o " + Quote(ko) + " " + Quote(obj));
    EXPECT_EQ(ld.status, 0) << ld.output;
    RunResult x =
        mk::test::Run(std::string(MODKIT_LIFECYCLE_TOOL) + " xref " + Quote(scratch_.dir()));
    EXPECT_EQ(x.status, 0) << x.output;
    return ko;
  }

  Scratch scratch_;
  std::unique_ptr<System> sys_;
};

// A module that depends on `target` in [min, max] preferring `preferred`, and
// exports `<name>_value()`, which returns `call()`.
std::string UserSource(const std::string& name, const std::string& target, int min, int pref,
                       int max, const std::string& call) {
  std::string decl = call.substr(0, call.find('('));
  return "#include <modkit/module.h>\n"
         "int " +
         decl + "(void);\n" + "int " + name + "_value(void) { return " + call + "; }\n" +
         "MODKIT_MODULE(" + name + ", 1, NULL, NULL);\n" + "MODKIT_DEPEND(" + name + ", " + target +
         ", " + std::to_string(min) + ", " + std::to_string(pref) + ", " + std::to_string(max) +
         ");\n" + "MODKIT_EXPORT(" + name + ", " + name + "_value);\n";
}

// ---- loading ----

TEST_P(Lifecycle, TwoModulesInOneFileStartInDependencyOrder) {
  size_t before = files();
  size_t m0 = is_static() ? 0 : mark();
  Present("two_a");
  EXPECT_EQ(state("two_a"), "LIVE");
  EXPECT_EQ(state("two_b"), "LIVE");
  EXPECT_EQ(file_of("two_a"), is_static() ? "kernel" : "two_in_one.ko");
  EXPECT_EQ(file_of("two_b"), file_of("two_a"));
  EXPECT_EQ(files(), is_static() ? before : before + 1);
  // two_a is declared first but depends on two_b: two_b starts first.
  std::vector<std::string> order;
  for (Module* m : reg().find_module("two_a")->file->modules)
    if (std::string(m->name).rfind("two_", 0) == 0) order.push_back(m->name);
  EXPECT_EQ(order, (std::vector<std::string>{"two_b", "two_a"}));
  EXPECT_TRUE(InOrder(log_since(m0), {"two_b: LOAD", "two_a: LOAD"}));
  if (!is_static()) {
    EXPECT_EQ(LinesWith(log_since(m0), "loaded"),
              (std::vector<std::string>{"two_in_one.ko: loaded (2 modules)"}));
  }

  if (is_static()) return ExpectStaticUnloadRefused("two_b");
  // Unloading stops them in reverse: the dependent first.
  size_t m1 = mark();
  Result<UnloadResult> r = Unload("two_b");
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r.value(), UnloadResult::kDone);
  EXPECT_EQ(state("two_a"), "absent");
  EXPECT_EQ(state("two_b"), "absent");
  EXPECT_EQ(files(), before);
  EXPECT_TRUE(InOrder(log_since(m1), {"two_a: QUIESCE", "two_b: QUIESCE", "two_a: UNLOAD",
                                      "two_b: UNLOAD", "two_in_one.ko: unloaded"}));
}

TEST_P(Lifecycle, VersionSelection) {
  size_t before = files();
  size_t arena0 = arena_used();
  if (is_static()) {
    // chain_base version 2 is in the image: no file can provide it again.
    for (VersionRange r : {VersionRange{1, 2, 3}, VersionRange{4, 4, 9}})
      ExpectError(reg().load_module("chain_base", r), Errc::kDuplicate,
                  "module chain_base is already loaded (version 2, from kernel)");
    EXPECT_EQ(files(), before);
  } else {
    // The hints index has chain_base 1 (chain_base_v1.ko), 2 (chain_base.ko)
    // and 3 (chain_base_v3.ko).
    struct Case {
      VersionRange range;
      const char* file;
      int version;
      const char* why;
    };
    const Case cases[] = {
        {{1, 2, 3}, "chain_base.ko", 2, "preferred present: chosen, though 3 is higher"},
        {{1, 1, 3}, "chain_base_v1.ko", 1, "preferred present: chosen, though the lowest"},
        {{1, 4, 4}, "chain_base_v3.ko", 3, "preferred absent: the highest in range"},
        {{0, 0, 2}, "chain_base.ko", 2, "preferred absent: the highest in range, not 3"},
    };
    for (const Case& c : cases) {
      SCOPED_TRACE(c.why);
      Result<File*> f = reg().load_module("chain_base", c.range);
      ASSERT_TRUE(f) << f.error().message();
      EXPECT_STREQ(f.value()->name, c.file);
      EXPECT_EQ(reg().find_module("chain_base")->version, static_cast<uint32_t>(c.version));
      EXPECT_EQ(Export<int()>("chain_base_version")(), c.version);
      Result<UnloadResult> u = Unload("chain_base");
      ASSERT_TRUE(u) << u.error().message();
      EXPECT_EQ(files(), before);
      EXPECT_EQ(arena_used(), arena0);
    }
    // None in range.
    ExpectError(reg().load_module("chain_base", VersionRange{4, 4, 9}), Errc::kNotFound,
                "module chain_base (version 4..9) is not in the hints index of the module path; "
                "run `modkit xref` on the module directory");
    EXPECT_EQ(files(), before);
    EXPECT_EQ(arena_used(), arena0);

    // A loaded version in range satisfies a dependency: chain_mid (1..3,
    // preferring 2) takes the loaded version 1 rather than loading 2.
    ASSERT_TRUE(reg().load_module("chain_base", VersionRange{1, 1, 1}));
    ASSERT_TRUE(Load("chain_mid"));
    EXPECT_EQ(file_of("chain_base"), "chain_base_v1.ko");
    EXPECT_EQ(Export<int()>("chain_mid_value")(), 11);
    ASSERT_TRUE(Unload("chain_mid"));
    EXPECT_EQ(state("chain_base"), "LIVE");  // not loaded for chain_mid: stays
    ASSERT_TRUE(Unload("chain_base"));
    EXPECT_EQ(files(), before);
  }

  // A file needing chain_base 3..3. Dynamic: the hints index gives version 3.
  // Static: version 2 is in the image, out of range, and cannot be replaced.
  std::string ko =
      BuildKo("needs_v3", UserSource("needs_v3", "chain_base", 3, 3, 3, "chain_base_version()"));
  ASSERT_FALSE(ko.empty());
  size_t m0 = mark();
  Result<File*> f = reg().load_path(ko.c_str());
  if (is_static()) {
    ExpectError(f, Errc::kNotFound,
                ko + ": module needs_v3 needs chain_base version 3..3, but version 2 is loaded "
                     "(from kernel)");
    EXPECT_EQ(files(), before);
    EXPECT_EQ(state("needs_v3"), "absent");
    EXPECT_EQ(state("chain_base"), "LIVE");
    return;
  }
  ASSERT_TRUE(f) << f.error().message();
  EXPECT_EQ(file_of("chain_base"), "chain_base_v3.ko");
  EXPECT_EQ(Export<int()>("needs_v3_value")(), 3);
  EXPECT_TRUE(NoLineWith(log_since(m0), "chain_base.ko: loaded"));  // not version 2
  EXPECT_TRUE(InOrder(log_since(m0),
                      {"chain_base_v3.ko: loaded (1 modules)", ko + ": loaded (1 modules)"}));
  ASSERT_TRUE(Unload("needs_v3"));
  EXPECT_EQ(state("chain_base"), "absent");  // loaded only for needs_v3
  EXPECT_EQ(files(), before);
  EXPECT_EQ(arena_used(), arena0);
}

TEST_P(Lifecycle, MissingDependenciesLoadedFromTheHintsIndex) {
  size_t before = files();
  size_t m0 = is_static() ? 0 : mark();
  Present("chain_top");
  for (const char* m : {"chain_top", "chain_mid", "chain_base"}) {
    EXPECT_EQ(state(m), "LIVE") << m;
    EXPECT_EQ(file_of(m), is_static() ? "kernel" : std::string(m) + ".ko") << m;
  }
  EXPECT_EQ(Export<int()>("chain_top_value")(), 121);  // 100 + 10 * version 2 + 1
  if (is_static()) {
    EXPECT_TRUE(InOrder(log_since(m0), {"chain_base: LOAD", "chain_mid: LOAD", "chain_top: LOAD"}));
  } else {
    EXPECT_EQ(files(), before + 3);
    std::vector<std::string> names = file_names();
    EXPECT_EQ(std::vector<std::string>(names.end() - 3, names.end()),
              (std::vector<std::string>{"chain_base.ko", "chain_mid.ko", "chain_top.ko"}));
    EXPECT_TRUE(reg().find_module("chain_base")->file->autoloaded);
    EXPECT_TRUE(reg().find_module("chain_mid")->file->autoloaded);
    EXPECT_FALSE(reg().find_module("chain_top")->file->autoloaded);
    EXPECT_EQ(LinesWith(log_since(m0), "LOAD"),
              (std::vector<std::string>{"chain_base: LOAD", "chain_mid: LOAD", "chain_top: LOAD"}));
    EXPECT_EQ(LinesWith(log_since(m0), "loaded"),
              (std::vector<std::string>{"chain_base.ko: loaded (1 modules)",
                                        "chain_mid.ko: loaded (1 modules)",
                                        "chain_top.ko: loaded (1 modules)"}));
    ASSERT_TRUE(Unload("chain_top"));
  }

  // A dependency is met either way: a file using chain_mid binds to the .ko
  // (loaded for it) or to the static module in the image.
  std::string ko =
      BuildKo("mid_user", UserSource("mid_user", "chain_mid", 1, 1, 1, "chain_mid_value()"));
  ASSERT_FALSE(ko.empty());
  size_t files0 = files();
  Result<File*> f = reg().load_path(ko.c_str());
  ASSERT_TRUE(f) << f.error().message();
  EXPECT_EQ(Export<int()>("mid_user_value")(), 21);
  EXPECT_EQ(files(), files0 + (is_static() ? 1 : 3));
  EXPECT_EQ(file_of("chain_mid"), is_static() ? "kernel" : "chain_mid.ko");
  ASSERT_TRUE(Unload("mid_user"));
  EXPECT_EQ(files(), files0);
  EXPECT_EQ(state("chain_mid"), is_static() ? "LIVE" : "absent");
}

TEST_P(Lifecycle, DependencyCycleIsNamed) {
  std::string x = BuildKo("cyc_x",
                          "#include <modkit/module.h>\n"
                          "MODKIT_MODULE(cyc_x, 1, NULL, NULL);\n"
                          "MODKIT_DEPEND(cyc_x, cyc_y, 1, 1, 1);\n");
  std::string y = BuildKo("cyc_y",
                          "#include <modkit/module.h>\n"
                          "MODKIT_MODULE(cyc_y, 1, NULL, NULL);\n"
                          "MODKIT_DEPEND(cyc_y, cyc_x, 1, 1, 1);\n");
  ASSERT_FALSE(x.empty() || y.empty());
  size_t before = files();
  size_t arena0 = arena_used();
  ExpectError(Load("cyc_x"), Errc::kInvalid,
              "cyc_x.ko: module cyc_x needs cyc_y: dependency cycle: cyc_x -> cyc_y -> cyc_x");
  ExpectError(reg().load_path(y.c_str()), Errc::kInvalid,
              y + ": module cyc_y needs cyc_x: dependency cycle: cyc_y -> cyc_x -> cyc_y");
  EXPECT_EQ(state("cyc_x"), "absent");
  EXPECT_EQ(state("cyc_y"), "absent");
  EXPECT_EQ(files(), before);
  EXPECT_EQ(arena_used(), arena0);

  // Three long, through a module of a two-module file.
  ASSERT_FALSE(BuildKo("ring_a",
                       "#include <modkit/module.h>\n"
                       "MODKIT_MODULE(ring_a, 1, NULL, NULL);\n"
                       "MODKIT_DEPEND(ring_a, ring_b, 1, 1, 1);\n")
                   .empty());
  ASSERT_FALSE(BuildKo("ring_b",
                       "#include <modkit/module.h>\n"
                       "MODKIT_MODULE(ring_b0, 1, NULL, NULL);\n"
                       "MODKIT_MODULE(ring_b, 1, NULL, NULL);\n"
                       "MODKIT_DEPEND(ring_b, ring_c, 1, 1, 1);\n")
                   .empty());
  ASSERT_FALSE(BuildKo("ring_c",
                       "#include <modkit/module.h>\n"
                       "MODKIT_MODULE(ring_c, 1, NULL, NULL);\n"
                       "MODKIT_DEPEND(ring_c, ring_a, 1, 1, 1);\n")
                   .empty());
  ExpectError(Load("ring_a"), Errc::kInvalid,
              "ring_a.ko: module ring_a needs ring_b: ring_b.ko: module ring_b needs ring_c: "
              "dependency cycle: ring_a -> ring_b -> ring_c -> ring_a");
  EXPECT_EQ(files(), before);
  EXPECT_EQ(arena_used(), arena0);
}

TEST_P(Lifecycle, InitFailureIsRolledBackAtEveryStep) {
  if (is_static()) {
    // At boot: the SYSINITs ran, fail_init_first started, fail_init's LOAD
    // failed; fail_init is taken out (its SYSUNINITs undo its SYSINITs) and the
    // boot goes on. Static modules fail one by one: fail_init_first stays.
    EXPECT_EQ(state("fail_init"), "absent");
    EXPECT_EQ(state("fail_init_first"), "LIVE");
    EXPECT_TRUE(InOrder(
        log(), {"fail_init: SYSINIT: hook registered (1 held)",
                "fail_init: SYSINIT: driver registered (2 held)", "fail_init_first: LOAD",
                "fail_init: LOAD", "fail_init: LOAD: half done, no device: failing with ENXIO",
                "kernel: static module fail_init failed to load: LOAD returned 6",
                "fail_init: SYSUNINIT: driver removed (1 held)",
                "fail_init: SYSUNINIT: hook removed (0 held)"}));
    EXPECT_TRUE(NoLineWith(log(), "fail_init: UNLOAD"));
    return;
  }
  size_t before = files();
  size_t arena0 = arena_used();
  size_t exports0 = sys_->exports().size();
  for (int attempt = 0; attempt < 2; ++attempt) {  // the second finds nothing left over
    SCOPED_TRACE(attempt);
    size_t m0 = mark();
    ExpectError(Load("fail_init"), Errc::kInvalid,
                "fail_init.ko: module fail_init failed to load: its LOAD handler returned 6");
    EXPECT_EQ(files(), before);
    EXPECT_EQ(arena_used(), arena0);
    EXPECT_EQ(sys_->exports().size(), exports0);
    EXPECT_EQ(sys_->exports().find("fail_init_held"), nullptr);
    EXPECT_EQ(sys_->exports().find("chain_base_version"), nullptr);
    for (const char* m : {"fail_init", "fail_init_first", "chain_base"})
      EXPECT_EQ(state(m), "absent") << m;
    std::vector<std::string> l = log_since(m0);
    EXPECT_TRUE(InOrder(l, {
                               // the dependency, loaded for this request
                               "chain_base: LOAD",
                               "chain_base.ko: loaded (1 modules)",
                               // SYSINITs in (subsystem, order)
                               "fail_init: SYSINIT: hook registered (1 held)",
                               "fail_init: SYSINIT: driver registered (2 held)",
                               // LOAD in start order; the second fails halfway
                               "fail_init_first: LOAD",
                               "fail_init: LOAD",
                               "fail_init: LOAD: half done, no device: failing with ENXIO",
                               // undone in reverse
                               "fail_init_first: UNLOAD",
                               "fail_init: SYSUNINIT: driver removed (1 held)",
                               "fail_init: SYSUNINIT: hook removed (0 held)",
                               "chain_base: QUIESCE",
                               "chain_base: UNLOAD",
                               "chain_base.ko: unloaded",
                           }));
    EXPECT_TRUE(NoLineWith(l, "fail_init: UNLOAD"));  // its LOAD failed: nothing owed
    EXPECT_TRUE(NoLineWith(l, "fail_init.ko: loaded"));
  }
}

// ---- unloading ----

TEST_P(Lifecycle, VetoThenRetry) {
  Present("veto");
  EXPECT_EQ(state("veto_peer"), "LIVE");
  size_t before = files();
  auto* set_busy = Export<void(int)>("veto_set_busy");
  ASSERT_NE(set_busy, nullptr);
  set_busy(1);
  if (is_static()) {
    ExpectStaticUnloadRefused("veto");
    set_busy(0);
    return;
  }
  size_t m0 = mark();
  ExpectError(Unload("veto"), Errc::kBusy, "module veto vetoed the unload of veto.ko: device open");
  EXPECT_EQ(state("veto"), "LIVE");
  EXPECT_EQ(state("veto_peer"), "LIVE");
  EXPECT_EQ(files(), before);
  // veto_peer (started last) was asked first, then gets RESUME.
  EXPECT_EQ(log_since(m0),
            (std::vector<std::string>{"veto_peer: QUIESCE", "veto: QUIESCE: busy, vetoing",
                                      "veto_peer: RESUME"}));

  set_busy(0);
  size_t m1 = mark();
  Result<UnloadResult> r = Unload("veto");
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r.value(), UnloadResult::kDone);
  EXPECT_EQ(state("veto"), "absent");
  EXPECT_EQ(state("veto_peer"), "absent");
  EXPECT_EQ(files(), before - 1);
  EXPECT_EQ(log_since(m1),
            (std::vector<std::string>{"veto_peer: QUIESCE", "veto: QUIESCE", "veto_peer: UNLOAD",
                                      "veto: UNLOAD", "veto.ko: unloaded"}));
}

TEST_P(Lifecycle, UnloadRefusedWhileReferenced) {
  Present("chain_top");
  std::string ko =
      BuildKo("base_user", UserSource("base_user", "chain_base", 1, 2, 3, "chain_base_version()"));
  ASSERT_FALSE(ko.empty());
  Result<File*> u = reg().load_path(ko.c_str());
  ASSERT_TRUE(u) << u.error().message();
  EXPECT_EQ(Export<int()>("base_user_value")(), 2);
  size_t before = files();
  size_t m0 = mark();
  if (is_static()) {
    ExpectStaticUnloadRefused("chain_base");
    ExpectStaticUnloadRefused("chain_mid");
  } else {
    ExpectError(Unload("chain_base"), Errc::kBusy,
                "chain_base.ko is in use by chain_mid.ko, " + ko +
                    "; unload those first, or ask for a cascade");
    ExpectError(Unload("chain_mid"), Errc::kBusy,
                "chain_mid.ko is in use by chain_top.ko; unload those first, or ask for a cascade");
    for (const char* m : {"chain_top", "chain_mid", "chain_base", "base_user"})
      EXPECT_EQ(state(m), "LIVE") << m;
    EXPECT_EQ(files(), before);
    EXPECT_TRUE(log_since(m0).empty()) << Join(log_since(m0));  // nobody was asked
  }
  ASSERT_TRUE(Unload("base_user"));
  EXPECT_EQ(files(), before - 1);
}

TEST_P(Lifecycle, CascadeUnloadsDependentsFirst) {
  if (is_static()) {
    Present("chain_top");
    return ExpectStaticUnloadRefused("chain_base", UnloadOptions{Policy::kRefuse, 0, true});
  }
  size_t before = files();
  size_t arena0 = arena_used();
  // Twice: with chain_mid and chain_base loaded for chain_top, then with all
  // three loaded by hand.
  for (bool by_hand : {false, true}) {
    SCOPED_TRACE(by_hand ? "loaded by hand" : "dependencies loaded for chain_top");
    if (by_hand) {
      ASSERT_TRUE(reg().load_module("chain_base", VersionRange{1, 2, 3}));
      ASSERT_TRUE(Load("chain_mid"));
    }
    ASSERT_TRUE(Load("chain_top"));
    EXPECT_EQ(files(), before + 3);
    size_t m0 = mark();
    Result<UnloadResult> r = Unload("chain_base", UnloadOptions{Policy::kRefuse, 0, true});
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_EQ(r.value(), UnloadResult::kDone);
    for (const char* m : {"chain_top", "chain_mid", "chain_base"})
      EXPECT_EQ(state(m), "absent") << m;
    EXPECT_EQ(files(), before);
    EXPECT_EQ(arena_used(), arena0);
    EXPECT_EQ(log_since(m0),
              (std::vector<std::string>{
                  "chain_top: QUIESCE", "chain_top: UNLOAD", "chain_top.ko: unloaded",
                  "chain_mid: QUIESCE", "chain_mid: UNLOAD", "chain_mid.ko: unloaded",
                  "chain_base: QUIESCE", "chain_base: UNLOAD", "chain_base.ko: unloaded"}));
  }
}

TEST_P(Lifecycle, DependenciesLoadedOnlyForAFileGoWithIt) {
  if (is_static()) {
    Present("chain_top");
    return ExpectStaticUnloadRefused("chain_top");
  }
  size_t before = files();
  size_t arena0 = arena_used();
  {
    SCOPED_TRACE("both loaded for chain_top");
    ASSERT_TRUE(Load("chain_top"));
    size_t m0 = mark();
    ASSERT_TRUE(Unload("chain_top"));
    for (const char* m : {"chain_top", "chain_mid", "chain_base"})
      EXPECT_EQ(state(m), "absent") << m;
    EXPECT_EQ(files(), before);
    EXPECT_EQ(arena_used(), arena0);
    EXPECT_EQ(LinesWith(log_since(m0), "unloaded"),
              (std::vector<std::string>{"chain_top.ko: unloaded", "chain_mid.ko: unloaded",
                                        "chain_base.ko: unloaded"}));
  }
  {
    SCOPED_TRACE("chain_base loaded by hand stays");
    ASSERT_TRUE(reg().load_module("chain_base", VersionRange{1, 2, 3}));
    ASSERT_TRUE(Load("chain_top"));
    ASSERT_TRUE(Unload("chain_top"));
    EXPECT_EQ(state("chain_mid"), "absent");
    EXPECT_EQ(state("chain_base"), "LIVE");
    EXPECT_EQ(files(), before + 1);
    ASSERT_TRUE(Unload("chain_base"));
  }
  {
    SCOPED_TRACE("chain_base still used by another file stays, and goes with the last user");
    std::string ko = BuildKo(
        "base_user", UserSource("base_user", "chain_base", 1, 2, 3, "chain_base_version()"));
    ASSERT_FALSE(ko.empty());
    ASSERT_TRUE(Load("chain_top"));
    ASSERT_TRUE(reg().load_path(ko.c_str()));
    ASSERT_TRUE(Unload("chain_top"));
    EXPECT_EQ(state("chain_mid"), "absent");
    EXPECT_EQ(state("chain_base"), "LIVE");
    EXPECT_EQ(files(), before + 2);
    size_t m0 = mark();
    ASSERT_TRUE(Unload("base_user"));
    EXPECT_EQ(state("chain_base"), "absent");
    EXPECT_EQ(LinesWith(log_since(m0), "unloaded"),
              (std::vector<std::string>{ko + ": unloaded", "chain_base.ko: unloaded"}));
    EXPECT_EQ(files(), before);
    EXPECT_EQ(arena_used(), arena0);
  }
}

// hello is a .ko in both programs: loaded here (dynamic) or by the static
// module `nested` at boot (static).
TEST_P(Lifecycle, DeferredUnloadCompletesOnTheLastPut) {
  if (!is_static()) {
    ASSERT_TRUE(Load("hello"));
  }
  ASSERT_EQ(file_of("hello"), "hello.ko");
  size_t before = files();
  Module* m = reg().find_module("hello");
  ASSERT_TRUE(reg().get(m));
  ASSERT_TRUE(reg().get(m));
  size_t m0 = mark();
  Result<UnloadResult> r = reg().unload(m->file, UnloadOptions{Policy::kDefer, 0, false});
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r.value(), UnloadResult::kDeferred);
  EXPECT_EQ(state("hello"), "GOING");
  EXPECT_EQ(files(), before);
  ExpectError(reg().get(m), Errc::kBusy, "module hello is GOING: no new references");
  reg().put(m);  // one of two
  EXPECT_EQ(state("hello"), "GOING");
  EXPECT_EQ(log_since(m0), (std::vector<std::string>{
                               "hello: QUIESCE",
                               "hello.ko: unload deferred until 2 reference(s) to hello are put"}));
  size_t m1 = mark();
  reg().put(m);  // the last: the unload completes (m is gone now)
  EXPECT_EQ(state("hello"), "absent");
  EXPECT_EQ(files(), before - 1);
  EXPECT_EQ(log_since(m1), (std::vector<std::string>{
                               "hello.ko: last reference gone, completing the deferred unload",
                               "hello: UNLOAD", "hello.ko: unloaded"}));

  if (is_static()) {
    // A static module takes references like any other, but cannot be unloaded.
    Module* base = reg().find_module("chain_base");
    ASSERT_TRUE(reg().get(base));
    ExpectStaticUnloadRefused("chain_base", UnloadOptions{Policy::kDefer, 0, false});
    reg().put(base);
    EXPECT_EQ(base->refs, 0u);
  }
}

TEST_P(Lifecycle, WaitWithTimeout) {
  if (!is_static()) {
    ASSERT_TRUE(Load("hello"));
  }
  ASSERT_EQ(file_of("hello"), "hello.ko");
  size_t before = files();
  Module* m = reg().find_module("hello");
  File* f = m->file;
  ASSERT_TRUE(reg().get(m));

  {
    SCOPED_TRACE("refuse (the default policy)");
    size_t m0 = mark();
    ExpectError(reg().unload(f, UnloadOptions{}), Errc::kBusy,
                "module hello of hello.ko has 1 reference(s) in use");
    EXPECT_EQ(state("hello"), "LIVE");
    EXPECT_EQ(log_since(m0), (std::vector<std::string>{"hello: QUIESCE", "hello: RESUME"}));
  }
  {
    SCOPED_TRACE("wait 50 ms, nobody puts");
    size_t m0 = mark();
    Clock::time_point t0 = Clock::now();
    ExpectError(reg().unload(f, UnloadOptions{Policy::kWait, 50'000'000, false}), Errc::kBusy,
                "module hello of hello.ko still has 1 reference(s) after waiting 50 ms");
    EXPECT_GE(Clock::now() - t0, std::chrono::milliseconds(50));
    EXPECT_EQ(state("hello"), "LIVE");
    EXPECT_EQ(files(), before);
    EXPECT_EQ(log_since(m0), (std::vector<std::string>{"hello: QUIESCE", "hello: RESUME"}));
    ASSERT_TRUE(reg().get(m));  // LIVE again: new references work
    reg().put(m);
  }
  {
    SCOPED_TRACE("wait, another thread puts after 20 ms");
    size_t m0 = mark();
    Clock::time_point t0 = Clock::now();
    std::thread putter([&] {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      reg().put(m);
    });
    Result<UnloadResult> r = reg().unload(f, UnloadOptions{Policy::kWait, 10'000'000'000, false});
    Clock::duration took = Clock::now() - t0;
    putter.join();
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_EQ(r.value(), UnloadResult::kDone);
    EXPECT_GE(took, std::chrono::milliseconds(20));
    EXPECT_LT(took, std::chrono::seconds(10));
    EXPECT_EQ(state("hello"), "absent");
    EXPECT_EQ(files(), before - 1);
    EXPECT_EQ(log_since(m0),
              (std::vector<std::string>{"hello: QUIESCE", "hello: UNLOAD", "hello.ko: unloaded"}));
  }
}

TEST_P(Lifecycle, ShutdownReachesDependentsFirst) {
  Present("chain_top");
  Present("two_a");
  size_t m0 = mark();
  sys_->shutdown();
  std::vector<std::string> l = log_since(m0);
  std::vector<std::string> events = LinesWith(l, ": SHUTDOWN");
  if (is_static()) {
    // hello.ko (loaded after the image booted) first, then the image's
    // modules in reverse start order.
    ASSERT_FALSE(events.empty());
    EXPECT_EQ(events.front(), "hello: SHUTDOWN");
    EXPECT_TRUE(
        InOrder(events, {"chain_top: SHUTDOWN", "chain_mid: SHUTDOWN", "chain_base: SHUTDOWN"}));
    EXPECT_TRUE(InOrder(events, {"two_a: SHUTDOWN", "two_b: SHUTDOWN"}));
    EXPECT_TRUE(InOrder(events, {"veto_peer: SHUTDOWN", "veto: SHUTDOWN"}));
    EXPECT_TRUE(InOrder(events, {"nested: SHUTDOWN"}));
    EXPECT_EQ(LinesWith(events, "counter: SHUTDOWN").size(), 1u);
    EXPECT_TRUE(NoLineWith(l, "fail_init: SHUTDOWN"));  // it never started
    // Then the dynamic files go; the static modules stay.
    EXPECT_TRUE(InOrder(l, {"hello: UNLOAD", "hello.ko: unloaded"}));
    EXPECT_EQ(state("chain_base"), "LIVE");
  } else {
    EXPECT_EQ(events,
              (std::vector<std::string>{"two_a: SHUTDOWN", "two_b: SHUTDOWN", "chain_top: SHUTDOWN",
                                        "chain_mid: SHUTDOWN", "chain_base: SHUTDOWN"}));
    EXPECT_EQ(LinesWith(l, "unloaded"),
              (std::vector<std::string>{"two_in_one.ko: unloaded", "chain_top.ko: unloaded",
                                        "chain_mid.ko: unloaded", "chain_base.ko: unloaded"}));
    EXPECT_EQ(state("chain_base"), "absent");
  }
  // The registry's own record of it, and every SHUTDOWN before any UNLOAD.
  EXPECT_TRUE(InOrder(l, {"shutdown: chain_top", "shutdown: chain_mid", "shutdown: chain_base"}));
  auto first_unload = std::find_if(l.begin(), l.end(), [](const std::string& s) {
    return s.find(": UNLOAD") != std::string::npos;
  });
  for (auto it = first_unload; it != l.end(); ++it)
    EXPECT_EQ(it->find(": SHUTDOWN"), std::string::npos) << *it;
  EXPECT_EQ(files(), 1u);
}

TEST_P(Lifecycle, NestedLoadFromALoadHandler) {
  size_t before = files();
  size_t m0 = is_static() ? 0 : mark();
  if (!is_static()) {
    Result<File*> f = Load("nested");
    ASSERT_TRUE(f) << f.error().message();
    EXPECT_EQ(files(), before + 2);
    // hello went LIVE (and into the file list) before the file that loaded it.
    std::vector<std::string> names = file_names();
    EXPECT_EQ(std::vector<std::string>(names.end() - 2, names.end()),
              (std::vector<std::string>{"hello.ko", "nested.ko"}));
    EXPECT_FALSE(reg().find_module("hello")->file->autoloaded);  // a request of its own
  }
  EXPECT_EQ(state("nested"), "LIVE");
  EXPECT_EQ(file_of("nested"), is_static() ? "kernel" : "nested.ko");
  EXPECT_EQ(state("hello"), "LIVE");
  EXPECT_EQ(file_of("hello"), "hello.ko");
  EXPECT_TRUE(InOrder(log_since(m0), {"nested: LOAD", "hello: LOAD", "hello.ko: loaded (1 modules)",
                                      "nested: mk_module_load(hello) from LOAD returned 0"}));
  if (is_static()) {
    EXPECT_TRUE(InOrder(log(), {"nested: mk_module_load(hello) from LOAD returned 0",
                                "kernel: booted with 11 static module(s)"}));
    return ExpectStaticUnloadRefused("nested");
  }
  EXPECT_TRUE(InOrder(log_since(m0), {"nested: mk_module_load(hello) from LOAD returned 0",
                                      "nested.ko: loaded (1 modules)"}));
  // hello was not loaded as a dependency: it stays when nested goes.
  ASSERT_TRUE(Unload("nested"));
  EXPECT_EQ(state("hello"), "LIVE");
  EXPECT_EQ(files(), before + 1);
  // Loading nested again: hello is there, the KPI says EEXIST, nested accepts it.
  size_t m1 = mark();
  ASSERT_TRUE(Load("nested"));
  EXPECT_TRUE(InOrder(log_since(m1), {"mk_module_load(hello): module hello is already loaded "
                                      "(version 1, from hello.ko)",
                                      "nested: mk_module_load(hello) from LOAD returned 17"}));
}

TEST_P(Lifecycle, CxxModuleConstructsAndDestructs) {
  auto next = [&] { return Export<int()>("counter_next")(); };
  if (is_static()) {
    // Constructed once, when this program started (before any System existed,
    // so its log line went nowhere); static data outlives each System.
    Present("counter");
    EXPECT_EQ(Export<int()>("counter_constructions")(), 1);
    int v = next();
    EXPECT_EQ(next(), v + 1);
    return ExpectStaticUnloadRefused("counter");
  }
  size_t before = files();
  size_t arena0 = arena_used();
  for (int round = 0; round < 2; ++round) {  // fresh memory, fresh object each time
    SCOPED_TRACE(round);
    size_t m0 = mark();
    ASSERT_TRUE(Load("counter"));
    EXPECT_EQ(log_since(m0),
              (std::vector<std::string>{"counter: constructor", "counter: LOAD (value 0)",
                                        "counter.ko: loaded (1 modules)"}));
    EXPECT_EQ(Export<int()>("counter_constructions")(), 1);
    EXPECT_EQ(next(), 1);
    EXPECT_EQ(next(), 2);
    size_t m1 = mark();
    ASSERT_TRUE(Unload("counter"));
    EXPECT_EQ(log_since(m1),
              (std::vector<std::string>{"counter: QUIESCE (value 2)", "counter: UNLOAD (value 2)",
                                        "counter.ko: unloaded", "counter: destructor (value 2)"}));
    EXPECT_EQ(files(), before);
    EXPECT_EQ(arena_used(), arena0);
  }
}

#if !MODKIT_LIFECYCLE_STATIC
// The sample .ko files import only the KPI (and each other's exports along
// their dependencies): nothing of libc, no stack protector, no sanitizer.
TEST(SampleModules, ImportOnlyTheKpi) {
  const std::vector<std::pair<std::string, std::string>> want = {
      {"chain_base", "mk_module_name mk_printf"},
      {"chain_base_v1", "mk_module_name mk_printf"},
      {"chain_base_v3", "mk_module_name mk_printf"},
      {"chain_mid", "chain_base_version mk_module_name mk_printf"},
      {"chain_top", "chain_mid_value mk_module_name mk_printf"},
      {"counter", "__cxa_atexit __dso_handle mk_module_name mk_printf"},
      {"fail_init", "mk_module_name mk_printf"},
      {"hello", "mk_module_name mk_printf"},
      {"nested", "mk_module_load mk_module_name mk_printf"},
      {"two_in_one", "mk_module_name mk_printf"},
      {"veto", "mk_module_name mk_module_veto mk_printf"},
  };
  for (const auto& [name, imports] : want) {
    std::string ko = std::string(MODKIT_LIFECYCLE_MODULE_DIR) + "/" + name + ".ko";
    RunResult r = mk::test::Run("nm -u " + Quote(ko) + " | awk '{print $2}' | LC_ALL=C sort");
    ASSERT_EQ(r.status, 0) << r.output;
    std::vector<std::string> got = Words(r.output);
    std::string joined;
    for (const std::string& w : got)
      joined += (joined.empty() ? "" : " ") + w;
    EXPECT_EQ(joined, imports) << ko;
  }
}
#endif

INSTANTIATE_TEST_SUITE_P(Modules, Lifecycle, ::testing::Values(kThisProgram),
                         [](const ::testing::TestParamInfo<Mode>& i) {
                           return i.param == Mode::kStatic ? std::string("static")
                                                           : std::string("dynamic");
                         });

}  // namespace
}  // namespace mk::test
