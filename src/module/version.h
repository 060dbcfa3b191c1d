// Version selection, with FreeBSD's MODULE_DEPEND rule: among the candidates
// whose version lies in [min, max], the preferred version if present, else
// the highest. Versions are plain unsigned integers, as in FreeBSD.
#pragma once

#include <stddef.h>
#include <stdint.h>

namespace mk::module {

struct VersionRange {
  uint32_t min, preferred, max;
  bool contains(uint32_t v) const { return v >= min && v <= max; }
};

// Index of the chosen candidate in versions[0..n), or -1 when none is in range.
long select_version(const uint32_t* versions, size_t n, const VersionRange& r);

}  // namespace mk::module
