// Golden tests for the aarch64 and riscv64 machines: golden_<arch>.s is
// assembled by the cross assembler and linked by GNU ld --no-relax at build
// time (see CMakeLists.txt, when Debian's cross binutils are installed).
// Here every relocation of the object is applied again with the machine's
// apply(), at the addresses ld chose, and the bytes must equal ld's output.
// GOT kinds use the slot of ld's GOT that holds the symbol; riscv %pcrel_lo
// relocations get their %pcrel_hi partner's value (H) by address, after all
// the others, as the linker does.
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

// Not arch/aarch64.h or arch/riscv64.h: their names are <elf.h> macros here.
#include "arch/machine.h"

#ifndef MODKIT_CROSS_GOLDEN_DIR
#define MODKIT_CROSS_GOLDEN_DIR ""
#endif

namespace mk::arch {
namespace {

template <class T>
T get(const std::vector<uint8_t>& b, uint64_t off) {
  T v;
  memcpy(&v, b.data() + off, sizeof(T));
  return v;
}

struct ElfFile {
  std::vector<uint8_t> bytes;
  std::vector<Elf64_Shdr> shdrs;

  explicit ElfFile(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), {});
    if (bytes.size() < sizeof(Elf64_Ehdr)) return;
    auto eh = get<Elf64_Ehdr>(bytes, 0);
    for (unsigned i = 0; i < eh.e_shnum; ++i)
      shdrs.push_back(get<Elf64_Shdr>(bytes, eh.e_shoff + i * sizeof(Elf64_Shdr)));
  }
  bool ok() const { return !shdrs.empty(); }
  uint16_t machine() const { return get<Elf64_Ehdr>(bytes, 0).e_machine; }
  const char* str(unsigned strtab, uint32_t off) const {
    return reinterpret_cast<const char*>(bytes.data() + shdrs[strtab].sh_offset + off);
  }
  std::string section_name(unsigned i) const {
    return str(get<Elf64_Ehdr>(bytes, 0).e_shstrndx, shdrs[i].sh_name);
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
  bool find(const std::string& name, Elf64_Sym* out) const {
    for (const Elf64_Sym& s : symbols()) {
      if (s.st_name != 0 && sym_name(s) == name) {
        *out = s;
        return true;
      }
    }
    return false;
  }
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

// Re-links the object's relocated sections into `exe` and compares; returns
// how many relocations were applied.
int relink_and_compare(const std::string& object, const std::string& executable,
                       const std::map<std::string, std::string>& labels) {
  ElfFile obj(object), exe(executable);
  EXPECT_TRUE(obj.ok()) << object;
  EXPECT_TRUE(exe.ok()) << executable;
  if (!obj.ok() || !exe.ok()) return 0;
  const Machine* m = machine_for(obj.machine());
  EXPECT_NE(m, nullptr);
  if (m == nullptr) return 0;
  Elf64_Sym got_sym{};
  uint64_t GOT = exe.find("_GLOBAL_OFFSET_TABLE_", &got_sym) ? got_sym.st_value : 0;
  auto section_address = [&](unsigned shndx) -> uint64_t {
    auto it = labels.find(obj.section_name(shndx));
    Elf64_Sym label{};
    if (it == labels.end() || !exe.find(it->second, &label)) return 0;
    return label.st_value;
  };

  const std::vector<Elf64_Sym> syms = obj.symbols();
  int applied = 0;
  std::map<uint64_t, int64_t> his;  // Pair::kHi values by P
  struct Deferred {
    std::vector<uint8_t>* sec;
    Elf64_Rela r;
    uint64_t base;
  };
  std::vector<Deferred> los;
  std::map<unsigned, std::vector<uint8_t>> relinked;  // target section -> bytes

  auto apply_one = [&](std::vector<uint8_t>& sec, const Elf64_Rela& r, uint64_t base) {
    uint32_t type = ELF64_R_TYPE(r.r_info);
    const RelocKind* kind = m->kind(type);
    ASSERT_NE(kind, nullptr) << type;
    SCOPED_TRACE(std::string(kind->shape.name) + " at +" + std::to_string(r.r_offset));
    const Elf64_Sym& sym = syms[ELF64_R_SYM(r.r_info)];
    RelocValues v;
    std::string name = obj.sym_name(sym);
    if (ELF64_R_SYM(r.r_info) == 0) {
      v.S = 0;
    } else if (ELF64_ST_TYPE(sym.st_info) == STT_SECTION || sym.st_name == 0) {
      v.S = section_address(sym.st_shndx);
      ASSERT_NE(v.S, 0u);
    } else if (ELF64_ST_BIND(sym.st_info) == STB_LOCAL) {
      // A local label (the riscv %pcrel_lo's auipc): its section's place.
      uint64_t sec_at = section_address(sym.st_shndx);
      ASSERT_NE(sec_at, 0u) << name;
      v.S = sec_at + sym.st_value;
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
    if (kind->pair == Pair::kLo) {
      auto it = his.find(v.S + static_cast<uint64_t>(v.A));
      ASSERT_NE(it, his.end()) << "no %pcrel_hi partner";
      v.H = it->second;
    }
    ApplyResult res = m->apply(type, sec.data() + r.r_offset, r.r_offset, v);
    EXPECT_EQ(res.status, ApplyStatus::kOk) << name << " value " << res.value;
    if (kind->pair == Pair::kHi) his[v.P] = res.value;
    ++applied;
  };

  for (unsigned ri = 0; ri < obj.shdrs.size(); ++ri) {
    const Elf64_Shdr& rs = obj.shdrs[ri];
    if (rs.sh_type != SHT_RELA) continue;
    const unsigned target = rs.sh_info;
    const uint64_t base = section_address(target);
    EXPECT_NE(base, 0u) << "no label for " << obj.section_name(target);
    if (base == 0) continue;
    std::vector<uint8_t>& sec = relinked[target];
    sec.assign(obj.bytes.begin() + obj.shdrs[target].sh_offset,
               obj.bytes.begin() + obj.shdrs[target].sh_offset + obj.shdrs[target].sh_size);
    for (uint64_t off = 0; off < rs.sh_size; off += sizeof(Elf64_Rela)) {
      auto r = get<Elf64_Rela>(obj.bytes, rs.sh_offset + off);
      if (m->kind(ELF64_R_TYPE(r.r_info)) != nullptr &&
          m->kind(ELF64_R_TYPE(r.r_info))->pair == Pair::kLo) {
        los.push_back({&sec, r, base});
        continue;
      }
      apply_one(sec, r, base);
    }
  }
  for (const Deferred& d : los)
    apply_one(*d.sec, d.r, d.base);

  for (const auto& [target, sec] : relinked) {
    const std::string tname = obj.section_name(target);
    uint64_t exe_off = 0;
    EXPECT_TRUE(exe.offset_of(section_address(target), &exe_off)) << tname;
    for (size_t i = 0; i < sec.size(); ++i)
      EXPECT_EQ(sec[i], exe.bytes[exe_off + i]) << tname << "+" << i << " differs from GNU ld's";
  }
  return applied;
}

const std::string kDir = MODKIT_CROSS_GOLDEN_DIR;
const std::map<std::string, std::string> kLabels = {{".text", "golden_text"},
                                                    {".data", "golden_data"}};

TEST(AArch64Golden, GnuLdNoRelax) {
  if (kDir.empty()) GTEST_SKIP() << "no aarch64 cross binutils for the golden files in this build";
  EXPECT_EQ(relink_and_compare(kDir + "/golden_aarch64.o", kDir + "/aarch64.elf", kLabels), 40);
}

TEST(RiscV64Golden, GnuLdNoRelax) {
  if (kDir.empty()) GTEST_SKIP() << "no riscv64 cross binutils for the golden files in this build";
  EXPECT_EQ(relink_and_compare(kDir + "/golden_riscv64.o", kDir + "/riscv64.elf", kLabels), 33);
}

}  // namespace
}  // namespace mk::arch
