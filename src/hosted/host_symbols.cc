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

// Is `addr` inside an executable segment of a loaded object? Used to type a
// symbol dladdr1 cannot name: glibc's IFUNCs (strlen, memcpy...) resolve to
// implementations that are local symbols, absent from the dynamic table.
bool in_executable_segment(uintptr_t addr) {
  struct Query {
    uintptr_t addr;
    bool exec;
  } q{addr, false};
  dl_iterate_phdr(
      [](struct dl_phdr_info* info, size_t, void* data) -> int {
        auto* q = static_cast<Query*>(data);
        for (int i = 0; i < info->dlpi_phnum; ++i) {
          const ElfW(Phdr)& ph = info->dlpi_phdr[i];
          if (ph.p_type != PT_LOAD) continue;
          uintptr_t lo = info->dlpi_addr + ph.p_vaddr;
          if (q->addr >= lo && q->addr - lo < ph.p_memsz) {
            q->exec = (ph.p_flags & PF_X) != 0;
            return 1;
          }
        }
        return 0;
      },
      &q);
  return q.exec;
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
  *out = {reinterpret_cast<uint64_t>(p), 0,
          static_cast<uint8_t>(in_executable_segment(reinterpret_cast<uintptr_t>(p)) ? STT_FUNC
                                                                                     : STT_OBJECT)};
  Dl_info info;
  ElfW(Sym)* sym = nullptr;
  if (dladdr1(p, &info, reinterpret_cast<void**>(&sym), RTLD_DL_SYMENT) != 0 && sym != nullptr &&
      info.dli_saddr == p) {  // the symbol itself, not a neighbour
    out->size = sym->st_size;
    out->type = ELF64_ST_TYPE(sym->st_info);
    if (out->type == STT_GNU_IFUNC) out->type = STT_FUNC;  // dlsym returned the resolved function
  }
  return true;
}

}  // namespace mk::hosted
