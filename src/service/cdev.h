// Character devices: a module's mk_cdevsw (sdk/include/modkit/service.h)
// behind a devfs node. Each device is an owned registration (kind "cdev",
// named by its devfs path).
//
// Calls: every operation enters the owning module (an in-flight call) and
// answers -ENXIO without reaching module code once the module is not LIVE.
// A successful open also holds a reference on the module until its close,
// so the module's unload is refused while one of its devices is open (the
// default policy), waits for the close (the wait policy), or completes at
// the last close (deferred). Under a forced unload the module's devices are
// revoked (Devfs::revoke): every open file is closed at once (the module's
// close runs for each, dropping its reference) and answers -ENXIO from then
// on, and the node stays for new opens until the module destroys it (or is
// revoked with it).
//
// Destroying a device (mk_cdev_destroy, or the revoke of what a stopped
// module left) is Devfs::destroy_node: it waits for calls running in the
// device and closes every open, so the module may free its state right after.
//
// The last reference of a deferred unload may be dropped by a device call
// (a close, a read on a GOING module): those calls drop it through
// Registrations::leave_in_call, which hands that one put to another thread.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "devfs/devfs.h"
#include "modkit/service.h"
#include "service/event.h"
#include "service/registration.h"
#include "support/result.h"
#include "support/vector.h"

struct mk_cdev {};  // the SDK's opaque handle; Cdev derives from it

namespace mk::service {

class Cdev;

class Cdevs {
 public:
  // devfs may be nullptr (then create answers kNotFound); events may be
  // nullptr (then no "device_arrival" is invoked).
  Cdevs(Registrations& regs, Devfs* devfs, EventHandlers* events);
  ~Cdevs();
  Cdevs(const Cdevs&) = delete;
  Cdevs& operator=(const Cdevs&) = delete;

  // Makes the node and invokes "device_arrival" with its path. kInvalid for
  // a null or unversioned switch, what Devfs::make_node answers otherwise.
  [[nodiscard]] Result<Cdev*> create(module::Module* owner, const char* path, const mk_cdevsw* sw,
                                     void* softc, uint32_t mode, uint32_t uid, uint32_t gid);
  // The owner takes it back (see the top of this file).
  void destroy(Cdev* d);
  // The forced-unload hook (Registrations::set_open_revoker).
  static void revoke_open(void* ctx, module::Module* owner);

  // The SDK's handle and back (Cdev is complete only in cdev.cc).
  static mk_cdev* to_sdk(Cdev* d);
  static Cdev* from_sdk(mk_cdev* d);
  static void* softc(const Cdev* d);
  static const char* path(const Cdev* d);
  void poll_wakeup(Cdev* d);
  Devfs* devfs() { return devfs_; }

 private:
  static void revoke(void* ctx, void* entry);
  void unlink(Cdev* d);

  Registrations& regs_;
  Devfs* devfs_;
  EventHandlers* events_;
  Mutex* mu_ = nullptr;
  Vec<Cdev*> devices_;
};

}  // namespace mk::service
