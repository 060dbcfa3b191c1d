/* modkit embedding API (C). The same operations as modkit.hpp, for C hosts.
 *
 *   mk_kernel* k = mk_kernel_create(0);
 *   mk_export(k, "kprintf", (void*)kprintf, 0, 1);
 *   char err[512];
 *   mk_file* f = mk_load_file(k, "hello.ko", err, sizeof err);
 *   if (!f) { fprintf(stderr, "%s\n", err); return 1; }
 *   int (*hello)(int) = (int (*)(int))mk_symbol(k, f, "hello");
 *   hello(42);
 *   mk_unload(k, f);
 *   mk_kernel_destroy(k);
 *
 * Errors: functions returning a pointer return NULL and write a NUL-terminated
 * message into err (when err is not NULL and errlen > 0). */
#ifndef MODKIT_MODKIT_H
#define MODKIT_MODKIT_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct mk_kernel mk_kernel;
typedef struct mk_file mk_file;

/* Flags for mk_kernel_create. */
#define MK_HOST_SYMBOLS 1 /* modules may also use the host's libc, libm, libstdc++ */

mk_kernel* mk_kernel_create(unsigned flags);
void mk_kernel_destroy(mk_kernel* k);

/* Returns 0, or -1 when the name is already exported. */
int mk_export(mk_kernel* k, const char* name, const void* addr, size_t size, int is_function);

mk_file* mk_load_file(mk_kernel* k, const char* path, char* err, size_t errlen);
mk_file* mk_load_memory(mk_kernel* k, const void* data, size_t size, const char* name, char* err,
                        size_t errlen);
void* mk_symbol(mk_kernel* k, mk_file* f, const char* name);
void mk_unload(mk_kernel* k, mk_file* f);
size_t mk_arena_used(const mk_kernel* k);

#ifdef __cplusplus
}
#endif

#endif /* MODKIT_MODKIT_H */
