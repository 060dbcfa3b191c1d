// Phases "layout" and the definition half of "resolve": where every kept
// section goes in its class block, which COMDAT groups are kept, and what each
// object's symbols are defined as.
#include "elf/elf.h"
#include "link/link_job.h"
#include "support/checked.h"

namespace mk::link {

using namespace mk::elf;

namespace {

bool starts_with(const char* s, const char* prefix) {
  size_t n = mk_strlen(prefix);
  return mk_memcmp(s, prefix, n) == 0;
}

// Which class a loaded section belongs to, or kNotLoaded.
int8_t class_of(const Section& s) {
  if (!s.alloc()) return kNotLoaded;
  if ((s.flags & SHF_EXECINSTR) != 0) {
    // Only text the author marked init-only is released after init (the SDK's
    // __init puts it there). gcc's .text.startup holds main(): not init-only.
    return static_cast<int8_t>(starts_with(s.name, ".init.text") ? Class::kInitText : Class::kText);
  }
  if ((s.flags & SHF_WRITE) != 0) return static_cast<int8_t>(Class::kData);
  return static_cast<int8_t>(Class::kRodata);
}

bool is_eh_frame(const Section& s) {
  return str_eq(s.name, ".eh_frame");
}

}  // namespace

uint64_t LinkJob::reserve(Class c, uint64_t bytes, uint64_t al) {
  int i = static_cast<int>(c);
  uint64_t off = 0;
  (void)align_up(size[i], al, &off);  // sizes are bounded by kMaxImageSize: no overflow
  size[i] = off + bytes;
  if (al > align[i]) align[i] = al;
  return off;
}

Result<void> LinkJob::layout() {
  if (req.count == 0) return Error(Errc::kInvalid, "nothing to link: no objects given");
  if (!objs.reserve(req.count)) return Error(Errc::kNoMemory, "link: out of memory");
  NameTable signatures(alloc);
  uint64_t total = 0;
  for (size_t o = 0; o < req.count; ++o) {
    const ValidatedObject& obj = *req.objects[o];
    const arch::Machine* m = arch::machine_for(obj.machine->machine);
    if (m == nullptr)
      return Error(Errc::kUnsupported, "%s: no linker for machine %s", req_name(o),
                   obj.machine->name);
    if (machine == nullptr) machine = m;
    if (m != machine)
      return Error(Errc::kInvalid, "%s: machine %s differs from %s of the first object",
                   req_name(o), obj.machine->name, machine->rules.name);
    (void)objs.push(ObjState(alloc));  // reserved above
    ObjState& st = objs.back();
    st.obj = &obj;
    st.name = req_name(o);
    if (!st.place.resize(obj.sections.size()) || !st.syms.resize(obj.symbols.size()) ||
        !st.got.resize(obj.symbols.size()) || !st.inside.resize(obj.symbols.size()) ||
        !st.hashes.resize(obj.symbols.size() - obj.first_global))
      return Error(Errc::kNoMemory, "link: out of memory");

    // COMDAT: the first group with a given signature wins, the rest are discarded.
    for (const Group& g : obj.groups) {
      if (!g.comdat) continue;
      NameTable::Slot* seen = nullptr;
      if (!signatures.insert(g.signature, name_hash(g.signature), static_cast<uint32_t>(o), &seen))
        return Error(Errc::kNoMemory, "link: out of memory");
      if (seen == nullptr) continue;
      for (size_t i = 0; i < obj.group_size(g); ++i)
        st.place[obj.group_member(g, i)].cls = kDiscarded;
    }

    for (const Section& s : obj.sections) {
      SecPlace& p = st.place[s.index];
      if (p.cls == kDiscarded) continue;
      p.cls = class_of(s);
      if (p.cls == kNotLoaded) continue;
      if ((s.flags & SHF_TLS) != 0)
        return Error(Errc::kUnsupported,
                     "%s: section %u (%s) is thread-local storage, which modules cannot have",
                     st.name, s.index, s.name);
      uint64_t bytes = s.size;
      if (is_eh_frame(s)) bytes += 4;  // the zero terminator the unwinder stops at
      p.off = reserve(static_cast<Class>(p.cls), bytes, s.align);
      total += bytes;
    }

    const Section& symtab = obj.sections[obj.symtab];
    const Section& strtab = obj.sections[symtab.link];
    st.strtab = reinterpret_cast<const char*>(strtab.data.data());
    st.strtab_size = strtab.data.size();
    Ehdr eh;
    (void)obj.bytes.read(0, &eh);  // validated
    uint32_t shstrndx = eh.shstrndx == SHN_XINDEX ? obj.sections[0].link : eh.shstrndx;
    st.shstrtab = reinterpret_cast<const char*>(obj.sections[shstrndx].data.data());
    st.shstrtab_size = obj.sections[shstrndx].data.size();
  }
  if (total > kMaxImageSize)
    return Error(Errc::kNoMemory,
                 "link: the objects need 0x%lx bytes, more than the 0x%lx a file may have", total,
                 kMaxImageSize);
  got_off = reserve(Class::kRodata, 0, 8);  // GOT base: slots are appended in scan()
  return Ok();
}

// Inserts a global definition, applying the strong-over-weak rule.
Result<void> LinkJob::add_global(uint32_t o, uint32_t i) {
  ObjState& st = objs[o];
  const Symbol& s = st.obj->symbols[i];
  const uint32_t hash = name_hash(s.name);
  st.hashes[i - st.obj->first_global] = hash;
  NameTable::Slot* old = nullptr;
  uint32_t idx = static_cast<uint32_t>(defs.size());
  if (!defs.push(SlotUse{o, i}) || !globals.insert(s.name, hash, idx, &old))
    return Error(Errc::kNoMemory, "link: out of memory");
  if (old == nullptr) return Ok();
  defs.pop();
  SlotUse prev = defs[old->value];
  const Symbol& ps = objs[prev.obj].obj->symbols[prev.sym];
  if (s.shndx == SHN_COMMON) {
    // A tentative definition: merges into an earlier one (largest size and
    // alignment win), yields to a real one.
    if (ps.shndx != SHN_COMMON) return Ok();
    SymRef& pr = objs[prev.obj].syms[prev.sym];
    if (s.size > pr.size) pr.size = s.size;
    if (s.value > pr.value) pr.value = s.value;
    return Ok();
  }
  // The definition that loses is looked up by name (ref_of) when its own
  // object refers to it, so every reference binds to the winner.
  if (ps.bind == STB_WEAK && s.bind != STB_WEAK) {
    old->value = idx;
    (void)defs.push(SlotUse{o, i});  // the pop above left room
    objs[prev.obj].syms[prev.sym].resolved = false;
    return Ok();
  }
  if (ps.bind != STB_WEAK && s.bind != STB_WEAK)
    return Error(Errc::kDuplicate, "symbol `%s' is defined in both %s and %s", s.name,
                 obj_name(prev.obj), obj_name(o));
  objs[o].syms[i].resolved = false;
  return Ok();
}

// Definitions: locals and globals in kept sections, ABS, then COMMON (after
// every real definition, which wins over a tentative one).
Result<void> LinkJob::define() {
  // The globals' table sized once, for every non-local symbol (the
  // definitions among them, and the undefined ones, which it does not hold,
  // are not told apart here): no rehash while it fills.
  size_t globals_n = 0;
  for (const ObjState& st : objs)
    globals_n += st.obj->symbols.size() - st.obj->first_global;
  if (!globals.reserve(globals_n)) return Error(Errc::kNoMemory, "link: out of memory");
  bool any_common = false;  // the second pass, for COMMON symbols, only when there are some
  for (int pass = 0; pass < 2 && (pass == 0 || any_common); ++pass) {
    for (uint32_t o = 0; o < objs.size(); ++o) {
      ObjState& st = objs[o];
      const ValidatedObject& obj = *st.obj;
      // Locals: the loop's stores cannot change them.
      const Symbol* const syms = obj.symbols.begin();
      const uint32_t nsyms = static_cast<uint32_t>(obj.symbols.size());
      SymRef* const refs = st.syms.data();
      const SecPlace* const place = st.place.data();
      for (uint32_t i = 1; i < nsyms; ++i) {
        const Symbol& s = syms[i];
        bool common = s.shndx == SHN_COMMON;
        any_common |= common;
        if (s.shndx == SHN_UNDEF || (pass == 0) == common) continue;
        SymRef& r = refs[i];
        r.type = s.type;
        r.size = s.size;
        if (s.type == STT_GNU_IFUNC)
          return Error(Errc::kUnsupported,
                       "%s: symbol %u (%s) is an ifunc, which modules cannot define", st.name, i,
                       s.name);
        if (s.type == STT_TLS)
          return Error(Errc::kUnsupported,
                       "%s: symbol %u (%s) is thread-local, which modules cannot define", st.name,
                       i, s.name);
        if (common) {
          r.value = s.value;  // alignment, until placed below
        } else if (s.shndx == SHN_ABS) {
          r.value = s.value;
          r.cls = kAbsolute;
          r.resolved = true;
        } else {
          const SecPlace& p = place[s.shndx];
          if (p.cls == kDiscarded) {
            r.in_discarded = true;  // a global resolves by name to the kept copy
            continue;
          }
          r.resolved = true;
          if (p.cls == kNotLoaded) continue;  // e.g. in debug info: address 0
          r.cls = p.cls;
          r.value = p.off + s.value;
        }
        if (!s.local()) MK_TRY(add_global(o, i));
      }
    }
  }
  // The COMMON symbols that won take their space in the data block (as .bss).
  for (SlotUse d : defs) {
    const Symbol& s = objs[d.obj].obj->symbols[d.sym];
    if (s.shndx != SHN_COMMON) continue;
    SymRef& r = objs[d.obj].syms[d.sym];
    r.cls = static_cast<int8_t>(Class::kData);
    r.value = reserve(Class::kData, r.size, r.value == 0 ? 1 : r.value);
    r.resolved = true;
  }
  return Ok();
}

}  // namespace mk::link
