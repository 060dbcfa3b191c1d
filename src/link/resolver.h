// Resolver: where a file's undefined symbols come from. The link layer asks;
// the caller decides what is visible (architecture.md, Load step 5: the
// exports of the files this one depends on, then the kernel's exports; never
// another file's locals). Resolution is a callback so the linker knows nothing
// of registries or namespaces.
//
// Contract: resolve() is called once per distinct undefined name of a link,
// with name_hash(name) precomputed. It returns false when the name is not
// visible; it must not call back into the linker.
#pragma once

#include <stdint.h>

namespace mk::link {

struct ResolvedSymbol {
  uint64_t addr = 0;
  uint64_t size = 0;
  uint8_t type = 0;  // elf::STT_*; STT_FUNC lets the linker route through a stub
  // Data that never changes once the program runs (typeinfo, vtables, RELRO):
  // a file that cannot reach it may keep a copy of its `size` bytes instead,
  // as a copy relocation would.
  bool read_only = false;
};

class Resolver {
 public:
  virtual bool resolve(const char* name, uint32_t hash, ResolvedSymbol* out) = 0;

 protected:
  ~Resolver() = default;
};

}  // namespace mk::link
