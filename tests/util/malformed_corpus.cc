#include "util/malformed_corpus.h"

#include <string.h>

#include <functional>

namespace mk::test {

using namespace mk::elf;

namespace {

// x86_64 relocation types used here.
constexpr uint32_t R_64 = 1, R_PC32 = 2, R_PLT32 = 4, R_32 = 10, R_TLSGD = 19;

void Put32(std::vector<uint8_t>& v, uint32_t x) {
  for (int i = 0; i < 4; ++i)
    v.push_back(static_cast<uint8_t>(x >> (8 * i)));
}

void PutName(std::vector<uint8_t>& v, const std::string& s, size_t field) {
  for (size_t i = 0; i < field; ++i)
    v.push_back(i < s.size() ? static_cast<uint8_t>(s[i]) : 0);
}

std::vector<uint8_t> Header(uint8_t kind, uint16_t size) {
  std::vector<uint8_t> v;
  Put32(v, 0x444d4b4du);  // MK_META_MAGIC
  v.push_back(1);         // MK_META_VERSION
  v.push_back(kind);
  v.push_back(static_cast<uint8_t>(size));
  v.push_back(static_cast<uint8_t>(size >> 8));
  return v;
}

std::vector<uint8_t> Cat(std::vector<uint8_t> a, const std::vector<uint8_t>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

ElfBuilder Builder(const std::vector<uint8_t>& modinfo) {
  ElfBuilder b;
  uint32_t text = b.add_text(".text", 32);
  uint32_t data = b.add_data(".data", 16);
  b.add_nobits(".bss", SHF_ALLOC | SHF_WRITE, 32, 8);
  b.add_section("modkit_modinfo", SHT_PROGBITS, SHF_ALLOC | SHF_WRITE, modinfo, 8);
  uint32_t rela = b.add_rela_section(text);
  b.add_symbol("corpus.c", SHN_ABS, 0, 0, STB_LOCAL, STT_FILE);
  b.add_symbol("", text, 0, 0, STB_LOCAL, STT_SECTION);
  uint32_t helper = b.add_symbol("helper", text, 0, 8, STB_LOCAL, STT_FUNC);
  b.add_symbol("main", text, 16, 16, STB_GLOBAL, STT_FUNC);
  uint32_t counter = b.add_symbol("counter", data, 0, 8, STB_GLOBAL, STT_OBJECT);
  uint32_t printf = b.add_symbol("mk_printf", SHN_UNDEF, 0, 0, STB_GLOBAL, STT_NOTYPE);
  b.add_rela(rela, 4, R_PLT32, printf, -4);
  b.add_rela(rela, 20, R_PC32, counter, -4);
  b.add_rela(rela, 24, R_64, helper, 0);
  return b;
}

std::vector<uint8_t> GoodModinfo() {
  return Cat(ModuleRecord("corpus", 1), DependRecord("corpus", "kernel", 1, 1, 1));
}

struct Adder {
  std::vector<MalformedCase>& out;
  int cls;
  void operator()(const std::string& name, const std::function<void(Image&)>& edit, Errc code,
                  const std::string& message) {
    Image img = CorpusBase();
    edit(img);
    out.push_back({cls, name, img.bytes, code, message});
  }
  void bytes(const std::string& name, std::vector<uint8_t> b, Errc code,
             const std::string& message) {
    out.push_back({cls, name, std::move(b), code, message});
  }
};

std::vector<MalformedCase> Build() {
  std::vector<MalformedCase> out;
  const Errc M = Errc::kMalformed, U = Errc::kUnsupported;

  // 1. The ELF header.
  Adder c1{out, 1};
  {
    std::vector<uint8_t> shorter = CorpusBase().bytes;
    shorter.resize(sizeof(Ehdr) - 1);
    c1.bytes("shorter than an ELF header", shorter, M,
             "corpus.ko: ELF header: file size 0x3f is smaller than an ELF header (0x40)");
  }
  c1(
      "wrong magic", [](Image& i) { i.bytes[1] = 'X'; }, M,
      "corpus.ko: ELF header: bad magic 0x7f 0x58 0x4c 0x46 at 0x0 (expected 0x7f 0x45 0x4c 0x46)");
  c1(
      "32-bit class", [](Image& i) { i.bytes[4] = 1; }, U,
      "corpus.ko: ELF header: EI_CLASS 1 at 0x4 is ELFCLASS32; only ELFCLASS64 is supported");
  c1(
      "big-endian", [](Image& i) { i.bytes[5] = 2; }, U,
      "corpus.ko: ELF header: EI_DATA 2 at 0x5 is big-endian; only little-endian is supported");
  c1(
      "ELF version 0", [](Image& i) { i.edit_ehdr([](Ehdr& e) { e.version = 0; }); }, M,
      "corpus.ko: ELF header: e_version 0 at 0x14 is not EV_CURRENT (1)");
  c1(
      "ident version 2", [](Image& i) { i.bytes[6] = 2; }, M,
      "corpus.ko: ELF header: EI_VERSION 2 at 0x6 is not EV_CURRENT (1)");
  c1(
      "machine i386", [](Image& i) { i.edit_ehdr([](Ehdr& e) { e.machine = 3; }); }, U,
      "corpus.ko: ELF header: e_machine 3 at 0x12 is not a supported machine");
  c1(
      "type ET_EXEC", [](Image& i) { i.edit_ehdr([](Ehdr& e) { e.type = 2; }); }, U,
      "corpus.ko: ELF header: e_type 2 at 0x10 is not ET_REL (1)");
  c1(
      "type ET_DYN", [](Image& i) { i.edit_ehdr([](Ehdr& e) { e.type = 3; }); }, U,
      "corpus.ko: ELF header: e_type 3 at 0x10 is not ET_REL (1)");

  // 2. The section header table.
  Adder c2{out, 2};
  c2(
      "section entry size 32", [](Image& i) { i.edit_ehdr([](Ehdr& e) { e.shentsize = 32; }); }, M,
      "corpus.ko: ELF header: e_shentsize 0x20 at 0x3a is not 0x40");
  c2(
      "table offset past the end",
      [](Image& i) { i.edit_ehdr([&](Ehdr& e) { e.shoff = i.size() + 64; }); }, M,
      "corpus.ko: section table: offset 0x548 is past the end of file (size 0x508)");
  c2(
      "table offset near 2^64",
      [](Image& i) { i.edit_ehdr([](Ehdr& e) { e.shoff = UINT64_MAX - 0x100; }); }, M,
      "corpus.ko: section table: offset 0xfffffffffffffeff is past the end of file (size 0x508)");
  c2(
      "zero sections",
      [](Image& i) {
        i.edit_ehdr([](Ehdr& e) {
          e.shnum = 0;
          e.shoff = 0;
        });
      },
      M, "corpus.ko: ELF header: e_shoff at 0x28 is 0: no section header table");
  c2(
      "extended numbering without a count",
      [](Image& i) { i.edit_ehdr([](Ehdr& e) { e.shnum = 0; }); }, M,
      "corpus.ko: section table: zero sections (e_shnum is 0 and section 0 sh_size is 0)");
  c2(
      "extended numbering with a wrong count",
      [](Image& i) {
        i.edit_ehdr([](Ehdr& e) { e.shnum = 0; });
        i.edit_shdr(0, [](Shdr& s) { s.size = 5; });
      },
      M, "corpus.ko: ELF header: e_shstrndx at 0x3e is 8, past the section table (5 sections)");
  c2(
      "extended count whose table size overflows",
      [](Image& i) {
        i.edit_ehdr([](Ehdr& e) { e.shnum = 0; });
        i.edit_shdr(0, [](Shdr& s) { s.size = (uint64_t{1} << 58) + 1; });
      },
      M,
      "corpus.ko: section table: offset 0x2c8 + 288230376151711745 x 0x40 bytes passes end of file "
      "(size 0x508)");
  c2(
      "section 0 not null",
      [](Image& i) { i.edit_shdr(0, [](Shdr& s) { s.type = SHT_PROGBITS; }); }, M,
      "corpus.ko: section 0: sh_type is 0x1, not 0 (section 0 is the null section)");

  // 3. Section names.
  Adder c3{out, 3};
  c3(
      "name table index 0", [](Image& i) { i.edit_ehdr([](Ehdr& e) { e.shstrndx = 0; }); }, M,
      "corpus.ko: ELF header: e_shstrndx at 0x3e is 0: no section name table");
  c3(
      "name table index out of range",
      [](Image& i) { i.edit_ehdr([](Ehdr& e) { e.shstrndx = 40; }); }, M,
      "corpus.ko: ELF header: e_shstrndx at 0x3e is 40, past the section table (9 sections)");
  c3(
      "name table index SHN_XINDEX without section 0's link",
      [](Image& i) { i.edit_ehdr([](Ehdr& e) { e.shstrndx = SHN_XINDEX; }); }, M,
      "corpus.ko: section 0: sh_link (e_shstrndx is SHN_XINDEX) is 0: no section name table");
  c3(
      "name table empty",
      [](Image& i) { i.edit_shdr(Corpus::kShstrtab, [](Shdr& s) { s.size = 0; }); }, M,
      "corpus.ko: section 8: string table is empty");
  c3(
      "name table not NUL-terminated",
      [](Image& i) {
        Shdr s = i.shdr(Corpus::kShstrtab);
        i.bytes[s.offset + s.size - 1] = 'x';
      },
      M, "corpus.ko: section 8: string table does not end with a NUL byte (last byte at 0x2c5)");
  c3(
      "section name offset past the table",
      [](Image& i) { i.edit_shdr(Corpus::kText, [](Shdr& s) { s.name = 0x10000; }); }, M,
      "corpus.ko: section 1: name offset 0x10000 passes end of the section name table (section 8, "
      "size 0x46)");
  c3(
      "symbol string table not NUL-terminated",
      [](Image& i) {
        Shdr s = i.shdr(Corpus::kStrtab);
        i.bytes[s.offset + s.size - 1] = 'x';
      },
      M,
      "corpus.ko: section 7 (.strtab): string table does not end with a NUL byte (last byte at "
      "0x27f)");

  // 4. Section extents.
  Adder c4{out, 4};
  c4(
      "offset + size overflows",
      [](Image& i) {
        i.edit_shdr(Corpus::kData, [](Shdr& s) {
          s.offset = UINT64_MAX - 8;
          s.size = 16;
        });
      },
      M,
      "corpus.ko: section 2 (.data): offset 0xfffffffffffffff7 + size 0x10 passes end of file "
      "(size 0x508)");
  c4(
      "contents past the end",
      [](Image& i) { i.edit_shdr(Corpus::kData, [&](Shdr& s) { s.size = i.size(); }); }, M,
      "corpus.ko: section 2 (.data): offset 0x60 + size 0x508 passes end of file (size 0x508)");
  c4(
      "NOBITS of 1 TiB (an allocation bomb)",
      [](Image& i) { i.edit_shdr(Corpus::kBss, [](Shdr& s) { s.size = uint64_t{1} << 40; }); }, U,
      "corpus.ko: section 3 (.bss): size 0x10000000000 is more than the 0x40000000-byte section "
      "limit");
  c4(
      "alignment 3", [](Image& i) { i.edit_shdr(Corpus::kText, [](Shdr& s) { s.addralign = 3; }); },
      M, "corpus.ko: section 1 (.text): alignment 0x3 is not a power of two");
  c4(
      "alignment 1 GiB",
      [](Image& i) { i.edit_shdr(Corpus::kText, [](Shdr& s) { s.addralign = 1u << 30; }); }, U,
      "corpus.ko: section 1 (.text): alignment 0x40000000 is more than the maximum 0x10000");

  // 5. The symbol table.
  Adder c5{out, 5};
  c5(
      "no symbol table",
      [](Image& i) { i.edit_shdr(Corpus::kSymtab, [](Shdr& s) { s.type = SHT_PROGBITS; }); }, M,
      "corpus.ko: section table: no symbol table (SHT_SYMTAB); modkit needs one");
  c5(
      "two symbol tables",
      [](Image& i) { i.edit_shdr(Corpus::kStrtab, [](Shdr& s) { s.type = SHT_SYMTAB; }); }, M,
      "corpus.ko: section 7 (.strtab): a second symbol table (the first is section 6 (.symtab))");
  c5(
      "entry size 16",
      [](Image& i) { i.edit_shdr(Corpus::kSymtab, [](Shdr& s) { s.entsize = 16; }); }, M,
      "corpus.ko: section 6 (.symtab): entry size 0x10 is not 0x18");
  c5(
      "size not a multiple of 24",
      [](Image& i) { i.edit_shdr(Corpus::kSymtab, [](Shdr& s) { s.size -= 5; }); }, M,
      "corpus.ko: section 6 (.symtab): size 0xa3 is not a multiple of the entry size 0x18");
  c5(
      "string table link out of range",
      [](Image& i) { i.edit_shdr(Corpus::kSymtab, [](Shdr& s) { s.link = 99; }); }, M,
      "corpus.ko: section 6 (.symtab): sh_link 99 (string table) is not a section (9 sections)");
  c5(
      "string table link to a non-string table",
      [](Image& i) { i.edit_shdr(Corpus::kSymtab, [](Shdr& s) { s.link = Corpus::kText; }); }, M,
      "corpus.ko: section 6 (.symtab): sh_link points to section 1 (.text), of type SHT_PROGBITS, "
      "not a string table");
  c5(
      "symbol name past the string table",
      [](Image& i) { i.edit_sym(Corpus::kMain, [](Sym& s) { s.name = 0x7fffffff; }); }, M,
      "corpus.ko: symbol 4: name offset 0x7fffffff passes end of string table section 7 (.strtab) "
      "(size 0x28)");

  // 6. Symbol values and section indices.
  Adder c6{out, 6};
  c6(
      "section index past the table",
      [](Image& i) { i.edit_sym(Corpus::kMain, [](Sym& s) { s.shndx = 200; }); }, M,
      "corpus.ko: symbol 4 (main): section index 200 is past the section table (9 sections)");
  c6(
      "section index in the reserved range",
      [](Image& i) { i.edit_sym(Corpus::kMain, [](Sym& s) { s.shndx = 0xff05; }); }, U,
      "corpus.ko: symbol 4 (main): section index 0xff05 is a reserved index modkit does not "
      "support");
  c6(
      "local COMMON symbol",
      [](Image& i) {
        i.edit_sym(Corpus::kHelper, [](Sym& s) {
          s.shndx = SHN_COMMON;
          s.value = 8;
        });
      },
      M, "corpus.ko: symbol 3 (helper): SHN_COMMON on a local symbol");
  c6(
      "SHN_XINDEX without SHT_SYMTAB_SHNDX",
      [](Image& i) { i.edit_sym(Corpus::kMain, [](Sym& s) { s.shndx = SHN_XINDEX; }); }, M,
      "corpus.ko: symbol 4 (main): section index is SHN_XINDEX but the object has no "
      "SHT_SYMTAB_SHNDX section");
  c6(
      "value outside its section",
      [](Image& i) { i.edit_sym(Corpus::kMain, [](Sym& s) { s.value = 0x1000; }); }, M,
      "corpus.ko: symbol 4 (main): value 0x1000 + size 0x10 passes end of section 1 (.text) (size "
      "0x20)");
  c6(
      "function running past its section",
      [](Image& i) { i.edit_sym(Corpus::kMain, [](Sym& s) { s.size = 17; }); }, M,
      "corpus.ko: symbol 4 (main): value 0x10 + size 0x11 passes end of section 1 (.text) (size "
      "0x20)");

  // 7. Relocation sections and entries.
  Adder c7{out, 7};
  c7(
      "target index out of range",
      [](Image& i) { i.edit_shdr(Corpus::kRelaText, [](Shdr& s) { s.info = 77; }); }, M,
      "corpus.ko: section 5 (.rela.text): sh_info (target) 77 is past the section table (9 "
      "sections)");
  c7(
      "target not loadable (NOBITS)",
      [](Image& i) { i.edit_shdr(Corpus::kRelaText, [](Shdr& s) { s.info = Corpus::kBss; }); }, M,
      "corpus.ko: section 5 (.rela.text): target section 3 (.bss) has type SHT_NOBITS, which "
      "cannot be relocated");
  c7(
      "symbol table link wrong",
      [](Image& i) { i.edit_shdr(Corpus::kRelaText, [](Shdr& s) { s.link = Corpus::kStrtab; }); },
      M,
      "corpus.ko: section 5 (.rela.text): sh_link 7 is not the symbol table (section 6 (.symtab))");
  c7(
      "entry size 16",
      [](Image& i) { i.edit_shdr(Corpus::kRelaText, [](Shdr& s) { s.entsize = 16; }); }, M,
      "corpus.ko: section 5 (.rela.text): entry size 0x10 is not 0x18");
  c7(
      "symbol index past the table",
      [](Image& i) {
        i.edit_rela(Corpus::kRelaText, 1, [](Rela& r) { r.info = (uint64_t{500} << 32) | R_PC32; });
      },
      M,
      "corpus.ko: relocation 1 of section 5 (.rela.text): symbol index 500 is past the symbol "
      "table (7 symbols)");
  c7(
      "store past the end of the target (4 bytes at +30 of 32)",
      [](Image& i) { i.edit_rela(Corpus::kRelaText, 1, [](Rela& r) { r.offset = 30; }); }, M,
      "corpus.ko: relocation 1 of section 5 (.rela.text): R_X86_64_PC32 at offset 0x1e + width 4 "
      "passes end of section 1 (.text) (size 0x20)");
  c7(
      "8-byte store at +28 of 32",
      [](Image& i) { i.edit_rela(Corpus::kRelaText, 2, [](Rela& r) { r.offset = 28; }); }, M,
      "corpus.ko: relocation 2 of section 5 (.rela.text): R_X86_64_64 at offset 0x1c + width 8 "
      "passes end of section 1 (.text) (size 0x20)");
  c7(
      "offset near 2^64",
      [](Image& i) {
        i.edit_rela(Corpus::kRelaText, 2, [](Rela& r) { r.offset = UINT64_MAX - 3; });
      },
      M,
      "corpus.ko: relocation 2 of section 5 (.rela.text): R_X86_64_64 at offset 0xfffffffffffffffc "
      "+ width 8 passes end of section 1 (.text) (size 0x20)");
  c7(
      "unknown type 200",
      [](Image& i) {
        i.edit_rela(Corpus::kRelaText, 1,
                    [](Rela& r) { r.info = (uint64_t{Corpus::kCounter} << 32) | 200; });
      },
      M, "corpus.ko: relocation 1 of section 5 (.rela.text): type 0xc8 is unknown to x86_64");

  // 8. Values that do not fit, and TLS.
  Adder c8{out, 8};
  c8(
      "R_X86_64_32 to an absolute symbol above 4 GiB",
      [](Image& i) {
        i.edit_sym(Corpus::kCounter, [](Sym& s) {
          s.shndx = SHN_ABS;
          s.value = uint64_t{1} << 40;
          s.info = static_cast<uint8_t>(STB_GLOBAL << 4 | STT_NOTYPE);
          s.size = 0;
        });
        i.edit_rela(Corpus::kRelaText, 1,
                    [](Rela& r) { r.info = (uint64_t{Corpus::kCounter} << 32) | R_32; });
      },
      Errc::kRange,
      "corpus.ko: R_X86_64_32 at .text+0x14: `counter' (at 0x10000000000) does not fit 32 bits");
  c8(
      "R_X86_64_PC32 to an absolute symbol 1 TiB away",
      [](Image& i) {
        i.edit_sym(Corpus::kCounter, [](Sym& s) {
          s.shndx = SHN_ABS;
          s.value = uint64_t{1} << 40;
          s.info = static_cast<uint8_t>(STB_GLOBAL << 4 | STT_NOTYPE);
          s.size = 0;
        });
      },
      Errc::kRange,
      "corpus.ko: relocation R_X86_64_PC32 at .text+0x14 to `counter' out of range (value *); "
      "rebuild the module with -fPIC");
  c8(
      "a TLS relocation",
      [](Image& i) {
        i.edit_rela(Corpus::kRelaText, 1,
                    [](Rela& r) { r.info = (uint64_t{Corpus::kCounter} << 32) | R_TLSGD; });
      },
      U,
      "corpus.ko: relocation 1 of section 5 (.rela.text): type 0x13 (R_X86_64_TLSGD) is "
      "thread-local; TLS is not supported");

  // 9. Layout and metadata.
  Adder c9{out, 9};
  c9(
      "overlapping sections",
      [](Image& i) {
        uint64_t at = i.shdr(Corpus::kText).offset;
        i.edit_shdr(Corpus::kData, [&](Shdr& s) { s.offset = at; });
      },
      M,
      "corpus.ko: section 2 (.data): file range [0x40, 0x50) overlaps section 1 (.text) [0x40, "
      "0x60)");
  c9(
      "writable and executable",
      [](Image& i) { i.edit_shdr(Corpus::kText, [](Shdr& s) { s.flags |= SHF_WRITE; }); }, U,
      "corpus.ko: section 1 (.text): both writable and executable (SHF_WRITE|SHF_EXECINSTR); "
      "modkit never maps a page both");
  {
    ElfBuilder b = Builder(GoodModinfo());
    b.add_section(".init_array", SHT_INIT_ARRAY, SHF_ALLOC | SHF_WRITE, std::vector<uint8_t>(8), 8,
                  0, 0, 4);
    c9.bytes("init array of entry size 4", b.build().bytes, M,
             "corpus.ko: section 6 (.init_array): entry size 0x4 is not 8");
  }
  {
    ElfBuilder b = Builder(GoodModinfo());
    b.add_section("modkit_modinfo", SHT_PROGBITS, SHF_ALLOC | SHF_WRITE, ModuleRecord("second", 1),
                  8);
    c9.bytes("two metadata sections", b.build().bytes, M,
             "corpus.ko: section 6 (modkit_modinfo): a second module metadata section (the first "
             "is section 4 (modkit_modinfo))");
  }
  {
    std::vector<uint8_t> rec = ModuleRecord("corpus", 1);
    rec[6] = 88;  // size
    c9.bytes("metadata record of the wrong size", Builder(rec).build().bytes, M,
             "corpus.ko: modkit_modinfo+0x0: module record size 0x58 is not 0x60");
  }
  {
    std::vector<uint8_t> rec = ModuleRecord("corpus", 1);
    rec[4] = 2;  // version
    c9.bytes("metadata record of another version", Builder(rec).build().bytes, U,
             "corpus.ko: modkit_modinfo+0x0: record format version 2 is not 1");
  }
  return out;
}

}  // namespace

std::vector<uint8_t> ModuleRecord(const std::string& name, uint32_t version) {
  std::vector<uint8_t> v = Header(1, 8 + 64 + 8 + 16);
  PutName(v, name, 64);
  Put32(v, version);
  Put32(v, 1);                 // line
  v.resize(v.size() + 16, 0);  // handler, arg
  return v;
}

std::vector<uint8_t> DependRecord(const std::string& module, const std::string& target,
                                  uint32_t min, uint32_t preferred, uint32_t max) {
  std::vector<uint8_t> v = Header(2, 8 + 128 + 16);
  PutName(v, module, 64);
  PutName(v, target, 64);
  Put32(v, min);
  Put32(v, preferred);
  Put32(v, max);
  Put32(v, 0);
  return v;
}

std::vector<uint8_t> ExportRecord(const std::string& module, const std::string& symbol) {
  size_t name_field = (symbol.size() + 1 + 7) / 8 * 8;
  std::vector<uint8_t> v = Header(4, static_cast<uint16_t>(8 + 64 + 32 + name_field));
  PutName(v, module, 64);
  PutName(v, "", 32);
  PutName(v, symbol, name_field);
  return v;
}

std::vector<uint8_t> MetadataOnlyModule(const std::string& name, uint32_t version,
                                        const std::vector<std::string>& deps) {
  std::vector<uint8_t> md = Cat(ModuleRecord(name, version), DependRecord(name, "kernel", 1, 1, 1));
  for (const std::string& d : deps) {
    size_t a = d.find(':'), b = d.rfind(':');
    uint32_t min = static_cast<uint32_t>(std::stoul(d.substr(a + 1, b - a - 1)));
    uint32_t max = static_cast<uint32_t>(std::stoul(d.substr(b + 1)));
    md = Cat(md, DependRecord(name, d.substr(0, a), min, max, max));
  }
  ElfBuilder b;
  b.add_text(".text", 16);
  b.add_section("modkit_modinfo", SHT_PROGBITS, SHF_ALLOC | SHF_WRITE, md, 8);
  return b.build().bytes;
}

ElfBuilder CorpusBuilder() {
  return Builder(GoodModinfo());
}

Image CorpusBase() {
  return CorpusBuilder().build();
}

const std::vector<MalformedCase>& MalformedCorpus() {
  static const std::vector<MalformedCase> corpus = Build();
  return corpus;
}

}  // namespace mk::test
