#include "service/event.h"

#include "modkit/module.h"
#include "support/memory.h"

namespace mk::service {

struct EventHandler {
  char event[EventHandlers::kEventNameMax];
  int priority;
  uint64_t seq;
  EventHandlerFn fn;
  void* arg;
  module::Module* owner;
  Handle handle;
};

namespace {

bool before(const EventHandler& a, const EventHandler& b) {
  for (size_t i = 0; i < EventHandlers::kEventNameMax; ++i) {
    if (a.event[i] != b.event[i])
      return static_cast<unsigned char>(a.event[i]) < static_cast<unsigned char>(b.event[i]);
    if (a.event[i] == '\0') break;
  }
  if (a.priority != b.priority) return a.priority < b.priority;
  return a.seq < b.seq;
}

}  // namespace

EventHandlers::EventHandlers(Registrations& regs) : regs_(regs), handlers_(regs.allocator()) {
  mu_ = regs_.threads().new_mutex();
}

EventHandlers::~EventHandlers() {
  for (EventHandler* h : handlers_)
    destroy(regs_.allocator(), h);
  if (mu_ != nullptr) regs_.threads().delete_mutex(mu_);
}

Result<EventHandler*> EventHandlers::add(module::Module* owner, const char* event, int priority,
                                         EventHandlerFn fn, void* arg) {
  size_t len = event == nullptr ? 0 : mk_strlen(event);
  if (len == 0 || len >= kEventNameMax)
    return Error(Errc::kInvalid, "event handler: the event name must have 1..%zu characters",
                 kEventNameMax - 1);
  if (fn == nullptr) return Error(Errc::kInvalid, "event handler for '%s': no function", event);
  if (mu_ == nullptr) return Error(Errc::kNoMemory, "event handlers: no lock");
  EventHandler* h = make<EventHandler>(regs_.allocator());
  if (h == nullptr) return Error(Errc::kNoMemory, "event handler for '%s': out of memory", event);
  mk_memcpy(h->event, event, len + 1);
  h->priority = priority;
  h->fn = fn;
  h->arg = arg;
  h->owner = owner;
  Result<Handle> r = regs_.add(owner, "event", event, &EventHandlers::revoke, this, h);
  if (!r) {
    destroy(regs_.allocator(), h);
    return r.error();
  }
  h->handle = r.value();
  LockGuard g(*mu_);
  h->seq = next_seq_++;
  if (!handlers_.push(h)) {
    mu_->unlock();
    regs_.remove(h->handle);
    destroy(regs_.allocator(), h);
    mu_->lock();
    return Error(Errc::kNoMemory, "event handler for '%s': out of memory", event);
  }
  for (size_t i = handlers_.size() - 1; i > 0 && before(*h, *handlers_[i - 1]); --i) {
    handlers_[i] = handlers_[i - 1];
    handlers_[i - 1] = h;
  }
  return h;
}

void EventHandlers::unlink(EventHandler* h) {
  LockGuard g(*mu_);
  for (size_t i = 0; i < handlers_.size(); ++i)
    if (handlers_[i] == h) handlers_.erase(i);
}

void EventHandlers::remove(EventHandler* h) {
  if (h == nullptr) return;
  unlink(h);
  regs_.remove(h->handle);
  destroy(regs_.allocator(), h);
}

void EventHandlers::revoke(void* ctx, void* entry) {
  auto* self = static_cast<EventHandlers*>(ctx);
  auto* h = static_cast<EventHandler*>(entry);
  self->unlink(h);
  destroy(self->regs_.allocator(), h);
}

size_t EventHandlers::count(const char* event) {
  LockGuard g(*mu_);
  size_t n = 0;
  for (EventHandler* h : handlers_)
    n += str_eq(h->event, event) ? 1 : 0;
  return n;
}

size_t EventHandlers::invoke(const char* event, void* data) {
  struct Pending {
    EventHandlerFn fn;
    void* arg;
    module::Module* owner;
  };
  // Copies of the handlers to call, each module entered under the lock (a
  // revoke, which unlinks under it, comes only after the module drained).
  Pending fixed[16];
  Vec<Pending> more(regs_.allocator());
  size_t n = 0;
  {
    LockGuard g(*mu_);
    for (EventHandler* h : handlers_) {
      if (!str_eq(h->event, event)) continue;
      if (regs_.enter(h->owner) != 0) continue;  // going away: skipped
      Pending p{h->fn, h->arg, h->owner};
      if (n < 16) {
        fixed[n++] = p;
      } else if (more.push(p)) {
        ++n;
      } else {
        mu_->unlock();
        regs_.leave(h->owner);
        mu_->lock();
        regs_.logf("event %s: out of memory; a handler of %s is not called", event, h->owner->name);
        break;  // handlers_ may have changed while unlocked
      }
    }
  }
  for (size_t i = 0; i < n; ++i) {
    const Pending& p = i < 16 ? fixed[i] : more[i - 16];
    p.fn(p.arg, event, data);
    regs_.leave(p.owner);
  }
  return n;
}

}  // namespace mk::service
