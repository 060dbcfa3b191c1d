// modkit link FILE.ko --base ADDR [--symbols FILE] -o OUT [--align N] [--json]
//
// Relocates a module, of any machine modkit links, for a fixed load address,
// without running it: what a boot loader that preloads modules needs, and a
// way to check modkit's relocations against another linker byte for byte.
// The core linker does the work (the same phases as a load; a FixedPlacer
// instead of the arena decides where the blocks go); the module's imports
// resolve against the --symbols list (symbol_list.h). Calls that cannot
// reach their target go through stubs (veneers), as in a load; they are in
// the output too (link_image.h).
//
// Exit status: 0 written; 1 refused (unreadable or invalid input, undefined
// symbols — each listed on its own line —, a placement or relocation out of
// range; nothing is written then); 2 usage.
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "arch/machine.h"
#include "elf/validate.h"
#include "hosted/malloc_allocator.h"
#include "link/arena.h"
#include "link/linker.h"
#include "link_image.h"
#include "object_file.h"
#include "platform/page_memory.h"
#include "symbol_list.h"
#include "verbs.h"

namespace modkit::tool {
namespace {

struct LinkOptions {
  std::string file;
  std::string base;
  std::string symbols;
  std::string out;
  std::string align = "0x1000";
  bool json = false;
};

void complain(const std::string& what) {
  fprintf(stderr, "modkit link: %s\n", what.c_str());
}

// The linker needs an arena; an offline link places its blocks itself
// (FixedPlacer), so nothing is ever mapped.
class NoPages final : public mk::PageMemory {
 public:
  size_t page_size() const override { return 4096; }
  mk::Result<mk::Mapping> map(uintptr_t, uintptr_t, size_t, mk::Prot) override {
    return mk::Error(mk::Errc::kNoMemory, "an offline link maps no memory");
  }
  void unmap(const mk::Mapping&) override {}
};

bool parse_address(const std::string& text, const char* what, uint64_t* out) {
  const char* s = text.c_str();
  char* end = nullptr;
  errno = 0;
  unsigned long long v = strtoull(s, &end, 0);
  if (text.empty() || text[0] == '-' || errno != 0 || *end != '\0') {
    complain(std::string(what) + " `" + text + "' is not an address (e.g. 0xffffffffc0000000)");
    return false;
  }
  *out = v;
  return true;
}

void report_unresolved(void* ctx, const mk::link::Unresolved& u) {
  const std::string* symbols = static_cast<const std::string*>(ctx);
  fprintf(stderr, "modkit link: undefined symbol `%s' (referenced from %s %s+0x%lx)%s\n", u.name,
          u.object, u.section, static_cast<unsigned long>(u.offset),
          symbols->empty() ? "" : (", not in " + *symbols).c_str());
}

bool write_output(const std::string& path, const std::vector<uint8_t>& bytes) {
  FILE* f = fopen(path.c_str(), "wb");
  if (f == nullptr) {
    complain(path + ": " + strerror(errno));
    return false;
  }
  bool ok = fwrite(bytes.data(), 1, bytes.size(), f) == bytes.size();
  int saved = errno;
  ok = fclose(f) == 0 && ok;
  if (!ok) {
    complain(path + ": " + strerror(saved != 0 ? saved : errno));
    unlink(path.c_str());
  }
  return ok;
}

int run_link(const LinkOptions& o) {
  uint64_t base = 0, align = 0;
  if (!parse_address(o.base, "--base", &base) || !parse_address(o.align, "--align", &align))
    return 2;
  if (align == 0 || (align & (align - 1)) != 0) {
    complain("--align " + o.align + " is not a power of two");
    return 2;
  }
  if (base % align != 0) {
    complain("--base " + hex(base) + " is not a multiple of --align " + hex(align));
    return 2;
  }

  SymbolList symbols;
  std::string err;
  if (!o.symbols.empty() && !symbols.read(o.symbols, &err)) {
    complain(err);
    return 1;
  }
  std::vector<uint8_t> bytes;
  if (!read_whole_file(o.file, &bytes, &err)) {
    complain(o.file + ": " + err);
    return 1;
  }
  mk::hosted::MallocAllocator alloc;
  auto obj =
      mk::elf::validate(mk::ByteView(bytes.data(), bytes.size()), mk::arch::rules_for, alloc);
  if (!obj) {
    complain(o.file + ": " + obj.error().message());
    return 1;
  }

  NoPages pages;
  mk::link::Arena arena(pages, alloc);
  mk::link::Linker linker(arena, alloc, nullptr, static_cast<uintptr_t>(base));
  FixedPlacer placer(base, align);
  const mk::elf::ValidatedObject* objects[] = {&obj.value()};
  const char* names[] = {o.file.c_str()};
  mk::link::LinkRequest req;
  req.objects = objects;
  req.count = 1;
  req.names = names;
  req.resolver = &symbols;
  req.home = static_cast<uintptr_t>(base);
  req.placer = &placer;
  req.run_constructors = false;
  req.on_unresolved = &report_unresolved;
  req.ctx = const_cast<std::string*>(&o.symbols);
  auto linked = linker.link(req);
  if (!linked) {
    if (linked.error().code() != mk::Errc::kUnresolved)  // each already listed
      complain(linked.error().message());
    return 1;
  }

  std::vector<uint8_t> image;
  std::vector<PlacedSection> layout;
  bool written = write_linked_image(*linked.value(), {&obj.value()}, placer, &image, &layout, &err);
  linker.unlink(linked.value());
  if (!written) {
    complain(o.out + ": " + err);
    return 1;
  }
  if (!write_output(o.out, image)) return 1;
  if (o.json) {
    nlohmann::ordered_json j;
    j["file"] = o.file;
    j["output"] = o.out;
    j["base"] = hex(base);
    j["sections"] = nlohmann::ordered_json::array();
    for (const PlacedSection& s : layout)
      j["sections"].push_back(
          {{"name", s.name}, {"addr", hex(s.addr)}, {"size", s.size}, {"generated", s.generated}});
    printf("%s\n", j.dump(2).c_str());
  }
  return 0;
}

}  // namespace

Run add_link(CLI::App& app) {
  static LinkOptions options;  // CLI11 writes into it; lives as long as the process
  LinkOptions* o = &options;
  CLI::App* sub = app.add_subcommand(
      "link", "Relocate a module for a fixed load address into an ELF image, without running it");
  sub->add_option("FILE", o->file, "the module (.ko) or object (.o) to link")->required();
  sub->add_option("--base", o->base, "ADDR: where the module's first block (its text) goes")
      ->required();
  sub->add_option("--symbols", o->symbols,
                  "FILE: what its imports resolve to: `name address' lines, nm or kallsyms "
                  "`address type name' lines, or an ELF file's symbol table (a ksyms image)");
  sub->add_option("-o,--output", o->out, "OUT: the ELF image to write")->required();
  sub->add_option("--align", o->align,
                  "N: each permission class (text, rodata, data, init text) starts at a "
                  "multiple of N (default 0x1000)");
  sub->add_flag("--json", o->json, "print the output's sections and addresses as JSON");
  sub->footer(
      "Links FILE as a load would (the same linker: layout, stubs, relocations), with its\n"
      "blocks laid out from ADDR (text, read-only data, data, init-only text), and writes\n"
      "OUT: an ELF image whose sections carry their final addresses and relocated\n"
      "contents, the linker's branch stubs (.modkit.stubs), GOT (.modkit.got) and COMMON\n"
      "symbols (.modkit.common), and a symbol table with final values. Nothing runs.\n"
      "Exit status: 0 written; 1 refused (each undefined symbol is listed on its own\n"
      "line; nothing is written); 2 usage.\n\n"
      "Example:\n"
      "  nm -g --defined-only vmlinux > kernel.syms\n"
      "  modkit link echo.ko --base 0xffffffffc0000000 --symbols kernel.syms -o echo.elf\n"
      "  modkit link echo.ko --base 0x40000000 --symbols ksyms.elf -o echo.elf --json");
  return [o] { return run_link(*o); };
}

}  // namespace modkit::tool
