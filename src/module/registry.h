// Registry: the files and modules of a kernel, their states and references,
// and the load and unload sequences of architecture.md, all or nothing.
//
// Words: a File is one linked object (file 0 is the kernel image with its
// static modules); a Module is a named, versioned unit a file declares. The
// SDK's opaque `struct mk_module` is a Module.
//
// States: LOADING (linking, constructors, SYSINITs, LOAD events) -> LIVE ->
// QUIESCING (QUIESCE sent; a veto returns to LIVE) -> GOING (new references
// fail; draining) -> gone. A file is LIVE when all its modules are.
//
// References: a file holds a reference on every file it uses (the files that
// satisfy its dependencies, whose exports it may bind to); a file with
// holders cannot be unloaded unless the caller asks for a cascade. Code that
// calls into a module holds a user reference (get/put); unload drains them
// by the caller's policy.
//
// Concurrency: one load or unload runs at a time (a loader lock, recursive
// for the thread that holds it, like FreeBSD's kld_sx, so an init that loads
// another module works). An unload that waits for references to drain lets
// go of it meanwhile, as Linux's delete_module drops module_mutex: a holder
// may need it before it can put. The registry mutex guards the lists and the
// reference counts; it is never held while module code runs, so lookups,
// get and put proceed while a module initialises.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "link/linker.h"
#include "module/exports.h"
#include "module/hints.h"
#include "module/metadata.h"
#include "module/version.h"
#include "platform/module_source.h"
#include "platform/signature_check.h"
#include "platform/thread.h"
#include "support/result.h"
#include "support/scratch.h"
#include "support/vector.h"

struct mk_module {};  // the SDK's opaque handle; Module derives from it

namespace mk::module {

enum class State : uint8_t { kLoading, kLive, kQuiescing, kGoing, kGone };
const char* state_name(State s);

class File;

class Module : public ::mk_module {
 public:
  char name[kNameMax] = {};
  uint32_t version = 0;
  uint32_t line = 0;
  State state = State::kLoading;
  File* file = nullptr;
  uintptr_t handler = 0;  // mk_event_fn, or 0
  uintptr_t arg = 0;
  uint32_t refs = 0;    // user references (get/put)
  bool loaded = false;  // its LOAD event succeeded (UNLOAD is owed)
  char veto[128] = {};  // reason given by mk_module_veto during QUIESCE
};

struct SysinitEntry {
  uint32_t module;  // index into File::modules
  uint32_t subsystem;
  uint32_t order;
  uint32_t seq;  // declaration index: stable tie-break
  bool uninit;
  uintptr_t fn;
  uintptr_t arg;
};

// A tunable of a file: its module and where its record (mk_meta_tunable)
// is in loaded memory, for the service layer to read and set.
struct TunableEntry {
  uint32_t module;  // index into File::modules
  uintptr_t record;
};

// Parameters for the file a load request names (name=value or
// module.name=value, as insmod takes them); its dependencies get none.
struct LoadParams {
  const char* const* items = nullptr;
  size_t count = 0;
};

// A symbol namespace a file imports (MODKIT_IMPORT_NS), copied out of its
// metadata: the file's bytes do not outlive the load.
struct Namespace {
  char name[kNsMax];
};

class File {
 public:
  explicit File(Allocator& a)
      : modules(a), uses(a), sysinits(a), exports(a), import_ns(a), tunables(a) {}

  uint32_t id = 0;                     // 0: the kernel image
  char name[256] = {};                 // path or name it was loaded as
  link::LinkerFile* linked = nullptr;  // nullptr for the kernel image
  State state = State::kLoading;
  Vec<Module*> modules;        // in start order (dependencies first)
  Vec<File*> uses;             // files this one holds a reference on
  uint32_t holders = 0;        // files holding a reference on this one
  bool autoloaded = false;     // loaded only to satisfy another file's dependency
  bool deferred = false;       // unload completes when the last user reference goes
  Vec<SysinitEntry> sysinits;  // sorted by (subsystem, order, seq)
  Vec<const char*> exports;    // names it exports (owned by the export index)
  Vec<Namespace> import_ns;    // namespaces any of its modules imports, each once
  bool imports(const char* ns) const {
    for (const Namespace& n : import_ns)
      if (str_eq(n.name, ns)) return true;
    return false;
  }
  Vec<TunableEntry> tunables;  // in declaration order
  uint64_t loader = 0;         // thread that is loading it
};

struct UnloadOptions {
  enum class Policy : uint8_t {
    kRefuse,  // busy modules: fail with kBusy (default)
    kWait,    // wait up to timeout_ns for user references to drain
    kDefer,   // mark GOING now, finish when the last reference is put
  };
  Policy policy = Policy::kRefuse;
  uint64_t timeout_ns = 0;
  bool cascade = false;  // unload the files that use this one first
  // Revoke open handles (the listeners' `revoking`) once GOING, so their
  // references drain; calls already running are waited for (kRefuse then
  // waits up to timeout_ns, 5 s when 0).
  bool force = false;
};

// Hooks of a layer above the registry (the service layer's owned
// registrations, the buses' drivers). Several may be installed
// (Registry::add_listener). Contract:
// - every hook is told to the listeners in the order they were added (a
//   listener added later may use what an earlier one set up), each hook that
//   is nullptr skipped;
// - all are called without the registry mutex held, from the thread doing the
//   load or unload, so a hook may call get/put but not load or unload;
// - a refusal (quiescing non-zero, starting an error) stops the walk: the
//   listeners after it are not asked, and the ones before it are told to undo
//   (resumed, stopped), so no listener is left holding half of a refused step.
struct ModuleListener {
  // m accepted QUIESCE; a layer above may still refuse the unload (a driver
  // whose device will not detach): non-zero refuses, the reason given with
  // Registry::set_veto. Listeners that accepted are then told `resumed`.
  int (*quiescing)(void* ctx, Module* m) = nullptr;
  // The unload that quiesced m did not happen (a veto, or references that
  // did not drain): m is LIVE again; undo what quiescing did.
  void (*resumed)(void* ctx, Module* m) = nullptr;
  // m stopped: its UNLOAD and SYSUNINITs ran, or its file's start failed, or
  // a later listener refused its file's `starting`. Revoke whatever it left
  // registered (m may never have run: nothing registered is fine).
  void (*stopped)(void* ctx, Module* m) = nullptr;
  // A forced unload: m is GOING; revoke its open handles.
  void (*revoking)(void* ctx, Module* m) = nullptr;
  // f is linked (its tunables' variables hold their defaults) and none of
  // its code ran yet: apply the load parameters and register its tunables.
  // An error refuses the load (this listener must leave nothing registered;
  // the listeners before it are told `stopped` for each of f's modules).
  Result<void> (*starting)(void* ctx, File& f, const LoadParams& p) = nullptr;
  void* ctx = nullptr;
};

enum class UnloadResult : uint8_t { kDone, kDeferred };

// A module file by name (from a hints lookup) or path, as the user asked.
class Registry;

struct RegistryDeps {
  Allocator* alloc = nullptr;
  Threads* threads = nullptr;
  link::Linker* linker = nullptr;
  ExportScope* exports = nullptr;
  ModuleSource* source = nullptr;  // may be nullptr: only load_bytes works
  // Logs one line (no newline). May be nullptr.
  void (*log)(void* ctx, const char* line) = nullptr;
  void* log_ctx = nullptr;
  // Applied to every file before it is parsed; nullptr: no signature policy.
  SignatureCheck* signature = nullptr;
};

class Registry {
 public:
  explicit Registry(const RegistryDeps& deps);
  ~Registry();
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  // Registers the kernel image as file 0: the module `kernel` at kpi_version
  // and the static modules whose metadata records are in `spans` (relocated
  // memory of the image's modkit_modinfo section). Runs their SYSINITs in
  // (subsystem, order) and their LOAD events in dependency order. A static
  // module whose LOAD fails is undone and logged; the boot goes on.
  [[nodiscard]] Result<File*> boot(const ByteView* spans, size_t count, uint32_t kpi_version);

  // kldload NAME / modprobe: the file that provides `module` per the hints
  // index (FreeBSD's version rule over [r]), with its dependencies.
  [[nodiscard]] Result<File*> load_module(const char* module, const VersionRange& r,
                                          const LoadParams& p = {});
  // kldload PATH: a file from the module source.
  [[nodiscard]] Result<File*> load_path(const char* path, const LoadParams& p = {});
  // A file from memory (`name` for messages and stat).
  [[nodiscard]] Result<File*> load_bytes(ByteView bytes, const char* name,
                                         const LoadParams& p = {});

  [[nodiscard]] Result<UnloadResult> unload(File* f, const UnloadOptions& o);
  // Unloads the file of module `name` (kldunload -n).
  [[nodiscard]] Result<UnloadResult> unload_module(const char* name, const UnloadOptions& o);

  // References held by code calling into a module. get fails (kBusy) unless
  // the module is LIVE. The caller must know that m is still there: it holds
  // a reference already, its file uses m's file, or it is m's own code.
  [[nodiscard]] Result<void> get(Module* m);
  // Finds the module of this name and references it in one step under the
  // registry mutex (kNotFound, kBusy): what a caller without any hold on the
  // module must use, since a find_module result may be unloaded at once.
  [[nodiscard]] Result<Module*> get(const char* name);
  void put(Module* m);
  // put, unless it is the last reference of a file whose unload is deferred:
  // that put would run the unload on this thread, which a caller inside a
  // call the unload drains (a device's close) must not do. Returns false
  // then, having put nothing; the caller has put() done elsewhere.
  [[nodiscard]] bool put_unless_finishing(Module* m);

  // The module of this name, or nullptr. Unless the caller holds it (see
  // get), another thread may unload it at any moment: compare the pointer,
  // do not follow it.
  Module* find_module(const char* name);
  File* find_file(const char* name);
  File* kernel();

  // SHUTDOWN to every module, dependents first (files in reverse load order,
  // modules of a file in reverse start order), then unloads every dynamic
  // file in the same order. Static modules stay (their image does not go).
  void shutdown();

  // Calls fn(ctx, file) for each file under the registry mutex (fn must not
  // call back into the registry).
  void for_each_file(void (*fn)(void* ctx, const File& f), void* ctx);
  size_t file_count();

  // The veto reason of a module in QUIESCE (mk_module_veto).
  static void set_veto(Module* m, const char* reason);

  // Adds a layer's hooks (see ModuleListener for the order they are told
  // in). Before boot and before any load: the list is read without a lock.
  // At most kMaxListeners (kNoSpace past that); a fixed array, so adding
  // never allocates and hooks never see a list being resized.
  static constexpr size_t kMaxListeners = 8;
  [[nodiscard]] Result<void> add_listener(const ModuleListener& l);
  size_t listener_count() const { return nlisteners_; }

 private:
  struct LoadCtx;
  Result<File*> load_module_locked(const char* module, const VersionRange& r, LoadCtx& ctx);
  Result<File*> load_path_locked(const char* path, LoadCtx& ctx, bool autoloaded);
  Result<File*> load_bytes_locked(ByteView bytes, const char* name, LoadCtx& ctx, bool autoloaded);
  Result<void> satisfy(File& f, const Metadata& md, LoadCtx& ctx);
  void undo_request(LoadCtx& ctx);
  Result<void> start(File& f);
  void stop(File& f, size_t started_modules);
  // Frees f, dropping its holds; moves its list of used files to *uses if given.
  void destroy_file(File* f, Vec<File*>* uses = nullptr);
  Result<UnloadResult> unload_locked(File* f, const UnloadOptions& o);
  void finish_unload(File* f);
  bool drain_wait(uint64_t deadline);
  void unload_unused_deps(File* f);
  int send(Module* m, int event);
  void enter();
  void leave();
  void logf(const char* fmt, ...) __attribute__((format(printf, 2, 3)));
  Module* find_module_nolock(const char* name);

  void notify_stopped(File& f);
  // The hooks told to every listener (in added order; see ModuleListener).
  void tell_stopped(Module* m, size_t upto = kMaxListeners);
  void tell_revoking(Module* m);
  void tell_resumed(Module* m, size_t upto = kMaxListeners);
  int tell_quiescing(Module* m);
  Result<void> tell_starting(File& f, const LoadParams& p);

  RegistryDeps d_;
  ModuleListener listeners_[kMaxListeners];
  size_t nlisteners_ = 0;
  Allocator& alloc_;
  Mutex* mu_ = nullptr;    // guards files_, states and reference counts
  CondVar* cv_ = nullptr;  // reference drops, loader hand-offs
  uint64_t loader_owner_ = 0;
  uint32_t loader_depth_ = 0;
  uint32_t next_id_ = 0;
  Vec<File*> files_;  // in load order; files_[0] is the kernel
  // A load's temporaries (its validated object, the linker's tables); used
  // by the loader only (enter()), marked and released by each load, so a
  // dependency loaded in the middle of a load releases its own first.
  Scratch scratch_;
};

}  // namespace mk::module
