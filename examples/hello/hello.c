// hello: the demo program that `make run` links and runs with `modkit exec`.
//
// It is an ordinary C file compiled with `cc -c`, and uses what a module uses:
// calls out to functions the host provides (printf, qsort), a callback handed
// back into it (the qsort comparator), a table of function pointers in data
// (absolute relocations the linker must fill in), and writable globals.
#include <stdio.h>
#include <stdlib.h>

static int comparisons;  // .bss, written through the callback

static int compare_ints(const void* a, const void* b) {
  int x = *(const int*)a;
  int y = *(const int*)b;
  ++comparisons;
  return (x > y) - (x < y);
}

static int square(int v) {
  return v * v;
}
static int twice(int v) {
  return 2 * v;
}
static int negate(int v) {
  return -v;
}

struct op {
  const char* name;
  int (*fn)(int);
};

// Pointers to code and to strings in data: each entry needs a relocation.
static const struct op ops[] = {
    {"square", square},
    {"twice", twice},
    {"negate", negate},
};

int main(void) {
  printf("hello from an object file linked by modkit\n");

  int values[] = {42, 7, -3, 19, 0, 8, 23};
  size_t n = sizeof values / sizeof values[0];
  qsort(values, n, sizeof values[0], compare_ints);
  printf("sorted:");
  for (size_t i = 0; i < n; ++i)
    printf(" %d", values[i]);
  printf(" (%d comparisons)\n", comparisons);

  for (size_t i = 0; i < sizeof ops / sizeof ops[0]; ++i)
    printf("%s(7) = %d\n", ops[i].name, ops[i].fn(7));
  return 0;
}
