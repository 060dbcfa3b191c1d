// debug_host kernel|system OBJECT FUNCTION ARG [OBJECT2 FUNCTION2]
//
// Loads OBJECT through the embedding API (modkit::Kernel) or the registry
// (hosted::System), calls FUNCTION(ARG) as int (*)(int), prints the result;
// then, if given, loads OBJECT2 beside it (packed into the same pages) and
// calls FUNCTION2(ARG); unloads and exits. The gdb tests run it under the debugger; host_loaded()
// is a place to stop once the object is in (to set breakpoints by then).
// With DEBUG_HOST_GO=PATH set, it prints "waiting PID" once the object is
// loaded and waits for PATH to exist before calling anything: a debugger
// attaches meanwhile (gdb -p) and creates PATH.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "hosted/system.h"
#include "modkit/modkit.hpp"

extern "C" __attribute__((noinline)) void host_loaded(void* fn) {
  __asm__ volatile("" : : "r"(fn) : "memory");
}

namespace {

using Fn = int (*)(int);

struct Job {
  const char* path;
  const char* name;
};

int call(void* fn, int arg) {
  if (fn == nullptr) {
    fprintf(stderr, "debug_host: no such function\n");
    return 1;
  }
  printf("loaded at %p\n", fn);
  if (const char* go = getenv("DEBUG_HOST_GO")) {
    printf("waiting %d\n", static_cast<int>(getpid()));
    while (access(go, F_OK) != 0)
      usleep(10 * 1000);
  }
  host_loaded(fn);
  printf("result %d\n", reinterpret_cast<Fn>(fn)(arg));
  return 0;
}

int with_kernel(const std::vector<Job>& jobs, int arg) {
  modkit::Kernel k(modkit::Options{.host_symbols = true});
  std::vector<modkit::File*> files;
  int rc = 0;
  for (const Job& j : jobs) {
    modkit::Error err;
    modkit::File* f = k.load(j.path, &err);
    if (f == nullptr) {
      fprintf(stderr, "debug_host: %s\n", err.message.c_str());
      return 1;
    }
    files.push_back(f);
    rc |= call(k.symbol(f, j.name), arg);
  }
  for (modkit::File* f : files)
    k.unload(f);
  return rc;
}

int with_system(const std::vector<Job>& jobs, int arg) {
  mk::hosted::SystemConfig config;
  config.static_modules = false;
  mk::hosted::System sys(config);
  if (!sys.boot()) return 1;
  std::vector<mk::module::File*> files;
  int rc = 0;
  for (const Job& j : jobs) {
    mk::Result<mk::module::File*> f = sys.registry().load_path(j.path);
    if (!f) {
      fprintf(stderr, "debug_host: %s\n", f.error().message());
      return 1;
    }
    files.push_back(f.value());
    const mk::link::FileSymbol* s = f.value()->linked->find(j.name);
    rc |= call(s == nullptr ? nullptr : reinterpret_cast<void*>(s->addr), arg);
  }
  for (mk::module::File* f : files)
    if (!sys.registry().unload(f, mk::module::UnloadOptions{})) rc = 1;
  return rc;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 5 && argc != 7) {
    fprintf(stderr, "usage: debug_host kernel|system OBJECT FUNCTION ARG [OBJECT2 FUNCTION2]\n");
    return 2;
  }
  setvbuf(stdout, nullptr, _IOLBF, 0);  // lines reach gdb's transcript as they are printed
  int arg = atoi(argv[4]);
  std::vector<Job> jobs{{argv[2], argv[3]}};
  if (argc == 7) jobs.push_back({argv[5], argv[6]});
  if (strcmp(argv[1], "kernel") == 0) return with_kernel(jobs, arg);
  if (strcmp(argv[1], "system") == 0) return with_system(jobs, arg);
  fprintf(stderr, "debug_host: mode must be kernel or system\n");
  return 2;
}
