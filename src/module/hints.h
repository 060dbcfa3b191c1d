// The hints index of a module directory (kldxref's linker.hints, depmod's
// modules.dep): which file provides which module at which version, built from
// the files' metadata alone, so a missing dependency is found without opening
// every file.
//
// Format (text, one record a line, '#' starts a comment line):
//   modkit-hints 1
//   module NAME VERSION FILE
// The first line is the header. NAME is a C identifier of at most 63
// characters, VERSION a decimal uint32, FILE a path relative to the directory
// without spaces or ".." components. Fields are separated by one space; lines
// end with '\n' (the last one too); no control characters, no empty lines.
// Anything else is an Errc::kMalformed naming the line ("hints line 3:
// version `x1' is not a number"); a header of another format version is
// Errc::kUnsupported. An empty text is an empty index (what a module path
// without any index gives).
//
// Parsing is linear in the text and allocates a copy of it plus the entry
// vector (amortised growth), nothing per byte.
#pragma once

#include <stddef.h>
#include <stdint.h>

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

class Hints {
 public:
  explicit Hints(Allocator& a) : entries(a), text_(a) {}
  Vec<HintEntry> entries;  // in file order

  // Parses an index, replacing what was there. On failure the Hints is
  // unchanged.
  [[nodiscard]] Result<void> parse(ByteView text);

  // Among the entries for `module`, the one select_version would choose over
  // [min, max] preferring `preferred` (the first of equal versions), or
  // nullptr when none is in range.
  const HintEntry* choose(const char* module, uint32_t min, uint32_t preferred, uint32_t max) const;

 private:
  Vec<char> text_;
};

// Why `file` cannot be a FILE of the index ("is absolute", "has a `..'
// component", ...), or nullptr when it can.
const char* hint_file_problem(const char* file);

// Appends an index of `entries` to out. Errc::kInvalid when an entry breaks
// the format (naming the entry), Errc::kNoMemory; out is unchanged then.
[[nodiscard]] Result<void> write_hints(const HintEntry* entries, size_t n, Vec<char>& out);

}  // namespace mk::module
