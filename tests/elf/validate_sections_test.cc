// Bad-input classes 4 (section contents, sizes, alignment) and 9 (layout:
// overlaps, W+X, init/fini arrays, metadata sections), plus section types.
#include "elf/validate_test_util.h"

namespace mk::test {
namespace {

using namespace mk::elf;

// Runs validate() and hands the result to `check`.
template <class F>
void WithValid(const Image& img, F check) {
  TestAllocator alloc;
  InputCopy in(img.bytes);
  auto r = validate(in.view(), FakeMachines, alloc);
  ASSERT_TRUE(r.ok()) << r.error().message();
  check(r.value());
}

// --- class 4: contents, sizes, alignment -----------------------------------

TEST(ValidateSections, OffsetPlusSizePassesEndOfFile) {
  Image img = StandardObject();
  img.edit_shdr(Std::kData, [](Shdr& s) { s.size = 0x400; });
  ExpectError(img, Errc::kMalformed,
              "section 2 (.data): offset 0x60 + size 0x400 passes end of file (size 0x3c0)");
}

TEST(ValidateSections, OffsetPlusSizeOverflows) {
  Image img = StandardObject();
  img.edit_shdr(Std::kData, [](Shdr& s) { s.offset = 0xfffffffffffffff0; });
  ExpectError(img, Errc::kMalformed,
              "section 2 (.data): offset 0xfffffffffffffff0 + size 0x10 passes end of file (size "
              "0x3c0)");
}

TEST(ValidateSections, ContentsEndingAtEndOfFile) {
  // Boundary pair: the last byte of the file is in range, one more is not.
  Image img = StandardObject();
  uint64_t off = img.append(std::vector<uint8_t>(16, 0), 8);
  img.edit_shdr(Std::kData, [&](Shdr& s) { s.offset = off; });
  ExpectValidObject(img);
  img.edit_shdr(Std::kData, [](Shdr& s) { s.size = 17; });
  ExpectError(img, Errc::kMalformed,
              "section 2 (.data): offset 0x3c0 + size 0x11 passes end of file (size 0x3d0)");
}

TEST(ValidateSections, NobitsAllocationBomb) {
  ElfBuilder b;
  b.add_nobits(".bss", SHF_ALLOC | SHF_WRITE, uint64_t{1} << 32);
  ExpectError(b.build(), Errc::kUnsupported,
              "section 1 (.bss): size 0x100000000 is more than the 0x40000000-byte section limit");
}

TEST(ValidateSections, NobitsAtSectionLimit) {
  ElfBuilder b;
  b.add_nobits(".bss", SHF_ALLOC | SHF_WRITE, kMaxSectionSize);
  ExpectValidObject(b.build());
  ElfBuilder over;
  over.add_nobits(".bss", SHF_ALLOC | SHF_WRITE, kMaxSectionSize + 1);
  ExpectError(over.build(), Errc::kUnsupported,
              "section 1 (.bss): size 0x40000001 is more than the 0x40000000-byte section limit");
}

TEST(ValidateSections, NobitsOffsetIsNotChecked) {
  Image img = StandardObject();
  img.edit_shdr(Std::kBss, [](Shdr& s) { s.offset = UINT64_MAX; });
  WithValid(img, [](const ValidatedObject& obj) {
    EXPECT_TRUE(obj.sections[Std::kBss].data.empty());
    EXPECT_EQ(obj.sections[Std::kBss].size, 32u);
  });
}

TEST(ValidateSections, ImageSizeLimit) {
  ElfBuilder b;
  b.add_nobits(".bss.a", SHF_ALLOC | SHF_WRITE, kMaxSectionSize);
  b.add_nobits(".bss.b", SHF_ALLOC | SHF_WRITE, kMaxSectionSize);
  ExpectValidObject(b.build());  // exactly kMaxImageSize
  b.add_nobits(".bss.c", SHF_ALLOC | SHF_WRITE, 1);
  ExpectError(b.build(), Errc::kUnsupported,
              "image: allocated sections and common symbols total 0x80000001 bytes, more than the "
              "0x80000000-byte limit");
}

TEST(ValidateSections, UnallocatedSectionsDoNotCountTowardsTheImage) {
  ElfBuilder b;
  b.add_nobits(".bss.a", SHF_ALLOC | SHF_WRITE, kMaxSectionSize);
  b.add_nobits(".bss.b", SHF_ALLOC | SHF_WRITE, kMaxSectionSize);
  b.add_nobits(".unloaded", 0, kMaxSectionSize);
  ExpectValidObject(b.build());
}

TEST(ValidateSections, AlignmentZeroMeansOne) {
  ElfBuilder b;
  uint32_t t = b.add_section(".text", SHT_PROGBITS, SHF_ALLOC | SHF_EXECINSTR, {0x90}, 0);
  WithValid(b.build(), [&](const ValidatedObject& obj) { EXPECT_EQ(obj.sections[t].align, 1u); });
}

TEST(ValidateSections, AlignmentNotPowerOfTwo) {
  Image img = StandardObject();
  img.edit_shdr(Std::kText, [](Shdr& s) { s.addralign = 3; });
  ExpectError(img, Errc::kMalformed, "section 1 (.text): alignment 0x3 is not a power of two");
}

TEST(ValidateSections, AlignmentAbsurd) {
  Image img = StandardObject();
  img.edit_shdr(Std::kText, [](Shdr& s) { s.addralign = uint64_t{1} << 63; });
  ExpectError(img, Errc::kUnsupported,
              "section 1 (.text): alignment 0x8000000000000000 is more than the maximum 0x10000");
}

TEST(ValidateSections, AlignmentBoundaryPair) {
  Image img = StandardObject();
  img.edit_shdr(Std::kText, [](Shdr& s) { s.addralign = kMaxAlign; });
  WithValid(img, [](const ValidatedObject& obj) {
    EXPECT_EQ(obj.sections[Std::kText].align, kMaxAlign);
  });
  img.edit_shdr(Std::kText, [](Shdr& s) { s.addralign = kMaxAlign * 2; });
  ExpectError(img, Errc::kUnsupported,
              "section 1 (.text): alignment 0x20000 is more than the maximum 0x10000");
}

// --- section types and flags --------------------------------------------------

TEST(ValidateSections, UnknownTypeInAllocatedSection) {
  ElfBuilder b;
  b.add_section(".foo", 0x60000001, SHF_ALLOC, {1, 2, 3, 4});
  ExpectError(b.build(), Errc::kUnsupported,
              "section 1 (.foo): type 0x60000001 is not supported in an allocated section");
}

TEST(ValidateSections, DynamicSymbolTableInRelocatableObject) {
  ElfBuilder b;
  b.add_section(".dynsym", SHT_DYNSYM, 0, std::vector<uint8_t>(24, 0), 8, 0, 0, 24);
  ExpectError(b.build(), Errc::kUnsupported,
              "section 1 (.dynsym): type SHT_DYNSYM is not supported in a relocatable object");
}

TEST(ValidateSections, UnknownGenericType) {
  ElfBuilder b;
  b.add_section(".relr", 19, 0, std::vector<uint8_t>(8, 0), 8);
  ExpectError(b.build(), Errc::kUnsupported,
              "section 1 (.relr): type 0x13 is not supported in a relocatable object");
}

TEST(ValidateSections, AllocatedSymbolTable) {
  Image img = StandardObject();
  img.edit_shdr(Std::kSymtab, [](Shdr& s) { s.flags |= SHF_ALLOC; });
  ExpectError(img, Errc::kUnsupported,
              "section 5 (.symtab): type SHT_SYMTAB is not supported in an allocated section");
}

TEST(ValidateSections, AllocatedNullSection) {
  ElfBuilder b;
  b.add_section(".null", SHT_NULL, SHF_ALLOC);
  ExpectError(b.build(), Errc::kUnsupported,
              "section 1 (.null): type SHT_NULL is not supported in an allocated section");
}

TEST(ValidateSections, CompilerMetadataSectionsAreAccepted) {
  ElfBuilder b = StandardBuilder();
  b.add_section(".comment", SHT_PROGBITS, SHF_MERGE | SHF_STRINGS, {0, 'G', 'C', 'C', 0}, 1, 0, 0,
                1);
  b.add_section(".note.GNU-stack", SHT_PROGBITS, 0);
  b.add_section(".note.gnu.property", SHT_NOTE, SHF_ALLOC, std::vector<uint8_t>(32, 0), 8);
  b.add_section(".llvm_addrsig", SHT_LLVM_ADDRSIG, SHF_EXCLUDE, {1, 2}, 1);
  b.add_section(".gnu.attributes", SHT_GNU_ATTRIBUTES, 0, {'A', 0}, 1);
  b.add_section(".debug_info", SHT_PROGBITS, SHF_COMPRESSED, std::vector<uint8_t>(24, 0), 8);
  b.add_section(".eh_frame", SHT_X86_64_UNWIND, SHF_ALLOC, std::vector<uint8_t>(16, 0), 8);
  b.add_section(".unloaded_null", SHT_NULL, 0);
  ExpectValidObject(b.build());
}

TEST(ValidateSections, UnwindTypeIsX86_64Only) {
  ElfBuilder b(EM_AARCH64);
  b.add_section(".eh_frame", SHT_X86_64_UNWIND, SHF_ALLOC, std::vector<uint8_t>(16, 0), 8);
  ExpectError(b.build(), Errc::kUnsupported,
              "section 1 (.eh_frame): type 0x70000001 is not supported in an allocated section");
}

TEST(ValidateSections, ThreadLocalStorage) {
  ElfBuilder b;
  b.add_section(".tdata", SHT_PROGBITS, SHF_ALLOC | SHF_WRITE | SHF_TLS, {0, 0, 0, 0}, 4);
  ExpectError(b.build(), Errc::kUnsupported,
              "section 1 (.tdata): thread-local storage (SHF_TLS) is not supported");
}

TEST(ValidateSections, CompressedAndAllocated) {
  Image img = StandardObject();
  img.edit_shdr(Std::kData, [](Shdr& s) { s.flags |= SHF_COMPRESSED; });
  ExpectError(img, Errc::kMalformed,
              "section 2 (.data): compressed (SHF_COMPRESSED) and allocated (SHF_ALLOC)");
}

TEST(ValidateSections, LinkOrderNeedsASection) {
  ElfBuilder b;
  uint32_t text = b.add_text();
  uint32_t ss = b.add_section(".stack_sizes", SHT_PROGBITS, SHF_LINK_ORDER, {0}, 1, text);
  ExpectValidObject(b.build());
  Image img = b.build();
  img.edit_shdr(ss, [](Shdr& s) { s.link = 0; });
  ExpectError(img, Errc::kMalformed,
              "section 2 (.stack_sizes): SHF_LINK_ORDER but sh_link 0 is not a section (6 "
              "sections)");
  img.edit_shdr(ss, [](Shdr& s) { s.link = 6; });
  ExpectError(img, Errc::kMalformed,
              "section 2 (.stack_sizes): SHF_LINK_ORDER but sh_link 6 is not a section (6 "
              "sections)");
}

// --- class 9: layout ------------------------------------------------------

TEST(ValidateLayout, WritableAndExecutable) {
  Image img = StandardObject();
  img.edit_shdr(Std::kText, [](Shdr& s) { s.flags |= SHF_WRITE; });
  ExpectError(img, Errc::kUnsupported,
              "section 1 (.text): both writable and executable (SHF_WRITE|SHF_EXECINSTR); modkit "
              "never maps a page both");
}

TEST(ValidateLayout, SectionOverlapsAnother) {
  Image img = StandardObject();
  img.edit_shdr(Std::kData, [](Shdr& s) { s.offset = 0x50; });
  ExpectError(img, Errc::kMalformed,
              "section 2 (.data): file range [0x50, 0x60) overlaps section 1 (.text) [0x40, 0x60)");
}

TEST(ValidateLayout, SameStartNamesTheHigherIndex) {
  Image img = StandardObject();
  img.edit_shdr(Std::kData, [](Shdr& s) { s.offset = 0x40; });
  ExpectError(img, Errc::kMalformed,
              "section 2 (.data): file range [0x40, 0x50) overlaps section 1 (.text) [0x40, 0x60)");
}

TEST(ValidateLayout, LowerIndexLaterInFile) {
  Image img = StandardObject();
  img.edit_shdr(Std::kText, [](Shdr& s) { s.offset = 0x68; });
  ExpectError(img, Errc::kMalformed,
              "section 2 (.data): file range [0x60, 0x70) overlaps section 1 (.text) [0x68, 0x88)");
}

TEST(ValidateLayout, SectionContainsAnother) {
  Image img = StandardObject();
  img.edit_shdr(Std::kText, [](Shdr& s) { s.size = 0x100; });  // [0x40, 0x140) covers 2, 4, 5...
  ExpectError(
      img, Errc::kMalformed,
      "section 2 (.data): file range [0x60, 0x70) overlaps section 1 (.text) [0x40, 0x140)");
}

TEST(ValidateLayout, SectionOverlapsElfHeader) {
  Image img = StandardObject();
  img.edit_shdr(Std::kData, [](Shdr& s) { s.offset = 0x20; });
  ExpectError(img, Errc::kMalformed,
              "section 2 (.data): file range [0x20, 0x30) overlaps the ELF header [0x0, 0x40)");
}

TEST(ValidateLayout, SectionOverlapsSectionTable) {
  Image img = StandardObject();
  img.edit_shdr(Std::kData, [](Shdr& s) { s.offset = 0x3b0; });
  ExpectError(img, Errc::kMalformed,
              "section 2 (.data): file range [0x3b0, 0x3c0) overlaps the section header table "
              "[0x1c0, 0x3c0)");
}

TEST(ValidateLayout, EmptySectionsMayShareAnOffset) {
  ElfBuilder b = StandardBuilder();
  uint32_t a = b.add_section(".note.GNU-stack", SHT_PROGBITS, 0);
  uint32_t c = b.add_section(".text.unused", SHT_PROGBITS, SHF_ALLOC | SHF_EXECINSTR);
  Image img = b.build();
  img.edit_shdr(a, [](Shdr& s) { s.offset = 0x40; });  // inside .text, size 0
  img.edit_shdr(c, [](Shdr& s) { s.offset = 0x40; });
  ExpectValidObject(img);
}

TEST(ValidateLayout, InitArrayEntrySize) {
  ElfBuilder b;
  b.add_section(".init_array", SHT_INIT_ARRAY, SHF_ALLOC | SHF_WRITE, std::vector<uint8_t>(8, 0), 8,
                0, 0, 4);
  ExpectError(b.build(), Errc::kMalformed, "section 1 (.init_array): entry size 0x4 is not 8");
}

TEST(ValidateLayout, FiniArraySize) {
  ElfBuilder b;
  b.add_section(".fini_array", SHT_FINI_ARRAY, SHF_ALLOC | SHF_WRITE, std::vector<uint8_t>(12, 0),
                8, 0, 0, 8);
  ExpectError(b.build(), Errc::kMalformed,
              "section 1 (.fini_array): size 0xc is not a multiple of 8");
}

TEST(ValidateLayout, PreinitArrayEntrySize) {
  ElfBuilder b;
  b.add_section(".preinit_array", SHT_PREINIT_ARRAY, SHF_ALLOC | SHF_WRITE,
                std::vector<uint8_t>(16, 0), 8, 0, 0, 16);
  ExpectError(b.build(), Errc::kMalformed, "section 1 (.preinit_array): entry size 0x10 is not 8");
}

TEST(ValidateLayout, ArraysWithEntrySize8Or0AreAccepted) {
  ElfBuilder b;
  b.add_section(".init_array", SHT_INIT_ARRAY, SHF_ALLOC | SHF_WRITE, std::vector<uint8_t>(16, 0),
                8, 0, 0, 8);  // as gas writes it
  b.add_section(".fini_array", SHT_FINI_ARRAY, SHF_ALLOC | SHF_WRITE, std::vector<uint8_t>(8, 0), 8,
                0, 0, 0);  // as clang writes it
  ExpectValidObject(b.build());
}

TEST(ValidateLayout, OneMetadataSection) {
  ElfBuilder b = StandardBuilder();
  uint32_t mi =
      b.add_section("modkit_modinfo", SHT_PROGBITS, SHF_ALLOC, std::vector<uint8_t>(16, 0), 8);
  WithValid(b.build(), [&](const ValidatedObject& obj) { EXPECT_EQ(obj.modinfo, mi); });
  WithValid(StandardObject(), [](const ValidatedObject& obj) { EXPECT_EQ(obj.modinfo, 0u); });
}

TEST(ValidateLayout, TwoMetadataSections) {
  ElfBuilder b;
  b.add_section("modkit_modinfo", SHT_PROGBITS, SHF_ALLOC, std::vector<uint8_t>(16, 0), 8);
  b.add_section("modkit_modinfo", SHT_PROGBITS, 0, std::vector<uint8_t>(16, 0), 8);
  ExpectError(b.build(), Errc::kMalformed,
              "section 2 (modkit_modinfo): a second module metadata section (the first is "
              "section 1 (modkit_modinfo))");
}

// --- string tables other than the section-name table ---------------------

TEST(ValidateStringTables, SymbolStringTableEmpty) {
  Image img = StandardObject();
  img.edit_shdr(Std::kStrtab, [](Shdr& s) { s.size = 0; });
  ExpectError(img, Errc::kMalformed, "section 6 (.strtab): string table is empty");
}

TEST(ValidateStringTables, SymbolStringTableNotNulTerminated) {
  Image img = StandardObject();
  img.edit_shdr(Std::kStrtab, [](Shdr& s) { s.size -= 1; });
  ExpectError(img, Errc::kMalformed,
              "section 6 (.strtab): string table does not end with a NUL byte (last byte at "
              "0x181)");
}

TEST(ValidateStringTables, SymbolStringTableNotStartingWithNul) {
  Image img = StandardObject();
  img.edit_shdr(Std::kStrtab, [](Shdr& s) {
    s.offset += 1;
    s.size -= 1;
  });
  ExpectError(img, Errc::kMalformed,
              "section 6 (.strtab): string table does not start with a NUL byte");
}

}  // namespace
}  // namespace mk::test
