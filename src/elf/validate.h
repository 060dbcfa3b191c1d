// elf::validate(): the single gate between untrusted bytes and the rest of the
// system. It accepts ELF64 little-endian ET_REL objects (including `ld -r`
// output) for a machine that `machines` knows, checks every rule listed in
// validated_object.h, and rejects anything it does not understand.
//
// Errors are Errc::kMalformed (a rule of ELF broken) or Errc::kUnsupported
// (well-formed but not handled: another class, big-endian, TLS relocations, an
// unknown machine). Every message names the rule broken and where: the file
// offset, the section (index and name) or the symbol (index and name).
#pragma once

#include "elf/machine_rules.h"
#include "elf/validated_object.h"
#include "support/allocator.h"
#include "support/bytes.h"
#include "support/result.h"

namespace mk::elf {

[[nodiscard]] Result<ValidatedObject> validate(ByteView bytes, MachineLookup machines,
                                               Allocator& alloc);

}  // namespace mk::elf
