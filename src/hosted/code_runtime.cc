#include "hosted/code_runtime.h"

extern "C" {
// libgcc's unwinder: takes a .eh_frame section ending with a zero word.
void __register_frame(void* begin);
void* __deregister_frame(void* begin);
// glibc: runs the __cxa_atexit handlers registered against a DSO handle.
void __cxa_finalize(void* dso);
}

namespace mk::hosted {

bool HostRuntime::register_eh_frame(uintptr_t begin, size_t) {
  __register_frame(reinterpret_cast<void*>(begin));
  return true;
}

void HostRuntime::deregister_eh_frame(uintptr_t begin) {
  __deregister_frame(reinterpret_cast<void*>(begin));
}

void HostRuntime::finalize(uintptr_t dso_handle) {
  __cxa_finalize(reinterpret_cast<void*>(dso_handle));
}

}  // namespace mk::hosted
