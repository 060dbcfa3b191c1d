// Measurements of one run: series of samples keyed by (size, N, metric,
// system), the table rows that compare two series, and the outputs — the
// printed table, the CSV, the load-versus-N plot data and the target check.
#pragma once

#include <stddef.h>

#include <deque>
#include <string>
#include <vector>

#include "stats.h"

namespace bench {

enum class Unit { kNs, kBytes, kCount };

struct Series {
  std::string size;    // corpus shape ("one", "typical", "big") or "-" when none applies
  size_t n = 0;        // objects already loaded
  std::string metric;  // "load", "unload", ...
  std::string system;  // "modkit", "dlopen", "floor-warm", ...
  Unit unit = Unit::kNs;
  std::vector<double> samples;
  std::string note;  // why there are no samples, when there are none
};

// One line of the table: `a` (modkit) against `b` (dlopen, a reference, or none).
struct Row {
  std::string label;
  const Series* a;
  const Series* b;
};

class Results {
 public:
  Series& series(const std::string& size, size_t n, const std::string& metric,
                 const std::string& system, Unit unit);
  const Series* find(const std::string& size, size_t n, const std::string& metric,
                     const std::string& system) const;
  // A table line: a (modkit, never null) against b (dlopen or a reference; may be null).
  void row(const std::string& label, const Series* a, const Series* b);

  void print_table(FILE* out) const;
  bool write_csv(const std::string& path) const;
  // Median load times (us) per N, one column pair per size, for plot.gp.
  bool write_plot_data(const std::string& path, const std::vector<size_t>& ns) const;
  void print_targets(FILE* out, const std::vector<size_t>& ns) const;

 private:
  std::deque<Series> series_;  // stable addresses for rows
  std::vector<Row> rows_;
};

}  // namespace bench
