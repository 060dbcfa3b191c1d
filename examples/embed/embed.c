/* embed: the smallest C program that embeds modkit (include/modkit/modkit.h).
 *
 * It creates a kernel, exports a printf-like function `kprintf` and a data
 * object `kernel_info` to modules, loads the module object named on the
 * command line, calls its `module_entry`, and unloads it.
 *
 *   cc -c examples/embed/hello_module.c -o hello_module.o
 *   build/examples/embed hello_module.o
 *
 * Exit status: 0 when module_entry returned 0, 1 when the module could not
 * be loaded, 2 on bad usage, 3 when module_entry failed. */
#include <stdarg.h>
#include <stdio.h>

#include "modkit/modkit.h"

/* What the kernel gives its modules. */
struct kernel_info {
  int version;
  const char* name;
  int entries; /* modules count their calls here */
};
struct kernel_info kernel_info = {1, "embed", 0};

static int kprintf(const char* fmt, ...) {
  va_list ap;
  int n;
  fputs("[kernel] ", stdout);
  va_start(ap, fmt);
  n = vprintf(fmt, ap);
  va_end(ap);
  return n;
}

int main(int argc, char** argv) {
  mk_kernel* k;
  mk_file* f;
  int (*entry)(int);
  char err[512];
  int rc;

  if (argc != 2) {
    fprintf(stderr, "usage: %s MODULE.o\n", argv[0]);
    return 2;
  }
  k = mk_kernel_create(0);
  if (mk_export(k, "kprintf", (const void*)kprintf, 0, 1) != 0 ||
      mk_export(k, "kernel_info", &kernel_info, sizeof kernel_info, 0) != 0) {
    fprintf(stderr, "embed: cannot export the kernel's symbols\n");
    mk_kernel_destroy(k);
    return 1;
  }

  f = mk_load_file(k, argv[1], err, sizeof err);
  if (f == NULL) {
    fprintf(stderr, "embed: %s\n", err);
    mk_kernel_destroy(k);
    return 1;
  }
  entry = (int (*)(int))mk_symbol(k, f, "module_entry");
  if (entry == NULL) {
    fprintf(stderr, "embed: %s defines no module_entry\n", argv[1]);
    mk_unload(k, f);
    mk_kernel_destroy(k);
    return 1;
  }
  printf("loaded %s (%zu bytes of module memory)\n", argv[1], mk_arena_used(k));

  rc = entry(42);
  printf("module_entry(42) returned %d; kernel_info.entries = %d\n", rc, kernel_info.entries);

  mk_unload(k, f);
  printf("unloaded (%zu bytes of module memory)\n", mk_arena_used(k));
  mk_kernel_destroy(k);
  return rc == 0 ? 0 : 3;
}
