#include "util/synthetic_exports.h"

#include "elf/elf.h"
#include "support/name_table.h"

namespace mk::test {

std::string SyntheticExports::export_name(size_t f, size_t i) {
  return "m" + std::to_string(f) + "_e" + std::to_string(i);
}

std::string SyntheticExports::local_name(size_t f, size_t i) {
  return "m" + std::to_string(f) + "_l" + std::to_string(i);
}

SyntheticExports::~SyntheticExports() {
  for (std::unique_ptr<Entry>& e : files_) {
    if (e->file != nullptr) {
      if (e->added) index_.remove(*e->file);
      for (module::Module* m : e->file->modules)
        destroy(heap_, m);
      destroy(heap_, e->file);
    }
    link::LinkerFile::destroy(heap_, e->linked);
  }
}

void SyntheticExports::remove_file(size_t f) {
  Entry& e = *files_[f];
  if (!e.added) return;
  index_.remove(*e.file);
  e.added = false;
}

Result<void> SyntheticExports::add_files(size_t count, size_t exports, size_t locals) {
  auto oom = [] { return Error(Errc::kNoMemory, "synthetic exports: out of memory"); };
  for (size_t n = 0; n < count; ++n) {
    size_t f = files_.size();
    files_.push_back(std::make_unique<Entry>());
    Entry& e = *files_.back();

    std::vector<size_t> at;  // where each name starts in e.names
    for (size_t i = 0; i < exports + locals; ++i) {
      std::string s = i < exports ? export_name(f, i) : local_name(f, i - exports);
      at.push_back(e.names.size());
      e.names.insert(e.names.end(), s.begin(), s.end());
      e.names.push_back('\0');
    }

    e.linked = link::LinkerFile::create(heap_, 0, exports + locals, exports, 0);
    if (e.linked == nullptr) return oom();
    // Its memory: one text block holding every symbol (the export index
    // refuses an export outside the file's blocks).
    e.linked->blocks[static_cast<int>(link::Class::kText)] = link::Block{
        address_of(f, 0), static_cast<uint32_t>((exports + locals) * 16), link::kNoChunk};
    for (size_t i = 0; i < exports + locals; ++i) {
      const char* name = e.names.data() + at[i];
      bool global = i < exports;
      e.linked->add_symbol(
          link::FileSymbol{name, address_of(f, i), 16, elf::STT_FUNC,
                           static_cast<uint8_t>(global ? elf::STB_GLOBAL : elf::STB_LOCAL), 0,
                           UINT32_MAX},
          global);
    }

    e.file = make<module::File>(heap_, heap_);
    module::Module* m = make<module::Module>(heap_);
    if (e.file == nullptr || m == nullptr || !e.file->modules.push(m)) {
      destroy(heap_, m);
      return oom();
    }
    std::string mod = "m" + std::to_string(f);
    snprintf(m->name, sizeof m->name, "%s", mod.c_str());
    snprintf(e.file->name, sizeof e.file->name, "%s.ko", mod.c_str());
    e.file->id = static_cast<uint32_t>(f + 1);
    e.file->linked = e.linked;
    e.file->state = module::State::kLive;
    m->file = e.file;
    m->state = module::State::kLive;

    module::Metadata md(heap_);
    if (!md.modules.push(module::ModuleDecl{m->name, 1, 0, module::RecordAt{0, 0}}) ||
        !md.exports.reserve(exports))
      return oom();
    for (size_t i = 0; i < exports; ++i)
      (void)md.exports.push(module::ExportDecl{0, "", e.names.data() + at[i]});
    MK_TRY(index_.add(*e.file, md));
    e.added = true;
  }
  return Ok();
}

}  // namespace mk::test
