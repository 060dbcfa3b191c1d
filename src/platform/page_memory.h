// PageMemory: how the core gets pages for module images. Implemented by the
// embedding kernel (hosted/page_memory.cc on Linux; a kernel's VM elsewhere).
//
// Contract:
// - map() returns `size` bytes (a multiple of page_size()), zero-filled, at an
//   address `base` with lo <= base and base + size <= hi, that are accessible
//   with `prot` at base and never writable and executable at once there. For
//   kRead and kReadExec, `alias` is a second, writable view of the same bytes
//   at another address (the dual mapping through which the linker writes); for
//   kReadWrite, alias == base. Fails with Errc::kNoMemory when nothing fits.
// - unmap() takes a Mapping exactly as map() returned it.
// - Neither is called on a hot path: the Arena maps large chunks and reuses them.
// - prefault(m, offset, len) is a hint: the linker is about to write the
//   pages of [offset, offset + len) of m (page-aligned, inside m) for the
//   first time, through the alias, and run or read them at base. It may make
//   them present in both views at once (one request per view, where the
//   pages would otherwise fault one by one in each), or do nothing. Contents
//   stay zero; nothing else about the mapping changes.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "support/result.h"

namespace mk {

enum class Prot : uint8_t { kRead, kReadWrite, kReadExec };

struct Mapping {
  uintptr_t base = 0;   // the address code and relocations see
  uintptr_t alias = 0;  // where the linker writes the same bytes
  size_t size = 0;
};

class PageMemory {
 public:
  virtual size_t page_size() const = 0;
  virtual Result<Mapping> map(uintptr_t lo, uintptr_t hi, size_t size, Prot prot) = 0;
  virtual void unmap(const Mapping& m) = 0;
  virtual void prefault(const Mapping& m, size_t offset, size_t len) {
    (void)m, (void)offset, (void)len;
  }

 protected:
  ~PageMemory() = default;
};

}  // namespace mk
