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

// What the loaded object's program headers say about `addr`: executable
// (to type a symbol dladdr1 cannot name: glibc's IFUNCs resolve to local
// implementations absent from the dynamic table), and read-only once the
// program runs (not writable, or inside PT_GNU_RELRO).
struct SegmentInfo {
  bool exec = false;
  bool read_only = false;
};

SegmentInfo segment_of(uintptr_t addr) {
  struct Query {
    uintptr_t addr;
    SegmentInfo info;
  } q{addr, {}};
  dl_iterate_phdr(
      [](struct dl_phdr_info* info, size_t, void* data) -> int {
        auto* q = static_cast<Query*>(data);
        bool hit = false;
        for (int i = 0; i < info->dlpi_phnum; ++i) {
          const ElfW(Phdr)& ph = info->dlpi_phdr[i];
          if (ph.p_type != PT_LOAD && ph.p_type != PT_GNU_RELRO) continue;
          uintptr_t lo = info->dlpi_addr + ph.p_vaddr;
          if (q->addr < lo || q->addr - lo >= ph.p_memsz) continue;
          if (ph.p_type == PT_GNU_RELRO) {
            q->info.read_only = true;
          } else {
            hit = true;
            q->info.exec = (ph.p_flags & PF_X) != 0;
            if ((ph.p_flags & PF_W) == 0) q->info.read_only = true;
          }
        }
        return hit ? 1 : 0;
      },
      &q);
  return q.info;
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
  SegmentInfo seg = segment_of(reinterpret_cast<uintptr_t>(p));
  *out = {reinterpret_cast<uint64_t>(p), 0, static_cast<uint8_t>(seg.exec ? STT_FUNC : STT_OBJECT),
          seg.read_only};
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
