// First object of the two-object program (holds main): see multi.h.
#include <cstdio>
#include <memory>
#include <string>

#include "multi.h"

int a_global = 1000;

int a_twice(int x) {
  bump_shared(1);
  return 2 * x + b_global;
}

namespace {
struct Triangle : Shape {
  Triangle(int b, int h) : base(b), height(h) {}
  int area() const override;
  const char* kind() const override { return "triangle"; }
  int base, height;
};
int Triangle::area() const { return base * height / 2; }
}  // namespace

Shape* a_make_triangle(int base, int height) { return new Triangle(base, height); }

int main() {
  std::printf("b_global=%d b_names[2]=%s\n", b_global, b_names[2]);
  for (int i = 1; i <= 3; ++i) std::printf("b_square_plus_a(%d)=%d\n", i, b_square_plus_a(i));
  b_global = 20;
  std::printf("after b_global=20: b_square_plus_a(4)=%d a_twice(4)=%d\n", b_square_plus_a(4), a_twice(4));
  std::printf("%s\n", b_describe(5).c_str());

  Registry<int>::add(99);
  Registry<std::string>::add("from-a");
  std::printf("Registry<int>: adds=%d items=", Registry<int>::adds);
  for (int x : Registry<int>::items()) std::printf("%d ", x);
  std::printf("\nRegistry<string>: adds=%d items=", Registry<std::string>::adds);
  for (const auto& s : Registry<std::string>::items()) std::printf("%s ", s.c_str());
  std::printf("\n");

  std::unique_ptr<Shape> square(b_make_square(6));
  std::printf("square from b: kind=%s area=%d\n", square->kind(), square->area());
  std::unique_ptr<Shape> triangle(a_make_triangle(6, 5));
  std::printf("triangle via b: %d\n", b_area_of(*triangle));
  std::printf("square via b: %d\n", b_area_of(*square));
  Shape plain;
  std::printf("plain via b: %d\n", b_area_of(plain));

  try {
    b_throw(17);
    std::printf("not reached\n");
  } catch (const MultiError& e) {
    std::printf("caught MultiError from b: %s code=%d\n", e.what(), e.code);
  }
  try {
    b_throw(-1);
  } catch (const std::logic_error& e) {
    std::printf("caught logic_error from b: %s\n", e.what());
  }

  std::printf("shared_counter=%d\n", shared_counter());
  std::printf("inline function address equal across objects: %s\n", b_bump_address() == &bump_shared ? "yes" : "no");
  std::printf("clamp_add=%d\n", clamp_add(60, 70, 100));
  return shared_counter() % 100;
}
