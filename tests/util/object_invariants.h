// CheckObjectInvariants: every promise of validated_object.h, checked on an
// object validate() accepted, independently of the validator's own code. Used
// by the mutation tests (tests/elf) and the fuzzers (fuzz/). No GoogleTest:
// it returns what broke ("" when nothing did).
#pragma once

#include <string>

#include "elf/validated_object.h"
#include "support/bytes.h"

namespace mk::test {

std::string CheckObjectInvariants(const elf::ValidatedObject& obj, ByteView bytes);

}  // namespace mk::test
