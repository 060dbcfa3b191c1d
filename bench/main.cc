// modkit_bench: modkit against glibc's dlopen on a generated corpus of
// kernel-module-like objects (issue 8). `modkit_bench --help` says how.
#include <errno.h>
#include <gnu/libc-version.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "results.h"
#include "runner.h"
#include "stats.h"

namespace {

const char kUsage[] =
    "usage: modkit_bench [options]\n"
    "  Generates kernel-module-like C sources, compiles each with the compiler's\n"
    "  default flags as a .o (for modkit) and a .so (for dlopen), and measures both\n"
    "  side by side at N objects already loaded: load until init is callable, init,\n"
    "  lookup, unload, memory and mappings per module, and the copy-and-write floor.\n"
    "  Prints a table, writes bench.csv, bench.txt and load_vs_n.png (gnuplot) to --out.\n"
    "\n"
    "  --quick            N = 1,100,1000 and fewer repetitions (under a minute)\n"
    "  --n LIST           N values, comma-separated (default 1,100,1000,10000)\n"
    "  --sizes LIST       module sizes measured: one,typical,big (default all)\n"
    "  --population SIZE  shape of the N already-loaded objects (default typical)\n"
    "  --mem-count K      one-function modules in the memory phase (default 1000; 0 skips)\n"
    "  --reps-scale F     multiply every repetition count by F\n"
    "  --cc CC            compiler (default $CC or gcc)\n"
    "  --work DIR         corpus cache (default " MODKIT_BENCH_DEFAULT_WORK
    ")\n"
    "  --out DIR          outputs (default " MODKIT_BENCH_DEFAULT_OUT
    ")\n"
    "  --modkit-only      measure modkit alone (to profile it)\n"
    "  --corpus           build the corpus, describe it and stop\n"
    "  --no-plot          do not run gnuplot\n"
    "  --loop SIZE        profile: load and unload SIZE with modkit alone, --loop-reps\n"
    "                     times (default 3000) at the first --n (default 1), and print\n"
    "                     the median wall and CPU time and the page faults per load\n"
    "  --loop-reps K      loads in the --loop mode\n"
    "  --loop-init        in the --loop mode, call each module's init before it is\n"
    "                     unloaded, as the full run does (its loads then start with\n"
    "                     the module's code, not the loader's, in the caches)\n";

std::vector<std::string> split(const std::string& s) {
  std::vector<std::string> out;
  size_t at = 0;
  while (at <= s.size()) {
    size_t comma = s.find(',', at);
    if (comma == std::string::npos) comma = s.size();
    if (comma > at) out.push_back(s.substr(at, comma - at));
    at = comma + 1;
  }
  return out;
}

[[noreturn]] void usage_error(const std::string& msg) {
  fprintf(stderr, "modkit_bench: %s\n%s", msg.c_str(), kUsage);
  exit(2);
}

void describe_machine(FILE* out, int argc, char** argv) {
  utsname u{};
  uname(&u);
  std::string cpu = "?";
  if (FILE* f = fopen("/proc/cpuinfo", "re")) {
    char line[256];
    while (fgets(line, sizeof line, f) != nullptr)
      if (strncmp(line, "model name", 10) == 0) {
        cpu = strchr(line, ':') ? strchr(line, ':') + 2 : line;
        cpu.erase(cpu.find_last_not_of("\n") + 1);
        break;
      }
    fclose(f);
  }
  fprintf(out, "command:");
  for (int i = 0; i < argc; ++i)
    fprintf(out, " %s", argv[i]);
  fprintf(out, "\nmachine: %s %s, %s, %ld CPUs, glibc %s\n", u.sysname, u.release, cpu.c_str(),
          sysconf(_SC_NPROCESSORS_ONLN), gnu_get_libc_version());
}

// The 1-minute load average: other work on the machine makes timings noisy.
std::string load_average() {
  char buf[64] = "?";
  if (FILE* f = fopen("/proc/loadavg", "re")) {
    if (fscanf(f, "%63s", buf) != 1) snprintf(buf, sizeof buf, "?");
    fclose(f);
  }
  return buf;
}

bool have_program(const char* name) {
  const char* env = getenv("PATH");
  std::string path = env != nullptr ? env : "/usr/bin:/bin";
  size_t at = 0;
  while (at <= path.size()) {
    size_t colon = path.find(':', at);
    if (colon == std::string::npos) colon = path.size();
    std::string dir = colon > at ? path.substr(at, colon - at) : ".";
    if (access((dir + "/" + name).c_str(), X_OK) == 0) return true;
    at = colon + 1;
  }
  return false;
}

}  // namespace

int main(int argc, char** argv) {
  bench::Config cfg;
  cfg.work = MODKIT_BENCH_DEFAULT_WORK;
  cfg.out = MODKIT_BENCH_DEFAULT_OUT;
  if (const char* cc = getenv("CC"); cc != nullptr && *cc != '\0') cfg.cc = cc;
  bool corpus_only = false, plot = true, ns_given = false;
  std::string loop_size;
  int loop_reps = 3000;
  bool loop_init = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) usage_error(a + " needs a value");
      return argv[++i];
    };
    if (a == "--help" || a == "-h") {
      fputs(kUsage, stdout);
      return 0;
    } else if (a == "--quick") {
      cfg.quick = true;
    } else if (a == "--n") {
      cfg.ns.clear();
      for (const std::string& v : split(value()))
        cfg.ns.push_back(strtoull(v.c_str(), nullptr, 10));
      ns_given = true;
    } else if (a == "--sizes") {
      cfg.sizes = split(value());
    } else if (a == "--population") {
      cfg.population = value();
    } else if (a == "--mem-count") {
      cfg.mem_count = strtoull(value().c_str(), nullptr, 10);
    } else if (a == "--reps-scale") {
      cfg.reps_scale = strtod(value().c_str(), nullptr);
    } else if (a == "--cc") {
      cfg.cc = value();
    } else if (a == "--work") {
      cfg.work = value();
    } else if (a == "--out") {
      cfg.out = value();
    } else if (a == "--modkit-only") {
      cfg.with_dlopen = false;
    } else if (a == "--corpus") {
      corpus_only = true;
    } else if (a == "--loop") {
      loop_size = value();
    } else if (a == "--loop-reps") {
      loop_reps = atoi(value().c_str());
    } else if (a == "--loop-init") {
      loop_init = true;
    } else if (a == "--no-plot") {
      plot = false;
    } else {
      usage_error("unknown option " + a);
    }
  }
  if (cfg.quick && !ns_given) cfg.ns = {1, 100, 1000};
  for (size_t n : cfg.ns)
    if (n == 0) usage_error("every N must be at least 1");
  for (size_t i = 1; i < cfg.ns.size(); ++i)
    if (cfg.ns[i] <= cfg.ns[i - 1]) usage_error("--n must increase");
  if (cfg.reps_scale <= 0) usage_error("--reps-scale must be positive");

  if (!loop_size.empty()) {
    // Only what the loop needs: its module and the population.
    cfg.sizes = {loop_size};
    cfg.with_dlopen = false;
    cfg.mem_count = 0;
    if (!ns_given) cfg.ns = {1};
    if (loop_reps <= 0) usage_error("--loop-reps must be positive");
  }
  bench::Results results;
  bench::Runner runner(cfg, results);
  std::string err;
  if (!runner.prepare(&err)) {
    fprintf(stderr, "modkit_bench: %s\n", err.c_str());
    return 1;
  }
  describe_machine(stdout, argc, argv);
  runner.describe_corpus(stdout);
  if (corpus_only) return 0;
  if (!loop_size.empty())
    return runner.loop(loop_size, cfg.ns[0], loop_reps, loop_init, stdout) ? 0 : 1;
  std::string load_before = load_average();
  double t0 = bench::now_ns();
  runner.run();
  char timing[160];
  snprintf(timing, sizeof timing, "run: %.1f s; load average %s before, %s after (%ld CPUs)\n",
           (bench::now_ns() - t0) / 1e9, load_before.c_str(), load_average().c_str(),
           sysconf(_SC_NPROCESSORS_ONLN));

  if (mkdir(cfg.out.c_str(), 0755) != 0 && errno != EEXIST) {
    fprintf(stderr, "modkit_bench: %s: %s\n", cfg.out.c_str(), strerror(errno));
    return 1;
  }
  std::string txt = cfg.out + "/bench.txt", csv = cfg.out + "/bench.csv";
  std::string dat = cfg.out + "/load_vs_n.dat", png = cfg.out + "/load_vs_n.png";
  for (FILE* f : {stdout, fopen(txt.c_str(), "we")}) {
    if (f == nullptr) continue;
    if (f != stdout) {
      describe_machine(f, argc, argv);
      runner.describe_corpus(f);
    }
    fputs(timing, f);
    fprintf(f, "\n");
    results.print_table(f);
    fprintf(f, "\n");
    results.print_targets(f, cfg.ns);
    if (f != stdout) fclose(f);
  }
  if (!results.write_csv(csv) || !results.write_plot_data(dat, cfg.ns)) {
    fprintf(stderr, "modkit_bench: cannot write %s\n", cfg.out.c_str());
    return 1;
  }
  printf("\nwrote %s and %s\n", csv.c_str(), txt.c_str());
  if (!plot) return 0;
  if (!have_program("gnuplot")) {
    printf("no plot: gnuplot is not installed (apt-get install gnuplot-nox)\n");
    return 0;
  }
  std::string cmd = "gnuplot -e \"datafile='" + dat + "'; outfile='" + png + "'\" '" +
                    MODKIT_BENCH_PLOT_SCRIPT + "'";
  if (system(cmd.c_str()) == 0)
    printf("wrote %s\n", png.c_str());
  else
    printf("no plot: gnuplot failed (%s)\n", cmd.c_str());
  return 0;
}
