// modkit sym NAME | --addr ADDR | --ksyms OUT  [--load X.ko ...] [--json]
//
// Symbol queries of a kernel: where a symbol is (address, owner, size,
// type), who owns an address (file, module and nearest symbol), and the
// ksyms image (an ELF file nm, readelf and gdb read). Until the verb talks to
// modkitd, it boots a kernel in this process, loads the --load files into
// it, and answers about that kernel.
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include <string>
#include <vector>

#include "hosted/symbols.h"
#include "hosted/system.h"
#include "verbs.h"

namespace modkit::tool {
namespace {

struct SymOptions {
  std::string name;
  std::string addr;
  std::string ksyms;
  std::vector<std::string> load;
  std::vector<std::string> module_path;
  bool json = false;
};

void complain(const std::string& what) {
  fprintf(stderr, "modkit sym: %s\n", what.c_str());
}

std::string json_string(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    unsigned char u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (u < 0x20) {
      char buf[8];
      snprintf(buf, sizeof buf, "\\u%04x", u);
      out += buf;
    } else {
      out += c;
    }
  }
  return out + "\"";
}

std::string hex(uint64_t v) {
  char buf[24];
  snprintf(buf, sizeof buf, "0x%016lx", static_cast<unsigned long>(v));
  return buf;
}

// The directory part of a path ("." for a bare name).
std::string dir_of(const std::string& path) {
  size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

int run_sym(const SymOptions& o) {
  int asked = !o.name.empty() + !o.addr.empty() + !o.ksyms.empty();
  if (asked != 1) {
    complain("give exactly one of NAME, --addr ADDR or --ksyms OUT (see --help)");
    return 2;
  }
  uint64_t address = 0;
  if (!o.addr.empty()) {
    char* end = nullptr;
    errno = 0;
    address = strtoull(o.addr.c_str(), &end, 0);
    if (errno != 0 || end == o.addr.c_str() || *end != '\0') {
      complain("--addr: `" + o.addr + "' is not an address (0x... or decimal)");
      return 2;
    }
  }

  mk::hosted::SystemConfig config;
  config.module_path = o.module_path;
  if (config.module_path.empty())  // dependencies next to the files given
    for (const std::string& f : o.load)
      config.module_path.push_back(dir_of(f));
  mk::hosted::System system(config);
  mk::Result<mk::module::File*> k = system.boot();
  if (!k) {
    complain(std::string("boot: ") + k.error().message());
    return 1;
  }
  for (const std::string& f : o.load) {
    mk::Result<mk::module::File*> r = system.registry().load_path(f.c_str());
    if (!r) {
      complain(f + ": " + r.error().message());
      return 1;
    }
  }

  if (!o.ksyms.empty()) {
    std::string err;
    if (!mk::hosted::write_ksyms_file(system, o.ksyms, &err)) {
      complain(err);
      return 1;
    }
    return 0;
  }
  if (!o.name.empty()) {
    std::vector<mk::hosted::SymbolInfo> found = mk::hosted::sym_lookup(system, o.name);
    print_symbols(found, o.json);
    if (found.empty() && !o.json) complain("no symbol `" + o.name + "'");
    return found.empty() ? 1 : 0;
  }
  mk::hosted::AddressInfo info;
  bool known = mk::hosted::addr_lookup(system, address, &info);
  print_address(info, known, o.json);
  if (!known && !o.json) complain(hex(address) + ": not in the kernel or any loaded file");
  return known ? 0 : 1;
}

}  // namespace

void print_symbols(const std::vector<mk::hosted::SymbolInfo>& symbols, bool json) {
  if (!json) {
    for (const mk::hosted::SymbolInfo& s : symbols) {
      std::string owner = s.module.empty() ? s.file : s.module;
      printf("%s %8lu %-6s %-6s %s [%s]%s\n", hex(s.address).c_str(),
             static_cast<unsigned long>(s.size), s.type.c_str(), s.bind.c_str(), s.name.c_str(),
             owner.c_str(), s.exported ? " exported" : "");
    }
    return;
  }
  printf("[");
  for (size_t i = 0; i < symbols.size(); ++i) {
    const mk::hosted::SymbolInfo& s = symbols[i];
    printf(
        "%s\n  {\"name\": %s, \"address\": \"%s\", \"size\": %lu, \"type\": %s, \"bind\": %s, "
        "\"file\": %s, \"module\": %s, \"exported\": %s}",
        i == 0 ? "" : ",", json_string(s.name).c_str(), hex(s.address).c_str(),
        static_cast<unsigned long>(s.size), json_string(s.type).c_str(),
        json_string(s.bind).c_str(), json_string(s.file).c_str(), json_string(s.module).c_str(),
        s.exported ? "true" : "false");
  }
  printf(symbols.empty() ? "]\n" : "\n]\n");
}

void print_address(const mk::hosted::AddressInfo& a, bool known, bool json) {
  if (!json) {
    if (!known) return;
    printf("%s %s", hex(a.address).c_str(), a.text.c_str());
    if (!a.section.empty()) printf(" section %s", a.section.c_str());
    printf(" file %s\n", a.file.c_str());
    return;
  }
  if (!known) {
    printf("{\"address\": \"%s\", \"found\": false}\n", hex(a.address).c_str());
    return;
  }
  printf(
      "{\"address\": \"%s\", \"found\": true, \"in_module\": %s, \"file\": %s, \"module\": %s, "
      "\"section\": %s, \"symbol\": %s, \"offset\": %lu, \"text\": %s}\n",
      hex(a.address).c_str(), a.in_module ? "true" : "false", json_string(a.file).c_str(),
      json_string(a.module).c_str(), json_string(a.section).c_str(), json_string(a.symbol).c_str(),
      static_cast<unsigned long>(a.offset), json_string(a.text).c_str());
}

Run add_sym(CLI::App& app) {
  static SymOptions options;  // CLI11 writes into it; lives as long as the process
  SymOptions* o = &options;
  CLI::App* sub =
      app.add_subcommand("sym", "Look up kernel symbols and addresses, or write the ksyms image");
  sub->add_option("NAME", o->name, "a symbol name: its address, size, type and owner");
  sub->add_option("--addr", o->addr, "an address (0x... or decimal): its owner and nearest symbol")
      ->option_text("ADDR");
  sub->add_option("--ksyms", o->ksyms,
                  "write the ksyms image (an ELF file of every kernel and module symbol) to OUT")
      ->option_text("OUT");
  // One value per flag: `--load a.ko NAME` must leave NAME to the query.
  sub->add_option("--load", o->load, "load this module file first (repeatable)")
      ->check(CLI::ExistingFile)
      ->allow_extra_args(false)
      ->option_text("X.ko");
  sub->add_option("--module-path", o->module_path,
                  "where dependencies are found (repeatable; default: the --load files' dirs)")
      ->allow_extra_args(false)
      ->option_text("DIR");
  sub->add_flag("--json", o->json, "print the answer as JSON");
  sub->footer(
      "Until it talks to modkitd, the verb boots a kernel in this process and loads the\n"
      "--load files into it: the addresses are those of that kernel.\n"
      "Exit status: 0 found (or written), 1 not found or a load failed, 2 usage error.\n\n"
      "Examples:\n"
      "  modkit sym --load echo.ko echo_write\n"
      "  modkit sym --load echo.ko --addr 0x7f12a0001040 --json\n"
      "  modkit sym --load echo.ko --ksyms /tmp/ksyms && nm -n /tmp/ksyms");
  return [o] { return run_sym(*o); };
}

}  // namespace modkit::tool
