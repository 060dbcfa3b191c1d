// Services: the service layer of one kernel in one object: the owned
// registrations and every service kind over them (character devices on a
// devfs, event handlers, tunables, generic services), wired to the registry
// (its listener: stopped, revoking, starting). The hosted System and the
// tests build on it; the KPI's C functions (sdk/include/modkit/service.h)
// are thin wrappers over its members.
#pragma once

#include "devfs/devfs.h"
#include "service/cdev.h"
#include "service/event.h"
#include "service/registration.h"
#include "service/service_table.h"
#include "service/tunable.h"

namespace mk::service {

struct ServicesDeps {
  RegistrationsDeps base;  // allocator, threads, registry, log, deferred puts
  Devfs* devfs = nullptr;  // may be nullptr: no character devices
};

class Services {
 public:
  explicit Services(const ServicesDeps& deps);
  Services(const Services&) = delete;
  Services& operator=(const Services&) = delete;

  // Installs the listener in the registry; before it boots.
  [[nodiscard]] Result<void> attach();

  Registrations& registrations() { return regs_; }
  Tunables& tunables() { return tunables_; }
  EventHandlers& events() { return events_; }
  ServiceTable& services() { return services_; }
  Cdevs& cdevs() { return cdevs_; }

 private:
  static Result<void> starting(void* ctx, module::File& f, const module::LoadParams& p);
  static void stopped(void* ctx, module::Module* m);
  static void revoking(void* ctx, module::Module* m);

  Registrations regs_;
  Tunables tunables_;
  EventHandlers events_;
  ServiceTable services_;
  Cdevs cdevs_;  // last: destroyed first (its devices may invoke events)
};

}  // namespace mk::service
