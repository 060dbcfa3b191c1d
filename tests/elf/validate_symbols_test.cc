// Bad-input classes 5 (the symbol table) and 6 (symbols).
#include "elf/validate_test_util.h"

namespace mk::test {
namespace {

using namespace mk::elf;

template <class F>
void WithValid(const Image& img, F check) {
  TestAllocator alloc;
  InputCopy in(img.bytes);
  auto r = validate(in.view(), FakeMachines, alloc);
  ASSERT_TRUE(r.ok()) << r.error().message();
  check(r.value());
}

TEST(ValidateSymbols, StandardSymbolsAreDecoded) {
  WithValid(StandardObject(), [](const ValidatedObject& obj) {
    EXPECT_EQ(obj.symtab, Std::kSymtab);
    EXPECT_EQ(obj.first_global, Std::kMain);
    ASSERT_EQ(obj.symbols.size(), Std::kSymbols);
    const Symbol& main = obj.symbols[Std::kMain];
    EXPECT_STREQ(main.name, "main");
    EXPECT_EQ(main.shndx, Std::kText);
    EXPECT_EQ(main.value, 16u);
    EXPECT_EQ(main.size, 16u);
    EXPECT_EQ(main.bind, STB_GLOBAL);
    EXPECT_EQ(main.type, STT_FUNC);
    EXPECT_STREQ(obj.symbols[Std::kFile].name, "file.c");
    EXPECT_EQ(obj.symbols[Std::kFile].shndx, SHN_ABS);
    EXPECT_FALSE(obj.symbols[Std::kPrintk].defined());
    EXPECT_STREQ(obj.symbols[0].name, "");
  });
}

// --- class 5: the symbol table ------------------------------------------------

TEST(ValidateSymbolTable, Missing) {
  Image img = StandardObject();
  img.edit_shdr(Std::kSymtab, [](Shdr& s) { s.type = SHT_PROGBITS; });
  ExpectError(img, Errc::kMalformed,
              "section table: no symbol table (SHT_SYMTAB); modkit needs one");
}

TEST(ValidateSymbolTable, TwoTables) {
  ElfBuilder b;
  b.add_section(".symtab2", SHT_SYMTAB, 0, std::vector<uint8_t>(24, 0), 8, 0, 0, 24);
  ExpectError(b.build(), Errc::kMalformed,
              "section 2 (.symtab): a second symbol table (the first is section 1 (.symtab2))");
}

TEST(ValidateSymbolTable, EntrySize) {
  Image img = StandardObject();
  img.edit_shdr(Std::kSymtab, [](Shdr& s) { s.entsize = 16; });
  ExpectError(img, Errc::kMalformed, "section 5 (.symtab): entry size 0x10 is not 0x18");
}

TEST(ValidateSymbolTable, SizeNotMultipleOfEntrySize) {
  Image img = StandardObject();
  img.edit_shdr(Std::kSymtab, [](Shdr& s) { s.size -= 1; });
  ExpectError(img, Errc::kMalformed,
              "section 5 (.symtab): size 0xa7 is not a multiple of the entry size 0x18");
}

TEST(ValidateSymbolTable, NoSymbols) {
  Image img = StandardObject();
  img.edit_shdr(Std::kSymtab, [](Shdr& s) { s.size = 0; });
  ExpectError(img, Errc::kMalformed, "section 5 (.symtab): no symbols (not even the null symbol)");
}

TEST(ValidateSymbolTable, StringTableLinkZero) {
  Image img = StandardObject();
  img.edit_shdr(Std::kSymtab, [](Shdr& s) { s.link = 0; });
  ExpectError(img, Errc::kMalformed,
              "section 5 (.symtab): sh_link 0 (string table) is not a section (8 sections)");
}

TEST(ValidateSymbolTable, StringTableLinkOutOfRange) {
  Image img = StandardObject();
  img.edit_shdr(Std::kSymtab, [](Shdr& s) { s.link = 8; });
  ExpectError(img, Errc::kMalformed,
              "section 5 (.symtab): sh_link 8 (string table) is not a section (8 sections)");
}

TEST(ValidateSymbolTable, StringTableLinkWrongType) {
  Image img = StandardObject();
  img.edit_shdr(Std::kSymtab, [](Shdr& s) { s.link = Std::kText; });
  ExpectError(img, Errc::kMalformed,
              "section 5 (.symtab): sh_link points to section 1 (.text), of type SHT_PROGBITS, "
              "not a string table");
}

TEST(ValidateSymbolTable, SectionNameTableMayServeAsStringTable) {
  // clang writes one .strtab for both; any valid string table will do.
  Image img = StandardObject();
  img.edit_shdr(Std::kSymtab, [](Shdr& s) { s.link = Std::kShstrtab; });
  ExpectValidObject(img);
}

TEST(ValidateSymbolTable, FirstGlobalPastCount) {
  Image img = StandardObject();
  img.edit_shdr(Std::kSymtab, [](Shdr& s) { s.info = 8; });
  ExpectError(img, Errc::kMalformed,
              "section 5 (.symtab): sh_info (first global) 8 is past the symbol count (7)");
}

TEST(ValidateSymbolTable, GlobalBeforeFirstGlobal) {
  Image img = StandardObject();
  img.edit_shdr(Std::kSymtab, [](Shdr& s) { s.info = 7; });
  ExpectError(img, Errc::kMalformed,
              "symbol 4 (main): non-local symbol before the first global (sh_info 7)");
}

TEST(ValidateSymbolTable, LocalAfterFirstGlobal) {
  Image img = StandardObject();
  img.edit_shdr(Std::kSymtab, [](Shdr& s) { s.info = 3; });
  ExpectError(img, Errc::kMalformed,
              "symbol 3 (helper): local symbol at or after the first global (sh_info 3)");
}

TEST(ValidateSymbolTable, NameOffsetPastStringTable) {
  Image img = StandardObject();
  img.edit_sym(Std::kMain, [](Sym& s) { s.name = 0x23; });
  ExpectError(img, Errc::kMalformed,
              "symbol 4: name offset 0x23 passes end of string table section 6 (.strtab) (size "
              "0x23)");
  img.edit_sym(Std::kMain, [](Sym& s) { s.name = 0xffffffff; });
  ExpectError(img, Errc::kMalformed,
              "symbol 4: name offset 0xffffffff passes end of string table section 6 (.strtab) "
              "(size 0x23)");
}

TEST(ValidateSymbolTable, NullSymbolNotZero) {
  Image img = StandardObject();
  img.edit_sym(0, [](Sym& s) { s.value = 1; });
  ExpectError(img, Errc::kMalformed, "symbol 0: not the null symbol (all fields must be 0)");
}

// --- class 6: symbols ------------------------------------------------------------

TEST(ValidateSymbols, UnknownBinding) {
  Image img = StandardObject();
  img.edit_sym(Std::kMain, [](Sym& s) { s.info = st_info(3, STT_FUNC); });
  ExpectError(img, Errc::kUnsupported, "symbol 4 (main): binding 3 is not supported");
}

TEST(ValidateSymbols, WeakAndUniqueBindingsAreAccepted) {
  Image img = StandardObject();
  img.edit_sym(Std::kMain, [](Sym& s) { s.info = st_info(STB_WEAK, STT_FUNC); });
  img.edit_sym(Std::kCounter, [](Sym& s) { s.info = st_info(STB_GNU_UNIQUE, STT_OBJECT); });
  img.edit_sym(Std::kPrintk, [](Sym& s) { s.info = st_info(STB_WEAK, STT_NOTYPE); });
  ExpectValidObject(img);
}

TEST(ValidateSymbols, UnknownType) {
  Image img = StandardObject();
  img.edit_sym(Std::kMain, [](Sym& s) { s.info = st_info(STB_GLOBAL, 7); });
  ExpectError(img, Errc::kUnsupported, "symbol 4 (main): type 7 is not supported");
}

TEST(ValidateSymbols, ThreadLocalSymbol) {
  Image img = StandardObject();
  img.edit_sym(Std::kCounter, [](Sym& s) { s.info = st_info(STB_GLOBAL, STT_TLS); });
  ExpectError(img, Errc::kUnsupported,
              "symbol 5 (counter): thread-local symbol (STT_TLS) is not supported");
}

TEST(ValidateSymbols, IndirectFunction) {
  Image img = StandardObject();
  img.edit_sym(Std::kMain, [](Sym& s) { s.info = st_info(STB_GLOBAL, STT_GNU_IFUNC); });
  ExpectError(img, Errc::kUnsupported, "symbol 4 (main): STT_GNU_IFUNC is not supported");
}

TEST(ValidateSymbols, SectionIndexPastTable) {
  Image img = StandardObject();
  img.edit_sym(Std::kMain, [](Sym& s) { s.shndx = 40; });
  ExpectError(img, Errc::kMalformed,
              "symbol 4 (main): section index 40 is past the section table (8 sections)");
}

TEST(ValidateSymbols, SectionIndexBoundaryPair) {
  Image img = StandardObject();
  img.edit_sym(Std::kMain, [](Sym& s) { s.shndx = 7; });  // .shstrtab: 0x37 bytes, main fits
  ExpectValidObject(img);
  img.edit_sym(Std::kMain, [](Sym& s) { s.shndx = 8; });
  ExpectError(img, Errc::kMalformed,
              "symbol 4 (main): section index 8 is past the section table (8 sections)");
}

TEST(ValidateSymbols, ReservedSectionIndex) {
  Image img = StandardObject();
  img.edit_sym(Std::kMain, [](Sym& s) { s.shndx = 0xff05; });
  ExpectError(img, Errc::kUnsupported,
              "symbol 4 (main): section index 0xff05 is a reserved index modkit does not support");
}

TEST(ValidateSymbols, LargeCommonIndexIsReserved) {
  Image img = StandardObject();
  img.edit_sym(Std::kCounter, [](Sym& s) { s.shndx = 0xff02; });  // SHN_X86_64_LCOMMON
  ExpectError(img, Errc::kUnsupported,
              "symbol 5 (counter): section index 0xff02 is a reserved index modkit does not "
              "support");
}

TEST(ValidateSymbols, XindexWithoutTable) {
  Image img = StandardObject();
  img.edit_sym(Std::kMain, [](Sym& s) { s.shndx = SHN_XINDEX; });
  ExpectError(img, Errc::kMalformed,
              "symbol 4 (main): section index is SHN_XINDEX but the object has no "
              "SHT_SYMTAB_SHNDX section");
}

// The standard object plus an (all-zero) .symtab_shndx: sections 1-4 as in
// Std, 5 .symtab_shndx, 6 .symtab, 7 .strtab, 8 .shstrtab.
Image WithShndxTable() {
  ElfBuilder b = StandardBuilder();
  b.symtab_shndx(true);
  Image img = b.build();
  EXPECT_EQ(img.symtab_shndx, 5u);
  EXPECT_EQ(img.symtab, 6u);
  return img;
}

void PointThroughTable(Image& img, uint32_t sym, uint32_t index) {
  img.edit_sym(sym, [](Sym& s) { s.shndx = SHN_XINDEX; });
  img.patch<uint32_t>(img.shdr(img.symtab_shndx).offset + 4 * sym, index);
}

TEST(ValidateSymbols, XindexThroughTable) {
  Image img = WithShndxTable();
  ExpectValidObject(img);
  PointThroughTable(img, Std::kMain, Std::kText);
  WithValid(img, [](const ValidatedObject& obj) {
    EXPECT_EQ(obj.symbols[Std::kMain].shndx, Std::kText);
  });
}

TEST(ValidateSymbols, XindexEntryZero) {
  Image img = WithShndxTable();
  PointThroughTable(img, Std::kMain, 0);
  ExpectError(img, Errc::kMalformed,
              "symbol 4 (main): extended section index (SHT_SYMTAB_SHNDX) is 0");
}

TEST(ValidateSymbols, XindexEntryPastTable) {
  Image img = WithShndxTable();
  PointThroughTable(img, Std::kMain, 50);
  ExpectError(img, Errc::kMalformed,
              "symbol 4 (main): extended section index 50 is past the section table (9 sections)");
}

TEST(ValidateSymbols, XindexTableSize) {
  Image img = WithShndxTable();
  img.edit_shdr(5, [](Shdr& s) { s.size -= 4; });
  ExpectError(img, Errc::kMalformed,
              "section 5 (.symtab_shndx): size 0x18 does not match the symbol table (7 symbols "
              "need 0x1c bytes)");
}

TEST(ValidateSymbols, XindexTableLink) {
  Image img = WithShndxTable();
  img.edit_shdr(5, [](Shdr& s) { s.link = Std::kText; });
  ExpectError(img, Errc::kMalformed,
              "section 5 (.symtab_shndx): sh_link 1 is not the symbol table (section 6 (.symtab))");
}

TEST(ValidateSymbols, XindexTableEntrySize) {
  Image img = WithShndxTable();
  img.edit_shdr(5, [](Shdr& s) { s.entsize = 0; });
  ExpectError(img, Errc::kMalformed, "section 5 (.symtab_shndx): entry size 0x0 is not 4");
}

TEST(ValidateSymbols, TwoXindexTables) {
  ElfBuilder b = StandardBuilder();
  b.add_section(".x", SHT_SYMTAB_SHNDX, 0, std::vector<uint8_t>(28, 0), 4, 0, 0, 4);
  b.symtab_shndx(true);
  ExpectError(b.build(), Errc::kMalformed,
              "section 6 (.symtab_shndx): a second SHT_SYMTAB_SHNDX section (the first is section "
              "5 (.x))");
}

TEST(ValidateSymbols, CommonOnLocalSymbol) {
  Image img = StandardObject();
  img.edit_sym(Std::kHelper, [](Sym& s) {
    s.shndx = SHN_COMMON;
    s.value = 8;
  });
  ExpectError(img, Errc::kMalformed, "symbol 3 (helper): SHN_COMMON on a local symbol");
}

TEST(ValidateSymbols, CommonAlignment) {
  Image img = StandardObject();
  img.edit_sym(Std::kCounter, [](Sym& s) {
    s.shndx = SHN_COMMON;
    s.value = 3;
  });
  ExpectError(img, Errc::kMalformed,
              "symbol 5 (counter): common alignment 0x3 (st_value) is not a power of two");
  img.edit_sym(Std::kCounter, [](Sym& s) { s.value = 0; });
  ExpectError(img, Errc::kMalformed,
              "symbol 5 (counter): common alignment 0x0 (st_value) is not a power of two");
  img.edit_sym(Std::kCounter, [](Sym& s) { s.value = kMaxAlign * 2; });
  ExpectError(img, Errc::kUnsupported,
              "symbol 5 (counter): common alignment 0x20000 is more than the maximum 0x10000");
  img.edit_sym(Std::kCounter, [](Sym& s) { s.value = kMaxAlign; });
  ExpectValidObject(img);
}

TEST(ValidateSymbols, CommonSize) {
  Image img = StandardObject();
  img.edit_sym(Std::kCounter, [](Sym& s) {
    s.shndx = SHN_COMMON;
    s.value = 8;
    s.size = kMaxSectionSize + 1;
  });
  ExpectError(img, Errc::kUnsupported,
              "symbol 5 (counter): common size 0x40000001 is more than the 0x40000000-byte limit");
}

TEST(ValidateSymbols, ValidCommon) {
  Image img = StandardObject();
  img.edit_sym(Std::kCounter, [](Sym& s) {
    s.shndx = SHN_COMMON;
    s.value = 16;
    s.size = 64;
  });
  WithValid(img, [](const ValidatedObject& obj) {
    EXPECT_EQ(obj.symbols[Std::kCounter].shndx, SHN_COMMON);
    EXPECT_EQ(obj.symbols[Std::kCounter].value, 16u);
  });
}

TEST(ValidateSymbols, CommonsCountTowardsTheImage) {
  ElfBuilder b;
  b.add_nobits(".bss.a", SHF_ALLOC | SHF_WRITE, kMaxSectionSize);
  b.add_nobits(".bss.b", SHF_ALLOC | SHF_WRITE, kMaxSectionSize);
  b.add_symbol("big", SHN_COMMON, 8, 1, STB_GLOBAL, STT_OBJECT);
  ExpectError(b.build(), Errc::kUnsupported,
              "image: allocated sections and common symbols total 0x80000001 bytes, more than the "
              "0x80000000-byte limit");
}

TEST(ValidateSymbols, UndefinedLocal) {
  Image img = StandardObject();
  img.edit_sym(Std::kHelper, [](Sym& s) { s.shndx = SHN_UNDEF; });
  ExpectError(img, Errc::kMalformed, "symbol 3 (helper): local symbol is undefined");
}

TEST(ValidateSymbols, ObjectPastEndOfSection) {
  Image img = StandardObject();
  img.edit_sym(Std::kCounter, [](Sym& s) { s.value = 9; });
  ExpectError(img, Errc::kMalformed,
              "symbol 5 (counter): value 0x9 + size 0x8 passes end of section 2 (.data) (size "
              "0x10)");
  img.edit_sym(Std::kCounter, [](Sym& s) { s.value = 8; });  // the last 8 bytes: fine
  ExpectValidObject(img);
}

TEST(ValidateSymbols, FunctionValuePlusSizeOverflows) {
  Image img = StandardObject();
  img.edit_sym(Std::kMain, [](Sym& s) { s.value = 0xfffffffffffffff8; });
  ExpectError(img, Errc::kMalformed,
              "symbol 4 (main): value 0xfffffffffffffff8 + size 0x10 passes end of section 1 "
              "(.text) (size 0x20)");
}

TEST(ValidateSymbols, LabelValueBoundaryPair) {
  // A NOTYPE or SECTION symbol may sit at the very end (end-of-section labels).
  Image img = StandardObject();
  img.edit_sym(Std::kTextSym, [](Sym& s) { s.value = 0x20; });
  ExpectValidObject(img);
  img.edit_sym(Std::kTextSym, [](Sym& s) { s.value = 0x21; });
  ExpectError(img, Errc::kMalformed,
              "symbol 2: value 0x21 is past the end of section 1 (.text) (size 0x20)");
}

TEST(ValidateSymbols, SymbolInNobitsSection) {
  ElfBuilder b = StandardBuilder();
  b.add_symbol("buffer", Std::kBss, 0, 32, STB_GLOBAL, STT_OBJECT);
  ExpectValidObject(b.build());
  b.add_symbol("past", Std::kBss, 8, 32, STB_GLOBAL, STT_OBJECT);
  ExpectError(b.build(), Errc::kMalformed,
              "symbol 8 (past): value 0x8 + size 0x20 passes end of section 3 (.bss) (size 0x20)");
}

TEST(ValidateSymbols, AbsoluteSymbolsHaveAnyValue) {
  ElfBuilder b = StandardBuilder();
  b.add_symbol("abs", SHN_ABS, 0xffffffffffffffff, 0x1000, STB_GLOBAL, STT_OBJECT);
  ExpectValidObject(b.build());
}

// --- extended numbering with real section indices past 0xff00 -------------

// 0xfff4 sections: .text.N for N = 1..0xfff3 minus the builder's own; symbols
// in sections 0xff10 and 0xfff3 go through SHT_SYMTAB_SHNDX.
class ManySections : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    ElfBuilder b;
    for (uint32_t i = 1; i < 0xfff4; ++i) {
      b.add_section(".t" + std::to_string(i), SHT_PROGBITS, SHF_ALLOC | SHF_EXECINSTR, {0xc3});
    }
    b.add_symbol("low", 0x100, 0, 1, STB_GLOBAL, STT_FUNC);
    b.add_symbol("mid", 0xff10, 0, 1, STB_GLOBAL, STT_FUNC);
    b.add_symbol("high", 0xfff3, 0, 1, STB_GLOBAL, STT_FUNC);
    image_ = new Image(b.build());
  }
  static void TearDownTestSuite() { delete image_; }
  static Image* image_;
};
Image* ManySections::image_ = nullptr;

TEST_F(ManySections, Validate) {
  EXPECT_EQ(image_->ehdr().shnum, 0);
  EXPECT_EQ(image_->ehdr().shstrndx, SHN_XINDEX);
  WithValid(*image_, [](const ValidatedObject& obj) {
    EXPECT_EQ(obj.sections.size(), 0xfff4u + 4u);  // + shndx, symtab, strtab, shstrtab
    EXPECT_EQ(obj.symbols[1].shndx, 0x100u);
    EXPECT_EQ(obj.symbols[2].shndx, 0xff10u);
    EXPECT_EQ(obj.symbols[3].shndx, 0xfff3u);
    EXPECT_STREQ(obj.sections[0xfff3].name, ".t65523");
  });
}

TEST_F(ManySections, SymbolInSectionNumberedLikeShnAbs) {
  Image img = *image_;
  img.patch<uint32_t>(img.shdr(img.symtab_shndx).offset + 4 * 2, SHN_ABS);
  ExpectError(img, Errc::kUnsupported,
              "symbol 2 (mid): defined in section 65521, whose index modkit cannot tell from "
              "SHN_ABS");
  img.patch<uint32_t>(img.shdr(img.symtab_shndx).offset + 4 * 2, SHN_COMMON);
  ExpectError(img, Errc::kUnsupported,
              "symbol 2 (mid): defined in section 65522, whose index modkit cannot tell from "
              "SHN_COMMON");
}

}  // namespace
}  // namespace mk::test
