// Draining in module/registry.h: references refused once a module is GOING,
// unloads that wait (with and without a deadline) or defer to the last put,
// a holder that needs the loader lock to let go while an unload drains, and
// shutdown meeting references that are still held.
#include <gtest/gtest.h>
#include <modkit/module.h>

#include <atomic>
#include <chrono>
#include <random>
#include <string>
#include <thread>

#include "concurrency/fixture.h"

namespace mk::test {
namespace {

using module::Module;
using module::State;
using module::UnloadOptions;
using module::UnloadResult;
using namespace std::chrono_literals;

// ---- GOING refuses new references ----

// A thread holds a reference while unload(wait) runs: once the module is
// GOING, get fails (the registry's and the KPI's); the unload completes at the
// put, not before.
TEST(RegistryDrain, GetFailsOnceGoingAndTheUnloadCompletesAtThePut) {
  ModuleDir dir;
  ASSERT_FALSE(::testing::Test::HasFailure());
  TestKernel k(dir);
  module::Registry& reg = k.registry();
  ASSERT_TRUE(reg.load_module("solo", kAnyVersion));
  Module* solo = Reference(reg, "solo");
  ASSERT_NE(solo, nullptr);

  std::atomic<bool> finished{false};
  Outcome unloaded;
  std::thread u([&] {
    unloaded = Outcome::Of(reg.unload(solo->file, WaitFor(20s)));
    finished = true;
  });
  ASSERT_TRUE(WaitForState(reg, "solo", State::kGoing));
  Result<void> g = reg.get(solo);
  ASSERT_FALSE(g);
  EXPECT_EQ(g.error().code(), Errc::kBusy);
  EXPECT_STREQ(g.error().message(), "module solo is GOING: no new references");
  EXPECT_EQ(mk_module_get(solo), MK_ENXIO);
  std::this_thread::sleep_for(20ms);
  EXPECT_FALSE(finished.load());  // still draining our reference
  EXPECT_EQ(ModuleState(reg, "solo"), State::kGoing);
  reg.put(solo);
  u.join();
  EXPECT_TRUE(unloaded.ok) << unloaded.message;
  EXPECT_EQ(reg.find_module("solo"), nullptr);
  EXPECT_EQ(k.UnloadAllAndCheck(), "");
}

// The same with the defer policy: unload returns at once, gets keep failing
// from another thread, and the last put finishes the unload.
TEST(RegistryDrain, DeferredUnloadCompletesInTheLastPut) {
  ModuleDir dir;
  ASSERT_FALSE(::testing::Test::HasFailure());
  TestKernel k(dir);
  module::Registry& reg = k.registry();
  ASSERT_TRUE(reg.load_module("solo", kAnyVersion));
  Module* solo = Reference(reg, "solo");
  ASSERT_NE(solo, nullptr);
  ASSERT_TRUE(reg.get(solo));  // two references, put from two threads

  Result<UnloadResult> d = reg.unload(solo->file, Defer());
  ASSERT_TRUE(d) << d.error().message();
  EXPECT_EQ(d.value(), UnloadResult::kDeferred);
  EXPECT_EQ(ModuleState(reg, "solo"), State::kGoing);
  EXPECT_FALSE(reg.get(solo));
  StartLine line(2);
  std::thread a([&] {
    line.Arrive();
    reg.put(solo);
  });
  line.Arrive();
  reg.put(solo);
  a.join();
  EXPECT_EQ(reg.find_module("solo"), nullptr);
  EXPECT_TRUE(LogHas(k.system(), "last reference gone, completing the deferred unload"));
  EXPECT_EQ(k.UnloadAllAndCheck(), "");
}

// A wait that times out gives the module back: LIVE, references granted again.
TEST(RegistryDrain, WaitTimeoutResumesTheModule) {
  ModuleDir dir;
  ASSERT_FALSE(::testing::Test::HasFailure());
  TestKernel k(dir);
  module::Registry& reg = k.registry();
  ASSERT_TRUE(reg.load_module("solo", kAnyVersion));
  Module* solo = Reference(reg, "solo");
  ASSERT_NE(solo, nullptr);
  Outcome unloaded;
  std::thread u([&] { unloaded = Outcome::Of(reg.unload(solo->file, WaitFor(30ms))); });
  u.join();
  EXPECT_FALSE(unloaded.ok);
  EXPECT_EQ(unloaded.code, Errc::kBusy);
  EXPECT_EQ(ModuleState(reg, "solo"), State::kLive);
  EXPECT_TRUE(reg.get(solo));
  reg.put(solo);
  reg.put(solo);
  EXPECT_EQ(CheckAtRest(Snapshot(reg)), "");
  EXPECT_EQ(k.UnloadAllAndCheck(), "");
}

// ---- waiting ----

// No deadline: UINT64_MAX waits as long as it takes, it does not wrap into
// a deadline in the past.
TEST(RegistryDrain, WaitWithoutDeadline) {
  ModuleDir dir;
  ASSERT_FALSE(::testing::Test::HasFailure());
  TestKernel k(dir);
  module::Registry& reg = k.registry();
  ASSERT_TRUE(reg.load_module("solo", kAnyVersion));
  Module* solo = Reference(reg, "solo");
  ASSERT_NE(solo, nullptr);
  UnloadOptions forever;
  forever.policy = UnloadOptions::Policy::kWait;
  forever.timeout_ns = UINT64_MAX;
  std::atomic<bool> finished{false};
  Outcome unloaded;
  std::thread u([&] {
    unloaded = Outcome::Of(reg.unload(solo->file, forever));
    finished = true;
  });
  bool going = WaitForState(reg, "solo", State::kGoing);
  std::this_thread::sleep_for(50ms);
  EXPECT_TRUE(going);
  EXPECT_FALSE(finished.load());
  reg.put(solo);
  u.join();
  EXPECT_TRUE(unloaded.ok) << unloaded.message;
  EXPECT_EQ(k.UnloadAllAndCheck(), "");
}

// A thread that holds a reference may need the loader lock before it can put
// it: to load something first, or to complete a deferred unload with another
// put. An unload waiting for that reference must not keep the loader lock
// meanwhile (a lock-order inversion: loader lock -> reference -> loader
// lock), or both wait until the deadline and the unload fails.
TEST(RegistryDrain, AHolderMayNeedTheLoaderLockToLetGo) {
  ModuleDir dir;
  ASSERT_FALSE(::testing::Test::HasFailure());
  TestKernel k(dir);
  module::Registry& reg = k.registry();
  for (bool load_first : {true, false}) {
    SCOPED_TRACE(load_first ? "load, then put" : "complete a deferred unload, then put");
    ASSERT_TRUE(reg.load_module("solo", kAnyVersion));
    ASSERT_TRUE(reg.load_module("base", kAnyVersion));
    Module* solo = Reference(reg, "solo");
    Module* base = Reference(reg, "base");
    ASSERT_NE(solo, nullptr);
    ASSERT_NE(base, nullptr);
    if (!load_first) {
      ASSERT_TRUE(reg.unload(base->file, Defer()));
    }

    auto start = std::chrono::steady_clock::now();
    Outcome unloaded;
    std::thread u([&] { unloaded = Outcome::Of(reg.unload(solo->file, WaitFor(5s))); });
    ASSERT_TRUE(WaitForState(reg, "solo", State::kGoing));
    if (load_first) {
      Result<module::File*> top = reg.load_module("top", kAnyVersion);
      EXPECT_TRUE(top) << top.error().message();
    }
    reg.put(base);  // the last one when base is deferred: completes its unload
    reg.put(solo);
    u.join();
    auto took = std::chrono::steady_clock::now() - start;
    EXPECT_TRUE(unloaded.ok) << unloaded.message;
    EXPECT_LT(took, 4s);
    EXPECT_EQ(FilesWith(reg, "solo"), 0);
    EXPECT_EQ(FilesWith(reg, "base"), load_first ? 1 : 0);
    EXPECT_EQ(CheckAtRest(Snapshot(reg)), "");
    ASSERT_EQ(k.UnloadAllAndCheck(), "");
  }
}

// ---- shutdown ----

// A deferred unload belongs to its last put: shutdown leaves the file to it
// instead of freeing it under the holder (whose put would then free it
// again). The put comes after the shutdown, or races with it.
TEST(RegistryDrain, ShutdownLeavesADeferredUnloadToItsLastPut) {
  ModuleDir dir;
  ASSERT_FALSE(::testing::Test::HasFailure());
  std::mt19937 rng(17);
  for (int round = 0; round < 12; ++round) {
    TestKernel k(dir);
    module::Registry& reg = k.registry();
    ASSERT_TRUE(reg.load_module("top", kAnyVersion));
    ASSERT_TRUE(reg.load_module("solo", kAnyVersion));
    Module* solo = Reference(reg, "solo");
    ASSERT_NE(solo, nullptr);
    Result<UnloadResult> d = reg.unload(solo->file, Defer());
    ASSERT_TRUE(d) << d.error().message();
    ASSERT_EQ(d.value(), UnloadResult::kDeferred);
    if (round == 0) {  // in order: shutdown, then the put
      k.system().shutdown();
      EXPECT_EQ(FilesWith(reg, "top"), 0);
      EXPECT_EQ(ModuleState(reg, "solo"), State::kGoing);
      reg.put(solo);
    } else {
      auto put_after = std::chrono::microseconds(rng() % 1500);
      std::thread p([&] {
        std::this_thread::sleep_for(put_after);
        reg.put(solo);
      });
      std::this_thread::sleep_for(std::chrono::microseconds(rng() % 1500));
      k.system().shutdown();
      p.join();
    }
    EXPECT_EQ(reg.file_count(), 1u);
    EXPECT_TRUE(LogHas(k.system(), "solo.ko: unloaded"));
    ASSERT_EQ(k.UnloadAllAndCheck(), "");
  }
}

// A module still referenced at shutdown is not freed under its holder: it
// gets SHUTDOWN, goes GOING (no new references) and unloads at the last put,
// as a deferred unload; what it uses stays until then.
TEST(RegistryDrain, ShutdownDefersAReferencedFile) {
  ModuleDir dir;
  ASSERT_FALSE(::testing::Test::HasFailure());
  TestKernel k(dir);
  module::Registry& reg = k.registry();
  ASSERT_TRUE(reg.load_module("top", kAnyVersion));  // brings mid and base
  Module* mid = Reference(reg, "mid");
  ASSERT_NE(mid, nullptr);
  k.system().shutdown();
  EXPECT_TRUE(LogHas(k.system(), "shutdown: mid"));
  EXPECT_EQ(FilesWith(reg, "top"), 0);
  EXPECT_EQ(ModuleState(reg, "mid"), State::kGoing);
  EXPECT_EQ(ModuleState(reg, "base"), State::kLive);  // mid still uses it
  EXPECT_FALSE(reg.get(mid));
  reg.put(mid);  // mid goes, and base (loaded only for it) with it
  EXPECT_EQ(reg.file_count(), 1u);
  EXPECT_EQ(k.UnloadAllAndCheck(), "");
}

}  // namespace
}  // namespace mk::test
