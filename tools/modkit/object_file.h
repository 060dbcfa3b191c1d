// Module files for the offline verbs (inspect, link): the whole file read
// into memory, then validated by the one validator (elf/validate.h). The
// bytes must outlive the ValidatedObject, which borrows them.
#pragma once

#include <stdint.h>

#include <string>
#include <vector>

namespace modkit::tool {

// Reads all of `path` into *out; false with the system's reason in *err.
bool read_whole_file(const std::string& path, std::vector<uint8_t>* out, std::string* err);

// "0x..." for addresses and sizes in messages and output.
std::string hex(uint64_t v);

}  // namespace modkit::tool
