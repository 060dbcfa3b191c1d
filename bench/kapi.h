// The "kernel" the benchmark's modules import: functions and data defined in
// the benchmark executable. modkit sees them through Kernel::export_symbol;
// dlopen'd objects through the executable's dynamic symbol table (the
// executable is linked with -rdynamic).
#ifndef MODKIT_BENCH_KAPI_H
#define MODKIT_BENCH_KAPI_H

#ifdef __cplusplus
extern "C" {
#endif

// kapi_f<i>: int (int, const char*), i < KAPI_FUNCS.
// kapi_d<i>: int[4], i < KAPI_DATA.
#define KAPI_FUNCS 40
#define KAPI_DATA 16

struct kapi_symbol {
  const char* name;
  const void* addr;
  unsigned long size;
  int function;
};

extern const struct kapi_symbol kapi_symbols[];
extern const int kapi_symbol_count;

#ifdef __cplusplus
}
#endif

#endif
