// Generic services: a module offers a named, versioned table of function
// pointers (its own KPI for other modules); another module acquires it by
// name and version range and, while it holds it, holds the provider: the
// provider's unload drains (or is refused, or deferred) until every holder
// released it, and once the provider is going away acquire fails.
//
// Each offer is an owned registration (kind "service"). A holder identifies
// its hold by the table pointer acquire returned.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "service/registration.h"
#include "support/result.h"
#include "support/vector.h"

namespace mk::service {

struct Offer;  // one offered table

class ServiceTable {
 public:
  static constexpr size_t kServiceNameMax = 64;  // including the NUL

  explicit ServiceTable(Registrations& regs);
  ~ServiceTable();
  ServiceTable(const ServiceTable&) = delete;
  ServiceTable& operator=(const ServiceTable&) = delete;

  // kDuplicate when the name is offered already (naming its provider),
  // kInvalid for a bad name or an empty table, kNoMemory.
  [[nodiscard]] Result<Offer*> offer(module::Module* owner, const char* name, uint32_t version,
                                     const void* table, size_t size);
  // The provider takes it back; holders keep what they hold until release.
  void withdraw(Offer* o);
  // The table of `name` with a version in [min, max], its provider held:
  // kNotFound (none, or another version: the message names it), kBusy when
  // the provider is going away.
  [[nodiscard]] Result<const void*> acquire(const char* name, uint32_t min, uint32_t max,
                                            size_t* size);
  // Drops one hold taken by acquire; kNotFound for a table not held.
  [[nodiscard]] Result<void> release(const void* table);

 private:
  struct Hold {
    const void* table;
    module::Module* owner;
    uint32_t count;
  };
  static void revoke(void* ctx, void* entry);
  void unlink(Offer* o);

  Registrations& regs_;
  Mutex* mu_ = nullptr;
  Vec<Offer*> offers_;
  Vec<Hold> holds_;
};

}  // namespace mk::service
