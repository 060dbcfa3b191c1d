// SyntheticExports: many loaded files for the export index without linking
// anything. Each file is a real module::File with one module and a
// link::LinkerFile holding only its symbol table (exports and locals at made-up
// addresses); it enters the real symtab::ExportIndex through add(file,
// metadata), the call the registry makes after a link, and leaves through
// remove(file). What it measures and tests is therefore the index itself:
// its hashing, probing, visibility and withdrawal, at any number of files,
// in a fraction of the time real loads would take.
//
// Names: file f's module is "m<f>", its i-th export "m<f>_e<i>", its i-th
// local "m<f>_l<i>" (a local, never exported); export i of file f is at
// address_of(f, i).
#pragma once

#include <stddef.h>
#include <stdint.h>

#include <memory>
#include <string>
#include <vector>

#include "hosted/malloc_allocator.h"
#include "link/linker_file.h"
#include "module/registry.h"
#include "symtab/export_index.h"

namespace mk::test {

class SyntheticExports {
 public:
  explicit SyntheticExports(symtab::ExportIndex& index) : index_(index) {}
  ~SyntheticExports();
  SyntheticExports(const SyntheticExports&) = delete;
  SyntheticExports& operator=(const SyntheticExports&) = delete;

  // Adds `files` more files with `exports` exports and `locals` locals each.
  // The error is the index's (or out of memory).
  [[nodiscard]] Result<void> add_files(size_t files, size_t exports, size_t locals = 0);
  // Withdraws file f from the index (its exports are no longer found).
  void remove_file(size_t f);

  size_t files() const { return files_.size(); }
  module::File& file(size_t f) { return *files_[f]->file; }
  static std::string export_name(size_t f, size_t i);
  static std::string local_name(size_t f, size_t i);
  static uint64_t address_of(size_t f, size_t i) { return 0x10000000 + f * 0x100000 + i * 16; }

 private:
  struct Entry {
    std::vector<char> names;  // every name of the file, NUL-separated
    link::LinkerFile* linked = nullptr;
    module::File* file = nullptr;
    bool added = false;
  };

  hosted::MallocAllocator heap_;
  symtab::ExportIndex& index_;
  std::vector<std::unique_ptr<Entry>> files_;
};

}  // namespace mk::test
