// KernelSymbols: the kernel's symbol table as the registry sees it (its
// ExportScope): the export index and the address map, kept current together
// on every load and unload.
#pragma once

#include "module/exports.h"
#include "symtab/address_map.h"
#include "symtab/export_index.h"

namespace mk::symtab {

class KernelSymbols final : public module::ExportScope {
 public:
  explicit KernelSymbols(Allocator& a) : exports_(a), addresses_(a) {}

  ExportIndex& exports() { return exports_; }
  AddressMap& addresses() { return addresses_; }

  Result<void> add(module::File& f, const module::Metadata& md) override {
    MK_TRY(exports_.add(f, md));
    Result<void> r = addresses_.add(f);
    if (!r) exports_.remove(f);
    return r;
  }
  void remove(module::File& f) override {
    addresses_.remove(f);
    exports_.remove(f);
  }
  module::Bind resolve(const module::File& importer, const char* name, uint32_t hash,
                       module::Binding* out) override {
    return exports_.resolve(importer, name, hash, out);
  }

 private:
  ExportIndex exports_;
  AddressMap addresses_;
};

}  // namespace mk::symtab
