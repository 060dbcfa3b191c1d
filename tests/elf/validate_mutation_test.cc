// Property tests: mutate valid objects byte by byte (and at random), validate
// each mutant, and whenever validate() accepts one, check every invariant
// validated_object.h promises, independently of the validator's own code.
// Under MODKIT_SANITIZE=address this is also the memory-safety sweep.
#include <stdlib.h>
#include <string.h>

#include <fstream>
#include <random>
#include <string>

#include "elf/validate_test_util.h"

namespace mk::test {
namespace {

using namespace mk::elf;

#define INVARIANT(cond)                                                                     \
  do {                                                                                      \
    if (!(cond))                                                                            \
      return std::string("invariant failed: ") + #cond + " at " + std::to_string(__LINE__); \
  } while (0)

std::string CheckInvariants(const ValidatedObject& obj, ByteView bytes) {
  INVARIANT(obj.machine != nullptr);
  INVARIANT(obj.bytes.data() == bytes.data() && obj.bytes.size() == bytes.size());
  INVARIANT(obj.sections.size() >= 1);
  INVARIANT(obj.sections[0].type == SHT_NULL && obj.sections[0].data.empty());
  const size_t nsec = obj.sections.size();
  uint64_t image = 0;
  for (size_t i = 0; i < nsec; ++i) {
    const Section& s = obj.sections[i];
    INVARIANT(s.index == i);
    INVARIANT(s.name != nullptr);
    INVARIANT(is_pow2(s.align) && s.align <= kMaxAlign);
    INVARIANT(s.size <= kMaxSectionSize);
    INVARIANT(!((s.flags & SHF_WRITE) && (s.flags & SHF_EXECINSTR)));
    INVARIANT((s.flags & SHF_TLS) == 0);
    if (s.type == SHT_NOBITS || s.type == SHT_NULL) {
      INVARIANT(s.data.empty());
    } else {
      INVARIANT(s.offset <= bytes.size() && s.size <= bytes.size() - s.offset);
      INVARIANT(s.data.data() == bytes.data() + s.offset && s.data.size() == s.size);
    }
    if (s.alloc()) image += s.size;
    if (s.group != 0) INVARIANT(s.group < nsec && obj.sections[s.group].type == SHT_GROUP);
  }
  INVARIANT(obj.symtab > 0 && obj.symtab < nsec && obj.sections[obj.symtab].type == SHT_SYMTAB);
  INVARIANT(obj.symbols.size() >= 1 && obj.first_global <= obj.symbols.size());
  INVARIANT(obj.modinfo < nsec);
  for (size_t i = 0; i < obj.symbols.size(); ++i) {
    const Symbol& s = obj.symbols[i];
    INVARIANT(s.name != nullptr);
    INVARIANT((i < obj.first_global) == s.local() || i == 0);
    if (s.shndx == SHN_UNDEF || s.shndx == SHN_ABS) continue;
    if (s.shndx == SHN_COMMON) {
      INVARIANT(!s.local() && is_pow2(s.value) && s.value <= kMaxAlign);
      image += s.size;
      continue;
    }
    INVARIANT(s.shndx < nsec);
    const Section& sec = obj.sections[s.shndx];
    INVARIANT(s.value <= sec.size);
    if (s.type == STT_FUNC || s.type == STT_OBJECT) INVARIANT(s.size <= sec.size - s.value);
  }
  INVARIANT(image <= kMaxImageSize);
  for (const RelocSection& rs : obj.relocs) {
    INVARIANT(rs.index < nsec && rs.target < nsec);
    const Section& target = obj.sections[rs.target];
    INVARIANT(!target.data.empty() || target.size == 0);
    INVARIANT(target.type != SHT_NOBITS && target.type != SHT_NULL);
    INVARIANT(rs.entries.size() == rs.count * (rs.rela ? sizeof(Rela) : sizeof(Rel)));
    for (uint64_t k = 0; k < rs.count; ++k) {
      Relocation r = obj.relocation(rs, k);
      INVARIANT(r.sym < obj.symbols.size());
      const RelocShape* shape = obj.machine->shape(r.type);
      INVARIANT(shape != nullptr && !shape->tls);
      INVARIANT(r.offset <= target.size && shape->width <= target.size - r.offset);
      if (target.alloc()) {
        uint32_t x = obj.symbols[r.sym].shndx;
        INVARIANT(x == SHN_UNDEF || x == SHN_ABS || x == SHN_COMMON || obj.sections[x].alloc());
      }
    }
  }
  for (const Group& g : obj.groups) {
    INVARIANT(g.section < nsec && obj.sections[g.section].type == SHT_GROUP);
    INVARIANT(g.signature != nullptr);
    for (size_t m = 0; m < obj.group_size(g); ++m) {
      uint32_t idx = obj.group_member(g, m);
      INVARIANT(idx > 0 && idx < nsec && obj.sections[idx].group == g.section);
    }
  }
  return "";
}

// Validates one mutant; on success checks the invariants. Returns false (and
// records a failure) when an invariant breaks or memory leaks.
bool Probe(const std::vector<uint8_t>& bytes, const std::string& what) {
  TestAllocator alloc;
  {
    InputCopy in(bytes);
    auto r = validate(in.view(), FakeMachines, alloc);
    if (r.ok()) {
      std::string broken = CheckInvariants(r.value(), in.view());
      if (!broken.empty()) {
        ADD_FAILURE() << what << ": " << broken;
        return false;
      }
    } else if (r.error().message()[0] == '\0') {
      ADD_FAILURE() << what << ": error without a message";
      return false;
    }
  }
  if (alloc.live() != 0) {
    ADD_FAILURE() << what << ": leaked " << alloc.live() << " allocations";
    return false;
  }
  return true;
}

void SweepEveryByte(const std::vector<uint8_t>& original) {
  ASSERT_TRUE(Probe(original, "original"));
  std::vector<uint8_t> bytes = original;
  for (size_t i = 0; i < bytes.size(); ++i) {
    const uint8_t keep = bytes[i];
    for (uint8_t v : {uint8_t{0}, uint8_t{0xff}, uint8_t(keep ^ 1), uint8_t(keep + 0x40),
                      uint8_t(keep ^ 0x80)}) {
      if (v == keep) continue;
      bytes[i] = v;
      if (!Probe(bytes, "byte " + std::to_string(i) + " = " + std::to_string(v))) return;
    }
    bytes[i] = keep;
  }
}

TEST(ValidateMutation, EveryByteOfTheStandardObject) {
  SweepEveryByte(StandardObject().bytes);
}

TEST(ValidateMutation, EveryByteOfAnObjectWithGroupsRelAndShndx) {
  ElfBuilder b;
  uint32_t g = b.add_group(1, GRP_COMDAT);
  uint32_t foo = b.add_text(".text.foo", 16);
  uint32_t rfoo = b.add_rela_section(foo);
  uint32_t data = b.add_data(".data", 16);
  uint32_t rel = b.add_rel_section(data);
  b.add_section(".init_array", SHT_INIT_ARRAY, SHF_ALLOC | SHF_WRITE, std::vector<uint8_t>(8, 0), 8,
                0, 0, 8);
  b.add_member(g, foo);
  b.add_member(g, rfoo);
  b.symtab_shndx(true);
  b.add_symbol("foo", foo, 0, 16, STB_WEAK, STT_FUNC);
  b.add_symbol("common", SHN_COMMON, 16, 32, STB_GLOBAL, STT_OBJECT);
  b.add_symbol("ext", SHN_UNDEF);
  b.add_rela(rfoo, 1, R_PLT32, 3, -4);
  b.add_rel(rel, 0, R_64, 2);
  b.add_rel(rel, 8, R_32, 1);
  SweepEveryByte(b.build().bytes);
}

TEST(ValidateMutation, RandomMutationsOfACompiledObject) {
  if (system("command -v g++ >/dev/null 2>&1") != 0) GTEST_SKIP() << "no g++";
  char dir[] = "/tmp/modkit-elf-mutate-XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  std::string d = dir;
  std::ofstream(d + "/m.cc") << "extern \"C\" int printk(const char*, ...);\n"
                                "template <class T> T twice(T v) { return v + v; }\n"
                                "struct S { virtual ~S() {} virtual int f() { return 1; } };\n"
                                "static S s;\n"
                                "int main() { printk(\"%d\", twice(s.f())); return 0; }\n";
  ASSERT_EQ(
      system(
          ("g++ -c -O2 -g -fPIC -ffunction-sections '" + d + "/m.cc' -o '" + d + "/m.o'").c_str()),
      0);
  std::ifstream in(d + "/m.o", std::ios::binary);
  std::vector<uint8_t> original((std::istreambuf_iterator<char>(in)), {});
  ASSERT_EQ(system(("rm -rf '" + d + "'").c_str()), 0);
  ASSERT_TRUE(Probe(original, "original"));

  // Mutations aimed where the structure is: the header, the section table,
  // and random bytes anywhere; values that are interesting as sizes/indices.
  std::mt19937_64 rng(12345);
  Ehdr eh;
  memcpy(&eh, original.data(), sizeof eh);
  const uint64_t table = eh.shoff, table_size = original.size() - eh.shoff;
  const uint64_t interesting[] = {0,
                                  1,
                                  2,
                                  3,
                                  4,
                                  7,
                                  8,
                                  0x10,
                                  0x18,
                                  0x40,
                                  0xff,
                                  0xff00,
                                  0xfff1,
                                  0xffff,
                                  0x7fffffff,
                                  0xffffffff,
                                  0xffffffffffffffff,
                                  original.size(),
                                  original.size() - 1,
                                  original.size() + 1};
  for (int iter = 0; iter < 20000; ++iter) {
    std::vector<uint8_t> bytes = original;
    int edits = 1 + static_cast<int>(rng() % 3);
    for (int e = 0; e < edits; ++e) {
      uint64_t pos;
      switch (rng() % 3) {
        case 0:
          pos = rng() % sizeof(Ehdr);
          break;
        case 1:
          pos = table + rng() % table_size;
          break;
        default:
          pos = rng() % bytes.size();
          break;
      }
      uint64_t v = (rng() % 2) ? interesting[rng() % std::size(interesting)] : rng();
      size_t width = size_t{1} << (rng() % 4);  // 1, 2, 4, 8 bytes
      if (pos + width > bytes.size()) width = bytes.size() - pos;
      memcpy(bytes.data() + pos, &v, width);
    }
    if (!Probe(bytes, "iteration " + std::to_string(iter))) return;
  }
}

}  // namespace
}  // namespace mk::test
