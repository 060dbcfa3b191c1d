// Fuzzer: the registry (module/registry.h) driven by random sequences of
// load (by name, by path, and from a sample file truncated or with a damaged
// ELF header), unload
// (refuse, wait, defer; with or without cascade; `veto` vetoes QUIESCE while
// busy), get and put, and hot-plug of devices on simbus (added, which may
// attach simdrv or auto-load it through the hints index, with busy=yes so
// that its detach refuses an unload; removed), against the sample modules of
// modules/ (built into MODKIT_FUZZ_MODULE_DIR with their hints index) in a
// hosted System.
// Properties, checked after every step (abort() naming the broken rule):
// - at most one module of a name; no file holds another twice; every file's
//   holders are exactly the files that use it, all of them present;
// - files and modules are LIVE, except a file whose unload is deferred
//   (GOING, with references outstanding);
// - every module's reference count is the number of references this
//   harness holds on it;
// - every driver belongs to a module that is loaded, and counts exactly the
//   devices attached to it;
// and at the end, once every reference is put and the kernel shut down: only
// the kernel image is left, the arena and the export index are back to their
// sizes after boot. The same sequence played on a fresh kernel gives the same
// outcomes, step by step.
#include <stdio.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "bus/newbus.h"
#include "fuzz/check.h"
#include "hosted/devices.h"
#include "hosted/system.h"

#ifndef MODKIT_FUZZ_MODULE_DIR
#error "MODKIT_FUZZ_MODULE_DIR: the sample modules' directory"
#endif

using namespace mk;
using namespace mk::module;

namespace {

const char* const kModules[] = {"hello",   "chain_base", "chain_mid", "chain_top",
                                "two_a",   "two_b",      "fail_init", "fail_init_first",
                                "veto",    "veto_peer",  "counter",   "nested",
                                "missing", "simdrv",     "echo"};
const char* const kFiles[] = {
    "hello.ko",     "chain_base.ko", "chain_base_v1.ko", "chain_base_v3.ko", "chain_mid.ko",
    "chain_top.ko", "two_in_one.ko", "fail_init.ko",     "veto.ko",          "counter.ko",
    "nested.ko",    "simdrv.ko",     "echo.ko"};
// Devices a step adds: simdrv's widget by ids or compatible string, busy or
// not, one nothing drives, and a bad one.
const char* const kDevices[] = {
    "simbus vendor=0x1af4 device=0x1001 label=a",          "simbus compat=acme,widget busy=yes",
    "simbus vendor=0x1af4 device=0x1001 busy=yes",         "simbus vendor=0x1 device=0x2",
    "simbus vendor=0x1af4 device=0x1001 busy=yes busy=no", "nobus vendor=1"};

const std::vector<uint8_t>& SampleBytes(size_t i) {
  static std::vector<std::vector<uint8_t>> cache(std::size(kFiles));
  if (cache[i].empty()) {
    std::ifstream in(std::string(MODKIT_FUZZ_MODULE_DIR) + "/" + kFiles[i], std::ios::binary);
    cache[i].assign(std::istreambuf_iterator<char>(in), {});
    FUZZ_CHECK(!cache[i].empty(), "cannot read %s/%s", MODKIT_FUZZ_MODULE_DIR, kFiles[i]);
  }
  return cache[i];
}

struct View {
  std::string name;
  State state;
  uint32_t holders;
  bool deferred;
  std::vector<std::string> uses;
  std::vector<std::pair<const Module*, uint32_t>> modules;  // with refs
  std::vector<std::string> module_names;
  std::vector<State> module_states;
};

std::vector<View> Snapshot(Registry& r) {
  std::vector<View> out;
  r.for_each_file(
      [](void* ctx, const File& f) {
        View v{f.name, f.state, f.holders, f.deferred, {}, {}, {}, {}};
        for (const File* u : f.uses)
          v.uses.push_back(u->name);
        for (const Module* m : f.modules) {
          v.modules.emplace_back(m, m->refs);
          v.module_names.push_back(m->name);
          v.module_states.push_back(m->state);
        }
        static_cast<std::vector<View>*>(ctx)->push_back(std::move(v));
      },
      &out);
  return out;
}

class Session {
 public:
  explicit Session(std::string* trace) : trace_(trace) {
    hosted::SystemConfig c;
    c.module_path = {MODKIT_FUZZ_MODULE_DIR};
    c.static_modules = false;
    sys_ = std::make_unique<hosted::System>(std::move(c));
    Result<File*> k = sys_->boot();
    FUZZ_CHECK(k, "boot: %s", k ? "" : k.error().message());
    arena_used_ = sys_->arena().stats().used;
    exports_ = sys_->exports().size();
  }

  void Step(fuzz::FuzzInput& in) {
    Registry& reg = sys_->registry();
    std::string what;
    switch (in.below(10)) {
      case 0: {
        const char* m = kModules[in.below(std::size(kModules))];
        uint32_t lo = in.below(4), hi = lo + in.below(4);
        what = std::string("load ") + m + " " + std::to_string(lo) + ".." + std::to_string(hi);
        Note(what, reg.load_module(m, VersionRange{lo, hi, hi}));
        break;
      }
      case 1: {
        const char* f = kFiles[in.below(std::size(kFiles))];
        what = std::string("load path ") + f;
        Note(what, reg.load_path(f));
        break;
      }
      case 2: {
        // A sample file truncated, or with bytes of its ELF header
        // overwritten: refused, or (a harmless header field) loaded as it
        // is. Nothing that may load with wrong code or wrong relocations:
        // the kernel cannot tell those from right ones, and would run them
        // (fuzz_link and fuzz_validate damage files anywhere, never run them).
        size_t i = in.below(std::size(kFiles));
        std::vector<uint8_t> bytes = SampleBytes(i);
        uint32_t at;
        if (in.byte() & 1) {
          at = in.below(static_cast<uint32_t>(bytes.size()));
          bytes.resize(at);
        } else {
          at = in.below(64 - 8);
          uint64_t v = in.take<uint64_t>();
          memcpy(bytes.data() + at, &v, 8);
        }
        what = std::string("load damaged ") + kFiles[i] + " at " + std::to_string(at);
        Note(what, reg.load_bytes(ByteView(bytes.data(), bytes.size()), kFiles[i]));
        break;
      }
      case 3:
      case 4: {
        const char* m = kModules[in.below(std::size(kModules))];
        UnloadOptions o;
        uint8_t b = in.byte();
        o.policy = b % 3 == 0   ? UnloadOptions::Policy::kRefuse
                   : b % 3 == 1 ? UnloadOptions::Policy::kWait
                                : UnloadOptions::Policy::kDefer;
        o.timeout_ns = 1000000;  // 1 ms: nobody else can put meanwhile
        o.cascade = (b >> 2) & 1;
        what = std::string("unload ") + m + " policy " + std::to_string(b % 3) + " cascade " +
               std::to_string(o.cascade);
        Result<UnloadResult> r = reg.unload_module(m, o);
        Note(what, r);
        break;
      }
      case 5: {
        const char* m = kModules[in.below(std::size(kModules))];
        what = std::string("get ") + m;
        Result<Module*> r = reg.get(m);
        if (r) held_.push_back(r.value());
        Note(what, r);
        break;
      }
      case 6: {
        if (held_.empty()) return;
        size_t i = in.below(static_cast<uint32_t>(held_.size()));
        Module* m = held_[i];
        what = std::string("put ") + m->name;
        held_.erase(held_.begin() + static_cast<long>(i));
        reg.put(m);  // may complete a deferred unload: m may be gone after this
        *trace_ += what + "\n";
        break;
      }
      case 7: {
        // veto's QUIESCE answer: busy or not (its export veto_set_busy).
        int busy = in.byte() & 1;
        File* f = reg.find_file("veto.ko");
        const link::FileSymbol* s =
            f != nullptr && f->linked != nullptr ? f->linked->find("veto_set_busy") : nullptr;
        if (s == nullptr) return;
        reinterpret_cast<void (*)(int)>(static_cast<uintptr_t>(s->addr))(busy);
        what = "veto busy " + std::to_string(busy);
        *trace_ += what + "\n";
        break;
      }
      case 8: {
        const char* d = kDevices[in.below(std::size(kDevices))];
        what = std::string("device add ") + d;
        Result<hosted::DeviceAdded> r = sys_->buses().add(d);
        if (r)
          *trace_ += what + ": " + r.value().name + " attached `" + r.value().attached +
                     "' autoload `" + r.value().autoload + "' " + r.value().autoload_error + "\n";
        else
          Note(what, r);
        break;
      }
      case 9: {
        std::string name = "simbus:" + std::to_string(in.below(4));
        what = "device remove " + name;
        Note(what, sys_->buses().remove(name));
        break;
      }
    }
    Check(what);
  }

  // Puts every reference, shuts down, and checks that nothing is left.
  void Finish() {
    while (!held_.empty()) {
      Module* m = held_.back();
      held_.pop_back();
      sys_->registry().put(m);
    }
    Check("put all");
    sys_->shutdown();
    std::vector<View> files = Snapshot(sys_->registry());
    FUZZ_CHECK(files.size() == 1, "after shutdown %zu files are left (last: %s)", files.size(),
               files.back().name.c_str());
    FUZZ_CHECK(sys_->arena().stats().used == arena_used_, "arena: %zu bytes used, %zu after boot",
               sys_->arena().stats().used, arena_used_);
    FUZZ_CHECK(sys_->exports().size() == exports_, "exports: %zu, %zu after boot",
               sys_->exports().size(), exports_);
  }

 private:
  template <class T>
  void Note(const std::string& what, const Result<T>& r) {
    *trace_ += what + ": " +
               (r ? "ok" : std::string(errc_name(r.error().code())) + " " + r.error().message()) +
               "\n";
  }

  void Check(const std::string& after) {
    std::vector<View> files = Snapshot(sys_->registry());
    std::set<std::string> names, present;
    std::map<std::string, uint32_t> users;
    std::map<const Module*, uint32_t> refs;
    for (const View& f : files)
      present.insert(f.name);
    for (const View& f : files) {
      const bool going = f.deferred;
      FUZZ_CHECK(f.state == (going ? State::kGoing : State::kLive), "after %s: file %s is %s",
                 after.c_str(), f.name.c_str(), state_name(f.state));
      std::set<std::string> uses(f.uses.begin(), f.uses.end());
      FUZZ_CHECK(uses.size() == f.uses.size(), "after %s: %s holds a file twice", after.c_str(),
                 f.name.c_str());
      for (const std::string& u : f.uses) {
        FUZZ_CHECK(present.count(u), "after %s: %s uses %s, which is gone", after.c_str(),
                   f.name.c_str(), u.c_str());
        ++users[u];
      }
      for (size_t i = 0; i < f.modules.size(); ++i) {
        const std::string& n = f.module_names[i];
        FUZZ_CHECK(names.insert(n).second, "after %s: two modules %s", after.c_str(), n.c_str());
        FUZZ_CHECK(f.module_states[i] == (going ? State::kGoing : State::kLive),
                   "after %s: module %s is %s", after.c_str(), n.c_str(),
                   state_name(f.module_states[i]));
        refs[f.modules[i].first] = f.modules[i].second;
      }
    }
    for (const View& f : files)
      FUZZ_CHECK(f.holders == users[f.name], "after %s: %s has %u holders, %u users", after.c_str(),
                 f.name.c_str(), f.holders, users[f.name]);
    for (const auto& [m, n] : refs) {
      uint32_t mine = static_cast<uint32_t>(std::count(held_.begin(), held_.end(), m));
      FUZZ_CHECK(n == mine, "after %s: a module has %u references, the harness holds %u",
                 after.c_str(), n, mine);
    }
    for (const Module* m : held_)
      FUZZ_CHECK(refs.count(m), "after %s: a module the harness holds is gone", after.c_str());

    // Drivers and devices (the registry's listener, hosted::HostBus).
    struct Bus {
      std::map<const bus::Driver*, uint32_t> attached;  // devices per driver
      std::vector<std::pair<const bus::Driver*, const Module*>> drivers;
    } b;
    sys_->buses().newbus().for_each_device(
        [](void* ctx, const bus::Device& d) {
          if (d.driver != nullptr) ++static_cast<Bus*>(ctx)->attached[d.driver];
        },
        &b);
    sys_->buses().newbus().for_each_driver(
        [](void* ctx, const bus::Driver& d) {
          static_cast<Bus*>(ctx)->drivers.emplace_back(&d, d.owner);
        },
        &b);
    for (const auto& [d, owner] : b.drivers) {
      FUZZ_CHECK(refs.count(owner), "after %s: driver %s belongs to a module that is gone",
                 after.c_str(), d->name);
      FUZZ_CHECK(d->attached == b.attached[d], "after %s: driver %s counts %u devices, %u attached",
                 after.c_str(), d->name, d->attached, b.attached[d]);
    }
    for (const auto& [d, n] : b.attached) {
      bool known = false;
      for (const auto& dd : b.drivers)
        known = known || dd.first == d;
      FUZZ_CHECK(known, "after %s: %u devices attached to a driver not registered", after.c_str(),
                 n);
    }
  }

  std::string* trace_;
  std::unique_ptr<hosted::System> sys_;
  // One entry per reference held, in the order taken (not by address, so
  // that a replay picks the same one).
  std::vector<Module*> held_;
  size_t arena_used_ = 0;
  size_t exports_ = 0;
};

std::string Play(const uint8_t* data, size_t size) {
  std::string trace;
  {
    Session s(&trace);
    fuzz::FuzzInput in(data, size);
    for (int steps = 0; !in.empty() && steps < 64; ++steps)
      s.Step(in);
    s.Finish();
  }
  return trace;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string first = Play(data, size);
  std::string second = Play(data, size);
  FUZZ_CHECK(first == second, "the same sequence played twice differs:\n%s---\n%s", first.c_str(),
             second.c_str());
  return 0;
}
