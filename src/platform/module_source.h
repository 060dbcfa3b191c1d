// ModuleSource: how the core reads module files and the hints index of the
// module path. Hosted: directories on disk; a kernel: its VFS or a boot
// archive.
//
// Contract: read() returns the whole file named by `path` (as given by the
// user, or found through the hints index, relative to the module path) in a
// Buffer that stays valid until release(). Errors are kNotFound or kIo with
// the path in the message. hints() returns the hints index of every module
// directory concatenated (empty when there is none).
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "support/bytes.h"
#include "support/result.h"

namespace mk {

struct Buffer {
  ByteView bytes;
  void* cookie = nullptr;  // the source's own handle
};

class ModuleSource {
 public:
  virtual Result<Buffer> read(const char* path) = 0;
  virtual void release(Buffer& b) = 0;
  virtual Result<Buffer> hints() = 0;

 protected:
  ~ModuleSource() = default;
};

}  // namespace mk
