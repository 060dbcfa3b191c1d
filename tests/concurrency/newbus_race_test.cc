// Newbus calls racing (bus/newbus.h through hosted/devices.h): two driver
// modules compiled here with gcc (both match the same widgets, at different
// priorities) are loaded and unloaded over and over under every unload
// policy, while other threads hot-plug and unplug widgets on simbus and walk
// the device tree. Asserted only what holds under every interleaving: each
// call answers with success or one of its legitimate refusals; the tree a
// walker sees is consistent; and at the end, with every device unplugged and
// every module gone, each driver detached exactly the devices it attached,
// nothing leaked and nothing is left (ASan, TSan: no use of freed memory, no
// data race).
#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "concurrency/fixture.h"
#include "gtest/gtest.h"
#include "hosted/devices.h"

namespace mk::test {
namespace {

std::string SourceDir() {
  const char* src = getenv("MODKIT_SOURCE_DIR");
  return src != nullptr ? src : MODKIT_TEST_SOURCE_DIR;
}

// Driver `name` for acme,widget at `priority`; logs each attach and detach;
// registers in LOAD and unregisters in UNLOAD.
std::string WidgetDriver(const std::string& name, int priority) {
  return "#include <modkit/bus.h>\n"
         "static int at(struct mk_device* d) {\n"
         "  mk_printf(\"" +
         name +
         ": attach %s\", mk_device_name(d));\n"
         "  return 0;\n"
         "}\n"
         "static int de(struct mk_device* d) {\n"
         "  mk_printf(\"" +
         name +
         ": detach %s\", mk_device_name(d));\n"
         "  return 0;\n"
         "}\n"
         "static const struct mk_driver_methods me = {0, at, de};\n"
         "static int ev(struct mk_module* m, int e, void* a) {\n"
         "  if (e == MK_EVENT_LOAD) return mk_driver_register(m, \"" +
         name +
         "\", &me);\n"
         "  if (e == MK_EVENT_UNLOAD) return mk_driver_unregister(m, \"" +
         name +
         "\");\n"
         "  return 0;\n"
         "}\n"
         "MODKIT_MODULE(" +
         name +
         ", 1, ev, NULL);\n"
         "MODKIT_DEPEND(" +
         name +
         ", kernel, 1, 1, 1);\n"
         "MODKIT_DRIVER(" +
         name + ", " + name + ", simbus, " + std::to_string(priority) +
         ");\n"
         "MODKIT_MATCH_COMPAT(" +
         name + ", " + name + ", \"acme,widget\");\n";
}

TEST(NewbusRace, HotPlugDriverLoadUnloadAndTreeWalksRacing) {
  Scratch scratch;
  const std::vector<std::string> names = {"wa", "wb"};
  std::vector<std::vector<uint8_t>> bytes;
  for (size_t i = 0; i < names.size(); ++i) {
    std::string obj =
        scratch.Compile(kGcc, names[i] + ".c", WidgetDriver(names[i], 10 + 10 * int(i)),
                        {"-O2", "-I" + SourceDir() + "/sdk/include"});
    ASSERT_FALSE(obj.empty());
    bytes.push_back(ReadBytes(obj));
  }

  std::mutex count_mu;
  std::map<std::string, long> attaches, detaches;
  hosted::SystemConfig c;
  c.static_modules = false;
  c.log = [&](const std::string& line) {
    for (const std::string& n : names) {
      if (line.rfind(n + ": attach ", 0) == 0) {
        std::lock_guard<std::mutex> g(count_mu);
        ++attaches[n];
      } else if (line.rfind(n + ": detach ", 0) == 0) {
        std::lock_guard<std::mutex> g(count_mu);
        ++detaches[n];
      }
    }
  };
  hosted::System sys(c);
  ASSERT_TRUE(sys.boot());
  hosted::HostBus& buses = sys.buses();

  std::atomic<bool> stop{false};
  std::atomic<int> bad{0};
  std::atomic<long> plugged{0}, unplugged{0}, refused{0}, loads{0}, walks{0};
  std::mutex bad_mu;
  std::string bad_text;
  auto wrong = [&](const std::string& what) {
    if (bad.fetch_add(1) == 0) {
      std::lock_guard<std::mutex> g(bad_mu);
      bad_text = what;
    }
  };
  // Unplugs one device: done, or refused because its driver's module is on
  // its way out (then it stays in the caller's list for a later try).
  auto unplug = [&](const std::string& name) {
    Result<void> r = buses.remove(name);
    if (r) {
      ++unplugged;
      return true;
    }
    if (r.error().code() == Errc::kBusy &&
        std::string(r.error().message()).find("its module is being unloaded") !=
            std::string::npos) {
      ++refused;
      return false;
    }
    wrong(std::string("remove ") + name + ": " + r.error().message());
    return true;
  };

  std::vector<std::thread> threads;
  for (int t = 0; t < 2; ++t) {
    threads.emplace_back([&] {
      std::vector<std::string> mine;
      while (!stop.load()) {
        Result<hosted::DeviceAdded> d = buses.add("simbus compat=acme,widget");
        if (!d) {
          wrong(std::string("add: ") + d.error().message());
          continue;
        }
        ++plugged;
        const std::string& a = d.value().attached;
        if (!a.empty() && a.rfind("wa", 0) != 0 && a.rfind("wb", 0) != 0) wrong("attached to " + a);
        mine.push_back(d.value().name);
        // Paced: every plug logs lines that the System keeps.
        std::this_thread::sleep_for(std::chrono::microseconds(100));
        if (mine.size() > 3) {
          std::vector<std::string> left;
          for (const std::string& n : mine)
            if (!unplug(n)) left.push_back(n);
          mine = left;
        }
      }
      for (int i = 0; i < 1000 && !mine.empty(); ++i) {
        std::vector<std::string> left;
        for (const std::string& n : mine)
          if (!unplug(n)) left.push_back(n);
        mine = left;
        if (!mine.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(2));
      }
      if (!mine.empty()) wrong("could not unplug " + mine[0]);
    });
  }
  threads.emplace_back([&] {
    struct Walk {
      std::string problem;
      size_t devices = 0;
    };
    while (!stop.load()) {
      Walk w;
      buses.newbus().for_each_device(
          [](void* ctx, const bus::Device& d) {
            auto* w = static_cast<Walk*>(ctx);
            ++w->devices;
            if (d.driver == nullptr) {
              if (d.driver_unit != -1) w->problem = std::string(d.name) + ": a unit without driver";
              return;
            }
            std::string n = d.driver->name;
            if ((n != "wa" && n != "wb") || d.driver_unit < 0)
              w->problem = std::string(d.name) + ": attached to " + n;
          },
          &w);
      if (!w.problem.empty()) wrong(w.problem);
      ++walks;
      std::this_thread::sleep_for(std::chrono::microseconds(50));
    }
  });
  using Policy = module::UnloadOptions::Policy;
  for (size_t i = 0; i < names.size(); ++i) {
    threads.emplace_back([&, i] {
      const char* name = names[i].c_str();
      for (int round = 0; !stop.load(); ++round) {
        Result<module::File*> f =
            sys.registry().load_bytes(ByteView(bytes[i].data(), bytes[i].size()), name);
        if (f) ++loads;
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
        module::UnloadOptions o;
        switch (round % 4) {
          case 0:
            break;  // refuse: fails while a call into it runs
          case 1:
            o.policy = Policy::kWait;
            o.timeout_ns = 20'000'000;
            break;
          case 2:
            o.policy = Policy::kDefer;
            break;
          case 3:
            o.force = true;
            break;
        }
        (void)sys.registry().unload_module(name, o);
      }
    });
  }

  std::this_thread::sleep_for(std::chrono::seconds(2));
  stop = true;
  for (std::thread& t : threads)
    t.join();

  // What is left goes now: a deferred unload completes on its own thread.
  for (const std::string& n : names) {
    for (int i = 0; i < 500 && sys.registry().find_module(n.c_str()) != nullptr; ++i) {
      module::UnloadOptions o;
      o.force = true;
      (void)sys.registry().unload_module(n.c_str(), o);
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    EXPECT_EQ(sys.registry().find_module(n.c_str()), nullptr) << n;
  }
  EXPECT_EQ(bad.load(), 0) << bad_text;
  EXPECT_EQ(sys.registry().file_count(), 1u);
  size_t devices = 0, drivers = 0;
  buses.newbus().for_each_device(
      [](void* ctx, const bus::Device&) { ++*static_cast<size_t*>(ctx); }, &devices);
  buses.newbus().for_each_driver(
      [](void* ctx, const bus::Driver&) { ++*static_cast<size_t*>(ctx); }, &drivers);
  EXPECT_EQ(devices, 0u);
  EXPECT_EQ(drivers, 0u);
  {
    std::lock_guard<std::mutex> g(count_mu);
    for (const std::string& n : names)
      EXPECT_EQ(attaches[n], detaches[n]) << n;
  }
  for (const std::string& l : sys.log())
    EXPECT_EQ(l.find("leaked"), std::string::npos) << l;  // each unregisters in UNLOAD
  // What the run did (in the XML report: --gtest_output=xml).
  RecordProperty("loads", static_cast<int>(loads.load()));
  RecordProperty("plugged", static_cast<int>(plugged.load()));
  RecordProperty("refused_unplugs", static_cast<int>(refused.load()));
  RecordProperty("walks", static_cast<int>(walks.load()));
  {
    std::lock_guard<std::mutex> g(count_mu);
    RecordProperty("attaches", static_cast<int>(attaches["wa"] + attaches["wb"]));
  }
  EXPECT_GT(loads.load(), 4);
  EXPECT_GT(plugged.load(), 10);
  EXPECT_EQ(plugged.load(), unplugged.load());
  EXPECT_GT(walks.load(), 0);
}

}  // namespace
}  // namespace mk::test
