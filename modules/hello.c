/* hello: the smallest module. It logs its events, needs nothing but the
 * kernel, and is loaded by `nested` from its LOAD handler. */
#include "sample.h"

MODKIT_MODULE(hello, 1, sample_log_event, NULL);
MODKIT_DEPEND(hello, kernel, 1, 1, 1);
