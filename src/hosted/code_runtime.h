// HostRuntime: CodeRuntime on Linux with glibc and libgcc's unwinder.
#pragma once

#include "platform/code_runtime.h"

namespace mk::hosted {

class HostRuntime final : public CodeRuntime {
 public:
  bool register_eh_frame(uintptr_t begin, size_t size) override;
  void deregister_eh_frame(uintptr_t begin) override;
  void finalize(uintptr_t dso_handle) override;
};

}  // namespace mk::hosted
