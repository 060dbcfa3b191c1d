// Bad-input classes 1-3 (bad-input.md): the ELF header, the section header
// table, the section-name string table.
#include "elf/validate_test_util.h"

namespace mk::test {
namespace {

using namespace mk::elf;

TEST(ValidateHeader, StandardObjectIsValid) {
  Image img = StandardObject();
  EXPECT_EQ(img.size(), 0x3c0u);  // the offsets in the messages below assume this layout
  EXPECT_EQ(img.ehdr().shoff, 0x1c0u);
  ExpectValidObject(img);
}

TEST(ValidateHeader, MinimalBuilderObjectIsValid) {
  ExpectValidObject(ElfBuilder().build());
}

// --- class 1: header ---------------------------------------------------------

TEST(ValidateHeader, EmptyFile) {
  ExpectError(std::vector<uint8_t>{}, Errc::kMalformed,
              "ELF header: file size 0x0 is smaller than an ELF header (0x40)");
}

TEST(ValidateHeader, ShorterThanHeader) {
  Image img = StandardObject();
  img.bytes.resize(63);
  ExpectError(img, Errc::kMalformed,
              "ELF header: file size 0x3f is smaller than an ELF header (0x40)");
}

TEST(ValidateHeader, BadMagic) {
  Image img = StandardObject();
  img.patch<uint8_t>(1, 'X');
  ExpectError(img, Errc::kMalformed,
              "ELF header: bad magic 0x7f 0x58 0x4c 0x46 at 0x0 (expected 0x7f 0x45 0x4c 0x46)");
}

TEST(ValidateHeader, Class32IsUnsupported) {
  Image img = StandardObject();
  img.patch<uint8_t>(EI_CLASS, 1);
  ExpectError(img, Errc::kUnsupported,
              "ELF header: EI_CLASS 1 at 0x4 is ELFCLASS32; only ELFCLASS64 is supported");
}

TEST(ValidateHeader, InvalidClass) {
  Image img = StandardObject();
  img.patch<uint8_t>(EI_CLASS, 3);
  ExpectError(img, Errc::kMalformed, "ELF header: EI_CLASS 3 at 0x4 is not a valid class");
}

TEST(ValidateHeader, BigEndianIsUnsupported) {
  Image img = StandardObject();
  img.patch<uint8_t>(EI_DATA, 2);
  ExpectError(img, Errc::kUnsupported,
              "ELF header: EI_DATA 2 at 0x5 is big-endian; only little-endian is supported");
}

TEST(ValidateHeader, InvalidByteOrder) {
  Image img = StandardObject();
  img.patch<uint8_t>(EI_DATA, 0);
  ExpectError(img, Errc::kMalformed, "ELF header: EI_DATA 0 at 0x5 is not a valid byte order");
}

TEST(ValidateHeader, IdentVersion) {
  Image img = StandardObject();
  img.patch<uint8_t>(EI_VERSION, 0);
  ExpectError(img, Errc::kMalformed, "ELF header: EI_VERSION 0 at 0x6 is not EV_CURRENT (1)");
}

TEST(ValidateHeader, ExecutableIsUnsupported) {
  Image img = StandardObject();
  img.edit_ehdr([](Ehdr& e) { e.type = ET_EXEC; });
  ExpectError(img, Errc::kUnsupported, "ELF header: e_type 2 at 0x10 is not ET_REL (1)");
}

TEST(ValidateHeader, SharedObjectIsUnsupported) {
  Image img = StandardObject();
  img.edit_ehdr([](Ehdr& e) { e.type = ET_DYN; });
  ExpectError(img, Errc::kUnsupported, "ELF header: e_type 3 at 0x10 is not ET_REL (1)");
}

TEST(ValidateHeader, InvalidType) {
  Image img = StandardObject();
  img.edit_ehdr([](Ehdr& e) { e.type = 0; });
  ExpectError(img, Errc::kMalformed, "ELF header: e_type 0 at 0x10 is not ET_REL (1)");
}

TEST(ValidateHeader, UnknownMachine) {
  Image img = StandardObject();
  img.edit_ehdr([](Ehdr& e) { e.machine = 40; });  // EM_ARM
  ExpectError(img, Errc::kUnsupported,
              "ELF header: e_machine 40 at 0x12 is not a supported machine");
}

TEST(ValidateHeader, NoMachineLookupAtAll) {
  TestAllocator alloc;
  Image img = StandardObject();
  InputCopy in(img.bytes);
  auto r = validate(in.view(), nullptr, alloc);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), Errc::kUnsupported);
  EXPECT_STREQ(r.error().message(), "ELF header: e_machine 62 at 0x12 is not a supported machine");
}

TEST(ValidateHeader, OtherKnownMachineIsAccepted) {
  ElfBuilder b(EM_AARCH64);
  b.add_text();
  ExpectValidObject(b.build());
}

TEST(ValidateHeader, Version) {
  Image img = StandardObject();
  img.edit_ehdr([](Ehdr& e) { e.version = 2; });
  ExpectError(img, Errc::kMalformed, "ELF header: e_version 2 at 0x14 is not EV_CURRENT (1)");
}

TEST(ValidateHeader, HeaderSize) {
  Image img = StandardObject();
  img.edit_ehdr([](Ehdr& e) { e.ehsize = 0x38; });
  ExpectError(img, Errc::kMalformed, "ELF header: e_ehsize 0x38 at 0x34 is not 0x40");
}

TEST(ValidateHeader, ProgramHeaders) {
  Image img = StandardObject();
  img.edit_ehdr([](Ehdr& e) { e.phnum = 1; });
  ExpectError(img, Errc::kMalformed,
              "ELF header: e_phnum 1 at 0x38 is not 0: a relocatable object has no program "
              "headers");
}

// --- class 2: section header table -----------------------------------------

TEST(ValidateSectionTable, EntrySize) {
  Image img = StandardObject();
  img.edit_ehdr([](Ehdr& e) { e.shentsize = 0x38; });
  ExpectError(img, Errc::kMalformed, "ELF header: e_shentsize 0x38 at 0x3a is not 0x40");
}

TEST(ValidateSectionTable, NoTable) {
  Image img = StandardObject();
  img.edit_ehdr([](Ehdr& e) { e.shoff = 0; });
  ExpectError(img, Errc::kMalformed, "ELF header: e_shoff at 0x28 is 0: no section header table");
}

TEST(ValidateSectionTable, OffsetPastEndOfFile) {
  Image img = StandardObject();
  img.edit_ehdr([](Ehdr& e) { e.shoff = 0x3c1; });
  ExpectError(img, Errc::kMalformed,
              "section table: offset 0x3c1 is past the end of file (size 0x3c0)");
}

TEST(ValidateSectionTable, OffsetNearUint64Max) {
  Image img = StandardObject();
  img.edit_ehdr([](Ehdr& e) { e.shoff = UINT64_MAX - 0x10; });
  ExpectError(img, Errc::kMalformed,
              "section table: offset 0xffffffffffffffef is past the end of file (size 0x3c0)");
}

TEST(ValidateSectionTable, TablePassesEndOfFile) {
  Image img = StandardObject();
  img.edit_ehdr([](Ehdr& e) { e.shoff += 8; });
  ExpectError(img, Errc::kMalformed,
              "section table: offset 0x1c8 + 8 x 0x40 bytes passes end of file (size 0x3c0)");
}

TEST(ValidateSectionTable, TooManySections) {
  Image img = StandardObject();
  img.edit_ehdr([](Ehdr& e) { e.shnum = 0xfeff; });
  ExpectError(img, Errc::kMalformed,
              "section table: offset 0x1c0 + 65279 x 0x40 bytes passes end of file (size 0x3c0)");
}

TEST(ValidateSectionTable, ExtendedCountOverflowsOffsetArithmetic) {
  // shoff + count * 64 wraps around 2^64 if computed naively.
  Image img = StandardObject();
  img.edit_ehdr([](Ehdr& e) { e.shnum = 0; });
  img.edit_shdr(0, [](Shdr& s) { s.size = 0x0400000000000001; });
  ExpectError(img, Errc::kMalformed,
              "section table: offset 0x1c0 + 288230376151711745 x 0x40 bytes passes end of file "
              "(size 0x3c0)");
}

TEST(ValidateSectionTable, ZeroSections) {
  Image img = StandardObject();
  img.edit_ehdr([](Ehdr& e) { e.shnum = 0; });
  ExpectError(img, Errc::kMalformed,
              "section table: zero sections (e_shnum is 0 and section 0 sh_size is 0)");
}

TEST(ValidateSectionTable, ExtendedNumberingIsAccepted) {
  ElfBuilder b = StandardBuilder();
  b.extended_numbering(true);
  Image img = b.build();
  EXPECT_EQ(img.ehdr().shnum, 0);
  EXPECT_EQ(img.ehdr().shstrndx, SHN_XINDEX);
  EXPECT_EQ(img.shdr(0).size, Std::kSections);
  EXPECT_EQ(img.shdr(0).link, Std::kShstrtab);

  TestAllocator alloc;
  InputCopy in(img.bytes);
  auto r = validate(in.view(), FakeMachines, alloc);
  ASSERT_TRUE(r.ok()) << r.error().message();
  const ValidatedObject& obj = r.value();
  ASSERT_EQ(obj.sections.size(), Std::kSections);
  EXPECT_STREQ(obj.sections[Std::kText].name, ".text");
  EXPECT_EQ(obj.sections[0].size, 0u);  // the count is not a size
  EXPECT_EQ(obj.sections[0].link, 0u);
}

TEST(ValidateSectionTable, ExtendedCountTooSmallForNameTable) {
  ElfBuilder b = StandardBuilder();
  b.extended_numbering(true);
  Image img = b.build();
  img.edit_shdr(0, [](Shdr& s) { s.size = 2; });
  ExpectError(img, Errc::kMalformed,
              "section 0: sh_link (e_shstrndx is SHN_XINDEX) is 7, past the section table (2 "
              "sections)");
}

TEST(ValidateSectionTable, NullSectionType) {
  Image img = StandardObject();
  img.edit_shdr(0, [](Shdr& s) { s.type = SHT_PROGBITS; });
  ExpectError(img, Errc::kMalformed,
              "section 0: sh_type is 0x1, not 0 (section 0 is the null section)");
}

TEST(ValidateSectionTable, NullSectionFlags) {
  Image img = StandardObject();
  img.edit_shdr(0, [](Shdr& s) { s.flags = SHF_ALLOC; });
  ExpectError(img, Errc::kMalformed,
              "section 0: sh_flags is 0x2, not 0 (section 0 is the null section)");
}

TEST(ValidateSectionTable, NullSectionOffset) {
  Image img = StandardObject();
  img.edit_shdr(0, [](Shdr& s) { s.offset = 0x40; });
  ExpectError(img, Errc::kMalformed,
              "section 0: sh_offset is 0x40, not 0 (section 0 is the null section)");
}

TEST(ValidateSectionTable, NullSectionSizeWithoutExtendedNumbering) {
  Image img = StandardObject();
  img.edit_shdr(0, [](Shdr& s) { s.size = 8; });
  ExpectError(img, Errc::kMalformed, "section 0: sh_size is 0x8 but e_shnum (8) is not 0");
}

TEST(ValidateSectionTable, NullSectionLinkWithoutXindex) {
  Image img = StandardObject();
  img.edit_shdr(0, [](Shdr& s) { s.link = 7; });
  ExpectError(img, Errc::kMalformed, "section 0: sh_link is 7 but e_shstrndx is not SHN_XINDEX");
}

// --- class 3: section-name string table ------------------------------------

TEST(ValidateNames, NameTableIndexZero) {
  Image img = StandardObject();
  img.edit_ehdr([](Ehdr& e) { e.shstrndx = 0; });
  ExpectError(img, Errc::kMalformed, "ELF header: e_shstrndx at 0x3e is 0: no section name table");
}

TEST(ValidateNames, NameTableIndexOutOfRange) {
  Image img = StandardObject();
  img.edit_ehdr([](Ehdr& e) { e.shstrndx = 8; });
  ExpectError(img, Errc::kMalformed,
              "ELF header: e_shstrndx at 0x3e is 8, past the section table (8 sections)");
}

TEST(ValidateNames, NameTableIndexReserved) {
  Image img = StandardObject();
  img.edit_ehdr([](Ehdr& e) { e.shstrndx = 0xff05; });
  ExpectError(img, Errc::kMalformed,
              "ELF header: e_shstrndx at 0x3e is 0xff05, a reserved index other than SHN_XINDEX");
}

TEST(ValidateNames, XindexWithoutLink) {
  Image img = StandardObject();
  img.edit_ehdr([](Ehdr& e) { e.shstrndx = SHN_XINDEX; });
  ExpectError(img, Errc::kMalformed,
              "section 0: sh_link (e_shstrndx is SHN_XINDEX) is 0: no section name table");
}

TEST(ValidateNames, XindexLinkOutOfRange) {
  Image img = StandardObject();
  img.edit_ehdr([](Ehdr& e) { e.shstrndx = SHN_XINDEX; });
  img.edit_shdr(0, [](Shdr& s) { s.link = 100; });
  ExpectError(img, Errc::kMalformed,
              "section 0: sh_link (e_shstrndx is SHN_XINDEX) is 100, past the section table (8 "
              "sections)");
}

TEST(ValidateNames, XindexWithSmallCountIsAccepted) {
  Image img = StandardObject();
  img.edit_ehdr([](Ehdr& e) { e.shstrndx = SHN_XINDEX; });
  img.edit_shdr(0, [](Shdr& s) { s.link = Std::kShstrtab; });
  ExpectValidObject(img);
}

TEST(ValidateNames, NameTableNotAStringTable) {
  Image img = StandardObject();
  img.edit_ehdr([](Ehdr& e) { e.shstrndx = Std::kSymtab; });
  ExpectError(img, Errc::kMalformed,
              "section 5: the section name table has type SHT_SYMTAB, not SHT_STRTAB");
}

TEST(ValidateNames, NameTablePassesEndOfFile) {
  Image img = StandardObject();
  img.edit_shdr(Std::kShstrtab, [](Shdr& s) { s.size = 0x1000; });
  ExpectError(img, Errc::kMalformed,
              "section 7: offset 0x183 + size 0x1000 passes end of file (size 0x3c0)");
}

TEST(ValidateNames, NameTableEmpty) {
  Image img = StandardObject();
  img.edit_shdr(Std::kShstrtab, [](Shdr& s) { s.size = 0; });
  ExpectError(img, Errc::kMalformed, "section 7: string table is empty");
}

TEST(ValidateNames, NameTableNotStartingWithNul) {
  Image img = StandardObject();
  img.patch<uint8_t>(img.shdr(Std::kShstrtab).offset, 'x');
  ExpectError(img, Errc::kMalformed, "section 7: string table does not start with a NUL byte");
}

TEST(ValidateNames, NameTableNotNulTerminated) {
  Image img = StandardObject();
  Shdr s = img.shdr(Std::kShstrtab);
  img.patch<uint8_t>(s.offset + s.size - 1, 'x');
  ExpectError(img, Errc::kMalformed,
              "section 7: string table does not end with a NUL byte (last byte at 0x1b9)");
}

TEST(ValidateNames, NameOffsetPastTable) {
  Image img = StandardObject();
  img.edit_shdr(Std::kData, [](Shdr& s) { s.name = 0x37; });
  ExpectError(img, Errc::kMalformed,
              "section 2: name offset 0x37 passes end of the section name table (section 7, size "
              "0x37)");
}

TEST(ValidateNames, LastNameOffsetIsAccepted) {
  // Offset size-1 is the terminating NUL: an empty name, but inside the table.
  Image img = StandardObject();
  img.edit_shdr(Std::kData, [](Shdr& s) { s.name = 0x36; });
  ExpectValidObject(img);
}

TEST(ValidateNames, NamesAreResolved) {
  TestAllocator alloc;
  Image img = StandardObject();
  InputCopy in(img.bytes);
  auto r = validate(in.view(), FakeMachines, alloc);
  ASSERT_TRUE(r.ok()) << r.error().message();
  const char* expected[] = {"",           ".text",   ".data",   ".bss",
                            ".rela.text", ".symtab", ".strtab", ".shstrtab"};
  ASSERT_EQ(r.value().sections.size(), 8u);
  for (uint32_t i = 0; i < 8; ++i)
    EXPECT_STREQ(r.value().sections[i].name, expected[i]);
}

}  // namespace
}  // namespace mk::test
