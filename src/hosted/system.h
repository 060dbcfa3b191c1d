// System: a hosted kernel's module system in one object: the platform (pages,
// heap, threads, module path, unwinder), the arena and linker, the export
// index and the registry, wired as architecture.md describes. modkitd, the
// tests and the C/C++ embedding API build on it.
//
// The KPI (the C functions of sdk/include/modkit/module.h: mk_module_get,
// mk_printf, ...) serves the most recently booted System.
#pragma once

#include <stdint.h>

#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "devfs/devfs.h"
#include "devfs/image_device.h"
#include "hosted/code_runtime.h"
#include "hosted/devices.h"
#include "hosted/malloc_allocator.h"
#include "hosted/module_path.h"
#include "hosted/page_memory.h"
#include "hosted/signature_verifier.h"
#include "hosted/threads.h"
#include "link/arena.h"
#include "link/linker.h"
#include "module/registry.h"
#include "service/services.h"
#include "symtab/kernel_symbols.h"

namespace mk::hosted {

struct SystemConfig {
  std::vector<std::string> module_path;
  uint32_t kpi_version = 1;
  // Boot the static modules linked into this program (its modkit_modinfo section).
  bool static_modules = true;
  // Module signatures (hosted/signature_verifier.h): the policy and the
  // public key files (KEY.pub of `modkit keygen`) whose signatures it trusts.
  // A key file that cannot be read makes boot() fail.
  SignaturePolicy signature_policy = SignaturePolicy::kOff;
  std::vector<std::string> trusted_keys;
  // Where log lines go (no newline). Default: kept in memory only (log()).
  std::function<void(const std::string&)> log;
  // The heap, the page memory and the code runtime of the core; nullptr: the
  // C library's heap, LinuxPageMemory and HostRuntime. Tests inject failing
  // ones (tests/hostile); they must outlive the System.
  Allocator* alloc = nullptr;
  PageMemory* pages = nullptr;
  CodeRuntime* runtime = nullptr;
};

class System {
 public:
  explicit System(SystemConfig config);
  ~System();
  System(const System&) = delete;
  System& operator=(const System&) = delete;

  // Exports the KPI and boots file 0 with the static modules.
  [[nodiscard]] Result<module::File*> boot();
  // Sends SHUTDOWN and unloads every dynamic file (also done by the destructor).
  // A file with an open device is left GOING, to unload at its last close
  // (Registry::shutdown).
  void shutdown();
  // After shutdown(), once nobody else can close device files (devfs
  // unmounted): revokes the open files of the files left GOING, as a forced
  // unload does, so their unloads finish now, while devfs and the services
  // they unregister from are still there. Also done by the destructor.
  void revoke_held_opens();

  module::Registry& registry() { return registry_; }
  // The service layer (devices, event handlers, tunables, services); its
  // character devices live in devfs().
  service::Services& services() { return *services_; }
  symtab::ExportIndex& exports() { return symbols_.exports(); }
  symtab::AddressMap& addresses() { return symbols_.addresses(); }
  link::Arena& arena() { return arena_; }
  link::Linker& linker() { return linker_; }
  ModulePath& module_path() { return source_; }
  SignatureVerifier& signatures() { return *verifier_; }
  // Raising is allowed at any time; lowering from enforce is refused until a
  // restart (a new System).
  [[nodiscard]] Result<void> set_signature_policy(SignaturePolicy p) {
    return verifier_->set_policy(p);
  }
  // The device namespace (devfs/devfs.h), made with the System (the service
  // layer needs it; boot() adds /ksyms before static modules make nodes): services make their nodes
  // here, modkitd mounts it (hosted/fuse_devfs.h). It holds /ksyms, the symbol image.
  Devfs& devfs() { return *devfs_; }
  // The buses, drivers and devices (hosted/devices.h), with `simbus`.
  HostBus& buses() { return *buses_; }
  // Rewrites /ksyms from what is loaded now. Call after each load and unload,
  // never during one (symtab/ksyms.h); failures are logged.
  void refresh_ksyms();

  std::vector<std::string> log() const;
  void add_log(const std::string& line);

 private:
  static void log_thunk(void* ctx, const char* line);
  [[nodiscard]] Result<void> boot_devfs();
  static void defer_put(void* ctx, module::Module* m);
  void join_deferred();

  SystemConfig config_;
  MallocAllocator malloc_;
  LinuxPageMemory linux_pages_;
  HostRuntime host_runtime_;
  Allocator& alloc_;      // config_.alloc, else malloc_
  PageMemory& pages_;     // config_.pages, else linux_pages_
  CodeRuntime& runtime_;  // config_.runtime, else host_runtime_
  PosixThreads threads_;
  ModulePath source_;
  std::string key_error_;  // why a trusted key could not be read; boot() reports it
  std::unique_ptr<SignatureVerifier> verifier_;
  link::Arena arena_;
  link::Linker linker_;
  symtab::KernelSymbols symbols_;
  module::Registry registry_;
  std::unique_ptr<HostBus> buses_;
  Devfs* devfs_ = nullptr;
  std::unique_ptr<ImageDevice> ksyms_;
  DevfsNode* ksyms_node_ = nullptr;
  std::unique_ptr<service::Services> services_;
  std::mutex deferred_mu_;
  std::vector<std::thread> deferred_;  // puts handed over by device calls
  bool booted_ = false;
  bool down_ = false;
  mutable std::mutex log_mu_;
  std::vector<std::string> log_;
};

// The System the KPI serves, or nullptr.
System* current_system();

// A KPI function as the kernel exports it to modules.
struct KpiSymbol {
  const char* name;
  void* addr;
};
// The driver and device KPI of modkit/bus.h (hosted/bus_kpi.cc).
const KpiSymbol* bus_kpi(size_t* count);

}  // namespace mk::hosted
