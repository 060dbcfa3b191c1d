// Shared by multi_a.cc and multi_b.cc. Everything defined here is emitted in
// BOTH objects as COMDAT groups (inline functions and their static locals,
// template instances and static data members, vtables and typeinfo of classes
// without a key function); the linker must keep exactly one copy of each.
#pragma once
#include <stdexcept>
#include <string>
#include <vector>

// Defined in multi_a.cc, used by multi_b.cc, and the other way round.
extern int a_global;
extern int b_global;
extern const char* const b_names[3];
int a_twice(int x);
int b_square_plus_a(int x);
std::string b_describe(int n);
void b_throw(int code);
struct Shape;
Shape* b_make_square(int side);
Shape* a_make_triangle(int base, int height);
int b_area_of(const Shape& s);

// Inline function with a static local: one counter for the whole program.
inline int& shared_counter() {
  static int counter = 0;
  return counter;
}
inline int bump_shared(int by) { return shared_counter() += by; }

// Template with a static data member: one instance per T for the program.
template <typename T>
struct Registry {
  static std::vector<T>& items() {
    static std::vector<T> v;
    return v;
  }
  static int adds;
  static void add(const T& x) {
    items().push_back(x);
    ++adds;
  }
};
template <typename T>
int Registry<T>::adds = 0;

template <typename T>
T clamp_add(T a, T b, T hi) {
  return a + b > hi ? hi : a + b;
}

// Class with only inline virtual functions: vtable and typeinfo in both objects.
struct Shape {
  virtual ~Shape() {}
  virtual int area() const { return 0; }
  virtual const char* kind() const { return "shape"; }
};

// Exception type defined inline: typeinfo in both objects, thrown in b, caught in a.
struct MultiError : std::runtime_error {
  MultiError(const std::string& what, int code) : std::runtime_error(what), code(code) {}
  int code;
};

// Address of an inline function taken in both objects must compare equal.
using Fn = int (*)(int);
Fn b_bump_address();
