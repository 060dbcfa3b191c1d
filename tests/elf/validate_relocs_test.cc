// Bad-input classes 7 (relocation sections and entries) and 8 (as far as the
// validator goes: TLS relocations; value ranges are the arch layer's), section
// groups, allocation failure, and speed on large inputs.
#include <chrono>

#include "elf/validate_test_util.h"
#include "util/host_code.h"

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

void SetEntry(Image& img, uint64_t k, uint64_t offset, uint32_t type, uint32_t sym) {
  img.edit_rela(Std::kRelaText, k, [&](Rela& r) {
    r.offset = offset;
    r.info = rel_info(sym, type);
  });
}

TEST(ValidateRelocs, StandardRelocationsAreDecoded) {
  WithValid(StandardObject(), [](const ValidatedObject& obj) {
    ASSERT_EQ(obj.relocs.size(), 1u);
    const RelocSection& rs = obj.relocs[0];
    EXPECT_EQ(rs.index, Std::kRelaText);
    EXPECT_EQ(rs.target, Std::kText);
    EXPECT_TRUE(rs.rela);
    ASSERT_EQ(rs.count, 3u);
    Relocation r = obj.relocation(rs, 0);
    EXPECT_EQ(r.offset, 4u);
    EXPECT_EQ(r.type, R_PLT32);
    EXPECT_EQ(r.sym, Std::kPrintk);
    EXPECT_EQ(r.addend, -4);
    r = obj.relocation(rs, 2);
    EXPECT_EQ(r.offset, 24u);
    EXPECT_EQ(r.type, R_64);
    EXPECT_EQ(r.sym, Std::kHelper);
    EXPECT_EQ(r.addend, 0);
  });
}

// --- the relocation section ---------------------------------------------------

TEST(ValidateRelocSection, TargetPastTable) {
  Image img = StandardObject();
  img.edit_shdr(Std::kRelaText, [](Shdr& s) { s.info = 8; });
  ExpectError(img, Errc::kMalformed,
              "section 4 (.rela.text): sh_info (target) 8 is past the section table (8 sections)");
}

TEST(ValidateRelocSection, TargetNullSection) {
  Image img = StandardObject();
  img.edit_shdr(Std::kRelaText, [](Shdr& s) { s.info = 0; });
  ExpectError(img, Errc::kMalformed,
              "section 4 (.rela.text): target section 0 has type SHT_NULL, which cannot be "
              "relocated");
}

TEST(ValidateRelocSection, TargetSymbolTable) {
  Image img = StandardObject();
  img.edit_shdr(Std::kRelaText, [](Shdr& s) { s.info = Std::kSymtab; });
  ExpectError(img, Errc::kMalformed,
              "section 4 (.rela.text): target section 5 (.symtab) has type SHT_SYMTAB, which "
              "cannot be relocated");
}

TEST(ValidateRelocSection, TargetStringTable) {
  Image img = StandardObject();
  img.edit_shdr(Std::kRelaText, [](Shdr& s) { s.info = Std::kStrtab; });
  ExpectError(img, Errc::kMalformed,
              "section 4 (.rela.text): target section 6 (.strtab) has type SHT_STRTAB, which "
              "cannot be relocated");
}

TEST(ValidateRelocSection, TargetNobits) {
  Image img = StandardObject();
  img.edit_shdr(Std::kRelaText, [](Shdr& s) { s.info = Std::kBss; });
  ExpectError(img, Errc::kMalformed,
              "section 4 (.rela.text): target section 3 (.bss) has type SHT_NOBITS, which cannot "
              "be relocated");
}

TEST(ValidateRelocSection, TargetRelocationSection) {
  Image img = StandardObject();
  img.edit_shdr(Std::kRelaText, [](Shdr& s) { s.info = Std::kRelaText; });
  ExpectError(img, Errc::kMalformed,
              "section 4 (.rela.text): target section 4 (.rela.text) has type SHT_RELA, which "
              "cannot be relocated");
}

TEST(ValidateRelocSection, SymbolTableLink) {
  Image img = StandardObject();
  img.edit_shdr(Std::kRelaText, [](Shdr& s) { s.link = Std::kStrtab; });
  ExpectError(img, Errc::kMalformed,
              "section 4 (.rela.text): sh_link 6 is not the symbol table (section 5 (.symtab))");
  img.edit_shdr(Std::kRelaText, [](Shdr& s) { s.link = 0; });
  ExpectError(img, Errc::kMalformed,
              "section 4 (.rela.text): sh_link 0 is not the symbol table (section 5 (.symtab))");
}

TEST(ValidateRelocSection, RelaEntrySize) {
  Image img = StandardObject();
  img.edit_shdr(Std::kRelaText, [](Shdr& s) { s.entsize = 16; });
  ExpectError(img, Errc::kMalformed, "section 4 (.rela.text): entry size 0x10 is not 0x18");
}

TEST(ValidateRelocSection, RelEntrySize) {
  ElfBuilder b = StandardBuilder();
  uint32_t rel = b.add_rel_section(Std::kData);
  Image img = b.build();
  img.edit_shdr(rel, [](Shdr& s) { s.entsize = 24; });
  ExpectError(img, Errc::kMalformed, "section 5 (.rel.data): entry size 0x18 is not 0x10");
}

TEST(ValidateRelocSection, SizeNotMultipleOfEntrySize) {
  Image img = StandardObject();
  img.edit_shdr(Std::kRelaText, [](Shdr& s) { s.size -= 1; });
  ExpectError(img, Errc::kMalformed,
              "section 4 (.rela.text): size 0x47 is not a multiple of the entry size 0x18");
}

TEST(ValidateRelocSection, EmptyAndRepeatedSectionsAreAccepted) {
  ElfBuilder b = StandardBuilder();
  b.add_rela_section(Std::kData);  // no entries
  uint32_t more = b.add_rela_section(Std::kText);
  b.add_rela(more, 0, R_32S, Std::kCounter, 8);
  WithValid(b.build(), [](const ValidatedObject& obj) {
    ASSERT_EQ(obj.relocs.size(), 3u);
    EXPECT_EQ(obj.relocs[1].count, 0u);
    EXPECT_EQ(obj.relocs[2].target, Std::kText);
  });
}

// --- entries ----------------------------------------------------------------------

TEST(ValidateRelocs, SymbolIndexPastTable) {
  Image img = StandardObject();
  SetEntry(img, 1, 20, R_PC32, Std::kSymbols);
  ExpectError(img, Errc::kMalformed,
              "relocation 1 of section 4 (.rela.text): symbol index 7 is past the symbol table (7 "
              "symbols)");
  SetEntry(img, 1, 20, R_PC32, Std::kSymbols - 1);  // the last symbol: fine
  ExpectValidObject(img);
}

TEST(ValidateRelocs, SymbolIndexHuge) {
  Image img = StandardObject();
  SetEntry(img, 1, 20, R_PC32, 0xffffffff);
  ExpectError(img, Errc::kMalformed,
              "relocation 1 of section 4 (.rela.text): symbol index 4294967295 is past the symbol "
              "table (7 symbols)");
}

TEST(ValidateRelocs, Width4BoundaryPair) {
  Image img = StandardObject();
  SetEntry(img, 1, 28, R_PC32, Std::kCounter);  // bytes 28..31 of 32
  ExpectValidObject(img);
  SetEntry(img, 1, 29, R_PC32, Std::kCounter);
  ExpectError(img, Errc::kMalformed,
              "relocation 1 of section 4 (.rela.text): R_X86_64_PC32 at offset 0x1d + width 4 "
              "passes end of section 1 (.text) (size 0x20)");
}

TEST(ValidateRelocs, Width8BoundaryPair) {
  Image img = StandardObject();
  SetEntry(img, 2, 25, R_64, Std::kHelper);
  ExpectError(img, Errc::kMalformed,
              "relocation 2 of section 4 (.rela.text): R_X86_64_64 at offset 0x19 + width 8 "
              "passes end of section 1 (.text) (size 0x20)");
}

TEST(ValidateRelocs, Width0BoundaryPair) {
  Image img = StandardObject();
  SetEntry(img, 0, 32, R_NONE, 0);
  ExpectValidObject(img);
  SetEntry(img, 0, 33, R_NONE, 0);
  ExpectError(img, Errc::kMalformed,
              "relocation 0 of section 4 (.rela.text): R_X86_64_NONE at offset 0x21 + width 0 "
              "passes end of section 1 (.text) (size 0x20)");
}

TEST(ValidateRelocs, OffsetThatWouldWrap) {
  Image img = StandardObject();
  SetEntry(img, 1, UINT64_MAX - 1, R_PC32, Std::kCounter);
  ExpectError(img, Errc::kMalformed,
              "relocation 1 of section 4 (.rela.text): R_X86_64_PC32 at offset 0xfffffffffffffffe "
              "+ width 4 passes end of section 1 (.text) (size 0x20)");
}

// The fast pass learns each type's width the first time it meets the type
// in a section; later entries of the same type are still range-checked
// each, and the first that breaks a rule is the one reported.
TEST(ValidateRelocs, LaterEntriesOfAKnownTypeAreStillChecked) {
  ElfBuilder b;
  uint32_t text = b.add_text(".text", 64);
  uint32_t rela = b.add_rela_section(text);
  uint32_t f = b.add_symbol("f", SHN_UNDEF);
  for (uint64_t k = 0; k < 8; ++k)
    b.add_rela(rela, 4 * k, R_PC32, f, -4);
  b.add_rela(rela, 60, R_PC32, f, -4);  // the last 4 bytes: fine
  ExpectValidObject(b.build());
  b.add_rela(rela, 61, R_PC32, f, -4);
  b.add_rela(rela, 62, R_PC32, f, -4);
  ExpectError(b.build(), Errc::kMalformed,
              "relocation 9 of section 2 (.rela.text): R_X86_64_PC32 at offset 0x3d + width 4 "
              "passes end of section 1 (.text) (size 0x40)");
}

// A type first met in the middle of a section, after others were learned.
TEST(ValidateRelocs, ATypeFirstMetLaterIsChecked) {
  ElfBuilder b;
  uint32_t text = b.add_text(".text", 16);
  uint32_t rela = b.add_rela_section(text);
  uint32_t f = b.add_symbol("f", SHN_UNDEF);
  b.add_rela(rela, 0, R_PC32, f, -4);
  b.add_rela(rela, 4, R_PLT32, f, -4);
  b.add_rela(rela, 8, R_64, f, 0);  // bytes 8..15 of 16: fine
  ExpectValidObject(b.build());
  b.add_rela(rela, 12, R_PC64, f, 0);
  ExpectError(b.build(), Errc::kMalformed,
              "relocation 3 of section 2 (.rela.text): R_X86_64_PC64 at offset 0xc + width 8 "
              "passes end of section 1 (.text) (size 0x10)");
}

// A kind wider than its whole target fits at no offset.
TEST(ValidateRelocs, TypeWiderThanTheTarget) {
  ElfBuilder b;
  uint32_t data = b.add_data(".data", 4);
  uint32_t rela = b.add_rela_section(data);
  uint32_t f = b.add_symbol("f", SHN_UNDEF);
  b.add_rela(rela, 0, R_32, f, 0);
  ExpectValidObject(b.build());
  b.add_rela(rela, 0, R_64, f, 0);
  ExpectError(b.build(), Errc::kMalformed,
              "relocation 1 of section 2 (.rela.data): R_X86_64_64 at offset 0x0 + width 8 "
              "passes end of section 1 (.data) (size 0x4)");
}

TEST(ValidateRelocs, UnknownType) {
  Image img = StandardObject();
  SetEntry(img, 1, 20, 0x3f, Std::kCounter);
  ExpectError(img, Errc::kMalformed,
              "relocation 1 of section 4 (.rela.text): type 0x3f is unknown to x86_64");
  SetEntry(img, 1, 20, 0xffffffff, Std::kCounter);
  ExpectError(img, Errc::kMalformed,
              "relocation 1 of section 4 (.rela.text): type 0xffffffff is unknown to x86_64");
}

TEST(ValidateRelocs, UnknownTypeOnAnotherMachine) {
  ElfBuilder b(EM_AARCH64);
  uint32_t data = b.add_data(".data", 16);
  uint32_t rela = b.add_rela_section(data);
  uint32_t sym = b.add_symbol("x", SHN_UNDEF);
  b.add_rela(rela, 0, 257, sym, 0);  // R_AARCH64_ABS64
  ExpectValidObject(b.build());
  b.add_rela(rela, 8, 0x3f, sym, 0);
  ExpectError(b.build(), Errc::kMalformed,
              "relocation 1 of section 2 (.rela.data): type 0x3f is unknown to aarch64");
}

// Types whose low six bits agree share a slot of the validator's memo of
// verdicts: each is judged as itself. R_AARCH64_ABS64 (257) is accepted;
// type 513 (unknown), met after it in the same slot (and outside the fast
// pass's block of types, so it reaches the memo), is refused; and the other
// way round.
TEST(ValidateRelocs, TypesSharingAMemoSlotAreJudgedApart) {
  for (bool unknown_first : {false, true}) {
    SCOPED_TRACE(unknown_first ? "513 first" : "257 first");
    ElfBuilder b(EM_AARCH64);
    uint32_t data = b.add_data(".data", 16);
    uint32_t rela = b.add_rela_section(data);
    uint32_t sym = b.add_symbol("x", SHN_UNDEF);
    b.add_rela(rela, 0, unknown_first ? 513 : 257, sym, 0);
    b.add_rela(rela, 8, 257, sym, 0);
    if (!unknown_first) {
      ExpectValidObject(b.build());
      b.add_rela(rela, 0, 513, sym, 0);
    }
    ExpectError(b.build(), Errc::kMalformed,
                std::string("relocation ") + (unknown_first ? "0" : "2") +
                    " of section 2 (.rela.data): type 0x201 is unknown to aarch64");
  }
}

TEST(ValidateRelocs, ThreadLocalType) {
  Image img = StandardObject();
  SetEntry(img, 1, 20, R_TLSGD, Std::kCounter);
  ExpectError(img, Errc::kUnsupported,
              "relocation 1 of section 4 (.rela.text): type 0x13 (R_X86_64_TLSGD) is thread-local; "
              "TLS is not supported");
}

// An object with debug info: .debug_str (1), .debug_info (2) and its .rela (3),
// .text (4) and its .rela (5); symbols 1 "" (SECTION .debug_str), 2 main.
ElfBuilder DebugBuilder() {
  ElfBuilder b;
  uint32_t str = b.add_section(".debug_str", SHT_PROGBITS, SHF_MERGE | SHF_STRINGS,
                               {'m', 'a', 'i', 'n', 0}, 1, 0, 0, 1);
  uint32_t info = b.add_section(".debug_info", SHT_PROGBITS, 0, std::vector<uint8_t>(32, 0));
  uint32_t rinfo = b.add_rela_section(info);
  uint32_t text = b.add_text(".text", 16);
  b.add_rela_section(text);
  uint32_t s = b.add_symbol("", str, 0, 0, STB_LOCAL, STT_SECTION);
  uint32_t main = b.add_symbol("main", text, 0, 16, STB_GLOBAL, STT_FUNC);
  b.add_rela(rinfo, 8, R_32, s, 0);
  b.add_rela(rinfo, 16, R_64, main, 0);
  return b;
}

TEST(ValidateRelocs, UnloadedTargetMayReferToUnloadedSections) {
  WithValid(DebugBuilder().build(), [](const ValidatedObject& obj) {
    ASSERT_EQ(obj.relocs.size(), 2u);
    EXPECT_EQ(obj.relocs[0].target, 2u);
    EXPECT_FALSE(obj.sections[obj.relocs[0].target].alloc());
  });
}

TEST(ValidateRelocs, UnloadedTargetStillChecksEveryEntry) {
  ElfBuilder b = DebugBuilder();
  b.add_rela(3, 30, R_64, 1, 0);
  ExpectError(b.build(), Errc::kMalformed,
              "relocation 2 of section 3 (.rela.debug_info): R_X86_64_64 at offset 0x1e + width 8 "
              "passes end of section 2 (.debug_info) (size 0x20)");
  ElfBuilder t = DebugBuilder();
  t.add_rela(3, 0, R_TLSGD, 1, 0);
  ExpectError(t.build(), Errc::kUnsupported,
              "relocation 2 of section 3 (.rela.debug_info): type 0x13 (R_X86_64_TLSGD) is "
              "thread-local; TLS is not supported");
}

TEST(ValidateRelocs, LoadedTargetReferringToUnloadedSection) {
  ElfBuilder b = DebugBuilder();
  b.add_rela(5, 0, R_64, 1, 0);  // .text -> .debug_str
  ExpectError(b.build(), Errc::kMalformed,
              "relocation 0 of section 5 (.rela.text): symbol 1 is defined in section 1 "
              "(.debug_str), which is not loaded (no SHF_ALLOC)");
}

// The same through an extended section index (SHN_XINDEX), which the
// symbols phase resolves on its exact path.
TEST(ValidateRelocs, LoadedTargetReferringToUnloadedSectionThroughXindex) {
  ElfBuilder b = DebugBuilder();
  b.symtab_shndx(true);
  b.add_rela(5, 0, R_64, 1, 0);  // .text -> .debug_str
  Image img = b.build();
  img.edit_sym(1, [](Sym& s) { s.shndx = SHN_XINDEX; });
  img.patch<uint32_t>(img.shdr(img.symtab_shndx).offset + 4 * 1, 1);
  ExpectError(img, Errc::kMalformed,
              "relocation 0 of section 5 (.rela.text): symbol 1 is defined in section 1 "
              "(.debug_str), which is not loaded (no SHF_ALLOC)");
}

// A global in an unloaded section, after a local one: the fast passes of
// both symbol runs record it, and the relocation check stops at the first
// entry that names it, after entries it lets pass.
TEST(ValidateRelocs, LoadedTargetReferringToUnloadedGlobalAfterLoadedEntries) {
  ElfBuilder b = DebugBuilder();
  uint32_t dbg = b.add_symbol("dbg", 2, 4, 4, STB_GLOBAL, STT_OBJECT);  // in .debug_info
  b.add_rela(5, 0, R_PC32, 2, -4);
  b.add_rela(5, 4, R_PLT32, 2, -4);
  b.add_rela(5, 8, R_64, dbg, 0);
  b.add_rela(5, 0, R_64, 1, 0);
  ExpectError(b.build(), Errc::kMalformed,
              "relocation 2 of section 5 (.rela.text): symbol 3 (dbg) is defined in section 2 "
              "(.debug_info), which is not loaded (no SHF_ALLOC)");
}

// Without any symbol in an unloaded section, the fast pass leaves the check
// out; a symbol index past the table still stops it at its entry.
TEST(ValidateRelocs, NoUnloadedSymbolsStillChecksSymbolIndex) {
  ElfBuilder b = StandardBuilder();
  uint32_t ext = b.add_symbol("ext", SHN_UNDEF);
  uint32_t rela = b.add_rela_section(Std::kData);
  b.add_rela(rela, 0, R_64, ext, 0);
  b.add_rela(rela, 8, R_64, ext, 0);
  b.add_rela(rela, 0, R_64, ext + 1, 0);
  b.add_rela(rela, 8, R_64, ext, 0);
  Image img = b.build();
  const uint64_t nsyms = img.shdr(img.symtab).size / sizeof(Sym);
  ASSERT_EQ(nsyms, ext + 1u);
  ExpectError(img, Errc::kMalformed,
              "relocation 2 of section " + std::to_string(rela) + " (.rela.data): symbol index " +
                  std::to_string(ext + 1) + " is past the symbol table (" + std::to_string(nsyms) +
                  " symbols)");
}

// The fast pass takes entries four at a time and the rest one by one: a
// bad entry at any place, in sections of any length, RELA and REL, loaded
// or not, is the one reported; and an entry with a type first met late in
// a section is settled there, not reported.
TEST(ValidateRelocs, FirstBadEntryAtEveryPlace) {
  for (bool rela : {true, false}) {
    for (bool loaded : {true, false}) {
      for (uint32_t n = 1; n <= 10; ++n) {
        for (uint32_t bad = 0; bad <= n; ++bad) {  // bad == n: none
          ElfBuilder b;
          uint32_t text = loaded ? b.add_text(".text", 4 * n + 4)
                                 : b.add_section(".debug_info", SHT_PROGBITS, 0,
                                                 std::vector<uint8_t>(4 * n + 4));
          uint32_t rs = rela ? b.add_rela_section(text) : b.add_rel_section(text);
          uint32_t f = b.add_symbol("f", SHN_UNDEF);
          for (uint32_t k = 0; k < n; ++k) {
            const uint32_t sym = k == bad ? 99 : f;
            const uint32_t type = k == n - 1 ? R_32 : R_PC32;  // a new type last
            if (rela)
              b.add_rela(rs, 4 * k, type, sym, 0);
            else
              b.add_rel(rs, 4 * k, type, sym);
          }
          Image img = b.build();
          const std::string where = "section " + std::to_string(rs) + " (" +
                                    (rela ? ".rela" : ".rel") + (loaded ? ".text" : ".debug_info") +
                                    ")";
          SCOPED_TRACE(where + ", " + std::to_string(n) + " entries, bad " + std::to_string(bad));
          if (bad == n) {
            ExpectValidObject(img);
            continue;
          }
          const uint64_t nsyms = img.shdr(img.symtab).size / sizeof(Sym);
          ExpectError(img, Errc::kMalformed,
                      "relocation " + std::to_string(bad) + " of " + where +
                          ": symbol index 99 is past the symbol table (" + std::to_string(nsyms) +
                          " symbols)");
        }
      }
    }
  }
}

TEST(ValidateRelocs, LoadedTargetMayReferToAbsCommonUndefined) {
  ElfBuilder b = StandardBuilder();
  uint32_t abs = b.add_symbol("abs", SHN_ABS, 0x1234);
  uint32_t common = b.add_symbol("common", SHN_COMMON, 8, 64, STB_GLOBAL, STT_OBJECT);
  uint32_t weak = b.add_symbol("weak_undef", SHN_UNDEF, 0, 0, STB_WEAK);
  uint32_t bss = b.add_symbol("in_bss", Std::kBss, 0, 8, STB_GLOBAL, STT_OBJECT);
  uint32_t rela = b.add_rela_section(Std::kData);
  b.add_rela(rela, 0, R_64, abs, 0);
  b.add_rela(rela, 8, R_32, common, 0);
  b.add_rela(rela, 12, R_32S, weak, 0);
  b.add_rela(rela, 8, R_PC64, bss, 0);
  b.add_rela(rela, 0, R_NONE, 0, 0);
  ExpectValidObject(b.build());
}

// The record of uses holds, per symbol, the types that loaded sections'
// entries use with it, and nothing from sections that are not loaded.
TEST(ValidateRelocs, RelocUsesRecordLoadedEntriesOnly) {
  ElfBuilder b = DebugBuilder();  // .debug_info's entries: R_32 on 1, R_64 on 2 (main)
  uint32_t ext = b.add_symbol("ext", SHN_UNDEF);
  b.add_rela(5, 0, R_PLT32, ext, -4);
  b.add_rela(5, 4, R_PC32, ext, -4);
  b.add_rela(5, 8, R_64, 2, 0);
  b.add_rela(5, 0, R_PLT32, ext, -4);
  WithValid(b.build(), [&](const ValidatedObject& obj) {
    EXPECT_TRUE(obj.reloc_uses_complete);
    ASSERT_EQ(obj.reloc_uses.size(), obj.symbols.size());
    EXPECT_EQ(obj.reloc_uses[1], 0u);
    EXPECT_EQ(obj.reloc_uses[2], uint64_t{1} << R_64);
    EXPECT_EQ(obj.reloc_uses[ext], (uint64_t{1} << R_PLT32) | (uint64_t{1} << R_PC32));
  });
}

// A type first met on a symbol after many entries that gave it another:
// each bit is set once and none is lost.
TEST(ValidateRelocs, RelocUsesLateNewTypeOnBusySymbol) {
  ElfBuilder b;
  uint32_t text = b.add_text(".text", 4 * 200 + 8);
  uint32_t rela = b.add_rela_section(text);
  uint32_t f = b.add_symbol("f", SHN_UNDEF);
  uint32_t g = b.add_symbol("g", SHN_UNDEF);
  for (uint32_t i = 0; i < 200; ++i)
    b.add_rela(rela, 4 * i, R_PC32, f, -4);
  b.add_rela(rela, 800, R_PLT32, f, -4);
  b.add_rela(rela, 804, R_PC32, g, -4);
  b.add_rela(rela, 0, R_PC32, f, -4);
  WithValid(b.build(), [&](const ValidatedObject& obj) {
    EXPECT_TRUE(obj.reloc_uses_complete);
    EXPECT_EQ(obj.reloc_uses[f], (uint64_t{1} << R_PC32) | (uint64_t{1} << R_PLT32));
    EXPECT_EQ(obj.reloc_uses[g], uint64_t{1} << R_PC32);
  });
}

// Types of 64 and more (all of aarch64's) cannot be recorded: the record is
// then incomplete, but only when a loaded section uses them.
TEST(ValidateRelocs, RelocUsesIncompleteForLargeTypesInLoadedSections) {
  ElfBuilder b(EM_AARCH64);
  uint32_t info = b.add_section(".debug_info", SHT_PROGBITS, 0, std::vector<uint8_t>(16, 0));
  uint32_t rinfo = b.add_rela_section(info);
  uint32_t data = b.add_data(".data", 16);
  uint32_t sym = b.add_symbol("x", SHN_UNDEF);
  b.add_rela(rinfo, 0, 257, sym, 0);  // R_AARCH64_ABS64, not loaded
  WithValid(b.build(), [](const ValidatedObject& obj) { EXPECT_TRUE(obj.reloc_uses_complete); });
  uint32_t rdata = b.add_rela_section(data);
  b.add_rela(rdata, 0, 257, sym, 0);
  b.add_rela(rdata, 8, 257, sym, 0);
  WithValid(b.build(), [](const ValidatedObject& obj) { EXPECT_FALSE(obj.reloc_uses_complete); });
  b.add_rela(rdata, 9, 257, sym, 0);
  ExpectError(b.build(), Errc::kMalformed,
              "relocation 2 of section 4 (.rela.data): R_AARCH64_ABS64 at offset 0x9 + width 8 "
              "passes end of section 3 (.data) (size 0x10)");
}

TEST(ValidateRelocs, RelImplicitAddend) {
  ElfBuilder b = StandardBuilder();
  uint32_t rel = b.add_rel_section(Std::kData);
  int32_t a32 = -8;
  int64_t a64 = 0x1122334455667788;
  memcpy(b.data(Std::kData).data(), &a32, 4);
  memcpy(b.data(Std::kData).data() + 8, &a64, 8);
  b.add_rel(rel, 0, R_PC32, Std::kPrintk);
  b.add_rel(rel, 8, R_64, Std::kMain);
  WithValid(b.build(), [&](const ValidatedObject& obj) {
    ASSERT_EQ(obj.relocs.size(), 2u);
    const RelocSection& rs = obj.relocs[1];
    EXPECT_FALSE(rs.rela);
    ASSERT_EQ(rs.count, 2u);
    Relocation r = obj.relocation(rs, 0);
    EXPECT_EQ(r.type, R_PC32);
    EXPECT_EQ(r.sym, Std::kPrintk);
    EXPECT_EQ(r.addend, -8);
    r = obj.relocation(rs, 1);
    EXPECT_EQ(r.offset, 8u);
    EXPECT_EQ(r.addend, 0x1122334455667788);
  });
}

TEST(ValidateRelocs, RelEntryPastTarget) {
  ElfBuilder b = StandardBuilder();
  uint32_t rel = b.add_rel_section(Std::kData);
  b.add_rel(rel, 12, R_64, Std::kMain);
  ExpectError(b.build(), Errc::kMalformed,
              "relocation 0 of section 5 (.rel.data): R_X86_64_64 at offset 0xc + width 8 passes "
              "end of section 2 (.data) (size 0x10)");
}

TEST(ValidateRelocs, UnwindSectionIsATarget) {
  ElfBuilder b = StandardBuilder();
  uint32_t eh =
      b.add_section(".eh_frame", SHT_X86_64_UNWIND, SHF_ALLOC, std::vector<uint8_t>(32, 0), 8);
  uint32_t rela = b.add_rela_section(eh);
  b.add_rela(rela, 0x20 - 4, R_PC32, Std::kTextSym, 0);
  ExpectValidObject(b.build());
}

// --- groups --------------------------------------------------------------------

// 1 .group {2, 3}, 2 .text._Z3foov (AXG), 3 .rela.text._Z3foov (G), 4 .text,
// 5 .symtab, 6 .strtab, 7 .shstrtab; symbols 1 _Z3foov (weak, in 2), 2 main.
ElfBuilder GroupBuilder() {
  ElfBuilder b;
  uint32_t g = b.add_group(1, GRP_COMDAT);
  uint32_t foo = b.add_text(".text._Z3foov", 16);
  uint32_t rfoo = b.add_rela_section(foo);
  uint32_t text = b.add_text(".text", 16);
  b.add_member(g, foo);
  b.add_member(g, rfoo);
  b.add_symbol("_Z3foov", foo, 0, 16, STB_WEAK, STT_FUNC);
  b.add_symbol("main", text, 0, 16, STB_GLOBAL, STT_FUNC);
  b.add_rela(rfoo, 1, R_PLT32, 2, -4);
  return b;
}

TEST(ValidateGroups, ComdatGroup) {
  WithValid(GroupBuilder().build(), [](const ValidatedObject& obj) {
    ASSERT_EQ(obj.groups.size(), 1u);
    const Group& g = obj.groups[0];
    EXPECT_EQ(g.section, 1u);
    EXPECT_STREQ(g.signature, "_Z3foov");
    EXPECT_TRUE(g.comdat);
    ASSERT_EQ(obj.group_size(g), 2u);
    EXPECT_EQ(obj.group_member(g, 0), 2u);
    EXPECT_EQ(obj.group_member(g, 1), 3u);
    EXPECT_EQ(obj.sections[2].group, 1u);
    EXPECT_EQ(obj.sections[3].group, 1u);
    EXPECT_EQ(obj.sections[4].group, 0u);
  });
}

TEST(ValidateGroups, SectionSymbolSignatureNamesTheSection) {
  ElfBuilder b;
  uint32_t g = b.add_group(1, 0);
  uint32_t foo = b.add_text(".text.foo", 16);
  b.add_member(g, foo);
  b.add_symbol("", foo, 0, 0, STB_LOCAL, STT_SECTION);
  WithValid(b.build(), [](const ValidatedObject& obj) {
    ASSERT_EQ(obj.groups.size(), 1u);
    EXPECT_STREQ(obj.groups[0].signature, ".text.foo");
    EXPECT_FALSE(obj.groups[0].comdat);
  });
}

TEST(ValidateGroups, EntrySize) {
  Image img = GroupBuilder().build();
  img.edit_shdr(1, [](Shdr& s) { s.entsize = 0; });
  ExpectError(img, Errc::kMalformed, "section 1 (.group): entry size 0x0 is not 4");
}

TEST(ValidateGroups, Empty) {
  Image img = GroupBuilder().build();
  img.edit_shdr(1, [](Shdr& s) { s.size = 0; });
  ExpectError(img, Errc::kMalformed, "section 1 (.group): empty group (no flag word)");
}

TEST(ValidateGroups, SizeNotMultipleOfFour) {
  Image img = GroupBuilder().build();
  img.edit_shdr(1, [](Shdr& s) { s.size = 6; });
  ExpectError(img, Errc::kMalformed, "section 1 (.group): size 0x6 is not a multiple of 4");
}

TEST(ValidateGroups, SymbolTableLink) {
  Image img = GroupBuilder().build();
  img.edit_shdr(1, [](Shdr& s) { s.link = 6; });
  ExpectError(img, Errc::kMalformed,
              "section 1 (.group): sh_link 6 is not the symbol table (section 5 (.symtab))");
}

TEST(ValidateGroups, NoSignature) {
  Image img = GroupBuilder().build();
  img.edit_shdr(1, [](Shdr& s) { s.info = 0; });
  ExpectError(img, Errc::kMalformed, "section 1 (.group): sh_info is 0: no signature symbol");
}

TEST(ValidateGroups, SignaturePastSymbolTable) {
  Image img = GroupBuilder().build();
  img.edit_shdr(1, [](Shdr& s) { s.info = 3; });
  ExpectError(img, Errc::kMalformed,
              "section 1 (.group): sh_info (signature symbol) 3 is past the symbol table (3 "
              "symbols)");
}

TEST(ValidateGroups, UnknownFlags) {
  Image img = GroupBuilder().build();
  img.patch<uint32_t>(img.shdr(1).offset, 0x6);
  ExpectError(img, Errc::kUnsupported,
              "section 1 (.group): group flags 0x6 have bits other than GRP_COMDAT");
}

TEST(ValidateGroups, MemberNullSection) {
  Image img = GroupBuilder().build();
  img.patch<uint32_t>(img.shdr(1).offset + 4, 0);
  ExpectError(img, Errc::kMalformed, "section 1 (.group): member 0 is section 0, the null section");
}

TEST(ValidateGroups, MemberPastTable) {
  Image img = GroupBuilder().build();
  img.patch<uint32_t>(img.shdr(1).offset + 4, 99);
  ExpectError(img, Errc::kMalformed,
              "section 1 (.group): member 0 is section index 99, past the section table (8 "
              "sections)");
}

TEST(ValidateGroups, MemberIsAGroup) {
  Image img = GroupBuilder().build();
  img.patch<uint32_t>(img.shdr(1).offset + 4, 1);
  ExpectError(img, Errc::kMalformed,
              "section 1 (.group): member 0 is section 1 (.group), a group section");
}

TEST(ValidateGroups, MemberListedTwice) {
  Image img = GroupBuilder().build();
  img.patch<uint32_t>(img.shdr(1).offset + 8, 2);
  ExpectError(img, Errc::kMalformed,
              "section 1 (.group): member 1 is section 2 (.text._Z3foov), already in group "
              "section 1 (.group)");
}

TEST(ValidateGroups, MemberOfTwoGroups) {
  ElfBuilder b;
  uint32_t g1 = b.add_group(1, GRP_COMDAT);
  uint32_t g2 = b.add_group(1, GRP_COMDAT);
  uint32_t foo = b.add_text(".text.foo", 16);
  b.add_member(g1, foo);
  b.add_member(g2, foo);
  b.add_symbol("foo", foo, 0, 16, STB_WEAK, STT_FUNC);
  ExpectError(b.build(), Errc::kMalformed,
              "section 2 (.group): member 0 is section 3 (.text.foo), already in group section 1 "
              "(.group)");
}

TEST(ValidateGroups, MemberWithoutGroupFlag) {
  Image img = GroupBuilder().build();
  img.edit_shdr(2, [](Shdr& s) { s.flags &= ~SHF_GROUP; });
  ExpectError(img, Errc::kMalformed,
              "section 1 (.group): member 0 is section 2 (.text._Z3foov), which lacks SHF_GROUP");
}

TEST(ValidateGroups, GroupFlagWithoutGroup) {
  Image img = GroupBuilder().build();
  img.edit_shdr(4, [](Shdr& s) { s.flags |= SHF_GROUP; });
  ExpectError(img, Errc::kMalformed, "section 4 (.text): SHF_GROUP is set but no group lists it");
}

TEST(ValidateGroups, GroupIsNotARelocationTarget) {
  Image img = GroupBuilder().build();
  img.edit_shdr(3, [](Shdr& s) { s.info = 1; });
  ExpectError(img, Errc::kMalformed,
              "section 3 (.rela.text._Z3foov): target section 1 (.group) has type SHT_GROUP, "
              "which cannot be relocated");
}

// --- allocation failure ----------------------------------------------------------

// Fails each allocation validate() makes in turn: every run must end in
// kNoMemory (never a crash, never a half-built success) and free everything.
void FailEachAllocation(const std::vector<uint8_t>& bytes) {
  InputCopy in(bytes);
  TestAllocator counting;
  {
    auto ok = validate(in.view(), FakeMachines, counting);
    ASSERT_TRUE(ok.ok()) << ok.error().message();
  }
  ASSERT_GT(counting.count(), 0);
  for (long k = 0; k < counting.count(); ++k) {
    TestAllocator failing(k);
    {
      auto r = validate(in.view(), FakeMachines, failing);
      ASSERT_FALSE(r.ok()) << "allocation " << k << " failed but validate() succeeded";
      EXPECT_EQ(r.error().code(), Errc::kNoMemory) << r.error().message();
    }
    EXPECT_EQ(failing.live(), 0) << "leak after failing allocation " << k;
  }
}

TEST(ValidateAllocation, FailEachAllocationStandard) {
  FailEachAllocation(StandardObject().bytes);
}
TEST(ValidateAllocation, FailEachAllocationGroups) {
  FailEachAllocation(GroupBuilder().build().bytes);
}
// Symbols in unloaded sections: Context::unloaded is made on the first.
TEST(ValidateAllocation, FailEachAllocationDebug) {
  FailEachAllocation(DebugBuilder().build().bytes);
}

TEST(ValidateAllocation, NoAllocationPerRelocation) {
  auto allocations = [](size_t n) {
    ElfBuilder b;
    uint32_t text = b.add_text(".text", 4 * n + 4);
    uint32_t rela = b.add_rela_section(text);
    uint32_t f = b.add_symbol("f", SHN_UNDEF);
    for (size_t i = 0; i < n; ++i)
      b.add_rela(rela, 4 * i, R_PLT32, f, -4);
    Image img = b.build();
    TestAllocator alloc;
    InputCopy in(img.bytes);
    auto r = validate(in.view(), FakeMachines, alloc);
    EXPECT_TRUE(r.ok());
    return alloc.count();
  };
  EXPECT_EQ(allocations(10), allocations(10000));
}

// --- speed -------------------------------------------------------------------------

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr bool kSanitized = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
constexpr bool kSanitized = true;
#else
constexpr bool kSanitized = false;
#endif
#else
constexpr bool kSanitized = false;
#endif

// Best of `runs` validations, in microseconds.
double BestMicros(const Image& img, int runs) {
  InputCopy in(img.bytes);
  double best = 1e30;
  for (int i = 0; i < runs; ++i) {
    TestAllocator alloc;
    auto t0 = std::chrono::steady_clock::now();
    auto r = validate(in.view(), FakeMachines, alloc);
    auto t1 = std::chrono::steady_clock::now();
    EXPECT_TRUE(r.ok()) << r.error().message();
    best = std::min(best, std::chrono::duration<double, std::micro>(t1 - t0).count());
  }
  return best;
}

TEST(ValidateSpeed, FortyThousandRelocations) {
  if (UnderQemuUser()) GTEST_SKIP() << "a time limit means nothing under qemu-user";
  ElfBuilder b;
  uint32_t text = b.add_text(".text", 4 * 40000 + 4);
  uint32_t rela = b.add_rela_section(text);
  uint32_t local = b.add_symbol("", text, 0, 0, STB_LOCAL, STT_SECTION);
  std::vector<uint32_t> syms;
  for (int i = 0; i < 100; ++i)
    syms.push_back(b.add_symbol("ext" + std::to_string(i), SHN_UNDEF));
  for (uint32_t i = 0; i < 40000; ++i) {
    uint32_t type = i % 3 == 0 ? R_PLT32 : (i % 3 == 1 ? R_PC32 : R_GOTPCRELX);
    b.add_rela(rela, 4 * i, type, i % 2 == 0 ? local : syms[i % 100], -4);
  }
  Image img = b.build();
  double us = BestMicros(img, 50);  // best of many: robust on a loaded machine
  RecordProperty("best_us", std::to_string(us));
  if (kSanitized) GTEST_SKIP() << "timing not meaningful under sanitizers (" << us << " us)";
#ifdef NDEBUG
  EXPECT_LT(us, 1000.0);
#else
  EXPECT_LT(us, 10000.0);
#endif
}

TEST(ValidateSpeed, SixtyThousandSectionsInReverseFileOrder) {
  if (UnderQemuUser()) GTEST_SKIP() << "a time limit means nothing under qemu-user";
  // Section i's contents come later in the file than section i+1's: the
  // overlap check has to sort, and must not be quadratic.
  ElfBuilder b;
  constexpr uint32_t kCount = 60000;
  for (uint32_t i = 0; i < kCount; ++i) {
    b.add_section(".d" + std::to_string(i), SHT_PROGBITS, SHF_ALLOC, {1, 2, 3, 4}, 4);
  }
  Image img = b.build();
  std::vector<uint64_t> offsets;
  for (uint32_t i = 1; i <= kCount; ++i)
    offsets.push_back(img.shdr(i).offset);
  for (uint32_t i = 1; i <= kCount; ++i) {
    img.edit_shdr(i, [&](Shdr& s) { s.offset = offsets[kCount - i]; });
  }
  double us = BestMicros(img, 5);
  RecordProperty("best_us", std::to_string(us));
  if (kSanitized) GTEST_SKIP() << "timing not meaningful under sanitizers (" << us << " us)";
  // About 8 ms here; a quadratic sort would take seconds. Loose for loaded CI.
  EXPECT_LT(us, 500000.0);
}

TEST(ValidateSpeed, ManySymbolsSharingOneLongName) {
  if (UnderQemuUser()) GTEST_SKIP() << "a time limit means nothing under qemu-user";
  // Name lookup must not scan for the NUL: 40,000 symbols all pointing into
  // one 1 MiB string would otherwise cost 40 G byte reads.
  ElfBuilder b;
  for (int i = 0; i < 40000; ++i)
    b.add_symbol("s" + std::to_string(i), SHN_ABS);
  Image img = b.build();
  std::vector<uint8_t> table(1 << 20, 'a');
  table[0] = 0;
  table.back() = 0;
  uint64_t off = img.append(table);
  img.edit_shdr(img.strtab, [&](Shdr& s) {
    s.offset = off;
    s.size = table.size();
  });
  for (uint32_t i = 1; i <= 40000; ++i)
    img.edit_sym(i, [](Sym& s) { s.name = 1; });
  double us = BestMicros(img, 5);
  RecordProperty("best_us", std::to_string(us));
  if (kSanitized) GTEST_SKIP() << "timing not meaningful under sanitizers (" << us << " us)";
  // About 0.3 ms here; scanning for each NUL would take tens of seconds.
  EXPECT_LT(us, 200000.0);
}

}  // namespace
}  // namespace mk::test
