// FuseDevfs: a Devfs mounted as a real file system through FUSE (libfuse3),
// so ordinary programs (ls, cat, dd, echo >) use module devices.
//
// What programs see: directories as directories, aliases as symbolic links
// (relative, so they resolve inside the mount), devices as regular files of
// Device::size() bytes. (Not character special files: those would send the
// kernel to its own device numbers instead of to us.) Every read and write
// reaches the device (direct_io, no page cache; no attribute or name caching
// either, so the tree is always current). ioctl passes restricted ioctls
// (the size and direction encoded in the command) to Device::ioctl; poll
// waits on Devfs::poll_wakeup(). Errors reach the program as the errno the
// Device or devfs answered. Nobody may create, remove or rename anything
// through the mount (EPERM): the tree is the kernel's.
//
// Threads: the mount serves requests on its own threads (options.threads),
// from mount() until unmount(). A Device call that blocks holds one of them.
//
// Unmount: unmount() (or the destructor) stops the threads and unmounts; a
// program still using the mount sees ENOTCONN afterwards. With
// options.auto_unmount (default) fusermount3 also unmounts when this process
// dies without unmounting (a crash), so no stale mount is left behind.
#pragma once

#include <memory>
#include <string>

#include "devfs/devfs.h"

namespace mk::hosted {

struct FuseDevfsOptions {
  int threads = 4;  // each Device call that sleeps holds one
  bool auto_unmount = true;
  // Let other users in (as root only; ordinary users need user_allow_other in
  // /etc/fuse.conf). The kernel then checks each node's mode, owner and group.
  bool allow_other = false;
};

class FuseDevfs {
 public:
  // Mounts devfs at dir (an existing empty directory). nullptr, and *error
  // saying why and what to do, when that is impossible (no /dev/fuse, no
  // permission to mount, dir missing).
  static std::unique_ptr<FuseDevfs> mount(Devfs& devfs, const std::string& dir,
                                          const FuseDevfsOptions& options, std::string* error);
  ~FuseDevfs();
  FuseDevfs(const FuseDevfs&) = delete;
  FuseDevfs& operator=(const FuseDevfs&) = delete;

  // Stops serving and unmounts. Idempotent.
  void unmount();
  const std::string& dir() const;

  struct State;

 private:
  explicit FuseDevfs(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

// Why a FUSE mount cannot work on this machine ("/dev/fuse is missing..."), or
// "" when it may. Tests skip with this message.
std::string fuse_unavailable_reason();

}  // namespace mk::hosted
