// Definitions of the kernel API in kapi.h. The functions do a little work so
// that a module's init has something to call; none of them is inlined away.
#include "kapi.h"

volatile unsigned kapi_sink;

// Unsigned arithmetic: module code passes whatever its sums reached.
#define KAPI_FN(i)                                                \
  __attribute__((noinline)) int kapi_f##i(int a, const char* s) { \
    kapi_sink += (unsigned)a ^ (unsigned char)s[0];               \
    return (int)((unsigned)a + i);                                \
  }
#define KAPI_DATUM(i) int kapi_d##i[4] = {i, i + 1, i + 2, i + 3};

// clang-format off
#define FOR_FUNCS(X)                                                                          \
  X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11) X(12) X(13) X(14) X(15)     \
  X(16) X(17) X(18) X(19) X(20) X(21) X(22) X(23) X(24) X(25) X(26) X(27) X(28) X(29)       \
  X(30) X(31) X(32) X(33) X(34) X(35) X(36) X(37) X(38) X(39)
#define FOR_DATA(X) \
  X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11) X(12) X(13) X(14) X(15)
// clang-format on

FOR_FUNCS(KAPI_FN)
FOR_DATA(KAPI_DATUM)

#define FN_ENTRY(i) {"kapi_f" #i, (const void*)&kapi_f##i, 0, 1},
#define DATUM_ENTRY(i) {"kapi_d" #i, (const void*)kapi_d##i, sizeof kapi_d##i, 0},

const struct kapi_symbol kapi_symbols[] = {FOR_FUNCS(FN_ENTRY) FOR_DATA(DATUM_ENTRY)};
const int kapi_symbol_count = sizeof kapi_symbols / sizeof kapi_symbols[0];

_Static_assert(sizeof kapi_symbols / sizeof kapi_symbols[0] == KAPI_FUNCS + KAPI_DATA,
               "kapi.h counts match the lists");
