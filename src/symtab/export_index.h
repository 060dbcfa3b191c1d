// ExportIndex: the kernel's one hash index of exported symbols, across the
// kernel image and every loaded file (architecture.md, "Symbols"). Lookup
// cost does not depend on how many files are loaded: one hash, one probe
// sequence. A file binds only to exports of the kernel and of the files it
// uses, never to locals (KernelSymbols puts it behind the registry's
// ExportScope).
//
// Names are copied into the index, so entries outlive the input bytes. Each
// entry and its name are one record, carved from large chunks: a lookup
// reads the table slot and then one record (the name it compares and the
// fields it returns lie together), and a million exports take a few large
// allocations, not two million small ones. Records are never freed while the
// index lives: an unloaded export's record stays for the next export of the
// same name.
//
// Namespaces (as Linux symbol namespaces): an export may be in a namespace
// (MODKIT_EXPORT_NS). Names stay unique across namespaces, since an object's
// undefined symbol carries only a name; the namespace is a condition on
// binding: an importer must declare it (MODKIT_IMPORT_NS), or resolve()
// answers kNotImported and the registry refuses the load naming the symbol,
// the namespace, the exporting module and the fix. Namespace strings are
// interned: entries of one namespace share one copy.
#pragma once

#include <stdint.h>

#include "module/exports.h"
#include "module/registry.h"
#include "support/name_table.h"
#include "support/vector.h"

namespace mk::symtab {

struct ExportEntry {
  const char* name = nullptr;  // owned by the index: the bytes right after this entry
  uint64_t addr = 0;
  uint64_t size = 0;
  module::File* owner = nullptr;  // nullptr: the kernel image (added with add_kernel_symbol)
  const char* ns = "";            // its namespace ("" for none), owned by the index
  const char* module = "kernel";  // the exporting module's name (lives as long as the owner)
  // strlen(name), set by the index: a lookup compares a word at a time,
  // never past either name's end. Last, with the flags, so that a lookup
  // reads them in the cache line where the name begins.
  uint32_t name_len = 0;
  uint8_t type = 0;   // elf::STT_*
  bool live = false;  // false once removed (slot reused by the next insert)
};

class ExportIndex {
 public:
  explicit ExportIndex(Allocator& a);
  ~ExportIndex();

  // A KPI symbol of the kernel image. kDuplicate when the name is taken.
  [[nodiscard]] Result<void> add_kernel_symbol(const char* name, uint64_t addr, uint64_t size,
                                               uint8_t type);
  // The export of this name, or nullptr. hash is name_hash(name). With n,
  // the name is the n bytes at name (a name with a NUL inside finds
  // nothing) and the compare goes a word at a time; without, it goes byte
  // by byte, which for a precomputed hash costs less than a strlen first.
  const ExportEntry* find(const char* name, size_t n, uint32_t hash);
  const ExportEntry* find(const char* name, uint32_t hash) {
    return live_or_null(table_.find(name, hash));
  }
  const ExportEntry* find(const char* name) {
    size_t n = mk_strlen(name);
    return find(name, n, name_hash(name, n));
  }
  size_t size() const { return live_; }
  // Bytes the index holds (table, records, namespaces), for the benchmarks.
  size_t memory() const;
  // Calls fn(const ExportEntry&) for every live export (the ksyms image lists
  // the kernel's). Not while a load or unload changes the index.
  template <class Fn>
  void for_each(Fn&& fn) const {
    for (const ExportEntry* e : entries_)
      if (e->live) fn(*e);
  }

  // The contract of module::ExportScope.
  [[nodiscard]] Result<void> add(module::File& file, const module::Metadata& md);
  void remove(module::File& file);
  module::Bind resolve(const module::File& importer, const char* name, uint32_t hash,
                       module::Binding* out);

 private:
  static const ExportEntry* live_or_null(const NameTable::Slot* s);
  // The slot of the n-byte name, live or removed, or nullptr.
  NameTable::Slot* slot_of(const char* name, size_t n, uint32_t hash);
  Result<ExportEntry*> insert(const char* name, uint32_t hash, const ExportEntry& e);
  ExportEntry* new_record(const char* name);  // entry + name; nullptr when out of memory
  static ExportEntry* record_of(const char* name);
  char* copy(const char* s);
  const char* intern_ns(const char* ns);  // "" for ""; nullptr when out of memory

  Allocator& alloc_;
  NameTable table_;  // name (a record's) -> index into entries_
  Vec<ExportEntry*> entries_;
  Vec<char*> chunks_;        // where the records live
  Vec<size_t> chunk_sizes_;  // their sizes
  size_t chunk_used_ = 0;    // bytes of the newest chunk handed out
  NameTable ns_table_;       // namespace -> index into ns_names_
  Vec<char*> ns_names_;      // interned namespaces, owned
  size_t live_ = 0;
};

}  // namespace mk::symtab
