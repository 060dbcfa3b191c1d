// The copy-and-write floor (issue 8): the least work any loader of a
// relocatable object does, and nothing else — copy each loaded section into
// place (zero .bss), then read each relocation and store one 4- or 8-byte value
// at its offset. No symbol lookup, no validation, no bookkeeping. Measured
// into memory already touched and into fresh pages (a new mapping each time).
#pragma once

#include <stddef.h>
#include <stdint.h>

#include <vector>

#include "object_info.h"

namespace bench {

class CopyFloor {
 public:
  CopyFloor(const std::vector<uint8_t>& obj, const ObjectInfo& info);

  size_t image_size() const { return image_size_; }
  // Copies and relocates the object into dst (image_size() bytes).
  void run(uint8_t* dst) const;

  // One timed run each, in nanoseconds. `warm` is image_size() bytes already touched.
  double time_warm(uint8_t* warm) const;
  double time_fresh() const;  // mmap of fresh pages included; munmap not

 private:
  struct Piece {
    uint64_t src;  // file offset, or UINT64_MAX for NOBITS
    uint64_t dst;
    uint64_t size;
  };
  struct Relocs {
    uint64_t src;  // file offset of the Elf64_Rela array
    uint64_t count;
    uint64_t dst;  // where the target section lands
  };
  const std::vector<uint8_t>& obj_;
  std::vector<Piece> pieces_;
  std::vector<Relocs> relocs_;
  size_t image_size_ = 0;
};

}  // namespace bench
