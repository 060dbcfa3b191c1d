// A library that breaks the freestanding rule on purpose, so the check is seen
// to fail (test freestanding.catches_offender).
#include <stddef.h>

void* malloc(size_t size);

void* freestanding_offender(void) {
  return malloc(16);
}
