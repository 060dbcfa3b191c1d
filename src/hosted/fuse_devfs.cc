// FuseDevfs: the high-level libfuse3 API (path-based: devfs is named by
// paths), served by our own worker threads so unmount() can stop them: each
// worker waits on the FUSE fd and on an eventfd that unmount() signals.
#define FUSE_USE_VERSION 35
#include "hosted/fuse_devfs.h"

#include <errno.h>
#include <fcntl.h>
#include <fuse.h>
#include <fuse_lowlevel.h>
#include <poll.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <mutex>
#include <set>
#include <thread>
#include <utility>
#include <vector>

namespace mk::hosted {

// devfs answers with Linux errno values; make sure this host agrees.
static_assert(kENOENT == ENOENT && kEIO == EIO && kENXIO == ENXIO && kEBADF == EBADF &&
              kEAGAIN == EAGAIN && kENOMEM == ENOMEM && kEACCES == EACCES && kEBUSY == EBUSY &&
              kEEXIST == EEXIST && kENODEV == ENODEV && kENOTDIR == ENOTDIR && kEISDIR == EISDIR &&
              kEINVAL == EINVAL && kENOTTY == ENOTTY && kENOSPC == ENOSPC &&
              kENAMETOOLONG == ENAMETOOLONG && kENOSYS == ENOSYS && kELOOP == ELOOP &&
              kEPERM == EPERM);
static_assert(kPollIn == POLLIN && kPollPri == POLLPRI && kPollOut == POLLOUT &&
              kPollErr == POLLERR && kPollHup == POLLHUP && kPollNval == POLLNVAL);
static_assert(kOpenAccMode == O_ACCMODE && kOpenWrite == O_WRONLY && kOpenReadWrite == O_RDWR &&
              kOpenNonBlock == O_NONBLOCK);

struct FuseDevfs::State {
  explicit State(Devfs& d) : devfs(d) {}

  Devfs& devfs;
  std::string dir;
  struct fuse* fuse = nullptr;
  int stop_fd = -1;
  timespec mounted_at{};
  std::vector<std::thread> workers;

  // Files opened through the mount and not released yet: unmount() closes
  // what programs left open, so each Device open is closed exactly once.
  std::mutex files_mu;
  std::set<DevfsFile*> files;

  // Poll handles the kernel asked us to notify, by inode.
  std::mutex poll_mu;
  std::vector<std::pair<uint64_t, fuse_pollhandle*>> pollers;
};

namespace {

using State = FuseDevfs::State;

State& state() {
  return *static_cast<State*>(fuse_get_context()->private_data);
}
DevfsFile* file_of(const fuse_file_info* fi) {
  return reinterpret_cast<DevfsFile*>(fi->fh);
}

void fill(const State& s, const DevfsStat& d, struct stat* st) {
  memset(st, 0, sizeof *st);
  st->st_ino = d.ino;
  mode_t type = d.kind == DevfsKind::kDirectory ? S_IFDIR
                : d.kind == DevfsKind::kAlias   ? S_IFLNK
                                                : S_IFREG;
  st->st_mode = type | d.mode;
  st->st_nlink = d.nlink;
  st->st_uid = d.uid;
  st->st_gid = d.gid;
  st->st_size = static_cast<off_t>(d.size);
  st->st_blksize = 4096;
  st->st_atim = st->st_mtim = st->st_ctim = s.mounted_at;
}

void* op_init(fuse_conn_info*, fuse_config* cfg) {
  // Nothing cached in the kernel: nodes come and go with modules, and every
  // read must reach the device.
  cfg->entry_timeout = 0;
  cfg->attr_timeout = 0;
  cfg->negative_timeout = 0;
  cfg->use_ino = 1;
  cfg->direct_io = 1;
  cfg->kernel_cache = 0;
  return fuse_get_context()->private_data;
}

int op_getattr(const char* path, struct stat* st, fuse_file_info*) {
  DevfsStat d;
  if (int rc = state().devfs.stat(path, &d); rc != 0) return rc;
  fill(state(), d, st);
  return 0;
}

// Alias targets are devfs paths; the link a program reads is relative to the
// alias's directory ("../disk/sda" for by-name/boot), so it resolves inside
// the mount wherever that is.
int op_readlink(const char* path, char* buf, size_t size) {
  char target[Devfs::kPathMax + 1];
  if (int rc = state().devfs.readlink(path, target, sizeof target); rc != 0) return rc;
  std::string link;
  while (*path == '/')
    ++path;
  for (const char* p = path; *p != '\0'; ++p)
    if (*p == '/') link += "../";
  link += target;
  if (size == 0) return -EINVAL;
  size_t n = std::min(size - 1, link.size());
  memcpy(buf, link.data(), n);
  buf[n] = '\0';
  return 0;
}

int op_readdir(const char* path, void* buf, fuse_fill_dir_t filler, off_t, fuse_file_info*,
               fuse_readdir_flags) {
  std::vector<std::pair<std::string, DevfsStat>> entries;
  int rc = state().devfs.readdir(
      path,
      [](void* ctx, const char* name, const DevfsStat& st) {
        static_cast<decltype(entries)*>(ctx)->emplace_back(name, st);
      },
      &entries);
  if (rc != 0) return rc;
  filler(buf, ".", nullptr, 0, static_cast<fuse_fill_dir_flags>(0));
  filler(buf, "..", nullptr, 0, static_cast<fuse_fill_dir_flags>(0));
  for (auto& [name, d] : entries) {
    struct stat st;
    fill(state(), d, &st);
    if (filler(buf, name.c_str(), &st, 0, static_cast<fuse_fill_dir_flags>(0)) != 0) break;
  }
  return 0;
}

int op_open(const char* path, fuse_file_info* fi) {
  State& s = state();
  const fuse_context* ctx = fuse_get_context();
  DevfsFile* f = nullptr;
  int rc =
      s.devfs.open(path, static_cast<uint32_t>(fi->flags),
                   DevfsCred{static_cast<uint32_t>(ctx->uid), static_cast<uint32_t>(ctx->gid)}, &f);
  if (rc != 0) return rc;
  {
    std::lock_guard<std::mutex> g(s.files_mu);
    s.files.insert(f);
  }
  fi->fh = reinterpret_cast<uint64_t>(f);
  fi->direct_io = 1;
  fi->keep_cache = 0;
  return 0;
}

int op_release(const char*, fuse_file_info* fi) {
  State& s = state();
  DevfsFile* f = file_of(fi);
  {
    std::lock_guard<std::mutex> g(s.files_mu);
    if (s.files.erase(f) == 0) return 0;  // closed by unmount() already
  }
  s.devfs.close(f);
  return 0;
}

int clamp(int64_t r) {
  return r > INT32_MAX ? INT32_MAX : static_cast<int>(r);
}

int op_read(const char*, char* buf, size_t size, off_t off, fuse_file_info* fi) {
  return clamp(state().devfs.read(file_of(fi), static_cast<uint64_t>(off), buf, size));
}

int op_write(const char*, const char* buf, size_t size, off_t off, fuse_file_info* fi) {
  return clamp(state().devfs.write(file_of(fi), static_cast<uint64_t>(off), buf, size));
}

// `echo x > dev` truncates before it writes; a device has no length to cut.
int op_truncate(const char* path, off_t, fuse_file_info*) {
  DevfsStat d;
  if (int rc = state().devfs.stat(path, &d); rc != 0) return rc;
  return d.kind == DevfsKind::kDirectory ? -EISDIR : 0;
}

int op_ioctl(const char*, unsigned int cmd, void* arg, fuse_file_info* fi, unsigned int flags,
             void* data) {
  if ((flags & FUSE_IOCTL_COMPAT) != 0) return -ENOSYS;
  if ((flags & FUSE_IOCTL_DIR) != 0) return -ENOTTY;
  // Commands without a buffer pass their raw argument (see Device::ioctl).
  if (_IOC_DIR(cmd) == _IOC_NONE) return state().devfs.ioctl(file_of(fi), cmd, arg, 0);
  return state().devfs.ioctl(file_of(fi), cmd, data, _IOC_SIZE(cmd));
}

int op_poll(const char*, fuse_file_info* fi, fuse_pollhandle* ph, unsigned* reventsp) {
  State& s = state();
  uint32_t events = fi->poll_events != 0 ? fi->poll_events : POLLIN | POLLOUT | POLLPRI;
  uint32_t ready = s.devfs.poll(file_of(fi), events);
  *reventsp = ready;
  if (ph == nullptr) return 0;
  if ((ready & (events | POLLERR | POLLHUP)) != 0) {
    fuse_pollhandle_destroy(ph);
    return 0;
  }
  std::lock_guard<std::mutex> g(s.poll_mu);
  s.pollers.emplace_back(s.devfs.file_ino(file_of(fi)), ph);
  return 0;
}

void poll_listener(void* ctx, uint64_t ino) {
  State& s = *static_cast<State*>(ctx);
  std::lock_guard<std::mutex> g(s.poll_mu);
  for (size_t i = 0; i < s.pollers.size();) {
    if (s.pollers[i].first != ino) {
      ++i;
      continue;
    }
    fuse_notify_poll(s.pollers[i].second);
    fuse_pollhandle_destroy(s.pollers[i].second);
    s.pollers[i] = s.pollers.back();
    s.pollers.pop_back();
  }
}

// The tree belongs to the kernel: nothing is made, removed or renamed here.
int op_refuse_path(const char*) {
  return -EPERM;
}
int op_refuse_mode(const char*, mode_t) {
  return -EPERM;
}
int op_refuse_two(const char*, const char*) {
  return -EPERM;
}
int op_refuse_rename(const char*, const char*, unsigned int) {
  return -EPERM;
}
int op_refuse_create(const char*, mode_t, fuse_file_info*) {
  return -EPERM;
}
int op_refuse_mknod(const char*, mode_t, dev_t) {
  return -EPERM;
}
int op_refuse_chmod(const char*, mode_t, fuse_file_info*) {
  return -EPERM;
}
int op_refuse_chown(const char*, uid_t, gid_t, fuse_file_info*) {
  return -EPERM;
}

fuse_operations make_ops() {
  fuse_operations ops{};
  ops.init = op_init;
  ops.getattr = op_getattr;
  ops.readlink = op_readlink;
  ops.readdir = op_readdir;
  ops.open = op_open;
  ops.release = op_release;
  ops.read = op_read;
  ops.write = op_write;
  ops.truncate = op_truncate;
  ops.ioctl = op_ioctl;
  ops.poll = op_poll;
  ops.mknod = op_refuse_mknod;
  ops.mkdir = op_refuse_mode;
  ops.unlink = op_refuse_path;
  ops.rmdir = op_refuse_path;
  ops.symlink = op_refuse_two;
  ops.link = op_refuse_two;
  ops.rename = op_refuse_rename;
  ops.create = op_refuse_create;
  ops.chmod = op_refuse_chmod;
  ops.chown = op_refuse_chown;
  return ops;
}

void serve(State* s) {
  fuse_session* se = fuse_get_session(s->fuse);
  fuse_buf buf{};
  pollfd fds[2] = {{fuse_session_fd(se), POLLIN, 0}, {s->stop_fd, POLLIN, 0}};
  while (!fuse_session_exited(se)) {
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (fds[1].revents != 0) break;
    int rc = fuse_session_receive_buf(se, &buf);
    if (rc == -EINTR || rc == -EAGAIN) continue;  // another worker took it
    if (rc <= 0) break;                           // unmounted (0) or the fd failed
    fuse_session_process_buf(se, &buf);
  }
  free(buf.mem);
}

// libfuse runs fusermount3 to mount as an ordinary user, and always for
// auto_unmount (its helper stays behind to unmount when we die).
bool have_fusermount() {
  if (access("/usr/bin/fusermount3", X_OK) == 0) return true;
  const char* path = getenv("PATH");
  std::string dirs = path != nullptr ? path : "";
  for (size_t start = 0; start <= dirs.size();) {
    size_t end = dirs.find(':', start);
    if (end == std::string::npos) end = dirs.size();
    std::string dir = dirs.substr(start, end - start);
    if (!dir.empty() && access((dir + "/fusermount3").c_str(), X_OK) == 0) return true;
    start = end + 1;
  }
  return false;
}

}  // namespace

std::string fuse_unavailable_reason() {
  if (access("/dev/fuse", F_OK) != 0)
    return "/dev/fuse is missing: load the fuse kernel module (modprobe fuse) or give this "
           "container the device";
  if (access("/dev/fuse", R_OK | W_OK) != 0)
    return "/dev/fuse is not readable and writable by this user (uid " + std::to_string(getuid()) +
           ")";
  if (geteuid() != 0 && !have_fusermount())
    return "fusermount3 is missing (install fuse3: scripts/deps.sh), and only root mounts without "
           "it";
  return "";
}

FuseDevfs::FuseDevfs(std::unique_ptr<State> state) : state_(std::move(state)) {}

FuseDevfs::~FuseDevfs() {
  unmount();
}

const std::string& FuseDevfs::dir() const {
  return state_->dir;
}

std::unique_ptr<FuseDevfs> FuseDevfs::mount(Devfs& devfs, const std::string& dir,
                                            const FuseDevfsOptions& options, std::string* error) {
  auto fail = [&](const std::string& why) {
    *error = "devfs: cannot mount at " + dir + ": " + why;
    return nullptr;
  };
  if (std::string why = fuse_unavailable_reason(); !why.empty()) return fail(why);
  struct stat st;
  if (::stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
    return fail("no such directory (create it, or set `devfs =` in the config to another one)");

  auto s = std::make_unique<State>(devfs);
  s->dir = dir;
  clock_gettime(CLOCK_REALTIME, &s->mounted_at);
  std::string opts = "fsname=modkit-devfs,subtype=devfs,default_permissions";
  if (options.allow_other) opts += ",allow_other";
  // Root without fusermount3 mounts directly, at the price of no cleanup
  // after a crash.
  if (options.auto_unmount && have_fusermount()) opts += ",auto_unmount";
  const char* argv[] = {"modkit-devfs", "-o", opts.c_str(), nullptr};
  fuse_args args = FUSE_ARGS_INIT(3, const_cast<char**>(argv));
  fuse_operations ops = make_ops();
  s->fuse = fuse_new(&args, &ops, sizeof ops, s.get());
  fuse_opt_free_args(&args);
  if (s->fuse == nullptr) return fail("libfuse refused the mount options (" + opts + ")");
  if (fuse_mount(s->fuse, dir.c_str()) != 0) {
    fuse_destroy(s->fuse);
    return fail(
        "the mount was refused (libfuse said why above; mounting needs root or "
        "fusermount3)");
  }
  s->stop_fd = eventfd(0, EFD_CLOEXEC);
  int fd = fuse_session_fd(fuse_get_session(s->fuse));
  // Several workers wait on one fd: whoever loses the race must not block.
  if (s->stop_fd < 0 || fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) != 0) {
    int err = errno;
    if (s->stop_fd >= 0) close(s->stop_fd);
    fuse_unmount(s->fuse);
    fuse_destroy(s->fuse);
    return fail(std::string("cannot set up the request loop: ") + strerror(err));
  }
  devfs.set_poll_listener(poll_listener, s.get());
  for (int i = 0; i < (options.threads < 1 ? 1 : options.threads); ++i)
    s->workers.emplace_back(serve, s.get());
  return std::unique_ptr<FuseDevfs>(new FuseDevfs(std::move(s)));
}

void FuseDevfs::unmount() {
  State& s = *state_;
  if (s.fuse == nullptr) return;
  uint64_t one = 1;
  if (write(s.stop_fd, &one, sizeof one) != sizeof one) fuse_exit(s.fuse);
  for (std::thread& t : s.workers)
    t.join();
  s.workers.clear();
  s.devfs.set_poll_listener(nullptr, nullptr);
  {
    std::lock_guard<std::mutex> g(s.poll_mu);
    for (auto& p : s.pollers)
      fuse_pollhandle_destroy(p.second);
    s.pollers.clear();
  }
  // Detaches the mount and closes the connection: programs still in it get
  // ENOTCONN from now on.
  fuse_unmount(s.fuse);
  fuse_destroy(s.fuse);
  s.fuse = nullptr;
  close(s.stop_fd);
  s.stop_fd = -1;
  // What programs left open is closed for them (their release never comes).
  std::set<DevfsFile*> left;
  {
    std::lock_guard<std::mutex> g(s.files_mu);
    left.swap(s.files);
  }
  for (DevfsFile* f : left)
    s.devfs.close(f);
}

}  // namespace mk::hosted
