#include "symbol_list.h"

#include <ctype.h>
#include <string.h>

#include <sstream>

#include "elf/elf.h"
#include "object_file.h"
#include "support/bytes.h"

namespace modkit::tool {

using namespace mk::elf;

namespace {

// Hex with or without 0x, fitting 64 bits; nothing else on the word.
bool parse_hex(const std::string& w, uint64_t* out) {
  size_t i = w.size() > 2 && w[0] == '0' && (w[1] == 'x' || w[1] == 'X') ? 2 : 0;
  if (i == w.size() || w.size() - i > 16) return false;
  uint64_t v = 0;
  for (; i < w.size(); ++i) {
    if (!isxdigit(static_cast<unsigned char>(w[i]))) return false;
    int d = isdigit(static_cast<unsigned char>(w[i])) ? w[i] - '0' : (tolower(w[i]) - 'a' + 10);
    v = v << 4 | static_cast<uint64_t>(d);
  }
  *out = v;
  return true;
}

// nm's type letter: what the symbol is, and whether it is a global definition.
bool nm_global(char t, uint8_t* type) {
  if (t == 'U' || !isupper(static_cast<unsigned char>(t))) return false;
  *type = t == 'T' || t == 'W' ? STT_FUNC : t == 'A' || t == 'N' ? STT_NOTYPE : STT_OBJECT;
  return true;
}

}  // namespace

bool SymbolList::add(const std::string& name, uint64_t addr, uint8_t type, size_t line,
                     const std::string& path, std::string* err) {
  auto [it, fresh] = symbols_.emplace(name, Entry{addr, type, line});
  if (fresh || it->second.addr == addr) return true;
  std::string where = line != 0 ? path + ":" + std::to_string(line) : path;
  *err = where + ": `" + name + "' at " + hex(addr) + " is already listed at " +
         hex(it->second.addr) +
         (it->second.line != 0 ? " (line " + std::to_string(it->second.line) + ")" : "") +
         "; a name must have one address";
  return false;
}

bool SymbolList::read_text(const std::string& path, const std::string& text, std::string* err) {
  std::istringstream in(text);
  std::string line;
  for (size_t n = 1; std::getline(in, line); ++n) {
    std::istringstream words(line);
    std::vector<std::string> w;
    for (std::string x; words >> x;)
      w.push_back(x);
    if (w.empty() || w[0][0] == '#') continue;
    std::string where = path + ":" + std::to_string(n) + ": ";
    uint64_t addr = 0;
    if (w.size() == 2 && w[0].size() == 1 && strchr("Uwv", w[0][0]) != nullptr)
      continue;  // nm: undefined, or weak undefined
    if (w.size() == 2) {
      if (!parse_hex(w[1], &addr)) {
        *err = where + "`" + w[1] + "' is not a hexadecimal address (expected `name address')";
        return false;
      }
      if (!add(w[0], addr, STT_NOTYPE, n, path, err)) return false;
      continue;
    }
    if ((w.size() == 3 || (w.size() == 4 && w[3][0] == '[')) && w[1].size() == 1) {
      if (!parse_hex(w[0], &addr)) {
        *err = where + "`" + w[0] + "' is not a hexadecimal address (expected nm's " +
               "`address type name')";
        return false;
      }
      uint8_t type = 0;
      if (nm_global(w[1][0], &type) && !add(w[2], addr, type, n, path, err)) return false;
      continue;
    }
    *err = where + "expected `name address' or `address type name', found " +
           std::to_string(w.size()) + " words";
    return false;
  }
  return true;
}

// The symbol table of an ELF64 little-endian file, every read bounds-checked
// through ByteView (the file is untrusted input like any module).
bool SymbolList::read_elf(const std::string& path, const std::vector<uint8_t>& bytes,
                          std::string* err) {
  mk::ByteView v(bytes.data(), bytes.size());
  Ehdr eh;
  if (!v.read(0, &eh) || eh.ident[EI_CLASS] != ELFCLASS64 || eh.ident[EI_DATA] != ELFDATA2LSB) {
    *err = path + ": not an ELF64 little-endian file (a symbol list must be text or such a file)";
    return false;
  }
  if (eh.shentsize != sizeof(Shdr)) {
    *err = path + ": section header size " + std::to_string(eh.shentsize) + ", not 64";
    return false;
  }
  uint64_t count = eh.shnum;
  Shdr first;
  if (count == 0 && v.read(eh.shoff, &first)) count = first.size;  // extended numbering
  Shdr symtab{}, strtab{};
  bool found = false;
  for (uint32_t want : {SHT_SYMTAB, SHT_DYNSYM}) {
    for (uint64_t i = 1; i < count && !found; ++i) {
      Shdr s;
      if (!v.read_at(eh.shoff, i, &s)) {
        *err = path + ": section header " + std::to_string(i) + " lies past the end of the file";
        return false;
      }
      if (s.type != want) continue;
      if (!v.read_at(eh.shoff, s.link, &strtab) || s.link == 0 || s.link >= count) {
        *err = path + ": section " + std::to_string(i) + " (symbol table) links to section " +
               std::to_string(s.link) + ", which is not a string table";
        return false;
      }
      symtab = s;
      found = true;
    }
    if (found) break;
  }
  if (!found) {
    *err = path + ": an ELF file with no symbol table (.symtab or .dynsym)";
    return false;
  }
  mk::ByteView syms, strs;
  if (!v.slice(symtab.offset, symtab.size, &syms) || !v.slice(strtab.offset, strtab.size, &strs)) {
    *err = path + ": the symbol table or its string table lies past the end of the file";
    return false;
  }
  for (uint64_t i = 1; i < syms.size() / sizeof(Sym); ++i) {
    Sym s;
    (void)syms.read_at(0, i, &s);  // inside: i < size / 24
    uint8_t bind = st_bind(s.info), type = st_type(s.info);
    if (s.shndx == SHN_UNDEF || (bind != STB_GLOBAL && bind != STB_WEAK) || type == STT_SECTION ||
        type == STT_FILE)
      continue;
    const char* name = strs.cstr(s.name);
    if (name == nullptr) {
      *err = path + ": symbol " + std::to_string(i) + " has its name at " + hex(s.name) +
             ", outside its string table";
      return false;
    }
    if (*name != '\0' && !add(name, s.value, type, 0, path, err)) return false;
  }
  return true;
}

bool SymbolList::read(const std::string& path, std::string* err) {
  std::vector<uint8_t> bytes;
  std::string why;
  if (!read_whole_file(path, &bytes, &why)) {
    *err = path + ": " + why;
    return false;
  }
  if (bytes.size() >= 4 && memcmp(bytes.data(),
                                  "\x7f"
                                  "ELF",
                                  4) == 0)
    return read_elf(path, bytes, err);
  return read_text(path, std::string(bytes.begin(), bytes.end()), err);
}

bool SymbolList::resolve(const char* name, uint32_t, mk::link::ResolvedSymbol* out) {
  auto it = symbols_.find(name);
  if (it == symbols_.end()) return false;
  // Never read-only: the linker must not copy bytes from an address that is
  // not in this process.
  *out = {it->second.addr, 0, it->second.type, false};
  return true;
}

}  // namespace modkit::tool
