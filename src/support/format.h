// Freestanding, allocation-free text formatting for error messages and logs.
//
// Contract: format() writes at most `cap` bytes including the terminating NUL,
// never reads past its arguments, and returns the number of bytes written
// (excluding NUL). Output that does not fit is cut at `cap - 1` bytes.
//
// Conversions: %s (const char*, nullptr prints "(null)"), %.*s (int, const char*),
// %d %i (int), %u (unsigned), %x (unsigned), %ld %lu %lx (64-bit), %zu %zx (size_t),
// %c, %p, %%. A '#' flag prints "0x" before hex. Nothing else: unknown
// conversions print themselves, so a bad format string is visible, not fatal.
#pragma once

#include <stdarg.h>
#include <stddef.h>

namespace mk {

size_t format(char* buf, size_t cap, const char* fmt, ...) __attribute__((format(printf, 3, 4)));
size_t vformat(char* buf, size_t cap, const char* fmt, va_list ap);

}  // namespace mk
