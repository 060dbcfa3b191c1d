// Match tables: what a driver declares it can drive, as module metadata
// (MODKIT_MATCH_IDS / MODKIT_MATCH_COMPAT in sdk/include/modkit/bus.h) and as
// hints-index records, and the one predicate that says whether an entry
// matches a device. The bus layer probes with it; the hints index uses it to
// find the module to load for a device nothing drives (devmatch).
//
// Names: a bus or driver name is a C identifier shorter than kShortNameMax; a
// compatible string ("acme,widget") is 1..kCompatMax-1 characters of
// [A-Za-z0-9,._+-], as in device trees.
#pragma once

#include <stddef.h>
#include <stdint.h>

namespace mk::module {

inline constexpr size_t kShortNameMax = 32;         // bus and driver names, with the NUL
inline constexpr size_t kCompatMax = 64;            // a compatible string, with the NUL
inline constexpr uint32_t kMatchAny = 0xffffffffu;  // MK_MATCH_ANY: any device id
inline constexpr size_t kDeviceCompatMax = 4;       // compatible strings per device

enum class MatchKind : uint8_t {
  kIds = 1,     // vendor and device id (device may be kMatchAny)
  kCompat = 2,  // one compatible string, equal byte for byte
};

struct MatchEntry {
  MatchKind kind;
  uint32_t vendor;     // kIds
  uint32_t device;     // kIds
  const char* compat;  // kCompat; "" for kIds
};

// What a device offers to be matched on (a bus's enumeration result).
struct DeviceIds {
  uint32_t vendor = 0;
  uint32_t device = 0;
  const char* const* compat = nullptr;
  size_t ncompat = 0;
};

bool entry_matches(const MatchEntry& e, const DeviceIds& ids);

// Why `s` cannot be a bus or driver name ("is not a C identifier", "is longer
// than 31 characters"), or nullptr.
const char* short_name_problem(const char* s);
// Why `s` cannot be a compatible string, or nullptr.
const char* compat_problem(const char* s);

}  // namespace mk::module
