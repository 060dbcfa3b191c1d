// SymbolList: the symbols an offline link (`modkit link`) resolves a module's
// imports against, read from a file in one of three forms:
//   - `name address` lines (address in hex, 0x optional);
//   - `address type name` lines, as nm and /proc/kallsyms print them: only
//     global definitions count (an uppercase type letter other than U);
//     locals, undefined and undefined-weak lines are skipped; a fourth
//     `[module]` word (kallsyms) is allowed;
//   - an ELF file (a ksyms image, a kernel image): the global and weak
//     definitions of its .symtab (else .dynsym).
// Blank lines and lines starting with `#` are ignored. A name listed twice
// with two addresses is an error naming both lines.
//
// Types: nm's letters and ELF symbol types say function or data; a
// `name address` line says neither, which the linker treats as data (the
// conservative choice: a PC-relative data reference is never redirected to a
// stub; calls still get stubs when out of reach).
#pragma once

#include <stdint.h>

#include <string>
#include <unordered_map>
#include <vector>

#include "link/resolver.h"

namespace modkit::tool {

class SymbolList final : public mk::link::Resolver {
 public:
  // Reads `path`; false with a message naming the file (and line) in *err.
  bool read(const std::string& path, std::string* err);

  bool resolve(const char* name, uint32_t hash, mk::link::ResolvedSymbol* out) override;

  size_t size() const { return symbols_.size(); }

 private:
  struct Entry {
    uint64_t addr;
    uint8_t type;  // elf::STT_*
    size_t line;   // where it was listed (0 for an ELF file)
  };
  bool add(const std::string& name, uint64_t addr, uint8_t type, size_t line,
           const std::string& path, std::string* err);
  bool read_text(const std::string& path, const std::string& text, std::string* err);
  bool read_elf(const std::string& path, const std::vector<uint8_t>& bytes, std::string* err);

  std::unordered_map<std::string, Entry> symbols_;
};

}  // namespace modkit::tool
