/* chain_base: the bottom of a dependency chain chain_top -> chain_mid ->
 * chain_base. One source, built at several versions (chain_base.ko is version
 * 2, chain_base_v1.ko and chain_base_v3.ko the others) for version selection. */
#include "sample.h"

#ifndef CHAIN_BASE_VERSION
#define CHAIN_BASE_VERSION 2
#endif

int chain_base_version(void) {
  return CHAIN_BASE_VERSION;
}

MODKIT_MODULE(chain_base, CHAIN_BASE_VERSION, sample_log_event, NULL);
MODKIT_DEPEND(chain_base, kernel, 1, 1, 1);
MODKIT_EXPORT(chain_base, chain_base_version);
