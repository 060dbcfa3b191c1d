// The profiling loop (`modkit_bench --loop SIZE`): modkit alone loads and
// unloads one module over and over, with N population members loaded first,
// and reports per load the median wall time, the median CPU time of this
// thread and the minor page faults. Nothing else runs in the process while
// it loops, so `perf record`/`perf stat` around it see only the load path.
#include <stdio.h>
#include <sys/resource.h>

#include <algorithm>

#include "runner.h"
#include "stats.h"

namespace bench {
namespace {

using InitFn = int (*)();

long minor_faults() {
  rusage u{};
  getrusage(RUSAGE_THREAD, &u);
  return u.ru_minflt;
}

}  // namespace

bool Runner::loop(const std::string& size, size_t n, int reps, bool init, FILE* out) {
  const Module& m = mods_[size];
  grow(n);
  std::vector<double> wall, cpu, faults;
  wall.reserve(static_cast<size_t>(reps));
  cpu.reserve(static_cast<size_t>(reps));
  faults.reserve(static_cast<size_t>(reps));
  for (int rep = -kLoopWarmup; rep < reps; ++rep) {
    modkit::Error err;
    long f0 = minor_faults();
    double c0 = thread_cpu_ns();
    double t0 = now_ns();
    modkit::File* f = kernel_.load_memory(m.obj.data(), m.obj.size(), m.obj_path, &err);
    double t1 = now_ns();
    double c1 = thread_cpu_ns();
    long f1 = minor_faults();
    if (f == nullptr) {
      fprintf(stderr, "modkit_bench: %s: %s\n", m.obj_path.c_str(), err.message.c_str());
      return false;
    }
    if (init) {
      auto fn = reinterpret_cast<InitFn>(kernel_.symbol(f, m.exports[0]));
      if (fn == nullptr) {
        fprintf(stderr, "modkit_bench: %s: no %s\n", m.obj_path.c_str(), m.exports[0].c_str());
        return false;
      }
      sink_ += static_cast<uintptr_t>(fn());
    }
    kernel_.unload(f);
    if (rep < 0) continue;
    wall.push_back(t1 - t0);
    cpu.push_back(c1 - c0);
    faults.push_back(static_cast<double>(f1 - f0));
  }
  Summary w = summarize(wall), c = summarize(cpu), pf = summarize(faults);
  double fault_sum = 0;
  for (double v : faults)
    fault_sum += v;
  fprintf(out,
          "loop %s%s at N=%zu, %d loads: wall %s [%s - %s], thread CPU %s, minor faults per load "
          "median %.0f mean %.2f max %.0f\n",
          size.c_str(), init ? " (with init)" : "", n, reps, format_ns(w.median).c_str(),
          format_ns(w.min).c_str(), format_ns(w.max).c_str(), format_ns(c.median).c_str(),
          pf.median, fault_sum / static_cast<double>(std::max<size_t>(1, faults.size())), pf.max);
  return true;
}

}  // namespace bench
