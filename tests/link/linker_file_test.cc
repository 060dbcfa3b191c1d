// Tests of link/linker_file.h: what a linked file records about itself. Its
// sections at their final addresses in the right class blocks, every named
// symbol (locals too, for the address map) with its section, and find(),
// which sees only what the file exports: globals and weak definitions, never
// locals, hidden or internal symbols, or the names it imports.
#include "link/linker_file.h"

#include <gtest/gtest.h>
#include <string.h>

#include <memory>
#include <string>
#include <vector>

#include "link/link_harness.h"
#include "support/name_table.h"
#include "support/test_allocator.h"

namespace mk::test {
namespace {

using link::Class;
using link::FileSection;
using link::FileSymbol;
using link::LinkerFile;

const char* const kSymbols = R"(
extern int imported(int);
static int local_counter = 3;
static int local_fn(int v) { return v + local_counter; }
int global_data = 10;
int global_bss;
const int global_const = 7;
__attribute__((weak)) int weak_fn(void) { return 2; }
__attribute__((visibility("hidden"))) int hidden_fn(void) { return 3; }
__attribute__((visibility("internal"))) int internal_fn(void) { return 4; }
__attribute__((visibility("protected"))) int protected_fn(void) { return 5; }
int global_fn(int v) { return imported(local_fn(v)) + hidden_fn() + internal_fn(); }
int (*local_fn_ptr(void))(int) { return local_fn; }
)";

int Imported(int v) {
  return v * 10;
}

const FileSymbol* Named(LinkerFile* f, const std::string& name) {
  const FileSymbol* found = nullptr;
  for (const FileSymbol& s : f->symbols()) {
    if (name == s.name) {
      EXPECT_EQ(found, nullptr) << name << " listed twice";
      found = &s;
    }
  }
  return found;
}

bool InBlock(const link::Block& b, uint64_t addr, uint64_t size) {
  return addr >= b.base && addr + size <= b.base + b.size;
}

using Param = std::tuple<Compiler, std::vector<std::string>>;
class LinkerFileTest : public ::testing::TestWithParam<Param> {
 protected:
  LinkerFile* Load(LinkHarness& h) {
    // .eh_frame is asked for: riscv64's compilers emit none by default (and
    // only .debug_frame with -g), and the sections test expects one.
    std::vector<std::string> flags = std::get<1>(GetParam());
    flags.push_back("-fasynchronous-unwind-tables");
    obj = scratch.Compile(std::get<0>(GetParam()), "syms.c", kSymbols, flags);
    if (obj.empty()) return nullptr;
    h.Export("imported", reinterpret_cast<void*>(&Imported));
    return h.MustLink({obj});
  }
  Scratch scratch;
  std::string obj;
};

TEST_P(LinkerFileTest, FindSeesGlobalsAndWeakDefinitionsOnly) {
  LinkHarness h(nullptr, false);
  LinkerFile* f = Load(h);
  ASSERT_NE(f, nullptr);
  for (const char* name :
       {"global_data", "global_bss", "global_const", "weak_fn", "protected_fn", "global_fn"})
    EXPECT_NE(f->find(name), nullptr) << name;
  for (const char* name : {"local_counter", "local_fn", "hidden_fn", "internal_fn", "imported",
                           "syms.c", "", "no_such_name"})
    EXPECT_EQ(f->find(name), nullptr) << name;
  EXPECT_EQ(h.Sym<int (*)(int)>(f, "global_fn")(1), 47);
  EXPECT_EQ(h.Sym<int (*)()>(f, "weak_fn")(), 2);
  EXPECT_EQ(*h.Sym<int*>(f, "global_data"), 10);
  EXPECT_EQ(*h.Sym<int*>(f, "global_bss"), 0);
  EXPECT_EQ(*h.Sym<const int*>(f, "global_const"), 7);
}

TEST_P(LinkerFileTest, SymbolsListLocalsWithTheirAddressesAndSections) {
  LinkHarness h(nullptr, false);
  LinkerFile* f = Load(h);
  ASSERT_NE(f, nullptr);
  struct Want {
    const char* name;
    uint8_t bind, type, visibility;
    Class cls;
  };
  const Want wants[] = {
      {"local_counter", elf::STB_LOCAL, elf::STT_OBJECT, elf::STV_DEFAULT, Class::kData},
      {"global_data", elf::STB_GLOBAL, elf::STT_OBJECT, elf::STV_DEFAULT, Class::kData},
      {"global_bss", elf::STB_GLOBAL, elf::STT_OBJECT, elf::STV_DEFAULT, Class::kData},
      {"global_const", elf::STB_GLOBAL, elf::STT_OBJECT, elf::STV_DEFAULT, Class::kRodata},
      {"weak_fn", elf::STB_WEAK, elf::STT_FUNC, elf::STV_DEFAULT, Class::kText},
      {"hidden_fn", elf::STB_GLOBAL, elf::STT_FUNC, elf::STV_HIDDEN, Class::kText},
      {"internal_fn", elf::STB_GLOBAL, elf::STT_FUNC, elf::STV_INTERNAL, Class::kText},
      {"protected_fn", elf::STB_GLOBAL, elf::STT_FUNC, elf::STV_PROTECTED, Class::kText},
      {"global_fn", elf::STB_GLOBAL, elf::STT_FUNC, elf::STV_DEFAULT, Class::kText},
  };
  for (const Want& w : wants) {
    SCOPED_TRACE(w.name);
    const FileSymbol* s = Named(f, w.name);
    ASSERT_NE(s, nullptr);
    EXPECT_EQ(s->bind, w.bind);
    EXPECT_EQ(s->type, w.type);
    if (w.visibility == elf::STV_INTERNAL)  // clang writes internal as hidden
      EXPECT_TRUE(s->visibility == elf::STV_INTERNAL || s->visibility == elf::STV_HIDDEN);
    else
      EXPECT_EQ(s->visibility, w.visibility);
    EXPECT_GT(s->size, 0u);
    ASSERT_LT(s->section, f->sections().size());
    const FileSection& sec = f->sections()[s->section];
    EXPECT_EQ(sec.cls, w.cls);
    EXPECT_GE(s->addr, sec.addr);
    EXPECT_LE(s->addr + s->size, sec.addr + sec.size);
    EXPECT_TRUE(InBlock(f->blocks[static_cast<int>(w.cls)], s->addr, s->size));
  }
  // The listed address of a local is where it really is: a local function
  // (at -O0 it is not inlined away) is the one the file hands out.
  const FileSymbol* lf = Named(f, "local_fn");
  if (lf != nullptr) {
    EXPECT_EQ(lf->bind, elf::STB_LOCAL);
    EXPECT_EQ(reinterpret_cast<uintptr_t>(h.Sym<int (*(*)())(int)>(f, "local_fn_ptr")()), lf->addr);
  }
  EXPECT_EQ(*reinterpret_cast<int*>(Named(f, "local_counter")->addr), 3);
  // Imports are not the file's symbols.
  EXPECT_EQ(Named(f, "imported"), nullptr);
}

TEST_P(LinkerFileTest, SectionsAreTheLoadedOnesInTheirClassBlocks) {
  LinkHarness h(nullptr, false);
  LinkerFile* f = Load(h);
  ASSERT_NE(f, nullptr);
  bool text = false, data = false, eh = false;
  for (const FileSection& s : f->sections()) {
    SCOPED_TRACE(s.name);
    EXPECT_NE(s.flags & elf::SHF_ALLOC, 0u) << "only loaded sections are listed";
    EXPECT_EQ(s.object, 0u);
    EXPECT_TRUE(InBlock(f->blocks[static_cast<int>(s.cls)], s.addr, s.size));
    Class want = (s.flags & elf::SHF_EXECINSTR) != 0 ? Class::kText
                 : (s.flags & elf::SHF_WRITE) != 0   ? Class::kData
                                                     : Class::kRodata;
    EXPECT_EQ(s.cls, want);
    std::string name = s.name;
    text |= name.rfind(".text", 0) == 0;
    // riscv64's clang puts small data in .sdata (small-data sections).
    data |= name.rfind(".data", 0) == 0 || name.rfind(".sdata", 0) == 0;
    eh |= name == ".eh_frame";
    EXPECT_NE(name, ".comment");
    EXPECT_NE(name.rfind(".debug", 0), 0u);
    EXPECT_NE(name.rfind(".rela", 0), 0u);
  }
  EXPECT_TRUE(text && data && eh);
  // Sections of one class do not overlap.
  for (size_t i = 0; i < f->sections().size(); ++i)
    for (size_t j = i + 1; j < f->sections().size(); ++j) {
      const FileSection &a = f->sections()[i], &b = f->sections()[j];
      if (a.size == 0 || b.size == 0) continue;
      EXPECT_TRUE(a.addr + a.size <= b.addr || b.addr + b.size <= a.addr)
          << a.name << " overlaps " << b.name;
    }
  // The file's memory is its blocks, all of what the arena handed out.
  EXPECT_EQ(f->memory(), h.used());
}

// Owns a file LinkerFile::create() made.
struct DestroyFile {
  Allocator* a;
  void operator()(LinkerFile* f) const { LinkerFile::destroy(*a, f); }
};
using FilePtr = std::unique_ptr<LinkerFile, DestroyFile>;
FilePtr Own(Allocator& a, LinkerFile* f) {
  return FilePtr(f, DestroyFile{&a});
}

// The tables' builder, as the linker (and tests standing in for it) use it:
// the record and its tables are one allocation of exactly what was asked,
// the strong definition of a name answered whatever the order, nothing
// answered from a table without exports. Both ways of finding a global: a
// file of five symbols or more hashes its exports into slots (twice their
// count, a power of two), a smaller one has none and compares its few
// names in turn.
TEST(LinkerFileTables, OneAllocationAndStrongOverWeak) {
  mk::testing::TestAllocator a;
  for (size_t reserved : {3u, 5u}) {
    SCOPED_TRACE(reserved);
    const size_t names = sizeof "f" + sizeof ".text";
    const size_t live = a.live_bytes();
    FilePtr file = Own(a, LinkerFile::create(a, 1, reserved, 2, names));
    ASSERT_NE(file, nullptr);
    LinkerFile& f = *file;
    EXPECT_EQ(a.allocations(), reserved == 3 ? 1u : 2u);
    const size_t slots = reserved == 3 ? 0 : 4;
    EXPECT_EQ(f.table_bytes(),
              sizeof(FileSection) + reserved * sizeof(FileSymbol) + slots * 8 + names);
    EXPECT_EQ(a.live_bytes() - live, sizeof(LinkerFile) + f.table_bytes());
    // The tables follow the record: the slots, then the sections.
    EXPECT_EQ(reinterpret_cast<const uint8_t*>(f.sections().data()),
              reinterpret_cast<const uint8_t*>(&f + 1) + slots * 8);
    const char* text = f.add_name(".text", 5);
    f.add_section(
        FileSection{text, 0x1000, 0x40, elf::SHF_ALLOC | elf::SHF_EXECINSTR, 1, 0, Class::kText});
    const char* name = f.add_name("f", 1);
    f.add_symbol(FileSymbol{name, 0x1000, 4, elf::STT_FUNC, elf::STB_WEAK, 0, 0}, true);
    f.add_symbol(FileSymbol{name, 0x1010, 4, elf::STT_FUNC, elf::STB_GLOBAL, 0, 0}, true);
    f.add_symbol(FileSymbol{name, 0x1020, 4, elf::STT_FUNC, elf::STB_WEAK, 0, 0}, true);
    ASSERT_EQ(f.symbols().size(), 3u);
    ASSERT_EQ(f.sections().size(), 1u);
    EXPECT_STREQ(f.sections()[0].name, ".text");
    EXPECT_EQ(f.names_end(), reinterpret_cast<const char*>(&f + 1) + f.table_bytes())
        << "the names end the tables";
    const FileSymbol* s = f.find("f");
    ASSERT_NE(s, nullptr);
    EXPECT_EQ(s->addr, 0x1010u);  // the strong one, neither weak before nor after it
    EXPECT_EQ(f.find_global("f", name_hash("f")), s);
    EXPECT_EQ(f.find("g"), nullptr);
  }
  EXPECT_EQ(a.allocations(), 2u);
  {
    FilePtr f = Own(a, LinkerFile::create(a, 0, 2, 2, 2));  // weak definitions only: the first one
    ASSERT_NE(f, nullptr);
    const char* name = f->add_name("w", 1);
    f->add_symbol(FileSymbol{name, 0x20, 4, elf::STT_FUNC, elf::STB_WEAK, 0, UINT32_MAX}, true);
    f->add_symbol(FileSymbol{name, 0x30, 4, elf::STT_FUNC, elf::STB_WEAK, 0, UINT32_MAX}, true);
    ASSERT_NE(f->find("w"), nullptr);
    EXPECT_EQ(f->find("w")->addr, 0x20u);
  }
  {
    // Locals, hidden and internal: find() answers none of them.
    FilePtr f = Own(a, LinkerFile::create(a, 0, 3, 0, 6));
    ASSERT_NE(f, nullptr);
    f->add_symbol(
        FileSymbol{f->add_name("l", 1), 0x10, 0, elf::STT_OBJECT, elf::STB_LOCAL, 0, UINT32_MAX},
        false);
    f->add_symbol(FileSymbol{f->add_name("h", 1), 0x10, 0, elf::STT_OBJECT, elf::STB_GLOBAL,
                             elf::STV_HIDDEN, UINT32_MAX},
                  false);
    f->add_symbol(FileSymbol{f->add_name("i", 1), 0x10, 0, elf::STT_OBJECT, elf::STB_GLOBAL,
                             elf::STV_INTERNAL, UINT32_MAX},
                  false);
    EXPECT_EQ(f->find("l"), nullptr);
    EXPECT_EQ(f->find("h"), nullptr);
    EXPECT_EQ(f->find("i"), nullptr);
  }
  EXPECT_EQ(a.live_allocations(), 0u);  // destroy() gives the record and tables back
}

// add_names(): a whole string table copied in one piece, its names pointed
// into; the copy ends in a NUL whatever the table's last byte was, so a
// name cannot run past it. Exported names enter the slots with the hash
// the caller gives (the linker's own), the strong definition answered.
TEST(LinkerFileTables, WholeTableCopyAndTheCallersHash) {
  mk::testing::TestAllocator a;
  const char table[] = "\0alpha\0beta\0gamma\0tail";  // its last byte is not a NUL
  const size_t n = sizeof table - 1;
  FilePtr file = Own(a, LinkerFile::create(a, 0, 6, 5, n));
  ASSERT_NE(file, nullptr);
  LinkerFile& f = *file;
  const char* copy = f.add_names(table, n);
  EXPECT_EQ(copy + n, f.names_end()) << "the copy is the names' region";
  EXPECT_EQ(std::string(copy + 1, 5), "alpha");
  EXPECT_STREQ(copy + 18, "tai") << "the copy's last byte is a NUL";
  const char* alpha = copy + 1;
  const char* beta = copy + 7;
  const char* gamma = copy + 12;
  f.add_symbol(FileSymbol{beta, 0x10, 4, elf::STT_FUNC, elf::STB_WEAK, 0, UINT32_MAX}, true,
               name_hash("beta"));
  f.add_symbol(FileSymbol{alpha, 0x20, 4, elf::STT_FUNC, elf::STB_GLOBAL, 0, UINT32_MAX}, true,
               name_hash("alpha", 5));
  f.add_symbol(FileSymbol{beta, 0x30, 4, elf::STT_FUNC, elf::STB_GLOBAL, 0, UINT32_MAX}, true,
               name_hash("beta", 4));
  f.add_symbol(FileSymbol{beta, 0x40, 4, elf::STT_FUNC, elf::STB_WEAK, 0, UINT32_MAX}, true,
               name_hash("beta"));
  f.add_symbol(FileSymbol{gamma, 0x50, 4, elf::STT_OBJECT, elf::STB_LOCAL, 0, UINT32_MAX}, false,
               0);
  for (const FileSymbol& s : f.symbols())
    EXPECT_TRUE(s.name >= copy && s.name < f.names_end());
  ASSERT_NE(f.find("alpha"), nullptr);
  EXPECT_EQ(f.find("alpha")->addr, 0x20u);
  ASSERT_NE(f.find("beta"), nullptr);
  EXPECT_EQ(f.find("beta")->addr, 0x30u) << "the strong one, between two weak ones";
  EXPECT_EQ(f.find("gamma"), nullptr) << "a local";
  EXPECT_EQ(f.find("tail"), nullptr);
}

// put_symbol(), the linker's bulk add_symbol(): the records are in place at
// once (the slots find them), the count is the one symbols_added() sets.
TEST(LinkerFileTables, PutSymbolsThenTheirCount) {
  mk::testing::TestAllocator a;
  FilePtr file = Own(a, LinkerFile::create(a, 0, 6, 6, 4));
  ASSERT_NE(file, nullptr);
  LinkerFile& f = *file;
  const char* x = f.add_name("x", 1);
  const char* y = f.add_name("y", 1);
  f.put_symbol(0, FileSymbol{x, 0x10, 0, elf::STT_FUNC, elf::STB_WEAK, 0, UINT32_MAX}, true,
               name_hash("x"));
  f.put_symbol(1, FileSymbol{y, 0x20, 0, elf::STT_FUNC, elf::STB_GLOBAL, 0, UINT32_MAX}, true,
               name_hash("y"));
  f.put_symbol(2, FileSymbol{x, 0x30, 0, elf::STT_FUNC, elf::STB_GLOBAL, 0, UINT32_MAX}, true,
               name_hash("x"));
  EXPECT_EQ(f.symbols().size(), 0u) << "counted only by symbols_added()";
  f.symbols_added(3);
  ASSERT_EQ(f.symbols().size(), 3u);
  EXPECT_EQ(f.symbols()[1].addr, 0x20u);
  ASSERT_NE(f.find("x"), nullptr);
  EXPECT_EQ(f.find("x")->addr, 0x30u) << "the strong one";
  ASSERT_NE(f.find("y"), nullptr);
  EXPECT_EQ(f.find("y")->addr, 0x20u);
  f.add_symbol(FileSymbol{y, 0x40, 0, elf::STT_FUNC, elf::STB_WEAK, 0, UINT32_MAX}, true);
  EXPECT_EQ(f.symbols().size(), 4u) << "add_symbol() goes on from the count";
  EXPECT_EQ(f.find("y")->addr, 0x20u);
}

// with_tables(): the file proper takes over the blocks and __dso_handle of
// the record the linker placed them in.
TEST(LinkerFileTables, WithTablesKeepsThePlacedBlocks) {
  mk::testing::TestAllocator a;
  LinkerFile placed;
  placed.blocks[static_cast<int>(Class::kText)] = link::Block{0x1000, 0x40, link::kNoChunk};
  placed.blocks[static_cast<int>(Class::kData)] = link::Block{0x8000, 0x20, link::kNoChunk};
  placed.set_dso_handle(0x18);
  FilePtr f = Own(a, LinkerFile::with_tables(a, placed, 1, 1, 1, 2));
  ASSERT_NE(f, nullptr);
  for (int c = 0; c < link::kClassCount; ++c) {
    EXPECT_EQ(f->blocks[c].base, placed.blocks[c].base);
    EXPECT_EQ(f->blocks[c].size, placed.blocks[c].size);
  }
  EXPECT_EQ(f->dso_handle(), 0x8018u);
  EXPECT_EQ(LinkerFile().dso_handle(), 0u) << "no handle unless one is set";
  EXPECT_EQ(a.allocations(), 1u);
}

// An empty section is listed only when a symbol lies in it: the empty
// .data and .bss every object carries cost a file nothing, a marker symbol
// in an empty section still names its section. The common section names
// are shared, not copied into each file.
TEST_P(LinkerFileTest, EmptySectionsAreListedOnlyWithASymbolInThem) {
  const char* const src = R"(
int one(void) { return 1; }
int data_word = 5;  // the data block is not empty (an empty block has no address)
__attribute__((section("empty_marker"), used)) static char marker[0];
char *marker_at(void) { return marker; }
)";
  LinkHarness h(nullptr, false);
  std::vector<std::string> flags = std::get<1>(GetParam());
  flags.push_back("-fasynchronous-unwind-tables");  // an .eh_frame on every machine
  std::string o = scratch.Compile(std::get<0>(GetParam()), "empty.c", src, flags);
  ASSERT_FALSE(o.empty());
  LinkerFile* f = h.MustLink({o});
  ASSERT_NE(f, nullptr);
  const FileSymbol* m = Named(f, "marker");
  ASSERT_NE(m, nullptr);
  ASSERT_LT(m->section, f->sections().size());
  EXPECT_STREQ(f->sections()[m->section].name, "empty_marker");
  EXPECT_EQ(f->sections()[m->section].size, 0u);
  EXPECT_EQ(m->addr, f->sections()[m->section].addr);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(h.Sym<char* (*)()>(f, "marker_at")()), m->addr);
  for (const FileSection& s : f->sections()) {
    SCOPED_TRACE(s.name);
    if (&s != &f->sections()[m->section]) {
      EXPECT_NE(s.size, 0u) << "an empty section listed";
    }
  }
  const FileSection* eh = nullptr;
  for (const FileSection& s : f->sections())
    if (std::string(s.name) == ".eh_frame") eh = &s;
  ASSERT_NE(eh, nullptr);
  LinkerFile* g = h.MustLink({o});
  ASSERT_NE(g, nullptr);
  int shared = 0;
  for (const FileSection& s : g->sections())
    shared += s.name == eh->name;
  EXPECT_EQ(shared, 1) << "the two files share one copy of the name";
}

// A module with one function has no slots at all; a larger file with one
// export has two.
TEST(LinkerFileTables, OneExportTakesNoSlotsInASmallFileAndTwoInALargerOne) {
  mk::testing::TestAllocator a;
  for (size_t reserved : {1u, 5u}) {
    SCOPED_TRACE(reserved);
    FilePtr f = Own(a, LinkerFile::create(a, 0, reserved, 1, 2));
    ASSERT_NE(f, nullptr);
    EXPECT_EQ(f->table_bytes(), reserved * sizeof(FileSymbol) + (reserved == 1 ? 0 : 2 * 8) + 2);
    f->add_symbol(
        FileSymbol{f->add_name("g", 1), 0x10, 0, elf::STT_FUNC, elf::STB_GLOBAL, 0, UINT32_MAX},
        true);
    EXPECT_EQ(f->find("g"), &f->symbols()[0]);
    EXPECT_EQ(f->find("h"), nullptr);
  }
  EXPECT_EQ(LinkerFile::create(a, 0, 1, 2, 2), nullptr) << "more exports than symbols";
  EXPECT_EQ(a.allocations(), 2u);
}

// The constructor lists: one allocation of their two counts and exactly the
// words asked, init's then fini's; none for a file without any; once only.
TEST(LinkerFileTables, ConstructorListsAreOneExactAllocation) {
  mk::testing::TestAllocator a;
  {
    FilePtr owned = Own(a, LinkerFile::create(a, 0, 0, 0, 0));
    LinkerFile& f = *owned;
    const size_t before = a.allocations();
    uintptr_t* words = reinterpret_cast<uintptr_t*>(1);
    ASSERT_TRUE(f.reserve_ctors(a, 0, 0, &words));
    EXPECT_EQ(words, nullptr);
    EXPECT_EQ(a.allocations(), before);
    EXPECT_TRUE(f.init().empty() && f.fini().empty());
  }
  {
    FilePtr owned = Own(a, LinkerFile::create(a, 0, 0, 0, 0));
    LinkerFile& f = *owned;
    const size_t before = a.allocations();
    uintptr_t* words = nullptr;
    ASSERT_TRUE(f.reserve_ctors(a, 2, 1, &words));
    ASSERT_NE(words, nullptr);
    EXPECT_EQ(a.allocations(), before + 1);
    words[0] = 10;
    words[1] = 11;
    words[2] = 20;
    ASSERT_EQ(f.init().size(), 2u);
    ASSERT_EQ(f.fini().size(), 1u);
    EXPECT_EQ(f.init()[0], 10u);
    EXPECT_EQ(f.init()[1], 11u);
    EXPECT_EQ(f.fini()[0], 20u);
    EXPECT_EQ(f.table_bytes(), 2 * sizeof(uint32_t) + 3 * sizeof(uintptr_t));  // counts, words
    EXPECT_FALSE(f.reserve_ctors(a, 1, 0, &words)) << "reserved twice";
    EXPECT_EQ(words, nullptr);
  }
  {
    FilePtr owned = Own(a, LinkerFile::create(a, 0, 0, 0, 0));  // destructors only
    uintptr_t* words = nullptr;
    ASSERT_TRUE(owned->reserve_ctors(a, 0, 1, &words));
    words[0] = 30;
    EXPECT_EQ(owned->fini()[0], 30u);
  }
  EXPECT_EQ(a.live_allocations(), 0u);  // destroy() gives the lists back
}

// The file's names region, [sections().data(), names_end()): every name
// the file lists lies there (the contract a debugger's image relies on).
bool InNames(const LinkerFile* f, const char* name) {
  auto at = reinterpret_cast<uintptr_t>(name);
  return at >= reinterpret_cast<uintptr_t>(f->sections().data()) &&
         at < reinterpret_cast<uintptr_t>(f->names_end());
}

// Whether the string `name` (NUL-terminated, after a NUL) is somewhere in
// the names region: a name the file does not list is there only when the
// file copied its input's whole string table.
bool CarriesName(const LinkerFile* f, const std::string& name) {
  const char* from = reinterpret_cast<const char*>(f->sections().data());
  std::string region(from, static_cast<size_t>(f->names_end() - from));
  return region.find(std::string(1, '\0') + name + std::string(1, '\0')) != std::string::npos;
}

// A file whose names are nearly all its input's string table takes a copy of
// the whole table (the names of what it imports come along): every listed
// name is right and in the names region, every export is found by name and
// is the function of that name, locals are listed, and the section names
// (which clang's one table shares with the symbols) are right.
TEST_P(LinkerFileTest, WholeStringTableCopyKeepsNamesAndLookups) {
  constexpr int kFunctions = 80;
  std::string src = "extern int whole_import(int);\n";
  for (int i = 0; i < kFunctions; ++i)
    src += "int whole_function_number_" + std::to_string(i) + "(int x) { return x + " +
           std::to_string(i) + "; }\n";
  src +=
      "static int whole_local_function(int x) { return whole_import(x); }\n"
      "int (*whole_local_pointer(void))(int) { return whole_local_function; }\n";
  const std::vector<std::string>& flags = std::get<1>(GetParam());
  std::string o = scratch.Compile(std::get<0>(GetParam()), "whole.c", src, flags);
  ASSERT_FALSE(o.empty());
  LinkHarness h(nullptr, false);
  h.Export("whole_import", reinterpret_cast<void*>(&Imported));
  LinkerFile* f = h.MustLink({o});
  ASSERT_NE(f, nullptr);
  // riscv objects may keep the assembler's local labels (".L0 " for a
  // %pcrel_lo, and with -g or -fPIC many more) in their symbol table: when
  // those names are over a quarter of the table, the file rightly copies
  // its names alone. Everything below holds either way.
  std::vector<uint8_t> bytes = ReadBytes(o);
  Result<elf::ValidatedObject> obj =
      elf::validate(ByteView(bytes.data(), bytes.size()), arch::rules_for, h.alloc);
  ASSERT_TRUE(obj.ok()) << obj.error().message();
  size_t label_bytes = 0;
  for (const elf::Symbol& s : obj.value().symbols)
    if (s.name[0] == '$' || (s.name[0] == '.' && s.name[1] == 'L'))
      label_bytes += strlen(s.name) + 1;
  const uint64_t table = obj.value().sections[obj.value().sections[obj.value().symtab].link].size;
  if (label_bytes * 4 <= table)
    EXPECT_TRUE(CarriesName(f, "whole_import")) << "the whole table was not copied";
  EXPECT_EQ(Named(f, "whole_import"), nullptr) << "an import listed";
  for (const FileSymbol& s : f->symbols())
    EXPECT_TRUE(InNames(f, s.name)) << s.name;
  for (int i = 0; i < kFunctions; ++i) {
    const std::string name = "whole_function_number_" + std::to_string(i);
    SCOPED_TRACE(name);
    const FileSymbol* s = f->find(name.c_str());
    ASSERT_NE(s, nullptr);
    EXPECT_EQ(s->name, name);
    EXPECT_EQ(Named(f, name), s);
    EXPECT_EQ(f->find_global(name.c_str(), name_hash(name.c_str())), s);
    EXPECT_EQ(reinterpret_cast<int (*)(int)>(static_cast<uintptr_t>(s->addr))(100), 100 + i);
    ASSERT_LT(s->section, f->sections().size());
    const FileSection& sec = f->sections()[s->section];
    if (flags.size() > 2) {  // -ffunction-sections: one section per function, named after it
      EXPECT_EQ(std::string(sec.name), ".text." + name);
    }
  }
  EXPECT_EQ(f->find("whole_function_number_"), nullptr);
  EXPECT_EQ(f->find("whole_import"), nullptr);
  const FileSymbol* local = Named(f, "whole_local_function");
  ASSERT_NE(local, nullptr);
  EXPECT_EQ(local->bind, elf::STB_LOCAL);
  EXPECT_EQ(f->find("whole_local_function"), nullptr);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(h.Sym<int (*(*)())(int)>(f, "whole_local_pointer")()),
            local->addr);
  for (const FileSection& sec : f->sections()) {
    SCOPED_TRACE(sec.name);
    EXPECT_NE(sec.name[0], '\0');
    EXPECT_EQ(std::string(sec.name).find("whole_import"), std::string::npos);
  }
}

// A file that keeps a few of its input's names (a small module; one that
// imports far more than it defines) copies each alone: the names it does
// not list are not in its tables, and its names and lookups are as right.
TEST_P(LinkerFileTest, SelectiveCopyForFewOrSparseNames) {
  constexpr int kImports = 30;
  std::string src;
  for (int i = 0; i < kImports; ++i)
    src += "extern int sparse_import_number_" + std::to_string(i) + "(int);\n";
  src += "static int sparse_local(int x) { return x";
  for (int i = 0; i < kImports; ++i)
    src += " + sparse_import_number_" + std::to_string(i) + "(x)";
  src +=
      "; }\n"
      "int sparse_sum(int x) { return sparse_local(x); }\n"
      "int sparse_other(int x) { return x * 2; }\n";
  std::string o =
      scratch.Compile(std::get<0>(GetParam()), "sparse.c", src, std::get<1>(GetParam()));
  ASSERT_FALSE(o.empty());
  LinkHarness h(nullptr, false);
  for (int i = 0; i < kImports; ++i)
    h.Export("sparse_import_number_" + std::to_string(i), reinterpret_cast<void*>(&Imported));
  LinkerFile* f = h.MustLink({o});
  ASSERT_NE(f, nullptr);
  for (int i = 0; i < kImports; ++i)
    EXPECT_FALSE(CarriesName(f, "sparse_import_number_" + std::to_string(i))) << i;
  EXPECT_FALSE(CarriesName(f, "sparse.c")) << "the FILE symbol's name was copied";
  for (const FileSymbol& s : f->symbols())
    EXPECT_TRUE(InNames(f, s.name)) << s.name;
  EXPECT_EQ(h.Sym<int (*)(int)>(f, "sparse_sum")(1), 1 + kImports * 10);
  EXPECT_EQ(h.Sym<int (*)(int)>(f, "sparse_other")(4), 8);
  ASSERT_NE(Named(f, "sparse_local"), nullptr);
  EXPECT_EQ(f->find("sparse_local"), nullptr);
  EXPECT_EQ(f->find("sparse_import_number_0"), nullptr);
}

// Of a weak and a strong definition of one name in two objects, the file
// answers the strong one in either order, its slots filled with the hashes
// the link computed for its own table of globals; both stay listed.
TEST_P(LinkerFileTest, StrongOverWeakWithTheLinksHashes) {
  std::string filler;
  for (int i = 0; i < 20; ++i)
    filler +=
        "int sow_filler_" + std::to_string(i) + "(void) { return " + std::to_string(i) + "; }\n";
  std::string weak = scratch.Compile(
      std::get<0>(GetParam()), "sow_weak.c",
      filler + "__attribute__((weak)) int sow_fn(void) { return 1; }\n", std::get<1>(GetParam()));
  std::string strong = scratch.Compile(std::get<0>(GetParam()), "sow_strong.c",
                                       "int sow_fn(void) { return 2; }\n"
                                       "int sow_other(void) { return 3; }\n",
                                       std::get<1>(GetParam()));
  ASSERT_FALSE(weak.empty());
  ASSERT_FALSE(strong.empty());
  for (bool weak_first : {true, false}) {
    SCOPED_TRACE(weak_first);
    LinkHarness h(nullptr, false);
    LinkerFile* f = h.MustLink(weak_first ? std::vector<std::string>{weak, strong}
                                          : std::vector<std::string>{strong, weak});
    ASSERT_NE(f, nullptr);
    int listed = 0;
    for (const FileSymbol& s : f->symbols())
      listed += std::string(s.name) == "sow_fn";
    EXPECT_EQ(listed, 2) << "both definitions are the file's symbols";
    const FileSymbol* s = f->find("sow_fn");
    ASSERT_NE(s, nullptr);
    EXPECT_EQ(s->bind, elf::STB_GLOBAL);
    EXPECT_EQ(h.Sym<int (*)()>(f, "sow_fn")(), 2);
    EXPECT_EQ(h.Sym<int (*)()>(f, "sow_other")(), 3);
    EXPECT_EQ(h.Sym<int (*)()>(f, "sow_filler_7")(), 7);
  }
}

INSTANTIATE_TEST_SUITE_P(Compilers, LinkerFileTest,
                         ::testing::Combine(::testing::ValuesIn(AllCompilers()),
                                            ::testing::Values(std::vector<std::string>{"-O0", "-g"},
                                                              std::vector<std::string>{
                                                                  "-O0", "-ffunction-sections",
                                                                  "-fdata-sections", "-fPIC"})),
                         [](const auto& p) {
                           return std::string(std::get<0>(p.param).label) +
                                  (std::get<1>(p.param).size() == 2 ? "_g" : "_sections_fpic");
                         });

}  // namespace
}  // namespace mk::test
