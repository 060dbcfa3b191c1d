// End-to-end tests of `modkit link FILE --base ADDR --symbols FILE -o OUT`.
//
// The main check: every sample module of every machine (x86_64 as CMake
// built it; aarch64 and riscv64 cross-compiled, skipped with a message when
// the cross tools are missing) is linked by `modkit link`, and GNU ld links
// the same object with every section at the address modkit chose (a
// generated linker script) and every import at the address of the symbol
// list (--defsym); every byte of every loaded section must be the same.
// Two things GNU ld does on its own are kept out of the comparison by
// giving it a copy of the object (objcopy: the same bytes and relocations),
// so that no byte needs a mask:
//   - it merges the strings of SHF_MERGE sections (dropping duplicates and
//     shared tails, which moves them), which modkit keeps as they are: the
//     copy has that flag cleared;
//   - it edits the CFI it puts in an output section named .eh_frame (on
//     riscv64 it trims each FDE's padding, which moves every later record):
//     the copy and the script call it .eh_frame.input.
// What GNU ld cannot match is where the GOT slots are (each linker lays out
// its own), and on x86_64 whether a GOT load is relaxed into a `lea': the
// 4-byte fields that load an address through a GOT slot (and the opcode of
// a relaxed one) are not compared; instead each is checked to load a slot
// that holds the symbol's address, or the address itself (GotUse; the
// sample modules import only functions, a test-time module imports data).
//
// Each output's program headers are checked too (CheckProgramHeaders): a
// PT_LOAD per permission class, what a boot loader loads it with.
//
// Then: a call out of reach goes through a stub (x86_64) or veneer (aarch64,
// riscv64) that is in the output and jumps to the target; a ksyms image and
// nm's output work as symbol lists; undefined symbols, bad symbol lists and
// impossible placements are refused with their exact messages, and nothing
// is written.
#include <gtest/gtest.h>
#include <stdio.h>
#include <unistd.h>

#include <algorithm>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "arch/machine.h"
#include "elf/elf.h"
#include "elf/validate.h"
#include "exec/process.h"
#include "hosted/malloc_allocator.h"
#include "tools/samples.h"

namespace mk::test {
namespace {

using modkit::exec_test::Command;
using modkit::exec_test::Outcome;
using modkit::exec_test::ReadFile;
using modkit::exec_test::RunProcess;
using modkit::exec_test::WriteFile;

constexpr uint64_t kBase = 0x7f0010000000;  // above 4 GiB: ld cannot use 32-bit immediates

std::string Hex(uint64_t v) {
  char buf[24];
  snprintf(buf, sizeof buf, "0x%lx", static_cast<unsigned long>(v));
  return buf;
}

Outcome Modkit(const std::vector<std::string>& args, const Scratch& scratch) {
  static int runs = 0;
  Command c;
  c.argv = {ModkitTool()};
  c.argv.insert(c.argv.end(), args.begin(), args.end());
  c.capture_prefix = scratch.path("modkit" + std::to_string(runs++));
  Outcome out = RunProcess(c);
  EXPECT_TRUE(out.started) << out.err;
  return out;
}

// The names a module imports (its undefined symbols), in symbol-table order.
std::vector<std::string> Imports(const std::string& ko) {
  std::vector<uint8_t> bytes = ReadBytes(ko);
  hosted::MallocAllocator alloc;
  auto obj = elf::validate(ByteView(bytes.data(), bytes.size()), arch::rules_for, alloc);
  EXPECT_TRUE(obj.ok()) << ko << ": " << obj.error().message();
  std::vector<std::string> out;
  if (!obj.ok()) return out;
  for (const elf::Symbol& s : obj.value().symbols)  // the linker makes the GOT itself
    if (!s.defined() && s.name[0] != '\0' && std::string(s.name) != "_GLOBAL_OFFSET_TABLE_")
      out.push_back(s.name);
  return out;
}

// A `name address` list giving each import an address `near`, 0x40 apart
// (or the one in `placed`); returns the addresses.
std::map<std::string, uint64_t> WriteSymbols(const std::string& path,
                                             const std::vector<std::string>& imports, uint64_t near,
                                             const std::map<std::string, uint64_t>& placed = {}) {
  std::map<std::string, uint64_t> given;
  std::string text = "# imports of the module under test\n";
  for (size_t i = 0; i < imports.size(); ++i) {
    auto it = placed.find(imports[i]);
    uint64_t addr = it != placed.end() ? it->second : near + i * 0x40;
    given[imports[i]] = addr;
    text += imports[i] + " " + Hex(addr) + "\n";
  }
  WriteFile(path, text);
  return given;
}

uint64_t Read64(const ElfFile& f, uint64_t addr) {
  std::vector<uint8_t> b = f.At(addr, 8);
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i)
    v = v << 8 | b[i];
  return v;
}

uint32_t Read32(const ElfFile& f, uint64_t addr) {
  std::vector<uint8_t> b = f.At(addr, 4);
  return b[0] | b[1] << 8 | b[2] << 16 | uint32_t(b[3]) << 24;
}

// A field that loads an imported address through a GOT slot: x86_64
// GOTPCREL*, aarch64 ADR_GOT_PAGE / LD64_GOT_LO12_NC, riscv64 GOT_HI20 and
// the %pcrel_lo that completes it. The two linkers lay their GOTs out
// differently, so these 4-byte fields are the only bytes not compared with
// GNU ld; CheckGotUse() checks instead that modkit's field loads a slot that
// holds the symbol's address.
struct GotUse {
  std::string section;
  uint64_t offset;
  int64_t addend;
  std::string symbol;
  std::string type;    // the relocation kind's name
  uint64_t hi_offset;  // aarch64 LO12 and riscv LO12: where its high part is
};

std::vector<GotUse> GotUses(const std::string& ko) {
  std::vector<uint8_t> bytes = ReadBytes(ko);
  hosted::MallocAllocator alloc;
  auto v = elf::validate(ByteView(bytes.data(), bytes.size()), arch::rules_for, alloc);
  EXPECT_TRUE(v.ok()) << ko;
  std::vector<GotUse> out;
  if (!v.ok()) return out;
  const elf::ValidatedObject& obj = v.value();
  const arch::Machine* m = arch::machine_for(obj.machine->machine);
  std::map<std::pair<uint32_t, uint64_t>, std::string> got_his;  // riscv: (section, offset)
  std::map<std::string, uint64_t> last_page;                     // aarch64: symbol -> ADRP
  for (int pass = 0; pass < 2; ++pass) {
    for (const elf::RelocSection& rs : obj.relocs) {
      if (!obj.sections[rs.target].alloc()) continue;
      for (uint64_t i = 0; i < rs.count; ++i) {
        elf::Relocation r = obj.relocation(rs, i);
        const arch::RelocKind* k = m->kind(r.type);
        const elf::Symbol& sym = obj.symbols[r.sym];
        GotUse u{obj.sections[rs.target].name, r.offset, r.addend, sym.name, k->shape.name, 0};
        if (pass == 0 && k->need == arch::Need::kGot) {
          if (k->pair == arch::Pair::kHi) got_his[{rs.target, r.offset}] = sym.name;
          if (u.type == "R_AARCH64_ADR_GOT_PAGE") last_page[sym.name] = r.offset;
          if (u.type == "R_AARCH64_LD64_GOT_LO12_NC") u.hi_offset = last_page[sym.name];
          out.push_back(u);
        } else if (pass == 1 && k->pair == arch::Pair::kLo) {
          auto hi = got_his.find({sym.shndx, sym.value + r.addend});
          if (hi == got_his.end()) continue;
          u.symbol = hi->second;
          u.hi_offset = sym.value + r.addend;
          out.push_back(u);
        }
      }
    }
  }
  return out;
}

// The slot (or, relaxed to a direct reference on x86_64, the address) that
// the GOT field of `u` makes the code load; checked against `expected`.
void CheckGotUse(const ElfFile& f, const GotUse& u, uint64_t expected) {
  SCOPED_TRACE(u.type + " to " + u.symbol + " at " + u.section + "+" + Hex(u.offset));
  const ElfSection* sec = f.Find(u.section);
  ASSERT_NE(sec, nullptr);
  uint64_t P = sec->addr + u.offset;
  uint32_t insn = Read32(f, P);
  if (u.type.rfind("R_X86_64_", 0) == 0) {
    uint64_t to = P + static_cast<int64_t>(static_cast<int32_t>(insn)) - u.addend;
    bool relaxed = f.At(P - 2, 1)[0] == 0x8d;  // mov foo@GOTPCREL -> lea foo
    EXPECT_EQ(Hex(relaxed ? to : Read64(f, to)), Hex(expected));
  } else if (u.type == "R_AARCH64_LD64_GOT_LO12_NC") {
    uint32_t adrp = Read32(f, sec->addr + u.hi_offset);
    int64_t imm = static_cast<int64_t>(((adrp >> 29) & 3) | ((adrp >> 5) & 0x7ffff) << 2);
    imm = (imm << 43) >> 43;  // 21 bits, signed
    uint64_t page = ((sec->addr + u.hi_offset) & ~uint64_t{0xfff}) + (imm << 12);
    EXPECT_EQ(Hex(Read64(f, page + ((insn >> 10) & 0xfff) * 8)), Hex(expected));
  } else if (u.type == "R_RISCV_PCREL_LO12_I") {
    uint64_t hi_at = sec->addr + u.hi_offset;
    int64_t hi = static_cast<int32_t>(Read32(f, hi_at) & 0xfffff000u);
    int64_t lo = static_cast<int32_t>(insn) >> 20;
    EXPECT_EQ(Hex(Read64(f, hi_at + hi + lo)), Hex(expected));
  }  // the high parts are checked with their low parts
}

// The name of a section in GNU ld's input copy and output (see the top).
std::string GnuName(const std::string& name) {
  return name == ".eh_frame" ? ".eh_frame.input" : name;
}

// The program headers of a `modkit link` output, as readelf -lW shows them:
// only PT_LOADs, in address order, not overlapping, each page-aligned in
// memory and in the file (p_offset = p_vaddr modulo p_align), p_paddr =
// p_vaddr; every loaded section lies in exactly one of them, at the file
// offset the segment gives its address (so copying p_filesz bytes from
// p_offset to p_vaddr puts every section's bytes at its address), contents
// within p_filesz, and the segment's flags are its sections' permissions.
void CheckProgramHeaders(const std::string& path, const ElfFile& f) {
  SCOPED_TRACE("readelf -lW " + path);
  RunResult re = Run("readelf -lW " + Quote(path));
  ASSERT_EQ(re.status, 0) << re.output;
  EXPECT_EQ(re.output.find("arning"), std::string::npos) << re.output;
  struct Load {
    uint64_t offset, vaddr, paddr, filesz, memsz, align;
    std::string flags;
  };
  std::vector<Load> loads;
  std::istringstream lines(re.output);
  std::string l;
  bool table = false;
  while (std::getline(lines, l)) {
    if (l.find("Type           Offset") != std::string::npos) {
      table = true;
      continue;
    }
    if (!table) continue;
    if (l.empty() || l.find("Section to Segment") != std::string::npos) break;
    std::istringstream w(l);
    std::string type, off, va, pa, fs, ms;
    w >> type >> off >> va >> pa >> fs >> ms;
    ASSERT_EQ(type, "LOAD") << l;
    std::string rest;
    std::getline(w, rest);  // " R E 0x1000": flags, then the alignment
    size_t a = rest.rfind(' ');
    std::string flags = rest.substr(0, a);
    flags.erase(std::remove(flags.begin(), flags.end(), ' '), flags.end());
    loads.push_back({std::stoull(off, nullptr, 16), std::stoull(va, nullptr, 16),
                     std::stoull(pa, nullptr, 16), std::stoull(fs, nullptr, 16),
                     std::stoull(ms, nullptr, 16), std::stoull(rest.substr(a + 1), nullptr, 16),
                     flags});
  }
  ASSERT_FALSE(loads.empty()) << re.output;
  for (size_t k = 0; k < loads.size(); ++k) {
    const Load& g = loads[k];
    EXPECT_EQ(g.align, 0x1000u) << re.output;
    EXPECT_EQ(g.offset % g.align, g.vaddr % g.align) << re.output;
    EXPECT_EQ(g.vaddr % g.align, 0u) << re.output;
    EXPECT_EQ(g.paddr, g.vaddr) << re.output;
    EXPECT_LE(g.filesz, g.memsz) << re.output;
    EXPECT_LE(g.offset + g.filesz, f.bytes.size()) << re.output;
    if (k > 0) {
      EXPECT_GE(g.vaddr, loads[k - 1].vaddr + loads[k - 1].memsz) << re.output;
    }
  }
  std::vector<bool> exec(loads.size()), write(loads.size());
  for (const ElfSection& s : f.sections) {
    if ((s.flags & elf::SHF_ALLOC) == 0 || s.size == 0) continue;
    SCOPED_TRACE(s.name);
    int in = -1;
    for (size_t k = 0; k < loads.size(); ++k)
      if (s.addr >= loads[k].vaddr && s.addr + s.size <= loads[k].vaddr + loads[k].memsz) {
        EXPECT_EQ(in, -1) << "in two segments";
        in = static_cast<int>(k);
      }
    ASSERT_NE(in, -1) << "in no segment:\n" << re.output;
    const Load& g = loads[static_cast<size_t>(in)];
    if (s.type != elf::SHT_NOBITS) {
      EXPECT_LE(s.addr + s.size, g.vaddr + g.filesz) << "contents past p_filesz";
      EXPECT_EQ(s.offset, g.offset + (s.addr - g.vaddr)) << "not where the segment puts it";
    }
    bool x = (s.flags & elf::SHF_EXECINSTR) != 0, wr = (s.flags & elf::SHF_WRITE) != 0;
    EXPECT_EQ(g.flags, x ? "RE" : wr ? "RW" : "R") << re.output;
    exec[static_cast<size_t>(in)] = exec[static_cast<size_t>(in)] || x;
    write[static_cast<size_t>(in)] = write[static_cast<size_t>(in)] || wr;
  }
  for (size_t k = 0; k < loads.size(); ++k) {
    EXPECT_EQ(loads[k].flags.find('E') != std::string::npos, exec[k]) << k << "\n" << re.output;
    EXPECT_EQ(loads[k].flags.find('W') != std::string::npos, write[k]) << k << "\n" << re.output;
  }
}

void CompareWithGnuLd(const Target& t, const std::string& name, const std::string& ko,
                      Scratch& scratch) {
  SCOPED_TRACE(std::string(t.label) + " " + name + " (" + ko + ")");
  std::string syms = scratch.path(name + ".syms");
  std::map<std::string, uint64_t> given = WriteSymbols(syms, Imports(ko), kBase - 0x800000);
  std::string out = scratch.path(name + ".modkit.elf");
  Outcome r = Modkit({"link", ko, "--base", Hex(kBase), "--symbols", syms, "-o", out}, scratch);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "");  // nothing printed on success
  EXPECT_EQ(r.err, "");
  ElfFile ours = ReadElf(out);
  EXPECT_EQ(ours.type, elf::ET_EXEC);
  EXPECT_EQ(ours.machine, t.machine);
  CheckProgramHeaders(out, ours);

  // GNU ld's input: the object with SHF_MERGE cleared (see the top).
  ElfFile input = ReadElf(ko);
  std::string copy = scratch.path(name + ".nomerge.o");
  std::string objcopy = Tool(t, "objcopy");
  for (const ElfSection& s : input.sections) {
    if ((s.flags & elf::SHF_MERGE) != 0 && (s.flags & elf::SHF_ALLOC) != 0)
      objcopy += " --set-section-flags " + Quote(s.name) + "=alloc,load,readonly,data,contents";
    if (s.name == ".eh_frame") objcopy += " --rename-section .eh_frame=.eh_frame.input";
  }
  RunResult oc = Run(objcopy + " " + Quote(ko) + " " + Quote(copy));
  ASSERT_EQ(oc.status, 0) << objcopy << "\n" << oc.output;

  // Every loaded input section where modkit put it; what ld makes itself
  // (GOT, PLT, dynamic relocations: none expected) far from them.
  std::ostringstream script;
  script << "SECTIONS {\n";
  std::set<std::string> names;
  for (const ElfSection& s : ours.sections) {
    if ((s.flags & elf::SHF_ALLOC) == 0 || s.name.rfind(".modkit.", 0) == 0) continue;
    ASSERT_TRUE(names.insert(s.name).second) << "two input sections named " << s.name;
    std::string in = GnuName(s.name);
    script << "  " << in << " " << Hex(s.addr) << " : { KEEP(*(" << in << ")) }\n";
  }
  // The imports, at their addresses (a section of their own: what --defsym
  // does, without making them absolute symbols).
  std::vector<std::pair<uint64_t, std::string>> by_addr;
  for (const auto& [sym, addr] : given)
    by_addr.push_back({addr, sym});
  std::sort(by_addr.begin(), by_addr.end());
  if (!by_addr.empty()) {
    script << "  .imports " << Hex(by_addr.front().first) << " (NOLOAD) : {";
    for (const auto& [addr, sym] : by_addr)
      script << " . = " << Hex(addr - by_addr.front().first) << "; " << sym << " = .;";
    script << " }\n";
  }
  script << "  .got " << Hex(kBase + 0x4000000) << " : { *(.got) *(.got.plt) }\n"
         << "  .plt : { *(.plt) *(.iplt) }\n  .rela.dyn : { *(.rela*) }\n}\n";
  std::string lds = scratch.Write(name + ".ld", script.str());
  std::string cmd = Tool(t, "ld") + " -static -e 0 " + t.ld_flags + " -T " + Quote(lds);
  if (ours.symbols.count("__dso_handle"))
    cmd += " --defsym=__dso_handle=" + Hex(ours.symbols["__dso_handle"]);
  std::string gnu_path = scratch.path(name + ".gnu.elf");
  cmd += " " + Quote(copy) + " -o " + Quote(gnu_path);
  RunResult ld = Run(cmd);
  ASSERT_EQ(ld.status, 0) << cmd << "\n" << ld.output;
  ElfFile gnu = ReadElf(gnu_path);

  std::vector<GotUse> got_uses = GotUses(ko);
  std::set<uint64_t> masked;  // addresses of GOT fields (see GotUse)
  for (const GotUse& u : got_uses) {
    const ElfSection* sec = ours.Find(u.section);
    ASSERT_NE(sec, nullptr) << u.section;
    for (uint64_t i = 0; i < 4; ++i)
      masked.insert(sec->addr + u.offset + i);
    // x86_64: modkit relaxes `mov foo@GOTPCREL(%rip)' to `lea foo(%rip)'
    // when foo is in reach, as the psABI allows; GNU ld does not here (it
    // would make it a 32-bit immediate, which these addresses do not fit,
    // so it links with --no-relax). CheckGotUse checks the lea's target.
    if (u.type.rfind("R_X86_64_", 0) == 0 && ours.At(sec->addr + u.offset - 2, 1)[0] == 0x8d)
      masked.insert(sec->addr + u.offset - 2);
  }
  for (const GotUse& u : got_uses)
    CheckGotUse(ours, u, given[u.symbol]);

  uint64_t compared = 0;
  for (const ElfSection& s : ours.sections) {
    if ((s.flags & elf::SHF_ALLOC) == 0 || s.name.rfind(".modkit.", 0) == 0 || s.size == 0)
      continue;
    const ElfSection* g = gnu.Find(GnuName(s.name));
    ASSERT_NE(g, nullptr) << s.name << " is not in GNU ld's output";
    ASSERT_EQ(Hex(g->addr), Hex(s.addr)) << s.name;
    ASSERT_EQ(g->size, s.size) << s.name;
    ASSERT_EQ(g->type, s.type) << s.name;
    if (s.type == elf::SHT_NOBITS) continue;
    for (uint64_t i = 0; i < s.size; ++i) {
      if (masked.count(s.addr + i)) continue;
      uint8_t a = ours.bytes[s.offset + i], b = gnu.bytes[g->offset + i];
      if (a != b) {
        ADD_FAILURE() << s.name << "+" << Hex(i) << " (" << Hex(s.addr + i) << "): modkit "
                      << Hex(a) << ", GNU ld " << Hex(b) << "\n"
                      << cmd;
        return;  // one difference says enough
      }
    }
    compared += s.size;  // (less the masked bytes, at most 4 per GOT use)
  }
  EXPECT_GT(compared, 100u);
  // Every symbol of the module has its final value, as in ld's output.
  for (const auto& [sym, value] : gnu.symbols) {
    if (sym.empty() || given.count(sym) || !ours.symbols.count(sym)) continue;
    EXPECT_EQ(Hex(ours.symbols[sym]), Hex(value)) << sym;
  }
  bool record = false;  // a module's record symbol (mangled in C++)
  for (const auto& [sym, value] : ours.symbols)
    record |= sym.find("mk__module_") != std::string::npos;
  EXPECT_EQ(record, input.Find("modkit_modinfo") != nullptr) << "the module record's symbol";
}

class LinkSamples : public ::testing::TestWithParam<const Target*> {};

TEST_P(LinkSamples, EverySampleHasTheSameBytesAsGnuLd) {
  const Target& t = *GetParam();
  std::string why;
  if (!Available(t, &why)) GTEST_SKIP() << why;
  Scratch scratch;
  std::map<std::string, std::string> kos = SampleModules(t, scratch);
  ASSERT_EQ(kos.size(), SampleNames().size());
  for (const auto& [name, ko] : kos)
    CompareWithGnuLd(t, name, ko, scratch);
}

// Where the branch at P (an x86_64 rel32 call or jump, an aarch64 B or BL,
// a riscv64 AUIPC+JALR pair) goes, as the CPU would compute it.
uint64_t BranchTarget(const Target& t, const ElfFile& f, uint64_t P) {
  std::vector<uint8_t> b = f.At(P, &t == &RiscV64() ? 8 : 4);
  uint32_t w0 = b[0] | b[1] << 8 | b[2] << 16 | uint32_t(b[3]) << 24;
  if (&t == &X86_64()) return P + 4 + static_cast<int64_t>(static_cast<int32_t>(w0));
  if (&t == &AArch64()) {
    int64_t imm = static_cast<int64_t>(static_cast<int32_t>(w0 << 6) >> 6) * 4;
    return P + imm;
  }
  uint32_t w1 = b[4] | b[5] << 8 | b[6] << 16 | uint32_t(b[7]) << 24;
  int64_t hi = static_cast<int32_t>(w0 & 0xfffff000u);
  int64_t lo = static_cast<int32_t>(w1) >> 20;
  return P + hi + lo;
}

// Where a stub keeps its 64-bit target (arch/*.cc write_stub).
uint64_t StubLiteral(const Target& t) {
  return &t == &X86_64() ? 6 : &t == &AArch64() ? 8 : 16;
}

// Follows a branch, and the stub it lands in if any: the final target.
uint64_t CallsInto(const Target& t, const ElfFile& f, uint64_t P) {
  uint64_t to = BranchTarget(t, f, P);
  const ElfSection* stubs = f.Find(".modkit.stubs");
  if (stubs != nullptr && to >= stubs->addr && to < stubs->addr + stubs->size)
    return Read64(f, to + StubLiteral(t));
  return to;
}

TEST_P(LinkSamples, CallOutOfReachGoesThroughAStubInTheOutput) {
  const Target& t = *GetParam();
  std::string why;
  if (!Available(t, &why)) GTEST_SKIP() << why;
  Scratch scratch;
  std::string ko = SampleModules(t, scratch)["chain_mid"];
  ASSERT_FALSE(ko.empty());
  const uint64_t far = kBase + 0x100000000;  // 4 GiB: beyond every machine's direct reach
  std::string syms = scratch.path("far.syms");
  std::map<std::string, uint64_t> given =
      WriteSymbols(syms, Imports(ko), kBase - 0x800000, {{"chain_base_version", far}});
  std::string out = scratch.path("far.elf");
  Outcome r = Modkit({"link", ko, "--base", Hex(kBase), "--symbols", syms, "-o", out}, scratch);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ElfFile f = ReadElf(out);
  const ElfSection* text = f.Find(".text");
  const ElfSection* stubs = f.Find(".modkit.stubs");
  ASSERT_NE(text, nullptr);
  ASSERT_NE(stubs, nullptr) << "the stubs are in the output";
  EXPECT_EQ(stubs->flags, elf::SHF_ALLOC | elf::SHF_EXECINSTR);

  for (const Reloc& rel : Relocations(ko)) {
    if (rel.section != ".text" || !given.count(rel.symbol)) continue;
    if (rel.type.find("CALL") == std::string::npos && rel.type.find("JUMP") == std::string::npos &&
        rel.type.find("PLT32") == std::string::npos)
      continue;
    SCOPED_TRACE(rel.type + " to " + rel.symbol + " at .text+" + Hex(rel.offset));
    uint64_t P = text->addr + rel.offset;
    if (rel.symbol == "chain_base_version") {
      uint64_t stub = BranchTarget(t, f, P);
      EXPECT_GE(stub, stubs->addr);
      EXPECT_LT(stub, stubs->addr + stubs->size);
    }
    EXPECT_EQ(Hex(CallsInto(t, f, P)), Hex(given[rel.symbol]));
  }
}

// Imported data, read through GOT slots (the SDK's -fPIC): the slots are in
// the output (.modkit.got) and hold the symbols' addresses; every other byte
// is GNU ld's.
TEST_P(LinkSamples, ImportedDataIsReadThroughGotSlotsInTheOutput) {
  const Target& t = *GetParam();
  std::string why;
  if (!Available(t, &why)) GTEST_SKIP() << why;
  Scratch scratch;
  const char* source = R"(extern int kernel_ticks;
extern const char kernel_name[];
extern int kernel_call(int);
int read_ticks(void) { return kernel_ticks + kernel_name[0]; }
int *ticks_at(void) { return &kernel_ticks; }
int call(int x) { return kernel_call(x) + 1; }
)";
  std::string src = scratch.Write("data.c", source);
  std::string ko = scratch.path("data.ko");
  std::string cmd = Tool(t, "gcc") + " -c -O2 -fPIC -fno-semantic-interposition " +
                    "-fno-stack-protector -fno-common " + t.sdk_flags + " " + Quote(src) + " -o " +
                    Quote(ko);
  RunResult cc = mk::test::Run(cmd);
  ASSERT_EQ(cc.status, 0) << cmd << "\n" << cc.output;
  std::vector<GotUse> uses = GotUses(ko);
  ASSERT_GE(uses.size(), 3u) << "expected GOT relocations";
  CompareWithGnuLd(t, "data", ko, scratch);
  ElfFile f = ReadElf(scratch.path("data.modkit.elf"));
  if (&t != &X86_64()) {  // x86_64 relaxes every one of them to a direct lea
    EXPECT_NE(f.Find(".modkit.got"), nullptr);
  }
}

INSTANTIATE_TEST_SUITE_P(Machines, LinkSamples,
                         ::testing::Values(&X86_64(), &AArch64(), &RiscV64()),
                         [](const auto& p) { return std::string(p.param->label); });

// A sample module for x86_64, which the tests below expect: CMake's on an
// x86_64 build, else compiled with x86_64-linux-gnu-gcc into scratch ("" and
// a test failure when that fails).
std::string SampleKo(const std::string& name, Scratch& scratch) {
  return SampleModules(X86_64(), scratch, {name})[name];
}

TEST(Link, KsymsImageAndNmOutputAreSymbolLists) {
#if !MODKIT_TOOLS_HAVE_MODKITD
  GTEST_SKIP() << "modkitd is not built (MODKIT_FUSE=OFF, as in the cross builds): the ksyms "
                  "image comes from a running modkitd";
#endif
  Scratch scratch;
  std::string ksyms = scratch.path("ksyms.elf");
  // The image of a running kernel with chain_base loaded: modkitd on its own
  // socket, driven by `modkit load` and `modkit sym --ksyms`. (The kernel
  // loads the build machine's chain_base; the module linked is x86_64's.)
  std::string base = BinaryDir() + "/modules/chain_base.ko";
  std::string sock = scratch.path("modkitd.sock");
  std::string conf =
      scratch.Write("modkitd.conf", "module_path = " + base.substr(0, base.rfind('/')) +
                                        "\nsocket = " + sock + "\n");
  int n = 0;
  auto run = [&](std::vector<std::string> argv) {
    Command c;
    c.argv = std::move(argv);
    c.env = {{"MODKIT_SOCKET", sock}, {"MODKIT_CONFIG", scratch.path("no-such.conf")}};
    c.capture_prefix = scratch.path("kernel" + std::to_string(n++));
    return RunProcess(c);
  };
  std::string daemon = ModkitTool();
  daemon.replace(daemon.rfind("modkit/modkit"), 13, "modkitd/modkitd");
  Outcome d = run({daemon, "-c", conf});
  ASSERT_EQ(d.exit_code, 0) << d.err;
  Outcome l = run({ModkitTool(), "load", base});
  Outcome k = run({ModkitTool(), "sym", "--ksyms", ksyms});
  Outcome s = run({ModkitTool(), "shutdown"});
  ASSERT_EQ(l.exit_code, 0) << l.err;
  ASSERT_EQ(k.exit_code, 0) << k.err;
  EXPECT_EQ(s.exit_code, 0) << s.err;
  ElfFile image = ReadElf(ksyms);

  std::string ko = SampleKo("chain_mid", scratch);
  ASSERT_FALSE(ko.empty());
  std::string out = scratch.path("from_elf.elf");
  Outcome r = Modkit({"link", ko, "--base", "0x10000000", "--symbols", ksyms, "-o", out}, scratch);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err, "");
  ElfFile f = ReadElf(out);
  int calls = 0;
  for (const Reloc& rel : Relocations(ko)) {
    if (rel.section != ".text" || rel.type != "R_X86_64_PLT32") continue;
    ASSERT_EQ(image.symbols.count(rel.symbol), 1u) << rel.symbol;
    EXPECT_EQ(Hex(CallsInto(X86_64(), f, f.Find(".text")->addr + rel.offset)),
              Hex(image.symbols[rel.symbol]))
        << rel.symbol;
    ++calls;
  }
  EXPECT_EQ(calls, 3);

  // nm's `address type name' lines of the same image give the same output.
  std::string listed = scratch.path("ksyms.nm");
  RunResult nm = mk::test::Run("nm -g --defined-only " + Quote(ksyms) + " > " + Quote(listed));
  ASSERT_EQ(nm.status, 0) << nm.output;
  std::string again = scratch.path("from_nm.elf");
  r = Modkit({"link", ko, "--base", "0x10000000", "--symbols", listed, "-o", again}, scratch);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(ReadBytes(again), ReadBytes(out));
}

TEST(Link, UndefinedSymbolsAreListedAndNothingIsWritten) {
  Scratch scratch;
  std::string ko = SampleKo("chain_mid", scratch);
  ASSERT_FALSE(ko.empty());
  std::string syms = scratch.Write("partial.syms", "mk_printf 0x7f0000001000\n");
  std::string out = scratch.path("never.elf");
  Outcome r = Modkit({"link", ko, "--base", Hex(kBase), "--symbols", syms, "-o", out}, scratch);
  EXPECT_EQ(r.exit_code, 1);
  std::string expected;
  for (const char* name : {"mk_module_name", "chain_base_version"}) {
    uint64_t at = FirstRelocationTo(ko, ".text", name);
    ASSERT_NE(at, UINT64_MAX) << name;
    std::string line = "modkit link: undefined symbol `" + std::string(name) +
                       "' (referenced from " + ko + " .text+" + Hex(at) + "), not in " + syms +
                       "\n";
    EXPECT_NE(r.err.find(line), std::string::npos) << r.err;
    expected += line;
  }
  EXPECT_EQ(r.err.size(), expected.size()) << r.err;  // those two lines and nothing else
  EXPECT_EQ(r.out, "");
  EXPECT_NE(access(out.c_str(), F_OK), 0) << "an output was written";
}

TEST(Link, BadSymbolListsNameTheLine) {
  Scratch scratch;
  std::string ko = SampleKo("chain_mid", scratch);
  ASSERT_FALSE(ko.empty());
  std::string out = scratch.path("never.elf");
  struct Case {
    const char* text;
    std::string error;
  } cases[] = {
      {"mk_printf 0x1000\nmk_module_name zz\n",
       ":2: `zz' is not a hexadecimal address (expected `name address')"},
      {"# kallsyms\n1000 T mk_printf\nnot-hex T mk_module_name\n",
       ":3: `not-hex' is not a hexadecimal address (expected nm's `address type name')"},
      {"mk_printf 0x1000 T extra words\n",
       ":1: expected `name address' or `address type name', "
       "found 5 words"},
      {"mk_printf 0x1000\n\nmk_printf 0x2000\n",
       ":3: `mk_printf' at 0x2000 is already listed at 0x1000 (line 1); a name must have one "
       "address"},
      {"mk_printf 0x10000000000000000\n",
       ":1: `0x10000000000000000' is not a hexadecimal address (expected `name address')"},
  };
  int n = 0;
  for (const Case& c : cases) {
    std::string syms = scratch.Write("bad" + std::to_string(n++) + ".syms", c.text);
    Outcome r = Modkit({"link", ko, "--base", Hex(kBase), "--symbols", syms, "-o", out}, scratch);
    EXPECT_EQ(r.exit_code, 1) << c.text;
    EXPECT_EQ(r.err, "modkit link: " + syms + c.error + "\n");
    EXPECT_NE(access(out.c_str(), F_OK), 0);
  }
  std::string not_elf = scratch.Write("short.elf", std::string("\x7f"
                                                               "ELF\x01\x01",
                                                               6));
  Outcome r = Modkit({"link", ko, "--base", Hex(kBase), "--symbols", not_elf, "-o", out}, scratch);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err, "modkit link: " + not_elf +
                       ": not an ELF64 little-endian file (a symbol list must be text or such a "
                       "file)\n");
}

TEST(Link, PlacementOutOfReachIsRefused) {
  Scratch scratch;
  // -fno-pic: the address of `value' is a 32-bit absolute relocation, so
  // the module must lie in the low 2 GiB.
  std::string obj =
      scratch.Compile(kX86_64Gcc, "low.c", "int value = 3;\nint* where(void) { return &value; }\n",
                      {"-O2", "-fno-pic", "-mcmodel=small"});
  ASSERT_FALSE(obj.empty());
  std::string out = scratch.path("never.elf");
  Outcome r = Modkit({"link", obj, "--base", Hex(kBase), "-o", out}, scratch);
  EXPECT_EQ(r.exit_code, 1);
  std::string prefix = "modkit link: the file cannot lie at " + Hex(kBase) + ": its text (";
  EXPECT_EQ(r.err.substr(0, prefix.size()), prefix) << r.err;
  EXPECT_NE(r.err.find(", 0x80000000), what its 32-bit relocations and its calls to itself can "
                       "reach; choose a --base in that range\n"),
            std::string::npos)
      << r.err;
  EXPECT_NE(access(out.c_str(), F_OK), 0);
  // In the low 2 GiB it links, and `where' returns the address of `value'.
  r = Modkit({"link", obj, "--base", "0x400000", "-o", out}, scratch);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ElfFile f = ReadElf(out);
  ASSERT_EQ(f.symbols.count("value"), 1u);
  uint64_t where = f.symbols["where"];
  std::vector<uint8_t> insn = f.At(where, 5);  // mov $value, %eax
  EXPECT_EQ(insn[0], 0xb8);
  EXPECT_EQ(Hex(insn[1] | insn[2] << 8 | insn[3] << 16 | uint64_t(insn[4]) << 24),
            Hex(f.symbols["value"]));
}

TEST(Link, UsageErrors) {
  Scratch scratch;
  std::string ko = SampleKo("hello", scratch);
  ASSERT_FALSE(ko.empty());
  std::string out = scratch.path("never.elf");
  Outcome r = Modkit({"link", ko, "--base", "0x1001", "-o", out}, scratch);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.err, "modkit link: --base 0x1001 is not a multiple of --align 0x1000\n");
  r = Modkit({"link", ko, "--base", "banana", "-o", out}, scratch);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.err, "modkit link: --base `banana' is not an address (e.g. 0xffffffffc0000000)\n");
  r = Modkit({"link", ko, "-o", out}, scratch);
  EXPECT_EQ(r.exit_code, 2);
  r = Modkit({"link", "--help"}, scratch);
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.out.find("Example:\n  nm -g --defined-only vmlinux > kernel.syms\n  modkit link "),
            std::string::npos)
      << r.out;
}

}  // namespace
}  // namespace mk::test
