// MachineRules: what the validator must know about a machine's relocations to
// check them, supplied by the arch layer (which sits above elf) as data.
//
// Contract: shape(type) returns nullptr for a type the machine does not know
// (the validator rejects it, never skips it). `width` is the number of bytes
// the relocation reads and writes at r_offset (0 for NONE and pure hints);
// the validator checks r_offset + width against the target section.
// implicit_addend() reads a REL-style addend from `width` bytes at `at`.
#pragma once

#include <stdint.h>

namespace mk::elf {

struct RelocShape {
  const char* name;  // "R_X86_64_PC32"
  uint8_t width;     // bytes touched at r_offset
  bool tls;          // thread-local: refused with a clear error
  // Known but refused for another reason, which the validator's error
  // gives after the kind's name (R_RISCV_ALIGN: "... build with
  // -mno-relax"); nullptr for a kind that is accepted.
  const char* refused = nullptr;
};

struct MachineRules {
  uint16_t machine;  // e_machine
  const char* name;  // "x86_64"
  const RelocShape* (*shape)(uint32_t type);
  int64_t (*implicit_addend)(uint32_t type, const uint8_t* at);
};

// Maps e_machine to its rules; nullptr when the machine is not supported.
using MachineLookup = const MachineRules* (*)(uint16_t machine);

}  // namespace mk::elf
