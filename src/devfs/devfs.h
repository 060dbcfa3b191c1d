// Devfs: the device namespace. A tree of named nodes (devices, aliases and the
// directories that hold them), and the open files that reach the devices,
// with FreeBSD destroy_dev semantics: once a node is destroyed or revoked, no
// call enters its Device any more, and destroy_node() returns only when no
// call is still running in it, so the Device's owner may free it right after.
//
// Paths are relative to the devfs root, components separated by '/'. A
// leading '/' is allowed ("/ksyms" and "ksyms" are the same node). Empty
// components, "." and "..", names longer than kNameMax and paths longer than
// kPathMax are refused. Directories are made on demand by make_node() and
// make_alias() and go away again with their last entry.
//
// Aliases are symbolic links inside devfs: their target is a devfs path,
// resolved when used (a dangling alias is allowed, as a dangling symlink is).
//
// Open files: open() returns a DevfsFile with one reference. Every operation
// on a file enters its node (counted in flight) and leaves it after the
// Device returned; close() drops the reference. The Device's close() runs
// once per successful open: when the last reference goes, or when the node is
// revoked or destroyed (whichever comes first). After that every operation on
// the file fails with -kENXIO; the file itself stays valid until close().
//
// Locking: one mutex guards the tree and the counters; it is never held while
// a Device method runs. All methods are thread-safe.
//
// Errors: the tree operations a kernel or module calls (make_node, make_alias)
// return Result with an Error naming the path; the operations a file system
// front end calls (lookup, open, read, ...) return a negated DevErrno, which is
// what the program on the other side of the mount gets.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "devfs/dev_errno.h"
#include "devfs/device.h"
#include "platform/thread.h"
#include "support/allocator.h"
#include "support/result.h"

namespace mk {

struct DevfsNode;  // a node of the tree: the handle make_node() returns
struct DevfsFile;  // an open file of a device node

enum class DevfsKind : uint8_t { kDirectory, kDevice, kAlias };

// What stat reports about a node.
struct DevfsStat {
  uint64_t ino;  // unique for the life of the Devfs, never reused; the root is 1
  DevfsKind kind;
  uint32_t mode;  // permission bits only (07777)
  uint32_t uid;
  uint32_t gid;
  uint32_t nlink;
  uint64_t size;  // Device::size() for devices, the target's length for aliases
};

// Who asks: permission checks in open() use these (uid 0 may do anything).
struct DevfsCred {
  uint32_t uid;
  uint32_t gid;
};

class Devfs {
 public:
  static constexpr size_t kNameMax = 255;
  static constexpr size_t kPathMax = 1024;
  static constexpr int kAliasDepthMax = 8;  // aliases followed in one lookup

  // nullptr when memory (or a mutex) cannot be had.
  static Devfs* create(Allocator& alloc, Threads& threads);
  // Destroys every node still in the tree (waiting for calls in flight, closing
  // open files' devices). Every DevfsFile must have been closed before.
  static void destroy(Devfs* devfs);

  // --- the tree (kernel and module side) ---

  // Adds a device node at `path`, creating missing directories (mode 0755,
  // owned by root). kDuplicate when the path exists, kInvalid for a bad path
  // or a non-directory in the middle of it. The Device must outlive the node
  // (until destroy_node() returns).
  [[nodiscard]] Result<DevfsNode*> make_node(const char* path, Device* device, uint32_t mode,
                                             uint32_t uid, uint32_t gid);
  // Adds an alias at `path` that points to `target` (a devfs path).
  [[nodiscard]] Result<DevfsNode*> make_alias(const char* path, const char* target);
  // Removes the node from the tree. For a device node: new opens fail with
  // -kENOENT, calls on open files with -kENXIO; calls Device::purge() and
  // wakes the node's pollers; waits until no call is running in the Device,
  // then closes the Device for every file still open. The
  // handle is invalid afterwards. Must not be called from inside a call on
  // this same node.
  void destroy_node(DevfsNode* node);
  // Revokes every file open on the device node now (their calls fail with
  // -kENXIO; purge() and pollers as for destroy_node; waits for the calls
  // running on them; closes their Device opens) and leaves the node in place
  // for new opens, as revoke(2) does.
  void revoke(DevfsNode* node);
  // Changes the permission bits and owner of a node.
  void set_owner(DevfsNode* node, uint32_t mode, uint32_t uid, uint32_t gid);
  // Wakes pollers of every file open on this node (see set_poll_listener).
  void poll_wakeup(DevfsNode* node);

  // Bumped by every change of the tree (a node made or destroyed).
  uint64_t generation() const;
  // How many device opens are live on the node now (for drain decisions).
  uint32_t open_count(DevfsNode* node) const;

  // --- the file system side (what a mount calls) ---

  // Stats the node at path; aliases in the middle are followed, the last
  // component is not (lstat). 0 or -kENOENT/-kENOTDIR/-kELOOP/-kEINVAL.
  int stat(const char* path, DevfsStat* out);
  // Copies an alias's target into buf (NUL-terminated; -kENAMETOOLONG when it
  // does not fit). -kEINVAL when the node is not an alias.
  int readlink(const char* path, char* buf, size_t len) const;
  // Calls fn once per entry of the directory at path, in creation order. fn
  // runs under the devfs lock: it must not call back into this Devfs.
  using ReaddirFn = void (*)(void* ctx, const char* name, const DevfsStat& st);
  int readdir(const char* path, ReaddirFn fn, void* ctx) const;

  // Opens the device at path (aliases followed) for `flags` (open(2) flags;
  // the access mode is checked against the node's mode for `cred`). 0 and
  // *out set, or -kENOENT, -kEACCES, -kEISDIR, what Device::open returned, or
  // -kENXIO when a revoke came while the Device was opening (the open is
  // undone: revoked with the files it revoked).
  int open(const char* path, uint32_t flags, const DevfsCred& cred, DevfsFile** out);
  // Drops the reference open() returned.
  void close(DevfsFile* file);
  int64_t read(DevfsFile* file, uint64_t offset, void* buf, size_t len);
  int64_t write(DevfsFile* file, uint64_t offset, const void* buf, size_t len);
  int ioctl(DevfsFile* file, uint32_t cmd, void* arg, size_t len);
  // Ready events, or kPollErr | kPollHup once the file is revoked (as a hung-up tty).
  uint32_t poll(DevfsFile* file, uint32_t events);
  // The inode number of the file's node.
  uint64_t file_ino(DevfsFile* file) const;

  // Called by poll_wakeup() (outside the lock) with the node's inode number;
  // the mount wakes the pollers it keeps for that inode.
  using PollListener = void (*)(void* ctx, uint64_t ino);
  void set_poll_listener(PollListener fn, void* ctx);

  Devfs(const Devfs&) = delete;
  Devfs& operator=(const Devfs&) = delete;

 private:
  Devfs(Allocator& alloc, Threads& threads) : alloc_(alloc), threads_(threads) {}
  ~Devfs() = default;

  int resolve(const char* path, bool follow_last, int depth, DevfsNode** out) const;
  Result<DevfsNode*> insert(const char* path, DevfsKind kind);
  void fill_stat(const DevfsNode* node, DevfsStat* out) const;
  void unlink_locked(DevfsNode* node);
  void revoke_locked(DevfsNode* node, bool all);
  void close_device_locked(DevfsFile* file);
  void unlink_file_locked(DevfsFile* file);
  void wake_locked(DevfsNode* node);
  void unref_locked(DevfsNode* node);
  void free_node(DevfsNode* node);
  int enter(DevfsFile* file);
  void leave(DevfsFile* file);
  void release_locked(DevfsFile* file);

  Allocator& alloc_;
  Threads& threads_;
  Mutex* mu_ = nullptr;
  CondVar* cv_ = nullptr;  // broadcast whenever an in-flight count drops
  DevfsNode* root_ = nullptr;
  uint64_t next_ino_ = 1;
  uint64_t generation_ = 0;
  PollListener poll_fn_ = nullptr;
  void* poll_ctx_ = nullptr;
};

}  // namespace mk
