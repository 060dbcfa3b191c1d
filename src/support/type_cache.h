// TypeCache: a small direct-mapped memo in front of a per-type lookup, so a
// loop over thousands of relocations decodes each relocation type once
// instead of calling through the machine's function pointer per entry (the
// validator's shapes, the linker's kinds).
//
// Contract: `lookup` is a pure function of the type (the machine tables are
// constant), so a remembered answer is always the answer. nullptr answers
// (unknown types) are remembered too. The cache holds kSlots types at once;
// a type whose slot another type took is looked up again.
#pragma once

#include <stddef.h>
#include <stdint.h>

namespace mk {

template <class T>
class TypeCache {
 public:
  using Lookup = const T* (*)(uint32_t type);

  explicit TypeCache(Lookup lookup) : lookup_(lookup) {}

  const T* get(uint32_t type) {
    Slot& s = slots_[type & (kSlots - 1)];
    if (!s.filled || s.type != type) {
      s.type = type;
      s.value = lookup_(type);
      s.filled = true;
    }
    return s.value;
  }

 private:
  // Covers every x86_64 and riscv64 type without collision, and the few
  // dozen an aarch64 object uses with few.
  static constexpr size_t kSlots = 64;
  struct Slot {
    uint32_t type = 0;
    bool filled = false;
    const T* value = nullptr;
  };
  Lookup lookup_;
  Slot slots_[kSlots];
};

}  // namespace mk
