#include "util/elf_builder.h"

#include <stdexcept>

namespace mk::test {

using namespace mk::elf;

// --- Image -----------------------------------------------------------------

void Image::edit_ehdr(const std::function<void(Ehdr&)>& f) {
  Ehdr e = ehdr();
  f(e);
  patch(0, e);
}

void Image::edit_shdr(uint32_t i, const std::function<void(Shdr&)>& f) {
  Shdr s = shdr(i);
  f(s);
  patch(shdr_offset(i), s);
}

uint64_t Image::sym_offset(uint32_t i) const {
  return shdr(symtab).offset + uint64_t{i} * sizeof(Sym);
}

void Image::edit_sym(uint32_t i, const std::function<void(Sym&)>& f) {
  Sym s = sym(i);
  f(s);
  patch(sym_offset(i), s);
}

uint64_t Image::reloc_offset(uint32_t sec, uint64_t k) const {
  Shdr s = shdr(sec);
  return s.offset + k * (s.type == SHT_RELA ? sizeof(Rela) : sizeof(Rel));
}

void Image::edit_rela(uint32_t sec, uint64_t k, const std::function<void(Rela&)>& f) {
  Rela r = peek<Rela>(reloc_offset(sec, k));
  f(r);
  patch(reloc_offset(sec, k), r);
}

void Image::edit_rel(uint32_t sec, uint64_t k, const std::function<void(Rel&)>& f) {
  Rel r = peek<Rel>(reloc_offset(sec, k));
  f(r);
  patch(reloc_offset(sec, k), r);
}

uint64_t Image::append(const std::vector<uint8_t>& data, uint64_t align) {
  if (align == 0) align = 1;
  while (bytes.size() % align != 0)
    bytes.push_back(0);
  uint64_t off = bytes.size();
  bytes.insert(bytes.end(), data.begin(), data.end());
  return off;
}

// --- ElfBuilder ------------------------------------------------------------

uint32_t ElfBuilder::add_section(const std::string& name, uint32_t type, uint64_t flags,
                                 std::vector<uint8_t> data, uint64_t align, uint32_t link,
                                 uint32_t info, uint64_t entsize) {
  SectionSpec s;
  s.name = name;
  s.type = type;
  s.flags = flags;
  s.data = std::move(data);
  s.align = align;
  s.link = link;
  s.info = info;
  s.entsize = entsize;
  sections_.push_back(std::move(s));
  return static_cast<uint32_t>(sections_.size() - 1);
}

uint32_t ElfBuilder::add_nobits(const std::string& name, uint64_t flags, uint64_t size,
                                uint64_t align) {
  uint32_t i = add_section(name, SHT_NOBITS, flags, {}, align);
  sections_[i].nobits_size = size;
  return i;
}

uint32_t ElfBuilder::add_text(const std::string& name, size_t size) {
  return add_section(name, SHT_PROGBITS, SHF_ALLOC | SHF_EXECINSTR,
                     std::vector<uint8_t>(size, 0x90), 16);
}

uint32_t ElfBuilder::add_data(const std::string& name, size_t size) {
  return add_section(name, SHT_PROGBITS, SHF_ALLOC | SHF_WRITE, std::vector<uint8_t>(size, 0), 8);
}

uint32_t ElfBuilder::add_symbol(const std::string& name, uint32_t shndx, uint64_t value,
                                uint64_t size, uint8_t bind, uint8_t type, uint8_t other) {
  symbols_.push_back(SymbolSpec{name, shndx, value, size, bind, type, other});
  return static_cast<uint32_t>(symbols_.size());  // index 0 is the null symbol
}

uint32_t ElfBuilder::add_reloc_section(uint32_t target, bool rela) {
  std::string name = (rela ? ".rela" : ".rel") + sections_.at(target).name;
  uint32_t i = add_section(name, rela ? SHT_RELA : SHT_REL, SHF_INFO_LINK, {}, 8, 0, target,
                           rela ? sizeof(Rela) : sizeof(Rel));
  sections_[i].link_symtab = true;
  return i;
}

uint32_t ElfBuilder::add_rela_section(uint32_t target) {
  return add_reloc_section(target, true);
}
uint32_t ElfBuilder::add_rel_section(uint32_t target) {
  return add_reloc_section(target, false);
}

void ElfBuilder::add_rela(uint32_t sec, uint64_t offset, uint32_t type, uint32_t sym,
                          int64_t addend) {
  sections_.at(sec).relocs.push_back(Rela{offset, rel_info(sym, type), addend});
}

void ElfBuilder::add_rel(uint32_t sec, uint64_t offset, uint32_t type, uint32_t sym) {
  sections_.at(sec).relocs.push_back(Rela{offset, rel_info(sym, type), 0});
}

uint32_t ElfBuilder::add_group(uint32_t signature, uint32_t flags, std::vector<uint32_t> members) {
  uint32_t i = add_section(".group", SHT_GROUP, 0, {}, 4, 0, signature, 4);
  SectionSpec& g = sections_[i];
  g.link_symtab = true;
  g.group = true;
  g.group_flags = flags;
  for (uint32_t m : members)
    add_member(i, m);
  return i;
}

void ElfBuilder::add_member(uint32_t group, uint32_t member) {
  sections_.at(group).members.push_back(member);
  sections_.at(member).flags |= SHF_GROUP;
}

bool ElfBuilder::needs_shndx() const {
  if (force_shndx_) return true;
  for (const SymbolSpec& s : symbols_) {
    if (s.shndx >= SHN_LORESERVE && s.shndx != SHN_ABS && s.shndx != SHN_COMMON) return true;
  }
  return false;
}

namespace {

template <class T>
void put(std::vector<uint8_t>& out, const T& v) {
  const uint8_t* p = reinterpret_cast<const uint8_t*>(&v);
  out.insert(out.end(), p, p + sizeof v);
}

uint32_t add_string(std::vector<uint8_t>& table, const std::string& s) {
  if (s.empty()) return 0;
  uint32_t off = static_cast<uint32_t>(table.size());
  table.insert(table.end(), s.begin(), s.end());
  table.push_back(0);
  return off;
}

}  // namespace

Image ElfBuilder::build() const {
  const bool shndx = needs_shndx();
  std::vector<SectionSpec> secs = sections_;
  const uint32_t symtab = symtab_index();
  const uint32_t strtab = strtab_index();
  const uint32_t shstrtab = shstrtab_index();

  // Symbols and their names.
  std::vector<uint8_t> strdata{0};
  std::vector<uint8_t> symdata(sizeof(Sym), 0);
  std::vector<uint8_t> xdata(4, 0);
  uint32_t first_global = static_cast<uint32_t>(symbols_.size() + 1);
  for (size_t k = 0; k < symbols_.size(); ++k) {
    const SymbolSpec& s = symbols_[k];
    if (s.bind != STB_LOCAL && first_global == symbols_.size() + 1) {
      first_global = static_cast<uint32_t>(k + 1);
    }
    Sym e{};
    e.name = add_string(strdata, s.name);
    e.info = st_info(s.bind, s.type);
    e.other = s.other;
    e.value = s.value;
    e.size = s.size;
    uint32_t x = 0;
    if (s.shndx >= SHN_LORESERVE && s.shndx != SHN_ABS && s.shndx != SHN_COMMON) {
      e.shndx = SHN_XINDEX;
      x = s.shndx;
    } else {
      e.shndx = static_cast<uint16_t>(s.shndx);
    }
    put(symdata, e);
    put(xdata, x);
  }

  if (shndx) {
    SectionSpec x;
    x.name = ".symtab_shndx";
    x.type = SHT_SYMTAB_SHNDX;
    x.data = xdata;
    x.align = 4;
    x.link = symtab;
    x.entsize = 4;
    secs.push_back(x);
  }
  SectionSpec st;
  st.name = ".symtab";
  st.type = SHT_SYMTAB;
  st.data = symdata;
  st.align = 8;
  st.link = strtab;
  st.info = first_global;
  st.entsize = sizeof(Sym);
  secs.push_back(st);
  SectionSpec str;
  str.name = ".strtab";
  str.type = SHT_STRTAB;
  str.data = strdata;
  secs.push_back(str);
  SectionSpec shs;
  shs.name = ".shstrtab";
  shs.type = SHT_STRTAB;
  secs.push_back(shs);
  if (secs.size() - 1 != shstrtab) throw std::logic_error("ElfBuilder: index bookkeeping");

  // Generated contents: relocation entries, group words, section names.
  for (SectionSpec& s : secs) {
    if (s.link_symtab) s.link = symtab;
    if (s.type == SHT_RELA || s.type == SHT_REL) {
      s.data.clear();
      for (const Rela& r : s.relocs) {
        if (s.type == SHT_RELA) {
          put(s.data, r);
        } else {
          put(s.data, Rel{r.offset, r.info});
        }
      }
    }
    if (s.group) {
      s.data.clear();
      put(s.data, s.group_flags);
      for (uint32_t m : s.members)
        put(s.data, m);
    }
  }
  std::vector<uint8_t> names{0};
  std::vector<uint32_t> name_offsets(secs.size(), 0);
  for (size_t i = 1; i < secs.size(); ++i)
    name_offsets[i] = add_string(names, secs[i].name);
  secs[shstrtab].data = names;

  // Layout: header, contents in index order, section table.
  Image img;
  img.symtab = symtab;
  img.strtab = strtab;
  img.shstrtab = shstrtab;
  img.symtab_shndx = shndx ? symtab - 1 : 0;
  std::vector<uint8_t>& out = img.bytes;
  out.resize(sizeof(Ehdr), 0);
  std::vector<Shdr> headers(secs.size(), Shdr{});
  for (size_t i = 1; i < secs.size(); ++i) {
    const SectionSpec& s = secs[i];
    uint64_t align = s.align == 0 ? 1 : s.align;
    while (out.size() % align != 0)
      out.push_back(0);
    Shdr& h = headers[i];
    h.name = name_offsets[i];
    h.type = s.type;
    h.flags = s.flags;
    h.offset = out.size();
    h.size = s.type == SHT_NOBITS ? s.nobits_size : s.data.size();
    h.link = s.link;
    h.info = s.info;
    h.addralign = s.align;
    h.entsize = s.entsize;
    if (s.type != SHT_NOBITS) out.insert(out.end(), s.data.begin(), s.data.end());
  }
  while (out.size() % 8 != 0)
    out.push_back(0);
  const uint64_t shoff = out.size();

  const bool extended = force_extended_ || secs.size() >= SHN_LORESERVE;
  Ehdr eh{};
  eh.ident[0] = 0x7f;
  eh.ident[1] = 'E';
  eh.ident[2] = 'L';
  eh.ident[3] = 'F';
  eh.ident[EI_CLASS] = ELFCLASS64;
  eh.ident[EI_DATA] = ELFDATA2LSB;
  eh.ident[EI_VERSION] = EV_CURRENT;
  eh.type = ET_REL;
  eh.machine = machine_;
  eh.version = EV_CURRENT;
  eh.shoff = shoff;
  eh.ehsize = sizeof(Ehdr);
  eh.shentsize = sizeof(Shdr);
  if (extended) {
    eh.shnum = 0;
    headers[0].size = secs.size();
  } else {
    eh.shnum = static_cast<uint16_t>(secs.size());
  }
  if (extended || shstrtab >= SHN_LORESERVE) {
    eh.shstrndx = SHN_XINDEX;
    headers[0].link = shstrtab;
  } else {
    eh.shstrndx = static_cast<uint16_t>(shstrtab);
  }
  for (const Shdr& h : headers)
    put(out, h);
  img.patch(0, eh);
  return img;
}

}  // namespace mk::test
