// SandboxPages: a PageMemory for the link fuzzer. Nothing linked in it ever
// runs, so a mapping's executing address (`base`) is only a number, chosen
// inside the window asked for and never dereferenced: the bytes live in a
// heap buffer handed out as the writable `alias`. A linker that wrote or read
// through `base` would fault at once. Mappings are placed deterministically
// (the lowest page-aligned address in the window that overlaps none), so the
// same input links to the same addresses, and the total is capped so that an
// input cannot exhaust the fuzzer's memory (over the cap, map() fails with
// Errc::kNoMemory as a full address space would).
#pragma once

#include <stdlib.h>
#include <string.h>

#include <vector>

#include "fuzz/check.h"
#include "platform/page_memory.h"

namespace mk::fuzz {

class SandboxPages final : public PageMemory {
 public:
  static constexpr size_t kPage = 4096;
  static constexpr uintptr_t kLowest = 0x10000;
  static constexpr size_t kCap = size_t{64} << 20;

  ~SandboxPages() { FUZZ_CHECK(maps_.empty(), "%zu mappings never unmapped", maps_.size()); }

  size_t page_size() const override { return kPage; }

  Result<Mapping> map(uintptr_t lo, uintptr_t hi, size_t size, Prot prot) override {
    FUZZ_CHECK(size != 0 && size % kPage == 0, "map of %zu bytes", size);
    if (size > kCap - total_) return Error(Errc::kNoMemory, "sandbox: over %zu bytes", kCap);
    uintptr_t at = lo < kLowest ? kLowest : (lo + kPage - 1) / kPage * kPage;
    for (bool moved = true; moved;) {
      moved = false;
      for (const Mapping& m : maps_) {
        if (at < m.base + m.size && m.base < at + size) {
          at = m.base + m.size;
          moved = true;
        }
      }
    }
    if (at < lo || at > hi || size > hi - at)
      return Error(Errc::kNoMemory, "sandbox: no room in [%#lx, %#lx)", lo, hi);
    void* buf = aligned_alloc(kPage, size);
    if (buf == nullptr) return Error(Errc::kNoMemory, "sandbox: heap exhausted");
    memset(buf, 0, size);
    Mapping m{at, reinterpret_cast<uintptr_t>(buf), size};
    maps_.push_back(m);
    total_ += size;
    (void)prot;
    return m;
  }

  void unmap(const Mapping& m) override {
    for (size_t i = 0; i < maps_.size(); ++i) {
      if (maps_[i].base == m.base && maps_[i].alias == m.alias && maps_[i].size == m.size) {
        free(reinterpret_cast<void*>(m.alias));
        total_ -= m.size;
        maps_.erase(maps_.begin() + static_cast<long>(i));
        return;
      }
    }
    FUZZ_CHECK(false, "unmap of a mapping not made here (base %#lx)", m.base);
  }

  const std::vector<Mapping>& maps() const { return maps_; }

 private:
  std::vector<Mapping> maps_;
  size_t total_ = 0;
};

}  // namespace mk::fuzz
