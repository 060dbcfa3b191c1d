// TestAllocator: an mk::Allocator for tests. It can be told to fail after a
// number of successful allocations, counts live allocations and bytes so a test
// can assert that nothing leaked, and checks that every deallocate() names
// exactly the pointer, size and alignment its allocate() was given.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include <map>
#include <new>

#include "gtest/gtest.h"
#include "support/allocator.h"

namespace mk::testing {

class TestAllocator final : public Allocator {
 public:
  static constexpr size_t kNoLimit = SIZE_MAX;

  TestAllocator() = default;
  explicit TestAllocator(size_t fail_after) : fail_after_(fail_after) {}
  TestAllocator(const TestAllocator&) = delete;
  TestAllocator& operator=(const TestAllocator&) = delete;
  ~TestAllocator() { EXPECT_EQ(live_.size(), 0u) << "allocations leaked"; }

  // Allow n more allocations, then fail every one after that.
  void fail_after(size_t n) { fail_after_ = n; }
  void never_fail() { fail_after_ = kNoLimit; }

  void* allocate(size_t size, size_t align) override {
    ++attempts_;
    EXPECT_TRUE(align != 0 && (align & (align - 1)) == 0 && align <= 64)
        << "bad alignment " << align;
    if (fail_after_ == 0) {
      ++failures_;
      return nullptr;
    }
    if (fail_after_ != kNoLimit) --fail_after_;
    void* p = ::operator new(size == 0 ? 1 : size, std::align_val_t(align), std::nothrow);
    if (p == nullptr) return nullptr;
    live_.emplace(p, Block{size, align});
    live_bytes_ += size;
    ++allocations_;
    return p;
  }

  void deallocate(void* p, size_t size, size_t align) override {
    auto it = live_.find(p);
    if (it == live_.end()) {
      ADD_FAILURE() << "deallocate of a pointer not allocated here: " << p;
      return;
    }
    EXPECT_EQ(it->second.size, size) << "deallocate size differs from allocate";
    EXPECT_EQ(it->second.align, align) << "deallocate alignment differs from allocate";
    live_bytes_ -= it->second.size;
    live_.erase(it);
    ::operator delete(p, std::align_val_t(align));
  }

  size_t live_allocations() const { return live_.size(); }
  size_t live_bytes() const { return live_bytes_; }
  size_t allocations() const { return allocations_; }  // successful ones, ever
  size_t attempts() const { return attempts_; }        // including failed ones
  size_t failures() const { return failures_; }

 private:
  struct Block {
    size_t size;
    size_t align;
  };
  std::map<void*, Block> live_;
  size_t fail_after_ = kNoLimit;
  size_t live_bytes_ = 0;
  size_t allocations_ = 0;
  size_t attempts_ = 0;
  size_t failures_ = 0;
};

}  // namespace mk::testing
