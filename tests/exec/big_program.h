// Generator of the large test program: a C source with many small functions,
// each mixing its argument with 64-bit constants, a dense switch, a call into
// libc (strlen) and, sometimes, a call to the previous function; a table of
// pointers to all of them; and a main that calls every one and prints a
// checksum. Compiled, the object has about a megabyte of text and tens of
// thousands of relocations. The generator also computes the checksum the
// program must print, so the test has a known value that does not depend on any
// toolchain.
#pragma once

#include <cstdint>
#include <string>

namespace modkit::exec_test {

struct BigProgram {
  std::string source;         // the C translation unit
  uint64_t checksum = 0;      // what main computes over all calls
  uint64_t counter_sum = 0;   // sum of the per-function counters afterwards
  std::string expected_line;  // the line main prints with both values
};

BigProgram GenerateBigProgram(int function_count);

}  // namespace modkit::exec_test
