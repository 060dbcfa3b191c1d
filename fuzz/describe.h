// Describe(): a ValidatedObject as text, every field, with data as offsets
// into the input (never addresses), so two validations of the same bytes at
// different addresses compare equal exactly when they agree.
#pragma once

#include <string>

#include "elf/validated_object.h"

namespace mk::fuzz {

std::string Describe(const elf::ValidatedObject& obj);

}  // namespace mk::fuzz
