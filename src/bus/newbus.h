// Newbus: buses, the devices on them and the drivers that attach to them, in
// the manner of FreeBSD newbus, freestanding.
//
// Devices: a bus enumerates devices (add_device) and may lose them
// (remove_device, hot-unplug). A device keeps its identity (device.h)
// whether or not a driver is attached.
//
// Drivers: registered by name (unique) for one bus, with a priority and a
// match table (module/match.h, from the module's metadata). Registering
// probes every unattached device of its bus; a new device is probed against
// every driver of its bus. A device goes to its best match: the highest
// priority among the drivers whose table matches and whose probe method (if
// any) accepts; the first registered wins a tie. An attach that fails leaves
// the device unattached (logged). Only unattached devices are probed: a
// better driver arriving later does not take a device from another.
//
// Unloading a driver's module is two steps, so that a refusing detach can
// refuse the unload: quiesce_module detaches every device of the module's
// drivers and stops them probing, all or nothing (one refusal re-attaches
// what was detached and reports the device and the driver's reason);
// resume_module undoes a quiesce (the unload did not happen); revoke_module
// removes the drivers (the unload happened) and probes the devices they left
// against the remaining drivers. revoke_module is also the last word for a
// driver still attached when its module goes: refusals are logged and
// overridden.
//
// In-flight calls: probe, attach and detach made on behalf of someone other
// than the driver's module (a device arriving or leaving) are bracketed by
// the CallGate (the module system's in-flight accounting); when enter fails
// (the module is going away) the driver is passed over. Calls made while the
// module itself registers or is being unloaded are not gated: its lifecycle
// is already held by the caller.
//
// Concurrency: one topology lock serialises every operation, driver calls
// included, and is recursive for the thread that holds it (a bus driver's
// attach may add children). Driver methods must not load or unload modules.
// Devices and drivers are freed only by remove_device / revoke; pointers
// returned stay valid until then.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "bus/device.h"
#include "modkit/bus.h"
#include "module/match.h"
#include "platform/thread.h"
#include "support/allocator.h"
#include "support/result.h"
#include "support/vector.h"

namespace mk::bus {

// The module system's in-flight accounting around calls into a module.
class CallGate {
 public:
  // False: the module is going away; do not call it.
  virtual bool enter(module::Module* owner) = 0;
  virtual void leave(module::Module* owner) = 0;

 protected:
  ~CallGate() = default;
};

struct StoredMatch {
  module::MatchKind kind;
  uint32_t vendor;
  uint32_t device;
  char compat[module::kCompatMax];
};

struct DriverSpec {
  const char* name = nullptr;
  const char* bus = nullptr;
  uint32_t priority = 0;
  const module::MatchEntry* match = nullptr;
  size_t nmatch = 0;
  const mk_driver_methods* methods = nullptr;  // attach and detach are required
  module::Module* owner = nullptr;             // nullptr: the kernel's own (never gated)
};

class Driver {
 public:
  explicit Driver(Allocator& a) : match(a) {}
  char name[module::kShortNameMax] = {};
  char bus[module::kShortNameMax] = {};
  uint32_t priority = 0;
  Vec<StoredMatch> match;
  mk_driver_methods methods = {};
  module::Module* owner = nullptr;
  bool quiesced = false;  // its module is unloading: no probes, no devices
  uint32_t attached = 0;  // devices attached to it

  bool matches(const Device& d) const;
};

enum class DeviceEvent : uint8_t { kArrived, kAttached, kDetached, kRemoved };

struct NewbusDeps {
  Allocator* alloc = nullptr;
  Threads* threads = nullptr;
  CallGate* gate = nullptr;  // may be nullptr: no accounting
  // One log line (no newline). May be nullptr.
  void (*log)(void* ctx, const char* line) = nullptr;
  // Told after each change of a device (under the topology lock: it must not
  // call back into the Newbus). May be nullptr.
  void (*event)(void* ctx, DeviceEvent e, const Device& d) = nullptr;
  void* ctx = nullptr;
};

class Newbus {
 public:
  explicit Newbus(const NewbusDeps& deps);
  ~Newbus();
  Newbus(const Newbus&) = delete;
  Newbus& operator=(const Newbus&) = delete;

  // A bus by name (kDuplicate when it exists).
  [[nodiscard]] Result<void> add_bus(const char* name);
  bool has_bus(const char* name);

  // Enumerates a device and probes it. The device is returned attached or
  // not (d->driver tells). kNotFound for an unknown bus, kInvalid for a bad
  // spec (device.h).
  [[nodiscard]] Result<Device*> add_device(const DeviceSpec& spec);
  // Hot-unplug: detaches (gated) and forgets the device. kNotFound; kBusy
  // when the driver refuses (with its reason; the device stays attached).
  [[nodiscard]] Result<void> remove_device(const char* name);

  // Registers a driver and attaches it where it is the best match.
  // kDuplicate (a driver of that name), kNotFound (no such bus), kInvalid.
  [[nodiscard]] Result<Driver*> register_driver(const DriverSpec& spec);
  // Detaches the driver's devices (all or nothing) and removes it; the
  // devices are probed against the other drivers. kBusy when a detach
  // refuses (nothing changes).
  [[nodiscard]] Result<void> unregister_driver(const char* name);

  // The unload steps (see the top of this file).
  [[nodiscard]] Result<void> quiesce_module(module::Module* owner);
  void resume_module(module::Module* owner);
  void revoke_module(module::Module* owner);
  // Removes driver `name` if `owner` registered it, as revoke_module does
  // (refusals logged and overridden): the revoke of the driver's owned
  // registration (service/registration.h). False when there is no such
  // driver of that owner (it was unregistered or revoked already).
  bool revoke_driver(const char* name, module::Module* owner);

  // Calls fn for each bus name, then each device (by bus, then unit), under
  // the topology lock (fn must not call back into the Newbus).
  void for_each_bus(void (*fn)(void* ctx, const char* bus), void* ctx);
  void for_each_device(void (*fn)(void* ctx, const Device& d), void* ctx);
  void for_each_driver(void (*fn)(void* ctx, const Driver& d), void* ctx);
  // For the driver KPI: the device is alive while its driver runs.
  Driver* find_driver(const char* name);
  Device* find_device(const char* name);

 private:
  struct Bus {
    char name[module::kShortNameMax];
  };
  void enter();
  void leave();
  struct Hold {  // the topology, for a scope
    explicit Hold(Newbus& n) : n_(n) { n_.enter(); }
    ~Hold() { n_.leave(); }
    Newbus& n_;
  };
  void logf(const char* fmt, ...) __attribute__((format(printf, 2, 3)));
  void notify(DeviceEvent e, const Device& d);
  bool call_begin(Driver* drv, bool gated);
  void call_end(Driver* drv, bool gated);
  // Probes one unattached device against every active driver of its bus (or
  // only `only`), attaching the best. True when it is attached afterwards.
  bool probe_and_attach(Device* d, Driver* only, bool gated);
  bool attach(Device* d, Driver* drv, bool gated);
  // Calls detach; 0 or the driver's error (d->refusal says why).
  int detach(Device* d, bool gated);
  void release(Device* d);  // after a successful detach
  Result<void> quiesce_driver(Driver* drv);
  void resume_driver(Driver* drv);
  void remove_driver(Driver* drv, bool forced);
  void probe_unattached(const char* bus);
  Driver* find_driver_locked(const char* name);
  int lowest_driver_unit(const Driver* drv);

  NewbusDeps d_;
  Allocator& alloc_;
  Mutex* mu_ = nullptr;
  CondVar* cv_ = nullptr;
  uint64_t owner_ = 0;  // thread holding the topology
  uint32_t depth_ = 0;
  Vec<Bus> buses_;
  Vec<Device*> devices_;  // by bus, then unit
  Vec<Driver*> drivers_;  // in registration order
};

}  // namespace mk::bus
