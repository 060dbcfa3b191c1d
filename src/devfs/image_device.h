// ImageDevice: a read-only device that serves a byte image (the ksyms symbol
// file, a firmware blob) which its owner replaces as a whole.
//
// Each open reads the image that was current when it opened, to the end,
// even if set_image() replaces it meanwhile: a reader never gets half of one
// image and half of the next. stat's size is the current image's.
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
  // nullptr when memory (or a mutex) cannot be had. Starts with an empty image.
  static ImageDevice* create(Allocator& alloc, Threads& threads);
  // Must not be called while the device is in devfs (destroy its node first).
  static void destroy(ImageDevice* device);

  // Copies `size` bytes as the new image. kNoMemory leaves the old one.
  [[nodiscard]] Result<void> set_image(const void* data, size_t size);

  int open(uint32_t flags, void** cookie) override;
  void close(void* cookie) override;
  int64_t read(void* cookie, uint64_t offset, void* buf, size_t len) override;
  int64_t write(void* cookie, uint64_t offset, const void* buf, size_t len) override;
  uint64_t size() override;

 private:
  struct Image;
  ImageDevice(Allocator& alloc, Threads& threads) : alloc_(alloc), threads_(threads) {}
  ~ImageDevice() = default;
  void unref(Image* image);  // under mu_

  Allocator& alloc_;
  Threads& threads_;
  Mutex* mu_ = nullptr;
  Image* current_ = nullptr;  // never nullptr once created
};

}  // namespace mk
