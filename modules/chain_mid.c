/* chain_mid: needs chain_base version 1..3, preferring 2, and calls its export. */
#include "sample.h"

int chain_base_version(void);

int chain_mid_value(void) {
  return 10 * chain_base_version() + 1;
}

MODKIT_MODULE(chain_mid, 1, sample_log_event, NULL);
MODKIT_DEPEND(chain_mid, kernel, 1, 1, 1);
MODKIT_DEPEND(chain_mid, chain_base, 1, 2, 3);
MODKIT_EXPORT(chain_mid, chain_mid_value);
