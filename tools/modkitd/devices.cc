// modkitd's device verbs (hosted/control.h): `devices` (the bus tree with
// attached drivers), `device_add` (hot-plug, with the driver's module loaded
// from the hints index when nothing drives the device) and `device_remove`
// (hot-unplug), and the config's `device =` lines at boot.
#include <map>
#include <string>

#include "bus/newbus.h"
#include "hosted/devices.h"
#include "kernel_service.h"

namespace modkitd {

namespace control = mk::hosted::control;
using control::error_reply;

namespace {

struct Listing {
  json buses = json::array();
  json devices = json::array();
  json drivers = json::array();
};

// The loaded files by id (what an auto-load brought in is the difference).
std::map<uint32_t, std::string> files(mk::hosted::System& s) {
  std::map<uint32_t, std::string> out;
  s.registry().for_each_file(
      [](void* ctx, const mk::module::File& f) {
        (*static_cast<std::map<uint32_t, std::string>*>(ctx))[f.id] = f.name;
      },
      &out);
  return out;
}

const char* owner_name(const mk::module::Module* m) {
  return m == nullptr ? "kernel" : m->name;
}

}  // namespace

json device_json(const mk::bus::Device& d) {
  json compat = json::array();
  for (size_t i = 0; i < d.ncompat; ++i)
    compat.push_back(d.compat[i]);
  char args[mk::bus::kArgsMax];
  d.args_text(args, sizeof args);
  json j = {{"name", d.name},      {"bus", d.bus},     {"unit", d.unit}, {"vendor", d.vendor},
            {"device", d.device},  {"compat", compat}, {"args", args},   {"driver", nullptr},
            {"instance", nullptr}, {"module", nullptr}};
  if (d.driver != nullptr) {
    j["driver"] = d.driver->name;
    j["instance"] = std::string(d.driver->name) + std::to_string(d.driver_unit);
    j["module"] = owner_name(d.driver->owner);
  }
  return j;
}

json KernelService::do_devices() {
  Listing l;
  mk::bus::Newbus& nb = system_->buses().newbus();
  nb.for_each_bus(
      [](void* ctx, const char* bus) { static_cast<Listing*>(ctx)->buses.push_back(bus); }, &l);
  nb.for_each_device(
      [](void* ctx, const mk::bus::Device& d) {
        static_cast<Listing*>(ctx)->devices.push_back(device_json(d));
      },
      &l);
  nb.for_each_driver(
      [](void* ctx, const mk::bus::Driver& d) {
        static_cast<Listing*>(ctx)->drivers.push_back({{"name", d.name},
                                                       {"bus", d.bus},
                                                       {"priority", d.priority},
                                                       {"module", owner_name(d.owner)},
                                                       {"attached", d.attached}});
      },
      &l);
  return json{{"ok", true}, {"buses", l.buses}, {"devices", l.devices}, {"drivers", l.drivers}};
}

// Under change_mu_: an auto-load is a load like any other.
json KernelService::add_device(const std::string& spec) {
  std::map<uint32_t, std::string> before = files(*system_);
  mk::Result<mk::hosted::DeviceAdded> r = system_->buses().add(spec);
  if (!r) return error_reply(r.error());
  json reply = {{"ok", true}, {"autoload", r.value().autoload}};
  if (!r.value().autoload_error.empty()) reply["autoload_error"] = r.value().autoload_error;
  json loaded = json::array();
  for (const auto& [id, name] : files(*system_))
    if (before.count(id) == 0) loaded.push_back(name);
  reply["loaded"] = loaded;
  reply["device"] = nullptr;
  mk::bus::Newbus& nb = system_->buses().newbus();
  struct Find {
    std::string name;
    json* out;
  } find{r.value().name, &reply["device"]};
  nb.for_each_device(
      [](void* ctx, const mk::bus::Device& d) {
        auto* f = static_cast<Find*>(ctx);
        if (f->name == d.name) *f->out = device_json(d);
      },
      &find);
  return reply;
}

json KernelService::do_device_add(const json& r) {
  if (!r.contains("spec") || !r["spec"].is_string())
    return error_reply("bad_request",
                       "device_add takes a \"spec\": \"BUS [vendor=ID] [device=ID] "
                       "[compat=STRING]... [key=value]...\"");
  std::string spec = r["spec"].get<std::string>();
  if (spec.size() > 1024) return error_reply("bad_request", "device_add: spec over 1024 bytes");
  std::lock_guard<std::mutex> g(change_mu_);
  if (down_) return error_reply("shutting_down", "the kernel is shutting down");
  return add_device(spec);
}

json KernelService::do_device_remove(const json& r) {
  if (!r.contains("name") || !r["name"].is_string())
    return error_reply("bad_request", "device_remove takes a device \"name\" (BUS:UNIT)");
  std::string name = r["name"].get<std::string>();
  std::lock_guard<std::mutex> g(change_mu_);
  if (down_) return error_reply("shutting_down", "the kernel is shutting down");
  mk::Result<void> d = system_->buses().remove(name);
  if (!d) return error_reply(d.error());
  return json{{"ok", true}};
}

void KernelService::add_config_devices() {
  for (const mk::hosted::DeviceLine& line : config_.devices) {
    json reply;
    {
      std::lock_guard<std::mutex> g(change_mu_);
      reply = add_device(line.text);
    }
    std::string who = "device " + line.text + " (" + line.origin + ")";
    if (!reply.value("ok", false)) {
      log(who + ": refused: " + reply.value("error", std::string("?")));
      continue;
    }
    std::string err = reply.value("autoload_error", std::string());
    if (!err.empty()) log(who + ": the auto-load failed: " + err);
  }
}

}  // namespace modkitd
