// Tests for the x86_64 machine (arch/x86_64.h, through kX86_64).
//
// Every relocation kind gets a boundary pair through apply(): the last value
// in range (kOk, exact little-endian bytes) and the first out of range
// (kOverflow, the exact computed value, the buffer untouched). 64-bit kinds
// cannot overflow and get wrap-around and extreme values instead.
#include "arch/x86_64.h"

#include <gtest/gtest.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "arch/machine.h"
#include "elf/elf.h"

namespace mk::arch {
namespace {

using namespace x86_64;  // NOLINT
using Bytes = std::vector<uint8_t>;

constexpr uint8_t kFill = 0xa5;  // neither a REX prefix nor an opcode the relaxation knows
constexpr size_t kRoom = 8;      // bytes in front of the place
constexpr size_t kBufSize = 32;

Bytes le(uint64_t v, size_t n) {
  Bytes b;
  for (size_t i = 0; i < n; ++i)
    b.push_back(static_cast<uint8_t>(v >> (8 * i)));
  return b;
}
Bytes le8(uint64_t v) {
  return le(v, 1);
}
Bytes le16(uint64_t v) {
  return le(v, 2);
}
Bytes le32(uint64_t v) {
  return le(v, 4);
}
Bytes le64(uint64_t v) {
  return le(v, 8);
}

// A section with the place at offset kRoom, pre-filled with kFill.
struct Section {
  uint8_t buf[kBufSize];
  Section() { memset(buf, kFill, sizeof(buf)); }
  uint8_t* loc() { return buf + kRoom; }
  Bytes at(ptrdiff_t off, size_t n) const {
    return Bytes(buf + kRoom + off, buf + kRoom + off + n);
  }
  bool untouched() const {
    for (uint8_t b : buf)
      if (b != kFill) return false;
    return true;
  }
  // True when nothing outside [loc+from, loc+from+n) changed.
  bool untouched_outside(ptrdiff_t from, size_t n) const {
    for (size_t i = 0; i < kBufSize; ++i) {
      ptrdiff_t rel = static_cast<ptrdiff_t>(i) - static_cast<ptrdiff_t>(kRoom);
      bool inside = rel >= from && rel < from + static_cast<ptrdiff_t>(n);
      if (!inside && buf[i] != kFill) return false;
    }
    return true;
  }
};

ApplyResult apply(uint32_t type, Section& s, const RelocValues& v, uint64_t room = kRoom) {
  return kX86_64.apply(type, s.loc(), room, v);
}

// ---------------------------------------------------------------------------
// Boundary pairs, one row per case.

struct Case {
  const char* what;
  uint32_t type;
  RelocValues v;
  ApplyStatus status;
  int64_t value;
  Bytes bytes;  // stored at the place, for kOk
};

std::ostream& operator<<(std::ostream& os, const Case& c) {
  return os << c.what;
}

constexpr ApplyStatus kOk = ApplyStatus::kOk, kOverflow = ApplyStatus::kOverflow,
                      kNoGot = ApplyStatus::kNoGot;
constexpr int64_t kI32Min = INT32_MIN, kI32Max = INT32_MAX;

const Case kCases[] = {
    {"NONE_stores_nothing", R_X86_64_NONE, {.S = 0x1234, .A = 5, .P = 0x10}, kOk, 0, {}},

    // S + A : word64
    {"64_value",
     R_X86_64_64,
     {.S = 0x1122334455667788, .A = 0x11},
     kOk,
     0x1122334455667799,
     le64(0x1122334455667799)},
    {"64_wraps", R_X86_64_64, {.S = 0xffffffffffffff00, .A = 0x100}, kOk, 0, le64(0)},
    {"64_int64_min",
     R_X86_64_64,
     {.S = 0, .A = INT64_MIN},
     kOk,
     INT64_MIN,
     le64(0x8000000000000000)},

    // S + A - P : int32
    {"PC32_max",
     R_X86_64_PC32,
     {.S = 0x80001003, .A = -4, .P = 0x1000},
     kOk,
     kI32Max,
     le32(0x7fffffff)},
    {"PC32_max_plus_1",
     R_X86_64_PC32,
     {.S = 0x80001004, .A = -4, .P = 0x1000},
     kOverflow,
     0x80000000,
     {}},
    {"PC32_min", R_X86_64_PC32, {.S = 0, .A = -4, .P = 0x7ffffffc}, kOk, kI32Min, le32(0x80000000)},
    {"PC32_min_minus_1",
     R_X86_64_PC32,
     {.S = 0, .A = -4, .P = 0x7ffffffd},
     kOverflow,
     kI32Min - 1,
     {}},
    {"PC32_high_half",
     R_X86_64_PC32,
     {.S = 0xffffffff80000000, .A = -4, .P = 0xffffffffc0000000},
     kOk,
     -0x40000004,
     le32(0xbffffffc)},
    {"PC32_direct_map_to_kernel_text",
     R_X86_64_PC32,
     {.S = 0xffffffff81000000, .A = -4, .P = 0xffff888000001000},
     kOverflow,
     0x777f80ffeffc,
     {}},

    // L + A - P : int32 (L is S, or the stub)
    {"PLT32_max",
     R_X86_64_PLT32,
     {.S = 0x80001003, .A = -4, .P = 0x1000},
     kOk,
     kI32Max,
     le32(0x7fffffff)},
    {"PLT32_max_plus_1",
     R_X86_64_PLT32,
     {.S = 0x80001004, .A = -4, .P = 0x1000},
     kOverflow,
     0x80000000,
     {}},
    {"PLT32_min",
     R_X86_64_PLT32,
     {.S = 0, .A = -4, .P = 0x7ffffffc},
     kOk,
     kI32Min,
     le32(0x80000000)},
    {"PLT32_min_minus_1",
     R_X86_64_PLT32,
     {.S = 0, .A = -4, .P = 0x7ffffffd},
     kOverflow,
     kI32Min - 1,
     {}},

    // S + A : uint32
    {"32_max", R_X86_64_32, {.S = 0xfffffff0, .A = 0xf}, kOk, 0xffffffff, le32(0xffffffff)},
    {"32_max_plus_1", R_X86_64_32, {.S = 0xfffffff0, .A = 0x10}, kOverflow, 0x100000000, {}},
    {"32_zero", R_X86_64_32, {.S = 0x10, .A = -0x10}, kOk, 0, le32(0)},
    {"32_negative", R_X86_64_32, {.S = 0x10, .A = -0x11}, kOverflow, -1, {}},

    // S + A : int32
    {"32S_max", R_X86_64_32S, {.S = 0x7ffffff0, .A = 0xf}, kOk, kI32Max, le32(0x7fffffff)},
    {"32S_max_plus_1", R_X86_64_32S, {.S = 0x7ffffff0, .A = 0x10}, kOverflow, 0x80000000, {}},
    {"32S_kernel_min",
     R_X86_64_32S,
     {.S = 0xffffffff80000000, .A = 0},
     kOk,
     kI32Min,
     le32(0x80000000)},
    {"32S_kernel_min_minus_1",
     R_X86_64_32S,
     {.S = 0xffffffff80000000, .A = -1},
     kOverflow,
     kI32Min - 1,
     {}},

    // S + A : bit16
    {"16_max", R_X86_64_16, {.S = 0xff00, .A = 0xff}, kOk, 0xffff, le16(0xffff)},
    {"16_max_plus_1", R_X86_64_16, {.S = 0xff00, .A = 0x100}, kOverflow, 0x10000, {}},
    {"16_min", R_X86_64_16, {.S = 0, .A = -0x8000}, kOk, -0x8000, le16(0x8000)},
    {"16_min_minus_1", R_X86_64_16, {.S = 0, .A = -0x8001}, kOverflow, -0x8001, {}},

    // S + A - P : int16
    {"PC16_max", R_X86_64_PC16, {.S = 0x8fff, .A = 0, .P = 0x1000}, kOk, 0x7fff, le16(0x7fff)},
    {"PC16_max_plus_1", R_X86_64_PC16, {.S = 0x9000, .A = 0, .P = 0x1000}, kOverflow, 0x8000, {}},
    {"PC16_min",
     R_X86_64_PC16,
     {.S = 0x1000, .A = -0x8000, .P = 0x1000},
     kOk,
     -0x8000,
     le16(0x8000)},
    {"PC16_min_minus_1",
     R_X86_64_PC16,
     {.S = 0x1000, .A = -0x8001, .P = 0x1000},
     kOverflow,
     -0x8001,
     {}},

    // S + A : bit8
    {"8_max", R_X86_64_8, {.S = 0xf0, .A = 0xf}, kOk, 0xff, le8(0xff)},
    {"8_max_plus_1", R_X86_64_8, {.S = 0xf0, .A = 0x10}, kOverflow, 0x100, {}},
    {"8_min", R_X86_64_8, {.S = 0, .A = -0x80}, kOk, -0x80, le8(0x80)},
    {"8_min_minus_1", R_X86_64_8, {.S = 0, .A = -0x81}, kOverflow, -0x81, {}},

    // S + A - P : int8
    {"PC8_max", R_X86_64_PC8, {.S = 0x107f, .A = 0, .P = 0x1000}, kOk, 0x7f, le8(0x7f)},
    {"PC8_max_plus_1", R_X86_64_PC8, {.S = 0x1080, .A = 0, .P = 0x1000}, kOverflow, 0x80, {}},
    {"PC8_min", R_X86_64_PC8, {.S = 0x1000, .A = -0x80, .P = 0x1000}, kOk, -0x80, le8(0x80)},
    {"PC8_min_minus_1", R_X86_64_PC8, {.S = 0x1000, .A = -0x81, .P = 0x1000}, kOverflow, -0x81, {}},

    // S + A - P : word64
    {"PC64_forward",
     R_X86_64_PC64,
     {.S = 0, .A = 0, .P = 0xffffffff80000000},
     kOk,
     0x80000000,
     le64(0x80000000)},
    {"PC64_backward",
     R_X86_64_PC64,
     {.S = 0xffffffff80000000, .A = 0, .P = 0},
     kOk,
     kI32Min,
     le64(0xffffffff80000000)},
    {"PC64_extreme",
     R_X86_64_PC64,
     {.S = 0x7fffffffffffffff, .A = 1, .P = 0},
     kOk,
     INT64_MIN,
     le64(0x8000000000000000)},

    // S + A - GOT : word64
    {"GOTOFF64_below_got",
     R_X86_64_GOTOFF64,
     {.S = 0, .A = 0, .GOT = 1},
     kOk,
     -1,
     le64(0xffffffffffffffff)},
    {"GOTOFF64_above_got",
     R_X86_64_GOTOFF64,
     {.S = 0xffffffffc0001000, .A = 8, .GOT = 0xffffffffc0000000},
     kOk,
     0x1008,
     le64(0x1008)},

    // GOT + A - P : int32
    {"GOTPC32_max",
     R_X86_64_GOTPC32,
     {.A = -4, .P = 0x1000, .GOT = 0x80001003},
     kOk,
     kI32Max,
     le32(0x7fffffff)},
    {"GOTPC32_max_plus_1",
     R_X86_64_GOTPC32,
     {.A = -4, .P = 0x1000, .GOT = 0x80001004},
     kOverflow,
     0x80000000,
     {}},

    // GOT + A - P : word64
    {"GOTPC64_value",
     R_X86_64_GOTPC64,
     {.A = -4, .P = 0xffffffffc0000000, .GOT = 0x1000},
     kOk,
     0x40000ffc,
     le64(0x40000ffc)},
    {"GOTPC64_wraps",
     R_X86_64_GOTPC64,
     {.A = 0, .P = 1, .GOT = 0},
     kOk,
     -1,
     le64(0xffffffffffffffff)},

    // G + A - P : int32 (G is the slot; S does not matter)
    {"GOTPCREL_max",
     R_X86_64_GOTPCREL,
     {.S = 0x10, .A = -4, .P = 0x1000, .G = 0x80001003},
     kOk,
     kI32Max,
     le32(0x7fffffff)},
    {"GOTPCREL_max_plus_1",
     R_X86_64_GOTPCREL,
     {.S = 0x10, .A = -4, .P = 0x1000, .G = 0x80001004},
     kOverflow,
     0x80000000,
     {}},
    {"GOTPCREL_min",
     R_X86_64_GOTPCREL,
     {.S = 0x10, .A = -4, .P = 0x80000ffc, .G = 0x1000},
     kOk,
     kI32Min,
     le32(0x80000000)},
    {"GOTPCREL_min_minus_1",
     R_X86_64_GOTPCREL,
     {.S = 0x10, .A = -4, .P = 0x80000ffd, .G = 0x1000},
     kOverflow,
     kI32Min - 1,
     {}},
    {"GOTPCREL_no_slot", R_X86_64_GOTPCREL, {.S = 0x10, .A = -4, .P = 0x1000}, kNoGot, 0, {}},
    // The fill in front of the place is no instruction the relaxation knows:
    // these go through the slot.
    {"GOTPCRELX_max",
     R_X86_64_GOTPCRELX,
     {.S = 0x10, .A = -4, .P = 0x1000, .G = 0x80001003},
     kOk,
     kI32Max,
     le32(0x7fffffff)},
    {"GOTPCRELX_max_plus_1",
     R_X86_64_GOTPCRELX,
     {.S = 0x10, .A = -4, .P = 0x1000, .G = 0x80001004},
     kOverflow,
     0x80000000,
     {}},
    {"GOTPCRELX_no_slot", R_X86_64_GOTPCRELX, {.S = 0x10, .A = -4, .P = 0x1000}, kNoGot, 0, {}},
    {"REX_GOTPCRELX_max",
     R_X86_64_REX_GOTPCRELX,
     {.S = 0x10, .A = -4, .P = 0x1000, .G = 0x80001003},
     kOk,
     kI32Max,
     le32(0x7fffffff)},
    {"REX_GOTPCRELX_max_plus_1",
     R_X86_64_REX_GOTPCRELX,
     {.S = 0x10, .A = -4, .P = 0x1000, .G = 0x80001004},
     kOverflow,
     0x80000000,
     {}},
    {"REX_GOTPCRELX_no_slot",
     R_X86_64_REX_GOTPCRELX,
     {.S = 0x10, .A = -4, .P = 0x1000},
     kNoGot,
     0,
     {}},
    {"CODE_4_GOTPCRELX_max",
     R_X86_64_CODE_4_GOTPCRELX,
     {.S = 0x10, .A = -4, .P = 0x1000, .G = 0x80001003},
     kOk,
     kI32Max,
     le32(0x7fffffff)},
    {"CODE_4_GOTPCRELX_max_plus_1",
     R_X86_64_CODE_4_GOTPCRELX,
     {.S = 0x10, .A = -4, .P = 0x1000, .G = 0x80001004},
     kOverflow,
     0x80000000,
     {}},
    {"CODE_5_GOTPCRELX_max",
     R_X86_64_CODE_5_GOTPCRELX,
     {.S = 0x10, .A = -4, .P = 0x1000, .G = 0x80001003},
     kOk,
     kI32Max,
     le32(0x7fffffff)},
    {"CODE_5_GOTPCRELX_max_plus_1",
     R_X86_64_CODE_5_GOTPCRELX,
     {.S = 0x10, .A = -4, .P = 0x1000, .G = 0x80001004},
     kOverflow,
     0x80000000,
     {}},
    {"CODE_6_GOTPCRELX_max",
     R_X86_64_CODE_6_GOTPCRELX,
     {.S = 0x10, .A = -4, .P = 0x1000, .G = 0x80001003},
     kOk,
     kI32Max,
     le32(0x7fffffff)},
    {"CODE_6_GOTPCRELX_max_plus_1",
     R_X86_64_CODE_6_GOTPCRELX,
     {.S = 0x10, .A = -4, .P = 0x1000, .G = 0x80001004},
     kOverflow,
     0x80000000,
     {}},

    // G + A - P : word64
    {"GOTPCREL64_value",
     R_X86_64_GOTPCREL64,
     {.S = 0x10, .A = -4, .P = 0x2000, .G = 0x1000},
     kOk,
     -0x1004,
     le64(static_cast<uint64_t>(-0x1004))},
    {"GOTPCREL64_extreme",
     R_X86_64_GOTPCREL64,
     {.S = 0x10, .A = 0, .P = 0x1, .G = 0x8000000000000000},
     kOk,
     INT64_MAX,
     le64(0x7fffffffffffffff)},
    {"GOTPCREL64_no_slot", R_X86_64_GOTPCREL64, {.S = 0x10, .A = -4, .P = 0x2000}, kNoGot, 0, {}},

    // G + A - GOT : int32
    {"GOT32_max",
     R_X86_64_GOT32,
     {.S = 0x10, .A = 0, .G = 0x8000ffff, .GOT = 0x10000},
     kOk,
     kI32Max,
     le32(0x7fffffff)},
    {"GOT32_max_plus_1",
     R_X86_64_GOT32,
     {.S = 0x10, .A = 0, .G = 0x80010000, .GOT = 0x10000},
     kOverflow,
     0x80000000,
     {}},
    {"GOT32_min",
     R_X86_64_GOT32,
     {.S = 0x10, .A = kI32Min, .G = 0x10000, .GOT = 0x10000},
     kOk,
     kI32Min,
     le32(0x80000000)},
    {"GOT32_min_minus_1",
     R_X86_64_GOT32,
     {.S = 0x10, .A = kI32Min - 1, .G = 0x10000, .GOT = 0x10000},
     kOverflow,
     kI32Min - 1,
     {}},
    {"GOT32_no_slot", R_X86_64_GOT32, {.S = 0x10, .A = 0, .GOT = 0x10000}, kNoGot, 0, {}},

    // G + A - GOT : word64
    {"GOT64_value",
     R_X86_64_GOT64,
     {.S = 0x10, .A = 0, .G = 0x2010, .GOT = 0x2000},
     kOk,
     0x10,
     le64(0x10)},
    {"GOT64_wraps",
     R_X86_64_GOT64,
     {.S = 0x10, .A = 0, .G = 0x1000, .GOT = 0x2000},
     kOk,
     -0x1000,
     le64(static_cast<uint64_t>(-0x1000))},
    {"GOT64_no_slot", R_X86_64_GOT64, {.S = 0x10, .A = 0, .GOT = 0x2000}, kNoGot, 0, {}},
    {"GOTPLT64_value",
     R_X86_64_GOTPLT64,
     {.S = 0x10, .A = 0, .G = 0x2018, .GOT = 0x2000},
     kOk,
     0x18,
     le64(0x18)},
    {"GOTPLT64_wraps",
     R_X86_64_GOTPLT64,
     {.S = 0x10, .A = -0x20, .G = 0x2018, .GOT = 0x2000},
     kOk,
     -8,
     le64(static_cast<uint64_t>(-8))},
    {"GOTPLT64_no_slot", R_X86_64_GOTPLT64, {.S = 0x10, .A = 0, .GOT = 0x2000}, kNoGot, 0, {}},

    // L + A - GOT : word64 (L is S: no PLT)
    {"PLTOFF64_value",
     R_X86_64_PLTOFF64,
     {.S = 0x5000, .A = 8, .GOT = 0x2000},
     kOk,
     0x3008,
     le64(0x3008)},
    {"PLTOFF64_wraps",
     R_X86_64_PLTOFF64,
     {.S = 0, .A = 0, .GOT = 0x2000},
     kOk,
     -0x2000,
     le64(static_cast<uint64_t>(-0x2000))},

    // Z + A : uint32
    {"SIZE32_max",
     R_X86_64_SIZE32,
     {.S = 0x10, .A = 0xf, .Z = 0xfffffff0},
     kOk,
     0xffffffff,
     le32(0xffffffff)},
    {"SIZE32_max_plus_1",
     R_X86_64_SIZE32,
     {.S = 0x10, .A = 0x10, .Z = 0xfffffff0},
     kOverflow,
     0x100000000,
     {}},
    {"SIZE32_negative", R_X86_64_SIZE32, {.S = 0x10, .A = -1, .Z = 0}, kOverflow, -1, {}},

    // Z + A : word64
    {"SIZE64_value", R_X86_64_SIZE64, {.S = 0x10, .A = 0x10, .Z = 0x100}, kOk, 0x110, le64(0x110)},
    {"SIZE64_wraps",
     R_X86_64_SIZE64,
     {.S = 0x10, .A = 1, .Z = 0xffffffffffffffff},
     kOk,
     0,
     le64(0)},
};

class Boundary : public testing::TestWithParam<Case> {};

TEST_P(Boundary, Apply) {
  const Case& c = GetParam();
  Section s;
  ApplyResult r = apply(c.type, s, c.v);
  EXPECT_EQ(r.status, c.status);
  EXPECT_EQ(r.value, c.value);
  if (c.status == kOk) {
    EXPECT_EQ(s.at(0, c.bytes.size()), c.bytes);
    EXPECT_TRUE(s.untouched_outside(0, c.bytes.size()));
    // The width stored is the width the validator checks.
    ASSERT_NE(kX86_64.kind(c.type), nullptr);
    EXPECT_EQ(kX86_64.kind(c.type)->shape.width, c.bytes.size());
  } else {
    EXPECT_TRUE(s.untouched()) << "a failed apply stored something";
  }
}

INSTANTIATE_TEST_SUITE_P(X86_64, Boundary, testing::ValuesIn(kCases),
                         [](const testing::TestParamInfo<Case>& info) {
                           return std::string(info.param.what);
                         });

// Every non-TLS kind of the table has at least one boundary case above.
TEST(X86_64Table, EveryKindHasACase) {
  for (uint32_t type = 0; type < 256; ++type) {
    const RelocKind* k = kX86_64.kind(type);
    if (!k || k->shape.tls) continue;
    bool found = false;
    for (const Case& c : kCases)
      found = found || c.type == type;
    EXPECT_TRUE(found) << k->shape.name;
  }
}

// ---------------------------------------------------------------------------
// The table: names, widths, needs, reaches.

struct Row {
  uint32_t type;
  const char* name;
  uint8_t width;
  Need need;
  Reach reach;
};

TEST(X86_64Table, NeedsReachesAndWidths) {
  const Row rows[] = {
      {R_X86_64_NONE, "R_X86_64_NONE", 0, Need::kNone, Reach::kAny},
      {R_X86_64_64, "R_X86_64_64", 8, Need::kNone, Reach::kAny},
      {R_X86_64_PC32, "R_X86_64_PC32", 4, Need::kNone, Reach::kPcRel32},
      {R_X86_64_GOT32, "R_X86_64_GOT32", 4, Need::kGot, Reach::kAny},
      {R_X86_64_PLT32, "R_X86_64_PLT32", 4, Need::kBranch, Reach::kPcRel32},
      {R_X86_64_GOTPCREL, "R_X86_64_GOTPCREL", 4, Need::kGot, Reach::kPcRel32},
      {R_X86_64_32, "R_X86_64_32", 4, Need::kNone, Reach::kAbs32},
      {R_X86_64_32S, "R_X86_64_32S", 4, Need::kNone, Reach::kAbs32},
      {R_X86_64_16, "R_X86_64_16", 2, Need::kNone, Reach::kNarrow},
      {R_X86_64_PC16, "R_X86_64_PC16", 2, Need::kNone, Reach::kNarrow},
      {R_X86_64_8, "R_X86_64_8", 1, Need::kNone, Reach::kNarrow},
      {R_X86_64_PC8, "R_X86_64_PC8", 1, Need::kNone, Reach::kNarrow},
      {R_X86_64_PC64, "R_X86_64_PC64", 8, Need::kNone, Reach::kAny},
      {R_X86_64_GOTOFF64, "R_X86_64_GOTOFF64", 8, Need::kNone, Reach::kAny},
      {R_X86_64_GOTPC32, "R_X86_64_GOTPC32", 4, Need::kNone, Reach::kPcRel32},
      {R_X86_64_GOT64, "R_X86_64_GOT64", 8, Need::kGot, Reach::kAny},
      {R_X86_64_GOTPCREL64, "R_X86_64_GOTPCREL64", 8, Need::kGot, Reach::kAny},
      {R_X86_64_GOTPC64, "R_X86_64_GOTPC64", 8, Need::kNone, Reach::kAny},
      {R_X86_64_GOTPLT64, "R_X86_64_GOTPLT64", 8, Need::kGot, Reach::kAny},
      {R_X86_64_PLTOFF64, "R_X86_64_PLTOFF64", 8, Need::kNone, Reach::kAny},
      {R_X86_64_SIZE32, "R_X86_64_SIZE32", 4, Need::kNone, Reach::kAny},
      {R_X86_64_SIZE64, "R_X86_64_SIZE64", 8, Need::kNone, Reach::kAny},
      {R_X86_64_GOTPCRELX, "R_X86_64_GOTPCRELX", 4, Need::kGot, Reach::kPcRel32},
      {R_X86_64_REX_GOTPCRELX, "R_X86_64_REX_GOTPCRELX", 4, Need::kGot, Reach::kPcRel32},
      {R_X86_64_CODE_4_GOTPCRELX, "R_X86_64_CODE_4_GOTPCRELX", 4, Need::kGot, Reach::kPcRel32},
      {R_X86_64_CODE_5_GOTPCRELX, "R_X86_64_CODE_5_GOTPCRELX", 4, Need::kGot, Reach::kPcRel32},
      {R_X86_64_CODE_6_GOTPCRELX, "R_X86_64_CODE_6_GOTPCRELX", 4, Need::kGot, Reach::kPcRel32},
  };
  for (const Row& row : rows) {
    SCOPED_TRACE(row.name);
    const RelocKind* k = kX86_64.kind(row.type);
    ASSERT_NE(k, nullptr);
    EXPECT_EQ(k->type, row.type);
    EXPECT_STREQ(k->shape.name, row.name);
    EXPECT_EQ(k->shape.width, row.width);
    EXPECT_FALSE(k->shape.tls);
    EXPECT_EQ(k->need, row.need);
    EXPECT_EQ(k->reach, row.reach);
  }
}

TEST(X86_64Table, TlsKindsAreMarked) {
  const Row tls[] = {
      {R_X86_64_DTPMOD64, "R_X86_64_DTPMOD64", 8, Need::kNone, Reach::kAny},
      {R_X86_64_DTPOFF64, "R_X86_64_DTPOFF64", 8, Need::kNone, Reach::kAny},
      {R_X86_64_TPOFF64, "R_X86_64_TPOFF64", 8, Need::kNone, Reach::kAny},
      {R_X86_64_TLSGD, "R_X86_64_TLSGD", 4, Need::kNone, Reach::kAny},
      {R_X86_64_TLSLD, "R_X86_64_TLSLD", 4, Need::kNone, Reach::kAny},
      {R_X86_64_DTPOFF32, "R_X86_64_DTPOFF32", 4, Need::kNone, Reach::kAny},
      {R_X86_64_GOTTPOFF, "R_X86_64_GOTTPOFF", 4, Need::kNone, Reach::kAny},
      {R_X86_64_TPOFF32, "R_X86_64_TPOFF32", 4, Need::kNone, Reach::kAny},
      {R_X86_64_GOTPC32_TLSDESC, "R_X86_64_GOTPC32_TLSDESC", 4, Need::kNone, Reach::kAny},
      {R_X86_64_TLSDESC_CALL, "R_X86_64_TLSDESC_CALL", 0, Need::kNone, Reach::kAny},
      {R_X86_64_TLSDESC, "R_X86_64_TLSDESC", 16, Need::kNone, Reach::kAny},
      {R_X86_64_CODE_4_GOTTPOFF, "R_X86_64_CODE_4_GOTTPOFF", 4, Need::kNone, Reach::kAny},
      {R_X86_64_CODE_4_GOTPC32_TLSDESC, "R_X86_64_CODE_4_GOTPC32_TLSDESC", 4, Need::kNone,
       Reach::kAny},
      {R_X86_64_CODE_5_GOTTPOFF, "R_X86_64_CODE_5_GOTTPOFF", 4, Need::kNone, Reach::kAny},
      {R_X86_64_CODE_5_GOTPC32_TLSDESC, "R_X86_64_CODE_5_GOTPC32_TLSDESC", 4, Need::kNone,
       Reach::kAny},
      {R_X86_64_CODE_6_GOTTPOFF, "R_X86_64_CODE_6_GOTTPOFF", 4, Need::kNone, Reach::kAny},
      {R_X86_64_CODE_6_GOTPC32_TLSDESC, "R_X86_64_CODE_6_GOTPC32_TLSDESC", 4, Need::kNone,
       Reach::kAny},
  };
  for (const Row& row : tls) {
    SCOPED_TRACE(row.name);
    const elf::RelocShape* shape = kX86_64.rules.shape(row.type);
    ASSERT_NE(shape, nullptr);
    EXPECT_TRUE(shape->tls);
    EXPECT_STREQ(shape->name, row.name);
    EXPECT_EQ(shape->width, row.width);
    // apply() is never meant to see them; if it does, it stores nothing.
    Section s;
    EXPECT_EQ(apply(row.type, s, {.S = 0x1000, .G = 0x2000, .GOT = 0x2000}).status,
              ApplyStatus::kBadInsn);
    EXPECT_TRUE(s.untouched());
  }
}

TEST(X86_64Table, UnknownTypesAreNull) {
  // Dynamic-only types never appear in a relocatable object; 39/40 are withdrawn.
  const uint32_t unknown[] = {R_X86_64_COPY,
                              R_X86_64_GLOB_DAT,
                              R_X86_64_JUMP_SLOT,
                              R_X86_64_RELATIVE,
                              R_X86_64_IRELATIVE,
                              R_X86_64_RELATIVE64,
                              39,
                              40,
                              52,
                              255,
                              256,
                              0x7fffffff,
                              0xffffffff};
  for (uint32_t type : unknown) {
    SCOPED_TRACE(type);
    EXPECT_EQ(kX86_64.kind(type), nullptr);
    EXPECT_EQ(kX86_64.rules.shape(type), nullptr);
    uint8_t bytes[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    EXPECT_EQ(kX86_64.rules.implicit_addend(type, bytes), 0);
    Section s;
    EXPECT_EQ(apply(type, s, {.S = 0x1000}).status, ApplyStatus::kBadInsn);
    EXPECT_TRUE(s.untouched());
  }
}

TEST(X86_64Table, ShapeAndKindAgree) {
  int known = 0;
  for (uint32_t type = 0; type < 1024; ++type) {
    const RelocKind* k = kX86_64.kind(type);
    const elf::RelocShape* shape = kX86_64.rules.shape(type);
    if (!k) {
      EXPECT_EQ(shape, nullptr) << type;
      continue;
    }
    ++known;
    EXPECT_EQ(k->type, type);
    EXPECT_EQ(shape, &k->shape);
    EXPECT_EQ(strncmp(k->shape.name, "R_X86_64_", 9), 0) << k->shape.name;
  }
  EXPECT_EQ(known, 44);  // 52 types less 6 dynamic-only and 2 withdrawn
}

TEST(X86_64Table, Rules) {
  EXPECT_EQ(kX86_64.rules.machine, elf::EM_X86_64);
  EXPECT_STREQ(kX86_64.rules.name, "x86_64");
  EXPECT_EQ(kX86_64.stub_size, 16u);
  EXPECT_EQ(kX86_64.stub_align, 16u);
}

// ---------------------------------------------------------------------------
// GOTPCRELX relaxation.

// A place in front of which the test writes an instruction's opcode bytes.
struct Insn {
  Section s;
  explicit Insn(Bytes before) {
    memcpy(s.loc() - before.size(), before.data(), before.size());
    memset(s.loc(), 0, 4);
  }
};

// P = 0x1000; the symbol is near, the slot is elsewhere.
constexpr RelocValues kNear = {.S = 0x3000, .A = -4, .P = 0x1000, .G = 0x9000};
constexpr int64_t kNearDisp = 0x3000 - 4 - 0x1000;  // S + A - P
constexpr int64_t kSlotDisp = 0x9000 - 4 - 0x1000;  // G + A - P

TEST(X86_64Relax, MovBecomesLea) {
  Insn i({0x8b, 0x05});  // mov foo@GOTPCREL(%rip), %eax
  ApplyResult r = apply(R_X86_64_GOTPCRELX, i.s, kNear);
  EXPECT_EQ(r.status, ApplyStatus::kOk);
  EXPECT_EQ(r.value, kNearDisp);
  EXPECT_EQ(i.s.at(-2, 6), (Bytes{0x8d, 0x05, 0xfc, 0x1f, 0x00, 0x00}));  // lea foo(%rip), %eax
  EXPECT_TRUE(i.s.untouched_outside(-2, 6));
}

TEST(X86_64Relax, RexMovBecomesLea) {
  Insn i({0x4c, 0x8b, 0x3d});  // mov foo@GOTPCREL(%rip), %r15
  ApplyResult r = apply(R_X86_64_REX_GOTPCRELX, i.s, kNear);
  EXPECT_EQ(r.status, ApplyStatus::kOk);
  EXPECT_EQ(r.value, kNearDisp);
  EXPECT_EQ(i.s.at(-3, 7), (Bytes{0x4c, 0x8d, 0x3d, 0xfc, 0x1f, 0x00, 0x00}));
  EXPECT_TRUE(i.s.untouched_outside(-3, 7));
}

TEST(X86_64Relax, CallBecomesAddr32Call) {
  Insn i({0xff, 0x15});  // call *foo@GOTPCREL(%rip)
  ApplyResult r = apply(R_X86_64_GOTPCRELX, i.s, kNear);
  EXPECT_EQ(r.status, ApplyStatus::kOk);
  EXPECT_EQ(r.value, kNearDisp);
  EXPECT_EQ(i.s.at(-2, 6), (Bytes{0x67, 0xe8, 0xfc, 0x1f, 0x00, 0x00}));  // addr32 call foo
}

TEST(X86_64Relax, JmpBecomesJmpNop) {
  Insn i({0xff, 0x25});  // jmp *foo@GOTPCREL(%rip)
  ApplyResult r = apply(R_X86_64_GOTPCRELX, i.s, kNear);
  EXPECT_EQ(r.status, ApplyStatus::kOk);
  EXPECT_EQ(r.value, kNearDisp + 1);  // the rel32 starts one byte earlier
  EXPECT_EQ(i.s.at(-2, 6), (Bytes{0xe9, 0xfd, 0x1f, 0x00, 0x00, 0x90}));  // jmp foo; nop
}

// The last displacement that relaxes, and the first that goes through the slot.
TEST(X86_64Relax, MovBoundaryPair) {
  RelocValues v = kNear;
  v.S = v.P + 4 + 0x7fffffff;
  Insn in({0x8b, 0x05});
  EXPECT_EQ(apply(R_X86_64_GOTPCRELX, in.s, v).value, kI32Max);
  EXPECT_EQ(in.s.at(-2, 6), (Bytes{0x8d, 0x05, 0xff, 0xff, 0xff, 0x7f}));

  v.S += 1;
  Insn out({0x8b, 0x05});
  ApplyResult r = apply(R_X86_64_GOTPCRELX, out.s, v);
  EXPECT_EQ(r.status, ApplyStatus::kOk);
  EXPECT_EQ(r.value, kSlotDisp);
  EXPECT_EQ(out.s.at(-2, 6), (Bytes{0x8b, 0x05, 0xfc, 0x7f, 0x00, 0x00}));  // still mov
}

TEST(X86_64Relax, JmpBoundaryPair) {
  RelocValues v = kNear;
  v.S = v.P + 4 + 0x7ffffffe;  // S + A - P + 1 == INT32_MAX
  Insn in({0xff, 0x25});
  EXPECT_EQ(apply(R_X86_64_GOTPCRELX, in.s, v).value, kI32Max);
  EXPECT_EQ(in.s.at(-2, 6), (Bytes{0xe9, 0xff, 0xff, 0xff, 0x7f, 0x90}));

  v.S += 1;
  Insn out({0xff, 0x25});
  EXPECT_EQ(apply(R_X86_64_GOTPCRELX, out.s, v).value, kSlotDisp);
  EXPECT_EQ(out.s.at(-2, 6), (Bytes{0xff, 0x25, 0xfc, 0x7f, 0x00, 0x00}));
}

TEST(X86_64Relax, CallBackwardBoundaryPair) {
  RelocValues v = kNear;
  v.P = 0x80000000;
  v.S = 0;  // S + A - P == INT32_MIN - 4
  Insn out({0xff, 0x15});
  EXPECT_EQ(apply(R_X86_64_GOTPCRELX, out.s, v).value, int64_t{0x9000} - 4 - 0x80000000);
  EXPECT_EQ(out.s.at(-2, 2), (Bytes{0xff, 0x15}));

  v.S = 4;  // S + A - P == INT32_MIN
  Insn in({0xff, 0x15});
  EXPECT_EQ(apply(R_X86_64_GOTPCRELX, in.s, v).value, kI32Min);
  EXPECT_EQ(in.s.at(-2, 6), (Bytes{0x67, 0xe8, 0x00, 0x00, 0x00, 0x80}));
}

// Anything else goes through the slot, leaving the instruction as it is.
struct Fallback {
  const char* what;
  uint32_t type;
  Bytes before;
  uint64_t room;
  RelocValues v;
};

std::ostream& operator<<(std::ostream& os, const Fallback& f) {
  return os << f.what;
}

const Fallback kFallbacks[] = {
    {"add_is_not_relaxed", R_X86_64_GOTPCRELX, {0x03, 0x05}, kRoom, kNear},
    {"mov_not_rip_relative", R_X86_64_GOTPCRELX, {0x8b, 0x04}, kRoom, kNear},
    {"push_indirect_not_relaxed", R_X86_64_GOTPCRELX, {0xff, 0x35}, kRoom, kNear},
    {"plain_GOTPCREL_never_relaxed", R_X86_64_GOTPCREL, {0x8b, 0x05}, kRoom, kNear},
    {"CODE_4_GOTPCRELX_never_relaxed",
     R_X86_64_CODE_4_GOTPCRELX,
     {0xd5, 0x48, 0x8b, 0x05},
     kRoom,
     kNear},
    {"out_of_range",
     R_X86_64_GOTPCRELX,
     {0x8b, 0x05},
     kRoom,
     {.S = 0x7fff00000000, .A = -4, .P = 0x1000, .G = 0x9000}},
    // (0xffffffff81000000 - 4 - 0x1000 wraps to -0x7f001004: that one is in reach.)
    {"out_of_range_high_half",
     R_X86_64_GOTPCRELX,
     {0xff, 0x15},
     kRoom,
     {.S = 0xffffffff81000000, .A = -4, .P = 0x7fff00001000, .G = 0x7fff00009000}},
    {"room_before_1", R_X86_64_GOTPCRELX, {0x8b, 0x05}, 1, kNear},
    {"room_before_0", R_X86_64_GOTPCRELX, {0xff, 0x15}, 0, kNear},
    {"rex_room_before_2", R_X86_64_REX_GOTPCRELX, {0x48, 0x8b, 0x05}, 2, kNear},
    {"rex_prefix_missing", R_X86_64_REX_GOTPCRELX, {0x90, 0x8b, 0x05}, kRoom, kNear},
    {"rex_call_not_relaxed", R_X86_64_REX_GOTPCRELX, {0x41, 0xff, 0x15}, kRoom, kNear},
    {"addend_not_minus_4",
     R_X86_64_GOTPCRELX,
     {0x8b, 0x05},
     kRoom,
     {.S = 0x3000, .A = 0, .P = 0x1000, .G = 0x9004}},
};

class RelaxFallback : public testing::TestWithParam<Fallback> {};

TEST_P(RelaxFallback, GoesThroughTheSlot) {
  const Fallback& f = GetParam();
  Insn i(f.before);
  int64_t disp = static_cast<int64_t>(f.v.G + f.v.A - f.v.P);
  ApplyResult r = kX86_64.apply(f.type, i.s.loc(), f.room, f.v);
  EXPECT_EQ(r.status, ApplyStatus::kOk);
  EXPECT_EQ(r.value, disp);
  Bytes want = f.before;
  Bytes d = le32(static_cast<uint64_t>(disp));
  want.insert(want.end(), d.begin(), d.end());
  ptrdiff_t from = -static_cast<ptrdiff_t>(f.before.size());
  EXPECT_EQ(i.s.at(from, want.size()), want);

  // Without a slot there is nothing to fall back to, and nothing is stored.
  RelocValues no_slot = f.v;
  no_slot.G = 0;
  Insn j(f.before);
  Bytes before_apply = j.s.at(from, want.size());
  r = kX86_64.apply(f.type, j.s.loc(), f.room, no_slot);
  EXPECT_EQ(r.status, ApplyStatus::kNoGot);
  EXPECT_EQ(j.s.at(from, want.size()), before_apply);
}

INSTANTIATE_TEST_SUITE_P(X86_64, RelaxFallback, testing::ValuesIn(kFallbacks),
                         [](const testing::TestParamInfo<Fallback>& info) {
                           return std::string(info.param.what);
                         });

TEST(X86_64Relax, SlotOutOfRangeOverflowsWithInstructionIntact) {
  RelocValues v = {.S = 0x7fff00000000, .A = -4, .P = 0x1000, .G = 0x80001004};
  Insn i({0x8b, 0x05});
  Section before = i.s;
  ApplyResult r = apply(R_X86_64_GOTPCRELX, i.s, v);
  EXPECT_EQ(r.status, ApplyStatus::kOverflow);
  EXPECT_EQ(r.value, 0x80000000);
  EXPECT_EQ(memcmp(before.buf, i.s.buf, kBufSize), 0);
}

// ---------------------------------------------------------------------------
// REL-style implicit addends, read at an unaligned address.

int64_t addend(uint32_t type, Bytes bytes) {
  uint8_t buf[16] = {};
  memcpy(buf + 1, bytes.data(), bytes.size());
  return kX86_64.rules.implicit_addend(type, buf + 1);
}

TEST(X86_64Addend, PerWidth) {
  const Bytes m4 = {0xfc, 0xff, 0xff, 0xff};
  EXPECT_EQ(addend(R_X86_64_64, {0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0xf1}),
            static_cast<int64_t>(0xf122334455667788));
  EXPECT_EQ(addend(R_X86_64_PC64, {0xfc, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}), -4);
  EXPECT_EQ(addend(R_X86_64_SIZE64, {0x10, 0, 0, 0, 0, 0, 0, 0x80}),
            static_cast<int64_t>(0x8000000000000010));
  EXPECT_EQ(addend(R_X86_64_GOTOFF64, {1, 2, 3, 4, 5, 6, 7, 8}), 0x0807060504030201);
  // Sign-extended 32-bit fields.
  for (uint32_t t :
       {R_X86_64_PC32, R_X86_64_PLT32, R_X86_64_32S, R_X86_64_GOTPCREL, R_X86_64_GOTPCRELX,
        R_X86_64_REX_GOTPCRELX, R_X86_64_GOTPC32, R_X86_64_GOT32}) {
    EXPECT_EQ(addend(t, m4), -4) << t;
    EXPECT_EQ(addend(t, {0xff, 0xff, 0xff, 0x7f}), kI32Max) << t;
  }
  // Zero-extended 32-bit fields.
  EXPECT_EQ(addend(R_X86_64_32, m4), int64_t{0xfffffffc});
  EXPECT_EQ(addend(R_X86_64_SIZE32, m4), int64_t{0xfffffffc});
  // 16 and 8 bits: sign-extended (PC16/PC8 are signed; 16/8 keep small negative addends).
  EXPECT_EQ(addend(R_X86_64_16, {0xfe, 0xff}), -2);
  EXPECT_EQ(addend(R_X86_64_16, {0xff, 0x7f}), 0x7fff);
  EXPECT_EQ(addend(R_X86_64_PC16, {0x00, 0x80}), -0x8000);
  EXPECT_EQ(addend(R_X86_64_8, {0xfe}), -2);
  EXPECT_EQ(addend(R_X86_64_PC8, {0x7f}), 0x7f);
  EXPECT_EQ(addend(R_X86_64_PC8, {0x80}), -0x80);
  // No field.
  EXPECT_EQ(addend(R_X86_64_NONE, {0xff, 0xff, 0xff, 0xff}), 0);
  EXPECT_EQ(addend(R_X86_64_TLSDESC_CALL, {0xff, 0xff, 0xff, 0xff}), 0);
}

// ---------------------------------------------------------------------------
// Branch stubs.

TEST(X86_64Stub, Bytes) {
  uint8_t buf[16];
  memset(buf, 0, sizeof(buf));
  kX86_64.write_stub(buf, 0xffffffffc0000000, 0xffffffff81234567);
  EXPECT_EQ(Bytes(buf, buf + 16), (Bytes{0xff, 0x25, 0, 0, 0, 0, 0x67, 0x45, 0x23, 0x81, 0xff, 0xff,
                                         0xff, 0xff, 0xcc, 0xcc}));
}

TEST(X86_64Stub, BranchReaches) {
  const uint64_t P = 0x10000000;
  const int64_t kLimit = kI32Max - kBranchSlack;
  EXPECT_TRUE(kX86_64.branch_reaches(R_X86_64_PLT32, P, P + kLimit));
  EXPECT_FALSE(kX86_64.branch_reaches(R_X86_64_PLT32, P, P + kLimit + 1));
  const int64_t kLow = kI32Min + kBranchSlack;
  EXPECT_TRUE(kX86_64.branch_reaches(R_X86_64_PLT32, P, P + kLow));
  EXPECT_FALSE(kX86_64.branch_reaches(R_X86_64_PLT32, P, P + kLow - 1));
  // Module in the top 2 GiB calling the kernel text: near, across the wrap.
  EXPECT_TRUE(kX86_64.branch_reaches(R_X86_64_PLT32, 0xffffffffc0001000, 0xffffffff81000000));
  // The direct map is far from the kernel text.
  EXPECT_FALSE(kX86_64.branch_reaches(R_X86_64_PLT32, 0xffff888000001000, 0xffffffff81000000));
  // Only branch kinds are branches.
  EXPECT_FALSE(kX86_64.branch_reaches(R_X86_64_PC32, P, P));
  EXPECT_FALSE(kX86_64.branch_reaches(12345, P, P));
}

#if defined(__x86_64__)

extern "C" __attribute__((noinline)) int modkit_stub_target(int x) {
  return x * 3 + 1;
}

// A page of memory, written while RW and run after it turns RX.
class CodePage {
 public:
  CodePage() {
    size_ = static_cast<size_t>(sysconf(_SC_PAGESIZE));
    void* p = mmap(nullptr, size_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    mem_ = p == MAP_FAILED ? nullptr : static_cast<uint8_t*>(p);
    if (mem_) memset(mem_, 0xcc, size_);
  }
  ~CodePage() {
    if (mem_) munmap(mem_, size_);
  }
  uint8_t* mem() const { return mem_; }
  uint64_t addr(size_t off) const { return reinterpret_cast<uint64_t>(mem_ + off); }
  bool seal() { return mprotect(mem_, size_, PROT_READ | PROT_EXEC) == 0; }

 private:
  uint8_t* mem_ = nullptr;
  size_t size_ = 0;
};

TEST(X86_64Stub, CallsThroughTheStub) {
  CodePage page;
  ASSERT_NE(page.mem(), nullptr);
  const size_t off = 2 * kStubSize;
  ASSERT_EQ(off % kX86_64.stub_align, 0u);
  kX86_64.write_stub(page.mem() + off, page.addr(off),
                     reinterpret_cast<uint64_t>(&modkit_stub_target));
  ASSERT_TRUE(page.seal());
  auto fn = reinterpret_cast<int (*)(int)>(page.mem() + off);
  EXPECT_EQ(fn(14), 43);
}

// Runs code relocated by apply(), relaxed or through the slot.
//   0:  <insn> <rel32>      the instruction under test
//       c3                  ret
//   64: .quad               the GOT slot
//   128: b8 2a 00 00 00 c3  mov $42, %eax; ret   (the symbol)
struct RunCase {
  Bytes insn;
  uint32_t type;
  bool relax;  // false: place the symbol too far so apply() uses the slot
};

uint64_t run(const RunCase& c, uint64_t slot_value, bool* ok) {
  CodePage page;
  *ok = false;
  if (!page.mem()) return 0;
  uint8_t* m = page.mem();
  memcpy(m, c.insn.data(), c.insn.size());
  const size_t field = c.insn.size();
  m[field + 4] = 0xc3;
  memcpy(m + 64, &slot_value, 8);
  const uint8_t fn42[] = {0xb8, 0x2a, 0x00, 0x00, 0x00, 0xc3};
  memcpy(m + 128, fn42, sizeof(fn42));
  RelocValues v = {.S = c.relax ? page.addr(128) : 0xffff800000000000,
                   .A = -4,
                   .P = page.addr(field),
                   .G = page.addr(64)};
  ApplyResult r = kX86_64.apply(c.type, m + field, field, v);
  if (r.status != ApplyStatus::kOk) return 0;
  bool relaxed = m[field - 2] != c.insn[field - 2];
  if (relaxed != c.relax) return 0;
  if (!page.seal()) return 0;
  *ok = true;
  return reinterpret_cast<uint64_t (*)()>(m)();
}

TEST(X86_64Relax, RelaxedCodeRuns) {
  for (bool relax : {true, false}) {
    SCOPED_TRACE(relax ? "relaxed" : "through the slot");
    bool ok = false;
    // mov foo@GOTPCREL(%rip), %rax -> the symbol's address either way.
    RunCase mov = {{0x48, 0x8b, 0x05}, R_X86_64_REX_GOTPCRELX, relax};
    uint64_t got = run(mov, /*slot_value=*/0x1234, &ok);
    ASSERT_TRUE(ok);
    if (relax) {
      EXPECT_NE(got, 0x1234u);  // lea: the address of the symbol (page + 128)
      EXPECT_EQ(got & 0xfff, 128u);
    } else {
      EXPECT_EQ(got, 0x1234u);  // mov: the slot's content
    }
  }
}

TEST(X86_64Relax, RelaxedCallAndJmpRun) {
  for (bool relax : {true, false}) {
    SCOPED_TRACE(relax ? "relaxed" : "through the slot");
    for (const Bytes& insn : {Bytes{0xff, 0x15}, Bytes{0xff, 0x25}}) {
      CodePage page;
      ASSERT_NE(page.mem(), nullptr);
      uint8_t* m = page.mem();
      // call/jmp at 0 (rel32 at 2), ret at 6; the slot at 64 holds the symbol at 128.
      memcpy(m, insn.data(), 2);
      m[6] = 0xc3;
      const uint8_t fn42[] = {0xb8, 0x2a, 0x00, 0x00, 0x00, 0xc3};
      memcpy(m + 128, fn42, sizeof(fn42));
      uint64_t sym = page.addr(128);
      memcpy(m + 64, &sym, 8);
      RelocValues v = {.S = relax ? sym : 0xffff800000000000,  // far: keep the slot
                       .A = -4,
                       .P = page.addr(2),
                       .G = page.addr(64)};
      ASSERT_EQ(kX86_64.apply(R_X86_64_GOTPCRELX, m + 2, 2, v).status, ApplyStatus::kOk);
      EXPECT_EQ(m[0] != insn[0], relax);
      ASSERT_TRUE(page.seal());
      EXPECT_EQ(reinterpret_cast<int (*)()>(m)(), 42);
    }
  }
}

#endif  // __x86_64__

}  // namespace
}  // namespace mk::arch
