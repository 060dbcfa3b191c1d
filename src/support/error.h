// Error: what went wrong, in which category, with its context already written
// into the message ("relocation R_X86_64_PC32 at .text+0x1c to `printk` out of
// range"). Reporting an error never allocates: the text lives in the object.
//
// The category (Errc) is what callers branch on; the message is what people and
// tests read. Tests assert both exactly.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "support/format.h"

namespace mk {

enum class Errc : uint8_t {
  kMalformed,    // the input breaks a rule of its format (ELF, metadata, trailer)
  kUnsupported,  // well-formed, but something modkit does not implement (TLS, a machine)
  kRange,        // a value does not fit where it must be stored (relocation overflow)
  kUnresolved,   // symbols that nothing defines
  kDuplicate,    // a name already taken (export, module)
  kNoMemory,     // an allocation or mapping failed
  kNotFound,     // no such file, module or symbol
  kBusy,         // in use: referenced, open, vetoed
  kInvalid,      // a caller's request that makes no sense (bad argument, wrong state)
  kIo,           // the platform could not read or write
  kPermission,   // refused by policy (signature, credentials)
};

const char* errc_name(Errc code);

class Error {
 public:
  static constexpr size_t kTextMax = 512;

  Error() = default;
  Error(Errc code, const char* fmt, ...) __attribute__((format(printf, 3, 4)));

  Errc code() const { return code_; }
  const char* message() const { return text_; }

  // Prefixes the message with more context ("loading foo.ko: ...").
  void prefix(const char* fmt, ...) __attribute__((format(printf, 2, 3)));

 private:
  Errc code_ = Errc::kInvalid;
  char text_[kTextMax] = {};
};

}  // namespace mk
