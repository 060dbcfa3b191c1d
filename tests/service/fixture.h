// The service tests' kernel: a hosted System over the sample modules
// (build/modules, with their hints index), whose service layer is the one
// under test, plus modules compiled with gcc at test time for the cases the
// samples do not cover. Devices are reached through the devfs namespace
// directly (no FUSE): open, read, write, close as a mount would call them.
#pragma once

#include <stdint.h>

#include <memory>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "hosted/system.h"
#include "link/toolchain.h"
#include "modkit/service.h"

namespace mk::test {

class ServiceKernel : public ::testing::Test {
 protected:
  void SetUp() override;
  void TearDown() override;

  // Loads module `name` from the sample directory with parameters; nullptr
  // and the message in last_error on failure.
  module::File* Load(const std::string& name, const std::vector<std::string>& params = {});
  // Compiles C source `text` (the SDK and <modkit/service.h> available) as
  // `name`.c at test time and loads it.
  module::File* LoadSource(const std::string& name, const std::string& text,
                           const std::vector<std::string>& params = {});
  Result<module::UnloadResult> Unload(const std::string& module,
                                      module::UnloadOptions o = module::UnloadOptions{});

  // Opens a devfs path as root for reading and writing: 0 or the negated errno.
  int Open(const std::string& path, DevfsFile** f, uint32_t flags = kOpenReadWrite);
  // Reads up to n bytes at offset: the bytes, or "<errno -N>".
  std::string Read(DevfsFile* f, size_t n, uint64_t off = 0);
  int64_t Write(DevfsFile* f, const std::string& bytes, uint64_t off = 0);
  bool Exists(const std::string& path);

  // Log lines containing `needle`, in order.
  std::vector<std::string> LogWith(const std::string& needle);

  std::unique_ptr<hosted::System> sys;
  std::string last_error;
  Scratch scratch;
};

}  // namespace mk::test
