/* Constructors and destructors with and without priorities, atexit handlers
 * registered from a constructor and from main, and the order they run in.
 * main returns 3. */
#include <stdio.h>
#include <stdlib.h>

static int init_sequence[8];
static int init_count;
static int set_by_ctor = -1;

static void record(int id, const char* what) {
  if (init_count < 8) init_sequence[init_count++] = id;
  printf("%s\n", what);
}

__attribute__((constructor(101))) static void ctor_101(void) { record(101, "ctor 101"); }
__attribute__((constructor(250))) static void ctor_250(void) { record(250, "ctor 250"); }
__attribute__((constructor(102))) static void ctor_102(void) { record(102, "ctor 102"); }
__attribute__((constructor)) static void ctor_plain_a(void) { record(1000, "ctor plain a"); }
__attribute__((constructor)) static void ctor_plain_b(void) {
  record(1001, "ctor plain b");
  set_by_ctor = 77;
}

static void atexit_from_ctor(void) { printf("atexit registered in ctor\n"); }
__attribute__((constructor(300))) static void ctor_300(void) {
  record(300, "ctor 300 (registers atexit)");
  atexit(atexit_from_ctor);
}

__attribute__((destructor(101))) static void dtor_101(void) { printf("dtor 101\n"); }
__attribute__((destructor(102))) static void dtor_102(void) { printf("dtor 102\n"); }
__attribute__((destructor(500))) static void dtor_500(void) { printf("dtor 500\n"); }
__attribute__((destructor)) static void dtor_plain_a(void) { printf("dtor plain a\n"); }
__attribute__((destructor)) static void dtor_plain_b(void) { printf("dtor plain b\n"); }

static void atexit_first(void) { printf("atexit first registered\n"); }
static void atexit_second(void) { printf("atexit second registered\n"); }

int main(void) {
  printf("main: set_by_ctor=%d constructors ran:", set_by_ctor);
  for (int i = 0; i < init_count; i++) printf(" %d", init_sequence[i]);
  printf("\n");
  int sorted = 1;
  for (int i = 1; i < 4; i++) sorted &= init_sequence[i - 1] < init_sequence[i];
  printf("prioritised constructors in order: %s\n", sorted ? "yes" : "no");
  atexit(atexit_first);
  atexit(atexit_second);
  fprintf(stderr, "main returns 3\n");
  return 3;
}
