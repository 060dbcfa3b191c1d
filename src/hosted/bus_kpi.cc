// The driver and device KPI of sdk/include/modkit/bus.h: C functions modules
// call, served by the current System's HostBus (hosted/devices.h). The
// device accessors read the device the driver was handed; it stays valid
// while the driver is attached (newbus.h).
#include <stdio.h>

#include "bus/device.h"
#include "bus/newbus.h"
#include "hosted/system.h"
#include "modkit/bus.h"

using mk::bus::Device;
using mk::module::Module;

namespace mk::hosted {

const KpiSymbol* bus_kpi(size_t* count) {
  static const KpiSymbol kpi[] = {
      {"mk_driver_register", reinterpret_cast<void*>(&mk_driver_register)},
      {"mk_driver_unregister", reinterpret_cast<void*>(&mk_driver_unregister)},
      {"mk_device_name", reinterpret_cast<void*>(&mk_device_name)},
      {"mk_device_unit", reinterpret_cast<void*>(&mk_device_unit)},
      {"mk_device_vendor", reinterpret_cast<void*>(&mk_device_vendor)},
      {"mk_device_id", reinterpret_cast<void*>(&mk_device_id)},
      {"mk_device_arg", reinterpret_cast<void*>(&mk_device_arg)},
      {"mk_device_set_softc", reinterpret_cast<void*>(&mk_device_set_softc)},
      {"mk_device_softc", reinterpret_cast<void*>(&mk_device_softc)},
      {"mk_device_refuse", reinterpret_cast<void*>(&mk_device_refuse)},
  };
  *count = sizeof kpi / sizeof kpi[0];
  return kpi;
}

}  // namespace mk::hosted

extern "C" {

int mk_driver_register(struct mk_module* module, const char* driver,
                       const struct mk_driver_methods* methods) {
  mk::hosted::System* s = mk::hosted::current_system();
  if (s == nullptr) return MK_ENXIO;
  return s->buses().register_driver(static_cast<Module*>(module), driver, methods);
}

int mk_driver_unregister(struct mk_module* module, const char* driver) {
  mk::hosted::System* s = mk::hosted::current_system();
  if (s == nullptr) return MK_ENXIO;
  return s->buses().unregister_driver(static_cast<Module*>(module), driver);
}

const char* mk_device_name(const struct mk_device* dev) {
  return static_cast<const Device*>(dev)->name;
}

int mk_device_unit(const struct mk_device* dev) {
  return static_cast<const Device*>(dev)->driver_unit;
}

uint32_t mk_device_vendor(const struct mk_device* dev) {
  return static_cast<const Device*>(dev)->vendor;
}

uint32_t mk_device_id(const struct mk_device* dev) {
  return static_cast<const Device*>(dev)->device;
}

const char* mk_device_arg(const struct mk_device* dev, const char* key) {
  if (key == nullptr) return nullptr;
  return static_cast<const Device*>(dev)->arg(key);
}

void mk_device_set_softc(struct mk_device* dev, void* softc) {
  static_cast<Device*>(dev)->softc = softc;
}

void* mk_device_softc(const struct mk_device* dev) {
  return static_cast<const Device*>(dev)->softc;
}

int mk_device_refuse(struct mk_device* dev, const char* reason) {
  auto* d = static_cast<Device*>(dev);
  snprintf(d->refusal, sizeof d->refusal, "%s", reason != nullptr ? reason : "busy");
  return MK_EBUSY;
}

}  // extern "C"
