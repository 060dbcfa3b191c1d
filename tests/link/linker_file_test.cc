// Tests of link/linker_file.h: what a linked file records about itself. Its
// sections at their final addresses in the right class blocks, every named
// symbol (locals too, for the address map) with its section, and find(),
// which sees only what the file exports: globals and weak definitions, never
// locals, hidden or internal symbols, or the names it imports.
#include "link/linker_file.h"

#include <gtest/gtest.h>

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
