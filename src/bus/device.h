// Device: one device on a bus, as newbus sees it. Its identity (bus, unit,
// ids, compatible strings, attach arguments) is fixed when the bus
// enumerates it and kept whether or not a driver is attached, so a driver
// loaded later probes it with the same arguments, and a driver unloaded
// leaves it ready for the next one.
//
// Attach arguments are text, `key=value` pairs separated by one space (what
// a config line or a hot-plug request carries): keys are C identifiers,
// values non-empty printable ASCII without spaces, at most kArgsMax bytes in
// all. parse_args checks them (they come from outside); a bad one is an
// Errc::kInvalid naming the pair.
//
// A Device is the SDK's opaque `struct mk_device` (sdk/include/modkit/bus.h);
// its fields are written only under the bus topology lock (newbus.h).
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "module/match.h"
#include "support/result.h"

struct mk_device {};  // the SDK's opaque handle; Device derives from it

namespace mk::module {
class Module;
}

namespace mk::bus {

class Driver;

inline constexpr size_t kArgsMax = 256;
inline constexpr size_t kDeviceNameMax = 48;  // "BUS:UNIT"
inline constexpr size_t kRefusalMax = 128;

// What a bus enumerates: the device as the bus found it.
struct DeviceSpec {
  const char* bus = nullptr;
  uint32_t vendor = 0;
  uint32_t device = 0;
  const char* compat[module::kDeviceCompatMax] = {};
  size_t ncompat = 0;
  const char* args = "";  // "key=value key=value", or ""
};

class Device : public ::mk_device {
 public:
  char name[kDeviceNameMax] = {};  // "simbus:3": the bus and the device's unit on it
  char bus[module::kShortNameMax] = {};
  uint32_t unit = 0;  // on its bus: the lowest free when it appeared
  uint32_t vendor = 0;
  uint32_t device = 0;
  char compat[module::kDeviceCompatMax][module::kCompatMax] = {};
  size_t ncompat = 0;
  // Attach arguments as stored: "key\0value\0key\0value\0" (args_len bytes).
  char args[kArgsMax] = {};
  size_t args_len = 0;

  // While a driver is attached (or attaching): it, its unit, its state.
  Driver* driver = nullptr;
  int driver_unit = -1;
  void* softc = nullptr;
  char refusal[kRefusalMax] = {};  // why the last detach refused (mk_device_refuse)

  // The value of attach argument `key`, or nullptr.
  const char* arg(const char* key) const;
  // The ids and compatible strings, for matching (pointing into this Device).
  module::DeviceIds ids(const char** compat_list) const;
  // Writes the arguments back as "key=value key=value" into out (cap bytes).
  void args_text(char* out, size_t cap) const;
};

// Checks `text` and stores it into d->args (the stored form above).
[[nodiscard]] Result<void> parse_args(const char* text, Device* d);

// Checks a spec (bus name, compatible strings, arguments) and fills the
// identity fields of *d (not name or unit, which the bus gives).
[[nodiscard]] Result<void> fill_identity(const DeviceSpec& spec, Device* d);

}  // namespace mk::bus
