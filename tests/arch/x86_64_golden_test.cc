// Golden tests for the x86_64 machine: the golden_x86_64*.s sources are
// assembled by the real assembler and linked by real linkers at build time
// (see CMakeLists.txt). Here every relocation of the objects is applied again
// with kX86_64.apply(), at the addresses the linker chose, and the bytes must
// equal the linker's output:
//   gnu.elf  GNU ld --no-relax: every kind, GOTPCRELX through the GOT slot
//   lld.elf  ld.lld: the GOTPCRELX relaxations (lea, addr32 call, jmp; nop)
//
// The reader below trusts its input: these are files our own build made.
#include <elf.h>
#include <gtest/gtest.h>
#include <stdint.h>
#include <string.h>

#include <fstream>
#include <iterator>
#include <map>
#include <string>
#include <vector>

// Not arch/x86_64.h: its R_X86_64_* names are <elf.h> macros here.
#include "arch/machine.h"

#ifndef MODKIT_GOLDEN_DIR
#define MODKIT_GOLDEN_DIR ""
#endif

namespace mk::arch {
namespace {

std::vector<uint8_t> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(in), {});
}

template <class T>
T get(const std::vector<uint8_t>& b, uint64_t off) {
  T v;
  memcpy(&v, b.data() + off, sizeof(T));
  return v;
}

struct ElfFile {
  std::vector<uint8_t> bytes;
  std::vector<Elf64_Shdr> shdrs;

  explicit ElfFile(const std::string& path) : bytes(read_file(path)) {
    if (bytes.size() < sizeof(Elf64_Ehdr)) return;
    auto eh = get<Elf64_Ehdr>(bytes, 0);
    for (unsigned i = 0; i < eh.e_shnum; ++i)
      shdrs.push_back(get<Elf64_Shdr>(bytes, eh.e_shoff + i * sizeof(Elf64_Shdr)));
  }
  bool ok() const { return !shdrs.empty(); }

  const char* str(unsigned strtab, uint32_t off) const {
    return reinterpret_cast<const char*>(bytes.data() + shdrs[strtab].sh_offset + off);
  }
  std::string section_name(unsigned i) const {
    unsigned shstrndx = get<Elf64_Ehdr>(bytes, 0).e_shstrndx;
    return str(shstrndx, shdrs[i].sh_name);
  }
  int section(const std::string& name) const {
    for (unsigned i = 0; i < shdrs.size(); ++i)
      if (section_name(i) == name) return static_cast<int>(i);
    return -1;
  }
  unsigned symtab() const {
    for (unsigned i = 0; i < shdrs.size(); ++i)
      if (shdrs[i].sh_type == SHT_SYMTAB) return i;
    return 0;
  }
  std::vector<Elf64_Sym> symbols() const {
    std::vector<Elf64_Sym> syms;
    const Elf64_Shdr& s = shdrs[symtab()];
    for (uint64_t off = 0; off + sizeof(Elf64_Sym) <= s.sh_size; off += sizeof(Elf64_Sym))
      syms.push_back(get<Elf64_Sym>(bytes, s.sh_offset + off));
    return syms;
  }
  std::string sym_name(const Elf64_Sym& s) const { return str(shdrs[symtab()].sh_link, s.st_name); }
  // The first symbol of that name (ELF executables have one of each here).
  bool find(const std::string& name, Elf64_Sym* out) const {
    for (const Elf64_Sym& s : symbols()) {
      if (s.st_name != 0 && sym_name(s) == name) {
        *out = s;
        return true;
      }
    }
    return false;
  }
  // File offset of a loaded address.
  bool offset_of(uint64_t addr, uint64_t* off) const {
    for (const Elf64_Shdr& s : shdrs) {
      if ((s.sh_flags & SHF_ALLOC) && s.sh_type != SHT_NOBITS && addr >= s.sh_addr &&
          addr < s.sh_addr + s.sh_size) {
        *off = s.sh_offset + (addr - s.sh_addr);
        return true;
      }
    }
    return false;
  }
};

// The GOT slot of the executable that holds `value`, or 0.
uint64_t slot_holding(const ElfFile& exe, uint64_t value) {
  for (const char* name : {".got", ".got.plt"}) {
    int i = exe.section(name);
    if (i < 0) continue;
    const Elf64_Shdr& s = exe.shdrs[i];
    for (uint64_t off = 0; off + 8 <= s.sh_size; off += 8)
      if (get<uint64_t>(exe.bytes, s.sh_offset + off) == value) return s.sh_addr + off;
  }
  return 0;
}

// Re-links one object's relocated sections into `exe` and compares. `labels`
// maps the object's section names to the symbol at the start of each.
// With `through_slot`, GOTPCRELX kinds are applied as plain GOTPCREL: the
// linker was told not to relax them.
void relink_and_compare(const std::string& object, const std::string& executable,
                        const std::map<std::string, std::string>& labels, bool through_slot,
                        int* applied) {
  ElfFile obj(object), exe(executable);
  ASSERT_TRUE(obj.ok()) << object;
  ASSERT_TRUE(exe.ok()) << executable;
  Elf64_Sym got_sym{};
  uint64_t GOT = exe.find("_GLOBAL_OFFSET_TABLE_", &got_sym) ? got_sym.st_value : 0;

  auto section_address = [&](unsigned shndx) -> uint64_t {
    auto it = labels.find(obj.section_name(shndx));
    Elf64_Sym label{};
    if (it == labels.end() || !exe.find(it->second, &label)) return 0;
    return label.st_value;
  };

  const std::vector<Elf64_Sym> syms = obj.symbols();
  for (unsigned ri = 0; ri < obj.shdrs.size(); ++ri) {
    const Elf64_Shdr& rs = obj.shdrs[ri];
    if (rs.sh_type != SHT_RELA) continue;
    const unsigned target = rs.sh_info;
    const std::string tname = obj.section_name(target);
    SCOPED_TRACE(object + " " + tname);
    const uint64_t base = section_address(target);
    ASSERT_NE(base, 0u) << "no label for " << tname;

    std::vector<uint8_t> sec(
        obj.bytes.begin() + obj.shdrs[target].sh_offset,
        obj.bytes.begin() + obj.shdrs[target].sh_offset + obj.shdrs[target].sh_size);
    for (uint64_t off = 0; off < rs.sh_size; off += sizeof(Elf64_Rela)) {
      auto r = get<Elf64_Rela>(obj.bytes, rs.sh_offset + off);
      uint32_t type = ELF64_R_TYPE(r.r_info);
      if (through_slot && (type == R_X86_64_GOTPCRELX || type == R_X86_64_REX_GOTPCRELX))
        type = R_X86_64_GOTPCREL;
      const Elf64_Sym& sym = syms[ELF64_R_SYM(r.r_info)];
      const RelocKind* kind = kX86_64.kind(type);
      ASSERT_NE(kind, nullptr) << type;
      SCOPED_TRACE(std::string(kind->shape.name) + " at +" + std::to_string(r.r_offset));

      RelocValues v;
      std::string name = obj.sym_name(sym);
      if (ELF64_ST_TYPE(sym.st_info) == STT_SECTION) {
        v.S = section_address(sym.st_shndx);
        ASSERT_NE(v.S, 0u);
      } else {
        Elf64_Sym def{};
        ASSERT_TRUE(exe.find(name, &def)) << name;
        v.S = def.st_value;
        v.Z = def.st_size;
      }
      v.A = r.r_addend;
      v.P = base + r.r_offset;
      v.G = slot_holding(exe, v.S);
      v.GOT = GOT;
      ApplyResult res = kX86_64.apply(type, sec.data() + r.r_offset, r.r_offset, v);
      EXPECT_EQ(res.status, ApplyStatus::kOk) << name << " value " << res.value;
      ++*applied;
    }

    uint64_t exe_off = 0;
    ASSERT_TRUE(exe.offset_of(base, &exe_off));
    std::vector<uint8_t> linked(exe.bytes.begin() + exe_off,
                                exe.bytes.begin() + exe_off + sec.size());
    for (size_t i = 0; i < sec.size(); ++i)
      EXPECT_EQ(sec[i], linked[i]) << tname << "+" << i << " differs from the linker's output";
  }
}

const std::string kDir = MODKIT_GOLDEN_DIR;

TEST(X86_64Golden, GnuLdNoRelax) {
  if (kDir.empty()) GTEST_SKIP() << "no assembler/linker for the golden files in this build";
  int applied = 0;
  relink_and_compare(kDir + "/golden_x86_64.o", kDir + "/gnu.elf",
                     {{".text", "golden_text"}, {".data", "golden_data"}}, /*through_slot=*/true,
                     &applied);
  relink_and_compare(kDir + "/golden_x86_64_large.o", kDir + "/gnu.elf",
                     {{".text", "large_text"}, {".data", "large_data"}}, /*through_slot=*/true,
                     &applied);
  EXPECT_EQ(applied, 36);  // every relocation of both objects
}

TEST(X86_64Golden, LldRelaxed) {
#ifndef MODKIT_GOLDEN_LLD
  GTEST_SKIP() << "no ld.lld for the relaxed golden file in this build";
#endif
  if (kDir.empty()) GTEST_SKIP() << "no assembler/linker for the golden files in this build";
  int applied = 0;
  relink_and_compare(kDir + "/golden_x86_64.o", kDir + "/lld.elf",
                     {{".text", "golden_text"}, {".data", "golden_data"}}, /*through_slot=*/false,
                     &applied);
  EXPECT_EQ(applied, 26);
}

}  // namespace
}  // namespace mk::arch
