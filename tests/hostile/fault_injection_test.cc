// Fault injection (issue 7, item 3): a load of a module with a dependency
// chain (chain_top -> chain_mid -> chain_base, from modules/) and its unload,
// and of a module that registers a tunable and a device (echo), failed at
// every allocation, every page mapping and every unwind-table
// registration in turn. Each failure must be a clean error of the right
// category, and leave the kernel exactly as it was (KernelState: files and
// module states, arena bytes, exports, the allocator's live blocks), with no
// mapping or registration left behind when the kernel goes (HostileKernel's
// destructor; LeakSanitizer in the ASan build). The sweeps stop at the first
// N with no fault left to inject, so they cover every allocation point of a
// load and of an unload, as the code is today. A load's temporaries (its
// validated object, the linker's tables) come from the registry's Scratch
// (support/scratch.h), which takes its chunks from this allocator: a cold
// load fails at its first chunk, a warm one reuses the chunks it kept. The
// linker's own allocation points, one by one, are swept in tests/link
// (RollbackTest.EveryAllocationFailureRollsBack).
//
// Cold sweeps boot a fresh kernel per N (the first load maps the arena's
// chunks and has the most allocation points); the arena keeps a chunk it
// mapped, with its bookkeeping, for the next load, so after a failed cold
// load the registry must be as before, and after one more load and unload
// the heap must be exactly that of a kernel that never failed (WarmState).
// The warm sweeps reuse one kernel whose arena is mapped already, and
// compare everything after every failure.
#include <string>

#include "hostile/hostile_kernel.h"

namespace mk::test {
namespace {

constexpr const char* kChain[] = {"chain_base.ko", "chain_mid.ko", "chain_top.ko"};

::testing::AssertionResult ChainLoaded(HostileKernel& k) {
  KernelState s = k.State();
  if (s.files.size() != 4)
    return ::testing::AssertionFailure() << s.files.size() << " files, not kernel + 3";
  for (size_t i = 0; i < 3; ++i)
    if (s.files[i + 1].rfind(kChain[i], 0) != 0 ||
        s.files[i + 1].find("GOING") != std::string::npos)
      return ::testing::AssertionFailure() << "file " << i + 1 << " is " << s.files[i + 1];
  return ::testing::AssertionSuccess();
}

// Loading chain_top loads chain_mid and chain_base first, through the hints.
Result<module::File*> LoadChain(HostileKernel& k) {
  return k.registry().load_module("chain_top", kAnyVersion);
}

// Unloading chain_top takes the two files loaded only for it along.
Result<module::UnloadResult> UnloadChain(HostileKernel& k) {
  return k.registry().unload_module("chain_top", module::UnloadOptions{});
}

// A kernel's state after it loaded and unloaded the chain once.
KernelState Warm(HostileKernel& k) {
  EXPECT_TRUE(LoadChain(k));
  EXPECT_TRUE(UnloadChain(k));
  return k.State();
}

// After a failed cold load: the registry as before; after a load and an
// unload, everything as in a kernel that never failed.
void ExpectRecovered(HostileKernel& k, const KernelState& before, const std::string& what) {
  ExpectSameRegistry(before, k.State(), what);
  static const KernelState warm = [] {
    HostileKernel ref;
    return Warm(ref);
  }();
  KernelState after = Warm(k);
  ExpectUnchanged(warm, after, what + ", then a load and an unload");
}

TEST(FaultInjection, EveryAllocationOfAColdLoadFailsCleanly) {
  size_t n = 0;
  for (;; ++n) {
    SCOPED_TRACE("allocation " + std::to_string(n) + " fails");
    HostileKernel k;
    KernelState before = k.State();
    k.alloc.fail_after(n);
    Result<module::File*> r = LoadChain(k);
    k.alloc.never_fail();
    if (r) {
      EXPECT_EQ(k.alloc.failures(), 0u) << "the load succeeded though an allocation failed";
      EXPECT_TRUE(ChainLoaded(k));
      ASSERT_TRUE(UnloadChain(k));
      ExpectSameRegistry(before, k.State(), "load and unload");
      break;
    }
    ASSERT_STREQ(errc_name(r.error().code()), errc_name(Errc::kNoMemory)) << r.error().message();
    ExpectRecovered(k, before, "a failed load");
    ASSERT_LT(n, 100000u);
  }
  // Three files: validation, metadata, links, the registry's own records.
  EXPECT_GT(n, 50u) << "fewer allocation points than expected: is the fault reaching the load?";
  RecordProperty("allocation_points", static_cast<int>(n));
}

TEST(FaultInjection, EveryAllocationOfAWarmLoadFailsCleanly) {
  HostileKernel k;
  KernelState before = Warm(k);
  size_t n = 0;
  for (;; ++n) {
    SCOPED_TRACE("allocation " + std::to_string(n) + " fails");
    k.alloc.fail_after(n);
    Result<module::File*> r = LoadChain(k);
    k.alloc.never_fail();
    if (r) {
      EXPECT_TRUE(ChainLoaded(k));
      ASSERT_TRUE(UnloadChain(k));
      ExpectUnchanged(before, k.State(), "load and unload");
      break;
    }
    ASSERT_STREQ(errc_name(r.error().code()), errc_name(Errc::kNoMemory)) << r.error().message();
    ExpectUnchanged(before, k.State(), "a failed load");
    ASSERT_LT(n, 100000u);
  }
  EXPECT_GT(n, 50u);
}

// Unload needs little memory, but whatever it asks for may be refused: the
// unload then fails with everything still loaded and LIVE, or completes
// entirely (the chain's dependencies go too). Either way nothing leaks.
TEST(FaultInjection, EveryAllocationOfAnUnloadFailsCleanly) {
  HostileKernel k;
  KernelState empty = Warm(k);
  ASSERT_TRUE(LoadChain(k));
  KernelState loaded = k.State();
  size_t n = 0;
  for (;; ++n) {
    SCOPED_TRACE("allocation " + std::to_string(n) + " of the unload fails");
    k.alloc.fail_after(n);
    Result<module::UnloadResult> r = UnloadChain(k);
    k.alloc.never_fail();
    size_t failed = k.alloc.failures();
    if (!r) {
      ASSERT_STREQ(errc_name(r.error().code()), errc_name(Errc::kNoMemory)) << r.error().message();
      ExpectUnchanged(loaded, k.State(), "a failed unload");
      ASSERT_TRUE(UnloadChain(k));
    }
    ExpectUnchanged(empty, k.State(), "the unload");
    if (r && failed == 0) break;  // no allocation left to fail
    ASSERT_TRUE(LoadChain(k));
    ASSERT_LT(n, 10000u);
  }
  RecordProperty("allocation_points", static_cast<int>(n));
}

// echo registers a tunable and a character device (/dev/echo) while it
// loads: the service and devfs layers' allocations are points of a load too.
// A failure there fails the module's init, which the load reports; either
// way the kernel is as before (no tunable, no device node left behind).
TEST(FaultInjection, EveryAllocationOfADeviceModuleLoadFailsCleanly) {
  HostileKernel k;
  k.Warm();
  Result<module::File*> first = k.registry().load_module("echo", kAnyVersion);
  ASSERT_TRUE(first) << first.error().message();
  ASSERT_TRUE(k.registry().unload(first.value(), module::UnloadOptions{}));
  const KernelState before = k.State();
  size_t n = 0;
  for (;; ++n) {
    SCOPED_TRACE("allocation " + std::to_string(n) + " of loading echo fails");
    const size_t failures = k.alloc.failures();  // counts over the kernel's life
    k.alloc.fail_after(n);
    Result<module::File*> r = k.registry().load_module("echo", kAnyVersion);
    k.alloc.never_fail();
    if (r) {
      EXPECT_EQ(k.alloc.failures(), failures) << "the load succeeded though an allocation failed";
      ASSERT_TRUE(k.registry().unload(r.value(), module::UnloadOptions{}));
      ExpectUnchanged(before, k.State(), "load and unload");
      break;
    }
    // Out of memory in the kernel, or in the module's LOAD handler, which
    // gets ENOMEM (12) from mk_cdev_create and returns it.
    if (r.error().code() != Errc::kNoMemory) {
      EXPECT_TRUE(Matches(r.error().message(),
                          "echo.ko: module echo failed to load: its LOAD handler returned 12"))
          << errc_name(r.error().code()) << ": " << r.error().message();
    }
    ExpectUnchanged(before, k.State(), std::string("a failed load: ") + r.error().message());
    ASSERT_LT(n, 100000u);
  }
  EXPECT_GT(n, 10u) << "fewer allocation points than expected: is the fault reaching the load?";
  RecordProperty("allocation_points", static_cast<int>(n));
}

// And its unload: whatever the unload asks for may be refused; the unload then
// fails with echo LIVE and its device in place, or completes.
TEST(FaultInjection, EveryAllocationOfADeviceModuleUnloadFailsCleanly) {
  HostileKernel k;
  k.Warm();
  auto load_echo = [&k]() -> module::File* {
    Result<module::File*> f = k.registry().load_module("echo", kAnyVersion);
    EXPECT_TRUE(f) << f.error().message();
    return f ? f.value() : nullptr;
  };
  module::File* f = load_echo();
  ASSERT_NE(f, nullptr);
  ASSERT_TRUE(k.registry().unload(f, module::UnloadOptions{}));
  const KernelState warm = k.State();
  ASSERT_NE(f = load_echo(), nullptr);
  const KernelState loaded = k.State();
  size_t n = 0;
  for (;; ++n) {
    SCOPED_TRACE("allocation " + std::to_string(n) + " of unloading echo fails");
    const size_t failures = k.alloc.failures();  // counts over the kernel's life
    k.alloc.fail_after(n);
    Result<module::UnloadResult> r = k.registry().unload(f, module::UnloadOptions{});
    k.alloc.never_fail();
    const size_t failed = k.alloc.failures() - failures;
    if (!r) {
      ASSERT_STREQ(errc_name(r.error().code()), errc_name(Errc::kNoMemory)) << r.error().message();
      ExpectUnchanged(loaded, k.State(), "a failed unload");
      ASSERT_TRUE(k.registry().unload(f, module::UnloadOptions{}));
    }
    ExpectUnchanged(warm, k.State(), "the unload");
    if (r && failed == 0) break;  // no allocation left to fail
    ASSERT_NE(f = load_echo(), nullptr);
    ASSERT_LT(n, 10000u);
  }
  RecordProperty("allocation_points", static_cast<int>(n));
}

TEST(FaultInjection, EveryMappingOfAColdLoadFailsCleanly) {
  for (long n = 0;; ++n) {
    SCOPED_TRACE("mapping " + std::to_string(n) + " fails");
    HostileKernel k;
    KernelState before = k.State();
    k.pages.fail_at(n);
    Result<module::File*> r = LoadChain(k);
    k.pages.fail_at(-1);
    if (r) {
      EXPECT_EQ(k.pages.failures(), 0);
      EXPECT_GE(n, 2) << "a chain of text, data and read-only sections maps at least 3 chunks";
      EXPECT_TRUE(ChainLoaded(k));
      ASSERT_TRUE(UnloadChain(k));
      ExpectSameRegistry(before, k.State(), "load and unload");
      break;
    }
    ASSERT_STREQ(errc_name(r.error().code()), errc_name(Errc::kNoMemory)) << r.error().message();
    EXPECT_NE(std::string(r.error().message()).find("injected: map number"), std::string::npos)
        << r.error().message();
    ExpectRecovered(k, before, "a failed load");
    ASSERT_LT(n, 100);
  }
}

TEST(FaultInjection, EveryUnwindRegistrationOfALoadFailsCleanly) {
  for (long n = 0;; ++n) {
    SCOPED_TRACE("eh_frame registration " + std::to_string(n) + " fails");
    HostileKernel k;
    KernelState before = k.State();
    k.runtime.fail_at(n);
    Result<module::File*> r = LoadChain(k);
    k.runtime.fail_at(-1);
    if (r) {
      EXPECT_EQ(k.runtime.failures(), 0);
      EXPECT_EQ(n, 3) << "one .eh_frame per file of the chain";
      ASSERT_TRUE(UnloadChain(k));
      ExpectSameRegistry(before, k.State(), "load and unload");
      break;
    }
    ASSERT_STREQ(errc_name(r.error().code()), errc_name(Errc::kInvalid)) << r.error().message();
    EXPECT_NE(std::string(r.error().message()).find("the unwinder refused .eh_frame"),
              std::string::npos)
        << r.error().message();
    EXPECT_EQ(k.runtime.registered(), 0);
    ExpectRecovered(k, before, "a failed load");
    ASSERT_LT(n, 100);
  }
}

}  // namespace
}  // namespace mk::test
