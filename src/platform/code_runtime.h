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
// - register_debug() is the linker's debug-registration phase: given the
//   linked file (sections and symbols at their final addresses) and the
//   input objects it was linked from, while they are still borrowed (the
//   runtime copies what it keeps: debug sections are not loaded), it may
//   describe the file to a debugger (hosted: the GDB JIT interface). It runs
//   after the file is in place and before its constructors, and cannot fail
//   the load: a debugger that cannot be told is not a reason to refuse a
//   module. What it returns is kept in the file (LinkerFile::debug: 0,
//   nothing registered), so the runtime needs no table of its own.
//   unregister_debug() is called for every file before its memory is freed,
//   registered or not.
// - sync_code(begin, size, written) is called once the linker has written
//   code (through the writable alias, at `written`) that will run at
//   [begin, begin + size), before any of it runs: the instruction side must
//   see the new bytes (cache maintenance on aarch64 and riscv64, hosted:
//   __builtin___clear_cache; hosted on every machine, the executing view's
//   pages a debugger has copied are dropped: hosted/page_memory.cc).
// - All may be no-ops in a kernel that has no unwinder, no atexit or no
//   debugger.
#pragma once

#include <stddef.h>
#include <stdint.h>

namespace mk {

namespace elf {
class ValidatedObject;
}
namespace link {
class LinkerFile;
}

class CodeRuntime {
 public:
  virtual bool register_eh_frame(uintptr_t begin, size_t size) = 0;
  virtual void deregister_eh_frame(uintptr_t begin) = 0;
  virtual void finalize(uintptr_t dso_handle) = 0;
  virtual uintptr_t register_debug(const link::LinkerFile& file,
                                   const elf::ValidatedObject* const* objects, size_t count) {
    return 0;
  }
  virtual void unregister_debug(const link::LinkerFile& file) {}
  virtual void sync_code(uintptr_t begin, size_t size, uintptr_t written) {}

 protected:
  ~CodeRuntime() = default;
};

}  // namespace mk
