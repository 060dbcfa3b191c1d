#include "stats.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include <algorithm>

namespace bench {

double now_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<double>(ts.tv_sec) * 1e9 + static_cast<double>(ts.tv_nsec);
}

double thread_cpu_ns() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) * 1e9 + static_cast<double>(ts.tv_nsec);
}

Summary summarize(std::vector<double> v) {
  Summary s;
  s.count = v.size();
  if (v.empty()) return s;
  std::sort(v.begin(), v.end());
  size_t mid = v.size() / 2;
  s.median = v.size() % 2 ? v[mid] : (v[mid - 1] + v[mid]) / 2;
  s.min = v.front();
  s.max = v.back();
  return s;
}

ProcMemory proc_memory() {
  ProcMemory m;
  if (FILE* f = fopen("/proc/self/smaps_rollup", "re")) {
    char line[256];
    unsigned long kb = 0;
    while (fgets(line, sizeof line, f) != nullptr) {
      if (sscanf(line, "Rss: %lu kB", &kb) == 1) m.rss = static_cast<double>(kb) * 1024;
      if (sscanf(line, "Pss: %lu kB", &kb) == 1) m.pss = static_cast<double>(kb) * 1024;
    }
    fclose(f);
  }
  return m;
}

size_t map_count() {
  FILE* f = fopen("/proc/self/maps", "re");
  if (f == nullptr) return 0;
  size_t n = 0;
  char buf[1 << 16];
  size_t got;
  while ((got = fread(buf, 1, sizeof buf, f)) > 0)
    n += static_cast<size_t>(std::count(buf, buf + got, '\n'));
  fclose(f);
  return n;
}

std::string format_ns(double ns) {
  char buf[32];
  if (ns < 0)
    snprintf(buf, sizeof buf, "-");
  else if (ns < 1e3)
    snprintf(buf, sizeof buf, "%.1f ns", ns);
  else if (ns < 1e6)
    snprintf(buf, sizeof buf, "%.2f us", ns / 1e3);
  else
    snprintf(buf, sizeof buf, "%.2f ms", ns / 1e6);
  return buf;
}

}  // namespace bench
