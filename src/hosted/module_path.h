// ModulePath: the ModuleSource of a hosted kernel, a list of directories
// (like FreeBSD's kern.module_path). A relative path is looked up in each
// directory in turn; an absolute one is read as it is. The hints index is
// each directory's modkit.hints, concatenated under one header; its entries'
// relative paths are read back through the same search, first directory
// first (as a module path is searched in order).
#pragma once

#include <string>
#include <vector>

#include "platform/module_source.h"

namespace mk::hosted {

class ModulePath final : public ModuleSource {
 public:
  explicit ModulePath(std::vector<std::string> dirs) : dirs_(std::move(dirs)) {}

  Result<Buffer> read(const char* path) override;
  void release(Buffer& b) override;
  Result<Buffer> hints() override;

  const std::vector<std::string>& dirs() const { return dirs_; }

 private:
  std::vector<std::string> dirs_;
};

// Reads a whole file; false with a message on failure.
bool read_whole_file(const std::string& path, std::vector<uint8_t>* out, std::string* err);

}  // namespace mk::hosted
