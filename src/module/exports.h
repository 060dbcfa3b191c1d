// ExportScope: what the registry needs from the kernel's export index
// (symtab/export_index.h implements it). The module layer only asks; the
// index decides what is visible to whom.
//
// Contract:
// - add(file, metadata) publishes the file's MODKIT_EXPORT symbols (looked up
//   in its linked symbols) after link and before any of its code runs; a name
//   already exported elsewhere, or an export the file does not define, is an
//   error naming both owners / the symbol, and nothing is published.
// - remove(file) withdraws them; safe to call for a file never added.
// - resolve() answers an undefined symbol of `importer`: only exports of the
//   kernel (file 0) and of files in importer.uses are visible (kNotVisible
//   otherwise, as for a name nobody exports). A visible export in a
//   namespace (MODKIT_EXPORT_NS) binds only when importer.import_ns holds
//   it; otherwise kNotImported, with *out describing the export so that the
//   caller can name it in the refusal.
#pragma once

#include <stdint.h>

#include "link/resolver.h"
#include "support/result.h"

namespace mk::module {

class File;
struct Metadata;

enum class Bind : uint8_t { kBound, kNotVisible, kNotImported };

// An export as resolve() found it.
struct Binding {
  link::ResolvedSymbol sym;
  File* owner = nullptr;    // the exporting file; nullptr for a symbol of the kernel image
  const char* module = "";  // the exporting module ("kernel" for the kernel's own symbols)
  const char* ns = "";      // its namespace, "" for none
};

class ExportScope {
 public:
  virtual Result<void> add(File& file, const Metadata& md) = 0;
  virtual void remove(File& file) = 0;
  virtual Bind resolve(const File& importer, const char* name, uint32_t hash, Binding* out) = 0;

 protected:
  ~ExportScope() = default;
};

}  // namespace mk::module
