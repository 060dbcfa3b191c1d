#include "hosted/gdb_jit.h"

#include <string.h>

#include <mutex>
#include <new>
#include <string>
#include <unordered_map>
#include <vector>

#include "arch/machine.h"
#include "elf/elf.h"
#include "symtab/elf_image.h"

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

struct GdbJitEntry {
  explicit GdbJitEntry(Vec<uint8_t>&& i) : image(static_cast<Vec<uint8_t>&&>(i)) {}
  jit_code_entry entry{};
  Vec<uint8_t> image;
};

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
    for (size_t k = 0; k < file_.sections.size(); ++k) {
      const link::FileSection& s = file_.sections[k];
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
      for (const link::FileSymbol& s : file_.symbols) {
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
      *S = file_.sections[k].addr + sym.value;
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

Result<void> build_debug_object(const link::LinkerFile& file, const ValidatedObject* const* objects,
                                size_t count, Allocator& alloc, Vec<uint8_t>* out) {
  if (count == 0) return Error(Errc::kInvalid, "debug object: no input objects");
  symtab::ElfImageWriter image(alloc);
  for (const link::FileSection& s : file.sections) {
    const Section& in = objects[s.object]->sections[s.index];
    symtab::ImageSection is;
    is.name = s.name;
    is.flags = s.flags & (SHF_ALLOC | SHF_WRITE | SHF_EXECINSTR);
    is.addr = s.addr;
    is.size = s.size;
    is.align = in.align;
    if (strcmp(s.name, ".eh_frame") == 0 && !in.nobits()) {
      // The final bytes, relocated for where the file is: gdb's unwinder
      // reads CFI from its symbol files, not from the unwinder we fed.
      is.type = in.type;
      is.data = reinterpret_cast<const uint8_t*>(s.addr);
    } else {
      is.type = SHT_NOBITS;
    }
    (void)MK_TRY(image.add(is));
  }

  DebugBuilder debug(file, objects, count);
  bool with_debug = debug.build();
  if (with_debug) {
    for (const DebugSection& d : debug.sections) {
      symtab::ImageSection is;
      is.name = d.name.c_str();
      is.type = d.type;
      is.flags = d.flags;
      is.data = d.bytes.data();
      is.size = d.bytes.size();
      is.entsize = d.entsize;
      (void)MK_TRY(image.add(is));
    }
  }

  symtab::SymbolTableWriter symbols(alloc);
  size_t name_bytes = 0;
  for (const link::FileSymbol& s : file.symbols)
    name_bytes += strlen(s.name) + 1;
  if (!symbols.reserve(file.symbols.size(), name_bytes))
    return Error(Errc::kNoMemory, "debug object: out of memory for symbols");
  for (const link::FileSymbol& s : file.symbols) {
    uint32_t section = symtab::kAbsolute;
    uint64_t value = s.addr;
    if (s.section != UINT32_MAX) {
      section = 1 + s.section;  // file sections are image sections 1..n
      value = s.addr - file.sections[s.section].addr;
    }
    MK_TRY(symbols.add(s.name, value, s.size, s.type, s.bind, s.visibility, section));
  }
  MK_TRY(symbols.emit(image));
  return image.write(ET_REL, objects[0]->machine->machine, out);
}

GdbJitEntry* gdb_jit_register(Vec<uint8_t>&& image) {
  auto* e = new (std::nothrow) GdbJitEntry(static_cast<Vec<uint8_t>&&>(image));
  if (e == nullptr) return nullptr;
  e->entry.symfile_addr = reinterpret_cast<const char*>(e->image.data());
  e->entry.symfile_size = e->image.size();
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
  return e;
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
  delete e;
}

size_t gdb_jit_count() {
  std::lock_guard<std::mutex> g(g_jit_mu);
  return g_jit_count;
}

}  // namespace mk::hosted
