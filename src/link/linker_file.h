// LinkerFile: one linked object in memory (architecture.md "file"): its
// blocks in the arena, its sections at their final addresses, every symbol it
// defines (locals too: the address map and ksyms list them), its constructor
// and destructor lists. The module layer adds references and modules on top.
//
// Names are copies owned by the file (the input bytes may be freed once
// linked).
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "link/arena.h"
#include "support/name_table.h"
#include "support/vector.h"

namespace mk::link {

struct FileSection {
  const char* name;
  uint64_t addr;
  uint64_t size;
  uint64_t flags;   // elf::SHF_*
  uint32_t object;  // which input object
  uint32_t index;   // its section index there
  Class cls;
};

struct FileSymbol {
  const char* name;
  uint64_t addr;
  uint64_t size;
  uint8_t type;  // elf::STT_*
  uint8_t bind;  // elf::STB_*
  uint8_t visibility;
  uint32_t section;  // index into LinkerFile::sections, or UINT32_MAX (absolute, COMMON)
};

class LinkerFile {
 public:
  explicit LinkerFile(Allocator& a)
      : sections(a), symbols(a), globals(a), init(a), fini(a), eh_frames(a), strings_(a) {}

  Block blocks[kClassCount];
  Vec<FileSection> sections;
  Vec<FileSymbol> symbols;     // every named symbol, locals included
  NameTable globals;           // name -> index into symbols (global, weak and unique only)
  Vec<uintptr_t> init;         // constructors, in the order they run
  Vec<uintptr_t> fini;         // destructors, in the order they run
  Vec<uintptr_t> eh_frames;    // registered .eh_frame sections
  uintptr_t dso_handle = 0;    // this file's __dso_handle
  bool initialized = false;    // constructors have run
  bool init_released = false;  // init-only text was given back after them

  // A defined global (or weak) symbol of this file, or nullptr.
  // Symbols in init-only text are not answered once that text is released.
  const FileSymbol* find(const char* name) {
    NameTable::Slot* s = globals.find(name);
    if (s == nullptr) return nullptr;
    const FileSymbol& sym = symbols[s->value];
    if (init_released && sym.section != UINT32_MAX && sections[sym.section].cls == Class::kInitText)
      return nullptr;
    return &sym;
  }
  // Bytes of arena memory the file holds.
  size_t memory() const {
    size_t n = 0;
    for (const Block& b : blocks)
      n += b.size;
    return n;
  }

 private:
  friend class Linker;
  friend struct LinkJob;
  Vec<char> strings_;  // copies of the string tables the names point into
};

}  // namespace mk::link
