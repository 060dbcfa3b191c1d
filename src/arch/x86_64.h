// x86_64 relocation type numbers (System V x86-64 psABI, plus the APX
// CODE_<n>_* additions). The kinds themselves, with their formulas and range
// rules, are the table in x86_64.cc, reached through kX86_64 (machine.h).
//
// An internal header of the arch layer (and its tests). The names are the
// psABI's, which the C library's <elf.h> defines as macros: a file includes
// one or the other, never both.
#pragma once

#include <stdint.h>

namespace mk::arch::x86_64 {

inline constexpr uint32_t R_X86_64_NONE = 0;
inline constexpr uint32_t R_X86_64_64 = 1;
inline constexpr uint32_t R_X86_64_PC32 = 2;
inline constexpr uint32_t R_X86_64_GOT32 = 3;
inline constexpr uint32_t R_X86_64_PLT32 = 4;
inline constexpr uint32_t R_X86_64_COPY = 5;       // dynamic only: unknown here
inline constexpr uint32_t R_X86_64_GLOB_DAT = 6;   // dynamic only
inline constexpr uint32_t R_X86_64_JUMP_SLOT = 7;  // dynamic only
inline constexpr uint32_t R_X86_64_RELATIVE = 8;   // dynamic only
inline constexpr uint32_t R_X86_64_GOTPCREL = 9;
inline constexpr uint32_t R_X86_64_32 = 10;
inline constexpr uint32_t R_X86_64_32S = 11;
inline constexpr uint32_t R_X86_64_16 = 12;
inline constexpr uint32_t R_X86_64_PC16 = 13;
inline constexpr uint32_t R_X86_64_8 = 14;
inline constexpr uint32_t R_X86_64_PC8 = 15;
inline constexpr uint32_t R_X86_64_DTPMOD64 = 16;
inline constexpr uint32_t R_X86_64_DTPOFF64 = 17;
inline constexpr uint32_t R_X86_64_TPOFF64 = 18;
inline constexpr uint32_t R_X86_64_TLSGD = 19;
inline constexpr uint32_t R_X86_64_TLSLD = 20;
inline constexpr uint32_t R_X86_64_DTPOFF32 = 21;
inline constexpr uint32_t R_X86_64_GOTTPOFF = 22;
inline constexpr uint32_t R_X86_64_TPOFF32 = 23;
inline constexpr uint32_t R_X86_64_PC64 = 24;
inline constexpr uint32_t R_X86_64_GOTOFF64 = 25;
inline constexpr uint32_t R_X86_64_GOTPC32 = 26;
inline constexpr uint32_t R_X86_64_GOT64 = 27;
inline constexpr uint32_t R_X86_64_GOTPCREL64 = 28;
inline constexpr uint32_t R_X86_64_GOTPC64 = 29;
inline constexpr uint32_t R_X86_64_GOTPLT64 = 30;
inline constexpr uint32_t R_X86_64_PLTOFF64 = 31;
inline constexpr uint32_t R_X86_64_SIZE32 = 32;
inline constexpr uint32_t R_X86_64_SIZE64 = 33;
inline constexpr uint32_t R_X86_64_GOTPC32_TLSDESC = 34;
inline constexpr uint32_t R_X86_64_TLSDESC_CALL = 35;
inline constexpr uint32_t R_X86_64_TLSDESC = 36;
inline constexpr uint32_t R_X86_64_IRELATIVE = 37;   // dynamic only
inline constexpr uint32_t R_X86_64_RELATIVE64 = 38;  // dynamic only
// 39 and 40 were R_X86_64_PC32_BND / PLT32_BND (MPX), withdrawn.
inline constexpr uint32_t R_X86_64_GOTPCRELX = 41;
inline constexpr uint32_t R_X86_64_REX_GOTPCRELX = 42;
inline constexpr uint32_t R_X86_64_CODE_4_GOTPCRELX = 43;
inline constexpr uint32_t R_X86_64_CODE_4_GOTTPOFF = 44;
inline constexpr uint32_t R_X86_64_CODE_4_GOTPC32_TLSDESC = 45;
inline constexpr uint32_t R_X86_64_CODE_5_GOTPCRELX = 46;
inline constexpr uint32_t R_X86_64_CODE_5_GOTTPOFF = 47;
inline constexpr uint32_t R_X86_64_CODE_5_GOTPC32_TLSDESC = 48;
inline constexpr uint32_t R_X86_64_CODE_6_GOTPCRELX = 49;
inline constexpr uint32_t R_X86_64_CODE_6_GOTTPOFF = 50;
inline constexpr uint32_t R_X86_64_CODE_6_GOTPC32_TLSDESC = 51;

// The branch stub write_stub() emits: `jmp *0(%rip); .quad target`, padded
// with int3 to kStubSize.
inline constexpr uint32_t kStubSize = 16;
inline constexpr uint32_t kStubAlign = 16;

// branch_reaches() keeps this margin from the edges of the rel32 range, so a
// branch it calls reachable still fits with any addend |A| <= kBranchSlack
// (compilers emit A = -4).
inline constexpr int64_t kBranchSlack = 4096;

}  // namespace mk::arch::x86_64
