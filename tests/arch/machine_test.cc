// Tests for machine_for / rules_for (arch/machine.h).
#include "arch/machine.h"

#include <gtest/gtest.h>
#include <stdint.h>
#include <string.h>

#include <set>
#include <string>

#include "arch/x86_64.h"
#include "elf/elf.h"

namespace mk::arch {
namespace {

TEST(MachineFor, FindsX86_64) {
  EXPECT_EQ(machine_for(elf::EM_X86_64), &kX86_64);
  EXPECT_EQ(rules_for(elf::EM_X86_64), &kX86_64.rules);
}

TEST(MachineFor, UnknownMachinesAreNull) {
  for (uint16_t em :
       {uint16_t{0}, uint16_t{3} /* EM_386 */, uint16_t{40} /* EM_ARM */, uint16_t{0xffff}}) {
    EXPECT_EQ(machine_for(em), nullptr) << em;
    EXPECT_EQ(rules_for(em), nullptr) << em;
  }
}

// Whatever machines this build has, each answers for its own e_machine only,
// and its tables are complete.
TEST(MachineFor, EveryMachineIsConsistent) {
  for (uint32_t em = 0; em <= 0xffff; ++em) {
    const Machine* m = machine_for(static_cast<uint16_t>(em));
    if (!m) continue;
    SCOPED_TRACE(m->rules.name);
    EXPECT_EQ(m->rules.machine, em);
    EXPECT_EQ(rules_for(static_cast<uint16_t>(em)), &m->rules);
    EXPECT_NE(m->rules.shape, nullptr);
    EXPECT_NE(m->rules.implicit_addend, nullptr);
    EXPECT_NE(m->kind, nullptr);
    EXPECT_NE(m->apply, nullptr);
    EXPECT_NE(m->write_stub, nullptr);
    EXPECT_NE(m->branch_reaches, nullptr);
    EXPECT_GT(m->stub_size, 0u);
    EXPECT_EQ(m->stub_size % m->stub_align, 0u);
    EXPECT_EQ(m->kind(0xffffffff), nullptr);
  }
}

TEST(MachineFor, RulesForIsAMachineLookup) {
  elf::MachineLookup lookup = rules_for;
  EXPECT_EQ(lookup(elf::EM_X86_64), &kX86_64.rules);
}

// apply_simple() must do exactly what the machine's apply() does for every
// kind that declares a Simple formula: the same bytes when the value fits,
// nothing stored (and apply() says kOverflow) when it does not. Values at and
// around each field's limits, both signs, and P on either side of S.
TEST(ApplySimple, MatchesApplyForEveryKindThatDeclaresOne) {
  const uint64_t kValues[] = {0,
                              1,
                              0x7fffffffu,
                              0x80000000u,
                              0xffffffffu,
                              0x100000000u,
                              0x7fffffff00000000u,
                              0xffffffff80000000u,
                              0xffffffff7fffffffu,
                              UINT64_MAX,
                              0x0000555555554000u,
                              0x00007fffff000000u};
  const int64_t kAddends[] = {0, -4, 4, INT32_MIN, INT32_MAX, -0x80000001LL};
  const Machine* machines[] = {&kX86_64, &kAArch64, &kRiscV64};
  for (const Machine* m : machines) {
    SCOPED_TRACE(m->rules.name);
    std::set<Simple> seen;
    for (uint32_t type = 0; type < 4096; ++type) {
      const RelocKind* k = m->kind(type);
      if (k == nullptr || k->simple == Simple::kNo) continue;
      SCOPED_TRACE(k->shape.name);
      seen.insert(k->simple);
      EXPECT_EQ(k->pair, Pair::kNone);
      EXPECT_NE(k->need, Need::kGot);
      size_t checked_fit = 0, checked_overflow = 0;
      for (uint64_t S : kValues)
        for (int64_t A : kAddends)
          for (uint64_t P : {uint64_t{0}, uint64_t{0x1000}, S - 0x10, S + 0x7ffffff0u}) {
            RelocValues v;
            v.S = S;
            v.A = A;
            v.P = P;
            uint8_t by_apply[16], by_simple[16];
            memset(by_apply, 0x5a, sizeof by_apply);
            memset(by_simple, 0x5a, sizeof by_simple);
            ApplyResult r = m->apply(type, by_apply + 4, 4, v);
            bool ok = apply_simple(k->simple, by_simple + 4, v);
            ASSERT_TRUE(r.status == ApplyStatus::kOk || r.status == ApplyStatus::kOverflow)
                << static_cast<int>(r.status);
            EXPECT_EQ(ok, r.status == ApplyStatus::kOk) << "S " << S << " A " << A << " P " << P;
            EXPECT_EQ(0, memcmp(by_apply, by_simple, sizeof by_apply))
                << "S " << S << " A " << A << " P " << P;
            ++(ok ? checked_fit : checked_overflow);
          }
      EXPECT_GT(checked_fit, 0u);
      if (k->shape.width < 8) {
        EXPECT_GT(checked_overflow, 0u);
      }
    }
    // Every machine applies at least its absolute 64-bit words inline.
    EXPECT_TRUE(seen.count(Simple::kSA64)) << "no kind of this machine is S + A : word64";
  }
  // x86_64's common kinds are all inline: the typical module's relocations.
  for (uint32_t type : {x86_64::R_X86_64_64, x86_64::R_X86_64_PC32, x86_64::R_X86_64_PLT32,
                        x86_64::R_X86_64_32, x86_64::R_X86_64_32S, x86_64::R_X86_64_PC64})
    EXPECT_NE(kX86_64.kind(type)->simple, Simple::kNo) << kX86_64.kind(type)->shape.name;
}

}  // namespace
}  // namespace mk::arch
