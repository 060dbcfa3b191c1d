// ImageDevice: a read-only device that serves a byte image (the ksyms symbol
// file, a firmware blob) which its owner replaces as a whole.
//
// Each open reads the image that was current when it opened, to the end,
// even if set_image() replaces it meanwhile: a reader never gets half of one
// image and half of the next. stat's size is the current image's.
//
// Every virtual function is defined here, in the header, and the constructor
// too: the vtable is then emitted where the kernel constructs the device (with
// RTTI in a hosted build, where UBSan's vptr check wants it), never in the
// freestanding core, which has no RTTI to give it.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "devfs/device.h"
#include "platform/thread.h"
#include "support/allocator.h"
#include "support/result.h"

namespace mk {

class ImageDevice final : public Device {
 public:
  ImageDevice(Allocator& alloc, Threads& threads) : alloc_(alloc), threads_(threads) {}
  ~ImageDevice() { release(); }  // must not be in devfs any more (destroy its node first)
  ImageDevice(const ImageDevice&) = delete;
  ImageDevice& operator=(const ImageDevice&) = delete;

  // Before anything else: the mutex and an empty image.
  [[nodiscard]] Result<void> init();
  // Copies `size` bytes as the new image. kNoMemory leaves the old one.
  [[nodiscard]] Result<void> set_image(const void* data, size_t size);

  int open(uint32_t flags, void** cookie) override { return open_image(flags, cookie); }
  void close(void* cookie) override { close_image(cookie); }
  int64_t read(void* cookie, uint64_t offset, void* buf, size_t len) override {
    return read_image(cookie, offset, buf, len);
  }
  int64_t write(void*, uint64_t, const void*, size_t) override { return -kEBADF; }
  uint64_t size() override { return image_size(); }

 private:
  struct Image;
  int open_image(uint32_t flags, void** cookie);
  void close_image(void* cookie);
  int64_t read_image(void* cookie, uint64_t offset, void* buf, size_t len);
  uint64_t image_size();
  void release();
  void unref(Image* image);  // under mu_

  Allocator& alloc_;
  Threads& threads_;
  Mutex* mu_ = nullptr;
  Image* current_ = nullptr;  // never nullptr once init() succeeded
};

}  // namespace mk
