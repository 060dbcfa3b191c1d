// HostileKernel: a booted hosted System for the tests of hostile input and
// faults, over injected platform pieces: a TestAllocator (counts every block;
// its destructor fails the test on a leak), FaultyPages and FaultyRuntime.
// The module path is the sample modules' directory, then a scratch directory
// a test may fill (with a hints index it writes itself).
//
// KernelState is what "the kernel's state unchanged" means in these tests:
// the files and their modules with states, the arena's bytes in use, the
// export index's size and the allocator's live blocks and bytes.
#pragma once

#include <stddef.h>

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "hosted/system.h"
#include "hostile/faulty_platform.h"
#include "link/toolchain.h"
#include "support/test_allocator.h"

namespace mk::test {

struct KernelState {
  std::vector<std::string> files;  // "name: module STATE, ..." per file, in load order
  size_t arena_used = 0;
  size_t exports = 0;
  size_t live_allocations = 0;
  size_t live_bytes = 0;
};

// The TestAllocator under a mutex, for tests where several threads load.
class LockedAllocator final : public Allocator {
 public:
  explicit LockedAllocator(testing::TestAllocator& a) : a_(a) {}
  void* allocate(size_t size, size_t align) override {
    std::lock_guard<std::mutex> g(mu_);
    return a_.allocate(size, align);
  }
  void deallocate(void* p, size_t size, size_t align) override {
    std::lock_guard<std::mutex> g(mu_);
    a_.deallocate(p, size, align);
  }

 private:
  std::mutex mu_;
  testing::TestAllocator& a_;
};

class HostileKernel {
 public:
  // policy and trusted: the module signature policy and its public key files.
  explicit HostileKernel(hosted::SignaturePolicy policy = hosted::SignaturePolicy::kOff,
                         std::vector<std::string> trusted = {});
  ~HostileKernel();

  hosted::System& system() { return *system_; }
  module::Registry& registry() { return system_->registry(); }
  const std::string& scratch_dir() const { return scratch_.dir(); }
  // Writes a module file into the scratch directory.
  void WriteModule(const std::string& file, const std::vector<uint8_t>& bytes);
  // Writes the scratch directory's modkit.hints: "module NAME VERSION FILE" lines.
  void WriteHints(const std::vector<std::string>& entries);

  KernelState State();
  // Loads and unloads chain_top (with its chain), counter and hello, so the
  // arena has mapped the chunks a load of a small module needs, and returns
  // the state then: a kernel whose failed loads must leave everything,
  // heap included, exactly so.
  KernelState Warm();

  testing::TestAllocator alloc;
  LockedAllocator locked{alloc};
  FaultyPages pages;
  FaultyRuntime runtime;

 private:
  Scratch scratch_;
  std::unique_ptr<hosted::System> system_;
};

// Asserts that `now` is `before` in every respect, naming what differs.
void ExpectUnchanged(const KernelState& before, const KernelState& now, const std::string& after);
// The same for the registry's part only (files, arena bytes, exports): for
// a kernel whose arena maps its first chunks now, and keeps them (with
// their bookkeeping) for the next load.
void ExpectSameRegistry(const KernelState& before, const KernelState& now,
                        const std::string& after);

// `text` is `pattern`, where each `*' of the pattern stands for any run of
// characters (an address, which depends on where the kernel put something).
::testing::AssertionResult Matches(const std::string& text, const std::string& pattern);

template <class T>
void ExpectError(const Result<T>& r, Errc code, const std::string& message) {
  ASSERT_FALSE(r) << "expected " << errc_name(code) << ": " << message;
  EXPECT_STREQ(errc_name(r.error().code()), errc_name(code)) << r.error().message();
  EXPECT_TRUE(Matches(r.error().message(), message));
}

inline constexpr module::VersionRange kAnyVersion{0, UINT32_MAX, UINT32_MAX};

}  // namespace mk::test
