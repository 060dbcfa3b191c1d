// riscv64 relocation type numbers (RISC-V ELF psABI). The kinds themselves,
// with their formulas and range rules, are the table in riscv64.cc, reached
// through kRiscV64 (machine.h).
//
// An internal header of the arch layer (and its tests). The names are the
// psABI's, which the C library's <elf.h> defines as macros: a file includes
// one or the other, never both.
#pragma once

#include <stdint.h>

namespace mk::arch::riscv64 {

inline constexpr uint32_t R_RISCV_NONE = 0;
inline constexpr uint32_t R_RISCV_32 = 1;
inline constexpr uint32_t R_RISCV_64 = 2;
inline constexpr uint32_t R_RISCV_BRANCH = 16;
inline constexpr uint32_t R_RISCV_JAL = 17;
inline constexpr uint32_t R_RISCV_CALL = 18;
inline constexpr uint32_t R_RISCV_CALL_PLT = 19;
inline constexpr uint32_t R_RISCV_GOT_HI20 = 20;
inline constexpr uint32_t R_RISCV_TLS_GOT_HI20 = 21;
inline constexpr uint32_t R_RISCV_TLS_GD_HI20 = 22;
inline constexpr uint32_t R_RISCV_PCREL_HI20 = 23;
inline constexpr uint32_t R_RISCV_PCREL_LO12_I = 24;
inline constexpr uint32_t R_RISCV_PCREL_LO12_S = 25;
inline constexpr uint32_t R_RISCV_HI20 = 26;
inline constexpr uint32_t R_RISCV_LO12_I = 27;
inline constexpr uint32_t R_RISCV_LO12_S = 28;
inline constexpr uint32_t R_RISCV_TPREL_HI20 = 29;
inline constexpr uint32_t R_RISCV_TPREL_LO12_I = 30;
inline constexpr uint32_t R_RISCV_TPREL_LO12_S = 31;
inline constexpr uint32_t R_RISCV_TPREL_ADD = 32;
inline constexpr uint32_t R_RISCV_ADD8 = 33;
inline constexpr uint32_t R_RISCV_ADD16 = 34;
inline constexpr uint32_t R_RISCV_ADD32 = 35;
inline constexpr uint32_t R_RISCV_ADD64 = 36;
inline constexpr uint32_t R_RISCV_SUB8 = 37;
inline constexpr uint32_t R_RISCV_SUB16 = 38;
inline constexpr uint32_t R_RISCV_SUB32 = 39;
inline constexpr uint32_t R_RISCV_SUB64 = 40;
inline constexpr uint32_t R_RISCV_ALIGN = 43;
inline constexpr uint32_t R_RISCV_RVC_BRANCH = 44;
inline constexpr uint32_t R_RISCV_RVC_JUMP = 45;
inline constexpr uint32_t R_RISCV_RELAX = 51;
inline constexpr uint32_t R_RISCV_SUB6 = 52;
inline constexpr uint32_t R_RISCV_SET6 = 53;
inline constexpr uint32_t R_RISCV_SET8 = 54;
inline constexpr uint32_t R_RISCV_SET16 = 55;
inline constexpr uint32_t R_RISCV_SET32 = 56;
inline constexpr uint32_t R_RISCV_32_PCREL = 57;
inline constexpr uint32_t R_RISCV_PLT32 = 59;
inline constexpr uint32_t R_RISCV_SET_ULEB128 = 60;
inline constexpr uint32_t R_RISCV_SUB_ULEB128 = 61;
inline constexpr uint32_t R_RISCV_TLSDESC_HI20 = 62;
inline constexpr uint32_t R_RISCV_TLSDESC_LOAD_LO12 = 63;
inline constexpr uint32_t R_RISCV_TLSDESC_ADD_LO12 = 64;
inline constexpr uint32_t R_RISCV_TLSDESC_CALL = 65;
// 3..12 (RELATIVE, COPY, JUMP_SLOT, TLS_DTPMOD/DTPREL/TPREL, TLSDESC) and
// IRELATIVE are dynamic relocations; 41, 42 (GNU_VTINHERIT/VTENTRY) and
// 46..50 (RVC_LUI, GPREL_*, TPREL_I/S) were withdrawn: all unknown here.

// The branch stub write_stub() emits (t3 is what the psABI's PLT entries
// clobber too):
//   auipc t3, 0         00000e17
//   ld    t3, 16(t3)    010e3e03
//   jr    t3            000e0067
//   nop                 00000013
//   .quad target
inline constexpr uint32_t kStubSize = 24;
inline constexpr uint32_t kStubAlign = 8;

// branch_reaches() keeps this margin from the edges of a branch's range, so
// a branch it calls reachable still fits with any addend |A| <= kBranchSlack.
inline constexpr int64_t kBranchSlack = 4096;

}  // namespace mk::arch::riscv64
