// The objects registered through the GDB JIT interface, read back as gdb
// would find them (the descriptor's list) and checked with readelf: final
// section addresses, every symbol, debug info relocated for where the module
// is; registered on load and unregistered on unload and on a failed link,
// through the registry and through the embedding API.
#include "hosted/gdb_jit.h"

#include <gtest/gtest.h>
#include <malloc.h>
#include <string.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "elf/elf.h"
#include "hosted/system.h"
#include "link/toolchain.h"
#include "modkit/modkit.hpp"

extern "C" {
struct jit_code_entry {
  jit_code_entry* next_entry;
  jit_code_entry* prev_entry;
  const char* symfile_addr;
  uint64_t symfile_size;
};
struct jit_descriptor {
  uint32_t version;
  uint32_t action_flag;
  jit_code_entry* relevant_entry;
  jit_code_entry* first_entry;
};
extern jit_descriptor __jit_debug_descriptor;
}

namespace mk::hosted {
namespace {

SystemConfig NoStaticModules() {
  SystemConfig c;
  c.static_modules = false;
  return c;
}

using test::Quote;
using test::Run;
using test::Scratch;

constexpr const char* kModule = R"(
static int counter;
static int dbg_helper(int x) { return x * 3 + counter++; }
int dbg_leaf(int x) { return dbg_helper(x) + 1; }
int dbg_entry(int x) { return dbg_leaf(x) * 2; }
int dbg_table[4] = {1, 2, 3, 4};
)";

std::vector<const jit_code_entry*> Entries() {
  std::vector<const jit_code_entry*> out;
  for (const jit_code_entry* e = __jit_debug_descriptor.first_entry; e != nullptr;
       e = e->next_entry)
    out.push_back(e);
  return out;
}

std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// Writes the newest registered object to a file.
std::string DumpNewest(const Scratch& scratch, const std::string& name) {
  const jit_code_entry* e = __jit_debug_descriptor.first_entry;
  EXPECT_NE(e, nullptr);
  if (e == nullptr) return "";
  std::string path = scratch.path(name);
  std::ofstream out(path, std::ios::binary);
  out.write(e->symfile_addr, static_cast<std::streamsize>(e->symfile_size));
  return path;
}

struct Split {
  std::string out, err;
};
Split RunSplit(const Scratch& scratch, const std::string& cmd) {
  std::string o = scratch.path("out"), e = scratch.path("err");
  Run(cmd + " >" + Quote(o) + " 2>" + Quote(e));
  return Split{Slurp(o), Slurp(e)};
}

// One line of `readelf -SW`.
struct ImageSection {
  std::string name, type, flags;
  uint64_t addr = 0, size = 0;
};

std::vector<ImageSection> Sections(const std::string& readelf) {
  std::vector<ImageSection> out;
  std::istringstream in(readelf);
  for (std::string line; std::getline(in, line);) {
    size_t close = line.find("] ");
    if (line.find("  [") != 0 || close == std::string::npos) continue;
    std::istringstream l(line.substr(close + 2));
    ImageSection s;
    std::string addr, off, size, es;
    if (!(l >> s.name >> s.type >> addr >> off >> size >> es)) continue;  // the NULL one
    if (s.name == "Name" || s.name == "NULL") continue;                   // the heading, section 0
    std::string rest;
    std::getline(l, rest);
    std::istringstream r(rest);
    std::string first;
    r >> first;  // flags, or sh_link when there are none
    s.flags = first.find_first_not_of("0123456789") == std::string::npos ? "" : first;
    s.addr = std::stoull(addr, nullptr, 16);
    s.size = std::stoull(size, nullptr, 16);
    out.push_back(s);
  }
  return out;
}

std::string FlagsOf(link::Class c) {
  switch (c) {
    case link::Class::kText:
    case link::Class::kInitText:
      return "AX";
    case link::Class::kData:
      return "WA";
    default:
      return "A";
  }
}

// nm lists every symbol of the file at its final address.
void ExpectEverySymbolAtItsAddress(const link::LinkerFile& lf, const std::string& nm) {
  for (const link::FileSymbol& s : lf.symbols()) {
    char line[256];
    snprintf(line, sizeof line, "%016lx", static_cast<unsigned long>(s.addr));
    std::string want = std::string(line) + " ";
    size_t at = nm.find(" " + std::string(s.name) + "\n");
    ASSERT_NE(at, std::string::npos) << s.name << "\n" << nm;
    size_t bol = nm.rfind('\n', at);
    bol = bol == std::string::npos ? 0 : bol + 1;
    EXPECT_EQ(nm.substr(bol, want.size()), want) << s.name;
  }
}

class GdbJitTest : public ::testing::TestWithParam<const test::Compiler*> {
 protected:
  void SetUp() override {
    object_ = scratch_.Compile(*GetParam(), "dbg.c", kModule, {"-g", "-O1"});
    ASSERT_FALSE(object_.empty());
    bytes_ = test::ReadBytes(object_);
    ASSERT_TRUE(sys_.boot());
  }
  Scratch scratch_;
  std::string object_;
  std::vector<uint8_t> bytes_;
  System sys_{NoStaticModules()};
};

TEST_P(GdbJitTest, RegistryLoadRegistersAnObjectAtTheFinalAddresses) {
  size_t before = gdb_jit_count();
  ASSERT_EQ(Entries().size(), before);
  auto f = sys_.registry().load_bytes(ByteView(bytes_.data(), bytes_.size()), "dbg.ko");
  ASSERT_TRUE(f) << f.error().message();
  EXPECT_EQ(gdb_jit_count(), before + 1);
  EXPECT_EQ(Entries().size(), before + 1);
  EXPECT_EQ(__jit_debug_descriptor.version, 1u);
  EXPECT_EQ(__jit_debug_descriptor.action_flag, 0u);
  const link::LinkerFile& lf = *f.value()->linked;
  std::string image = DumpNewest(scratch_, "dbg.jit.o");

  // Sections: with debug info, every loaded section with bytes lies in an
  // image section of its permissions at its final addresses; each
  // .eh_frame is one of its own, with bytes.
  Split sections = RunSplit(scratch_, "readelf -hSW " + Quote(image));
  EXPECT_EQ(sections.err, "");
  EXPECT_NE(sections.out.find("REL (Relocatable file)"), std::string::npos);
  std::vector<ImageSection> described = Sections(sections.out);
  for (const link::FileSection& s : lf.sections()) {
    if (s.size == 0) continue;
    const ImageSection* in = nullptr;
    for (const ImageSection& d : described)
      if (d.addr <= s.addr && s.addr + s.size <= d.addr + d.size && d.flags == FlagsOf(s.cls))
        in = &d;
    ASSERT_NE(in, nullptr) << s.name << "\n" << sections.out;
    if (std::string(s.name) == ".eh_frame") {
      EXPECT_EQ(in->name, ".eh_frame");
      EXPECT_EQ(in->addr, s.addr);
      EXPECT_NE(in->type, "NOBITS");
    } else {
      EXPECT_EQ(in->type, "NOBITS") << s.name;  // gdb reads it from the process
    }
  }
  EXPECT_NE(sections.out.find(" .debug_info "), std::string::npos);
  EXPECT_NE(sections.out.find(" .debug_line "), std::string::npos);
  EXPECT_EQ(sections.out.find(".rela.debug"), std::string::npos) << "relocations left for gdb";

  // Symbols: every one, section-relative (an ET_REL); nm adds sh_addr back.
  Split nm = RunSplit(scratch_, "nm " + Quote(image));
  EXPECT_EQ(nm.err, "");
  ExpectEverySymbolAtItsAddress(lf, nm.out);

  // Debug info: relocated for the final addresses, no complaints from readelf.
  Split info = RunSplit(scratch_, "readelf --debug-dump=info " + Quote(image));
  EXPECT_EQ(info.err, "") << "readelf warned about the debug info";
  const link::FileSymbol* leaf = lf.symbols().begin();
  for (const link::FileSymbol& s : lf.symbols())
    if (std::string(s.name) == "dbg_leaf") leaf = &s;
  ASSERT_STREQ(leaf->name, "dbg_leaf");
  ASSERT_NE(info.out.find(": dbg_leaf"), std::string::npos) << info.out;
  // Its DW_AT_low_pc (a DW_FORM_addr, or a .debug_addr slot with clang's
  // DWARF 5) is the final address.
  char low[64];
  snprintf(low, sizeof low, "0x%lx", static_cast<unsigned long>(leaf->addr));
  bool found = false;
  for (size_t at = info.out.find("DW_AT_low_pc"); at != std::string::npos;
       at = info.out.find("DW_AT_low_pc", at + 1)) {
    std::string line = info.out.substr(at, info.out.find('\n', at) - at);
    found = found || (line.size() >= strlen(low) &&
                      line.compare(line.size() - strlen(low), strlen(low), low) == 0);
  }
  EXPECT_TRUE(found) << "no DW_AT_low_pc " << low << "\n" << info.out;
  Split lines = RunSplit(scratch_, "readelf --debug-dump=decodedline " + Quote(image));
  EXPECT_EQ(lines.err, "");
  EXPECT_NE(lines.out.find(low), std::string::npos) << lines.out;

  ASSERT_TRUE(sys_.registry().unload(f.value(), module::UnloadOptions{}));
  EXPECT_EQ(gdb_jit_count(), before);
  EXPECT_EQ(Entries().size(), before);
}

TEST_P(GdbJitTest, FailedLinkLeavesNothingRegistered) {
  std::string obj = scratch_.Compile(
      *GetParam(), "bad.c", "int nowhere(int); int f(int x) { return nowhere(x); }", {"-g"});
  std::vector<uint8_t> bad = test::ReadBytes(obj);
  size_t before = gdb_jit_count();
  auto f = sys_.registry().load_bytes(ByteView(bad.data(), bad.size()), "bad.ko");
  EXPECT_FALSE(f);
  EXPECT_EQ(gdb_jit_count(), before);
  EXPECT_EQ(Entries().size(), before);
}

TEST_P(GdbJitTest, EmbeddingApiRegistersAndUnregisters) {
  size_t before = gdb_jit_count();
  {
    modkit::Kernel k;
    modkit::File* a = k.load(object_);
    ASSERT_NE(a, nullptr);
    modkit::File* b = k.load_memory(bytes_.data(), bytes_.size(), "second");
    ASSERT_NE(b, nullptr);
    EXPECT_EQ(gdb_jit_count(), before + 2);
    EXPECT_EQ(Entries().size(), before + 2);
    k.unload(a);  // from the middle of the list
    EXPECT_EQ(Entries().size(), before + 1);
    auto fn = reinterpret_cast<int (*)(int)>(k.symbol(b, "dbg_entry"));
    ASSERT_NE(fn, nullptr);
    EXPECT_EQ(fn(1), 8);
  }  // the Kernel unloads b
  EXPECT_EQ(gdb_jit_count(), before);
  EXPECT_EQ(Entries().size(), before);
}

// build_debug_object does not clear the image before writing it: every byte
// (headers, alignment padding, the null symbol) must be written anyway.
// glibc's M_PERTURB fills each new block with a byte of our choice, so a
// byte left unwritten differs between two builds of one file at the same
// addresses (the arena gives an unloaded file's blocks to the next load).
// The per-thread cache hands blocks back unfilled: it is drained first, by
// blocks of the image's size held during the build.
TEST_P(GdbJitTest, EveryByteOfTheImageIsWritten) {
  std::string plain =
      scratch_.Compile(*GetParam(), "plain.c", kModule, {"-O2", "-fasynchronous-unwind-tables"});
  for (const std::string& obj : {object_, plain}) {
    modkit::Kernel k;
    std::string images[3];
    void* entry[3] = {};
    size_t block = 0;  // what the entry and its image take: round 0 finds out
    for (int round = 0; round < 3; ++round) {
      std::vector<void*> plugs;
      for (int i = 0; block != 0 && i < 32; ++i)
        plugs.push_back(malloc(block));
      mallopt(M_PERTURB, round == 1 ? 0x5a : 0xa5);
      modkit::File* f = k.load(obj);
      mallopt(M_PERTURB, 0);
      ASSERT_NE(f, nullptr) << obj;
      entry[round] = k.symbol(f, "dbg_entry");
      const jit_code_entry* e = __jit_debug_descriptor.first_entry;
      ASSERT_NE(e, nullptr);
      images[round].assign(e->symfile_addr, e->symfile_size);
      block =
          static_cast<size_t>(e->symfile_addr - reinterpret_cast<const char*>(e)) + e->symfile_size;
      k.unload(f);
      for (void* p : plugs)
        free(p);
    }
    ASSERT_EQ(entry[1], entry[2]) << "the third load must land where the second did";
    EXPECT_GT(images[1].size(), sizeof(elf::Ehdr));
    EXPECT_TRUE(images[1] == images[2]) << obj << ": the two builds differ";
  }
}

TEST_P(GdbJitTest, ObjectWithoutDebugInfoStillCarriesSymbols) {
  // With an .eh_frame, as the SDK builds modules (riscv64 emits none by default).
  std::string obj =
      scratch_.Compile(*GetParam(), "plain.c", kModule, {"-O2", "-fasynchronous-unwind-tables"});
  std::vector<uint8_t> plain = test::ReadBytes(obj);
  auto f = sys_.registry().load_bytes(ByteView(plain.data(), plain.size()), "plain.ko");
  ASSERT_TRUE(f) << f.error().message();
  std::string image = DumpNewest(scratch_, "plain.jit.o");
  Split nm = RunSplit(scratch_, "nm " + Quote(image));
  EXPECT_EQ(nm.err, "");
  EXPECT_NE(nm.out.find(" T dbg_entry\n"), std::string::npos) << nm.out;
  EXPECT_NE(nm.out.find(" b counter\n"), std::string::npos) << nm.out;  // a local
  ExpectEverySymbolAtItsAddress(*f.value()->linked, nm.out);
  // Only what symbols and unwinding need: the runs that hold symbols (the
  // code; counter in .bss), the .eh_frame gdb unwinds with, the symbol
  // table and one string table. No .rodata (no symbol in it), no debug
  // sections.
  Split sections = RunSplit(scratch_, "readelf -SW " + Quote(image));
  EXPECT_EQ(sections.err, "");
  std::vector<std::string> names;
  for (const ImageSection& s : Sections(sections.out))
    names.push_back(s.name + (s.type == "NOBITS" ? " nobits " : " ") + s.flags);
  EXPECT_EQ(names, (std::vector<std::string>{".text nobits AX", ".eh_frame A", ".data nobits WA",
                                             ".symtab ", ".strtab "}))
      << sections.out;
  ASSERT_TRUE(sys_.registry().unload(f.value(), module::UnloadOptions{}));
}

// -ffunction-sections: one input section per function, and per variable;
// the object describes each class's run once, however many sections it has
// (more than the builder keeps on its stack).
TEST_P(GdbJitTest, ManySectionsOfOneClassAreOneSection) {
  std::string src;
  for (int i = 0; i < 40; ++i)
    src += "int many_v" + std::to_string(i) + " = " + std::to_string(i) + ";\n" + "int many_f" +
           std::to_string(i) + "(int x) { return x + many_v" + std::to_string(i) + "; }\n";
  std::string obj = scratch_.Compile(*GetParam(), "many.c", src,
                                     {"-O2", "-ffunction-sections", "-fdata-sections"});
  std::vector<uint8_t> bytes = test::ReadBytes(obj);
  auto f = sys_.registry().load_bytes(ByteView(bytes.data(), bytes.size()), "many.ko");
  ASSERT_TRUE(f) << f.error().message();
  EXPECT_GT(f.value()->linked->sections().size(), 80u);
  std::string image = DumpNewest(scratch_, "many.jit.o");
  Split nm = RunSplit(scratch_, "nm " + Quote(image));
  EXPECT_EQ(nm.err, "");
  ExpectEverySymbolAtItsAddress(*f.value()->linked, nm.out);
  Split sections = RunSplit(scratch_, "readelf -SW " + Quote(image));
  std::vector<std::string> names;
  for (const ImageSection& s : Sections(sections.out))
    names.push_back(s.name + (s.type == "NOBITS" ? " nobits " : " ") + s.flags);
  EXPECT_EQ(names, (std::vector<std::string>{".text nobits AX", ".eh_frame A", ".data nobits WA",
                                             ".symtab ", ".strtab "}))
      << sections.out;
  ASSERT_TRUE(sys_.registry().unload(f.value(), module::UnloadOptions{}));
}

TEST_P(GdbJitTest, SeveralObjectsLinkedAsOneFileShareOneDebugObject) {
  std::string obj2 = scratch_.Compile(*GetParam(), "two.c",
                                      "int dbg_leaf(int);\n"
                                      "int two_fn(int x) {\n"
                                      "  return dbg_leaf(x) + 2;\n"
                                      "}\n",
                                      {"-g", "-O1"});
  size_t before = gdb_jit_count();
  modkit::Kernel k;
  modkit::File* f = k.load_objects({object_, obj2});
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(gdb_jit_count(), before + 1);
  std::string image = DumpNewest(scratch_, "two.jit.o");
  Split info = RunSplit(scratch_, "readelf --debug-dump=info " + Quote(image));
  EXPECT_EQ(info.err, "");
  // Both compilation units, each with its own (relocated) line program.
  EXPECT_NE(info.out.find("dbg.c"), std::string::npos);
  EXPECT_NE(info.out.find("two.c"), std::string::npos);
  Split lines = RunSplit(scratch_, "readelf --debug-dump=decodedline " + Quote(image));
  EXPECT_EQ(lines.err, "");
  char two[32];
  snprintf(two, sizeof two, "0x%lx",
           static_cast<unsigned long>(reinterpret_cast<uintptr_t>(k.symbol(f, "two_fn"))));
  EXPECT_NE(lines.out.find(two), std::string::npos) << lines.out;
  k.unload(f);
  EXPECT_EQ(gdb_jit_count(), before);
}

INSTANTIATE_TEST_SUITE_P(Compilers, GdbJitTest, ::testing::Values(&test::kGcc, &test::kClang),
                         [](const auto& info) { return std::string(info.param->label); });

}  // namespace
}  // namespace mk::hosted
