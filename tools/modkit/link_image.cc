#include "link_image.h"

#include "elf/elf.h"
#include "hosted/malloc_allocator.h"
#include "object_file.h"
#include "symtab/elf_image.h"

namespace modkit::tool {

using namespace mk::elf;
using mk::link::Class;
using mk::link::kClassCount;

namespace {

// The sections the linker generates after each class's input sections.
const char* const kTailName[kClassCount] = {".modkit.stubs", ".modkit.got", ".modkit.common",
                                            ".modkit.init"};
const uint64_t kTailFlags[kClassCount] = {SHF_ALLOC | SHF_EXECINSTR, SHF_ALLOC,
                                          SHF_ALLOC | SHF_WRITE, SHF_ALLOC | SHF_EXECINSTR};
// Each class's memory permissions, as the kernel maps it (its PT_LOAD's p_flags).
const uint32_t kSegmentFlags[kClassCount] = {PF_R | PF_X, PF_R, PF_R | PF_W, PF_R | PF_X};

bool align_to(uint64_t v, uint64_t a, uint64_t* out) {
  if (v > UINT64_MAX - (a - 1)) return false;
  *out = (v + a - 1) & ~(a - 1);
  return true;
}

}  // namespace

mk::Result<void> FixedPlacer::place(const uint64_t size[kClassCount],
                                    const uint64_t align[kClassCount], const mk::link::Window& w,
                                    mk::link::Block blocks[kClassCount],
                                    uintptr_t alias[kClassCount]) {
  uint64_t at = base_, start[kClassCount];
  for (int c = 0; c < kClassCount; ++c) {
    uint64_t a = align[c] > align_ ? align[c] : align_;
    if (!align_to(at, a, &start[c]) || size[c] > UINT64_MAX - start[c])
      return mk::Error(mk::Errc::kRange, "the file (%#lx bytes of %s) does not fit above %#lx",
                       size[c], mk::link::class_name(static_cast<Class>(c)), base_);
    at = start[c] + size[c];
  }
  for (int c = 0; c < kClassCount; ++c) {
    if (size[c] != 0 && !w.contains(start[c], size[c]))
      return mk::Error(mk::Errc::kRange,
                       "the file cannot lie at %#lx: its %s (%#lx bytes at %#lx) must lie within "
                       "[%#lx, %#lx), what its 32-bit relocations and its calls to itself can "
                       "reach; choose a --base in that range",
                       base_, mk::link::class_name(static_cast<Class>(c)), size[c], start[c], w.lo,
                       w.hi);
  }
  image_.assign(at - base_, 0);
  for (int c = 0; c < kClassCount; ++c) {
    blocks[c].base = start[c];
    alias[c] = reinterpret_cast<uintptr_t>(image_.data()) + (start[c] - base_);
    blocks[c].size = static_cast<uint32_t>(size[c]);
    blocks[c].chunk = mk::link::kNoChunk;
  }
  return mk::Ok();
}

bool write_linked_image(const mk::link::LinkerFile& file,
                        const std::vector<const ValidatedObject*>& objects,
                        const FixedPlacer& placer, std::vector<uint8_t>* out,
                        std::vector<PlacedSection>* layout, std::string* err) {
  mk::hosted::MallocAllocator alloc;
  mk::symtab::ElfImageWriter image(alloc);
  const uint8_t* bytes = placer.image().data();
  auto at = [&](uint64_t addr) { return bytes + (addr - placer.base()); };
  auto fail = [&](const mk::Error& e) {
    *err = std::string("writing the image: ") + e.message();
    return false;
  };

  // Input sections, in the file's order; where each class's sections end.
  std::vector<uint32_t> index_of(file.sections().size());
  uint64_t tail[kClassCount], file_end[kClassCount];
  for (int c = 0; c < kClassCount; ++c)
    tail[c] = file_end[c] = file.blocks[c].base;
  for (size_t k = 0; k < file.sections().size(); ++k) {
    const mk::link::FileSection& s = file.sections()[k];
    const Section& in = objects[s.object]->sections[s.index];
    mk::symtab::ImageSection out_s;
    out_s.name = s.name;
    out_s.type = in.type;
    // Groups and link-order dependencies are input-object structure; the
    // output is one linked whole.
    out_s.flags = s.flags & ~(SHF_GROUP | SHF_LINK_ORDER);
    out_s.addr = s.addr;
    out_s.size = s.size;
    out_s.data = in.nobits() || s.size == 0 ? nullptr : at(s.addr);
    out_s.align = in.align;
    out_s.entsize = in.entsize;
    auto idx = image.add(out_s);
    if (!idx) return fail(idx.error());
    index_of[k] = idx.value();
    // .eh_frame carries the 4-byte terminator the linker appends.
    uint64_t end = s.addr + s.size + (mk::str_eq(s.name, ".eh_frame") ? 4 : 0);
    int c = static_cast<int>(s.cls);
    if (end > tail[c]) tail[c] = end;
    if (!in.nobits() && end > file_end[c]) file_end[c] = end;
    layout->push_back({s.name, s.addr, s.size, false});
  }

  // What the linker generated: each class's tail past its last section.
  uint32_t tail_index[kClassCount] = {};
  for (int c = 0; c < kClassCount; ++c) {
    const mk::link::Block& b = file.blocks[c];
    // Stubs and GOT slots are 8-aligned (or more): the padding in front of
    // them is not listed. COMMON symbols may have any alignment.
    if (c != static_cast<int>(Class::kData) && !align_to(tail[c], 8, &tail[c])) continue;
    if (b.size == 0 || tail[c] >= b.base + b.size) continue;
    mk::symtab::ImageSection g;
    g.name = kTailName[c];
    g.flags = kTailFlags[c];
    g.addr = tail[c];
    g.size = b.base + b.size - tail[c];
    g.data = at(tail[c]);
    g.align = 8;
    auto idx = image.add(g);
    if (!idx) return fail(idx.error());
    tail_index[c] = idx.value();
    file_end[c] = b.base + b.size;
    layout->push_back({g.name, g.addr, g.size, true});
  }

  // One PT_LOAD per class block, in address order: what a boot loader copies
  // (p_filesz bytes, then zeros up to p_memsz: .bss) and how it protects it.
  // Text and init-only text are both R+X but separate: init text can be
  // released once the file's init has run.
  for (int c = 0; c < kClassCount; ++c) {
    const mk::link::Block& b = file.blocks[c];
    if (b.size == 0) continue;
    mk::symtab::ImageSegment g;
    g.flags = kSegmentFlags[c];
    g.vaddr = b.base;
    g.data = at(b.base);
    g.filesz = file_end[c] - b.base;
    g.memsz = b.size;
    g.align = placer.align();
    if (auto r = image.add_segment(g); !r) return fail(r.error());
  }

  mk::symtab::SymbolTableWriter symbols(alloc);
  for (const mk::link::FileSymbol& s : file.symbols()) {
    uint32_t section = mk::symtab::kAbsolute;
    if (s.section != UINT32_MAX) {
      section = index_of[s.section];
    } else {
      // COMMON symbols live in the data class's generated tail.
      const mk::link::Block& d = file.blocks[static_cast<int>(Class::kData)];
      int c = static_cast<int>(Class::kData);
      if (tail_index[c] != 0 && s.addr >= tail[c] && s.addr < d.base + d.size)
        section = tail_index[c];
    }
    auto r = symbols.add(s.name, s.addr, s.size, s.type, s.bind, s.visibility, section);
    if (!r) return fail(r.error());
  }
  if (file.dso_handle() != 0) {
    // The file's own __dso_handle (its C++ destructors are registered
    // against it), which the linker defines without listing it.
    int c = static_cast<int>(Class::kData);
    auto r = symbols.add("__dso_handle", file.dso_handle(), 8, STT_OBJECT, STB_LOCAL, STV_HIDDEN,
                         tail_index[c] != 0 ? tail_index[c] : mk::symtab::kAbsolute);
    if (!r) return fail(r.error());
  }
  if (auto r = symbols.emit(image); !r) return fail(r.error());

  mk::Vec<uint8_t> written(alloc);
  uint16_t machine = objects.front()->machine->machine;
  if (auto r = image.write(ET_EXEC, machine, &written); !r) return fail(r.error());
  out->assign(written.begin(), written.end());
  return true;
}

}  // namespace modkit::tool
