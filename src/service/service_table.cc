#include "service/service_table.h"

#include "support/format.h"
#include "support/memory.h"

namespace mk::service {

struct Offer {
  char name[ServiceTable::kServiceNameMax];
  uint32_t version;
  const void* table;
  size_t size;
  module::Module* owner;
  Handle handle;
};

ServiceTable::ServiceTable(Registrations& regs)
    : regs_(regs), offers_(regs.allocator()), holds_(regs.allocator()) {
  mu_ = regs_.threads().new_mutex();
}

ServiceTable::~ServiceTable() {
  for (Offer* o : offers_)
    destroy(regs_.allocator(), o);
  if (mu_ != nullptr) regs_.threads().delete_mutex(mu_);
}

Result<Offer*> ServiceTable::offer(module::Module* owner, const char* name, uint32_t version,
                                   const void* table, size_t size) {
  size_t len = name == nullptr ? 0 : mk_strlen(name);
  if (len == 0 || len >= kServiceNameMax)
    return Error(Errc::kInvalid, "service: the name must have 1..%zu characters",
                 kServiceNameMax - 1);
  if (table == nullptr || size == 0)
    return Error(Errc::kInvalid, "service %s: an empty table", name);
  if (mu_ == nullptr) return Error(Errc::kNoMemory, "services: no lock");
  Offer* o = make<Offer>(regs_.allocator());
  if (o == nullptr) return Error(Errc::kNoMemory, "service %s: out of memory", name);
  mk_memcpy(o->name, name, len + 1);
  o->version = version;
  o->table = table;
  o->size = size;
  o->owner = owner;
  {
    LockGuard g(*mu_);
    for (Offer* other : offers_) {
      if (!str_eq(other->name, name)) continue;
      char who[64];
      format(who, sizeof who, "%s", other->owner->name);
      mu_->unlock();
      destroy(regs_.allocator(), o);
      mu_->lock();
      return Error(Errc::kDuplicate, "service %s is offered already (version %u, by module %s)",
                   name, other->version, who);
    }
    if (!offers_.push(o)) {
      destroy(regs_.allocator(), o);
      return Error(Errc::kNoMemory, "service %s: out of memory", name);
    }
  }
  Result<Handle> h = regs_.add(owner, "service", name, &ServiceTable::revoke, this, o);
  if (!h) {
    unlink(o);
    destroy(regs_.allocator(), o);
    return h.error();
  }
  o->handle = h.value();
  return o;
}

void ServiceTable::unlink(Offer* o) {
  LockGuard g(*mu_);
  for (size_t i = 0; i < offers_.size(); ++i)
    if (offers_[i] == o) offers_.erase(i);
}

void ServiceTable::withdraw(Offer* o) {
  if (o == nullptr) return;
  unlink(o);
  regs_.remove(o->handle);
  destroy(regs_.allocator(), o);
}

void ServiceTable::revoke(void* ctx, void* entry) {
  auto* self = static_cast<ServiceTable*>(ctx);
  auto* o = static_cast<Offer*>(entry);
  self->unlink(o);
  destroy(self->regs_.allocator(), o);
}

Result<const void*> ServiceTable::acquire(const char* name, uint32_t min, uint32_t max,
                                          size_t* size) {
  LockGuard g(*mu_);
  for (Offer* o : offers_) {
    if (!str_eq(o->name, name)) continue;
    if (o->version < min || o->version > max)
      return Error(Errc::kNotFound, "service %s version %u..%u: module %s offers version %u", name,
                   min, max, o->owner->name, o->version);
    Hold* hold = nullptr;
    for (Hold& h : holds_)
      if (h.table == o->table) hold = &h;
    if (hold == nullptr) {
      if (!holds_.push(Hold{o->table, o->owner, 0}))
        return Error(Errc::kNoMemory, "service %s: out of memory", name);
      hold = &holds_.back();
    }
    if (regs_.enter(o->owner) != 0) {
      if (hold->count == 0) holds_.pop();  // the one just pushed
      return Error(Errc::kBusy, "service %s: its provider, module %s, is going away", name,
                   o->owner->name);
    }
    ++hold->count;
    if (size != nullptr) *size = o->size;
    return o->table;
  }
  return Error(Errc::kNotFound, "no module offers service %s", name);
}

Result<void> ServiceTable::release(const void* table) {
  module::Module* owner = nullptr;
  {
    LockGuard g(*mu_);
    for (size_t i = 0; i < holds_.size(); ++i) {
      if (holds_[i].table != table) continue;
      owner = holds_[i].owner;
      if (--holds_[i].count == 0) holds_.swap_remove(i);
      break;
    }
  }
  if (owner == nullptr)
    return Error(Errc::kNotFound, "service release: table %p is not held", table);
  regs_.leave(owner);  // outside the lock: may complete a deferred unload
  return Ok();
}

}  // namespace mk::service
