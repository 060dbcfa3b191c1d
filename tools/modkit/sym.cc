// modkit sym NAME | --addr ADDR | --ksyms OUT  [--json] [--socket PATH]
//
// Symbol queries of the running kernel (modkitd), over its control socket's
// `sym` request (hosted/control.h): where a symbol is (address, size, type,
// binding, owner, namespace), who owns an address (file, module, section and
// nearest symbol), and the ksyms image of the kernel as it is now (an ELF
// file nm, readelf and gdb read), which the kernel writes to OUT.
//
// Exit status: 0 found (or written); 1 not found, or the kernel refused (the
// reason on stderr); 2 usage; 3 no kernel to ask (kernel_verbs.cc). The text
// forms are the console's (control::format_reply); --json prints the answer
// as data with addresses as hex strings.
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include <filesystem>
#include <string>
#include <vector>

#include "hosted/control.h"
#include "hosted/symbols.h"
#include "verbs.h"

namespace modkit::tool {
namespace {

namespace control = mk::hosted::control;
using control::json;

struct SymOptions {
  std::string name;
  std::string addr;
  std::string ksyms;
  std::string socket;
  bool json = false;
};

constexpr int kNotFound = 1;
constexpr int kUsage = 2;

void complain(const std::string& what) {
  fprintf(stderr, "modkit sym: %s\n", what.c_str());
}

std::string hex(uint64_t v) {
  char buf[24];
  snprintf(buf, sizeof buf, "0x%016lx", static_cast<unsigned long>(v));
  return buf;
}

json symbols_json(const json& reply) {
  json out = json::array();
  for (const json& j : reply.value("symbols", json::array())) {
    mk::hosted::SymbolInfo s = control::symbol_from_json(j);
    out.push_back(json{{"name", s.name},
                       {"address", hex(s.address)},
                       {"size", s.size},
                       {"type", s.type},
                       {"bind", s.bind},
                       {"file", s.file},
                       {"module", s.module},
                       {"exported", s.exported},
                       {"namespace", s.ns}});
  }
  return out;
}

json address_json(const json& reply) {
  mk::hosted::AddressInfo a;
  bool found = control::address_from_json(reply, &a);
  if (!found) return json{{"address", hex(a.address)}, {"found", false}};
  return json{{"address", hex(a.address)},
              {"found", true},
              {"in_module", a.in_module},
              {"file", a.file},
              {"module", a.module},
              {"section", a.section},
              {"symbol", a.symbol},
              {"offset", a.offset},
              {"text", a.text}};
}

void print(const json& j) {
  printf("%s\n", j.dump(2, ' ', false, json::error_handler_t::replace).c_str());
}

int run_sym(const SymOptions& o) {
  int asked = !o.name.empty() + !o.addr.empty() + !o.ksyms.empty();
  if (asked != 1) {
    complain("give exactly one of NAME, --addr ADDR or --ksyms OUT (see --help)");
    return kUsage;
  }
  json request = {{"verb", "sym"}};
  if (!o.addr.empty()) {
    char* end = nullptr;
    errno = 0;
    uint64_t address = strtoull(o.addr.c_str(), &end, 0);
    if (errno != 0 || end == o.addr.c_str() || *end != '\0' || o.addr[0] == '-') {
      complain("--addr: `" + o.addr + "' is not an address (0x... or decimal)");
      return kUsage;
    }
    request["address"] = address;
  } else if (!o.ksyms.empty()) {
    // The kernel writes the file, from its own working directory.
    std::error_code ec;
    std::filesystem::path p = std::filesystem::absolute(o.ksyms, ec);
    request["ksyms"] = ec ? o.ksyms : p.lexically_normal().string();
  } else {
    request["name"] = o.name;
  }

  json reply;
  int rc = kernel_call("sym", o.socket, o.json, request, &reply);
  if (rc != 0) return rc;

  if (!o.ksyms.empty()) {
    if (o.json) print(json{{"path", reply.value("path", "")}});
    return 0;  // written: nothing to say
  }
  if (!o.name.empty()) {
    json found = symbols_json(reply);
    if (o.json)
      print(found);
    else if (!found.empty())
      fputs(control::format_reply(request, reply).c_str(), stdout);
    if (found.empty() && !o.json) complain("no symbol `" + o.name + "' in the running kernel");
    return found.empty() ? kNotFound : 0;
  }
  json where = address_json(reply);
  bool known = where.value("found", false);
  if (o.json)
    print(where);
  else if (known)
    fputs(control::format_reply(request, reply).c_str(), stdout);
  if (!known && !o.json)
    complain(where.value("address", "") + ": not in the kernel or any loaded file");
  return known ? 0 : kNotFound;
}

}  // namespace

Run add_sym(CLI::App& app) {
  static SymOptions options;  // CLI11 writes into it; lives as long as the process
  SymOptions* o = &options;
  CLI::App* sub = app.add_subcommand(
      "sym", "Look up symbols and addresses in the running kernel, or write its ksyms image");
  sub->add_option("NAME", o->name, "a symbol name: its address, size, type and owner");
  sub->add_option("--addr", o->addr, "an address (0x... or decimal): its owner and nearest symbol")
      ->option_text("ADDR");
  sub->add_option("--ksyms", o->ksyms,
                  "have the kernel write its ksyms image (an ELF file of every kernel and "
                  "module symbol at its current address) to OUT")
      ->option_text("OUT");
  sub->add_option("--socket", o->socket, "modkitd's control socket");
  sub->add_flag("--json", o->json, "print the answer as JSON");
  sub->footer(
      "The kernel is the running modkitd: the socket is --socket, else $MODKIT_SOCKET, else\n"
      "the `socket` of $MODKIT_CONFIG or of the bundled config.\n"
      "Exit status: 0 found (or written), 1 not found or refused by the kernel, 2 usage,\n"
      "3 no kernel to ask.\n\n"
      "Examples:\n"
      "  modkit sym chain_mid_value\n"
      "  modkit sym --addr 0x7f12a0001040 --json\n"
      "  modkit sym --ksyms /tmp/ksyms && nm -n /tmp/ksyms");
  return [o] { return run_sym(*o); };
}

}  // namespace modkit::tool
