// modkit_lookup_bench: what one lookup by name in the kernel's export index
// costs (symtab::ExportIndex, issue 4: "lookup cost must not grow with the
// number of loaded files"; issue 8's target: <= 20 ns at 10,000 files), with
// 1 to 10,000 loaded files and up to 1,000,000 exports. The files are
// synthetic (tests/util/synthetic_exports.h): real module::File entries
// added through the index's own add(), with no code linked.
//
// Cases (Google Benchmark; `make bench` runs them, or run the binary with
// --benchmark_filter=...):
//   Find/F/E      ExportIndex::find(name), hash included: a global lookup
//                 by name, F files of E exports each, names in random order
//   FindSpread/F/E  the same at a fixed total of exports (F x E = 100,000 and
//                 1,000,000): the cost must not change with F
//   Miss/F/E      the same for names nobody exports
//   Resolve/F/E   ExportIndex::resolve() for an importer using 3 files: what
//                 the linker asks for each undefined symbol of a load
//   Walk/F/E      for contrast, a lookup that walks the files one by one and
//                 asks each its own hash table (how module loaders without a
//                 global index find a symbol): grows with F
#include <benchmark/benchmark.h>
#include <stdio.h>
#include <stdlib.h>

#include <random>
#include <string>
#include <vector>

#include "hosted/malloc_allocator.h"
#include "symtab/export_index.h"
#include "util/synthetic_exports.h"

namespace {

using mk::test::SyntheticExports;

constexpr size_t kNames = 4096;  // a power of two: the loop index is masked

struct World {
  mk::hosted::MallocAllocator heap;
  mk::symtab::ExportIndex index{heap};
  SyntheticExports files{index};
  std::vector<std::string> names;  // kNames exported names in random order
  std::vector<std::string> misses;

  World(size_t nfiles, size_t exports) {
    mk::Result<void> r = files.add_files(nfiles, exports, 2);
    if (!r) {
      fprintf(stderr, "modkit_lookup_bench: %s\n", r.error().message());
      exit(1);
    }
    std::mt19937_64 rng(42);
    for (size_t k = 0; k < kNames; ++k) {
      names.push_back(SyntheticExports::export_name(rng() % nfiles, rng() % exports));
      misses.push_back("absent_" + std::to_string(rng()));
    }
  }
};

size_t Files(const benchmark::State& s) {
  return static_cast<size_t>(s.range(0));
}
size_t Exports(const benchmark::State& s) {
  return static_cast<size_t>(s.range(1));
}

void Label(benchmark::State& state) {
  state.counters["files"] = static_cast<double>(Files(state));
  state.counters["exports"] = static_cast<double>(Files(state) * Exports(state));
}

void Find(benchmark::State& state) {
  World w(Files(state), Exports(state));
  size_t k = 0;
  for (auto _ : state) {
    const mk::symtab::ExportEntry* e = w.index.find(w.names[k].c_str());
    if (e == nullptr) state.SkipWithError("an exported name was not found");
    benchmark::DoNotOptimize(e);
    k = (k + 1) & (kNames - 1);
  }
  Label(state);
}

void Miss(benchmark::State& state) {
  World w(Files(state), Exports(state));
  size_t k = 0;
  for (auto _ : state) {
    const mk::symtab::ExportEntry* e = w.index.find(w.misses[k].c_str());
    benchmark::DoNotOptimize(e);
    k = (k + 1) & (kNames - 1);
  }
  Label(state);
}

void Resolve(benchmark::State& state) {
  World w(Files(state), Exports(state));
  mk::module::File importer(w.heap);
  size_t n = Files(state);
  // It uses three files; it asks for their exports (and so binds).
  size_t used[3] = {0, n / 2, n - 1};
  for (size_t f : used)
    (void)importer.uses.push(&w.files.file(f));
  std::vector<std::string> wanted;
  std::vector<uint32_t> hashes;
  for (size_t k = 0; k < kNames; ++k) {
    wanted.push_back(SyntheticExports::export_name(used[k % 3], k % Exports(state)));
    hashes.push_back(mk::name_hash(wanted.back().c_str()));
  }
  size_t k = 0;
  mk::module::Binding b;
  for (auto _ : state) {
    mk::module::Bind r = w.index.resolve(importer, wanted[k].c_str(), hashes[k], &b);
    if (r != mk::module::Bind::kBound) state.SkipWithError("a visible export did not bind");
    benchmark::DoNotOptimize(b);
    k = (k + 1) & (kNames - 1);
  }
  Label(state);
}

void Walk(benchmark::State& state) {
  World w(Files(state), Exports(state));
  size_t k = 0;
  for (auto _ : state) {
    const mk::link::FileSymbol* found = nullptr;
    for (size_t f = 0; f < w.files.files() && found == nullptr; ++f)
      found = w.files.file(f).linked->find(w.names[k].c_str());
    if (found == nullptr) state.SkipWithError("an exported name was not found");
    benchmark::DoNotOptimize(found);
    k = (k + 1) & (kNames - 1);
  }
  Label(state);
}

// Files x exports per file: 10 exports each up to 10,000 files, and the
// 1,000,000-export case (10,000 files of 100).
void Sizes(benchmark::internal::Benchmark* b) {
  for (int64_t files : {1, 100, 1000, 10000})
    b->Args({files, 10});
  b->Args({10000, 100});
  b->ArgNames({"files", "exports_per_file"});
  b->Unit(benchmark::kNanosecond);
}

// The same index size spread over 1, 100 and 10,000 files: 100,000 and
// 1,000,000 exports in all. What issue 4 claims is that these rows stay
// level: a lookup's cost depends on the index's size in memory (caches,
// TLB), never on how many files the exports came from.
void Spread(benchmark::internal::Benchmark* b) {
  for (int64_t total : {100000, 1000000})
    for (int64_t files : {1, 100, 10000})
      b->Args({files, total / files});
  b->ArgNames({"files", "exports_per_file"});
  b->Unit(benchmark::kNanosecond);
}

BENCHMARK(Find)->Apply(Sizes);
BENCHMARK(Find)->Name("FindSpread")->Apply(Spread);
BENCHMARK(Miss)->Apply(Sizes);
BENCHMARK(Resolve)->Apply(Sizes);
// The walk is slow by design: fewer sizes, enough to show the slope.
BENCHMARK(Walk)
    ->Args({1, 10})
    ->Args({100, 10})
    ->Args({1000, 10})
    ->Args({10000, 10})
    ->ArgNames({"files", "exports_per_file"})
    ->Unit(benchmark::kNanosecond);

}  // namespace

BENCHMARK_MAIN();
