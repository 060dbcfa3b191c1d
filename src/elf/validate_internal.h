// Internals of elf::validate(), shared by its phases (validate*.cc). Not part
// of the elf layer's interface: nothing outside src/elf includes this.
//
// The phases run in order, each relying on what the earlier ones proved:
//   header    -> machine, section count, section-name table index
//   sections  -> every header read, names resolved, per-section rules, overlaps
//   symbols   -> the one symbol table, its extended-index table, every symbol
//   groups    -> SHT_GROUP members, Section::group
//   relocs    -> every relocation section and entry
//
// Message style, used by every phase: "<where>: <rule broken>", where <where>
// is "ELF header", "section table", "section 5 (.text)", "symbol 12 (foo)" or
// "relocation 3 of section 7 (.rela.text)"; an empty name drops the
// parentheses. Offsets and sizes are hex with 0x, indices and counts decimal.
#pragma once

#include <stdint.h>

#include "elf/machine_rules.h"
#include "elf/validated_object.h"
#include "support/allocator.h"
#include "support/bytes.h"
#include "support/result.h"
#include "support/vector.h"

namespace mk::elf::detail {

struct Context {
  ByteView bytes;
  Allocator& alloc;
  ValidatedObject& obj;
  const MachineRules* machine = nullptr;
  uint64_t shoff = 0;        // file offset of the section header table
  uint32_t count = 0;        // number of sections (extended numbering resolved)
  uint32_t shstrndx = 0;     // section-name string table (extended numbering resolved)
  bool names_ready = false;  // Section::name is valid for every section
  uint32_t shndx_table = 0;  // the SHT_SYMTAB_SHNDX section, 0 if none
  uint32_t modinfo = 0;      // the modkit_modinfo section, 0 if none
  uint64_t image_size = 0;   // sum of SHF_ALLOC section sizes and common symbols
  // Per symbol, set by the symbols phase: 1 when it is defined in a real
  // section that is not loaded (no SHF_ALLOC), which the relocations of a
  // loaded section may not name. Empty when no symbol is (then none is).
  Vec<uint8_t> unloaded{alloc};
};

// "section 5 (.text)", "section 5" before names are known or for an empty name.
struct Where {
  char text[192];
};
Where section_where(const Context& c, uint32_t index);
Where symbol_where(const Context& c, uint32_t index);

// "SHT_PROGBITS" or "0x6fff4c03".
struct TypeName {
  char text[24];
};
TypeName section_type_name(uint32_t type);

// A NUL-terminated string at `off` inside a string table whose last byte is
// already known to be NUL (checked by the sections phase), or nullptr when off
// is past its end. O(1): no scan, so many names sharing one long string cost
// nothing extra.
const char* string_at(ByteView strtab, uint64_t off);

// Adds `size` to the image total; an error once it passes kMaxImageSize.
[[nodiscard]] Result<void> add_image_size(Context& c, uint64_t size);

[[nodiscard]] Result<void> validate_header(Context& c, MachineLookup machines);
[[nodiscard]] Result<void> validate_sections(Context& c);
[[nodiscard]] Result<void> validate_overlaps(Context& c);
[[nodiscard]] Result<void> validate_symbols(Context& c);
[[nodiscard]] Result<void> validate_groups(Context& c);
[[nodiscard]] Result<void> validate_relocs(Context& c);

}  // namespace mk::elf::detail
