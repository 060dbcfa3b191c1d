// ELF64 structures and constants, as the System V gABI defines them. Only the
// subset a relocatable-object linker needs. These are plain layouts: input is
// never cast to them, it is copied into them through ByteView.
#pragma once

#include <stdint.h>

namespace mk::elf {

struct Ehdr {
  uint8_t ident[16];
  uint16_t type;
  uint16_t machine;
  uint32_t version;
  uint64_t entry;
  uint64_t phoff;
  uint64_t shoff;
  uint32_t flags;
  uint16_t ehsize;
  uint16_t phentsize;
  uint16_t phnum;
  uint16_t shentsize;
  uint16_t shnum;
  uint16_t shstrndx;
};
static_assert(sizeof(Ehdr) == 64);

struct Shdr {
  uint32_t name;
  uint32_t type;
  uint64_t flags;
  uint64_t addr;
  uint64_t offset;
  uint64_t size;
  uint32_t link;
  uint32_t info;
  uint64_t addralign;
  uint64_t entsize;
};
static_assert(sizeof(Shdr) == 64);

struct Sym {
  uint32_t name;
  uint8_t info;
  uint8_t other;
  uint16_t shndx;
  uint64_t value;
  uint64_t size;
};
static_assert(sizeof(Sym) == 24);

struct Rel {
  uint64_t offset;
  uint64_t info;
};
static_assert(sizeof(Rel) == 16);

struct Rela {
  uint64_t offset;
  uint64_t info;
  int64_t addend;
};
static_assert(sizeof(Rela) == 24);

struct Phdr {
  uint32_t type;
  uint32_t flags;
  uint64_t offset;
  uint64_t vaddr;
  uint64_t paddr;
  uint64_t filesz;
  uint64_t memsz;
  uint64_t align;
};
static_assert(sizeof(Phdr) == 56);

inline constexpr uint32_t rel_sym(uint64_t info) { return static_cast<uint32_t>(info >> 32); }
inline constexpr uint32_t rel_type(uint64_t info) { return static_cast<uint32_t>(info); }
inline constexpr uint64_t rel_info(uint32_t sym, uint32_t type) {
  return (uint64_t{sym} << 32) | type;
}
inline constexpr uint8_t st_bind(uint8_t info) { return info >> 4; }
inline constexpr uint8_t st_type(uint8_t info) { return info & 0xf; }
inline constexpr uint8_t st_info(uint8_t bind, uint8_t type) {
  return static_cast<uint8_t>((bind << 4) | (type & 0xf));
}
inline constexpr uint8_t st_visibility(uint8_t other) { return other & 3; }

// e_ident
inline constexpr int EI_CLASS = 4, EI_DATA = 5, EI_VERSION = 6, EI_OSABI = 7;
inline constexpr uint8_t ELFCLASS64 = 2, ELFDATA2LSB = 1, EV_CURRENT = 1;
// e_type
inline constexpr uint16_t ET_REL = 1, ET_EXEC = 2, ET_DYN = 3;
// e_machine
inline constexpr uint16_t EM_X86_64 = 62, EM_AARCH64 = 183, EM_RISCV = 243;

// Special section indices
inline constexpr uint16_t SHN_UNDEF = 0, SHN_LORESERVE = 0xff00, SHN_ABS = 0xfff1,
                          SHN_COMMON = 0xfff2, SHN_XINDEX = 0xffff;

// sh_type
inline constexpr uint32_t SHT_NULL = 0, SHT_PROGBITS = 1, SHT_SYMTAB = 2, SHT_STRTAB = 3,
                          SHT_RELA = 4, SHT_HASH = 5, SHT_DYNAMIC = 6, SHT_NOTE = 7,
                          SHT_NOBITS = 8, SHT_REL = 9, SHT_DYNSYM = 11, SHT_INIT_ARRAY = 14,
                          SHT_FINI_ARRAY = 15, SHT_PREINIT_ARRAY = 16, SHT_GROUP = 17,
                          SHT_SYMTAB_SHNDX = 18, SHT_X86_64_UNWIND = 0x70000001,
                          SHT_RISCV_ATTRIBUTES = 0x70000003, SHT_AARCH64_ATTRIBUTES = 0x70000003,
                          SHT_GNU_ATTRIBUTES = 0x6ffffff5, SHT_LLVM_ADDRSIG = 0x6fff4c03;
// sh_flags
inline constexpr uint64_t SHF_WRITE = 0x1, SHF_ALLOC = 0x2, SHF_EXECINSTR = 0x4, SHF_MERGE = 0x10,
                          SHF_STRINGS = 0x20, SHF_INFO_LINK = 0x40, SHF_LINK_ORDER = 0x80,
                          SHF_GROUP = 0x200, SHF_TLS = 0x400, SHF_COMPRESSED = 0x800,
                          SHF_GNU_RETAIN = 0x200000, SHF_EXCLUDE = 0x80000000;
inline constexpr uint32_t GRP_COMDAT = 1;

// Symbol binding, type, visibility
inline constexpr uint8_t STB_LOCAL = 0, STB_GLOBAL = 1, STB_WEAK = 2, STB_GNU_UNIQUE = 10;
inline constexpr uint8_t STT_NOTYPE = 0, STT_OBJECT = 1, STT_FUNC = 2, STT_SECTION = 3,
                         STT_FILE = 4, STT_COMMON = 5, STT_TLS = 6, STT_GNU_IFUNC = 10;
inline constexpr uint8_t STV_DEFAULT = 0, STV_INTERNAL = 1, STV_HIDDEN = 2, STV_PROTECTED = 3;

// Program headers (for images modkit writes: ksyms, linked output)
inline constexpr uint32_t PT_LOAD = 1;
inline constexpr uint32_t PF_X = 1, PF_W = 2, PF_R = 4;

}  // namespace mk::elf
