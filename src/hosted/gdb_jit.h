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
// The object describes one linked file (build_debug_object):
// - ET_REL, each loaded section with sh_addr at its final address; code and
//   data are SHT_NOBITS (gdb reads them from the process), .eh_frame carries
//   the final bytes (copied from memory, so gdb unwinds through optimised
//   module code);
// - .symtab with every symbol of the file (locals too), section-relative as
//   an ET_REL wants;
// - the objects' own .debug_* sections when they have them, concatenated by
//   name across the file's objects, with their relocations APPLIED for the
//   final addresses (against a loaded section: its final address; against
//   another debug section: the offset inside the concatenation; against
//   discarded code: 0, or 1 in .debug_ranges/.debug_loc, the tombstones GNU
//   ld writes) and no relocation sections left for gdb to apply again.
// Debug info that cannot be carried (compressed sections, a relocation kind
// that needs a GOT, an overflow) is left out; symbols still are registered.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "elf/validated_object.h"
#include "link/linker_file.h"
#include "support/result.h"
#include "support/vector.h"

namespace mk::hosted {

// Builds the debug object of `file`, linked from `objects` (the inputs the
// linker was given; only read during the call).
[[nodiscard]] Result<void> build_debug_object(const link::LinkerFile& file,
                                              const elf::ValidatedObject* const* objects,
                                              size_t count, Allocator& alloc, Vec<uint8_t>* out);

// One object registered with the debugger.
struct GdbJitEntry;

// Takes ownership of `image` and registers it; nullptr when out of memory.
GdbJitEntry* gdb_jit_register(Vec<uint8_t>&& image);
// Unregisters and frees the entry (nullptr: nothing).
void gdb_jit_unregister(GdbJitEntry* entry);
// How many objects are registered in this process (for tests).
size_t gdb_jit_count();

}  // namespace mk::hosted
