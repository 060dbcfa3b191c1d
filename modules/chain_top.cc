// chain_top: the top of the chain, in C++; needs chain_mid (written in C) and
// calls its export, so loading it pulls chain_mid and chain_base in.
#include "sample.h"

extern "C" int chain_mid_value(void);

extern "C" int chain_top_value(void) {
  return 100 + chain_mid_value();
}

MODKIT_MODULE(chain_top, 1, sample_log_event, nullptr);
MODKIT_DEPEND(chain_top, kernel, 1, 1, 1);
MODKIT_DEPEND(chain_top, chain_mid, 1, 1, 1);
MODKIT_EXPORT(chain_top, chain_top_value);
