// Backtraces of the calling thread that name module frames: each frame is
// "symbol+0xoff [module]" through the address map for module code (as Linux
// prints module frames), and through dladdr for the host program and its
// libraries ("symbol+0xoff [libc.so.6]").
//
// The stack is walked with the unwinder (_Unwind_Backtrace), which knows
// module code through the .eh_frame sections the linker registers, so
// frames without frame pointers are found too. Not for signal handlers: it
// allocates.
#pragma once

#include <stdint.h>
#include <stdio.h>

#include <string>
#include <vector>

#include "symtab/address_map.h"

namespace mk::hosted {

// One address as a backtrace line names it; `map` may be nullptr (host
// addresses only).
std::string describe_address(const symtab::AddressMap* map, uintptr_t address);

// The return addresses of the calling thread's frames, innermost first,
// without the first `skip` frames (the walker's own frame is never listed).
std::vector<uintptr_t> backtrace_addresses(int skip = 0);

// Described frames, innermost first: "#0 0x... symbol+0xoff [module]".
std::vector<std::string> backtrace_lines(const symtab::AddressMap* map, int skip = 0);

// Writes backtrace_lines() to `out`, one per line.
void print_backtrace(const symtab::AddressMap* map, FILE* out);

}  // namespace mk::hosted
