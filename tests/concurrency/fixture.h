// Fixtures of the concurrency tests: a module directory of real modules,
// compiled with gcc from C sources that use the SDK at test time and indexed
// like `modkit xref` does; a booted hosted System over it with the checks
// every test ends with; small helpers for threads racing on a registry.
//
// The modules (all version 1; each depends on `kernel` 1):
//   base    exports base_value()
//   mid     needs base; exports mid_value(); LOAD takes and drops a reference
//           on base through the KPI and checks base_value()
//   top     needs mid; LOAD checks mid_value()
//   diamond needs mid and base (which mid needs too)
//   kite    the same, its dependencies declared in the other order
//   solo    no dependencies; a SYSINIT / SYSUNINIT pair
//   moody   vetoes every other QUIESCE
//   nester  LOAD loads `solo` through the KPI (mk_module_load): a load nested
//           in a load, on the thread that holds the loader lock
#pragma once

#include <stddef.h>
#include <stdint.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "hosted/system.h"
#include "link/toolchain.h"
#include "module/registry.h"

namespace mk::test {

// The modules a stress run picks from.
inline const std::vector<std::string>& StressModules() {
  static const std::vector<std::string> names{"base", "mid",  "top",   "diamond",
                                              "kite", "solo", "moody", "nester"};
  return names;
}

class ModuleDir {
 public:
  ModuleDir();  // compiles every module and writes modkit.hints; failures are test failures
  const std::string& dir() const { return scratch_.dir(); }

 private:
  Scratch scratch_;
};

// What a registry looks like to for_each_file at one instant, copied under
// the registry mutex.
struct FileView {
  std::string name;
  module::State state;
  uint32_t holders;
  bool deferred;
  size_t memory;  // arena bytes of its image (LIVE files only; 0 otherwise)
  std::vector<std::string> uses;
  struct Mod {
    std::string name;
    module::State state;
    uint32_t refs;
  };
  std::vector<Mod> modules;
};
std::vector<FileView> Snapshot(module::Registry& r);

// Checks what must hold at every instant: one module per name among the
// files, no file holding the same file twice, and each file's holders at least
// the number of files that use it (a file leaving the list releases its
// holds just after). Returns the problems found, one a line ("" when none).
std::string CheckAlways(const std::vector<FileView>& files);

// Checks a registry at rest (no call in flight, every reference put): also
// every file and module LIVE, every reference count 0, holders exactly the
// number of users.
std::string CheckAtRest(const std::vector<FileView>& files);

// A booted System over a ModuleDir, with the baselines a test compares with
// once it has unloaded everything.
class TestKernel {
 public:
  explicit TestKernel(const ModuleDir& modules);
  ~TestKernel();

  hosted::System& system() { return *system_; }
  module::Registry& registry() { return system_->registry(); }

  // Unloads every dynamic file (dependents first), then checks that nothing
  // is left: one file (the kernel), the arena and the export index back to
  // their sizes after boot. Returns the problems found ("" when none).
  std::string UnloadAllAndCheck();

 private:
  std::unique_ptr<hosted::System> system_;
  size_t arena_used_ = 0;
  size_t exports_ = 0;
};

// A version range that accepts every version.
inline constexpr module::VersionRange kAnyVersion{0, 0, UINT32_MAX};

// What a call returned, copied out of the thread that made it.
struct Outcome {
  bool ok = false;
  Errc code = Errc::kInvalid;
  std::string message;
  template <class T>
  static Outcome Of(const Result<T>& r) {
    return r ? Outcome{true, Errc::kInvalid, ""}
             : Outcome{false, r.error().code(), r.error().message()};
  }
};

// Releases n threads at once: each calls Arrive() and spins until all have.
class StartLine {
 public:
  explicit StartLine(int n) : left_(n) {}
  void Arrive() {
    --left_;
    while (left_.load() > 0) {
    }
  }

 private:
  std::atomic<int> left_;
};

module::UnloadOptions WaitFor(std::chrono::milliseconds timeout);
module::UnloadOptions Defer();

// The state of module `name`; kGone when no file declares it.
module::State ModuleState(module::Registry& r, const std::string& name);
// Polls until module `name` is in state s; false after 10 s.
bool WaitForState(module::Registry& r, const std::string& name, module::State s);
// How many files declare module `name`.
int FilesWith(module::Registry& r, const std::string& name);
bool LogHas(hosted::System& s, const std::string& text);
// A user reference on module `name` (Registry::get by name), or nullptr.
module::Module* Reference(module::Registry& r, const char* name);

}  // namespace mk::test
