// Tests for the aarch64 machine (arch/aarch64.h, through kAArch64).
//
// Every relocation kind with a range gets a boundary pair through apply():
// the last value in range (kOk, the exact instruction or bytes) and the first
// out of range (kOverflow, the exact computed value, the place untouched);
// scaled kinds get a misaligned case, instruction kinds a wrong-instruction
// case. Kinds without a range (_NC, 64-bit) get their truncation checked.
// A last test checks that every kind of the table has a case here.
#include "arch/aarch64.h"

#include <gtest/gtest.h>
#include <stdint.h>
#include <string.h>

#include <set>
#include <vector>

#include "arch/machine.h"
#include "elf/elf.h"

namespace mk::arch {
namespace {

using namespace aarch64;  // NOLINT
using Bytes = std::vector<uint8_t>;

constexpr uint8_t kFill = 0xa5;
constexpr size_t kRoom = 8;
constexpr size_t kBufSize = 32;
constexpr uint32_t kData = 0;  // Case::insn for a data kind

Bytes le(uint64_t v, size_t n) {
  Bytes b;
  for (size_t i = 0; i < n; ++i)
    b.push_back(static_cast<uint8_t>(v >> (8 * i)));
  return b;
}

// A section with the place at offset kRoom: an instruction there, or kFill.
struct Section {
  uint8_t buf[kBufSize];
  explicit Section(uint32_t insn = kData) {
    memset(buf, kFill, sizeof(buf));
    if (insn != kData) memcpy(buf + kRoom, le(insn, 4).data(), 4);
  }
  uint8_t* loc() { return buf + kRoom; }
  Bytes at(size_t n) const { return Bytes(buf + kRoom, buf + kRoom + n); }
  uint32_t insn() const {
    uint32_t v = 0;
    for (int i = 3; i >= 0; --i)
      v = v << 8 | buf[kRoom + i];
    return v;
  }
};

struct Case {
  const char* what;
  uint32_t type;
  uint32_t insn;  // the instruction at the place; kData for a data kind
  RelocValues v;
  ApplyStatus status;
  int64_t value;
  uint64_t expect;  // for kOk: the instruction, or the data word's value
};

std::ostream& operator<<(std::ostream& os, const Case& c) {
  return os << c.what;
}

constexpr ApplyStatus kOk = ApplyStatus::kOk, kOverflow = ApplyStatus::kOverflow,
                      kMisaligned = ApplyStatus::kMisaligned, kNoGot = ApplyStatus::kNoGot,
                      kBadInsn = ApplyStatus::kBadInsn;
constexpr uint64_t P = 0x100000;  // the place of instruction cases
constexpr int64_t k2_31 = int64_t{1} << 31, k2_32 = int64_t{1} << 32, k2_48 = int64_t{1} << 48;

// Instructions with every immediate field zero.
constexpr uint32_t kBl = 0x94000000, kB = 0x14000000, kBeq = 0x54000000, kCbz = 0xb4000000,
                   kTbz = 0x36000000, kLdrLit = 0x58000000, kAdr = 0x10000000, kAdrp = 0x90000000,
                   kAdd = 0x91000000, kLdrb = 0x39400000, kLdrh = 0x79400000, kLdrW = 0xb9400000,
                   kLdrX = 0xf9400000, kLdrQ = 0x3dc00000, kMovz = 0xd2800000, kMovz16 = 0xd2a00000,
                   kMovz32 = 0xd2c00000, kMovz48 = 0xd2e00000, kMovk = 0xf2800000,
                   kMovk16 = 0xf2a00000, kMovk32 = 0xf2c00000, kMovk48 = 0xf2e00000,
                   kNop = 0xd503201f;

const Case kCases[] = {
    {"NONE", R_AARCH64_NONE, kData, {.S = 1, .A = 2}, kOk, 0, 0},

    // Data. S + A : any / bit32 / bit16
    {"ABS64",
     R_AARCH64_ABS64,
     kData,
     {.S = 0x1122334455667788, .A = 0x11},
     kOk,
     0x1122334455667799,
     0x1122334455667799},
    {"ABS32_max", R_AARCH64_ABS32, kData, {.S = 0xfffffff0, .A = 0xf}, kOk, 0xffffffff, 0xffffffff},
    {"ABS32_max_plus_1", R_AARCH64_ABS32, kData, {.S = 0xfffffff0, .A = 0x10}, kOverflow, k2_32, 0},
    {"ABS32_min", R_AARCH64_ABS32, kData, {.S = 0, .A = -k2_31}, kOk, -k2_31, 0x80000000},
    {"ABS32_min_minus_1",
     R_AARCH64_ABS32,
     kData,
     {.S = 0, .A = -k2_31 - 1},
     kOverflow,
     -k2_31 - 1,
     0},
    {"ABS16_max", R_AARCH64_ABS16, kData, {.S = 0xff00, .A = 0xff}, kOk, 0xffff, 0xffff},
    {"ABS16_max_plus_1", R_AARCH64_ABS16, kData, {.S = 0xff00, .A = 0x100}, kOverflow, 0x10000, 0},
    {"ABS16_min", R_AARCH64_ABS16, kData, {.S = 0, .A = -0x8000}, kOk, -0x8000, 0x8000},
    {"ABS16_min_minus_1", R_AARCH64_ABS16, kData, {.S = 0, .A = -0x8001}, kOverflow, -0x8001, 0},
    // S + A - P : any / bit32 / bit16
    {"PREL64",
     R_AARCH64_PREL64,
     kData,
     {.S = 0, .A = 0, .P = 0x1000},
     kOk,
     -0x1000,
     0xfffffffffffff000},
    {"PREL32_max",
     R_AARCH64_PREL32,
     kData,
     {.S = 0x100000fff, .P = 0x1000},
     kOk,
     0xffffffff,
     0xffffffff},
    {"PREL32_max_plus_1",
     R_AARCH64_PREL32,
     kData,
     {.S = 0x100001000, .P = 0x1000},
     kOverflow,
     k2_32,
     0},
    {"PREL32_min", R_AARCH64_PREL32, kData, {.S = 0, .P = 0x80000000}, kOk, -k2_31, 0x80000000},
    {"PREL32_min_minus_1",
     R_AARCH64_PREL32,
     kData,
     {.S = 0, .P = 0x80000001},
     kOverflow,
     -k2_31 - 1,
     0},
    {"PREL16_max", R_AARCH64_PREL16, kData, {.S = 0x10fff, .P = 0x1000}, kOk, 0xffff, 0xffff},
    {"PREL16_max_plus_1",
     R_AARCH64_PREL16,
     kData,
     {.S = 0x11000, .P = 0x1000},
     kOverflow,
     0x10000,
     0},
    {"PREL16_min", R_AARCH64_PREL16, kData, {.S = 0x1000, .P = 0x9000}, kOk, -0x8000, 0x8000},
    {"PREL16_min_minus_1",
     R_AARCH64_PREL16,
     kData,
     {.S = 0x1000, .P = 0x9001},
     kOverflow,
     -0x8001,
     0},
    // L + A - P : int32
    {"PLT32_max",
     R_AARCH64_PLT32,
     kData,
     {.S = 0x80000fff, .P = 0x1000},
     kOk,
     0x7fffffff,
     0x7fffffff},
    {"PLT32_max_plus_1",
     R_AARCH64_PLT32,
     kData,
     {.S = 0x80001000, .P = 0x1000},
     kOverflow,
     0x80000000,
     0},
    {"PLT32_min", R_AARCH64_PLT32, kData, {.S = 0, .P = 0x80000000}, kOk, -k2_31, 0x80000000},
    {"PLT32_min_minus_1",
     R_AARCH64_PLT32,
     kData,
     {.S = 0, .P = 0x80000001},
     kOverflow,
     -k2_31 - 1,
     0},
    // G + A - P : int32
    {"GOTPCREL32_max",
     R_AARCH64_GOTPCREL32,
     kData,
     {.P = 0x1000, .G = 0x80000fff},
     kOk,
     0x7fffffff,
     0x7fffffff},
    {"GOTPCREL32_max_plus_1",
     R_AARCH64_GOTPCREL32,
     kData,
     {.P = 0x1000, .G = 0x80001000},
     kOverflow,
     0x80000000,
     0},
    {"GOTPCREL32_no_slot", R_AARCH64_GOTPCREL32, kData, {.P = 0x1000}, kNoGot, 0, 0},
    // S + A - GOT : any / int32
    {"GOTREL64",
     R_AARCH64_GOTREL64,
     kData,
     {.S = 0x1000, .GOT = 0x3000},
     kOk,
     -0x2000,
     0xffffffffffffe000},
    {"GOTREL32_max",
     R_AARCH64_GOTREL32,
     kData,
     {.S = 0x80000fff, .GOT = 0x1000},
     kOk,
     0x7fffffff,
     0x7fffffff},
    {"GOTREL32_max_plus_1",
     R_AARCH64_GOTREL32,
     kData,
     {.S = 0x80001000, .GOT = 0x1000},
     kOverflow,
     0x80000000,
     0},
    {"GOTREL32_min",
     R_AARCH64_GOTREL32,
     kData,
     {.S = 0, .GOT = 0x80000000},
     kOk,
     -k2_31,
     0x80000000},
    {"GOTREL32_min_minus_1",
     R_AARCH64_GOTREL32,
     kData,
     {.S = 0, .GOT = 0x80000001},
     kOverflow,
     -k2_31 - 1,
     0},

    // B/BL: S + A - P : int28, align 4 -> imm26
    {"CALL26_max", R_AARCH64_CALL26, kBl, {.S = P + 0x7fffffc, .P = P}, kOk, 0x7fffffc, 0x95ffffff},
    {"CALL26_max_plus_4",
     R_AARCH64_CALL26,
     kBl,
     {.S = P + 0x8000000, .P = P},
     kOverflow,
     0x8000000,
     0},
    {"CALL26_min",
     R_AARCH64_CALL26,
     kBl,
     {.S = P, .A = -0x8000000, .P = P},
     kOk,
     -0x8000000,
     0x96000000},
    {"CALL26_min_minus_4",
     R_AARCH64_CALL26,
     kBl,
     {.S = P, .A = -0x8000004, .P = P},
     kOverflow,
     -0x8000004,
     0},
    {"CALL26_misaligned", R_AARCH64_CALL26, kBl, {.S = P + 2, .P = P}, kMisaligned, 2, 0},
    {"CALL26_on_a_nop", R_AARCH64_CALL26, kNop, {.S = P + 8, .P = P}, kBadInsn, 8, 0},
    {"JUMP26_max", R_AARCH64_JUMP26, kB, {.S = P + 0x7fffffc, .P = P}, kOk, 0x7fffffc, 0x15ffffff},
    {"JUMP26_max_plus_4",
     R_AARCH64_JUMP26,
     kB,
     {.S = P + 0x8000000, .P = P},
     kOverflow,
     0x8000000,
     0},
    {"JUMP26_min",
     R_AARCH64_JUMP26,
     kB,
     {.S = P, .A = -0x8000000, .P = P},
     kOk,
     -0x8000000,
     0x16000000},
    {"JUMP26_min_minus_4",
     R_AARCH64_JUMP26,
     kB,
     {.S = P, .A = -0x8000004, .P = P},
     kOverflow,
     -0x8000004,
     0},
    // B.cond, CBZ: S + A - P : int21, align 4 -> imm19
    {"CONDBR19_max",
     R_AARCH64_CONDBR19,
     kBeq,
     {.S = P + 0xffffc, .P = P},
     kOk,
     0xffffc,
     0x547fffe0},
    {"CONDBR19_max_plus_4",
     R_AARCH64_CONDBR19,
     kBeq,
     {.S = P + 0x100000, .P = P},
     kOverflow,
     0x100000,
     0},
    {"CONDBR19_min", R_AARCH64_CONDBR19, kCbz, {.S = 0, .P = P}, kOk, -0x100000, 0xb4800000},
    {"CONDBR19_min_minus_4",
     R_AARCH64_CONDBR19,
     kCbz,
     {.S = 0, .A = -4, .P = P},
     kOverflow,
     -0x100004,
     0},
    {"CONDBR19_misaligned", R_AARCH64_CONDBR19, kBeq, {.S = P + 6, .P = P}, kMisaligned, 6, 0},
    {"CONDBR19_on_a_bl", R_AARCH64_CONDBR19, kBl, {.S = P + 8, .P = P}, kBadInsn, 8, 0},
    // TBZ: S + A - P : int16, align 4 -> imm14
    {"TSTBR14_max", R_AARCH64_TSTBR14, kTbz, {.S = P + 0x7ffc, .P = P}, kOk, 0x7ffc, 0x3603ffe0},
    {"TSTBR14_max_plus_4",
     R_AARCH64_TSTBR14,
     kTbz,
     {.S = P + 0x8000, .P = P},
     kOverflow,
     0x8000,
     0},
    {"TSTBR14_min", R_AARCH64_TSTBR14, kTbz, {.S = P - 0x8000, .P = P}, kOk, -0x8000, 0x36040000},
    {"TSTBR14_min_minus_4",
     R_AARCH64_TSTBR14,
     kTbz,
     {.S = P - 0x8004, .P = P},
     kOverflow,
     -0x8004,
     0},
    {"TSTBR14_misaligned", R_AARCH64_TSTBR14, kTbz, {.S = P + 1, .P = P}, kMisaligned, 1, 0},
    // LDR literal: S + A - P : int21, align 4 -> imm19
    {"LD_PREL_LO19_max",
     R_AARCH64_LD_PREL_LO19,
     kLdrLit,
     {.S = P + 0xffffc, .P = P},
     kOk,
     0xffffc,
     0x587fffe0},
    {"LD_PREL_LO19_max_plus_4",
     R_AARCH64_LD_PREL_LO19,
     kLdrLit,
     {.S = P + 0x100000, .P = P},
     kOverflow,
     0x100000,
     0},
    {"LD_PREL_LO19_min",
     R_AARCH64_LD_PREL_LO19,
     kLdrLit,
     {.S = 0, .P = P},
     kOk,
     -0x100000,
     0x58800000},
    {"LD_PREL_LO19_min_minus_4",
     R_AARCH64_LD_PREL_LO19,
     kLdrLit,
     {.S = 0, .A = -4, .P = P},
     kOverflow,
     -0x100004,
     0},
    // ADR: S + A - P : int21
    {"ADR_PREL_LO21_max",
     R_AARCH64_ADR_PREL_LO21,
     kAdr,
     {.S = P + 0xfffff, .P = P},
     kOk,
     0xfffff,
     0x707fffe0},
    {"ADR_PREL_LO21_max_plus_1",
     R_AARCH64_ADR_PREL_LO21,
     kAdr,
     {.S = P + 0x100000, .P = P},
     kOverflow,
     0x100000,
     0},
    {"ADR_PREL_LO21_min",
     R_AARCH64_ADR_PREL_LO21,
     kAdr,
     {.S = 0, .P = P},
     kOk,
     -0x100000,
     0x10800000},
    {"ADR_PREL_LO21_min_minus_1",
     R_AARCH64_ADR_PREL_LO21,
     kAdr,
     {.S = 0, .A = -1, .P = P},
     kOverflow,
     -0x100001,
     0},
    {"ADR_PREL_LO21_on_an_adrp", R_AARCH64_ADR_PREL_LO21, kAdrp, {.S = P, .P = P}, kBadInsn, 0, 0},
    // ADRP: Page(S + A) - Page(P) : int33
    {"ADR_PREL_PG_HI21_max",
     R_AARCH64_ADR_PREL_PG_HI21,
     kAdrp,
     {.S = P + 0xfffff000 + 0xfff, .P = P},
     kOk,
     0xfffff000,
     0xf07fffe0},
    {"ADR_PREL_PG_HI21_max_plus_page",
     R_AARCH64_ADR_PREL_PG_HI21,
     kAdrp,
     {.S = P + 0x100000000, .P = P},
     kOverflow,
     k2_32,
     0},
    {"ADR_PREL_PG_HI21_min",
     R_AARCH64_ADR_PREL_PG_HI21,
     kAdrp,
     {.S = 0x200000000, .P = 0x300000fff},
     kOk,
     -k2_32,
     0x90800000},
    {"ADR_PREL_PG_HI21_min_minus_page",
     R_AARCH64_ADR_PREL_PG_HI21,
     kAdrp,
     {.S = 0x200000000, .A = -1, .P = 0x300000000},
     kOverflow,
     -k2_32 - 0x1000,
     0},
    {"ADR_PREL_PG_HI21_next_page_8_bytes_on",
     R_AARCH64_ADR_PREL_PG_HI21,
     kAdrp,
     {.S = 0x101000, .P = 0x100ff8},
     kOk,
     0x1000,
     0xb0000000},
    {"ADR_PREL_PG_HI21_on_an_add",
     R_AARCH64_ADR_PREL_PG_HI21,
     kAdd,
     {.S = P, .P = P},
     kBadInsn,
     0,
     0},
    {"ADR_PREL_PG_HI21_NC_truncates",
     R_AARCH64_ADR_PREL_PG_HI21_NC,
     kAdrp,
     {.S = P + 0x100000000, .P = P},
     kOk,
     k2_32,
     0x90800000},
    // ADD, LDST: S + A : any -> imm12 of X[11:scale]
    {"ADD_ABS_LO12_NC",
     R_AARCH64_ADD_ABS_LO12_NC,
     kAdd,
     {.S = 0x12345fff},
     kOk,
     0x12345fff,
     0x913ffc00},
    {"ADD_ABS_LO12_NC_on_a_ldr",
     R_AARCH64_ADD_ABS_LO12_NC,
     kLdrX,
     {.S = 0x1000},
     kBadInsn,
     0x1000,
     0},
    {"LDST8_ABS_LO12_NC",
     R_AARCH64_LDST8_ABS_LO12_NC,
     kLdrb,
     {.S = 0x1fff},
     kOk,
     0x1fff,
     0x397ffc00},
    {"LDST8_ABS_LO12_NC_on_an_add",
     R_AARCH64_LDST8_ABS_LO12_NC,
     kAdd,
     {.S = 0x1fff},
     kBadInsn,
     0x1fff,
     0},
    {"LDST16_ABS_LO12_NC",
     R_AARCH64_LDST16_ABS_LO12_NC,
     kLdrh,
     {.S = 0x1ffe},
     kOk,
     0x1ffe,
     0x795ffc00},
    {"LDST16_ABS_LO12_NC_misaligned",
     R_AARCH64_LDST16_ABS_LO12_NC,
     kLdrh,
     {.S = 0x1fff},
     kMisaligned,
     0x1fff,
     0},
    {"LDST32_ABS_LO12_NC",
     R_AARCH64_LDST32_ABS_LO12_NC,
     kLdrW,
     {.S = 0x1ffc},
     kOk,
     0x1ffc,
     0xb94ffc00},
    {"LDST32_ABS_LO12_NC_misaligned",
     R_AARCH64_LDST32_ABS_LO12_NC,
     kLdrW,
     {.S = 0x1ffe},
     kMisaligned,
     0x1ffe,
     0},
    {"LDST64_ABS_LO12_NC",
     R_AARCH64_LDST64_ABS_LO12_NC,
     kLdrX,
     {.S = 0x1ff8},
     kOk,
     0x1ff8,
     0xf947fc00},
    {"LDST64_ABS_LO12_NC_misaligned",
     R_AARCH64_LDST64_ABS_LO12_NC,
     kLdrX,
     {.S = 0x1ffc},
     kMisaligned,
     0x1ffc,
     0},
    {"LDST128_ABS_LO12_NC",
     R_AARCH64_LDST128_ABS_LO12_NC,
     kLdrQ,
     {.S = 0x1ff0},
     kOk,
     0x1ff0,
     0x3dc3fc00},
    {"LDST128_ABS_LO12_NC_misaligned",
     R_AARCH64_LDST128_ABS_LO12_NC,
     kLdrQ,
     {.S = 0x1ff8},
     kMisaligned,
     0x1ff8,
     0},

    // MOVW, unsigned: S + A : uintN -> imm16
    {"MOVW_UABS_G0_max", R_AARCH64_MOVW_UABS_G0, kMovz, {.S = 0xffff}, kOk, 0xffff, 0xd29fffe0},
    {"MOVW_UABS_G0_max_plus_1",
     R_AARCH64_MOVW_UABS_G0,
     kMovz,
     {.S = 0x10000},
     kOverflow,
     0x10000,
     0},
    {"MOVW_UABS_G0_negative", R_AARCH64_MOVW_UABS_G0, kMovz, {.S = 0, .A = -1}, kOverflow, -1, 0},
    {"MOVW_UABS_G0_on_a_nop", R_AARCH64_MOVW_UABS_G0, kNop, {.S = 1}, kBadInsn, 1, 0},
    {"MOVW_UABS_G0_NC",
     R_AARCH64_MOVW_UABS_G0_NC,
     kMovk,
     {.S = 0x123456789abcdef0},
     kOk,
     0x123456789abcdef0,
     0xf29bde00},
    {"MOVW_UABS_G1_max",
     R_AARCH64_MOVW_UABS_G1,
     kMovz16,
     {.S = 0xffffffff},
     kOk,
     0xffffffff,
     0xd2bfffe0},
    {"MOVW_UABS_G1_max_plus_1",
     R_AARCH64_MOVW_UABS_G1,
     kMovz16,
     {.S = 0x100000000},
     kOverflow,
     k2_32,
     0},
    {"MOVW_UABS_G1_NC",
     R_AARCH64_MOVW_UABS_G1_NC,
     kMovk16,
     {.S = 0x123456789abcdef0},
     kOk,
     0x123456789abcdef0,
     0xf2b35780},
    {"MOVW_UABS_G2_max",
     R_AARCH64_MOVW_UABS_G2,
     kMovz32,
     {.S = 0xffffffffffff},
     kOk,
     k2_48 - 1,
     0xd2dfffe0},
    {"MOVW_UABS_G2_max_plus_1",
     R_AARCH64_MOVW_UABS_G2,
     kMovz32,
     {.S = 0x1000000000000},
     kOverflow,
     k2_48,
     0},
    {"MOVW_UABS_G2_NC",
     R_AARCH64_MOVW_UABS_G2_NC,
     kMovk32,
     {.S = 0x123456789abcdef0},
     kOk,
     0x123456789abcdef0,
     0xf2cacf00},
    {"MOVW_UABS_G3",
     R_AARCH64_MOVW_UABS_G3,
     kMovk48,
     {.S = 0x123456789abcdef0},
     kOk,
     0x123456789abcdef0,
     0xf2e24680},
    // MOVW, signed: S + A : intN -> MOVZ of X, or MOVN of ~X
    {"MOVW_SABS_G0_max", R_AARCH64_MOVW_SABS_G0, kMovz, {.S = 0xffff}, kOk, 0xffff, 0xd29fffe0},
    {"MOVW_SABS_G0_max_plus_1",
     R_AARCH64_MOVW_SABS_G0,
     kMovz,
     {.S = 0x10000},
     kOverflow,
     0x10000,
     0},
    {"MOVW_SABS_G0_min",
     R_AARCH64_MOVW_SABS_G0,
     kMovz,
     {.S = 0, .A = -0x10000},
     kOk,
     -0x10000,
     0x929fffe0},
    {"MOVW_SABS_G0_min_minus_1",
     R_AARCH64_MOVW_SABS_G0,
     kMovz,
     {.S = 0, .A = -0x10001},
     kOverflow,
     -0x10001,
     0},
    {"MOVW_SABS_G1_max",
     R_AARCH64_MOVW_SABS_G1,
     kMovz16,
     {.S = 0xffffffff},
     kOk,
     0xffffffff,
     0xd2bfffe0},
    {"MOVW_SABS_G1_max_plus_1",
     R_AARCH64_MOVW_SABS_G1,
     kMovz16,
     {.S = 0x100000000},
     kOverflow,
     k2_32,
     0},
    {"MOVW_SABS_G1_min",
     R_AARCH64_MOVW_SABS_G1,
     kMovz16,
     {.S = 0, .A = -k2_32},
     kOk,
     -k2_32,
     0x92bfffe0},
    {"MOVW_SABS_G1_min_minus_1",
     R_AARCH64_MOVW_SABS_G1,
     kMovz16,
     {.S = 0, .A = -k2_32 - 1},
     kOverflow,
     -k2_32 - 1,
     0},
    {"MOVW_SABS_G2_max",
     R_AARCH64_MOVW_SABS_G2,
     kMovz32,
     {.S = 0xffffffffffff},
     kOk,
     k2_48 - 1,
     0xd2dfffe0},
    {"MOVW_SABS_G2_max_plus_1",
     R_AARCH64_MOVW_SABS_G2,
     kMovz32,
     {.S = 0x1000000000000},
     kOverflow,
     k2_48,
     0},
    {"MOVW_SABS_G2_min",
     R_AARCH64_MOVW_SABS_G2,
     kMovz32,
     {.S = 0, .A = -k2_48},
     kOk,
     -k2_48,
     0x92dfffe0},
    {"MOVW_SABS_G2_min_minus_1",
     R_AARCH64_MOVW_SABS_G2,
     kMovz32,
     {.S = 0, .A = -k2_48 - 1},
     kOverflow,
     -k2_48 - 1,
     0},
    // MOVW, PC-relative: S + A - P : intN; MOVK keeps its opcode
    {"MOVW_PREL_G0_max",
     R_AARCH64_MOVW_PREL_G0,
     kMovz,
     {.S = P + 0xffff, .P = P},
     kOk,
     0xffff,
     0xd29fffe0},
    {"MOVW_PREL_G0_max_plus_1",
     R_AARCH64_MOVW_PREL_G0,
     kMovz,
     {.S = P + 0x10000, .P = P},
     kOverflow,
     0x10000,
     0},
    {"MOVW_PREL_G0_min",
     R_AARCH64_MOVW_PREL_G0,
     kMovz,
     {.S = P - 0x10000, .P = P},
     kOk,
     -0x10000,
     0x929fffe0},
    {"MOVW_PREL_G0_min_minus_1",
     R_AARCH64_MOVW_PREL_G0,
     kMovz,
     {.S = P - 0x10001, .P = P},
     kOverflow,
     -0x10001,
     0},
    {"MOVW_PREL_G0_NC_movk",
     R_AARCH64_MOVW_PREL_G0_NC,
     kMovk,
     {.S = P - 1, .P = P},
     kOk,
     -1,
     0xf29fffe0},
    {"MOVW_PREL_G1_max",
     R_AARCH64_MOVW_PREL_G1,
     kMovz16,
     {.S = P + 0xffffffff, .P = P},
     kOk,
     0xffffffff,
     0xd2bfffe0},
    {"MOVW_PREL_G1_max_plus_1",
     R_AARCH64_MOVW_PREL_G1,
     kMovz16,
     {.S = P + 0x100000000, .P = P},
     kOverflow,
     k2_32,
     0},
    {"MOVW_PREL_G1_min",
     R_AARCH64_MOVW_PREL_G1,
     kMovz16,
     {.S = P, .A = -k2_32, .P = P},
     kOk,
     -k2_32,
     0x92bfffe0},
    {"MOVW_PREL_G1_min_minus_1",
     R_AARCH64_MOVW_PREL_G1,
     kMovz16,
     {.S = P, .A = -k2_32 - 1, .P = P},
     kOverflow,
     -k2_32 - 1,
     0},
    {"MOVW_PREL_G1_NC_movk",
     R_AARCH64_MOVW_PREL_G1_NC,
     kMovk16,
     {.S = P + 0x12345678, .P = P},
     kOk,
     0x12345678,
     0xf2a24680},
    {"MOVW_PREL_G2_max",
     R_AARCH64_MOVW_PREL_G2,
     kMovz32,
     {.S = P + 0xffffffffffff, .P = P},
     kOk,
     k2_48 - 1,
     0xd2dfffe0},
    {"MOVW_PREL_G2_max_plus_1",
     R_AARCH64_MOVW_PREL_G2,
     kMovz32,
     {.S = P + 0x1000000000000, .P = P},
     kOverflow,
     k2_48,
     0},
    {"MOVW_PREL_G2_min",
     R_AARCH64_MOVW_PREL_G2,
     kMovz32,
     {.S = P, .A = -k2_48, .P = P},
     kOk,
     -k2_48,
     0x92dfffe0},
    {"MOVW_PREL_G2_min_minus_1",
     R_AARCH64_MOVW_PREL_G2,
     kMovz32,
     {.S = P, .A = -k2_48 - 1, .P = P},
     kOverflow,
     -k2_48 - 1,
     0},
    {"MOVW_PREL_G2_NC_movk",
     R_AARCH64_MOVW_PREL_G2_NC,
     kMovk32,
     {.S = P - 1, .P = P},
     kOk,
     -1,
     0xf2dfffe0},
    {"MOVW_PREL_G3_negative_is_movn",
     R_AARCH64_MOVW_PREL_G3,
     kMovz48,
     {.S = P - 1, .P = P},
     kOk,
     -1,
     0x92e00000},
    {"MOVW_PREL_G3_positive_is_movz",
     R_AARCH64_MOVW_PREL_G3,
     kMovz48,
     {.S = P + 0x7fff000000000000, .P = P},
     kOk,
     0x7fff000000000000,
     0xd2efffe0},

    // Through the GOT.
    {"GOT_LD_PREL19_max",
     R_AARCH64_GOT_LD_PREL19,
     kLdrLit,
     {.P = P, .G = P + 0xffffc},
     kOk,
     0xffffc,
     0x587fffe0},
    {"GOT_LD_PREL19_max_plus_4",
     R_AARCH64_GOT_LD_PREL19,
     kLdrLit,
     {.P = P, .G = P + 0x100000},
     kOverflow,
     0x100000,
     0},
    {"GOT_LD_PREL19_min",
     R_AARCH64_GOT_LD_PREL19,
     kLdrLit,
     {.P = 2 * P, .G = P},
     kOk,
     -0x100000,
     0x58800000},
    {"GOT_LD_PREL19_min_minus_4",
     R_AARCH64_GOT_LD_PREL19,
     kLdrLit,
     {.P = 2 * P, .G = P - 4},
     kOverflow,
     -0x100004,
     0},
    {"GOT_LD_PREL19_addend_has_no_slot",
     R_AARCH64_GOT_LD_PREL19,
     kLdrLit,
     {.A = 8, .P = P, .G = P + 0x100},
     kNoGot,
     0,
     0},
    {"ADR_GOT_PAGE_max",
     R_AARCH64_ADR_GOT_PAGE,
     kAdrp,
     {.P = P, .G = P + 0xfffff000},
     kOk,
     0xfffff000,
     0xf07fffe0},
    {"ADR_GOT_PAGE_max_plus_page",
     R_AARCH64_ADR_GOT_PAGE,
     kAdrp,
     {.P = P, .G = P + 0x100000000},
     kOverflow,
     k2_32,
     0},
    {"ADR_GOT_PAGE_min",
     R_AARCH64_ADR_GOT_PAGE,
     kAdrp,
     {.P = 0x300000000, .G = 0x200000000},
     kOk,
     -k2_32,
     0x90800000},
    {"ADR_GOT_PAGE_min_minus_page",
     R_AARCH64_ADR_GOT_PAGE,
     kAdrp,
     {.P = 0x300000000, .G = 0x1fffffff8},
     kOverflow,
     -k2_32 - 0x1000,
     0},
    {"ADR_GOT_PAGE_no_slot", R_AARCH64_ADR_GOT_PAGE, kAdrp, {.S = P, .P = P}, kNoGot, 0, 0},
    {"LD64_GOT_LO12_NC",
     R_AARCH64_LD64_GOT_LO12_NC,
     kLdrX,
     {.G = 0x12345ff8},
     kOk,
     0x12345ff8,
     0xf947fc00},
    {"LD64_GOT_LO12_NC_misaligned",
     R_AARCH64_LD64_GOT_LO12_NC,
     kLdrX,
     {.G = 0x12345ffc},
     kMisaligned,
     0x12345ffc,
     0},
    {"LD64_GOT_LO12_NC_no_slot", R_AARCH64_LD64_GOT_LO12_NC, kLdrX, {.S = 0x1000}, kNoGot, 0, 0},
};

class AArch64Apply : public ::testing::TestWithParam<Case> {};

TEST_P(AArch64Apply, BoundaryPair) {
  const Case& c = GetParam();
  const RelocKind* k = kAArch64.kind(c.type);
  ASSERT_NE(k, nullptr);
  Section s(c.insn);
  Section before = s;
  ApplyResult r = kAArch64.apply(c.type, s.loc(), kRoom, c.v);
  EXPECT_EQ(r.status, c.status);
  EXPECT_EQ(r.value, c.value);
  if (c.status != kOk) {
    EXPECT_EQ(memcmp(s.buf, before.buf, kBufSize), 0) << "stored something on failure";
    return;
  }
  const unsigned width = k->shape.width;
  if (c.insn == kData) {
    EXPECT_EQ(s.at(width), le(c.expect, width));
  } else {
    EXPECT_EQ(s.insn(), c.expect) << std::hex << "got 0x" << s.insn() << ", want 0x" << c.expect;
  }
  // Nothing outside the field's bytes changed.
  for (size_t i = 0; i < kBufSize; ++i) {
    if (i >= kRoom && i < kRoom + width) continue;
    EXPECT_EQ(s.buf[i], before.buf[i]) << "byte " << i;
  }
}

INSTANTIATE_TEST_SUITE_P(Kinds, AArch64Apply, ::testing::ValuesIn(kCases),
                         [](const auto& p) { return std::string(p.param.what); });

// Every kind of the table, TLS aside, has a case above; and every kind a
// case names is in the table.
TEST(AArch64Table, EveryKindHasACase) {
  std::set<uint32_t> covered;
  for (const Case& c : kCases)
    covered.insert(c.type);
  int kinds = 0;
  for (uint32_t type = 0; type < 2048; ++type) {
    const RelocKind* k = kAArch64.kind(type);
    if (k == nullptr) continue;
    ++kinds;
    EXPECT_EQ(k->type, type);
    EXPECT_EQ(kAArch64.rules.shape(type), &k->shape);
    if (k->shape.tls) {
      EXPECT_EQ(kAArch64.apply(type, nullptr, 0, {}).status, kBadInsn) << k->shape.name;
      continue;
    }
    EXPECT_TRUE(covered.count(type)) << k->shape.name << " has no boundary case";
  }
  EXPECT_GT(kinds, 100);
}

TEST(AArch64Table, NamesAndWidths) {
  EXPECT_STREQ(kAArch64.kind(R_AARCH64_CALL26)->shape.name, "R_AARCH64_CALL26");
  EXPECT_EQ(kAArch64.kind(R_AARCH64_CALL26)->shape.width, 4);
  EXPECT_EQ(kAArch64.kind(R_AARCH64_CALL26)->need, Need::kBranch);
  EXPECT_EQ(kAArch64.kind(R_AARCH64_JUMP26)->need, Need::kBranch);
  EXPECT_EQ(kAArch64.kind(R_AARCH64_ABS64)->shape.width, 8);
  EXPECT_EQ(kAArch64.kind(R_AARCH64_ABS16)->shape.width, 2);
  EXPECT_EQ(kAArch64.kind(R_AARCH64_ADR_GOT_PAGE)->need, Need::kGot);
  EXPECT_EQ(kAArch64.kind(R_AARCH64_LD64_GOT_LO12_NC)->need, Need::kGot);
  EXPECT_EQ(kAArch64.kind(R_AARCH64_ADR_PREL_PG_HI21)->pair, Pair::kPart);
  EXPECT_EQ(kAArch64.kind(R_AARCH64_ADD_ABS_LO12_NC)->pair, Pair::kPart);
  EXPECT_TRUE(kAArch64.kind(R_AARCH64_TLSDESC_CALL)->shape.tls);
  EXPECT_TRUE(kAArch64.kind(R_AARCH64_TLSLE_ADD_TPREL_HI12)->shape.tls);
  // Dynamic relocations have no meaning in a relocatable object.
  for (uint32_t dyn : {1024u, 1025u, 1026u, 1027u, 1031u, 1032u})
    EXPECT_EQ(kAArch64.kind(dyn), nullptr) << dyn;
  EXPECT_EQ(kAArch64.kind(281), nullptr);  // a gap in the numbering
  EXPECT_EQ(kAArch64.rules.machine, elf::EM_AARCH64);
}

TEST(AArch64Stub, IsLdrX16BrX16AndTheTarget) {
  uint8_t buf[kStubSize];
  memset(buf, 0, sizeof buf);
  kAArch64.write_stub(buf, 0x5000, 0x1122334455667788);
  Bytes want = le(0x58000050, 4);
  Bytes br = le(0xd61f0200, 4), target = le(0x1122334455667788, 8);
  want.insert(want.end(), br.begin(), br.end());
  want.insert(want.end(), target.begin(), target.end());
  EXPECT_EQ(Bytes(buf, buf + kStubSize), want);
  EXPECT_EQ(kAArch64.stub_size, kStubSize);
  EXPECT_EQ(kAArch64.stub_align, kStubAlign);
}

TEST(AArch64Stub, BranchReachesWithinPlusMinus128MiBLessSlack) {
  const uint64_t p = 0x40000000;
  const int64_t edge = (int64_t{1} << 27) - kBranchSlack;
  EXPECT_TRUE(kAArch64.branch_reaches(R_AARCH64_CALL26, p, p + edge - 4));
  EXPECT_FALSE(kAArch64.branch_reaches(R_AARCH64_CALL26, p, p + edge));
  EXPECT_TRUE(kAArch64.branch_reaches(R_AARCH64_JUMP26, p, p - edge));
  EXPECT_FALSE(kAArch64.branch_reaches(R_AARCH64_JUMP26, p, p - edge - 4));
  EXPECT_FALSE(kAArch64.branch_reaches(R_AARCH64_CONDBR19, p, p + 8)) << "not a stub branch";
  EXPECT_FALSE(kAArch64.branch_reaches(R_AARCH64_ABS64, p, p));
  EXPECT_LT(kAArch64.file_span, uint64_t{1} << 27) << "a file's own BL must reach across it";
}

TEST(AArch64Stub, AStubReachesAnyTarget) {
  // A BL out of range fails; the same BL to a stub next to it works, and the
  // stub holds the real target.
  Section s(kBl);
  RelocValues v{.S = 0x7f0000000000, .P = 0x10000000};
  EXPECT_EQ(kAArch64.apply(R_AARCH64_CALL26, s.loc(), kRoom, v).status, kOverflow);
  v.S = 0x10000000 + 0x100;  // the stub
  EXPECT_EQ(kAArch64.apply(R_AARCH64_CALL26, s.loc(), kRoom, v).status, kOk);
  EXPECT_EQ(s.insn(), 0x94000040u);
}

TEST(AArch64Addend, DataFieldsSignExtendInstructionsHoldNone) {
  const uint8_t neg16[2] = {0xfe, 0xff};
  EXPECT_EQ(kAArch64.rules.implicit_addend(R_AARCH64_ABS16, neg16), -2);
  const uint8_t w32[4] = {0x78, 0x56, 0x34, 0x12};
  EXPECT_EQ(kAArch64.rules.implicit_addend(R_AARCH64_PREL32, w32), 0x12345678);
  EXPECT_EQ(kAArch64.rules.implicit_addend(R_AARCH64_CALL26, w32), 0);
  EXPECT_EQ(kAArch64.rules.implicit_addend(0xffff, w32), 0);
}

}  // namespace
}  // namespace mk::arch
