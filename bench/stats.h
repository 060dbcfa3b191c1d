// Timing, order statistics and the process's memory as /proc reports it.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include <string>
#include <vector>

namespace bench {

double now_ns();
double thread_cpu_ns();  // CPU time of this thread (a system call: for long spans only)

struct Summary {
  double median = 0, min = 0, max = 0;
  size_t count = 0;
};
Summary summarize(std::vector<double> v);

struct ProcMemory {
  double rss = 0;  // bytes resident (statm: a page mapped twice counts twice)
  double pss = 0;  // proportional set size (smaps_rollup: counts it once)
};
ProcMemory proc_memory();
size_t map_count();  // lines of /proc/self/maps

// "12.3 us", "850 ns", "4.10 ms"; "-" for a negative value.
std::string format_ns(double ns);

}  // namespace bench
