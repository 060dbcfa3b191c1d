// LinkJob: the state of one link() call, shared by the phase files
// (layout.cc, resolve.cc, relocate.cc, linker.cc). Internal to the link layer.
#pragma once

#include <stdint.h>

#include "arch/machine.h"
#include "elf/validated_object.h"
#include "link/linker.h"
#include "support/name_table.h"
#include "support/vector.h"

namespace mk::link {

inline constexpr int8_t kNotLoaded = -1;  // SecPlace::cls: skipped (debug, notes...)
inline constexpr int8_t kDiscarded = -2;  // SecPlace::cls: in a COMDAT group kept elsewhere
inline constexpr int8_t kAbsolute = -1;   // SymRef::cls: value is a final address

struct SecPlace {
  int8_t cls = kNotLoaded;
  uint32_t file_section = UINT32_MAX;  // index into LinkerFile::sections (collect_symbols)
  uint64_t off = 0;                    // offset inside the class block
};

// Where a symbol of an input object ends up: an offset in one of the file's
// class blocks, or an absolute address.
struct SymRef {
  uint64_t value = 0;
  uint64_t size = 0;
  int8_t cls = kAbsolute;
  uint8_t type = 0;
  bool resolved = false;  // value/cls are final (defined, or looked up)
  bool external = false;  // provided by the resolver (outside the file)
  bool in_discarded = false;
  bool listed = false;            // in the file's symbol table (collect_symbols' count pass)
  uint32_t outside = UINT32_MAX;  // index into LinkJob::outside for names from outside
  uint32_t name_size = 0;         // strlen of a listed name copied alone (collect_symbols)
};
static_assert(sizeof(SymRef) == 32, "one per input symbol: the big module has thousands");

struct ObjState {
  explicit ObjState(Allocator& a) : place(a), syms(a), got(a), inside(a), addr(a), hashes(a) {}
  const elf::ValidatedObject* obj = nullptr;
  const char* name = "";
  Vec<SecPlace> place;  // per section
  Vec<SymRef> syms;     // per symbol
  Vec<uint32_t> got;    // per symbol: GOT slot + 1, 0 = none
  // Per symbol, set by scan() once it is resolved: 1 when it is the file's
  // own (no Outside), so a kind needing no GOT slot and no low placement
  // has nothing to record for it. One byte, so the scan's common case reads
  // no SymRef.
  Vec<uint8_t> inside;
  // Per symbol, its final address (S; 0 for symbol 0), set by apply() for
  // its entry loops and read again by collect_symbols() (the phase after
  // it), which lists these addresses.
  Vec<uint64_t> addr;
  // Per global symbol (index - first_global): its name_hash, set by
  // define() for each definition; collect_symbols() enters the exported
  // ones into the file's slots with it rather than hashing them again.
  Vec<uint32_t> hashes;
  const char* strtab = nullptr;  // input string tables, for copying names
  uint64_t strtab_size = 0;
  // collect_symbols: the file keeps a copy of the whole symbol string table
  // (the listed names point into it) rather than of each name alone.
  bool whole_strtab = false;
  const char* shstrtab = nullptr;
  uint64_t shstrtab_size = 0;
};

struct SlotUse {
  uint32_t obj;
  uint32_t sym;
};

// What the resolver said about a name no object defines: asked once per
// distinct name of the link (the Resolver contract), reported once if missing.
// A name the file takes from outside (or a weak one nobody defines), once
// per name for all the file's objects, so that they agree on one address.
struct Outside {
  ResolvedSymbol sym;
  bool found = false;
  bool reported = false;
  uint32_t stub = 0;        // stub slot + 1; 0: none
  bool canonical = false;   // every reference uses the stub (a function whose
                            // address must fit 32 bits: a PLT entry's role)
  bool pcrel_data = false;  // read PC-relatively as data
  bool copy = false;        // a read-only copy inside the file is its address
  uint64_t copy_off = 0;    // in kRodata
  const char* label = nullptr;
};

// The values of the relocations that compute the high part of a riscv
// %pcrel_lo pair (arch::Pair::kHi), by the address of their place: a kLo
// relocation's S + A is that address. Open addressing over a table sized
// once, from scan()'s count, to at least twice the entries: put() never
// grows and never fails.
class HiTable {
 public:
  explicit HiTable(Allocator& a) : slots_(a) {}
  [[nodiscard]] bool init(uint64_t count) {
    size_t n = 8;
    while (n < 2 * count)
      n *= 2;
    mask_ = n - 1;
    return slots_.resize(n);
  }
  void put(uint64_t p, int64_t value) {
    for (size_t i = hash(p);; i = (i + 1) & mask_) {
      if (!slots_[i].used || slots_[i].p == p) {
        slots_[i] = Slot{p, value, true};
        return;
      }
    }
  }
  const int64_t* find(uint64_t p) const {
    for (size_t i = hash(p);; i = (i + 1) & mask_) {
      if (!slots_[i].used) return nullptr;
      if (slots_[i].p == p) return &slots_[i].value;
    }
  }

 private:
  struct Slot {
    uint64_t p = 0;
    int64_t value = 0;
    bool used = false;
  };
  size_t hash(uint64_t p) const {
    return static_cast<size_t>((p * 0x9e3779b97f4a7c15u) >> 32) & mask_;
  }
  Vec<Slot> slots_;
  size_t mask_ = 0;
};

// A kLo relocation, applied after every kHi one (its partner may come later
// in the section, or in another section).
struct LoRef {
  uint32_t obj;
  uint32_t rs;  // index into the object's relocs
  uint64_t i;
};

struct LinkJob {
  LinkJob(Linker& l, const LinkRequest& r)
      : linker(l),
        req(r),
        alloc(r.scratch != nullptr ? *r.scratch : l.alloc_),
        objs(alloc),
        globals(alloc),
        defs(alloc),
        looked_up(alloc),
        outside(alloc),
        stubs(alloc),
        gots(alloc),
        his(alloc),
        los(alloc) {}

  Linker& linker;
  const LinkRequest& req;
  Allocator& alloc;  // the job's temporaries (LinkRequest::scratch), never the file's
  const arch::Machine* machine = nullptr;
  Vec<ObjState> objs;

  uint64_t size[kClassCount] = {};
  uint64_t align[kClassCount] = {1, 1, 1, 1};
  // Where each class block's bytes are written while linking (the file
  // keeps only where they run).
  uintptr_t alias[kClassCount] = {};

  NameTable globals;    // name -> index into defs
  Vec<SlotUse> defs;    // the defining (object, symbol) of each global name
  NameTable looked_up;  // name -> index into outside
  Vec<Outside> outside;
  Vec<uint32_t> stubs;  // outside indices, one stub each
  Vec<SlotUse> gots;
  uint64_t stub_off = 0;  // in kText
  uint64_t got_off = 0;   // in kRodata
  uint64_t dso_off = 0;   // in kData
  bool dso_used = false;
  // The highest stub slot + 1 that a relocation went through (apply): the
  // stubs after it go back to the arena (trim_stubs).
  uint32_t stubs_taken = 0;

  // riscv %pcrel_lo pairs (arch::Pair): counted by scan(), used by apply().
  uint64_t hi_count = 0, lo_count = 0;
  HiTable his;
  Vec<LoRef> los;

  // Placement constraints found while scanning relocations.
  bool need_low = false;
  const char* low_why = nullptr;
  uint64_t tmin = UINT64_MAX, tmax = 0;
  const char* tmin_name = nullptr;
  const char* tmax_name = nullptr;

  // Strong undefined symbols found by the scan.
  uint32_t unresolved = 0;
  const char* first_unresolved = nullptr;
  const char* first_unresolved_where = nullptr;
  uint64_t first_unresolved_off = 0;
  uint32_t first_unresolved_obj = 0;

  LinkerFile* file = nullptr;

  // Phases, in order. Each returns an error with its context; link() undoes.
  Result<void> layout();
  Result<void> define();
  Result<void> add_global(uint32_t o, uint32_t i);
  Result<void> scan();  // by symbol when it can, else by entry; then finish_scan()
  Result<bool> scan_by_symbol();
  Result<void> scan_by_entry();
  Result<void> note_use(uint32_t o, uint32_t sym, SymRef* ref, const arch::RelocKind* k,
                        const elf::RelocSection& rs, uint64_t off);
  Result<void> finish_scan();
  Result<Window> place() const;
  Result<void> allocate(const Window& w);
  void copy();
  Result<void> apply();
  struct Place;
  [[gnu::noinline]] Result<void> apply_one(uint32_t o, const elf::RelocSection& rs, const Place& at,
                                           const elf::Relocation& rel, const arch::RelocKind& k);
  [[gnu::cold, gnu::noinline]] Error apply_failed(uint32_t o, const elf::RelocSection& rs,
                                                  const elf::Relocation& rel,
                                                  const arch::RelocKind& k,
                                                  const arch::RelocValues& v,
                                                  arch::ApplyResult res) const;
  void trim_stubs();
  void fill_slots();
  Result<void> collect_symbols();
  Result<void> collect_ctors();
  Result<void> register_frames();

  // Helpers
  uint64_t reserve(Class c, uint64_t bytes, uint64_t al);  // appends space, returns its offset
  Result<SymRef*> ref_of(uint32_t o, uint32_t s, const elf::RelocSection& rs, uint64_t roff,
                         bool quiet);
  // A resolved symbol's final address (inline: the apply and symbol-table
  // loops ask it once per symbol).
  uint64_t address(const SymRef& r) const {
    if (r.outside != UINT32_MAX) {
      const Outside& out = outside[r.outside];
      if (out.copy) return file->blocks[static_cast<int>(Class::kRodata)].base + out.copy_off;
      if (out.canonical) return stub_address(out);
    }
    return r.cls == kAbsolute ? r.value : file->blocks[r.cls].base + r.value;
  }
  uint64_t stub_address(const Outside& out) const {
    return file->blocks[static_cast<int>(Class::kText)].base + stub_off +
           uint64_t{out.stub - 1} * machine->stub_size;
  }
  uint64_t sec_addr(uint32_t o, uint32_t sec) const;
  const char* sym_label(uint32_t o, uint32_t s) const;
  const char* obj_name(uint32_t o) const { return objs[o].name; }
  const char* req_name(size_t o) const {
    return req.names != nullptr && req.names[o] != nullptr ? req.names[o] : "object";
  }
};

}  // namespace mk::link
