#include "util/object_invariants.h"

#include <vector>

#include "support/checked.h"

namespace mk::test {

using namespace mk::elf;

#define INVARIANT(cond)                                                                     \
  do {                                                                                      \
    if (!(cond))                                                                            \
      return std::string("invariant failed: ") + #cond + " at " + std::to_string(__LINE__); \
  } while (0)

std::string CheckObjectInvariants(const ValidatedObject& obj, ByteView bytes) {
  INVARIANT(obj.machine != nullptr);
  INVARIANT(obj.bytes.data() == bytes.data() && obj.bytes.size() == bytes.size());
  INVARIANT(obj.sections.size() >= 1);
  INVARIANT(obj.sections[0].type == SHT_NULL && obj.sections[0].data.empty());
  const size_t nsec = obj.sections.size();
  uint64_t image = 0;
  for (size_t i = 0; i < nsec; ++i) {
    const Section& s = obj.sections[i];
    INVARIANT(s.index == i);
    INVARIANT(s.name != nullptr);
    INVARIANT(is_pow2(s.align) && s.align <= kMaxAlign);
    INVARIANT(s.size <= kMaxSectionSize);
    INVARIANT(!((s.flags & SHF_WRITE) && (s.flags & SHF_EXECINSTR)));
    INVARIANT((s.flags & SHF_TLS) == 0);
    if (s.type == SHT_NOBITS || s.type == SHT_NULL) {
      INVARIANT(s.data.empty());
    } else {
      INVARIANT(s.offset <= bytes.size() && s.size <= bytes.size() - s.offset);
      INVARIANT(s.data.data() == bytes.data() + s.offset && s.data.size() == s.size);
    }
    if (s.alloc()) image += s.size;
    if (s.group != 0) INVARIANT(s.group < nsec && obj.sections[s.group].type == SHT_GROUP);
  }
  INVARIANT(obj.symtab > 0 && obj.symtab < nsec && obj.sections[obj.symtab].type == SHT_SYMTAB);
  INVARIANT(obj.symbols.size() >= 1 && obj.first_global <= obj.symbols.size());
  INVARIANT(obj.modinfo < nsec);
  for (size_t i = 0; i < obj.symbols.size(); ++i) {
    const Symbol& s = obj.symbols[i];
    INVARIANT(s.name != nullptr);
    INVARIANT((i < obj.first_global) == s.local() || i == 0);
    if (s.shndx == SHN_UNDEF || s.shndx == SHN_ABS) continue;
    if (s.shndx == SHN_COMMON) {
      INVARIANT(!s.local() && is_pow2(s.value) && s.value <= kMaxAlign);
      image += s.size;
      continue;
    }
    INVARIANT(s.shndx < nsec);
    const Section& sec = obj.sections[s.shndx];
    INVARIANT(s.value <= sec.size);
    if (s.type == STT_FUNC || s.type == STT_OBJECT) INVARIANT(s.size <= sec.size - s.value);
  }
  INVARIANT(image <= kMaxImageSize);
  for (const RelocSection& rs : obj.relocs) {
    INVARIANT(rs.index < nsec && rs.target < nsec);
    const Section& target = obj.sections[rs.target];
    INVARIANT(!target.data.empty() || target.size == 0);
    INVARIANT(target.type != SHT_NOBITS && target.type != SHT_NULL);
    INVARIANT(rs.entries.size() == rs.count * (rs.rela ? sizeof(Rela) : sizeof(Rel)));
    // The section's list of types: exactly its entries' (the linker
    // applies a section by one formula when they all share it).
    uint64_t types = 0;
    bool wide = false;
    for (uint64_t k = 0; k < rs.count; ++k) {
      Relocation r = obj.relocation(rs, k);
      if (r.type < 64)
        types |= uint64_t{1} << r.type;
      else
        wide = true;
      INVARIANT(r.sym < obj.symbols.size());
      const RelocShape* shape = obj.machine->shape(r.type);
      INVARIANT(shape != nullptr && !shape->tls);
      INVARIANT(r.offset <= target.size && shape->width <= target.size - r.offset);
      if (target.alloc()) {
        uint32_t x = obj.symbols[r.sym].shndx;
        INVARIANT(x == SHN_UNDEF || x == SHN_ABS || x == SHN_COMMON || obj.sections[x].alloc());
      }
    }
    INVARIANT(rs.types == types && rs.wide_types == wide);
  }
  // The record of uses: when complete, per symbol exactly the types of the
  // entries of loaded sections that name it, all below 64.
  if (obj.reloc_uses_complete) {
    INVARIANT(obj.reloc_uses.size() == obj.symbols.size());
    std::vector<uint64_t> uses(obj.symbols.size());
    for (const RelocSection& rs : obj.relocs) {
      if (!obj.sections[rs.target].alloc()) continue;
      for (uint64_t k = 0; k < rs.count; ++k) {
        Relocation r = obj.relocation(rs, k);
        INVARIANT(r.type < 64);
        uses[r.sym] |= uint64_t{1} << r.type;
      }
    }
    for (size_t i = 0; i < uses.size(); ++i)
      INVARIANT(obj.reloc_uses[i] == uses[i]);
  }
  for (const Group& g : obj.groups) {
    INVARIANT(g.section < nsec && obj.sections[g.section].type == SHT_GROUP);
    INVARIANT(g.signature != nullptr);
    for (size_t m = 0; m < obj.group_size(g); ++m) {
      uint32_t idx = obj.group_member(g, m);
      INVARIANT(idx > 0 && idx < nsec && obj.sections[idx].group == g.section);
    }
  }
  return "";
}

}  // namespace mk::test
