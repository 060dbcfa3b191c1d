// ElfImageWriter and SymbolTableWriter: build an ELF64 file in memory from
// sections and symbols, for the images modkit writes about itself (the ksyms
// image, the objects registered with a debugger). Not a linker: contents are
// given as bytes, nothing is relocated here.
//
// Contract:
// - Section 0 is added by the writer; add() returns each section's index.
//   Contents are borrowed: they must stay valid until write() returns.
// - More than SHN_LORESERVE sections use the gABI's extended numbering
//   (e_shnum 0 and section 0's sh_size; e_shstrndx SHN_XINDEX and section 0's
//   sh_link); symbols in such sections get SHN_XINDEX and a SHT_SYMTAB_SHNDX
//   section. readelf, nm and gdb read both forms.
// - Symbols are listed locals first (the gABI's rule), each group in the
//   order it was added; sh_info of .symtab is the first non-local.
// - Every failure is kNoMemory or kRange (an image too large for its fields);
//   nothing is written to `out` unless write() succeeds.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "elf/elf.h"
#include "support/result.h"
#include "support/vector.h"

namespace mk::symtab {

// A string table under construction (.strtab, .shstrtab): offset 0 is "".
class StringTableWriter {
 public:
  explicit StringTableWriter(Allocator& a);

  // Appends prefix followed by name (and a NUL); returns its offset.
  [[nodiscard]] Result<uint32_t> add(const char* name, const char* prefix = "");

  const uint8_t* data() const { return reinterpret_cast<const uint8_t*>(bytes_.begin()); }
  size_t size() const { return bytes_.size(); }

  [[nodiscard]] bool grow(size_t n);  // capacity for n bytes in all

  Vec<char> bytes_;
  size_t cap_ = 0;
};

struct ImageSection {
  const char* name = "";
  const char* prefix = "";  // written before the name ("echo.ko:" + ".text")
  uint32_t type = elf::SHT_PROGBITS;
  uint64_t flags = 0;
  uint64_t addr = 0;
  const uint8_t* data = nullptr;  // size bytes; nullptr for SHT_NOBITS
  uint64_t size = 0;
  uint32_t link = 0;
  uint32_t info = 0;
  uint64_t align = 1;
  uint64_t entsize = 0;
};

// A program header (for a file a loader maps or copies: `modkit link`).
// Contents are borrowed like a section's: filesz bytes at data, the memory
// image of [vaddr, vaddr + filesz); the rest up to memsz is zero.
struct ImageSegment {
  uint32_t type = elf::PT_LOAD;
  uint32_t flags = 0;  // PF_R | PF_W | PF_X
  uint64_t vaddr = 0;  // also p_paddr
  const uint8_t* data = nullptr;
  uint64_t filesz = 0;
  uint64_t memsz = 0;
  uint64_t align = 1;  // a power of two; the file offset is congruent to vaddr modulo it
};

class ElfImageWriter {
 public:
  explicit ElfImageWriter(Allocator& a);

  // Adds a section; returns its index.
  [[nodiscard]] Result<uint32_t> add(const ImageSection& s);
  // Adds a program header. With segments, write() puts the program headers
  // right after the ELF header and each segment's bytes at an offset
  // congruent to its vaddr (modulo its align); an allocated section whose
  // addresses lie in a segment is not written separately: its sh_offset
  // points into the segment's bytes (which must hold its contents: kRange
  // when a non-NOBITS section reaches past filesz). Without segments the
  // file is as before (no program headers).
  [[nodiscard]] Result<void> add_segment(const ImageSegment& s);
  // The index the next add() returns.
  uint32_t next_index() const { return static_cast<uint32_t>(sections_.size()); }

  // Lays out and writes the whole file into *out (replacing its contents):
  // header, contents in order, .shstrtab, section headers.
  [[nodiscard]] Result<void> write(uint16_t type, uint16_t machine, Vec<uint8_t>* out);

 private:
  struct Entry {
    elf::Shdr hdr;
    const uint8_t* data;
  };
  Allocator& alloc_;
  StringTableWriter names_;
  Vec<Entry> sections_;
  Vec<ImageSegment> segments_;
};

// Where a symbol is defined, for SymbolTableWriter::add.
inline constexpr uint32_t kAbsolute = UINT32_MAX;  // SHN_ABS: value is an address

class SymbolTableWriter {
 public:
  explicit SymbolTableWriter(Allocator& a);

  // Adds a symbol defined in section `section` of the image (or kAbsolute).
  [[nodiscard]] Result<void> add(const char* name, uint64_t value, uint64_t size, uint8_t type,
                                 uint8_t bind, uint8_t visibility, uint32_t section);

  // Adds .strtab, .symtab and (when needed) .symtab_shndx to the image. The
  // tables built here are what those sections point to: keep this object
  // alive until the image is written.
  [[nodiscard]] Result<void> emit(ElfImageWriter& image);

  size_t count() const { return pending_.size(); }

  // Room for n symbols whose names take name_bytes (NULs included), so that
  // adding them allocates nothing more. Only a hint: false when out of memory.
  [[nodiscard]] bool reserve(size_t n, size_t name_bytes);

 private:
  struct Pending {
    uint32_t name;
    uint8_t info;
    uint8_t other;
    uint32_t section;
    uint64_t value;
    uint64_t size;
  };
  StringTableWriter names_;
  Vec<Pending> pending_;  // in the order added; emit() lists the locals first
  size_t locals_ = 0;
  Vec<elf::Sym> table_;
  Vec<uint32_t> shndx_;
};

}  // namespace mk::symtab
