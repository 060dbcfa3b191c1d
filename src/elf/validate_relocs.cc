// The groups and relocations phases.
#include "elf/validate_internal.h"
#include "support/type_cache.h"

namespace mk::elf::detail {
namespace {

Result<void> check_group(Context& c, uint32_t i) {
  Vec<Section>& secs = c.obj.sections;
  const Section& g = secs[i];
#define W section_where(c, i).text  // built only on the error paths
  if (g.entsize != 4) {
    return Error(Errc::kMalformed, "%s: entry size %#lx is not 4", W, g.entsize);
  }
  if (g.size == 0) {
    return Error(Errc::kMalformed, "%s: empty group (no flag word)", W);
  }
  if (g.size % 4 != 0) {
    return Error(Errc::kMalformed, "%s: size %#lx is not a multiple of 4", W, g.size);
  }
  if (g.link != c.obj.symtab) {
    return Error(Errc::kMalformed, "%s: sh_link %u is not the symbol table (%s)", W, g.link,
                 section_where(c, c.obj.symtab).text);
  }
  if (g.info == 0) {
    return Error(Errc::kMalformed, "%s: sh_info is 0: no signature symbol", W);
  }
  if (g.info >= c.obj.symbols.size()) {
    return Error(Errc::kMalformed,
                 "%s: sh_info (signature symbol) %u is past the symbol table (%zu symbols)", W,
                 g.info, c.obj.symbols.size());
  }
  uint32_t flags = 0;
  if (!g.data.read(0, &flags)) {
    return Error(Errc::kMalformed, "%s: empty group (no flag word)", W);
  }
  if ((flags & ~GRP_COMDAT) != 0) {
    return Error(Errc::kUnsupported, "%s: group flags %#x have bits other than GRP_COMDAT", W,
                 flags);
  }

  // A section symbol as signature stands for its section's name (as in GNU ld).
  const Symbol& sig = c.obj.symbols[g.info];
  const char* signature = sig.name;
  if (sig.type == STT_SECTION && sig.shndx != SHN_UNDEF && sig.shndx < c.count) {
    signature = secs[sig.shndx].name;
  }

  ByteView members;
  if (!g.data.slice(4, g.size - 4, &members)) {
    return Error(Errc::kMalformed, "%s: empty group (no flag word)", W);
  }
  const uint64_t n = members.size() / 4;
  for (uint64_t k = 0; k < n; ++k) {
    uint32_t m = 0;
    if (!members.read_at(0, k, &m)) {
      return Error(Errc::kMalformed, "%s: member %lu is past the end of the group", W, k);
    }
    if (m == 0) {
      return Error(Errc::kMalformed, "%s: member %lu is section 0, the null section", W, k);
    }
    if (m >= c.count) {
      return Error(Errc::kMalformed,
                   "%s: member %lu is section index %u, past the section table (%u sections)", W, k,
                   m, c.count);
    }
    Section& s = secs[m];
    if (s.type == SHT_GROUP) {
      return Error(Errc::kMalformed, "%s: member %lu is %s, a group section", W, k,
                   section_where(c, m).text);
    }
    if (s.group != 0) {
      return Error(Errc::kMalformed, "%s: member %lu is %s, already in group %s", W, k,
                   section_where(c, m).text, section_where(c, s.group).text);
    }
    if ((s.flags & SHF_GROUP) == 0) {
      return Error(Errc::kMalformed, "%s: member %lu is %s, which lacks SHF_GROUP", W, k,
                   section_where(c, m).text);
    }
    s.group = i;
  }

  Group entry;
  entry.section = i;
  entry.signature = signature;
  entry.comdat = (flags & GRP_COMDAT) != 0;
  entry.members = members;
  if (!c.obj.groups.push(entry)) {
    return Error(Errc::kNoMemory, "%s: out of memory for the group list", W);
  }
  return Ok();
#undef W
}

// What a relocation section may patch: sections with contents the linker
// copies or (debug info, notes) at least keeps as bytes.
bool relocatable_type(uint32_t type, uint16_t machine) {
  switch (type) {
    case SHT_PROGBITS:
    case SHT_NOTE:
    case SHT_INIT_ARRAY:
    case SHT_FINI_ARRAY:
    case SHT_PREINIT_ARRAY:
      return true;
    case SHT_X86_64_UNWIND:
      return machine == EM_X86_64;
    default:
      return false;
  }
}

// The exact checks of entries k.. of one relocation section, in order, with
// their messages: the first entry that breaks a rule is the one reported.
// Only reached when the fast pass (below) saw a suspect entry at k.
[[gnu::cold, gnu::noinline]] Result<void> check_entries(Context& c, uint32_t i, uint64_t k) {
  const Vec<Section>& secs = c.obj.sections;
  const Section& rs = secs[i];
  const Where w = section_where(c, i);
  const uint64_t esz = rs.type == SHT_RELA ? sizeof(Rela) : sizeof(Rel);
  const uint64_t count = rs.size / esz;
  const Section& target = secs[rs.info];
  const MachineRules& m = *c.machine;
  TypeCache<RelocShape> shapes(m.shape);
  const uint64_t nsyms = c.obj.symbols.size();
  const bool loaded = target.alloc();
  for (; k < count; ++k) {
    // Rel and Rela both begin with r_offset and r_info, all this loop reads.
    struct {
      uint64_t offset = 0, info = 0;
    } e;
    uint64_t at = 0;
    const bool ok = !mul_overflow<uint64_t>(k, esz, &at) &&
                    rs.data.read(at + offsetof(Rel, offset), &e.offset) &&
                    rs.data.read(at + offsetof(Rel, info), &e.info);
    if (!ok) {
      return Error(Errc::kMalformed, "relocation %lu of %s: entry is past the end of the section",
                   k, w.text);
    }
    const uint32_t type = rel_type(e.info);
    const uint32_t sym = rel_sym(e.info);
    const RelocShape* shape = shapes.get(type);
    if (shape == nullptr) {
      return Error(Errc::kMalformed, "relocation %lu of %s: type %#x is unknown to %s", k, w.text,
                   type, m.name);
    }
    if (shape->tls) {
      return Error(Errc::kUnsupported,
                   "relocation %lu of %s: type %#x (%s) is thread-local; TLS is not supported", k,
                   w.text, type, shape->name);
    }
    if (shape->refused != nullptr) {
      return Error(Errc::kUnsupported, "relocation %lu of %s: %s at offset %#lx %s", k, w.text,
                   shape->name, e.offset, shape->refused);
    }
    if (sym >= nsyms) {
      return Error(Errc::kMalformed,
                   "relocation %lu of %s: symbol index %u is past the symbol table (%lu symbols)",
                   k, w.text, sym, nsyms);
    }
    if (!in_range(e.offset, shape->width, target.size)) {
      return Error(
          Errc::kMalformed,
          "relocation %lu of %s: %s at offset %#lx + width %u passes end of %s (size %#lx)", k,
          w.text, shape->name, e.offset, shape->width, section_where(c, rs.info).text, target.size);
    }
    if (loaded) {
      // A loaded section may only refer to what will be in memory.
      const uint32_t shndx = c.obj.symbols[sym].shndx;
      if (shndx != SHN_UNDEF && shndx != SHN_ABS && shndx != SHN_COMMON && !secs[shndx].alloc()) {
        return Error(
            Errc::kMalformed,
            "relocation %lu of %s: %s is defined in %s, which is not loaded (no SHF_ALLOC)", k,
            w.text, symbol_where(c, sym).text, section_where(c, shndx).text);
      }
    }
  }
  return Ok();
}

// Per relocation type, what the fast pass needs: accepted or not (unknown,
// TLS and refused kinds are not), and the width it touches. A direct-mapped
// memo like TypeCache, with the verdict in the slot itself. Consulted only
// when the fast pass meets a type its section's table has no entry for yet,
// so once per type and section, not per entry.
class Verdicts {
 public:
  explicit Verdicts(const MachineRules& m) : m_(m) {
    mk_memcpy(types_, kEmptyTypeTags.tags, sizeof types_);
  }
  // The width of an accepted type, or -1.
  int width(uint32_t type) {
    const uint32_t i = type & (kSlots - 1);
    if (types_[i] != type) {
      const RelocShape* shape = m_.shape(type);
      types_[i] = type;
      widths_[i] =
          shape == nullptr || shape->tls || shape->refused != nullptr ? kRefused : shape->width;
    }
    return widths_[i];
  }

 private:
  static constexpr uint32_t kSlots = kTypeSlots;
  static constexpr int16_t kRefused = -1;
  const MachineRules& m_;
  // Only the types start set (kEmptyTypeTags); a width is read only after
  // its slot's type was written with it.
  uint32_t types_[kSlots];
  int16_t widths_[kSlots];
};

// The fast pass's table for one relocation section. Slot t stands for type
// base + t (base a multiple of 64: 0, or for aarch64, whose kinds start at
// 257, the block of the section's first entry) and holds the first r_offset
// at which an entry of that type no longer fits in the target: target size -
// width + 1. So "offset < limit[t]" is, in one compare, both the type's
// verdict and the range check in_range(offset, width, target size). 0 fits
// nothing: a type not met yet in this section, a refused type, one wider
// than the target, and slot 64, where every type outside the block goes.
struct Limits {
  static constexpr uint32_t kOutside = 64;
  uint32_t base = 0;
  uint64_t limit[kOutside + 1] = {};

  uint32_t slot(uint32_t type) const {
    const uint32_t t = type - base;  // wraps for type < base: outside
    return t < kOutside ? t : kOutside;
  }
};

// The entries [k, count) of a relocation section as the fast pass reads them.
struct Entries {
  const uint8_t* base;
  uint64_t size;  // of one entry
  uint64_t count;

  // Rel and Rela both begin with r_offset and r_info, all the validator
  // reads. Read as two words straight into registers (a whole-entry copy
  // through the stack stalls store forwarding on this hot path).
  void read(uint64_t k, uint64_t* offset, uint64_t* info) const {
    mk_memcpy(offset, base + k * size + offsetof(Rel, offset), 8);
    mk_memcpy(info, base + k * size + offsetof(Rel, info), 8);
  }
};

// The fast pass over entries k.. of one section: returns the first entry it
// doubts (its type has no limit yet or a 0 one, its offset is too far, its
// symbol index is past the table, or, with kUnloaded, its symbol is defined
// in a section that is not loaded), or `count`. kUnloaded is for a loaded
// target when some symbol of the object is defined in an unloaded section
// (Context::unloaded not empty); when none is, the check is left out. With
// kRecord (a loaded target, and table base 0, so every type it lets pass is
// below 64) it sets bit `type` of the symbol's reloc_uses.
//
// Every branch but the record's is taken only where the pass stops, so the
// loop is bound by the instructions it issues, and is written for few: the
// entry size kEsz (in.size) is a constant, so fields are displacements from
// one pointer; four entries a turn share one loop test; a type outside the
// table's block has a branch of its own rather than a clamp to slot 64; an
// entry's other faults are ORed into one word behind one branch (with
// kUnloaded the symbol index has its own, before unloaded[] is read with it).
template <bool kUnloaded, bool kRecord, uint64_t kEsz>
uint64_t scan(const Entries& in, uint64_t k, const Limits& lim, uint64_t nsyms,
              const uint8_t* unloaded, uint64_t* uses) {
  // Locals, not fields of `in`: the stores to uses[] could alias those, and
  // would then make the compiler read them again each entry.
  const uint8_t* const first = in.base;
  constexpr uint64_t esz = kEsz;
  const uint32_t base = kRecord ? 0 : lim.base;  // kRecord: base 0, a constant
  const uint64_t* const limit = lim.limit;
  // Whether the entry at e passes (recorded, with kRecord).
  auto pass = [&](const uint8_t* e) [[gnu::always_inline]] {
    // r_info's two halves read apart (little-endian: type, then symbol):
    // no shift to split them.
    uint64_t offset;
    uint32_t type, sym;
    mk_memcpy(&offset, e + offsetof(Rel, offset), 8);
    mk_memcpy(&type, e + offsetof(Rel, info), 4);
    mk_memcpy(&sym, e + offsetof(Rel, info) + 4, 4);
    const uint32_t t = type - base;  // wraps for type < base: outside
    if (t >= Limits::kOutside) [[unlikely]]
      return false;
    uint64_t bad = static_cast<uint64_t>(offset >= limit[t]);
    if constexpr (kUnloaded) {
      if (sym >= nsyms) [[unlikely]]
        return false;  // a branch of its own: unloaded[] needs a valid index
      bad |= unloaded[sym];
    } else {
      bad |= static_cast<uint64_t>(sym >= nsyms);
    }
    if (bad != 0) [[unlikely]]
      return false;
    if constexpr (kRecord) {
      // Stored only when the bit is new: a symbol's few kinds are all set
      // after its first entries, and a read-modify-write each entry would
      // chain the entries that name one symbol (all of .eh_frame's name
      // .text) through store-to-load forwarding.
      if ((uses[sym] >> t & 1) == 0) [[unlikely]]
        uses[sym] |= uint64_t{1} << t;
    }
    return true;
  };
  const uint8_t* p = first + k * esz;
  const uint8_t* const quads_end = p + (in.count - k) / 4 * 4 * esz;
  for (; p != quads_end; p += 4 * esz) {
    if (!pass(p)) [[unlikely]]
      return static_cast<uint64_t>(p - first) / esz;
    if (!pass(p + esz)) [[unlikely]]
      return static_cast<uint64_t>(p + esz - first) / esz;
    if (!pass(p + 2 * esz)) [[unlikely]]
      return static_cast<uint64_t>(p + 2 * esz - first) / esz;
    if (!pass(p + 3 * esz)) [[unlikely]]
      return static_cast<uint64_t>(p + 3 * esz - first) / esz;
  }
  const uint8_t* const end = first + in.count * esz;
  for (; p != end; p += esz)
    if (!pass(p)) return static_cast<uint64_t>(p - first) / esz;
  return in.count;
}

// The same, for either entry size.
template <bool kUnloaded, bool kRecord>
uint64_t scan(const Entries& in, uint64_t k, const Limits& lim, uint64_t nsyms,
              const uint8_t* unloaded, uint64_t* uses) {
  return in.size == sizeof(Rela)
             ? scan<kUnloaded, kRecord, sizeof(Rela)>(in, k, lim, nsyms, unloaded, uses)
             : scan<kUnloaded, kRecord, sizeof(Rel)>(in, k, lim, nsyms, unloaded, uses);
}

// `unloaded`: Context::unloaded, or nullptr when no symbol is defined in an
// unloaded section.
Result<void> check_reloc_section(Context& c, uint32_t i, Verdicts& verdicts,
                                 const uint8_t* unloaded) {
  const Vec<Section>& secs = c.obj.sections;
  const Section& rs = secs[i];
#define W section_where(c, i).text  // built only on the error paths
  const bool rela = rs.type == SHT_RELA;
  const uint64_t esz = rela ? sizeof(Rela) : sizeof(Rel);
  if (rs.entsize != esz) {
    return Error(Errc::kMalformed, "%s: entry size %#lx is not %#lx", W, rs.entsize, esz);
  }
  if (rs.size % esz != 0) {
    return Error(Errc::kMalformed, "%s: size %#lx is not a multiple of the entry size %#lx", W,
                 rs.size, esz);
  }
  if (rs.link != c.obj.symtab) {
    return Error(Errc::kMalformed, "%s: sh_link %u is not the symbol table (%s)", W, rs.link,
                 section_where(c, c.obj.symtab).text);
  }
  if (rs.info >= c.count) {
    return Error(Errc::kMalformed,
                 "%s: sh_info (target) %u is past the section table (%u sections)", W, rs.info,
                 c.count);
  }
  const Section& target = secs[rs.info];
  if (!relocatable_type(target.type, c.machine->machine)) {
    return Error(Errc::kMalformed, "%s: target %s has type %s, which cannot be relocated", W,
                 section_where(c, rs.info).text, section_type_name(target.type).text);
  }

  RelocSection out;
  out.index = i;
  out.target = rs.info;
  out.rela = rela;
  out.count = rs.size / esz;
  out.entries = rs.data;
  // The entries' types are gathered where each is first met (below). Until
  // the section passes, its list is marked incomplete (wide): a linker must
  // never take a partial list for the whole.
  out.wide_types = true;
  if (!c.obj.relocs.push(out)) {
    return Error(Errc::kNoMemory, "%s: out of memory for the relocation section list", W);
  }

  // The fast pass (scan()) checks every rule of check_entries() without the
  // messages, over the entries read in place: the hot path for large
  // modules, with no allocation. Where it stops, the entry is settled here:
  // a type met for the first time in this section gets its limit and the
  // scan goes on; an entry that breaks a rule goes to check_entries(), which
  // words the error exactly from there.
  RelocSection& done = c.obj.relocs.back();
  if (rs.data.size() / esz < out.count) {
    c.obj.reloc_uses_complete = false;
    return check_entries(c, i, 0);
  }
  const Entries in{rs.data.data(), esz, out.count};
  const uint64_t nsyms = c.obj.symbols.size();
  const uint64_t tsize = target.size;
  const bool loaded = target.alloc();
  uint64_t* const uses = c.obj.reloc_uses.data();
  Limits lim;
  if (out.count != 0) {
    uint64_t offset, info;
    in.read(0, &offset, &info);
    lim.base = rel_type(info) & ~uint32_t{63};
  }
  // Outside base 0, every entry of the section is a type >= 64, whose use
  // the record cannot hold (the first entry's at least, which either passes
  // or fails validation).
  const bool record = loaded && lim.base == 0;
  if (loaded && !record) c.obj.reloc_uses_complete = false;
  const bool check_unloaded = loaded && unloaded != nullptr;
  uint64_t types = 0;
  bool wide = false;
  for (uint64_t k = 0;; ++k) {
    k = check_unloaded ? (record ? scan<true, true>(in, k, lim, nsyms, unloaded, uses)
                                 : scan<true, false>(in, k, lim, nsyms, unloaded, uses))
        : record       ? scan<false, true>(in, k, lim, nsyms, unloaded, uses)
                       : scan<false, false>(in, k, lim, nsyms, unloaded, uses);
    if (k == out.count) {
      done.types = types;
      done.wide_types = wide;
      return Ok();
    }
    uint64_t offset, info;
    in.read(k, &offset, &info);
    const uint32_t type = rel_type(info);
    const uint32_t sym = rel_sym(info);
    const int width = verdicts.width(type);
    if (width < 0 || sym >= nsyms || !in_range(offset, static_cast<uint64_t>(width), tsize) ||
        (check_unloaded && unloaded[sym] != 0)) {
      c.obj.reloc_uses_complete = false;
      return check_entries(c, i, k);
    }
    // In range, so width <= tsize. Types outside the block keep slot 64's
    // 0 and are settled here entry by entry. Every type of the section
    // passes here at least once: its limit is 0 until it is first met.
    if (type < 64)
      types |= uint64_t{1} << type;
    else
      wide = true;
    const uint32_t t = lim.slot(type);
    if (t != Limits::kOutside) lim.limit[t] = tsize - static_cast<uint64_t>(width) + 1;
    if (loaded) {
      if (type < 64)
        uses[sym] |= uint64_t{1} << type;
      else
        c.obj.reloc_uses_complete = false;
    }
  }
#undef W
}

}  // namespace

Result<void> validate_groups(Context& c) {
  for (uint32_t i = 1; i < c.count; ++i) {
    if (c.obj.sections[i].type == SHT_GROUP) MK_TRY(check_group(c, i));
  }
  for (uint32_t i = 1; i < c.count; ++i) {
    const Section& s = c.obj.sections[i];
    if ((s.flags & SHF_GROUP) != 0 && s.group == 0) {
      return Error(Errc::kMalformed, "%s: SHF_GROUP is set but no group lists it",
                   section_where(c, i).text);
    }
  }
  return Ok();
}

Result<void> validate_relocs(Context& c) {
  if (!c.obj.reloc_uses.resize(c.obj.symbols.size())) {
    return Error(Errc::kNoMemory,
                 "symbol table: out of memory for the relocation uses (%zu symbols)",
                 c.obj.symbols.size());
  }
  c.obj.reloc_uses_complete = true;
  Verdicts verdicts(*c.machine);
  for (uint32_t i = 1; i < c.count; ++i) {
    const uint32_t type = c.obj.sections[i].type;
    if (type == SHT_REL || type == SHT_RELA)
      MK_TRY(check_reloc_section(c, i, verdicts, c.unloaded.empty() ? nullptr : c.unloaded.data()));
  }
  return Ok();
}

}  // namespace mk::elf::detail
