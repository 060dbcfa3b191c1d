// machine_for / rules_for: the machines compiled into this build, by e_machine.
// Every machine is always compiled (a tool on one machine inspects modules of
// another); a new one is one line in kMachines.
#include "arch/machine.h"

namespace mk::arch {
namespace {

const Machine* const kMachines[] = {
    &kX86_64,
    &kAArch64,
    &kRiscV64,
};

}  // namespace

const Machine* machine_for(uint16_t e_machine) {
  for (const Machine* m : kMachines) {
    if (m->rules.machine == e_machine) return m;
  }
  return nullptr;
}

const elf::MachineRules* rules_for(uint16_t e_machine) {
  const Machine* m = machine_for(e_machine);
  return m ? &m->rules : nullptr;
}

}  // namespace mk::arch
