// Error numbers of device operations. A Device answers a failed call with the
// negated number (-kENXIO), the way a kernel driver does; the devfs layer and
// the FUSE mount pass it on unchanged. The values are those of Linux on every
// machine modkit supports (hosted/fuse_devfs.cc checks them against <errno.h>),
// so a module's answer reaches the program that made the call as it was written.
#pragma once

namespace mk {

enum DevErrno : int {
  kEPERM = 1,
  kENOENT = 2,
  kEIO = 5,
  kENXIO = 6,    // the device is gone (revoked or destroyed): nothing to talk to
  kEBADF = 9,    // read on a write-only open, write on a read-only one
  kEAGAIN = 11,  // nothing ready now (non-blocking)
  kENOMEM = 12,
  kEACCES = 13,
  kEBUSY = 16,
  kEEXIST = 17,
  kENODEV = 19,  // the device does not do this operation (read on a write-only device)
  kENOTDIR = 20,
  kEISDIR = 21,
  kEINVAL = 22,
  kENOTTY = 25,  // an ioctl the device does not know
  kENOSPC = 28,
  kENAMETOOLONG = 36,
  kENOSYS = 38,
  kELOOP = 40,  // aliases that lead to aliases too deep (or in a circle)
};

// poll(2) event bits, as Linux numbers them.
enum DevPoll : unsigned {
  kPollIn = 0x1,
  kPollPri = 0x2,
  kPollOut = 0x4,
  kPollErr = 0x8,
  kPollHup = 0x10,
  kPollNval = 0x20,
};

// open(2) access modes (the low two bits of the flags a Device's open gets).
enum DevOpen : unsigned {
  kOpenAccMode = 3,
  kOpenRead = 0,
  kOpenWrite = 1,
  kOpenReadWrite = 2,
  kOpenNonBlock = 04000,  // O_NONBLOCK
};

}  // namespace mk
