#include "hosted/devices.h"

#include <errno.h>
#include <stdlib.h>

#include <new>

#include "hosted/kpi_errno.h"
#include "hosted/system.h"
#include "module/hints.h"
#include "module/metadata.h"

extern "C" {
extern const uint8_t __start_modkit_modinfo[] __attribute__((weak));
extern const uint8_t __stop_modkit_modinfo[] __attribute__((weak));
}

namespace mk::hosted {
namespace {

// 0x-prefixed hexadecimal or decimal, the whole string, a uint32.
bool parse_id(const std::string& s, uint32_t* out) {
  if (s.empty()) return false;
  bool hex = s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X');
  const std::string digits = hex ? s.substr(2) : s;
  if (digits.empty() || digits.size() > (hex ? 8u : 10u)) return false;
  for (char c : digits)
    if (!(hex ? isxdigit(static_cast<unsigned char>(c)) : isdigit(static_cast<unsigned char>(c))))
      return false;
  unsigned long long v = strtoull(digits.c_str(), nullptr, hex ? 16 : 10);
  if (v > UINT32_MAX) return false;
  *out = static_cast<uint32_t>(v);
  return true;
}

// "device `TEXT': WHY", the text cut at 64 bytes.
Error bad_device(const std::string& text, const std::string& why) {
  return Error(Errc::kInvalid, "device `%s': %s", text.substr(0, 64).c_str(), why.c_str());
}

}  // namespace

bus::DeviceSpec DeviceText::spec() const {
  bus::DeviceSpec s;
  s.bus = bus.c_str();
  s.vendor = vendor;
  s.device = device;
  s.ncompat = compat.size();
  for (size_t i = 0; i < compat.size() && i < module::kDeviceCompatMax; ++i)
    s.compat[i] = compat[i].c_str();
  s.args = args.c_str();
  return s;
}

Result<DeviceText> parse_device_text(const std::string& text) {
  DeviceText t;
  size_t pos = 0;
  std::vector<std::string> words;
  while (pos < text.size()) {
    while (pos < text.size() && (text[pos] == ' ' || text[pos] == '\t'))
      ++pos;
    size_t end = pos;
    while (end < text.size() && text[end] != ' ' && text[end] != '\t')
      ++end;
    if (end > pos) words.push_back(text.substr(pos, end - pos));
    pos = end;
  }
  if (words.empty())
    return Error(Errc::kInvalid,
                 "a device needs a bus: `BUS [vendor=ID] [device=ID] "
                 "[compat=STRING]... [key=value]...'");
  t.bus = words[0];
  if (t.bus.find('=') != std::string::npos)
    return bad_device(text, "the first word is the bus, not a key=value");
  bool vendor = false, device = false;
  for (size_t i = 1; i < words.size(); ++i) {
    const std::string& w = words[i];
    size_t eq = w.find('=');
    if (eq == std::string::npos || eq == 0)
      return bad_device(text, "`" + w.substr(0, 64) + "' is not key=value");
    std::string key = w.substr(0, eq), value = w.substr(eq + 1);
    if (key == "vendor" || key == "device") {
      bool& seen = key == "vendor" ? vendor : device;
      if (seen) return bad_device(text, key + "= given twice");
      seen = true;
      if (!parse_id(value, key == "vendor" ? &t.vendor : &t.device))
        return bad_device(text, key + " id `" + value.substr(0, 32) +
                                    "' is not a 32-bit number (0x1af4 or 6900)");
    } else if (key == "compat") {
      if (t.compat.size() == module::kDeviceCompatMax)
        return bad_device(
            text, "more than " + std::to_string(module::kDeviceCompatMax) + " compat= strings");
      t.compat.push_back(value);
    } else {
      t.args += (t.args.empty() ? "" : " ") + w;
    }
  }
  // The rest (bus name, compatible strings, attach arguments) is checked
  // where every device is: bus::fill_identity.
  bus::Device probe;
  Result<void> ok = bus::fill_identity(t.spec(), &probe);
  if (!ok) return bad_device(text, ok.error().message());
  return t;
}

// The registry's in-flight accounting: a call into a driver holds a user
// reference on its module, which fails once the module is not LIVE. The
// calls run under the Newbus topology lock, so the put that ends one must not
// run a deferred unload there (its UNLOAD would take the loader lock while
// holding the topology, against a load holding the loader lock and waiting
// for the topology in mk_driver_register): such a put goes to another thread
// (Registrations::leave_in_call).
class HostBus::Gate final : public bus::CallGate {
 public:
  explicit Gate(System& s) : s_(s) {}
  bool enter(module::Module* owner) override {
    return s_.services().registrations().enter(owner) == 0;
  }
  void leave(module::Module* owner) override { s_.services().registrations().leave_in_call(owner); }

 private:
  System& s_;
};

// The entry of a driver's owned registration: enough to find the driver again
// by name, never a pointer into the Newbus (the driver may be gone by then).
struct HostBus::Owned {
  HostBus* bus;
  std::string driver;
  module::Module* owner;
  service::Handle handle;
};

HostBus::HostBus(System& system, Allocator& alloc, Threads& threads)
    : system_(system), gate_(std::make_unique<Gate>(system)) {
  bus::NewbusDeps deps;
  deps.alloc = &alloc;
  deps.threads = &threads;
  deps.gate = gate_.get();
  deps.log = [](void* ctx, const char* line) {
    static_cast<HostBus*>(ctx)->system_.add_log(std::string("newbus: ") + line);
  };
  deps.ctx = this;
  newbus_ = std::make_unique<bus::Newbus>(deps);
  (void)newbus_->add_bus(kSimBus);  // a fresh Newbus: only out of memory fails, and then
                                    // every device add says the bus is missing
}

HostBus::~HostBus() {
  // Drivers of modules that never stopped (static ones): the registrations
  // table frees its nodes without revoking; the entries are ours.
  for (auto& [name, o] : owned_)
    delete o;
}

// The revoke of a driver's owned registration: its module stopped with the
// driver still registered. Called without any registrations lock.
void HostBus::revoke_owned(void* ctx, void* entry) {
  auto* self = static_cast<HostBus*>(ctx);
  auto* o = static_cast<Owned*>(entry);
  {
    std::lock_guard<std::mutex> g(self->owned_mu_);
    auto it = self->owned_.find(o->driver);
    if (it != self->owned_.end() && it->second == o) self->owned_.erase(it);
  }
  (void)self->newbus_->revoke_driver(o->driver.c_str(), o->owner);
  delete o;
}

std::string HostBus::autoload(const bus::Device& d, std::string* error) {
  Result<Buffer> hb = system_.module_path().hints();
  if (!hb) return "";
  MallocAllocator alloc;
  module::Hints hints(alloc);
  Result<void> parsed = hints.parse(hb.value().bytes);
  system_.module_path().release(hb.value());
  if (!parsed) {
    *error = std::string("hints index: ") + parsed.error().message();
    system_.add_log(std::string("newbus: ") + d.name + ": no auto-load: " + *error);
    return "";
  }
  const char* compat[module::kDeviceCompatMax];
  const module::HintMatch* m = hints.best_match(d.bus, d.ids(compat));
  if (m == nullptr) return "";
  std::string module = m->module;
  if (system_.registry().find_module(module.c_str()) != nullptr) return "";  // it declined
  system_.add_log(std::string("newbus: ") + d.name + ": loading module " + module + " (driver " +
                  m->driver + ", from the hints index)");
  Result<module::File*> f = system_.registry().load_module(
      module.c_str(), module::VersionRange{0, UINT32_MAX, UINT32_MAX});
  if (!f) {
    *error = f.error().message();
    system_.add_log(std::string("newbus: ") + d.name + ": auto-load of " + module +
                    " failed: " + *error);
  }
  return module;
}

Result<DeviceAdded> HostBus::add(const std::string& text) {
  Result<DeviceText> t = parse_device_text(text);
  if (!t) return t.error();
  std::lock_guard<std::mutex> g(hotplug_mu_);
  Result<bus::Device*> d = newbus_->add_device(t.value().spec());
  if (!d) return d.error();
  DeviceAdded out;
  // Only the name is read through the pointer: it is fixed once the device
  // is listed, and only a hot-unplug (serialised with us) frees it. The rest
  // changes under the topology lock (a driver module's unload detaches it on
  // another thread), so it is copied under that lock.
  out.name = d.value()->name;
  struct Snapshot {
    const char* name;
    bus::Device* copy;
  };
  bus::Device copy;
  Snapshot snap{out.name.c_str(), &copy};
  newbus_->for_each_device(
      [](void* ctx, const bus::Device& dev) {
        auto* s = static_cast<Snapshot*>(ctx);
        if (std::string(dev.name) == s->name) *s->copy = dev;
      },
      &snap);
  if (copy.driver == nullptr) out.autoload = autoload(copy, &out.autoload_error);
  struct Attached {
    const char* name;
    std::string* out;
  } a{out.name.c_str(), &out.attached};
  newbus_->for_each_device(
      [](void* ctx, const bus::Device& dev) {
        auto* a = static_cast<Attached*>(ctx);
        if (dev.driver != nullptr && std::string(dev.name) == a->name)
          *a->out = std::string(dev.driver->name) + std::to_string(dev.driver_unit);
      },
      &a);
  return out;
}

Result<void> HostBus::remove(const std::string& name) {
  std::lock_guard<std::mutex> g(hotplug_mu_);
  return newbus_->remove_device(name.c_str());
}

// The module's modkit_modinfo records in its loaded memory (the kernel
// image's for a static module), and its driver `driver` from them.
int HostBus::register_driver(module::Module* m, const char* driver,
                             const mk_driver_methods* methods) {
  if (m == nullptr || driver == nullptr || methods == nullptr) return MK_EINVAL;
  std::vector<ByteView> spans;
  if (m->file != nullptr && m->file->linked != nullptr) {
    for (const link::FileSection& s : m->file->linked->sections())
      if (str_eq(s.name, module::kModinfoSection))
        spans.emplace_back(reinterpret_cast<const uint8_t*>(s.addr), s.size);
  } else if (__start_modkit_modinfo != nullptr) {
    spans.emplace_back(__start_modkit_modinfo,
                       static_cast<size_t>(__stop_modkit_modinfo - __start_modkit_modinfo));
  }
  MallocAllocator alloc;
  Result<module::Metadata> md = module::read_metadata(spans.data(), spans.size(), alloc);
  if (!md) {
    system_.add_log(std::string("mk_driver_register(") + driver + "): " + md.error().message());
    return MK_EINVAL;
  }
  const module::Metadata& meta = md.value();
  for (uint32_t i = 0; i < meta.drivers.size(); ++i) {
    const module::DriverDecl& decl = meta.drivers[i];
    if (!str_eq(decl.name, driver) || !str_eq(meta.modules[decl.module].name, m->name)) continue;
    std::vector<module::MatchEntry> match;
    for (const module::MatchDecl& e : meta.matches)
      if (e.driver == i) match.push_back(e.entry);
    bus::DriverSpec spec;
    spec.name = decl.name;
    spec.bus = decl.bus;
    spec.priority = decl.priority;
    spec.match = match.data();
    spec.nmatch = match.size();
    spec.methods = methods;
    spec.owner = m;
    // The owned registration first, so that no moment exists where the
    // driver is registered and its module's stop would not find it.
    auto* o = new (std::nothrow) Owned{this, decl.name, m, nullptr};
    if (o == nullptr) return MK_ENOMEM;
    {
      std::lock_guard<std::mutex> g(owned_mu_);
      if (owned_.count(o->driver) != 0) {
        delete o;
        system_.add_log(std::string(m->name) + ": mk_driver_register(" + driver + "): driver " +
                        driver + " is registered already");
        return MK_EEXIST;
      }
      Result<service::Handle> h = system_.services().registrations().add(
          m, "driver", decl.name, &HostBus::revoke_owned, this, o);
      if (!h) {
        delete o;
        system_.add_log(std::string(m->name) + ": mk_driver_register(" + driver +
                        "): " + h.error().message());
        return mk::hosted::kpi_errno(h.error().code());
      }
      o->handle = h.value();
      owned_[o->driver] = o;
    }
    Result<bus::Driver*> r = newbus_->register_driver(spec);
    if (r) return 0;
    {
      std::lock_guard<std::mutex> g(owned_mu_);
      owned_.erase(o->driver);
    }
    system_.services().registrations().remove(o->handle);
    delete o;
    system_.add_log(std::string(m->name) + ": mk_driver_register(" + driver +
                    "): " + r.error().message());
    return mk::hosted::kpi_errno(r.error().code());
  }
  system_.add_log(std::string(m->name) + ": mk_driver_register(" + driver +
                  "): the module declares no such driver (MODKIT_DRIVER)");
  return MK_ENOENT;
}

int HostBus::unregister_driver(module::Module* m, const char* driver) {
  if (m == nullptr || driver == nullptr) return MK_EINVAL;
  bus::Driver* drv = newbus_->find_driver(driver);
  if (drv == nullptr || drv->owner != m) return MK_ENOENT;
  Result<void> r = newbus_->unregister_driver(driver);
  if (r) {
    // The owner's own code unregistered: its module has not stopped, so the
    // registration is still there to take back (no revoke, no leak).
    Owned* o = nullptr;
    {
      std::lock_guard<std::mutex> g(owned_mu_);
      auto it = owned_.find(driver);
      if (it != owned_.end() && it->second->owner == m) {
        o = it->second;
        owned_.erase(it);
      }
    }
    if (o != nullptr) {
      system_.services().registrations().remove(o->handle);
      delete o;
    }
    return 0;
  }
  system_.add_log(std::string(m->name) + ": mk_driver_unregister(" + driver +
                  "): " + r.error().message());
  return mk::hosted::kpi_errno(r.error().code());
}

Result<void> HostBus::quiescing(module::Module* m) {
  return newbus_->quiesce_module(m);
}

void HostBus::resumed(module::Module* m) {
  newbus_->resume_module(m);
}

void HostBus::stopped(module::Module* m) {
  newbus_->revoke_module(m);
}

}  // namespace mk::hosted
