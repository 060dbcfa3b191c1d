// kpi_errno: the one mapping from a core error category to the errno
// values the KPI returns to modules (modkit/module.h MK_E*), shared by
// every KPI file so that one failure reads the same through every call.
#pragma once

#include "modkit/module.h"
#include "support/error.h"

namespace mk::hosted {

inline int kpi_errno(Errc code) {
  switch (code) {
    case Errc::kDuplicate:
      return MK_EEXIST;
    case Errc::kNotFound:
      return MK_ENOENT;
    case Errc::kBusy:
      return MK_EBUSY;
    case Errc::kNoMemory:
      return MK_ENOMEM;
    case Errc::kPermission:
      return MK_EPERM;
    case Errc::kIo:
      return MK_EIO;
    default:
      return MK_EINVAL;
  }
}

}  // namespace mk::hosted
