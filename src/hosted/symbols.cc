#include "hosted/symbols.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "elf/elf.h"
#include "hosted/malloc_allocator.h"
#include "symtab/ksyms.h"

namespace mk::hosted {
namespace {

const char* type_name(uint8_t type) {
  switch (type) {
    case elf::STT_NOTYPE:
      return "notype";
    case elf::STT_OBJECT:
      return "object";
    case elf::STT_FUNC:
      return "func";
    case elf::STT_SECTION:
      return "section";
    case elf::STT_FILE:
      return "file";
    case elf::STT_COMMON:
      return "common";
    case elf::STT_TLS:
      return "tls";
    case elf::STT_GNU_IFUNC:
      return "ifunc";
  }
  return "unknown";
}

const char* bind_name(uint8_t bind) {
  switch (bind) {
    case elf::STB_LOCAL:
      return "local";
    case elf::STB_GLOBAL:
      return "global";
    case elf::STB_WEAK:
      return "weak";
    case elf::STB_GNU_UNIQUE:
      return "unique";
  }
  return "unknown";
}

std::string first_module(const module::File& f) {
  return f.modules.empty() ? std::string() : std::string(f.modules[0]->name);
}

struct Scan {
  const std::string* name;
  const symtab::ExportEntry* exported;
  std::vector<SymbolInfo>* out;
};

void scan_file(void* ctx, const module::File& f) {
  Scan& s = *static_cast<Scan*>(ctx);
  if (f.id == 0 || f.linked == nullptr || f.state == module::State::kLoading ||
      f.state == module::State::kGone)
    return;
  for (const link::FileSymbol& sym : f.linked->symbols()) {
    if (*s.name != sym.name) continue;
    // The export is listed first already.
    if (s.exported != nullptr && s.exported->owner == &f && s.exported->addr == sym.addr &&
        sym.bind != elf::STB_LOCAL)
      continue;
    SymbolInfo i;
    i.name = sym.name;
    i.address = sym.addr;
    i.size = sym.size;
    i.type = type_name(sym.type);
    i.bind = bind_name(sym.bind);
    i.file = f.name;
    i.module = first_module(f);
    s.out->push_back(std::move(i));
  }
}

}  // namespace

uint16_t host_machine() {
#if defined(__x86_64__)
  return elf::EM_X86_64;
#elif defined(__aarch64__)
  return elf::EM_AARCH64;
#elif defined(__riscv) && __riscv_xlen == 64
  return elf::EM_RISCV;
#else
#error "modkit hosts run on x86_64, aarch64 or riscv64"
#endif
}

std::vector<SymbolInfo> sym_lookup(System& system, const std::string& name) {
  std::vector<SymbolInfo> out;
  const symtab::ExportEntry* e = system.exports().find(name.c_str());
  if (e != nullptr) {
    SymbolInfo i;
    i.name = name;
    i.address = e->addr;
    i.size = e->size;
    i.type = type_name(e->type);
    i.bind = "global";
    i.exported = true;
    i.ns = e->ns;
    i.module = e->module;
    i.file = e->owner == nullptr || e->owner->id == 0 ? "kernel" : e->owner->name;
    out.push_back(std::move(i));
  }
  Scan scan{&name, e, &out};
  system.registry().for_each_file(&scan_file, &scan);
  return out;
}

bool addr_lookup(System& system, uint64_t address, AddressInfo* out) {
  *out = AddressInfo{};
  out->address = address;
  char text[512];
  symtab::Where w;
  if (system.addresses().lookup(address, &w)) {
    out->in_module = true;
    out->file = w.file->name;
    out->module = first_module(*w.file);
    if (w.section != nullptr) out->section = w.section->name;
    if (w.symbol != nullptr) out->symbol = w.symbol->name;
    out->offset = w.offset;
    system.addresses().describe(address, text, sizeof text);
    out->text = text;
    return true;
  }
  Dl_info info{};
  if (dladdr(reinterpret_cast<void*>(address), &info) == 0 || info.dli_fname == nullptr)
    return false;
  out->file = info.dli_fname;
  const char* slash = strrchr(info.dli_fname, '/');
  const char* base = slash != nullptr ? slash + 1 : info.dli_fname;
  if (info.dli_sname != nullptr && info.dli_saddr != nullptr) {
    out->symbol = info.dli_sname;
    out->offset = address - reinterpret_cast<uintptr_t>(info.dli_saddr);
    snprintf(text, sizeof text, "%s+%#lx [%s]", info.dli_sname,
             static_cast<unsigned long>(out->offset), base);
  } else {
    out->offset = address - reinterpret_cast<uintptr_t>(info.dli_fbase);
    snprintf(text, sizeof text, "%#lx [%s+%#lx]", static_cast<unsigned long>(address), base,
             static_cast<unsigned long>(out->offset));
  }
  out->text = text;
  return true;
}

Result<void> ksyms_image(System& system, std::vector<uint8_t>* out) {
  MallocAllocator heap;
  Vec<uint8_t> image(heap);
  MK_TRY(symtab::write_ksyms(system.registry(), system.exports(), host_machine(), heap, &image));
  out->assign(image.begin(), image.end());
  return Ok();
}

bool write_ksyms_file(System& system, const std::string& path, std::string* error) {
  std::vector<uint8_t> image;
  Result<void> r = ksyms_image(system, &image);
  if (!r) {
    *error = std::string("ksyms: ") + r.error().message();
    return false;
  }
  // Written beside the target and renamed over it: a reader sees the old
  // image or the new one, never half of one.
  std::string tmp = path + ".tmp." + std::to_string(getpid());
  int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    *error = tmp + ": " + strerror(errno);
    return false;
  }
  size_t done = 0;
  while (done < image.size()) {
    ssize_t n = write(fd, image.data() + done, image.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      *error = tmp + ": " + strerror(errno);
      close(fd);
      unlink(tmp.c_str());
      return false;
    }
    done += static_cast<size_t>(n);
  }
  if (close(fd) != 0 || rename(tmp.c_str(), path.c_str()) != 0) {
    *error = path + ": " + strerror(errno);
    unlink(tmp.c_str());
    return false;
  }
  return true;
}

}  // namespace mk::hosted
