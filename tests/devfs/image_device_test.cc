#include "devfs/image_device.h"

#include <string.h>

#include <string>

#include "gtest/gtest.h"
#include "hosted/threads.h"
#include "support/test_allocator.h"

namespace mk {
namespace {

using testing::TestAllocator;

class ImageDeviceTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(dev->init().ok()); }

  std::string read_all(void* cookie) {
    std::string out;
    char buf[3];
    for (;;) {
      int64_t n = dev->read(cookie, out.size(), buf, sizeof buf);
      EXPECT_GE(n, 0);
      if (n <= 0) return out;
      out.append(buf, static_cast<size_t>(n));
    }
  }

  TestAllocator alloc;
  hosted::PosixThreads threads;
  ImageDevice device{alloc, threads};
  ImageDevice* dev = &device;
};

TEST_F(ImageDeviceTest, AnOpenKeepsReadingTheImageItOpened) {
  EXPECT_EQ(dev->size(), 0u);
  ASSERT_TRUE(dev->set_image("first image", 11).ok());
  EXPECT_EQ(dev->size(), 11u);
  void* old_open = nullptr;
  ASSERT_EQ(dev->open(kOpenRead, &old_open), 0);
  ASSERT_TRUE(dev->set_image("second", 6).ok());
  EXPECT_EQ(dev->size(), 6u);
  void* new_open = nullptr;
  ASSERT_EQ(dev->open(kOpenRead, &new_open), 0);
  EXPECT_EQ(read_all(old_open), "first image");
  EXPECT_EQ(read_all(new_open), "second");
  char c;
  EXPECT_EQ(dev->read(new_open, UINT64_MAX, &c, 1), 0);
  dev->close(old_open);  // frees the first image (the allocator checks at the end)
  dev->close(new_open);
}

TEST_F(ImageDeviceTest, ItIsReadOnly) {
  void* cookie = nullptr;
  EXPECT_EQ(dev->open(kOpenWrite, &cookie), -kEACCES);
  EXPECT_EQ(dev->open(kOpenReadWrite, &cookie), -kEACCES);
  ASSERT_EQ(dev->open(kOpenRead, &cookie), 0);
  EXPECT_EQ(dev->write(cookie, 0, "x", 1), -kEBADF);
  dev->close(cookie);
}

TEST_F(ImageDeviceTest, OutOfMemoryKeepsTheOldImage) {
  ASSERT_TRUE(dev->set_image("kept", 4).ok());
  alloc.fail_after(0);
  Result<void> r = dev->set_image("lost", 4);
  alloc.never_fail();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), Errc::kNoMemory);
  EXPECT_STREQ(r.error().message(), "devfs image: out of memory for 4 bytes");
  void* cookie = nullptr;
  ASSERT_EQ(dev->open(kOpenRead, &cookie), 0);
  EXPECT_EQ(read_all(cookie), "kept");
  dev->close(cookie);
}

}  // namespace
}  // namespace mk
