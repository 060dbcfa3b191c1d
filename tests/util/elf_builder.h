// ElfBuilder: writes ELF64 little-endian relocatable objects field by field,
// for tests, fuzz corpora and linker tests. Hosted code (std::vector is fine).
//
// By default build() emits an object that elf::validate() accepts: the null
// section, the sections you added (indices 1, 2, ... in the order added), then
// [.symtab_shndx when needed], .symtab, .strtab, .shstrtab. Contents are laid
// out after the ELF header in index order, each at its alignment, and the
// section header table comes last. Symbols are emitted in the order added
// (index 1, 2, ...; add locals first) and sh_info is the index of the first
// non-local one. More than 0xff00 sections switch to extended numbering
// automatically (or force it with extended_numbering(true)).
//
// To break exactly one thing, edit the built Image: edit_ehdr(), edit_shdr(),
// edit_sym(), edit_rela(), or patch<T>(offset, value) on raw bytes.
#pragma once

#include <stdint.h>
#include <string.h>

#include <functional>
#include <string>
#include <vector>

#include "elf/elf.h"

namespace mk::test {

// A built object plus the layout facts a test needs to patch it.
class Image {
 public:
  std::vector<uint8_t> bytes;

  const uint8_t* data() const { return bytes.data(); }
  size_t size() const { return bytes.size(); }

  template <class T>
  void patch(uint64_t off, T value) {
    memcpy(bytes.data() + off, &value, sizeof value);
  }
  template <class T>
  T peek(uint64_t off) const {
    T v;
    memcpy(&v, bytes.data() + off, sizeof v);
    return v;
  }

  elf::Ehdr ehdr() const { return peek<elf::Ehdr>(0); }
  void edit_ehdr(const std::function<void(elf::Ehdr&)>& f);

  // Section header i (as written; ignores extended numbering subtleties).
  uint64_t shdr_offset(uint32_t i) const { return ehdr().shoff + uint64_t{i} * sizeof(elf::Shdr); }
  elf::Shdr shdr(uint32_t i) const { return peek<elf::Shdr>(shdr_offset(i)); }
  void edit_shdr(uint32_t i, const std::function<void(elf::Shdr&)>& f);

  // Symbol i of the (builder's) symbol table.
  uint64_t sym_offset(uint32_t i) const;
  elf::Sym sym(uint32_t i) const { return peek<elf::Sym>(sym_offset(i)); }
  void edit_sym(uint32_t i, const std::function<void(elf::Sym&)>& f);

  // Entry k of relocation section `sec` (SHT_RELA or SHT_REL).
  uint64_t reloc_offset(uint32_t sec, uint64_t k) const;
  void edit_rela(uint32_t sec, uint64_t k, const std::function<void(elf::Rela&)>& f);
  void edit_rel(uint32_t sec, uint64_t k, const std::function<void(elf::Rel&)>& f);

  // Appends bytes at the end of the file; returns their offset.
  uint64_t append(const std::vector<uint8_t>& data, uint64_t align = 1);

  uint32_t symtab = 0, strtab = 0, shstrtab = 0, symtab_shndx = 0;
};

class ElfBuilder {
 public:
  explicit ElfBuilder(uint16_t machine = elf::EM_X86_64) : machine_(machine) {}

  // Adds a section and returns its index. For SHT_NOBITS, data is ignored and
  // `nobits_size` is the size.
  uint32_t add_section(const std::string& name, uint32_t type, uint64_t flags,
                       std::vector<uint8_t> data = {}, uint64_t align = 1, uint32_t link = 0,
                       uint32_t info = 0, uint64_t entsize = 0);
  uint32_t add_nobits(const std::string& name, uint64_t flags, uint64_t size, uint64_t align = 1);

  // Conveniences for the usual kinds.
  uint32_t add_text(const std::string& name = ".text", size_t size = 16);  // AX, NOPs
  uint32_t add_data(const std::string& name = ".data", size_t size = 16);  // WA, zeros

  // Adds a symbol; returns its index (the null symbol is 0). shndx may be a
  // section index (>= 0xff00 goes through SHT_SYMTAB_SHNDX), SHN_ABS,
  // SHN_COMMON or SHN_UNDEF.
  uint32_t add_symbol(const std::string& name, uint32_t shndx, uint64_t value = 0,
                      uint64_t size = 0, uint8_t bind = elf::STB_GLOBAL,
                      uint8_t type = elf::STT_NOTYPE, uint8_t other = 0);

  // A relocation section patching `target`: ".rela<target name>" (or ".rel...")
  // linked to the symbol table. Returns its index.
  uint32_t add_rela_section(uint32_t target);
  uint32_t add_rel_section(uint32_t target);
  void add_rela(uint32_t rela_section, uint64_t offset, uint32_t type, uint32_t sym,
                int64_t addend = 0);
  void add_rel(uint32_t rel_section, uint64_t offset, uint32_t type, uint32_t sym);

  // An SHT_GROUP section with signature symbol `signature`; members get
  // SHF_GROUP. Returns its index (add the group before its members' symbols
  // need it, as compilers do; members may be added later with add_member).
  uint32_t add_group(uint32_t signature, uint32_t flags, std::vector<uint32_t> members = {});
  void add_member(uint32_t group, uint32_t member);

  void extended_numbering(bool on) { force_extended_ = on; }
  // Emits .symtab_shndx even when no symbol needs it (entries 0), so a test
  // can point one symbol at it with edit_sym() and patch().
  void symtab_shndx(bool on) { force_shndx_ = on; }

  // Section data access before build (e.g. to write bytes at a relocation site).
  std::vector<uint8_t>& data(uint32_t section) { return sections_[section].data; }
  uint32_t section_count() const { return static_cast<uint32_t>(sections_.size()); }

  // Indices the builder's own sections will get.
  bool needs_shndx() const;
  uint32_t symtab_index() const { return section_count() + (needs_shndx() ? 1 : 0); }
  uint32_t strtab_index() const { return symtab_index() + 1; }
  uint32_t shstrtab_index() const { return symtab_index() + 2; }

  Image build() const;

 private:
  struct SectionSpec {
    std::string name;
    uint32_t type = 0;
    uint64_t flags = 0;
    std::vector<uint8_t> data;
    uint64_t nobits_size = 0;
    uint64_t align = 1;
    uint32_t link = 0;
    uint32_t info = 0;
    uint64_t entsize = 0;
    bool link_symtab = false;  // sh_link filled in at build time
    bool group = false;
    uint32_t group_flags = 0;
    std::vector<uint32_t> members;
    std::vector<elf::Rela> relocs;  // for REL/RELA sections
  };
  struct SymbolSpec {
    std::string name;
    uint32_t shndx;
    uint64_t value, size;
    uint8_t bind, type, other;
  };

  uint32_t add_reloc_section(uint32_t target, bool rela);

  uint16_t machine_;
  bool force_extended_ = false;
  bool force_shndx_ = false;
  std::vector<SectionSpec> sections_{SectionSpec{}};  // [0] is the null section
  std::vector<SymbolSpec> symbols_;
};

}  // namespace mk::test
