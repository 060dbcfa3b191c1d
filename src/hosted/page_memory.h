// LinuxPageMemory: PageMemory on Linux user space. Read-only and executable
// mappings are dual-mapped from one memfd: the executing view is never
// writable, the alias is never executable. The executing view of code is a
// private mapping, so that a debugger can insert breakpoints (page_memory.cc). Placement inside
// [lo, hi) picks the free gap (from /proc/self/maps) nearest the middle of the window.
// prefault() populates fresh pages with MADV_POPULATE_WRITE (alias) and
// MADV_POPULATE_READ (the other view): one system call each instead of a page
// fault per page per view. Kernels before 5.14 refuse them (EINVAL): the
// pages then fault in as they are touched, as before.
#pragma once

#include "platform/page_memory.h"

namespace mk::hosted {

class LinuxPageMemory final : public PageMemory {
 public:
  size_t page_size() const override;
  Result<Mapping> map(uintptr_t lo, uintptr_t hi, size_t size, Prot prot) override;
  void unmap(const Mapping& m) override;
  void prefault(const Mapping& m, size_t offset, size_t len) override;

 private:
  uintptr_t next_ = 0;       // just past the last mapping made: tried first, without reading maps
  bool populate_ok_ = true;  // false once the kernel refused MADV_POPULATE_* (before 5.14)
};

}  // namespace mk::hosted
