// Drivers in real modules (tests of hosted/devices.h, the hosted side of
// bus/newbus.h): the sample modules/simdrv.c loaded from build/modules
// through a System, and a second driver compiled at test time. Late attach,
// detach and reattach across unload and load, a refusing detach refusing
// the unload, hot-plug with the driver's module (and its dependency) loaded
// from the hints index, removal of an attached device, priorities between
// two drivers, and device text refused with exact errors.
#include <algorithm>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "hosted/devices.h"
#include "hosted/system.h"
#include "link/toolchain.h"

namespace mk::hosted {
namespace {

using module::File;
using module::UnloadOptions;
using module::UnloadResult;
using test::kGcc;
using test::Scratch;

std::vector<std::string> Split(const std::string& s) {
  std::istringstream in(s);
  std::vector<std::string> out;
  for (std::string w; in >> w;)
    out.push_back(w);
  return out;
}

class DriverModules : public ::testing::Test {
 protected:
  void SetUp() override {
    SystemConfig c;
    c.module_path = {MODKIT_BUS_MODULE_DIR};
    sys_ = std::make_unique<System>(std::move(c));
    Result<File*> k = sys_->boot();
    ASSERT_TRUE(k) << k.error().message();
  }

  HostBus& buses() { return sys_->buses(); }
  module::Registry& reg() { return sys_->registry(); }

  // A device on simbus without the auto-load (the bus enumerated it).
  std::string Enumerate(const std::string& text) {
    Result<DeviceText> t = parse_device_text(text);
    EXPECT_TRUE(t) << t.error().message();
    if (!t) return "";
    Result<bus::Device*> d = buses().newbus().add_device(t.value().spec());
    EXPECT_TRUE(d) << d.error().message();
    return d ? d.value()->name : "";
  }

  // "simdrv0", or "-" when nothing is attached, or "absent".
  std::string Attached(const std::string& name) {
    bus::Device* d = buses().newbus().find_device(name.c_str());
    if (d == nullptr) return "absent";
    if (d->driver == nullptr) return "-";
    return std::string(d->driver->name) + std::to_string(d->driver_unit);
  }

  Result<File*> Load(const char* name) {
    return reg().load_module(name, module::VersionRange{0, UINT32_MAX, UINT32_MAX});
  }
  Result<UnloadResult> Unload(const char* name) {
    return reg().unload_module(name, UnloadOptions{});
  }
  bool Loaded(const char* name) { return reg().find_module(name) != nullptr; }
  bool Logged(const std::string& line) {
    std::vector<std::string> log = sys_->log();
    return std::find(log.begin(), log.end(), line) != log.end();
  }
  std::string Log() {
    std::string all;
    for (const std::string& l : sys_->log())
      all += l + "\n";
    return all;
  }

  std::unique_ptr<System> sys_;
};

TEST_F(DriverModules, LateAttachWithTheDeviceArguments) {
  std::string dev = Enumerate("simbus vendor=0x1af4 device=0x1001 label=left");
  EXPECT_EQ(Attached(dev), "-");
  ASSERT_TRUE(Load("simdrv")) << Log();
  EXPECT_EQ(Attached(dev), "simdrv0");
  EXPECT_TRUE(Logged("simdrv0: attached to simbus:0 (0x1af4:0x1001, label left, base version 2)"))
      << Log();
}

TEST_F(DriverModules, DetachOnUnloadAndReattachOnLoad) {
  std::string a = Enumerate("simbus vendor=0x1af4 device=0x1001");
  std::string b = Enumerate("simbus compat=acme,widget");
  ASSERT_TRUE(Load("simdrv")) << Log();
  EXPECT_EQ(Attached(a), "simdrv0");
  EXPECT_EQ(Attached(b), "simdrv1");
  Result<UnloadResult> u = Unload("simdrv");
  ASSERT_TRUE(u) << u.error().message();
  EXPECT_FALSE(Loaded("simdrv"));
  EXPECT_EQ(Attached(a), "-");
  EXPECT_EQ(Attached(b), "-");
  EXPECT_TRUE(Logged("simdrv1: detached from simbus:1")) << Log();
  ASSERT_TRUE(Load("simdrv")) << Log();
  EXPECT_EQ(Attached(a), "simdrv0");
  EXPECT_EQ(Attached(b), "simdrv1");
}

TEST_F(DriverModules, RefusingDetachRefusesTheUnload) {
  std::string idle = Enumerate("simbus vendor=0x1af4 device=0x1001");
  std::string busy = Enumerate("simbus vendor=0x1af4 device=0x1001 busy=yes");
  ASSERT_TRUE(Load("simdrv")) << Log();
  Result<UnloadResult> u = Unload("simdrv");
  ASSERT_FALSE(u);
  EXPECT_EQ(u.error().code(), Errc::kBusy);
  EXPECT_STREQ(u.error().message(),
               "module simdrv vetoed the unload of simdrv.ko: driver simdrv: simbus:1 (simdrv1) "
               "refuses to detach: widget is busy (busy=yes)");
  EXPECT_TRUE(Loaded("simdrv"));
  EXPECT_EQ(module::state_name(reg().find_module("simdrv")->state), std::string("LIVE"));
  // Both attached, the one that had detached attached again.
  EXPECT_EQ(Attached(idle), "simdrv0");
  EXPECT_EQ(Attached(busy), "simdrv1");
  EXPECT_TRUE(Logged("simdrv: RESUME")) << Log();
  // Once the device is gone, the unload goes through... but not while it is
  // busy: a hot-unplug of it is refused the same way.
  Result<void> r = buses().remove(busy);
  ASSERT_FALSE(r);
  EXPECT_STREQ(r.error().message(),
               "simbus:1: simdrv1 refuses to detach: widget is busy (busy=yes)");
}

TEST_F(DriverModules, HotPlugLoadsTheDriverAndItsDependency) {
  ASSERT_FALSE(Loaded("simdrv"));
  ASSERT_FALSE(Loaded("chain_base"));
  Result<DeviceAdded> d = buses().add("simbus vendor=0x1af4 device=0x1001 label=hot");
  ASSERT_TRUE(d) << d.error().message();
  EXPECT_EQ(d.value().name, "simbus:0");
  EXPECT_EQ(d.value().autoload, "simdrv");
  EXPECT_EQ(d.value().autoload_error, "");
  EXPECT_EQ(d.value().attached, "simdrv0");
  EXPECT_TRUE(Loaded("simdrv"));
  EXPECT_TRUE(Loaded("chain_base"));  // its dependency, through the same index
  EXPECT_TRUE(reg().find_module("chain_base")->file->autoloaded);
  EXPECT_TRUE(
      Logged("newbus: simbus:0: loading module simdrv (driver simdrv, from the hints index)"))
      << Log();
  // A second one: the driver is there, nothing more is loaded.
  Result<DeviceAdded> e = buses().add("simbus compat=acme,widget");
  ASSERT_TRUE(e) << e.error().message();
  EXPECT_EQ(e.value().autoload, "");
  EXPECT_EQ(e.value().attached, "simdrv1");
  // A device nothing in the index matches stays unattached, quietly.
  Result<DeviceAdded> f = buses().add("simbus vendor=0x8086 device=0x1");
  ASSERT_TRUE(f);
  EXPECT_EQ(f.value().autoload, "");
  EXPECT_EQ(f.value().attached, "");
}

TEST_F(DriverModules, RemovingAnAttachedDeviceDetachesIt) {
  Result<DeviceAdded> d = buses().add("simbus vendor=0x1af4 device=0x1001");
  ASSERT_TRUE(d) << d.error().message();
  ASSERT_EQ(Attached("simbus:0"), "simdrv0");
  ASSERT_TRUE(buses().remove("simbus:0"));
  EXPECT_EQ(Attached("simbus:0"), "absent");
  EXPECT_TRUE(Logged("simdrv0: detached from simbus:0")) << Log();
  EXPECT_TRUE(Logged("newbus: simbus:0: removed")) << Log();
  // The module stays, and unloads with nothing attached.
  ASSERT_TRUE(Unload("simdrv"));
  Result<void> gone = buses().remove("simbus:0");
  ASSERT_FALSE(gone);
  EXPECT_STREQ(gone.error().message(), "no device simbus:0");
}

// A second driver for the same widgets, at a higher priority.
const char kFastDriver[] = R"(
#include <modkit/bus.h>
static int fast_attach(struct mk_device* dev) {
  mk_printf("widgetfast%d: attached to %s", mk_device_unit(dev), mk_device_name(dev));
  return 0;
}
static int fast_detach(struct mk_device* dev) { return 0; }
static const struct mk_driver_methods fast_methods = {0, fast_attach, fast_detach};
static int fast_event(struct mk_module* m, int event, void* arg) {
  return event == MK_EVENT_LOAD ? mk_driver_register(m, "widgetfast", &fast_methods) : 0;
}
MODKIT_MODULE(widgetfast, 1, fast_event, NULL);
MODKIT_DEPEND(widgetfast, kernel, 1, 1, 1);
MODKIT_DRIVER(widgetfast, widgetfast, simbus, 20);
MODKIT_MATCH_COMPAT(widgetfast, widgetfast, "acme,widget");
)";

TEST_F(DriverModules, PrioritiesBetweenTwoDrivers) {
  Scratch scratch;
  std::vector<std::string> flags = Split(MODKIT_BUS_MODULE_FLAGS);
  flags.push_back("-I" MODKIT_BUS_SDK_DIR);
  std::string obj = scratch.Compile(kGcc, "widgetfast.c", kFastDriver, flags);
  ASSERT_FALSE(obj.empty());
  ASSERT_TRUE(Load("simdrv")) << Log();
  Result<File*> fast = reg().load_path(obj.c_str());
  ASSERT_TRUE(fast) << fast.error().message();
  // Both match; the higher priority wins.
  std::string d = Enumerate("simbus vendor=0x1af4 device=0x1001 compat=acme,widget");
  EXPECT_EQ(Attached(d), "widgetfast0");
  // Only the lower one matches by ids.
  std::string ids_only = Enumerate("simbus vendor=0x1af4 device=0x1001");
  EXPECT_EQ(Attached(ids_only), "simdrv0");
  // The better driver goes: its device goes to the other one.
  ASSERT_TRUE(Unload("widgetfast")) << Log();
  EXPECT_EQ(Attached(d), "simdrv1");
}

// A driver module compiled at test time: it registers driver `name` in
// LOAD, then returns `load_result`, and never unregisters.
std::string LeakyDriver(const std::string& name, int load_result) {
  return "#include <modkit/bus.h>\n"
         "static int at(struct mk_device* d) {\n"
         "  mk_printf(\"" +
         name +
         "%d: attached to %s\", mk_device_unit(d), mk_device_name(d));\n"
         "  return 0;\n"
         "}\n"
         "static int de(struct mk_device* d) {\n"
         "  mk_printf(\"" +
         name +
         "%d: detached from %s\", mk_device_unit(d), mk_device_name(d));\n"
         "  return mk_device_arg(d, \"busy\") ? mk_device_refuse(d, \"busy\") : 0;\n"
         "}\n"
         "static const struct mk_driver_methods me = {0, at, de};\n"
         "static int ev(struct mk_module* m, int e, void* a) {\n"
         "  if (e != MK_EVENT_LOAD) return 0;\n"
         "  int r = mk_driver_register(m, \"" +
         name +
         "\", &me);\n"
         "  return r != 0 ? r : " +
         std::to_string(load_result) +
         ";\n"
         "}\n"
         "MODKIT_MODULE(" +
         name +
         ", 1, ev, NULL);\n"
         "MODKIT_DEPEND(" +
         name +
         ", kernel, 1, 1, 1);\n"
         "MODKIT_DRIVER(" +
         name + ", " + name +
         ", simbus, 30);\n"
         "MODKIT_MATCH_COMPAT(" +
         name + ", " + name + ", \"acme,widget\");\n";
}

class DriverRegistrations : public DriverModules {
 protected:
  std::string Compile(const std::string& name, int load_result) {
    std::vector<std::string> flags = Split(MODKIT_BUS_MODULE_FLAGS);
    flags.push_back("-I" MODKIT_BUS_SDK_DIR);
    return scratch_.Compile(kGcc, name + ".c", LeakyDriver(name, load_result), flags);
  }
  Scratch scratch_;
};

TEST_F(DriverRegistrations, ADriverIsAnOwnedRegistrationOfItsModule) {
  ASSERT_TRUE(Load("simdrv")) << Log();
  module::Module* m = reg().find_module("simdrv");
  ASSERT_NE(m, nullptr);
  EXPECT_EQ(sys_->services().registrations().count(m), 1u);
  // simdrv unregisters in its UNLOAD: nothing is left to revoke, no leak.
  ASSERT_TRUE(Unload("simdrv")) << Log();
  EXPECT_EQ(buses().newbus().find_driver("simdrv"), nullptr);
  EXPECT_EQ(Log().find("leaked"), std::string::npos) << Log();
}

TEST_F(DriverRegistrations, ADriverLeftRegisteredIsRevokedAtUnloadAndLogged) {
  std::string obj = Compile("leaky", 0);
  ASSERT_FALSE(obj.empty());
  std::string a = Enumerate("simbus compat=acme,widget");
  std::string b = Enumerate("simbus compat=acme,widget");
  Result<File*> f = reg().load_path(obj.c_str());
  ASSERT_TRUE(f) << f.error().message();
  EXPECT_EQ(Attached(a), "leaky0");
  EXPECT_EQ(Attached(b), "leaky1");
  ASSERT_TRUE(Unload("leaky")) << Log();
  EXPECT_TRUE(Logged("leaky: leaked driver 'leaky', revoked")) << Log();
  EXPECT_EQ(buses().newbus().find_driver("leaky"), nullptr);
  EXPECT_EQ(Attached(a), "-");
  EXPECT_EQ(Attached(b), "-");
  // The devices wait for the next driver.
  ASSERT_TRUE(Load("simdrv")) << Log();
  EXPECT_EQ(Attached(a), "simdrv0");
}

TEST_F(DriverRegistrations, ALoadFailingAfterRegisteringADriverLeavesNoDriver) {
  std::string obj = Compile("flakydrv", 5);
  ASSERT_FALSE(obj.empty());
  std::string a = Enumerate("simbus compat=acme,widget");
  std::string b = Enumerate("simbus compat=acme,widget busy=yes");
  std::vector<uint8_t> bytes = test::ReadBytes(obj);
  Result<File*> f = reg().load_bytes(ByteView(bytes.data(), bytes.size()), "flakydrv.ko");
  ASSERT_FALSE(f);
  EXPECT_STREQ(f.error().message(),
               "flakydrv.ko: module flakydrv failed to load: its LOAD handler returned 5");
  // It attached, then its stop revoked the driver: detached, logged as a leak.
  EXPECT_TRUE(Logged("flakydrv0: attached to simbus:0")) << Log();
  EXPECT_TRUE(Logged("flakydrv0: detached from simbus:0")) << Log();
  EXPECT_TRUE(Logged("flakydrv: leaked driver 'flakydrv', revoked")) << Log();
  // A refusing detach cannot keep a driver whose module is gone.
  EXPECT_TRUE(
      Logged("newbus: simbus:1: flakydrv1 refused to detach (busy); detached anyway, its "
             "module is gone"))
      << Log();
  EXPECT_EQ(Attached(b), "-");
  EXPECT_EQ(buses().newbus().find_driver("flakydrv"), nullptr);
  EXPECT_FALSE(Loaded("flakydrv"));
  EXPECT_EQ(Attached(a), "-");
  ASSERT_TRUE(Load("simdrv")) << Log();
  EXPECT_EQ(Attached(a), "simdrv0");
}

TEST(DeviceText, Parsed) {
  Result<DeviceText> t =
      parse_device_text("simbus  vendor=0x1af4 device=4097 compat=acme,widget compat=acme label=x");
  ASSERT_TRUE(t) << t.error().message();
  EXPECT_EQ(t.value().bus, "simbus");
  EXPECT_EQ(t.value().vendor, 0x1af4u);
  EXPECT_EQ(t.value().device, 4097u);
  EXPECT_EQ(t.value().compat, (std::vector<std::string>{"acme,widget", "acme"}));
  EXPECT_EQ(t.value().args, "label=x");
}

TEST(DeviceText, BadTextRefused) {
  auto expect = [](const std::string& text, const std::string& message) {
    Result<DeviceText> t = parse_device_text(text);
    ASSERT_FALSE(t) << text;
    EXPECT_EQ(t.error().code(), Errc::kInvalid);
    EXPECT_EQ(t.error().message(), message);
  };
  expect("",
         "a device needs a bus: `BUS [vendor=ID] [device=ID] [compat=STRING]... "
         "[key=value]...'");
  expect("vendor=1", "device `vendor=1': the first word is the bus, not a key=value");
  expect("simbus vendor", "device `simbus vendor': `vendor' is not key=value");
  expect("simbus vendor=0x",
         "device `simbus vendor=0x': vendor id `0x' is not a 32-bit number "
         "(0x1af4 or 6900)");
  expect("simbus device=4294967296",
         "device `simbus device=4294967296': device id `4294967296' is not a 32-bit number "
         "(0x1af4 or 6900)");
  expect("simbus vendor=1 vendor=2", "device `simbus vendor=1 vendor=2': vendor= given twice");
  expect("simbus compat=a compat=b compat=c compat=d compat=e",
         "device `simbus compat=a compat=b compat=c compat=d compat=e': more than 4 compat= "
         "strings");
  expect("sim-bus", "device `sim-bus': bus name `sim-bus' is not a C identifier");
  expect("simbus compat=a;b",
         "device `simbus compat=a;b': compatible string `a;b' has a character outside "
         "[A-Za-z0-9,._+-]");
  expect("simbus 9x=1",
         "device `simbus 9x=1': attach argument `9x=1': key `9x' is not a C "
         "identifier");
}

}  // namespace
}  // namespace mk::hosted
