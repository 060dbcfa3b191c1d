// The modkit verbs that talk to a running kernel (modkitd) over its control
// socket (hosted/control.h): load, unload, stat, graph, log, shutdown.
//
// The socket: --socket PATH, else $MODKIT_SOCKET, else the `socket` of the
// config in $MODKIT_CONFIG or of the bundled etc/modkitd.conf.
// Exit status: 0 done; 1 the kernel refused the request (the reason on
// stderr); 2 usage; 3 the kernel cannot be reached or refused the connection.
// On success nothing is printed that a script would have to filter out: data
// verbs print their data, the others nothing unless -v.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "hosted/config.h"
#include "hosted/control.h"
#include "kernel_client.h"
#include "verbs.h"

namespace modkit::tool {
namespace {

namespace control = mk::hosted::control;
using control::json;

}  // namespace

// ---- kernel_client.h ----

const char kExitCodes[] =
    "Exit status: 0 done, 1 refused by the kernel, 2 usage, 3 kernel not reachable\n"
    "(or its reply unreadable).\n"
    "The socket: --socket, else $MODKIT_SOCKET, else the `socket` of $MODKIT_CONFIG or "
    "of\n" MODKIT_BUNDLED_CONFIG ".";

void add_common(CLI::App* sub, Common* c, bool json_flag, bool verbose_flag) {
  sub->add_option("--socket", c->socket, "modkitd's control socket");
  if (json_flag) sub->add_flag("--json", c->json_out, "print the reply as JSON");
  if (verbose_flag) sub->add_flag("-v,--verbose", c->verbose, "say what was done");
}

std::string socket_of(const Common& c) {
  return c.socket.empty() ? mk::hosted::default_socket_path(MODKIT_BUNDLED_CONFIG) : c.socket;
}

// Sends one request; on failure prints why and returns the exit status.
int call(const char* verb, const Common& c, const json& request, json* reply,
         control::Client* client) {
  std::unique_ptr<control::Client> own;
  if (client == nullptr) {
    own = std::make_unique<control::Client>();
    client = own.get();
  }
  std::string err;
  if (!client->connect(socket_of(c), &err) || !client->call(request, reply, &err)) {
    fprintf(stderr, "modkit %s: %s\n", verb, err.c_str());
    return kUnreachable;
  }
  if (reply->value("ok", false)) return 0;
  std::string code = reply->value("code", std::string("?"));
  if (c.json_out) printf("%s\n", reply->dump(2).c_str());
  std::string error = reply->value("error", std::string("?"));
  // The registry counts references without knowing what holds them; say
  // what they can be and the ways out.
  if (strcmp(verb, "unload") == 0 && code == "busy" &&
      error.find("reference(s) in use") != std::string::npos)
    error +=
        " (open files of its devices, calls into its services): close them, wait for them "
        "(--wait SECONDS, --defer), or revoke them (--force)";
  fprintf(stderr, "modkit %s: %s\n", verb, error.c_str());
  return code == "peer_refused" || code == "too_many_clients" ? kUnreachable : kRefused;
}

void print_json(const json& j) {
  printf("%s\n", j.dump(2, ' ', false, json::error_handler_t::replace).c_str());
}

namespace {

// The daemon's working directory is not ours: send absolute paths.
std::string absolute(const std::string& path) {
  std::error_code ec;
  std::filesystem::path p = std::filesystem::absolute(path, ec);
  return ec ? path : p.lexically_normal().string();
}

// ---- load ----

struct LoadArgs {
  Common c;
  std::string target;
  std::vector<std::string> params;
};

int run_load(const LoadArgs& a) {
  json request = {{"verb", "load"}};
  bool has_slash = a.target.find('/') != std::string::npos;
  bool is_ko = a.target.size() > 3 && a.target.compare(a.target.size() - 3, 3, ".ko") == 0;
  if (has_slash)
    request["path"] = absolute(a.target);
  else if (is_ko)
    request["path"] = a.target;  // searched in the module path, as kldload does
  else
    request["name"] = a.target;
  json params = json::object();
  for (const std::string& p : a.params) {
    size_t eq = p.find('=');
    if (eq == std::string::npos || eq == 0) {
      fprintf(stderr, "modkit load: \"%s\" is not param=value\n", p.c_str());
      return kUsage;
    }
    params[p.substr(0, eq)] = p.substr(eq + 1);
  }
  if (!params.empty()) request["params"] = params;
  json reply;
  int rc = call("load", a.c, request, &reply);
  if (rc != 0) return rc;
  if (a.c.json_out) {
    print_json(reply);
  } else if (a.c.verbose) {
    std::string main = reply.value("file", json::object()).value("name", "?");
    for (const json& f : reply.value("loaded", json::array()))
      printf("loaded %s (id %u%s)\n", f.value("name", "?").c_str(), f.value("id", 0u),
             f.value("name", "") == main ? "" : ", a dependency");
  }
  return 0;
}

// ---- unload ----

struct UnloadArgs {
  Common c;
  std::string name;
  double wait = -1;
  bool defer = false;
  bool cascade = false;
  bool force = false;
};

int run_unload(const UnloadArgs& a) {
  json request = {{"verb", "unload"}, {"name", a.name}, {"policy", "refuse"}};
  if (a.wait >= 0) {
    request["policy"] = "wait";
    request["timeout_ms"] = static_cast<uint64_t>(a.wait * 1000);
  }
  if (a.defer) request["policy"] = "defer";
  if (a.cascade) request["cascade"] = true;
  if (a.force) request["force"] = true;
  json reply;
  int rc = call("unload", a.c, request, &reply);
  if (rc != 0) return rc;
  if (a.c.json_out) {
    print_json(reply);
  } else if (a.c.verbose) {
    for (const json& n : reply.value("unloaded", json::array()))
      printf("unloaded %s\n", n.get<std::string>().c_str());
    if (reply.value("result", "") == "deferred")
      printf("%s: unload deferred until its last reference goes\n", a.name.c_str());
  }
  return 0;
}

// ---- stat, graph ----

int run_stat(const Common& c) {
  json reply;
  int rc = call("stat", c, {{"verb", "stat"}}, &reply);
  if (rc != 0) return rc;
  if (c.json_out)
    print_json(reply);
  else
    fputs(control::format_stat(reply, c.verbose).c_str(), stdout);
  return 0;
}

bool on_path(const char* program) {
  const char* path = getenv("PATH");
  std::string dirs = path != nullptr ? path : "/usr/bin:/bin";
  size_t s = 0;
  while (s <= dirs.size()) {
    size_t e = dirs.find(':', s);
    if (e == std::string::npos) e = dirs.size();
    std::string dir = dirs.substr(s, e - s);
    if (access(((dir.empty() ? "." : dir) + "/" + program).c_str(), X_OK) == 0) return true;
    s = e + 1;
  }
  return false;
}

int run_graph(const Common& c, const std::string& svg) {
  if (!svg.empty() && !on_path("dot")) {
    fprintf(stderr,
            "modkit graph: --svg needs Graphviz's `dot`, which is not installed (Debian: apt-get "
            "install graphviz); `modkit graph` alone prints the DOT text\n");
    return kRefused;
  }
  json reply;
  int rc = call("graph", c, {{"verb", "stat"}}, &reply);
  if (rc != 0) return rc;
  std::string dot = control::format_graph(reply);
  if (svg.empty()) {
    fputs(dot.c_str(), stdout);
    return 0;
  }
  std::string cmd = "dot -Tsvg -o '";
  for (char ch : svg)
    cmd += ch == '\'' ? std::string("'\\''") : std::string(1, ch);
  cmd += "'";
  FILE* p = popen(cmd.c_str(), "w");
  if (p == nullptr) {
    perror("modkit graph: dot");
    return kRefused;
  }
  fputs(dot.c_str(), p);
  int status = pclose(p);
  if (status != 0) {
    fprintf(stderr, "modkit graph: dot failed (status %d) writing %s\n",
            WIFEXITED(status) ? WEXITSTATUS(status) : status, svg.c_str());
    return kRefused;
  }
  return 0;
}

// ---- log, shutdown ----

int run_log(const Common& c, bool follow) {
  json request = {{"verb", "log"}};
  if (follow) request["follow"] = true;
  control::Client client;
  json reply;
  int rc = call("log", c, request, &reply, &client);
  if (rc != 0) return rc;
  for (;;) {
    if (c.json_out) {
      printf("%s\n",
             reply.dump(follow ? -1 : 2, ' ', false, json::error_handler_t::replace).c_str());
    } else {
      for (const json& l : reply.value("lines", json::array()))
        printf("%s\n", l.get<std::string>().c_str());
    }
    fflush(stdout);
    if (!follow) return 0;
    std::string err;
    if (!client.read(&reply, &err)) {
      if (err.empty()) return 0;  // the kernel went down: the end of its log
      fprintf(stderr, "modkit log: %s\n", err.c_str());
      return kUnreachable;
    }
  }
}

int run_shutdown(const Common& c) {
  json reply;
  int rc = call("shutdown", c, {{"verb", "shutdown"}}, &reply);
  if (rc != 0) return rc;
  if (c.json_out) {
    print_json(reply);
  } else if (c.verbose) {
    for (const json& l : reply.value("log", json::array()))
      printf("%s\n", l.get<std::string>().c_str());
  }
  return 0;
}

}  // namespace

int kernel_call(const char* verb, const std::string& socket, bool json_out, const json& request,
                json* reply) {
  Common c;
  c.socket = socket;
  c.json_out = json_out;
  return call(verb, c, request, reply);
}

std::vector<std::pair<CLI::App*, Run>> add_kernel_verbs(CLI::App& app) {
  std::vector<std::pair<CLI::App*, Run>> out;

  auto load = std::make_shared<LoadArgs>();
  CLI::App* sub = app.add_subcommand(
      "load", "Load a module into the running kernel: by name (with its dependencies) or file");
  sub->add_option("module", load->target,
                  "a module name (looked up in the module path's hints index), or a .ko file "
                  "(a path with '/' is relative to here; a bare FILE.ko is searched in the "
                  "module path)")
      ->required();
  sub->add_option("params", load->params, "module parameters, param=value");
  add_common(sub, &load->c, true, true);
  sub->footer(std::string("Examples:\n  modkit load chain_top       # and chain_mid, chain_base\n"
                          "  modkit load ./build/modules/hello.ko -v\n") +
              kExitCodes);
  out.emplace_back(sub, [load] { return run_load(*load); });

  auto unload = std::make_shared<UnloadArgs>();
  sub = app.add_subcommand("unload", "Unload the file of a module from the running kernel");
  sub->add_option("module", unload->name, "the module's name")->required();
  CLI::Option* wait = sub->add_option("--wait", unload->wait,
                                      "wait up to SECONDS for references held on it to drain");
  wait->check(CLI::Range(0.0, 86400.0));
  CLI::Option* defer =
      sub->add_flag("--defer", unload->defer, "finish the unload when its last reference goes");
  wait->excludes(defer);
  sub->add_flag("--cascade", unload->cascade, "unload the files that use it first");
  sub->add_flag("--force", unload->force,
                "revoke its open devices first (their open descriptors get ENXIO), then wait "
                "for calls running in it (up to --wait, 5 s by default)");
  add_common(sub, &unload->c, true, true);
  sub->footer(
      std::string("Examples:\n  modkit unload chain_top\n"
                  "  modkit unload chain_base --cascade -v   # chain_top, chain_mid too\n"
                  "  modkit unload echo --force              # even while /dev/echo is open\n") +
      "A module in use by another file is refused (exit 1), naming the users; so is one\n"
      "with a device open, unless --wait (until it is closed) or --force.\n" +
      kExitCodes);
  out.emplace_back(sub, [unload] { return run_unload(*unload); });

  auto stat = std::make_shared<Common>();
  sub = app.add_subcommand("stat", "The loaded files (Id Refs Address Size Name), like kldstat");
  add_common(sub, stat.get(), true, false);
  sub->add_flag("-v,--verbose", stat->verbose, "also each file's modules, versions and states");
  sub->footer(std::string("Examples:\n  modkit stat -v\n  modkit stat --json | jq '.files[].name'\n"
                          "Refs counts 1 + the files holding a reference on it, as kldstat.\n") +
              kExitCodes);
  out.emplace_back(sub, [stat] { return run_stat(*stat); });

  auto graph = std::make_shared<std::pair<Common, std::string>>();
  sub = app.add_subcommand("graph", "The dependency graph of the loaded files, as Graphviz DOT");
  add_common(sub, &graph->first, false, false);
  sub->add_option("--svg", graph->second, "write SVG to FILE instead (needs Graphviz's dot)");
  sub->footer(std::string("Examples:\n  modkit graph > deps.dot\n  modkit graph --svg deps.svg\n") +
              kExitCodes);
  out.emplace_back(sub, [graph] { return run_graph(graph->first, graph->second); });

  auto log = std::make_shared<std::pair<Common, bool>>();
  log->second = false;
  sub = app.add_subcommand("log", "The kernel's log (module events, loads, unloads)");
  add_common(sub, &log->first, true, false);
  sub->add_flag("-f,--follow", log->second,
                "keep printing new lines until the kernel shuts down (like dmesg -w)");
  sub->footer(std::string("Examples:\n  modkit log\n  modkit log --follow > kernel.log &\n") +
              kExitCodes);
  out.emplace_back(sub, [log] { return run_log(log->first, log->second); });

  auto down = std::make_shared<Common>();
  sub = app.add_subcommand(
      "shutdown", "Shut the kernel down: SHUTDOWN to every module, dependents first; unload all");
  add_common(sub, down.get(), true, true);
  sub->footer(std::string("Example:\n  modkit shutdown -v   # print what the shutdown logged\n"
                          "Returns once every file is unloaded.\n") +
              kExitCodes);
  out.emplace_back(sub, [down] { return run_shutdown(*down); });
  return out;
}

}  // namespace modkit::tool
