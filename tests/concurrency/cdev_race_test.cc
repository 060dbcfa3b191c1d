// Device calls racing unload (service/cdev.h): threads open /dev/echo,
// write, read back and close, as fast as they can, while another thread
// loads and unloads echo over and over under every policy (refuse, wait,
// defer, force). Every call must answer with data or a clean error (ENOENT
// when the node is gone, ENXIO once echo is going or revoked), never reach
// freed module memory (ASan, TSan), and at the end nothing may be left.
// The module is the sample modules/echo.c, compiled here with gcc.
#include <atomic>
#include <chrono>
#include <fstream>
#include <sstream>
#include <thread>
#include <vector>

#include "concurrency/fixture.h"
#include "gtest/gtest.h"

namespace mk::test {
namespace {

std::string SourceDir() {
  const char* src = getenv("MODKIT_SOURCE_DIR");
  return src != nullptr ? src : MODKIT_TEST_SOURCE_DIR;
}

TEST(CdevRace, DeviceCallsRacingLoadAndUnloadUnderEveryPolicy) {
  std::ifstream in(SourceDir() + "/modules/echo.c");
  std::stringstream text;
  text << in.rdbuf();
  Scratch scratch;
  std::string obj =
      scratch.Compile(kGcc, "echo.c", text.str(), {"-O2", "-I" + SourceDir() + "/sdk/include"});
  ASSERT_FALSE(obj.empty());
  std::vector<uint8_t> bytes = ReadBytes(obj);

  hosted::SystemConfig c;
  c.static_modules = false;
  hosted::System sys(c);
  ASSERT_TRUE(sys.boot());
  Devfs& devfs = sys.devfs();

  std::atomic<bool> stop{false};
  std::atomic<long> good{0}, gone{0};
  std::atomic<int> bad{0};
  std::mutex bad_mu;
  std::string bad_text;
  auto wrong = [&](const std::string& what) {
    if (bad.fetch_add(1) == 0) {
      std::lock_guard<std::mutex> g(bad_mu);
      bad_text = what;
    }
  };

  constexpr int kCallers = 3;
  std::vector<std::thread> callers;
  for (int t = 0; t < kCallers; ++t) {
    callers.emplace_back([&, t] {
      std::string msg = "thread " + std::to_string(t);
      char buf[64];
      while (!stop.load()) {
        DevfsFile* f = nullptr;
        int rc = devfs.open("echo", kOpenReadWrite, DevfsCred{0, 0}, &f);
        if (rc == -kENOENT || rc == -kENXIO) {
          ++gone;
          continue;
        }
        if (rc != 0) {
          wrong("open answered " + std::to_string(rc));
          continue;
        }
        for (int i = 0; i < 4; ++i) {
          int64_t w = devfs.write(f, 0, msg.data(), msg.size());
          int64_t r = devfs.read(f, 0, buf, sizeof buf);
          if (w == static_cast<int64_t>(msg.size()) && r == w &&
              std::string(buf, static_cast<size_t>(r)) == msg) {
            ++good;
          } else if ((w == -kENXIO || w == static_cast<int64_t>(msg.size())) && r == -kENXIO) {
            ++gone;  // revoked, or echo went GOING, between the calls
          } else if (w == -kENXIO && (r <= 0 || r == static_cast<int64_t>(msg.size()))) {
            // The write met echo GOING; a waiting unload that then timed out
            // put it back to LIVE, so the read may answer with what the
            // previous round's write left in the buffer.
            ++gone;
          } else {
            wrong("write " + std::to_string(w) + ", read " + std::to_string(r));
          }
        }
        devfs.close(f);
      }
    });
  }

  using Policy = module::UnloadOptions::Policy;
  int loads = 0;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  for (int round = 0; std::chrono::steady_clock::now() < deadline; ++round) {
    Result<module::File*> f =
        sys.registry().load_bytes(ByteView(bytes.data(), bytes.size()), "echo.ko");
    if (f) ++loads;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
    module::UnloadOptions o;
    switch (round % 4) {
      case 0:
        break;  // refuse: fails while a device is open
      case 1:
        o.policy = Policy::kWait;
        o.timeout_ns = 20'000'000;
        break;
      case 2:
        o.policy = Policy::kDefer;
        break;
      case 3:
        o.force = true;
        break;
    }
    (void)sys.registry().unload_module("echo", o);
  }
  stop = true;
  for (std::thread& t : callers)
    t.join();

  // Whatever is left (a deferred unload completes at its last close, which
  // has happened; a refused one left echo LIVE) goes now.
  for (int i = 0; i < 500 && sys.registry().find_module("echo") != nullptr; ++i) {
    module::UnloadOptions o;
    o.force = true;
    (void)sys.registry().unload_module("echo", o);
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  EXPECT_EQ(sys.registry().find_module("echo"), nullptr);
  EXPECT_EQ(sys.registry().file_count(), 1u);
  DevfsStat st;
  EXPECT_EQ(devfs.stat("echo", &st), -kENOENT);
  EXPECT_EQ(bad.load(), 0) << bad_text;
  EXPECT_GT(loads, 4);
  EXPECT_GT(good.load(), 0);
  EXPECT_GT(gone.load(), 0);
  for (const std::string& l : sys.log())
    EXPECT_EQ(l.find("leaked"), std::string::npos) << l;  // echo destroys its own device
}

}  // namespace
}  // namespace mk::test
