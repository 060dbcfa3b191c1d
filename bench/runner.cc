#include "runner.h"

#include <dlfcn.h>
#include <malloc.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <concepts>

#include "kapi.h"
#include "stats.h"

namespace bench {
namespace {

using InitFn = int (*)();

constexpr int kDlFlags = RTLD_NOW | RTLD_LOCAL;
constexpr size_t kLookupNames = 16;  // names looked up per batch (fewer if the module has fewer)
constexpr int kLookupLoops = 16;     // passes over them per batch
constexpr int kWarmup = 2;           // unrecorded repetitions before each block
constexpr int kBlock = 8;            // consecutive load cycles of one system in measure()

[[noreturn]] __attribute__((format(printf, 1, 2))) void die(const char* fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "modkit_bench: ");
  vfprintf(stderr, fmt, ap);
  fprintf(stderr, "\n");
  va_end(ap);
  exit(1);
}

// A kernel-wide lookup by name (no file handle), if the embedding API has one.
// Checked at compile time so that the benchmark measures it as soon as it
// exists (as symbol(name) or lookup(name)).
template <class K>
concept HasSymbolByName = requires(const K& k, const std::string& name) {
  { k.symbol(name) } -> std::convertible_to<void*>;
};
template <class K>
concept HasLookupByName = requires(const K& k, const std::string& name) {
  { k.lookup(name) } -> std::convertible_to<void*>;
};

template <class K>
bool kernel_wide(const K& k, const std::string& name, void** out) {
  if constexpr (HasSymbolByName<K>) {
    *out = k.symbol(name);
    return true;
  } else if constexpr (HasLookupByName<K>) {
    *out = k.lookup(name);
    return true;
  } else {
    (void)k, (void)name, (void)out;
    return false;
  }
}

// This thread's minor page faults so far (read outside the timed spans: a
// system call).
long minor_faults() {
  rusage u{};
  getrusage(RUSAGE_THREAD, &u);
  return u.ru_minflt;
}

size_t file_size(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0 ? static_cast<size_t>(st.st_size) : 0;
}

struct Rng {
  uint64_t s = 0x2545f4914f6cdd1dull;
  size_t below(size_t n) {
    s ^= s << 13;
    s ^= s >> 7;
    s ^= s << 17;
    return static_cast<size_t>((s >> 11) % n);
  }
};

// Runs body(fd) in a forked child and returns the doubles it wrote to fd.
template <class Body>
std::vector<double> in_child(Body body) {
  std::vector<double> out;
  int fds[2];
  if (pipe(fds) != 0) return out;
  fflush(nullptr);
  pid_t pid = fork();
  if (pid == 0) {
    close(fds[0]);
    body(fds[1]);
    _exit(0);
  }
  close(fds[1]);
  double v;
  while (pid > 0 && read(fds[0], &v, sizeof v) == sizeof v)
    out.push_back(v);
  close(fds[0]);
  if (pid > 0) waitpid(pid, nullptr, 0);
  return out;
}

}  // namespace

Runner::Runner(const Config& cfg, Results& results) : cfg_(cfg), res_(results) {
  for (int i = 0; i < kapi_symbol_count; ++i) {
    const kapi_symbol& s = kapi_symbols[i];
    if (!kernel_.export_symbol(s.name, s.addr, s.size, s.function != 0))
      die("export_symbol(%s) refused", s.name);
  }
}

Runner::~Runner() {
  for (size_t i = dl_pop_.size(); i > 0; --i)
    dlclose(dl_pop_[i - 1]);
  // The Kernel unloads its files itself.
}

bool Runner::prepare(std::string* err) {
  std::vector<std::string> kinds = cfg_.sizes;
  kinds.push_back(cfg_.population);
  if (cfg_.mem_count > 0) kinds.push_back("one");
  for (const std::string& kind : kinds) {
    if (mods_.count(kind)) continue;
    const Shape* shape = shape_by_name(kind);
    if (shape == nullptr) return *err = "unknown size " + kind, false;
    fprintf(stderr, "corpus: %s...\n", kind.c_str());
    if (!build_module(*shape, cfg_.work, cfg_.cc, &mods_[kind], err)) return false;
    check_exports(mods_[kind]);
  }
  size_t max_n = cfg_.ns.empty() ? 0 : *std::max_element(cfg_.ns.begin(), cfg_.ns.end());
  if (cfg_.with_dlopen) {
    fprintf(stderr, "corpus: %zu copies of %s.so for dlopen...\n", max_n, cfg_.population.c_str());
    if (!so_copies(mods_[cfg_.population], cfg_.work, max_n, &pop_paths_, err)) return false;
    if (cfg_.mem_count > 0 && !so_copies(mods_["one"], cfg_.work, cfg_.mem_count, &one_paths_, err))
      return false;
  }
  pop_obj_ = mods_[cfg_.population].obj;
  size_t warm = 0;
  for (const std::string& size : cfg_.sizes) {
    if (size == "one") continue;  // the floor is for the typical and big modules
    const Module& m = mods_[size];
    floors_[size] = std::make_unique<CopyFloor>(m.obj, m.info);
    warm = std::max(warm, floors_[size]->image_size());
  }
  warm_.assign(warm, 1);
  return true;
}

void Runner::describe_corpus(FILE* out) const {
  fprintf(out, "corpus (%s, default flags: .o for modkit; -shared -fPIC .so for dlopen):\n",
          cfg_.cc.c_str());
  for (const auto& [kind, m] : mods_)
    fprintf(out,
            "  %-8s text %8.1f KiB  loaded %8.1f KiB  relocations %6zu  imports %3zu  "
            "exports %4zu  .o %7.1f KiB  .so %7.1f KiB\n",
            kind.c_str(), m.info.text_bytes / 1024.0, m.info.alloc_bytes / 1024.0,
            m.info.relocations, m.info.imports, m.exports.size(), m.obj.size() / 1024.0,
            file_size(m.so_path) / 1024.0);
}

int Runner::reps_for(const std::string& size) const {
  int base = size == "big"       ? (cfg_.quick ? 15 : 60)
             : size == "typical" ? (cfg_.quick ? 150 : 1000)
                                 : (cfg_.quick ? 300 : 2000);
  return std::max(3, static_cast<int>(base * cfg_.reps_scale));
}

// Every name the lookups use must resolve, in both systems, before anything is timed.
void Runner::check_exports(const Module& m) {
  modkit::Error err;
  modkit::File* f = kernel_.load_memory(m.obj.data(), m.obj.size(), m.obj_path, &err);
  if (f == nullptr) die("modkit cannot load %s: %s", m.obj_path.c_str(), err.message.c_str());
  void* h = dlopen(m.so_path.c_str(), kDlFlags);
  if (h == nullptr) die("dlopen: %s", dlerror());
  for (const std::string& name : m.exports) {
    if (kernel_.symbol(f, name) == nullptr)
      die("modkit: %s lacks %s", m.obj_path.c_str(), name.c_str());
    if (dlsym(h, name.c_str()) == nullptr)
      die("dlsym: %s lacks %s", m.so_path.c_str(), name.c_str());
  }
  kernel_.unload(f);
  dlclose(h);
}

void Runner::run() {
  if (cfg_.mem_count > 0) memory_phase();
  for (size_t n : cfg_.ns) {
    fprintf(stderr, "N = %zu: loading the population...\n", n);
    grow(n);
    for (const std::string& size : cfg_.sizes) {
      fprintf(stderr, "N = %zu: %s (%d repetitions)...\n", n, size.c_str(), reps_for(size));
      measure(size, n);
    }
    global_lookups(n);
  }
  if (sink_ == 1) fprintf(stderr, "(sink)\n");
}

// Loads mem_count one-function modules into a fresh Kernel, then as many
// dlopen'd copies, and records what each costs in memory and mappings.
void Runner::memory_phase() {
  const Module& m = mods_["one"];
  size_t count = cfg_.mem_count;
  fprintf(stderr, "memory: %zu one-function modules each way...\n", count);
  Series& mk_pss = res_.series("one", count, "PSS, all modules", "modkit", Unit::kBytes);
  Series& dl_pss = res_.series("one", count, "PSS, all modules", "dlopen", Unit::kBytes);
  Series& mk_maps = res_.series("one", count, "new mappings, all modules", "modkit", Unit::kCount);
  Series& dl_maps = res_.series("one", count, "new mappings, all modules", "dlopen", Unit::kCount);
  {
    modkit::Kernel k;
    for (int i = 0; i < kapi_symbol_count; ++i)
      k.export_symbol(kapi_symbols[i].name, kapi_symbols[i].addr, kapi_symbols[i].size,
                      kapi_symbols[i].function != 0);
    std::vector<uint8_t> obj = m.obj;
    malloc_trim(0);
    ProcMemory m0 = proc_memory();
    size_t maps0 = map_count();
    double heap0 = static_cast<double>(mallinfo2().uordblks);
    for (size_t i = 0; i < count; ++i) {
      uint32_t id = static_cast<uint32_t>(i + 1);
      patch_tag(obj, m.info, id);
      modkit::Error err;
      modkit::File* f = k.load_memory(obj.data(), obj.size(), m.obj_path, &err);
      if (f == nullptr) die("modkit: %s", err.message.c_str());
      auto init = reinterpret_cast<InitFn>(k.symbol(f, tag_name(id, "init")));
      if (init == nullptr) die("modkit: no init in copy %u", id);
      init();
    }
    double heap1 = static_cast<double>(mallinfo2().uordblks);
    ProcMemory m1 = proc_memory();
    mk_pss.samples.push_back(m1.pss - m0.pss);
    mk_maps.samples.push_back(static_cast<double>(map_count()) - static_cast<double>(maps0));
    Series& heap = res_.series("one", count, "malloc bytes, all modules", "modkit", Unit::kBytes);
    heap.samples.push_back(heap1 - heap0);
    Series& arena = res_.series("one", count, "arena bytes, all modules", "modkit", Unit::kBytes);
    arena.samples.push_back(static_cast<double>(k.arena_used()));
    res_.row("PSS, all modules", &mk_pss, &dl_pss);
    res_.row("new mappings, all modules", &mk_maps, &dl_maps);
    res_.row("malloc bytes, all modules", &heap, nullptr);
    res_.row("arena bytes, all modules", &arena, nullptr);
  }
  if (!cfg_.with_dlopen) return;
  malloc_trim(0);
  std::vector<void*> handles;
  ProcMemory m0 = proc_memory();
  size_t maps0 = map_count();
  for (size_t i = 0; i < count; ++i) {
    void* h = dlopen(one_paths_[i].c_str(), kDlFlags);
    if (h == nullptr) die("dlopen: %s", dlerror());
    auto init = reinterpret_cast<InitFn>(dlsym(h, m.exports[0].c_str()));
    if (init == nullptr) die("dlsym: %s", dlerror());
    init();
    handles.push_back(h);
  }
  ProcMemory m1 = proc_memory();
  dl_pss.samples.push_back(m1.pss - m0.pss);
  dl_maps.samples.push_back(static_cast<double>(map_count()) - static_cast<double>(maps0));
  for (size_t i = handles.size(); i > 0; --i)
    dlclose(handles[i - 1]);
}

// Loads population members until n are loaded in each system (init called,
// as a kernel would), recording memory and mappings per added member.
void Runner::grow(size_t n) {
  size_t from = mk_pop_.size();
  if (n <= from) return;
  const Module& m = mods_[cfg_.population];
  const std::string& kind = cfg_.population;
  double added = static_cast<double>(n - from);
  char label[96];

  ProcMemory m0 = proc_memory();
  double maps0 = static_cast<double>(map_count());
  double arena0 = static_cast<double>(kernel_.arena_used());
  double t0 = thread_cpu_ns();
  for (size_t i = from; i < n; ++i) {
    uint32_t id = static_cast<uint32_t>(i + 1);  // id 0 is the measured copy
    patch_tag(pop_obj_, m.info, id);
    modkit::Error err;
    modkit::File* f = kernel_.load_memory(pop_obj_.data(), pop_obj_.size(), m.obj_path, &err);
    if (f == nullptr) die("modkit: population member %zu: %s", i, err.message.c_str());
    auto init = reinterpret_cast<InitFn>(kernel_.symbol(f, tag_name(id, "init")));
    if (init == nullptr) die("modkit: population member %zu has no init", i);
    init();
    mk_pop_.push_back(f);
  }
  double mk_time = thread_cpu_ns() - t0;
  ProcMemory m1 = proc_memory();
  double maps1 = static_cast<double>(map_count());
  double arena1 = static_cast<double>(kernel_.arena_used());
  t0 = thread_cpu_ns();
  for (size_t i = from; i < n && cfg_.with_dlopen; ++i) {
    void* h = dlopen(pop_paths_[i].c_str(), kDlFlags);
    if (h == nullptr) die("dlopen of population member %zu: %s", i, dlerror());
    auto init = reinterpret_cast<InitFn>(dlsym(h, m.exports[0].c_str()));
    if (init == nullptr) die("dlsym: %s", dlerror());
    init();
    dl_pop_.push_back(h);
  }
  double dl_time = thread_cpu_ns() - t0;
  ProcMemory m2 = proc_memory();
  double maps2 = static_cast<double>(map_count());

  auto rec = [&](const char* metric, Unit unit, double mk, double dl) {
    snprintf(label, sizeof label, "%s (loads %zu..%zu)", metric, from + 1, n);
    Series& a = res_.series(kind, n, metric, "modkit", unit);
    a.samples.push_back(mk / added);
    Series* b = nullptr;
    if (dl >= 0 && cfg_.with_dlopen) {
      b = &res_.series(kind, n, metric, "dlopen", unit);
      b->samples.push_back(dl / added);
    }
    res_.row(label, &a, b);
  };
  // Mean CPU time (this thread's, so that other work on the machine does not
  // count) of a load plus its init while the population grows: includes what
  // steady state avoids (new arena chunks, fresh pages).
  rec("CPU per load + init while growing", Unit::kNs, mk_time, dl_time);
  rec("PSS per module", Unit::kBytes, m1.pss - m0.pss, m2.pss - m1.pss);
  rec("RSS per module", Unit::kBytes, m1.rss - m0.rss, m2.rss - m1.rss);
  rec("mappings per module", Unit::kCount, maps1 - maps0, maps2 - maps1);
  rec("arena bytes per module", Unit::kBytes, arena1 - arena0, -1);
}

Runner::Cycle Runner::modkit_cycle(const Module& m, bool from_file) {
  Cycle c;
  modkit::Error err;
  long f0 = minor_faults();
  double t0 = now_ns();
  modkit::File* f = from_file ? kernel_.load(m.obj_path, &err)
                              : kernel_.load_memory(m.obj.data(), m.obj.size(), m.obj_path, &err);
  auto init = f == nullptr ? nullptr : reinterpret_cast<InitFn>(kernel_.symbol(f, m.exports[0]));
  double t1 = now_ns();
  c.faults = static_cast<double>(minor_faults() - f0);
  if (init == nullptr) die("modkit: %s: %s", m.obj_path.c_str(), err.message.c_str());
  c.load = t1 - t0;
  t1 = now_ns();  // the init's clock starts after the fault count's system call
  sink_ += static_cast<uintptr_t>(init());
  double t2 = now_ns();
  c.init = t2 - t1;
  size_t names = std::min(kLookupNames, m.exports.size());
  uintptr_t acc = 0;
  double t3 = now_ns();
  for (int loop = 0; loop < kLookupLoops; ++loop)
    for (size_t i = 0; i < names; ++i)
      acc ^= reinterpret_cast<uintptr_t>(kernel_.symbol(f, m.exports[i]));
  double t4 = now_ns();
  c.lookup = (t4 - t3) / static_cast<double>(kLookupLoops * names);
  sink_ ^= acc;
  kernel_.unload(f);
  c.unload = now_ns() - t4;
  return c;
}

Runner::Cycle Runner::dlopen_cycle(const Module& m) {
  Cycle c;
  long f0 = minor_faults();
  double t0 = now_ns();
  void* h = dlopen(m.so_path.c_str(), kDlFlags);
  auto init = h == nullptr ? nullptr : reinterpret_cast<InitFn>(dlsym(h, m.exports[0].c_str()));
  double t1 = now_ns();
  c.faults = static_cast<double>(minor_faults() - f0);
  if (init == nullptr) die("dlopen: %s", dlerror());
  c.load = t1 - t0;
  t1 = now_ns();  // the init's clock starts after the fault count's system call
  sink_ += static_cast<uintptr_t>(init());
  double t2 = now_ns();
  c.init = t2 - t1;
  size_t names = std::min(kLookupNames, m.exports.size());
  uintptr_t acc = 0;
  double t3 = now_ns();
  for (int loop = 0; loop < kLookupLoops; ++loop)
    for (size_t i = 0; i < names; ++i)
      acc ^= reinterpret_cast<uintptr_t>(dlsym(h, m.exports[i].c_str()));
  double t4 = now_ns();
  c.lookup = (t4 - t3) / static_cast<double>(kLookupLoops * names);
  sink_ ^= acc;
  dlclose(h);
  c.unload = now_ns() - t4;
  return c;
}

// The measured loads of one size at one N: modkit from memory, modkit from
// the file, dlopen, and the copy-and-write floor, taking turns in blocks.
void Runner::measure(const std::string& size, size_t n) {
  const Module& m = mods_[size];
  const CopyFloor* floor = floors_.count(size) ? floors_[size].get() : nullptr;
  auto S = [&](const char* metric, const char* sys) -> Series& {
    return res_.series(size, n, metric, sys, Unit::kNs);
  };
  // One system's series of a cycle's measures.
  struct CycleSeries {
    Series &load, &init, &look, &unl, &flt;
    void add(const Cycle& c) {
      load.samples.push_back(c.load);
      init.samples.push_back(c.init);
      look.samples.push_back(c.lookup);
      unl.samples.push_back(c.unload);
      flt.samples.push_back(c.faults);
    }
  };
  auto cycle_series = [&](const char* sys) {
    return CycleSeries{S("load", sys), S("init", sys), S("lookup on handle", sys), S("unload", sys),
                       res_.series(size, n, "minor page faults in one load", sys, Unit::kCount)};
  };
  CycleSeries mk_s = cycle_series("modkit"), dl_s = cycle_series("dlopen");
  Series &mk_load = mk_s.load, &dl_load = dl_s.load;
  Series& mk_file = S("load from file", "modkit");
  Series& fl_warm = S("load", "floor-warm");
  Series& fl_fresh = S("load", "floor-fresh");

  // The systems take turns in blocks of kBlock cycles each (rounds of one
  // block per system, the order reversed every other round), rather than
  // one cycle each: a dlopen at N = 10,000 walks ten thousand link maps for
  // a millisecond and leaves the caches cold for whatever runs next, so
  // cycle-by-cycle turns would measure each system after the other's
  // damage. In blocks, each median is that system's own steady state, while
  // every system still sees the same stretches of machine time. What the
  // other loader's damage costs is measured on its own: one extra modkit
  // load right after each dlopen block ("load right after dlopen").
  Series& mk_cold = S("load right after dlopen", "modkit");
  int reps = reps_for(size);
  int rounds = (reps + kBlock - 1) / kBlock;
  for (int round = -1; round < rounds; ++round) {
    bool keep = round >= 0;  // round -1 warms every path up, unrecorded
    auto mk = [&] {
      for (int i = 0; i < kBlock; ++i) {
        Cycle c = modkit_cycle(m, false);
        if (keep) mk_s.add(c);
      }
    };
    auto mk_from_file = [&] {
      for (int i = 0; i < kBlock; ++i) {
        Cycle c = modkit_cycle(m, true);
        if (keep) mk_file.samples.push_back(c.load);
      }
    };
    auto dl = [&] {
      if (!cfg_.with_dlopen) return;
      for (int i = 0; i < kBlock; ++i) {
        Cycle c = dlopen_cycle(m);
        if (keep) dl_s.add(c);
      }
      Cycle c = modkit_cycle(m, false);
      if (keep) mk_cold.samples.push_back(c.load);
    };
    auto fl = [&] {
      if (floor == nullptr) return;
      for (int i = 0; i < kBlock; ++i) {
        double warm = floor->time_warm(warm_.data());
        double fresh = floor->time_fresh();
        if (!keep) continue;
        fl_warm.samples.push_back(warm);
        fl_fresh.samples.push_back(fresh);
      }
    };
    if (round % 2 == 0) {
      mk(), dl(), mk_from_file(), fl();
    } else {
      fl(), mk_from_file(), dl(), mk();
    }
  }
  // Mappings a load adds in this steady state (read outside the timed cycles).
  Series& mk_maps = res_.series(size, n, "mappings added by one load", "modkit", Unit::kCount);
  Series& dl_maps = res_.series(size, n, "mappings added by one load", "dlopen", Unit::kCount);
  {
    modkit::Error err;
    double before = static_cast<double>(map_count());
    modkit::File* f = kernel_.load_memory(m.obj.data(), m.obj.size(), m.obj_path, &err);
    if (f == nullptr) die("modkit: %s", err.message.c_str());
    mk_maps.samples.push_back(static_cast<double>(map_count()) - before);
    kernel_.unload(f);
    if (cfg_.with_dlopen) {
      before = static_cast<double>(map_count());
      void* h = dlopen(m.so_path.c_str(), kDlFlags);
      if (h == nullptr) die("dlopen: %s", dlerror());
      dl_maps.samples.push_back(static_cast<double>(map_count()) - before);
      dlclose(h);
    }
  }
  res_.row("load (memory; dlopen: file)", &mk_load, &dl_load);
  if (cfg_.with_dlopen) res_.row("load right after dlopen", &mk_cold, &dl_load);
  res_.row("load from file", &mk_file, &dl_load);
  res_.row("init (first call)", &mk_s.init, &dl_s.init);
  res_.row("lookup on handle", &mk_s.look, &dl_s.look);
  res_.row("unload", &mk_s.unl, &dl_s.unl);
  if (floor != nullptr) {
    res_.row("load vs copy floor, touched memory", &mk_load, &fl_warm);
    res_.row("load vs copy floor, fresh pages", &mk_load, &fl_fresh);
  }
  res_.row("mappings added by one load", &mk_maps, &dl_maps);
  res_.row("minor page faults in one load", &mk_s.flt, &dl_s.flt);
}

// Lookups by name without a handle, at n loaded objects.
void Runner::global_lookups(size_t n) {
  Series& mk = res_.series("-", n, "global lookup", "modkit", Unit::kNs);
  Series& dl = res_.series("-", n, "global lookup", "dlopen", Unit::kNs);
  Series& mk_k = res_.series("-", n, "dlsym(RTLD_DEFAULT), kernel symbol", "modkit", Unit::kNs);
  Series& dl_k = res_.series("-", n, "dlsym(RTLD_DEFAULT), kernel symbol", "dlopen", Unit::kNs);
  mk_k.note = "no counterpart";
  int reps = std::max(5, static_cast<int>((cfg_.quick ? 20 : 100) * cfg_.reps_scale));
  Rng rng;

  // modkit: a population member's export, by name alone.
  std::vector<std::string> names;
  for (int i = 0; i < 64; ++i)
    names.push_back(tag_name(static_cast<uint32_t>(1 + rng.below(mk_pop_.size())), "init"));
  void* probe = nullptr;
  if (!kernel_wide(kernel_, names[0], &probe)) {
    mk.note = "the API has no kernel-wide lookup";
  } else {
    for (int rep = -kWarmup; rep < reps; ++rep) {
      uintptr_t acc = 0;
      double t0 = now_ns();
      for (const std::string& name : names) {
        void* p = nullptr;
        kernel_wide(kernel_, name, &p);
        acc ^= reinterpret_cast<uintptr_t>(p);
      }
      double t = (now_ns() - t0) / static_cast<double>(names.size());
      sink_ ^= acc;
      if (rep >= 0) mk.samples.push_back(t);
    }
  }

  // dlopen: objects loaded RTLD_LOCAL are invisible to dlsym(RTLD_DEFAULT). A
  // forked child (so that the parent's later loads are unaffected) promotes
  // every population object to RTLD_GLOBAL and times dlsym(RTLD_DEFAULT) of a
  // name that no object defines: the walk over every loaded object that a
  // global lookup of the last-loaded object's export also costs.
  std::vector<double> walk;
  if (cfg_.with_dlopen)
    walk = in_child([&](int fd) {
      for (size_t i = 0; i < dl_pop_.size(); ++i)
        if (dlopen(pop_paths_[i].c_str(), RTLD_NOW | RTLD_NOLOAD | RTLD_GLOBAL) == nullptr) return;
      const std::string miss = tag_name(0, "absent");
      for (int rep = -kWarmup; rep < reps; ++rep) {
        double t0 = now_ns();
        for (int i = 0; i < 16; ++i)
          sink_ ^= reinterpret_cast<uintptr_t>(dlsym(RTLD_DEFAULT, miss.c_str()));
        double t = (now_ns() - t0) / 16;
        if (rep >= 0 && write(fd, &t, sizeof t) != sizeof t) return;
      }
    });
  if (walk.empty()) dl.note = cfg_.with_dlopen ? "the child process failed" : "not measured";
  dl.samples = walk;

  // A kernel API symbol by name: modkit's kernel exports, dlsym(RTLD_DEFAULT)
  // of a symbol of the executable.
  if (kernel_wide(kernel_, kapi_symbols[0].name, &probe)) {
    mk_k.note.clear();
    for (int rep = -kWarmup; rep < reps; ++rep) {
      uintptr_t acc = 0;
      double t0 = now_ns();
      for (int i = 0; i < 64; ++i) {
        void* p = nullptr;
        kernel_wide(kernel_, kapi_symbols[i % 16].name, &p);
        acc ^= reinterpret_cast<uintptr_t>(p);
      }
      double t = (now_ns() - t0) / 64;
      sink_ ^= acc;
      if (rep >= 0) mk_k.samples.push_back(t);
    }
  }
  for (int rep = -kWarmup; rep < reps && cfg_.with_dlopen; ++rep) {
    uintptr_t acc = 0;
    double t0 = now_ns();
    for (int i = 0; i < 64; ++i)
      acc ^= reinterpret_cast<uintptr_t>(dlsym(RTLD_DEFAULT, kapi_symbols[i % 16].name));
    double t = (now_ns() - t0) / 64;
    sink_ ^= acc;
    if (rep >= 0) dl_k.samples.push_back(t);
  }
  res_.row("global lookup (dlopen: RTLD_GLOBAL, miss)", &mk, &dl);
  res_.row("dlsym(RTLD_DEFAULT), kernel symbol", &mk_k, &dl_k);
}

}  // namespace bench
