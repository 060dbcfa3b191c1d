// /proc/self/maps and /proc/self/fd, read for the hosted tests: the witness
// for "no page is writable and executable at once" and for leaks of
// mappings and descriptors.
#pragma once

#include <dirent.h>
#include <stdint.h>
#include <stdio.h>

#include <string>
#include <vector>

namespace mk::test {

struct MapsEntry {
  uintptr_t lo = 0, hi = 0;
  std::string perms;  // "r-xp", "rw-s", ...
  std::string line;   // as the kernel wrote it
};

inline std::vector<MapsEntry> ReadMaps() {
  std::vector<MapsEntry> out;
  FILE* f = fopen("/proc/self/maps", "re");
  if (f == nullptr) return out;
  char buf[4096];
  while (fgets(buf, sizeof buf, f) != nullptr) {
    unsigned long lo = 0, hi = 0;
    char perms[8] = {};
    if (sscanf(buf, "%lx-%lx %4s", &lo, &hi, perms) != 3) continue;
    std::string line(buf);
    if (!line.empty() && line.back() == '\n') line.pop_back();
    out.push_back({lo, hi, perms, line});
  }
  fclose(f);
  return out;
}

// Every mapping that is writable and executable at once.
inline std::vector<MapsEntry> WritableAndExecutable() {
  std::vector<MapsEntry> out;
  for (const MapsEntry& e : ReadMaps())
    if (e.perms.size() >= 3 && e.perms[1] == 'w' && e.perms[2] == 'x') out.push_back(e);
  return out;
}

// Mappings of modkit's dual-mapped memfds (the arena's text and rodata).
inline size_t MemfdMappings() {
  size_t n = 0;
  for (const MapsEntry& e : ReadMaps())
    n += e.line.find("/memfd:modkit-") != std::string::npos;
  return n;
}

// Under a sanitizer, the runtime maps memory of its own as the test runs, so
// only modkit's own mappings can be counted.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
inline constexpr bool kSanitized = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
inline constexpr bool kSanitized = true;
#else
inline constexpr bool kSanitized = false;
#endif
#else
inline constexpr bool kSanitized = false;
#endif

inline size_t OpenDescriptors() {
  size_t n = 0;
  DIR* d = opendir("/proc/self/fd");
  if (d == nullptr) return 0;
  while (readdir(d) != nullptr)
    ++n;
  closedir(d);
  return n;
}

}  // namespace mk::test
