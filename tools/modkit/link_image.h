// The two halves of an offline link (`modkit link`) around the core linker:
//
// FixedPlacer puts a file's class blocks one after the other from a fixed
// base address, in the linker's class order (text, read-only data, data,
// init-only text), each starting at a multiple of `align` (a page, so that a
// boot loader can protect each with its own permissions), into one
// zero-filled buffer that stands for the memory at [base, base + span). It
// refuses a placement outside the window the linker asks for (what the file
// reads PC-relatively or with absolute 32-bit relocations, its branch reach).
//
// write_linked_image() writes the linked file as an ELF image (ET_EXEC, the
// input's machine): every loaded section with its final address (sh_addr)
// and relocated contents, what the linker generated after each class's
// sections (branch stubs or veneers: .modkit.stubs; GOT slots:
// .modkit.got; COMMON symbols and __dso_handle: .modkit.common), every
// symbol of the file at its final value, and a PT_LOAD program header per
// non-empty class block (p_vaddr its final address, p_flags its
// permissions, p_align the placer's alignment) over the same bytes, so that
// a boot loader can load it from the program headers alone. The linker reserves generated
// content after the input sections of its class (link/layout.cc,
// relocate.cc); so each class's tail past its last section is exactly that.
#pragma once

#include <stdint.h>

#include <string>
#include <vector>

#include "elf/validated_object.h"
#include "link/linker.h"
#include "link/linker_file.h"

namespace modkit::tool {

class FixedPlacer final : public mk::link::Placer {
 public:
  FixedPlacer(uint64_t base, uint64_t align) : base_(base), align_(align) {}

  mk::Result<void> place(const uint64_t size[mk::link::kClassCount],
                         const uint64_t align[mk::link::kClassCount], const mk::link::Window& w,
                         mk::link::Block blocks[mk::link::kClassCount],
                         uintptr_t alias[mk::link::kClassCount]) override;

  uint64_t base() const { return base_; }
  uint64_t align() const { return align_; }
  // The bytes at [base, base + image().size()) as the linker wrote them.
  const std::vector<uint8_t>& image() const { return image_; }

 private:
  uint64_t base_;
  uint64_t align_;
  std::vector<uint8_t> image_;
};

// One output section, for `modkit link --json` and the tests.
struct PlacedSection {
  std::string name;
  uint64_t addr;
  uint64_t size;
  bool generated;  // made by the linker (.modkit.*), not an input section
};

// Writes `file` (linked from `objects` through `placer`) to *out as an ELF
// image; false with the reason in *err. *layout gets every output section.
bool write_linked_image(const mk::link::LinkerFile& file,
                        const std::vector<const mk::elf::ValidatedObject*>& objects,
                        const FixedPlacer& placer, std::vector<uint8_t>* out,
                        std::vector<PlacedSection>* layout, std::string* err);

}  // namespace modkit::tool
