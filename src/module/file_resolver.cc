#include "module/file_resolver.h"

#include "module/registry.h"
#include "support/memory.h"

namespace mk::module {

bool FileResolver::resolve(const char* name, uint32_t hash, link::ResolvedSymbol* out) {
  Binding b;
  Bind r = scope_.resolve(f_, name, hash, &b);
  if (r == Bind::kNotImported && !refused_) {
    // The module of this file that depends on the exporter should import;
    // without such a dependency (a kernel export), the file's first module.
    const char* importer = md_.modules.size() != 0 ? md_.modules[0].name : "?";
    for (const DependDecl& d : md_.depends)
      if (str_eq(d.target, b.module)) importer = md_.modules[d.module].name;
    refused_ = true;
    refusal_ = Error(Errc::kPermission,
                     "%s: `%s' is exported by module %s (%s) in namespace %s, which %s does not "
                     "import: add MODKIT_IMPORT_NS(%s, %s)",
                     f_.name, name, b.module, b.owner == nullptr ? "the kernel" : b.owner->name,
                     b.ns, f_.name, importer, b.ns);
  }
  if (r != Bind::kBound) return false;
  if (b.ns[0] != '\0') {
    bool seen = false;
    for (const char* u : used_)
      seen = seen || str_eq(u, b.ns);
    // Out of memory here can only make a used import look unused to the
    // warning: not worth failing the load for.
    if (!seen) (void)used_.push(b.ns);
  }
  *out = b.sym;
  return true;
}

size_t FileResolver::unused_import(size_t from) const {
  for (size_t i = from; i < md_.imports.size(); ++i) {
    bool used = false;
    for (const char* u : used_)
      used = used || str_eq(u, md_.imports[i].ns);
    if (!used) return i;
  }
  return md_.imports.size();
}

}  // namespace mk::module
