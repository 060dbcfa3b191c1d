// Tunables: typed module parameters (Linux's module_param, FreeBSD's
// TUNABLE_INT), declared by MODKIT_TUNABLE (sdk/include/modkit/service.h) as
// metadata records that point at the module's own variables.
//
// At load (the registry's `starting` hook, after linking, before any module
// code runs) the load parameters are checked and written, then every tunable
// of the file is registered (owned by its module, declared: revoked at its
// stop without being called a leak). A parameter is `name=value`, or
// `module.name=value` when two modules of the file have a tunable of that
// name. The load is refused, naming the file, when an item is not
// name=value, names no tunable of the file, or has a value its type does not
// take; nothing is written then.
//
// Values as text: int (-2147483648..2147483647) and uint (0..4294967295) in
// decimal or 0x hex; bool as 0/1, true/false, yes/no, on/off (read back as
// 0 or 1); string up to its array's size minus one.
//
// While loaded, get/set reach a tunable by module and name; numbers are
// written and read with atomic 4-byte stores and loads, strings byte by
// byte under this table's lock (see the SDK on readers racing a set).
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "module/registry.h"
#include "service/registration.h"
#include "support/result.h"
#include "support/vector.h"

namespace mk::service {

inline constexpr size_t kTunableValueMax = 4096;  // a string tunable's largest array

const char* tunable_type_name(uint32_t type);  // "int", "uint", "bool", "string"

// What a listing shows of one tunable, its value formatted into `value`.
struct TunableInfo {
  const char* module;
  const char* name;
  uint32_t type;
  const char* description;
  const char* def;  // the default as declared
  const char* value;
};

class Tunables {
 public:
  explicit Tunables(Registrations& regs);
  ~Tunables();
  Tunables(const Tunables&) = delete;
  Tunables& operator=(const Tunables&) = delete;

  // The registry's `starting` hook (see the top of this file).
  [[nodiscard]] Result<void> start_file(module::File& f, const module::LoadParams& p);

  // The value of module's tunable `name` as text (NUL-terminated in out[cap]).
  [[nodiscard]] Result<void> get(const char* module, const char* name, char* out, size_t cap);
  // Sets it from text; kNotFound, or kInvalid naming the value and the type.
  [[nodiscard]] Result<void> set(const char* module, const char* name, const char* value);
  // Calls fn for every tunable (of `module` only, unless nullptr), in load
  // then declaration order, under this table's lock: fn must not call back.
  void for_each(const char* module, void (*fn)(void* ctx, const TunableInfo& t), void* ctx);

 private:
  struct Entry {
    module::Module* owner;
    uintptr_t record;  // mk_meta_tunable in loaded memory
    Handle handle;
  };
  static void revoke(void* ctx, void* entry);
  Entry* find_locked(const char* module, const char* name);

  Registrations& regs_;
  Mutex* mu_ = nullptr;
  Vec<Entry*> entries_;
};

}  // namespace mk::service
