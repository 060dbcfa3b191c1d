// Device: what sits behind a devfs node, the character-device switch of
// modkit (FreeBSD's cdevsw, Linux's file_operations) as an abstract class.
//
// Contract for implementers:
// - Every method may be called from several threads at once, on the same or
//   different opens; the Device does its own locking. No devfs lock is held
//   while a method runs, so a method may call into devfs (make another node)
//   but must never destroy or revoke its own node (that waits for the very call
//   that asks: a deadlock).
// - open() returns 0 and may set *cookie to per-open state; every later call
//   on that open gets the cookie back. close() is called exactly once for
//   every open() that returned 0, also when the node was revoked or destroyed
//   while open (then from the thread that destroys, before destroy returns).
// - read() and write() return the number of bytes moved (0 at end of data) or a
//   negated DevErrno; `offset` is the file position of the open (devfs keeps
//   none: it passes what the caller asked for, as pread/pwrite do).
// - ioctl() gets the command and its argument buffer, already copied in (and
//   copied out after the call) by whoever carried the call: `len` is the size
//   the command encodes (_IOC_SIZE). A command that carries no buffer gets
//   len 0 and the caller's raw argument value in `arg` (an integer, not a
//   pointer to dereference). Returns >= 0 or a negated DevErrno.
// - poll() returns which of `events` (DevPoll bits) are ready now, without
//   blocking. A device whose readiness changes later calls
//   Devfs::poll_wakeup() on its node so sleeping pollers look again.
// - size() is what stat reports as the node's size (0 for a stream).
// - purge() is called by every destroy and revoke of the node, after new
//   calls are refused and before devfs waits for the running ones: a device
//   whose calls can sleep (a read waiting for data) wakes them here, so they
//   return and the wait ends (FreeBSD's d_purge). It may run concurrently
//   with those calls.
//
// The defaults describe a device that opens, has nothing to read, refuses
// writes and ioctls, and is always ready.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "devfs/dev_errno.h"

namespace mk {

class Device {
 public:
  virtual int open(uint32_t flags, void** cookie) {
    *cookie = nullptr;
    return 0;
  }
  virtual void close(void* cookie) {}
  virtual int64_t read(void* cookie, uint64_t offset, void* buf, size_t len) { return -kENODEV; }
  virtual int64_t write(void* cookie, uint64_t offset, const void* buf, size_t len) {
    return -kENODEV;
  }
  virtual int ioctl(void* cookie, uint32_t cmd, void* arg, size_t len) { return -kENOTTY; }
  virtual uint32_t poll(void* cookie, uint32_t events) { return events & (kPollIn | kPollOut); }
  virtual uint64_t size() { return 0; }
  virtual void purge() {}

 protected:
  ~Device() = default;
};

}  // namespace mk
