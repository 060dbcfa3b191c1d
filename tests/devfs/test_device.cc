#include "devfs/test_device.h"

#include <string.h>

#include "gtest/gtest.h"

namespace mk::testing {

int TestDevice::open(uint32_t flags, void** cookie) {
  gate(kOpen);
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
  gate(kClose);
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
  gate(kRead);
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
  if (purge_wakes) release_all();
}

void TestDevice::gate(Call call) {
  std::unique_lock<std::mutex> l(mu_);
  if ((block_ & call) == 0) return;
  uint64_t ticket = next_ticket_++;
  ++blocked_;
  cv_.notify_all();
  cv_.wait(l, [&] { return ticket < released_; });
  --blocked_;
}

void TestDevice::block(unsigned calls) {
  std::lock_guard<std::mutex> g(mu_);
  block_ = calls;
}

void TestDevice::release_one() {
  std::lock_guard<std::mutex> g(mu_);
  ++released_;
  cv_.notify_all();
}

void TestDevice::release_all() {
  std::lock_guard<std::mutex> g(mu_);
  block_ = 0;
  released_ = next_ticket_;
  cv_.notify_all();
}

void TestDevice::wait_blocked(int n) {
  std::unique_lock<std::mutex> l(mu_);
  cv_.wait(l, [&] { return blocked_ >= n; });
}

}  // namespace mk::testing
