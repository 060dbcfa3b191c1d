// modkit devices [--json]: the bus tree of a running kernel, each device with
// its identity and the driver attached to it (devinfo, kldstat for devices).
// modkit device add BUS [vendor=ID] [device=ID] [compat=S]... [key=value]...:
// hot-plug a device on a bus (the simulated bus `simbus`); when no driver
// takes it, the kernel loads the module the hints index names for it.
// modkit device remove BUS:UNIT: hot-unplug (its driver detaches first, and
// may refuse).
#include <stdio.h>

#include <string>
#include <vector>

#include "kernel_client.h"
#include "verbs.h"

namespace modkit::tool {
namespace {

using mk::hosted::control::json;

struct DevicesArgs {
  Common c;
};

struct AddArgs {
  Common c;
  std::vector<std::string> spec;
};

struct RemoveArgs {
  Common c;
  std::string name;
};

int run_devices(const DevicesArgs& a) {
  json reply;
  int rc = call("devices", a.c, {{"verb", "devices"}}, &reply);
  if (rc != 0) return rc;
  if (a.c.json_out) {
    print_json(reply);
  } else {
    fputs(mk::hosted::control::format_devices(reply).c_str(), stdout);
  }
  return 0;
}

int run_add(const AddArgs& a) {
  std::string spec;
  for (const std::string& w : a.spec)
    spec += (spec.empty() ? "" : " ") + w;
  json reply;
  int rc = call("device add", a.c, {{"verb", "device_add"}, {"spec", spec}}, &reply);
  if (rc != 0) return rc;
  if (a.c.json_out) {
    print_json(reply);
    return 0;
  }
  std::string err = reply.value("autoload_error", std::string());
  if (!err.empty())
    fprintf(stderr, "modkit device add: no driver: loading %s failed: %s\n",
            reply.value("autoload", std::string()).c_str(), err.c_str());
  if (!a.c.verbose) return 0;
  const json& d = reply["device"];
  if (d.is_null()) return 0;
  std::string name = d.value("name", std::string());
  if (d["instance"].is_null())
    printf("%s: no driver\n", name.c_str());
  else
    printf("%s: attached %s\n", name.c_str(), d["instance"].get<std::string>().c_str());
  for (const json& f : reply["loaded"])
    printf("loaded %s\n", f.get<std::string>().c_str());
  return 0;
}

int run_remove(const RemoveArgs& a) {
  json reply;
  int rc = call("device remove", a.c, {{"verb", "device_remove"}, {"name", a.name}}, &reply);
  if (rc != 0) return rc;
  if (a.c.json_out) print_json(reply);
  if (a.c.verbose) printf("%s: removed\n", a.name.c_str());
  return 0;
}

}  // namespace

std::vector<std::pair<CLI::App*, Run>> add_device_verbs(CLI::App& app) {
  static DevicesArgs devices;
  static AddArgs add;
  static RemoveArgs remove;
  std::vector<std::pair<CLI::App*, Run>> out;

  CLI::App* ls = app.add_subcommand("devices", "The bus tree: devices and their drivers");
  add_common(ls, &devices.c, true, false);
  ls->footer(std::string("Each bus, then each device on it: its name (BUS:UNIT), the driver\n"
                         "instance attached (or `(no driver)') and its module, its ids,\n"
                         "compatible strings and attach arguments; then the drivers.\n\n"
                         "Example:\n"
                         "  modkit devices\n"
                         "  simbus\n"
                         "    simbus:0   simdrv0 (module simdrv)  vendor=0x1af4 "
                         "device=0x1001 label=left\n"
                         "  drivers\n"
                         "    simdrv     on simbus, priority 10, module simdrv, 1 device(s)\n\n") +
             kExitCodes);
  out.emplace_back(ls, [] { return run_devices(devices); });

  CLI::App* dev = app.add_subcommand("device", "Hot-plug or unplug a device (add, remove)");
  dev->require_subcommand(1);
  dev->footer(std::string("Examples:\n"
                          "  modkit device add simbus vendor=0x1af4 device=0x1001 label=left\n"
                          "  modkit device remove simbus:0\n\n") +
              kExitCodes);
  CLI::App* a =
      dev->add_subcommand("add", "Add a device to a bus; its driver is loaded if need be");
  add_common(a, &add.c, true, true);
  a->add_option("SPEC", add.spec, "BUS [vendor=ID] [device=ID] [compat=STRING]... [key=value]...")
      ->required()
      ->expected(1, -1);
  a->footer(std::string("Adds a device to BUS and probes it. When no driver takes it, the kernel\n"
                        "loads the module whose driver matches it best according to the hints\n"
                        "index (modkit xref), with its dependencies. Other key=value pairs are\n"
                        "the device's attach arguments. Prints nothing unless -v or --json.\n\n"
                        "Example:\n"
                        "  modkit device add -v simbus vendor=0x1af4 device=0x1001 label=left\n"
                        "  simbus:0: attached simdrv0\n\n") +
            kExitCodes);
  out.emplace_back(a, [] { return run_add(add); });

  CLI::App* r = dev->add_subcommand("remove", "Remove a device (its driver detaches first)");
  add_common(r, &remove.c, true, true);
  r->add_option("NAME", remove.name, "the device, BUS:UNIT as `modkit devices' shows it")
      ->required();
  r->footer(std::string("A driver may refuse to detach (the device is busy): the device stays,\n"
                        "the reason is printed and the exit status is 1.\n\n"
                        "Example:\n"
                        "  modkit device remove simbus:0\n\n") +
            kExitCodes);
  out.emplace_back(r, [] { return run_remove(remove); });
  return out;
}

}  // namespace modkit::tool
