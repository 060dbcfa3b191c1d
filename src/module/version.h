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

// The rule itself, for callers that walk their own candidates: true when
// version `a` is a better choice than `b` for r. Only versions in range are
// ever better; the preferred one beats every other; then the higher wins. A
// version is never better than itself, so the first of equal candidates stays.
// (A `preferred` outside [min, max] never matches: it is not a candidate.)
bool better_version(uint32_t a, uint32_t b, const VersionRange& r);

// Index of the chosen candidate in versions[0..n), or -1 when none is in
// range. Among equal versions, the first.
long select_version(const uint32_t* versions, size_t n, const VersionRange& r);

}  // namespace mk::module
