#include "hosted/host_symbols.h"

#include <dlfcn.h>
#include <elf.h>
#include <link.h>
#include <pthread.h>
#include <string.h>

extern "C" {
int __cxa_atexit(void (*fn)(void*), void* arg, void* dso);
int __register_atfork(void (*prepare)(), void (*parent)(), void (*child)(), void* dso);
}

namespace mk::hosted {
namespace {

// libc_nonshared.a members: a program gets them from its own link, so the
// shared libc does not export them under these names.
int host_atexit(void (*fn)()) {
  return __cxa_atexit(reinterpret_cast<void (*)(void*)>(fn), nullptr, nullptr);
}
int host_pthread_atfork(void (*prepare)(), void (*parent)(), void (*child)()) {
  return __register_atfork(prepare, parent, child, nullptr);
}

struct Builtin {
  const char* name;
  void* addr;
};

const Builtin kBuiltins[] = {
    {"atexit", reinterpret_cast<void*>(&host_atexit)},
    {"pthread_atfork", reinterpret_cast<void*>(&host_pthread_atfork)},
};

}  // namespace

bool host_symbol(const char* name, link::ResolvedSymbol* out) {
  for (const Builtin& b : kBuiltins) {
    if (strcmp(b.name, name) == 0) {
      *out = {reinterpret_cast<uint64_t>(b.addr), 0, STT_FUNC};
      return true;
    }
  }
  void* p = dlsym(RTLD_DEFAULT, name);
  if (p == nullptr) return false;
  *out = {reinterpret_cast<uint64_t>(p), 0, STT_NOTYPE};
  Dl_info info;
  ElfW(Sym)* sym = nullptr;
  if (dladdr1(p, &info, reinterpret_cast<void**>(&sym), RTLD_DL_SYMENT) != 0 && sym != nullptr) {
    out->size = sym->st_size;
    out->type = ELF64_ST_TYPE(sym->st_info);
    if (out->type == STT_GNU_IFUNC) out->type = STT_FUNC;  // dlsym returned the resolved function
  }
  return true;
}

}  // namespace mk::hosted
