// FaultyPages and FaultyRuntime: the hosted platform (LinuxPageMemory,
// HostRuntime) with faults on demand, for the fault-injection tests. Each
// counts its calls from the moment it is armed and fails call number N
// (0-based) and, unless told otherwise, every one after it, the way a kernel
// out of address space or an unwinder out of memory would.
//
// There is no protection-change fault: the platform has no call that changes
// protections. The arena maps each chunk once with its final protection and
// writes code through a second, writable view (page_memory.h), so a load or
// an unload never asks for one.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "hosted/code_runtime.h"
#include "hosted/page_memory.h"

namespace mk::test {

class FaultyPages final : public PageMemory {
 public:
  // Fail map() number n from now on (0-based); -1: never.
  void fail_at(long n) {
    fail_at_ = n;
    calls_ = 0;
    failures_ = 0;
  }
  long calls() const { return calls_; }
  long failures() const { return failures_; }
  long live() const { return live_; }  // mappings made and not unmapped

  size_t page_size() const override { return real_.page_size(); }
  Result<Mapping> map(uintptr_t lo, uintptr_t hi, size_t size, Prot prot) override {
    if (fail_at_ >= 0 && calls_++ >= fail_at_) {
      ++failures_;
      return Error(Errc::kNoMemory, "injected: map number %ld fails", calls_ - 1);
    }
    Result<Mapping> m = real_.map(lo, hi, size, prot);
    if (m) ++live_;
    return m;
  }
  void unmap(const Mapping& m) override {
    --live_;
    real_.unmap(m);
  }

 private:
  hosted::LinuxPageMemory real_;
  long fail_at_ = -1;
  long calls_ = 0;
  long failures_ = 0;
  long live_ = 0;
};

class FaultyRuntime final : public CodeRuntime {
 public:
  // Refuse register_eh_frame number n from now on (0-based); -1: never.
  void fail_at(long n) {
    fail_at_ = n;
    calls_ = 0;
    failures_ = 0;
  }
  long failures() const { return failures_; }
  long registered() const { return registered_; }

  bool register_eh_frame(uintptr_t begin, size_t size) override {
    if (fail_at_ >= 0 && calls_++ >= fail_at_) {
      ++failures_;
      return false;
    }
    if (!real_.register_eh_frame(begin, size)) return false;
    ++registered_;
    return true;
  }
  void deregister_eh_frame(uintptr_t begin) override {
    --registered_;
    real_.deregister_eh_frame(begin);
  }
  void finalize(uintptr_t dso_handle) override { real_.finalize(dso_handle); }
  uintptr_t register_debug(const link::LinkerFile& file, const elf::ValidatedObject* const* objects,
                           size_t count) override {
    return real_.register_debug(file, objects, count);
  }
  void unregister_debug(const link::LinkerFile& file) override { real_.unregister_debug(file); }
  void sync_code(uintptr_t begin, size_t size, uintptr_t written) override {
    real_.sync_code(begin, size, written);
  }

 private:
  hosted::HostRuntime real_;
  long fail_at_ = -1;
  long calls_ = 0;
  long failures_ = 0;
  long registered_ = 0;
};

}  // namespace mk::test
