// Loads racing with loads and unloads in module/registry.h, each forced or
// repeated with varying timing: two loads of one name, a load during an
// unload of another file and of its own dependency, a load nested in a LOAD
// handler; and the unload orders the stress test found freeing a file twice.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "concurrency/fixture.h"

namespace mk::test {
namespace {

using module::Module;
using module::State;
using module::UnloadOptions;
using module::UnloadResult;
using namespace std::chrono_literals;

// ---- two loads of one name ----

TEST(RegistryRace, TwoLoadsOfOneNameMakeOneFile) {
  ModuleDir dir;
  ASSERT_FALSE(::testing::Test::HasFailure());
  TestKernel k(dir);
  module::Registry& reg = k.registry();
  // By module name (top brings mid and base), and by path.
  struct Case {
    const char* module;
    const char* path;  // load_path instead when set
  };
  for (Case c : {Case{"solo", nullptr}, Case{"top", nullptr}, Case{"solo", "solo.ko"}}) {
    SCOPED_TRACE(c.path != nullptr ? c.path : c.module);
    for (int round = 0; round < 15; ++round) {
      StartLine line(2);
      Outcome out[2];
      std::thread t[2];
      for (int i = 0; i < 2; ++i) {
        t[i] = std::thread([&, i] {
          line.Arrive();
          out[i] = c.path != nullptr ? Outcome::Of(reg.load_path(c.path))
                                     : Outcome::Of(reg.load_module(c.module, kAnyVersion));
        });
      }
      t[0].join();
      t[1].join();
      ASSERT_NE(out[0].ok, out[1].ok) << out[0].message << " / " << out[1].message;
      const Outcome& lost = out[0].ok ? out[1] : out[0];
      EXPECT_EQ(lost.code, Errc::kDuplicate) << lost.message;
      EXPECT_EQ(FilesWith(reg, c.module), 1);
      EXPECT_EQ(CheckAtRest(Snapshot(reg)), "");
      ASSERT_EQ(k.UnloadAllAndCheck(), "");
    }
  }
}

// ---- a load while another file unloads ----

// solo drains (wait policy) or is deferred while top loads; the reference
// on solo goes at a varying moment, so the unload's completion (in unload
// itself, or in the put) meets the load at different points.
TEST(RegistryRace, LoadWhileAnotherFileUnloads) {
  ModuleDir dir;
  ASSERT_FALSE(::testing::Test::HasFailure());
  TestKernel k(dir);
  module::Registry& reg = k.registry();
  std::mt19937 rng(7);
  for (bool defer : {false, true}) {
    SCOPED_TRACE(defer ? "defer" : "wait");
    for (int round = 0; round < 10; ++round) {
      ASSERT_TRUE(reg.load_module("solo", kAnyVersion));
      Module* solo = Reference(reg, "solo");
      ASSERT_NE(solo, nullptr);
      Outcome unloaded, loaded;
      std::thread u(
          [&] { unloaded = Outcome::Of(reg.unload(solo->file, defer ? Defer() : WaitFor(10s))); });
      ASSERT_TRUE(WaitForState(reg, "solo", State::kGoing));
      std::thread l([&] { loaded = Outcome::Of(reg.load_module("top", kAnyVersion)); });
      std::this_thread::sleep_for(std::chrono::microseconds(rng() % 3000));
      reg.put(solo);
      u.join();
      l.join();
      EXPECT_TRUE(unloaded.ok) << unloaded.message;
      EXPECT_TRUE(loaded.ok) << loaded.message;
      EXPECT_EQ(FilesWith(reg, "solo"), 0);
      EXPECT_EQ(FilesWith(reg, "top"), 1);
      EXPECT_EQ(CheckAtRest(Snapshot(reg)), "");
      ASSERT_EQ(k.UnloadAllAndCheck(), "");
    }
  }
}

// ---- a load while its own dependency unloads ----

// base is deferred (GOING) until its reference goes; a load of top needs it
// (through mid). Before the put the load fails and leaves nothing behind;
// after it, the load brings base back. Both orders happen.
TEST(RegistryRace, LoadWhileItsDependencyIsDeferred) {
  ModuleDir dir;
  ASSERT_FALSE(::testing::Test::HasFailure());
  TestKernel k(dir);
  module::Registry& reg = k.registry();
  std::mt19937 rng(11);
  int refused = 0, loaded_after = 0;
  for (int round = 0; round < 20; ++round) {
    ASSERT_TRUE(reg.load_module("base", kAnyVersion));
    Module* base = Reference(reg, "base");
    ASSERT_NE(base, nullptr);
    Result<UnloadResult> d = reg.unload(base->file, Defer());
    ASSERT_TRUE(d) << d.error().message();
    ASSERT_EQ(d.value(), UnloadResult::kDeferred);
    Outcome loaded;
    auto load_after = std::chrono::microseconds(rng() % 2000);
    std::thread l([&] {
      std::this_thread::sleep_for(load_after);
      loaded = Outcome::Of(reg.load_module("top", kAnyVersion));
    });
    std::this_thread::sleep_for(std::chrono::microseconds(rng() % 2000));
    reg.put(base);  // completes base's unload
    l.join();
    if (loaded.ok) {
      ++loaded_after;
      EXPECT_EQ(FilesWith(reg, "base"), 1);
    } else {
      ++refused;
      EXPECT_EQ(loaded.code, Errc::kBusy) << loaded.message;
      EXPECT_NE(loaded.message.find("base, which is GOING"), std::string::npos) << loaded.message;
      EXPECT_EQ(FilesWith(reg, "mid"), 0);  // undone
    }
    EXPECT_EQ(CheckAtRest(Snapshot(reg)), "");
    ASSERT_EQ(k.UnloadAllAndCheck(), "");
  }
  printf("load of top: refused %d times, loaded after base went %d times\n", refused, loaded_after);
}

// base drains with the wait policy while top loads (through mid, which
// needs base). The load comes first: base gets a user, and the unload is
// refused. Or the unload does: while it waits, the load finds base GOING and
// fails, leaving nothing behind; after it, the load brings base back.
TEST(RegistryRace, LoadWhileItsDependencyDrains) {
  ModuleDir dir;
  ASSERT_FALSE(::testing::Test::HasFailure());
  TestKernel k(dir);
  module::Registry& reg = k.registry();
  std::mt19937 rng(13);
  int load_first = 0, load_during = 0, load_after = 0;
  for (int round = 0; round < 20; ++round) {
    ASSERT_TRUE(reg.load_module("base", kAnyVersion));
    Module* base = Reference(reg, "base");
    ASSERT_NE(base, nullptr);
    module::File* base_file = base->file;
    StartLine line(2);
    Outcome unloaded, loaded;
    // Each side in turn starts a little late.
    auto late = std::chrono::microseconds(200 + rng() % 800);
    std::thread u([&] {
      line.Arrive();
      if (round % 2 == 0) std::this_thread::sleep_for(late);
      unloaded = Outcome::Of(reg.unload(base_file, WaitFor(10s)));
    });
    std::thread l([&] {
      line.Arrive();
      if (round % 2 == 1) std::this_thread::sleep_for(late);
      loaded = Outcome::Of(reg.load_module("top", kAnyVersion));
    });
    std::this_thread::sleep_for(std::chrono::microseconds(rng() % 2000));
    reg.put(base);
    u.join();
    l.join();
    if (!unloaded.ok) {
      ++load_first;
      EXPECT_TRUE(loaded.ok) << loaded.message;
      EXPECT_EQ(unloaded.code, Errc::kBusy) << unloaded.message;
      EXPECT_NE(unloaded.message.find("in use by mid.ko"), std::string::npos) << unloaded.message;
    } else if (!loaded.ok) {
      ++load_during;
      EXPECT_EQ(loaded.code, Errc::kBusy) << loaded.message;
      EXPECT_NE(loaded.message.find("base, which is GOING"), std::string::npos) << loaded.message;
      EXPECT_EQ(Snapshot(reg).size(), 1u);  // mid undone, base gone
    } else {
      ++load_after;
      EXPECT_EQ(FilesWith(reg, "base"), 1);
    }
    EXPECT_EQ(CheckAtRest(Snapshot(reg)), "");
    ASSERT_EQ(k.UnloadAllAndCheck(), "");
  }
  printf("load of top before the unload of base %d times, during it %d, after it %d\n", load_first,
         load_during, load_after);
}

// ---- a load nested in a LOAD handler ----

// nester's LOAD handler loads solo through the KPI (mk_module_load): the
// loader lock is recursive for the thread that holds it. Another thread
// loads solo at the same moment: one of the two loads it, never both.
TEST(RegistryRace, LoadNestedInLoadHandler) {
  ModuleDir dir;
  ASSERT_FALSE(::testing::Test::HasFailure());
  TestKernel k(dir);
  module::Registry& reg = k.registry();

  Result<module::File*> n = reg.load_module("nester", kAnyVersion);
  ASSERT_TRUE(n) << n.error().message();
  EXPECT_EQ(FilesWith(reg, "solo"), 1);
  // solo was its own request, not a dependency: it stays when nester goes.
  ASSERT_TRUE(reg.unload_module("nester", UnloadOptions{}));
  EXPECT_EQ(FilesWith(reg, "solo"), 1);
  ASSERT_EQ(k.UnloadAllAndCheck(), "");

  for (int round = 0; round < 15; ++round) {
    StartLine line(2);
    Outcome nested, direct;
    std::thread a([&] {
      line.Arrive();
      nested = Outcome::Of(reg.load_module("nester", kAnyVersion));
    });
    std::thread b([&] {
      line.Arrive();
      direct = Outcome::Of(reg.load_module("solo", kAnyVersion));
    });
    a.join();
    b.join();
    EXPECT_TRUE(nested.ok) << nested.message;
    if (!direct.ok) {
      EXPECT_EQ(direct.code, Errc::kDuplicate) << direct.message;
    }
    EXPECT_EQ(FilesWith(reg, "solo"), 1);
    EXPECT_EQ(FilesWith(reg, "nester"), 1);
    EXPECT_EQ(CheckAtRest(Snapshot(reg)), "");
    ASSERT_EQ(k.UnloadAllAndCheck(), "");
  }
}

// ---- unload orders the stress test found freeing a file twice ----

// A cascade from base reaches top, whose unload takes mid and base with it
// as unused dependencies: base must not be touched again afterwards.
TEST(RegistryUnload, CascadeFromADependencyTheHolderTakesAlong) {
  ModuleDir dir;
  ASSERT_FALSE(::testing::Test::HasFailure());
  TestKernel k(dir);
  module::Registry& reg = k.registry();
  ASSERT_TRUE(reg.load_module("top", kAnyVersion));
  ASSERT_EQ(Snapshot(reg).size(), 4u);
  UnloadOptions o;
  o.cascade = true;
  Result<UnloadResult> r = reg.unload_module("base", o);
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r.value(), UnloadResult::kDone);
  EXPECT_EQ(k.UnloadAllAndCheck(), "");
}

// diamond uses mid and base, and mid uses base: unloading diamond takes mid,
// whose unload takes base; diamond's own look at base must not follow it
// (kite is diamond with the other order of uses).
TEST(RegistryUnload, DiamondDependenciesGoOnce) {
  ModuleDir dir;
  ASSERT_FALSE(::testing::Test::HasFailure());
  TestKernel k(dir);
  module::Registry& reg = k.registry();
  for (const char* name : {"diamond", "kite"}) {
    SCOPED_TRACE(name);
    ASSERT_TRUE(reg.load_module(name, kAnyVersion));
    ASSERT_EQ(Snapshot(reg).size(), 4u);
    Result<UnloadResult> r = reg.unload_module(name, UnloadOptions{});
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_EQ(Snapshot(reg).size(), 1u);
    EXPECT_EQ(k.UnloadAllAndCheck(), "");
  }
}

}  // namespace
}  // namespace mk::test
