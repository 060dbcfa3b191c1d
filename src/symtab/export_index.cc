#include "symtab/export_index.h"

#include "support/memory.h"

namespace mk::symtab {

namespace {

// Records come from chunks that start small (a kernel with a few hundred
// exports should not hold megabytes) and double up to 2 MiB, a size the host
// can back with one large page.
constexpr size_t kFirstChunk = 16 * 1024;
constexpr size_t kLargestChunk = 2 * 1024 * 1024;

size_t record_size(const char* name) {
  size_t n = sizeof(ExportEntry) + mk_strlen(name) + 1;
  return (n + alignof(ExportEntry) - 1) & ~(alignof(ExportEntry) - 1);
}

}  // namespace

ExportIndex::ExportIndex(Allocator& a)
    : alloc_(a), table_(a), entries_(a), chunks_(a), chunk_sizes_(a), ns_table_(a), ns_names_(a) {}

ExportIndex::~ExportIndex() {
  for (size_t i = 0; i < chunks_.size(); ++i)
    alloc_.deallocate(chunks_[i], chunk_sizes_[i], alignof(ExportEntry));
  for (char* n : ns_names_)
    alloc_.deallocate(n, mk_strlen(n) + 1, 1);
}

ExportEntry* ExportIndex::record_of(const char* name) {
  return reinterpret_cast<ExportEntry*>(const_cast<char*>(name) - sizeof(ExportEntry));
}

ExportEntry* ExportIndex::new_record(const char* name) {
  size_t need = record_size(name);
  if (chunks_.empty() || chunk_sizes_[chunk_sizes_.size() - 1] - chunk_used_ < need) {
    size_t size = chunks_.empty() ? kFirstChunk : chunk_sizes_[chunk_sizes_.size() - 1] * 2;
    if (size > kLargestChunk) size = kLargestChunk;
    if (size < need) size = need;
    if (!chunks_.reserve(chunks_.size() + 1) || !chunk_sizes_.reserve(chunk_sizes_.size() + 1))
      return nullptr;
    auto* chunk = static_cast<char*>(alloc_.allocate(size, alignof(ExportEntry)));
    if (chunk == nullptr) return nullptr;
    (void)chunks_.push(chunk);
    (void)chunk_sizes_.push(size);
    chunk_used_ = 0;
  }
  char* at = chunks_[chunks_.size() - 1] + chunk_used_;
  chunk_used_ += need;
  auto* e = new (at) ExportEntry{};
  char* n = at + sizeof(ExportEntry);
  size_t len = mk_strlen(name);
  mk_memcpy(n, name, len + 1);
  e->name = n;
  e->name_len = static_cast<uint32_t>(len);  // record_size() stays far below 4 GiB
  return e;
}

size_t ExportIndex::memory() const {
  size_t n = table_.memory() + entries_.size() * sizeof(ExportEntry*);
  for (size_t s : chunk_sizes_)
    n += s;
  return n;
}

const char* ExportIndex::intern_ns(const char* ns) {
  if (ns[0] == '\0') return "";
  uint32_t hash = name_hash(ns);
  if (NameTable::Slot* s = ns_table_.find(ns, hash)) return ns_names_[s->value];
  char* owned = copy(ns);
  if (owned == nullptr) return nullptr;
  NameTable::Slot* dup = nullptr;
  auto idx = static_cast<uint32_t>(ns_names_.size());
  if (!ns_names_.push(owned)) {
    alloc_.deallocate(owned, mk_strlen(owned) + 1, 1);
    return nullptr;
  }
  if (!ns_table_.insert(owned, hash, idx, &dup)) {
    ns_names_.pop();
    alloc_.deallocate(owned, mk_strlen(owned) + 1, 1);
    return nullptr;
  }
  return owned;
}

char* ExportIndex::copy(const char* s) {
  size_t n = mk_strlen(s) + 1;
  char* p = static_cast<char*>(alloc_.allocate(n, 1));
  if (p != nullptr) mk_memcpy(p, s, n);
  return p;
}

NameTable::Slot* ExportIndex::slot_of(const char* name, size_t n, uint32_t hash) {
  // The slot's name is the record's own: its length lies just before it, and
  // no second lookup through entries_ is needed.
  return table_.find_if(hash, [name, n](const NameTable::Slot& s) {
    return record_of(s.name)->name_len == n && names_equal(s.name, name, n);
  });
}

const ExportEntry* ExportIndex::live_or_null(const NameTable::Slot* s) {
  if (s == nullptr) return nullptr;
  const ExportEntry* e = record_of(s->name);
  return e->live ? e : nullptr;
}

const ExportEntry* ExportIndex::find(const char* name, size_t n, uint32_t hash) {
  return live_or_null(slot_of(name, n, hash));
}

Result<ExportEntry*> ExportIndex::insert(const char* name, uint32_t hash,
                                         const ExportEntry& proto) {
  NameTable::Slot* slot = slot_of(name, mk_strlen(name), hash);
  if (slot != nullptr) {
    ExportEntry* e = record_of(slot->name);
    if (e->live) {
      return Error(Errc::kDuplicate, "`%s' is already exported by %s", name,
                   e->owner == nullptr ? "the kernel" : e->owner->name);
    }
    // A removed entry of the same name: reuse it in place.
    const char* keep = e->name;
    uint32_t keep_len = e->name_len;
    *e = proto;
    e->name = keep;
    e->name_len = keep_len;
    e->live = true;
    ++live_;
    return e;
  }
  size_t used = chunk_used_;
  ExportEntry* e = new_record(name);
  if (e == nullptr) return Error(Errc::kNoMemory, "export index: out of memory");
  const char* owned = e->name;
  uint32_t owned_len = e->name_len;
  *e = proto;
  e->name = owned;
  e->name_len = owned_len;
  e->live = true;
  auto idx = static_cast<uint32_t>(entries_.size());
  NameTable::Slot* dup = nullptr;
  if (!entries_.push(e) || !table_.insert(owned, hash, idx, &dup)) {
    if (entries_.size() > idx) entries_.pop();
    // The record was the newest carved; give its bytes back (a chunk made
    // for it stays, empty, for the next record).
    chunk_used_ = e == reinterpret_cast<ExportEntry*>(chunks_[chunks_.size() - 1]) ? 0 : used;
    return Error(Errc::kNoMemory, "export index: out of memory");
  }
  ++live_;
  return e;
}

Result<void> ExportIndex::add_kernel_symbol(const char* name, uint64_t addr, uint64_t size,
                                            uint8_t type) {
  ExportEntry e;
  e.addr = addr;
  e.size = size;
  e.type = type;
  e.live = true;
  Result<ExportEntry*> r = insert(name, name_hash(name), e);
  if (!r) return r.error();
  return Ok();
}

Result<void> ExportIndex::add(module::File& file, const module::Metadata& md) {
  if (!file.exports.reserve(md.exports.size()))
    return Error(Errc::kNoMemory, "%s: out of memory for exports", file.name);
  for (const module::ExportDecl& x : md.exports) {
    uint64_t addr = 0, size = 0;
    uint8_t type = 0;
    if (file.linked != nullptr) {
      const link::FileSymbol* s = file.linked->find(x.name);
      if (s == nullptr) {
        remove(file);
        return Error(Errc::kNotFound, "%s: module %s exports `%s', which the file does not define",
                     file.name, md.modules[x.module].name, x.name);
      }
      // Only the file's own memory: an absolute symbol (SHN_ABS) may name any
      // address, the kernel's or another module's, under this file's name.
      bool inside = false;
      for (const link::Block& b : file.linked->blocks)
        inside = inside || (b.size != 0 && s->addr >= b.base && s->addr - b.base < b.size);
      if (!inside) {
        remove(file);
        return Error(Errc::kInvalid,
                     "%s: module %s exports `%s' at %#lx, outside the file's memory (an absolute "
                     "symbol); only symbols defined in the file's sections can be exported",
                     file.name, md.modules[x.module].name, x.name, static_cast<uint64_t>(s->addr));
      }
      addr = s->addr;
      size = s->size;
      type = s->type;
    } else {
      // The kernel image: its static modules' exports are among the kernel
      // symbols the embedder added; take them over as the file's own.
      const ExportEntry* k = find(x.name);
      if (k == nullptr) continue;
      addr = k->addr;
      size = k->size;
      type = k->type;
      record_of(k->name)->live = false;
      --live_;
    }
    ExportEntry e;
    e.addr = addr;
    e.size = size;
    e.owner = &file;
    e.type = type;
    e.live = true;
    e.ns = intern_ns(x.ns);
    if (e.ns == nullptr) {
      remove(file);
      return Error(Errc::kNoMemory, "%s: out of memory for export namespaces", file.name);
    }
    e.module = "?";
    for (const module::Module* m : file.modules)
      if (str_eq(m->name, md.modules[x.module].name)) e.module = m->name;
    Result<ExportEntry*> r = insert(x.name, name_hash(x.name), e);
    if (!r) {
      remove(file);
      Error err = r.error();
      err.prefix("%s: module %s: ", file.name, md.modules[x.module].name);
      return err;
    }
    (void)file.exports.push(r.value()->name);
  }
  return Ok();
}

void ExportIndex::remove(module::File& file) {
  for (const char* name : file.exports) {
    // The file's own list holds its records' names: no lookup needed.
    ExportEntry* e = record_of(name);
    if (e->live && e->owner == &file) {
      e->live = false;
      --live_;
    }
  }
  file.exports.clear();
}

module::Bind ExportIndex::resolve(const module::File& importer, const char* name, uint32_t hash,
                                  module::Binding* out) {
  const ExportEntry* e = find(name, hash);
  if (e == nullptr) return module::Bind::kNotVisible;
  bool visible = e->owner == nullptr || e->owner->id == 0;
  for (module::File* u : importer.uses)
    visible = visible || u == e->owner;
  if (!visible) return module::Bind::kNotVisible;
  out->sym = link::ResolvedSymbol{e->addr, e->size, e->type};
  out->owner = e->owner;
  out->module = e->module;
  out->ns = e->ns;
  if (e->ns[0] != '\0' && !importer.imports(e->ns)) return module::Bind::kNotImported;
  return module::Bind::kBound;
}

}  // namespace mk::symtab
