// Threads as the core sees them: a mutex, a condition variable with a
// deadline, the current thread's identity and a monotonic clock. Implemented
// by the embedding kernel (hosted/thread.cc on Linux).
//
// Contract: Mutex is not recursive. CondVar::wait_until() may wake early or
// spuriously; it returns false once the deadline (monotonic nanoseconds) has
// passed. thread_id() is non-zero and unique among live threads.
#pragma once

#include <stdint.h>

namespace mk {

class Mutex {
 public:
  virtual void lock() = 0;
  virtual void unlock() = 0;

 protected:
  ~Mutex() = default;
};

class CondVar {
 public:
  virtual void wait(Mutex& m) = 0;
  virtual bool wait_until(Mutex& m, uint64_t deadline_ns) = 0;
  virtual void broadcast() = 0;

 protected:
  ~CondVar() = default;
};

class Threads {
 public:
  virtual Mutex* new_mutex() = 0;  // nullptr when out of memory
  virtual CondVar* new_condvar() = 0;
  virtual void delete_mutex(Mutex* m) = 0;
  virtual void delete_condvar(CondVar* c) = 0;
  virtual uint64_t thread_id() = 0;
  virtual uint64_t now_ns() = 0;

 protected:
  ~Threads() = default;
};

class LockGuard {
 public:
  explicit LockGuard(Mutex& m) : m_(m) { m_.lock(); }
  ~LockGuard() { m_.unlock(); }
  LockGuard(const LockGuard&) = delete;
  LockGuard& operator=(const LockGuard&) = delete;

 private:
  Mutex& m_;
};

}  // namespace mk
