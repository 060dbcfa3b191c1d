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

// Slots of a direct-mapped memo by relocation type (TypeCache, and the
// linker's and the validator's own): covers every x86_64 and riscv64 type
// without collision, and the few dozen an aarch64 object uses with few.
inline constexpr uint32_t kTypeSlots = 64;

// The tags of such a memo when empty: slot i holds a type whose low bits
// are i, and its tag is that type; ~i never has those low bits, so an empty
// slot never matches. A memo starts empty by copying these (a few vector
// stores), not by initializing every slot: one is built for every link and
// every validation, however small.
struct EmptyTypeTags {
  uint32_t tags[kTypeSlots];
  constexpr EmptyTypeTags() : tags() {
    for (uint32_t i = 0; i < kTypeSlots; ++i)
      tags[i] = ~i;
  }
};
inline constexpr EmptyTypeTags kEmptyTypeTags{};

template <class T>
class TypeCache {
 public:
  using Lookup = const T* (*)(uint32_t type);

  explicit TypeCache(Lookup lookup) : lookup_(lookup) {
    for (uint32_t i = 0; i < kTypeSlots; ++i)
      types_[i] = kEmptyTypeTags.tags[i];
  }

  const T* get(uint32_t type) {
    const uint32_t i = type & (kTypeSlots - 1);
    if (types_[i] != type) {
      types_[i] = type;
      values_[i] = lookup_(type);
    }
    return values_[i];
  }

 private:
  Lookup lookup_;
  uint32_t types_[kTypeSlots];
  const T* values_[kTypeSlots];  // read only once its slot's type is set
};

}  // namespace mk
