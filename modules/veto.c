/* veto: refuses QUIESCE while busy (veto_set_busy(1)), with a reason. Its
 * peer module depends on it, so it is quiesced first and gets RESUME when veto
 * refuses. */
#include "sample.h"

static int veto_busy;

void veto_set_busy(int busy) {
  veto_busy = busy;
}

static int veto_event(struct mk_module* module, int event, void* arg) {
  (void)arg;
  if (event == MK_EVENT_LOAD) veto_busy = 0;
  if (event == MK_EVENT_QUIESCE && veto_busy) {
    mk_printf("veto: QUIESCE: busy, vetoing");
    return mk_module_veto(module, "device open");
  }
  return sample_log_event(module, event, arg);
}

MODKIT_MODULE(veto, 1, veto_event, NULL);
MODKIT_DEPEND(veto, kernel, 1, 1, 1);
MODKIT_EXPORT(veto, veto_set_busy);

MODKIT_MODULE(veto_peer, 1, sample_log_event, NULL);
MODKIT_DEPEND(veto_peer, veto, 1, 1, 1);
