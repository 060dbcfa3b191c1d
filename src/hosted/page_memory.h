// LinuxPageMemory: PageMemory on Linux user space. Read-only and executable
// mappings are dual-mapped from one memfd: the executing view is never
// writable, the alias is never executable. The executing view of code is a
// private mapping, so that a debugger can insert breakpoints (page_memory.cc). Placement inside
// [lo, hi) picks the free gap (from /proc/self/maps) nearest the middle of the window.
#pragma once

#include "platform/page_memory.h"

namespace mk::hosted {

class LinuxPageMemory final : public PageMemory {
 public:
  size_t page_size() const override;
  Result<Mapping> map(uintptr_t lo, uintptr_t hi, size_t size, Prot prot) override;
  void unmap(const Mapping& m) override;

 private:
  uintptr_t next_ = 0;  // just past the last mapping made: tried first, without reading maps
};

}  // namespace mk::hosted
