// counter: a C++ module. A global object with a constructor and a destructor
// (run by modkit at load and at unload), a class with member functions, and C
// exports in front of them. Built like kernel C++: no exceptions, no RTTI.
#include "sample.h"

namespace {

int constructions = 0;

class Counter {
 public:
  Counter() {
    ++constructions;
    mk_printf("counter: constructor");
  }
  ~Counter() { mk_printf("counter: destructor (value %d)", value_); }
  Counter(const Counter&) = delete;
  Counter& operator=(const Counter&) = delete;

  int next() { return ++value_; }
  int value() const { return value_; }

 private:
  int value_ = 0;
};

Counter counter;

int counter_event(mk_module* module, int event, void* arg) {
  mk_printf("%s: %s (value %d)", mk_module_name(module), sample_event_name(event), counter.value());
  return 0;
}

}  // namespace

extern "C" int counter_next(void) {
  return counter.next();
}

extern "C" int counter_constructions(void) {
  return constructions;
}

MODKIT_MODULE(counter, 1, counter_event, nullptr);
MODKIT_DEPEND(counter, kernel, 1, 1, 1);
MODKIT_EXPORT(counter, counter_next);
MODKIT_EXPORT(counter, counter_constructions);
