// aarch64 relocation type numbers (ELF for the Arm 64-bit Architecture,
// AAELF64). The kinds themselves, with their formulas and range rules, are
// the table in aarch64.cc, reached through kAArch64 (machine.h).
//
// An internal header of the arch layer (and its tests). The names are the
// ABI's, which the C library's <elf.h> defines as macros: a file includes
// one or the other, never both.
#pragma once

#include <stdint.h>

namespace mk::arch::aarch64 {

inline constexpr uint32_t R_AARCH64_NONE = 0;
inline constexpr uint32_t R_AARCH64_ABS64 = 257;
inline constexpr uint32_t R_AARCH64_ABS32 = 258;
inline constexpr uint32_t R_AARCH64_ABS16 = 259;
inline constexpr uint32_t R_AARCH64_PREL64 = 260;
inline constexpr uint32_t R_AARCH64_PREL32 = 261;
inline constexpr uint32_t R_AARCH64_PREL16 = 262;
inline constexpr uint32_t R_AARCH64_MOVW_UABS_G0 = 263;
inline constexpr uint32_t R_AARCH64_MOVW_UABS_G0_NC = 264;
inline constexpr uint32_t R_AARCH64_MOVW_UABS_G1 = 265;
inline constexpr uint32_t R_AARCH64_MOVW_UABS_G1_NC = 266;
inline constexpr uint32_t R_AARCH64_MOVW_UABS_G2 = 267;
inline constexpr uint32_t R_AARCH64_MOVW_UABS_G2_NC = 268;
inline constexpr uint32_t R_AARCH64_MOVW_UABS_G3 = 269;
inline constexpr uint32_t R_AARCH64_MOVW_SABS_G0 = 270;
inline constexpr uint32_t R_AARCH64_MOVW_SABS_G1 = 271;
inline constexpr uint32_t R_AARCH64_MOVW_SABS_G2 = 272;
inline constexpr uint32_t R_AARCH64_LD_PREL_LO19 = 273;
inline constexpr uint32_t R_AARCH64_ADR_PREL_LO21 = 274;
inline constexpr uint32_t R_AARCH64_ADR_PREL_PG_HI21 = 275;
inline constexpr uint32_t R_AARCH64_ADR_PREL_PG_HI21_NC = 276;
inline constexpr uint32_t R_AARCH64_ADD_ABS_LO12_NC = 277;
inline constexpr uint32_t R_AARCH64_LDST8_ABS_LO12_NC = 278;
inline constexpr uint32_t R_AARCH64_TSTBR14 = 279;
inline constexpr uint32_t R_AARCH64_CONDBR19 = 280;
inline constexpr uint32_t R_AARCH64_JUMP26 = 282;
inline constexpr uint32_t R_AARCH64_CALL26 = 283;
inline constexpr uint32_t R_AARCH64_LDST16_ABS_LO12_NC = 284;
inline constexpr uint32_t R_AARCH64_LDST32_ABS_LO12_NC = 285;
inline constexpr uint32_t R_AARCH64_LDST64_ABS_LO12_NC = 286;
inline constexpr uint32_t R_AARCH64_MOVW_PREL_G0 = 287;
inline constexpr uint32_t R_AARCH64_MOVW_PREL_G0_NC = 288;
inline constexpr uint32_t R_AARCH64_MOVW_PREL_G1 = 289;
inline constexpr uint32_t R_AARCH64_MOVW_PREL_G1_NC = 290;
inline constexpr uint32_t R_AARCH64_MOVW_PREL_G2 = 291;
inline constexpr uint32_t R_AARCH64_MOVW_PREL_G2_NC = 292;
inline constexpr uint32_t R_AARCH64_MOVW_PREL_G3 = 293;
inline constexpr uint32_t R_AARCH64_LDST128_ABS_LO12_NC = 299;
inline constexpr uint32_t R_AARCH64_MOVW_GOTOFF_G0 = 300;
inline constexpr uint32_t R_AARCH64_MOVW_GOTOFF_G0_NC = 301;
inline constexpr uint32_t R_AARCH64_MOVW_GOTOFF_G1 = 302;
inline constexpr uint32_t R_AARCH64_MOVW_GOTOFF_G1_NC = 303;
inline constexpr uint32_t R_AARCH64_MOVW_GOTOFF_G2 = 304;
inline constexpr uint32_t R_AARCH64_MOVW_GOTOFF_G2_NC = 305;
inline constexpr uint32_t R_AARCH64_MOVW_GOTOFF_G3 = 306;
inline constexpr uint32_t R_AARCH64_GOTREL64 = 307;
inline constexpr uint32_t R_AARCH64_GOTREL32 = 308;
inline constexpr uint32_t R_AARCH64_GOT_LD_PREL19 = 309;
inline constexpr uint32_t R_AARCH64_LD64_GOTOFF_LO15 = 310;
inline constexpr uint32_t R_AARCH64_ADR_GOT_PAGE = 311;
inline constexpr uint32_t R_AARCH64_LD64_GOT_LO12_NC = 312;
inline constexpr uint32_t R_AARCH64_LD64_GOTPAGE_LO15 = 313;
inline constexpr uint32_t R_AARCH64_TLSGD_ADR_PREL21 = 512;
inline constexpr uint32_t R_AARCH64_TLSGD_ADR_PAGE21 = 513;
inline constexpr uint32_t R_AARCH64_TLSGD_ADD_LO12_NC = 514;
inline constexpr uint32_t R_AARCH64_TLSGD_MOVW_G1 = 515;
inline constexpr uint32_t R_AARCH64_TLSGD_MOVW_G0_NC = 516;
inline constexpr uint32_t R_AARCH64_TLSLD_ADR_PREL21 = 517;
inline constexpr uint32_t R_AARCH64_TLSLD_ADR_PAGE21 = 518;
inline constexpr uint32_t R_AARCH64_TLSLD_ADD_LO12_NC = 519;
inline constexpr uint32_t R_AARCH64_TLSLD_MOVW_G1 = 520;
inline constexpr uint32_t R_AARCH64_TLSLD_MOVW_G0_NC = 521;
inline constexpr uint32_t R_AARCH64_TLSLD_LD_PREL19 = 522;
inline constexpr uint32_t R_AARCH64_TLSLD_MOVW_DTPREL_G2 = 523;
inline constexpr uint32_t R_AARCH64_TLSLD_MOVW_DTPREL_G1 = 524;
inline constexpr uint32_t R_AARCH64_TLSLD_MOVW_DTPREL_G1_NC = 525;
inline constexpr uint32_t R_AARCH64_TLSLD_MOVW_DTPREL_G0 = 526;
inline constexpr uint32_t R_AARCH64_TLSLD_MOVW_DTPREL_G0_NC = 527;
inline constexpr uint32_t R_AARCH64_TLSLD_ADD_DTPREL_HI12 = 528;
inline constexpr uint32_t R_AARCH64_TLSLD_ADD_DTPREL_LO12 = 529;
inline constexpr uint32_t R_AARCH64_TLSLD_ADD_DTPREL_LO12_NC = 530;
inline constexpr uint32_t R_AARCH64_TLSLD_LDST8_DTPREL_LO12 = 531;
inline constexpr uint32_t R_AARCH64_TLSLD_LDST8_DTPREL_LO12_NC = 532;
inline constexpr uint32_t R_AARCH64_TLSLD_LDST16_DTPREL_LO12 = 533;
inline constexpr uint32_t R_AARCH64_TLSLD_LDST16_DTPREL_LO12_NC = 534;
inline constexpr uint32_t R_AARCH64_TLSLD_LDST32_DTPREL_LO12 = 535;
inline constexpr uint32_t R_AARCH64_TLSLD_LDST32_DTPREL_LO12_NC = 536;
inline constexpr uint32_t R_AARCH64_TLSLD_LDST64_DTPREL_LO12 = 537;
inline constexpr uint32_t R_AARCH64_TLSLD_LDST64_DTPREL_LO12_NC = 538;
inline constexpr uint32_t R_AARCH64_TLSIE_MOVW_GOTTPREL_G1 = 539;
inline constexpr uint32_t R_AARCH64_TLSIE_MOVW_GOTTPREL_G0_NC = 540;
inline constexpr uint32_t R_AARCH64_TLSIE_ADR_GOTTPREL_PAGE21 = 541;
inline constexpr uint32_t R_AARCH64_TLSIE_LD64_GOTTPREL_LO12_NC = 542;
inline constexpr uint32_t R_AARCH64_TLSIE_LD_GOTTPREL_PREL19 = 543;
inline constexpr uint32_t R_AARCH64_TLSLE_MOVW_TPREL_G2 = 544;
inline constexpr uint32_t R_AARCH64_TLSLE_MOVW_TPREL_G1 = 545;
inline constexpr uint32_t R_AARCH64_TLSLE_MOVW_TPREL_G1_NC = 546;
inline constexpr uint32_t R_AARCH64_TLSLE_MOVW_TPREL_G0 = 547;
inline constexpr uint32_t R_AARCH64_TLSLE_MOVW_TPREL_G0_NC = 548;
inline constexpr uint32_t R_AARCH64_TLSLE_ADD_TPREL_HI12 = 549;
inline constexpr uint32_t R_AARCH64_TLSLE_ADD_TPREL_LO12 = 550;
inline constexpr uint32_t R_AARCH64_TLSLE_ADD_TPREL_LO12_NC = 551;
inline constexpr uint32_t R_AARCH64_TLSLE_LDST8_TPREL_LO12 = 552;
inline constexpr uint32_t R_AARCH64_TLSLE_LDST8_TPREL_LO12_NC = 553;
inline constexpr uint32_t R_AARCH64_TLSLE_LDST16_TPREL_LO12 = 554;
inline constexpr uint32_t R_AARCH64_TLSLE_LDST16_TPREL_LO12_NC = 555;
inline constexpr uint32_t R_AARCH64_TLSLE_LDST32_TPREL_LO12 = 556;
inline constexpr uint32_t R_AARCH64_TLSLE_LDST32_TPREL_LO12_NC = 557;
inline constexpr uint32_t R_AARCH64_TLSLE_LDST64_TPREL_LO12 = 558;
inline constexpr uint32_t R_AARCH64_TLSLE_LDST64_TPREL_LO12_NC = 559;
inline constexpr uint32_t R_AARCH64_TLSDESC_LD_PREL19 = 560;
inline constexpr uint32_t R_AARCH64_TLSDESC_ADR_PREL21 = 561;
inline constexpr uint32_t R_AARCH64_TLSDESC_ADR_PAGE21 = 562;
inline constexpr uint32_t R_AARCH64_TLSDESC_LD64_LO12 = 563;
inline constexpr uint32_t R_AARCH64_TLSDESC_ADD_LO12 = 564;
inline constexpr uint32_t R_AARCH64_TLSDESC_OFF_G1 = 565;
inline constexpr uint32_t R_AARCH64_TLSDESC_OFF_G0_NC = 566;
inline constexpr uint32_t R_AARCH64_TLSDESC_LDR = 567;
inline constexpr uint32_t R_AARCH64_TLSDESC_ADD = 568;
inline constexpr uint32_t R_AARCH64_TLSDESC_CALL = 569;
inline constexpr uint32_t R_AARCH64_TLSLE_LDST128_TPREL_LO12 = 570;
inline constexpr uint32_t R_AARCH64_TLSLE_LDST128_TPREL_LO12_NC = 571;
inline constexpr uint32_t R_AARCH64_TLSLD_LDST128_DTPREL_LO12 = 572;
inline constexpr uint32_t R_AARCH64_TLSLD_LDST128_DTPREL_LO12_NC = 573;
inline constexpr uint32_t R_AARCH64_PLT32 = 314;
inline constexpr uint32_t R_AARCH64_GOTPCREL32 = 315;
// 1024 and up (COPY, GLOB_DAT, JUMP_SLOT, RELATIVE, TLS_*, TLSDESC,
// IRELATIVE) are dynamic relocations: unknown in a relocatable object.

// The branch veneer write_stub() emits (x16 is IP0, the register the ABI
// gives veneers):
//   ldr x16, .+8     58000050
//   br  x16          d61f0200
//   .quad target
inline constexpr uint32_t kStubSize = 16;
inline constexpr uint32_t kStubAlign = 16;

// branch_reaches() keeps this margin from the edges of the +-128 MiB range
// of B/BL, so a branch it calls reachable still fits with any addend
// |A| <= kBranchSlack.
inline constexpr int64_t kBranchSlack = 4096;

}  // namespace mk::arch::aarch64
