/* string.h, stdio formatting, qsort with a comparator, static string tables and
 * getenv of a variable the harness sets (MODKIT_EXEC_TEST_VAR). */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int failures;
#define CHECK(cond)                                  \
  do {                                               \
    if (!(cond)) {                                   \
      printf("FAIL line %d: %s\n", __LINE__, #cond); \
      failures++;                                    \
    }                                                \
  } while (0)

/* Static string tables: arrays of pointers to literals (relocated data). */
static const char* const kColors[] = {"red", "green", "blue", "cyan", "magenta", "yellow",
                                      "black", "white", "orange", "purple"};
const char* planets[] = {"Mercury", "Venus", "Earth", "Mars", "Jupiter",
                         "Saturn", "Uranus", "Neptune"};
static const char kAlphabet[] = "abcdefghijklmnopqrstuvwxyz";
static const struct {
  const char* key;
  const char* value;
  int number;
} kPairs[] = {{"alpha", "first", 1}, {"beta", "second", 2}, {"gamma", "third", 3}, {"delta", "fourth", 4}};

static int compare_strings(const void* a, const void* b) {
  return strcmp(*(const char* const*)a, *(const char* const*)b);
}
static int compare_ints_desc(const void* a, const void* b) {
  int x = *(const int*)a, y = *(const int*)b;
  return (x < y) - (x > y);
}
static int compare_by_length(const void* a, const void* b) {
  size_t la = strlen(*(const char* const*)a), lb = strlen(*(const char* const*)b);
  if (la != lb) return la < lb ? -1 : 1;
  return compare_strings(a, b);
}

int main(void) {
  char buf[256];
  char dst[64];

  /* string.h */
  strcpy(dst, "hello");
  strcat(dst, ", ");
  strncat(dst, "world!!!", 6);
  printf("strcat: '%s' len=%zu\n", dst, strlen(dst));
  CHECK(strcmp(dst, "hello, world!") == 0);
  printf("strcmp: %d %d %d\n", strcmp("abc", "abd") < 0, strcmp("b", "a") > 0, strncmp("abcX", "abcY", 3));
  printf("strchr: %s strrchr: %s strstr: %s\n", strchr(dst, 'o'), strrchr(dst, 'o'), strstr(dst, "wor"));
  printf("strspn=%zu strcspn=%zu\n", strspn("aaabbbccc", "ab"), strcspn("hello world", " "));
  memset(buf, 'x', 10);
  buf[10] = 0;
  memcpy(buf + 2, "MEMCPY", 6);
  printf("memset/memcpy: %s\n", buf);
  memmove(buf + 1, buf, 8);
  printf("memmove: %s memcmp=%d\n", buf, memcmp("abc", "abd", 3) < 0);
  char* dup = strdup(kAlphabet + 20);
  printf("strdup: %s\n", dup);
  free(dup);
  char tok_src[] = "one,two;;three,four";
  int ntok = 0;
  for (char* t = strtok(tok_src, ",;"); t; t = strtok(NULL, ",;")) printf("tok[%d]=%s\n", ntok++, t);
  CHECK(ntok == 4);
  for (size_t i = 0; i < strlen(dst); i++) buf[i] = (char)toupper((unsigned char)dst[i]);
  buf[strlen(dst)] = 0;
  printf("toupper: %s isdigit=%d isspace=%d\n", buf, isdigit('7') != 0, isspace('x') != 0);

  /* Formatting. */
  snprintf(buf, sizeof buf, "[%d|%5d|%-5d|%05d|%+d]", 42, 42, 42, 42, 42);
  printf("%s\n", buf);
  CHECK(strcmp(buf, "[42|   42|42   |00042|+42]") == 0);
  printf("[%ld|%lld|%u|%lu]\n", -1234567890123L, 9223372036854775807LL, 4000000000u, 18446744073709551615UL);
  printf("[%x|%X|%#x|%o|%#o|%08x]\n", 0xbeef, 0xbeef, 255, 8, 8, 0xabc);
  printf("[%c%c%c|%s|%.3s|%10s|%-10s|]\n", 'a', 'b', 'c', "string", "truncate", "right", "left");
  printf("[%f|%.2f|%10.3f|%e|%.3E|%g|%g]\n", 3.14159265, 2.71828, -1.5, 123456.789, 0.000123, 1e-5, 100.0);
  printf("[%%|%5.1f%%]\n", 99.5);
  int n = snprintf(buf, 8, "%s", "this is too long");
  printf("snprintf truncated: n=%d buf=%s\n", n, buf);
  printf("strtol=%ld strtoul=%lu strtod=%.3f atoi=%d\n", strtol("-0x1f", NULL, 16),
         strtoul("777", NULL, 8), strtod("6.02e2", NULL), atoi("  123abc"));

  /* Tables and qsort. */
  const char* sorted[sizeof kColors / sizeof kColors[0]];
  memcpy(sorted, kColors, sizeof kColors);
  qsort(sorted, sizeof sorted / sizeof sorted[0], sizeof sorted[0], compare_strings);
  for (size_t i = 0; i < sizeof sorted / sizeof sorted[0]; i++) printf("color %zu: %s\n", i, sorted[i]);
  qsort(planets, sizeof planets / sizeof planets[0], sizeof planets[0], compare_by_length);
  for (size_t i = 0; i < sizeof planets / sizeof planets[0]; i++) printf("planet %zu: %s\n", i, planets[i]);
  int nums[] = {5, -3, 99, 0, 42, 7, -100, 13};
  qsort(nums, 8, sizeof nums[0], compare_ints_desc);
  printf("ints desc:");
  for (int i = 0; i < 8; i++) printf(" %d", nums[i]);
  printf("\n");
  CHECK(nums[0] == 99 && nums[7] == -100);
  for (size_t i = 0; i < sizeof kPairs / sizeof kPairs[0]; i++)
    printf("pair %s=%s (%d)\n", kPairs[i].key, kPairs[i].value, kPairs[i].number);

  /* Environment. */
  const char* env = getenv("MODKIT_EXEC_TEST_VAR");
  printf("env=%s\n", env ? env : "(unset)");
  printf("unset env=%s\n", getenv("MODKIT_EXEC_SURELY_UNSET") ? "set" : "(unset)");

  printf("failures=%d\n", failures);
  return failures;
}
