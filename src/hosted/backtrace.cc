#include "hosted/backtrace.h"

#include <dlfcn.h>
#include <string.h>
#include <unwind.h>

namespace mk::hosted {
namespace {

struct Walk {
  std::vector<uintptr_t>* out;
  int skip;
};

_Unwind_Reason_Code on_frame(struct _Unwind_Context* ctx, void* arg) {
  Walk& w = *static_cast<Walk*>(arg);
  uintptr_t ip = _Unwind_GetIP(ctx);
  if (ip == 0) return _URC_END_OF_STACK;
  if (w.skip > 0) {
    --w.skip;
    return _URC_NO_REASON;
  }
  w.out->push_back(ip);
  return w.out->size() < 256 ? _URC_NO_REASON : _URC_END_OF_STACK;
}

const char* base_name(const char* path) {
  const char* slash = strrchr(path, '/');
  return slash != nullptr ? slash + 1 : path;
}

}  // namespace

std::string describe_address(const symtab::AddressMap* map, uintptr_t address) {
  char buf[512];
  symtab::Where w;
  if (map != nullptr && map->lookup(address, &w)) {
    map->describe(address, buf, sizeof buf);
    return buf;
  }
  Dl_info info{};
  if (dladdr(reinterpret_cast<void*>(address), &info) != 0 && info.dli_fname != nullptr) {
    const char* object = base_name(info.dli_fname);
    if (info.dli_sname != nullptr && info.dli_saddr != nullptr) {
      snprintf(buf, sizeof buf, "%s+%#lx [%s]", info.dli_sname,
               static_cast<unsigned long>(address - reinterpret_cast<uintptr_t>(info.dli_saddr)),
               object);
    } else {
      snprintf(buf, sizeof buf, "%#lx [%s+%#lx]", static_cast<unsigned long>(address), object,
               static_cast<unsigned long>(address - reinterpret_cast<uintptr_t>(info.dli_fbase)));
    }
    return buf;
  }
  snprintf(buf, sizeof buf, "%#lx", static_cast<unsigned long>(address));
  return buf;
}

__attribute__((noinline)) std::vector<uintptr_t> backtrace_addresses(int skip) {
  std::vector<uintptr_t> out;
  Walk w{&out, skip + 1};  // + this function's own frame
  _Unwind_Backtrace(&on_frame, &w);
  return out;
}

__attribute__((noinline)) std::vector<std::string> backtrace_lines(const symtab::AddressMap* map,
                                                                   int skip) {
  std::vector<std::string> lines;
  std::vector<uintptr_t> frames = backtrace_addresses(skip + 1);
  for (size_t i = 0; i < frames.size(); ++i) {
    char head[64];
    snprintf(head, sizeof head, "#%zu 0x%016lx ", i, static_cast<unsigned long>(frames[i]));
    lines.push_back(head + describe_address(map, frames[i]));
  }
  return lines;
}

__attribute__((noinline)) void print_backtrace(const symtab::AddressMap* map, FILE* out) {
  for (const std::string& line : backtrace_lines(map, 1))
    fprintf(out, "%s\n", line.c_str());
}

}  // namespace mk::hosted
