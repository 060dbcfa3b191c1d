#include "support/error.h"

#include <stdarg.h>

#include "support/memory.h"

namespace mk {

const char* errc_name(Errc code) {
  switch (code) {
    case Errc::kMalformed: return "malformed";
    case Errc::kUnsupported: return "unsupported";
    case Errc::kRange: return "out of range";
    case Errc::kUnresolved: return "unresolved";
    case Errc::kDuplicate: return "duplicate";
    case Errc::kNoMemory: return "out of memory";
    case Errc::kNotFound: return "not found";
    case Errc::kBusy: return "busy";
    case Errc::kInvalid: return "invalid";
    case Errc::kIo: return "i/o error";
    case Errc::kPermission: return "permission denied";
  }
  return "unknown";
}

Error::Error(Errc code, const char* fmt, ...) : code_(code) {
  va_list ap;
  va_start(ap, fmt);
  vformat(text_, sizeof text_, fmt, ap);
  va_end(ap);
}

void Error::prefix(const char* fmt, ...) {
  char head[kTextMax];
  va_list ap;
  va_start(ap, fmt);
  size_t n = vformat(head, sizeof head, fmt, ap);
  va_end(ap);
  size_t old = mk_strlen(text_);
  if (n >= sizeof text_ - 1) {
    mk_memcpy(text_, head, sizeof text_ - 1);
    text_[sizeof text_ - 1] = '\0';
    return;
  }
  size_t keep = old < sizeof text_ - 1 - n ? old : sizeof text_ - 1 - n;
  mk_memmove(text_ + n, text_, keep);
  mk_memcpy(text_, head, n);
  text_[n + keep] = '\0';
}

}  // namespace mk
