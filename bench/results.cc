#include "results.h"

#include <stdio.h>

namespace bench {
namespace {

std::string format_value(Unit unit, double v) {
  char buf[32];
  switch (unit) {
    case Unit::kNs:
      return format_ns(v);
    case Unit::kBytes:
      if (v >= 10 * 1048576.0)
        snprintf(buf, sizeof buf, "%.1f MiB", v / 1048576);
      else
        snprintf(buf, sizeof buf, "%.1f KiB", v / 1024);
      return buf;
    case Unit::kCount:
      snprintf(buf, sizeof buf, "%.2f", v);
      return buf;
  }
  return "?";
}

const char* unit_name(Unit unit) {
  return unit == Unit::kNs ? "ns" : unit == Unit::kBytes ? "bytes" : "count";
}

std::string cell(const Series* s) {
  if (s == nullptr) return "n/a";
  if (s->samples.empty()) return s->note.empty() ? "n/a" : "n/a: " + s->note;
  Summary m = summarize(s->samples);
  std::string out = format_value(s->unit, m.median);
  if (m.count > 1)
    out += " [" + format_value(s->unit, m.min) + " - " + format_value(s->unit, m.max) + "]";
  return out;
}

double median_of(const Series* s) {
  return s == nullptr || s->samples.empty() ? -1 : summarize(s->samples).median;
}

std::string csv_quote(const std::string& s) {
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s)
    out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

void target(FILE* out, bool known, bool met, const std::string& text) {
  fprintf(out, "  %-8s %s\n", !known ? "[n/a]" : met ? "[met]" : "[missed]", text.c_str());
}

}  // namespace

Series& Results::series(const std::string& size, size_t n, const std::string& metric,
                        const std::string& system, Unit unit) {
  for (Series& s : series_)
    if (s.size == size && s.n == n && s.metric == metric && s.system == system) return s;
  series_.push_back(Series{size, n, metric, system, unit, {}, {}});
  return series_.back();
}

const Series* Results::find(const std::string& size, size_t n, const std::string& metric,
                            const std::string& system) const {
  for (const Series& s : series_)
    if (s.size == size && s.n == n && s.metric == metric && s.system == system) return &s;
  return nullptr;
}

void Results::row(const std::string& label, const Series* a, const Series* b) {
  for (const Row& r : rows_)
    if (r.a == a && r.b == b && r.label == label) return;
  rows_.push_back(Row{label, a, b});
}

void Results::print_table(FILE* out) const {
  fprintf(out, "%-8s %6s  %-42s %-34s %-34s %6s\n", "size", "N", "metric", "modkit",
          "dlopen (or reference)", "ratio");
  std::string last;
  for (const Row& r : rows_) {
    std::string group = r.a->size + "/" + std::to_string(r.a->n);
    if (!last.empty() && group != last) fprintf(out, "\n");
    last = group;
    double a = median_of(r.a), b = median_of(r.b);
    char ratio[32] = "-";
    if (a >= 0 && b > 0) snprintf(ratio, sizeof ratio, "%.2f", a / b);
    fprintf(out, "%-8s %6zu  %-42s %-34s %-34s %6s\n", r.a->size.c_str(), r.a->n, r.label.c_str(),
            cell(r.a).c_str(), cell(r.b).c_str(), ratio);
  }
}

bool Results::write_csv(const std::string& path) const {
  FILE* f = fopen(path.c_str(), "we");
  if (f == nullptr) return false;
  fprintf(f, "size,n,metric,system,unit,median,min,max,count,note\n");
  for (const Series& s : series_) {
    Summary m = summarize(s.samples);
    if (m.count == 0)
      fprintf(f, "%s,%zu,%s,%s,%s,,,,0,%s\n", s.size.c_str(), s.n, csv_quote(s.metric).c_str(),
              s.system.c_str(), unit_name(s.unit), csv_quote(s.note).c_str());
    else
      fprintf(f, "%s,%zu,%s,%s,%s,%.8g,%.8g,%.8g,%zu,%s\n", s.size.c_str(), s.n,
              csv_quote(s.metric).c_str(), s.system.c_str(), unit_name(s.unit), m.median, m.min,
              m.max, m.count, csv_quote(s.note).c_str());
  }
  return fclose(f) == 0;
}

bool Results::write_plot_data(const std::string& path, const std::vector<size_t>& ns) const {
  FILE* f = fopen(path.c_str(), "we");
  if (f == nullptr) return false;
  const char* sizes[] = {"one", "typical", "big"};
  fprintf(f, "# median load time (us) until init is callable, by objects already loaded\n# N");
  for (const char* size : sizes)
    fprintf(f, " modkit_%s dlopen_%s", size, size);
  fprintf(f, "\n");
  for (size_t n : ns) {
    fprintf(f, "%zu", n);
    for (const char* size : sizes)
      for (const char* sys : {"modkit", "dlopen"}) {
        double m = median_of(find(size, n, "load", sys));
        if (m < 0)
          fprintf(f, " ?");
        else
          fprintf(f, " %.3f", m / 1e3);
      }
    fprintf(f, "\n");
  }
  return fclose(f) == 0;
}

void Results::print_targets(FILE* out, const std::vector<size_t>& ns) const {
  if (ns.empty()) return;
  size_t top = ns.back();
  char buf[256];
  fprintf(out, "Targets of issue 8 (medians of this run; informational, never a pass/fail):\n");

  double mk = median_of(find("typical", 100, "load", "modkit"));
  double dl = median_of(find("typical", 100, "load", "dlopen"));
  snprintf(buf, sizeof buf, "typical load at N=100: %.2f x dlopen (target <= 0.4)", mk / dl);
  target(out, mk >= 0 && dl > 0, mk <= 0.4 * dl, buf);

  double hi = median_of(find("typical", top, "load", "modkit"));
  snprintf(buf, sizeof buf, "typical load at N=%zu vs N=100: %+.1f %% (target <= +10 %%)", top,
           (hi / mk - 1) * 100);
  target(out, top > 100 && hi >= 0 && mk > 0, hi <= 1.1 * mk, buf);

  double one = median_of(find("one", top, "load", "modkit"));
  snprintf(buf, sizeof buf, "one-function load at N=%zu: %s (target <= 2 us)", top,
           format_ns(one).c_str());
  target(out, one >= 0, one <= 2000, buf);

  const Series* g = find("-", top, "global lookup", "modkit");
  double gl = median_of(g);
  if (gl >= 0)
    snprintf(buf, sizeof buf, "global lookup at N=%zu: %s (target <= 20 ns)", top,
             format_ns(gl).c_str());
  else
    snprintf(buf, sizeof buf, "global lookup: %s", g != nullptr ? g->note.c_str() : "not measured");
  target(out, gl >= 0, gl <= 20, buf);

  double un = median_of(find("typical", top, "unload", "modkit"));
  snprintf(buf, sizeof buf, "typical unload at N=%zu: %s (target <= 5 us)", top,
           format_ns(un).c_str());
  target(out, un >= 0, un <= 5000, buf);

  const Series* maps = nullptr;
  for (const char* size : {"big", "one", "typical"})
    if (const Series* s = find(size, top, "mappings added by one load", "modkit")) maps = s;
  double mp = median_of(maps);
  if (maps != nullptr)
    snprintf(buf, sizeof buf,
             "mappings added by loading one more %s module at N=%zu: %.0f (target 0)",
             maps->size.c_str(), maps->n, mp);
  else
    snprintf(buf, sizeof buf, "mappings added by one load: not measured");
  target(out, mp >= 0, mp == 0, buf);

  const Series* one_mem = nullptr;
  for (const Series& s : series_)
    if (s.size == "one" && s.metric == "PSS, all modules" && s.system == "modkit") one_mem = &s;
  double om = median_of(one_mem);
  if (one_mem != nullptr)
    snprintf(buf, sizeof buf, "memory for %zu one-function modules: %.1f KiB (target < 1024 KiB)",
             one_mem->n, om / 1024);
  else
    snprintf(buf, sizeof buf, "memory for 1,000 one-function modules: not measured");
  target(out, om >= 0 && one_mem->n >= 1000, om < 1048576, buf);

  double big = median_of(find("big", top, "load", "modkit"));
  double floor = median_of(find("big", top, "load", "floor-warm"));
  snprintf(buf, sizeof buf, "big load at N=%zu: %.2f x the copy-and-write floor (target <= 1.5)",
           top, big / floor);
  target(out, big >= 0 && floor > 0, big <= 1.5 * floor, buf);
}

}  // namespace bench
