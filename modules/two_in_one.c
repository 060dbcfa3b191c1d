/* two_in_one: one file, two modules. two_a is declared first but depends on
 * two_b, so two_b starts first (dependency order beats declaration order) and
 * stops last. */
#include "sample.h"

MODKIT_MODULE(two_a, 1, sample_log_event, NULL);
MODKIT_DEPEND(two_a, two_b, 1, 1, 1);

MODKIT_MODULE(two_b, 1, sample_log_event, NULL);
MODKIT_DEPEND(two_b, kernel, 1, 1, 1);
