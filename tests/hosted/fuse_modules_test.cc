// The sample modules' devices (modules/null.c, zero.c, echo.c, random.c)
// through a real FUSE mount of a hosted System's devfs (fuse_devfs.h): the
// modules are loaded from build/modules, and cat, dd and the shell's `>` (run
// through `timeout`, so a hung mount fails the test instead of hanging it)
// and open/read/write from this process use them. Unloading echo while a
// descriptor on the mount holds it open: refused by default, done after the
// close under the wait policy, and under a forced revoke the descriptor gets
// ENXIO. Skipped (with the reason) only where FUSE cannot be used.
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>

#include <atomic>
#include <memory>
#include <string>
#include <thread>

#include "exec/process.h"
#include "gtest/gtest.h"
#include "hosted/fuse_devfs.h"
#include "hosted/system.h"

namespace mk::hosted {
namespace {

using modkit::exec_test::Command;
using modkit::exec_test::Outcome;
using modkit::exec_test::RunProcess;
using module::UnloadOptions;
using module::UnloadResult;

class FuseModules : public ::testing::Test {
 protected:
  void SetUp() override {
    if (std::string why = fuse_unavailable_reason(); !why.empty())
      GTEST_SKIP() << "no FUSE here: " << why;
    SystemConfig c;
    c.module_path = {MODKIT_TEST_MODULE_DIR};
    sys_ = std::make_unique<System>(std::move(c));
    Result<module::File*> k = sys_->boot();
    ASSERT_TRUE(k) << k.error().message();
    char tmpl[] = "/tmp/modkit-fusemod-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr) << strerror(errno);
    dir_ = tmpl;
    std::string error;
    FuseDevfsOptions options;
    options.allow_other = geteuid() == 0;  // as modkitd mounts it
    mount_ = FuseDevfs::mount(sys_->devfs(), dir_, options, &error);
    if (mount_ == nullptr) GTEST_SKIP() << "mounting FUSE is impossible here: " << error;
    for (const char* m : {"null", "zero", "echo", "random"}) {
      Result<module::File*> f =
          sys_->registry().load_module(m, module::VersionRange{0, UINT32_MAX, UINT32_MAX});
      ASSERT_TRUE(f) << m << ": " << f.error().message();
    }
  }
  void TearDown() override {
    mount_.reset();  // unmounts (closing what programs left open)
    if (sys_ != nullptr) sys_->shutdown();
    if (!dir_.empty() && rmdir(dir_.c_str()) != 0) {
      ADD_FAILURE() << "rmdir " << dir_ << ": " << strerror(errno);
      umount2(dir_.c_str(), MNT_DETACH);
      rmdir(dir_.c_str());
    }
  }

  // Runs a shell line in the mount directory.
  Outcome sh(const std::string& line) {
    Command c;
    c.argv = {"timeout", "20", "sh", "-c", "cd '" + dir_ + "' && " + line};
    c.capture_prefix = dir_ + ".sh";
    c.timeout = std::chrono::seconds(30);
    Outcome o = RunProcess(c);
    unlink((dir_ + ".sh.out").c_str());
    unlink((dir_ + ".sh.err").c_str());
    return o;
  }
  std::string path(const char* rel) { return dir_ + "/" + rel; }
  bool Loaded(const char* name) { return sys_->registry().find_module(name) != nullptr; }

  std::unique_ptr<System> sys_;
  std::string dir_;
  std::unique_ptr<FuseDevfs> mount_;
};

TEST_F(FuseModules, CatDdAndEchoUseTheSampleDevices) {
  Outcome o = sh("ls");
  ASSERT_TRUE(o.Succeeded()) << o.Status() << o.err;
  EXPECT_EQ(o.out, "echo\nksyms\nnull\nrandom\nzero\n");

  // null: reads end at once, writes are taken whole.
  o =
      sh("cat null | wc -c && echo gone > null && dd if=/dev/zero of=null bs=4096 count=4 "
         "status=none && echo ok");
  ASSERT_TRUE(o.Succeeded()) << o.Status() << o.err;
  EXPECT_EQ(o.out, "0\nok\n");

  // zero: endless zeros in blocks of any size.
  o = sh("dd if=zero bs=4096 count=3 status=none | wc -c");
  ASSERT_TRUE(o.Succeeded()) << o.Status() << o.err;
  EXPECT_EQ(o.out, "12288\n");
  o = sh("dd if=zero bs=1 count=4 status=none | od -An -tx1");
  EXPECT_EQ(o.out, " 00 00 00 00\n");

  // random: as many bytes as asked, not all the same.
  o =
      sh("dd if=random bs=64 count=2 status=none | od -An -v -tx1 | tr -s ' ' '\\n' | grep . | "
         "sort -u | wc -l");
  ASSERT_TRUE(o.Succeeded()) << o.Status() << o.err;
  EXPECT_GT(std::stoi(o.out), 16) << o.out;
  o = sh("dd if=random bs=100 count=1 status=none | wc -c");
  EXPECT_EQ(o.out, "100\n");

  // echo: a buffer per open. What `echo >` wrote went with its open; one
  // open reads back its own writes (dd reading and writing one descriptor).
  o = sh("echo hello > echo && cat echo | wc -c");
  ASSERT_TRUE(o.Succeeded()) << o.Status() << o.err;
  EXPECT_EQ(o.out, "0\n");
  o = sh("dd if=/dev/zero of=echo bs=4096 count=1 status=none && echo fits");
  ASSERT_TRUE(o.Succeeded()) << o.Status() << o.err;
  EXPECT_EQ(o.out, "fits\n");
  // Past the 4096 bytes an open holds: ENOSPC, as the program sees it.
  o = sh("dd if=/dev/zero of=echo bs=5000 count=1 status=none");
  EXPECT_EQ(o.exit_code, 1);
  EXPECT_NE(o.err.find("No space left on device"), std::string::npos) << o.err;
  int a = open(path("echo").c_str(), O_RDWR);
  int b = open(path("echo").c_str(), O_RDWR);
  ASSERT_GE(a, 0) << strerror(errno);
  ASSERT_GE(b, 0) << strerror(errno);
  ASSERT_EQ(pwrite(a, "first", 5, 0), 5);
  ASSERT_EQ(pwrite(b, "second", 6, 0), 6);
  char buf[16] = {};
  EXPECT_EQ(pread(a, buf, sizeof buf, 0), 5);
  EXPECT_EQ(std::string(buf, 5), "first");
  EXPECT_EQ(pread(b, buf, sizeof buf, 0), 6);
  EXPECT_EQ(std::string(buf, 6), "second");
  close(a);
  close(b);
}

TEST_F(FuseModules, UnloadWhileOpenOnTheMountIsRefusedByDefault) {
  int fd = open(path("echo").c_str(), O_RDWR);
  ASSERT_GE(fd, 0) << strerror(errno);
  Result<UnloadResult> u = sys_->registry().unload_module("echo", UnloadOptions{});
  ASSERT_FALSE(u);
  EXPECT_EQ(u.error().code(), Errc::kBusy);
  EXPECT_STREQ(u.error().message(), "module echo of echo.ko has 1 reference(s) in use");
  // Nothing changed: the open still works, the name is still there.
  ASSERT_EQ(pwrite(fd, "still", 5, 0), 5);
  char buf[8] = {};
  EXPECT_EQ(pread(fd, buf, sizeof buf, 0), 5);
  EXPECT_EQ(access(path("echo").c_str(), F_OK), 0);
  close(fd);
}

TEST_F(FuseModules, UnloadUnderTheWaitPolicyCompletesAfterTheClose) {
  int fd = open(path("echo").c_str(), O_RDWR);
  ASSERT_GE(fd, 0) << strerror(errno);
  std::atomic<bool> done{false};
  std::string error;
  std::thread unloader([&] {
    UnloadOptions o;
    o.policy = UnloadOptions::Policy::kWait;
    o.timeout_ns = 20ull * 1000 * 1000 * 1000;
    Result<UnloadResult> u = sys_->registry().unload_module("echo", o);
    if (!u) error = u.error().message();
    done = true;
  });
  // Once echo is GOING (the unloader may start late: wait for it), calls
  // through the open file are refused; the unload cannot finish while the
  // descriptor holds its reference, however the threads are scheduled.
  char buf[4];
  bool refused = false;
  for (int i = 0; i < 1000 && !refused; ++i) {
    refused = pread(fd, buf, sizeof buf, 0) == -1 && errno == ENXIO;
    if (!refused) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_TRUE(refused);
  EXPECT_FALSE(done.load());
  close(fd);
  unloader.join();
  EXPECT_EQ(error, "");
  EXPECT_FALSE(Loaded("echo"));
  EXPECT_EQ(access(path("echo").c_str(), F_OK), -1);
  EXPECT_EQ(errno, ENOENT);
}

TEST_F(FuseModules, AForcedUnloadGivesTheOpenDescriptorEnxio) {
  int fd = open(path("echo").c_str(), O_RDWR);
  ASSERT_GE(fd, 0) << strerror(errno);
  ASSERT_EQ(pwrite(fd, "abc", 3, 0), 3);
  UnloadOptions o;
  o.force = true;
  Result<UnloadResult> u = sys_->registry().unload_module("echo", o);
  ASSERT_TRUE(u) << u.error().message();
  EXPECT_FALSE(Loaded("echo"));
  // The descriptor outlives the module: every call is ENXIO, none reaches
  // the freed code.
  char buf[8];
  EXPECT_EQ(pread(fd, buf, sizeof buf, 0), -1);
  EXPECT_EQ(errno, ENXIO);
  EXPECT_EQ(write(fd, "x", 1), -1);
  EXPECT_EQ(errno, ENXIO);
  EXPECT_EQ(close(fd), 0);
  Outcome sho = sh("cat echo");
  EXPECT_EQ(sho.exit_code, 1);
  EXPECT_NE(sho.err.find("No such file or directory"), std::string::npos) << sho.err;
  // The other devices are untouched, and echo loads again.
  sho = sh("dd if=zero bs=8 count=1 status=none | wc -c");
  EXPECT_EQ(sho.out, "8\n");
  ASSERT_TRUE(
      sys_->registry().load_module("echo", module::VersionRange{0, UINT32_MAX, UINT32_MAX}));
  sho = sh("echo again > echo");
  EXPECT_TRUE(sho.Succeeded()) << sho.Status() << sho.err;
}

}  // namespace
}  // namespace mk::hosted
