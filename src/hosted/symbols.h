// Symbol queries of a hosted kernel: what `modkit sym` prints and the `ksyms`
// image, as data: modkitd answers its control socket's `sym` requests with
// them, and `modkit sym` prints them.
//
// Contract: none of these may run concurrently with a load or unload of the
// same System (the export index and the address map are changed by the
// loader without the registry's mutex); modkitd serialises them with its
// control requests.
#pragma once

#include <stdint.h>

#include <string>
#include <vector>

#include "hosted/system.h"

namespace mk::hosted {

// The e_machine of the code this program runs (and so of the files it loads).
uint16_t host_machine();

struct SymbolInfo {
  std::string name;
  uint64_t address = 0;
  uint64_t size = 0;
  std::string type;    // "func", "object", "notype", ...
  std::string bind;    // "global", "weak", "local", "unique"
  std::string file;    // the owner: a file's name, or "kernel" for the image
  std::string module;  // the exporting module, else the owner's first module ("" if none)
  bool exported = false;
  std::string ns;  // the namespace it is exported into (MODKIT_EXPORT_NS), "" for none
};

// Every symbol of this name: the export (kernel or file), then locals and
// unexported globals of the loaded files (a local name may be in several).
std::vector<SymbolInfo> sym_lookup(System& system, const std::string& name);

struct AddressInfo {
  uint64_t address = 0;
  std::string file;     // owner file, or the host object (dladdr) for kernel addresses
  std::string module;   // owner's first module ("" if none, or a kernel address)
  std::string section;  // "" when unknown
  std::string symbol;   // nearest symbol at or below, "" when none
  uint64_t offset = 0;  // address - symbol (or section) start
  bool in_module = false;
  std::string text;  // "symbol+0xoff [module]", as backtraces print it
};

// Who owns `address` and its nearest symbol: a loaded file through the
// address map, else the host process (dladdr). False when neither knows it.
bool addr_lookup(System& system, uint64_t address, AddressInfo* out);

// The ksyms image (symtab/ksyms.h) of the system as it is now.
Result<void> ksyms_image(System& system, std::vector<uint8_t>* out);
// Writes it to `path` (replaced atomically); false with a message on failure.
bool write_ksyms_file(System& system, const std::string& path, std::string* error);

}  // namespace mk::hosted
