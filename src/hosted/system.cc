#include "hosted/system.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <cxxabi.h>

#include "elf/elf.h"
#include "hosted/symbols.h"
#include "modkit/module.h"
#include "modkit/service.h"

// The static modules' metadata: GNU ld defines these around the output
// section `modkit_modinfo` when the program links any module in. Weak: a
// program without static modules leaves them 0.
extern "C" {
extern const uint8_t __start_modkit_modinfo[] __attribute__((weak));
extern const uint8_t __stop_modkit_modinfo[] __attribute__((weak));
}

namespace mk::hosted {
namespace {

std::mutex g_current_mu;
System* g_current = nullptr;

void anchor() {}  // the default placement: near this program's code

std::unique_ptr<SignatureVerifier> make_verifier(const SystemConfig& c, System* s,
                                                 std::string* key_error) {
  std::vector<PublicKey> keys;
  if (!read_trusted_keys(c.trusted_keys, &keys, key_error)) keys.clear();
  return std::make_unique<SignatureVerifier>(c.signature_policy, std::move(keys),
                                             [s](const std::string& line) { s->add_log(line); });
}

}  // namespace

System* current_system() {
  std::lock_guard<std::mutex> g(g_current_mu);
  return g_current;
}

System::System(SystemConfig config)
    : config_(std::move(config)),
      alloc_(config_.alloc != nullptr ? *config_.alloc : malloc_),
      pages_(config_.pages != nullptr ? *config_.pages : linux_pages_),
      runtime_(config_.runtime != nullptr ? *config_.runtime : host_runtime_),
      source_(config_.module_path),
      verifier_(make_verifier(config_, this, &key_error_)),
      arena_(pages_, alloc_),
      linker_(arena_, alloc_, &runtime_, reinterpret_cast<uintptr_t>(&anchor)),
      symbols_(alloc_),
      registry_(module::RegistryDeps{&alloc_, &threads_, &linker_, &symbols_, &source_,
                                     &System::log_thunk, this, verifier_.get()}),
      buses_(std::make_unique<HostBus>(*this, alloc_, threads_)) {
  devfs_ = Devfs::create(alloc_, threads_);
  service::ServicesDeps sd;
  sd.base = service::RegistrationsDeps{&alloc_, &threads_,          &registry_, &System::log_thunk,
                                       this,    &System::defer_put, this};
  sd.devfs = devfs_;
  services_ = std::make_unique<service::Services>(sd);
  if (!services_->attach()) add_log("kernel: the service layer could not attach to the registry");
  // The buses take part in unloads after the service layer (the registry
  // tells listeners in the order they were added): they detach a driver
  // module's devices at QUIESCE, and a refusing detach refuses the unload.
  module::ModuleListener l;
  l.ctx = this;
  l.quiescing = [](void* ctx, module::Module* m) -> int {
    Result<void> r = static_cast<System*>(ctx)->buses_->quiescing(m);
    if (r) return 0;
    module::Registry::set_veto(m, r.error().message());
    return MK_EBUSY;
  };
  l.resumed = [](void* ctx, module::Module* m) { static_cast<System*>(ctx)->buses_->resumed(m); };
  l.stopped = [](void* ctx, module::Module* m) { static_cast<System*>(ctx)->buses_->stopped(m); };
  if (!registry_.add_listener(l)) add_log("kernel: the buses could not attach to the registry");
}

// A put that would run a deferred unload inside a device call: done on a
// thread of its own (joined at shutdown).
void System::defer_put(void* ctx, module::Module* m) {
  auto* self = static_cast<System*>(ctx);
  std::lock_guard<std::mutex> g(self->deferred_mu_);
  self->deferred_.emplace_back([self, m] { self->registry_.put(m); });
}

System::~System() {
  shutdown();
  // Before devfs goes: the last close of a held file runs its unload, whose
  // module code destroys its devices in devfs.
  revoke_held_opens();
  // Nodes left (static modules' devices, /ksyms) go first: closing their
  // opens still reaches the service layer.
  if (ksyms_node_ != nullptr) devfs_->destroy_node(ksyms_node_);
  if (devfs_ != nullptr) Devfs::destroy(devfs_);
  devfs_ = nullptr;
  ksyms_.reset();
  join_deferred();
  services_.reset();
  std::lock_guard<std::mutex> g(g_current_mu);
  if (g_current == this) g_current = nullptr;
}

void System::log_thunk(void* ctx, const char* line) {
  static_cast<System*>(ctx)->add_log(line);
}

void System::add_log(const std::string& line) {
  {
    std::lock_guard<std::mutex> g(log_mu_);
    log_.push_back(line);
  }
  if (config_.log) config_.log(line);
}

std::vector<std::string> System::log() const {
  std::lock_guard<std::mutex> g(log_mu_);
  return log_;
}

Result<module::File*> System::boot() {
  if (!key_error_.empty()) return Error(Errc::kInvalid, "%s", key_error_.c_str());
  {
    std::lock_guard<std::mutex> g(g_current_mu);
    g_current = this;
  }
  const KpiSymbol kpi[] = {
      {"mk_module_veto", reinterpret_cast<void*>(&mk_module_veto)},
      {"mk_module_get", reinterpret_cast<void*>(&mk_module_get)},
      {"mk_module_put", reinterpret_cast<void*>(&mk_module_put)},
      {"mk_module_find", reinterpret_cast<void*>(&mk_module_find)},
      {"mk_module_name", reinterpret_cast<void*>(&mk_module_name)},
      {"mk_printf", reinterpret_cast<void*>(&mk_printf)},
      {"mk_module_load", reinterpret_cast<void*>(&mk_module_load)},
      // The service KPI (hosted/service_kpi.cc).
      {"mk_cdev_create", reinterpret_cast<void*>(&mk_cdev_create)},
      {"mk_cdev_destroy", reinterpret_cast<void*>(&mk_cdev_destroy)},
      {"mk_cdev_softc", reinterpret_cast<void*>(&mk_cdev_softc)},
      {"mk_cdev_poll_wakeup", reinterpret_cast<void*>(&mk_cdev_poll_wakeup)},
      {"mk_event_register", reinterpret_cast<void*>(&mk_event_register)},
      {"mk_event_deregister", reinterpret_cast<void*>(&mk_event_deregister)},
      {"mk_event_invoke", reinterpret_cast<void*>(&mk_event_invoke)},
      {"mk_service_offer", reinterpret_cast<void*>(&mk_service_offer)},
      {"mk_service_withdraw", reinterpret_cast<void*>(&mk_service_withdraw)},
      {"mk_service_acquire", reinterpret_cast<void*>(&mk_service_acquire)},
      {"mk_service_release", reinterpret_cast<void*>(&mk_service_release)},
      // What compilers emit calls to on their own. A C++ global with a
      // destructor registers it with __cxa_atexit against the module's
      // __dso_handle; the linker runs them (__cxa_finalize) at unload.
      {"__cxa_atexit", reinterpret_cast<void*>(&abi::__cxa_atexit)},
      {"memcpy", reinterpret_cast<void*>(&memcpy)},
      {"memmove", reinterpret_cast<void*>(&memmove)},
      {"memset", reinterpret_cast<void*>(&memset)},
      {"memcmp", reinterpret_cast<void*>(&memcmp)},
      {"strlen", reinterpret_cast<void*>(&strlen)},
  };
  size_t nbus = 0;
  const KpiSymbol* bus = bus_kpi(&nbus);
  for (size_t i = 0; i < sizeof kpi / sizeof kpi[0] + nbus; ++i) {
    const KpiSymbol& s =
        i < sizeof kpi / sizeof kpi[0] ? kpi[i] : bus[i - sizeof kpi / sizeof kpi[0]];
    Result<void> r = symbols_.exports().add_kernel_symbol(
        s.name, reinterpret_cast<uint64_t>(s.addr), 0, elf::STT_FUNC);
    if (!r) return r.error();
  }
  ByteView span;
  size_t spans = 0;
  if (config_.static_modules && __start_modkit_modinfo != nullptr &&
      +__stop_modkit_modinfo > +__start_modkit_modinfo) {
    span = ByteView(__start_modkit_modinfo,
                    static_cast<size_t>(__stop_modkit_modinfo - __start_modkit_modinfo));
    spans = 1;
  }
  MK_TRY(boot_devfs());
  Result<module::File*> k = registry_.boot(&span, spans, config_.kpi_version);
  if (k) {
    booted_ = true;
    refresh_ksyms();
  }
  return k;
}

// devfs with its /ksyms node, before the static modules (which may make nodes).
Result<void> System::boot_devfs() {
  if (ksyms_node_ != nullptr) return Ok();
  if (devfs_ == nullptr) return Error(Errc::kNoMemory, "boot: out of memory for devfs");
  ksyms_ = std::make_unique<ImageDevice>(alloc_, threads_);
  MK_TRY(ksyms_->init());
  ksyms_node_ = MK_TRY(devfs_->make_node("ksyms", ksyms_.get(), 0444, 0, 0));
  return Ok();
}

void System::refresh_ksyms() {
  if (ksyms_node_ == nullptr) return;  // not booted
  std::vector<uint8_t> image;
  Result<void> r = ksyms_image(*this, &image);
  if (!r) {
    add_log(std::string("ksyms: /ksyms not updated: ") + r.error().message());
    return;
  }
  Result<void> set = ksyms_->set_image(image.data(), image.size());
  if (!set) add_log(std::string("ksyms: /ksyms not updated: ") + set.error().message());
}

void System::shutdown() {
  if (!booted_ || down_) return;
  down_ = true;
  (void)services_->events().invoke("shutdown", nullptr);
  registry_.shutdown();
  join_deferred();
}

void System::revoke_held_opens() {
  if (!down_) return;
  // Closes made before (the unmount releases the mount's open files) may
  // still be finishing their unloads on deferred threads: let them, so that
  // what is left below has nobody else working on it.
  join_deferred();
  std::vector<module::Module*> held;
  registry_.for_each_file(
      [](void* ctx, const module::File& f) {
        if (!f.deferred) return;
        for (module::Module* m : f.modules)
          static_cast<std::vector<module::Module*>*>(ctx)->push_back(m);
      },
      &held);
  // The revokers match devices by owner and only compare the pointer; the
  // closes they make drop the references (the last one finishes the unload,
  // on a deferred thread when it is made inside a device call).
  for (module::Module* m : held)
    services_->registrations().module_revoking(m);
  join_deferred();
}

void System::join_deferred() {
  for (;;) {
    std::vector<std::thread> deferred;
    {
      std::lock_guard<std::mutex> g(deferred_mu_);
      deferred.swap(deferred_);
    }
    if (deferred.empty()) return;
    for (std::thread& t : deferred)
      t.join();
  }
}

}  // namespace mk::hosted

// ---- the KPI: C functions modules call (sdk/include/modkit/module.h) ----

using mk::module::Module;
using mk::module::Registry;

extern "C" {

int mk_module_veto(struct mk_module* module, const char* reason) {
  Registry::set_veto(static_cast<Module*>(module), reason != nullptr ? reason : "busy");
  return MK_EBUSY;
}

int mk_module_get(struct mk_module* module) {
  mk::hosted::System* s = mk::hosted::current_system();
  if (s == nullptr || module == nullptr) return MK_ENXIO;
  return s->registry().get(static_cast<Module*>(module)) ? 0 : MK_ENXIO;
}

void mk_module_put(struct mk_module* module) {
  mk::hosted::System* s = mk::hosted::current_system();
  if (s != nullptr && module != nullptr) s->registry().put(static_cast<Module*>(module));
}

struct mk_module* mk_module_find(const char* name) {
  mk::hosted::System* s = mk::hosted::current_system();
  return s == nullptr ? nullptr : s->registry().find_module(name);
}

int mk_module_load(const char* name) {
  mk::hosted::System* s = mk::hosted::current_system();
  if (s == nullptr || name == nullptr) return MK_ENXIO;
  // Any version: the highest in the hints index.
  mk::Result<mk::module::File*> f =
      s->registry().load_module(name, mk::module::VersionRange{0, UINT32_MAX, UINT32_MAX});
  if (f) return 0;
  s->add_log(std::string("mk_module_load(") + name + "): " + f.error().message());
  switch (f.error().code()) {
    case mk::Errc::kDuplicate:
      return MK_EEXIST;
    case mk::Errc::kNotFound:
      return MK_ENOENT;
    case mk::Errc::kBusy:
      return MK_EBUSY;
    case mk::Errc::kNoMemory:
      return MK_ENOMEM;
    case mk::Errc::kPermission:
      return MK_EPERM;
    case mk::Errc::kIo:
      return MK_EIO;
    default:
      return MK_EINVAL;
  }
}

const char* mk_module_name(const struct mk_module* module) {
  return static_cast<const Module*>(module)->name;
}

void mk_printf(const char* fmt, ...) {
  char line[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(line, sizeof line, fmt, ap);
  va_end(ap);
  size_t n = strlen(line);
  while (n > 0 && line[n - 1] == '\n')
    line[--n] = '\0';
  mk::hosted::System* s = mk::hosted::current_system();
  if (s != nullptr) s->add_log(line);
}

}  // extern "C"
