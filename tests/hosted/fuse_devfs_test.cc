// The devfs FUSE mount, used by real programs: a Devfs with test devices is
// mounted in a temporary directory and driven with ls, stat, cat, dd and the
// shell's `>` (run through `timeout`, so a hung mount fails the test instead
// of hanging it), and with open/read/ioctl/poll from this process.
#include "hosted/fuse_devfs.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <unistd.h>

#include <atomic>
#include <mutex>
#include <string>
#include <thread>

#include "devfs/test_device.h"
#include "exec/process.h"
#include "gtest/gtest.h"
#include "hosted/malloc_allocator.h"
#include "hosted/threads.h"

namespace mk::hosted {
namespace {

using modkit::exec_test::Command;
using modkit::exec_test::Outcome;
using modkit::exec_test::RunProcess;
using testing::TestDevice;

// Fixed text, read at any offset (like a /proc file).
class TextDevice final : public Device {
 public:
  explicit TextDevice(std::string text) : text_(std::move(text)) {}
  int64_t read(void*, uint64_t off, void* buf, size_t len) override {
    if (off >= text_.size()) return 0;
    size_t n = std::min(len, text_.size() - off);
    memcpy(buf, text_.data() + off, n);
    return static_cast<int64_t>(n);
  }
  uint64_t size() override { return text_.size(); }

 private:
  std::string text_;
};

// One buffer shared by every open: what is written at an offset is read there.
class BufferDevice final : public Device {
 public:
  int64_t read(void*, uint64_t off, void* buf, size_t len) override {
    std::lock_guard<std::mutex> g(mu);
    if (off >= data.size()) return 0;
    size_t n = std::min(len, data.size() - off);
    memcpy(buf, data.data() + off, n);
    return static_cast<int64_t>(n);
  }
  int64_t write(void*, uint64_t off, const void* buf, size_t len) override {
    std::lock_guard<std::mutex> g(mu);
    if (data.size() < off + len) data.resize(off + len);
    memcpy(data.data() + off, buf, len);
    return static_cast<int64_t>(len);
  }
  uint32_t poll(void*, uint32_t events) override {
    std::lock_guard<std::mutex> g(mu);
    return events & (data.empty() ? kPollOut : kPollIn | kPollOut);
  }
  uint64_t size() override {
    std::lock_guard<std::mutex> g(mu);
    return data.size();
  }
  std::mutex mu;
  std::string data;
};

// Endless zeros to read; swallows and counts what is written.
class ZeroDevice final : public Device {
 public:
  int64_t read(void*, uint64_t, void* buf, size_t len) override {
    memset(buf, 0, len);
    return static_cast<int64_t>(len);
  }
  int64_t write(void*, uint64_t, const void*, size_t len) override {
    written += len;
    return static_cast<int64_t>(len);
  }
  std::atomic<uint64_t> written{0};
};

class FuseDevfsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (std::string why = fuse_unavailable_reason(); !why.empty())
      GTEST_SKIP() << "no FUSE here: " << why;
    char tmpl[] = "/tmp/modkit-devfs-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr) << strerror(errno);
    dir = tmpl;
    fs = Devfs::create(alloc, threads);
    ASSERT_NE(fs, nullptr);
    std::string error;
    FuseDevfsOptions options;
    options.allow_other = geteuid() == 0;  // as modkitd mounts it
    mount = FuseDevfs::mount(*fs, dir, options, &error);
    if (mount == nullptr) GTEST_SKIP() << "mounting FUSE is impossible here: " << error;
  }
  void TearDown() override {
    mount.reset();  // unmounts
    if (fs != nullptr) Devfs::destroy(fs);
    if (!dir.empty() && rmdir(dir.c_str()) != 0) {
      // Still mounted (a failed unmount): detach it so nothing stale stays.
      ADD_FAILURE() << "rmdir " << dir << ": " << strerror(errno);
      umount2(dir.c_str(), MNT_DETACH);
      rmdir(dir.c_str());
    }
  }

  DevfsNode* node(const char* path, Device* d, uint32_t mode = 0666, uint32_t uid = 0,
                  uint32_t gid = 0) {
    Result<DevfsNode*> r = fs->make_node(path, d, mode, uid, gid);
    EXPECT_TRUE(r.ok()) << r.error().message();
    return r.ok() ? r.value() : nullptr;
  }
  // Runs a shell line in the mount directory.
  Outcome sh(const std::string& line) {
    Command c;
    c.argv = {"timeout", "20", "sh", "-c", "cd '" + dir + "' && " + line};
    c.capture_prefix = dir + ".sh";
    c.timeout = std::chrono::seconds(30);
    Outcome o = RunProcess(c);
    unlink((dir + ".sh.out").c_str());
    unlink((dir + ".sh.err").c_str());
    return o;
  }
  std::string path(const char* rel) { return dir + "/" + rel; }

  // Waits (up to 10 s) for what the kernel does after close(2): the release
  // request reaches the mount asynchronously.
  template <class Pred>
  bool eventually(Pred pred) {
    for (int i = 0; i < 1000 && !pred(); ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    return pred();
  }

  // The devices outlive the mount: a program's release may come after the test body.
  TextDevice hello{"hello, devfs\n"};
  TextDevice ro{"x"};
  BufferDevice buf;
  ZeroDevice zero;
  TestDevice echo;
  MallocAllocator alloc;
  PosixThreads threads;
  Devfs* fs = nullptr;
  std::string dir;
  std::unique_ptr<FuseDevfs> mount;
};

TEST_F(FuseDevfsTest, LsAndStatShowTheTreeWithModesOwnersAndAliases) {
  node("hello", &hello, 0644);
  node("tty/usb0", &echo, 0620, 5, 6);
  ASSERT_TRUE(fs->make_alias("by-name/console", "tty/usb0").ok());

  Outcome o = sh("ls -l");
  ASSERT_TRUE(o.Succeeded()) << o.Status() << o.err;
  EXPECT_NE(o.out.find(" hello\n"), std::string::npos) << o.out;
  EXPECT_NE(o.out.find(" tty\n"), std::string::npos) << o.out;
  EXPECT_EQ(o.err, "");

  o = sh("stat -c '%A %u %g %s %n' hello tty tty/usb0 by-name/console");
  ASSERT_TRUE(o.Succeeded()) << o.Status() << o.err;
  EXPECT_EQ(o.out,
            "-rw-r--r-- 0 0 13 hello\n"
            "drwxr-xr-x 0 0 0 tty\n"
            "-rw--w---- 5 6 42 tty/usb0\n"
            "lrwxrwxrwx 0 0 8 by-name/console\n");
  o = sh("readlink by-name/console && ls tty && ls");
  ASSERT_TRUE(o.Succeeded()) << o.Status() << o.err;
  EXPECT_EQ(o.out, "../tty/usb0\nusb0\nby-name\nhello\ntty\n");
}

TEST_F(FuseDevfsTest, CatReadsADeviceAndEchoWritesOne) {
  node("hello", &hello, 0444);
  node("buf", &buf);
  Outcome o = sh("cat hello");
  ASSERT_TRUE(o.Succeeded()) << o.Status() << o.err;
  EXPECT_EQ(o.out, "hello, devfs\n");

  o = sh("echo written > buf && cat buf");
  ASSERT_TRUE(o.Succeeded()) << o.Status() << o.err;
  EXPECT_EQ(o.out, "written\n");
  EXPECT_EQ(buf.data, "written\n");
  // direct_io: a change made behind the page cache's back is seen at once.
  {
    std::lock_guard<std::mutex> g(buf.mu);
    buf.data = "changed\n";
  }
  o = sh("cat buf");
  EXPECT_EQ(o.out, "changed\n");
}

TEST_F(FuseDevfsTest, DdReadsAndWritesBlocks) {
  node("zero", &zero);
  Outcome o = sh("dd if=zero bs=4096 count=3 status=none | wc -c");
  ASSERT_TRUE(o.Succeeded()) << o.Status() << o.err;
  EXPECT_EQ(o.out, "12288\n");
  o = sh("dd if=zero bs=1 count=4 status=none | od -An -tx1");
  EXPECT_EQ(o.out, " 00 00 00 00\n");
  o = sh("dd if=/dev/zero of=zero bs=1024 count=16 status=none");
  ASSERT_TRUE(o.Succeeded()) << o.Status() << o.err;
  EXPECT_EQ(zero.written, 16384u);
}

TEST_F(FuseDevfsTest, ErrorsReachProgramsAsErrno) {
  node("ro", &ro, 0444);
  Outcome o = sh("cat nothing");
  EXPECT_EQ(o.exit_code, 1);
  EXPECT_NE(o.err.find("No such file or directory"), std::string::npos) << o.err;
  o = sh("touch new");
  EXPECT_NE(o.exit_code, 0);
  EXPECT_NE(o.err.find("Operation not permitted"), std::string::npos) << o.err;
  o = sh("mkdir d");
  EXPECT_NE(o.err.find("Operation not permitted"), std::string::npos) << o.err;
  o = sh("rm -f ro");
  EXPECT_NE(o.err.find("Operation not permitted"), std::string::npos) << o.err;
  // The device has no write: the program gets ENODEV from write(2). (Not the
  // shell's echo: dash reports every failed write as "I/O error".)
  o = sh("/bin/echo x > ro");
  EXPECT_NE(o.exit_code, 0);
  EXPECT_NE(o.err.find("No such device"), std::string::npos) << o.err;
}

// Another user reaches the mount (allow_other) and the node's mode decides.
TEST_F(FuseDevfsTest, ModesOwnersAndGroupsApplyToOtherUsers) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root (to mount with allow_other and switch users)";
  node("public", &hello, 0644);
  node("private", &hello, 0600);
  node("group", &hello, 0640, 0, 4242);
  node("theirs", &buf, 0600, 4343, 0);
  auto as = [&](const std::string& ids, const std::string& line) {
    return sh("setpriv " + ids + " --clear-groups sh -c '" + line + "'");
  };
  const std::string nobody = "--reuid=4343 --regid=4343";
  Outcome o = as(nobody, "cat public");
  EXPECT_TRUE(o.Succeeded()) << o.Status() << o.err;
  EXPECT_EQ(o.out, "hello, devfs\n");
  o = as(nobody, "cat private");
  EXPECT_EQ(o.exit_code, 1);
  EXPECT_NE(o.err.find("Permission denied"), std::string::npos) << o.err;
  o = as("--reuid=4343 --regid=4242", "cat group");
  EXPECT_TRUE(o.Succeeded()) << o.Status() << o.err;
  o = as(nobody, "cat group");
  EXPECT_NE(o.err.find("Permission denied"), std::string::npos) << o.err;
  o = as(nobody, "/bin/echo mine > theirs && cat theirs");
  EXPECT_TRUE(o.Succeeded()) << o.Status() << o.err;
  EXPECT_EQ(o.out, "mine\n");
}

TEST_F(FuseDevfsTest, IoctlAndPollReachTheDevice) {
  node("echo", &echo);
  int fd = open(path("echo").c_str(), O_RDWR);
  ASSERT_GE(fd, 0) << strerror(errno);
  uint32_t v = 21;
  ASSERT_EQ(ioctl(fd, _IOWR('m', 1, uint32_t), &v), 0) << strerror(errno);
  EXPECT_EQ(v, 42u);
  EXPECT_EQ(ioctl(fd, _IOWR('m', 2, uint32_t), &v), -1);
  EXPECT_EQ(errno, ENOTTY);

  pollfd p{fd, POLLIN, 0};
  EXPECT_EQ(::poll(&p, 1, 0), 0);  // empty: nothing to read
  ASSERT_EQ(write(fd, "abc", 3), 3);
  p.revents = 0;
  EXPECT_EQ(::poll(&p, 1, 0), 1);
  EXPECT_EQ(p.revents, POLLIN);
  char data[8] = {};
  EXPECT_EQ(pread(fd, data, sizeof data, 0), 3);
  EXPECT_STREQ(data, "abc");
  close(fd);
}

TEST_F(FuseDevfsTest, PollWakesWhenTheDeviceSaysSo) {
  DevfsNode* n = node("buf", &buf);
  int fd = open(path("buf").c_str(), O_RDONLY);
  ASSERT_GE(fd, 0) << strerror(errno);
  std::atomic<int> ready{-1};
  short revents = 0;
  std::thread poller([&] {
    pollfd p{fd, POLLIN, 0};
    ready = ::poll(&p, 1, 10000);
    revents = p.revents;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  EXPECT_EQ(ready, -1) << "poll returned before there was data";
  {
    std::lock_guard<std::mutex> g(buf.mu);
    buf.data = "x";
  }
  fs->poll_wakeup(n);
  poller.join();
  EXPECT_EQ(ready, 1);
  EXPECT_EQ(revents, POLLIN);
  close(fd);
}

TEST_F(FuseDevfsTest, RevokeWakesAPollerWithHangup) {
  DevfsNode* n = node("buf", &buf);
  int fd = open(path("buf").c_str(), O_RDONLY);
  ASSERT_GE(fd, 0) << strerror(errno);
  std::atomic<int> ready{-1};
  short revents = 0;
  std::thread poller([&] {
    pollfd p{fd, POLLIN, 0};
    ready = ::poll(&p, 1, 10000);
    revents = p.revents;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  fs->revoke(n);
  poller.join();
  EXPECT_EQ(ready, 1);
  EXPECT_EQ(revents, POLLERR | POLLHUP);
  close(fd);
}

TEST_F(FuseDevfsTest, RevokeWhileOpenGivesEnxioAndClosesTheDeviceOnce) {
  DevfsNode* n = node("echo", &echo);
  int fd = open(path("echo").c_str(), O_RDWR);
  ASSERT_GE(fd, 0) << strerror(errno);
  ASSERT_EQ(write(fd, "abc", 3), 3);
  fs->revoke(n);
  EXPECT_EQ(echo.closes, 1);
  char data[8];
  EXPECT_EQ(pread(fd, data, sizeof data, 0), -1);
  EXPECT_EQ(errno, ENXIO);
  EXPECT_EQ(write(fd, "x", 1), -1);
  EXPECT_EQ(errno, ENXIO);
  // The node is still there: a new open works.
  Outcome o = sh("echo hi > echo");
  EXPECT_TRUE(o.Succeeded()) << o.Status() << o.err;
  close(fd);
  EXPECT_TRUE(eventually([&] { return echo.live_opens() == 0; }));
  EXPECT_EQ(echo.opens, 2);
  EXPECT_EQ(echo.closes, 2);
}

TEST_F(FuseDevfsTest, DestroyWhileOpenRemovesTheNameAndGivesEnxio) {
  DevfsNode* n = node("dev/echo", &echo);
  int fd = open(path("dev/echo").c_str(), O_RDWR);
  ASSERT_GE(fd, 0) << strerror(errno);
  fs->destroy_node(n);
  EXPECT_EQ(echo.live_opens(), 0);
  char data[8];
  EXPECT_EQ(read(fd, data, sizeof data), -1);
  EXPECT_EQ(errno, ENXIO);
  Outcome o = sh("ls");
  EXPECT_EQ(o.out, "");  // dev/ went with its last node
  EXPECT_EQ(access(path("dev/echo").c_str(), F_OK), -1);
  EXPECT_EQ(errno, ENOENT);
  close(fd);
}

TEST_F(FuseDevfsTest, UnmountClosesWhatProgramsLeftOpen) {
  node("echo", &echo);
  int fd = open(path("echo").c_str(), O_RDWR);
  ASSERT_GE(fd, 0) << strerror(errno);
  EXPECT_EQ(echo.live_opens(), 1);
  mount->unmount();
  EXPECT_EQ(echo.live_opens(), 0);
  EXPECT_EQ(echo.closes, 1);
  char data[8];
  EXPECT_EQ(read(fd, data, sizeof data), -1);
  EXPECT_EQ(errno, ENOTCONN);
  close(fd);
  mount->unmount();  // again: nothing happens
}

}  // namespace
}  // namespace mk::hosted
