#include "symtab/ksyms.h"

#include "elf/elf.h"
#include "support/format.h"
#include "support/memory.h"
#include "symtab/elf_image.h"

namespace mk::symtab {

using namespace mk::elf;

namespace {

const char* basename_of(const char* path) {
  const char* base = path;
  for (const char* p = path; *p != '\0'; ++p)
    if (*p == '/') base = p + 1;
  return *base != '\0' ? base : path;
}

struct Writer {
  Writer(Allocator& a) : image(a), symbols(a), map(a) {}

  ElfImageWriter image;
  SymbolTableWriter symbols;
  Vec<uint32_t> map;  // file section -> image section (0: left out)
  bool failed = false;
  Error error;

  void fail(const Error& e) {
    if (!failed) error = e;
    failed = true;
  }

  Result<void> add_file(const module::File& f) {
    const link::LinkerFile& lf = *f.linked;
    const char* file = basename_of(f.name);
    char prefix[sizeof f.name + 2];
    format(prefix, sizeof prefix, "%s:", file);

    bool init_released = lf.blocks[static_cast<int>(link::Class::kInitText)].size == 0;
    map.clear();
    const Span<const link::FileSection> secs = lf.sections();
    if (!map.resize(secs.size())) return Error(Errc::kNoMemory, "ksyms: out of memory");
    for (size_t k = 0; k < secs.size(); ++k) {
      const link::FileSection& s = secs[k];
      if (s.cls == link::Class::kInitText && init_released) continue;
      ImageSection is;
      is.name = s.name;
      is.prefix = prefix;
      is.type = SHT_NOBITS;
      is.flags = SHF_ALLOC | (s.flags & (SHF_WRITE | SHF_EXECINSTR));
      is.addr = s.addr;
      is.size = s.size;
      map[k] = MK_TRY(image.add(is));
    }

    MK_TRY(symbols.add(file, 0, 0, STT_FILE, STB_LOCAL, STV_DEFAULT, kAbsolute));
    for (const link::FileSymbol& s : lf.symbols()) {
      uint32_t section = kAbsolute;
      if (s.section != UINT32_MAX) {
        section = map[s.section];
        if (section == 0) continue;  // in released init text
      }
      MK_TRY(symbols.add(s.name, s.addr, s.size, s.type, s.bind, s.visibility, section));
    }
    return Ok();
  }

  static void on_file(void* ctx, const module::File& f) {
    Writer& w = *static_cast<Writer*>(ctx);
    // The kernel image has no linked file; a file still loading has no final
    // symbols yet (its LinkerFile is being filled in without the lock).
    if (w.failed || f.id == 0 || f.linked == nullptr || f.state == module::State::kLoading ||
        f.state == module::State::kGone)
      return;
    Result<void> r = w.add_file(f);
    if (!r) w.fail(r.error());
  }
};

}  // namespace

Result<void> write_ksyms(module::Registry& registry, const ExportIndex& exports, uint16_t machine,
                         Allocator& alloc, Vec<uint8_t>* out) {
  Writer w(alloc);
  // The kernel image: its exports (the KPI, and what static modules export).
  exports.for_each([&](const ExportEntry& e) {
    if (w.failed || (e.owner != nullptr && e.owner->id != 0)) return;
    uint8_t type = e.type == STT_OBJECT ? STT_OBJECT : STT_FUNC;
    Result<void> r =
        w.symbols.add(e.name, e.addr, e.size, type, STB_GLOBAL, STV_DEFAULT, kAbsolute);
    if (!r) w.fail(r.error());
  });
  registry.for_each_file(&Writer::on_file, &w);
  if (w.failed) return w.error;
  MK_TRY(w.symbols.emit(w.image));
  return w.image.write(ET_EXEC, machine, out);
}

}  // namespace mk::symtab
