// Owned registrations: the one framework every service kind (character
// devices, event handlers, tunables, generic services, buses and drivers)
// registers through, so that what a module leaves behind is found and taken
// away, and so that calls into a module are counted.
//
// Ownership: every registration records its owner module, its kind ("cdev",
// "event", "driver", ...) and its name. The owner deregisters with remove()
// (no revoke call, nothing logged). When the owner stops (its UNLOAD and
// SYSUNINITs ran, or its start failed) the registry's listener calls
// module_stopped(): what is left is revoked newest first, each one logged as
// a leak ("echo: leaked cdev 'echo0', revoked"), through the revoke function
// its kind gave. A kind's revoke function unlinks its entry from its own
// tables and waits for its own handles to drain; afterwards nothing of the
// kind may reach the entry's owner.
//
// In-flight calls: a call into a module through a service is bracketed by
// enter()/leave(), which take and drop a registry user reference, so unload
// drains calls under its policy (refuse, wait, defer). enter() fails with
// MK_ENXIO once the module is not LIVE (QUIESCING, GOING). A kind finds an
// entry and enters its owner under the kind's own lock (the revoke function
// takes that lock to unlink, and runs only after the registry drained the
// owner's references), so the owner is never freed between lookup and enter.
// Lock order: a kind's lock, then the registry's mutex. Never call leave()
// (a registry put, which may complete a deferred unload and so revoke) while
// holding a kind's lock.
//
// Forced unload: a module's open handles (an open device) hold references
// that would never drain. Under UnloadOptions::force the registry calls
// module_revoking() once the module is GOING; each kind with an open-handle
// hook (set_open_revoker) revokes the owner's handles (they answer ENXIO from
// then on) and drops their references, so the drain only waits for calls
// already running.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "module/registry.h"
#include "platform/thread.h"
#include "support/allocator.h"
#include "support/result.h"
#include "support/vector.h"

namespace mk::service {

// Takes one entry away: called without any registrations lock held, at most
// once per entry, never after remove() returned for it.
using RevokeFn = void (*)(void* ctx, void* entry);

struct Registration {
  module::Module* owner = nullptr;
  char kind[16] = {};
  char name[64] = {};
  RevokeFn revoke = nullptr;
  void* ctx = nullptr;
  void* entry = nullptr;
  bool declared = false;         // made by the kernel from the module's metadata: not a leak
  Registration* prev = nullptr;  // the owner's list, oldest first
  Registration* next = nullptr;
};

// What a registration returns: the node, tagged with its owner.
using Handle = Registration*;

// Revokes the open handles of one module (see "Forced unload").
using OpenRevokeFn = void (*)(void* ctx, module::Module* owner);

struct RegistrationsDeps {
  Allocator* alloc = nullptr;
  Threads* threads = nullptr;
  module::Registry* registry = nullptr;
  // Logs one line (no newline). May be nullptr.
  void (*log)(void* ctx, const char* line) = nullptr;
  void* log_ctx = nullptr;
  // Runs registry->put(m) on another thread, soon (see leave_in_call). May
  // be nullptr: then that put runs inline, and a device call that drops the
  // last reference of a deferred unload deadlocks in the device's destroy.
  void (*defer_put)(void* ctx, module::Module* m) = nullptr;
  void* defer_ctx = nullptr;
};

class Registrations {
 public:
  explicit Registrations(const RegistrationsDeps& deps);
  ~Registrations();
  Registrations(const Registrations&) = delete;
  Registrations& operator=(const Registrations&) = delete;

  // Records that `owner` registered `entry` (kind and name are copied,
  // truncated to fit). kNoMemory, or kInvalid when owner is nullptr.
  [[nodiscard]] Result<Handle> add(module::Module* owner, const char* kind, const char* name,
                                   RevokeFn revoke, void* ctx, void* entry);
  // The same for what the kernel registers for a module from its metadata
  // (its tunables): revoked at its stop like the rest, but not a leak.
  [[nodiscard]] Result<Handle> add_declared(module::Module* owner, const char* kind,
                                            const char* name, RevokeFn revoke, void* ctx,
                                            void* entry);
  // The owner takes its registration back: no revoke call, no leak logged.
  void remove(Handle h);

  // Revokes what `owner` still holds, newest first, logging each as a leak.
  // Returns how many were revoked.
  size_t module_stopped(module::Module* owner);
  // Forced unload: the open-handle hooks of every kind, for `owner`.
  void module_revoking(module::Module* owner);
  // A kind's open-handle hook; up to 8 kinds.
  [[nodiscard]] Result<void> set_open_revoker(OpenRevokeFn fn, void* ctx);

  // How many registrations `owner` holds now.
  size_t count(const module::Module* owner);

  // A call into `owner`'s code: 0, or MK_ENXIO when it is not LIVE.
  [[nodiscard]] int enter(module::Module* owner);
  void leave(module::Module* owner);
  // leave() from inside a call that the owner's unload waits for (a device
  // operation: destroying the device drains it). When this is the last
  // reference of a deferred unload, the put that runs the unload goes to
  // another thread (RegistrationsDeps::defer_put) instead of deadlocking.
  void leave_in_call(module::Module* owner);

  // The hooks to give the registry (Registry::add_listener).
  module::ModuleListener listener();

  module::Registry& registry() { return *d_.registry; }
  Allocator& allocator() { return *d_.alloc; }
  Threads& threads() { return *d_.threads; }
  void logf(const char* fmt, ...) __attribute__((format(printf, 2, 3)));

 private:
  struct Owner {
    module::Module* module;
    Registration* first;
    Registration* last;
    size_t count;
  };
  struct OpenRevoker {
    OpenRevokeFn fn;
    void* ctx;
  };
  Owner* find_owner(const module::Module* m);
  void unlink(Registration* r);

  RegistrationsDeps d_;
  Mutex* mu_ = nullptr;  // guards owners_ and every list
  Vec<Owner> owners_;
  OpenRevoker revokers_[8] = {};
  size_t nrevokers_ = 0;
};

// Brackets one call into a module: enters on construction, leaves on
// destruction when the enter succeeded.
class Call {
 public:
  Call(Registrations& r, module::Module* owner) : r_(r), owner_(owner), err_(r.enter(owner)) {}
  ~Call() {
    if (err_ == 0) r_.leave(owner_);
  }
  Call(const Call&) = delete;
  Call& operator=(const Call&) = delete;
  // 0 when the call may proceed, else MK_ENXIO.
  int error() const { return err_; }

 private:
  Registrations& r_;
  module::Module* owner_;
  int err_;
};

}  // namespace mk::service
