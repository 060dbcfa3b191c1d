// HostBus: the hosted kernel's buses. It owns the Newbus (bus/newbus.h) of a
// System, creates the simulated bus `simbus`, serves the driver KPI of
// sdk/include/modkit/bus.h, takes part in unloads (a driver module's devices
// are detached at QUIESCE, a refusal refuses the unload), and loads the
// module that drives a device nothing drives, through the hints index of the
// module path (FreeBSD's devmatch).
//
// Device text (a config `device =` line, a hot-plug request, `modkit device
// add`): "BUS [vendor=ID] [device=ID] [compat=STRING]... [key=value]...";
// ids are 0x-prefixed hexadecimal or decimal uint32s (0 when absent); up to
// four compat= keys; every other key=value pair is an attach argument the
// driver reads with mk_device_arg. A bad one is an Errc::kInvalid naming it.
//
// Driver registration (mk_driver_register) takes the driver's bus, priority
// and match table from the module's own metadata records, read in its loaded
// memory: what the hints index says and what the kernel probes with are the
// same records. Each registered driver is also an owned registration of its
// module (service/registration.h, kind "driver"): mk_driver_unregister takes
// it back; a driver still registered when its module stops (unloaded, or its
// LOAD failed after registering) is revoked, its devices detached (a refusal
// overridden), and logged as a leak ("simdrv: leaked driver 'simdrv',
// revoked").
#pragma once

#include <stdint.h>

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "bus/newbus.h"
#include "module/registry.h"
#include "support/result.h"

namespace mk::hosted {

class System;

inline constexpr char kSimBus[] = "simbus";

// A device's text form, parsed (the strings the DeviceSpec points into).
struct DeviceText {
  std::string bus;
  uint32_t vendor = 0;
  uint32_t device = 0;
  std::vector<std::string> compat;
  std::string args;  // "key=value key=value"
  // The spec over these strings (valid while this DeviceText lives).
  bus::DeviceSpec spec() const;
};

[[nodiscard]] Result<DeviceText> parse_device_text(const std::string& text);

struct DeviceAdded {
  std::string name;            // "simbus:0"
  std::string attached;        // "simdrv0", or "" when nothing drives it
  std::string autoload;        // the module loaded for it through the hints, or ""
  std::string autoload_error;  // why that load failed, or ""
};

class HostBus {
 public:
  HostBus(System& system, Allocator& alloc, Threads& threads);
  ~HostBus();
  HostBus(const HostBus&) = delete;
  HostBus& operator=(const HostBus&) = delete;

  bus::Newbus& newbus() { return *newbus_; }

  // Hot-plug: adds the device, and when no driver attaches, loads the
  // module the hints index names for it (with its dependencies). A failed
  // auto-load is reported in the result and logged; the device stays.
  [[nodiscard]] Result<DeviceAdded> add(const std::string& text);
  // Hot-unplug (bus::Newbus::remove_device).
  [[nodiscard]] Result<void> remove(const std::string& name);

  // The KPI (errno-style returns, sdk/include/modkit/bus.h).
  int register_driver(module::Module* m, const char* driver, const mk_driver_methods* methods);
  int unregister_driver(module::Module* m, const char* driver);

  // The registry's unload steps for module m (newbus.h).
  [[nodiscard]] Result<void> quiescing(module::Module* m);
  void resumed(module::Module* m);
  void stopped(module::Module* m);

 private:
  class Gate;
  struct Owned;  // a registered driver's owned registration
  std::string autoload(const bus::Device& d, std::string* error);
  static void revoke_owned(void* ctx, void* entry);

  System& system_;
  std::unique_ptr<Gate> gate_;
  std::unique_ptr<bus::Newbus> newbus_;
  std::mutex hotplug_mu_;                // one hot-plug at a time: add and its auto-load
  std::mutex owned_mu_;                  // guards owned_
  std::map<std::string, Owned*> owned_;  // by driver name (unique in the Newbus)
};

}  // namespace mk::hosted
