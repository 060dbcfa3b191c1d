// debug_host kernel|system OBJECT FUNCTION ARG
//
// Loads OBJECT through the embedding API (modkit::Kernel) or the registry
// (hosted::System), calls FUNCTION(ARG) as int (*)(int), prints the result,
// unloads and exits. The gdb tests run it under the debugger; host_loaded()
// is a place to stop once the object is in (to set breakpoints by then).
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <string>

#include "hosted/system.h"
#include "modkit/modkit.hpp"

extern "C" __attribute__((noinline)) void host_loaded(void* fn) {
  __asm__ volatile("" : : "r"(fn) : "memory");
}

namespace {

using Fn = int (*)(int);

int call(void* fn, int arg) {
  if (fn == nullptr) {
    fprintf(stderr, "debug_host: no such function\n");
    return 1;
  }
  host_loaded(fn);
  printf("result %d\n", reinterpret_cast<Fn>(fn)(arg));
  return 0;
}

int with_kernel(const char* path, const char* name, int arg) {
  modkit::Kernel k(modkit::Options{.host_symbols = true});
  modkit::Error err;
  modkit::File* f = k.load(path, &err);
  if (f == nullptr) {
    fprintf(stderr, "debug_host: %s\n", err.message.c_str());
    return 1;
  }
  int rc = call(k.symbol(f, name), arg);
  k.unload(f);
  return rc;
}

int with_system(const char* path, const char* name, int arg) {
  mk::hosted::SystemConfig config;
  config.static_modules = false;
  mk::hosted::System sys(config);
  if (!sys.boot()) return 1;
  mk::Result<mk::module::File*> f = sys.registry().load_path(path);
  if (!f) {
    fprintf(stderr, "debug_host: %s\n", f.error().message());
    return 1;
  }
  const mk::link::FileSymbol* s = f.value()->linked->find(name);
  int rc = call(s == nullptr ? nullptr : reinterpret_cast<void*>(s->addr), arg);
  if (!sys.registry().unload(f.value(), mk::module::UnloadOptions{})) rc = 1;
  return rc;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 5) {
    fprintf(stderr, "usage: debug_host kernel|system OBJECT FUNCTION ARG\n");
    return 2;
  }
  int arg = atoi(argv[4]);
  if (strcmp(argv[1], "kernel") == 0) return with_kernel(argv[2], argv[3], arg);
  if (strcmp(argv[1], "system") == 0) return with_system(argv[2], argv[3], arg);
  fprintf(stderr, "debug_host: mode must be kernel or system\n");
  return 2;
}
