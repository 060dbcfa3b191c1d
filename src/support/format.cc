#include "support/format.h"

#include <stdint.h>

namespace mk {
namespace {

struct Sink {
  char* buf;
  size_t cap;
  size_t len = 0;

  void put(char c) {
    if (len + 1 < cap) buf[len] = c;
    ++len;
  }
  void puts(const char* s, size_t n) {
    for (size_t i = 0; i < n; ++i) put(s[i]);
  }
};

void put_unsigned(Sink& out, uint64_t v, unsigned base, bool prefix) {
  char digits[24];
  size_t n = 0;
  do {
    unsigned d = static_cast<unsigned>(v % base);
    digits[n++] = static_cast<char>(d < 10 ? '0' + d : 'a' + d - 10);
    v /= base;
  } while (v != 0);
  if (prefix) out.puts("0x", 2);
  while (n > 0) out.put(digits[--n]);
}

void put_signed(Sink& out, int64_t v) {
  if (v < 0) {
    out.put('-');
    put_unsigned(out, 0 - static_cast<uint64_t>(v), 10, false);
  } else {
    put_unsigned(out, static_cast<uint64_t>(v), 10, false);
  }
}

}  // namespace

size_t vformat(char* buf, size_t cap, const char* fmt, va_list ap) {
  Sink out{buf, cap};
  for (const char* p = fmt; *p != '\0'; ++p) {
    if (*p != '%') {
      out.put(*p);
      continue;
    }
    const char* start = p++;
    bool alt = false;
    if (*p == '#') {
      alt = true;
      ++p;
    }
    int precision = -1;
    if (p[0] == '.' && p[1] == '*') {
      precision = va_arg(ap, int);
      p += 2;
    }
    int longs = 0;
    bool size = false;
    while (*p == 'l') {
      ++longs;
      ++p;
    }
    if (*p == 'z') {
      size = true;
      ++p;
    }
    bool wide = longs > 0 || size;
    switch (*p) {
      case 's': {
        const char* s = va_arg(ap, const char*);
        if (s == nullptr) s = "(null)";
        size_t n = 0;
        while ((precision < 0 || n < static_cast<size_t>(precision)) && s[n] != '\0') ++n;
        out.puts(s, n);
        break;
      }
      case 'd':
      case 'i':
        put_signed(out, wide ? va_arg(ap, int64_t) : va_arg(ap, int));
        break;
      case 'u':
        put_unsigned(out, wide ? va_arg(ap, uint64_t) : va_arg(ap, unsigned), 10, false);
        break;
      case 'x':
        put_unsigned(out, wide ? va_arg(ap, uint64_t) : va_arg(ap, unsigned), 16, alt);
        break;
      case 'p':
        put_unsigned(out, reinterpret_cast<uintptr_t>(va_arg(ap, void*)), 16, true);
        break;
      case 'c':
        out.put(static_cast<char>(va_arg(ap, int)));
        break;
      case '%':
        out.put('%');
        break;
      case '\0':
        --p;  // a lone '%' at the end: print it and stop
        out.put('%');
        break;
      default:
        out.puts(start, static_cast<size_t>(p - start + 1));
        break;
    }
  }
  if (cap > 0) buf[out.len < cap ? out.len : cap - 1] = '\0';
  return out.len < cap ? out.len : (cap > 0 ? cap - 1 : 0);
}

size_t format(char* buf, size_t cap, const char* fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  size_t n = vformat(buf, cap, fmt, ap);
  va_end(ap);
  return n;
}

}  // namespace mk
