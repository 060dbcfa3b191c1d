// Tests for the riscv64 machine (arch/riscv64.h, through kRiscV64).
//
// Every relocation kind with a range gets a boundary pair through apply():
// the last value in range (kOk, the exact instruction or bytes) and the first
// out of range (kOverflow, the exact computed value, the place untouched),
// including the HI20/LO12 0x800 carry. Branches get a misaligned case,
// instruction kinds a wrong-instruction case, ADD/SUB/SET their modular
// arithmetic. A last test checks that every kind of the table has a case.
#include "arch/riscv64.h"

#include <gtest/gtest.h>
#include <stdint.h>
#include <string.h>

#include <set>
#include <vector>

#include "arch/machine.h"
#include "elf/elf.h"

namespace mk::arch {
namespace {

using namespace riscv64;  // NOLINT
using Bytes = std::vector<uint8_t>;

constexpr uint8_t kFill = 0xa5;
constexpr size_t kRoom = 8;
constexpr size_t kBufSize = 32;

Bytes le(uint64_t v, size_t n) {
  Bytes b;
  for (size_t i = 0; i < n; ++i)
    b.push_back(static_cast<uint8_t>(v >> (8 * i)));
  return b;
}

uint64_t get_le(const uint8_t* p, size_t n) {
  uint64_t v = 0;
  for (size_t i = n; i > 0; --i)
    v = v << 8 | p[i - 1];
  return v;
}

struct Case {
  const char* what;
  uint32_t type;
  Bytes before;  // the bytes at the place (instruction or data); kFill after them
  RelocValues v;
  ApplyStatus status;
  int64_t value;
  Bytes after;  // for kOk: the bytes at the place
};

std::ostream& operator<<(std::ostream& os, const Case& c) {
  return os << c.what;
}

constexpr ApplyStatus kOk = ApplyStatus::kOk, kOverflow = ApplyStatus::kOverflow,
                      kMisaligned = ApplyStatus::kMisaligned, kNoGot = ApplyStatus::kNoGot,
                      kBadInsn = ApplyStatus::kBadInsn;
constexpr uint64_t P = 0x100000;
constexpr int64_t k2_31 = int64_t{1} << 31;
constexpr int64_t kHiMax = k2_31 - 0x800 - 1, kHiMin = -k2_31 - 0x800;

Bytes w32(uint32_t v) {
  return le(v, 4);
}
Bytes w16(uint32_t v) {
  return le(v, 2);
}
Bytes two(uint32_t a, uint32_t b) {
  Bytes x = w32(a), y = w32(b);
  x.insert(x.end(), y.begin(), y.end());
  return x;
}

// Instructions with every immediate field zero.
constexpr uint32_t kBeq = 0x00000063, kJal = 0x0000006f, kAuipcRa = 0x00000097,
                   kJalrRa = 0x000080e7, kAuipcA0 = 0x00000517, kAddiA0 = 0x00050513,
                   kSdA1 = 0x00b53023, kLuiA0 = 0x00000537, kLdA0 = 0x00053503, kNop = 0x00000013,
                   kCBeqz = 0xc101, kCJ = 0xa001;

const Case kCases[] = {
    {"NONE", R_RISCV_NONE, {}, {.S = 1}, kOk, 0, {}},
    {"RELAX_is_a_hint", R_RISCV_RELAX, {}, {.S = 0}, kOk, 0, {}},

    // S + A : bit32 / any
    {"32_max", R_RISCV_32, w32(0), {.S = 0xfffffff0, .A = 0xf}, kOk, 0xffffffff, w32(0xffffffff)},
    {"32_max_plus_1", R_RISCV_32, w32(0), {.S = 0xfffffff0, .A = 0x10}, kOverflow, 0x100000000, {}},
    {"32_min", R_RISCV_32, w32(0), {.S = 0, .A = -k2_31}, kOk, -k2_31, w32(0x80000000)},
    {"32_min_minus_1", R_RISCV_32, w32(0), {.S = 0, .A = -k2_31 - 1}, kOverflow, -k2_31 - 1, {}},
    {"64",
     R_RISCV_64,
     le(0, 8),
     {.S = 0x1122334455667788, .A = 0x11},
     kOk,
     0x1122334455667799,
     le(0x1122334455667799, 8)},
    // S + A - P : int32
    {"32_PCREL_max",
     R_RISCV_32_PCREL,
     w32(0),
     {.S = 0x80000fff, .P = 0x1000},
     kOk,
     0x7fffffff,
     w32(0x7fffffff)},
    {"32_PCREL_max_plus_1",
     R_RISCV_32_PCREL,
     w32(0),
     {.S = 0x80001000, .P = 0x1000},
     kOverflow,
     0x80000000,
     {}},
    {"32_PCREL_min",
     R_RISCV_32_PCREL,
     w32(0),
     {.S = 0, .P = 0x80000000},
     kOk,
     -k2_31,
     w32(0x80000000)},
    {"32_PCREL_min_minus_1",
     R_RISCV_32_PCREL,
     w32(0),
     {.S = 0, .P = 0x80000001},
     kOverflow,
     -k2_31 - 1,
     {}},
    {"PLT32_max",
     R_RISCV_PLT32,
     w32(0),
     {.S = 0x80000fff, .P = 0x1000},
     kOk,
     0x7fffffff,
     w32(0x7fffffff)},
    {"PLT32_max_plus_1",
     R_RISCV_PLT32,
     w32(0),
     {.S = 0x80001000, .P = 0x1000},
     kOverflow,
     0x80000000,
     {}},
    {"PLT32_min", R_RISCV_PLT32, w32(0), {.S = 0, .P = 0x80000000}, kOk, -k2_31, w32(0x80000000)},
    {"PLT32_min_minus_1",
     R_RISCV_PLT32,
     w32(0),
     {.S = 0, .P = 0x80000001},
     kOverflow,
     -k2_31 - 1,
     {}},

    // V + S + A, V - S - A : modulo the width
    {"ADD8_wraps", R_RISCV_ADD8, {0xff}, {.S = 1}, kOk, 0x100, {0x00}},
    {"ADD16", R_RISCV_ADD16, w16(0x1234), {.S = 0x10, .A = 1}, kOk, 0x1245, w16(0x1245)},
    {"ADD32", R_RISCV_ADD32, w32(0xfffffff0), {.S = 0x20}, kOk, 0x100000010, w32(0x10)},
    {"ADD64", R_RISCV_ADD64, le(5, 8), {.S = 0x1000000000}, kOk, 0x1000000005, le(0x1000000005, 8)},
    {"SUB8_wraps", R_RISCV_SUB8, {0x00}, {.S = 1}, kOk, -1, {0xff}},
    {"SUB16", R_RISCV_SUB16, w16(0x1245), {.S = 0x10, .A = 1}, kOk, 0x1234, w16(0x1234)},
    {"SUB32", R_RISCV_SUB32, w32(0x10), {.S = 0x20}, kOk, -0x10, w32(0xfffffff0)},
    {"SUB64", R_RISCV_SUB64, le(0x1000000005, 8), {.S = 0x1000000000}, kOk, 5, le(5, 8)},
    // 6 bits of a DW_CFA_advance_loc byte: the opcode's top 2 bits stay
    {"SET6_keeps_the_top_bits", R_RISCV_SET6, {0x40}, {.S = 0x1043}, kOk, 0x1043, {0x43}},
    {"SUB6_keeps_the_top_bits", R_RISCV_SUB6, {0x45}, {.S = 6}, kOk, 0x3f, {0x7f}},
    // S + A, truncated to the width
    {"SET8", R_RISCV_SET8, {0}, {.S = 0x1234}, kOk, 0x1234, {0x34}},
    {"SET16", R_RISCV_SET16, w16(0), {.S = 0x123456}, kOk, 0x123456, w16(0x3456)},
    {"SET32", R_RISCV_SET32, w32(0), {.S = 0x123456789}, kOk, 0x123456789, w32(0x23456789)},

    // B-type: S + A - P : int13, align 2
    {"BRANCH_max", R_RISCV_BRANCH, w32(kBeq), {.S = P + 4094, .P = P}, kOk, 4094, w32(0x7e000fe3)},
    {"BRANCH_max_plus_2", R_RISCV_BRANCH, w32(kBeq), {.S = P + 4096, .P = P}, kOverflow, 4096, {}},
    {"BRANCH_min", R_RISCV_BRANCH, w32(kBeq), {.S = P - 4096, .P = P}, kOk, -4096, w32(0x80000063)},
    {"BRANCH_min_minus_2",
     R_RISCV_BRANCH,
     w32(kBeq),
     {.S = P - 4098, .P = P},
     kOverflow,
     -4098,
     {}},
    {"BRANCH_misaligned", R_RISCV_BRANCH, w32(kBeq), {.S = P + 1, .P = P}, kMisaligned, 1, {}},
    {"BRANCH_on_a_jal", R_RISCV_BRANCH, w32(kJal), {.S = P + 8, .P = P}, kBadInsn, 8, {}},
    // J-type: S + A - P : int21, align 2
    {"JAL_max", R_RISCV_JAL, w32(kJal), {.S = P + 0xffffe, .P = P}, kOk, 0xffffe, w32(0x7ffff06f)},
    {"JAL_max_plus_2",
     R_RISCV_JAL,
     w32(kJal),
     {.S = P + 0x100000, .P = P},
     kOverflow,
     0x100000,
     {}},
    {"JAL_min",
     R_RISCV_JAL,
     w32(kJal),
     {.S = 2 * P, .A = -0x100000, .P = 2 * P},
     kOk,
     -0x100000,
     w32(0x8000006f)},
    {"JAL_min_minus_2",
     R_RISCV_JAL,
     w32(kJal),
     {.S = 2 * P, .A = -0x100002, .P = 2 * P},
     kOverflow,
     -0x100002,
     {}},
    {"JAL_misaligned", R_RISCV_JAL, w32(kJal), {.S = P + 3, .P = P}, kMisaligned, 3, {}},
    // AUIPC + JALR: S + A - P : hi20, with the 0x800 carry
    {"CALL_max",
     R_RISCV_CALL,
     two(kAuipcRa, kJalrRa),
     {.S = P + kHiMax, .P = P},
     kOk,
     kHiMax,
     two(0x7ffff097, 0x7ff080e7)},
    {"CALL_max_plus_1",
     R_RISCV_CALL,
     two(kAuipcRa, kJalrRa),
     {.S = P + kHiMax + 1, .P = P},
     kOverflow,
     kHiMax + 1,
     {}},
    {"CALL_min",
     R_RISCV_CALL,
     two(kAuipcRa, kJalrRa),
     {.S = P, .A = kHiMin, .P = P},
     kOk,
     kHiMin,
     two(0x80000097, 0x800080e7)},
    {"CALL_min_minus_1",
     R_RISCV_CALL,
     two(kAuipcRa, kJalrRa),
     {.S = P, .A = kHiMin - 1, .P = P},
     kOverflow,
     kHiMin - 1,
     {}},
    {"CALL_7ff_no_carry",
     R_RISCV_CALL,
     two(kAuipcRa, kJalrRa),
     {.S = P + 0x7ff, .P = P},
     kOk,
     0x7ff,
     two(0x00000097, 0x7ff080e7)},
    {"CALL_800_carries",
     R_RISCV_CALL,
     two(kAuipcRa, kJalrRa),
     {.S = P + 0x800, .P = P},
     kOk,
     0x800,
     two(0x00001097, 0x800080e7)},
    {"CALL_without_jalr", R_RISCV_CALL, two(kAuipcRa, kNop), {.S = P + 8, .P = P}, kBadInsn, 8, {}},
    {"CALL_PLT_max",
     R_RISCV_CALL_PLT,
     two(kAuipcRa, kJalrRa),
     {.S = P + kHiMax, .P = P},
     kOk,
     kHiMax,
     two(0x7ffff097, 0x7ff080e7)},
    {"CALL_PLT_max_plus_1",
     R_RISCV_CALL_PLT,
     two(kAuipcRa, kJalrRa),
     {.S = P + kHiMax + 1, .P = P},
     kOverflow,
     kHiMax + 1,
     {}},
    {"CALL_PLT_min",
     R_RISCV_CALL_PLT,
     two(kAuipcRa, kJalrRa),
     {.S = P, .A = kHiMin, .P = P},
     kOk,
     kHiMin,
     two(0x80000097, 0x800080e7)},
    {"CALL_PLT_min_minus_1",
     R_RISCV_CALL_PLT,
     two(kAuipcRa, kJalrRa),
     {.S = P, .A = kHiMin - 1, .P = P},
     kOverflow,
     kHiMin - 1,
     {}},
    // AUIPC: S + A - P : hi20
    {"PCREL_HI20_max",
     R_RISCV_PCREL_HI20,
     w32(kAuipcA0),
     {.S = P + kHiMax, .P = P},
     kOk,
     kHiMax,
     w32(0x7ffff517)},
    {"PCREL_HI20_max_plus_1",
     R_RISCV_PCREL_HI20,
     w32(kAuipcA0),
     {.S = P + kHiMax + 1, .P = P},
     kOverflow,
     kHiMax + 1,
     {}},
    {"PCREL_HI20_min",
     R_RISCV_PCREL_HI20,
     w32(kAuipcA0),
     {.S = P, .A = kHiMin, .P = P},
     kOk,
     kHiMin,
     w32(0x80000517)},
    {"PCREL_HI20_min_minus_1",
     R_RISCV_PCREL_HI20,
     w32(kAuipcA0),
     {.S = P, .A = kHiMin - 1, .P = P},
     kOverflow,
     kHiMin - 1,
     {}},
    {"PCREL_HI20_7ff_no_carry",
     R_RISCV_PCREL_HI20,
     w32(kAuipcA0),
     {.S = P + 0x7ff, .P = P},
     kOk,
     0x7ff,
     w32(0x00000517)},
    {"PCREL_HI20_800_carries",
     R_RISCV_PCREL_HI20,
     w32(kAuipcA0),
     {.S = P + 0x800, .P = P},
     kOk,
     0x800,
     w32(0x00001517)},
    {"PCREL_HI20_on_a_lui", R_RISCV_PCREL_HI20, w32(kLuiA0), {.S = P, .P = P}, kBadInsn, 0, {}},
    // G + A - P : hi20
    {"GOT_HI20_max",
     R_RISCV_GOT_HI20,
     w32(kAuipcA0),
     {.P = P, .G = P + kHiMax},
     kOk,
     kHiMax,
     w32(0x7ffff517)},
    {"GOT_HI20_max_plus_1",
     R_RISCV_GOT_HI20,
     w32(kAuipcA0),
     {.P = P, .G = P + kHiMax + 1},
     kOverflow,
     kHiMax + 1,
     {}},
    {"GOT_HI20_min",
     R_RISCV_GOT_HI20,
     w32(kAuipcA0),
     {.A = kHiMin, .P = P, .G = P},
     kOk,
     kHiMin,
     w32(0x80000517)},
    {"GOT_HI20_min_minus_1",
     R_RISCV_GOT_HI20,
     w32(kAuipcA0),
     {.A = kHiMin - 1, .P = P, .G = P},
     kOverflow,
     kHiMin - 1,
     {}},
    {"GOT_HI20_no_slot", R_RISCV_GOT_HI20, w32(kAuipcA0), {.S = P, .P = P}, kNoGot, 0, {}},
    // H (the partner's value) -> its low 12 bits, the 0x800 case sign-extending
    {"PCREL_LO12_I_7ff",
     R_RISCV_PCREL_LO12_I,
     w32(kAddiA0),
     {.H = 0x7ff},
     kOk,
     0x7ff,
     w32(0x7ff50513)},
    {"PCREL_LO12_I_800_is_minus_2048",
     R_RISCV_PCREL_LO12_I,
     w32(kAddiA0),
     {.H = 0x800},
     kOk,
     0x800,
     w32(0x80050513)},
    {"PCREL_LO12_I_ld", R_RISCV_PCREL_LO12_I, w32(kLdA0), {.H = -1}, kOk, -1, w32(0xfff53503)},
    {"PCREL_LO12_I_on_a_store", R_RISCV_PCREL_LO12_I, w32(kSdA1), {.H = 1}, kBadInsn, 1, {}},
    {"PCREL_LO12_S_7ff",
     R_RISCV_PCREL_LO12_S,
     w32(kSdA1),
     {.H = 0x7ff},
     kOk,
     0x7ff,
     w32(0x7eb53fa3)},
    {"PCREL_LO12_S_800",
     R_RISCV_PCREL_LO12_S,
     w32(kSdA1),
     {.H = 0x800},
     kOk,
     0x800,
     w32(0x80b53023)},
    {"PCREL_LO12_S_on_an_addi", R_RISCV_PCREL_LO12_S, w32(kAddiA0), {.H = 1}, kBadInsn, 1, {}},
    // LUI: S + A : hi20; LO12: S + A : any
    {"HI20_max", R_RISCV_HI20, w32(kLuiA0), {.S = kHiMax}, kOk, kHiMax, w32(0x7ffff537)},
    {"HI20_max_plus_1", R_RISCV_HI20, w32(kLuiA0), {.S = kHiMax + 1}, kOverflow, kHiMax + 1, {}},
    {"HI20_min", R_RISCV_HI20, w32(kLuiA0), {.S = 0, .A = kHiMin}, kOk, kHiMin, w32(0x80000537)},
    {"HI20_min_minus_1",
     R_RISCV_HI20,
     w32(kLuiA0),
     {.S = 0, .A = kHiMin - 1},
     kOverflow,
     kHiMin - 1,
     {}},
    {"HI20_800_carries",
     R_RISCV_HI20,
     w32(kLuiA0),
     {.S = 0x12345800},
     kOk,
     0x12345800,
     w32(0x12346537)},
    {"HI20_on_an_auipc", R_RISCV_HI20, w32(kAuipcA0), {.S = 0x1000}, kBadInsn, 0x1000, {}},
    {"LO12_I_800_carried",
     R_RISCV_LO12_I,
     w32(kAddiA0),
     {.S = 0x12345800},
     kOk,
     0x12345800,
     w32(0x80050513)},
    {"LO12_I_on_a_lui", R_RISCV_LO12_I, w32(kLuiA0), {.S = 0x800}, kBadInsn, 0x800, {}},
    {"LO12_S_7ff", R_RISCV_LO12_S, w32(kSdA1), {.S = 0x123457ff}, kOk, 0x123457ff, w32(0x7eb53fa3)},
    // Compressed: S + A - P : int9 / int12, align 2
    {"RVC_BRANCH_max",
     R_RISCV_RVC_BRANCH,
     w16(kCBeqz),
     {.S = P + 254, .P = P},
     kOk,
     254,
     w16(0xcd7d)},
    {"RVC_BRANCH_max_plus_2",
     R_RISCV_RVC_BRANCH,
     w16(kCBeqz),
     {.S = P + 256, .P = P},
     kOverflow,
     256,
     {}},
    {"RVC_BRANCH_min",
     R_RISCV_RVC_BRANCH,
     w16(kCBeqz),
     {.S = P - 256, .P = P},
     kOk,
     -256,
     w16(0xd101)},
    {"RVC_BRANCH_min_minus_2",
     R_RISCV_RVC_BRANCH,
     w16(kCBeqz),
     {.S = P - 258, .P = P},
     kOverflow,
     -258,
     {}},
    {"RVC_BRANCH_misaligned",
     R_RISCV_RVC_BRANCH,
     w16(kCBeqz),
     {.S = P + 3, .P = P},
     kMisaligned,
     3,
     {}},
    {"RVC_BRANCH_on_a_c_j", R_RISCV_RVC_BRANCH, w16(kCJ), {.S = P + 2, .P = P}, kBadInsn, 2, {}},
    {"RVC_JUMP_max", R_RISCV_RVC_JUMP, w16(kCJ), {.S = P + 2046, .P = P}, kOk, 2046, w16(0xaffd)},
    {"RVC_JUMP_max_plus_2",
     R_RISCV_RVC_JUMP,
     w16(kCJ),
     {.S = P + 2048, .P = P},
     kOverflow,
     2048,
     {}},
    {"RVC_JUMP_min", R_RISCV_RVC_JUMP, w16(kCJ), {.S = P - 2048, .P = P}, kOk, -2048, w16(0xb001)},
    {"RVC_JUMP_min_minus_2",
     R_RISCV_RVC_JUMP,
     w16(kCJ),
     {.S = P - 2050, .P = P},
     kOverflow,
     -2050,
     {}},
};

class RiscV64Apply : public ::testing::TestWithParam<Case> {};

TEST_P(RiscV64Apply, BoundaryPair) {
  const Case& c = GetParam();
  ASSERT_NE(kRiscV64.kind(c.type), nullptr);
  uint8_t buf[kBufSize];
  memset(buf, kFill, sizeof buf);
  if (!c.before.empty()) memcpy(buf + kRoom, c.before.data(), c.before.size());
  uint8_t before[kBufSize];
  memcpy(before, buf, sizeof buf);
  ApplyResult r = kRiscV64.apply(c.type, buf + kRoom, kRoom, c.v);
  EXPECT_EQ(r.status, c.status);
  EXPECT_EQ(r.value, c.value);
  if (c.status != kOk) {
    EXPECT_EQ(memcmp(buf, before, kBufSize), 0) << "stored something on failure";
    return;
  }
  const size_t n = c.after.size();
  EXPECT_EQ(Bytes(buf + kRoom, buf + kRoom + n), c.after)
      << std::hex << "got 0x" << get_le(buf + kRoom, n) << ", want 0x" << get_le(c.after.data(), n);
  for (size_t i = 0; i < kBufSize; ++i) {
    if (i >= kRoom && i < kRoom + n) continue;
    EXPECT_EQ(buf[i], before[i]) << "byte " << i;
  }
}

INSTANTIATE_TEST_SUITE_P(Kinds, RiscV64Apply, ::testing::ValuesIn(kCases),
                         [](const auto& p) { return std::string(p.param.what); });

// Every kind of the table, TLS and refused ones aside, has a case above.
TEST(RiscV64Table, EveryKindHasACase) {
  std::set<uint32_t> covered;
  for (const Case& c : kCases)
    covered.insert(c.type);
  int kinds = 0;
  for (uint32_t type = 0; type < 1024; ++type) {
    const RelocKind* k = kRiscV64.kind(type);
    if (k == nullptr) continue;
    ++kinds;
    EXPECT_EQ(k->type, type);
    EXPECT_EQ(kRiscV64.rules.shape(type), &k->shape);
    if (k->shape.tls || k->shape.refused != nullptr) {
      EXPECT_EQ(kRiscV64.apply(type, nullptr, 0, {}).status, kBadInsn) << k->shape.name;
      continue;
    }
    EXPECT_TRUE(covered.count(type)) << k->shape.name << " has no boundary case";
  }
  EXPECT_GT(kinds, 40);
}

TEST(RiscV64Table, PairsNeedsAndRefusals) {
  EXPECT_EQ(kRiscV64.kind(R_RISCV_PCREL_HI20)->pair, Pair::kHi);
  EXPECT_EQ(kRiscV64.kind(R_RISCV_GOT_HI20)->pair, Pair::kHi);
  EXPECT_EQ(kRiscV64.kind(R_RISCV_GOT_HI20)->need, Need::kGot);
  EXPECT_EQ(kRiscV64.kind(R_RISCV_PCREL_LO12_I)->pair, Pair::kLo);
  EXPECT_EQ(kRiscV64.kind(R_RISCV_PCREL_LO12_S)->pair, Pair::kLo);
  EXPECT_EQ(kRiscV64.kind(R_RISCV_HI20)->pair, Pair::kPart);
  EXPECT_EQ(kRiscV64.kind(R_RISCV_CALL_PLT)->need, Need::kBranch);
  EXPECT_EQ(kRiscV64.kind(R_RISCV_CALL_PLT)->shape.width, 8) << "AUIPC + JALR";
  EXPECT_EQ(kRiscV64.kind(R_RISCV_RELAX)->shape.width, 0);
  const RelocKind* align = kRiscV64.kind(R_RISCV_ALIGN);
  ASSERT_NE(align, nullptr);
  ASSERT_NE(align->shape.refused, nullptr);
  EXPECT_NE(strstr(align->shape.refused, "-mno-relax"), nullptr) << align->shape.refused;
  EXPECT_TRUE(kRiscV64.kind(R_RISCV_TPREL_HI20)->shape.tls);
  EXPECT_TRUE(kRiscV64.kind(R_RISCV_TLS_GD_HI20)->shape.tls);
  EXPECT_TRUE(kRiscV64.kind(R_RISCV_TPREL_ADD)->shape.tls);
  for (uint32_t dyn : {3u, 4u, 5u, 7u, 58u})  // RELATIVE, COPY, JUMP_SLOT, DTPMOD64, IRELATIVE
    EXPECT_EQ(kRiscV64.kind(dyn), nullptr) << dyn;
  EXPECT_EQ(kRiscV64.rules.machine, elf::EM_RISCV);
}

TEST(RiscV64Stub, LoadsTheTargetIntoT3AndJumps) {
  uint8_t buf[kStubSize];
  memset(buf, 0, sizeof buf);
  kRiscV64.write_stub(buf, 0x5000, 0x1122334455667788);
  Bytes want;
  for (uint32_t insn : {0x00000e17u, 0x010e3e03u, 0x000e0067u, 0x00000013u}) {
    Bytes b = w32(insn);
    want.insert(want.end(), b.begin(), b.end());
  }
  Bytes target = le(0x1122334455667788, 8);
  want.insert(want.end(), target.begin(), target.end());
  EXPECT_EQ(Bytes(buf, buf + kStubSize), want);
  EXPECT_EQ(kRiscV64.stub_size % kRiscV64.stub_align, 0u);
}

TEST(RiscV64Stub, BranchReaches) {
  const uint64_t p = 0x100000000;
  EXPECT_TRUE(kRiscV64.branch_reaches(R_RISCV_CALL_PLT, p, p + kHiMax - kBranchSlack));
  EXPECT_FALSE(kRiscV64.branch_reaches(R_RISCV_CALL_PLT, p, p + kHiMax - kBranchSlack + 1));
  EXPECT_TRUE(kRiscV64.branch_reaches(R_RISCV_CALL, p, p + kHiMin + kBranchSlack));
  EXPECT_FALSE(kRiscV64.branch_reaches(R_RISCV_CALL, p, p + kHiMin + kBranchSlack - 1));
  EXPECT_TRUE(kRiscV64.branch_reaches(R_RISCV_JAL, p, p + 0x100000 - kBranchSlack - 2));
  EXPECT_FALSE(kRiscV64.branch_reaches(R_RISCV_JAL, p, p + 0x100000 - kBranchSlack));
  EXPECT_FALSE(kRiscV64.branch_reaches(R_RISCV_BRANCH, p, p + 8)) << "not a stub branch";
  EXPECT_LT(kRiscV64.file_span, uint64_t{1} << 31);
}

TEST(RiscV64Addend, DataFieldsSignExtendTheRestHoldNone) {
  const uint8_t w[8] = {0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
  EXPECT_EQ(kRiscV64.rules.implicit_addend(R_RISCV_32, w), -2);
  EXPECT_EQ(kRiscV64.rules.implicit_addend(R_RISCV_64, w), -2);
  EXPECT_EQ(kRiscV64.rules.implicit_addend(R_RISCV_ADD32, w), 0);
  EXPECT_EQ(kRiscV64.rules.implicit_addend(R_RISCV_SET8, w), 0);
  EXPECT_EQ(kRiscV64.rules.implicit_addend(R_RISCV_CALL, w), 0);
}

}  // namespace
}  // namespace mk::arch
