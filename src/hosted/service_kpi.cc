// The service KPI (sdk/include/modkit/service.h): the C functions modules
// call to register devices, event handlers and services, over the current
// System's service layer. Errors a module cannot act on are logged with
// their full message; the module gets the errno value.
#include <string>

#include "hosted/kpi_errno.h"
#include "hosted/system.h"
#include "modkit/service.h"
#include "service/services.h"

using mk::Errc;
using mk::hosted::current_system;
using mk::hosted::System;
using mk::module::Module;

namespace {

int fail(System* s, const char* call, const mk::Error& e) {
  s->add_log(std::string(call) + ": " + e.message());
  return mk::hosted::kpi_errno(e.code());
}

}  // namespace

extern "C" {

int mk_cdev_create(struct mk_module* owner, const char* path, const struct mk_cdevsw* sw,
                   void* softc, uint32_t mode, uint32_t uid, uint32_t gid, struct mk_cdev** out) {
  System* s = current_system();
  if (s == nullptr) return MK_ENXIO;
  if (owner == nullptr || out == nullptr) return MK_EINVAL;
  mk::Result<mk::service::Cdev*> d =
      s->services().cdevs().create(static_cast<Module*>(owner), path, sw, softc, mode, uid, gid);
  if (!d) return fail(s, "mk_cdev_create", d.error());
  *out = mk::service::Cdevs::to_sdk(d.value());
  return 0;
}

void mk_cdev_destroy(struct mk_cdev* dev) {
  System* s = current_system();
  if (s != nullptr && dev != nullptr)
    s->services().cdevs().destroy(mk::service::Cdevs::from_sdk(dev));
}

void* mk_cdev_softc(const struct mk_cdev* dev) {
  return mk::service::Cdevs::softc(mk::service::Cdevs::from_sdk(const_cast<mk_cdev*>(dev)));
}

void mk_cdev_poll_wakeup(struct mk_cdev* dev) {
  System* s = current_system();
  if (s != nullptr && dev != nullptr)
    s->services().cdevs().poll_wakeup(mk::service::Cdevs::from_sdk(dev));
}

int mk_event_register(struct mk_module* owner, const char* event, int priority,
                      mk_event_handler_fn fn, void* arg, struct mk_eventh** out) {
  System* s = current_system();
  if (s == nullptr) return MK_ENXIO;
  if (owner == nullptr || out == nullptr) return MK_EINVAL;
  mk::Result<mk::service::EventHandler*> h =
      s->services().events().add(static_cast<Module*>(owner), event, priority, fn, arg);
  if (!h) return fail(s, "mk_event_register", h.error());
  *out = reinterpret_cast<mk_eventh*>(h.value());
  return 0;
}

void mk_event_deregister(struct mk_eventh* h) {
  System* s = current_system();
  if (s != nullptr && h != nullptr)
    s->services().events().remove(reinterpret_cast<mk::service::EventHandler*>(h));
}

int mk_event_invoke(const char* event, void* data) {
  System* s = current_system();
  if (s == nullptr || event == nullptr) return 0;
  return static_cast<int>(s->services().events().invoke(event, data));
}

int mk_service_offer(struct mk_module* owner, const char* name, uint32_t version, const void* table,
                     size_t size, struct mk_service** out) {
  System* s = current_system();
  if (s == nullptr) return MK_ENXIO;
  if (owner == nullptr || out == nullptr) return MK_EINVAL;
  mk::Result<mk::service::Offer*> o =
      s->services().services().offer(static_cast<Module*>(owner), name, version, table, size);
  if (!o) return fail(s, "mk_service_offer", o.error());
  *out = reinterpret_cast<mk_service*>(o.value());
  return 0;
}

void mk_service_withdraw(struct mk_service* svc) {
  System* s = current_system();
  if (s != nullptr && svc != nullptr)
    s->services().services().withdraw(reinterpret_cast<mk::service::Offer*>(svc));
}

const void* mk_service_acquire(const char* name, uint32_t min, uint32_t max, size_t* size_out) {
  System* s = current_system();
  if (s == nullptr || name == nullptr) return nullptr;
  mk::Result<const void*> t = s->services().services().acquire(name, min, max, size_out);
  if (!t) {
    (void)fail(s, "mk_service_acquire", t.error());
    return nullptr;
  }
  return t.value();
}

void mk_service_release(const void* table) {
  System* s = current_system();
  if (s == nullptr) return;
  mk::Result<void> r = s->services().services().release(table);
  if (!r) (void)fail(s, "mk_service_release", r.error());
}

}  // extern "C"
