// Tests for machine_for / rules_for (arch/machine.h).
#include "arch/machine.h"

#include <gtest/gtest.h>

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

}  // namespace
}  // namespace mk::arch
