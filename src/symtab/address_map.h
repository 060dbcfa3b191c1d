// AddressMap: from any address to the file, section and symbol it belongs to,
// in O(log n): a treap of the loaded files' memory blocks keyed by start
// address (O(log files)), then a binary search over the file's own symbols
// sorted by address (O(log symbols)). Kept current on every load and unload.
//
// Used for backtraces ("symbol+0xoff [module]"), `modkit sym --addr` and
// debuggers. The kernel image (file 0) is not in the map: its addresses are
// the embedder's to describe.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "link/linker_file.h"
#include "module/registry.h"
#include "support/allocator.h"
#include "support/result.h"
#include "support/vector.h"

namespace mk::symtab {

struct Where {
  module::File* file = nullptr;
  const link::FileSection* section = nullptr;  // nullptr: in the file's memory, outside any section
  const link::FileSymbol* symbol = nullptr;    // nearest symbol at or below the address, if any
  uint64_t offset = 0;                         // address - symbol (or section, or block) start
};

class AddressMap {
 public:
  explicit AddressMap(Allocator& a) : alloc_(a), files_(a) {}
  ~AddressMap();
  AddressMap(const AddressMap&) = delete;
  AddressMap& operator=(const AddressMap&) = delete;

  // Adds a linked file's blocks and indexes its symbols by address.
  [[nodiscard]] Result<void> add(module::File& f);
  void remove(module::File& f);

  // Where `addr` is; false when no loaded file holds it.
  bool lookup(uintptr_t addr, Where* out) const;

  // Formats `addr` as "symbol+0xoff [module]" (or "0x... [file]" / "0x..."
  // when less is known). Returns the length written (format() rules).
  size_t describe(uintptr_t addr, char* buf, size_t cap) const;

  size_t ranges() const { return count_; }

 private:
  struct Node;
  struct FileIndex;

  Node* insert(Node* t, Node* n);
  Node* erase(Node* t, uintptr_t lo);
  const Node* floor(uintptr_t addr) const;

  Allocator& alloc_;
  Node* root_ = nullptr;
  size_t count_ = 0;
  uint64_t seed_ = 0x9e3779b97f4a7c15ull;
  Vec<FileIndex*> files_;
};

}  // namespace mk::symtab
