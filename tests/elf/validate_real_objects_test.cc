// Positive tests: objects compiled at test time by the real compilers (gcc 12,
// clang 14), `ld -r` output, an assembler-made object with extended section
// numbering; and the validator's speed on large inputs.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "elf/validate_test_util.h"
#include "util/host_code.h"

namespace mk::test {
namespace {

using namespace mk::elf;

const char kCSource[] = R"(
#include <stddef.h>
struct point { int x, y; };
static int counter;
int table[16] = {1, 2, 3};
const char *names[] = {"zero", "one", "two"};
static struct point origin;
int common_thing __attribute__((common));
extern int printk(const char *fmt, ...);
static int helper(int v) { counter += v; return counter * 3; }
__attribute__((constructor)) static void init_me(void) { counter = 1; }
__attribute__((destructor)) static void fini_me(void) { counter = 0; }
int compute(int n) {
  int s = 0;
  for (int i = 0; i < n; ++i) s += helper(table[i & 15]) + origin.x;
  return s;
}
int main(void) {
  printk("%s %d\n", names[1], compute(4));
  return 0;
}
)";

const char kCxxSource[] = R"(
#include <stddef.h>
extern "C" int printk(const char *fmt, ...);
struct Shape {
  virtual ~Shape() {}
  virtual int area() const = 0;
};
struct Square : Shape {
  explicit Square(int s) : side(s) {}
  int area() const override { return side * side; }
  int side;
};
template <class T> T twice(T v) { return v + v; }
inline int shared_counter() { static int n = 0; return ++n; }
struct Global { Global() { printk("ctor\n"); } ~Global() { printk("dtor\n"); } };
static Global global;
int may_throw(int v) { if (v < 0) throw v; return twice(v); }
int main() {
  Square sq(3);
  Shape* s = &sq;
  int total = s->area() + twice(2L) + shared_counter();
  try { total += may_throw(total); } catch (int e) { total = e; }
  printk("%d\n", total);
  return 0;
}
)";

const char kCSecond[] = R"(
int helper_value = 42;
int second_function(int x) { return x * helper_value; }
)";

// A private temporary directory, removed at the end of the test binary.
class TempDir {
 public:
  TempDir() {
    char templ[] = "/tmp/modkit-elf-test-XXXXXX";
    const char* p = mkdtemp(templ);
    if (p != nullptr) path_ = p;
  }
  ~TempDir() {
    if (!path_.empty()) {
      std::string cmd = "rm -rf '" + path_ + "'";
      if (system(cmd.c_str()) != 0) perror("rm");
    }
  }
  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

TempDir& Dir() {
  static TempDir dir;
  return dir;
}

void WriteFile(const std::string& path, const std::string& text) {
  std::ofstream(path) << text;
}

std::vector<uint8_t> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(in), {});
}

bool Shell(const std::string& cmd) {
  int rc = system((cmd + " 2>" + Dir().file("stderr.txt")).c_str());
  if (rc != 0) {
    std::ifstream err(Dir().file("stderr.txt"));
    std::stringstream ss;
    ss << err.rdbuf();
    ADD_FAILURE() << "command failed (" << rc << "): " << cmd << "\n" << ss.str();
  }
  return rc == 0;
}

bool HaveTool(const char* tool) {
  return system((std::string("command -v ") + tool + " >/dev/null 2>&1").c_str()) == 0;
}

// Validates and checks the facts every compiled module has.
void CheckCompiled(const std::vector<uint8_t>& bytes, bool cxx) {
  TestAllocator alloc;
  {
    InputCopy in(bytes);
    auto r = validate(in.view(), FakeMachines, alloc);
    ASSERT_TRUE(r.ok()) << r.error().message();
    const ValidatedObject& obj = r.value();
    EXPECT_EQ(obj.machine, &kFakeX86_64);
    ASSERT_NE(obj.symtab, 0u);
    EXPECT_EQ(obj.sections[obj.symtab].type, SHT_SYMTAB);
    EXPECT_EQ(obj.sections[0].type, SHT_NULL);
    for (size_t i = 0; i < obj.sections.size(); ++i)
      EXPECT_EQ(obj.sections[i].index, i);

    int mains = 0;
    for (size_t i = obj.first_global; i < obj.symbols.size(); ++i) {
      const Symbol& s = obj.symbols[i];
      if (strcmp(s.name, "main") != 0) continue;
      ++mains;
      EXPECT_EQ(s.type, STT_FUNC);
      EXPECT_EQ(s.bind, STB_GLOBAL);
      ASSERT_TRUE(s.defined());
      ASSERT_LT(s.shndx, obj.sections.size());
      const Section& sec = obj.sections[s.shndx];
      EXPECT_EQ(strncmp(sec.name, ".text", 5), 0) << sec.name;
      EXPECT_TRUE(sec.alloc());
      EXPECT_LE(s.value + s.size, sec.size);
    }
    EXPECT_EQ(mains, 1);

    bool printk_undefined = false;
    for (const Symbol& s : obj.symbols) {
      if (strcmp(s.name, "printk") == 0) printk_undefined = !s.defined();
    }
    EXPECT_TRUE(printk_undefined);

    // Every relocation decodes; the ones in loaded sections point at loaded
    // symbols; there are some in .text.
    size_t text_relocs = 0;
    for (const RelocSection& rs : obj.relocs) {
      const Section& target = obj.sections[rs.target];
      for (uint64_t k = 0; k < rs.count; ++k) {
        Relocation rel = obj.relocation(rs, k);
        ASSERT_LT(rel.sym, obj.symbols.size());
        ASSERT_NE(kFakeX86_64.shape(rel.type), nullptr);
        EXPECT_LE(rel.offset + kFakeX86_64.shape(rel.type)->width, target.size);
      }
      if (strncmp(target.name, ".text", 5) == 0) text_relocs += rs.count;
    }
    EXPECT_GT(text_relocs, 0u);

    // The record of relocation uses the linker scans by (reloc_uses) is
    // exactly what the entries of loaded sections say, symbol by symbol.
    std::vector<uint64_t> uses(obj.symbols.size());
    bool complete = true;
    for (const RelocSection& rs : obj.relocs) {
      if (!obj.sections[rs.target].alloc()) continue;
      for (uint64_t k = 0; k < rs.count; ++k) {
        Relocation rel = obj.relocation(rs, k);
        if (rel.type < 64)
          uses[rel.sym] |= uint64_t{1} << rel.type;
        else
          complete = false;
      }
    }
    EXPECT_EQ(obj.reloc_uses_complete, complete);
    ASSERT_EQ(obj.reloc_uses.size(), uses.size());
    for (size_t i = 0; i < uses.size(); ++i)
      EXPECT_EQ(obj.reloc_uses[i], uses[i]) << "symbol " << i << " (" << obj.symbols[i].name << ")";

    // Each section's list of its entries' types (RelocSection::types, by
    // which the linker may choose a loop with no per-entry dispatch) is
    // exactly the set they have: a type missing would be applied by
    // another's formula.
    for (const RelocSection& rs : obj.relocs) {
      uint64_t types = 0;
      bool wide = false;
      for (uint64_t k = 0; k < rs.count; ++k) {
        uint32_t t = obj.relocation(rs, k).type;
        if (t < 64)
          types |= uint64_t{1} << t;
        else
          wide = true;
      }
      EXPECT_EQ(rs.types, types) << obj.sections[rs.index].name;
      EXPECT_EQ(rs.wide_types, wide) << obj.sections[rs.index].name;
    }

    if (cxx) {
      // Inline functions, templates and vtables go into COMDAT groups.
      EXPECT_GT(obj.groups.size(), 0u);
      for (const Group& g : obj.groups) {
        EXPECT_TRUE(g.comdat);
        EXPECT_NE(g.signature[0], '\0');
        for (size_t m = 0; m < obj.group_size(g); ++m) {
          EXPECT_EQ(obj.sections[obj.group_member(g, m)].group, g.section);
        }
      }
    }
  }
  EXPECT_EQ(alloc.live(), 0);
}

struct Compile {
  const char* compiler;  // gcc, clang
  const char* flags;
  bool cxx;
};

std::string Name(const Compile& c) {
  std::string n = std::string(c.compiler) + (c.cxx ? "_cxx" : "_c");
  for (const char* p = c.flags; *p != '\0'; ++p)
    n += isalnum(static_cast<unsigned char>(*p)) ? *p : '_';
  return n;
}

class CompiledObject : public ::testing::TestWithParam<Compile> {};

TEST_P(CompiledObject, Validates) {
  MK_X86_64_ONLY();  // the fake machine tables of this layer's tests are x86_64's
  const Compile& c = GetParam();
  std::string driver = c.cxx ? (strcmp(c.compiler, "gcc") == 0 ? "g++" : "clang++") : c.compiler;
  if (!HaveTool(driver.c_str())) GTEST_SKIP() << driver << " not installed";
  std::string src = Dir().file(c.cxx ? "input.cc" : "input.c");
  WriteFile(src, c.cxx ? kCxxSource : kCSource);
  std::string obj = Dir().file(Name(c) + ".o");
  ASSERT_TRUE(Shell(driver + " -c " + c.flags + " '" + src + "' -o '" + obj + "'"));
  CheckCompiled(ReadFile(obj), c.cxx);
}

std::vector<Compile> Matrix() {
  const char* flags[] = {
      "-O0",
      "-O2",
      "-O0 -g",
      "-O2 -g -fPIC",
      "-O1 -fno-pic",
      "-O2 -g -ffunction-sections -fdata-sections",
      "-Os -fPIC -ffunction-sections",
      "-O2 -g -fcf-protection -fstack-protector-strong",
  };
  std::vector<Compile> out;
  for (const char* cc : {"gcc", "clang"}) {
    for (bool cxx : {false, true}) {
      for (const char* f : flags)
        out.push_back({cc, f, cxx});
    }
  }
  return out;
}

INSTANTIATE_TEST_SUITE_P(RealCompilers, CompiledObject, ::testing::ValuesIn(Matrix()),
                         [](const ::testing::TestParamInfo<Compile>& info) {
                           return Name(info.param);
                         });

// The features the validator must accept really occur in what the positive
// tests compile (so passing them means something).
TEST(RealObjects, CompilersEmitTheFeaturesWeAccept) {
  MK_X86_64_ONLY();  // the fake machine tables of this layer's tests are x86_64's
  if (!HaveTool("g++") || !HaveTool("clang++")) GTEST_SKIP();
  WriteFile(Dir().file("f.cc"), kCxxSource);
  ASSERT_TRUE(Shell("g++ -c -O2 -g -fcf-protection '" + Dir().file("f.cc") + "' -o '" +
                    Dir().file("f_gcc.o") + "'"));
  ASSERT_TRUE(
      Shell("clang++ -c -O2 -g '" + Dir().file("f.cc") + "' -o '" + Dir().file("f_clang.o") + "'"));
  bool addrsig = false, unwind = false, property = false, comment = false, gnu_stack = false,
       groups = false, debug_relocs = false, init_array = false;
  for (const char* name : {"f_gcc.o", "f_clang.o"}) {
    std::vector<uint8_t> bytes = ReadFile(Dir().file(name));
    TestAllocator alloc;
    InputCopy in(bytes);
    auto r = validate(in.view(), FakeMachines, alloc);
    ASSERT_TRUE(r.ok()) << name << ": " << r.error().message();
    const ValidatedObject& obj = r.value();
    for (const Section& sec : obj.sections) {
      addrsig |= sec.type == SHT_LLVM_ADDRSIG;
      unwind |= sec.type == SHT_X86_64_UNWIND && sec.alloc();
      property |=
          sec.type == SHT_NOTE && sec.alloc() && strcmp(sec.name, ".note.gnu.property") == 0;
      comment |= strcmp(sec.name, ".comment") == 0;
      gnu_stack |= strcmp(sec.name, ".note.GNU-stack") == 0;
      init_array |= sec.type == SHT_INIT_ARRAY;
    }
    groups |= !obj.groups.empty();
    for (const RelocSection& rs : obj.relocs) {
      debug_relocs |= !obj.sections[rs.target].alloc() && rs.count > 0;
    }
  }
  EXPECT_TRUE(addrsig);
  EXPECT_TRUE(unwind);
  EXPECT_TRUE(property);
  EXPECT_TRUE(comment);
  EXPECT_TRUE(gnu_stack);
  EXPECT_TRUE(groups);
  EXPECT_TRUE(debug_relocs);
  EXPECT_TRUE(init_array);
}

TEST(RealObjects, LdRelocatableOfTwoObjects) {
  MK_X86_64_ONLY();  // the fake machine tables of this layer's tests are x86_64's
  if (!HaveTool("gcc") || !HaveTool("ld")) GTEST_SKIP();
  WriteFile(Dir().file("a.c"), kCSource);
  WriteFile(Dir().file("b.c"), kCSecond);
  ASSERT_TRUE(Shell("gcc -c -O2 -g -ffunction-sections '" + Dir().file("a.c") + "' -o '" +
                    Dir().file("a.o") + "'"));
  ASSERT_TRUE(Shell("gcc -c -O2 -g '" + Dir().file("b.c") + "' -o '" + Dir().file("b.o") + "'"));
  ASSERT_TRUE(Shell("ld -r '" + Dir().file("a.o") + "' '" + Dir().file("b.o") + "' -o '" +
                    Dir().file("ab.o") + "'"));
  std::vector<uint8_t> bytes = ReadFile(Dir().file("ab.o"));
  CheckCompiled(bytes, false);

  TestAllocator alloc;
  InputCopy in(bytes);
  auto r = validate(in.view(), FakeMachines, alloc);
  ASSERT_TRUE(r.ok()) << r.error().message();
  bool second = false, helper_value = false;
  for (const Symbol& s : r.value().symbols) {
    if (strcmp(s.name, "second_function") == 0) second = s.defined() && s.type == STT_FUNC;
    if (strcmp(s.name, "helper_value") == 0) helper_value = s.defined() && s.type == STT_OBJECT;
  }
  EXPECT_TRUE(second);
  EXPECT_TRUE(helper_value);
}

TEST(RealObjects, LdRelocatableOfCxxObjectKeepsGroups) {
  MK_X86_64_ONLY();  // the fake machine tables of this layer's tests are x86_64's
  if (!HaveTool("g++") || !HaveTool("ld")) GTEST_SKIP();
  WriteFile(Dir().file("c.cc"), kCxxSource);
  WriteFile(Dir().file("d.c"), kCSecond);
  ASSERT_TRUE(
      Shell("g++ -c -O2 -fPIC '" + Dir().file("c.cc") + "' -o '" + Dir().file("c.o") + "'"));
  ASSERT_TRUE(Shell("clang -c -O2 '" + Dir().file("d.c") + "' -o '" + Dir().file("d.o") + "'"));
  ASSERT_TRUE(Shell("ld -r '" + Dir().file("c.o") + "' '" + Dir().file("d.o") + "' -o '" +
                    Dir().file("cd.o") + "'"));
  CheckCompiled(ReadFile(Dir().file("cd.o")), true);
}

// gas switches to extended section numbering past 0xff00 sections and writes
// SHT_SYMTAB_SHNDX; the validator must follow both.
TEST(RealObjects, AssemblerExtendedSectionNumbering) {
  MK_X86_64_ONLY();  // the fake machine tables of this layer's tests are x86_64's
  if (!HaveTool("gcc")) GTEST_SKIP();
  constexpr int kFunctions = 66000;
  std::string s;
  s.reserve(kFunctions * 90);
  // Symbols only on some sections: modkit refuses a symbol defined in section
  // 0xfff1 or 0xfff2 (see the SectionIndexCollidesWithShnAbs test), and gas
  // would put f65516 and f65517 there.
  for (int i = 0; i < kFunctions; ++i) {
    std::string n = std::to_string(i);
    s += ".section .text.f" + n + ",\"ax\",@progbits\n";
    if (i % 1000 == 0 || i > 65990) {
      s += ".globl f" + n + "\n.type f" + n + ",@function\nf" + n + ":\n ret\n.size f" + n + ",1\n";
    } else {
      s += " ret\n";
    }
  }
  s += ".text\n.globl main\n.type main,@function\nmain:\n call f65999\n ret\n.size main,6\n";
  WriteFile(Dir().file("many.s"), s);
  ASSERT_TRUE(Shell("gcc -c '" + Dir().file("many.s") + "' -o '" + Dir().file("many.o") + "'"));
  std::vector<uint8_t> bytes = ReadFile(Dir().file("many.o"));
  Ehdr eh;
  memcpy(&eh, bytes.data(), sizeof eh);
  EXPECT_EQ(eh.shnum, 0);  // extended numbering in use

  TestAllocator alloc;
  InputCopy in(bytes);
  auto r = validate(in.view(), FakeMachines, alloc);
  ASSERT_TRUE(r.ok()) << r.error().message();
  const ValidatedObject& obj = r.value();
  EXPECT_GT(obj.sections.size(), size_t{kFunctions});
  bool found = false;
  for (const Symbol& sym : obj.symbols) {
    if (strcmp(sym.name, "f65999") != 0) continue;
    found = true;
    ASSERT_LT(sym.shndx, obj.sections.size());
    EXPECT_GE(sym.shndx, SHN_LORESERVE);
    EXPECT_STREQ(obj.sections[sym.shndx].name, ".text.f65999");
  }
  EXPECT_TRUE(found);
}

}  // namespace
}  // namespace mk::test
