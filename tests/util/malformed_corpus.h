// The malformed-file corpus: module files that break one rule each of
// bad-input.md (classes 1-9, the ones a single object file can break; 10-12
// need several modules or a running kernel: tests/hostile builds those), with
// the exact error loading each must give. Written field by field with
// ElfBuilder from one good module (CorpusBase), so each case differs from a
// file that loads in exactly the way its name says. Used by
// tests/hostile/malformed_corpus_test.cc and as fuzz seeds (fuzz/seeds.cc).
#pragma once

#include <stdint.h>

#include <string>
#include <vector>

#include "support/error.h"
#include "util/elf_builder.h"

namespace mk::test {

struct MalformedCase {
  int bad_input_class;  // 1-9 in bad-input.md
  std::string name;     // what is broken
  std::vector<uint8_t> bytes;
  Errc code;
  // Exact, as the registry reports it for a file named "corpus.ko"; a `*'
  // stands for a value that depends on where the kernel placed the module.
  std::string message;
};

// A good x86_64 module `corpus` (version 1, depends on kernel 1): sections
// 1 .text (AX, 32 bytes), 2 .data (WA, 16), 3 .bss (NOBITS, 32),
// 4 modkit_modinfo, 5 .rela.text, 6 .symtab, 7 .strtab, 8 .shstrtab; symbols
// 1 corpus.c (FILE), 2 .text (SECTION), 3 helper (local FUNC .text+0),
// 4 main (FUNC .text+16), 5 counter (OBJECT .data+0), 6 mk_printf (undefined);
// relocations 0 PLT32 .text+4 mk_printf-4, 1 PC32 .text+20 counter-4,
// 2 R_X86_64_64 .text+24 helper.
struct Corpus {
  static constexpr uint32_t kText = 1, kData = 2, kBss = 3, kModinfo = 4, kRelaText = 5,
                            kSymtab = 6, kStrtab = 7, kShstrtab = 8;
  static constexpr uint32_t kFile = 1, kTextSym = 2, kHelper = 3, kMain = 4, kCounter = 5,
                            kPrintf = 6;
};
ElfBuilder CorpusBuilder();
Image CorpusBase();
// modkit_modinfo records: a module, and a dependency of it.
std::vector<uint8_t> ModuleRecord(const std::string& name, uint32_t version);
std::vector<uint8_t> DependRecord(const std::string& module, const std::string& target,
                                  uint32_t min, uint32_t preferred, uint32_t max);
std::vector<uint8_t> ExportRecord(const std::string& module, const std::string& symbol);
// A module file with only metadata: module `name` at `version`, depending on
// each of `deps` ("target:min:max") and on kernel 1; no code.
std::vector<uint8_t> MetadataOnlyModule(const std::string& name, uint32_t version,
                                        const std::vector<std::string>& deps);

// Every case, in class order.
const std::vector<MalformedCase>& MalformedCorpus();

}  // namespace mk::test
