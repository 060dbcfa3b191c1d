// Second object of the two-object program: see multi.h.
#include <cstdio>
#include <string>

#include "multi.h"

int b_global = 7;
const char* const b_names[3] = {"zero", "one", "two"};

namespace {
// Square has an out-of-line key function, so its vtable lives only in this object;
// multi_a.o calls through it.
struct Square : Shape {
  explicit Square(int side) : side(side) {}
  int area() const override;
  const char* kind() const override { return "square"; }
  int side;
};
int Square::area() const { return side * side; }
}  // namespace

int b_square_plus_a(int x) {
  bump_shared(10);
  Registry<int>::add(x);
  Registry<std::string>::add("from-b-" + std::to_string(x));
  return x * x + a_twice(x) + a_global;
}

std::string b_describe(int n) { return std::string("b says ") + b_names[n % 3] + " (" + std::to_string(n) + ")"; }

void b_throw(int code) {
  bump_shared(1000);
  if (code < 0) throw std::invalid_argument("negative code");
  throw MultiError("thrown in multi_b", code);
}

Shape* b_make_square(int side) { return new Square(side); }

// Calls a Triangle's virtual area() through the vtable defined in multi_a.o.
int b_area_of(const Shape& s) {
  std::printf("b_area_of(%s)\n", s.kind());
  return s.area() + clamp_add(1, 2, 100);
}

Fn b_bump_address() { return &bump_shared; }
