/* fail_init: a file whose load fails halfway. Its SYSINITs register two
 * things, its first module starts, then fail_init's LOAD handler does half of
 * its work and fails. The kernel must undo all of it: UNLOAD to
 * fail_init_first, the SYSUNINITs in reverse, the dependency it pulled in
 * (chain_base) unloaded, its export withdrawn, its memory freed. */
#include "sample.h"

static int fail_init_registered; /* what the SYSINITs hold */

static void fail_init_hook_register(void* arg) {
  (void)arg;
  ++fail_init_registered;
  mk_printf("fail_init: SYSINIT: hook registered (%d held)", fail_init_registered);
}

static void fail_init_driver_register(void* arg) {
  (void)arg;
  ++fail_init_registered;
  mk_printf("fail_init: SYSINIT: driver registered (%d held)", fail_init_registered);
}

static void fail_init_driver_unregister(void* arg) {
  (void)arg;
  --fail_init_registered;
  mk_printf("fail_init: SYSUNINIT: driver removed (%d held)", fail_init_registered);
}

static void fail_init_hook_unregister(void* arg) {
  (void)arg;
  --fail_init_registered;
  mk_printf("fail_init: SYSUNINIT: hook removed (%d held)", fail_init_registered);
}

static int fail_init_event(struct mk_module* module, int event, void* arg) {
  sample_log_event(module, event, arg);
  if (event != MK_EVENT_LOAD) return 0;
  mk_printf("fail_init: LOAD: half done, no device: failing with ENXIO");
  return MK_ENXIO;
}

int fail_init_held(void) {
  return fail_init_registered;
}

MODKIT_MODULE(fail_init_first, 1, sample_log_event, NULL);
MODKIT_DEPEND(fail_init_first, kernel, 1, 1, 1);

MODKIT_MODULE(fail_init, 1, fail_init_event, NULL);
MODKIT_DEPEND(fail_init, chain_base, 1, 2, 3);
MODKIT_SYSINIT(fail_init, MK_SI_SERVICES, 10, fail_init_hook_register, NULL);
MODKIT_SYSUNINIT(fail_init, MK_SI_SERVICES, 10, fail_init_hook_unregister, NULL);
MODKIT_SYSINIT(fail_init, MK_SI_DRIVERS, 10, fail_init_driver_register, NULL);
MODKIT_SYSUNINIT(fail_init, MK_SI_DRIVERS, 10, fail_init_driver_unregister, NULL);
MODKIT_EXPORT(fail_init, fail_init_held);
