#include "bus/device.h"

#include "module/metadata.h"
#include "support/memory.h"

namespace mk::bus {
namespace {

void copy(char* dst, size_t cap, const char* src) {
  size_t n = mk_strlen(src);
  if (n >= cap) n = cap - 1;
  mk_memcpy(dst, src, n);
  dst[n] = '\0';
}

}  // namespace

const char* Device::arg(const char* key) const {
  for (size_t i = 0; i < args_len;) {
    const char* k = args + i;
    const char* v = k + mk_strlen(k) + 1;
    if (str_eq(k, key)) return v;
    i = static_cast<size_t>(v - args) + mk_strlen(v) + 1;
  }
  return nullptr;
}

module::DeviceIds Device::ids(const char** compat_list) const {
  for (size_t i = 0; i < ncompat; ++i)
    compat_list[i] = compat[i];
  return module::DeviceIds{vendor, device, compat_list, ncompat};
}

void Device::args_text(char* out, size_t cap) const {
  size_t o = 0;
  auto put = [&](char c) {
    if (o + 1 < cap) out[o++] = c;
  };
  bool key = true;
  for (size_t i = 0; i < args_len; ++i) {
    char c = args[i];
    if (c != '\0') {
      put(c);
    } else if (key) {
      put('=');
      key = false;
    } else {
      if (i + 1 < args_len) put(' ');
      key = true;
    }
  }
  if (cap > 0) out[o] = '\0';
}

Result<void> parse_args(const char* text, Device* d) {
  size_t len = mk_strlen(text);
  if (len >= kArgsMax)
    return Error(Errc::kInvalid, "attach arguments are %zu bytes, more than %zu", len,
                 kArgsMax - 1);
  char stored[kArgsMax];
  size_t n = 0;
  for (const char* p = text; *p != '\0';) {
    const char* start = p;
    const char* end = p;
    while (*end != '\0' && *end != ' ')
      ++end;
    int shown = static_cast<int>(end - start);
    const char* eq = start;
    while (eq < end && *eq != '=')
      ++eq;
    if (start == end)
      return Error(Errc::kInvalid,
                   "attach arguments: two spaces in a row, or a space at an end "
                   "(pairs are separated by one space)");
    if (eq == end)
      return Error(Errc::kInvalid, "attach argument `%.*s' is not key=value", shown, start);
    char key[kArgsMax];
    mk_memcpy(key, start, static_cast<size_t>(eq - start));
    key[eq - start] = '\0';
    if (!module::is_identifier(key))
      return Error(Errc::kInvalid, "attach argument `%.*s': key `%s' is not a C identifier", shown,
                   start, key);
    if (eq + 1 == end)
      return Error(Errc::kInvalid, "attach argument `%.*s' has an empty value", shown, start);
    for (const char* v = eq + 1; v < end; ++v)
      if (*v < 0x21 || *v > 0x7e)
        return Error(Errc::kInvalid, "attach argument `%s' has a character outside printable ASCII",
                     key);
    // Stored as key\0value\0: the same length as "key=value ".
    mk_memcpy(stored + n, start, static_cast<size_t>(end - start));
    stored[n + static_cast<size_t>(eq - start)] = '\0';
    n += static_cast<size_t>(end - start);
    stored[n++] = '\0';
    p = *end == ' ' ? end + 1 : end;
    if (*end == ' ' && *p == '\0')
      return Error(Errc::kInvalid, "attach arguments: a space at the end");
  }
  mk_memcpy(d->args, stored, n);
  d->args_len = n;
  return Ok();
}

Result<void> fill_identity(const DeviceSpec& spec, Device* d) {
  if (spec.bus == nullptr) return Error(Errc::kInvalid, "a device needs a bus");
  if (const char* why = module::short_name_problem(spec.bus))
    return Error(Errc::kInvalid, "bus name `%.*s' %s", 64, spec.bus, why);
  if (spec.ncompat > module::kDeviceCompatMax)
    return Error(Errc::kInvalid, "%zu compatible strings, more than %zu", spec.ncompat,
                 module::kDeviceCompatMax);
  for (size_t i = 0; i < spec.ncompat; ++i) {
    if (const char* why = module::compat_problem(spec.compat[i]))
      return Error(Errc::kInvalid, "compatible string `%.*s' %s", 64, spec.compat[i], why);
  }
  MK_TRY(parse_args(spec.args != nullptr ? spec.args : "", d));
  copy(d->bus, sizeof d->bus, spec.bus);
  d->vendor = spec.vendor;
  d->device = spec.device;
  d->ncompat = spec.ncompat;
  for (size_t i = 0; i < spec.ncompat; ++i)
    copy(d->compat[i], sizeof d->compat[i], spec.compat[i]);
  return Ok();
}

}  // namespace mk::bus
