// The ksyms image (architecture.md, "Symbols and debugging"): an ELF file
// that lists every symbol of the kernel image and of every loaded file at its
// current address, for nm, readelf and gdb, and later the `ksyms` device.
//
// Shape, chosen so those tools read it without a warning:
// - ET_EXEC: symbol values are addresses (readelf and nm print them as they
//   are; in an ET_REL they would be section offsets).
// - One SHT_NOBITS section per section of each loaded file, named
//   "<file>:<section>" ("echo.ko:.text"), with SHF_ALLOC (+EXECINSTR/WRITE)
//   and sh_addr at its final address. No bytes: the image describes memory,
//   it does not copy it.
// - .symtab/.strtab: the kernel's exports as absolute symbols (the KPI and
//   what static modules export), then for each file an STT_FILE symbol and
//   every symbol it defines, locals included, in its section. Init-only
//   sections released after init are left out with their symbols, as Linux
//   drops a module's init symbols: their memory may be reused.
//
// The image is built on demand, so it is current after every load and
// unload. Files still loading are not listed (their symbols are not final).
#pragma once

#include <stdint.h>

#include "module/registry.h"
#include "support/result.h"
#include "support/vector.h"
#include "symtab/export_index.h"

namespace mk::symtab {

// Writes the image into *out (replacing its contents). `machine` is the
// e_machine of the loaded files (the host's). Must not run concurrently with
// a load or unload changing `exports` (the registry's list itself is read
// under its lock).
[[nodiscard]] Result<void> write_ksyms(module::Registry& registry, const ExportIndex& exports,
                                       uint16_t machine, Allocator& alloc, Vec<uint8_t>* out);

}  // namespace mk::symtab
