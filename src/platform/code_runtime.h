// CodeRuntime: what the embedding kernel does around loaded code that the
// freestanding linker cannot do itself.
//
// Contract:
// - register_eh_frame() is given a loaded .eh_frame section followed by a zero
//   terminator word; after it returns, exceptions unwind through the file's
//   code (hosted: __register_frame). deregister_eh_frame() undoes it, before
//   the memory is freed.
// - finalize(dso_handle) runs what the file's code registered to run at its
//   unload (C++ static destructors registered with __cxa_atexit against the
//   file's __dso_handle), before its fini arrays run.
// - All may be no-ops in a kernel that has no unwinder or no atexit.
#pragma once

#include <stddef.h>
#include <stdint.h>

namespace mk {

class CodeRuntime {
 public:
  virtual bool register_eh_frame(uintptr_t begin, size_t size) = 0;
  virtual void deregister_eh_frame(uintptr_t begin) = 0;
  virtual void finalize(uintptr_t dso_handle) = 0;

 protected:
  ~CodeRuntime() = default;
};

}  // namespace mk
