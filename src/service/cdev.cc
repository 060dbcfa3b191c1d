#include "service/cdev.h"

#include "support/format.h"
#include "support/memory.h"

namespace mk::service {

class Cdev final : public ::mk_cdev, public Device {
 public:
  Cdev(Registrations& regs, module::Module* owner, const mk_cdevsw* sw, void* softc)
      : regs_(regs), owner_(owner), sw_(sw), softc_(softc) {}

  int open(uint32_t flags, void** cookie) override {
    *cookie = nullptr;
    if (regs_.enter(owner_) != 0) return -kENXIO;
    int rc = 0;
    void* priv = nullptr;
    if (sw_->open != nullptr) rc = sw_->open(this, flags, &priv);
    if (rc != 0) {
      regs_.leave_in_call(owner_);
      return rc < 0 ? rc : -rc;
    }
    *cookie = priv;
    return 0;  // the reference stays with the open until close
  }

  void close(void* cookie) override {
    if (sw_->close != nullptr) sw_->close(this, cookie);
    regs_.leave_in_call(owner_);  // the open's reference
  }

  int64_t read(void* cookie, uint64_t offset, void* buf, size_t len) override {
    if (regs_.enter(owner_) != 0) return -kENXIO;
    int64_t n = sw_->read != nullptr ? sw_->read(this, cookie, offset, buf, len) : -kENODEV;
    regs_.leave_in_call(owner_);
    return n;
  }

  int64_t write(void* cookie, uint64_t offset, const void* buf, size_t len) override {
    if (regs_.enter(owner_) != 0) return -kENXIO;
    int64_t n = sw_->write != nullptr ? sw_->write(this, cookie, offset, buf, len) : -kENODEV;
    regs_.leave_in_call(owner_);
    return n;
  }

  int ioctl(void* cookie, uint32_t cmd, void* arg, size_t len) override {
    if (regs_.enter(owner_) != 0) return -kENXIO;
    int rc = sw_->ioctl != nullptr ? sw_->ioctl(this, cookie, cmd, arg, len) : -kENOTTY;
    regs_.leave_in_call(owner_);
    return rc;
  }

  uint32_t poll(void* cookie, uint32_t events) override {
    if (regs_.enter(owner_) != 0) return kPollErr | kPollHup;
    uint32_t r =
        sw_->poll != nullptr ? sw_->poll(this, cookie, events) : events & (kPollIn | kPollOut);
    regs_.leave_in_call(owner_);
    return r;
  }

  Registrations& regs_;
  module::Module* owner_;
  const mk_cdevsw* sw_;
  void* softc_;
  DevfsNode* node = nullptr;
  Handle handle = nullptr;
  char path[Devfs::kPathMax + 1] = {};
};

Cdevs::Cdevs(Registrations& regs, Devfs* devfs, EventHandlers* events)
    : regs_(regs), devfs_(devfs), events_(events), devices_(regs.allocator()) {
  mu_ = regs_.threads().new_mutex();
}

Cdevs::~Cdevs() {
  // Devices of modules that never stopped (static ones): their nodes go with
  // the devfs; only our records are freed here.
  for (Cdev* d : devices_)
    mk::destroy(regs_.allocator(), d);
  if (mu_ != nullptr) regs_.threads().delete_mutex(mu_);
}

Result<Cdev*> Cdevs::create(module::Module* owner, const char* path, const mk_cdevsw* sw,
                            void* softc, uint32_t mode, uint32_t uid, uint32_t gid) {
  if (path == nullptr) return Error(Errc::kInvalid, "cdev: no path");
  if (sw == nullptr || sw->version != MK_CDEVSW_VERSION)
    return Error(Errc::kInvalid, "cdev %s: the switch is %s (MK_CDEVSW_VERSION is %d)", path,
                 sw == nullptr ? "missing" : "of another version", MK_CDEVSW_VERSION);
  if (devfs_ == nullptr) return Error(Errc::kNotFound, "cdev %s: this kernel has no devfs", path);
  if (mu_ == nullptr) return Error(Errc::kNoMemory, "cdevs: no lock");
  Cdev* d = make<Cdev>(regs_.allocator(), regs_, owner, sw, softc);
  if (d == nullptr) return Error(Errc::kNoMemory, "cdev %s: out of memory", path);
  format(d->path, sizeof d->path, "%s", path);
  {
    LockGuard g(*mu_);
    if (!devices_.push(d)) {
      mk::destroy(regs_.allocator(), d);
      return Error(Errc::kNoMemory, "cdev %s: out of memory", path);
    }
  }
  Result<DevfsNode*> n = devfs_->make_node(path, d, mode, uid, gid);
  if (!n) {
    unlink(d);
    mk::destroy(regs_.allocator(), d);
    return n.error();
  }
  d->node = n.value();
  Result<Handle> h = regs_.add(owner, "cdev", path, &Cdevs::revoke, this, d);
  if (!h) {
    devfs_->destroy_node(d->node);
    unlink(d);
    mk::destroy(regs_.allocator(), d);
    return h.error();
  }
  d->handle = h.value();
  if (events_ != nullptr) (void)events_->invoke("device_arrival", d->path);
  return d;
}

void Cdevs::unlink(Cdev* d) {
  LockGuard g(*mu_);
  for (size_t i = 0; i < devices_.size(); ++i)
    if (devices_[i] == d) devices_.erase(i);
}

void Cdevs::destroy(Cdev* d) {
  if (d == nullptr) return;
  devfs_->destroy_node(d->node);
  unlink(d);
  regs_.remove(d->handle);
  mk::destroy(regs_.allocator(), d);
}

void Cdevs::revoke(void* ctx, void* entry) {
  auto* self = static_cast<Cdevs*>(ctx);
  auto* d = static_cast<Cdev*>(entry);
  self->devfs_->destroy_node(d->node);
  self->unlink(d);
  mk::destroy(self->regs_.allocator(), d);
}

void Cdevs::revoke_open(void* ctx, module::Module* owner) {
  auto* self = static_cast<Cdevs*>(ctx);
  // The owner's nodes, taken under the lock; revoked without it (their
  // closes run module code and drop references). The owner is GOING and its
  // unload holds the loader lock: only the owner's own code, from a call in
  // flight, could destroy one of them meanwhile, which the SDK forbids
  // during its unload.
  for (size_t i = 0;; ++i) {
    DevfsNode* node = nullptr;
    {
      LockGuard g(*self->mu_);
      size_t seen = 0;
      for (Cdev* d : self->devices_) {
        if (d->owner_ != owner) continue;
        if (seen++ == i) {
          node = d->node;
          break;
        }
      }
    }
    if (node == nullptr) return;
    self->devfs_->revoke(node);
  }
}

mk_cdev* Cdevs::to_sdk(Cdev* d) {
  return d;
}

Cdev* Cdevs::from_sdk(mk_cdev* d) {
  return static_cast<Cdev*>(d);
}

void* Cdevs::softc(const Cdev* d) {
  return d->softc_;
}

const char* Cdevs::path(const Cdev* d) {
  return d->path;
}

void Cdevs::poll_wakeup(Cdev* d) {
  devfs_->poll_wakeup(d->node);
}

}  // namespace mk::service
