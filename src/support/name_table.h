// NameTable: an open-addressing hash table from names to 32-bit values, with
// fallible growth. Names are not copied: the caller keeps them alive as long
// as the table. Lookups cost one hash (callers may pass it precomputed) and,
// on a hit, one string compare.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "support/memory.h"
#include "support/name_hash.h"
#include "support/vector.h"

namespace mk {

class NameTable {
 public:
  struct Slot {
    const char* name;  // nullptr: empty
    uint32_t hash;
    uint32_t value;
  };

  explicit NameTable(Allocator& a) : slots_(a) {}

  // Ensures room for n entries without growing again. A table sized this
  // way is exactly as large as n needs (at least 4 slots): the linker sizes
  // each file's table once, and a module with one export should not carry
  // sixteen slots.
  [[nodiscard]] bool reserve(size_t n) {
    if (n > SIZE_MAX / 4) return false;  // 2n rounded up to a power of two would wrap
    size_t want = 4;
    while (want < n * 2)
      want *= 2;
    return want <= slots_.size() || rehash(want);
  }

  // Inserts name -> value. If the name is present, leaves the table as it is
  // and returns its slot through *existing. False only when memory runs out.
  [[nodiscard]] bool insert(const char* name, uint32_t hash, uint32_t value, Slot** existing) {
    *existing = nullptr;
    if ((count_ + 1) * 2 > slots_.size() && !rehash(slots_.empty() ? 16 : slots_.size() * 2))
      return false;
    size_t mask = slots_.size() - 1;
    for (size_t i = home(hash) & mask;; i = (i + 1) & mask) {
      Slot& s = slots_[i];
      if (s.name == nullptr) {
        s = Slot{name, hash, value};
        ++count_;
        return true;
      }
      if (s.hash == hash && str_eq(s.name, name)) {
        *existing = &s;
        return true;
      }
    }
  }

  Slot* find(const char* name, uint32_t hash) {
    return find_if(hash, [name](const Slot& s) { return str_eq(s.name, name); });
  }
  Slot* find(const char* name) { return find(name, name_hash(name)); }

  // The first slot of this hash for which is_it(const Slot&) holds, or
  // nullptr: for owners that know their names' lengths and compare with
  // names_equal() instead of a byte-by-byte str_eq (is_it is asked only
  // about slots whose hash is equal). Always inlined: a call here cost a
  // global lookup about 1 ns of its 12 (spilled captures, the call).
  template <class Pred>
  [[gnu::always_inline]] Slot* find_if(uint32_t hash, Pred&& is_it) {
    if (count_ == 0) return nullptr;
    size_t mask = slots_.size() - 1;
    for (size_t i = home(hash) & mask;; i = (i + 1) & mask) {
      Slot& s = slots_[i];
      if (s.name == nullptr) return nullptr;
      if (s.hash == hash && is_it(static_cast<const Slot&>(s))) return &s;
    }
  }

  // Removes a slot find() or insert() returned. Linear probing without
  // tombstones: each later slot of the run that may live closer to its home
  // moves back into the hole, so lookups stay as short as before the insert.
  // Slot pointers taken earlier are invalid afterwards.
  void erase(Slot* s) {
    size_t mask = slots_.size() - 1;
    size_t hole = static_cast<size_t>(s - slots_.data());
    for (size_t j = (hole + 1) & mask; slots_[j].name != nullptr; j = (j + 1) & mask) {
      size_t want = home(slots_[j].hash) & mask;
      // Movable when the hole lies between its home and where it is now.
      if (((j - want) & mask) >= ((j - hole) & mask)) {
        slots_[hole] = slots_[j];
        hole = j;
      }
    }
    slots_[hole].name = nullptr;
    --count_;
  }

  size_t size() const { return count_; }
  // Bytes of the slot array.
  size_t memory() const { return slots_.size() * sizeof(Slot); }
  void clear() {
    slots_.clear();
    count_ = 0;
  }

  // The slot a hash starts probing at (other linear-probing tables keyed on
  // name_hash() use it too). name_hash() is well spread already, but a
  // caller's hash need not be (any value is allowed); hashes that differ
  // only in their high bits would pack into one run of a linear-probing
  // table, and a multiplicative mix spreads them over the whole table.
  static uint32_t home(uint32_t h) {
    h ^= h >> 16;
    h *= 0x7feb352du;
    h ^= h >> 15;
    return h;
  }

 private:
  bool rehash(size_t n) {
    Vec<Slot> fresh(slots_.allocator());
    if (!fresh.resize(n)) return false;
    for (Slot& s : slots_) {
      if (s.name == nullptr) continue;
      for (size_t i = home(s.hash) & (n - 1);; i = (i + 1) & (n - 1)) {
        if (fresh[i].name == nullptr) {
          fresh[i] = s;
          break;
        }
      }
    }
    slots_ = static_cast<Vec<Slot>&&>(fresh);
    return true;
  }

  Vec<Slot> slots_;
  size_t count_ = 0;
};

}  // namespace mk
