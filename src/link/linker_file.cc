// LinkerFile's record and tables: one allocation holding the record, then
// the globals' hash slots, sections, symbols and names, in that order (each
// part aligned for what follows).
#include "link/linker_file.h"

#include "elf/elf.h"
#include "support/memory.h"
#include "support/name_table.h"

namespace mk::link {

namespace {

// A file of this many symbols or fewer has no hash slots: find_global
// compares its few exported names in turn (as fast as hashing one name, and
// 16 bytes less for a module with one function).
constexpr size_t kLinearMax = 4;

bool is_exported(const FileSymbol& s) {
  return s.bind != elf::STB_LOCAL && s.visibility != elf::STV_HIDDEN &&
         s.visibility != elf::STV_INTERNAL;
}

}  // namespace

LinkerFile* LinkerFile::create(Allocator& a, size_t sections_n, size_t symbols_n, size_t exported,
                               size_t name_bytes) {
  if (sections_n > UINT32_MAX / sizeof(FileSection) ||
      symbols_n >= UINT32_MAX / sizeof(FileSymbol) || exported > symbols_n ||
      exported > UINT32_MAX / 32 || name_bytes > UINT32_MAX)
    return nullptr;
  size_t slots = 0;
  uint32_t shift = 0;
  if (exported != 0 && symbols_n > kLinearMax) {
    slots = 2;
    shift = 1;
    while (slots < exported * 2) {
      slots *= 2;
      ++shift;
    }
  }
  // Each part is a multiple of 8 bytes: the slots, FileSection and
  // FileSymbol are 8-aligned, the names bytes.
  size_t slot_bytes = slots * sizeof(GlobalSlot);
  size_t sec_bytes = sections_n * sizeof(FileSection);
  size_t sym_bytes = symbols_n * sizeof(FileSymbol);
  size_t total = slot_bytes + sec_bytes + sym_bytes + name_bytes;
  if (total > UINT32_MAX) return nullptr;  // each part is below 4 GiB, the sum may not be
  void* p = a.allocate(sizeof(LinkerFile) + total, alignof(LinkerFile));
  if (p == nullptr) return nullptr;
  auto* f = new (p) LinkerFile;
  f->tables_size_ = static_cast<uint32_t>(total);
  mk_memset(f->tables(), 0, slot_bytes);
  f->global_shift_ = shift;
  f->symbols_at_ = static_cast<uint32_t>(slot_bytes + sec_bytes);
  f->names_at_ = static_cast<uint32_t>(slot_bytes + sec_bytes + sym_bytes);
  return f;
}

LinkerFile* LinkerFile::with_tables(Allocator& a, const LinkerFile& placed, size_t sections_n,
                                    size_t symbols_n, size_t exported, size_t name_bytes) {
  LinkerFile* f = create(a, sections_n, symbols_n, exported, name_bytes);
  if (f == nullptr) return nullptr;
  for (int c = 0; c < kClassCount; ++c)
    f->blocks[c] = placed.blocks[c];
  f->dso_at_ = placed.dso_at_;
  return f;
}

void LinkerFile::destroy(Allocator& a, LinkerFile* f) {
  if (f == nullptr) return;
  if (f->ctors_ != nullptr)
    a.deallocate(f->ctors_, f->table_bytes() - f->tables_size_, alignof(uintptr_t));
  size_t bytes = sizeof(LinkerFile) + f->tables_size_;
  f->~LinkerFile();
  a.deallocate(f, bytes, alignof(LinkerFile));
}

bool LinkerFile::reserve_ctors(Allocator& a, size_t ninit, size_t nfini, uintptr_t** words) {
  *words = nullptr;
  if (ctors_ != nullptr || ninit > UINT32_MAX || nfini > UINT32_MAX ||
      ninit + nfini > (SIZE_MAX - kCtorsHead) / sizeof(uintptr_t))
    return false;
  if (ninit + nfini == 0) return true;
  auto* p = static_cast<uint32_t*>(
      a.allocate(kCtorsHead + (ninit + nfini) * sizeof(uintptr_t), alignof(uintptr_t)));
  if (p == nullptr) return false;
  p[0] = static_cast<uint32_t>(ninit);
  p[1] = static_cast<uint32_t>(nfini);
  ctors_ = p;
  *words = const_cast<uintptr_t*>(ctor_words());
  return true;
}

void LinkerFile::hash_global(uint32_t n, uint32_t hash) {
  const FileSymbol* data = symbols().data();
  const FileSymbol& s = data[n];
  GlobalSlot* slots = globals();
  const uint32_t mask = (uint32_t{1} << global_shift_) - 1;
  for (uint32_t i = NameTable::home(hash) & mask;; i = (i + 1) & mask) {
    GlobalSlot& g = slots[i];
    if (g.symbol == 0) {
      g = GlobalSlot{hash, n + 1};
      return;
    }
    const FileSymbol& old = data[g.symbol - 1];
    if (g.hash == hash && str_eq(old.name, s.name)) {
      if (old.bind == elf::STB_WEAK && s.bind != elf::STB_WEAK) g.symbol = n + 1;
      return;
    }
  }
}

const FileSymbol* LinkerFile::find_global(const char* name, uint32_t hash) const {
  const GlobalSlot* slots = globals();
  if (slots == nullptr) {
    // The first strong definition, else the first weak one: what the slots
    // would answer.
    const FileSymbol* weak = nullptr;
    for (const FileSymbol& s : symbols()) {
      if (!is_exported(s) || !str_eq(s.name, name)) continue;
      if (s.bind != elf::STB_WEAK) return &s;
      if (weak == nullptr) weak = &s;
    }
    return weak;
  }
  const uint32_t mask = (uint32_t{1} << global_shift_) - 1;
  for (uint32_t i = NameTable::home(hash) & mask;; i = (i + 1) & mask) {
    const GlobalSlot& g = slots[i];
    if (g.symbol == 0) return nullptr;
    const FileSymbol& s = symbols()[g.symbol - 1];
    if (g.hash == hash && str_eq(s.name, name)) return &s;
  }
}

const FileSymbol* LinkerFile::find(const char* name) const {
  const FileSymbol* s = find_global(name, name_hash(name));
  if (s == nullptr) return nullptr;
  if (init_released && s->section != UINT32_MAX && sections()[s->section].cls == Class::kInitText)
    return nullptr;
  return s;
}

}  // namespace mk::link
