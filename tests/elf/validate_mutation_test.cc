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
#include "util/object_invariants.h"

namespace mk::test {
namespace {

using namespace mk::elf;

// Validates one mutant; on success checks the invariants. Returns false (and
// records a failure) when an invariant breaks or memory leaks.
bool Probe(const std::vector<uint8_t>& bytes, const std::string& what) {
  TestAllocator alloc;
  {
    InputCopy in(bytes);
    auto r = validate(in.view(), FakeMachines, alloc);
    if (r.ok()) {
      std::string broken = CheckObjectInvariants(r.value(), in.view());
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
