// The symbols phase: the one SHT_SYMTAB, its SHT_SYMTAB_SHNDX table, and
// every symbol (name, binding, type, section index, value).
#include "elf/validate_internal.h"

namespace mk::elf::detail {
namespace {

static_assert(kMaxSectionSize / sizeof(Sym) < UINT32_MAX, "symbol indices fit 32 bits");

Result<void> check_symtab_header(Context& c, uint64_t* count) {
  const Section& st = c.obj.sections[c.obj.symtab];
#define W section_where(c, c.obj.symtab).text  // built only on the error paths
  if (st.entsize != sizeof(Sym)) {
    return Error(Errc::kMalformed, "%s: entry size %#lx is not 0x18", W, st.entsize);
  }
  if (st.size % sizeof(Sym) != 0) {
    return Error(Errc::kMalformed, "%s: size %#lx is not a multiple of the entry size 0x18", W,
                 st.size);
  }
  *count = st.size / sizeof(Sym);
  if (*count == 0) {
    return Error(Errc::kMalformed, "%s: no symbols (not even the null symbol)", W);
  }
  if (st.link == 0 || st.link >= c.count) {
    return Error(Errc::kMalformed, "%s: sh_link %u (string table) is not a section (%u sections)",
                 W, st.link, c.count);
  }
  if (c.obj.sections[st.link].type != SHT_STRTAB) {
    return Error(Errc::kMalformed, "%s: sh_link points to %s, of type %s, not a string table", W,
                 section_where(c, st.link).text,
                 section_type_name(c.obj.sections[st.link].type).text);
  }
  if (st.info > *count) {
    return Error(Errc::kMalformed, "%s: sh_info (first global) %u is past the symbol count (%lu)",
                 W, st.info, *count);
  }
  if (c.shndx_table != 0) {
    const Section& x = c.obj.sections[c.shndx_table];
    if (x.link != c.obj.symtab) {
      return Error(Errc::kMalformed, "%s: sh_link %u is not the symbol table (%s)",
                   section_where(c, c.shndx_table).text, x.link, W);
    }
    if (x.entsize != 4) {
      return Error(Errc::kMalformed, "%s: entry size %#lx is not 4",
                   section_where(c, c.shndx_table).text, x.entsize);
    }
    if (x.size != *count * 4) {
      return Error(Errc::kMalformed,
                   "%s: size %#lx does not match the symbol table (%lu symbols need %#lx bytes)",
                   section_where(c, c.shndx_table).text, x.size, *count, *count * 4);
    }
  }
  return Ok();
#undef W
}

bool supported_binding(uint8_t bind) {
  return bind == STB_LOCAL || bind == STB_GLOBAL || bind == STB_WEAK || bind == STB_GNU_UNIQUE;
}

// Resolves the symbol's section index (SHN_XINDEX through the extended table)
// and checks it names something real.
Result<void> resolve_shndx(Context& c, uint32_t i, const Sym& e, Symbol* sym) {
  uint32_t idx = e.shndx;
  if (e.shndx == SHN_XINDEX) {
    if (c.shndx_table == 0) {
      return Error(Errc::kMalformed,
                   "%s: section index is SHN_XINDEX but the object has no SHT_SYMTAB_SHNDX section",
                   symbol_where(c, i).text);
    }
    if (!c.obj.sections[c.shndx_table].data.read_at(0, i, &idx)) {
      return Error(Errc::kMalformed, "%s: no SHT_SYMTAB_SHNDX entry", symbol_where(c, i).text);
    }
    if (idx == 0) {
      return Error(Errc::kMalformed, "%s: extended section index (SHT_SYMTAB_SHNDX) is 0",
                   symbol_where(c, i).text);
    }
    if (idx >= c.count) {
      return Error(Errc::kMalformed,
                   "%s: extended section index %u is past the section table (%u sections)",
                   symbol_where(c, i).text, idx, c.count);
    }
  } else if (e.shndx >= SHN_LORESERVE && e.shndx != SHN_ABS && e.shndx != SHN_COMMON) {
    return Error(Errc::kUnsupported,
                 "%s: section index %#x is a reserved index modkit does not support",
                 symbol_where(c, i).text, e.shndx);
  } else if (e.shndx < SHN_LORESERVE && e.shndx >= c.count) {
    return Error(Errc::kMalformed, "%s: section index %u is past the section table (%u sections)",
                 symbol_where(c, i).text, e.shndx, c.count);
  }
  // Symbol::shndx keeps SHN_ABS and SHN_COMMON as themselves, so a symbol in
  // a real section with one of those numbers (possible past 0xff00 sections)
  // could not be told apart: refuse it rather than misplace it.
  if (e.shndx == SHN_XINDEX && (idx == SHN_ABS || idx == SHN_COMMON)) {
    return Error(Errc::kUnsupported,
                 "%s: defined in section %u, whose index modkit cannot tell from %s",
                 symbol_where(c, i).text, idx, idx == SHN_ABS ? "SHN_ABS" : "SHN_COMMON");
  }
  sym->shndx = idx;
  return Ok();
}

// The exact checks of symbol i, in order, with their messages. Only reached
// when the fast pass (validate_symbols) doubts the symbol.
[[gnu::cold, gnu::noinline]] Result<void> check_symbol(Context& c, uint32_t i, const Sym& e,
                                                       ByteView strtab) {
  Symbol& sym = c.obj.symbols[i];
  const char* name = string_at(strtab, e.name);
  if (name == nullptr) {
    return Error(Errc::kMalformed,
                 "symbol %u: name offset %#x passes end of string table %s (size %#lx)", i, e.name,
                 section_where(c, c.obj.sections[c.obj.symtab].link).text,
                 static_cast<uint64_t>(strtab.size()));
  }
  sym.name = name;
  sym.value = e.value;
  sym.size = e.size;
  sym.bind = st_bind(e.info);
  sym.type = st_type(e.info);
  sym.visibility = st_visibility(e.other);
#define W symbol_where(c, i).text  // built only on the error path

  if (!supported_binding(sym.bind)) {
    return Error(Errc::kUnsupported, "%s: binding %u is not supported", W, sym.bind);
  }
  if (i < c.obj.first_global && !sym.local()) {
    return Error(Errc::kMalformed, "%s: non-local symbol before the first global (sh_info %u)", W,
                 c.obj.first_global);
  }
  if (i >= c.obj.first_global && sym.local()) {
    return Error(Errc::kMalformed, "%s: local symbol at or after the first global (sh_info %u)", W,
                 c.obj.first_global);
  }
  switch (sym.type) {
    case STT_NOTYPE:
    case STT_OBJECT:
    case STT_FUNC:
    case STT_SECTION:
    case STT_FILE:
    case STT_COMMON:
      break;
    case STT_TLS:
      return Error(Errc::kUnsupported, "%s: thread-local symbol (STT_TLS) is not supported", W);
    case STT_GNU_IFUNC:
      return Error(Errc::kUnsupported, "%s: STT_GNU_IFUNC is not supported", W);
    default:
      return Error(Errc::kUnsupported, "%s: type %u is not supported", W, sym.type);
  }

  MK_TRY(resolve_shndx(c, i, e, &sym));
  if (sym.shndx == SHN_UNDEF) {
    if (sym.local()) {
      return Error(Errc::kMalformed, "%s: local symbol is undefined", W);
    }
    return Ok();
  }
  if (sym.shndx == SHN_ABS) return Ok();
  if (sym.shndx == SHN_COMMON) {
    if (sym.local()) {
      return Error(Errc::kMalformed, "%s: SHN_COMMON on a local symbol", W);
    }
    if (!is_pow2(sym.value)) {
      return Error(Errc::kMalformed, "%s: common alignment %#lx (st_value) is not a power of two",
                   W, sym.value);
    }
    if (sym.value > kMaxAlign) {
      return Error(Errc::kUnsupported, "%s: common alignment %#lx is more than the maximum %#lx", W,
                   sym.value, kMaxAlign);
    }
    if (sym.size > kMaxSectionSize) {
      return Error(Errc::kUnsupported, "%s: common size %#lx is more than the %#lx-byte limit", W,
                   sym.size, kMaxSectionSize);
    }
    return add_image_size(c, sym.size);
  }
  const Section& s = c.obj.sections[sym.shndx];
  if (sym.type == STT_FUNC || sym.type == STT_OBJECT) {
    if (!in_range(sym.value, sym.size, s.size)) {
      return Error(Errc::kMalformed, "%s: value %#lx + size %#lx passes end of %s (size %#lx)", W,
                   sym.value, sym.size, section_where(c, sym.shndx).text, s.size);
    }
  } else if (sym.value > s.size) {
    return Error(Errc::kMalformed, "%s: value %#lx is past the end of %s (size %#lx)", W, sym.value,
                 section_where(c, sym.shndx).text, s.size);
  }
  return Ok();
#undef W
}

// Whether the symbols phase records the symbol as defined in a section that
// is not loaded (Context::unloaded).
bool in_unloaded_section(const Context& c, const Symbol& sym) {
  return sym.shndx != SHN_UNDEF && sym.shndx != SHN_ABS && sym.shndx != SHN_COMMON &&
         !c.obj.sections[sym.shndx].alloc();
}

// Records symbol i as defined in a section that is not loaded, which the
// relocations of loaded sections may not name (Context::unloaded, made on
// the first such symbol: most objects have none).
[[gnu::cold, gnu::noinline]] Result<void> note_unloaded(Context& c, uint64_t i, uint64_t count) {
  if (c.unloaded.empty() && !c.unloaded.resize(static_cast<size_t>(count))) {
    return Error(Errc::kNoMemory,
                 "symbol table: out of memory for the relocation checks (%zu symbols)",
                 static_cast<size_t>(count));
  }
  c.unloaded[i] = 1;
  return Ok();
}

}  // namespace

Result<void> validate_symbols(Context& c) {
  uint64_t count = 0;
  MK_TRY(check_symtab_header(c, &count));
  const Section& st = c.obj.sections[c.obj.symtab];
  c.obj.first_global = st.info;
  const ByteView strtab = c.obj.sections[st.link].data;
  // Room for every symbol, each pushed in order as it is checked: no first
  // pass writing default Symbols that the checks then overwrite.
  if (!c.obj.symbols.reserve(static_cast<size_t>(count))) {
    return Error(Errc::kNoMemory, "%s: out of memory for %lu symbols",
                 section_where(c, c.obj.symtab).text, count);
  }
  Sym e;
  if (!st.data.read_at(0, 0, &e)) {  // size checked above
    return Error(Errc::kMalformed, "symbol %u: entry is past the end of the symbol table", 0u);
  }
  if (e.name != 0 || e.info != 0 || e.other != 0 || e.shndx != 0 || e.value != 0 || e.size != 0) {
    return Error(Errc::kMalformed, "symbol 0: not the null symbol (all fields must be 0)");
  }
  Vec<Symbol>& syms = c.obj.symbols;
  (void)syms.push(Symbol());  // reserved above
  // Each symbol is written in place (Vec::room) and the Vec takes them in
  // after each run (adopt): a push() per symbol reloaded the Vec's size
  // and capacity after every store. check_symbol() reads and writes
  // symbols by index, which the room allows.
  Symbol* const out = syms.room() - 1;  // out[i]: symbol i

  // The fast pass: each symbol's fields read in place and every rule of
  // check_symbol() tested without messages, its faults ORed into one word
  // behind one branch. Taken for names inside the string table, the
  // bindings and types modkit supports, and a section index that is
  // SHN_UNDEF (not local), SHN_ABS or a real section the value fits in.
  // Anything else (SHN_COMMON, SHN_XINDEX, reserved or past-the-table
  // indices, and every broken rule) goes to check_symbol(), which decides it
  // exactly and words its error.
  const uint64_t in_table =
      st.data.size() / sizeof(Sym) < count ? st.data.size() / sizeof(Sym) : count;
  const uint8_t* p = st.data.data();
  const uint64_t strsize = strtab.size();
  const char* const strings = reinterpret_cast<const char*>(strtab.data());
  const uint64_t first_global = c.obj.first_global;
  // Real section indices: below the section count and below SHN_LORESERVE.
  const uint64_t sections = c.count < SHN_LORESERVE ? c.count : SHN_LORESERVE;
  const Section* const secs = c.obj.sections.data();
  // Bit b set: binding b is supported (LOCAL, GLOBAL, WEAK, GNU_UNIQUE).
  constexpr uint64_t kBindings =
      1u << STB_LOCAL | 1u << STB_GLOBAL | 1u << STB_WEAK | 1u << STB_GNU_UNIQUE;
  // Types STT_NOTYPE .. STT_COMMON (0..5) are supported.
  constexpr uint8_t kLastType = STT_COMMON;
  // Locals (below first_global) and the rest in two runs, so that the
  // binding's rule and an undefined symbol's are constants in each.
  auto run = [&]<bool kLocal>(uint64_t from, uint64_t to) -> Result<void> {
    for (uint64_t i = from; i < to; ++i) {
      const uint8_t* q = p + i * sizeof(Sym);
      uint32_t name;
      uint16_t shndx;
      uint64_t value, size;
      mk_memcpy(&name, q + offsetof(Sym, name), 4);
      const uint8_t info = q[offsetof(Sym, info)];
      const uint8_t other = q[offsetof(Sym, other)];
      mk_memcpy(&shndx, q + offsetof(Sym, shndx), 2);
      mk_memcpy(&value, q + offsetof(Sym, value), 8);
      mk_memcpy(&size, q + offsetof(Sym, size), 8);
      const uint8_t bind = st_bind(info);
      const uint8_t type = st_type(info);
      uint64_t bad = static_cast<uint64_t>(name >= strsize) | (~kBindings >> bind & 1) |
                     static_cast<uint64_t>((bind == STB_LOCAL) != kLocal) |
                     static_cast<uint64_t>(type > kLastType);
      // A real section: the value (FUNC and OBJECT: value + size) inside it.
      // Otherwise only SHN_UNDEF on a non-local symbol and SHN_ABS pass.
      const bool real = shndx != SHN_UNDEF && shndx < sections;
      const Section& s = secs[real ? shndx : 0];
      const uint64_t span = type == STT_FUNC || type == STT_OBJECT ? size : 0;
      const bool fits = in_range(value, span, s.size);
      bad |= static_cast<uint64_t>(real ? !fits : shndx == SHN_UNDEF ? kLocal : shndx != SHN_ABS);
      if (bad != 0) [[unlikely]] {
        mk_memcpy(&e, q, sizeof e);
        out[i] = Symbol();  // check_symbol() fills it in
        syms.adopt(i + 1);  // symbols 0..i are the Vec's: messages may name them
        MK_TRY(check_symbol(c, static_cast<uint32_t>(i), e, strtab));
        if (in_unloaded_section(c, syms[i])) MK_TRY(note_unloaded(c, i, count));
        continue;
      }
      Symbol& sym = out[i];
      sym.name = strings + name;
      sym.value = value;
      sym.size = size;
      sym.shndx = shndx;
      sym.bind = bind;
      sym.type = type;
      sym.visibility = st_visibility(other);
      if (real && !s.alloc()) [[unlikely]] {
        syms.adopt(i + 1);
        MK_TRY(note_unloaded(c, i, count));
      }
    }
    syms.adopt(to > syms.size() ? to : syms.size());
    return Ok();
  };
  const uint64_t locals_end = first_global < in_table ? first_global : in_table;
  MK_TRY(run.template operator()<true>(1, locals_end));
  MK_TRY(run.template operator()<false>(locals_end > 1 ? locals_end : 1, in_table));
  if (in_table < count) {
    return Error(Errc::kMalformed, "symbol %u: entry is past the end of the symbol table",
                 static_cast<uint32_t>(in_table));
  }
  return Ok();
}

}  // namespace mk::elf::detail
