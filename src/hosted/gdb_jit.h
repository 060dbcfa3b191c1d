// GDB JIT interface: tells a debugger about each loaded file, so `break
// module_fn`, `bt` and `list` work in module code with no manual steps
// (architecture.md, "Symbols and debugging").
//
// The protocol (gdb manual, "JIT Compilation Interface"): the process keeps a
// descriptor `__jit_debug_descriptor` with a doubly linked list of in-memory
// ELF objects and calls `__jit_debug_register_code` after each change, with
// the descriptor saying which entry was added or removed. gdb sets a
// breakpoint on that function, reads the object out of the process and loads
// it as a symbol file. A debugger that attaches later walks the list.
//
// The object describes one linked file (build_debug_object), in ONE
// allocation with its list entry, and holds only what gdb needs for symbols,
// breakpoints, `bt` and `list`:
// - ET_REL; each run of loaded sections of one class (text, init text,
//   read-only, data) that a symbol lies in is one SHT_NOBITS section
//   (.text, .init.text, .rodata, .data) over the run's final addresses: gdb
//   reads code and data from the process. Each .eh_frame is its own section
//   with the final bytes (copied from memory, so gdb unwinds through
//   optimised module code), and splits the run it lies in;
// - .symtab with every symbol of the file (locals too), relative to the
//   section that holds it, as an ET_REL wants; .strtab names both symbols
//   and sections (it is also the .shstrtab);
// - the objects' own .debug_* sections when they have them, concatenated by
//   name across the file's objects, with their relocations APPLIED for the
//   final addresses (against a loaded section: its final address; against
//   another debug section: the offset inside the concatenation; against
//   discarded code: 0, or 1 in .debug_ranges/.debug_loc, the tombstones GNU
//   ld writes) and no relocation sections left for gdb to apply again; then
//   every run with bytes is described, symbols in it or not.
// Debug info that cannot be carried (compressed sections, a relocation kind
// that needs a GOT, an overflow) is left out; symbols still are registered.
// A file without debug info costs that one allocation and no other.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "elf/validated_object.h"
#include "link/linker_file.h"

namespace mk::hosted {

// One object for the debugger: the list entry and its image.
struct GdbJitEntry;

// Builds the debug object of `file`, linked from `objects` (the inputs the
// linker was given; only read during the call). The file's tables are the
// linker's: every symbol's name is the file's own copy (LinkerFile::add_name,
// before names_end()), which the image takes in one piece. nullptr when out
// of memory
// (or for a file of more than 65,279 sections' worth of ranges, which an
// ELF header without extended numbering cannot count).
GdbJitEntry* build_debug_object(const link::LinkerFile& file,
                                const elf::ValidatedObject* const* objects, size_t count);

// Adds the entry to the list a debugger reads (now, or when it attaches).
void gdb_jit_register(GdbJitEntry* entry);
// Unregisters and frees the entry (nullptr: nothing).
void gdb_jit_unregister(GdbJitEntry* entry);
// How many objects are registered in this process (for tests).
size_t gdb_jit_count();

}  // namespace mk::hosted
