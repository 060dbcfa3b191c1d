#include "module/version.h"

namespace mk::module {

bool better_version(uint32_t a, uint32_t b, const VersionRange& r) {
  if (!r.contains(a)) return false;
  if (!r.contains(b)) return true;
  if (a == b) return false;
  if (a == r.preferred) return true;
  if (b == r.preferred) return false;
  return a > b;
}

long select_version(const uint32_t* versions, size_t n, const VersionRange& r) {
  long best = -1;
  for (size_t i = 0; i < n; ++i) {
    if (!r.contains(versions[i])) continue;
    if (best < 0 || better_version(versions[i], versions[best], r)) best = static_cast<long>(i);
  }
  return best;
}

}  // namespace mk::module
