#include "service/registration.h"

#include <stdarg.h>

#include "modkit/module.h"
#include "support/format.h"
#include "support/memory.h"

namespace mk::service {

namespace {

void copy_trunc(char* dst, size_t cap, const char* src) {
  size_t n = src == nullptr ? 0 : mk_strlen(src);
  if (n >= cap) n = cap - 1;
  if (n > 0) mk_memcpy(dst, src, n);
  dst[n] = '\0';
}

void on_stopped(void* ctx, module::Module* m) {
  (void)static_cast<Registrations*>(ctx)->module_stopped(m);
}

void on_revoking(void* ctx, module::Module* m) {
  static_cast<Registrations*>(ctx)->module_revoking(m);
}

}  // namespace

Registrations::Registrations(const RegistrationsDeps& deps) : d_(deps), owners_(*deps.alloc) {
  mu_ = d_.threads->new_mutex();
}

Registrations::~Registrations() {
  // Whatever is still registered belongs to modules that never stopped (the
  // kernel's own): their kinds are going away with us, so only free nodes.
  for (Owner& o : owners_) {
    for (Registration* r = o.first; r != nullptr;) {
      Registration* next = r->next;
      destroy(*d_.alloc, r);
      r = next;
    }
  }
  if (mu_ != nullptr) d_.threads->delete_mutex(mu_);
}

void Registrations::logf(const char* fmt, ...) {
  if (d_.log == nullptr) return;
  char line[512];
  va_list ap;
  va_start(ap, fmt);
  vformat(line, sizeof line, fmt, ap);
  va_end(ap);
  d_.log(d_.log_ctx, line);
}

module::ModuleListener Registrations::listener() {
  module::ModuleListener l;
  l.stopped = &on_stopped;
  l.revoking = &on_revoking;
  l.ctx = this;
  return l;
}

Registrations::Owner* Registrations::find_owner(const module::Module* m) {
  for (Owner& o : owners_)
    if (o.module == m) return &o;
  return nullptr;
}

Result<Handle> Registrations::add(module::Module* owner, const char* kind, const char* name,
                                  RevokeFn revoke, void* ctx, void* entry) {
  if (owner == nullptr)
    return Error(Errc::kInvalid, "%s '%s': a registration needs its owner module", kind, name);
  if (mu_ == nullptr) return Error(Errc::kNoMemory, "registrations: no lock");
  Registration* r = make<Registration>(*d_.alloc);
  if (r == nullptr)
    return Error(Errc::kNoMemory, "%s: out of memory registering %s '%s'", owner->name, kind, name);
  r->owner = owner;
  copy_trunc(r->kind, sizeof r->kind, kind);
  copy_trunc(r->name, sizeof r->name, name);
  r->revoke = revoke;
  r->ctx = ctx;
  r->entry = entry;
  LockGuard g(*mu_);
  Owner* o = find_owner(owner);
  if (o == nullptr) {
    if (!owners_.push(Owner{owner, nullptr, nullptr, 0})) {
      destroy(*d_.alloc, r);
      return Error(Errc::kNoMemory, "%s: out of memory registering %s '%s'", owner->name, kind,
                   name);
    }
    o = &owners_.back();
  }
  r->prev = o->last;
  if (o->last != nullptr)
    o->last->next = r;
  else
    o->first = r;
  o->last = r;
  ++o->count;
  return r;
}

// Takes r out of its owner's list (mu_ held); drops the owner when empty.
void Registrations::unlink(Registration* r) {
  Owner* o = find_owner(r->owner);
  if (o == nullptr) return;
  if (r->prev != nullptr)
    r->prev->next = r->next;
  else
    o->first = r->next;
  if (r->next != nullptr)
    r->next->prev = r->prev;
  else
    o->last = r->prev;
  r->prev = r->next = nullptr;
  if (--o->count == 0) owners_.swap_remove(static_cast<size_t>(o - owners_.begin()));
}

void Registrations::remove(Handle h) {
  if (h == nullptr) return;
  {
    LockGuard g(*mu_);
    unlink(h);
  }
  destroy(*d_.alloc, h);
}

Result<Handle> Registrations::add_declared(module::Module* owner, const char* kind,
                                           const char* name, RevokeFn revoke, void* ctx,
                                           void* entry) {
  Handle h = MK_TRY(add(owner, kind, name, revoke, ctx, entry));
  h->declared = true;  // only the owner's stop reads it, after this returns
  return h;
}

size_t Registrations::module_stopped(module::Module* owner) {
  size_t n = 0;
  for (;;) {
    Registration* r = nullptr;
    {
      LockGuard g(*mu_);
      Owner* o = find_owner(owner);
      if (o == nullptr) break;
      r = o->last;
      unlink(r);
    }
    if (!r->declared) logf("%s: leaked %s '%s', revoked", owner->name, r->kind, r->name);
    if (r->revoke != nullptr) r->revoke(r->ctx, r->entry);
    destroy(*d_.alloc, r);
    ++n;
  }
  return n;
}

Result<void> Registrations::set_open_revoker(OpenRevokeFn fn, void* ctx) {
  LockGuard g(*mu_);
  if (nrevokers_ == sizeof revokers_ / sizeof revokers_[0])
    return Error(Errc::kNoMemory, "registrations: more than 8 open-handle revokers");
  revokers_[nrevokers_++] = OpenRevoker{fn, ctx};
  return Ok();
}

void Registrations::module_revoking(module::Module* owner) {
  OpenRevoker list[8];
  size_t n;
  {
    LockGuard g(*mu_);
    n = nrevokers_;
    for (size_t i = 0; i < n; ++i)
      list[i] = revokers_[i];
  }
  for (size_t i = 0; i < n; ++i)
    list[i].fn(list[i].ctx, owner);
}

size_t Registrations::count(const module::Module* owner) {
  LockGuard g(*mu_);
  Owner* o = find_owner(owner);
  return o == nullptr ? 0 : o->count;
}

int Registrations::enter(module::Module* owner) {
  if (owner == nullptr) return MK_ENXIO;
  return d_.registry->get(owner) ? 0 : MK_ENXIO;
}

void Registrations::leave(module::Module* owner) {
  d_.registry->put(owner);
}

void Registrations::leave_in_call(module::Module* owner) {
  if (d_.registry->put_unless_finishing(owner)) return;
  if (d_.defer_put != nullptr)
    d_.defer_put(d_.defer_ctx, owner);
  else
    d_.registry->put(owner);
}

}  // namespace mk::service
