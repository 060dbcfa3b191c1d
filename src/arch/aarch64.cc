// aarch64: the relocation kinds of AAELF64 (ELF for the Arm 64-bit
// Architecture) as a table.
//
// Each row gives the kind's formula, its range check and the field it
// writes. `S + A - P : int28, align 4 -> imm26` means: the value X is
// computed modulo 2^64 (as the CPU adds addresses), read as a signed 64-bit
// number, must fit 28 bits signed and be a multiple of 4, and bits [27:2] go
// to the instruction's imm26 field. The range rules are:
//   any       no check (the ABI's _NC kinds, 64-bit fields)
//   intN      fits N bits signed
//   uintN     fits N bits unsigned
//   bitN      fits either: -2^(N-1) <= X < 2^N (the ABI's data checks)
// Page(x) is x & ~0xfff. G is the address of the symbol's GOT slot (the
// ABI's G(GDAT(S+A)): our slots hold S, so a GOT kind with A != 0 has no
// slot and fails with kNoGot). A module has no PLT: a call out of reach
// goes through a veneer (write_stub), and then S is the veneer.
//
// Every instruction kind checks first that the instruction at the place is
// of the class it patches (B/BL for CALL26, ADRP for ADR_PREL_PG_HI21...):
// a relocation on the wrong instruction would silently corrupt it.
//
// TLS kinds are in the table so the validator names them when it refuses
// them; apply() never sees them (if it does, it stores nothing: kBadInsn).
#include "arch/aarch64.h"

#include "arch/machine.h"
#include "elf/elf.h"
#include "support/checked.h"
#include "support/memory.h"

namespace mk::arch {
namespace {

using namespace aarch64;  // NOLINT: the R_AARCH64_* names

enum class Formula : uint8_t {
  kNone,   // nothing computed, nothing stored
  kSA,     // S + A
  kSAP,    // S + A - P
  kPage,   // Page(S + A) - Page(P)
  kSAGot,  // S + A - GOT
  kG,      // G                      (needs a slot, A == 0)
  kGP,     // G - P                  (needs a slot, A == 0)
  kGPage,  // Page(G) - Page(P)      (needs a slot, A == 0)
  kGAP,    // G + A - P              (needs a slot)
  kNever,  // TLS: refused by the validator, never applied
};

enum class Check : uint8_t { kAny, kSigned, kUnsigned, kBitfield };

// Where the value goes.
enum class Field : uint8_t {
  kNone,
  kData,   // the whole little-endian word of the row's width
  kImm26,  // B, BL: X[27:2] -> [25:0]
  kImm19,  // B.cond, CBZ/CBNZ, LDR literal: X[20:2] -> [23:5]
  kImm14,  // TBZ/TBNZ: X[15:2] -> [18:5]
  kAdr,    // ADR: X[1:0] -> immlo [30:29], X[20:2] -> immhi [23:5]
  kAdrp,   // ADRP: the same fields from X[32:12]
  kImm12,  // ADD, LDR/STR unsigned offset: X[11:scale] -> [21:10]
  kMovw,   // MOVZ/MOVK: X[shift+15:shift] -> imm16 [20:5], opcode kept
  kMovwS,  // signed MOVW: as kMovw, but a MOVZ/MOVN becomes MOVN of ~X when X < 0
};

// The instruction class a field may patch (the kBadInsn check).
enum class Insn : uint8_t {
  kAny,
  kB,       // B or BL
  kCondBr,  // B.cond, CBZ, CBNZ
  kTestBr,  // TBZ, TBNZ
  kAdr,
  kAdrp,
  kAddImm,  // ADD/SUB (immediate)
  kLdSt,    // LDR/STR (unsigned immediate), including SIMD&FP registers
  kLdLit,   // LDR (literal)
  kMovw,    // MOVN, MOVZ, MOVK
};

struct A64Kind {
  RelocKind kind;
  Formula formula;
  Check check;
  uint8_t bits;   // of the range check
  uint8_t align;  // X must be a multiple of this (1: any)
  Field field;
  uint8_t shift;  // kImm12: the access size's log2; kMovw/kMovwS: 0, 16, 32 or 48
  Insn insn;
};

using F = Formula;
using C = Check;
using W = Field;
using I = Insn;
constexpr Need kNo = Need::kNone, kGot = Need::kGot, kBranch = Need::kBranch;
constexpr Reach kAny = Reach::kAny, kPc32 = Reach::kPcRel32, kAbs32 = Reach::kAbs32,
                kNarrow = Reach::kNarrow;
constexpr Pair kWhole = Pair::kNone, kPart = Pair::kPart;

// The plain data formulas the linker may apply inline (machine.h's Simple).
constexpr Simple simple_of(Formula f, Check c, uint8_t width) {
  if (f == F::kSA && c == C::kAny && width == 8) return Simple::kSA64;
  if (f == F::kSAP && c == C::kAny && width == 8) return Simple::kSAP64;
  if (f == F::kSA && c == C::kSigned && width == 4) return Simple::kSA32S;
  if (f == F::kSA && c == C::kUnsigned && width == 4) return Simple::kSA32U;
  if (f == F::kSAP && c == C::kSigned && width == 4) return Simple::kSAP32S;
  return Simple::kNo;
}

// A data kind: the whole value in a little-endian word.
constexpr A64Kind D(uint32_t type, const char* name, uint8_t width, Need need, Reach reach,
                    Formula f, Check c) {
  return {{type, {name, width, false}, need, reach, kWhole, simple_of(f, c, width)},
          f,
          c,
          uint8_t(8 * width),
          1,
          W::kData,
          0,
          I::kAny};
}

// An instruction kind (4 bytes).
constexpr A64Kind K(uint32_t type, const char* name, Need need, Reach reach, Pair pair, Formula f,
                    Check c, uint8_t bits, uint8_t align, Field field, uint8_t shift, Insn insn) {
  return {{type, {name, 4, false}, need, reach, pair}, f, c, bits, align, field, shift, insn};
}

// A TLS kind: known by name, refused by the validator.
constexpr A64Kind Tls(uint32_t type, const char* name) {
  return {{type, {name, 4, true}, kNo, kAny}, F::kNever, C::kAny, 64, 1, W::kNone, 0, I::kAny};
}

// clang-format off
constexpr A64Kind kKinds[] = {
  {{R_AARCH64_NONE, {"R_AARCH64_NONE", 0, false}, kNo, kAny}, F::kNone, C::kAny, 64, 1, W::kNone, 0, I::kAny},
  //  type                        name                              bytes need  reach    formula     check
  D(R_AARCH64_ABS64,              "R_AARCH64_ABS64",                 8, kNo,    kAny,    F::kSA,     C::kAny),       // S + A : any
  D(R_AARCH64_ABS32,              "R_AARCH64_ABS32",                 4, kNo,    kAbs32,  F::kSA,     C::kBitfield),  // S + A : bit32
  D(R_AARCH64_ABS16,              "R_AARCH64_ABS16",                 2, kNo,    kNarrow, F::kSA,     C::kBitfield),  // S + A : bit16
  D(R_AARCH64_PREL64,             "R_AARCH64_PREL64",                8, kNo,    kAny,    F::kSAP,    C::kAny),       // S + A - P : any
  D(R_AARCH64_PREL32,             "R_AARCH64_PREL32",                4, kNo,    kPc32,   F::kSAP,    C::kBitfield),  // S + A - P : bit32
  D(R_AARCH64_PREL16,             "R_AARCH64_PREL16",                2, kNo,    kNarrow, F::kSAP,    C::kBitfield),  // S + A - P : bit16
  D(R_AARCH64_PLT32,              "R_AARCH64_PLT32",                 4, kBranch, kPc32,  F::kSAP,    C::kSigned),    // L + A - P : int32
  D(R_AARCH64_GOTPCREL32,         "R_AARCH64_GOTPCREL32",            4, kGot,   kPc32,   F::kGAP,    C::kSigned),    // G + A - P : int32
  D(R_AARCH64_GOTREL64,           "R_AARCH64_GOTREL64",              8, kNo,    kAny,    F::kSAGot,  C::kAny),       // S + A - GOT : any
  D(R_AARCH64_GOTREL32,           "R_AARCH64_GOTREL32",              4, kNo,    kAny,    F::kSAGot,  C::kSigned),    // S + A - GOT : int32
  //  type                        name                              need     reach    pair   formula   check     bits align field    shift insn
  // MOVW, unsigned absolute: S + A : uintN (G3: any) -> imm16 of X[shift+15:shift]
  K(R_AARCH64_MOVW_UABS_G0,       "R_AARCH64_MOVW_UABS_G0",         kNo,     kNarrow, kPart, F::kSA,   C::kUnsigned, 16, 1, W::kMovw,  0,  I::kMovw),
  K(R_AARCH64_MOVW_UABS_G0_NC,    "R_AARCH64_MOVW_UABS_G0_NC",      kNo,     kAny,    kPart, F::kSA,   C::kAny,      64, 1, W::kMovw,  0,  I::kMovw),
  K(R_AARCH64_MOVW_UABS_G1,       "R_AARCH64_MOVW_UABS_G1",         kNo,     kAbs32,  kPart, F::kSA,   C::kUnsigned, 32, 1, W::kMovw,  16, I::kMovw),
  K(R_AARCH64_MOVW_UABS_G1_NC,    "R_AARCH64_MOVW_UABS_G1_NC",      kNo,     kAny,    kPart, F::kSA,   C::kAny,      64, 1, W::kMovw,  16, I::kMovw),
  K(R_AARCH64_MOVW_UABS_G2,       "R_AARCH64_MOVW_UABS_G2",         kNo,     kAny,    kPart, F::kSA,   C::kUnsigned, 48, 1, W::kMovw,  32, I::kMovw),
  K(R_AARCH64_MOVW_UABS_G2_NC,    "R_AARCH64_MOVW_UABS_G2_NC",      kNo,     kAny,    kPart, F::kSA,   C::kAny,      64, 1, W::kMovw,  32, I::kMovw),
  K(R_AARCH64_MOVW_UABS_G3,       "R_AARCH64_MOVW_UABS_G3",         kNo,     kAny,    kPart, F::kSA,   C::kAny,      64, 1, W::kMovw,  48, I::kMovw),
  // MOVW, signed absolute: S + A : intN -> MOVZ of X or MOVN of ~X
  K(R_AARCH64_MOVW_SABS_G0,       "R_AARCH64_MOVW_SABS_G0",         kNo,     kNarrow, kPart, F::kSA,   C::kSigned,   17, 1, W::kMovwS, 0,  I::kMovw),
  K(R_AARCH64_MOVW_SABS_G1,       "R_AARCH64_MOVW_SABS_G1",         kNo,     kAbs32,  kPart, F::kSA,   C::kSigned,   33, 1, W::kMovwS, 16, I::kMovw),
  K(R_AARCH64_MOVW_SABS_G2,       "R_AARCH64_MOVW_SABS_G2",         kNo,     kAny,    kPart, F::kSA,   C::kSigned,   49, 1, W::kMovwS, 32, I::kMovw),
  // MOVW, PC-relative: S + A - P : intN (_NC, G3: any) -> MOVZ/MOVN as above, MOVK keeps its opcode
  K(R_AARCH64_MOVW_PREL_G0,       "R_AARCH64_MOVW_PREL_G0",         kNo,     kNarrow, kPart, F::kSAP,  C::kSigned,   17, 1, W::kMovwS, 0,  I::kMovw),
  K(R_AARCH64_MOVW_PREL_G0_NC,    "R_AARCH64_MOVW_PREL_G0_NC",      kNo,     kAny,    kPart, F::kSAP,  C::kAny,      64, 1, W::kMovwS, 0,  I::kMovw),
  K(R_AARCH64_MOVW_PREL_G1,       "R_AARCH64_MOVW_PREL_G1",         kNo,     kPc32,   kPart, F::kSAP,  C::kSigned,   33, 1, W::kMovwS, 16, I::kMovw),
  K(R_AARCH64_MOVW_PREL_G1_NC,    "R_AARCH64_MOVW_PREL_G1_NC",      kNo,     kAny,    kPart, F::kSAP,  C::kAny,      64, 1, W::kMovwS, 16, I::kMovw),
  K(R_AARCH64_MOVW_PREL_G2,       "R_AARCH64_MOVW_PREL_G2",         kNo,     kAny,    kPart, F::kSAP,  C::kSigned,   49, 1, W::kMovwS, 32, I::kMovw),
  K(R_AARCH64_MOVW_PREL_G2_NC,    "R_AARCH64_MOVW_PREL_G2_NC",      kNo,     kAny,    kPart, F::kSAP,  C::kAny,      64, 1, W::kMovwS, 32, I::kMovw),
  K(R_AARCH64_MOVW_PREL_G3,       "R_AARCH64_MOVW_PREL_G3",         kNo,     kAny,    kPart, F::kSAP,  C::kAny,      64, 1, W::kMovwS, 48, I::kMovw),
  // S + A - P : int21, align 4 -> LDR literal imm19
  K(R_AARCH64_LD_PREL_LO19,       "R_AARCH64_LD_PREL_LO19",         kNo,     kPc32,   kWhole, F::kSAP, C::kSigned,   21, 4, W::kImm19, 0,  I::kLdLit),
  // S + A - P : int21 -> ADR
  K(R_AARCH64_ADR_PREL_LO21,      "R_AARCH64_ADR_PREL_LO21",        kNo,     kPc32,   kWhole, F::kSAP, C::kSigned,   21, 1, W::kAdr,   0,  I::kAdr),
  // Page(S + A) - Page(P) : int33 (_NC: any) -> ADRP
  K(R_AARCH64_ADR_PREL_PG_HI21,   "R_AARCH64_ADR_PREL_PG_HI21",     kNo,     kPc32,   kPart, F::kPage,  C::kSigned,   33, 1, W::kAdrp,  0,  I::kAdrp),
  K(R_AARCH64_ADR_PREL_PG_HI21_NC, "R_AARCH64_ADR_PREL_PG_HI21_NC", kNo,     kPc32,   kPart, F::kPage,  C::kAny,      64, 1, W::kAdrp,  0,  I::kAdrp),
  // S + A : any -> ADD imm12 of X[11:0]; LDST<n>: align n/8 -> imm12 of X[11:log2(n/8)]
  K(R_AARCH64_ADD_ABS_LO12_NC,    "R_AARCH64_ADD_ABS_LO12_NC",      kNo,     kAny,    kPart, F::kSA,    C::kAny,      64, 1, W::kImm12, 0,  I::kAddImm),
  K(R_AARCH64_LDST8_ABS_LO12_NC,  "R_AARCH64_LDST8_ABS_LO12_NC",    kNo,     kAny,    kPart, F::kSA,    C::kAny,      64, 1, W::kImm12, 0,  I::kLdSt),
  K(R_AARCH64_LDST16_ABS_LO12_NC, "R_AARCH64_LDST16_ABS_LO12_NC",   kNo,     kAny,    kPart, F::kSA,    C::kAny,      64, 2, W::kImm12, 1,  I::kLdSt),
  K(R_AARCH64_LDST32_ABS_LO12_NC, "R_AARCH64_LDST32_ABS_LO12_NC",   kNo,     kAny,    kPart, F::kSA,    C::kAny,      64, 4, W::kImm12, 2,  I::kLdSt),
  K(R_AARCH64_LDST64_ABS_LO12_NC, "R_AARCH64_LDST64_ABS_LO12_NC",   kNo,     kAny,    kPart, F::kSA,    C::kAny,      64, 8, W::kImm12, 3,  I::kLdSt),
  K(R_AARCH64_LDST128_ABS_LO12_NC, "R_AARCH64_LDST128_ABS_LO12_NC", kNo,     kAny,    kPart, F::kSA,    C::kAny,      64, 16, W::kImm12, 4, I::kLdSt),
  // Branches: S + A - P : intN, align 4
  K(R_AARCH64_TSTBR14,            "R_AARCH64_TSTBR14",              kNo,     kAny,    kWhole, F::kSAP, C::kSigned,   16, 4, W::kImm14, 0,  I::kTestBr),
  K(R_AARCH64_CONDBR19,           "R_AARCH64_CONDBR19",             kNo,     kAny,    kWhole, F::kSAP, C::kSigned,   21, 4, W::kImm19, 0,  I::kCondBr),
  K(R_AARCH64_JUMP26,             "R_AARCH64_JUMP26",               kBranch, kPc32,   kWhole, F::kSAP, C::kSigned,   28, 4, W::kImm26, 0,  I::kB),
  K(R_AARCH64_CALL26,             "R_AARCH64_CALL26",               kBranch, kPc32,   kWhole, F::kSAP, C::kSigned,   28, 4, W::kImm26, 0,  I::kB),
  // Through the GOT (A must be 0)
  K(R_AARCH64_GOT_LD_PREL19,      "R_AARCH64_GOT_LD_PREL19",        kGot,    kAny,    kWhole, F::kGP,  C::kSigned,   21, 4, W::kImm19, 0,  I::kLdLit),  // G - P : int21
  K(R_AARCH64_ADR_GOT_PAGE,       "R_AARCH64_ADR_GOT_PAGE",         kGot,    kPc32,   kPart, F::kGPage, C::kSigned,   33, 1, W::kAdrp,  0,  I::kAdrp),   // Page(G) - Page(P) : int33
  K(R_AARCH64_LD64_GOT_LO12_NC,   "R_AARCH64_LD64_GOT_LO12_NC",     kGot,    kAny,    kPart, F::kG,     C::kAny,      64, 8, W::kImm12, 3,  I::kLdSt),   // G : any, align 8
  Tls(R_AARCH64_TLSGD_ADR_PREL21, "R_AARCH64_TLSGD_ADR_PREL21"),
  Tls(R_AARCH64_TLSGD_ADR_PAGE21, "R_AARCH64_TLSGD_ADR_PAGE21"),
  Tls(R_AARCH64_TLSGD_ADD_LO12_NC, "R_AARCH64_TLSGD_ADD_LO12_NC"),
  Tls(R_AARCH64_TLSGD_MOVW_G1, "R_AARCH64_TLSGD_MOVW_G1"),
  Tls(R_AARCH64_TLSGD_MOVW_G0_NC, "R_AARCH64_TLSGD_MOVW_G0_NC"),
  Tls(R_AARCH64_TLSLD_ADR_PREL21, "R_AARCH64_TLSLD_ADR_PREL21"),
  Tls(R_AARCH64_TLSLD_ADR_PAGE21, "R_AARCH64_TLSLD_ADR_PAGE21"),
  Tls(R_AARCH64_TLSLD_ADD_LO12_NC, "R_AARCH64_TLSLD_ADD_LO12_NC"),
  Tls(R_AARCH64_TLSLD_MOVW_G1, "R_AARCH64_TLSLD_MOVW_G1"),
  Tls(R_AARCH64_TLSLD_MOVW_G0_NC, "R_AARCH64_TLSLD_MOVW_G0_NC"),
  Tls(R_AARCH64_TLSLD_LD_PREL19, "R_AARCH64_TLSLD_LD_PREL19"),
  Tls(R_AARCH64_TLSLD_MOVW_DTPREL_G2, "R_AARCH64_TLSLD_MOVW_DTPREL_G2"),
  Tls(R_AARCH64_TLSLD_MOVW_DTPREL_G1, "R_AARCH64_TLSLD_MOVW_DTPREL_G1"),
  Tls(R_AARCH64_TLSLD_MOVW_DTPREL_G1_NC, "R_AARCH64_TLSLD_MOVW_DTPREL_G1_NC"),
  Tls(R_AARCH64_TLSLD_MOVW_DTPREL_G0, "R_AARCH64_TLSLD_MOVW_DTPREL_G0"),
  Tls(R_AARCH64_TLSLD_MOVW_DTPREL_G0_NC, "R_AARCH64_TLSLD_MOVW_DTPREL_G0_NC"),
  Tls(R_AARCH64_TLSLD_ADD_DTPREL_HI12, "R_AARCH64_TLSLD_ADD_DTPREL_HI12"),
  Tls(R_AARCH64_TLSLD_ADD_DTPREL_LO12, "R_AARCH64_TLSLD_ADD_DTPREL_LO12"),
  Tls(R_AARCH64_TLSLD_ADD_DTPREL_LO12_NC, "R_AARCH64_TLSLD_ADD_DTPREL_LO12_NC"),
  Tls(R_AARCH64_TLSLD_LDST8_DTPREL_LO12, "R_AARCH64_TLSLD_LDST8_DTPREL_LO12"),
  Tls(R_AARCH64_TLSLD_LDST8_DTPREL_LO12_NC, "R_AARCH64_TLSLD_LDST8_DTPREL_LO12_NC"),
  Tls(R_AARCH64_TLSLD_LDST16_DTPREL_LO12, "R_AARCH64_TLSLD_LDST16_DTPREL_LO12"),
  Tls(R_AARCH64_TLSLD_LDST16_DTPREL_LO12_NC, "R_AARCH64_TLSLD_LDST16_DTPREL_LO12_NC"),
  Tls(R_AARCH64_TLSLD_LDST32_DTPREL_LO12, "R_AARCH64_TLSLD_LDST32_DTPREL_LO12"),
  Tls(R_AARCH64_TLSLD_LDST32_DTPREL_LO12_NC, "R_AARCH64_TLSLD_LDST32_DTPREL_LO12_NC"),
  Tls(R_AARCH64_TLSLD_LDST64_DTPREL_LO12, "R_AARCH64_TLSLD_LDST64_DTPREL_LO12"),
  Tls(R_AARCH64_TLSLD_LDST64_DTPREL_LO12_NC, "R_AARCH64_TLSLD_LDST64_DTPREL_LO12_NC"),
  Tls(R_AARCH64_TLSIE_MOVW_GOTTPREL_G1, "R_AARCH64_TLSIE_MOVW_GOTTPREL_G1"),
  Tls(R_AARCH64_TLSIE_MOVW_GOTTPREL_G0_NC, "R_AARCH64_TLSIE_MOVW_GOTTPREL_G0_NC"),
  Tls(R_AARCH64_TLSIE_ADR_GOTTPREL_PAGE21, "R_AARCH64_TLSIE_ADR_GOTTPREL_PAGE21"),
  Tls(R_AARCH64_TLSIE_LD64_GOTTPREL_LO12_NC, "R_AARCH64_TLSIE_LD64_GOTTPREL_LO12_NC"),
  Tls(R_AARCH64_TLSIE_LD_GOTTPREL_PREL19, "R_AARCH64_TLSIE_LD_GOTTPREL_PREL19"),
  Tls(R_AARCH64_TLSLE_MOVW_TPREL_G2, "R_AARCH64_TLSLE_MOVW_TPREL_G2"),
  Tls(R_AARCH64_TLSLE_MOVW_TPREL_G1, "R_AARCH64_TLSLE_MOVW_TPREL_G1"),
  Tls(R_AARCH64_TLSLE_MOVW_TPREL_G1_NC, "R_AARCH64_TLSLE_MOVW_TPREL_G1_NC"),
  Tls(R_AARCH64_TLSLE_MOVW_TPREL_G0, "R_AARCH64_TLSLE_MOVW_TPREL_G0"),
  Tls(R_AARCH64_TLSLE_MOVW_TPREL_G0_NC, "R_AARCH64_TLSLE_MOVW_TPREL_G0_NC"),
  Tls(R_AARCH64_TLSLE_ADD_TPREL_HI12, "R_AARCH64_TLSLE_ADD_TPREL_HI12"),
  Tls(R_AARCH64_TLSLE_ADD_TPREL_LO12, "R_AARCH64_TLSLE_ADD_TPREL_LO12"),
  Tls(R_AARCH64_TLSLE_ADD_TPREL_LO12_NC, "R_AARCH64_TLSLE_ADD_TPREL_LO12_NC"),
  Tls(R_AARCH64_TLSLE_LDST8_TPREL_LO12, "R_AARCH64_TLSLE_LDST8_TPREL_LO12"),
  Tls(R_AARCH64_TLSLE_LDST8_TPREL_LO12_NC, "R_AARCH64_TLSLE_LDST8_TPREL_LO12_NC"),
  Tls(R_AARCH64_TLSLE_LDST16_TPREL_LO12, "R_AARCH64_TLSLE_LDST16_TPREL_LO12"),
  Tls(R_AARCH64_TLSLE_LDST16_TPREL_LO12_NC, "R_AARCH64_TLSLE_LDST16_TPREL_LO12_NC"),
  Tls(R_AARCH64_TLSLE_LDST32_TPREL_LO12, "R_AARCH64_TLSLE_LDST32_TPREL_LO12"),
  Tls(R_AARCH64_TLSLE_LDST32_TPREL_LO12_NC, "R_AARCH64_TLSLE_LDST32_TPREL_LO12_NC"),
  Tls(R_AARCH64_TLSLE_LDST64_TPREL_LO12, "R_AARCH64_TLSLE_LDST64_TPREL_LO12"),
  Tls(R_AARCH64_TLSLE_LDST64_TPREL_LO12_NC, "R_AARCH64_TLSLE_LDST64_TPREL_LO12_NC"),
  Tls(R_AARCH64_TLSDESC_LD_PREL19, "R_AARCH64_TLSDESC_LD_PREL19"),
  Tls(R_AARCH64_TLSDESC_ADR_PREL21, "R_AARCH64_TLSDESC_ADR_PREL21"),
  Tls(R_AARCH64_TLSDESC_ADR_PAGE21, "R_AARCH64_TLSDESC_ADR_PAGE21"),
  Tls(R_AARCH64_TLSDESC_LD64_LO12, "R_AARCH64_TLSDESC_LD64_LO12"),
  Tls(R_AARCH64_TLSDESC_ADD_LO12, "R_AARCH64_TLSDESC_ADD_LO12"),
  Tls(R_AARCH64_TLSDESC_OFF_G1, "R_AARCH64_TLSDESC_OFF_G1"),
  Tls(R_AARCH64_TLSDESC_OFF_G0_NC, "R_AARCH64_TLSDESC_OFF_G0_NC"),
  Tls(R_AARCH64_TLSDESC_LDR, "R_AARCH64_TLSDESC_LDR"),
  Tls(R_AARCH64_TLSDESC_ADD, "R_AARCH64_TLSDESC_ADD"),
  Tls(R_AARCH64_TLSDESC_CALL, "R_AARCH64_TLSDESC_CALL"),
  Tls(R_AARCH64_TLSLE_LDST128_TPREL_LO12, "R_AARCH64_TLSLE_LDST128_TPREL_LO12"),
  Tls(R_AARCH64_TLSLE_LDST128_TPREL_LO12_NC, "R_AARCH64_TLSLE_LDST128_TPREL_LO12_NC"),
  Tls(R_AARCH64_TLSLD_LDST128_DTPREL_LO12, "R_AARCH64_TLSLD_LDST128_DTPREL_LO12"),
  Tls(R_AARCH64_TLSLD_LDST128_DTPREL_LO12_NC, "R_AARCH64_TLSLD_LDST128_DTPREL_LO12_NC"),
};
// clang-format on

// Type -> row, built at compile time: kind() is one bounds check and a load.
constexpr uint32_t kMaxType = R_AARCH64_TLSLD_LDST128_DTPREL_LO12_NC;
constexpr int16_t kNoRow = -1;
constexpr size_t kRows = sizeof(kKinds) / sizeof(kKinds[0]);
static_assert(kRows < 0x7fff);

struct RowIndex {
  int16_t row[kMaxType + 1];
  bool ok;  // every type in range and listed once
};

constexpr RowIndex build_index() {
  RowIndex index{};
  for (auto& r : index.row)
    r = kNoRow;
  index.ok = true;
  for (size_t i = 0; i < kRows; ++i) {
    uint32_t type = kKinds[i].kind.type;
    if (type > kMaxType || index.row[type] != kNoRow) {
      index.ok = false;
      return index;
    }
    index.row[type] = static_cast<int16_t>(i);
  }
  return index;
}

constexpr RowIndex kIndex = build_index();
static_assert(kIndex.ok, "a relocation type out of range or listed twice");

const A64Kind* find(uint32_t type) {
  if (type > kMaxType || kIndex.row[type] == kNoRow) return nullptr;
  return &kKinds[kIndex.row[type]];
}

// Little-endian store and load of exactly `width` bytes (0..8), at any
// alignment, whatever the host's byte order.
void store_le(uint8_t* loc, unsigned width, uint64_t v) {
  uint8_t b[8];
  for (unsigned i = 0; i < width; ++i)
    b[i] = static_cast<uint8_t>(v >> (8 * i));
  mk_memcpy(loc, b, width);
}

uint64_t load_le(const uint8_t* at, unsigned width) {
  uint8_t b[8];
  mk_memcpy(b, at, width);
  uint64_t v = 0;
  for (unsigned i = 0; i < width; ++i)
    v |= uint64_t{b[i]} << (8 * i);
  return v;
}

int64_t wrap(uint64_t v) {
  return static_cast<int64_t>(v);
}

constexpr uint64_t page(uint64_t x) {
  return x & ~uint64_t{0xfff};
}

bool fits(Check c, unsigned bits, int64_t x) {
  switch (c) {
    case Check::kAny:
      return true;
    case Check::kSigned:
      return fits_signed(x, bits);
    case Check::kUnsigned:
      return fits_unsigned(static_cast<uint64_t>(x), bits);
    case Check::kBitfield:
      return fits_signed(x, bits) || fits_unsigned(static_cast<uint64_t>(x), bits);
  }
  return false;
}

bool insn_is(Insn c, uint32_t i) {
  switch (c) {
    case Insn::kAny:
      return true;
    case Insn::kB:  // B 000101, BL 100101
      return (i & 0x7c000000) == 0x14000000;
    case Insn::kCondBr:  // B.cond, CBZ/CBNZ
      return (i & 0xff000010) == 0x54000000 || (i & 0x7e000000) == 0x34000000;
    case Insn::kTestBr:
      return (i & 0x7e000000) == 0x36000000;
    case Insn::kAdr:
      return (i & 0x9f000000) == 0x10000000;
    case Insn::kAdrp:
      return (i & 0x9f000000) == 0x90000000;
    case Insn::kAddImm:
      return (i & 0x1f800000) == 0x11000000;
    case Insn::kLdSt:
      return (i & 0x3b000000) == 0x39000000;
    case Insn::kLdLit:
      return (i & 0x3b000000) == 0x18000000;
    case Insn::kMovw:
      return (i & 0x1f800000) == 0x12800000;
  }
  return false;
}

// The instruction with X's bits in the row's field.
uint32_t encode(const A64Kind& k, uint32_t insn, int64_t x) {
  uint64_t u = static_cast<uint64_t>(x);
  switch (k.field) {
    case Field::kNone:
    case Field::kData:
      return insn;
    case Field::kImm26:
      return (insn & ~0x03ffffffu) | static_cast<uint32_t>((u >> 2) & 0x03ffffff);
    case Field::kImm19:
      return (insn & ~(0x7ffffu << 5)) | static_cast<uint32_t>(((u >> 2) & 0x7ffff) << 5);
    case Field::kImm14:
      return (insn & ~(0x3fffu << 5)) | static_cast<uint32_t>(((u >> 2) & 0x3fff) << 5);
    case Field::kAdrp:
      u >>= 12;
      [[fallthrough]];
    case Field::kAdr:
      return (insn & ~((3u << 29) | (0x7ffffu << 5))) | static_cast<uint32_t>((u & 3) << 29) |
             static_cast<uint32_t>(((u >> 2) & 0x7ffff) << 5);
    case Field::kImm12:
      return (insn & ~(0xfffu << 10)) | static_cast<uint32_t>(((u & 0xfff) >> k.shift) << 10);
    case Field::kMovwS:
      // MOVN (opc 00) and MOVZ (opc 10) have bit 29 clear; MOVK (11) keeps
      // its opcode and takes the bits as they are.
      if ((insn & (1u << 29)) == 0) {
        insn &= ~(1u << 30);  // MOVN
        if (x < 0) {
          u = ~u;
        } else {
          insn |= 1u << 30;  // MOVZ
        }
      }
      [[fallthrough]];
    case Field::kMovw:
      return (insn & ~(0xffffu << 5)) | static_cast<uint32_t>(((u >> k.shift) & 0xffff) << 5);
  }
  return insn;
}

const RelocKind* aarch64_kind(uint32_t type) {
  const A64Kind* k = find(type);
  return k ? &k->kind : nullptr;
}

const elf::RelocShape* aarch64_shape(uint32_t type) {
  const A64Kind* k = find(type);
  return k ? &k->kind.shape : nullptr;
}

// REL-style addend: a data field's bytes, sign-extended. Instruction fields
// hold no addend (aarch64 objects use RELA); this exists so the validator's
// contract holds for every machine.
int64_t aarch64_implicit_addend(uint32_t type, const uint8_t* at) {
  const A64Kind* k = find(type);
  if (!k || k->field != Field::kData) return 0;
  uint8_t width = k->kind.shape.width;
  return sign_extend(load_le(at, width), 8u * width);
}

ApplyResult aarch64_apply(uint32_t type, uint8_t* loc, uint64_t /*room_before*/,
                          const RelocValues& v) {
  const A64Kind* k = find(type);
  // An unknown or TLS type here is a caller bug: the validator refuses them.
  if (!k || k->formula == Formula::kNever) return {ApplyStatus::kBadInsn, 0};

  uint64_t A = static_cast<uint64_t>(v.A);
  bool got = k->formula == Formula::kG || k->formula == Formula::kGP ||
             k->formula == Formula::kGPage || k->formula == Formula::kGAP;
  if (got && (v.G == 0 || (v.A != 0 && k->formula != Formula::kGAP)))
    return {ApplyStatus::kNoGot, 0};
  int64_t x = 0;
  switch (k->formula) {
    case Formula::kNone:
      return {ApplyStatus::kOk, 0};
    case Formula::kSA:
      x = wrap(v.S + A);
      break;
    case Formula::kSAP:
      x = wrap(v.S + A - v.P);
      break;
    case Formula::kPage:
      x = wrap(page(v.S + A) - page(v.P));
      break;
    case Formula::kSAGot:
      x = wrap(v.S + A - v.GOT);
      break;
    case Formula::kG:
      x = wrap(v.G);
      break;
    case Formula::kGP:
      x = wrap(v.G - v.P);
      break;
    case Formula::kGPage:
      x = wrap(page(v.G) - page(v.P));
      break;
    case Formula::kGAP:
      x = wrap(v.G + A - v.P);
      break;
    case Formula::kNever:
      return {ApplyStatus::kBadInsn, 0};
  }

  uint8_t width = k->kind.shape.width;
  if (k->field == Field::kData) {
    if (!fits(k->check, k->bits, x)) return {ApplyStatus::kOverflow, x};
    store_le(loc, width, static_cast<uint64_t>(x));  // the row's width: 2, 4 or 8 bytes
    return {ApplyStatus::kOk, x};
  }
  uint32_t insn = static_cast<uint32_t>(load_le(loc, 4));
  if (!insn_is(k->insn, insn)) return {ApplyStatus::kBadInsn, x};
  if (!fits(k->check, k->bits, x)) return {ApplyStatus::kOverflow, x};
  if ((static_cast<uint64_t>(x) & (k->align - 1u)) != 0) return {ApplyStatus::kMisaligned, x};
  store_le(loc, 4, encode(*k, insn, x));  // one 32-bit instruction
  return {ApplyStatus::kOk, x};
}

// ldr x16, .+8; br x16; .quad target
void aarch64_write_stub(uint8_t* loc, uint64_t /*stub_addr*/, uint64_t target) {
  store_le(loc, 4, 0x58000050);
  store_le(loc + 4, 4, 0xd61f0200);
  store_le(loc + 8, 8, target);
}
static_assert(kStubSize == 16);

// B/BL reach target - P within +-128 MiB less kBranchSlack. Only branch
// kinds (Need::kBranch) are branches.
bool aarch64_branch_reaches(uint32_t type, uint64_t P, uint64_t target) {
  const A64Kind* k = find(type);
  if (!k || k->kind.need != Need::kBranch) return false;
  int64_t d = wrap(target - P);
  if (k->field == Field::kData) return fits_signed(d, 32);  // PLT32
  constexpr int64_t kReach = int64_t{1} << 27;
  return d >= -kReach + kBranchSlack && d < kReach - kBranchSlack;
}

}  // namespace

extern const Machine kAArch64 = {
    .rules = {.machine = elf::EM_AARCH64,
              .name = "aarch64",
              .shape = aarch64_shape,
              .implicit_addend = aarch64_implicit_addend},
    .kind = aarch64_kind,
    .apply = aarch64_apply,
    .stub_size = kStubSize,
    .stub_align = kStubAlign,
    .write_stub = aarch64_write_stub,
    .branch_reaches = aarch64_branch_reaches,
    .file_span = (uint64_t{1} << 27) - (uint64_t{1} << 20),  // BL: +-128 MiB, less 1 MiB
};

}  // namespace mk::arch
