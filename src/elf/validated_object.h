// ValidatedObject: an ELF64 relocatable object whose every index, offset and
// size has been checked by elf::validate(). Later layers take only this type,
// so nothing downstream re-derives a bound or re-checks an index.
//
// It borrows the input bytes: they must outlive the object. Names point into
// the input and are NUL-terminated inside their string table.
//
// Invariants (established by validate.cc, relied on everywhere else):
// - sections[i].index == i; sections[0] is the null section.
// - every section's data lies inside the input (empty for NOBITS), align is a
//   power of two no larger than kMaxAlign.
// - symbols[0] is the null symbol; every symbol's shndx is SHN_UNDEF, SHN_ABS,
//   SHN_COMMON or a real section index (extended indices already resolved);
//   a defined symbol's value lies inside its section.
// - every relocation section's entries are in range, its target is a real
//   section, every entry's symbol index is < symbols.size(), its type is known
//   to the machine and not TLS, and offset + width lies inside the target.
//
// In detail (what later layers may rely on without looking again):
// - sections: names resolve inside the section-name table; no two sections'
//   file contents overlap each other, the ELF header or the section table;
//   size <= kMaxSectionSize (NOBITS too) and the SHF_ALLOC sizes plus common
//   symbol sizes total <= kMaxImageSize; no section is both SHF_WRITE and
//   SHF_EXECINSTR; no SHF_TLS; SHF_ALLOC sections are PROGBITS, NOBITS, NOTE,
//   INIT/FINI/PREINIT_ARRAY (entsize 8 or 0 as clang writes it; size a
//   multiple of 8) or, on x86_64,
//   X86_64_UNWIND; every SHT_STRTAB is non-empty and starts and ends with NUL;
//   SHF_LINK_ORDER sections link to a real section. Section 0 is zeroed.
// - exactly one SHT_SYMTAB (`symtab`): entsize 24, links to a string table,
//   sh_info == first_global <= symbols.size(); symbols below first_global are
//   local, the rest are not. Local symbols are never undefined or common.
//   Common symbols: value (their alignment) is a power of two <= kMaxAlign.
//   FUNC and OBJECT symbols: value + size lies inside their section. No TLS or
//   IFUNC symbols; bindings are LOCAL, GLOBAL, WEAK or GNU_UNIQUE. Since
//   shndx keeps SHN_ABS (0xfff1) and SHN_COMMON (0xfff2) as themselves, no
//   symbol is defined in a real section with either number (validate()
//   refuses such objects, which need more than 65521 sections).
// - groups: flags are 0 or GRP_COMDAT; members are real, non-group sections
//   with SHF_GROUP, each in exactly one group (Section::group); every section
//   with SHF_GROUP is in a group.
// - relocations: the target is PROGBITS, NOTE, an init/fini array or (x86_64)
//   X86_64_UNWIND, so it has contents (REL implicit addends are readable). When
//   the target is SHF_ALLOC, every entry's symbol is undefined, ABS, COMMON or
//   defined in an SHF_ALLOC section. Non-SHF_ALLOC targets (debug info) are
//   validated the same way but the linker does not apply them.
// - modinfo: the one section named modkit_modinfo, or 0.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "elf/elf.h"
#include "elf/machine_rules.h"
#include "support/bytes.h"
#include "support/vector.h"

namespace mk::elf {

inline constexpr uint64_t kMaxAlign = 64 * 1024;
inline constexpr uint64_t kMaxSectionSize = uint64_t{1} << 30;  // also bounds NOBITS
inline constexpr uint64_t kMaxImageSize = uint64_t{1} << 31;    // sum of SHF_ALLOC sizes

struct Section {
  const char* name = "";
  uint32_t index = 0;
  uint32_t type = 0;
  uint64_t flags = 0;
  uint64_t size = 0;
  uint64_t align = 1;
  uint64_t entsize = 0;
  uint32_t link = 0;
  uint32_t info = 0;
  uint64_t offset = 0;  // file offset of the contents
  ByteView data;        // the contents; empty for SHT_NOBITS
  uint32_t group = 0;   // index of the SHT_GROUP section it belongs to, 0 if none

  bool alloc() const { return (flags & SHF_ALLOC) != 0; }
  bool nobits() const { return type == SHT_NOBITS; }
};

struct Symbol {
  const char* name = "";
  uint64_t value = 0;
  uint64_t size = 0;
  uint32_t shndx = 0;  // SHN_UNDEF, SHN_ABS, SHN_COMMON or a section index
  uint8_t bind = 0;
  uint8_t type = 0;
  uint8_t visibility = 0;

  bool defined() const { return shndx != SHN_UNDEF; }
  bool local() const { return bind == STB_LOCAL; }
};

struct RelocSection {
  uint32_t index = 0;   // the SHT_REL or SHT_RELA section
  uint32_t target = 0;  // the section its entries patch
  bool rela = false;
  uint64_t count = 0;
  ByteView entries;  // count entries of sizeof(Rela) or sizeof(Rel)
  // The types its entries have, for a linker that chooses its loop by them:
  // bit t is set when some entry has type t (t < 64). `wide_types`: some
  // entry has a type of 64 or more, which `types` cannot hold.
  uint64_t types = 0;
  bool wide_types = false;
};

struct Relocation {
  uint64_t offset;
  uint32_t type;
  uint32_t sym;
  int64_t addend;
};

struct Group {
  uint32_t section = 0;        // the SHT_GROUP section
  const char* signature = "";  // name of its signature symbol
  bool comdat = false;
  ByteView members;  // uint32_t section indices after the flag word, all validated
};

class ValidatedObject {
 public:
  explicit ValidatedObject(Allocator& a)
      : sections(a), symbols(a), relocs(a), groups(a), reloc_uses(a) {}

  ByteView bytes;  // the whole input
  const MachineRules* machine = nullptr;
  uint32_t symtab = 0;        // index of the SHT_SYMTAB section
  uint32_t first_global = 0;  // symtab sh_info: first non-local symbol
  uint32_t modinfo = 0;       // the modkit_modinfo section (module metadata), 0 if none
  Vec<Section> sections;
  Vec<Symbol> symbols;
  Vec<RelocSection> relocs;
  Vec<Group> groups;
  // What the relocations of loaded sections do with each symbol, gathered by
  // the validator's pass over the entries so that the linker need not read
  // them a second time before it places the file: per symbol, bit t is set
  // when an entry of a relocation section whose target is SHF_ALLOC has
  // type t and names the symbol. Complete only for types below 64:
  // `reloc_uses_complete` is false when such an entry has a larger type
  // (aarch64), and then `reloc_uses` is not to be relied on.
  Vec<uint64_t> reloc_uses;
  bool reloc_uses_complete = false;

  // Entry i of a validated relocation section (no checks: validate() did them).
  Relocation relocation(const RelocSection& rs, uint64_t i) const {
    Relocation r;
    if (rs.rela) {
      // Field by field, straight into registers: copying the entry whole
      // into a stack temporary and reading it back stalls store forwarding,
      // which showed in the profile (this runs for every relocation).
      const uint8_t* e = rs.entries.data() + i * sizeof(Rela);
      uint64_t offset, info;
      int64_t addend;
      mk_memcpy(&offset, e + offsetof(Rela, offset), 8);
      mk_memcpy(&info, e + offsetof(Rela, info), 8);
      mk_memcpy(&addend, e + offsetof(Rela, addend), 8);
      r = {offset, rel_type(info), rel_sym(info), addend};
    } else {
      Rel e;
      mk_memcpy(&e, rs.entries.data() + i * sizeof(Rel), sizeof e);
      r = {e.offset, rel_type(e.info), rel_sym(e.info), 0};
      r.addend = machine->implicit_addend(r.type, sections[rs.target].data.data() + e.offset);
    }
    return r;
  }

  // Section index i of group g's members.
  uint32_t group_member(const Group& g, size_t i) const {
    uint32_t v;
    mk_memcpy(&v, g.members.data() + i * 4, 4);
    return v;
  }
  size_t group_size(const Group& g) const { return g.members.size() / 4; }
};

}  // namespace mk::elf
