// LinkerFile's tables: one allocation holding sections, symbols, the globals'
// hash slots and names, in that order (each part aligned for what follows).
#include "link/linker_file.h"

#include "elf/elf.h"
#include "support/memory.h"
#include "support/name_table.h"

namespace mk::link {

namespace {

size_t round8(size_t n) {
  return (n + 7) & ~size_t{7};
}

// A file of this many symbols or fewer has no hash slots: find_global
// compares its few exported names in turn (as fast as hashing one name, and
// 16 bytes less for a module with one function).
constexpr size_t kLinearMax = 4;

bool is_exported(const FileSymbol& s) {
  return s.bind != elf::STB_LOCAL && s.visibility != elf::STV_HIDDEN &&
         s.visibility != elf::STV_INTERNAL;
}

}  // namespace

LinkerFile::~LinkerFile() {
  if (tables_size_ != 0)
    alloc_->deallocate(const_cast<FileSection*>(sections.data()), tables_size_, alignof(uint64_t));
  size_t words = init.size() + fini.size();
  if (words != 0) {
    const uintptr_t* p = init.empty() ? fini.data() : init.data();
    alloc_->deallocate(const_cast<uintptr_t*>(p), words * sizeof(uintptr_t), alignof(uintptr_t));
  }
}

bool LinkerFile::reserve_tables(size_t sections_n, size_t symbols_n, size_t exported,
                                size_t name_bytes) {
  if (tables_size_ != 0 || sections_n > UINT32_MAX / sizeof(FileSection) ||
      symbols_n >= UINT32_MAX / sizeof(FileSymbol) || exported > symbols_n ||
      exported > UINT32_MAX / 32 || name_bytes > UINT32_MAX)
    return false;
  size_t slots = 0;
  if (exported != 0 && symbols_n > kLinearMax) {
    slots = 2;
    while (slots < exported * 2)
      slots *= 2;
  }
  // Each part is a multiple of 8 bytes: FileSection and FileSymbol are
  // 8-aligned, the slots 4-aligned, the names bytes.
  size_t sec_bytes = sections_n * sizeof(FileSection);
  size_t sym_bytes = symbols_n * sizeof(FileSymbol);
  size_t slot_bytes = round8(slots * sizeof(GlobalSlot));
  size_t total = sec_bytes + sym_bytes + slot_bytes + name_bytes;
  if (total == 0) return true;
  if (total > UINT32_MAX) return false;  // each part is below 4 GiB, the sum may not be
  auto* p = static_cast<uint8_t*>(alloc_->allocate(total, alignof(uint64_t)));
  if (p == nullptr) return false;
  tables_size_ = static_cast<uint32_t>(total);
  sections = Span<const FileSection>(reinterpret_cast<FileSection*>(p), 0);
  symbols = Span<const FileSymbol>(reinterpret_cast<FileSymbol*>(p + sec_bytes), 0);
  // The slots never start the tables: a table with slots has a symbol.
  globals_at_ = slots == 0 ? 0 : static_cast<uint32_t>(sec_bytes + sym_bytes);
  mk_memset(p + sec_bytes + sym_bytes, 0, slot_bytes);
  global_shift_ = 0;
  while ((size_t{1} << global_shift_) < slots)
    ++global_shift_;
  names_at_ = static_cast<uint32_t>(sec_bytes + sym_bytes + slot_bytes);
  return true;
}

bool LinkerFile::reserve_ctors(size_t ninit, size_t nfini, uintptr_t** words) {
  *words = nullptr;
  if (!init.empty() || !fini.empty() || ninit > UINT32_MAX || nfini > UINT32_MAX ||
      ninit + nfini > SIZE_MAX / sizeof(uintptr_t))
    return false;
  if (ninit + nfini == 0) return true;
  auto* p = static_cast<uintptr_t*>(
      alloc_->allocate((ninit + nfini) * sizeof(uintptr_t), alignof(uintptr_t)));
  if (p == nullptr) return false;
  init = Span<const uintptr_t>(p, static_cast<uint32_t>(ninit));
  fini = Span<const uintptr_t>(p + ninit, static_cast<uint32_t>(nfini));
  *words = p;
  return true;
}

void LinkerFile::hash_global(uint32_t n) {
  const FileSymbol* data = symbols.data();
  const FileSymbol& s = data[n];
  GlobalSlot* slots = globals();
  uint32_t hash = name_hash(s.name);
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
    for (const FileSymbol& s : symbols) {
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
    const FileSymbol& s = symbols[g.symbol - 1];
    if (g.hash == hash && str_eq(s.name, name)) return &s;
  }
}

const FileSymbol* LinkerFile::find(const char* name) const {
  const FileSymbol* s = find_global(name, name_hash(name));
  if (s == nullptr) return nullptr;
  if (init_released && s->section != UINT32_MAX && sections[s->section].cls == Class::kInitText)
    return nullptr;
  return s;
}

}  // namespace mk::link
