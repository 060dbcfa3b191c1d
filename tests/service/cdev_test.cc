// Character devices (service/cdev.h) with the sample modules null, zero,
// echo and random, and modules compiled at test time: reads and writes
// through devfs, unload refused while a device is open, completed after the
// close under the wait policy, a forced revoke that turns the open file into
// ENXIO, calls after GOING, and a failed init that leaves no device.
#include "service/cdev.h"

#include <chrono>
#include <thread>

#include "service/fixture.h"

namespace mk::test {
namespace {

using module::UnloadOptions;
using Policy = module::UnloadOptions::Policy;

class CdevTest : public ServiceKernel {};

TEST_F(CdevTest, NullZeroAndRandomAnswerAsTheirNamesSay) {
  ASSERT_NE(Load("null"), nullptr) << last_error;
  ASSERT_NE(Load("zero"), nullptr) << last_error;
  ASSERT_NE(Load("random"), nullptr) << last_error;
  DevfsFile* f = nullptr;
  ASSERT_EQ(Open("null", &f), 0);
  EXPECT_EQ(Write(f, "dropped"), 7);
  EXPECT_EQ(Read(f, 16), "");
  sys->devfs().close(f);
  ASSERT_EQ(Open("zero", &f), 0);
  EXPECT_EQ(Read(f, 5), std::string(5, '\0'));
  sys->devfs().close(f);
  ASSERT_EQ(Open("random", &f, kOpenRead), 0);
  std::string a = Read(f, 16), b = Read(f, 16);
  EXPECT_EQ(a.size(), 16u);
  EXPECT_NE(a, b);
  EXPECT_NE(a, std::string(16, '\0'));
  sys->devfs().close(f);
}

TEST_F(CdevTest, EchoKeepsABufferPerOpen) {
  ASSERT_NE(Load("echo"), nullptr) << last_error;
  DevfsFile* one = nullptr;
  DevfsFile* two = nullptr;
  ASSERT_EQ(Open("echo", &one), 0);
  ASSERT_EQ(Open("echo", &two), 0);
  EXPECT_EQ(Write(one, "hello"), 5);
  EXPECT_EQ(Write(one, ", world", 5), 7);
  EXPECT_EQ(Write(two, "other"), 5);
  EXPECT_EQ(Read(one, 64), "hello, world");
  EXPECT_EQ(Read(one, 64, 7), "world");
  EXPECT_EQ(Read(two, 64), "other");
  EXPECT_EQ(Write(one, "x", 4096), -kENOSPC);
  sys->devfs().close(one);
  sys->devfs().close(two);
  DevfsFile* three = nullptr;
  ASSERT_EQ(Open("echo", &three), 0);
  EXPECT_EQ(Read(three, 64), "");  // a new open starts empty
  sys->devfs().close(three);
}

TEST_F(CdevTest, UnloadRemovesTheDevice) {
  ASSERT_NE(Load("echo"), nullptr) << last_error;
  EXPECT_TRUE(Exists("echo"));
  ASSERT_TRUE(Unload("echo"));
  EXPECT_FALSE(Exists("echo"));
  EXPECT_TRUE(LogWith("leaked").empty());  // echo destroyed it itself
}

TEST_F(CdevTest, UnloadIsRefusedWhileADeviceIsOpen) {
  module::File* file = Load("echo");
  ASSERT_NE(file, nullptr) << last_error;
  std::string fname = file->name;
  DevfsFile* f = nullptr;
  ASSERT_EQ(Open("echo", &f), 0);
  Result<module::UnloadResult> r = Unload("echo");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), Errc::kBusy);
  EXPECT_EQ(std::string(r.error().message()),
            "module echo of " + fname + " has 1 reference(s) in use");
  EXPECT_EQ(Write(f, "still here"), 10);  // back to LIVE: the open works on
  EXPECT_EQ(Read(f, 64), "still here");
  sys->devfs().close(f);
  ASSERT_TRUE(Unload("echo"));
}

TEST_F(CdevTest, TheWaitPolicyCompletesOnceTheDeviceIsClosed) {
  ASSERT_NE(Load("echo"), nullptr) << last_error;
  DevfsFile* f = nullptr;
  ASSERT_EQ(Open("echo", &f), 0);
  std::thread closer([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    sys->devfs().close(f);
  });
  UnloadOptions o;
  o.policy = Policy::kWait;
  o.timeout_ns = 10'000'000'000ull;
  auto start = std::chrono::steady_clock::now();
  Result<module::UnloadResult> r = Unload("echo", o);
  closer.join();
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r.value(), module::UnloadResult::kDone);
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(90));
  EXPECT_FALSE(Exists("echo"));
}

TEST_F(CdevTest, AForcedUnloadRevokesTheOpenFileWhichThenGetsEnxio) {
  ASSERT_NE(Load("echo"), nullptr) << last_error;
  DevfsFile* f = nullptr;
  ASSERT_EQ(Open("echo", &f), 0);
  ASSERT_EQ(Write(f, "data"), 4);
  UnloadOptions o;
  o.force = true;
  Result<module::UnloadResult> r = Unload("echo", o);
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(sys->registry().find_module("echo"), nullptr);
  EXPECT_FALSE(Exists("echo"));
  EXPECT_EQ(Read(f, 64), "<errno -6>");  // the module is gone; the file answers ENXIO
  EXPECT_EQ(Write(f, "more"), -kENXIO);
  sys->devfs().close(f);
}

TEST_F(CdevTest, ADeferredUnloadCompletesAtTheLastCloseAndCallsMeanwhileGetEnxio) {
  ASSERT_NE(Load("echo"), nullptr) << last_error;
  DevfsFile* f = nullptr;
  ASSERT_EQ(Open("echo", &f), 0);
  UnloadOptions o;
  o.policy = Policy::kDefer;
  Result<module::UnloadResult> r = Unload("echo", o);
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r.value(), module::UnloadResult::kDeferred);
  EXPECT_EQ(Read(f, 64), "<errno -6>");  // GOING: no call reaches echo
  DevfsFile* g = nullptr;
  EXPECT_EQ(Open("echo", &g), -kENXIO);
  sys->devfs().close(f);  // the last reference: the unload completes on another thread
  for (int i = 0; i < 500 && sys->registry().find_module("echo") != nullptr; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_EQ(sys->registry().find_module("echo"), nullptr);
  EXPECT_EQ(LogWith("last reference gone").size(), 1u);
}

// A module whose LOAD makes a device and then fails: the load is refused,
// the device is revoked (and logged as a leak), and nothing of it is left.
TEST_F(CdevTest, AnInitThatFailsAfterMakingADeviceLeavesNoDevice) {
  module::File* f = LoadSource("flaky", R"(
#include <modkit/service.h>
static const struct mk_cdevsw sw = {.version = MK_CDEVSW_VERSION};
static struct mk_cdev* dev;
static int ev(struct mk_module* m, int e, void* a) {
  if (e != MK_EVENT_LOAD) return 0;
  if (mk_cdev_create(m, "flaky0", &sw, 0, 0600, 0, 0, &dev) != 0) return 1;
  return MK_EIO;
}
MODKIT_MODULE(flaky, 1, ev, 0);
)");
  EXPECT_EQ(f, nullptr);
  EXPECT_EQ(last_error, "flaky: module flaky failed to load: its LOAD handler returned 5");
  EXPECT_FALSE(Exists("flaky0"));
  EXPECT_EQ(LogWith("leaked"), std::vector<std::string>{"flaky: leaked cdev 'flaky0', revoked"});
  EXPECT_EQ(sys->registry().find_module("flaky"), nullptr);
}

TEST_F(CdevTest, ASecondDeviceOfTheSameNameIsRefused) {
  ASSERT_NE(Load("null"), nullptr) << last_error;
  module::File* f = LoadSource("copycat", R"(
#include <modkit/service.h>
static const struct mk_cdevsw sw = {.version = MK_CDEVSW_VERSION};
static struct mk_cdev* dev;
static int ev(struct mk_module* m, int e, void* a) {
  return e == MK_EVENT_LOAD ? mk_cdev_create(m, "null", &sw, 0, 0600, 0, 0, &dev) : 0;
}
MODKIT_MODULE(copycat, 1, ev, 0);
)");
  EXPECT_EQ(f, nullptr);
  EXPECT_EQ(last_error, "copycat: module copycat failed to load: its LOAD handler returned 17");
  std::vector<std::string> why = LogWith("mk_cdev_create");
  ASSERT_EQ(why.size(), 1u);
  EXPECT_NE(why[0].find("null"), std::string::npos) << why[0];
  DevfsFile* n = nullptr;
  ASSERT_EQ(Open("null", &n), 0);  // the first one is untouched
  EXPECT_EQ(Write(n, "x"), 1);
  sys->devfs().close(n);
}

TEST_F(CdevTest, AnUnversionedSwitchIsRefusedWithItsReason) {
  Result<service::Cdev*> d = sys->services().cdevs().create(sys->registry().find_module("kernel"),
                                                            "bad", nullptr, nullptr, 0600, 0, 0);
  ASSERT_FALSE(d);
  EXPECT_EQ(d.error().code(), Errc::kInvalid);
  EXPECT_STREQ(d.error().message(), "cdev bad: the switch is missing (MK_CDEVSW_VERSION is 1)");
  mk_cdevsw old{};
  old.version = 7;
  Result<service::Cdev*> d2 = sys->services().cdevs().create(sys->registry().find_module("kernel"),
                                                             "bad", &old, nullptr, 0600, 0, 0);
  ASSERT_FALSE(d2);
  EXPECT_STREQ(d2.error().message(),
               "cdev bad: the switch is of another version (MK_CDEVSW_VERSION is 1)");
}

}  // namespace
}  // namespace mk::test
