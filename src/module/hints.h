// The hints index of a module directory (kldxref's linker.hints, depmod's
// modules.dep): which file provides which module at which version, built from
// the files' metadata alone, so a missing dependency is found without opening
// every file.
//
// Format (text, one record a line, '#' starts a comment line):
//   modkit-hints 2
//   module NAME VERSION FILE
//   match MODULE DRIVER BUS PRIORITY ids VENDOR DEVICE
//   match MODULE DRIVER BUS PRIORITY compat STRING
// The first line is the header; version 1 is the same without `match'
// records (what older tools wrote), version 2 adds them. NAME and MODULE are
// C identifiers of at most 63 characters; DRIVER and BUS of at most 31;
// VERSION and PRIORITY decimal uint32s; VENDOR and DEVICE hexadecimal
// uint32s written 0x..., DEVICE also `any'; STRING a compatible string
// (match.h); FILE a path relative to the directory without spaces or ".."
// components. A `match' names a MODULE of an earlier `module' line (the file
// to load for the device). Fields are separated by one space; lines end with
// '\n' (the last one too); no control characters, no empty lines. Anything
// else is an Errc::kMalformed naming the line ("hints line 3: version `x1'
// is not a number"); a header of another format version is
// Errc::kUnsupported. An empty text is an empty index (what a module path
// without any index gives).
//
// Parsing is linear in the text and allocates a copy of it plus the entry
// vector (amortised growth), nothing per byte.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "module/match.h"
#include "support/allocator.h"
#include "support/bytes.h"
#include "support/result.h"
#include "support/vector.h"

namespace mk::module {

struct HintEntry {
  const char* module;  // NUL-terminated copies owned by the Hints
  uint32_t version;
  const char* file;
};

// One entry of a driver's match table, and the module that provides the
// driver (devmatch's view of a driver).
struct HintMatch {
  const char* module;  // NUL-terminated copies owned by the Hints (or the caller's)
  const char* driver;
  const char* bus;
  uint32_t priority;
  MatchEntry entry;
};

class Hints {
 public:
  explicit Hints(Allocator& a) : entries(a), matches(a), text_(a) {}
  Vec<HintEntry> entries;  // in file order
  Vec<HintMatch> matches;  // in file order

  // Parses an index, replacing what was there. On failure the Hints is
  // unchanged.
  [[nodiscard]] Result<void> parse(ByteView text);

  // Among the entries for `module`, the one select_version would choose over
  // [min, max] preferring `preferred` (the first of equal versions), or
  // nullptr when none is in range.
  const HintEntry* choose(const char* module, uint32_t min, uint32_t preferred, uint32_t max) const;

  // The match entry for a device on `bus` with `ids` whose driver has the
  // highest priority (the first in file order on a tie), or nullptr: which
  // module to load for a device nothing drives.
  const HintMatch* best_match(const char* bus, const DeviceIds& ids) const;

 private:
  Vec<char> text_;
};

// Why `file` cannot be a FILE of the index ("is absolute", "has a `..'
// component", ...), or nullptr when it can.
const char* hint_file_problem(const char* file);

// Appends an index (format version 2) of `entries` and then `matches` to
// out. Errc::kInvalid when an entry breaks the format (naming the entry; a
// match's module must be one of `entries`), Errc::kNoMemory; out is
// unchanged then.
[[nodiscard]] Result<void> write_hints(const HintEntry* entries, size_t n, const HintMatch* matches,
                                       size_t nmatches, Vec<char>& out);
// An index of modules only.
[[nodiscard]] inline Result<void> write_hints(const HintEntry* entries, size_t n, Vec<char>& out) {
  return write_hints(entries, n, nullptr, 0, out);
}

}  // namespace mk::module
