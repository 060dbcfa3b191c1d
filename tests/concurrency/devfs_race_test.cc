// Device calls racing destroy_node (devfs/devfs.h): threads open, read, write,
// ioctl and close device nodes while another thread destroys and re-makes
// them. The device marks itself dead the moment destroy_node returns; a call
// that reaches it afterwards, a close without an open or an open never closed
// fails the test. Run under ThreadSanitizer by `make test-tsan`.
#include <atomic>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "devfs/devfs.h"
#include "gtest/gtest.h"
#include "hosted/malloc_allocator.h"
#include "hosted/threads.h"

namespace mk {
namespace {

class RaceDevice final : public Device {
 public:
  int open(uint32_t, void** cookie) override {
    check("open");
    *cookie = this;
    ++opens;
    return 0;
  }
  void close(void* cookie) override {
    check("close");
    if (cookie != this) ++bad_cookies;
    ++closes;
  }
  int64_t read(void*, uint64_t, void* buf, size_t len) override {
    check("read");
    std::this_thread::yield();  // widen the window a destroy can hit
    return static_cast<int64_t>(len > 0 ? 1 : 0);
  }
  int64_t write(void*, uint64_t, const void*, size_t len) override {
    check("write");
    return static_cast<int64_t>(len);
  }
  int ioctl(void*, uint32_t, void*, size_t) override {
    check("ioctl");
    return 0;
  }

  void check(const char* what) {
    ++inside;
    if (!alive.load()) {
      std::lock_guard<std::mutex> g(mu);
      late.push_back(what);
    }
    --inside;
  }

  std::atomic<bool> alive{false};
  std::atomic<int> inside{0};
  std::atomic<long> opens{0};
  std::atomic<long> closes{0};
  std::atomic<long> bad_cookies{0};
  std::mutex mu;
  std::vector<std::string> late;  // calls that came after destroy_node returned
};

TEST(DevfsRace, CallsRacingDestroyNeverReachADestroyedDevice) {
  hosted::MallocAllocator alloc;
  hosted::PosixThreads threads;
  Devfs* fs = Devfs::create(alloc, threads);
  ASSERT_NE(fs, nullptr);
  constexpr int kNodes = 3;
  RaceDevice devs[kNodes];
  DevfsNode* nodes[kNodes] = {};
  const char* paths[kNodes] = {"race/a", "race/b", "c"};
  for (int i = 0; i < kNodes; ++i) {
    devs[i].alive = true;
    Result<DevfsNode*> r = fs->make_node(paths[i], &devs[i], 0666, 0, 0);
    ASSERT_TRUE(r.ok()) << r.error().message();
    nodes[i] = r.value();
  }

  std::atomic<bool> stop{false};
  std::atomic<long> ok_calls{0}, enxio{0}, refused_opens{0};
  auto worker = [&](int seed) {
    unsigned x = static_cast<unsigned>(seed) * 2654435761u + 1;
    while (!stop) {
      x = x * 1103515245u + 12345u;
      DevfsFile* f = nullptr;
      int rc = fs->open(paths[x % kNodes], kOpenReadWrite, DevfsCred{0, 0}, &f);
      if (rc == -kENOENT || rc == -kENXIO) {  // destroyed; revoked while opening
        ++refused_opens;
        continue;
      }
      ASSERT_EQ(rc, 0);
      for (int k = 0; k < 4; ++k) {
        char b[4];
        int64_t r = k % 3 == 0   ? fs->read(f, 0, b, sizeof b)
                    : k % 3 == 1 ? fs->write(f, 0, "xy", 2)
                                 : fs->ioctl(f, 1, b, sizeof b);
        if (r == -kENXIO)
          ++enxio;
        else if (r >= 0)
          ++ok_calls;
        else
          ADD_FAILURE() << "unexpected " << r;
      }
      fs->close(f);
    }
  };
  std::vector<std::thread> workers;
  for (int i = 0; i < 4; ++i)
    workers.emplace_back(worker, i);

  // Destroy and re-make each node, many times; revoke now and then.
  for (int round = 0; round < 2000; ++round) {
    int i = round % kNodes;
    if (round % 7 == 0) {
      fs->revoke(nodes[i]);
      continue;
    }
    fs->destroy_node(nodes[i]);
    devs[i].alive = false;  // from here on, no call may reach it
    EXPECT_EQ(devs[i].inside.load(), 0) << "a call still running after destroy_node";
    std::this_thread::yield();
    devs[i].alive = true;
    Result<DevfsNode*> r = fs->make_node(paths[i], &devs[i], 0666, 0, 0);
    ASSERT_TRUE(r.ok()) << r.error().message();
    nodes[i] = r.value();
  }
  stop = true;
  for (std::thread& t : workers)
    t.join();
  for (int i = 0; i < kNodes; ++i) {
    fs->destroy_node(nodes[i]);
    std::lock_guard<std::mutex> g(devs[i].mu);
    EXPECT_TRUE(devs[i].late.empty())
        << devs[i].late.size() << " calls after destroy, first: " << devs[i].late.front();
    EXPECT_EQ(devs[i].opens.load(), devs[i].closes.load()) << paths[i];
    EXPECT_EQ(devs[i].bad_cookies.load(), 0);
  }
  EXPECT_GT(ok_calls.load(), 0);
  Devfs::destroy(fs);
}

}  // namespace
}  // namespace mk
