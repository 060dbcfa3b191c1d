// PosixThreads: the core's Threads on pthreads and CLOCK_MONOTONIC.
#pragma once

#include "platform/thread.h"

namespace mk::hosted {

class PosixThreads final : public Threads {
 public:
  Mutex* new_mutex() override;
  CondVar* new_condvar() override;
  void delete_mutex(Mutex* m) override;
  void delete_condvar(CondVar* c) override;
  uint64_t thread_id() override;
  uint64_t now_ns() override;
};

}  // namespace mk::hosted
