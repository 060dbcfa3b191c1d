/* Shared by the sample modules: every event a module receives is logged as
 * "<module>: <EVENT>" through the KPI, so a test reads the lifecycle from the
 * kernel's log. Only the KPI is used (no libc). */
#ifndef MODKIT_SAMPLE_H
#define MODKIT_SAMPLE_H

#include <modkit/module.h>

static inline const char* sample_event_name(int event) {
  switch (event) {
    case MK_EVENT_LOAD:
      return "LOAD";
    case MK_EVENT_QUIESCE:
      return "QUIESCE";
    case MK_EVENT_UNLOAD:
      return "UNLOAD";
    case MK_EVENT_SHUTDOWN:
      return "SHUTDOWN";
    case MK_EVENT_RESUME:
      return "RESUME";
  }
  return "?";
}

/* An event handler that logs the event and accepts it. */
static inline int sample_log_event(struct mk_module* module, int event, void* arg) {
  (void)arg;
  mk_printf("%s: %s", mk_module_name(module), sample_event_name(event));
  return 0;
}

#endif /* MODKIT_SAMPLE_H */
