#include "fuzz/describe.h"

#include <stdio.h>

namespace mk::fuzz {
namespace {

void Add(std::string& out, const char* fmt, auto... args) {
  char line[512];
  snprintf(line, sizeof line, fmt, args...);
  out += line;
}

// Where `v` lies in the input, or -1 for an empty view.
long long At(const elf::ValidatedObject& obj, ByteView v) {
  return v.empty() ? -1 : static_cast<long long>(v.data() - obj.bytes.data());
}

}  // namespace

std::string Describe(const elf::ValidatedObject& obj) {
  std::string out;
  Add(out, "machine %s symtab %u first_global %u modinfo %u\n", obj.machine->name, obj.symtab,
      obj.first_global, obj.modinfo);
  for (const elf::Section& s : obj.sections)
    Add(out,
        "section %u %s type %u flags %#llx size %llu align %llu entsize %llu link %u info %u "
        "offset %llu data %lld+%zu group %u\n",
        s.index, s.name, s.type, (unsigned long long)s.flags, (unsigned long long)s.size,
        (unsigned long long)s.align, (unsigned long long)s.entsize, s.link, s.info,
        (unsigned long long)s.offset, At(obj, s.data), s.data.size(), s.group);
  for (const elf::Symbol& s : obj.symbols)
    Add(out, "symbol %s value %#llx size %llu shndx %u bind %u type %u vis %u\n", s.name,
        (unsigned long long)s.value, (unsigned long long)s.size, s.shndx, s.bind, s.type,
        s.visibility);
  for (const elf::RelocSection& rs : obj.relocs) {
    Add(out, "relocs %u -> %u rela %d count %llu at %lld\n", rs.index, rs.target, rs.rela,
        (unsigned long long)rs.count, At(obj, rs.entries));
    for (uint64_t i = 0; i < rs.count; ++i) {
      elf::Relocation r = obj.relocation(rs, i);
      Add(out, "  %#llx type %u sym %u addend %lld\n", (unsigned long long)r.offset, r.type, r.sym,
          (long long)r.addend);
    }
  }
  for (const elf::Group& g : obj.groups)
    Add(out, "group %u %s comdat %d members %lld+%zu\n", g.section, g.signature, g.comdat,
        At(obj, g.members), g.members.size());
  return out;
}

}  // namespace mk::fuzz
