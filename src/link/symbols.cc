// Phase "collect symbols": the file's tables (LinkerFile: sections, symbols,
// globals, names), counted first and then filled into one allocation of the
// exact size. Only the names the file keeps are copied.
#include "elf/elf.h"
#include "link/link_job.h"
#include "support/memory.h"

namespace mk::link {

using namespace mk::elf;

namespace {

// Whether symbol i of object o is listed in the file (locals too).
bool listed(LinkJob& job, uint32_t o, uint32_t i) {
  const ObjState& st = job.objs[o];
  const Symbol& s = st.obj->symbols[i];
  if (s.shndx == SHN_UNDEF || s.name[0] == '\0' || s.type == STT_SECTION || s.type == STT_FILE)
    return false;
  // Local markers name nothing (a backtrace must not say `$x'): aarch64
  // and riscv mapping symbols ($x, $d, $x<isa>...) and the assembler's
  // local labels that riscv objects keep for their %pcrel_lo partners
  // (".L0 ").
  if (s.local() && s.type == STT_NOTYPE &&
      (s.name[0] == '$' || (s.name[0] == '.' && s.name[1] == 'L')))
    return false;
  if (st.syms[i].in_discarded) return false;
  if (s.shndx == SHN_COMMON) {
    // Only the COMMON definition that was placed is listed (the others
    // merged into it and have no address of their own).
    SlotUse d = job.defs[job.globals.find(s.name, name_hash(s.name))->value];
    return d.obj == o && d.sym == i;
  }
  if (s.shndx == SHN_ABS) return true;
  return st.place[s.shndx].cls >= 0;  // not in a section that is not loaded
}

bool exported(const Symbol& s) {
  return !s.local() && s.visibility != STV_HIDDEN && s.visibility != STV_INTERNAL;
}

}  // namespace

Result<void> LinkJob::collect_symbols() {
  // Count: sections (numbering them in the file), symbols, names.
  size_t sec_count = 0, sym_count = 0, exported_count = 0, name_bytes = 0;
  for (uint32_t o = 0; o < objs.size(); ++o) {
    ObjState& st = objs[o];
    for (const Section& s : st.obj->sections) {
      SecPlace& p = st.place[s.index];
      if (p.cls < 0) continue;
      p.file_section = static_cast<uint32_t>(sec_count++);
      name_bytes += mk_strlen(s.name) + 1;
    }
    const ValidatedObject& obj = *st.obj;
    for (uint32_t i = 1; i < obj.symbols.size(); ++i) {
      if (!listed(*this, o, i)) continue;
      const Symbol& s = obj.symbols[i];
      ++sym_count;
      exported_count += exported(s);
      name_bytes += mk_strlen(s.name) + 1;
    }
  }
  if (!file->reserve_tables(sec_count, sym_count, exported_count, name_bytes))
    return Error(Errc::kNoMemory, "link: out of memory for the symbol table");

  for (uint32_t o = 0; o < objs.size(); ++o) {
    const ObjState& st = objs[o];
    const ValidatedObject& obj = *st.obj;
    for (const Section& s : obj.sections) {
      const SecPlace& p = st.place[s.index];
      if (p.cls < 0) continue;
      file->add_section(FileSection{file->add_name(s.name, mk_strlen(s.name)), sec_addr(o, s.index),
                                    static_cast<uint32_t>(s.size), static_cast<uint32_t>(s.flags),
                                    o, s.index, static_cast<Class>(p.cls)});
    }
    for (uint32_t i = 1; i < obj.symbols.size(); ++i) {
      if (!listed(*this, o, i)) continue;
      const Symbol& s = obj.symbols[i];
      uint32_t sec = UINT32_MAX;
      if (s.shndx != SHN_ABS && s.shndx != SHN_COMMON) sec = st.place[s.shndx].file_section;
      const SymRef& r = st.syms[i];
      file->add_symbol(FileSymbol{file->add_name(s.name, mk_strlen(s.name)), address(r), r.size,
                                  s.type, s.bind, s.visibility, sec},
                       exported(s));
    }
  }
  return Ok();
}

}  // namespace mk::link
