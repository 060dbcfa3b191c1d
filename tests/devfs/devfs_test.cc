#include "devfs/devfs.h"

#include <string.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "devfs/test_device.h"
#include "gtest/gtest.h"
#include "hosted/threads.h"
#include "support/test_allocator.h"

namespace mk {
namespace {

using testing::TestAllocator;
using testing::TestDevice;

// TestAllocator is single-threaded; the tests with threads share it through this.
class LockedAllocator final : public Allocator {
 public:
  void* allocate(size_t size, size_t align) override {
    std::lock_guard<std::mutex> g(mu);
    return inner.allocate(size, align);
  }
  void deallocate(void* p, size_t size, size_t align) override {
    std::lock_guard<std::mutex> g(mu);
    inner.deallocate(p, size, align);
  }
  std::mutex mu;
  TestAllocator inner;
};

constexpr DevfsCred kRoot{0, 0};

// A call run in a thread of its own, so that a test can see it wait: the
// destructor joins the thread.
class Pending {
 public:
  explicit Pending(std::function<void()> fn)
      : thread_([this, fn = std::move(fn)] {
          fn();
          returned_ = true;
        }) {}
  ~Pending() { join(); }
  void join() {
    if (thread_.joinable()) thread_.join();
  }
  bool returned() const { return returned_; }
  // Whether the call is still running after 50 ms. A wrong true is not
  // possible; on a very slow machine a wrong false is (the call may not have
  // got far yet), so a test that fails here has found a call that did not wait.
  bool still_running_after_a_while() {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    return !returned_;
  }

 private:
  std::atomic<bool> returned_{false};  // before thread_: set by it
  std::thread thread_;
};

class DevfsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    fs = Devfs::create(alloc, threads);
    ASSERT_NE(fs, nullptr);
  }
  void TearDown() override { Devfs::destroy(fs); }

  DevfsNode* node(const char* path, Device* d, uint32_t mode = 0666, uint32_t uid = 0,
                  uint32_t gid = 0) {
    Result<DevfsNode*> r = fs->make_node(path, d, mode, uid, gid);
    EXPECT_TRUE(r.ok()) << r.error().message();
    return r.ok() ? r.value() : nullptr;
  }
  std::vector<std::string> list(const char* path) {
    std::vector<std::string> names;
    int rc = fs->readdir(
        path,
        [](void* ctx, const char* name, const DevfsStat&) {
          static_cast<std::vector<std::string>*>(ctx)->push_back(name);
        },
        &names);
    EXPECT_EQ(rc, 0) << path;
    return names;
  }
  DevfsFile* open(const char* path, uint32_t flags = kOpenReadWrite) {
    DevfsFile* f = nullptr;
    EXPECT_EQ(fs->open(path, flags, kRoot, &f), 0) << path;
    return f;
  }

  LockedAllocator alloc;
  hosted::PosixThreads threads;
  Devfs* fs = nullptr;
  TestDevice dev;
};

TEST_F(DevfsTest, NodesLiveInDirectoriesMadeOnDemandAndPrunedWhenEmpty) {
  DevfsNode* a = node("/tty/usb/0", &dev, 0620, 5, 6);
  DevfsNode* b = node("tty/usb/1", &dev);
  node("null", &dev);
  EXPECT_EQ(list("/"), (std::vector<std::string>{"tty", "null"}));
  EXPECT_EQ(list("tty"), (std::vector<std::string>{"usb"}));
  EXPECT_EQ(list("/tty/usb"), (std::vector<std::string>{"0", "1"}));

  DevfsStat st;
  ASSERT_EQ(fs->stat("tty/usb/0", &st), 0);
  EXPECT_EQ(st.kind, DevfsKind::kDevice);
  EXPECT_EQ(st.mode, 0620u);
  EXPECT_EQ(st.uid, 5u);
  EXPECT_EQ(st.gid, 6u);
  EXPECT_EQ(st.size, 42u);  // Device::size()
  ASSERT_EQ(fs->stat("/", &st), 0);
  EXPECT_EQ(st.kind, DevfsKind::kDirectory);
  EXPECT_EQ(st.ino, 1u);
  EXPECT_EQ(st.nlink, 3u);  // ".", its entry, and tty's ".."
  ASSERT_EQ(fs->stat("tty", &st), 0);
  EXPECT_EQ(st.mode, 0755u);

  fs->destroy_node(a);
  EXPECT_EQ(list("/tty/usb"), (std::vector<std::string>{"1"}));
  fs->destroy_node(b);
  EXPECT_EQ(fs->stat("tty/usb", &st), -kENOENT);
  EXPECT_EQ(fs->stat("tty", &st), -kENOENT);
  EXPECT_EQ(list("/"), (std::vector<std::string>{"null"}));
}

TEST_F(DevfsTest, InodeNumbersAreNeverReusedAndGenerationCountsChanges) {
  uint64_t g0 = fs->generation();
  DevfsNode* a = node("a", &dev);
  DevfsStat st;
  ASSERT_EQ(fs->stat("a", &st), 0);
  uint64_t ino = st.ino;
  EXPECT_GT(fs->generation(), g0);
  uint64_t g1 = fs->generation();
  fs->destroy_node(a);
  EXPECT_GT(fs->generation(), g1);
  node("a", &dev);
  ASSERT_EQ(fs->stat("a", &st), 0);
  EXPECT_NE(st.ino, ino);
}

TEST_F(DevfsTest, BadTreeRequestsNameThePathAndWhatIsWrong) {
  node("null", &dev);
  auto refused = [&](const char* path, Device* d) {
    Result<DevfsNode*> r = fs->make_node(path, d, 0666, 0, 0);
    EXPECT_FALSE(r.ok()) << path;
    return r.ok() ? Error() : r.error();
  };
  Error e = refused("null", &dev);
  EXPECT_EQ(e.code(), Errc::kDuplicate);
  EXPECT_STREQ(e.message(), "devfs: 'null' already exists; destroy it first or pick another name");

  e = refused("null/x", &dev);
  EXPECT_EQ(e.code(), Errc::kInvalid);
  EXPECT_STREQ(e.message(), "devfs: cannot make 'null/x': 'null' is not a directory");

  node("d/e", &dev);
  EXPECT_EQ(refused("d", &dev).code(), Errc::kDuplicate);

  for (const char* bad : {"a//b", "a/", "./a", "a/..", "a/./b"}) {
    e = refused(bad, &dev);
    EXPECT_EQ(e.code(), Errc::kInvalid);
    EXPECT_EQ(std::string(e.message()),
              std::string("devfs: bad path '") + bad +
                  "': empty, \".\" and \"..\" components are not allowed");
  }
  EXPECT_STREQ(refused("/", &dev).message(), "devfs: bad path '/': it names the root");
  std::string long_name(256, 'x');
  EXPECT_EQ(std::string(refused(long_name.c_str(), &dev).message()),
            "devfs: bad path '" + long_name +
                "': a name is longer than 255 bytes or the path longer than 1024");
  EXPECT_STREQ(refused("x", nullptr).message(), "devfs: make_node 'x' without a device");

  DevfsStat st;
  EXPECT_EQ(fs->stat("null/x", &st), -kENOTDIR);
  EXPECT_EQ(fs->stat("nothing", &st), -kENOENT);
  EXPECT_EQ(fs->stat("a//b", &st), -kEINVAL);
  EXPECT_EQ(fs->readdir(
                "null", [](void*, const char*, const DevfsStat&) {}, nullptr),
            -kENOTDIR);
}

TEST_F(DevfsTest, OutOfMemoryLeavesTheTreeAsItWas) {
  node("keep", &dev);
  uint64_t gen = fs->generation();
  size_t live = alloc.inner.live_allocations();
  // Each level needs a node and its name; fail at every point in turn.
  for (size_t n = 0; n < 8; ++n) {
    alloc.inner.fail_after(n);
    Result<DevfsNode*> r = fs->make_node("a/b/c", &dev, 0666, 0, 0);
    alloc.inner.never_fail();
    if (r.ok()) {
      fs->destroy_node(r.value());
      break;
    }
    EXPECT_EQ(r.error().code(), Errc::kNoMemory);
    EXPECT_STREQ(r.error().message(), "devfs: out of memory making 'a/b/c'");
    EXPECT_EQ(alloc.inner.live_allocations(), live) << "after failing at allocation " << n;
    EXPECT_EQ(list("/"), (std::vector<std::string>{"keep"}));
    EXPECT_EQ(fs->generation(), gen);
  }
  EXPECT_EQ(alloc.inner.live_allocations(), live);
}

TEST_F(DevfsTest, AliasesPointToPathsAndAreFollowedOnOpen) {
  node("disk/sda", &dev);
  ASSERT_TRUE(fs->make_alias("by-name/boot", "/disk/sda").ok());
  ASSERT_TRUE(fs->make_alias("dangling", "no/such").ok());
  ASSERT_TRUE(fs->make_alias("loop1", "loop2").ok());
  ASSERT_TRUE(fs->make_alias("loop2", "loop1").ok());
  ASSERT_TRUE(fs->make_alias("d", "disk").ok());

  DevfsStat st;
  ASSERT_EQ(fs->stat("by-name/boot", &st), 0);
  EXPECT_EQ(st.kind, DevfsKind::kAlias);
  EXPECT_EQ(st.size, strlen("disk/sda"));
  char buf[64];
  ASSERT_EQ(fs->readlink("by-name/boot", buf, sizeof buf), 0);
  EXPECT_STREQ(buf, "disk/sda");
  EXPECT_EQ(fs->readlink("by-name/boot", buf, 8), -kENAMETOOLONG);
  EXPECT_EQ(fs->readlink("disk/sda", buf, sizeof buf), -kEINVAL);
  ASSERT_EQ(fs->stat("d/sda", &st), 0);  // an alias in the middle is followed
  EXPECT_EQ(st.kind, DevfsKind::kDevice);

  DevfsFile* f = open("by-name/boot");
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(dev.opens, 1);
  fs->close(f);
  DevfsFile* g = nullptr;
  EXPECT_EQ(fs->open("dangling", kOpenRead, kRoot, &g), -kENOENT);
  EXPECT_EQ(fs->open("loop1", kOpenRead, kRoot, &g), -kELOOP);
  EXPECT_EQ(fs->open("disk", kOpenRead, kRoot, &g), -kEISDIR);
  Result<DevfsNode*> r = fs->make_alias("x", "a/../b");
  ASSERT_FALSE(r.ok());
  EXPECT_STREQ(r.error().message(),
               "devfs: alias 'x' to bad target 'a/../b': empty, \".\" and \"..\" components are "
               "not allowed");
}

TEST_F(DevfsTest, OpenChecksModeOwnerAndGroup) {
  DevfsNode* n = node("ttyS0", &dev, 0640, 100, 200);
  DevfsFile* f = nullptr;
  auto try_open = [&](uint32_t uid, uint32_t gid, uint32_t flags) {
    int rc = fs->open("ttyS0", flags, DevfsCred{uid, gid}, &f);
    if (rc == 0) fs->close(f);
    return rc;
  };
  EXPECT_EQ(try_open(100, 1, kOpenReadWrite), 0);     // owner rw
  EXPECT_EQ(try_open(7, 200, kOpenRead), 0);          // group r
  EXPECT_EQ(try_open(7, 200, kOpenWrite), -kEACCES);  // group not w
  EXPECT_EQ(try_open(7, 7, kOpenRead), -kEACCES);     // others nothing
  EXPECT_EQ(try_open(0, 0, kOpenReadWrite), 0);       // root
  fs->set_owner(n, 0606, 100, 200);
  EXPECT_EQ(try_open(7, 7, kOpenReadWrite), 0);
  EXPECT_EQ(dev.opens, 4);
  EXPECT_EQ(dev.closes, 4);
}

TEST_F(DevfsTest, FileOperationsReachTheDeviceWithTheirOpenState) {
  node("echo", &dev);
  DevfsFile* f = open("echo");
  DevfsFile* other = open("echo");
  EXPECT_EQ(fs->poll(f, kPollIn | kPollOut), static_cast<uint32_t>(kPollOut));
  EXPECT_EQ(fs->write(f, 0, "hello", 5), 5);
  char buf[16] = {};
  EXPECT_EQ(fs->read(f, 0, buf, sizeof buf), 5);
  EXPECT_STREQ(buf, "hello");
  EXPECT_EQ(fs->read(other, 0, buf, sizeof buf), 0);  // per-open state
  EXPECT_EQ(fs->poll(f, kPollIn), static_cast<uint32_t>(kPollIn));
  uint32_t v = 21;
  EXPECT_EQ(fs->ioctl(f, 1, &v, sizeof v), 0);
  EXPECT_EQ(v, 42u);
  EXPECT_EQ(fs->ioctl(f, 2, &v, sizeof v), -kENOTTY);
  fs->close(f);
  fs->close(other);
  EXPECT_EQ(dev.closes, 2);

  DevfsFile* ro = open("echo", kOpenRead);
  DevfsFile* wo = open("echo", kOpenWrite);
  EXPECT_EQ(fs->write(ro, 0, "x", 1), -kEBADF);
  EXPECT_EQ(fs->read(wo, 0, buf, 1), -kEBADF);
  fs->close(ro);
  fs->close(wo);
}

TEST_F(DevfsTest, AFailedDeviceOpenIsPassedOnAndNeverClosed) {
  node("busy", &dev);
  dev.fail_open = -kEBUSY;
  DevfsFile* f = nullptr;
  EXPECT_EQ(fs->open("busy", kOpenRead, kRoot, &f), -kEBUSY);
  EXPECT_EQ(dev.closes, 0);
}

TEST_F(DevfsTest, DestroyClosesOpenFilesOnceAndTheyAnswerEnxio) {
  DevfsNode* n = node("echo", &dev);
  DevfsFile* f = open("echo");
  DevfsFile* g = open("echo");
  EXPECT_EQ(fs->open_count(n), 2u);
  fs->destroy_node(n);
  EXPECT_EQ(dev.closes, 2);  // before destroy_node returned
  EXPECT_EQ(dev.live_opens(), 0);
  char buf[4];
  EXPECT_EQ(fs->read(f, 0, buf, sizeof buf), -kENXIO);
  EXPECT_EQ(fs->write(f, 0, "x", 1), -kENXIO);
  uint32_t v = 1;
  EXPECT_EQ(fs->ioctl(f, 1, &v, sizeof v), -kENXIO);
  EXPECT_EQ(fs->poll(f, kPollIn), static_cast<uint32_t>(kPollErr | kPollHup));
  DevfsFile* h = nullptr;
  EXPECT_EQ(fs->open("echo", kOpenRead, kRoot, &h), -kENOENT);
  fs->close(f);
  fs->close(g);
  EXPECT_EQ(dev.closes, 2);  // not again
}

TEST_F(DevfsTest, RevokeEndsTheOpenFilesButNotTheNode) {
  DevfsNode* n = node("tty", &dev);
  DevfsFile* old = open("tty");
  fs->revoke(n);
  EXPECT_EQ(dev.closes, 1);
  char buf[4];
  EXPECT_EQ(fs->read(old, 0, buf, sizeof buf), -kENXIO);
  DevfsFile* fresh = open("tty");
  ASSERT_NE(fresh, nullptr);
  EXPECT_EQ(fs->write(fresh, 0, "ok", 2), 2);
  EXPECT_EQ(fs->open_count(n), 1u);
  fs->close(old);
  fs->close(fresh);
  EXPECT_EQ(dev.closes, 2);
}

TEST_F(DevfsTest, DestroyWaitsForTheCallInFlight) {
  DevfsNode* n = node("slow", &dev);
  DevfsFile* f = open("slow");
  dev.block_reads();
  int64_t got = 1;
  std::thread reader([&] {
    char buf[4];
    got = fs->read(f, 0, buf, sizeof buf);
  });
  dev.wait_blocked(1);
  Pending destroy([&] { fs->destroy_node(n); });
  // New calls are refused at once, while the old one is still inside.
  DevfsFile* g = nullptr;
  for (;;) {
    int rc = fs->open("slow", kOpenRead, kRoot, &g);
    if (rc == -kENOENT) break;
    ASSERT_EQ(rc, 0);
    fs->close(g);
    std::this_thread::yield();
  }
  char buf[4];
  EXPECT_EQ(fs->read(f, 0, buf, sizeof buf), -kENXIO);
  EXPECT_TRUE(destroy.still_running_after_a_while())
      << "destroy_node returned while a read was running in the device";
  EXPECT_EQ(dev.calls_inside, 1);
  EXPECT_EQ(dev.live_opens(), 1) << "closed while a call was still running on the open";
  dev.release_all();
  reader.join();
  destroy.join();
  EXPECT_TRUE(destroy.returned());
  EXPECT_EQ(got, 0);
  EXPECT_EQ(dev.calls_inside, 0);
  EXPECT_EQ(dev.live_opens(), 0);
  fs->close(f);
}

// A close begun by another thread while destroy_node() was closing the other
// opens is part of what destroy_node() waits for: it must not return while
// that close is still running in the Device (found by DevfsRace under TSan).
TEST_F(DevfsTest, DestroyWaitsForACloseAnotherThreadBeganMeanwhile) {
  DevfsNode* n = node("d", &dev);
  DevfsFile* f1 = open("d");
  DevfsFile* f2 = open("d");
  dev.block(TestDevice::kClose);
  Pending destroy([&] { fs->destroy_node(n); });
  dev.wait_blocked(1);  // destroy_node is closing one of the two opens
  Pending close([&] { fs->close(f1); });
  dev.wait_blocked(2);  // and our close() is closing f1
  dev.release_one();    // destroy_node's own close ends
  EXPECT_TRUE(destroy.still_running_after_a_while())
      << "destroy_node returned while a close was running in the device";
  EXPECT_EQ(dev.live_opens(), 1);
  dev.release_all();
  close.join();
  destroy.join();
  EXPECT_EQ(dev.live_opens(), 0);
  EXPECT_EQ(dev.closes, 2);
  fs->close(f2);
  EXPECT_EQ(dev.closes, 2) << "closed twice";
}

// revoke() has closed every revoked open when it returns, also one whose last
// close() another thread had begun just before.
TEST_F(DevfsTest, RevokeWaitsForACloseAlreadyRunning) {
  DevfsNode* n = node("r", &dev);
  DevfsFile* f = open("r");
  dev.block(TestDevice::kClose);
  Pending close([&] { fs->close(f); });
  dev.wait_blocked(1);
  Pending revoke([&] { fs->revoke(n); });
  EXPECT_TRUE(revoke.still_running_after_a_while())
      << "revoke returned while a revoked open was still closing";
  dev.release_all();
  close.join();
  revoke.join();
  EXPECT_EQ(dev.live_opens(), 0);
  EXPECT_EQ(dev.closes, 1);
}

// An open that the Device was still making when revoke() came is undone
// (the caller gets ENXIO) before revoke() returns.
TEST_F(DevfsTest, RevokeWaitsForAnOpenInProgressToBeUndone) {
  DevfsNode* n = node("o", &dev);
  dev.block(TestDevice::kOpen);
  int rc = 1;
  Pending open_call([&] {
    DevfsFile* f = nullptr;
    rc = fs->open("o", kOpenRead, kRoot, &f);
  });
  dev.wait_blocked(1);
  int live_at_return = -1;
  Pending revoke([&] {
    fs->revoke(n);
    live_at_return = dev.live_opens();
  });
  EXPECT_TRUE(revoke.still_running_after_a_while())
      << "revoke returned while a revoked open was still being made";
  dev.release_all();
  open_call.join();
  revoke.join();
  EXPECT_EQ(rc, -kENXIO);
  EXPECT_EQ(live_at_return, 0) << "the undone open was closed after revoke returned";
  EXPECT_EQ(dev.opens, 1);
  EXPECT_EQ(dev.closes, 1);
  DevfsFile* g = open("o");  // the node stays for new opens
  ASSERT_NE(g, nullptr);
  fs->close(g);
}

TEST_F(DevfsTest, DestroyPurgesSoASleepingCallReturns) {
  DevfsNode* n = node("sleepy", &dev);
  DevfsFile* f = open("sleepy");
  dev.block_reads();
  dev.purge_wakes = true;
  int64_t got = 1;
  std::thread reader([&] {
    char buf[4];
    got = fs->read(f, 0, buf, sizeof buf);
  });
  dev.wait_blocked(1);
  fs->destroy_node(n);  // returns only because purge() woke the reader
  EXPECT_EQ(dev.purges, 1);
  EXPECT_EQ(dev.calls_inside, 0);
  reader.join();
  EXPECT_EQ(got, 0);  // the call ran to its end; the next one gets ENXIO
  char buf[4];
  EXPECT_EQ(fs->read(f, 0, buf, sizeof buf), -kENXIO);
  fs->close(f);
}

TEST_F(DevfsTest, RevokeAlsoPurgesAndWakesPollers) {
  DevfsNode* n = node("p", &dev);
  static std::vector<uint64_t> woken;
  woken.clear();
  fs->set_poll_listener([](void*, uint64_t ino) { woken.push_back(ino); }, nullptr);
  DevfsStat st;
  ASSERT_EQ(fs->stat("p", &st), 0);
  fs->poll_wakeup(n);
  fs->revoke(n);
  EXPECT_EQ(dev.purges, 1);
  EXPECT_EQ(woken, (std::vector<uint64_t>{st.ino, st.ino}));
  fs->set_poll_listener(nullptr, nullptr);
}

TEST_F(DevfsTest, DestroyingTheDevfsDestroysWhatIsLeft) {
  node("a/b", &dev);
  node("c", &dev);
  DevfsFile* f = open("c");
  fs->close(f);
  // TearDown destroys; the allocator checks that nothing leaked.
}

}  // namespace
}  // namespace mk
