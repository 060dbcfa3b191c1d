// TestDevice: a Device for the devfs tests. It counts opens and closes (and
// fails the test on a close of a cookie it never opened or closed twice),
// keeps a per-open buffer that write() fills and read() returns, answers
// ioctl number 1 by doubling a uint32_t argument, and can be told to block inside
// read(), open() or close() until released, so a test can hold a call in flight.
#pragma once

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <set>
#include <string>

#include "devfs/device.h"

namespace mk::testing {

class TestDevice final : public Device {
 public:
  int open(uint32_t flags, void** cookie) override;
  void close(void* cookie) override;
  int64_t read(void* cookie, uint64_t offset, void* buf, size_t len) override;
  int64_t write(void* cookie, uint64_t offset, const void* buf, size_t len) override;
  int ioctl(void* cookie, uint32_t cmd, void* arg, size_t len) override;
  uint32_t poll(void* cookie, uint32_t events) override;
  uint64_t size() override { return 42; }
  // Counts; when purge_wakes, also releases the blocked readers (as d_purge).
  void purge() override;

  enum Call : unsigned { kRead = 1, kOpen = 2, kClose = 4 };
  // From now on the calls in `calls` (a mask of Call) wait inside the device
  // until released, first come first released.
  void block(unsigned calls);
  void block_reads() { block(kRead); }
  // Lets the longest-waiting blocked call go on.
  void release_one();
  // Lets every blocked call go on and stops blocking.
  void release_all();
  // Waits until `n` calls are blocked inside the device.
  void wait_blocked(int n);

  std::atomic<int> opens{0};
  std::atomic<int> closes{0};
  std::atomic<int> calls_inside{0};  // calls running in the device now
  std::atomic<int> fail_open{0};     // when non-zero, open() returns it
  std::atomic<int> purges{0};
  std::atomic<bool> purge_wakes{false};

  int live_opens();

 private:
  struct Open {
    std::string data;
  };
  std::mutex mu_;
  std::condition_variable cv_;
  std::set<Open*> live_;
  // Blocks the calling call while `call` is in block_, until its ticket is
  // released.
  void gate(Call call);

  unsigned block_ = 0;
  int blocked_ = 0;
  uint64_t next_ticket_ = 0;
  uint64_t released_ = 0;  // tickets below this may go on
};

}  // namespace mk::testing
