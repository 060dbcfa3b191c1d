#include "devfs/image_device.h"

#include "support/memory.h"

namespace mk {

// One allocation: the header, then the bytes. Referenced by the device (while
// current) and by every open that reads it.
struct ImageDevice::Image {
  uint32_t refs;
  size_t size;
  uint8_t* bytes() { return reinterpret_cast<uint8_t*>(this + 1); }
};

Result<void> ImageDevice::init() {
  if (mu_ == nullptr) mu_ = threads_.new_mutex();
  if (mu_ == nullptr) return Error(Errc::kNoMemory, "devfs image: out of memory for a mutex");
  return set_image(nullptr, 0);
}

void ImageDevice::release() {
  if (current_ != nullptr) unref(current_);
  current_ = nullptr;
  if (mu_ != nullptr) threads_.delete_mutex(mu_);
  mu_ = nullptr;
}

void ImageDevice::unref(Image* image) {
  if (--image->refs == 0) alloc_.deallocate(image, sizeof(Image) + image->size, alignof(Image));
}

Result<void> ImageDevice::set_image(const void* data, size_t size) {
  if (size > SIZE_MAX - sizeof(Image))
    return Error(Errc::kNoMemory, "devfs image: %zu bytes do not fit in memory", size);
  void* mem = alloc_.allocate(sizeof(Image) + size, alignof(Image));
  if (mem == nullptr)
    return Error(Errc::kNoMemory, "devfs image: out of memory for %zu bytes", size);
  Image* fresh = new (mem) Image{1, size};
  if (size != 0) mk_memcpy(fresh->bytes(), data, size);
  LockGuard g(*mu_);
  if (current_ != nullptr) unref(current_);
  current_ = fresh;
  return Ok();
}

int ImageDevice::open_image(uint32_t flags, void** cookie) {
  if ((flags & kOpenAccMode) != kOpenRead) return -kEACCES;  // read-only, whatever the mode says
  LockGuard g(*mu_);
  ++current_->refs;
  *cookie = current_;
  return 0;
}

void ImageDevice::close_image(void* cookie) {
  LockGuard g(*mu_);
  unref(static_cast<Image*>(cookie));
}

// The image an open holds never changes: no lock needed to copy from it.
int64_t ImageDevice::read_image(void* cookie, uint64_t offset, void* buf, size_t len) {
  Image* image = static_cast<Image*>(cookie);
  if (offset >= image->size) return 0;
  size_t n = image->size - static_cast<size_t>(offset);
  if (n > len) n = len;
  if (n > static_cast<size_t>(INT64_MAX)) n = static_cast<size_t>(INT64_MAX);
  mk_memcpy(buf, image->bytes() + offset, n);
  return static_cast<int64_t>(n);
}

uint64_t ImageDevice::image_size() {
  LockGuard g(*mu_);
  return current_->size;
}

}  // namespace mk
