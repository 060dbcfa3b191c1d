// elf::validate(): the entry point, the ELF header and section-table checks,
// and the helpers every phase shares. See validate_internal.h for the phases.
#include "elf/validate.h"

#include "elf/validate_internal.h"
#include "support/format.h"

namespace mk::elf {
namespace detail {

Where section_where(const Context& c, uint32_t index) {
  Where w;
  const char* name =
      c.names_ready && index < c.obj.sections.size() ? c.obj.sections[index].name : "";
  if (name[0] == '\0') {
    format(w.text, sizeof w.text, "section %u", index);
  } else {
    format(w.text, sizeof w.text, "section %u (%.*s)", index, 128, name);
  }
  return w;
}

Where symbol_where(const Context& c, uint32_t index) {
  Where w;
  const char* name = index < c.obj.symbols.size() ? c.obj.symbols[index].name : "";
  if (name[0] == '\0') {
    format(w.text, sizeof w.text, "symbol %u", index);
  } else {
    format(w.text, sizeof w.text, "symbol %u (%.*s)", index, 128, name);
  }
  return w;
}

TypeName section_type_name(uint32_t type) {
  const char* known = nullptr;
  switch (type) {
    case SHT_NULL:
      known = "SHT_NULL";
      break;
    case SHT_PROGBITS:
      known = "SHT_PROGBITS";
      break;
    case SHT_SYMTAB:
      known = "SHT_SYMTAB";
      break;
    case SHT_STRTAB:
      known = "SHT_STRTAB";
      break;
    case SHT_RELA:
      known = "SHT_RELA";
      break;
    case SHT_HASH:
      known = "SHT_HASH";
      break;
    case SHT_DYNAMIC:
      known = "SHT_DYNAMIC";
      break;
    case SHT_NOTE:
      known = "SHT_NOTE";
      break;
    case SHT_NOBITS:
      known = "SHT_NOBITS";
      break;
    case SHT_REL:
      known = "SHT_REL";
      break;
    case SHT_DYNSYM:
      known = "SHT_DYNSYM";
      break;
    case SHT_INIT_ARRAY:
      known = "SHT_INIT_ARRAY";
      break;
    case SHT_FINI_ARRAY:
      known = "SHT_FINI_ARRAY";
      break;
    case SHT_PREINIT_ARRAY:
      known = "SHT_PREINIT_ARRAY";
      break;
    case SHT_GROUP:
      known = "SHT_GROUP";
      break;
    case SHT_SYMTAB_SHNDX:
      known = "SHT_SYMTAB_SHNDX";
      break;
    default:
      break;
  }
  TypeName t;
  if (known != nullptr) {
    format(t.text, sizeof t.text, "%s", known);
  } else {
    format(t.text, sizeof t.text, "%#x", type);
  }
  return t;
}

const char* string_at(ByteView strtab, uint64_t off) {
  if (off >= strtab.size()) return nullptr;
  // The table's last byte is NUL, so the string ends inside it.
  return reinterpret_cast<const char*>(strtab.data() + off);
}

Result<void> add_image_size(Context& c, uint64_t size) {
  uint64_t total = 0;
  if (add_overflow(c.image_size, size, &total) || total > kMaxImageSize) {
    if (total < c.image_size) total = UINT64_MAX;
    return Error(Errc::kUnsupported,
                 "image: allocated sections and common symbols total %#lx bytes, more than the "
                 "%#lx-byte limit",
                 total, kMaxImageSize);
  }
  c.image_size = total;
  return Ok();
}

namespace {

// Field offsets inside the ELF header, for messages.
constexpr unsigned kOffType = 0x10, kOffMachine = 0x12, kOffVersion = 0x14, kOffShoff = 0x28,
                   kOffEhsize = 0x34, kOffPhnum = 0x38, kOffShentsize = 0x3a, kOffShstrndx = 0x3e;

Result<void> check_ident(const Ehdr& eh) {
  const uint8_t* id = eh.ident;
  if (id[0] != 0x7f || id[1] != 'E' || id[2] != 'L' || id[3] != 'F') {
    return Error(Errc::kMalformed,
                 "ELF header: bad magic %#x %#x %#x %#x at 0x0 (expected 0x7f 0x45 0x4c 0x46)",
                 id[0], id[1], id[2], id[3]);
  }
  if (id[EI_CLASS] == 1) {
    return Error(Errc::kUnsupported,
                 "ELF header: EI_CLASS 1 at 0x4 is ELFCLASS32; only ELFCLASS64 is supported");
  }
  if (id[EI_CLASS] != ELFCLASS64) {
    return Error(Errc::kMalformed, "ELF header: EI_CLASS %u at 0x4 is not a valid class",
                 id[EI_CLASS]);
  }
  if (id[EI_DATA] == 2) {
    return Error(Errc::kUnsupported,
                 "ELF header: EI_DATA 2 at 0x5 is big-endian; only little-endian is supported");
  }
  if (id[EI_DATA] != ELFDATA2LSB) {
    return Error(Errc::kMalformed, "ELF header: EI_DATA %u at 0x5 is not a valid byte order",
                 id[EI_DATA]);
  }
  if (id[EI_VERSION] != EV_CURRENT) {
    return Error(Errc::kMalformed, "ELF header: EI_VERSION %u at 0x6 is not EV_CURRENT (1)",
                 id[EI_VERSION]);
  }
  return Ok();
}

// Section 0 is all zero, except that extended numbering keeps the section
// count in sh_size (when e_shnum is 0) and the name-table index in sh_link
// (when e_shstrndx is SHN_XINDEX).
Result<void> check_null_section(const Ehdr& eh, const Shdr& s0) {
  struct Field {
    const char* name;
    uint64_t value;
  };
  const Field must_be_zero[] = {
      {"sh_name", s0.name},           {"sh_type", s0.type},       {"sh_flags", s0.flags},
      {"sh_addr", s0.addr},           {"sh_offset", s0.offset},   {"sh_info", s0.info},
      {"sh_addralign", s0.addralign}, {"sh_entsize", s0.entsize},
  };
  for (const Field& f : must_be_zero) {
    if (f.value != 0) {
      return Error(Errc::kMalformed, "section 0: %s is %#lx, not 0 (section 0 is the null section)",
                   f.name, f.value);
    }
  }
  if (eh.shnum != 0 && s0.size != 0) {
    return Error(Errc::kMalformed, "section 0: sh_size is %#lx but e_shnum (%u) is not 0", s0.size,
                 eh.shnum);
  }
  if (eh.shstrndx != SHN_XINDEX && s0.link != 0) {
    return Error(Errc::kMalformed, "section 0: sh_link is %u but e_shstrndx is not SHN_XINDEX",
                 s0.link);
  }
  return Ok();
}

}  // namespace

Result<void> validate_header(Context& c, MachineLookup machines) {
  const ByteView& b = c.bytes;
  const uint64_t size = b.size();
  Ehdr eh;
  if (!b.read(0, &eh)) {
    return Error(Errc::kMalformed,
                 "ELF header: file size %#lx is smaller than an ELF header (0x40)", size);
  }
  MK_TRY(check_ident(eh));
  if (eh.type != ET_REL) {
    // Executables, shared objects and cores are ELF, just not what modkit loads.
    bool other_kind = eh.type == ET_EXEC || eh.type == ET_DYN || eh.type == 4;
    return Error(other_kind ? Errc::kUnsupported : Errc::kMalformed,
                 "ELF header: e_type %u at %#x is not ET_REL (1)", eh.type, kOffType);
  }
  c.machine = machines != nullptr ? machines(eh.machine) : nullptr;
  if (c.machine == nullptr) {
    return Error(Errc::kUnsupported, "ELF header: e_machine %u at %#x is not a supported machine",
                 eh.machine, kOffMachine);
  }
  c.obj.machine = c.machine;
  if (eh.version != EV_CURRENT) {
    return Error(Errc::kMalformed, "ELF header: e_version %u at %#x is not EV_CURRENT (1)",
                 eh.version, kOffVersion);
  }
  if (eh.ehsize != sizeof(Ehdr)) {
    return Error(Errc::kMalformed, "ELF header: e_ehsize %#x at %#x is not 0x40", eh.ehsize,
                 kOffEhsize);
  }
  if (eh.phnum != 0) {
    // Program headers describe a loaded image; nothing in a relocatable
    // object may depend on them, so their presence means a confused producer.
    return Error(Errc::kMalformed,
                 "ELF header: e_phnum %u at %#x is not 0: a relocatable object has no program "
                 "headers",
                 eh.phnum, kOffPhnum);
  }
  if (eh.shentsize != sizeof(Shdr)) {
    return Error(Errc::kMalformed, "ELF header: e_shentsize %#x at %#x is not 0x40", eh.shentsize,
                 kOffShentsize);
  }

  // The section header table, with extended numbering resolved.
  if (eh.shoff == 0) {
    return Error(Errc::kMalformed, "ELF header: e_shoff at %#x is 0: no section header table",
                 kOffShoff);
  }
  if (!in_range(eh.shoff, 0, size)) {
    return Error(Errc::kMalformed, "section table: offset %#lx is past the end of file (size %#lx)",
                 eh.shoff, size);
  }
  uint64_t first = eh.shnum != 0 ? eh.shnum : 1;
  if (!array_in_range(eh.shoff, first, sizeof(Shdr), size)) {
    return Error(Errc::kMalformed,
                 "section table: offset %#lx + %lu x 0x40 bytes passes end of file (size %#lx)",
                 eh.shoff, first, size);
  }
  Shdr s0;
  if (!b.read(eh.shoff, &s0)) {
    return Error(Errc::kMalformed, "section table: cannot read section 0 at %#lx", eh.shoff);
  }
  uint64_t count = eh.shnum;
  if (count == 0) {
    count = s0.size;
    if (count == 0) {
      return Error(Errc::kMalformed,
                   "section table: zero sections (e_shnum is 0 and section 0 sh_size is 0)");
    }
    if (!array_in_range(eh.shoff, count, sizeof(Shdr), size)) {
      return Error(Errc::kMalformed,
                   "section table: offset %#lx + %lu x 0x40 bytes passes end of file (size %#lx)",
                   eh.shoff, count, size);
    }
    if (count > UINT32_MAX) {
      return Error(Errc::kUnsupported, "section table: %lu sections are more than modkit supports",
                   count);
    }
  }
  MK_TRY(check_null_section(eh, s0));
  c.shoff = eh.shoff;
  c.count = static_cast<uint32_t>(count);

  uint32_t shstrndx = eh.shstrndx;
  const char* source = "ELF header: e_shstrndx at 0x3e";
  if (eh.shstrndx == SHN_XINDEX) {
    shstrndx = s0.link;
    source = "section 0: sh_link (e_shstrndx is SHN_XINDEX)";
  } else if (eh.shstrndx >= SHN_LORESERVE) {
    return Error(Errc::kMalformed,
                 "ELF header: e_shstrndx at %#x is %#x, a reserved index other than SHN_XINDEX",
                 kOffShstrndx, eh.shstrndx);
  }
  if (shstrndx == 0) {
    return Error(Errc::kMalformed, "%s is 0: no section name table", source);
  }
  if (shstrndx >= c.count) {
    return Error(Errc::kMalformed, "%s is %u, past the section table (%u sections)", source,
                 shstrndx, c.count);
  }
  c.shstrndx = shstrndx;
  return Ok();
}

}  // namespace detail

Result<ValidatedObject> validate(ByteView bytes, MachineLookup machines, Allocator& alloc) {
  ValidatedObject obj(alloc);
  obj.bytes = bytes;
  detail::Context c{bytes, alloc, obj};
  MK_TRY(detail::validate_header(c, machines));
  MK_TRY(detail::validate_sections(c));
  MK_TRY(detail::validate_overlaps(c));
  MK_TRY(detail::validate_symbols(c));
  MK_TRY(detail::validate_groups(c));
  MK_TRY(detail::validate_relocs(c));
  obj.modinfo = c.modinfo;
  return Result<ValidatedObject>(static_cast<ValidatedObject&&>(obj));
}

}  // namespace mk::elf
