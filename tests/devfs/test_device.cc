#include "devfs/test_device.h"

#include <string.h>

#include "gtest/gtest.h"

namespace mk::testing {

int TestDevice::open(uint32_t flags, void** cookie) {
  if (int rc = fail_open.load(); rc != 0) return rc;
  Open* o = new Open;
  {
    std::lock_guard<std::mutex> g(mu_);
    live_.insert(o);
  }
  ++opens;
  *cookie = o;
  return 0;
}

void TestDevice::close(void* cookie) {
  Open* o = static_cast<Open*>(cookie);
  {
    std::lock_guard<std::mutex> g(mu_);
    if (live_.erase(o) != 1) {
      ADD_FAILURE() << "close of an open that is not live (closed twice?)";
      return;
    }
  }
  ++closes;
  delete o;
}

int TestDevice::live_opens() {
  std::lock_guard<std::mutex> g(mu_);
  return static_cast<int>(live_.size());
}

int64_t TestDevice::read(void* cookie, uint64_t offset, void* buf, size_t len) {
  ++calls_inside;
  {
    std::unique_lock<std::mutex> l(mu_);
    if (block_) {
      ++blocked_;
      cv_.notify_all();
      cv_.wait(l, [&] { return !block_; });
      --blocked_;
    }
  }
  Open* o = static_cast<Open*>(cookie);
  int64_t n = 0;
  if (offset < o->data.size()) {
    n = static_cast<int64_t>(std::min(len, o->data.size() - offset));
    memcpy(buf, o->data.data() + offset, static_cast<size_t>(n));
  }
  --calls_inside;
  return n;
}

int64_t TestDevice::write(void* cookie, uint64_t offset, const void* buf, size_t len) {
  ++calls_inside;
  Open* o = static_cast<Open*>(cookie);
  if (o->data.size() < offset + len) o->data.resize(offset + len);
  memcpy(o->data.data() + offset, buf, len);
  --calls_inside;
  return static_cast<int64_t>(len);
}

int TestDevice::ioctl(void* cookie, uint32_t cmd, void* arg, size_t len) {
  if ((cmd & 0xff) != 1 || len != sizeof(uint32_t)) return -kENOTTY;  // number 1, any type
  uint32_t v;
  memcpy(&v, arg, sizeof v);
  v *= 2;
  memcpy(arg, &v, sizeof v);
  return 0;
}

uint32_t TestDevice::poll(void* cookie, uint32_t events) {
  Open* o = static_cast<Open*>(cookie);
  return events & (o->data.empty() ? kPollOut : kPollIn | kPollOut);
}

void TestDevice::purge() {
  ++purges;
  if (purge_wakes) release_readers();
}

void TestDevice::block_reads() {
  std::lock_guard<std::mutex> g(mu_);
  block_ = true;
}

void TestDevice::release_readers() {
  std::lock_guard<std::mutex> g(mu_);
  block_ = false;
  cv_.notify_all();
}

void TestDevice::wait_blocked(int n) {
  std::unique_lock<std::mutex> l(mu_);
  cv_.wait(l, [&] { return blocked_ >= n; });
}

}  // namespace mk::testing
