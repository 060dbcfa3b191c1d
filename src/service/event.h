// Event handlers (FreeBSD's EVENTHANDLER(9)): modules register functions for
// named events with a priority; whoever invokes an event calls its handlers
// in priority order (lower first, then registration order). The kernel
// invokes "shutdown" before its modules get SHUTDOWN, and "device_arrival"
// when a device node appears.
//
// Each handler is an owned registration (kind "event", named after its
// event). An invocation enters each handler's module around the call, so
// unload drains it; a handler whose module is not LIVE is skipped. The
// handlers to call are taken under the table's lock (their modules entered
// there), then called with no lock held: a handler may register or
// deregister handlers, or invoke other events.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "service/registration.h"
#include "support/result.h"
#include "support/vector.h"

namespace mk::service {

using EventHandlerFn = void (*)(void* arg, const char* event, void* data);

struct EventHandler;  // one registered handler

class EventHandlers {
 public:
  static constexpr size_t kEventNameMax = 64;  // including the NUL

  explicit EventHandlers(Registrations& regs);
  ~EventHandlers();
  EventHandlers(const EventHandlers&) = delete;
  EventHandlers& operator=(const EventHandlers&) = delete;

  // kInvalid for an empty or overlong event name or a null fn; kNoMemory.
  [[nodiscard]] Result<EventHandler*> add(module::Module* owner, const char* event, int priority,
                                          EventHandlerFn fn, void* arg);
  // The owner takes it back. An invocation on another thread that took it
  // already may still call it once after this returns (its module stays
  // loaded meanwhile: the invocation holds it), as with FreeBSD's
  // EVENTHANDLER_DEREGISTER without the _NOWAIT drain.
  void remove(EventHandler* h);
  // Calls the event's handlers; returns how many ran.
  size_t invoke(const char* event, void* data);
  // How many handlers the event has now.
  size_t count(const char* event);

 private:
  static void revoke(void* ctx, void* entry);
  void unlink(EventHandler* h);

  Registrations& regs_;
  Mutex* mu_ = nullptr;
  Vec<EventHandler*> handlers_;  // sorted by (event, priority, sequence)
  uint64_t next_seq_ = 0;
};

}  // namespace mk::service
