// Phases "resolve" (references), "stub sizing", "placement and allocation",
// "copy" and "apply".
#include "elf/elf.h"
#include "link/link_job.h"
#include "support/checked.h"
#include "support/type_cache.h"

namespace mk::link {

using namespace mk::elf;

namespace {

constexpr uint64_t kReach = uint64_t{1} << 31;  // +-2 GiB: 32-bit signed displacement
constexpr uint64_t kLowLimit = uint64_t{1} << 31;

// Stops at the first difference (never reads past the end of s).
bool has_prefix(const char* s, const char* prefix) {
  for (; *prefix != '\0'; ++s, ++prefix)
    if (*s != *prefix) return false;
  return true;
}

// The relocation kinds of the entry loops, cached by type (as TypeCache),
// with what the loops branch on kept in the cache itself (a slot's flags;
// the inline path's fast form, PC mask and bias in arrays by slot index): a
// loop reads the cache, not the kind.
class KindCache {
 public:
  enum : uint8_t {
    kHi = 1,     // Pair::kHi
    kLo = 2,     // Pair::kLo
    kPlain = 4,  // needs no GOT slot, no low placement: nothing to record
                 // for a symbol of the file itself
  };
  // How apply()'s inline path stores a kind (arch::apply_simple's formulas
  // on a little-endian host): a range-checked 32-bit field (signed or
  // unsigned: bias() tells), a 64-bit word, or kSlow, through apply_one().
  enum Fast : uint8_t { kSlow, kWord64, kField32 };
  // No member initializers: a slot is read only once fill() has written
  // every field (its tag says so), and a cache is built for every link,
  // however small (initializing the 64 slots cost the one-function load
  // about 500 instructions a cache).
  struct Slot {
    uint8_t flags;
    arch::Simple simple;  // the kind's
    const arch::RelocKind* kind;
  };
  explicit KindCache(const arch::Machine& m) : m_(m) {
    mk_memcpy(tags_, kEmptyTypeTags.tags, sizeof tags_);
  }
  // The index of the slot that holds type (filled the first time). A
  // size_t: the loops address the arrays with it as it is.
  size_t index(uint32_t type) {
    const size_t i = type & (kSlots - 1);
    if (tags_[i] != type) [[unlikely]]
      fill(static_cast<uint32_t>(i), type);
    return i;
  }
  const Slot& slot(size_t i) const { return slots_[i]; }
  // The inline form every type of `types` (bit t: type t) shares, fast,
  // PC mask and bias alike, in the slot of the lowest; or kNoForm when
  // they differ, when one is kSlow, or when there are none.
  static constexpr size_t kNoForm = SIZE_MAX;
  size_t uniform(uint64_t types) {
    size_t form = kNoForm;
    for (; types != 0; types &= types - 1) {
      const size_t k = index(static_cast<uint32_t>(__builtin_ctzll(types)));
      if (fast_[k] == kSlow) return kNoForm;
      if (form == kNoForm)
        form = k;
      else if (fast_[k] != fast_[form] || pc_mask_[k] != pc_mask_[form] || bias_[k] != bias_[form])
        return kNoForm;
    }
    return form;
  }
  const Slot& get(uint32_t type) { return slots_[index(type)]; }
  // What apply()'s inline path reads, by slot index, in arrays of their own:
  // the loop addresses each with the index itself (fields of a 24-byte slot
  // cost it an address computation each, per entry).
  Fast fast(size_t i) const { return fast_[i]; }
  uint64_t pc_mask(size_t i) const { return pc_mask_[i]; }  // ~0: S + A - P; 0: S + A
  // Added to a 32-bit kind's value, maps its range onto [0, 2^32): 2^31 for
  // a signed field, 0 for an unsigned one.
  uint64_t bias(size_t i) const { return bias_[i]; }

 private:
  static constexpr uint32_t kSlots = kTypeSlots;

  void fill(uint32_t i, uint32_t type) {
    const arch::RelocKind* k = m_.kind(type);  // validated: known
    tags_[i] = type;
    Slot& s = slots_[i];
    s.kind = k;
    s.simple = k->simple;
    s.flags = static_cast<uint8_t>(
        (k->pair == arch::Pair::kHi ? kHi : 0) | (k->pair == arch::Pair::kLo ? kLo : 0) |
        (k->need != arch::Need::kGot && k->reach != arch::Reach::kAbs32 ? kPlain : 0));
    Fast fast = kSlow;
    uint64_t pc_mask = 0, bias = 0;
    if (__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__ && k->pair == arch::Pair::kNone) {
      switch (k->simple) {
        case arch::Simple::kSAP64:
          pc_mask = ~uint64_t{0};
          [[fallthrough]];
        case arch::Simple::kSA64:
          fast = kWord64;
          break;
        case arch::Simple::kSAP32S:
          pc_mask = ~uint64_t{0};
          [[fallthrough]];
        case arch::Simple::kSA32S:
          fast = kField32;
          bias = uint64_t{1} << 31;
          break;
        case arch::Simple::kSA32U:
          fast = kField32;
          break;
        case arch::Simple::kNo:
          break;
      }
    }
    fast_[i] = fast;
    pc_mask_[i] = pc_mask;
    bias_[i] = bias;
  }

  const arch::Machine& m_;
  uint32_t tags_[kSlots];
  Fast fast_[kSlots];
  uint64_t pc_mask_[kSlots];
  uint64_t bias_[kSlots];
  Slot slots_[kSlots];
};

uint64_t sat_sub(uint64_t a, uint64_t b) {
  return a > b ? a - b : 0;
}
uint64_t sat_add(uint64_t a, uint64_t b) {
  return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

}  // namespace

uint64_t LinkJob::sec_addr(uint32_t o, uint32_t sec) const {
  const SecPlace& p = objs[o].place[sec];
  return p.cls < 0 ? 0 : file->blocks[p.cls].base + p.off;
}

const char* LinkJob::sym_label(uint32_t o, uint32_t s) const {
  const ValidatedObject& obj = *objs[o].obj;
  const Symbol& sym = obj.symbols[s];
  if (sym.type == STT_SECTION && sym.shndx < obj.sections.size())
    return obj.sections[sym.shndx].name;
  return sym.name;
}

// Resolves one referenced symbol the first time a relocation names it.
// quiet: a strong undefined symbol is not reported; it stays unresolved and
// the answer is nullptr (the scan by symbol leaves it to the scan by entry).
Result<SymRef*> LinkJob::ref_of(uint32_t o, uint32_t s, const RelocSection& rs, uint64_t roff,
                                bool quiet) {
  ObjState& st = objs[o];
  SymRef& r = st.syms[s];
  if (r.resolved) return &r;
  const Symbol& sym = st.obj->symbols[s];
  r.resolved = true;
  if (sym.local()) {
    // A local in a discarded COMDAT section: only unwind and debug data may
    // point there (their entries for the discarded copy become dead). That
    // includes the LSDAs in .gcc_except_table: riscv objects built with
    // linker relaxation leave their call-site ranges (label differences) to
    // the linker, as ADD/SUB pairs, even for a COMDAT function's LSDA.
    const Section& target = st.obj->sections[rs.target];
    if (str_eq(target.name, ".eh_frame") || !target.alloc() ||
        has_prefix(target.name, ".gcc_except_table"))
      return &r;
    return Error(Errc::kMalformed,
                 "%s: relocation at %s+%#lx refers to `%s', in a COMDAT group discarded "
                 "for another object's copy",
                 st.name, target.name, roff, sym_label(o, s));
  }
  uint32_t hash = name_hash(sym.name);
  if (NameTable::Slot* d = globals.find(sym.name, hash)) {
    SlotUse u = defs[d->value];
    r = objs[u.obj].syms[u.sym];
    r.in_discarded = false;
    return &r;
  }
  // The linker's own names both begin with '_': most names are spared the
  // two compares (each a strlen and a memcmp).
  if (sym.name[0] == '_' && str_eq(sym.name, "_GLOBAL_OFFSET_TABLE_")) {
    r.cls = static_cast<int8_t>(Class::kRodata);
    r.value = got_off;
    return &r;
  }
  if (sym.name[0] == '_' && str_eq(sym.name, "__dso_handle")) {
    if (!dso_used) dso_off = reserve(Class::kData, 8, 8);
    dso_used = true;
    r.cls = static_cast<int8_t>(Class::kData);
    r.value = dso_off;
    r.type = STT_OBJECT;
    r.size = 8;
    return &r;
  }
  NameTable::Slot* seen = nullptr;
  if (!looked_up.insert(sym.name, hash, static_cast<uint32_t>(outside.size()), &seen) ||
      (seen == nullptr && !outside.push(Outside{})))
    return Error(Errc::kNoMemory, "link: out of memory");
  uint32_t out_index = seen != nullptr ? seen->value : static_cast<uint32_t>(outside.size() - 1);
  Outside& out = outside[out_index];
  r.outside = out_index;
  out.label = sym.name;
  if (seen == nullptr && req.resolver != nullptr)
    out.found = req.resolver->resolve(sym.name, hash, &out.sym);
  if (out.found) {
    r.cls = kAbsolute;
    r.value = out.sym.addr;
    r.size = out.sym.size;
    r.type = out.sym.type;
    r.external = true;
    return &r;
  }
  if (sym.bind == STB_WEAK) {
    r.cls = kAbsolute;
    r.value = 0;  // weak undefined: address 0
    return &r;
  }
  // Strong and undefined: report it (once per name), keep scanning to report
  // all of them.
  if (quiet) {
    r.resolved = false;
    r.outside = UINT32_MAX;
    return static_cast<SymRef*>(nullptr);
  }
  if (out.reported) return &r;
  out.reported = true;
  const char* section = st.obj->sections[rs.target].name;
  if (req.on_unresolved != nullptr)
    req.on_unresolved(req.ctx, Unresolved{sym.name, st.name, section, roff});
  if (unresolved == 0) {
    first_unresolved = sym.name;
    first_unresolved_where = section;
    first_unresolved_off = roff;
    first_unresolved_obj = o;
  }
  ++unresolved;
  return &r;
}

// What one use of a symbol (by a relocation of kind k) asks of the link: a
// GOT slot, a stub, a copy, a low placement. The same for every use by the
// same kind, so the scan may call it once per (symbol, kind) or per entry.
// `rs` and `off` (the entry's place) only word the errors.
Result<void> LinkJob::note_use(uint32_t o, uint32_t sym, SymRef* ref, const arch::RelocKind* k,
                               const RelocSection& rs, uint64_t off) {
  ObjState& st = objs[o];
  const ValidatedObject& obj = *st.obj;
  Relocation rel{off, k->type, sym, 0};
  if (k->need == arch::Need::kGot && st.got[rel.sym] == 0) {
    if (!gots.push(SlotUse{o, rel.sym})) return Error(Errc::kNoMemory, "link: out of memory");
    st.got[rel.sym] = static_cast<uint32_t>(gots.size());
  }
  bool external = ref->cls == kAbsolute && ref->value != 0;
  Outside* out = ref->outside != UINT32_MAX ? &outside[ref->outside] : nullptr;
  bool stub = false;
  if (k->need == arch::Need::kBranch) {
    // Weak undefined (address 0) included: `if (f) f();` must link
    // wherever the file lands; the stub jumps to 0 as a native call would.
    stub = out != nullptr;
  } else if (k->need != arch::Need::kGot && k->reach == arch::Reach::kPcRel32 && external &&
             out != nullptr) {
    // Data must be reached directly (or copied, see below); a function's
    // address may be a stub. For one part of a multi-instruction
    // address (aarch64 ADRP, riscv AUIPC) the other parts must agree:
    // the stub becomes the function's address for the whole file.
    if (ref->type == STT_FUNC) {
      stub = true;
      if (k->pair != arch::Pair::kNone) out->canonical = true;
    } else {
      out->pcrel_data = true;
    }
  } else if (k->reach == arch::Reach::kAbs32) {
    if (ref->cls != kAbsolute) {
      if (!need_low) low_why = sym_label(o, rel.sym);
      need_low = true;
    } else if (external && !fits_unsigned(ref->value, 31)) {
      if (out == nullptr)
        return Error(Errc::kRange, "%s: %s at %s+%#lx: `%s' (at %#lx) does not fit 32 bits",
                     st.name, k->shape.name, obj.sections[rs.target].name, rel.offset,
                     sym_label(o, rel.sym), ref->value);
      if (ref->type == STT_FUNC) {
        // The file's own stub becomes the function's address for it,
        // as a PLT entry is in a non-PIC link; the stub must be low too.
        stub = out->canonical = true;
      } else if (out->sym.read_only && out->sym.size != 0) {
        out->copy = true;
      } else {
        return Error(Errc::kRange,
                     "%s: %s at %s+%#lx needs `%s' (at %#lx) in the low 2 GiB, and it is "
                     "writable data that cannot be copied there; rebuild the module with "
                     "-fPIC",
                     st.name, k->shape.name, obj.sections[rs.target].name, rel.offset,
                     sym_label(o, rel.sym), ref->value);
      }
      if (!need_low) low_why = sym_label(o, rel.sym);
      need_low = true;
    }
  }
  if (stub && out->stub == 0) {
    if (!stubs.push(ref->outside)) return Error(Errc::kNoMemory, "link: out of memory");
    out->stub = static_cast<uint32_t>(stubs.size());
  }
  return Ok();
}

// The scan by symbol: when the validator's record of what each symbol is
// used for (ValidatedObject::reloc_uses) is the whole story, each symbol
// that loaded sections' relocations name is resolved and noted once per
// kind, without reading the entries again. Only for the files where that
// gives what the scan by entry gives: every use recorded, nothing discarded
// (a discarded COMDAT copy's entries are skipped by section), no pair of
// kinds to count and no kind that makes placement or errors depend on the
// first entry (32-bit absolute). Returns false, having done nothing that
// the scan by entry would not redo the same way, when it cannot answer: the
// caller then scans by entry (a strong undefined symbol, whose report names
// its first reference, is left to it too).
Result<bool> LinkJob::scan_by_symbol() {
  uint64_t used = 0;
  for (const ObjState& st : objs) {
    const ValidatedObject& obj = *st.obj;
    if (!obj.reloc_uses_complete || obj.reloc_uses.size() != st.syms.size()) return false;
    for (const SecPlace& p : st.place)
      if (p.cls == kDiscarded) return false;
    for (uint64_t m : obj.reloc_uses)
      used |= m;
  }
  KindCache kinds(*machine);
  uint64_t plain = 0;  // the used kinds that ask nothing for a file's own symbol
  for (uint64_t m = used; m != 0; m &= m - 1) {
    const KindCache::Slot& ks = kinds.get(static_cast<uint32_t>(__builtin_ctzll(m)));
    const arch::RelocKind* k = ks.kind;
    if (k->pair == arch::Pair::kHi || k->pair == arch::Pair::kLo || k->reach == arch::Reach::kAbs32)
      return false;
    if ((ks.flags & KindCache::kPlain) != 0) plain |= m & -m;
  }
  for (uint32_t o = 0; o < objs.size(); ++o) {
    ObjState& st = objs[o];
    const ValidatedObject& obj = *st.obj;
    const RelocSection none;  // no entry: the errors that name one cannot happen here (above)
    for (uint32_t s = 1; s < st.syms.size(); ++s) {
      const uint64_t m = obj.reloc_uses[s];
      if (m == 0) continue;
      SymRef* ref = &st.syms[s];
      if (!ref->resolved) {
        ref = MK_TRY(ref_of(o, s, none, 0, /*quiet=*/true));
        if (ref == nullptr) return false;  // a strong undefined symbol
      }
      // As in the scan by entry: a symbol of the file itself, used only by
      // kinds with nothing to record, is done.
      if (ref->outside == UINT32_MAX && (m & ~plain) == 0) continue;
      for (uint64_t bits = m; bits != 0; bits &= bits - 1)
        MK_TRY(note_use(o, s, ref, kinds.get(static_cast<uint32_t>(__builtin_ctzll(bits))).kind,
                        none, 0));
    }
  }
  return true;
}

Result<void> LinkJob::scan() {
  // Room in the table of names from outside for as many as the objects have
  // globals (each undefined name is one), up to 32: a typical module's
  // imports need no rehash, and one with thousands of globals sets aside
  // no more than a small one.
  size_t globals_n = 0;
  for (const ObjState& st : objs)
    globals_n += st.obj->symbols.size() - st.obj->first_global;
  if (!looked_up.reserve(globals_n < 32 ? globals_n : 32))
    return Error(Errc::kNoMemory, "link: out of memory");
  if (!MK_TRY(scan_by_symbol())) MK_TRY(scan_by_entry());
  return finish_scan();
}

Result<void> LinkJob::scan_by_entry() {
  KindCache kinds(*machine);
  uint64_t his_n = 0, los_n = 0;  // in registers, stored once at the end
  for (uint32_t o = 0; o < objs.size(); ++o) {
    ObjState& st = objs[o];
    const ValidatedObject& obj = *st.obj;
    const uint8_t* const inside = st.inside.data();
    for (const RelocSection& rs : obj.relocs) {
      if (st.place[rs.target].cls < 0) continue;
      const uint64_t esz = rs.rela ? sizeof(Rela) : sizeof(Rel);
      const uint8_t* const entries = rs.entries.data();
      for (uint64_t i = 0; i < rs.count; ++i) {
        // Only r_info first (Rel and Rela begin alike; the scan needs no
        // addend, and the offset only for what it reports).
        uint64_t info;
        mk_memcpy(&info, entries + i * esz + offsetof(Rel, info), 8);
        const uint32_t sym = rel_sym(info);
        const KindCache::Slot& ks = kinds.get(rel_type(info));
        his_n += (ks.flags & KindCache::kHi) != 0;
        los_n += (ks.flags & KindCache::kLo) != 0;
        if (sym == 0) continue;
        // The common case: a symbol of the file itself, resolved by an
        // earlier reference, by a kind with nothing to record.
        if ((ks.flags & KindCache::kPlain) != 0 && inside[sym] != 0) continue;
        uint64_t offset;
        mk_memcpy(&offset, entries + i * esz + offsetof(Rel, offset), 8);
        SymRef* ref = &st.syms[sym];
        if (!ref->resolved) ref = MK_TRY(ref_of(o, sym, rs, offset, /*quiet=*/false));
        st.inside[sym] = ref->outside == UINT32_MAX;
        if ((ks.flags & KindCache::kPlain) != 0 && st.inside[sym] != 0) continue;
        MK_TRY(note_use(o, sym, ref, ks.kind, rs, offset));
      }
    }
  }
  hi_count = his_n;
  lo_count = los_n;
  return Ok();
}

// After either scan: the undefined symbols' error, then the space the scan
// asked for (GOT, stubs, copies) and the placement window's bounds.
Result<void> LinkJob::finish_scan() {
  if (unresolved == 1)
    return Error(Errc::kUnresolved, "undefined symbol `%s' (referenced from %s %s+%#lx)",
                 first_unresolved, obj_name(first_unresolved_obj), first_unresolved_where,
                 first_unresolved_off);
  if (unresolved > 1)
    return Error(Errc::kUnresolved,
                 "%u undefined symbols, the first `%s' (referenced from %s %s+%#lx)", unresolved,
                 first_unresolved, obj_name(first_unresolved_obj), first_unresolved_where,
                 first_unresolved_off);
  uint64_t got_at = reserve(Class::kRodata, gots.size() * 8, 8);
  if (got_at != got_off) got_off = got_at;  // nothing else is reserved in rodata after layout
  stub_off = reserve(Class::kText, stubs.size() * machine->stub_size, machine->stub_align);
  // Data read PC-relatively must be within reach. When the targets cannot
  // all be reached from one place (a low -fno-pic file; or host-program data
  // and library data more than 2 GiB apart), read-only targets (typeinfo,
  // vtables) become copies inside the file, as copy relocations would, and
  // only the writable ones constrain placement.
  uint64_t all_min = UINT64_MAX, all_max = 0;
  for (const Outside& out : outside) {
    if (!out.pcrel_data) continue;
    if (out.sym.addr < all_min) all_min = out.sym.addr;
    if (out.sym.addr > all_max) all_max = out.sym.addr;
  }
  bool spread = all_max > all_min && all_max - all_min >= (uint64_t{1} << 31) / 2;
  for (Outside& out : outside) {
    bool copyable = out.sym.read_only && out.sym.size != 0;
    if (out.copy || (out.pcrel_data && (need_low || spread) && copyable)) {
      out.copy = true;
      out.copy_off = reserve(Class::kRodata, out.sym.size, 16);
    } else if (out.pcrel_data) {
      if (out.sym.addr < tmin) tmin = out.sym.addr, tmin_name = out.label;
      if (out.sym.addr > tmax) tmax = out.sym.addr, tmax_name = out.label;
    }
  }
  return Ok();
}

// The window every block of the file must lie in: within reach of the data
// it reads PC-relatively, in the low 2 GiB if it has absolute 32-bit
// relocations to itself, and never wider than the machine's file_span (its
// own parts call each other without stubs: 2 GiB with x86_64 rel32 and riscv
// AUIPC+JALR, 127 MiB with aarch64 BL). The PC-relative reach of data is
// +-2 GiB on every machine (aarch64 ADRP reaches +-4 GiB: 2 is safe).
Result<Window> LinkJob::place() const {
  uint64_t total = 0;
  for (int c = 0; c < kClassCount; ++c)
    total = sat_add(total, sat_add(size[c], align[c]));
  uint64_t lo = 0, hi = UINT64_MAX, center = linker.home_;
  if (req.home != 0) center = req.home;
  if (tmax != 0) {
    lo = sat_add(sat_sub(tmax, kReach), total);
    hi = sat_sub(sat_add(tmin, kReach), total);
    center = tmin + (tmax - tmin) / 2;
    if (lo >= hi)
      return Error(Errc::kRange,
                   "no placement reaches both `%s' (%#lx) and `%s' (%#lx) with 32-bit "
                   "PC-relative references; rebuild the module with -fPIC",
                   tmin_name, tmin, tmax_name, tmax);
  }
  if (need_low) {
    if (hi > kLowLimit) hi = kLowLimit;
    if (tmax == 0) center = kLowLimit / 2;
    if (lo >= hi)
      return Error(Errc::kRange,
                   "the module has 32-bit absolute relocations (to `%s') and so must lie in the "
                   "low 2 GiB, but it reads `%s' at %#lx PC-relatively; rebuild it with -fPIC",
                   low_why, tmax_name, tmax);
  }
  const uint64_t span = machine->file_span / 2;
  Window w;
  w.lo = static_cast<uintptr_t>(sat_sub(center, span) > lo ? sat_sub(center, span) : lo);
  w.hi = static_cast<uintptr_t>(sat_add(center, span) < hi ? sat_add(center, span) : hi);
  return w;
}

Result<void> LinkJob::allocate(const Window& w) {
  for (int c = 0; c < kClassCount; ++c) {
    Result<Block> b = linker.arena_.allocate(w, static_cast<Class>(c), size[c], align[c]);
    if (!b) return b.error();
    file->blocks[c] = b.value();
    alias[c] = linker.arena_.alias(b.value());
  }
  return Ok();
}

void LinkJob::copy() {
  for (ObjState& st : objs) {
    for (const Section& s : st.obj->sections) {
      const SecPlace& p = st.place[s.index];
      // An empty section may lie in an empty block (no memory, alias 0).
      if (p.cls < 0 || s.size == 0) continue;
      uint8_t* dst = reinterpret_cast<uint8_t*>(alias[p.cls] + p.off);
      if (s.nobits())
        mk_memset(dst, 0, s.size);
      else
        mk_memcpy(dst, s.data.data(), s.size);
      if (str_eq(s.name, ".eh_frame")) mk_memset(dst + s.size, 0, 4);
    }
  }
  for (SlotUse d : defs) {
    const SymRef& r = objs[d.obj].syms[d.sym];
    if (objs[d.obj].obj->symbols[d.sym].shndx == SHN_COMMON && r.size != 0)
      mk_memset(reinterpret_cast<void*>(alias[r.cls] + r.value), 0, r.size);
  }
  if (dso_used) {
    uintptr_t data = alias[static_cast<int>(Class::kData)];
    mk_memset(reinterpret_cast<void*>(data + dso_off), 0, 8);
    file->set_dso_handle(static_cast<uint32_t>(dso_off));
  }
}

// Where one relocation section's entries land: hoisted out of the entry loop.
struct LinkJob::Place {
  uint8_t* write;  // the target section through the writable alias
  uint64_t run;    // the target section's executing address
  uint64_t got;    // the file's GOT base
};

Result<void> LinkJob::apply() {
  const uint64_t got_base = file->blocks[static_cast<int>(Class::kRodata)].base + got_off;
  if ((hi_count != 0 && !his.init(hi_count)) || !los.reserve(lo_count))
    return Error(Errc::kNoMemory, "link: out of memory for PC-relative pairs");
  // One pass over the entries: each is decoded once, its kind comes from the
  // cache, and only a failure (or a stub to fall back on) leaves the loop.
  KindCache kinds(*machine);
  for (uint32_t o = 0; o < objs.size(); ++o) {
    ObjState& st = objs[o];
    const ValidatedObject& obj = *st.obj;
    // Per symbol, S: its final address, computed once before the entry
    // loop, which then reads 8 bytes, not the symbol's SymRef, its Outside
    // and its block (kept in ObjState::addr for collect_symbols()).
    if (!st.addr.resize(st.syms.size())) return Error(Errc::kNoMemory, "link: out of memory");
    Vec<uint64_t>& fin = st.addr;
    bool discarded = false;  // a symbol in a discarded COMDAT copy: apply_one() handles it
    for (uint32_t s = 0; s < st.syms.size(); ++s) {
      const SymRef& ref = st.syms[s];
      fin[s] = s == 0 ? 0 : address(ref);
      discarded |= s != 0 && ref.in_discarded;
    }
    for (uint32_t r = 0; r < obj.relocs.size(); ++r) {
      const RelocSection& rs = obj.relocs[r];
      const SecPlace& tp = st.place[rs.target];
      if (tp.cls < 0) continue;
      const Block& b = file->blocks[tp.cls];
      const Place at{reinterpret_cast<uint8_t*>(alias[tp.cls] + tp.off), b.base + tp.off, got_base};
      // An entry the inline path leaves, or cannot store (out of range: a
      // stub to go through, or the error), takes the full path.
      auto full = [&](uint64_t i, const Relocation& rel,
                      const KindCache::Slot& ks) -> Result<void> {
        if ((ks.flags & KindCache::kLo) != 0) {
          (void)los.push(LoRef{o, r, i});  // reserved above
          return Ok();
        }
        if ((ks.flags & KindCache::kHi) == 0 && ks.simple == arch::Simple::kNo &&
            !(discarded && st.syms[rel.sym].in_discarded)) {
          arch::RelocValues v;
          v.S = fin[rel.sym];
          v.A = rel.addend;
          v.P = at.run + rel.offset;
          v.GOT = got_base;
          v.Z = st.syms[rel.sym].size;
          if (const uint32_t slot = st.got[rel.sym]; slot != 0)
            v.G = got_base + uint64_t{slot - 1} * 8;
          if (machine->apply(rel.type, at.write + rel.offset, rel.offset, v).status ==
              arch::ApplyStatus::kOk)
            return Ok();
        }
        return apply_one(o, rs, at, rel, *ks.kind);
      };
      if (!rs.rela || discarded) {
        for (uint64_t i = 0; i < rs.count; ++i) {
          const Relocation rel = obj.relocation(rs, i);
          const size_t k = kinds.index(rel.type);
          const KindCache::Slot& ks = kinds.slot(k);
          if (kinds.fast(k) != KindCache::kSlow && !(discarded && st.syms[rel.sym].in_discarded)) {
            arch::RelocValues v;
            v.S = fin[rel.sym];
            v.A = rel.addend;
            v.P = at.run + rel.offset;
            if (arch::apply_simple(ks.simple, at.write + rel.offset, v)) continue;
          }
          MK_TRY(full(i, rel, ks));
        }
        continue;
      }
      // The hot loops: RELA entries read in place, and the plain data
      // formulas (arch::apply_simple's) stored inline: S + A, less P for a
      // PC-relative kind, as a word or a range-checked 32-bit field. The
      // validator has checked every index, type and place.
      // Locals throughout: the stores are through a byte pointer, which may
      // alias anything in memory, so nothing the loops read may live there.
      // By pointer, to the end: an entry's index is needed only off the
      // inline path.
      const uint8_t* const first = rs.entries.data();
      const uint8_t* const end = first + rs.count * sizeof(Rela);
      const uint64_t run = at.run;
      uint8_t* const write = at.write;
      const uint64_t* const fp = fin.data();
      // An entry's three words, straight into registers (a whole-entry
      // copy through the stack stalls store forwarding on this hot path).
      auto read = [](const uint8_t* e, uint64_t* off, uint64_t* info, int64_t* addend) {
        mk_memcpy(off, e + offsetof(Rela, offset), 8);
        mk_memcpy(info, e + offsetof(Rela, info), 8);
        mk_memcpy(addend, e + offsetof(Rela, addend), 8);
      };
      auto leave = [&](const uint8_t* e, uint64_t off, uint64_t info, int64_t addend) {
        return full(static_cast<uint64_t>(e - first) / sizeof(Rela),
                    Relocation{off, rel_type(info), rel_sym(info), addend},
                    kinds.slot(kinds.index(rel_type(info))));
      };
      // A section whose entries' types all take one inline form (the
      // validator lists the types: x86_64's text has PC32 and PLT32, its
      // data 64) runs a loop of that form alone, with no per-entry lookup
      // of the kind: about a third fewer instructions an entry.
      auto one_form = [&]<KindCache::Fast kFast, bool kPc>() -> Result<void> {
        for (const uint8_t* e = first; e != end; e += sizeof(Rela)) {
          uint64_t off, info;
          int64_t addend;
          read(e, &off, &info, &addend);
          uint64_t x = fp[rel_sym(info)] + static_cast<uint64_t>(addend);
          if constexpr (kPc) x -= run + off;
          if constexpr (kFast == KindCache::kWord64) {
            mk_memcpy(write + off, &x, 8);
          } else {
            // A signed field: -2^31 <= x < 2^31.
            if (((x + (uint64_t{1} << 31)) >> 32) == 0) [[likely]] {
              const uint32_t x32 = static_cast<uint32_t>(x);
              mk_memcpy(write + off, &x32, 4);
              continue;
            }
            MK_TRY(leave(e, off, info, addend));
          }
        }
        return Ok();
      };
      const size_t form = rs.wide_types ? KindCache::kNoForm : kinds.uniform(rs.types);
      if (form != KindCache::kNoForm) {
        const KindCache::Fast f = kinds.fast(form);
        const uint64_t pc = kinds.pc_mask(form), bias = kinds.bias(form);
        if (f == KindCache::kField32 && pc != 0 && bias != 0) {
          MK_TRY((one_form.template operator()<KindCache::kField32, true>()));
          continue;
        }
        if (f == KindCache::kWord64 && pc == 0) {
          MK_TRY((one_form.template operator()<KindCache::kWord64, false>()));
          continue;
        }
      }
      // Mixed forms: the kind by entry.
      for (const uint8_t* e = first; e != end; e += sizeof(Rela)) {
        uint64_t off, info;
        int64_t addend;
        read(e, &off, &info, &addend);
        const size_t k = kinds.index(rel_type(info));
        const KindCache::Fast fast = kinds.fast(k);
        // Worked out before the kind is known to be inline: for any other,
        // the PC mask is 0 and the symbol's address a valid read, and the
        // value goes unused.
        const uint64_t x =
            fp[rel_sym(info)] + static_cast<uint64_t>(addend) - ((run + off) & kinds.pc_mask(k));
        if (fast == KindCache::kField32) [[likely]] {
          // int32: -2^31 <= x < 2^31; uint32: x < 2^32 (one compare, biased).
          if (((x + kinds.bias(k)) >> 32) == 0) [[likely]] {
            const uint32_t x32 = static_cast<uint32_t>(x);
            mk_memcpy(write + off, &x32, 4);
            continue;
          }
        } else if (fast == KindCache::kWord64) {
          mk_memcpy(write + off, &x, 8);
          continue;
        }
        MK_TRY(leave(e, off, info, addend));
      }
    }
  }
  // Every high part is known now, wherever it was.
  for (const LoRef& l : los) {
    const RelocSection& rs = objs[l.obj].obj->relocs[l.rs];
    const SecPlace& tp = objs[l.obj].place[rs.target];
    const Block& b = file->blocks[tp.cls];
    const Place at{reinterpret_cast<uint8_t*>(alias[tp.cls] + tp.off), b.base + tp.off, got_base};
    const Relocation rel = objs[l.obj].obj->relocation(rs, l.i);
    MK_TRY(apply_one(l.obj, rs, at, rel, *kinds.get(rel.type).kind));
  }
  return Ok();
}

// One entry on the full path, for what apply()'s loop leaves: a discarded
// target, the high part of a pair (its value is recorded), a low part, and an
// entry the loop could not apply (a stub to retry through, or the failure to
// report, out of line in apply_failed()).
Result<void> LinkJob::apply_one(uint32_t o, const RelocSection& rs, const Place& at,
                                const Relocation& rel, const arch::RelocKind& k) {
  ObjState& st = objs[o];
  const SymRef& ref = st.syms[rel.sym];
  if (rel.sym != 0 && ref.in_discarded) {
    // An .eh_frame entry for a discarded COMDAT copy (ref_of allows no
    // other): its address field stays 0, which unwinders skip.
    mk_memset(at.write + rel.offset, 0, k.shape.width);
    return Ok();
  }
  arch::RelocValues v;
  v.S = rel.sym == 0 ? 0 : address(ref);
  v.A = rel.addend;
  v.P = at.run + rel.offset;
  v.GOT = at.got;
  v.Z = ref.size;
  if (uint32_t slot = st.got[rel.sym]; slot != 0) v.G = at.got + uint64_t{slot - 1} * 8;
  if (k.pair == arch::Pair::kLo) {
    // S + A is the place of the high part this low part completes.
    const int64_t* h = hi_count != 0 ? his.find(v.S + static_cast<uint64_t>(v.A)) : nullptr;
    if (h == nullptr) return apply_failed(o, rs, rel, k, v, {arch::ApplyStatus::kOk, 0});
    v.H = *h;
  }
  arch::ApplyResult res = machine->apply(rel.type, at.write + rel.offset, rel.offset, v);
  if (res.status != arch::ApplyStatus::kOk) [[unlikely]] {
    if (res.status != arch::ApplyStatus::kOverflow || k.pair != arch::Pair::kNone ||
        ref.outside == UINT32_MAX || outside[ref.outside].stub == 0)
      return apply_failed(o, rs, rel, k, v, res);
    // Out of reach: go through this file's stub for the symbol. (Never for
    // one part of a pair: its other parts would still use S.)
    v.S = stub_address(outside[ref.outside]);
    if (outside[ref.outside].stub > stubs_taken) stubs_taken = outside[ref.outside].stub;
    res = machine->apply(rel.type, at.write + rel.offset, rel.offset, v);
    if (res.status != arch::ApplyStatus::kOk) return apply_failed(o, rs, rel, k, v, res);
  }
  if (k.pair == arch::Pair::kHi) his.put(v.P, res.value);
  return Ok();
}

// The error for a relocation that could not be applied. res.status kOk
// means a riscv %pcrel_lo found no high part at S + A.
Error LinkJob::apply_failed(uint32_t o, const RelocSection& rs, const Relocation& rel,
                            const arch::RelocKind& k, const arch::RelocValues& v,
                            arch::ApplyResult res) const {
  const ObjState& st = objs[o];
  const char* target = st.obj->sections[rs.target].name;
  if (res.status == arch::ApplyStatus::kOk)
    return Error(Errc::kMalformed,
                 "%s: relocation %s at %s+%#lx refers to `%s' at %#lx, where no relocation "
                 "computes the high part it pairs with (a %%pcrel_lo without its %%pcrel_hi)",
                 st.name, k.shape.name, target, rel.offset, sym_label(o, rel.sym),
                 v.S + static_cast<uint64_t>(v.A));
  const char* why = "out of range";
  switch (res.status) {
    case arch::ApplyStatus::kMisaligned:
      why = "misaligned";
      break;
    case arch::ApplyStatus::kNoGot:
      why = "without a GOT slot";
      break;
    case arch::ApplyStatus::kBadInsn:
      why = "on an instruction it cannot patch";
      break;
    default:
      break;
  }
  bool pic_hint = k.reach == arch::Reach::kPcRel32 || k.reach == arch::Reach::kAbs32;
  return Error(Errc::kRange, "%s: relocation %s at %s+%#lx to `%s' %s (value %#lx)%s", st.name,
               k.shape.name, target, rel.offset, sym_label(o, rel.sym), why,
               static_cast<uint64_t>(res.value), pic_hint ? "; rebuild the module with -fPIC" : "");
}

// Fills the GOT slots and writes the stubs the scan asked for.
void LinkJob::fill_slots() {
  const uintptr_t ro = alias[static_cast<int>(Class::kRodata)];
  for (size_t k = 0; k < gots.size(); ++k) {
    uint64_t addr = address(objs[gots[k].obj].syms[gots[k].sym]);
    mk_memcpy(reinterpret_cast<void*>(ro + got_off + k * 8), &addr, 8);
  }
  const Block& text = file->blocks[static_cast<int>(Class::kText)];
  for (size_t k = 0; k < stubs.size(); ++k) {
    uint64_t off = stub_off + k * machine->stub_size;
    machine->write_stub(reinterpret_cast<uint8_t*>(alias[static_cast<int>(Class::kText)] + off),
                        text.base + off,
                        outside[stubs[k]].sym.addr);  // the real target, never the stub
  }
  for (const Outside& out : outside) {
    if (out.copy)
      mk_memcpy(reinterpret_cast<void*>(ro + out.copy_off),
                reinterpret_cast<const void*>(out.sym.addr), out.sym.size);
  }
}

}  // namespace mk::link
