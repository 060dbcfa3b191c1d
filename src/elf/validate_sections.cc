// The sections phase: read every section header, resolve names, check each
// section on its own, then check that no two file ranges overlap.
#include "elf/validate_internal.h"

namespace mk::elf::detail {
namespace {

constexpr const char kModinfoName[] = "modkit_modinfo";

// Types modkit loads into memory (SHF_ALLOC).
bool loadable_type(uint32_t type, uint16_t machine) {
  switch (type) {
    case SHT_PROGBITS:
    case SHT_NOBITS:
    case SHT_NOTE:
    case SHT_INIT_ARRAY:
    case SHT_FINI_ARRAY:
    case SHT_PREINIT_ARRAY:
      return true;
    case SHT_X86_64_UNWIND:
      return machine == EM_X86_64;
    default:
      return false;
  }
}

// Types that may appear, not loaded, in a relocatable object. OS- and
// processor-specific types (.llvm_addrsig, attributes, ...) are metadata the
// linker never reads; the generic types not listed (dynamic linking, hash
// tables) have no meaning in a relocatable object.
bool unloaded_type(uint32_t type) {
  switch (type) {
    case SHT_NULL:
    case SHT_PROGBITS:
    case SHT_SYMTAB:
    case SHT_STRTAB:
    case SHT_RELA:
    case SHT_NOTE:
    case SHT_NOBITS:
    case SHT_REL:
    case SHT_INIT_ARRAY:
    case SHT_FINI_ARRAY:
    case SHT_PREINIT_ARRAY:
    case SHT_GROUP:
    case SHT_SYMTAB_SHNDX:
      return true;
    default:
      return type >= 0x60000000;  // SHT_LOOS and above
  }
}

// Stops at the first difference. (Not str_eq: that compares strlen(a) + 1
// bytes with memcmp, which may read past the end of a shorter b.)
bool same_string(const char* a, const char* b) {
  while (*a != '\0' && *a == *b) {
    ++a;
    ++b;
  }
  return *a == *b;
}

bool is_array(uint32_t type) {
  return type == SHT_INIT_ARRAY || type == SHT_FINI_ARRAY || type == SHT_PREINIT_ARRAY;
}

// Sets s.data to the section's bytes; NOBITS and null sections have none.
Result<void> check_file_range(Context& c, uint32_t i) {
  Section& s = c.obj.sections[i];
  if (s.type == SHT_NOBITS || s.type == SHT_NULL) {
    s.data = ByteView();
    return Ok();
  }
  if (!c.bytes.slice(s.offset, s.size, &s.data)) {
    return Error(Errc::kMalformed, "%s: offset %#lx + size %#lx passes end of file (size %#lx)",
                 section_where(c, i).text, s.offset, s.size, static_cast<uint64_t>(c.bytes.size()));
  }
  return Ok();
}

Result<void> check_string_table(Context& c, uint32_t i) {
  const Section& s = c.obj.sections[i];
  uint8_t first = 1, last = 1;
  if (s.data.empty()) {
    return Error(Errc::kMalformed, "%s: string table is empty", section_where(c, i).text);
  }
  if (!s.data.read(0, &first) || first != 0) {
    return Error(Errc::kMalformed, "%s: string table does not start with a NUL byte",
                 section_where(c, i).text);
  }
  if (!s.data.read(s.data.size() - 1, &last) || last != 0) {
    return Error(Errc::kMalformed,
                 "%s: string table does not end with a NUL byte (last byte at %#lx)",
                 section_where(c, i).text, s.offset + s.size - 1);
  }
  return Ok();
}

Result<void> check_section(Context& c, uint32_t i) {
  Section& s = c.obj.sections[i];
  // Messages build their "section N (name)" only on the error path: this
  // runs once per section, for up to millions of sections.
#define W section_where(c, i).text
  if (s.alloc() ? !loadable_type(s.type, c.machine->machine) : !unloaded_type(s.type)) {
    return Error(Errc::kUnsupported, "%s: type %s is not supported in %s", W,
                 section_type_name(s.type).text,
                 s.alloc() ? "an allocated section" : "a relocatable object");
  }
  if ((s.flags & SHF_TLS) != 0) {
    return Error(Errc::kUnsupported, "%s: thread-local storage (SHF_TLS) is not supported", W);
  }
  if ((s.flags & SHF_WRITE) != 0 && (s.flags & SHF_EXECINSTR) != 0) {
    return Error(Errc::kUnsupported,
                 "%s: both writable and executable (SHF_WRITE|SHF_EXECINSTR); modkit never maps "
                 "a page both",
                 W);
  }
  if (s.alloc() && (s.flags & SHF_COMPRESSED) != 0) {
    return Error(Errc::kMalformed, "%s: compressed (SHF_COMPRESSED) and allocated (SHF_ALLOC)", W);
  }
  MK_TRY(check_file_range(c, i));
  if (s.size > kMaxSectionSize) {
    return Error(Errc::kUnsupported, "%s: size %#lx is more than the %#lx-byte section limit", W,
                 s.size, kMaxSectionSize);
  }
  if (s.align == 0) s.align = 1;  // gABI: 0 and 1 both mean no alignment
  if (!is_pow2(s.align)) {
    return Error(Errc::kMalformed, "%s: alignment %#lx is not a power of two", W, s.align);
  }
  if (s.align > kMaxAlign) {
    return Error(Errc::kUnsupported, "%s: alignment %#lx is more than the maximum %#lx", W, s.align,
                 kMaxAlign);
  }
  if ((s.flags & SHF_LINK_ORDER) != 0 && (s.link == 0 || s.link >= c.count)) {
    return Error(Errc::kMalformed,
                 "%s: SHF_LINK_ORDER but sh_link %u is not a section (%u sections)", W, s.link,
                 c.count);
  }
  if (is_array(s.type)) {
    // Entries are 8-byte pointers. clang writes entsize 0 ("no fixed-size
    // entries" in the gABI), gas writes 8; anything else is wrong.
    if (s.entsize != 8 && s.entsize != 0) {
      return Error(Errc::kMalformed, "%s: entry size %#lx is not 8", W, s.entsize);
    }
    if (s.size % 8 != 0) {
      return Error(Errc::kMalformed, "%s: size %#lx is not a multiple of 8", W, s.size);
    }
  }
  if (s.type == SHT_STRTAB) MK_TRY(check_string_table(c, i));
  if (s.type == SHT_SYMTAB) {
    if (c.obj.symtab != 0) {
      return Error(Errc::kMalformed, "%s: a second symbol table (the first is %s)", W,
                   section_where(c, c.obj.symtab).text);
    }
    c.obj.symtab = i;
  }
  if (s.type == SHT_SYMTAB_SHNDX) {
    if (c.shndx_table != 0) {
      return Error(Errc::kMalformed, "%s: a second SHT_SYMTAB_SHNDX section (the first is %s)", W,
                   section_where(c, c.shndx_table).text);
    }
    c.shndx_table = i;
  }
  if (same_string(s.name, kModinfoName)) {
    if (c.modinfo != 0) {
      return Error(Errc::kMalformed, "%s: a second module metadata section (the first is %s)", W,
                   section_where(c, c.modinfo).text);
    }
    c.modinfo = i;
  }
  if (s.alloc()) MK_TRY(add_image_size(c, s.size));
  return Ok();
#undef W
}

}  // namespace

Result<void> validate_sections(Context& c) {
  Vec<Section>& secs = c.obj.sections;
  if (!secs.reserve(c.count)) {
    return Error(Errc::kNoMemory, "section table: out of memory for %u sections", c.count);
  }
  // The header phase proved the whole table lies inside the file. Each
  // field is read on its own, straight into registers (a whole-header copy
  // through the stack stalls store forwarding), and each Section built
  // whole into the reserved room (resize() would first write a default
  // one, each with a string store, to be overwritten).
  const uint8_t* const table = c.bytes.data() + c.shoff;
  for (uint32_t i = 0; i < c.count; ++i) {
    const uint8_t* h = table + uint64_t{i} * sizeof(Shdr);
    uint32_t type, link, info;
    uint64_t flags, offset, size, addralign, entsize;
    mk_memcpy(&type, h + offsetof(Shdr, type), 4);
    mk_memcpy(&flags, h + offsetof(Shdr, flags), 8);
    mk_memcpy(&offset, h + offsetof(Shdr, offset), 8);
    mk_memcpy(&size, h + offsetof(Shdr, size), 8);
    mk_memcpy(&link, h + offsetof(Shdr, link), 4);
    mk_memcpy(&info, h + offsetof(Shdr, info), 4);
    mk_memcpy(&addralign, h + offsetof(Shdr, addralign), 8);
    mk_memcpy(&entsize, h + offsetof(Shdr, entsize), 8);
    // Cannot fail: reserved above.
    (void)secs.push(Section{.name = "",
                            .index = i,
                            .type = type,
                            .flags = flags,
                            .size = size,
                            .align = addralign,
                            .entsize = entsize,
                            .link = link,
                            .info = info,
                            .offset = offset,
                            .data = ByteView(),  // set by check_file_range()
                            .group = 0});
  }
  // Section 0 may carry the extended count and name-table index; as a
  // section it is empty.
  secs[0].size = 0;
  secs[0].link = 0;
  secs[0].align = 1;

  // Names: the section-name table first, checked before any name is read.
  if (secs[c.shstrndx].type != SHT_STRTAB) {
    return Error(Errc::kMalformed, "%s: the section name table has type %s, not SHT_STRTAB",
                 section_where(c, c.shstrndx).text, section_type_name(secs[c.shstrndx].type).text);
  }
  MK_TRY(check_file_range(c, c.shstrndx));
  MK_TRY(check_string_table(c, c.shstrndx));
  const ByteView names = secs[c.shstrndx].data;
  for (uint32_t i = 1; i < c.count; ++i) {
    uint32_t name_off;  // sh_name, all this pass reads of the header
    mk_memcpy(&name_off, table + uint64_t{i} * sizeof(Shdr) + offsetof(Shdr, name), 4);
    const char* name = string_at(names, name_off);
    if (name == nullptr) {
      return Error(Errc::kMalformed,
                   "section %u: name offset %#x passes end of the section name table (section %u, "
                   "size %#lx)",
                   i, name_off, c.shstrndx, static_cast<uint64_t>(names.size()));
    }
    secs[i].name = name;
  }
  c.names_ready = true;

  for (uint32_t i = 1; i < c.count; ++i)
    MK_TRY(check_section(c, i));
  if (c.obj.symtab == 0) {
    return Error(Errc::kMalformed, "section table: no symbol table (SHT_SYMTAB); modkit needs one");
  }
  return Ok();
}

// ---------------------------------------------------------------------------
// Overlaps: every non-empty file range (the ELF header, the section header
// table, each section with contents) sorted by start; then any overlap shows
// up between neighbours. O(n log n) with a heap sort over one Vec (an
// insertion sort for a few ranges): no recursion, no allocation per section.

namespace {

constexpr uint32_t kHeaderId = UINT32_MAX;
constexpr uint32_t kTableId = UINT32_MAX - 1;

struct Range {
  uint64_t begin;
  uint64_t end;
  uint32_t id;  // section index, kHeaderId or kTableId
};

bool before(const Range& a, const Range& b) {
  return a.begin != b.begin ? a.begin < b.begin : a.id < b.id;
}

void sift_down(Range* a, size_t root, size_t n) {
  for (;;) {
    size_t child = 2 * root + 1;
    if (child >= n) return;
    if (child + 1 < n && before(a[child], a[child + 1])) ++child;
    if (!before(a[root], a[child])) return;
    Range t = a[root];
    a[root] = a[child];
    a[child] = t;
    root = child;
  }
}

void heap_sort(Range* a, size_t n) {
  // A typical object has a dozen ranges, nearly in order (gcc writes the
  // .rela sections last): insertion sort is quicker there, and O(n^2) only
  // up to this size.
  if (n <= 32) {
    for (size_t i = 1; i < n; ++i) {
      Range t = a[i];
      size_t j = i;
      for (; j > 0 && before(t, a[j - 1]); --j)
        a[j] = a[j - 1];
      a[j] = t;
    }
    return;
  }
  for (size_t i = n / 2; i-- > 0;)
    sift_down(a, i, n);
  for (size_t end = n; end-- > 1;) {
    Range t = a[0];
    a[0] = a[end];
    a[end] = t;
    sift_down(a, 0, end);
  }
}

Where range_where(const Context& c, uint32_t id) {
  if (id == kHeaderId) return Where{"the ELF header"};
  if (id == kTableId) return Where{"the section header table"};
  return section_where(c, id);
}

}  // namespace

Result<void> validate_overlaps(Context& c) {
  Vec<Range> ranges(c.alloc);
  if (!ranges.reserve(static_cast<size_t>(c.count) + 2)) {
    return Error(Errc::kNoMemory, "section table: out of memory for %u file ranges", c.count);
  }
  // The header phase proved the header and the table lie inside the file. The
  // table goes last: that is where it usually is.
  bool ok = ranges.push({0, sizeof(Ehdr), kHeaderId});
  for (const Section& s : c.obj.sections) {
    if (s.data.empty()) continue;
    ok = ok && ranges.push({s.offset, s.offset + s.size, s.index});
  }
  ok = ok && ranges.push({c.shoff, c.shoff + uint64_t{c.count} * sizeof(Shdr), kTableId});
  if (!ok) return Error(Errc::kNoMemory, "section table: out of memory for file ranges");

  // Compilers and `ld -r` lay contents out in section order; sort only when not.
  bool sorted = true;
  for (size_t k = 1; k < ranges.size() && sorted; ++k)
    sorted = !before(ranges[k], ranges[k - 1]);
  if (!sorted) heap_sort(ranges.data(), ranges.size());
  for (size_t k = 1; k < ranges.size(); ++k) {
    Range a = ranges[k - 1];
    Range b = ranges[k];
    if (b.begin >= a.end) continue;
    // Name a section first: the higher-numbered one when both are sections.
    bool swap = (b.id >= kTableId && a.id < kTableId) ||
                (a.id < kTableId && b.id < kTableId && a.id > b.id) ||
                (a.id == kTableId && b.id == kHeaderId);
    if (swap) {
      Range t = a;
      a = b;
      b = t;
    }
    const char* subject = b.id == kTableId ? "section table" : nullptr;
    Where sw = section_where(c, b.id < kTableId ? b.id : 0);
    return Error(Errc::kMalformed, "%s: file range [%#lx, %#lx) overlaps %s [%#lx, %#lx)",
                 subject != nullptr ? subject : sw.text, b.begin, b.end, range_where(c, a.id).text,
                 a.begin, a.end);
  }
  return Ok();
}

}  // namespace mk::elf::detail
