#include "symtab/elf_image.h"

#include "support/checked.h"
#include "support/memory.h"

namespace mk::symtab {

using namespace mk::elf;

namespace {

Error too_big() {
  return Error(Errc::kRange, "ELF image: larger than its 64-bit offsets can describe");
}

}  // namespace

// ---- StringTableWriter ----

StringTableWriter::StringTableWriter(Allocator& a) : bytes_(a) {}

// Vec grows by push() one element at a time; strings are appended in runs,
// so keep an amortised capacity of our own.
bool StringTableWriter::grow(size_t n) {
  if (n <= cap_) return true;
  size_t want = cap_ < 256 ? 256 : cap_;
  while (want < n) {
    if (want > SIZE_MAX / 2) return false;
    want *= 2;
  }
  if (!bytes_.reserve(want)) return false;
  cap_ = want;
  return true;
}

Result<uint32_t> StringTableWriter::add(const char* name, const char* prefix) {
  if (bytes_.empty()) {  // offset 0: the empty name
    if (!grow(1) || !bytes_.push('\0')) return Error(Errc::kNoMemory, "ELF image: out of memory");
  }
  size_t at = bytes_.size();
  size_t np = mk_strlen(prefix), nn = mk_strlen(name);
  if (np == 0 && nn == 0) return 0u;
  size_t end = at + np + nn + 1;
  if (end > UINT32_MAX) return Error(Errc::kRange, "ELF image: string table over 4 GiB");
  if (!grow(end) || !bytes_.resize(end)) return Error(Errc::kNoMemory, "ELF image: out of memory");
  mk_memcpy(bytes_.data() + at, prefix, np);
  mk_memcpy(bytes_.data() + at + np, name, nn + 1);
  return static_cast<uint32_t>(at);
}

// ---- ElfImageWriter ----

ElfImageWriter::ElfImageWriter(Allocator& a) : alloc_(a), names_(a), sections_(a), segments_(a) {
  // Section 0: the null section (its sh_size and sh_link carry extended
  // numbering when write() needs it).
  (void)sections_.push(Entry{Shdr{}, nullptr});  // capacity 4 on the first push; may fail
}

Result<uint32_t> ElfImageWriter::add(const ImageSection& s) {
  if (sections_.empty() && !sections_.push(Entry{Shdr{}, nullptr}))
    return Error(Errc::kNoMemory, "ELF image: out of memory");
  if (sections_.size() >= UINT32_MAX - 2)
    return Error(Errc::kRange, "ELF image: too many sections");
  uint32_t name = MK_TRY(names_.add(s.name, s.prefix));
  Shdr h{};
  h.name = name;
  h.type = s.type;
  h.flags = s.flags;
  h.addr = s.addr;
  h.size = s.size;
  h.link = s.link;
  h.info = s.info;
  h.addralign = s.align == 0 ? 1 : s.align;
  h.entsize = s.entsize;
  uint32_t index = static_cast<uint32_t>(sections_.size());
  if (!sections_.push(Entry{h, s.type == SHT_NOBITS ? nullptr : s.data}))
    return Error(Errc::kNoMemory, "ELF image: out of memory");
  return index;
}

Result<void> ElfImageWriter::add_segment(const ImageSegment& s) {
  uint64_t end = 0;
  if (s.align == 0 || (s.align & (s.align - 1)) != 0 || s.filesz > s.memsz ||
      add_overflow(s.vaddr, s.memsz, &end))
    return Error(Errc::kRange,
                 "ELF image: segment at %#lx (%#lx bytes, %#lx in the file, align %#lx) is not "
                 "a valid program header",
                 s.vaddr, s.memsz, s.filesz, s.align);
  if (segments_.size() >= 0xfffe) return Error(Errc::kRange, "ELF image: too many segments");
  if (!segments_.push(s)) return Error(Errc::kNoMemory, "ELF image: out of memory");
  return Ok();
}

Result<void> ElfImageWriter::write(uint16_t type, uint16_t machine, Vec<uint8_t>* out) {
  ImageSection shstrtab;
  shstrtab.name = ".shstrtab";
  shstrtab.type = SHT_STRTAB;
  uint32_t shstrndx = MK_TRY(add(shstrtab));
  // Its contents are final now (the last name is in): point at them.
  sections_[shstrndx].hdr.size = names_.size();
  sections_[shstrndx].data = names_.data();

  // Layout: header, program headers, segments, other contents, section
  // headers.
  uint64_t at = sizeof(Ehdr);
  const size_t nseg = segments_.size();
  if (nseg != 0) at += nseg * sizeof(Phdr);  // nseg < 0xffff: no overflow
  Vec<uint64_t> seg_offset(alloc_);
  if (!seg_offset.resize(nseg)) return Error(Errc::kNoMemory, "ELF image: out of memory");
  for (size_t k = 0; k < nseg; ++k) {
    const ImageSegment& g = segments_[k];
    uint64_t start = 0;
    if (!align_up(at, g.align, &start) || add_overflow(start, g.vaddr & (g.align - 1), &start) ||
        add_overflow(start, g.filesz, &at))
      return too_big();
    seg_offset[k] = start;
  }
  auto in_segment = [&](const Shdr& h, size_t* which) {
    if ((h.flags & SHF_ALLOC) == 0) return false;
    for (size_t k = 0; k < nseg; ++k) {
      const ImageSegment& g = segments_[k];
      if (h.addr >= g.vaddr && h.addr - g.vaddr <= g.memsz &&
          h.size <= g.memsz - (h.addr - g.vaddr)) {
        *which = k;
        return true;
      }
    }
    return false;
  };
  for (size_t i = 1; i < sections_.size(); ++i) {
    Shdr& h = sections_[i].hdr;
    size_t k = 0;
    if (in_segment(h, &k)) {
      const ImageSegment& g = segments_[k];
      uint64_t rel = h.addr - g.vaddr;
      if (h.type != SHT_NOBITS && (rel > g.filesz || h.size > g.filesz - rel))
        return Error(Errc::kRange,
                     "ELF image: section at %#lx (%#lx bytes) reaches past the file part of its "
                     "segment at %#lx (%#lx bytes)",
                     h.addr, h.size, g.vaddr, g.filesz);
      h.offset = seg_offset[k] + rel;
      sections_[i].data = nullptr;  // the segment's bytes are its contents
      continue;
    }
    // File alignment: enough to read the tables in place; addresses keep
    // their own alignment in sh_addralign.
    uint64_t al = h.addralign > 8 ? 8 : h.addralign;
    if (!align_up(at, al, &at)) return too_big();
    h.offset = at;
    if (h.type != SHT_NOBITS && add_overflow(at, h.size, &at)) return too_big();
  }
  uint64_t shoff = 0, total = 0, table = 0;
  if (!align_up(at, 8, &shoff) || mul_overflow<uint64_t>(sections_.size(), sizeof(Shdr), &table) ||
      add_overflow(shoff, table, &total) || total > SIZE_MAX)
    return too_big();

  size_t count = sections_.size();
  Shdr& null = sections_[0].hdr;
  null = Shdr{};
  Ehdr eh{};
  eh.ident[0] = 0x7f;
  eh.ident[1] = 'E';
  eh.ident[2] = 'L';
  eh.ident[3] = 'F';
  eh.ident[EI_CLASS] = ELFCLASS64;
  eh.ident[EI_DATA] = ELFDATA2LSB;
  eh.ident[EI_VERSION] = EV_CURRENT;
  eh.type = type;
  eh.machine = machine;
  eh.version = EV_CURRENT;
  eh.shoff = shoff;
  eh.ehsize = sizeof(Ehdr);
  if (nseg != 0) {
    eh.phoff = sizeof(Ehdr);
    eh.phentsize = sizeof(Phdr);
    eh.phnum = static_cast<uint16_t>(nseg);
  }
  eh.shentsize = sizeof(Shdr);
  if (count >= SHN_LORESERVE) {
    eh.shnum = 0;
    null.size = count;
  } else {
    eh.shnum = static_cast<uint16_t>(count);
  }
  if (shstrndx >= SHN_LORESERVE) {
    eh.shstrndx = SHN_XINDEX;
    null.link = shstrndx;
  } else {
    eh.shstrndx = static_cast<uint16_t>(shstrndx);
  }

  out->clear();
  if (!out->resize(static_cast<size_t>(total)))
    return Error(Errc::kNoMemory, "ELF image: out of memory for %lu bytes", total);
  uint8_t* p = out->data();
  mk_memcpy(p, &eh, sizeof eh);
  for (size_t k = 0; k < nseg; ++k) {
    const ImageSegment& g = segments_[k];
    Phdr ph{};
    ph.type = g.type;
    ph.flags = g.flags;
    ph.offset = seg_offset[k];
    ph.vaddr = g.vaddr;
    ph.paddr = g.vaddr;
    ph.filesz = g.filesz;
    ph.memsz = g.memsz;
    ph.align = g.align;
    mk_memcpy(p + sizeof(Ehdr) + k * sizeof(Phdr), &ph, sizeof ph);
    if (g.filesz != 0 && g.data != nullptr) mk_memcpy(p + seg_offset[k], g.data, g.filesz);
  }
  for (size_t i = 1; i < count; ++i) {
    const Entry& e = sections_[i];
    if (e.hdr.type != SHT_NOBITS && e.hdr.size != 0 && e.data != nullptr)
      mk_memcpy(p + e.hdr.offset, e.data, e.hdr.size);
  }
  for (size_t i = 0; i < count; ++i)
    mk_memcpy(p + shoff + i * sizeof(Shdr), &sections_[i].hdr, sizeof(Shdr));
  return Ok();
}

// ---- SymbolTableWriter ----

SymbolTableWriter::SymbolTableWriter(Allocator& a) : names_(a), pending_(a), table_(a), shndx_(a) {}

bool SymbolTableWriter::reserve(size_t n, size_t name_bytes) {
  return pending_.reserve(pending_.size() + n) && names_.grow(names_.size() + 1 + name_bytes);
}

Result<void> SymbolTableWriter::add(const char* name, uint64_t value, uint64_t size, uint8_t type,
                                    uint8_t bind, uint8_t visibility, uint32_t section) {
  uint32_t n = MK_TRY(names_.add(name));
  Pending p{n, st_info(bind, type), static_cast<uint8_t>(visibility & 3), section, value, size};
  if (!pending_.push(p)) return Error(Errc::kNoMemory, "ELF image: out of memory for symbols");
  locals_ += bind == STB_LOCAL;
  return Ok();
}

Result<void> SymbolTableWriter::emit(ElfImageWriter& image) {
  size_t n = 1 + pending_.size();
  if (n > UINT32_MAX) return Error(Errc::kRange, "ELF image: too many symbols");
  table_.clear();
  shndx_.clear();
  if (!table_.reserve(n)) return Error(Errc::kNoMemory, "ELF image: out of memory for symbols");
  (void)table_.push(Sym{});
  bool extended = false;
  // Locals first (the gABI's rule), then the others, each in the order added.
  auto in_group = [](const Pending& p, int group) {
    return (st_bind(p.info) == STB_LOCAL) == (group == 0);
  };
  for (int group = 0; group < 2; ++group) {
    for (const Pending& p : pending_) {
      if (!in_group(p, group)) continue;
      Sym s{};
      s.name = p.name;
      s.info = p.info;
      s.other = p.other;
      s.value = p.value;
      s.size = p.size;
      if (p.section == kAbsolute) {
        s.shndx = SHN_ABS;
      } else if (p.section >= SHN_LORESERVE) {
        s.shndx = SHN_XINDEX;
        extended = true;
      } else {
        s.shndx = static_cast<uint16_t>(p.section);
      }
      (void)table_.push(s);
    }
  }
  if (extended) {
    if (!shndx_.resize(n)) return Error(Errc::kNoMemory, "ELF image: out of memory for symbols");
    size_t i = 1;
    for (int group = 0; group < 2; ++group)
      for (const Pending& p : pending_) {
        if (!in_group(p, group)) continue;
        shndx_[i++] = p.section != kAbsolute && p.section >= SHN_LORESERVE ? p.section : 0;
      }
  }

  ImageSection strtab;
  strtab.name = ".strtab";
  strtab.type = SHT_STRTAB;
  if (names_.size() == 0) (void)MK_TRY(names_.add(""));  // "" at offset 0 even with no names
  strtab.data = names_.data();
  strtab.size = names_.size();
  uint32_t strndx = MK_TRY(image.add(strtab));

  ImageSection symtab;
  symtab.name = ".symtab";
  symtab.type = SHT_SYMTAB;
  symtab.data = reinterpret_cast<const uint8_t*>(table_.begin());
  symtab.size = n * sizeof(Sym);
  symtab.link = strndx;
  symtab.info = static_cast<uint32_t>(1 + locals_);
  symtab.align = 8;
  symtab.entsize = sizeof(Sym);
  uint32_t symndx = MK_TRY(image.add(symtab));

  if (extended) {
    ImageSection x;
    x.name = ".symtab_shndx";
    x.type = SHT_SYMTAB_SHNDX;
    x.data = reinterpret_cast<const uint8_t*>(shndx_.begin());
    x.size = n * sizeof(uint32_t);
    x.link = symndx;
    x.align = 4;
    x.entsize = sizeof(uint32_t);
    (void)MK_TRY(image.add(x));
  }
  return Ok();
}

}  // namespace mk::symtab
