// x86_64: the relocation kinds of the System V x86-64 psABI as a table.
//
// Each row gives the kind's formula and field: `S + A - P : int32` means the
// value is computed modulo 2^64 (as the CPU adds addresses), read as a signed
// 64-bit number, and must fit a signed 32-bit field. The field rules are:
//   word64    any value (64-bit fields cannot overflow)
//   intN      fits N bits signed (sign-extended by the CPU)
//   uintN     fits N bits unsigned (zero-extended by the CPU)
//   bitN      fits either: -2^(N-1) <= v < 2^N (GNU ld's "bitfield" check)
//
// In the formulas G is the address of the symbol's GOT slot and GOT the GOT
// base, so the psABI's `G + GOT` (G being an offset there) is our `G`, and its
// `G` is our `G - GOT`. L, the PLT entry, is S: a module has no PLT; a branch
// out of reach goes through a stub, and then S is the stub.
//
// Reach describes the field: for a GOT kind it is the distance from P to the
// slot (the file's own GOT, which the linker places with its text), for
// PLT32 the distance to S (a stub when the target is out of reach).
//
// TLS kinds are in the table so the validator names them when it refuses
// them; apply() never sees them (if it does, it stores nothing: kBadInsn).
#include "arch/x86_64.h"

#include "arch/machine.h"
#include "elf/elf.h"
#include "support/checked.h"
#include "support/memory.h"

namespace mk::arch {
namespace {

using namespace x86_64;  // NOLINT: the R_X86_64_* names

// How apply() computes a kind's value.
enum class Formula : uint8_t {
  kNone,      // no value, nothing stored
  kSA,        // S + A
  kSAP,       // S + A - P
  kSAGot,     // S + A - GOT
  kGotAP,     // GOT + A - P
  kGAP,       // G + A - P          (needs a slot)
  kGAGot,     // G + A - GOT        (needs a slot)
  kGAPRelax,  // GOTPCRELX: S + A - P after relaxing the instruction, else G + A - P
  kZA,        // Z + A
  kNever,     // TLS: refused by the validator, never applied
};

// Which values the field holds (see the header comment).
enum class Field : uint8_t {
  kNone,      // no field
  kWord,      // any value of the width
  kSigned,    // intN
  kUnsigned,  // uintN
  kBitfield,  // bitN
};

struct X86Kind {
  RelocKind kind;
  Formula formula;
  Field field;
};

// The plain data formulas the linker may apply inline (machine.h's Simple).
constexpr Simple simple_of(Formula formula, Field field, uint8_t width) {
  if (formula == Formula::kSA && field == Field::kWord && width == 8) return Simple::kSA64;
  if (formula == Formula::kSAP && field == Field::kWord && width == 8) return Simple::kSAP64;
  if (formula == Formula::kSA && field == Field::kSigned && width == 4) return Simple::kSA32S;
  if (formula == Formula::kSA && field == Field::kUnsigned && width == 4) return Simple::kSA32U;
  if (formula == Formula::kSAP && field == Field::kSigned && width == 4) return Simple::kSAP32S;
  return Simple::kNo;
}

constexpr X86Kind K(uint32_t type, const char* name, uint8_t width, Need need, Reach reach,
                    Formula formula, Field field) {
  return {{type, {name, width, false}, need, reach, Pair::kNone, simple_of(formula, field, width)},
          formula,
          field};
}

// A TLS kind: known by name and width, refused by the validator.
constexpr X86Kind Tls(uint32_t type, const char* name, uint8_t width, Field field) {
  return {{type, {name, width, true}, Need::kNone, Reach::kAny}, Formula::kNever, field};
}

using F = Formula;
using W = Field;
constexpr Need kNo = Need::kNone, kGot = Need::kGot, kBranch = Need::kBranch;
constexpr Reach kAny = Reach::kAny, kPc32 = Reach::kPcRel32, kAbs32 = Reach::kAbs32,
                kNarrow = Reach::kNarrow;

// clang-format off
constexpr X86Kind kKinds[] = {
  //  type                     name                       bytes need     reach   formula      field
  K(R_X86_64_NONE,           "R_X86_64_NONE",             0, kNo,     kAny,   F::kNone,    W::kNone),     // none
  K(R_X86_64_64,             "R_X86_64_64",               8, kNo,     kAny,   F::kSA,      W::kWord),     // S + A : word64
  K(R_X86_64_PC32,           "R_X86_64_PC32",             4, kNo,     kPc32,  F::kSAP,     W::kSigned),   // S + A - P : int32
  K(R_X86_64_GOT32,          "R_X86_64_GOT32",            4, kGot,    kAny,   F::kGAGot,   W::kSigned),   // G + A - GOT : int32
  K(R_X86_64_PLT32,          "R_X86_64_PLT32",            4, kBranch, kPc32,  F::kSAP,     W::kSigned),   // L + A - P : int32
  K(R_X86_64_GOTPCREL,       "R_X86_64_GOTPCREL",         4, kGot,    kPc32,  F::kGAP,     W::kSigned),   // G + A - P : int32
  K(R_X86_64_32,             "R_X86_64_32",               4, kNo,     kAbs32, F::kSA,      W::kUnsigned), // S + A : uint32
  K(R_X86_64_32S,            "R_X86_64_32S",              4, kNo,     kAbs32, F::kSA,      W::kSigned),   // S + A : int32
  K(R_X86_64_16,             "R_X86_64_16",               2, kNo,     kNarrow, F::kSA,     W::kBitfield), // S + A : bit16
  K(R_X86_64_PC16,           "R_X86_64_PC16",             2, kNo,     kNarrow, F::kSAP,    W::kSigned),   // S + A - P : int16
  K(R_X86_64_8,              "R_X86_64_8",                1, kNo,     kNarrow, F::kSA,     W::kBitfield), // S + A : bit8
  K(R_X86_64_PC8,            "R_X86_64_PC8",              1, kNo,     kNarrow, F::kSAP,    W::kSigned),   // S + A - P : int8
  Tls(R_X86_64_DTPMOD64,     "R_X86_64_DTPMOD64",         8,                                 W::kWord),
  Tls(R_X86_64_DTPOFF64,     "R_X86_64_DTPOFF64",         8,                                 W::kWord),
  Tls(R_X86_64_TPOFF64,      "R_X86_64_TPOFF64",          8,                                 W::kWord),
  Tls(R_X86_64_TLSGD,        "R_X86_64_TLSGD",            4,                                 W::kSigned),
  Tls(R_X86_64_TLSLD,        "R_X86_64_TLSLD",            4,                                 W::kSigned),
  Tls(R_X86_64_DTPOFF32,     "R_X86_64_DTPOFF32",         4,                                 W::kSigned),
  Tls(R_X86_64_GOTTPOFF,     "R_X86_64_GOTTPOFF",         4,                                 W::kSigned),
  Tls(R_X86_64_TPOFF32,      "R_X86_64_TPOFF32",          4,                                 W::kSigned),
  K(R_X86_64_PC64,           "R_X86_64_PC64",             8, kNo,     kAny,   F::kSAP,     W::kWord),     // S + A - P : word64
  K(R_X86_64_GOTOFF64,       "R_X86_64_GOTOFF64",         8, kNo,     kAny,   F::kSAGot,   W::kWord),     // S + A - GOT : word64
  K(R_X86_64_GOTPC32,        "R_X86_64_GOTPC32",          4, kNo,     kPc32,  F::kGotAP,   W::kSigned),   // GOT + A - P : int32
  K(R_X86_64_GOT64,          "R_X86_64_GOT64",            8, kGot,    kAny,   F::kGAGot,   W::kWord),     // G + A - GOT : word64
  K(R_X86_64_GOTPCREL64,     "R_X86_64_GOTPCREL64",       8, kGot,    kAny,   F::kGAP,     W::kWord),     // G + A - P : word64
  K(R_X86_64_GOTPC64,        "R_X86_64_GOTPC64",          8, kNo,     kAny,   F::kGotAP,   W::kWord),     // GOT + A - P : word64
  K(R_X86_64_GOTPLT64,       "R_X86_64_GOTPLT64",         8, kGot,    kAny,   F::kGAGot,   W::kWord),     // G + A - GOT : word64
  K(R_X86_64_PLTOFF64,       "R_X86_64_PLTOFF64",         8, kNo,     kAny,   F::kSAGot,   W::kWord),     // L + A - GOT : word64
  K(R_X86_64_SIZE32,         "R_X86_64_SIZE32",           4, kNo,     kAny,   F::kZA,      W::kUnsigned), // Z + A : uint32
  K(R_X86_64_SIZE64,         "R_X86_64_SIZE64",           8, kNo,     kAny,   F::kZA,      W::kWord),     // Z + A : word64
  Tls(R_X86_64_GOTPC32_TLSDESC, "R_X86_64_GOTPC32_TLSDESC", 4,                               W::kSigned),
  Tls(R_X86_64_TLSDESC_CALL, "R_X86_64_TLSDESC_CALL",     0,                                 W::kNone),
  Tls(R_X86_64_TLSDESC,      "R_X86_64_TLSDESC",         16,                                 W::kNone),
  // G + A - P : int32, or, relaxed (A == -4, see relax_gotpcrelx), S + A - P : int32
  K(R_X86_64_GOTPCRELX,      "R_X86_64_GOTPCRELX",        4, kGot,    kPc32,  F::kGAPRelax, W::kSigned),
  K(R_X86_64_REX_GOTPCRELX,  "R_X86_64_REX_GOTPCRELX",    4, kGot,    kPc32,  F::kGAPRelax, W::kSigned),
  // APX (REX2/EVEX-prefixed) loads through the GOT: never relaxed, always valid through the slot.
  K(R_X86_64_CODE_4_GOTPCRELX, "R_X86_64_CODE_4_GOTPCRELX", 4, kGot,  kPc32,  F::kGAP,     W::kSigned),   // G + A - P : int32
  Tls(R_X86_64_CODE_4_GOTTPOFF, "R_X86_64_CODE_4_GOTTPOFF", 4,                               W::kSigned),
  Tls(R_X86_64_CODE_4_GOTPC32_TLSDESC, "R_X86_64_CODE_4_GOTPC32_TLSDESC", 4,                 W::kSigned),
  K(R_X86_64_CODE_5_GOTPCRELX, "R_X86_64_CODE_5_GOTPCRELX", 4, kGot,  kPc32,  F::kGAP,     W::kSigned),   // G + A - P : int32
  Tls(R_X86_64_CODE_5_GOTTPOFF, "R_X86_64_CODE_5_GOTTPOFF", 4,                               W::kSigned),
  Tls(R_X86_64_CODE_5_GOTPC32_TLSDESC, "R_X86_64_CODE_5_GOTPC32_TLSDESC", 4,                 W::kSigned),
  K(R_X86_64_CODE_6_GOTPCRELX, "R_X86_64_CODE_6_GOTPCRELX", 4, kGot,  kPc32,  F::kGAP,     W::kSigned),   // G + A - P : int32
  Tls(R_X86_64_CODE_6_GOTTPOFF, "R_X86_64_CODE_6_GOTTPOFF", 4,                               W::kSigned),
  Tls(R_X86_64_CODE_6_GOTPC32_TLSDESC, "R_X86_64_CODE_6_GOTPC32_TLSDESC", 4,                 W::kSigned),
};
// clang-format on

// Type -> row, built at compile time: kind() is one bounds check and a load.
constexpr uint32_t kMaxType = R_X86_64_CODE_6_GOTPC32_TLSDESC;
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

const X86Kind* find(uint32_t type) {
  if (type > kMaxType || kIndex.row[type] == kNoRow) return nullptr;
  return &kKinds[kIndex.row[type]];
}

// Little-endian store and load of exactly `width` bytes (0..8), at any
// alignment, whatever the host's byte order. On a little-endian host each is
// one fixed-size copy (a single move), which matters: it runs once per
// relocation, and assembling the bytes on the stack first stalled store
// forwarding in the profile.
void store_le(uint8_t* loc, unsigned width, uint64_t v) {
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
  switch (width) {
    case 1: {
      uint8_t x = static_cast<uint8_t>(v);
      mk_memcpy(loc, &x, 1);
      return;
    }
    case 2: {
      uint16_t x = static_cast<uint16_t>(v);
      mk_memcpy(loc, &x, 2);
      return;
    }
    case 4: {
      uint32_t x = static_cast<uint32_t>(v);
      mk_memcpy(loc, &x, 4);
      return;
    }
    case 8:
      mk_memcpy(loc, &v, 8);
      return;
    default:
      break;
  }
#endif
  uint8_t b[8];
  for (unsigned i = 0; i < width; ++i)
    b[i] = static_cast<uint8_t>(v >> (8 * i));
  mk_memcpy(loc, b, width);
}

uint64_t load_le(const uint8_t* at, unsigned width) {
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
  switch (width) {
    case 1: {
      uint8_t x;
      mk_memcpy(&x, at, 1);
      return x;
    }
    case 2: {
      uint16_t x;
      mk_memcpy(&x, at, 2);
      return x;
    }
    case 4: {
      uint32_t x;
      mk_memcpy(&x, at, 4);
      return x;
    }
    case 8: {
      uint64_t x;
      mk_memcpy(&x, at, 8);
      return x;
    }
    default:
      break;
  }
#endif
  uint8_t b[8];
  mk_memcpy(b, at, width);
  uint64_t v = 0;
  for (unsigned i = 0; i < width; ++i)
    v |= uint64_t{b[i]} << (8 * i);
  return v;
}

bool fits(Field field, uint8_t width, int64_t v) {
  unsigned bits = 8u * width;
  switch (field) {
    case Field::kNone:
    case Field::kWord:
      return true;
    case Field::kSigned:
      return fits_signed(v, bits);
    case Field::kUnsigned:
      return fits_unsigned(static_cast<uint64_t>(v), bits);
    case Field::kBitfield:
      return fits_signed(v, bits) || fits_unsigned(static_cast<uint64_t>(v), bits);
  }
  return false;
}

// Modular address arithmetic: the result is what the CPU computes.
int64_t wrap(uint64_t v) {
  return static_cast<int64_t>(v);
}

// GOTPCRELX relaxation (psABI "Optimize GOTPCRELX Relocations"), applied when
// the instruction in front of the field allows it and S + A - P fits int32:
//
//   mov foo@GOTPCREL(%rip), %reg   8b /r      ->  lea foo(%rip), %reg   8d /r
//   call *foo@GOTPCREL(%rip)       ff 15      ->  addr32 call foo       67 e8
//   jmp *foo@GOTPCREL(%rip)        ff 25      ->  jmp foo; nop          e9 <rel32> 90
//
// The jmp form moves the rel32 one byte back, so it stores S + A - P + 1.
// REX_GOTPCRELX (a REX prefix at loc[-3]) relaxes only the mov. Only A == -4
// is relaxed: any other addend reads part of the slot, not the address.
// Returns true (and *out) when it rewrote the instruction; false, having
// stored nothing, when the caller must go through the slot.
bool relax_gotpcrelx(uint32_t type, uint8_t* loc, uint64_t room_before, const RelocValues& v,
                     ApplyResult* out) {
  bool rex = type == R_X86_64_REX_GOTPCRELX;
  if (v.A != -4) return false;
  if (room_before < (rex ? 3u : 2u)) return false;
  if (rex && (loc[-3] & 0xf0) != 0x40) return false;

  int64_t x = wrap(v.S + static_cast<uint64_t>(v.A) - v.P);
  uint8_t op = loc[-2], modrm = loc[-1];
  if (op == 0x8b && (modrm & 0xc7) == 0x05) {  // mov rip-relative
    if (!fits_signed(x, 32)) return false;
    loc[-2] = 0x8d;
    store_le(loc, 4, static_cast<uint64_t>(x));  // S + A - P : int32
    *out = {ApplyStatus::kOk, x};
    return true;
  }
  if (rex || op != 0xff) return false;
  if (modrm == 0x15) {  // call *
    if (!fits_signed(x, 32)) return false;
    loc[-2] = 0x67;
    loc[-1] = 0xe8;
    store_le(loc, 4, static_cast<uint64_t>(x));  // S + A - P : int32
    *out = {ApplyStatus::kOk, x};
    return true;
  }
  if (modrm == 0x25) {  // jmp *
    int64_t d = wrap(static_cast<uint64_t>(x) + 1);
    if (!fits_signed(d, 32)) return false;
    loc[-2] = 0xe9;
    store_le(loc - 1, 4, static_cast<uint64_t>(d));  // S + A - (P - 1) : int32
    loc[3] = 0x90;
    *out = {ApplyStatus::kOk, d};
    return true;
  }
  return false;
}

const RelocKind* x86_64_kind(uint32_t type) {
  const X86Kind* k = find(type);
  return k ? &k->kind : nullptr;
}

const elf::RelocShape* x86_64_shape(uint32_t type) {
  const X86Kind* k = find(type);
  return k ? &k->kind.shape : nullptr;
}

// REL-style addend: the field's bytes, extended as the CPU extends the field
// (sign for intN and bitN, zero for uintN). x86_64 objects use RELA; this
// exists so the validator's contract holds for every machine.
int64_t x86_64_implicit_addend(uint32_t type, const uint8_t* at) {
  const X86Kind* k = find(type);
  if (!k || k->field == Field::kNone) return 0;
  uint8_t width = k->kind.shape.width;
  if (width == 0 || width > 8) return 0;
  uint64_t raw = load_le(at, width);
  if (k->field == Field::kUnsigned) return wrap(raw);
  return sign_extend(raw, 8u * width);
}

ApplyResult x86_64_apply(uint32_t type, uint8_t* loc, uint64_t room_before, const RelocValues& v) {
  const X86Kind* k = find(type);
  // An unknown or TLS type here is a caller bug: the validator refuses them.
  if (!k || k->formula == Formula::kNever) return {ApplyStatus::kBadInsn, 0};

  uint64_t A = static_cast<uint64_t>(v.A);
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
    case Formula::kSAGot:
      x = wrap(v.S + A - v.GOT);
      break;
    case Formula::kGotAP:
      x = wrap(v.GOT + A - v.P);
      break;
    case Formula::kZA:
      x = wrap(v.Z + A);
      break;
    case Formula::kGAPRelax: {
      ApplyResult relaxed;
      if (relax_gotpcrelx(type, loc, room_before, v, &relaxed)) return relaxed;
      [[fallthrough]];
    }
    case Formula::kGAP:
      if (v.G == 0) return {ApplyStatus::kNoGot, 0};
      x = wrap(v.G + A - v.P);
      break;
    case Formula::kGAGot:
      if (v.G == 0) return {ApplyStatus::kNoGot, 0};
      x = wrap(v.G + A - v.GOT);
      break;
    case Formula::kNever:
      return {ApplyStatus::kBadInsn, 0};
  }

  uint8_t width = k->kind.shape.width;
  if (!fits(k->field, width, x)) return {ApplyStatus::kOverflow, x};
  store_le(loc, width, static_cast<uint64_t>(x));  // the row's width: 1, 2, 4 or 8 bytes
  return {ApplyStatus::kOk, x};
}

// jmp *0(%rip)    ff 25 00 00 00 00
// .quad target    <8 bytes>
// int3; int3      cc cc
void x86_64_write_stub(uint8_t* loc, uint64_t /*stub_addr*/, uint64_t target) {
  static constexpr uint8_t kJmpRip[6] = {0xff, 0x25, 0x00, 0x00, 0x00, 0x00};
  mk_memcpy(loc, kJmpRip, sizeof(kJmpRip));
  store_le(loc + 6, 8, target);
  loc[14] = 0xcc;
  loc[15] = 0xcc;
}
static_assert(kStubSize == 16);

// A rel32 branch reaches target - P within +-2 GiB less kBranchSlack. Only
// branch kinds (Need::kBranch) are branches.
bool x86_64_branch_reaches(uint32_t type, uint64_t P, uint64_t target) {
  const X86Kind* k = find(type);
  if (!k || k->kind.need != Need::kBranch) return false;
  int64_t d = wrap(target - P);
  return d >= INT32_MIN + kBranchSlack && d <= INT32_MAX - kBranchSlack;
}

}  // namespace

extern const Machine kX86_64 = {
    .rules = {.machine = elf::EM_X86_64,
              .name = "x86_64",
              .shape = x86_64_shape,
              .implicit_addend = x86_64_implicit_addend},
    .kind = x86_64_kind,
    .apply = x86_64_apply,
    .stub_size = kStubSize,
    .stub_align = kStubAlign,
    .write_stub = x86_64_write_stub,
    .branch_reaches = x86_64_branch_reaches,
};

}  // namespace mk::arch
