/* Initialised, zero and uninitialised globals (COMMON symbols when compiled with
 * -fcommon), static locals, a 4 MiB bss array checked for zeros, const data,
 * pointers between globals, and an exit() status from a nested call. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int init_global = 42;
int zero_global = 0;
int uninit_global;                                   /* COMMON under -fcommon */
long uninit_array[100];                              /* COMMON under -fcommon */
double uninit_double;                                /* COMMON under -fcommon */
char uninit_big[1 << 20];                            /* 1 MiB, COMMON under -fcommon */
int aligned_uninit[16] __attribute__((aligned(64))); /* COMMON with alignment 64 */
/* 4 MiB local bss; aligned explicitly: only x86_64's ABI aligns big arrays to 16 */
static char big_bss[4 << 20] __attribute__((aligned(16)));
static int static_zero;
static long static_init = -77;
double dglob = 3.5;
const int const_table[] = {2, 3, 5, 7, 11, 13, 17, 19, 23, 29};
static const char const_msg[] = "const data in rodata";
char array_string[] = "array string";
const char* pointer_string = "pointer to string";
int* ptr_to_global = &init_global;
int** ptr_to_ptr = &ptr_to_global;
long* ptr_to_uninit = &uninit_array[50]; /* into bss (or COMMON) with an addend */
char* ptr_to_big_end = &big_bss[(4 << 20) - 1];
struct pair {
  int a;
  short b;
  char c;
  long long d;
} pairs[3] = {{1, 2, 'x', 0x1122334455667788LL}, {3, 4, 'y', -1}, {0}};

static int counter(void) {
  static int n;
  return ++n;
}
static int counter_from(void) {
  static int n = 100;
  n += 5;
  return n;
}
unsigned long hits;

static void bump(int* p, int by) {
  *p += by;
  hits++;
}

static unsigned long sum_bytes(const unsigned char* p, size_t n) {
  unsigned long s = 0;
  for (size_t i = 0; i < n; i++)
    s += p[i];
  return s;
}

static void finish(int status) {
  printf("exiting with %d\n", status);
  exit(status);
}

int main(void) {
  printf("init_global=%d zero_global=%d uninit_global=%d static_zero=%d static_init=%ld\n",
         init_global, zero_global, uninit_global, static_zero, static_init);
  printf("dglob=%.2f uninit_double=%.2f\n", dglob, uninit_double);
  printf("const_table sum:");
  int sum = 0;
  for (unsigned i = 0; i < sizeof const_table / sizeof const_table[0]; i++)
    sum += const_table[i];
  printf(" %d\n", sum);
  printf("%s / %s / %s\n", const_msg, array_string, pointer_string);
  printf("pairs: %d %d %c %llx | %d %d %c %lld | %d %d %d %lld\n", pairs[0].a, pairs[0].b,
         pairs[0].c, pairs[0].d, pairs[1].a, pairs[1].b, pairs[1].c, pairs[1].d, pairs[2].a,
         pairs[2].b, pairs[2].c, pairs[2].d);

  unsigned long zeros = sum_bytes((const unsigned char*)big_bss, sizeof big_bss) +
                        sum_bytes((const unsigned char*)uninit_big, sizeof uninit_big) +
                        sum_bytes((const unsigned char*)uninit_array, sizeof uninit_array) +
                        sum_bytes((const unsigned char*)aligned_uninit, sizeof aligned_uninit);
  printf("bss zero sum=%lu\n", zeros);
  printf("aligned_uninit 64-aligned: %s\n", ((uintptr_t)aligned_uninit & 63) == 0 ? "yes" : "no");
  printf("big_bss 16-aligned: %s\n", ((uintptr_t)big_bss & 15) == 0 ? "yes" : "no");

  /* Writes through globals and pointers between them. */
  for (size_t i = 0; i < sizeof big_bss; i += 4096)
    big_bss[i] = (char)(i >> 12);
  *ptr_to_big_end = 1;
  memset(uninit_big, 3, sizeof uninit_big);
  **ptr_to_ptr += 8;
  *ptr_to_uninit = 1234;
  uninit_global = 17;
  uninit_double = 0.25;
  bump(&init_global, 100);
  bump(&zero_global, -5);
  bump(&uninit_global, 3);
  bump(&aligned_uninit[15], 9);
  printf(
      "after writes: init_global=%d zero_global=%d uninit_global=%d uninit_array[50]=%ld "
      "aligned[15]=%d uninit_double=%.2f hits=%lu\n",
      init_global, zero_global, uninit_global, uninit_array[50], aligned_uninit[15], uninit_double,
      hits);
  printf("big_bss sum=%lu uninit_big sum=%lu\n",
         sum_bytes((const unsigned char*)big_bss, sizeof big_bss),
         sum_bytes((const unsigned char*)uninit_big, sizeof uninit_big));
  printf("ptr_to_global -> %d, same object: %s\n", *ptr_to_global,
         ptr_to_global == &init_global ? "yes" : "no");

  int a = 0, b = 0;
  for (int i = 0; i < 5; i++) {
    a = counter();
    b = counter_from();
  }
  printf("counters: %d %d\n", a, b);
  static_zero += a;
  static_init += b;
  printf("statics after: %d %ld\n", static_zero, static_init);

  finish(init_global % 7 + 10);
  return 99;
}
