// FileResolver: how a loading file's undefined symbols are answered, through
// the kernel's ExportScope (module/exports.h), with symbol namespaces
// enforced.
//
// Contract:
// - A name the scope binds (kBound) resolves; kNotVisible leaves it to the
//   linker's undefined-symbol rules (weak: 0, strong: kUnresolved).
// - kNotImported (a namespaced export the file did not import) does not
//   resolve, and the first one is kept as refusal(): the load must fail with
//   it even when the link succeeds (a weak reference), as Linux refuses at
//   load time. The message names the symbol, its namespace, the exporting
//   module and file, and the MODKIT_IMPORT_NS line to add.
// - unused_import() names, after the link, a namespace import the file bound
//   nothing through (a namespace none of its dependencies exports into, or a
//   misspelling): only a warning, as Linux's modpost gives.
#pragma once

#include <stdint.h>

#include "link/resolver.h"
#include "module/exports.h"
#include "module/metadata.h"
#include "support/result.h"
#include "support/vector.h"

namespace mk::module {

class File;

class FileResolver final : public link::Resolver {
 public:
  // `md` is the file's metadata; both outlive the resolver.
  FileResolver(ExportScope& scope, File& f, const Metadata& md, Allocator& a)
      : scope_(scope), f_(f), md_(md), used_(a) {}

  bool resolve(const char* name, uint32_t hash, link::ResolvedSymbol* out) override;

  // The first namespace refusal, if any.
  bool refused() const { return refused_; }
  const Error& refusal() const { return refusal_; }

  // The first import (index into md.imports) nothing was bound through, from
  // index `from` on; md.imports.size() when there is none.
  size_t unused_import(size_t from) const;

 private:
  ExportScope& scope_;
  File& f_;
  const Metadata& md_;
  Vec<const char*> used_;  // namespaces bound through (interned: compared by content)
  bool refused_ = false;
  Error refusal_;
};

}  // namespace mk::module
