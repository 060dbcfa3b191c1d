#include "hosted/threads.h"

#include <pthread.h>
#include <time.h>

#include <condition_variable>
#include <mutex>

namespace mk::hosted {
namespace {

class PMutex final : public Mutex {
 public:
  void lock() override { m.lock(); }
  void unlock() override { m.unlock(); }
  std::mutex m;
};

class PCondVar final : public CondVar {
 public:
  void wait(Mutex& m) override {
    std::unique_lock<std::mutex> l(static_cast<PMutex&>(m).m, std::adopt_lock);
    cv.wait(l);
    l.release();
  }
  bool wait_until(Mutex& m, uint64_t deadline_ns) override {
    std::unique_lock<std::mutex> l(static_cast<PMutex&>(m).m, std::adopt_lock);
    // The clock counts in int64_t: a later deadline (UINT64_MAX: never) would
    // turn negative, into the past.
    if (deadline_ns > static_cast<uint64_t>(INT64_MAX)) deadline_ns = INT64_MAX;
    auto deadline = std::chrono::steady_clock::time_point(
        std::chrono::nanoseconds(static_cast<int64_t>(deadline_ns)));
    bool in_time = cv.wait_until(l, deadline) == std::cv_status::no_timeout;
    l.release();
    return in_time;
  }
  void broadcast() override { cv.notify_all(); }
  std::condition_variable cv;
};

}  // namespace

Mutex* PosixThreads::new_mutex() {
  return new PMutex;
}
CondVar* PosixThreads::new_condvar() {
  return new PCondVar;
}
void PosixThreads::delete_mutex(Mutex* m) {
  delete static_cast<PMutex*>(m);
}
void PosixThreads::delete_condvar(CondVar* c) {
  delete static_cast<PCondVar*>(c);
}

uint64_t PosixThreads::thread_id() {
  static thread_local char marker;  // a unique address per live thread
  return reinterpret_cast<uint64_t>(&marker);
}

uint64_t PosixThreads::now_ns() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                   std::chrono::steady_clock::now().time_since_epoch())
                                   .count());
}

}  // namespace mk::hosted
