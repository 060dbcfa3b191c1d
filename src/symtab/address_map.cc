#include "symtab/address_map.h"

#include "elf/elf.h"
#include "support/format.h"

namespace mk::symtab {

// A block of a file: one treap node. Priorities are random, so the expected
// depth is O(log n) whatever order files come and go in.
struct AddressMap::Node {
  uintptr_t lo;
  uintptr_t hi;  // exclusive
  uint64_t prio;
  Node* left = nullptr;
  Node* right = nullptr;
  FileIndex* owner;
};

struct AddressMap::FileIndex {
  explicit FileIndex(Allocator& a) : by_addr(a) {}
  module::File* file;
  Vec<uint32_t> by_addr;  // indices into file->linked->symbols(), sorted by address
  Node* nodes[link::kClassCount] = {};
};

namespace {

// Sorts symbol indices by address (heap sort: no allocation, O(n log n)).
void sort_by_addr(Vec<uint32_t>& v, const Span<const link::FileSymbol>& syms) {
  auto less = [&](uint32_t a, uint32_t b) {
    if (syms[a].addr != syms[b].addr) return syms[a].addr < syms[b].addr;
    return syms[a].size > syms[b].size;  // the enclosing (larger) one first
  };
  size_t n = v.size();
  auto sift = [&](size_t i, size_t end) {
    for (;;) {
      size_t c = 2 * i + 1;
      if (c >= end) return;
      if (c + 1 < end && less(v[c], v[c + 1])) ++c;
      if (!less(v[i], v[c])) return;
      uint32_t t = v[i];
      v[i] = v[c];
      v[c] = t;
      i = c;
    }
  };
  for (size_t i = n / 2; i > 0; --i)
    sift(i - 1, n);
  for (size_t end = n; end > 1; --end) {
    uint32_t t = v[0];
    v[0] = v[end - 1];
    v[end - 1] = t;
    sift(0, end - 1);
  }
}

}  // namespace

AddressMap::~AddressMap() {
  for (FileIndex* fi : files_) {
    for (Node* n : fi->nodes)
      destroy(alloc_, n);
    destroy(alloc_, fi);
  }
}

AddressMap::Node* AddressMap::insert(Node* t, Node* n) {
  if (t == nullptr) return n;
  if (n->lo < t->lo) {
    t->left = insert(t->left, n);
    if (t->left->prio > t->prio) {  // rotate right
      Node* l = t->left;
      t->left = l->right;
      l->right = t;
      return l;
    }
  } else {
    t->right = insert(t->right, n);
    if (t->right->prio > t->prio) {  // rotate left
      Node* r = t->right;
      t->right = r->left;
      r->left = t;
      return r;
    }
  }
  return t;
}

AddressMap::Node* AddressMap::erase(Node* t, uintptr_t lo) {
  if (t == nullptr) return nullptr;
  if (lo < t->lo) {
    t->left = erase(t->left, lo);
  } else if (lo > t->lo) {
    t->right = erase(t->right, lo);
  } else {
    // Merge the children by priority.
    Node* l = t->left;
    Node* r = t->right;
    Node* merged = nullptr;
    Node** slot = &merged;
    while (l != nullptr && r != nullptr) {
      if (l->prio > r->prio) {
        *slot = l;
        slot = &l->right;
        l = l->right;
      } else {
        *slot = r;
        slot = &r->left;
        r = r->left;
      }
    }
    *slot = l != nullptr ? l : r;
    return merged;
  }
  return t;
}

const AddressMap::Node* AddressMap::floor(uintptr_t addr) const {
  const Node* best = nullptr;
  for (const Node* t = root_; t != nullptr;) {
    if (t->lo <= addr) {
      best = t;
      t = t->right;
    } else {
      t = t->left;
    }
  }
  return best;
}

Result<void> AddressMap::add(module::File& f) {
  if (f.linked == nullptr) return Ok();
  link::LinkerFile& lf = *f.linked;
  FileIndex* fi = make<FileIndex>(alloc_, alloc_);
  if (fi == nullptr || !files_.reserve(files_.size() + 1) ||
      !fi->by_addr.reserve(lf.symbols().size())) {
    destroy(alloc_, fi);
    return Error(Errc::kNoMemory, "%s: out of memory for the address map", f.name);
  }
  fi->file = &f;
  const Span<const link::FileSymbol> syms = lf.symbols();
  for (uint32_t i = 0; i < syms.size(); ++i)
    if (syms[i].section != UINT32_MAX || syms[i].addr != 0) (void)fi->by_addr.push(i);
  sort_by_addr(fi->by_addr, syms);
  for (int c = 0; c < link::kClassCount; ++c) {
    const link::Block& b = lf.blocks[c];
    // Init-only text is released after init: never map what may be reused.
    if (b.size == 0 || c == static_cast<int>(link::Class::kInitText)) continue;
    Node* n = make<Node>(alloc_);
    if (n == nullptr) {
      for (Node* done : fi->nodes)
        if (done != nullptr) root_ = erase(root_, done->lo), destroy(alloc_, done), --count_;
      destroy(alloc_, fi);
      return Error(Errc::kNoMemory, "%s: out of memory for the address map", f.name);
    }
    seed_ ^= seed_ << 13;
    seed_ ^= seed_ >> 7;
    seed_ ^= seed_ << 17;
    *n = Node{b.base, b.base + b.size, seed_, nullptr, nullptr, fi};
    fi->nodes[c] = n;
    root_ = insert(root_, n);
    ++count_;
  }
  (void)files_.push(fi);
  return Ok();
}

void AddressMap::remove(module::File& f) {
  for (size_t i = 0; i < files_.size(); ++i) {
    FileIndex* fi = files_[i];
    if (fi->file != &f) continue;
    for (Node*& n : fi->nodes) {
      if (n == nullptr) continue;
      root_ = erase(root_, n->lo);
      destroy(alloc_, n);
      n = nullptr;
      --count_;
    }
    destroy(alloc_, fi);
    files_.swap_remove(i);
    return;
  }
}

bool AddressMap::lookup(uintptr_t addr, Where* out) const {
  const Node* n = floor(addr);
  if (n == nullptr || addr >= n->hi) return false;
  const FileIndex& fi = *n->owner;
  const link::LinkerFile& lf = *fi.file->linked;
  *out = Where{};
  out->file = fi.file;
  out->offset = addr - n->lo;
  for (const link::FileSection& s : lf.sections()) {
    if (addr >= s.addr && addr - s.addr < s.size) {  // an empty section holds no address
      out->section = &s;
      out->offset = addr - s.addr;
      break;
    }
  }
  // The last symbol starting at or below addr.
  const Span<const link::FileSymbol> syms = lf.symbols();
  size_t lo = 0, hi = fi.by_addr.size();
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (syms[fi.by_addr[mid]].addr <= addr)
      lo = mid + 1;
    else
      hi = mid;
  }
  if (lo > 0) {
    const link::FileSymbol& s = syms[fi.by_addr[lo - 1]];
    // Only a symbol in the same section counts (not one ending in a gap).
    bool same = out->section == nullptr || s.section == UINT32_MAX ||
                &lf.sections()[s.section] == out->section;
    if (same) {
      out->symbol = &s;
      out->offset = addr - s.addr;
    }
  }
  return true;
}

size_t AddressMap::describe(uintptr_t addr, char* buf, size_t cap) const {
  Where w;
  if (!lookup(addr, &w)) return format(buf, cap, "%#lx", static_cast<uint64_t>(addr));
  const char* owner = w.file->modules.empty() ? w.file->name : w.file->modules[0]->name;
  if (w.symbol != nullptr) return format(buf, cap, "%s+%#lx [%s]", w.symbol->name, w.offset, owner);
  if (w.section != nullptr)
    return format(buf, cap, "%s+%#lx [%s]", w.section->name, w.offset, owner);
  return format(buf, cap, "%#lx [%s]", static_cast<uint64_t>(addr), owner);
}

}  // namespace mk::symtab
