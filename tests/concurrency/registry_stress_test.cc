// Stress of module/registry.h with real modules: threads load, unload (every
// policy, with and without cascade), look up, reference and list modules at
// random, for a fixed number of iterations; then everything must be at rest
// and consistent, and unloading everything must give back every byte. Built
// and run under ThreadSanitizer too (make test-tsan), which is what finds the
// races; the invariants find the logic errors.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "concurrency/fixture.h"

namespace mk::test {
namespace {

using module::Module;
using module::UnloadOptions;
using module::UnloadResult;
using Policy = UnloadOptions::Policy;

constexpr int kThreads = 6;
constexpr int kIterations = 3000;  // per thread

// Outcomes by operation, for the failure message and to show the run covered
// what it should (every policy, every kind of refusal).
class Tally {
 public:
  void Count(const std::string& what) {
    std::lock_guard<std::mutex> g(mu_);
    ++counts_[what];
  }
  void Unexpected(const std::string& what) {
    std::lock_guard<std::mutex> g(mu_);
    unexpected_.push_back(what);
  }
  int Get(const std::string& what) {
    std::lock_guard<std::mutex> g(mu_);
    return counts_[what];
  }
  std::string Report() {
    std::lock_guard<std::mutex> g(mu_);
    std::string out;
    for (const auto& [k, v] : counts_)
      out += k + ": " + std::to_string(v) + "\n";
    return out;
  }
  std::vector<std::string> unexpected() {
    std::lock_guard<std::mutex> g(mu_);
    return unexpected_;
  }

 private:
  std::mutex mu_;
  std::map<std::string, int> counts_;
  std::vector<std::string> unexpected_;
};

const char* ErrcWord(Errc c) {
  switch (c) {
    case Errc::kDuplicate:
      return "duplicate";
    case Errc::kBusy:
      return "busy";
    case Errc::kNotFound:
      return "not-found";
    default:
      return "other";
  }
}

// Counts an outcome as "<op> <result>" and remembers the ones no interleaving
// allows.
template <class T>
void Record(Tally& t, const std::string& op, const Result<T>& r,
            std::initializer_list<Errc> allowed) {
  if (r) {
    t.Count(op + " ok");
    return;
  }
  t.Count(op + " " + ErrcWord(r.error().code()));
  for (Errc e : allowed)
    if (r.error().code() == e) return;
  t.Unexpected(op + ": " + r.error().message());
}

UnloadOptions RandomUnload(std::mt19937& rng, std::string* label) {
  UnloadOptions o;
  switch (rng() % 3) {
    case 0:
      o.policy = Policy::kRefuse;
      *label = "unload(refuse)";
      break;
    case 1:
      o.policy = Policy::kWait;
      o.timeout_ns = (1 + rng() % 3) * 1000000;  // 1-3 ms
      *label = "unload(wait)";
      break;
    default:
      o.policy = Policy::kDefer;
      *label = "unload(defer)";
      break;
  }
  o.cascade = rng() % 4 == 0;
  if (o.cascade) *label += "+cascade";
  return o;
}

void StressThread(module::Registry& reg, Tally& tally, unsigned seed) {
  std::mt19937 rng(seed);
  std::vector<Module*> held;  // user references this thread holds
  const std::vector<std::string>& names = StressModules();
  for (int i = 0; i < kIterations; ++i) {
    const std::string& name = names[rng() % names.size()];
    unsigned op = rng() % 100;
    if (op < 25) {
      Record(tally, "load", reg.load_module(name.c_str(), kAnyVersion),
             {Errc::kDuplicate, Errc::kBusy});
    } else if (op < 55) {
      std::string label;
      UnloadOptions o = RandomUnload(rng, &label);
      Result<UnloadResult> r = reg.unload_module(name.c_str(), o);
      if (r && r.value() == UnloadResult::kDeferred) label += " deferred";
      Record(tally, label, r, {Errc::kNotFound, Errc::kBusy});
    } else if (op < 75) {
      // A reference, kept for a few iterations so unloads meet it. Found and
      // taken in one step: a find_module result may be freed at once.
      Result<Module*> r = reg.get(name.c_str());
      Record(tally, "get", r, {Errc::kBusy, Errc::kNotFound});
      if (!r) continue;
      held.push_back(r.value());
      // Another reference on a module already held needs no lookup.
      if (rng() % 4 == 0) {
        Result<void> again = reg.get(r.value());
        Record(tally, "get again", again, {Errc::kBusy});
        if (again) held.push_back(r.value());
      }
    } else if (op < 90) {
      if (held.empty()) continue;
      size_t k = rng() % held.size();
      reg.put(held[k]);
      held.erase(held.begin() + static_cast<long>(k));
      tally.Count("put");
    } else if (op < 97) {
      std::string bad = CheckAlways(Snapshot(reg));
      if (!bad.empty()) tally.Unexpected("snapshot: " + bad);
      tally.Count("snapshot");
    } else {
      // Lookups whose results are only compared, never followed.
      if (reg.kernel() == nullptr || reg.file_count() < 1) tally.Unexpected("no kernel file");
      tally.Count(reg.find_module(name.c_str()) != nullptr ? "lookup found" : "lookup absent");
    }
    if (rng() % 8 == 0) std::this_thread::yield();
  }
  for (Module* m : held)
    reg.put(m);
}

TEST(RegistryStress, RandomLoadsUnloadsReferencesAndListings) {
  ModuleDir dir;
  ASSERT_FALSE(::testing::Test::HasFailure());
  TestKernel k(dir);
  auto start = std::chrono::steady_clock::now();
  Tally tally;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back(StressThread, std::ref(k.registry()), std::ref(tally), 1000u + t);
  for (std::thread& t : threads)
    t.join();
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  for (const std::string& u : tally.unexpected())
    ADD_FAILURE() << "unexpected: " << u;
  // Every reference is put, so every deferred unload has completed.
  EXPECT_EQ(CheckAtRest(Snapshot(k.registry())), "") << tally.Report();
  // The run met what it is meant to meet.
  EXPECT_GT(tally.Get("load ok"), 0) << tally.Report();
  EXPECT_GT(tally.Get("load duplicate"), 0) << tally.Report();
  EXPECT_GT(tally.Get("get ok"), 0) << tally.Report();
  EXPECT_GT(tally.Get("put"), 0) << tally.Report();
  EXPECT_EQ(k.UnloadAllAndCheck(), "");
  RecordProperty("seconds", std::to_string(secs));
  printf("%d threads x %d iterations in %.2f s\n%s", kThreads, kIterations, secs,
         tally.Report().c_str());
}

// A few threads take and drop references on a LIVE module as fast as they
// can while another unloads it with the wait policy: once the unload starts,
// get fails, so the references drain and the wait succeeds; the module comes
// back for the next round.
TEST(RegistryStress, GetPutHammerAgainstWaitingUnload) {
  ModuleDir dir;
  ASSERT_FALSE(::testing::Test::HasFailure());
  TestKernel k(dir);
  module::Registry& reg = k.registry();
  constexpr int kRounds = 25, kHammers = 3;
  std::atomic<bool> stop{false};
  std::atomic<long> got{0}, refused{0};
  std::vector<std::thread> hammers;
  for (int h = 0; h < kHammers; ++h) {
    hammers.emplace_back([&] {
      while (!stop.load()) {
        Result<Module*> m = reg.get("solo");
        if (!m) {
          ++refused;
          continue;
        }
        ++got;
        reg.put(m.value());
      }
    });
  }
  int done = 0, attempts = 0;
  for (int round = 0; round < kRounds; ++round) {
    ASSERT_TRUE(reg.load_module("solo", kAnyVersion));
    std::this_thread::sleep_for(std::chrono::microseconds(500));
    UnloadOptions o;
    o.policy = Policy::kWait;
    o.timeout_ns = 2000000000;  // generous: it must never be reached
    for (int a = 0; a < 20; ++a) {
      ++attempts;
      Result<UnloadResult> r = reg.unload_module("solo", o);
      if (r) {
        EXPECT_EQ(r.value(), UnloadResult::kDone);
        ++done;
        break;
      }
      ADD_FAILURE() << r.error().message();
    }
  }
  stop = true;
  for (std::thread& t : hammers)
    t.join();
  EXPECT_EQ(done, kRounds);
  EXPECT_EQ(attempts, kRounds);
  EXPECT_GT(got.load(), 0);
  EXPECT_EQ(CheckAtRest(Snapshot(reg)), "");
  EXPECT_EQ(k.UnloadAllAndCheck(), "");
  printf("%d rounds: %ld references taken, %ld refused\n", kRounds, got.load(), refused.load());
}

}  // namespace
}  // namespace mk::test
