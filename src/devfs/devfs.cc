// The devfs tree and its open files. See devfs.h for the contract; the notes
// here are about how the counters keep it.
//
// Reference counts (DevfsNode::refs): one for being in the tree, one per
// DevfsFile, one held by destroy_node() while it drains. A node's memory goes
// with its last reference, so a file whose node was destroyed can still be
// asked (and answers -kENXIO) until it is closed.
//
// In-flight counts: DevfsNode::inflight counts every call running in the
// Device (open, read, ..., close); DevfsFile::inflight those made through one
// file. destroy_node() waits for the node's count, revoke() for the counts of
// the files it revokes. Both drop only under the lock, followed by a broadcast.
//
// A file's Device open moves kOpening -> kOpen -> kClosing -> kClosed, each
// step under the lock; the Device's open and close run outside it, in
// kOpening and kClosing, and only the thread that entered one of those states
// leaves it (with a broadcast). revoke() and destroy_node() wait out both, so
// when they return no open or close of a file they cover is still running in
// the Device, whichever thread started it. A file is linked into its node from
// the moment it starts opening until it is freed.
#include "devfs/devfs.h"

#include "support/memory.h"
#include "support/vector.h"

namespace mk {

struct DevfsNode {
  explicit DevfsNode(Allocator& a) : children(a) {}

  DevfsNode* parent = nullptr;
  char* name = nullptr;  // owned, NUL-terminated ("" for the root)
  size_t name_len = 0;
  DevfsKind kind = DevfsKind::kDirectory;
  uint32_t mode = 0;
  uint32_t uid = 0;
  uint32_t gid = 0;
  uint64_t ino = 0;
  Device* device = nullptr;  // kDevice
  char* target = nullptr;    // kAlias: owned devfs path
  size_t target_len = 0;
  Vec<DevfsNode*> children;  // kDirectory, in creation order
  bool dead = false;         // destroyed: out of the tree, no call enters
  uint32_t gen = 0;          // bumped by revoke: files of an older gen are revoked
  uint32_t refs = 1;
  uint32_t inflight = 0;
  DevfsFile* files = nullptr;  // every file not yet freed, linked through next/prev
};

enum class DeviceOpen : uint8_t { kOpening, kOpen, kClosing, kClosed };

struct DevfsFile {
  DevfsNode* node;
  void* cookie;
  uint32_t flags;
  uint32_t gen;
  uint32_t refs;
  uint32_t inflight;
  DeviceOpen state;
  DevfsFile* prev;
  DevfsFile* next;
};

namespace {

char* copy_string(Allocator& a, const char* s, size_t len) {
  char* p = static_cast<char*>(a.allocate(len + 1, 1));
  if (p == nullptr) return nullptr;
  mk_memcpy(p, s, len);
  p[len] = '\0';
  return p;
}

// Splits paths into components: Cursor walks "a/b/c" one name at a time.
struct Cursor {
  const char* p;
  const char* name = nullptr;
  size_t len = 0;

  explicit Cursor(const char* path) : p(path) {
    while (*p == '/')
      ++p;
  }
  bool next() {
    if (*p == '\0') return false;
    name = p;
    while (*p != '\0' && *p != '/')
      ++p;
    len = static_cast<size_t>(p - name);
    if (*p == '/') ++p;
    return true;
  }
  bool last() const { return *p == '\0'; }
};

// 0, or why the path can never name a node.
int check_path(const char* path) {
  while (*path == '/')
    ++path;
  if (mk_strlen(path) > Devfs::kPathMax) return -kENAMETOOLONG;
  const char* s = path;
  while (*s != '\0') {
    const char* start = s;
    while (*s != '\0' && *s != '/')
      ++s;
    size_t len = static_cast<size_t>(s - start);
    if (len == 0) return -kEINVAL;  // "a//b" or a trailing '/'
    if (len > Devfs::kNameMax) return -kENAMETOOLONG;
    if ((len == 1 && start[0] == '.') || (len == 2 && start[0] == '.' && start[1] == '.'))
      return -kEINVAL;
    if (*s == '/') {
      ++s;
      if (*s == '\0') return -kEINVAL;
    }
  }
  return 0;
}

DevfsNode* find_child(DevfsNode* dir, const char* name, size_t len) {
  for (DevfsNode* c : dir->children)
    if (c->name_len == len && mk_memcmp(c->name, name, len) == 0) return c;
  return nullptr;
}

bool may_access(const DevfsNode* n, const DevfsCred& cred, uint32_t want) {
  if (cred.uid == 0) return true;
  uint32_t bits = cred.uid == n->uid   ? (n->mode >> 6) & 7
                  : cred.gid == n->gid ? (n->mode >> 3) & 7
                                       : n->mode & 7;
  return (bits & want) == want;
}

const char* path_error(int rc) {
  switch (rc) {
    case -kENAMETOOLONG:
      return "a name is longer than 255 bytes or the path longer than 1024";
    default:
      return "empty, \".\" and \"..\" components are not allowed";
  }
}

}  // namespace

Devfs* Devfs::create(Allocator& alloc, Threads& threads) {
  void* mem = alloc.allocate(sizeof(Devfs), alignof(Devfs));
  if (mem == nullptr) return nullptr;
  Devfs* d = new (mem) Devfs(alloc, threads);
  d->mu_ = threads.new_mutex();
  d->cv_ = threads.new_condvar();
  d->root_ = make<DevfsNode>(alloc, alloc);
  if (d->root_ != nullptr) d->root_->name = copy_string(alloc, "", 0);
  if (d->mu_ == nullptr || d->cv_ == nullptr || d->root_ == nullptr || d->root_->name == nullptr) {
    destroy(d);
    return nullptr;
  }
  d->root_->mode = 0755;
  d->root_->ino = d->next_ino_++;
  return d;
}

void Devfs::destroy(Devfs* d) {
  if (d == nullptr) return;
  // Leaves first: destroy_node() prunes the directories it empties.
  for (;;) {
    DevfsNode* n = nullptr;
    if (d->mu_ != nullptr && d->root_ != nullptr) {
      LockGuard g(*d->mu_);
      n = d->root_;
      while (n->kind == DevfsKind::kDirectory && !n->children.empty())
        n = n->children[0];
    }
    if (n == nullptr || n == d->root_) break;
    d->destroy_node(n);
  }
  if (d->root_ != nullptr) d->free_node(d->root_);
  if (d->cv_ != nullptr) d->threads_.delete_condvar(d->cv_);
  if (d->mu_ != nullptr) d->threads_.delete_mutex(d->mu_);
  Allocator& a = d->alloc_;
  d->~Devfs();
  a.deallocate(d, sizeof(Devfs), alignof(Devfs));
}

void Devfs::free_node(DevfsNode* n) {
  if (n->name != nullptr) alloc_.deallocate(n->name, n->name_len + 1, 1);
  if (n->target != nullptr) alloc_.deallocate(n->target, n->target_len + 1, 1);
  mk::destroy(alloc_, n);
}

void Devfs::unref_locked(DevfsNode* n) {
  if (--n->refs == 0) free_node(n);
}

// Resolves path from the root. Aliases in the middle are always followed, the
// last one only when follow_last; each alias followed costs one depth.
int Devfs::resolve(const char* path, bool follow_last, int depth, DevfsNode** out) const {
  if (int rc = check_path(path); rc != 0) return rc;
  DevfsNode* cur = root_;
  Cursor c(path);
  while (c.next()) {
    if (cur->kind != DevfsKind::kDirectory) return -kENOTDIR;
    DevfsNode* child = find_child(cur, c.name, c.len);
    if (child == nullptr) return -kENOENT;
    if (child->kind == DevfsKind::kAlias && (!c.last() || follow_last)) {
      if (depth >= kAliasDepthMax) return -kELOOP;
      if (int rc = resolve(child->target, true, depth + 1, &child); rc != 0) return rc;
    }
    cur = child;
  }
  *out = cur;
  return 0;
}

Result<DevfsNode*> Devfs::insert(const char* path, DevfsKind kind) {
  if (int rc = check_path(path); rc != 0)
    return Error(Errc::kInvalid, "devfs: bad path '%s': %s", path, path_error(rc));
  Cursor c(path);
  if (c.last()) return Error(Errc::kInvalid, "devfs: bad path '%s': it names the root", path);
  DevfsNode* cur = root_;
  uint64_t generation = generation_;
  while (c.next()) {
    DevfsNode* child = find_child(cur, c.name, c.len);
    if (child != nullptr && c.last())
      return Error(Errc::kDuplicate,
                   "devfs: '%s' already exists; destroy it first or pick another name", path);
    if (child != nullptr && child->kind != DevfsKind::kDirectory)
      return Error(Errc::kInvalid, "devfs: cannot make '%s': '%.*s' is not a directory", path,
                   static_cast<int>(c.name + c.len - path), path);
    if (child == nullptr) {
      child = make<DevfsNode>(alloc_, alloc_);
      if (child != nullptr) {
        child->name = copy_string(alloc_, c.name, c.len);
        child->name_len = c.len;
      }
      if (child == nullptr || child->name == nullptr ||
          !cur->children.reserve(cur->children.size() + 1)) {
        if (child != nullptr) free_node(child);
        // Take back the directories made on the way (now empty).
        if (cur != root_ && cur->children.empty()) unlink_locked(cur);
        generation_ = generation;  // nothing changed, as far as anyone can see
        return Error(Errc::kNoMemory, "devfs: out of memory making '%s'", path);
      }
      child->parent = cur;
      child->ino = next_ino_++;
      child->mode = 0755;
      (void)cur->children.push(child);  // reserved above
    }
    cur = child;
  }
  cur->kind = kind;
  ++generation_;
  return cur;
}

// Takes the node out of its directory and drops the tree's reference; prunes
// directories left empty.
void Devfs::unlink_locked(DevfsNode* n) {
  DevfsNode* dir = n->parent;
  for (size_t i = 0; i < dir->children.size(); ++i) {
    if (dir->children[i] == n) {
      dir->children.erase(i);
      break;
    }
  }
  n->parent = nullptr;
  ++generation_;
  unref_locked(n);
  if (dir != root_ && dir->children.empty()) unlink_locked(dir);
}

Result<DevfsNode*> Devfs::make_node(const char* path, Device* device, uint32_t mode, uint32_t uid,
                                    uint32_t gid) {
  if (device == nullptr)
    return Error(Errc::kInvalid, "devfs: make_node '%s' without a device", path);
  LockGuard g(*mu_);
  DevfsNode* n = MK_TRY(insert(path, DevfsKind::kDevice));
  n->device = device;
  n->mode = mode & 07777;
  n->uid = uid;
  n->gid = gid;
  return n;
}

Result<DevfsNode*> Devfs::make_alias(const char* path, const char* target) {
  if (int rc = check_path(target); rc != 0)
    return Error(Errc::kInvalid, "devfs: alias '%s' to bad target '%s': %s", path, target,
                 path_error(rc));
  while (*target == '/')
    ++target;
  size_t len = mk_strlen(target);
  char* copy = copy_string(alloc_, target, len);
  if (copy == nullptr)
    return Error(Errc::kNoMemory, "devfs: out of memory making alias '%s'", path);
  LockGuard g(*mu_);
  Result<DevfsNode*> r = insert(path, DevfsKind::kAlias);
  if (!r) {
    alloc_.deallocate(copy, len + 1, 1);
    return r;
  }
  DevfsNode* n = r.value();
  n->target = copy;
  n->target_len = len;
  n->mode = 0777;
  return n;
}

void Devfs::destroy_node(DevfsNode* n) {
  LockGuard g(*mu_);
  if (n->dead) return;
  ++n->refs;  // ours, while we drain
  n->dead = true;
  ++n->gen;
  unlink_locked(n);
  wake_locked(n);
  while (n->inflight != 0)
    cv_->wait(*mu_);
  revoke_locked(n, true);
  unref_locked(n);
}

void Devfs::revoke(DevfsNode* n) {
  LockGuard g(*mu_);
  if (n->dead) return;
  ++n->refs;  // a destroy_node racing this one must not free the node under us
  ++n->gen;
  wake_locked(n);
  revoke_locked(n, false);
  unref_locked(n);
}

// New calls are refused already: wake the calls sleeping in the Device
// (purge) and the pollers of the node, so what destroy or revoke waits for
// ends. Drops and retakes the lock.
void Devfs::wake_locked(DevfsNode* n) {
  PollListener fn = poll_fn_;
  void* ctx = poll_ctx_;
  mu_->unlock();
  if (n->device != nullptr) n->device->purge();
  if (fn != nullptr) fn(ctx, n->ino);
  mu_->lock();
}

// Closes the Device for every file of an older generation (all: every file),
// each once no call runs through it, and returns once none of those files is
// opening or closing in another thread either. Drops and retakes the lock.
void Devfs::revoke_locked(DevfsNode* n, bool all) {
  for (;;) {
    bool busy = false;
    DevfsFile* f = n->files;
    for (; f != nullptr; f = f->next) {
      if ((!all && f->gen == n->gen) || f->state == DeviceOpen::kClosed) continue;
      if (f->state == DeviceOpen::kOpen && f->inflight == 0) break;
      busy = true;  // opening, closing, or a call still running through it
    }
    if (f == nullptr) {
      if (!busy) return;
      cv_->wait(*mu_);
      continue;
    }
    close_device_locked(f);
  }
}

// Runs the Device's close for f, which is kOpen with no call in flight, and
// leaves it kClosed. f stays allocated throughout: release_locked() waits for
// kClosing to end before it frees a file. Drops and retakes the lock.
void Devfs::close_device_locked(DevfsFile* f) {
  DevfsNode* n = f->node;
  f->state = DeviceOpen::kClosing;
  ++n->inflight;
  mu_->unlock();
  n->device->close(f->cookie);
  mu_->lock();
  --n->inflight;
  f->state = DeviceOpen::kClosed;
  cv_->broadcast();
}

void Devfs::set_owner(DevfsNode* n, uint32_t mode, uint32_t uid, uint32_t gid) {
  LockGuard g(*mu_);
  n->mode = mode & 07777;
  n->uid = uid;
  n->gid = gid;
}

void Devfs::poll_wakeup(DevfsNode* n) {
  PollListener fn;
  void* ctx;
  uint64_t ino;
  {
    LockGuard g(*mu_);
    fn = poll_fn_;
    ctx = poll_ctx_;
    ino = n->ino;
  }
  if (fn != nullptr) fn(ctx, ino);
}

void Devfs::set_poll_listener(PollListener fn, void* ctx) {
  LockGuard g(*mu_);
  poll_fn_ = fn;
  poll_ctx_ = ctx;
}

uint64_t Devfs::generation() const {
  LockGuard g(*mu_);
  return generation_;
}

uint32_t Devfs::open_count(DevfsNode* n) const {
  LockGuard g(*mu_);
  uint32_t count = 0;
  for (DevfsFile* f = n->files; f != nullptr; f = f->next)
    if (f->state == DeviceOpen::kOpen) ++count;
  return count;
}

void Devfs::fill_stat(const DevfsNode* n, DevfsStat* out) const {
  out->ino = n->ino;
  out->kind = n->kind;
  out->mode = n->mode;
  out->uid = n->uid;
  out->gid = n->gid;
  out->nlink = 1;
  out->size = 0;
  if (n->kind == DevfsKind::kDirectory) {
    out->nlink = 2;
    for (const DevfsNode* c : n->children)
      if (c->kind == DevfsKind::kDirectory) ++out->nlink;
  } else if (n->kind == DevfsKind::kAlias) {
    out->size = n->target_len;
  }
}

int Devfs::stat(const char* path, DevfsStat* out) {
  mu_->lock();
  DevfsNode* n = nullptr;
  int rc = resolve(path, false, 0, &n);
  if (rc != 0) {
    mu_->unlock();
    return rc;
  }
  fill_stat(n, out);
  if (n->kind != DevfsKind::kDevice) {
    mu_->unlock();
    return 0;
  }
  // The size is the Device's to say: ask it outside the lock, counted in flight.
  ++n->refs;
  ++n->inflight;
  mu_->unlock();
  out->size = n->device->size();
  mu_->lock();
  --n->inflight;
  cv_->broadcast();
  unref_locked(n);
  mu_->unlock();
  return 0;
}

int Devfs::readlink(const char* path, char* buf, size_t len) const {
  LockGuard g(*mu_);
  DevfsNode* n = nullptr;
  if (int rc = resolve(path, false, 0, &n); rc != 0) return rc;
  if (n->kind != DevfsKind::kAlias) return -kEINVAL;
  if (n->target_len >= len) return -kENAMETOOLONG;
  mk_memcpy(buf, n->target, n->target_len + 1);
  return 0;
}

int Devfs::readdir(const char* path, ReaddirFn fn, void* ctx) const {
  LockGuard g(*mu_);
  DevfsNode* n = nullptr;
  if (int rc = resolve(path, true, 0, &n); rc != 0) return rc;
  if (n->kind != DevfsKind::kDirectory) return -kENOTDIR;
  for (const DevfsNode* c : n->children) {
    DevfsStat st;
    fill_stat(c, &st);
    fn(ctx, c->name, st);
  }
  return 0;
}

int Devfs::open(const char* path, uint32_t flags, const DevfsCred& cred, DevfsFile** out) {
  mu_->lock();
  DevfsNode* n = nullptr;
  int rc = resolve(path, true, 0, &n);
  if (rc == 0 && n->kind == DevfsKind::kDirectory) rc = -kEISDIR;
  uint32_t acc = flags & kOpenAccMode;
  uint32_t want = acc == kOpenRead ? 4 : acc == kOpenWrite ? 2 : 6;
  if (rc == 0 && !may_access(n, cred, want)) rc = -kEACCES;
  DevfsFile* f = nullptr;
  if (rc == 0) {
    f = make<DevfsFile>(
        alloc_, DevfsFile{n, nullptr, flags, n->gen, 1, 0, DeviceOpen::kOpening, nullptr, nullptr});
    if (f == nullptr) rc = -kENOMEM;
  }
  if (rc != 0) {
    mu_->unlock();
    return rc;
  }
  ++n->refs;
  ++n->inflight;
  f->next = n->files;
  if (n->files != nullptr) n->files->prev = f;
  n->files = f;
  mu_->unlock();
  void* cookie = nullptr;
  rc = n->device->open(flags, &cookie);
  if (rc > 0) rc = 0;
  mu_->lock();
  if (rc == 0 && (n->dead || n->gen != f->gen)) {
    // Destroyed or revoked while the Device was opening: undo the open. The
    // revoke waits for this close (the file is kClosing, not kOpen).
    f->state = DeviceOpen::kClosing;
    mu_->unlock();
    n->device->close(cookie);
    mu_->lock();
    rc = n->dead ? -kENOENT : -kENXIO;
  }
  --n->inflight;
  if (rc != 0) {
    unlink_file_locked(f);
    cv_->broadcast();
    mu_->unlock();
    return rc;
  }
  f->cookie = cookie;
  f->state = DeviceOpen::kOpen;
  cv_->broadcast();
  mu_->unlock();
  *out = f;
  return 0;
}

// Drops one reference of f; the last one closes the Device (unless a revoke
// has, or is closing it now: then it waits for that close to end) and frees f.
// Drops and retakes the lock.
void Devfs::release_locked(DevfsFile* f) {
  if (--f->refs != 0) return;
  while (f->state == DeviceOpen::kClosing)
    cv_->wait(*mu_);
  if (f->state == DeviceOpen::kOpen) close_device_locked(f);
  unlink_file_locked(f);
}

// Takes f off its node's list, frees it and drops its node reference.
void Devfs::unlink_file_locked(DevfsFile* f) {
  DevfsNode* n = f->node;
  if (f->prev != nullptr)
    f->prev->next = f->next;
  else
    n->files = f->next;
  if (f->next != nullptr) f->next->prev = f->prev;
  mk::destroy(alloc_, f);
  unref_locked(n);
}

void Devfs::close(DevfsFile* f) {
  LockGuard g(*mu_);
  release_locked(f);
}

int Devfs::enter(DevfsFile* f) {
  LockGuard g(*mu_);
  DevfsNode* n = f->node;
  if (f->state != DeviceOpen::kOpen || n->dead || f->gen != n->gen) return -kENXIO;
  ++f->inflight;
  ++f->refs;
  ++n->inflight;
  return 0;
}

void Devfs::leave(DevfsFile* f) {
  LockGuard g(*mu_);
  --f->inflight;
  --f->node->inflight;
  cv_->broadcast();
  release_locked(f);
}

int64_t Devfs::read(DevfsFile* f, uint64_t offset, void* buf, size_t len) {
  if ((f->flags & kOpenAccMode) == kOpenWrite) return -kEBADF;
  if (int rc = enter(f); rc != 0) return rc;
  int64_t r = f->node->device->read(f->cookie, offset, buf, len);
  leave(f);
  return r;
}

int64_t Devfs::write(DevfsFile* f, uint64_t offset, const void* buf, size_t len) {
  if ((f->flags & kOpenAccMode) == kOpenRead) return -kEBADF;
  if (int rc = enter(f); rc != 0) return rc;
  int64_t r = f->node->device->write(f->cookie, offset, buf, len);
  leave(f);
  return r;
}

int Devfs::ioctl(DevfsFile* f, uint32_t cmd, void* arg, size_t len) {
  if (int rc = enter(f); rc != 0) return rc;
  int r = f->node->device->ioctl(f->cookie, cmd, arg, len);
  leave(f);
  return r;
}

uint32_t Devfs::poll(DevfsFile* f, uint32_t events) {
  if (enter(f) != 0) return kPollErr | kPollHup;
  uint32_t r = f->node->device->poll(f->cookie, events);
  leave(f);
  return r;
}

uint64_t Devfs::file_ino(DevfsFile* f) const {
  return f->node->ino;
}

}  // namespace mk
