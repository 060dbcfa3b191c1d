#include "concurrency/fixture.h"

#include <gtest/gtest.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <sstream>
#include <thread>

#include "module/hints.h"

namespace mk::test {
namespace {

struct Source {
  const char* module;
  const char* text;
};

// Each LOAD handler checks what its dependencies guarantee while it runs.
const Source kSources[] = {
    {"base", R"(#include <modkit/module.h>
int base_value(void) { return 42; }
static int base_event(struct mk_module* m, int event, void* arg) { return 0; }
MODKIT_MODULE(base, 1, base_event, NULL);
MODKIT_DEPEND(base, kernel, 1, 1, 1);
MODKIT_EXPORT(base, base_value);
)"},
    {"mid", R"(#include <modkit/module.h>
int base_value(void);
int mid_value(void) { return base_value() + 1; }
static int mid_event(struct mk_module* m, int event, void* arg) {
  if (event != MK_EVENT_LOAD) return 0;
  /* base is LIVE and held by this file: a reference must be granted. */
  struct mk_module* b = mk_module_find("base");
  if (b == NULL || mk_module_get(b) != 0) return MK_ENXIO;
  int ok = base_value() == 42;
  mk_module_put(b);
  return ok ? 0 : MK_EINVAL;
}
MODKIT_MODULE(mid, 1, mid_event, NULL);
MODKIT_DEPEND(mid, kernel, 1, 1, 1);
MODKIT_DEPEND(mid, base, 1, 1, 1);
MODKIT_EXPORT(mid, mid_value);
)"},
    {"top", R"(#include <modkit/module.h>
int mid_value(void);
static int top_event(struct mk_module* m, int event, void* arg) {
  return event == MK_EVENT_LOAD && mid_value() != 43 ? MK_EINVAL : 0;
}
MODKIT_MODULE(top, 1, top_event, NULL);
MODKIT_DEPEND(top, kernel, 1, 1, 1);
MODKIT_DEPEND(top, mid, 1, 1, 1);
)"},
    // The same diamond twice, its dependencies declared in both orders: a
    // compiler may emit the records in either.
    {"diamond", R"(#include <modkit/module.h>
int base_value(void);
int mid_value(void);
static int diamond_event(struct mk_module* m, int event, void* arg) {
  return event == MK_EVENT_LOAD && mid_value() + base_value() != 85 ? MK_EINVAL : 0;
}
MODKIT_MODULE(diamond, 1, diamond_event, NULL);
MODKIT_DEPEND(diamond, kernel, 1, 1, 1);
MODKIT_DEPEND(diamond, mid, 1, 1, 1);
MODKIT_DEPEND(diamond, base, 1, 1, 1);
)"},
    {"kite", R"(#include <modkit/module.h>
int base_value(void);
int mid_value(void);
static int kite_event(struct mk_module* m, int event, void* arg) {
  return event == MK_EVENT_LOAD && mid_value() + base_value() != 85 ? MK_EINVAL : 0;
}
MODKIT_MODULE(kite, 1, kite_event, NULL);
MODKIT_DEPEND(kite, kernel, 1, 1, 1);
MODKIT_DEPEND(kite, base, 1, 1, 1);
MODKIT_DEPEND(kite, mid, 1, 1, 1);
)"},
    {"solo", R"(#include <modkit/module.h>
static int inits;
static void solo_init(void* arg) { ++inits; }
static void solo_fini(void* arg) { --inits; }
static int solo_event(struct mk_module* m, int event, void* arg) {
  return event == MK_EVENT_LOAD && inits != 1 ? MK_EINVAL : 0;
}
MODKIT_MODULE(solo, 1, solo_event, NULL);
MODKIT_DEPEND(solo, kernel, 1, 1, 1);
MODKIT_SYSINIT(solo, MK_SI_SERVICES, 1, solo_init, NULL);
MODKIT_SYSUNINIT(solo, MK_SI_SERVICES, 1, solo_fini, NULL);
)"},
    {"moody", R"(#include <modkit/module.h>
static unsigned asked;
static int moody_event(struct mk_module* m, int event, void* arg) {
  if (event == MK_EVENT_QUIESCE && asked++ % 2 == 0) return mk_module_veto(m, "not now");
  return 0;
}
MODKIT_MODULE(moody, 1, moody_event, NULL);
MODKIT_DEPEND(moody, kernel, 1, 1, 1);
)"},
    {"nester", R"(#include <modkit/module.h>
static int nester_event(struct mk_module* m, int event, void* arg) {
  if (event != MK_EVENT_LOAD) return 0;
  /* Already there, or going away (a deferred unload): solo is optional. */
  int err = mk_module_load("solo");
  return err == MK_EEXIST || err == MK_EBUSY ? 0 : err;
}
MODKIT_MODULE(nester, 1, nester_event, NULL);
MODKIT_DEPEND(nester, kernel, 1, 1, 1);
)"},
};

std::string SdkDir() {
  const char* src = getenv("MODKIT_SOURCE_DIR");
  return std::string(src != nullptr ? src : MODKIT_TEST_SOURCE_DIR) + "/sdk/include";
}

void CollectFile(void* ctx, const module::File& f) {
  FileView v;
  v.name = f.name;
  v.state = f.state;
  v.holders = f.holders;
  v.deferred = f.deferred;
  // The image is only read once the file is LIVE: while LOADING the loader
  // still writes it.
  v.memory = f.state == module::State::kLive && f.linked != nullptr ? f.linked->memory() : 0;
  for (const module::File* u : f.uses)
    v.uses.push_back(u->name);
  for (const module::Module* m : f.modules)
    v.modules.push_back({m->name, m->state, m->refs});
  static_cast<std::vector<FileView>*>(ctx)->push_back(std::move(v));
}

}  // namespace

ModuleDir::ModuleDir() {
  std::vector<std::string> files;  // kept alive for the HintEntry pointers
  std::vector<module::HintEntry> entries;
  for (const Source& s : kSources) {
    std::string obj =
        scratch_.Compile(kGcc, std::string(s.module) + ".c", s.text, {"-O2", "-I" + SdkDir()});
    if (obj.empty()) return;
    files.push_back(std::string(s.module) + ".ko");
    if (rename(obj.c_str(), scratch_.path(files.back()).c_str()) != 0) {
      ADD_FAILURE() << "cannot rename " << obj;
      return;
    }
  }
  for (size_t i = 0; i < files.size(); ++i)
    entries.push_back({kSources[i].module, 1, files[i].c_str()});
  hosted::MallocAllocator alloc;
  Vec<char> text(alloc);
  Result<void> w = module::write_hints(entries.data(), entries.size(), text);
  if (!w) {
    ADD_FAILURE() << w.error().message();
    return;
  }
  scratch_.Write("modkit.hints", std::string(text.begin(), text.end()));
}

std::vector<FileView> Snapshot(module::Registry& r) {
  std::vector<FileView> files;
  r.for_each_file(&CollectFile, &files);
  return files;
}

std::string CheckAlways(const std::vector<FileView>& files) {
  std::ostringstream out;
  std::map<std::string, std::string> owner;  // module -> file
  std::map<std::string, uint32_t> users;     // file -> files using it
  for (const FileView& f : files) {
    for (const FileView::Mod& m : f.modules) {
      if (m.state == module::State::kGone) continue;
      auto [it, fresh] = owner.emplace(m.name, f.name);
      if (!fresh)
        out << "module " << m.name << " in both " << it->second << " and " << f.name << "\n";
    }
    std::vector<std::string> uses = f.uses;
    std::sort(uses.begin(), uses.end());
    if (std::adjacent_find(uses.begin(), uses.end()) != uses.end())
      out << f.name << " holds a file twice\n";
    for (const std::string& u : f.uses)
      ++users[u];
  }
  for (const FileView& f : files)
    if (f.holders < users[f.name])
      out << f.name << ": holders " << f.holders << " < " << users[f.name] << " users\n";
  return out.str();
}

std::string CheckAtRest(const std::vector<FileView>& files) {
  std::ostringstream out;
  out << CheckAlways(files);
  std::map<std::string, uint32_t> users;
  for (const FileView& f : files)
    for (const std::string& u : f.uses)
      ++users[u];
  for (const FileView& f : files) {
    if (f.state != module::State::kLive)
      out << f.name << " is " << module::state_name(f.state) << "\n";
    if (f.deferred) out << f.name << " still has a deferred unload\n";
    if (f.holders != users[f.name])
      out << f.name << ": holders " << f.holders << " != " << users[f.name] << " users\n";
    for (const FileView::Mod& m : f.modules) {
      if (m.state != module::State::kLive)
        out << "module " << m.name << " is " << module::state_name(m.state) << "\n";
      if (m.refs != 0) out << "module " << m.name << " has " << m.refs << " reference(s)\n";
    }
  }
  return out.str();
}

TestKernel::TestKernel(const ModuleDir& modules) {
  hosted::SystemConfig config;
  config.module_path = {modules.dir()};
  config.static_modules = false;
  system_ = std::make_unique<hosted::System>(std::move(config));
  Result<module::File*> k = system_->boot();
  EXPECT_TRUE(k) << k.error().message();
  arena_used_ = system_->arena().stats().used;
  exports_ = system_->exports().size();
}

TestKernel::~TestKernel() = default;

std::string TestKernel::UnloadAllAndCheck() {
  std::ostringstream out;
  // Newest first: files are listed in the order they went LIVE, so users
  // come after what they use. Each round takes at least one file.
  for (int round = 0; round < 64; ++round) {
    std::vector<FileView> files = Snapshot(registry());
    if (files.size() <= 1) break;
    const FileView& last = files.back();
    Result<module::UnloadResult> r =
        registry().unload_module(last.modules.at(0).name.c_str(), module::UnloadOptions{});
    if (!r && r.error().code() == Errc::kBusy && strstr(r.error().message(), "vetoed") != nullptr)
      continue;  // moody says no every other time
    if (!r) {
      out << "unloading " << last.name << ": " << r.error().message() << "\n";
      break;
    }
  }
  std::vector<FileView> files = Snapshot(registry());
  if (files.size() != 1) out << files.size() << " files left, not only the kernel\n";
  if (size_t used = system_->arena().stats().used; used != arena_used_)
    out << "arena: " << used << " bytes used, " << arena_used_ << " after boot\n";
  if (size_t n = system_->exports().size(); n != exports_)
    out << "export index: " << n << " symbols, " << exports_ << " after boot\n";
  return out.str();
}

module::UnloadOptions WaitFor(std::chrono::milliseconds timeout) {
  module::UnloadOptions o;
  o.policy = module::UnloadOptions::Policy::kWait;
  o.timeout_ns = static_cast<uint64_t>(timeout.count()) * 1000000;
  return o;
}

module::UnloadOptions Defer() {
  module::UnloadOptions o;
  o.policy = module::UnloadOptions::Policy::kDefer;
  return o;
}

module::State ModuleState(module::Registry& r, const std::string& name) {
  for (const FileView& f : Snapshot(r))
    for (const FileView::Mod& m : f.modules)
      if (m.name == name && m.state != module::State::kGone) return m.state;
  return module::State::kGone;
}

bool WaitForState(module::Registry& r, const std::string& name, module::State s) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (ModuleState(r, name) != s) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::microseconds(100));
  }
  return true;
}

int FilesWith(module::Registry& r, const std::string& name) {
  int n = 0;
  for (const FileView& f : Snapshot(r))
    for (const FileView::Mod& m : f.modules)
      n += m.name == name && m.state != module::State::kGone;
  return n;
}

bool LogHas(hosted::System& s, const std::string& text) {
  for (const std::string& line : s.log())
    if (line.find(text) != std::string::npos) return true;
  return false;
}

module::Module* Reference(module::Registry& r, const char* name) {
  Result<module::Module*> m = r.get(name);
  return m ? m.value() : nullptr;
}

}  // namespace mk::test
