// HostRuntime: CodeRuntime on Linux with glibc and libgcc's unwinder, and
// gdb's JIT interface for debug registration (hosted/gdb_jit.h).
#pragma once

#include "platform/code_runtime.h"

namespace mk::hosted {

struct GdbJitEntry;

class HostRuntime final : public CodeRuntime {
 public:
  HostRuntime() = default;
  HostRuntime(const HostRuntime&) = delete;
  HostRuntime& operator=(const HostRuntime&) = delete;

  bool register_eh_frame(uintptr_t begin, size_t size) override;
  void deregister_eh_frame(uintptr_t begin) override;
  void finalize(uintptr_t dso_handle) override;
  // Registers the file's debug object with gdb (best effort: a file whose
  // object cannot be built is simply not registered).
  uintptr_t register_debug(const link::LinkerFile& file, const elf::ValidatedObject* const* objects,
                           size_t count) override;
  void unregister_debug(const link::LinkerFile& file) override;
  // [begin, begin + size) lies in LinuxPageMemory's executing view of code
  // and `written` is its alias there (or begin itself: memory of one view).
  // Its pages a debugger copied are dropped, and absent ones mapped, before
  // any of it runs (code_runtime.cc).
  void sync_code(uintptr_t begin, size_t size, uintptr_t written) override;
};

}  // namespace mk::hosted
