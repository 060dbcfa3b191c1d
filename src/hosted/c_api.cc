// The C embedding API (modkit/modkit.h) over modkit::Kernel.
#include <string.h>

#include "modkit/modkit.h"
#include "modkit/modkit.hpp"

struct mk_kernel {
  modkit::Kernel k;
  explicit mk_kernel(const modkit::Options& o) : k(o) {}
};

namespace {

void copy_error(const modkit::Error& e, char* err, size_t errlen) {
  if (err == nullptr || errlen == 0) return;
  size_t n = e.message.size() < errlen - 1 ? e.message.size() : errlen - 1;
  memcpy(err, e.message.data(), n);
  err[n] = '\0';
}

mk_file* wrap(modkit::File* f) {
  return reinterpret_cast<mk_file*>(f);
}
modkit::File* unwrap(mk_file* f) {
  return reinterpret_cast<modkit::File*>(f);
}

}  // namespace

extern "C" {

mk_kernel* mk_kernel_create(unsigned flags) {
  modkit::Options o;
  o.host_symbols = (flags & MK_HOST_SYMBOLS) != 0;
  return new mk_kernel(o);
}

void mk_kernel_destroy(mk_kernel* k) {
  delete k;
}

int mk_export(mk_kernel* k, const char* name, const void* addr, size_t size, int is_function) {
  return k->k.export_symbol(name, addr, size, is_function != 0) ? 0 : -1;
}

mk_file* mk_load_file(mk_kernel* k, const char* path, char* err, size_t errlen) {
  modkit::Error e;
  modkit::File* f = k->k.load(path, &e);
  if (f == nullptr) copy_error(e, err, errlen);
  return wrap(f);
}

mk_file* mk_load_memory(mk_kernel* k, const void* data, size_t size, const char* name, char* err,
                        size_t errlen) {
  modkit::Error e;
  modkit::File* f = k->k.load_memory(data, size, name != nullptr ? name : "(memory)", &e);
  if (f == nullptr) copy_error(e, err, errlen);
  return wrap(f);
}

void* mk_symbol(mk_kernel* k, mk_file* f, const char* name) {
  return k->k.symbol(unwrap(f), name);
}

void mk_unload(mk_kernel* k, mk_file* f) {
  k->k.unload(unwrap(f));
}

size_t mk_arena_used(const mk_kernel* k) {
  return k->k.arena_used();
}

}  // extern "C"
