#include "hosted/gdb_jit.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include <memory>
#include <mutex>
#include <new>
#include <string>
#include <unordered_map>
#include <vector>

#include "arch/machine.h"
#include "elf/elf.h"

// ---- the interface gdb knows by name (gdb/jit.h) ----

extern "C" {

enum jit_actions_t : uint32_t { JIT_NOACTION = 0, JIT_REGISTER_FN, JIT_UNREGISTER_FN };

struct jit_code_entry {
  jit_code_entry* next_entry;
  jit_code_entry* prev_entry;
  const char* symfile_addr;
  uint64_t symfile_size;
};

struct jit_descriptor {
  uint32_t version;  // 1
  uint32_t action_flag;
  jit_code_entry* relevant_entry;
  jit_code_entry* first_entry;
};

// gdb breaks here: it must be a real, called function whose call the
// compiler cannot drop or merge (noinline, and an asm it cannot see through).
__attribute__((noinline, used, visibility("default"))) void __jit_debug_register_code() {
  __asm__ volatile("" ::: "memory");
}

// gdb reads this at attach and whenever the function above is called.
__attribute__((used, visibility("default")))
jit_descriptor __jit_debug_descriptor = {1, JIT_NOACTION, nullptr, nullptr};

}  // extern "C"

namespace mk::hosted {

// The entry and its image are one allocation: the image follows the entry.
struct GdbJitEntry {
  jit_code_entry entry{};
};
static_assert(sizeof(GdbJitEntry) % 8 == 0, "the image after the entry is 8-aligned");

namespace {

std::mutex g_jit_mu;  // the descriptor and the list: one change at a time
size_t g_jit_count = 0;

using namespace mk::elf;

bool starts_with(const char* s, const char* prefix) {
  return strncmp(s, prefix, strlen(prefix)) == 0;
}

// One debug section of the output: the same-named sections of the inputs,
// concatenated in input order.
struct DebugSection {
  std::string name;
  uint32_t type = SHT_PROGBITS;
  uint64_t flags = 0;
  uint64_t entsize = 0;
  std::vector<uint8_t> bytes;
};

// Where an input debug section went.
struct Piece {
  int32_t section = -1;  // index into the DebugSection list; -1: not carried
  uint64_t base = 0;     // its offset there
};

class DebugBuilder {
 public:
  DebugBuilder(const link::LinkerFile& f, const ValidatedObject* const* objs, size_t n)
      : file_(f), objs_(objs), n_(n), loaded_(n), pieces_(n) {}

  // Collects and relocates the debug sections; false when they cannot be
  // carried (the caller then registers symbols only).
  bool build() {
    for (size_t o = 0; o < n_; ++o) {
      loaded_[o].assign(objs_[o]->sections.size(), -1);
      pieces_[o].assign(objs_[o]->sections.size(), Piece{});
    }
    const Span<const link::FileSection> secs = file_.sections();
    for (size_t k = 0; k < secs.size(); ++k) {
      const link::FileSection& s = secs[k];
      if (s.object < n_ && s.index < loaded_[s.object].size())
        loaded_[s.object][s.index] = static_cast<int32_t>(k);
    }
    for (size_t o = 0; o < n_; ++o) {
      const ValidatedObject& obj = *objs_[o];
      for (const Section& s : obj.sections) {
        if (s.alloc() || s.type != SHT_PROGBITS || !starts_with(s.name, ".debug_")) continue;
        if ((s.flags & SHF_COMPRESSED) != 0) return false;
        if (s.group != 0 && !group_kept(obj, o, s.group)) continue;
        int32_t d = section_named(s);
        DebugSection& ds = sections[d];
        pieces_[o][s.index] = Piece{d, ds.bytes.size()};
        ds.bytes.insert(ds.bytes.end(), s.data.data(), s.data.data() + s.data.size());
      }
    }
    for (size_t o = 0; o < n_; ++o)
      if (!relocate(o)) return false;
    return true;
  }

  std::vector<DebugSection> sections;

 private:
  // A COMDAT group's debug sections come with its code: kept when one of the
  // group's loaded members is in the file.
  bool group_kept(const ValidatedObject& obj, size_t o, uint32_t group) const {
    for (const Group& g : obj.groups) {
      if (g.section != group) continue;
      for (size_t i = 0; i < obj.group_size(g); ++i) {
        uint32_t m = obj.group_member(g, i);
        if (m < loaded_[o].size() && loaded_[o][m] >= 0) return true;
      }
    }
    return false;
  }

  int32_t section_named(const Section& s) {
    for (size_t i = 0; i < sections.size(); ++i)
      if (sections[i].name == s.name) return static_cast<int32_t>(i);
    DebugSection d;
    d.name = s.name;
    d.flags = s.flags & (SHF_MERGE | SHF_STRINGS);
    d.entsize = s.entsize;
    sections.push_back(std::move(d));
    return static_cast<int32_t>(sections.size() - 1);
  }

  // The file's own definition of a global name (after weak/COMDAT choice).
  bool global_address(const char* name, uint64_t* addr) {
    if (globals_.empty()) {
      for (const link::FileSymbol& s : file_.symbols()) {
        if (s.bind == STB_LOCAL || s.visibility == STV_HIDDEN || s.visibility == STV_INTERNAL)
          continue;
        auto [it, fresh] = globals_.emplace(s.name, &s);
        if (!fresh && it->second->bind == STB_WEAK && s.bind != STB_WEAK) it->second = &s;
      }
      globals_.emplace("", nullptr);  // built, even for a file without globals
    }
    auto it = globals_.find(name);
    if (it == globals_.end() || it->second == nullptr) return false;
    *addr = it->second->addr;
    return true;
  }

  // S for a relocation in debug info; false: the target is gone (discarded
  // or not loaded), and the tombstone is written instead.
  bool symbol_value(size_t o, uint32_t index, uint64_t* S) {
    const ValidatedObject& obj = *objs_[o];
    const Symbol& sym = obj.symbols[index];
    *S = 0;
    if (index == 0) return true;
    if (sym.shndx == SHN_ABS) {
      *S = sym.value;
      return true;
    }
    bool by_name = sym.type != STT_SECTION && !sym.local() && sym.name[0] != '\0';
    if (by_name && global_address(sym.name, S)) return true;
    if (sym.shndx == SHN_UNDEF || sym.shndx == SHN_COMMON) return false;
    int32_t k = loaded_[o][sym.shndx];
    if (k >= 0) {
      *S = file_.sections()[k].addr + sym.value;
      return true;
    }
    const Piece& p = pieces_[o][sym.shndx];
    if (p.section >= 0) {
      *S = p.base + sym.value;
      return true;
    }
    return false;
  }

  bool relocate(size_t o) {
    const ValidatedObject& obj = *objs_[o];
    const arch::Machine* m = arch::machine_for(obj.machine->machine);
    if (m == nullptr) return false;
    for (const RelocSection& rs : obj.relocs) {
      const Piece& target = pieces_[o][rs.target];
      if (target.section < 0) continue;
      DebugSection& ds = sections[target.section];
      bool tombstone_one = ds.name == ".debug_ranges" || ds.name == ".debug_loc";
      for (uint64_t i = 0; i < rs.count; ++i) {
        Relocation r = obj.relocation(rs, i);
        const arch::RelocKind* kind = m->kind(r.type);
        if (kind == nullptr || kind->need != arch::Need::kNone) return false;
        arch::RelocValues v;
        if (!symbol_value(o, r.sym, &v.S)) {
          v.S = tombstone_one ? 1 : 0;
          r.addend = 0;
        }
        v.A = r.addend;
        uint64_t at = target.base + r.offset;  // debug sections live at address 0
        v.P = at;
        arch::ApplyResult res = m->apply(r.type, ds.bytes.data() + at, at, v);
        if (res.status != arch::ApplyStatus::kOk) return false;
      }
    }
    return true;
  }

  const link::LinkerFile& file_;
  const ValidatedObject* const* objs_;
  size_t n_;
  std::vector<std::vector<int32_t>> loaded_;  // per object, per section: file section or -1
  std::vector<std::vector<Piece>> pieces_;    // per object, per section
  std::unordered_map<std::string, const link::FileSymbol*> globals_;
};

}  // namespace

namespace {

// A range of the file's memory the object describes: a run of loaded
// sections of one class, in address order (SHT_NOBITS: gdb reads those
// bytes from the process), or one .eh_frame (its bytes copied).
struct Range {
  uint64_t addr;
  uint64_t end;
  uint32_t first;  // the file section that opened it
  link::Class cls;
  bool eh_frame;
  bool kept;       // described in the image
  uint32_t shndx;  // its section index there
};

// .strtab (which is also the image's .shstrtab) starts with the names of
// the two tables; the names of the other sections follow, each once, only
// when the image has such a section.
constexpr char kTableNames[] = "\0.symtab\0.strtab";
constexpr uint32_t kSymtabName = 1, kStrtabName = 9;
static_assert(sizeof kTableNames == 17);
constexpr char kEhFrameName[] = ".eh_frame";

const char* class_section_name(link::Class c) {
  switch (c) {
    case link::Class::kText:
      return ".text";
    case link::Class::kRodata:
      return ".rodata";
    case link::Class::kData:
      return ".data";
    default:
      return ".init.text";
  }
}

uint64_t class_flags(link::Class c) {
  switch (c) {
    case link::Class::kText:
    case link::Class::kInitText:
      return SHF_ALLOC | SHF_EXECINSTR;
    case link::Class::kData:
      return SHF_ALLOC | SHF_WRITE;
    default:
      return SHF_ALLOC;
  }
}

bool has_debug_sections(const ValidatedObject* const* objects, size_t count) {
  for (size_t o = 0; o < count; ++o)
    for (const Section& s : objects[o]->sections)
      if (!s.alloc() && s.type == SHT_PROGBITS && starts_with(s.name, ".debug_")) return true;
  return false;
}

uint64_t round_up(uint64_t n, uint64_t al) {
  return (n + al - 1) & ~(al - 1);
}

// The ranges of one file, grouped by class (kText, kInitText, kRodata,
// kData), each group in address order. Sections of one class are listed in
// address order: the layout reserves them in that order. Each section lies in
// exactly one range (the run it joined, or its own .eh_frame), recorded as it
// is built: a symbol finds its range through its section, with no search.
class Ranges {
 public:
  explicit Ranges(size_t sections) {
    if (sections > kLocal) {
      spill_.reset(new (std::nothrow) Range[sections]);
      spill_of_.reset(new (std::nothrow) uint32_t[sections]);
      at_ = spill_.get();
      of_ = spill_of_.get();
    }
  }
  bool ok() const { return at_ != nullptr && of_ != nullptr; }

  void build(const link::LinkerFile& file, const ValidatedObject* const* objects) {
    static constexpr link::Class kOrder[] = {link::Class::kText, link::Class::kInitText,
                                             link::Class::kRodata, link::Class::kData};
    const Span<const link::FileSection> secs = file.sections();
    for (link::Class c : kOrder) {
      Range* run = nullptr;
      for (uint32_t k = 0; k < secs.size(); ++k) {
        const link::FileSection& s = secs[k];
        if (s.cls != c) continue;
        bool eh = s.size != 0 && strcmp(s.name, ".eh_frame") == 0 &&
                  !objects[s.object]->sections[s.index].nobits();
        if (eh || run == nullptr) {
          at_[n_] = Range{s.addr, s.addr + s.size, k, c, eh, eh, 0};
          run = eh ? nullptr : &at_[n_];
          of_[k] = n_++;
          continue;
        }
        of_[k] = static_cast<uint32_t>(run - at_);
        if (s.addr + s.size > run->end) run->end = s.addr + s.size;
      }
    }
  }

  // The range that holds section k of the file.
  Range& of_section(uint32_t k) { return at_[of_[k]]; }

  Range* begin() { return at_; }
  Range* end() { return at_ + n_; }

 private:
  static constexpr size_t kLocal = 16;
  Range local_[kLocal];
  uint32_t local_of_[kLocal];
  std::unique_ptr<Range[]> spill_;
  std::unique_ptr<uint32_t[]> spill_of_;
  Range* at_ = local_;
  uint32_t* of_ = local_of_;
  uint32_t n_ = 0;
};

}  // namespace

GdbJitEntry* build_debug_object(const link::LinkerFile& file, const ValidatedObject* const* objects,
                                size_t count) {
  if (count == 0) return nullptr;
  Ranges ranges(file.sections().size());
  if (!ranges.ok()) return nullptr;
  ranges.build(file, objects);

  // Debug info, only when an input has some (the common case, none, costs
  // no allocation here).
  std::unique_ptr<DebugBuilder> debug;
  if (has_debug_sections(objects, count)) {
    debug.reset(new (std::nothrow) DebugBuilder(file, objects, count));
    if (debug == nullptr) return nullptr;
    if (!debug->build()) debug.reset();  // not carried: symbols still are
  }

  // Which ranges are described: each .eh_frame, each run a symbol lies in,
  // and with debug info every run that has bytes (its variables and code
  // are found by address).
  // The symbols' names are the file's own copies, one after another (the
  // contract, gdb_jit.h): the image's string table takes them in one piece,
  // from the first to the end of the file's names (with any section names
  // among them), rather than measuring and copying each.
  const char* names_end = file.symbols().empty() ? nullptr : file.names_end();
  const char* names_from = names_end;
  size_t nsyms = file.symbols().size(), nlocals = 0, names = sizeof kTableNames;
  for (const link::FileSymbol& s : file.symbols()) {
    nlocals += s.bind == STB_LOCAL;
    assert(reinterpret_cast<uintptr_t>(s.name) >=
               reinterpret_cast<uintptr_t>(file.sections().data()) &&
           s.name < names_end && "a symbol's name is not the file's own copy");
    if (s.name < names_from) names_from = s.name;
    if (s.section != UINT32_MAX) ranges.of_section(s.section).kept = true;
  }
  names += static_cast<size_t>(names_end - names_from);
  uint32_t shnum = 1;
  uint64_t at = sizeof(Ehdr);
  // The offset of each section name in .strtab, once it is placed (0: not yet).
  uint32_t class_name_at[link::kClassCount] = {}, eh_name_at = 0;
  bool class_named[link::kClassCount] = {}, eh_named = false;
  for (Range& r : ranges) {
    if (debug != nullptr && r.end > r.addr) r.kept = true;
    if (!r.kept) continue;
    r.shndx = shnum++;
    if (r.eh_frame) {
      at = round_up(at, 8) + (r.end - r.addr);
      if (!eh_named) names += sizeof kEhFrameName;
      eh_named = true;
    } else if (!class_named[static_cast<int>(r.cls)]) {
      class_named[static_cast<int>(r.cls)] = true;
      names += strlen(class_section_name(r.cls)) + 1;
    }
  }
  if (debug != nullptr) {
    for (const DebugSection& d : debug->sections) {
      ++shnum;
      at += d.bytes.size();
      names += d.name.size() + 1;
    }
  }
  uint32_t symtab_index = shnum++, strtab_index = shnum++;
  if (shnum >= SHN_LORESERVE) return nullptr;  // more ranges than an ELF header can count
  uint64_t symtab_off = round_up(at, 8);
  uint64_t strtab_off = symtab_off + (nsyms + 1) * sizeof(Sym);
  uint64_t shoff = round_up(strtab_off + names, 8);
  uint64_t total = shoff + uint64_t{shnum} * sizeof(Shdr);

  // One allocation: the list entry gdb walks, then the image. Every byte of
  // the image is written below, each once (no clearing of the whole image
  // first: .symtab, .strtab and the copied sections make up most of it).
  void* mem = malloc(sizeof(GdbJitEntry) + total);
  if (mem == nullptr) return nullptr;
  auto* e = new (mem) GdbJitEntry{};
  uint8_t* img = reinterpret_cast<uint8_t*>(e + 1);
  e->entry.symfile_addr = reinterpret_cast<const char*>(img);
  e->entry.symfile_size = total;

  auto* sh = reinterpret_cast<Shdr*>(img + shoff);
  memset(sh, 0, uint64_t{shnum} * sizeof(Shdr));
  char* strtab = reinterpret_cast<char*>(img + strtab_off);
  memcpy(strtab, kTableNames, sizeof kTableNames);
  uint32_t name_at = sizeof kTableNames;
  auto add_name = [&](const char* name, size_t n) {
    uint32_t off = name_at;
    memcpy(strtab + off, name, n);
    strtab[off + n] = '\0';
    name_at += static_cast<uint32_t>(n + 1);
    return off;
  };
  // Zero bytes from `at` up to `to` (alignment padding).
  auto pad_to = [&](uint64_t to) {
    if (to > at) memset(img + at, 0, to - at);
    at = to;
  };

  at = sizeof(Ehdr);
  for (const Range& r : ranges) {
    if (!r.kept) continue;
    Shdr& h = sh[r.shndx];
    h.flags = class_flags(r.cls);
    h.addr = r.addr;
    h.size = r.end - r.addr;
    h.addralign = 1;
    if (r.eh_frame) {
      // The final bytes, relocated for where the file is: gdb's unwinder
      // reads CFI from its symbol files, not from the unwinder we fed.
      const link::FileSection& s = file.sections()[r.first];
      if (eh_name_at == 0) eh_name_at = add_name(kEhFrameName, sizeof kEhFrameName - 1);
      h.name = eh_name_at;
      h.type = objects[s.object]->sections[s.index].type;
      h.addralign = 8;
      pad_to(round_up(at, 8));
      h.offset = at;
      memcpy(img + at, reinterpret_cast<const void*>(r.addr), h.size);
      at += h.size;
    } else {
      uint32_t& n = class_name_at[static_cast<int>(r.cls)];
      if (n == 0) {
        const char* name = class_section_name(r.cls);
        n = add_name(name, strlen(name));
      }
      h.name = n;
      h.type = SHT_NOBITS;
      h.offset = at;
    }
  }
  if (debug != nullptr) {
    uint32_t k = 0;
    for (const DebugSection& d : debug->sections) {
      Shdr& h = sh[symtab_index - debug->sections.size() + k++];
      h.name = add_name(d.name.c_str(), d.name.size());
      h.type = d.type;
      h.flags = d.flags;
      h.entsize = d.entsize;
      h.addralign = 1;
      h.offset = at;
      h.size = d.bytes.size();
      if (!d.bytes.empty()) memcpy(img + at, d.bytes.data(), d.bytes.size());
      at += d.bytes.size();
    }
  }
  pad_to(symtab_off);

  // Symbols: locals first (the gABI's rule), section-relative as an ET_REL
  // wants, each against the range that holds its section. One pass: the
  // globals start after the nlocals locals. The names are in the piece
  // copied first.
  auto* syms = reinterpret_cast<Sym*>(img + symtab_off);
  memset(syms, 0, sizeof(Sym));  // the null symbol
  Sym* local = syms + 1;
  Sym* global = syms + 1 + nlocals;
  const uint32_t piece_at = name_at;
  if (names_from != names_end) {
    memcpy(strtab + name_at, names_from, static_cast<size_t>(names_end - names_from));
    name_at += static_cast<uint32_t>(names_end - names_from);
  }
  for (const link::FileSymbol& s : file.symbols()) {
    Sym y;
    y.name = piece_at + static_cast<uint32_t>(s.name - names_from);
    y.info = static_cast<uint8_t>((s.bind << 4) | (s.type & 0xf));
    y.other = s.visibility & 3;
    y.shndx = SHN_ABS;
    y.value = s.addr;
    y.size = s.size;
    if (s.section != UINT32_MAX) {
      const Range& r = ranges.of_section(s.section);
      y.shndx = static_cast<uint16_t>(r.shndx);
      y.value = s.addr - r.addr;
    }
    *(s.bind == STB_LOCAL ? local++ : global++) = y;
  }
  at = strtab_off + names;
  pad_to(shoff);

  Shdr& symtab = sh[symtab_index];
  symtab.name = kSymtabName;
  symtab.type = SHT_SYMTAB;
  symtab.offset = symtab_off;
  symtab.size = (nsyms + 1) * sizeof(Sym);
  symtab.link = strtab_index;
  symtab.info = static_cast<uint32_t>(1 + nlocals);
  symtab.addralign = 8;
  symtab.entsize = sizeof(Sym);
  // One string table for section and symbol names (the gABI allows it).
  Shdr& str = sh[strtab_index];
  str.name = kStrtabName;
  str.type = SHT_STRTAB;
  str.offset = strtab_off;
  str.size = names;
  str.addralign = 1;

  Ehdr eh{};
  eh.ident[0] = 0x7f;
  eh.ident[1] = 'E';
  eh.ident[2] = 'L';
  eh.ident[3] = 'F';
  eh.ident[EI_CLASS] = ELFCLASS64;
  eh.ident[EI_DATA] = ELFDATA2LSB;
  eh.ident[EI_VERSION] = EV_CURRENT;
  eh.type = ET_REL;
  eh.machine = objects[0]->machine->machine;
  eh.version = EV_CURRENT;
  eh.shoff = shoff;
  eh.ehsize = sizeof(Ehdr);
  eh.shentsize = sizeof(Shdr);
  eh.shnum = static_cast<uint16_t>(shnum);
  eh.shstrndx = static_cast<uint16_t>(strtab_index);
  memcpy(img, &eh, sizeof eh);
  return e;
}

void gdb_jit_register(GdbJitEntry* e) {
  std::lock_guard<std::mutex> g(g_jit_mu);
  jit_descriptor& d = __jit_debug_descriptor;
  e->entry.prev_entry = nullptr;
  e->entry.next_entry = d.first_entry;
  if (d.first_entry != nullptr) d.first_entry->prev_entry = &e->entry;
  d.first_entry = &e->entry;
  d.relevant_entry = &e->entry;
  d.action_flag = JIT_REGISTER_FN;
  __jit_debug_register_code();
  d.action_flag = JIT_NOACTION;
  d.relevant_entry = nullptr;
  ++g_jit_count;
}

void gdb_jit_unregister(GdbJitEntry* e) {
  if (e == nullptr) return;
  {
    std::lock_guard<std::mutex> g(g_jit_mu);
    jit_descriptor& d = __jit_debug_descriptor;
    jit_code_entry& x = e->entry;
    if (x.prev_entry != nullptr)
      x.prev_entry->next_entry = x.next_entry;
    else
      d.first_entry = x.next_entry;
    if (x.next_entry != nullptr) x.next_entry->prev_entry = x.prev_entry;
    d.relevant_entry = &x;
    d.action_flag = JIT_UNREGISTER_FN;
    __jit_debug_register_code();
    d.action_flag = JIT_NOACTION;
    d.relevant_entry = nullptr;
    --g_jit_count;
  }
  e->~GdbJitEntry();
  free(e);
}

size_t gdb_jit_count() {
  std::lock_guard<std::mutex> g(g_jit_mu);
  return g_jit_count;
}

}  // namespace mk::hosted
