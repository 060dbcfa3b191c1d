// Tests of bus/newbus.h with drivers written in the test (real module loads
// are in tests/bus/driver_module_test.cc): late attach, detach and reattach,
// refusing detaches (all or nothing), hot-plug, priorities, probe methods,
// failed attaches, the call gate, units and the unload steps.
#include "bus/newbus.h"

#include <stdio.h>

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "hosted/threads.h"
#include "support/test_allocator.h"

namespace mk::bus {
namespace {

using mk::testing::TestAllocator;

// What each test driver does, by driver name.
struct Behavior {
  int probe = 0;                 // probe's answer (0 accepts)
  int attach = 0;                // attach's answer
  const char* refuse = nullptr;  // detach refuses with this reason
  int probes = 0, attaches = 0, detaches = 0;
};
std::map<std::string, Behavior> g_behavior;

Behavior& of(mk_device* dev) {
  return g_behavior[static_cast<Device*>(dev)->driver != nullptr
                        ? static_cast<Device*>(dev)->driver->name
                        : ""];
}

int probe_fn(mk_device* dev) {
  // During probe the device has no driver yet: the behavior is the probing
  // driver's, which the test sets up as "probing".
  Behavior& b = g_behavior["probing"];
  ++b.probes;
  return b.probe;
}
int attach_fn(mk_device* dev) {
  Behavior& b = of(dev);
  ++b.attaches;
  return b.attach;
}
int detach_fn(mk_device* dev) {
  Behavior& b = of(dev);
  if (b.refuse != nullptr) {
    auto* d = static_cast<Device*>(dev);
    snprintf(d->refusal, sizeof d->refusal, "%s", b.refuse);
    return MK_EBUSY;
  }
  ++b.detaches;
  return 0;
}

const mk_driver_methods kMethods = {nullptr, attach_fn, detach_fn};
const mk_driver_methods kProbing = {probe_fn, attach_fn, detach_fn};

// A gate that counts and can refuse, standing in for the registry.
struct Gate final : CallGate {
  bool open = true;
  int inside = 0, entered = 0;
  bool enter(module::Module*) override {
    if (!open) return false;
    ++inside;
    ++entered;
    return true;
  }
  void leave(module::Module*) override { --inside; }
};

class NewbusTest : public ::testing::Test {
 protected:
  void SetUp() override {
    g_behavior.clear();
    NewbusDeps deps;
    deps.alloc = &alloc;
    deps.threads = &threads;
    deps.gate = &gate;
    deps.log = [](void* ctx, const char* line) {
      static_cast<NewbusTest*>(ctx)->log.push_back(line);
    };
    deps.event = [](void* ctx, DeviceEvent e, const Device& d) {
      static const char* names[] = {"arrived", "attached", "detached", "removed"};
      static_cast<NewbusTest*>(ctx)->events.push_back(std::string(names[int(e)]) + " " + d.name);
    };
    deps.ctx = this;
    bus.emplace(deps);
    ASSERT_TRUE(bus->add_bus("simbus").ok());
  }

  Device* Add(uint32_t vendor, uint32_t device, const char* compat = nullptr,
              const char* args = "") {
    DeviceSpec s;
    s.bus = "simbus";
    s.vendor = vendor;
    s.device = device;
    if (compat != nullptr) {
      s.compat[0] = compat;
      s.ncompat = 1;
    }
    s.args = args;
    Result<Device*> d = bus->add_device(s);
    EXPECT_TRUE(d.ok()) << d.error().message();
    return d.ok() ? d.value() : nullptr;
  }

  Driver* Register(const char* name, uint32_t priority, std::vector<module::MatchEntry> match,
                   module::Module* owner = nullptr, const mk_driver_methods* m = &kMethods) {
    g_behavior[name];
    DriverSpec s;
    s.name = name;
    s.bus = "simbus";
    s.priority = priority;
    s.match = match.data();
    s.nmatch = match.size();
    s.methods = m;
    s.owner = owner;
    Result<Driver*> r = bus->register_driver(s);
    EXPECT_TRUE(r.ok()) << r.error().message();
    return r.ok() ? r.value() : nullptr;
  }

  std::string AttachedTo(const Device* d) {
    if (d->driver == nullptr) return "-";
    return std::string(d->driver->name) + std::to_string(d->driver_unit);
  }

  static module::MatchEntry Ids(uint32_t v, uint32_t d) {
    return {module::MatchKind::kIds, v, d, ""};
  }
  static module::MatchEntry Compat(const char* c) { return {module::MatchKind::kCompat, 0, 0, c}; }

  TestAllocator alloc;
  hosted::PosixThreads threads;
  Gate gate;
  std::optional<Newbus> bus;
  std::vector<std::string> log, events;
  // Stand-ins for modules: only their addresses are used (owner identity).
  alignas(8) char mod_a[8] = {}, mod_b[8] = {};
  module::Module* A() { return reinterpret_cast<module::Module*>(mod_a); }
  module::Module* B() { return reinterpret_cast<module::Module*>(mod_b); }
};

TEST_F(NewbusTest, LateAttachKeepsIdentityAndArguments) {
  Device* d = Add(0x1af4, 0x1001, "acme,widget", "size=4096 mode=fast");
  ASSERT_NE(d, nullptr);
  EXPECT_STREQ(d->name, "simbus:0");
  EXPECT_EQ(d->driver, nullptr);
  EXPECT_EQ(log.back(), "simbus:0: no driver attached");
  Register("widget", 10, {Ids(0x1af4, 0x1001)});
  EXPECT_EQ(AttachedTo(d), "widget0");
  EXPECT_STREQ(d->arg("size"), "4096");
  EXPECT_STREQ(d->arg("mode"), "fast");
  EXPECT_EQ(d->arg("other"), nullptr);
  EXPECT_EQ(g_behavior["widget"].attaches, 1);
  EXPECT_EQ(events, (std::vector<std::string>{"arrived simbus:0", "attached simbus:0"}));
}

TEST_F(NewbusTest, DetachAndReattach) {
  Device* d0 = Add(0x1af4, 0x1001);
  Device* d1 = Add(0x1af4, 0x1002, "acme,widget");
  Register("widget", 10, {Ids(0x1af4, 0x1001), Compat("acme,widget")}, A());
  EXPECT_EQ(AttachedTo(d0), "widget0");
  EXPECT_EQ(AttachedTo(d1), "widget1");
  ASSERT_TRUE(bus->quiesce_module(A()).ok());
  bus->revoke_module(A());
  EXPECT_EQ(AttachedTo(d0), "-");
  EXPECT_EQ(AttachedTo(d1), "-");
  EXPECT_EQ(g_behavior["widget"].detaches, 2);
  EXPECT_EQ(bus->find_driver("widget"), nullptr);
  // The same devices, the same identity, for the next driver.
  Register("widget", 10, {Ids(0x1af4, 0x1001), Compat("acme,widget")}, A());
  EXPECT_EQ(AttachedTo(d0), "widget0");
  EXPECT_EQ(AttachedTo(d1), "widget1");
  EXPECT_EQ(g_behavior["widget"].attaches, 4);
}

TEST_F(NewbusTest, RefusingDetachRefusesAllOrNothing) {
  Device* d0 = Add(0x1af4, 0x1001);
  Device* d1 = Add(0x1af4, 0x1001);
  Register("widget", 10, {Ids(0x1af4, module::kMatchAny)}, A());
  ASSERT_EQ(AttachedTo(d1), "widget1");
  // The first detaches, the second refuses: the first is attached again.
  int calls = 0;
  g_behavior["widget"].refuse = nullptr;
  struct Once {
    static int detach(mk_device* dev) {
      auto* d = static_cast<Device*>(dev);
      if (d->unit == 1) {
        snprintf(d->refusal, sizeof d->refusal, "transfer in progress");
        return MK_EBUSY;
      }
      ++g_behavior["widget"].detaches;
      return 0;
    }
  };
  (void)calls;
  bus->find_driver("widget")->methods.detach = Once::detach;
  Result<void> r = bus->quiesce_module(A());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), Errc::kBusy);
  EXPECT_STREQ(r.error().message(),
               "driver widget: simbus:1 (widget1) refuses to detach: transfer in progress");
  EXPECT_EQ(AttachedTo(d0), "widget0");
  EXPECT_EQ(AttachedTo(d1), "widget1");
  EXPECT_FALSE(bus->find_driver("widget")->quiesced);
  // unregister_driver says the same and changes nothing.
  Result<void> u = bus->unregister_driver("widget");
  ASSERT_FALSE(u.ok());
  EXPECT_STREQ(u.error().message(),
               "driver widget: simbus:1 (widget1) refuses to detach: transfer in progress");
  EXPECT_EQ(AttachedTo(d0), "widget0");
}

TEST_F(NewbusTest, PrioritiesAndTakeOver) {
  Register("generic", 1, {Compat("acme,widget")}, A());
  Register("special", 20, {Ids(0x1af4, 0x1001)}, B());
  Device* d = Add(0x1af4, 0x1001, "acme,widget");
  EXPECT_EQ(AttachedTo(d), "special0");
  Device* other = Add(0x1af4, 0x2000, "acme,widget");
  EXPECT_EQ(AttachedTo(other), "generic0");
  // Unloading the better driver hands its device to the other one.
  ASSERT_TRUE(bus->quiesce_module(B()).ok());
  EXPECT_EQ(AttachedTo(d), "-");  // not before the unload is committed
  bus->revoke_module(B());
  EXPECT_EQ(AttachedTo(d), "generic1");
  // A better driver arriving later does not take a device from another.
  Register("special", 20, {Ids(0x1af4, 0x1001)}, B());
  EXPECT_EQ(AttachedTo(d), "generic1");
}

TEST_F(NewbusTest, TieGoesToTheFirstRegistered) {
  Register("first", 5, {Ids(1, 2)});
  Register("second", 5, {Ids(1, 2)});
  EXPECT_EQ(AttachedTo(Add(1, 2)), "first0");
}

TEST_F(NewbusTest, ProbeMayDecline) {
  Register("picky", 50, {Ids(1, 2)}, nullptr, &kProbing);
  Register("plain", 1, {Ids(1, 2)});
  g_behavior["probing"].probe = MK_ENXIO;
  Device* d = Add(1, 2);
  EXPECT_EQ(AttachedTo(d), "plain0");
  EXPECT_EQ(g_behavior["probing"].probes, 1);
}

TEST_F(NewbusTest, FailedAttachLeavesTheDeviceUnattached) {
  g_behavior["broken"].attach = MK_EIO;
  Register("broken", 1, {Ids(1, 2)});
  Device* d = Add(1, 2);
  EXPECT_EQ(AttachedTo(d), "-");
  EXPECT_EQ(log[log.size() - 2],
            "simbus:0: broken0 attach failed (error 5); the device stays "
            "unattached");
  EXPECT_EQ(bus->find_driver("broken")->attached, 0u);
}

TEST_F(NewbusTest, HotPlugRemovalDetachesFirst) {
  Register("widget", 1, {Ids(1, 2)}, A());
  Device* d0 = Add(1, 2);
  Add(1, 2);
  ASSERT_EQ(AttachedTo(d0), "widget0");
  ASSERT_TRUE(bus->remove_device("simbus:0").ok());
  EXPECT_EQ(g_behavior["widget"].detaches, 1);
  EXPECT_EQ(bus->find_device("simbus:0"), nullptr);
  EXPECT_EQ(bus->find_driver("widget")->attached, 1u);
  // The unit is free again, for the bus and for the driver.
  Device* again = Add(1, 2);
  EXPECT_STREQ(again->name, "simbus:0");
  EXPECT_EQ(AttachedTo(again), "widget0");
  // A refusing driver keeps its device.
  g_behavior["widget"].refuse = "open by a process";
  Result<void> r = bus->remove_device("simbus:1");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), Errc::kBusy);
  EXPECT_STREQ(r.error().message(), "simbus:1: widget1 refuses to detach: open by a process");
  EXPECT_NE(bus->find_device("simbus:1"), nullptr);
  Result<void> missing = bus->remove_device("simbus:9");
  ASSERT_FALSE(missing.ok());
  EXPECT_STREQ(missing.error().message(), "no device simbus:9");
}

TEST_F(NewbusTest, DeviceArrivalIsGated) {
  Register("widget", 1, {Ids(1, 2)}, A());
  Device* d = Add(1, 2);
  EXPECT_EQ(AttachedTo(d), "widget0");
  EXPECT_EQ(gate.entered, 1);  // the attach, on behalf of the arriving device
  EXPECT_EQ(gate.inside, 0);
  // A module going away is passed over.
  gate.open = false;
  Device* late = Add(1, 2);
  EXPECT_EQ(AttachedTo(late), "-");
  Result<void> r = bus->remove_device("simbus:0");
  ASSERT_FALSE(r.ok());
  EXPECT_STREQ(r.error().message(),
               "simbus:0: widget0 refuses to detach: its module is being unloaded");
}

TEST_F(NewbusTest, ResumeAttachesAgain) {
  Register("widget", 1, {Ids(1, 2)}, A());
  Device* d = Add(1, 2);
  ASSERT_TRUE(bus->quiesce_module(A()).ok());
  EXPECT_EQ(AttachedTo(d), "-");
  Device* meanwhile = Add(1, 2);  // a quiesced driver does not probe
  EXPECT_EQ(AttachedTo(meanwhile), "-");
  bus->resume_module(A());
  EXPECT_EQ(AttachedTo(d), "widget0");
  EXPECT_EQ(AttachedTo(meanwhile), "widget1");
}

TEST_F(NewbusTest, RevokeOverridesARefusal) {
  Register("widget", 1, {Ids(1, 2)}, A());
  Device* d = Add(1, 2);
  g_behavior["widget"].refuse = "stuck";
  bus->revoke_module(A());
  EXPECT_EQ(AttachedTo(d), "-");
  bool logged = false;
  for (const std::string& l : log)
    logged = logged || l == "simbus:0: widget0 refused to detach (stuck); detached anyway, its "
                            "module is gone";
  EXPECT_TRUE(logged);
}

TEST_F(NewbusTest, BadRequests) {
  Register("widget", 1, {Ids(1, 2)});
  DriverSpec s;
  s.name = "widget";
  s.bus = "simbus";
  module::MatchEntry m = Ids(1, 2);
  s.match = &m;
  s.nmatch = 1;
  s.methods = &kMethods;
  auto expect = [&](const DriverSpec& spec, Errc code, const char* msg) {
    Result<Driver*> r = bus->register_driver(spec);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code(), code);
    EXPECT_STREQ(r.error().message(), msg);
  };
  expect(s, Errc::kDuplicate, "driver widget is registered already");
  s.name = "other";
  s.bus = "pci";
  expect(s, Errc::kNotFound, "driver other: bus pci does not exist");
  s.bus = "simbus";
  s.nmatch = 0;
  expect(s, Errc::kInvalid, "driver other has an empty match table");
  s.nmatch = 1;
  s.name = "9lives";
  expect(s, Errc::kInvalid, "driver name `9lives' is not a C identifier");

  DeviceSpec ds;
  ds.bus = "pci";
  Result<Device*> d = bus->add_device(ds);
  ASSERT_FALSE(d.ok());
  EXPECT_STREQ(d.error().message(), "bus pci does not exist");
  EXPECT_EQ(bus->add_bus("simbus").error().code(), Errc::kDuplicate);
  Result<void> u = bus->unregister_driver("nothing");
  ASSERT_FALSE(u.ok());
  EXPECT_STREQ(u.error().message(), "no driver nothing");
}

TEST_F(NewbusTest, OutOfMemoryChangesNothing) {
  alloc.fail_after(0);
  DeviceSpec ds;
  ds.bus = "simbus";
  Result<Device*> d = bus->add_device(ds);
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.error().code(), Errc::kNoMemory);
  alloc.never_fail();
  size_t n = 0;
  bus->for_each_device([](void* ctx, const Device&) { ++*static_cast<size_t*>(ctx); }, &n);
  EXPECT_EQ(n, 0u);
}

}  // namespace
}  // namespace mk::bus
