// `modkit params [MODULE] [name=value...]`: the tunables (module parameters)
// of the modules loaded in a running kernel: all of them, one module's, or
// set some of one module's. Like `sysctl` over Linux's
// /sys/module/M/parameters.
//
// Output: one line per tunable, "module.name = value  (type, default D)
// description"; --json prints the daemon's reply. Setting prints nothing
// unless -v (then the new values). Exit status as for the other kernel
// verbs: 0 done, 1 refused (an unknown module or tunable, a bad value), 2
// usage, 3 no kernel.
#include <stdio.h>

#include <memory>
#include <string>
#include <vector>

#include "hosted/config.h"
#include "hosted/control.h"
#include "verbs.h"

namespace modkit::tool {
namespace {

namespace control = mk::hosted::control;
using control::json;

struct ParamsArgs {
  std::string socket;
  bool json_out = false;
  bool verbose = false;
  std::vector<std::string> words;  // [MODULE] [name=value...]
};

int run_params(const ParamsArgs& a) {
  json request = {{"verb", "params"}};
  json set = json::object();
  for (size_t i = 0; i < a.words.size(); ++i) {
    const std::string& w = a.words[i];
    size_t eq = w.find('=');
    if (eq == std::string::npos) {
      if (i != 0) {
        fprintf(stderr, "modkit params: \"%s\" is not name=value (the module comes first)\n",
                w.c_str());
        return 2;
      }
      request["module"] = w;
      continue;
    }
    if (eq == 0) {
      fprintf(stderr, "modkit params: \"%s\" is not name=value\n", w.c_str());
      return 2;
    }
    set[w.substr(0, eq)] = w.substr(eq + 1);
  }
  if (!set.empty()) {
    if (!request.contains("module")) {
      fprintf(stderr, "modkit params: name the module whose tunables to set first\n");
      return 2;
    }
    request["set"] = set;
  }
  std::string path =
      a.socket.empty() ? mk::hosted::default_socket_path(MODKIT_BUNDLED_CONFIG) : a.socket;
  control::Client client;
  std::string err;
  json reply;
  if (!client.connect(path, &err) || !client.call(request, &reply, &err)) {
    fprintf(stderr, "modkit params: %s\n", err.c_str());
    return 3;
  }
  if (a.json_out) printf("%s\n", reply.dump(2, ' ', false, json::error_handler_t::replace).c_str());
  if (!reply.value("ok", false)) {
    fprintf(stderr, "modkit params: %s\n", reply.value("error", std::string("?")).c_str());
    std::string code = reply.value("code", std::string("?"));
    return code == "peer_refused" || code == "too_many_clients" ? 3 : 1;
  }
  if (!a.json_out && (set.empty() || a.verbose))
    fputs(control::format_params(reply).c_str(), stdout);
  return 0;
}

}  // namespace

Run add_params(CLI::App& app) {
  auto a = std::make_shared<ParamsArgs>();
  CLI::App* sub = app.add_subcommand(
      "params", "List or set the tunables (module parameters) of loaded modules");
  sub->add_option("words", a->words,
                  "MODULE to list only its tunables, then name=value to set some of them");
  sub->add_option("--socket", a->socket, "modkitd's control socket");
  sub->add_flag("--json", a->json_out, "print the reply as JSON");
  sub->add_flag("-v,--verbose", a->verbose, "after setting, print the module's tunables");
  sub->footer(
      "Examples:\n"
      "  modkit params                       # every loaded module's tunables\n"
      "  modkit params zero                  # zero.zero_fill = 0  (uint, default 0) ...\n"
      "  modkit params zero zero_fill=0x41   # reads of /dev/zero now give 'A'\n"
      "  modkit load zero zero_fill=7        # set at load time instead\n"
      "Values: int and uint in decimal or 0x hex, bool as 0/1/true/false/yes/no/on/off,\n"
      "string up to its declared size. A bad value or name is refused (exit 1) and\n"
      "changes nothing; settings are applied in order, up to the first refused one.\n"
      "Exit status: 0 done, 1 refused by the kernel, 2 usage, 3 kernel not reachable.");
  return [a] { return run_params(*a); };
}

}  // namespace modkit::tool
