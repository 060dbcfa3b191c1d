// The hints index of a module directory (kldxref's linker.hints, depmod's
// modules.dep): which file provides which module at which version, built from
// the files' metadata alone, so a missing dependency is found without opening
// every file.
//
// Format (text, one record a line, '#' starts a comment line):
//   modkit-hints 1
//   module NAME VERSION FILE
// NAME is a C identifier of at most 63 characters, VERSION a decimal
// uint32, FILE a path relative to the directory without spaces or "..".
// Lines end with '\n'. Anything else is an error naming the line.
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
  Vec<HintEntry> entries;

  // Parses an index (replacing what was there).
  [[nodiscard]] Result<void> parse(ByteView text);

  // The entries for `module`, best first by select_version over [r].
  // Returns the chosen entry or nullptr.
  const HintEntry* choose(const char* module, uint32_t min, uint32_t preferred,
                          uint32_t max) const;

 private:
  Vec<char> text_;
};

// Writes an index for `entries` into out (appending). False when memory runs out.
[[nodiscard]] bool write_hints(const HintEntry* entries, size_t n, Vec<char>& out);

}  // namespace mk::module
