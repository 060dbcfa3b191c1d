// The sample modules (modules/) as .ko files for each machine, for the
// offline-verb tests (inspect, link): the build machine's ones CMake built
// into build/modules; the other machines' ones compiled at test time from the
// same sources with Debian's cross compilers, the SDK's flags for that
// machine (sdk/modkit.cmake) and the cross `ld -r`, as modkit_add_module
// would on such a host. Plus a small reader of ELF section headers and
// symbols for checking outputs.
#pragma once

#include <stdint.h>

#include <map>
#include <string>
#include <vector>

#include "link/toolchain.h"

namespace mk::test {

struct Target {
  const char* label;      // x86_64, aarch64, riscv64
  uint16_t machine;       // e_machine
  const char* prefix;     // the tools' "x86_64-linux-gnu-", "aarch64-linux-gnu-" ...
  const char* sdk_flags;  // the SDK's per-machine flags
  // For GNU ld's final link in the comparison: no relaxation (riscv64:
  // the SDK builds with -mno-relax; x86_64: ld turns GOTPCRELX loads into
  // 32-bit immediates in a non-PIC link, which cannot hold these addresses).
  const char* ld_flags;
};

const Target& X86_64();
const Target& AArch64();
const Target& RiscV64();
const std::vector<const Target*>& AllTargets();
// The machine this test binary was built for, whose samples CMake built
// (aarch64 in an aarch64 cross build run under qemu-user).
const Target& BuildMachine();

// x86_64's gcc (the host's own on an x86_64 build), for the tests whose
// expectations are x86_64 code, whatever machine they run on.
inline constexpr Compiler kX86_64Gcc{"gcc", "x86_64-linux-gnu-gcc", "x86_64-linux-gnu-g++"};

// Whether the target's gcc, g++, ld and objcopy are installed; when not,
// *why says which is missing and how to install it.
bool Available(const Target& t, std::string* why);
std::string Tool(const Target& t, const char* name);  // "aarch64-linux-gnu-ld"

// The sample module names with their sources.
const std::vector<std::string>& SampleNames();

// Every sample source in modules/ (*.c, *.cc), by name, sorted.
std::vector<std::string> AllSampleSources();

// The samples' .ko files for `t` (SampleNames(), or `names`): for the build
// machine the ones CMake built, else compiled into `scratch`. A build failure is a test
// failure and yields an empty map.
std::map<std::string, std::string> SampleModules(const Target& t, Scratch& scratch);
std::map<std::string, std::string> SampleModules(const Target& t, Scratch& scratch,
                                                 const std::vector<std::string>& names);

std::string SourceDir();
std::string BinaryDir();
std::string ModkitTool();  // the built `modkit`

// Section headers and symbols of an ELF64 little-endian file.
struct ElfSection {
  std::string name;
  uint32_t type = 0;
  uint64_t flags = 0;
  uint64_t addr = 0;
  uint64_t offset = 0;
  uint64_t size = 0;
};
struct ElfFile {
  uint16_t type = 0;
  uint16_t machine = 0;
  std::vector<uint8_t> bytes;
  std::vector<ElfSection> sections;
  std::map<std::string, uint64_t> symbols;  // name -> value (.symtab)
  const ElfSection* Find(const std::string& name) const;
  // The n bytes at address addr, from the section holding them.
  std::vector<uint8_t> At(uint64_t addr, size_t n) const;
};
// Reads path; a malformed file is a test failure.
ElfFile ReadElf(const std::string& path);

}  // namespace mk::test
