/* nested: loads another module (hello) from its LOAD handler through the KPI.
 * The loader lock is recursive for the loading thread and the registry mutex
 * is not held while module code runs, so the nested load goes through. As a
 * static module, it loads hello.ko while the kernel boots. */
#include "sample.h"

static int nested_event(struct mk_module* module, int event, void* arg) {
  sample_log_event(module, event, arg);
  if (event != MK_EVENT_LOAD) return 0;
  int err = mk_module_load("hello");
  mk_printf("nested: mk_module_load(hello) from LOAD returned %d", err);
  return err == MK_EEXIST ? 0 : err;
}

MODKIT_MODULE(nested, 1, nested_event, NULL);
MODKIT_DEPEND(nested, kernel, 1, 1, 1);
