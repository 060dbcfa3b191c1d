// CountingAllocator: the core's Allocator for the fuzzers, over malloc. It
// counts live blocks so a harness can check that an input left nothing
// behind (LeakSanitizer checks the same, but only at the end of a run), and
// can fail allocation number `fail_at` (0-based) and every one after it.
#pragma once

#include <stdlib.h>

#include "fuzz/check.h"
#include "support/allocator.h"

namespace mk::fuzz {

class CountingAllocator final : public Allocator {
 public:
  void* allocate(size_t size, size_t align) override {
    FUZZ_CHECK(align != 0 && (align & (align - 1)) == 0, "allocation aligned to %zu", align);
    if (fail_at_ >= 0 && attempts_++ >= fail_at_) return nullptr;
    size_t a = align < sizeof(void*) ? sizeof(void*) : align;
    void* p = aligned_alloc(a, (size + a - 1) / a * a + (size == 0 ? a : 0));
    if (p != nullptr) ++live_;
    return p;
  }
  void deallocate(void* p, size_t, size_t) override {
    FUZZ_CHECK(live_ > 0, "deallocate(%p) with nothing live", p);
    --live_;
    free(p);
  }
  long live() const { return live_; }
  // Fail allocation n (counted from now) and every one after; -1: never.
  void fail_at(long n) {
    fail_at_ = n;
    attempts_ = 0;
  }

 private:
  long live_ = 0;
  long fail_at_ = -1;
  long attempts_ = 0;
};

}  // namespace mk::fuzz
