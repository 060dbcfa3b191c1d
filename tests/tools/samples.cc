#include "tools/samples.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <algorithm>

#include <gtest/gtest.h>

#include "elf/elf.h"

namespace mk::test {

namespace {

std::string FromEnv(const char* name, const char* fallback) {
  const char* v = getenv(name);
  return v != nullptr && *v != '\0' ? v : fallback;
}

// The SDK's flags for every machine (sdk/modkit.cmake, MODKIT_MODULE_FLAGS
// and MODKIT_MODULE_CXX_FLAGS).
const char kCommonFlags[] =
    "-O2 -fPIC -fno-semantic-interposition -fno-stack-protector -U_FORTIFY_SOURCE -fno-common";
const char kCxxFlags[] = "-fno-exceptions -fno-rtti -fno-threadsafe-statics";

// The machine this test binary (and so CMake's sample modules) was built for:
// an aarch64 build run under qemu-aarch64 (make test-cross) compiles the
// x86_64 samples with x86_64-linux-gnu-gcc like any other machine's.
#if defined(__x86_64__)
constexpr uint16_t kBuildMachine = elf::EM_X86_64;
#elif defined(__aarch64__)
constexpr uint16_t kBuildMachine = elf::EM_AARCH64;
#elif defined(__riscv)
constexpr uint16_t kBuildMachine = elf::EM_RISCV;
#else
constexpr uint16_t kBuildMachine = elf::EM_NONE;
#endif

}  // namespace

const Target& X86_64() {
  static const Target t{"x86_64", elf::EM_X86_64, "x86_64-linux-gnu-", "", "--no-relax"};
  return t;
}
const Target& AArch64() {
  static const Target t{"aarch64", elf::EM_AARCH64, "aarch64-linux-gnu-", "-mno-outline-atomics",
                        "--no-relax"};
  return t;
}
const Target& RiscV64() {
  static const Target t{"riscv64", elf::EM_RISCV, "riscv64-linux-gnu-",
                        "-mno-relax -fasynchronous-unwind-tables", "--no-relax"};
  return t;
}
const std::vector<const Target*>& AllTargets() {
  static const std::vector<const Target*> all{&X86_64(), &AArch64(), &RiscV64()};
  return all;
}

const Target& BuildMachine() {
  for (const Target* t : AllTargets())
    if (t->machine == kBuildMachine) return *t;
  ADD_FAILURE() << "the tools tests know no samples for this build's machine";
  return X86_64();
}

std::string Tool(const Target& t, const char* name) {
  return std::string(t.prefix) + name;
}

bool Available(const Target& t, std::string* why) {
  for (const char* tool : {"gcc", "g++", "ld", "objcopy"}) {
    std::string name = Tool(t, tool);
    if (Run("command -v " + Quote(name) + " >/dev/null").status != 0) {
      *why = name + " is not installed (scripts/deps.sh --cross installs the cross toolchains)";
      return false;
    }
  }
  return true;
}

const std::vector<std::string>& SampleNames() {
  static const std::vector<std::string> names{"hello",     "chain_base", "chain_mid",
                                              "chain_top", "two_in_one", "fail_init",
                                              "veto",      "counter",    "nested"};
  return names;
}

std::string SourceDir() {
  return FromEnv("MODKIT_SOURCE_DIR", MODKIT_TOOLS_SOURCE_DIR);
}
std::string BinaryDir() {
  return FromEnv("MODKIT_BINARY_DIR", MODKIT_TOOLS_BINARY_DIR);
}
std::string ModkitTool() {
  return BinaryDir() + "/tools/modkit/modkit";
}

std::vector<std::string> AllSampleSources() {
  std::vector<std::string> names;
  DIR* d = opendir((SourceDir() + "/modules").c_str());
  if (d == nullptr) {
    ADD_FAILURE() << SourceDir() << "/modules: " << strerror(errno);
    return names;
  }
  while (dirent* e = readdir(d)) {
    std::string n = e->d_name;
    size_t dot = n.rfind('.');
    if (dot == std::string::npos || n[0] == '.') continue;
    std::string ext = n.substr(dot);
    if (ext == ".c" || ext == ".cc") names.push_back(n.substr(0, dot));
  }
  closedir(d);
  std::sort(names.begin(), names.end());
  return names;
}

std::map<std::string, std::string> SampleModules(const Target& t, Scratch& scratch) {
  return SampleModules(t, scratch, SampleNames());
}

std::map<std::string, std::string> SampleModules(const Target& t, Scratch& scratch,
                                                 const std::vector<std::string>& names) {
  std::map<std::string, std::string> out;
  for (const std::string& name : names) {
    if (t.machine == kBuildMachine) {
      out[name] = BinaryDir() + "/modules/" + name + ".ko";
      continue;
    }
    bool cxx = access((SourceDir() + "/modules/" + name + ".cc").c_str(), F_OK) == 0;
    std::string src = SourceDir() + "/modules/" + name + (cxx ? ".cc" : ".c");
    std::string obj = scratch.path(std::string(t.label) + "_" + name + ".o");
    std::string ko = scratch.path(std::string(t.label) + "_" + name + ".ko");
    std::string cmd =
        Tool(t, cxx ? "g++" : "gcc") + " -c " + kCommonFlags + " " + t.sdk_flags +
        (cxx ? std::string(" ") + kCxxFlags : "") + " -I" + Quote(SourceDir() + "/sdk/include") +
        " -I" + Quote(SourceDir() + "/modules/include") + " " + Quote(src) + " -o " + Quote(obj) +
        " && " + Tool(t, "ld") + " -r " + Quote(obj) + " -o " + Quote(ko);
    RunResult r = Run(cmd);
    if (r.status != 0) {
      ADD_FAILURE() << cmd << "\n" << r.output;
      return {};
    }
    out[name] = ko;
  }
  return out;
}

const ElfSection* ElfFile::Find(const std::string& name) const {
  for (const ElfSection& s : sections)
    if (s.name == name) return &s;
  return nullptr;
}

std::vector<uint8_t> ElfFile::At(uint64_t addr, size_t n) const {
  for (const ElfSection& s : sections) {
    if (s.type == elf::SHT_NOBITS || (s.flags & elf::SHF_ALLOC) == 0) continue;
    if (addr >= s.addr && addr - s.addr <= s.size && n <= s.size - (addr - s.addr))
      return std::vector<uint8_t>(bytes.begin() + s.offset + (addr - s.addr),
                                  bytes.begin() + s.offset + (addr - s.addr) + n);
  }
  ADD_FAILURE() << "no section holds " << n << " bytes at 0x" << std::hex << addr;
  return std::vector<uint8_t>(n, 0);
}

ElfFile ReadElf(const std::string& path) {
  ElfFile f;
  f.bytes = ReadBytes(path);
  const std::vector<uint8_t>& b = f.bytes;
  elf::Ehdr eh;
  if (b.size() < sizeof eh) {
    ADD_FAILURE() << path << ": not an ELF file";
    return f;
  }
  memcpy(&eh, b.data(), sizeof eh);
  f.type = eh.type;
  f.machine = eh.machine;
  if (eh.shoff > b.size() || (b.size() - eh.shoff) / sizeof(elf::Shdr) < eh.shnum ||
      eh.shstrndx >= eh.shnum) {
    ADD_FAILURE() << path << ": section headers out of the file";
    return f;
  }
  std::vector<elf::Shdr> sh(eh.shnum);
  memcpy(sh.data(), b.data() + eh.shoff, eh.shnum * sizeof(elf::Shdr));
  auto str = [&](const elf::Shdr& table, uint32_t off) {
    if (table.offset + off >= b.size()) return std::string("?");
    return std::string(reinterpret_cast<const char*>(b.data() + table.offset + off));
  };
  for (const elf::Shdr& s : sh)
    f.sections.push_back({str(sh[eh.shstrndx], s.name), s.type, s.flags, s.addr, s.offset, s.size});
  for (const elf::Shdr& s : sh) {
    if (s.type != elf::SHT_SYMTAB || s.link >= sh.size()) continue;
    for (uint64_t i = 1; i < s.size / sizeof(elf::Sym); ++i) {
      elf::Sym sym;
      memcpy(&sym, b.data() + s.offset + i * sizeof sym, sizeof sym);
      f.symbols[str(sh[s.link], sym.name)] = sym.value;
    }
  }
  return f;
}

}  // namespace mk::test
