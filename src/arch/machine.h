// Machine: one architecture's relocation kinds, as a table the linker drives.
// Every machine is compiled into every build (a tool on x86_64 inspects and
// links an aarch64 module); nothing above this layer assumes a machine.
//
// The link layer computes the values of the psABI formulas (S, A, P, G, GOT,
// Z) and calls apply(); apply() computes the formula of the kind, checks the
// range (and alignment) of the result, and only then stores it. On failure it
// stores nothing and says why, with the value that did not fit; the linker
// adds the section, offset and symbol to the error.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "elf/machine_rules.h"
#include "support/memory.h"

namespace mk::arch {

// What a relocation kind may need the linker to provide besides the target.
enum class Need : uint8_t {
  kNone,
  kGot,     // a GOT slot holding the symbol's address (G)
  kBranch,  // a call/jump that may go through a stub when the target is out of reach
};

// Whether the kind's value depends on where the module lands relative to its
// target, which constrains placement (see link/placement.h).
enum class Reach : uint8_t {
  kAny,      // absolute 64-bit, GOT-relative 64-bit, sizes: any placement works
  kPcRel32,  // S+A-P must fit 32 bits signed: target within +-2 GiB of the module
  kAbs32,    // S+A must fit 32 bits: the symbol must lie in the low 2/4 GiB
  kNarrow,   // 8/16-bit fields: only meaningful for small constants
};

// Kinds that are one instruction of several building one value (aarch64
// ADRP + :lo12:, MOVW groups; riscv HI20 + LO12, AUIPC + %pcrel_lo). All
// parts must use the same S, so a part never goes through a stub on its own:
// a function such a part names gets a canonical stub (its address for the
// whole file), as a PLT entry is in a non-PIC link.
enum class Pair : uint8_t {
  kNone,  // the kind computes its whole value
  kPart,  // one part, paired by symbol (the same S + A in every part)
  kHi,    // riscv PCREL_HI20/GOT_HI20: the linker records its value by P
  kLo,    // riscv PCREL_LO12_I/S: S + A is the address of its kHi partner;
          // the linker passes the partner's value as RelocValues::H
};

// A kind whose whole effect is one of these plain data formulas (no
// instruction to patch, no GOT, no relaxation) may be applied inline by
// apply_simple() below, with exactly the result apply() gives: the linker's
// hot loop then makes no call per entry. kNo: only apply() applies it.
enum class Simple : uint8_t {
  kNo,
  kSA64,    // S + A : word64
  kSAP64,   // S + A - P : word64
  kSA32S,   // S + A : int32
  kSA32U,   // S + A : uint32
  kSAP32S,  // S + A - P : int32
};

struct RelocKind {
  uint32_t type;
  elf::RelocShape shape;  // name, width, tls
  Need need;
  Reach reach;
  Pair pair = Pair::kNone;
  Simple simple = Simple::kNo;
};

// The values of the psABI formulas for one relocation.
struct RelocValues {
  uint64_t S = 0;    // symbol address (or the stub's, for a branch through a stub)
  int64_t A = 0;     // addend
  uint64_t P = 0;    // address of the place being relocated (its final, executing address)
  uint64_t G = 0;    // address of the symbol's GOT slot (0 when it has none)
  uint64_t GOT = 0;  // address of the file's GOT base
  uint64_t Z = 0;    // symbol size
  int64_t H = 0;     // Pair::kLo only: the value its kHi partner computed
};

enum class ApplyStatus : uint8_t {
  kOk,
  kOverflow,    // the value does not fit the field
  kMisaligned,  // the value violates the field's alignment (aarch64, riscv)
  kNoGot,       // a GOT-based kind met a symbol with no slot (a linker bug, reported)
  kBadInsn,     // the instruction at the place is not the one the kind patches
};

struct ApplyResult {
  ApplyStatus status;
  int64_t value;  // the computed value (what overflowed, on failure)
};

struct Machine {
  elf::MachineRules rules;
  const RelocKind* (*kind)(uint32_t type);  // nullptr for an unknown type
  // Writes `value` computed for `type` at `loc` (the writable alias of P).
  // `room_before` is how many bytes of the section precede loc (for
  // relaxations that rewrite the opcode in front of the field).
  ApplyResult (*apply)(uint32_t type, uint8_t* loc, uint64_t room_before, const RelocValues& v);
  // Branch stubs: size of one, and how to write one that jumps to `target`.
  uint32_t stub_size;
  uint32_t stub_align;
  void (*write_stub)(uint8_t* loc, uint64_t stub_addr, uint64_t target);
  // Can a branch of `type` at `P` reach `target` directly?
  bool (*branch_reaches)(uint32_t type, uint64_t P, uint64_t target);
  // The widest a file may spread (all its blocks within this many bytes):
  // its own calls between blocks (init text to text) have no stubs, so this
  // is the reach of the machine's shortest call. x86_64 rel32, riscv64
  // AUIPC+JALR: 2 GiB; aarch64 BL: 128 MiB.
  uint64_t file_span = uint64_t{1} << 31;
};

// Applies a kind whose `simple` is not kNo at `loc` (little-endian fields):
// the same value, range check and store as the machine's apply(), which
// tests/arch checks kind by kind. Returns false, having stored nothing, when
// the value does not fit (the caller then goes through apply()).
inline bool apply_simple(Simple simple, uint8_t* loc, const RelocValues& v) {
#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
  return false;  // the stores below are the host's order: leave it to apply()
#endif
  const uint64_t sa = v.S + static_cast<uint64_t>(v.A);
  uint64_t x = 0;
  uint32_t x32 = 0;
  switch (simple) {
    case Simple::kSA64:
      x = sa;
      mk_memcpy(loc, &x, 8);
      return true;
    case Simple::kSAP64:
      x = sa - v.P;
      mk_memcpy(loc, &x, 8);
      return true;
    case Simple::kSA32S:
      x = sa;
      if (static_cast<int64_t>(x) != static_cast<int32_t>(x)) return false;
      break;
    case Simple::kSA32U:
      x = sa;
      if (x > UINT32_MAX) return false;
      break;
    case Simple::kSAP32S:
      x = sa - v.P;
      if (static_cast<int64_t>(x) != static_cast<int32_t>(x)) return false;
      break;
    case Simple::kNo:
      return false;
  }
  x32 = static_cast<uint32_t>(x);
  mk_memcpy(loc, &x32, 4);
  return true;
}

// All machines compiled into this build.
const Machine* machine_for(uint16_t e_machine);
const elf::MachineRules* rules_for(uint16_t e_machine);  // an elf::MachineLookup

extern const Machine kX86_64;
extern const Machine kAArch64;
extern const Machine kRiscV64;

}  // namespace mk::arch
