/* Integer, floating-point and libm arithmetic, 64-bit constants, dense switches
 * (jump tables in relocated rodata) and recursion. Inputs go through volatile
 * objects so the work happens at run time, not in the compiler. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

static const uint64_t k64[] = {
    0x123456789abcdef0ULL, 0xfedcba9876543210ULL, 0x8000000000000001ULL,
    0xdeadbeefcafebabeULL, 0x0000000100000000ULL, 0xffffffffffffffffULL,
};
static const int64_t s64[] = {-9223372036854775807LL - 1, -1, 4611686018427387904LL, -123456789012345LL};

volatile double vtwo = 2.0;
volatile double vhalf = 0.5;
volatile int vint = 7;
volatile uint64_t vbig = 0x0123456789abcdefULL;

static int failures;
#define CHECK(cond)                                          \
  do {                                                       \
    if (!(cond)) {                                           \
      printf("FAIL line %d: %s\n", __LINE__, #cond);         \
      failures++;                                            \
    }                                                        \
  } while (0)

static unsigned long fib(unsigned n) { return n < 2 ? n : fib(n - 1) + fib(n - 2); }

static unsigned long ackermann(unsigned long m, unsigned long n) {
  if (m == 0) return n + 1;
  if (n == 0) return ackermann(m - 1, 1);
  return ackermann(m - 1, ackermann(m, n - 1));
}

static int gcd(int a, int b) { return b == 0 ? a : gcd(b, a % b); }

/* Dense switch with code targets: a jump table at -O0 (and usually -O2). */
static long dense_code(int x, long v) {
  switch (x) {
    case 0: return v + 1;
    case 1: return v * 3;
    case 2: return v - 17;
    case 3: return v ^ 0x5a5a;
    case 4: return v << 3;
    case 5: return v >> 2;
    case 6: return v % 1000;
    case 7: return -v;
    case 8: return v * v;
    case 9: return v / 7;
    case 10: return v | 0x100;
    case 11: return v & 0xff;
    case 12: return ~v;
    case 13: return v + 1000000007L;
    default: return 424242;
  }
}

/* Dense switch returning string literals: a table of pointers (relocated data). */
static const char* dense_name(int x) {
  switch (x) {
    case 0: return "zero";
    case 1: return "one";
    case 2: return "two";
    case 3: return "three";
    case 4: return "four";
    case 5: return "five";
    case 6: return "six";
    case 7: return "seven";
    case 8: return "eight";
    case 9: return "nine";
    case 10: return "ten";
    case 11: return "eleven";
    default: return "many";
  }
}

/* Sparse switch: comparison tree. */
static int sparse(int x) {
  switch (x) {
    case -1000: return 1;
    case 7: return 2;
    case 4096: return 3;
    case 99999: return 4;
    case 1 << 20: return 5;
    default: return 0;
  }
}

static double horner(const double* c, int n, double x) {
  double r = 0;
  for (int i = n - 1; i >= 0; i--) r = r * x + c[i];
  return r;
}

int main(void) {
  /* Integers. */
  printf("fib(25)=%lu\n", fib(25));
  printf("ackermann(2,3)=%lu\n", ackermann(2, 3));
  printf("gcd(1071,462)=%d\n", gcd(1071, 462));
  CHECK(fib(25) == 75025);

  for (unsigned i = 0; i < sizeof k64 / sizeof k64[0]; i++)
    printf("k64[%u]=%016llx rot=%016llx mul=%016llx\n", i, (unsigned long long)k64[i],
           (unsigned long long)((k64[i] << 13) | (k64[i] >> 51)),
           (unsigned long long)(k64[i] * 0x9e3779b97f4a7c15ULL));
  for (unsigned i = 0; i < sizeof s64 / sizeof s64[0]; i++)
    printf("s64[%u]=%lld div=%lld mod=%lld shr=%lld\n", i, (long long)s64[i],
           (long long)(s64[i] / vint), (long long)(s64[i] % vint), (long long)(s64[i] >> 5));
  uint64_t big = vbig;
  printf("big=%llx /1000=%llu %%1000=%llu hi=%x lo=%x\n", (unsigned long long)big,
         (unsigned long long)(big / 1000), (unsigned long long)(big % 1000),
         (unsigned)(big >> 32), (unsigned)big);
  CHECK(big == 0x0123456789abcdefULL);
  int32_t m = (int32_t)0x80000000u;
  printf("int32 min=%d abs(-5)=%d labs=%ld llabs=%lld\n", m, abs(-5 * vint), labs(-123456789L * vint),
         llabs(-1234567890123LL * vint));

  /* Floating point and libm. */
  double two = vtwo, half = vhalf;
  printf("sqrt(2)=%.6f\n", sqrt(two));
  printf("pow(2,10)=%.6f\n", pow(two, 10.0));
  printf("sin(0.5)=%.9f cos(0.5)=%.9f tan(0.5)=%.9f\n", sin(half), cos(half), tan(half));
  printf("exp(2)=%.9f log(2)=%.9f log10(2)=%.9f\n", exp(two), log(two), log10(two));
  printf("atan2(1,2)=%.9f hypot=%.9f fmod=%.6f\n", atan2(1.0, two), hypot(3.0 * half, two),
         fmod(10.0 * two, 3.0));
  printf("floor=%.1f ceil=%.1f round=%.1f trunc=%.1f\n", floor(-2.5 * two + half),
         ceil(two + 0.1), round(two + half), trunc(-two - half));
  float f = (float)two / 3.0f;
  printf("float=%.7f sqrtf=%.6f powf=%.4f\n", (double)f, (double)sqrtf((float)two),
         (double)powf((float)two, 0.5f));
  long double ld = (long double)two / 3.0L;
  printf("long double=%.15Lf\n", ld);
  static const double coeffs[] = {1.0, -0.5, 0.25, -0.125, 0.0625};
  printf("horner=%.10f\n", horner(coeffs, 5, two));
  printf("conv: %ld %lu %.1f %.1f\n", (long)(-1e10 * two), (unsigned long)(1.8e19 * half * two),
         (double)(uint64_t)big, (double)(int64_t)-big);
  CHECK(fabs(sqrt(two) - 1.41421356237) < 1e-9);
  CHECK(pow(two, 10.0) == 1024.0);

  /* Switches. */
  unsigned long acc = 0;
  for (int i = -2; i < 16; i++) {
    long v = dense_code(i + vint - 7, 1000 + i);
    acc = acc * 31 + (unsigned long)v;
    printf("switch %d -> %ld %s %d\n", i, v, dense_name(i + vint - 7), sparse(i * 4096));
  }
  printf("sparse: %d %d %d %d\n", sparse(-1000), sparse(99999), sparse(1 << 20), sparse(vint));
  printf("switch acc=%lu\n", acc);

  printf("failures=%d\n", failures);
  return failures;
}
