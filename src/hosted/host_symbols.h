// Host symbol lookup for `modkit exec` and Options::host_symbols: what a
// normally linked program would get from libc, libm and libstdc++.
#pragma once

#include "link/resolver.h"

namespace mk::hosted {

// Looks a name up in the host process (dlsym(RTLD_DEFAULT)), with its ELF
// type and size when the dynamic symbol table has them. A few names that
// glibc keeps in libc_nonshared.a (so dlsym cannot find them) are supplied.
bool host_symbol(const char* name, link::ResolvedSymbol* out);

}  // namespace mk::hosted
