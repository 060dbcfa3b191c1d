// riscv64: the relocation kinds of the RISC-V ELF psABI as a table.
//
// Each row gives the kind's formula, its range check and the field it
// writes. `S + A - P : int13, align 2 -> B` means: the value X is computed
// modulo 2^64, read as a signed 64-bit number, must fit 13 bits signed and
// be even, and goes to a B-type instruction's immediate. The range rules are:
//   any       no check (LO12 parts, 64-bit fields, ADD/SUB/SET: modular)
//   intN      fits N bits signed
//   bitN      fits either: -2^(N-1) <= X < 2^N
//   hi20      X = (hi20 << 12) + lo12 with both sign-extended, that is
//             -2^31 - 0x800 <= X < 2^31 - 0x800 (the 0x800 carry: the low
//             part is signed, so the high part is rounded, (X + 0x800) >> 12)
// G is the address of the symbol's GOT slot; V the value already in the
// field (ADD/SUB accumulate a difference of two labels in place).
//
// Pairs. HI20 + LO12_I/S (lui + addi/ld/sd) each compute S + A: they pair by
// symbol. PCREL_HI20 and GOT_HI20 (auipc) compute a PC-relative value at
// their own P; their %pcrel_lo partner's symbol is the auipc's address,
// so the linker records each HI's value by its P and gives it to the LO as
// H (machine.h, Pair::kHi/kLo): the LO writes H's low 12 bits.
//
// Linker relaxation is not done: R_RISCV_RELAX is a hint that the code may
// be shortened, and unrelaxed code is correct, so it is ignored. R_RISCV_ALIGN
// asks the linker to delete padding that the assembler emitted for the
// longest case; keeping it would misalign what follows, so it is refused
// (build with -mno-relax, which emits the exact padding instead).
//
// Every instruction kind checks that the instruction at the place is of the
// class it patches (AUIPC for PCREL_HI20, AUIPC + JALR for CALL...).
// TLS kinds are in the table so the validator names them when it refuses
// them; apply() never sees them (if it does, it stores nothing: kBadInsn).
#include "arch/riscv64.h"

#include "arch/machine.h"
#include "elf/elf.h"
#include "support/checked.h"
#include "support/memory.h"

namespace mk::arch {
namespace {

using namespace riscv64;  // NOLINT: the R_RISCV_* names

enum class Formula : uint8_t {
  kNone,   // nothing computed, nothing stored (NONE, RELAX)
  kSA,     // S + A
  kSAP,    // S + A - P
  kGAP,    // G + A - P         (needs a slot)
  kH,      // H: the value of the kHi partner (PCREL_LO12_I/S)
  kAdd,    // V + S + A
  kSub,    // V - S - A
  kNever,  // TLS, ALIGN: refused by the validator, never applied
};

enum class Check : uint8_t { kAny, kSigned, kBitfield, kHi20 };

enum class Field : uint8_t {
  kNone,
  kData,   // the whole little-endian word of the row's width
  kData6,  // the low 6 bits of a byte (SET6, SUB6)
  kB,      // B-type: X[12|10:5] -> [31:25], X[4:1|11] -> [11:7]
  kJ,      // J-type: X[20|10:1|11|19:12] -> [31:12]
  kU,      // U-type: (X + 0x800) >> 12 -> [31:12]
  kI,      // I-type: X[11:0] -> [31:20]
  kS,      // S-type: X[11:5] -> [31:25], X[4:0] -> [11:7]
  kCall,   // AUIPC (U) + JALR (I) of the same X
  kCB,     // C.BEQZ/C.BNEZ: X[8|4:3] -> [12:10], X[7:6|2:1|5] -> [6:2]
  kCJ,     // C.J/C.JAL: X[11|4|9:8|10|6|7|3:1|5] -> [12:2]
};

// The instruction class a field may patch (the kBadInsn check).
enum class Insn : uint8_t { kAny, kBranch, kJal, kLui, kAuipc, kIType, kSType, kCall, kCB, kCJ };

struct RvKind {
  RelocKind kind;
  Formula formula;
  Check check;
  uint8_t bits;   // of the range check
  uint8_t align;  // X must be a multiple of this (1: any)
  Field field;
  Insn insn;
};

using F = Formula;
using C = Check;
using W = Field;
using I = Insn;
constexpr Need kNo = Need::kNone, kGot = Need::kGot, kBranch = Need::kBranch;
constexpr Reach kAny = Reach::kAny, kPc32 = Reach::kPcRel32, kAbs32 = Reach::kAbs32;
constexpr Pair kWhole = Pair::kNone, kPart = Pair::kPart, kHi = Pair::kHi, kLo = Pair::kLo;

// The plain data formulas the linker may apply inline (machine.h's Simple):
// a whole little-endian word, no alignment rule, range as the row's bits.
constexpr Simple simple_of(Formula f, Check c, uint8_t width, uint8_t bits, uint8_t align,
                           Field field) {
  if (field != W::kData || align != 1) return Simple::kNo;
  if (f == F::kSA && c == C::kAny && width == 8) return Simple::kSA64;
  if (f == F::kSAP && c == C::kAny && width == 8) return Simple::kSAP64;
  if (f == F::kSA && c == C::kSigned && width == 4 && bits == 32) return Simple::kSA32S;
  if (f == F::kSAP && c == C::kSigned && width == 4 && bits == 32) return Simple::kSAP32S;
  return Simple::kNo;
}

constexpr RvKind K(uint32_t type, const char* name, uint8_t width, Need need, Reach reach,
                   Pair pair, Formula f, Check c, uint8_t bits, uint8_t align, Field field,
                   Insn insn) {
  return {
      {type, {name, width, false}, need, reach, pair, simple_of(f, c, width, bits, align, field)},
      f,
      c,
      bits,
      align,
      field,
      insn};
}

// A TLS kind: known by name, refused by the validator.
constexpr RvKind Tls(uint32_t type, const char* name) {
  return {{type, {name, 4, true}, kNo, kAny}, F::kNever, C::kAny, 64, 1, W::kNone, I::kAny};
}

constexpr const char kAlignRefused[] =
    "asks the linker to delete alignment padding (linker relaxation), which modkit does not do; "
    "build the module with -mno-relax";

// clang-format off
constexpr RvKind kKinds[] = {
  //  type                 name                   bytes need     reach  pair    formula  check        bits align field     insn
  K(R_RISCV_NONE,          "R_RISCV_NONE",          0, kNo,     kAny,  kWhole, F::kNone, C::kAny,      64, 1, W::kNone,  I::kAny),
  K(R_RISCV_32,            "R_RISCV_32",            4, kNo,     kAbs32, kWhole, F::kSA,  C::kBitfield, 32, 1, W::kData,  I::kAny),    // S + A : bit32
  K(R_RISCV_64,            "R_RISCV_64",            8, kNo,     kAny,  kWhole, F::kSA,   C::kAny,      64, 1, W::kData,  I::kAny),    // S + A : any
  K(R_RISCV_BRANCH,        "R_RISCV_BRANCH",        4, kNo,     kAny,  kWhole, F::kSAP,  C::kSigned,   13, 2, W::kB,     I::kBranch), // S + A - P : int13, align 2 -> B
  K(R_RISCV_JAL,           "R_RISCV_JAL",           4, kBranch, kAny,  kWhole, F::kSAP,  C::kSigned,   21, 2, W::kJ,     I::kJal),    // S + A - P : int21, align 2 -> J
  K(R_RISCV_CALL,          "R_RISCV_CALL",          8, kBranch, kPc32, kWhole, F::kSAP,  C::kHi20,     32, 1, W::kCall,  I::kCall),   // S + A - P : hi20 -> AUIPC + JALR
  K(R_RISCV_CALL_PLT,      "R_RISCV_CALL_PLT",      8, kBranch, kPc32, kWhole, F::kSAP,  C::kHi20,     32, 1, W::kCall,  I::kCall),   // L + A - P : hi20 -> AUIPC + JALR
  K(R_RISCV_GOT_HI20,      "R_RISCV_GOT_HI20",      4, kGot,    kPc32, kHi,    F::kGAP,  C::kHi20,     32, 1, W::kU,     I::kAuipc),  // G + A - P : hi20 -> AUIPC
  Tls(R_RISCV_TLS_GOT_HI20, "R_RISCV_TLS_GOT_HI20"),
  Tls(R_RISCV_TLS_GD_HI20, "R_RISCV_TLS_GD_HI20"),
  K(R_RISCV_PCREL_HI20,    "R_RISCV_PCREL_HI20",    4, kNo,     kPc32, kHi,    F::kSAP,  C::kHi20,     32, 1, W::kU,     I::kAuipc),  // S + A - P : hi20 -> AUIPC
  K(R_RISCV_PCREL_LO12_I,  "R_RISCV_PCREL_LO12_I",  4, kNo,     kAny,  kLo,    F::kH,    C::kAny,      64, 1, W::kI,     I::kIType),  // H : any -> I
  K(R_RISCV_PCREL_LO12_S,  "R_RISCV_PCREL_LO12_S",  4, kNo,     kAny,  kLo,    F::kH,    C::kAny,      64, 1, W::kS,     I::kSType),  // H : any -> S
  K(R_RISCV_HI20,          "R_RISCV_HI20",          4, kNo,     kAbs32, kPart, F::kSA,   C::kHi20,     32, 1, W::kU,     I::kLui),    // S + A : hi20 -> LUI
  K(R_RISCV_LO12_I,        "R_RISCV_LO12_I",        4, kNo,     kAny,  kPart,  F::kSA,   C::kAny,      64, 1, W::kI,     I::kIType),  // S + A : any -> I
  K(R_RISCV_LO12_S,        "R_RISCV_LO12_S",        4, kNo,     kAny,  kPart,  F::kSA,   C::kAny,      64, 1, W::kS,     I::kSType),  // S + A : any -> S
  Tls(R_RISCV_TPREL_HI20,  "R_RISCV_TPREL_HI20"),
  Tls(R_RISCV_TPREL_LO12_I, "R_RISCV_TPREL_LO12_I"),
  Tls(R_RISCV_TPREL_LO12_S, "R_RISCV_TPREL_LO12_S"),
  {{R_RISCV_TPREL_ADD, {"R_RISCV_TPREL_ADD", 0, true}, kNo, kAny}, F::kNever, C::kAny, 64, 1, W::kNone, I::kAny},
  // V +- (S + A) : any, modulo 2^(8 x bytes)
  K(R_RISCV_ADD8,          "R_RISCV_ADD8",          1, kNo,     kAny,  kWhole, F::kAdd,  C::kAny,      64, 1, W::kData,  I::kAny),
  K(R_RISCV_ADD16,         "R_RISCV_ADD16",         2, kNo,     kAny,  kWhole, F::kAdd,  C::kAny,      64, 1, W::kData,  I::kAny),
  K(R_RISCV_ADD32,         "R_RISCV_ADD32",         4, kNo,     kAny,  kWhole, F::kAdd,  C::kAny,      64, 1, W::kData,  I::kAny),
  K(R_RISCV_ADD64,         "R_RISCV_ADD64",         8, kNo,     kAny,  kWhole, F::kAdd,  C::kAny,      64, 1, W::kData,  I::kAny),
  K(R_RISCV_SUB8,          "R_RISCV_SUB8",          1, kNo,     kAny,  kWhole, F::kSub,  C::kAny,      64, 1, W::kData,  I::kAny),
  K(R_RISCV_SUB16,         "R_RISCV_SUB16",         2, kNo,     kAny,  kWhole, F::kSub,  C::kAny,      64, 1, W::kData,  I::kAny),
  K(R_RISCV_SUB32,         "R_RISCV_SUB32",         4, kNo,     kAny,  kWhole, F::kSub,  C::kAny,      64, 1, W::kData,  I::kAny),
  K(R_RISCV_SUB64,         "R_RISCV_SUB64",         8, kNo,     kAny,  kWhole, F::kSub,  C::kAny,      64, 1, W::kData,  I::kAny),
  {{R_RISCV_ALIGN, {"R_RISCV_ALIGN", 0, false, kAlignRefused}, kNo, kAny}, F::kNever, C::kAny, 64, 1, W::kNone, I::kAny},
  K(R_RISCV_RVC_BRANCH,    "R_RISCV_RVC_BRANCH",    2, kNo,     kAny,  kWhole, F::kSAP,  C::kSigned,    9, 2, W::kCB,    I::kCB),     // S + A - P : int9, align 2 -> CB
  K(R_RISCV_RVC_JUMP,      "R_RISCV_RVC_JUMP",      2, kNo,     kAny,  kWhole, F::kSAP,  C::kSigned,   12, 2, W::kCJ,    I::kCJ),     // S + A - P : int12, align 2 -> CJ
  K(R_RISCV_RELAX,         "R_RISCV_RELAX",         0, kNo,     kAny,  kWhole, F::kNone, C::kAny,      64, 1, W::kNone,  I::kAny),    // a hint: ignored
  K(R_RISCV_SUB6,          "R_RISCV_SUB6",          1, kNo,     kAny,  kWhole, F::kSub,  C::kAny,      64, 1, W::kData6, I::kAny),    // V - S - A : any, 6 bits
  K(R_RISCV_SET6,          "R_RISCV_SET6",          1, kNo,     kAny,  kWhole, F::kSA,   C::kAny,      64, 1, W::kData6, I::kAny),    // S + A : any, 6 bits
  K(R_RISCV_SET8,          "R_RISCV_SET8",          1, kNo,     kAny,  kWhole, F::kSA,   C::kAny,      64, 1, W::kData,  I::kAny),    // S + A : any
  K(R_RISCV_SET16,         "R_RISCV_SET16",         2, kNo,     kAny,  kWhole, F::kSA,   C::kAny,      64, 1, W::kData,  I::kAny),    // S + A : any
  K(R_RISCV_SET32,         "R_RISCV_SET32",         4, kNo,     kAny,  kWhole, F::kSA,   C::kAny,      64, 1, W::kData,  I::kAny),    // S + A : any
  K(R_RISCV_32_PCREL,      "R_RISCV_32_PCREL",      4, kNo,     kPc32, kWhole, F::kSAP,  C::kSigned,   32, 1, W::kData,  I::kAny),    // S + A - P : int32
  K(R_RISCV_PLT32,         "R_RISCV_PLT32",         4, kBranch, kPc32, kWhole, F::kSAP,  C::kSigned,   32, 1, W::kData,  I::kAny),    // L + A - P : int32
  Tls(R_RISCV_TLSDESC_HI20, "R_RISCV_TLSDESC_HI20"),
  Tls(R_RISCV_TLSDESC_LOAD_LO12, "R_RISCV_TLSDESC_LOAD_LO12"),
  Tls(R_RISCV_TLSDESC_ADD_LO12, "R_RISCV_TLSDESC_ADD_LO12"),
  Tls(R_RISCV_TLSDESC_CALL, "R_RISCV_TLSDESC_CALL"),
};
// clang-format on

// Type -> row, built at compile time: kind() is one bounds check and a load.
constexpr uint32_t kMaxType = R_RISCV_TLSDESC_CALL;
constexpr int8_t kNoRow = -1;
constexpr size_t kRows = sizeof(kKinds) / sizeof(kKinds[0]);
static_assert(kRows < 128);

struct RowIndex {
  int8_t row[kMaxType + 1];
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
    index.row[type] = static_cast<int8_t>(i);
  }
  return index;
}

constexpr RowIndex kIndex = build_index();
static_assert(kIndex.ok, "a relocation type out of range or listed twice");

const RvKind* find(uint32_t type) {
  if (type > kMaxType || kIndex.row[type] == kNoRow) return nullptr;
  return &kKinds[kIndex.row[type]];
}

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

constexpr int64_t kHiMin = -(int64_t{1} << 31) - 0x800;
constexpr int64_t kHiMax = (int64_t{1} << 31) - 0x800 - 1;

bool fits(Check c, unsigned bits, int64_t x) {
  switch (c) {
    case Check::kAny:
      return true;
    case Check::kSigned:
      return fits_signed(x, bits);
    case Check::kBitfield:
      return fits_signed(x, bits) || fits_unsigned(static_cast<uint64_t>(x), bits);
    case Check::kHi20:
      return x >= kHiMin && x <= kHiMax;
  }
  return false;
}

constexpr uint32_t kOpLoad = 0x03, kOpLoadFp = 0x07, kOpImm = 0x13, kOpAuipc = 0x17,
                   kOpImm32 = 0x1b, kOpStore = 0x23, kOpStoreFp = 0x27, kOpLui = 0x37,
                   kOpBranch = 0x63, kOpJalr = 0x67, kOpJal = 0x6f;

// Is the instruction at loc (its first 4 bytes, or 8 for kCall, or 2 for
// compressed ones) of the class the kind patches?
bool insn_is(Insn c, const uint8_t* loc) {
  uint32_t op = loc[0] & 0x7f;
  switch (c) {
    case Insn::kAny:
      return true;
    case Insn::kBranch:
      return op == kOpBranch;
    case Insn::kJal:
      return op == kOpJal;
    case Insn::kLui:
      return op == kOpLui;
    case Insn::kAuipc:
      return op == kOpAuipc;
    case Insn::kIType:
      return op == kOpLoad || op == kOpLoadFp || op == kOpImm || op == kOpImm32 || op == kOpJalr;
    case Insn::kSType:
      return op == kOpStore || op == kOpStoreFp;
    case Insn::kCall:
      return op == kOpAuipc && (loc[4] & 0x7f) == kOpJalr;
    case Insn::kCB: {
      uint32_t h = static_cast<uint32_t>(load_le(loc, 2)) & 0xe003;
      return h == 0xc001 || h == 0xe001;  // c.beqz, c.bnez
    }
    case Insn::kCJ: {
      uint32_t h = static_cast<uint32_t>(load_le(loc, 2)) & 0xe003;
      return h == 0xa001 || h == 0x2001;  // c.j, c.jal (rv32)
    }
  }
  return false;
}

uint32_t bit(uint64_t x, unsigned from, unsigned to = 0) {
  return static_cast<uint32_t>((x >> from) & 1) << to;
}
uint32_t bits(uint64_t x, unsigned hi, unsigned lo, unsigned to) {
  return static_cast<uint32_t>((x >> lo) & ((uint64_t{1} << (hi - lo + 1)) - 1)) << to;
}

uint32_t hi20(uint64_t x) {
  return static_cast<uint32_t>(((x + 0x800) >> 12) & 0xfffff) << 12;
}

uint32_t put_u(uint32_t insn, uint64_t x) {
  return (insn & 0xfff) | hi20(x);
}
uint32_t put_i(uint32_t insn, uint64_t x) {
  return (insn & 0xfffff) | bits(x, 11, 0, 20);
}
uint32_t put_s(uint32_t insn, uint64_t x) {
  return (insn & 0x1fff07f) | bits(x, 11, 5, 25) | bits(x, 4, 0, 7);
}
uint32_t put_b(uint32_t insn, uint64_t x) {
  return (insn & 0x1fff07f) | bit(x, 12, 31) | bits(x, 10, 5, 25) | bits(x, 4, 1, 8) |
         bit(x, 11, 7);
}
uint32_t put_j(uint32_t insn, uint64_t x) {
  return (insn & 0xfff) | bit(x, 20, 31) | bits(x, 10, 1, 21) | bit(x, 11, 20) |
         bits(x, 19, 12, 12);
}
uint32_t put_cb(uint32_t insn, uint64_t x) {
  return (insn & 0xe383) | bit(x, 8, 12) | bits(x, 4, 3, 10) | bits(x, 7, 6, 5) | bits(x, 2, 1, 3) |
         bit(x, 5, 2);
}
uint32_t put_cj(uint32_t insn, uint64_t x) {
  return (insn & 0xe003) | bit(x, 11, 12) | bit(x, 4, 11) | bits(x, 9, 8, 9) | bit(x, 10, 8) |
         bit(x, 6, 7) | bit(x, 7, 6) | bits(x, 3, 1, 3) | bit(x, 5, 2);
}

const RelocKind* riscv64_kind(uint32_t type) {
  const RvKind* k = find(type);
  return k ? &k->kind : nullptr;
}

const elf::RelocShape* riscv64_shape(uint32_t type) {
  const RvKind* k = find(type);
  return k ? &k->kind.shape : nullptr;
}

// REL-style addend: the absolute and PC-relative data fields' bytes,
// sign-extended (riscv objects use RELA; this exists so the validator's
// contract holds for every machine). ADD/SUB/SET and instructions: 0.
int64_t riscv64_implicit_addend(uint32_t type, const uint8_t* at) {
  const RvKind* k = find(type);
  if (!k || k->field != Field::kData || (k->formula != F::kSA && k->formula != F::kSAP)) return 0;
  if (type >= R_RISCV_SET6 && type <= R_RISCV_SET32) return 0;
  uint8_t width = k->kind.shape.width;
  return sign_extend(load_le(at, width), 8u * width);
}

ApplyResult riscv64_apply(uint32_t type, uint8_t* loc, uint64_t /*room_before*/,
                          const RelocValues& v) {
  const RvKind* k = find(type);
  // An unknown, TLS or refused type here is a caller bug: the validator
  // refuses them.
  if (!k || k->formula == Formula::kNever) return {ApplyStatus::kBadInsn, 0};

  const uint8_t width = k->kind.shape.width;
  const uint64_t A = static_cast<uint64_t>(v.A);
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
    case Formula::kGAP:
      if (v.G == 0) return {ApplyStatus::kNoGot, 0};
      x = wrap(v.G + A - v.P);
      break;
    case Formula::kH:
      x = v.H;
      break;
    case Formula::kAdd:
      x = wrap(load_le(loc, width) + v.S + A);
      break;
    case Formula::kSub:
      x = wrap(load_le(loc, width) - v.S - A);
      break;
    case Formula::kNever:
      return {ApplyStatus::kBadInsn, 0};
  }

  if (!insn_is(k->insn, loc)) return {ApplyStatus::kBadInsn, x};
  if (!fits(k->check, k->bits, x)) return {ApplyStatus::kOverflow, x};
  if ((static_cast<uint64_t>(x) & (k->align - 1u)) != 0) return {ApplyStatus::kMisaligned, x};

  const uint64_t u = static_cast<uint64_t>(x);
  const uint32_t insn = static_cast<uint32_t>(load_le(loc, width >= 4 ? 4 : width));
  switch (k->field) {
    case Field::kNone:
      break;
    case Field::kData:
      store_le(loc, width, u);  // the row's width: 1, 2, 4 or 8 bytes
      break;
    case Field::kData6:
      loc[0] = static_cast<uint8_t>((loc[0] & 0xc0) | (u & 0x3f));
      break;
    case Field::kB:
      store_le(loc, 4, put_b(insn, u));
      break;
    case Field::kJ:
      store_le(loc, 4, put_j(insn, u));
      break;
    case Field::kU:
      store_le(loc, 4, put_u(insn, u));
      break;
    case Field::kI:
      store_le(loc, 4, put_i(insn, u));
      break;
    case Field::kS:
      store_le(loc, 4, put_s(insn, u));
      break;
    case Field::kCall:
      store_le(loc, 4, put_u(insn, u));
      store_le(loc + 4, 4, put_i(static_cast<uint32_t>(load_le(loc + 4, 4)), u));
      break;
    case Field::kCB:
      store_le(loc, 2, put_cb(insn, u));
      break;
    case Field::kCJ:
      store_le(loc, 2, put_cj(insn, u));
      break;
  }
  return {ApplyStatus::kOk, x};
}

// auipc t3, 0; ld t3, 16(t3); jr t3; nop; .quad target
void riscv64_write_stub(uint8_t* loc, uint64_t /*stub_addr*/, uint64_t target) {
  store_le(loc, 4, 0x00000e17);
  store_le(loc + 4, 4, 0x010e3e03);
  store_le(loc + 8, 4, 0x000e0067);
  store_le(loc + 12, 4, 0x00000013);
  store_le(loc + 16, 8, target);
}
static_assert(kStubSize == 24);

// Within each branch kind's range less kBranchSlack. Only branch kinds
// (Need::kBranch) are branches.
bool riscv64_branch_reaches(uint32_t type, uint64_t P, uint64_t target) {
  const RvKind* k = find(type);
  if (!k || k->kind.need != Need::kBranch) return false;
  int64_t d = wrap(target - P);
  if (k->check == Check::kHi20) return d >= kHiMin + kBranchSlack && d <= kHiMax - kBranchSlack;
  int64_t reach = int64_t{1} << (k->bits - 1);
  return d >= -reach + kBranchSlack && d < reach - kBranchSlack;
}

}  // namespace

extern const Machine kRiscV64 = {
    .rules = {.machine = elf::EM_RISCV,
              .name = "riscv64",
              .shape = riscv64_shape,
              .implicit_addend = riscv64_implicit_addend},
    .kind = riscv64_kind,
    .apply = riscv64_apply,
    .stub_size = kStubSize,
    .stub_align = kStubAlign,
    .write_stub = riscv64_write_stub,
    .branch_reaches = riscv64_branch_reaches,
    .file_span = (uint64_t{1} << 31) - (uint64_t{1} << 20),  // AUIPC + JALR, less 1 MiB
};

}  // namespace mk::arch
