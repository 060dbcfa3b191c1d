#include "object_info.h"

#include <elf.h>
#include <stdio.h>
#include <string.h>

namespace bench {
namespace {

bool in_range(uint64_t off, uint64_t len, uint64_t size) {
  return off <= size && len <= size - off;
}

}  // namespace

std::string tag_name(uint32_t id, const char* what) {
  char buf[32];
  snprintf(buf, sizeof buf, "m%08x_", id);
  return std::string(buf) + what;
}

bool parse_object(const std::vector<uint8_t>& bytes, ObjectInfo* out, std::string* err) {
  *out = ObjectInfo{};
  Elf64_Ehdr eh;
  if (bytes.size() < sizeof eh) return *err = "object too small", false;
  memcpy(&eh, bytes.data(), sizeof eh);
  if (memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0 || eh.e_ident[EI_CLASS] != ELFCLASS64 ||
      eh.e_ident[EI_DATA] != ELFDATA2LSB || eh.e_type != ET_REL)
    return *err = "not an ELF64 little-endian relocatable object", false;
  if (eh.e_shentsize != sizeof(Elf64_Shdr) ||
      !in_range(eh.e_shoff, uint64_t{eh.e_shnum} * sizeof(Elf64_Shdr), bytes.size()))
    return *err = "bad section header table", false;
  std::vector<Elf64_Shdr> sh(eh.e_shnum);
  memcpy(sh.data(), bytes.data() + eh.e_shoff, sh.size() * sizeof(Elf64_Shdr));
  for (const Elf64_Shdr& s : sh) {
    SectionInfo si{s.sh_offset, s.sh_size, s.sh_addralign ? s.sh_addralign : 1,
                   s.sh_flags,  s.sh_type, s.sh_info,
                   s.sh_entsize};
    if (s.sh_type != SHT_NOBITS && s.sh_type != SHT_NULL &&
        !in_range(s.sh_offset, s.sh_size, bytes.size()))
      return *err = "section outside the file", false;
    out->sections.push_back(si);
    if (s.sh_flags & SHF_ALLOC) {
      out->alloc_bytes += s.sh_size;
      if (s.sh_flags & SHF_EXECINSTR) out->text_bytes += s.sh_size;
    }
  }
  for (const Elf64_Shdr& s : sh) {
    if (s.sh_type == SHT_RELA && s.sh_info < sh.size() && (sh[s.sh_info].sh_flags & SHF_ALLOC))
      out->relocations += s.sh_size / sizeof(Elf64_Rela);
    if (s.sh_type != SHT_SYMTAB || s.sh_link >= sh.size()) continue;
    const Elf64_Shdr& str = sh[s.sh_link];
    size_t nsym = s.sh_size / sizeof(Elf64_Sym);
    for (size_t i = 1; i < nsym; ++i) {
      Elf64_Sym sym;
      memcpy(&sym, bytes.data() + s.sh_offset + i * sizeof sym, sizeof sym);
      if (sym.st_shndx == SHN_UNDEF && sym.st_name != 0) ++out->imports;
    }
    // Tags: every occurrence of kTag in the string table.
    const char* base = reinterpret_cast<const char*>(bytes.data() + str.sh_offset);
    size_t len = strlen(kTag);
    for (size_t at = 0; at + len <= str.sh_size; ++at)
      if (memcmp(base + at, kTag, len) == 0) out->tag_offsets.push_back(str.sh_offset + at + 1);
  }
  return true;
}

void patch_tag(std::vector<uint8_t>& bytes, const ObjectInfo& info, uint32_t id) {
  char digits[kTagDigits + 1];
  snprintf(digits, sizeof digits, "%08x", id);
  for (size_t off : info.tag_offsets)
    memcpy(bytes.data() + off, digits, kTagDigits);
}

}  // namespace bench
