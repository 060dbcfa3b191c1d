// The measurement driver: one modkit::Kernel and one set of dlopen handles in
// one process, populations of N already-loaded objects grown step by step,
// and at each N the measured loads of the two systems taking turns in blocks.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "corpus.h"
#include "floor.h"
#include "modkit/modkit.hpp"
#include "results.h"

namespace bench {

struct Config {
  bool quick = false;
  std::vector<size_t> ns{1, 100, 1000, 10000};
  std::vector<std::string> sizes{"one", "typical", "big"};
  std::string population = "typical";  // shape of the N already-loaded objects
  size_t mem_count = 1000;             // one-function modules in the memory phase (0: skip)
  double reps_scale = 1;
  bool with_dlopen = true;  // false: modkit only (for profiling modkit)
  std::string work, out, cc = "gcc";
};

class Runner {
 public:
  Runner(const Config& cfg, Results& results);
  ~Runner();

  // Builds (or finds in the cache) every module the run needs.
  bool prepare(std::string* err);
  void describe_corpus(FILE* out) const;
  void run();
  // Loads and unloads `size` reps times with modkit alone, n population
  // members loaded first, and prints the medians (loop.cc).
  // With init, each loaded module's init runs before it is unloaded.
  bool loop(const std::string& size, size_t n, int reps, bool init, FILE* out);

 private:
  struct Cycle {
    double load = -1, init = -1, lookup = -1, unload = -1;
    double faults = -1;  // minor page faults during the load
  };

  static constexpr int kLoopWarmup = 20;
  int reps_for(const std::string& size) const;
  void memory_phase();
  void grow(size_t n);
  void measure(const std::string& size, size_t n);
  void global_lookups(size_t n);
  Cycle modkit_cycle(const Module& m, bool from_file);
  Cycle dlopen_cycle(const Module& m);
  void check_exports(const Module& m);

  Config cfg_;
  Results& res_;
  std::map<std::string, Module> mods_;
  std::map<std::string, std::unique_ptr<CopyFloor>> floors_;
  std::vector<uint8_t> warm_;  // touched memory for the warm floor
  modkit::Kernel kernel_;
  std::vector<modkit::File*> mk_pop_;
  std::vector<void*> dl_pop_;
  std::vector<std::string> pop_paths_;  // distinct .so copies, one per population member
  std::vector<uint8_t> pop_obj_;        // the population object, retagged per member
  std::vector<std::string> one_paths_;  // .so copies for the memory phase
  uintptr_t sink_ = 0;
};

}  // namespace bench
