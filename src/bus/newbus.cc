#include "bus/newbus.h"

#include <stdarg.h>

#include "support/format.h"
#include "support/memory.h"

namespace mk::bus {
namespace {

void copy(char* dst, size_t cap, const char* src) {
  size_t n = mk_strlen(src);
  if (n >= cap) n = cap - 1;
  mk_memcpy(dst, src, n);
  dst[n] = '\0';
}

// (a.bus, a.unit) < (bus, unit)
bool before(const Device& a, const char* bus, uint32_t unit) {
  const char* x = a.bus;
  const char* y = bus;
  for (; *x != '\0' && *x == *y; ++x, ++y) {
  }
  if (*x != *y) return static_cast<unsigned char>(*x) < static_cast<unsigned char>(*y);
  return a.unit < unit;
}

}  // namespace

bool Driver::matches(const Device& d) const {
  if (!str_eq(bus, d.bus)) return false;
  const char* compat[module::kDeviceCompatMax];
  module::DeviceIds ids = d.ids(compat);
  for (const StoredMatch& m : match)
    if (module::entry_matches(module::MatchEntry{m.kind, m.vendor, m.device, m.compat}, ids))
      return true;
  return false;
}

Newbus::Newbus(const NewbusDeps& deps)
    : d_(deps), alloc_(*deps.alloc), buses_(alloc_), devices_(alloc_), drivers_(alloc_) {
  mu_ = d_.threads->new_mutex();
  cv_ = d_.threads->new_condvar();
}

Newbus::~Newbus() {
  for (Device* d : devices_)
    destroy(alloc_, d);
  for (Driver* drv : drivers_)
    destroy(alloc_, drv);
  if (cv_ != nullptr) d_.threads->delete_condvar(cv_);
  if (mu_ != nullptr) d_.threads->delete_mutex(mu_);
}

void Newbus::enter() {
  uint64_t me = d_.threads->thread_id();
  LockGuard g(*mu_);
  while (depth_ != 0 && owner_ != me)
    cv_->wait(*mu_);
  owner_ = me;
  ++depth_;
}

void Newbus::leave() {
  LockGuard g(*mu_);
  if (--depth_ == 0) {
    owner_ = 0;
    cv_->broadcast();
  }
}

void Newbus::logf(const char* fmt, ...) {
  if (d_.log == nullptr) return;
  char line[512];
  va_list ap;
  va_start(ap, fmt);
  vformat(line, sizeof line, fmt, ap);
  va_end(ap);
  d_.log(d_.ctx, line);
}

void Newbus::notify(DeviceEvent e, const Device& d) {
  if (d_.event != nullptr) d_.event(d_.ctx, e, d);
}

bool Newbus::call_begin(Driver* drv, bool gated) {
  if (!gated || drv->owner == nullptr || d_.gate == nullptr) return true;
  return d_.gate->enter(drv->owner);
}

void Newbus::call_end(Driver* drv, bool gated) {
  if (!gated || drv->owner == nullptr || d_.gate == nullptr) return;
  d_.gate->leave(drv->owner);
}

Result<void> Newbus::add_bus(const char* name) {
  if (const char* why = module::short_name_problem(name))
    return Error(Errc::kInvalid, "bus name `%.*s' %s", 64, name, why);
  Hold t(*this);
  for (const Bus& b : buses_)
    if (str_eq(b.name, name)) return Error(Errc::kDuplicate, "bus %s exists already", name);
  Bus b{};
  copy(b.name, sizeof b.name, name);
  if (!buses_.push(b)) return Error(Errc::kNoMemory, "bus %s: out of memory", name);
  return Ok();
}

bool Newbus::has_bus(const char* name) {
  Hold t(*this);
  for (const Bus& b : buses_)
    if (str_eq(b.name, name)) return true;
  return false;
}

int Newbus::lowest_driver_unit(const Driver* drv) {
  for (int unit = 0;; ++unit) {
    bool used = false;
    for (const Device* d : devices_)
      if (d->driver == drv && d->driver_unit == unit) used = true;
    if (!used) return unit;
  }
}

bool Newbus::attach(Device* d, Driver* drv, bool gated) {
  if (!call_begin(drv, gated)) return false;
  d->driver = drv;
  d->driver_unit = lowest_driver_unit(drv);
  d->softc = nullptr;
  int err = drv->methods.attach(d);
  call_end(drv, gated);
  if (err != 0) {
    logf("%s: %s%d attach failed (error %d); the device stays unattached", d->name, drv->name,
         d->driver_unit, err);
    d->driver = nullptr;
    d->driver_unit = -1;
    d->softc = nullptr;
    return false;
  }
  ++drv->attached;
  logf("%s: attached %s%d (driver %s, priority %u)", d->name, drv->name, d->driver_unit, drv->name,
       drv->priority);
  notify(DeviceEvent::kAttached, *d);
  return true;
}

bool Newbus::probe_and_attach(Device* d, Driver* only, bool gated) {
  if (d->driver != nullptr) return true;
  Driver* best = nullptr;
  for (size_t i = 0; i < drivers_.size(); ++i) {
    Driver* drv = drivers_[i];
    if (drv->quiesced || (only != nullptr && drv != only) || !drv->matches(*d)) continue;
    if (best != nullptr && drv->priority <= best->priority) continue;
    if (drv->methods.probe != nullptr) {
      if (!call_begin(drv, gated)) continue;
      int r = drv->methods.probe(d);
      call_end(drv, gated);
      if (r != 0) continue;
    }
    best = drv;
  }
  if (best == nullptr) return false;
  return attach(d, best, gated);
}

int Newbus::detach(Device* d, bool gated) {
  Driver* drv = d->driver;
  if (!call_begin(drv, gated)) {
    copy(d->refusal, sizeof d->refusal, "its module is being unloaded");
    return MK_EBUSY;
  }
  d->refusal[0] = '\0';
  int err = drv->methods.detach(d);
  call_end(drv, gated);
  if (err != 0 && d->refusal[0] == '\0') format(d->refusal, sizeof d->refusal, "error %d", err);
  return err;
}

void Newbus::release(Device* d) {
  Driver* drv = d->driver;
  logf("%s: detached %s%d", d->name, drv->name, d->driver_unit);
  --drv->attached;
  d->driver = nullptr;
  d->driver_unit = -1;
  d->softc = nullptr;
  notify(DeviceEvent::kDetached, *d);
}

Result<Device*> Newbus::add_device(const DeviceSpec& spec) {
  Device* d = make<Device>(alloc_);
  if (d == nullptr) return Error(Errc::kNoMemory, "device: out of memory");
  Result<void> id = fill_identity(spec, d);
  if (!id) {
    destroy(alloc_, d);
    return id.error();
  }
  Hold t(*this);
  bool known = false;
  for (const Bus& b : buses_)
    known = known || str_eq(b.name, d->bus);
  if (!known) {
    Error e(Errc::kNotFound, "bus %s does not exist", d->bus);
    destroy(alloc_, d);
    return e;
  }
  // The lowest free unit on the bus; devices_ stays in (bus, unit) order.
  uint32_t unit = 0;
  for (;; ++unit) {
    bool used = false;
    for (const Device* o : devices_)
      used = used || (o->unit == unit && str_eq(o->bus, d->bus));
    if (!used) break;
  }
  size_t at = 0;
  while (at < devices_.size() && before(*devices_[at], d->bus, unit))
    ++at;
  d->unit = unit;
  format(d->name, sizeof d->name, "%s:%u", d->bus, unit);
  if (!devices_.push(nullptr)) {
    destroy(alloc_, d);
    return Error(Errc::kNoMemory, "device: out of memory");
  }
  for (size_t i = devices_.size() - 1; i > at; --i)
    devices_[i] = devices_[i - 1];
  devices_[at] = d;
  logf("%s: arrived (vendor 0x%x, device 0x%x)", d->name, d->vendor, d->device);
  notify(DeviceEvent::kArrived, *d);
  if (!probe_and_attach(d, nullptr, true)) logf("%s: no driver attached", d->name);
  return d;
}

Result<void> Newbus::remove_device(const char* name) {
  Hold t(*this);
  for (size_t i = 0; i < devices_.size(); ++i) {
    Device* d = devices_[i];
    if (!str_eq(d->name, name)) continue;
    if (d->driver != nullptr) {
      if (detach(d, true) != 0)
        return Error(Errc::kBusy, "%s: %s%d refuses to detach: %s", d->name, d->driver->name,
                     d->driver_unit, d->refusal);
      release(d);
    }
    devices_.erase(i);
    logf("%s: removed", d->name);
    notify(DeviceEvent::kRemoved, *d);
    destroy(alloc_, d);
    return Ok();
  }
  return Error(Errc::kNotFound, "no device %.*s", 64, name);
}

Result<Driver*> Newbus::register_driver(const DriverSpec& spec) {
  if (spec.name == nullptr || spec.bus == nullptr || spec.methods == nullptr ||
      spec.methods->attach == nullptr || spec.methods->detach == nullptr)
    return Error(Errc::kInvalid, "a driver needs a name, a bus, and attach and detach methods");
  if (const char* why = module::short_name_problem(spec.name))
    return Error(Errc::kInvalid, "driver name `%.*s' %s", 64, spec.name, why);
  if (spec.nmatch == 0)
    return Error(Errc::kInvalid, "driver %s has an empty match table", spec.name);
  Driver* drv = make<Driver>(alloc_, alloc_);
  if (drv == nullptr || !drv->match.reserve(spec.nmatch)) {
    destroy(alloc_, drv);
    return Error(Errc::kNoMemory, "driver %s: out of memory", spec.name);
  }
  copy(drv->name, sizeof drv->name, spec.name);
  copy(drv->bus, sizeof drv->bus, spec.bus);
  drv->priority = spec.priority;
  drv->methods = *spec.methods;
  drv->owner = spec.owner;
  for (size_t i = 0; i < spec.nmatch; ++i) {
    const module::MatchEntry& e = spec.match[i];
    StoredMatch m{e.kind, e.vendor, e.device, {}};
    copy(m.compat, sizeof m.compat, e.compat != nullptr ? e.compat : "");
    (void)drv->match.push(m);  // reserved
  }

  Hold t(*this);
  auto fail = [&](Error e) -> Result<Driver*> {
    destroy(alloc_, drv);
    return e;
  };
  bool known = false;
  for (const Bus& b : buses_)
    known = known || str_eq(b.name, drv->bus);
  if (!known)
    return fail(Error(Errc::kNotFound, "driver %s: bus %s does not exist", drv->name, drv->bus));
  if (find_driver_locked(drv->name) != nullptr)
    return fail(Error(Errc::kDuplicate, "driver %s is registered already", drv->name));
  if (!drivers_.push(drv))
    return fail(Error(Errc::kNoMemory, "driver %s: out of memory", drv->name));
  logf("driver %s registered on %s (priority %u)", drv->name, drv->bus, drv->priority);
  // Its own registration: the caller is the module (or holds it).
  for (size_t i = 0; i < devices_.size(); ++i)
    if (str_eq(devices_[i]->bus, drv->bus)) (void)probe_and_attach(devices_[i], drv, false);
  return drv;
}

Result<void> Newbus::quiesce_driver(Driver* drv) {
  drv->quiesced = true;
  Vec<Device*> done(alloc_);
  if (!done.reserve(drv->attached)) {
    drv->quiesced = false;
    return Error(Errc::kNoMemory, "driver %s: out of memory", drv->name);
  }
  for (size_t i = 0; i < devices_.size(); ++i) {
    Device* d = devices_[i];
    if (d->driver != drv) continue;
    int unit = d->driver_unit;
    if (detach(d, false) != 0) {
      Error e(Errc::kBusy, "driver %s: %s (%s%d) refuses to detach: %s", drv->name, d->name,
              drv->name, unit, d->refusal);
      logf("%s", e.message());
      for (Device* back : done)  // undo: attach what was detached
        (void)attach(back, drv, false);
      drv->quiesced = false;
      return e;
    }
    (void)done.push(d);  // reserved: at most drv->attached
    release(d);
  }
  return Ok();
}

void Newbus::resume_driver(Driver* drv) {
  if (!drv->quiesced) return;
  drv->quiesced = false;
  for (size_t i = 0; i < devices_.size(); ++i)
    if (devices_[i]->driver == nullptr && str_eq(devices_[i]->bus, drv->bus))
      (void)probe_and_attach(devices_[i], drv, false);
}

void Newbus::remove_driver(Driver* drv, bool forced) {
  drv->quiesced = true;
  for (size_t i = 0; i < devices_.size(); ++i) {
    Device* d = devices_[i];
    if (d->driver != drv) continue;
    if (detach(d, false) != 0 && forced)
      logf("%s: %s%d refused to detach (%s); detached anyway, its module is gone", d->name,
           drv->name, d->driver_unit, d->refusal);
    release(d);
  }
  for (size_t i = 0; i < drivers_.size(); ++i)
    if (drivers_[i] == drv) drivers_.erase(i);
  logf("driver %s unregistered", drv->name);
  char bus[module::kShortNameMax];
  copy(bus, sizeof bus, drv->bus);
  destroy(alloc_, drv);
  probe_unattached(bus);
}

void Newbus::probe_unattached(const char* bus) {
  for (size_t i = 0; i < devices_.size(); ++i)
    if (devices_[i]->driver == nullptr && str_eq(devices_[i]->bus, bus))
      (void)probe_and_attach(devices_[i], nullptr, true);
}

Result<void> Newbus::unregister_driver(const char* name) {
  Hold t(*this);
  Driver* drv = find_driver_locked(name);
  if (drv == nullptr) return Error(Errc::kNotFound, "no driver %.*s", 64, name);
  MK_TRY(quiesce_driver(drv));
  remove_driver(drv, false);
  return Ok();
}

Result<void> Newbus::quiesce_module(module::Module* owner) {
  Hold t(*this);
  for (size_t i = 0; i < drivers_.size(); ++i) {
    if (drivers_[i]->owner != owner || drivers_[i]->quiesced) continue;
    Result<void> r = quiesce_driver(drivers_[i]);
    if (!r) {
      for (size_t k = 0; k < i; ++k)
        if (drivers_[k]->owner == owner) resume_driver(drivers_[k]);
      return r;
    }
  }
  return Ok();
}

void Newbus::resume_module(module::Module* owner) {
  Hold t(*this);
  for (size_t i = 0; i < drivers_.size(); ++i)
    if (drivers_[i]->owner == owner) resume_driver(drivers_[i]);
}

void Newbus::revoke_module(module::Module* owner) {
  Hold t(*this);
  for (size_t i = drivers_.size(); i-- > 0;)
    if (i < drivers_.size() && drivers_[i]->owner == owner) remove_driver(drivers_[i], true);
}

bool Newbus::revoke_driver(const char* name, module::Module* owner) {
  Hold t(*this);
  Driver* drv = find_driver_locked(name);
  if (drv == nullptr || drv->owner != owner) return false;
  remove_driver(drv, true);
  return true;
}

Driver* Newbus::find_driver_locked(const char* name) {
  for (Driver* drv : drivers_)
    if (str_eq(drv->name, name)) return drv;
  return nullptr;
}

Driver* Newbus::find_driver(const char* name) {
  Hold t(*this);
  return find_driver_locked(name);
}

Device* Newbus::find_device(const char* name) {
  Hold t(*this);
  for (Device* d : devices_)
    if (str_eq(d->name, name)) return d;
  return nullptr;
}

void Newbus::for_each_bus(void (*fn)(void* ctx, const char* bus), void* ctx) {
  Hold t(*this);
  for (const Bus& b : buses_)
    fn(ctx, b.name);
}

void Newbus::for_each_device(void (*fn)(void* ctx, const Device& d), void* ctx) {
  Hold t(*this);
  for (const Device* d : devices_)
    fn(ctx, *d);
}

void Newbus::for_each_driver(void (*fn)(void* ctx, const Driver& d), void* ctx) {
  Hold t(*this);
  for (const Driver* drv : drivers_)
    fn(ctx, *drv);
}

}  // namespace mk::bus
