// Phase "collect symbols": the file's tables (LinkerFile: sections, symbols,
// globals, names), counted first and then filled into one allocation of the
// exact size. The names the file keeps are copied with their input's whole
// string table when they make up nearly all of it (whole_strtab), else one
// by one; the common section names are not copied at all.
#include "elf/elf.h"
#include "link/link_job.h"
#include "support/memory.h"

namespace mk::link {

using namespace mk::elf;

namespace {

// Whether symbol i (s) of object o (st) is listed in the file (locals too).
// The checks that read only the symbol's record come first.
bool listed(LinkJob& job, const ObjState& st, uint32_t o, uint32_t i, const Symbol& s) {
  if (s.type == STT_SECTION || s.type == STT_FILE || s.shndx == SHN_UNDEF || s.name[0] == '\0')
    return false;
  // Local markers name nothing (a backtrace must not say `$x'): aarch64
  // and riscv mapping symbols ($x, $d, $x<isa>...) and the assembler's
  // local labels that riscv objects keep for their %pcrel_lo partners
  // (".L0 ").
  if (s.local() && s.type == STT_NOTYPE &&
      (s.name[0] == '$' || (s.name[0] == '.' && s.name[1] == 'L')))
    return false;
  if (s.shndx == SHN_ABS) return true;
  if (s.shndx == SHN_COMMON) {
    // Only the COMMON definition that was placed is listed (the others
    // merged into it and have no address of their own).
    // define() hashed it (a COMMON symbol is a global definition).
    const uint32_t hash = st.hashes[i - st.obj->first_global];
    SlotUse d = job.defs[job.globals.find(s.name, hash)->value];
    return d.obj == o && d.sym == i;
  }
  // Not in a section that is not loaded, nor in a discarded COMDAT copy
  // (whose symbols define() marked in_discarded).
  return st.place[s.shndx].cls >= 0;
}

bool exported(const Symbol& s) {
  return !s.local() && s.visibility != STV_HIDDEN && s.visibility != STV_INTERNAL;
}

// Section names nearly every file has: listed by pointer to these, not
// copied into each file's tables (16 to 30 bytes a file).
struct CommonName {
  const char* name;
  size_t size;  // without the NUL
};
constexpr CommonName kCommonNames[] = {{".text", 5},
                                       {".rodata", 7},
                                       {".data", 5},
                                       {".bss", 4},
                                       {".eh_frame", 9},
                                       {".init.text", 10},
                                       {".init_array", 11},
                                       {".fini_array", 11},
                                       {".rodata.str1.1", 14},
                                       {".rodata.str1.8", 14},
                                       {".data.rel.local", 15},
                                       {".data.rel.ro.local", 18},
                                       {"modkit_modinfo", 14}};

// The static copy of a section name of n bytes, or nullptr.
const char* common_name(const char* name, size_t n) {
  for (const CommonName& c : kCommonNames)
    if (c.size == n && mk_memcmp(c.name, name, n) == 0) return c.name;
  return nullptr;
}

// Whether an object's symbol names are copied with their whole string table
// of `table` bytes: `listed` symbols are listed, and the names of the
// others (imports, FILE symbols, markers) take `other` bytes of it. Only
// when the copy is nearly all names the file keeps: a quarter at most of
// other names, and a table of at most 64 bytes per listed symbol (twice
// their records; bytes no symbol names, which no toolchain leaves but a
// crafted object may, fall under that bound). A small file copies its few
// names alone: the one-function module's table is mostly its FILE name.
constexpr size_t kWholeMinListed = 16;
bool whole_strtab(size_t listed, size_t other, uint64_t table) {
  return listed >= kWholeMinListed && other <= table / 4 && table <= uint64_t{64} * listed;
}

// A loaded section is listed when it holds a byte, or when a listed symbol
// lies in it (an empty section is otherwise nothing a lookup can land in).
constexpr uint32_t kNeeded = UINT32_MAX - 1;  // SecPlace::file_section while counting

}  // namespace

Result<void> LinkJob::collect_symbols() {
  // Count: sections (numbering them in the file), symbols, names.
  size_t sec_count = 0, sym_count = 0, exported_count = 0, name_bytes = 0;
  for (uint32_t o = 0; o < objs.size(); ++o) {
    ObjState& st = objs[o];
    const ValidatedObject& obj = *st.obj;
    size_t listed_n = 0, other_bytes = 0;
    // Locals: the loop's stores cannot change them.
    const Symbol* const syms = obj.symbols.begin();
    const uint32_t nsyms = static_cast<uint32_t>(obj.symbols.size());
    SymRef* const refs = st.syms.data();
    SecPlace* const place = st.place.data();
    // The names not listed are measured only when the whole table may be
    // copied (a small file's, as the one-function module's, never is).
    const bool may_whole = nsyms > kWholeMinListed;
    for (uint32_t i = 1; i < nsyms; ++i) {
      const Symbol& s = syms[i];
      if (!listed(*this, st, o, i, s)) {
        if (may_whole && s.name[0] != '\0') other_bytes += mk_strlen(s.name) + 1;
        continue;
      }
      refs[i].listed = true;
      ++listed_n;
      exported_count += exported(s);
      if (s.shndx != SHN_ABS && s.shndx != SHN_COMMON) place[s.shndx].file_section = kNeeded;
    }
    sym_count += listed_n;
    // One table may name both sections and symbols (clang's objects): the
    // section names the file does not keep are then table bytes too.
    const bool shared = st.shstrtab == st.strtab && st.shstrtab_size == st.strtab_size;
    size_t sec_bytes = 0;  // the section names copied alone
    for (const Section& s : obj.sections) {
      SecPlace& p = st.place[s.index];
      if (p.cls < 0 || (s.size == 0 && p.file_section != kNeeded)) {
        if (may_whole && shared && s.name[0] != '\0') other_bytes += mk_strlen(s.name) + 1;
        continue;
      }
      p.file_section = static_cast<uint32_t>(sec_count++);
      size_t n = mk_strlen(s.name);
      if (common_name(s.name, n) == nullptr)
        sec_bytes += n + 1;
      else if (shared)
        other_bytes += n + 1;
    }
    st.whole_strtab = whole_strtab(listed_n, other_bytes, st.strtab_size);
    if (st.whole_strtab) {
      // Past 4 GiB, with_tables() below fails. The kept section names of a
      // shared table point into its copy.
      name_bytes += st.strtab_size + (shared ? 0 : sec_bytes);
    } else {
      name_bytes += sec_bytes;
      for (uint32_t i = 1; i < obj.symbols.size(); ++i) {
        SymRef& r = st.syms[i];
        if (!r.listed) continue;
        const size_t n = mk_strlen(obj.symbols[i].name);
        r.name_size = static_cast<uint32_t>(n);  // a longer one fails with_tables() below
        name_bytes += n + 1;
      }
    }
  }
  // The file proper: its record (the blocks placed so far) and its tables.
  LinkerFile* f = LinkerFile::with_tables(linker.alloc_, *file, sec_count, sym_count,
                                          exported_count, name_bytes);
  if (f == nullptr) return Error(Errc::kNoMemory, "link: out of memory for the symbol table");
  file = f;

  for (uint32_t o = 0; o < objs.size(); ++o) {
    const ObjState& st = objs[o];
    const ValidatedObject& obj = *st.obj;
    // The whole table's copy: a listed name (never the empty one of
    // symbol 0, nor a default) is a string of the input's table.
    const char* const table =
        st.whole_strtab ? file->add_names(st.strtab, st.strtab_size) : nullptr;
    const char* const section_table =
        st.shstrtab == st.strtab && st.shstrtab_size == st.strtab_size ? table : nullptr;
    for (const Section& s : obj.sections) {
      const SecPlace& p = st.place[s.index];
      if (p.cls < 0 || p.file_section == UINT32_MAX) continue;
      size_t n = mk_strlen(s.name);
      const char* name = common_name(s.name, n);
      if (name == nullptr)
        name = section_table != nullptr ? section_table + (s.name - st.shstrtab)
                                        : file->add_name(s.name, n);
      // o fits in 16 bits: link() takes at most kMaxLinkObjects objects.
      file->add_section(FileSection{name, sec_addr(o, s.index), static_cast<uint32_t>(s.size),
                                    static_cast<uint32_t>(s.flags), s.index,
                                    static_cast<uint16_t>(o), static_cast<Class>(p.cls)});
    }
    // Locals: the records' stores below cannot change them.
    const Symbol* const syms = obj.symbols.begin();
    const uint32_t nsyms = static_cast<uint32_t>(obj.symbols.size());
    const SymRef* const refs = st.syms.begin();
    const SecPlace* const place = st.place.begin();
    const uint64_t* const addr = st.addr.begin();
    const uint32_t* const hashes = st.hashes.begin();  // from first_global
    const uint32_t first_global = obj.first_global;
    const char* const strtab = st.strtab;
    uint32_t n = static_cast<uint32_t>(file->symbols().size());
    for (uint32_t i = 1; i < nsyms; ++i) {
      const SymRef& r = refs[i];
      if (!r.listed) continue;
      const Symbol& s = syms[i];
      uint32_t sec = UINT32_MAX;
      if (s.shndx != SHN_ABS && s.shndx != SHN_COMMON) sec = place[s.shndx].file_section;
      const char* name =
          table != nullptr ? table + (s.name - strtab) : file->add_name(s.name, r.name_size);
      // An exported symbol is a global definition: define() hashed its name.
      const bool exp = exported(s);
      file->put_symbol(n++, FileSymbol{name, addr[i], r.size, s.type, s.bind, s.visibility, sec},
                       exp, exp ? hashes[i - first_global] : 0);
    }
    file->symbols_added(n);
  }
  return Ok();
}

}  // namespace mk::link
